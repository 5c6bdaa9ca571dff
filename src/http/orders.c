/* orders.c: the orders taken in chat, for the company's systems and staff
 * (scope "orders"; admin keys too): GET /v1/orders?status=&limit= and
 * GET /v1/orders/{id}. Customers see their own orders in chat only. */
#include "http_int.h"

#include "store.h"

#include <stdlib.h>
#include <string.h>

typedef struct list_ctx {
    fd_buf *b;
    int n, rc;
} list_ctx;

static int each(void *ctx, const fd_order_row *o)
{
    list_ctx *c = ctx;
    c->rc = c->n++ ? fd_buf_putc(c->b, ',') : FD_OK;
    c->rc = c->rc ? c->rc : fd_order_json(o, c->b);
    return c->rc ? 1 : 0;
}

enum MHD_Result http_get_orders(request *r)
{
    enum MHD_Result res;
    if (!http_auth(r, FD_SCOPE_ORDERS, &res))
        return res;
    const char *status = MHD_lookup_connection_value(r->con, MHD_GET_ARGUMENT_KIND, "status");
    long limit;
    http_perr pe;
    if (http_parse_orders_query(status,
                                MHD_lookup_connection_value(r->con, MHD_GET_ARGUMENT_KIND, "limit"),
                                &limit, &pe))
        return http_send_perr(r, &pe);
    fd_buf b;
    fd_buf_init(&b, 0);
    list_ctx c = {&b, 0, 0};
    fd_err err = {0};
    int rc = fd_buf_printf(&b, "{\"orders\":[");
    fd_kb *kb = http_kb_get(r->srv);
    if (!rc)
        rc = fd_store_orders_each(fd_kb_store(kb), NULL, status, limit, each, &c, &err);
    http_kb_put(r->srv, kb);
    return http_send_list(r, &b, rc, c.rc, &err);
}

enum MHD_Result http_order_route(request *r, const char *ref)
{
    enum MHD_Result res;
    if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0)
        return http_send_405(r, "GET");
    if (!http_auth(r, FD_SCOPE_ORDERS, &res))
        return res;
    if (strlen(ref) > 40)
        return http_send_error(r, 404, "not_found", "no such order", NULL);
    fd_arena *a = fd_arena_new(0);
    if (!a)
        return http_send_error(r, 500, "internal", "out of memory", NULL);
    fd_kb *kb = http_kb_get(r->srv);
    fd_order_row o;
    fd_err err = {0};
    int rc = fd_store_order_get(fd_kb_store(kb), ref, a, &o, &err);
    http_kb_put(r->srv, kb);
    fd_buf b;
    fd_buf_init(&b, 0);
    if (rc == FD_ENOTFOUND)
        res = http_send_error(r, 404, "not_found", "no such order", NULL);
    else if (rc)
        res = http_send_err(r, &err);
    else if (fd_order_json(&o, &b))
        res = http_send_error(r, 500, "internal", "out of memory", NULL);
    else
        res = http_send_json(r, 200, &b);
    fd_buf_free(&b);
    fd_arena_free(a);
    return res;
}
