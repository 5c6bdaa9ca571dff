/* attachments.c: images a customer sends to the person handling the
 * conversation (issue 14): POST /v1/sessions/{id}/attachments takes the
 * raw bytes (server.max_attachment_bytes, 2 MB by default) while the
 * conversation waits for or is with a person; the type is what the bytes
 * are (PNG, JPEG, GIF or WebP by their signatures), whatever the request
 * claims. The image becomes a customer turn (so the agent's queue counts
 * it and the console shows it in the timeline) and a row of its own, gone
 * with the session. GET .../attachments/{n} gives it back to the session's
 * owner and to operators of a handed-off conversation; anyone else gets
 * the same 404 as for a session that does not exist (tenancy.c). */
#include "http_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The image type the bytes are, by their signature; NULL for anything else
 * (an SVG, which can carry script, is not an image here). */
const char *http_image_type(const unsigned char *p, size_t n)
{
    if (n >= 8 && memcmp(p, "\x89PNG\r\n\x1a\n", 8) == 0)
        return "image/png";
    if (n >= 3 && p[0] == 0xFF && p[1] == 0xD8 && p[2] == 0xFF)
        return "image/jpeg";
    if (n >= 6 && (memcmp(p, "GIF87a", 6) == 0 || memcmp(p, "GIF89a", 6) == 0))
        return "image/gif";
    if (n >= 12 && memcmp(p, "RIFF", 4) == 0 && memcmp(p + 8, "WEBP", 4) == 0)
        return "image/webp";
    return NULL;
}

/* The conversation's lock on a shared store, as handoffs.c takes it: a
 * bot turn in flight on another replica must not write its stale session
 * (n_turns) over this turn. holder[0] is '\0' when none was taken. */
static int lock_convo(request *r, fd_store *st, const char *sid, char *holder, size_t n,
                      fd_err *err)
{
    holder[0] = '\0';
    if (!r->srv->cfg->store_url[0])
        return FD_OK;
    uint64_t x = fd_hash64(&r, sizeof r, fd_time_ns());
    snprintf(holder, n, "att-%016llx", (unsigned long long)x);
    double lease = r->srv->cfg->store_busy_timeout_ms / 1000.0 + 10.0;
    int rc = fd_store_convo_lock(st, sid, holder, lease, r->srv->cfg->store_busy_timeout_ms, err);
    if (rc)
        holder[0] = '\0';
    return rc;
}

static enum MHD_Result post_attachment(request *r, const char *sid)
{
    enum MHD_Result res;
    if (!http_auth_either(r, FD_SCOPE_CHAT, 0, &res))
        return res;
    fd_session_row row;
    if (!http_session_access(r, sid, 0, &row, &res))
        return res;
    if (r->body_too_big) {
        char msg[96];
        snprintf(msg, sizeof msg, "an image may be at most %d bytes",
                 r->srv->cfg->server_max_attachment);
        return http_send_error(r, 413, "too_large", msg, NULL);
    }
    const char *ct = MHD_lookup_connection_value(r->con, MHD_HEADER_KIND, "Content-Type");
    if (!ct ||
        (strncasecmp(ct, "image/", 6) != 0 && !http_content_type_is(r, "application/octet-stream")))
        return http_send_error(r, 415, "unsupported_media_type",
                               "send the image's bytes as the body, with Content-Type image/png, "
                               "image/jpeg, image/gif or image/webp",
                               NULL);
    if (r->body.len == 0)
        return http_send_error(r, 422, "invalid_field", "the body is empty: send the image",
                               "body");
    const char *type = http_image_type((const unsigned char *)r->body.p, r->body.len);
    if (!type)
        return http_send_error(r, 415, "unsupported_media_type",
                               "only PNG, JPEG, GIF or WebP images are accepted (by their content)",
                               NULL);
    if (strcmp(row.state, "waiting") != 0 && strcmp(row.state, "human") != 0)
        return http_send_error(r, 409, "conflict",
                               "images go to a person: ask for one first (the conversation is "
                               "with the assistant)",
                               NULL);
    /* A bucket of their own at the session's rate: images do not eat the
     * customer's messages, nor messages the images. */
    double per_min = r->srv->cfg->limit_session_per_min, retry;
    char bucket[96];
    snprintf(bucket, sizeof bucket, "attach:%s", sid);
    if (per_min > 0 &&
        !http_limit_take(r->srv, bucket, per_min, per_min > 10 ? per_min / 6 : per_min, &retry))
        return http_send_429(r, retry, "attachments");

    fd_kb *kb = http_kb_get(r->srv);
    fd_store *st = fd_kb_store(kb);
    fd_err err = {0};
    char holder[40];
    fd_attachment_row a = {.session_id = sid, .type = type, .data = r->body.p, .len = r->body.len};
    int64_t id = 0, seq = 0;
    char meta[160];
    int rc = lock_convo(r, st, sid, holder, sizeof holder, &err);
    if (!rc)
        rc = fd_store_begin(st, &err);
    if (!rc) {
        rc = fd_store_attachment_add(st, &a, &id, &err);
        snprintf(meta, sizeof meta, "{\"attachment\":{\"id\":%lld,\"type\":\"%s\",\"bytes\":%zu}}",
                 (long long)id, type, a.len);
        /* What the bot reads of it in the history, and a transcript shows. */
        fd_turn_row t = {.role = "user", .text = "(image)", .route = "human", .meta = meta};
        if (!rc)
            rc = fd_store_turn_add(st, sid, &t, &seq, &err);
        if (!rc)
            rc = fd_store_attachment_set_turn(st, id, seq, &err);
        fd_session_row s;
        if (!rc)
            rc = fd_store_session_get(st, sid, r->a, &s, &err);
        if (!rc) {
            s.n_turns++;
            rc = fd_store_session_put(st, &s, &err);
        }
        if (!rc)
            rc = fd_store_commit(st, &err);
        else
            fd_store_rollback(st);
    }
    if (holder[0])
        fd_store_convo_unlock(st, sid, holder);
    http_kb_put(r->srv, kb);
    if (rc == FD_ECONFLICT)
        fd_err_set(&err, FD_ENOTFOUND, "no such session");
    if (rc)
        return http_send_err(r, &err);
    /* The agents' queue counts it now (an unanswered customer message). */
    http_events_poke(r->srv, sid);
    fd_buf b;
    fd_buf_init(&b, 0);
    int brc = fd_buf_printf(&b, "{\"id\":%lld,\"type\":\"%s\",\"bytes\":%zu,\"seq\":%lld,\"url\":",
                            (long long)id, type, a.len, (long long)seq);
    char url[200];
    snprintf(url, sizeof url, "/v1/sessions/%s/attachments/%lld", sid, (long long)id);
    brc = brc ? brc : fd_buf_json_str(&b, url, strlen(url));
    brc = brc ? brc : fd_buf_printf(&b, "}");
    res = brc ? http_send_error(r, 500, "internal", "out of memory", NULL)
              : http_send_json(r, 201, &b);
    fd_buf_free(&b);
    return res;
}

static enum MHD_Result get_attachment(request *r, const char *sid, const char *num)
{
    enum MHD_Result res;
    if (!http_auth_either(r, FD_SCOPE_CHAT, FD_SCOPE_OPERATOR, &res))
        return res;
    fd_session_row row;
    if (!http_session_access(r, sid, 1, &row, &res))
        return res;
    char *end;
    long long id = strtoll(num, &end, 10);
    if (end == num || *end || id <= 0 || *num < '0' || *num > '9')
        return http_send_error(r, 404, "not_found", "no such attachment", NULL);
    /* Room for the largest image the settings allow, whatever they are now. */
    fd_arena *a = fd_arena_new(((size_t)64 << 20) + 65536);
    if (!a)
        return http_send_error(r, 500, "internal", "out of memory", NULL);
    fd_kb *kb = http_kb_get(r->srv);
    fd_err err = {0};
    fd_attachment_row at;
    int rc = fd_store_attachment_get(fd_kb_store(kb), sid, id, a, &at, &err);
    http_kb_put(r->srv, kb);
    if (rc) {
        fd_arena_free(a);
        return http_send_err(r, &err);
    }
    /* The type and name out of the arena before it goes: only the bytes are
     * copied into the response. */
    char type[32], disp[96];
    snprintf(type, sizeof type, "%s", at.type);
    const char *slash = strchr(type, '/');
    snprintf(disp, sizeof disp, "inline; filename=\"attachment-%lld.%s\"", id,
             slash ? slash + 1 : "bin");
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(at.len, (void *)at.data, MHD_RESPMEM_MUST_COPY);
    fd_arena_free(a);
    if (!resp)
        return MHD_NO;
    /* Shown in a page, never run: nosniff and the CSP come with every
     * response; the name says what it is if saved. */
    MHD_add_response_header(resp, "Content-Disposition", disp);
    return http_queue_response(r, 200, type, resp);
}

enum MHD_Result http_attachments_route(request *r, const char *sid, const char *rest)
{
    if (!rest[0]) {
        r->route = "/v1/sessions/{id}/attachments";
        if (strcmp(r->method, "POST") != 0)
            return http_send_405(r, "POST");
        return post_attachment(r, sid);
    }
    r->route = "/v1/sessions/{id}/attachments/{n}";
    if (rest[0] != '/' || strchr(rest + 1, '/'))
        return http_send_error(r, 404, "not_found", "no such endpoint", NULL);
    if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0)
        return http_send_405(r, "GET");
    return get_attachment(r, sid, rest + 1);
}
