/* openai.c: POST /v1/chat/completions, so OpenAI clients and chat UIs can
 * talk to frontdesk unchanged.
 *
 * The answer is to the last user message; frontdesk keeps the conversation
 * itself (X-Session-Id, or "session_id" in the body, continues one; without
 * it each request starts a session), so the history and system prompt a
 * client resends are not used: the knowledge base and its policy decide
 * what is said. The reply is the usual chat.completion (or its chunks) plus
 * a "frontdesk" member with the full reply object (citations, escalation,
 * degraded...). usage counts the LLM tokens actually spent (0 when the
 * answer came without the LLM).
 *
 * Streaming cannot take text back: when frontdesk retracts a streamed LLM
 * answer that failed validation, the stream says so in a content chunk and
 * continues with the checked answer; "frontdesk.answer" is authoritative. */
#include "http_int.h"

#include <jansson.h>
#include <string.h>

typedef struct oa_ctx {
    char id[64]; /* chatcmpl-<request id> */
    char *model;
    long long created;
} oa_ctx;

static int chunk_head(request *r, fd_buf *out)
{
    oa_ctx *o = r->fmt_ctx;
    int rc = fd_buf_printf(out,
                           "data: {\"id\":\"%s\",\"object\":\"chat.completion.chunk\","
                           "\"created\":%lld,\"model\":",
                           o->id, o->created);
    return rc ? rc : fd_buf_json_str(out, o->model, strlen(o->model));
}

static int oa_open(request *r, fd_buf *out)
{
    int rc = chunk_head(r, out);
    return rc ? rc
              : fd_buf_printf(out, ",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\","
                                   "\"content\":\"\"},\"finish_reason\":null}]}\n\n");
}

static int oa_text(request *r, fd_buf *out, const char *p, size_t n)
{
    int rc = chunk_head(r, out);
    rc = rc ? rc : fd_buf_printf(out, ",\"choices\":[{\"index\":0,\"delta\":{\"content\":");
    rc = rc ? rc : fd_buf_json_str(out, p, n);
    return rc ? rc : fd_buf_printf(out, "},\"finish_reason\":null}]}\n\n");
}

static int oa_reset(request *r, fd_buf *out)
{
    static const char note[] = "\n\n(Correction: the answer above could not be checked "
                               "against our documents. Here is what they say.)\n\n";
    return oa_text(r, out, note, sizeof note - 1);
}

static int usage(fd_buf *out, const fd_reply *rep)
{
    return fd_buf_printf(out,
                         "\"usage\":{\"prompt_tokens\":%lld,\"completion_tokens\":%lld,"
                         "\"total_tokens\":%lld}",
                         (long long)rep->prompt_tokens, (long long)rep->completion_tokens,
                         (long long)(rep->prompt_tokens + rep->completion_tokens));
}

static int oa_stream_end(request *r, fd_buf *out, const fd_reply *rep)
{
    int rc = chunk_head(r, out);
    rc = rc ? rc
            : fd_buf_printf(
                  out, ",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],");
    rc = rc ? rc : usage(out, rep);
    rc = rc ? rc : fd_buf_printf(out, ",\"frontdesk\":");
    rc = rc ? rc : http_reply_object(r, out, rep);
    return rc ? rc : fd_buf_printf(out, "}\n\ndata: [DONE]\n\n");
}

static int oa_whole(request *r, fd_buf *out, const fd_reply *rep)
{
    oa_ctx *o = r->fmt_ctx;
    const char *answer = rep->answer ? rep->answer : "";
    int rc = fd_buf_printf(out,
                           "{\"id\":\"%s\",\"object\":\"chat.completion\",\"created\":%lld,"
                           "\"model\":",
                           o->id, o->created);
    rc = rc ? rc : fd_buf_json_str(out, o->model, strlen(o->model));
    rc = rc ? rc
            : fd_buf_printf(out, ",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
                                 "\"content\":");
    rc = rc ? rc : fd_buf_json_str(out, answer, strlen(answer));
    rc = rc ? rc : fd_buf_printf(out, "},\"finish_reason\":\"stop\"}],");
    rc = rc ? rc : usage(out, rep);
    rc = rc ? rc : fd_buf_printf(out, ",\"frontdesk\":");
    rc = rc ? rc : http_reply_object(r, out, rep);
    return rc ? rc : fd_buf_putc(out, '}');
}

static int oa_fail(request *r, fd_buf *out, const char *code, const char *msg)
{
    int rc = fd_buf_printf(out, "data: {\"error\":{\"message\":");
    rc = rc ? rc : fd_buf_json_str(out, msg, strlen(msg));
    rc = rc ? rc
            : fd_buf_printf(out,
                            ",\"type\":\"api_error\",\"param\":null,\"code\":\"%s\","
                            "\"request_id\":\"%s\"}}\n\ndata: [DONE]\n\n",
                            code, r->id);
    return rc;
}

static const chat_format oa_json = {.stream = 0, .reply = oa_whole, .error = http_chat_error};
static const chat_format oa_sse = {.stream = 1,
                                   .open = oa_open,
                                   .text = oa_text,
                                   .reset = oa_reset,
                                   .reply = oa_stream_end,
                                   .fail = oa_fail,
                                   .error = http_chat_error};

/* OpenAI clients keep the conversation themselves and send all of it, with
 * no session id. Its first user message and the first reply to it, as
 * frontdesk stored them, find the session again (the most recent of this
 * caller's), so a follow-up keeps its context. 1 when found. A client that
 * edits the replies it sends back, or a store that redacts PII in turns,
 * finds nothing: a new session, as before. */
static int by_opening(request *r, json_t *msgs, const char *owner, char out[65])
{
    const char *u1, *a1;
    size_t ulen, alen;
    if (!http_parse_opening(msgs, r->a, &u1, &ulen, &a1, &alen))
        return 0;
    fd_kb *kb = http_kb_get(r->srv);
    fd_err err = {0};
    int rc = fd_store_session_by_opening(fd_kb_store(kb), owner, u1, a1, out, &err);
    http_kb_put(r->srv, kb);
    if (rc && rc != FD_ENOTFOUND) {
        /* answered in a new session, as without history: counted, not only logged */
        fd_metric_add(r->srv->m.errors, 1, "openai_history");
        FD_LOG(r->srv->log, FD_LOG_WARN, "http", "finding an OpenAI conversation: %s", err.msg);
    }
    return rc == FD_OK;
}

enum MHD_Result http_post_completions(request *r)
{
    enum MHD_Result res;
    r->openai = 1;
    if (!http_auth(r, FD_SCOPE_CHAT, &res))
        return res;
    const char *token_user = NULL; /* X-User-Token's sub: overrides the body's user */
    if (!http_user_token(r, &token_user, &res))
        return res;
    if (!http_body_json_ok(r, &res))
        return res;
    http_completion_body cb;
    http_perr pe;
    if (http_parse_completion(r->body.p, r->body.len, r->a, &cb, &pe))
        return http_send_perr(r, &pe);
    json_t *j = cb.j;
    const char *session = cb.session_id;
    const char *hs = MHD_lookup_connection_value(r->con, MHD_HEADER_KIND, "X-Session-Id");
    if (hs && hs[0])
        session = hs;
    char owner[HTTP_PRINCIPAL_MAX];
    int streamed = cb.stream;
    if (!http_principal(r, token_user, owner, sizeof owner, &res) ||
        !http_chat_limits(r, session, &res) ||
        http_idem_claim(r, owner, streamed ? "openai.stream" : "openai",
                        streamed ? "text/event-stream" : "application/json", &res)) {
        json_decref(j);
        return res;
    }
    char found[65];
    if (!session && by_opening(r, cb.messages, owner, found))
        session = found;
    oa_ctx *o = fd_arena_calloc(r->a, 1, sizeof *o);
    const char *mname = cb.model ? cb.model : "frontdesk";
    if (o)
        o->model = fd_arena_strndup(r->a, mname, strlen(mname));
    if (!o || !o->model) {
        json_decref(j);
        return http_send_error(r, 400, "internal", "out of memory", NULL);
    }
    snprintf(o->id, sizeof o->id, "chatcmpl-%s", r->id);
    o->created = (long long)fd_time_wall();
    r->fmt_ctx = o;
    fd_turn_in in = {.message = cb.text,
                     .owner = owner,
                     .len = cb.len,
                     .session_id = session,
                     .user = token_user ? token_user : cb.user,
                     .request_id = r->id,
                     .traceparent =
                         MHD_lookup_connection_value(r->con, MHD_HEADER_KIND, "traceparent"),
                     .no_cache = http_no_cache(r),
                     .key_id = http_key_label(r)};
    res = http_chat(r, &in, streamed ? &oa_sse : &oa_json);
    json_decref(j);
    return res;
}

/* GET /v1/models: OpenAI clients (the npm client's models.list(), Open
 * WebUI, LibreChat) list models before they chat. One model, "frontdesk":
 * the whole assistant, whatever LLM (if any) runs behind it. */
enum MHD_Result http_get_models(request *r)
{
    enum MHD_Result res;
    r->openai = 1;
    if (!http_auth(r, FD_SCOPE_CHAT, &res))
        return res;
    fd_buf b;
    fd_buf_init(&b, 1024);
    if (fd_buf_printf(&b,
                      "{\"object\":\"list\",\"data\":[{\"id\":\"frontdesk\",\"object\":\"model\","
                      "\"created\":%lld,\"owned_by\":\"frontdesk\"}]}",
                      (long long)r->srv->started_at)) {
        fd_buf_free(&b);
        return http_send_error(r, 500, "internal", "out of memory", NULL);
    }
    res = http_send_json(r, 200, &b);
    fd_buf_free(&b);
    return res;
}
