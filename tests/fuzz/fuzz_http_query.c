/* fuzz_http_query.c: what a URL carries into the routes (src/http/parse.c):
 * the ids in paths and the query arguments, as libmicrohttpd hands them
 * over (decoded, NUL-ended), and the headers checked by their shape. The
 * first byte picks (its value mod 10); the rest is the path, or fields
 * separated by \x01 (a field "\x02" is an absent argument):
 *   0 the path                         1 /v1/search: q, k, mode
 *   2 /v1/handoffs: status, q, limit   3 /v1/orders: status, limit
 *   4 the event streams' start: session, queue
 *   5 X-Visitor-Token, Idempotency-Key, X-Request-Id
 *   6 Content-Type against each type   7 the path, then its id as a query
 *   8 Origin against server.cors_origins and Host: origin, list, host
 *   9 a request's headers, name, value, name, ...: its framing (smuggling)
 * Each must accept what it promises or refuse with a 4xx whose error body
 * is valid JSON; never crash or read past its string. */
#include "http_int.h"

#include "text.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x))                                                                                  \
            abort();                                                                               \
    } while (0)

static void check_refusal(int rc, const http_perr *e)
{
    CHECK(rc == e->status && rc == 422);
    CHECK(e->code && e->field && memchr(e->msg, '\0', sizeof e->msg));
    fd_buf b;
    fd_buf_init(&b, 1 << 16);
    int brc = fd_buf_printf(&b, "{\"error\":{\"code\":\"%s\",\"message\":", e->code);
    brc = brc ? brc : fd_buf_json_str(&b, e->msg, strlen(e->msg));
    brc = brc ? brc : fd_buf_printf(&b, ",\"field\":");
    brc = brc ? brc : fd_buf_json_str(&b, e->field, strlen(e->field));
    brc = brc ? brc : fd_buf_printf(&b, "}}");
    CHECK(!brc);
    json_t *j = json_loadb(b.p, b.len, 0, NULL);
    CHECK(j);
    json_decref(j);
    fd_buf_free(&b);
}

/* The next \x01-separated field, NUL-ended in a; NULL for "\x02" or past
 * the end. */
static const char *field(const char **p, const char *end, fd_arena *a)
{
    if (*p > end)
        return NULL;
    const char *sep = memchr(*p, 1, (size_t)(end - *p));
    size_t n = sep ? (size_t)(sep - *p) : (size_t)(end - *p);
    const char *f = *p;
    *p = sep ? sep + 1 : end + 1;
    if (n == 1 && f[0] == 2)
        return NULL;
    return fd_arena_strndup(a, f, n);
}

static void path(const char *url)
{
    http_path p;
    http_path_kind k = http_parse_path(url, &p);
    CHECK(k == p.kind);
    CHECK((k == HTTP_PATH_NONE) == (p.route == NULL));
    CHECK(p.id);
    size_t n = strlen(p.id), un = strlen(url);
    switch (k) {
    case HTTP_PATH_NONE:
        break;
    case HTTP_PATH_SESSION_EVENTS:
    case HTTP_PATH_SESSION_RATING:
        CHECK(p.too_long ? n == 0 : (n >= 1 && n <= HTTP_SESSION_ID_MAX && !strchr(p.id, '/')));
        break;
    case HTTP_PATH_USER_EXPORT:
        CHECK(p.too_long ? n == 0 : (n >= 1 && n <= HTTP_USER_ID_MAX && !strchr(p.id, '/')));
        break;
    case HTTP_PATH_SESSION:
    case HTTP_PATH_USER:
    case HTTP_PATH_ORDER:
        CHECK(n >= 1 && !strchr(p.id, '/') && p.id > url && p.id + n == url + un);
        break;
    case HTTP_PATH_DOCUMENT:
        CHECK(p.id + n == url + un);
        break;
    case HTTP_PATH_HANDOFF:
    case HTTP_PATH_HANDOFF_ACTION:
        CHECK(p.handoff > 0);
        CHECK((k == HTTP_PATH_HANDOFF_ACTION) == (p.action != NULL));
        if (p.action)
            CHECK(!strchr(p.action, '/') && p.action > url && p.action <= url + un);
        break;
    }
}

static void search(const char *q, const char *k, const char *mode)
{
    http_search_query sq;
    http_perr e;
    int rc = http_parse_search_query(q, k, mode, "hybrid", 5, &sq, &e);
    if (rc) {
        check_refusal(rc, &e);
        return;
    }
    CHECK(sq.q == q && q[0]);
    CHECK(sq.k >= 1 && sq.k <= 100);
    CHECK(sq.mode == FD_SEARCH_BM25 || sq.mode == FD_SEARCH_DENSE || sq.mode == FD_SEARCH_HYBRID);
}

static void handoffs(const char *status, const char *q, const char *limit)
{
    http_handoffs_query hq;
    http_perr e;
    int rc = http_parse_handoffs_query(status, q, limit, &hq, &e);
    if (rc) {
        check_refusal(rc, &e);
        return;
    }
    CHECK(!hq.status || !strcmp(hq.status, "open") || !strcmp(hq.status, "claimed") ||
          !strcmp(hq.status, "resolved"));
    if (hq.q) {
        size_t n = strlen(hq.q);
        CHECK(n >= 1 && n <= 200 && hq.q[0] != ' ' && fd_utf8_valid(hq.q, n, NULL));
        CHECK(hq.limit >= 1 && hq.limit <= 100);
    } else {
        CHECK(hq.limit >= 0 && hq.limit <= 100 && (hq.limit > 0) == (limit != NULL));
    }
}

static void orders(const char *status, const char *limit)
{
    long n;
    http_perr e;
    int rc = http_parse_orders_query(status, limit, &n, &e);
    if (rc) {
        check_refusal(rc, &e);
        return;
    }
    CHECK(n >= 1 && n <= 1000);
}

static void streams(const char *from)
{
    int64_t after;
    double since;
    http_perr e;
    int rc = http_parse_session_after(from, &after, &e);
    if (rc)
        check_refusal(rc, &e);
    else
        CHECK(from ? after >= 0 : after == -1);
    rc = http_parse_queue_after(from, &since, &e);
    if (rc)
        check_refusal(rc, &e);
    else
        CHECK(isfinite(since) && since >= 0 && (from || since == 0));
}

static void headers(const char *v)
{
    size_t n = strlen(v);
    if (http_visitor_token_ok(v))
        CHECK(n >= 22 && n <= 128 &&
              strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                        "0123456789-_") == n);
    if (http_idem_key_ok(v))
        CHECK(n >= 1 && n <= 255);
    if (http_request_id_ok(v, 40))
        CHECK(n >= 1 && n < 40 &&
              strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                        "0123456789-_.") == n);
    CHECK(!http_request_id_ok(NULL, 40));
}

static void media(const char *ct)
{
    static const char *const types[] = {"application/json", "text/markdown", "text/plain",
                                        "text/html",        "text/csv",      "application/pdf"};
    for (size_t i = 0; i < sizeof types / sizeof *types; i++)
        if (http_media_type_is(ct, types[i]))
            CHECK(strlen(ct) >= strlen(types[i]));
    CHECK(!http_media_type_is(NULL, types[0]));
}

static void origins(const char *origin, const char *list, const char *host)
{
    if (http_origin_listed(origin, list ? list : "") && !strchr(list, '*'))
        CHECK(origin && strstr(list, origin));
    if (origin && http_origin_is_host(origin, host))
        CHECK(host && (strncmp(origin, "http://", 7) == 0 || strncmp(origin, "https://", 8) == 0) &&
              strlen(origin) >= strlen(host));
}

/* Headers the framing check passes leave one way to read the body. */
static void framing(const char **p, const char *end, fd_arena *a)
{
    http_framing f = {0};
    const char *names[64], *values[64];
    size_t n = 0;
    while (*p <= end && n < 64) {
        names[n] = field(p, end, a);
        values[n] = field(p, end, a);
        if (!names[n])
            names[n] = "";
        http_framing_add(&f, names[n], values[n]);
        n++;
    }
    if (http_framing_problem(&f))
        return;
    int te = 0;
    const char *cl = NULL;
    for (size_t i = 0; i < n; i++) {
        CHECK(!strpbrk(names[i], " \t"));
        const char *v = values[i] ? values[i] : "";
        v += strspn(v, " \t");
        if (strcasecmp(names[i], "Transfer-Encoding") == 0) {
            CHECK(!te++ && strncasecmp(v, "chunked", 7) == 0 && !v[7 + strspn(v + 7, " \t")]);
        } else if (strcasecmp(names[i], "Content-Length") == 0) {
            CHECK(*v >= '0' && *v <= '9');
            CHECK(!cl || strcmp(cl, values[i]) == 0);
            cl = values[i];
        }
    }
    CHECK(!(te && cl));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 16384)
        return 0;
    fd_arena *a = fd_arena_new((size_t)1 << 20);
    if (!a)
        return 0;
    /* A copy of exactly the input, so ASan sees any read past it. */
    char *p = malloc(size);
    if (!p) {
        fd_arena_free(a);
        return 0;
    }
    memcpy(p, data + 1, size - 1);
    p[size - 1] = '\0';
    const char *s = p, *end = p + size - 1;
    const char *f1, *f2, *f3;
    switch (data[0] % 10) {
    case 0:
        path(p);
        break;
    case 1:
        f1 = field(&s, end, a);
        f2 = field(&s, end, a);
        f3 = field(&s, end, a);
        search(f1, f2, f3);
        break;
    case 2:
        f1 = field(&s, end, a);
        f2 = field(&s, end, a);
        f3 = field(&s, end, a);
        handoffs(f1, f2, f3);
        break;
    case 3:
        f1 = field(&s, end, a);
        f2 = field(&s, end, a);
        orders(f1, f2);
        break;
    case 4:
        streams(field(&s, end, a));
        break;
    case 5:
        headers(p);
        break;
    case 6:
        media(p);
        break;
    case 8:
        f1 = field(&s, end, a);
        f2 = field(&s, end, a);
        f3 = field(&s, end, a);
        origins(f1, f2, f3);
        break;
    case 9:
        framing(&s, end, a);
        break;
    default: {
        /* The id of a path as the query arguments' parsers see ids. */
        http_path hp;
        http_parse_path(p, &hp);
        path(p);
        search(hp.id, hp.id, hp.id);
        handoffs(hp.action, hp.id, hp.id);
        orders(hp.id, hp.action);
        streams(hp.id);
        headers(hp.id);
        break;
    }
    }
    free(p);
    fd_arena_free(a);
    return 0;
}
