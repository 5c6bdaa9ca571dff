/* handoffs.c: the operators' routes (scope operator): the list and search
 * of handoffs, one handoff with its internal notes, and the actions on it:
 * claim, reply, resolve, assign to an agent, add a note, say the agent is
 * typing. Notes stay
 * between agents: they are never turns, so no customer route shows them. */
#include "http_int.h"

#include "store.h"
#include "text.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MESSAGE_MAX 4000
#define NOTE_MAX 2000
#define SNIPPET_BYTES 160

int http_handoff_fields(fd_buf *b, const fd_handoff_row *h)
{
    int rc = fd_buf_printf(b, "\"id\":%lld,\"ticket\":\"%s\",\"session_id\":", (long long)h->id,
                           h->ticket);
    rc = rc ? rc : fd_buf_json_str(b, h->session_id, strlen(h->session_id));
    rc = rc ? rc : fd_buf_printf(b, ",\"tier\":");
    rc = rc ? rc : fd_buf_json_str(b, h->tier, strlen(h->tier));
    rc = rc ? rc : fd_buf_printf(b, ",\"reason\":");
    rc = rc ? rc : fd_buf_json_str(b, h->reason, strlen(h->reason));
    rc = rc ? rc : fd_buf_printf(b, ",\"summary\":");
    rc = rc ? rc : fd_buf_json_str(b, h->summary, strlen(h->summary));
    rc = rc ? rc : fd_buf_printf(b, ",\"status\":\"%s\",\"operator\":", h->status);
    rc = rc ? rc : fd_buf_json_str(b, h->operator_, strlen(h->operator_));
    rc = rc ? rc
            : fd_buf_printf(b, ",\"created_at\":%.3f,\"updated_at\":%.3f", h->created_at,
                            h->updated_at);
    return rc;
}

static int handoff_json(fd_buf *b, const fd_handoff_row *h, int first)
{
    int rc = fd_buf_printf(b, "%s{", first ? "" : ",");
    rc = rc ? rc : http_handoff_fields(b, h);
    return rc ? rc : fd_buf_printf(b, "}");
}

/* ---- GET /v1/handoffs: the list, or a search with ?q= ------------------------ */

#define STOP_LIMIT 2 /* a callback's "enough rows", told from 1 (out of memory) */

typedef struct list_ctx {
    fd_buf *b;
    const char *status; /* NULL: any */
    const char *q;      /* the search, for snippets */
    long limit;         /* 0: none */
    int n, rc;
} list_ctx;

static int list_each(void *ctx, const fd_handoff_row *h)
{
    list_ctx *c = ctx;
    c->rc = handoff_json(c->b, h, c->n++ == 0);
    if (c->rc)
        return 1;
    return c->limit && c->n >= c->limit ? STOP_LIMIT : 0;
}

/* Where the query is in the message (ASCII case folded, as the search
 * matched it), else its start: a window of it, cut on UTF-8 boundaries. */
static int snippet_json(fd_buf *b, const char *text, const char *q)
{
    size_t n = strlen(text), qn = strlen(q), at = 0;
    for (size_t i = 0; qn && i + qn <= n; i++)
        if (strncasecmp(text + i, q, qn) == 0) {
            at = i;
            break;
        }
    size_t from = at > 40 ? at - 40 : 0;
    while (from > 0 && ((unsigned char)text[from] & 0xC0) == 0x80)
        from--;
    size_t to = from + SNIPPET_BYTES < n ? from + SNIPPET_BYTES : n;
    while (to < n && ((unsigned char)text[to] & 0xC0) == 0x80)
        to--;
    int rc = fd_buf_printf(b, ",\"snippet\":\"%s", from ? "\xE2\x80\xA6" : "");
    if (!rc && to > from) {
        /* the JSON string's inside: json_str's quotes dropped */
        size_t mark = b->len;
        rc = fd_buf_json_str(b, text + from, to - from);
        if (!rc) {
            memmove(b->p + mark, b->p + mark + 1, b->len - mark - 2);
            b->len -= 2;
        }
    }
    return rc ? rc : fd_buf_printf(b, "%s\"", to < n ? "\xE2\x80\xA6" : "");
}

static int search_each(void *ctx, const fd_handoff_row *h, const char *snippet)
{
    list_ctx *c = ctx;
    if (c->status && strcmp(h->status, c->status) != 0)
        return 0;
    c->rc = fd_buf_printf(c->b, "%s{", c->n++ ? "," : "");
    c->rc = c->rc ? c->rc : http_handoff_fields(c->b, h);
    c->rc = c->rc ? c->rc : snippet_json(c->b, snippet, c->q);
    c->rc = c->rc ? c->rc : fd_buf_printf(c->b, "}");
    return c->rc ? 1 : 0;
}

enum MHD_Result http_get_handoffs(request *r)
{
    enum MHD_Result res;
    if (!http_auth(r, FD_SCOPE_OPERATOR, &res))
        return res;
    http_handoffs_query hq;
    http_perr pe;
    if (http_parse_handoffs_query(
            MHD_lookup_connection_value(r->con, MHD_GET_ARGUMENT_KIND, "status"),
            MHD_lookup_connection_value(r->con, MHD_GET_ARGUMENT_KIND, "q"),
            MHD_lookup_connection_value(r->con, MHD_GET_ARGUMENT_KIND, "limit"), &hq, &pe))
        return http_send_perr(r, &pe);
    const char *status = hq.status, *q = hq.q;
    long limit = hq.limit;
    fd_buf b;
    fd_buf_init(&b, 0);
    list_ctx c = {&b, status, q, limit, 0, 0};
    fd_err err = {0};
    int rc = fd_buf_printf(&b, "{\"handoffs\":[");
    fd_kb *kb = http_kb_get(r->srv);
    if (!rc && q)
        rc = fd_store_handoffs_search(fd_kb_store(kb), q, limit, search_each, &c, &err);
    else if (!rc)
        rc = fd_store_handoffs_each(fd_kb_store(kb), status, list_each, &c, &err);
    http_kb_put(r->srv, kb);
    if (rc == STOP_LIMIT && !c.rc)
        rc = FD_OK;
    return http_send_list(r, &b, rc, c.rc, &err);
}

/* ---- one handoff and its notes ------------------------------------------------- */

typedef struct notes_ctx {
    fd_buf *b;
    int n, rc;
} notes_ctx;

static int note_json(fd_buf *b, const fd_note_row *n, int first)
{
    int rc = fd_buf_printf(b, "%s{\"id\":%lld,\"handoff_id\":%lld,\"author\":", first ? "" : ",",
                           (long long)n->id, (long long)n->handoff_id);
    rc = rc ? rc : fd_buf_json_str(b, n->author, strlen(n->author));
    rc = rc ? rc : fd_buf_printf(b, ",\"text\":");
    rc = rc ? rc : fd_buf_json_str(b, n->text, strlen(n->text));
    return rc ? rc : fd_buf_printf(b, ",\"created_at\":%.3f}", n->created_at);
}

static int note_each(void *ctx, const fd_note_row *n)
{
    notes_ctx *c = ctx;
    c->rc = note_json(c->b, n, c->n++ == 0);
    return c->rc ? 1 : 0;
}

/* GET /v1/handoffs/{id} (the handoff and "notes") or .../notes (the notes
 * alone): every note on the conversation, from any of its handoffs. */
static enum MHD_Result get_handoff(request *r, int64_t id, int notes_only)
{
    fd_kb *kb = http_kb_get(r->srv);
    fd_store *st = fd_kb_store(kb);
    fd_err err = {0};
    fd_handoff_row h;
    fd_buf b;
    fd_buf_init(&b, 0);
    notes_ctx c = {&b, 0, 0};
    int rc = fd_store_handoff_get(st, id, r->a, &h, &err);
    if (!rc && !notes_only)
        rc = fd_buf_printf(&b, "{") || http_handoff_fields(&b, &h) ? 1 : FD_OK;
    if (!rc)
        rc = fd_buf_printf(&b, "%s\"notes\":[", notes_only ? "{" : ",") ? 1 : FD_OK;
    if (!rc)
        rc = fd_store_notes_each(st, h.session_id, note_each, &c, &err);
    http_kb_put(r->srv, kb);
    return http_send_list(r, &b, rc, c.rc, &err);
}

/* The request's "name" member: a non-empty UTF-8 string of at most max
 * bytes; NULL and a 422 naming it sent otherwise. */
static const char *text_member(request *r, json_t *j, const char *name, size_t max,
                               enum MHD_Result *res)
{
    const char *v;
    http_perr pe;
    if (http_parse_text_member(j, name, max, &v, &pe)) {
        *res = http_send_perr(r, &pe);
        return NULL;
    }
    return v;
}

/* POST /v1/handoffs/{id}/notes {"text"}: on any handoff, open to resolved
 * (what was learnt stays with the conversation). */
static enum MHD_Result post_note(request *r, int64_t id)
{
    enum MHD_Result res;
    json_t *j = http_body_object(r, &res);
    if (!j)
        return res;
    const char *text = text_member(r, j, "text", NOTE_MAX, &res);
    if (!text) {
        json_decref(j);
        return res;
    }
    fd_kb *kb = http_kb_get(r->srv);
    fd_store *st = fd_kb_store(kb);
    fd_err err = {0};
    fd_handoff_row h;
    fd_note_row n = {.handoff_id = id, .author = http_operator_name(r), .text = text};
    int rc = fd_store_handoff_get(st, id, r->a, &h, &err);
    if (!rc) {
        n.session_id = h.session_id;
        rc = fd_store_note_add(st, &n, &n.id, &err);
    }
    http_kb_put(r->srv, kb);
    if (rc == FD_ECONFLICT)
        fd_err_set(&err, FD_ENOTFOUND, "the conversation of handoff %lld was deleted",
                   (long long)id);
    if (rc) {
        json_decref(j);
        return http_send_err(r, &err);
    }
    /* The other agents' queues count it now (the session's own stream
     * wakes too, and finds nothing to say: notes are not its events). */
    http_events_poke(r->srv, h.session_id);
    fd_buf b;
    fd_buf_init(&b, 0);
    n.created_at = fd_time_wall();
    res = note_json(&b, &n, 1) ? http_send_error(r, 500, "internal", "out of memory", NULL)
                               : http_send_json(r, 201, &b);
    fd_buf_free(&b);
    json_decref(j);
    return res;
}

/* POST /v1/handoffs/{id}/typing: the agent is writing a reply; the
 * customer's stream shows it for a few seconds. Only on a claimed
 * handoff (nobody else may reply); the console sends it at most every
 * few seconds, and a bucket per handoff keeps a looping client cheap. */
static enum MHD_Result post_typing(request *r, int64_t id)
{
    char bucket[64];
    snprintf(bucket, sizeof bucket, "typing:%lld", (long long)id);
    double retry;
    if (!http_limit_take(r->srv, bucket, 30, 5, &retry))
        return http_send_429(r, retry, "typing");
    fd_kb *kb = http_kb_get(r->srv);
    fd_err err = {0};
    fd_handoff_row h;
    int rc = fd_store_handoff_get(fd_kb_store(kb), id, r->a, &h, &err);
    http_kb_put(r->srv, kb);
    if (!rc && strcmp(h.status, "claimed") != 0)
        rc = fd_err_set(&err, FD_ECONFLICT, "handoff %lld is %s: claim it first", (long long)id,
                        h.status);
    if (rc)
        return http_send_err(r, &err);
    http_events_typing(r->srv, h.session_id, 1);
    char body[64];
    int n = snprintf(body, sizeof body, "{\"typing\":true,\"ttl_ms\":%d}", HTTP_TYPING_TTL_MS);
    return http_send(r, 202, "application/json", body, (size_t)n);
}

/* ---- GET /v1/canned-replies: the knowledge base's canned.md ------------------- */

enum MHD_Result http_get_canned(request *r)
{
    enum MHD_Result res;
    if (!http_auth(r, FD_SCOPE_OPERATOR, &res))
        return res;
    fd_kb *kb = http_kb_get(r->srv);
    fd_err err = {0};
    const char *text = NULL;
    size_t len = 0, n = 0;
    fd_canned *c = NULL;
    int rc = fd_kb_asset(kb, "canned.md", r->a, &text, &len, NULL, &err);
    http_kb_put(r->srv, kb);
    if (rc == FD_ENOTFOUND) /* none written yet: an empty list, not an error */
        rc = FD_OK;
    else if (!rc)
        rc = fd_kb_canned_parse(text, len, r->a, &c, &n, &err);
    if (rc)
        return http_send_err(r, &err);
    fd_buf b;
    fd_buf_init(&b, 0);
    int brc = fd_buf_printf(&b, "{\"replies\":[");
    for (size_t i = 0; i < n && !brc; i++) {
        brc = fd_buf_printf(&b, "%s{\"shortcut\":", i ? "," : "");
        brc = brc ? brc : fd_buf_json_str(&b, c[i].shortcut, strlen(c[i].shortcut));
        brc = brc ? brc : fd_buf_printf(&b, ",\"title\":");
        brc = brc ? brc : fd_buf_json_str(&b, c[i].title, strlen(c[i].title));
        brc = brc ? brc : fd_buf_printf(&b, ",\"text\":");
        brc = brc ? brc : fd_buf_json_str(&b, c[i].text, strlen(c[i].text));
        brc = brc ? brc : fd_buf_printf(&b, "}");
    }
    brc = brc ? brc : fd_buf_printf(&b, "]}");
    res = brc ? http_send_error(r, 500, "internal", "out of memory", NULL)
              : http_send_json(r, 200, &b);
    fd_buf_free(&b);
    return res;
}

/* ---- claim, reply, resolve ------------------------------------------------------ */

/* Sets the session's state (bot, waiting, human) inside the caller's transaction. */
static int session_state(fd_store *st, fd_arena *a, const char *sid, const char *state, fd_err *err)
{
    fd_session_row s;
    int rc = fd_store_session_get(st, sid, a, &s, err);
    if (rc)
        return rc;
    s.state = state;
    return fd_store_session_put(st, &s, err);
}

/* claim | messages | resolve | assign on handoff id, in one transaction each. */
static enum MHD_Result handoff_action(request *r, int64_t id, const char *action)
{
    enum MHD_Result res;
    int is_msg = strcmp(action, "messages") == 0, assign = strcmp(action, "assign") == 0;
    const char *text = NULL, *to = NULL;
    json_t *j = NULL;
    if (is_msg || assign) {
        if (!(j = http_body_object(r, &res)))
            return res;
        if (is_msg && !(text = text_member(r, j, "message", MESSAGE_MAX, &res))) {
            json_decref(j);
            return res;
        }
        if (assign && !(to = text_member(r, j, "agent", FD_AGENT_NAME_MAX, &res))) {
            json_decref(j);
            return res;
        }
    }
    const char *op = http_operator_name(r);
    fd_kb *kb = http_kb_get(r->srv);
    fd_store *st = fd_kb_store(kb);
    fd_err err = {0};
    fd_handoff_row h;
    /* The agent it goes to: an enabled account, checked before anything
     * changes (a name nobody signs in with would strand the customer). */
    fd_agent_info target;
    if (assign) {
        int arc = fd_agent_name_ok(to) ? fd_agents_get(st, to, &target, &err) : FD_ENOTFOUND;
        if (arc == FD_OK && target.disabled_at > 0)
            arc = FD_ENOTFOUND;
        if (arc) {
            http_kb_put(r->srv, kb);
            json_decref(j);
            if (arc != FD_ENOTFOUND)
                return http_send_err(r, &err);
            return http_send_error(r, 422, "invalid_field", "agent must name an enabled agent",
                                   "agent");
        }
    }
    /* What the customer sees with an agent's message: the display name. */
    char meta[1024] = "{}";
    if (is_msg && r->is_agent) {
        json_t *m = json_pack("{s:s}", "agent", r->agent.display_name);
        size_t n = m ? json_dumpb(m, meta, sizeof meta - 1, JSON_COMPACT) : 0;
        meta[n > 0 && n < sizeof meta ? n : 0] = '\0';
        if (!meta[0])
            snprintf(meta, sizeof meta, "{}");
        json_decref(m);
    }
    /* Replicas on PostgreSQL: the conversation's lock, as a bot turn takes
     * it, so a turn in flight on another replica cannot write its stale
     * state ("bot") over this claim, or this over its turn. */
    char holder[40] = "", sid[72] = "";
    int rc = FD_OK;
    if (r->srv->cfg->store_url[0]) {
        uint64_t x = fd_hash64(&r, sizeof r, fd_time_ns());
        snprintf(holder, sizeof holder, "op-%016llx", (unsigned long long)x);
        rc = fd_store_handoff_get(st, id, r->a, &h, &err);
        if (!rc) {
            snprintf(sid, sizeof sid, "%s", h.session_id);
            double lease = r->srv->cfg->store_busy_timeout_ms / 1000.0 + 10.0;
            rc = fd_store_convo_lock(st, sid, holder, lease, r->srv->cfg->store_busy_timeout_ms,
                                     &err);
            if (rc)
                sid[0] = '\0';
        }
    }
    if (!rc)
        rc = fd_store_begin(st, &err);
    if (!rc)
        rc = fd_store_handoff_get(st, id, r->a, &h, &err);
    if (!rc && strcmp(action, "claim") == 0) {
        rc = fd_store_handoff_set_status(st, id, "open", "claimed", op, &err);
        if (!rc)
            rc = session_state(st, r->a, h.session_id, "human", &err);
    } else if (!rc && assign) {
        /* Open or claimed (a transfer) alike; resolved is over. */
        if (strcmp(h.status, "resolved") == 0)
            rc = fd_err_set(&err, FD_ECONFLICT, "handoff %lld is resolved", (long long)id);
        if (!rc)
            rc = fd_store_handoff_set_status(st, id, h.status, "claimed", target.name, &err);
        if (!rc && strcmp(h.status, "claimed") != 0)
            rc = session_state(st, r->a, h.session_id, "human", &err);
        if (!rc) {
            char note[256];
            snprintf(note, sizeof note, "Assigned to %s by %s", target.name, op);
            fd_note_row n = {
                .session_id = h.session_id, .handoff_id = id, .author = op, .text = note};
            rc = fd_store_note_add(st, &n, NULL, &err);
        }
    } else if (!rc && strcmp(action, "resolve") == 0) {
        if (strcmp(h.status, "resolved") == 0)
            rc = fd_err_set(&err, FD_ECONFLICT, "handoff %lld is already resolved", (long long)id);
        if (!rc)
            rc = fd_store_handoff_set_status(st, id, NULL, "resolved", NULL, &err);
        if (!rc)
            rc = session_state(st, r->a, h.session_id, "bot", &err);
    } else if (!rc) {
        if (strcmp(h.status, "claimed") != 0)
            rc = fd_err_set(&err, FD_ECONFLICT, "claim handoff %lld before replying (it is %s)",
                            (long long)id, h.status);
        /* The reply ends the agent's "typing" before it is stored: a
         * stream reading in between must not tell the typing after the
         * message. */
        if (!rc)
            http_events_typing(r->srv, h.session_id, 0);
        fd_turn_row t = {.role = "operator", .text = text, .route = "human", .meta = meta};
        int64_t seq = 0;
        fd_session_row s;
        if (!rc)
            rc = fd_store_turn_add(st, h.session_id, &t, &seq, &err);
        if (!rc)
            rc = fd_store_session_get(st, h.session_id, r->a, &s, &err);
        if (!rc) {
            s.n_turns++;
            rc = fd_store_session_put(st, &s, &err);
        }
    }
    if (!rc)
        rc = fd_store_commit(st, &err);
    else
        fd_store_rollback(st);
    if (sid[0])
        fd_store_convo_unlock(st, sid, holder);
    if (!rc)
        rc = fd_store_handoff_get(st, id, r->a, &h, &err);
    http_kb_put(r->srv, kb);
    json_decref(j);
    if (rc)
        return http_send_err(r, &err);
    http_events_poke(r->srv, h.session_id); /* the customer's stream hears it now */
    fd_buf b;
    fd_buf_init(&b, 0);
    res = handoff_json(&b, &h, 1) ? MHD_NO : http_send_json(r, 200, &b);
    fd_buf_free(&b);
    return res;
}

/* ---- /v1/handoffs/{id}[/{action}] ------------------------------------------------ */

enum MHD_Result http_handoff_route(request *r, int64_t id, const char *action)
{
    enum MHD_Result res;
    int get = strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0;
    int post = strcmp(r->method, "POST") == 0;
    static const char *const posts[] = {"claim", "messages", "resolve", "typing", "assign"};
    int known = !action || strcmp(action, "notes") == 0;
    for (size_t i = 0; !known && i < sizeof posts / sizeof *posts; i++)
        known = strcmp(action, posts[i]) == 0;
    if (!known)
        return http_send_error(r, 404, "not_found", "no such endpoint", NULL);
    /* The method before the key: a 405 says what the path takes. */
    if (!action && !get)
        return http_send_405(r, "GET");
    if (action && strcmp(action, "notes") == 0 && !get && !post)
        return http_send_405(r, "GET, POST");
    if (action && strcmp(action, "notes") != 0 && !post)
        return http_send_405(r, "POST");
    if (!http_auth(r, FD_SCOPE_OPERATOR, &res))
        return res;
    if (!action)
        return get_handoff(r, id, 0);
    if (strcmp(action, "notes") == 0)
        return get ? get_handoff(r, id, 1) : post_note(r, id);
    if (strcmp(action, "typing") == 0)
        return post_typing(r, id);
    return handoff_action(r, id, action);
}
