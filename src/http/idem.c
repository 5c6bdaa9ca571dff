/* idem.c: Idempotency-Key on POST /v1/chat, /v1/chat/stream and the
 * OpenAI facade (issue 15: "a retried or duplicated message never creates
 * two orders"; any turn, in fact). The first request with a key runs; a
 * retry with the same key and body gets the first response again
 * (Idempotent-Replayed: true; a stream is replayed whole, at once), one
 * still running gets 409, the same key with another body 422. Keys are per
 * principal and route (the same key on two routes is two keys) and kept a
 * day. */
#include "http_int.h"

#include "store.h"

#include <string.h>

#define IDEM_TTL_S 86400.0

int http_idem_claim(request *r, const char *owner, const char *route, const char *ctype,
                    enum MHD_Result *res)
{
    const char *key = MHD_lookup_connection_value(r->con, MHD_HEADER_KIND, "Idempotency-Key");
    if (!key)
        return 0;
    if (!http_idem_key_ok(key)) {
        *res = http_send_error(r, 422, "invalid_field",
                               "Idempotency-Key must be 1-255 visible ASCII characters",
                               "Idempotency-Key");
        return 1;
    }
    /* POST /v1/chat's keys are stored as given (route ""), as before the
     * other routes had any; the others are prefixed with their route. */
    char full[sizeof r->idem_key];
    snprintf(full, sizeof full, "%s%s%s", route, route[0] ? ":" : "", key);
    key = full;
    char hash[65];
    fd_sha256_hex(r->body.p ? r->body.p : "", r->body.len, hash);
    fd_kb *kb = http_kb_get(r->srv);
    fd_idem_state st;
    const char *resp = NULL;
    fd_err err = {0};
    int rc =
        fd_store_idem_begin(fd_kb_store(kb), owner, key, hash, IDEM_TTL_S, r->a, &st, &resp, &err);
    http_kb_put(r->srv, kb);
    if (rc) {
        *res = http_send_err(r, &err);
        return 1;
    }
    switch (st) {
    case FD_IDEM_NEW:
        r->idem = 1;
        snprintf(r->idem_key, sizeof r->idem_key, "%s", key);
        snprintf(r->idem_owner, sizeof r->idem_owner, "%s", owner);
        return 0;
    case FD_IDEM_REPLAY: {
        struct MHD_Response *m =
            MHD_create_response_from_buffer(strlen(resp), (void *)resp, MHD_RESPMEM_MUST_COPY);
        if (!m) {
            *res = MHD_NO;
            return 1;
        }
        MHD_add_response_header(m, "Idempotent-Replayed", "true");
        *res = http_queue_response(r, 200, ctype, m);
        return 1;
    }
    case FD_IDEM_RUNNING:
        *res = http_send_error(r, 409, "conflict",
                               "a request with this Idempotency-Key is still being answered",
                               "Idempotency-Key");
        return 1;
    default:
        *res = http_send_error(r, 422, "invalid_field",
                               "this Idempotency-Key was used with a different request body",
                               "Idempotency-Key");
        return 1;
    }
}

void http_idem_keep(request *r, const fd_buf *response)
{
    if (r->idem != 1)
        return;
    fd_kb *kb = http_kb_get(r->srv);
    fd_err err = {0};
    if (fd_store_idem_finish(fd_kb_store(kb), r->idem_owner, r->idem_key,
                             response->p ? response->p : "", &err) == FD_OK)
        r->idem = 2;
    else {
        /* a retry will run the turn again: count it where errors are counted */
        fd_metric_add(r->srv->m.errors, 1, "idempotency");
        FD_LOG(r->srv->log, FD_LOG_WARN, "http", "Idempotency-Key %s not kept: %s", r->idem_key,
               err.msg);
    }
    http_kb_put(r->srv, kb);
}

void http_idem_release(request *r)
{
    if (r->idem != 1)
        return;
    fd_kb *kb = http_kb_get(r->srv);
    fd_err err = {0};
    if (fd_store_idem_abort(fd_kb_store(kb), r->idem_owner, r->idem_key, &err) != FD_OK) {
        fd_metric_add(r->srv->m.errors, 1, "idempotency");
        FD_LOG(r->srv->log, FD_LOG_WARN, "http", "Idempotency-Key %s not freed: %s", r->idem_key,
               err.msg);
    }
    http_kb_put(r->srv, kb);
    r->idem = 0;
}
