/* request.c: responses (JSON bodies, errors, security and CORS headers,
 * request ids), authentication and rate-limit refusals. Every response goes
 * through http_send so no header is ever forgotten. */
#include "http_int.h"

#include <math.h>
#include <string.h>
#include <strings.h>

/* Origin allowed by server.cors_origins ("*" allows any), else NULL. */
static const char *allowed_origin(request *r)
{
    const char *o = MHD_lookup_connection_value(r->con, MHD_HEADER_KIND, "Origin");
    return http_origin_listed(o, r->srv->cfg->server_cors) ? o : NULL;
}

static void add_headers_cache(request *r, struct MHD_Response *resp, const char *content_type,
                              const char *cache)
{
    MHD_add_response_header(resp, "Content-Type", content_type);
    MHD_add_response_header(resp, "X-Request-Id", r->id);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    if (r->frameable) {
        /* X-Frame-Options cannot name sites: CSP frame-ancestors can. */
        char csp[1024];
        int n = snprintf(csp, sizeof csp,
                         "default-src 'self'; script-src 'self'; style-src 'self' "
                         "'unsafe-inline'; img-src 'self' data:; frame-ancestors 'self'");
        for (const char *o = r->srv->cfg->server_cors; n > 0 && (size_t)n < sizeof csp && *o;) {
            size_t len = strcspn(o, ",");
            while (len && (*o == ' ')) {
                o++;
                len--;
            }
            size_t trim = len;
            while (trim && o[trim - 1] == ' ')
                trim--;
            /* Only plain origins: anything else could break out of the header. */
            int ok = trim > 0 && trim < 200;
            for (size_t i = 0; ok && i < trim; i++)
                ok = (unsigned char)o[i] > 0x20 && o[i] != ';' && o[i] != ',' && o[i] != '\'';
            if (ok)
                n += snprintf(csp + n, sizeof csp - (size_t)n, " %.*s", (int)trim, o);
            o += len;
            if (*o == ',')
                o++;
        }
        MHD_add_response_header(resp, "Content-Security-Policy", csp);
    } else {
        MHD_add_response_header(resp, "X-Frame-Options", "DENY");
        MHD_add_response_header(resp, "Content-Security-Policy",
                                "default-src 'self'; script-src 'self'; style-src 'self' "
                                "'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'");
    }
    MHD_add_response_header(resp, "Cache-Control", cache);
    const char *origin = allowed_origin(r);
    if (origin) {
        MHD_add_response_header(resp, "Access-Control-Allow-Origin", origin);
        MHD_add_response_header(resp, "Vary", "Origin");
        MHD_add_response_header(
            resp, "Access-Control-Allow-Headers",
            "Authorization, Content-Type, X-API-Key, X-Request-Id, X-User-Token, "
            "X-Visitor-Token, X-Session-Id, Last-Event-ID");
        MHD_add_response_header(resp, "Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS");
        MHD_add_response_header(resp, "Access-Control-Expose-Headers", "X-Request-Id, Retry-After");
    }
}

/* API responses are per caller and per moment: never stored. */
static void add_headers(request *r, struct MHD_Response *resp, const char *content_type)
{
    add_headers_cache(r, resp, content_type, "no-store");
}

static enum MHD_Result queue(request *r, int status, struct MHD_Response *resp)
{
    r->status = status;
    enum MHD_Result res = MHD_queue_response(r->con, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return res;
}

enum MHD_Result http_send(request *r, int status, const char *content_type, const char *p, size_t n)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(n, (void *)p, MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    add_headers(r, resp, content_type);
    return queue(r, status, resp);
}

enum MHD_Result http_queue_response(request *r, int status, const char *content_type,
                                    struct MHD_Response *resp)
{
    add_headers(r, resp, content_type);
    if (strncmp(content_type, "text/event-stream", 17) == 0)
        MHD_add_response_header(resp, "X-Accel-Buffering", "no"); /* proxies: don't hold events */
    return queue(r, status, resp);
}

enum MHD_Result http_send_json(request *r, int status, const fd_buf *b)
{
    return http_send(r, status, "application/json", b->p ? b->p : "", b->len);
}

static enum MHD_Result send_error_hdr(request *r, int status, const char *code, const char *msg,
                                      const char *field, const char *hname, const char *hval)
{
    fd_buf b;
    fd_buf_init(&b, 8192);
    int rc;
    if (r->openai) {
        /* OpenAI clients map statuses to exceptions and read error.type. */
        if (status == 422)
            status = 400;
        const char *type = status == 401   ? "authentication_error"
                           : status == 403 ? "permission_error"
                           : status == 404 ? "not_found_error"
                           : status == 429 ? "rate_limit_error"
                           : status >= 500 ? "api_error"
                                           : "invalid_request_error";
        rc = fd_buf_printf(&b, "{\"error\":{\"message\":");
        rc = rc ? rc : fd_buf_json_str(&b, msg, strlen(msg));
        rc = rc ? rc : fd_buf_printf(&b, ",\"type\":\"%s\",\"param\":", type);
        rc = rc                  ? rc
             : field && field[0] ? fd_buf_json_str(&b, field, strlen(field))
                                 : fd_buf_printf(&b, "null");
        rc = rc ? rc : fd_buf_printf(&b, ",\"code\":\"%s\",\"request_id\":\"%s\"}}", code, r->id);
    } else {
        rc = fd_buf_printf(&b, "{\"error\":{\"code\":\"%s\",\"message\":", code);
        rc = rc ? rc : fd_buf_json_str(&b, msg, strlen(msg));
        if (!rc && field && field[0]) {
            rc = fd_buf_printf(&b, ",\"field\":");
            rc = rc ? rc : fd_buf_json_str(&b, field, strlen(field));
        }
        rc = rc ? rc : fd_buf_printf(&b, ",\"request_id\":\"%s\"}}", r->id);
    }
    fd_metric_add(r->srv->m.errors, 1, code);
    enum MHD_Result res = MHD_NO;
    struct MHD_Response *resp =
        rc ? NULL : MHD_create_response_from_buffer(b.len, b.p, MHD_RESPMEM_MUST_COPY);
    if (resp) {
        add_headers(r, resp, "application/json");
        if (hname)
            MHD_add_response_header(resp, hname, hval);
        res = queue(r, status, resp);
    }
    fd_buf_free(&b);
    return res;
}

enum MHD_Result http_send_error(request *r, int status, const char *code, const char *msg,
                                const char *field)
{
    return send_error_hdr(r, status, code, msg, field, NULL, NULL);
}

enum MHD_Result http_send_405(request *r, const char *allow)
{
    return send_error_hdr(r, 405, "method_not_allowed", "method not allowed on this path", NULL,
                          "Allow", allow);
}

enum MHD_Result http_send_list(request *r, fd_buf *b, int rc, int cb_failed, const fd_err *err)
{
    enum MHD_Result res;
    if (rc == 1 || cb_failed || (!rc && fd_buf_printf(b, "]}")))
        res = http_send_error(r, 500, "internal", "out of memory", NULL);
    else if (rc)
        res = http_send_err(r, err);
    else
        res = http_send_json(r, 200, b);
    fd_buf_free(b);
    return res;
}

enum MHD_Result http_send_err(request *r, const fd_err *err)
{
    int status;
    const char *code;
    switch (err->code) {
    case FD_EINVAL:
        status = 400, code = "invalid_request";
        break;
    case FD_EUTF8:
        status = 400, code = "invalid_utf8";
        break;
    case FD_ETOOBIG:
        status = 413, code = "too_large";
        break;
    case FD_ENOTFOUND:
        status = 404, code = "not_found";
        break;
    case FD_ECONFLICT:
        status = 409, code = "conflict";
        break;
    case FD_EUNAVAIL:
    case FD_EIO:
        status = 503, code = "unavailable";
        break;
    case FD_ETIMEOUT:
        status = 504, code = "timeout";
        break;
    default:
        status = 500, code = "internal";
        break;
    }
    if (status >= 500)
        FD_LOG(r->srv->log, FD_LOG_ERROR, "http", "%s %s -> %d: %s (id=%s)", r->method, r->route,
               status, err->msg, r->id);
    /* Internal details stay in the log; the client gets the request id. */
    const char *msg = status == 500 ? "internal error; quote the request id to support" : err->msg;
    if (status == 503)
        return send_error_hdr(r, status, code, msg, err->field, "Retry-After", "5");
    return http_send_error(r, status, code, msg, err->field);
}

enum MHD_Result http_send_429(request *r, double retry_after_s, const char *scope)
{
    char ra[32], msg[128];
    snprintf(ra, sizeof ra, "%.0f", ceil(retry_after_s < 1 ? 1 : retry_after_s));
    snprintf(msg, sizeof msg, "rate limit reached (%s); retry after %s s", scope, ra);
    fd_metric_add(r->srv->m.rate_limited, 1, scope);
    return send_error_hdr(r, 429, "rate_limited", msg, NULL, "Retry-After", ra);
}

/* ---- message framing -------------------------------------------------- */

static enum MHD_Result add_framing(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    (void)kind;
    http_framing_add(cls, key, value);
    return MHD_YES;
}

const char *http_framing_ambiguous(struct MHD_Connection *con)
{
    http_framing f = {0};
    MHD_get_connection_values(con, MHD_HEADER_KIND, add_framing, &f);
    return http_framing_problem(&f);
}

enum MHD_Result http_send_bad_framing(request *r, const char *why)
{
    char msg[160];
    snprintf(msg, sizeof msg, "ambiguous message framing: %s", why);
    fd_metric_add(r->srv->m.errors, 1, "bad_framing");
    return send_error_hdr(r, 400, "bad_request", msg, NULL, "Connection", "close");
}

/* The key from "Authorization: Bearer <key>" or "X-API-Key: <key>". */
static const char *presented_key(request *r)
{
    const char *h = MHD_lookup_connection_value(r->con, MHD_HEADER_KIND, "Authorization");
    if (h && strncasecmp(h, "Bearer ", 7) == 0)
        return h + 7;
    return MHD_lookup_connection_value(r->con, MHD_HEADER_KIND, "X-API-Key");
}

/* Widget mode: may this keyless request use the API? Yes from an origin in
 * server.cors_origins or from the server's own pages (Origin is http(s)://
 * + Host). Browsers send no Origin on a same-origin GET (the chat page's
 * EventSource) but do send Sec-Fetch-Site, which scripts cannot set. None of
 * this stops a client outside a browser, which may send any header: the
 * check keeps other sites' pages from using the assistant through their
 * visitors' browsers; per-IP limits bound the rest. */
static int widget_origin_ok(request *r)
{
    if (allowed_origin(r))
        return 1;
    const char *o = MHD_lookup_connection_value(r->con, MHD_HEADER_KIND, "Origin");
    if (!o) {
        const char *site = MHD_lookup_connection_value(r->con, MHD_HEADER_KIND, "Sec-Fetch-Site");
        return site && strcmp(site, "same-origin") == 0;
    }
    return http_origin_is_host(o, MHD_lookup_connection_value(r->con, MHD_HEADER_KIND, "Host"));
}

/* An agent's session token (fda_...) where a key was expected: it has the
 * operator scope only. Refusals are 401 as for keys; the reason is logged. */
static int agent_auth(request *r, const char *token, unsigned need, unsigned or_need,
                      enum MHD_Result *res)
{
    fd_server *s = r->srv;
    fd_kb *kb = http_kb_get(s);
    fd_err err = {0};
    int rc = fd_agents_verify(fd_kb_store(kb), token, fd_time_wall(), &r->agent, &err);
    http_kb_put(s, kb);
    if (rc && rc != FD_ENOTFOUND) {
        *res = http_send_err(r, &err);
        return 0;
    }
    if (rc) {
        fd_metric_add(s->m.auth_failures, 1);
        FD_LOG(s->log, FD_LOG_INFO, "http", "agent token refused: %s (id=%s)", err.msg, r->id);
        *res = send_error_hdr(r, 401, "unauthorized",
                              "invalid, expired or signed-out agent session: sign in again", NULL,
                              "WWW-Authenticate", "Bearer");
        return 0;
    }
    r->has_key = 1;
    r->is_agent = 1;
    memset(&r->key, 0, sizeof r->key);
    snprintf(r->key.prefix, sizeof r->key.prefix, "%s", r->agent.prefix);
    snprintf(r->key.name, sizeof r->key.name, "%s", r->agent.name);
    r->key.scopes = FD_SCOPE_OPERATOR;
    r->key.expires_at = r->agent.expires_at;
    if (!fd_scopes_allow(r->key.scopes, need) &&
        !(or_need && fd_scopes_allow(r->key.scopes, or_need))) {
        *res = http_send_error(r, 403, "forbidden",
                               "an agent's session may use the operator routes only", NULL);
        return 0;
    }
    char bucket[48];
    snprintf(bucket, sizeof bucket, "agent:%lld", (long long)r->agent.id);
    double retry;
    if (!http_limit_take(s, bucket, s->cfg->limit_key_per_min, s->cfg->limit_key_per_min, &retry)) {
        *res = http_send_429(r, retry, "key");
        return 0;
    }
    return 1;
}

const char *http_operator_name(const request *r)
{
    if (r->is_agent)
        return r->agent.name;
    return r->has_key ? (r->key.name[0] ? r->key.name : r->key.prefix) : "operator";
}

int http_auth(request *r, unsigned need, enum MHD_Result *res)
{
    return http_auth_either(r, need, 0, res);
}

int http_auth_either(request *r, unsigned need, unsigned or_need, enum MHD_Result *res)
{
    fd_server *s = r->srv;
    const char *key = presented_key(r);
    /* Widget mode: without a key, only chat-scoped routes and only from
     * allowed pages; every other route needs a key even when require_key is
     * off, since a public page is not the trusted network that setting is for. */
    if (!key && s->cfg->server_widget && need == FD_SCOPE_CHAT) {
        if (widget_origin_ok(r))
            return 1;
        *res = http_send_error(r, 403, "origin_not_allowed",
                               "this origin may not use the chat without an API key", NULL);
        return 0;
    }
    if (!s->cfg->server_require_key && !key && !s->cfg->server_widget)
        return 1;
    if (!key) {
        fd_metric_add(s->m.auth_failures, 1);
        *res = send_error_hdr(r, 401, "unauthorized", "an API key is required", NULL,
                              "WWW-Authenticate", "Bearer");
        return 0;
    }
    if (fd_agent_token_shaped(key))
        return agent_auth(r, key, need, or_need, res);
    fd_err err = {0};
    double now = fd_time_wall();
    /* Only a shared store (store.url) is ever away while the server runs:
     * only there does a stale memo stand in for it (below). */
    int shared = s->cfg->store_url[0] != '\0';
    int rc = FD_OK;
    /* A key verified within AUTH_FRESH_S is not asked about again: on a
     * shared store a round trip and a transaction of PostgreSQL's per
     * request (issue 16); on SQLite a read transaction and the lookup, 7%
     * of a request thread's CPU under cached chat load against the memo's
     * hash and scan (perf, issue 13). A revocation (another process)
     * reaches this server at most AUTH_FRESH_S late on either store. */
    if (!fd_key_memo_get(s->key_memo, key, now, AUTH_FRESH_S, &r->key)) {
        fd_kb *kb = http_kb_get(s);
        rc = fd_keys_verify(fd_kb_store(kb), key, now, &r->key, &err);
        http_kb_put(s, kb);
        if (rc == FD_OK)
            fd_key_memo_put(s->key_memo, key, &r->key, now);
    }
    if (rc && rc != FD_ENOTFOUND && shared &&
        fd_key_memo_get(s->key_memo, key, now, AUTH_STALE_S, &r->key)) {
        /* The store is away (PostgreSQL restarting): a key it vouched for
         * lately keeps its access, so answers from the index go on. */
        fd_metric_add(s->m.errors, 1, "auth_stale");
        rc = FD_OK;
    }
    if (rc && rc != FD_ENOTFOUND) {
        /* The store failed (or is busy): not the caller's fault, no 401. */
        *res = http_send_err(r, &err);
        return 0;
    }
    if (rc) {
        fd_metric_add(s->m.auth_failures, 1);
        FD_LOG(s->log, FD_LOG_INFO, "http", "key refused: %s (id=%s)", err.msg, r->id);
        *res = send_error_hdr(r, 401, "unauthorized", "invalid, expired or revoked API key", NULL,
                              "WWW-Authenticate", "Bearer");
        return 0;
    }
    r->has_key = 1;
    if (!fd_scopes_allow(r->key.scopes, need) &&
        !(or_need && fd_scopes_allow(r->key.scopes, or_need))) {
        char want[64];
        fd_scopes_format(need, want, sizeof want);
        char msg[128];
        snprintf(msg, sizeof msg, "this key lacks the '%s' scope", want);
        *res = http_send_error(r, 403, "forbidden", msg, NULL);
        return 0;
    }
    char bucket[48];
    snprintf(bucket, sizeof bucket, "key:%lld", (long long)r->key.id);
    double retry;
    if (!http_limit_take(s, bucket, s->cfg->limit_key_per_min, s->cfg->limit_key_per_min, &retry)) {
        *res = http_send_429(r, retry, "key");
        return 0;
    }
    return 1;
}

enum MHD_Result http_send_static(request *r, int status, const char *content_type, const void *p,
                                 size_t n, const char *cache, const char *etag)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(n, (void *)p, MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    add_headers_cache(r, resp, content_type, cache);
    if (etag)
        MHD_add_response_header(resp, "ETag", etag);
    return queue(r, status, resp);
}

/* ---- request bodies ---------------------------------------------------- */

enum MHD_Result http_send_413(request *r)
{
    char msg[96];
    snprintf(msg, sizeof msg, "body larger than %zu bytes", r->body.max);
    return http_send_error(r, 413, "too_large", msg, NULL);
}

int http_content_type_is(request *r, const char *type)
{
    return http_media_type_is(MHD_lookup_connection_value(r->con, MHD_HEADER_KIND, "Content-Type"),
                              type);
}

int http_body_json_ok(request *r, enum MHD_Result *res)
{
    if (r->body_too_big) {
        *res = http_send_413(r);
        return 0;
    }
    if (!http_content_type_is(r, "application/json")) {
        *res = http_send_error(r, 415, "unsupported_media_type",
                               "send Content-Type: application/json", NULL);
        return 0;
    }
    return 1;
}

json_t *http_body_object(request *r, enum MHD_Result *res)
{
    json_t *j;
    http_perr e;
    if (!http_body_json_ok(r, res))
        return NULL;
    if (http_parse_json_object(r->body.p, r->body.len, &j, &e)) {
        *res = http_send_perr(r, &e);
        return NULL;
    }
    return j;
}

int http_opt_string(request *r, json_t *obj, const char *name, const char **out,
                    enum MHD_Result *res)
{
    http_perr e;
    if (http_parse_opt_string(obj, name, out, &e)) {
        *res = http_send_perr(r, &e);
        return 0;
    }
    return 1;
}

int http_no_cache(request *r)
{
    const char *cc = MHD_lookup_connection_value(r->con, MHD_HEADER_KIND, "Cache-Control");
    const char *pragma = MHD_lookup_connection_value(r->con, MHD_HEADER_KIND, "Pragma");
    return (cc && (strstr(cc, "no-cache") || strstr(cc, "no-store"))) ||
           (pragma && strstr(pragma, "no-cache"));
}

const char *http_key_label(request *r)
{
    return r->has_key ? r->key.prefix : NULL;
}

int http_limit_take(fd_server *s, const char *bucket, double per_min, double burst,
                    double *retry_after)
{
    /* Replicas share buckets through Redis; without it (or while it is
     * down) each limits on its own. */
    int shared = fd_cache_take(s->cache, bucket, per_min / 60.0, burst, retry_after);
    if (shared >= 0)
        return shared;
    return fd_ratelimit_take(s->limits, bucket, per_min, burst, fd_time_wall(), retry_after);
}
