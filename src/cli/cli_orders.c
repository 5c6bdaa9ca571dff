/* cli_orders.c: `frontdesk orders list|show`: the orders taken in chat,
 * read from the store (a running server may hold it: reads only). */
#include "cli_int.h"

#include "dialog.h"
#include "outbox.h"
#include "store.h"

#include <jansson.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct list_ctx {
    cli_ctx *c;
    int n;
} list_ctx;

static const char *money(const char *cur, int64_t minor, char *buf, size_t cap)
{
    uint64_t a = minor < 0 ? (uint64_t)0 - (uint64_t)minor : (uint64_t)minor;
    snprintf(buf, cap, "%s %s%llu.%02llu", cur, minor < 0 ? "-" : "", (unsigned long long)(a / 100),
             (unsigned long long)(a % 100));
    return buf;
}

static int print_one(void *ctx, const fd_order_row *o)
{
    list_ctx *l = ctx;
    if (l->c->json) {
        fd_buf b;
        fd_buf_init(&b, 0);
        if (fd_order_json(o, &b) == FD_OK)
            printf("%s%s", l->n ? ",\n" : "", b.p);
        fd_buf_free(&b);
    } else {
        char tot[48];
        money(o->currency, o->total, tot, sizeof tot);
        printf("%-10s %-10s %-28.28s %-12s %-9s %s\n", o->ref, o->status, o->customer,
               o->delivery_date, o->delivery_window, tot);
    }
    l->n++;
    return 0;
}

static int list(cli_ctx *c, fd_store *st, const char *status, long limit)
{
    list_ctx l = {c, 0};
    fd_err err = {0};
    if (c->json)
        printf("[");
    else
        printf("%-10s %-10s %-28s %-12s %-9s %s\n", "ORDER", "STATUS", "CUSTOMER", "DELIVERY",
               "WINDOW", "TOTAL");
    int rc = fd_store_orders_each(st, NULL, status, limit, print_one, &l, &err);
    if (c->json)
        printf("]\n");
    else if (!rc && !l.n)
        printf("(no orders%s%s)\n", status ? " with status " : "", status ? status : "");
    return rc ? cli_fail(c, &err) : 0;
}

static int show(cli_ctx *c, fd_store *st, const char *ref)
{
    fd_arena *a = fd_arena_new(0);
    fd_order_row o;
    fd_err err = {0};
    int rc =
        a ? fd_store_order_get(st, ref, a, &o, &err) : fd_err_set(&err, FD_ENOMEM, "out of memory");
    if (rc) {
        fd_arena_free(a);
        return cli_fail(c, &err);
    }
    if (c->json) {
        fd_buf b;
        fd_buf_init(&b, 0);
        rc = fd_order_json(&o, &b);
        if (!rc)
            printf("%s\n", b.p);
        fd_buf_free(&b);
    } else {
        char s[48], x[48], t[48];
        money(o.currency, o.subtotal, s, sizeof s);
        money(o.currency, o.tax, x, sizeof x);
        money(o.currency, o.total, t, sizeof t);
        printf("order     %s (%s)\ncustomer  %s [%s] %s\naddress   %s\ndelivery  %s %s\n", o.ref,
               o.status, o.customer, o.customer_id, o.outlet, o.address, o.delivery_date,
               o.delivery_window);
        for (size_t i = 0; i < o.n_lines; i++) {
            char lt[48];
            money(o.currency, o.lines[i].total, lt, sizeof lt);
            printf("  %-12s %-40.40s %6lld = %3lld x %-4lld %s\n", o.lines[i].code, o.lines[i].name,
                   (long long)o.lines[i].qty, (long long)o.lines[i].packs,
                   (long long)o.lines[i].pack_size, lt);
        }
        /* what the total holds besides the lines, as the invoice shows it */
        const struct {
            const char *label;
            int64_t v;
        } extra[] = {
            {"discount ", -o.discount}, {"delivery ", o.delivery_fee}, {"surcharge", o.surcharge}};
        for (size_t i = 0; i < sizeof extra / sizeof *extra; i++) {
            char m[48];
            if (extra[i].v)
                printf("%s %s\n", extra[i].label, money(o.currency, extra[i].v, m, sizeof m));
        }
        printf("subtotal  %s\ntax       %s\ntotal     %s\nsession   %s\n", s, x, t, o.session_id);
    }
    fd_arena_free(a);
    return rc ? 1 : 0;
}

int cli_cmd_orders(cli_ctx *c)
{
    const char *sub = c->argc > 1 ? c->argv[1] : NULL;
    const char *status = NULL, *ref = NULL;
    long limit = 100;
    for (int i = 2; i < c->argc; i++) {
        if (strcmp(c->argv[i], "--json") == 0)
            c->json = 1;
        else if (strcmp(c->argv[i], "--status") == 0 && i + 1 < c->argc)
            status = c->argv[++i];
        else if (strcmp(c->argv[i], "--limit") == 0 && i + 1 < c->argc)
            limit = strtol(c->argv[++i], NULL, 10);
        else if (c->argv[i][0] != '-' && !ref)
            ref = c->argv[i];
        else
            return cli_usage("orders");
    }
    int is_list = sub && strcmp(sub, "list") == 0, is_show = sub && strcmp(sub, "show") == 0;
    if ((!is_list && !is_show) || (is_show && !ref) || (is_list && ref) || limit < 1)
        return cli_usage("orders");
    fd_store *st = NULL;
    int rc = cli_open_store(c, &st);
    if (rc)
        return rc;
    rc = is_list ? list(c, st, status, limit) : show(c, st, ref);
    fd_store_close(st);
    return rc;
}

/* ---- the outbox and the accounting connection ---------------------------------- */

static int print_row(void *ctx, const fd_outbox_row *r)
{
    list_ctx *l = ctx;
    if (l->c->json) {
        json_t *j =
            json_pack("{s:I, s:s, s:s, s:s, s:i, s:f, s:s, s:s, s:f}", "id", (json_int_t)r->id,
                      "kind", r->kind, "order", r->order_ref, "state", r->state, "attempts",
                      r->attempts, "next_at", r->next_at, "last_error", r->last_error,
                      "external_id", r->external_id, "created_at", r->created_at);
        char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
        if (s)
            printf("%s%s", l->n ? ",\n" : "", s);
        free(s);
        json_decref(j);
    } else {
        printf("%-6lld %-8s %-10s %-9s %-3d %s\n", (long long)r->id, r->kind, r->order_ref,
               r->state, r->attempts, r->last_error[0] ? r->last_error : r->external_id);
    }
    l->n++;
    return 0;
}

int cli_cmd_outbox(cli_ctx *c)
{
    const char *sub = c->argc > 1 ? c->argv[1] : NULL, *state = NULL, *arg = NULL;
    for (int i = 2; i < c->argc; i++) {
        if (strcmp(c->argv[i], "--json") == 0)
            c->json = 1;
        else if (strcmp(c->argv[i], "--state") == 0 && i + 1 < c->argc)
            state = c->argv[++i];
        else if (c->argv[i][0] != '-' && !arg)
            arg = c->argv[i];
        else
            return cli_usage("outbox");
    }
    int list = sub && !strcmp(sub, "list"), retry = sub && !strcmp(sub, "retry"),
        drop = sub && !strcmp(sub, "drop"), deliver = sub && !strcmp(sub, "deliver");
    char *end = NULL;
    long long id = arg ? strtoll(arg, &end, 10) : 0;
    if (!(list || retry || drop || deliver) || ((retry || drop) && (!arg || *end || id <= 0)) ||
        ((list || deliver) && arg))
        return cli_usage("outbox");
    fd_store *st = NULL;
    int rc = cli_open_store(c, &st);
    if (rc)
        return rc;
    fd_err err = {0};
    if (list) {
        list_ctx l = {c, 0};
        if (c->json)
            printf("[");
        else
            printf("%-6s %-8s %-10s %-9s %-3s %s\n", "ID", "KIND", "ORDER", "STATE", "TRY",
                   "ERROR / EXTERNAL ID");
        rc = fd_store_outbox_each(st, state, print_row, &l, &err);
        if (c->json)
            printf("]\n");
    } else if (retry || drop) {
        rc = retry ? fd_store_outbox_retry(st, id, &err) : fd_store_outbox_drop(st, id, &err);
        if (!rc)
            printf("%s%lld %s\n", c->json ? "" : "outbox row ", id,
                   retry ? "will be retried now" : "dropped");
    } else {
        int ok = 0, dead = 0;
        rc = fd_outbox_deliver_due(&c->cfg, c->log, st, &ok, &dead, &err);
        if (!rc)
            printf("%d delivered, %d dead-lettered\n", ok, dead);
    }
    fd_store_close(st);
    return rc ? cli_fail(c, &err) : 0;
}

int cli_cmd_accounting(cli_ctx *c)
{
    const char *sub = c->argc > 1 ? c->argv[1] : NULL, *code = NULL, *redirect = "";
    for (int i = 2; i < c->argc; i++) {
        if (strcmp(c->argv[i], "--json") == 0)
            c->json = 1;
        else if (strcmp(c->argv[i], "--code") == 0 && i + 1 < c->argc)
            code = c->argv[++i];
        else if (strcmp(c->argv[i], "--redirect-uri") == 0 && i + 1 < c->argc)
            redirect = c->argv[++i];
        else
            return cli_usage("accounting");
    }
    int connect = sub && !strcmp(sub, "connect"), status = sub && !strcmp(sub, "status");
    if (!(connect || status) || (connect && !code) || (status && code))
        return cli_usage("accounting");
    fd_store *st = NULL;
    int rc = cli_open_store(c, &st);
    if (rc)
        return rc;
    fd_err err = {0};
    if (connect) {
        rc = fd_accounting_connect(&c->cfg, st, code, redirect, &err);
        if (!rc)
            printf("connected: the refresh token is stored, encrypted\n");
    } else {
        fd_accounting_status s;
        rc = fd_accounting_status_get(&c->cfg, st, &s, &err);
        if (!rc && c->json)
            printf("{\"configured\":%s,\"connected\":%s,\"rotations\":%lld,\"outbox\":{\"pending\":"
                   "%lld,"
                   "\"retry\":%lld,\"delivered\":%lld,\"dead\":%lld,\"dropped\":%lld}}\n",
                   s.configured ? "true" : "false", s.connected ? "true" : "false",
                   (long long)s.generation, (long long)s.outbox[0], (long long)s.outbox[1],
                   (long long)s.outbox[2], (long long)s.outbox[3], (long long)s.outbox[4]);
        else if (!rc)
            printf("accounting.url   %s\nconnected        %s (token rotations: %lld)\n"
                   "outbox           %lld pending, %lld waiting to retry, %lld delivered, %lld "
                   "dead, %lld dropped\n",
                   s.configured ? c->cfg.acct_url : "(not set: invoices wait in the outbox)",
                   s.connected ? "yes" : "no (frontdesk accounting connect --code CODE)",
                   (long long)s.generation, (long long)s.outbox[0], (long long)s.outbox[1],
                   (long long)s.outbox[2], (long long)s.outbox[3], (long long)s.outbox[4]);
    }
    fd_store_close(st);
    return rc ? cli_fail(c, &err) : 0;
}
