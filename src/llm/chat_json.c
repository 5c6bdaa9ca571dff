/* chat_json.c: the OpenAI chat-completions JSON: the request body we send
 * and the chunks (streamed or whole) we get back, with jansson. Lenient on
 * input: any server of the API shape adds or omits fields. */
#include "llm_int.h"

#include <jansson.h>
#include <string.h>

static int set_new(json_t *obj, const char *key, json_t *v)
{
    return v ? json_object_set_new(obj, key, v) : -1;
}

static json_t *messages_json(const fd_llm_request *req, fd_err *err)
{
    json_t *arr = json_array();
    if (!arr) {
        fd_err_set(err, FD_ENOMEM, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < req->n_msgs; i++) {
        const fd_llm_msg *m = &req->msgs[i];
        if (!m->role || !*m->role || !m->content) {
            fd_err_set_field(err, FD_EINVAL, "messages", "message %zu has no role or content", i);
            json_decref(arr);
            return NULL;
        }
        json_t *o = json_pack("{s:s, s:s}", "role", m->role, "content", m->content);
        if (!o || json_array_append_new(arr, o)) {
            /* json_pack fails on text that is not UTF-8 as well as on OOM;
             * the former is the likely one on a request path. */
            fd_err_set_field(err, FD_EINVAL, "messages",
                             "message %zu is not valid UTF-8 (or out of memory)", i);
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

int fd_llm_body_build(const fd_llm_request *req, const char *model, int max_tokens,
                      double temperature, int stream, char **out, size_t *len, fd_err *err)
{
    *out = NULL;
    *len = 0;
    if (!req->msgs || !req->n_msgs)
        return fd_err_set_field(err, FD_EINVAL, "messages", "no messages");
    json_t *msgs = messages_json(req, err);
    if (!msgs)
        return err ? err->code : FD_EINVAL;
    json_t *root = json_object();
    int bad = !root;
    if (!bad && model && *model)
        bad = set_new(root, "model", json_string(model));
    if (!bad)
        bad = json_object_set_new(root, "messages", msgs);
    else
        json_decref(msgs);
    if (!bad && max_tokens > 0)
        bad = set_new(root, "max_tokens", json_integer(max_tokens));
    if (!bad && temperature >= 0)
        bad = set_new(root, "temperature", json_real(temperature));
    if (!bad && stream) {
        json_t *so = json_object();
        bad = set_new(root, "stream", json_true()) || set_new(root, "stream_options", so) ||
              set_new(so, "include_usage", json_true());
    }
    size_t n = bad ? 0 : json_dumpb(root, NULL, 0, JSON_COMPACT);
    char *p = n ? fd_malloc(n + 1) : NULL;
    if (p && json_dumpb(root, p, n, JSON_COMPACT) != n)
        FD_FREE(p);
    json_decref(root);
    if (!p)
        return fd_err_set(err, FD_ENOMEM, "out of memory building the request body");
    p[n] = '\0';
    *out = p;
    *len = n;
    return FD_OK;
}

static const char *error_text(json_t *e)
{
    if (json_is_string(e))
        return json_string_value(e);
    const char *m = json_string_value(json_object_get(e, "message"));
    return m ? m : "error without a message";
}

static void read_usage(json_t *root, fd_llm_chunk *out)
{
    json_t *u = json_object_get(root, "usage");
    if (!json_is_object(u))
        return;
    json_t *pt = json_object_get(u, "prompt_tokens");
    json_t *ct = json_object_get(u, "completion_tokens");
    if (!json_is_integer(pt) && !json_is_integer(ct))
        return;
    out->has_usage = 1;
    out->prompt_tokens = json_is_integer(pt) ? (int64_t)json_integer_value(pt) : 0;
    out->completion_tokens = json_is_integer(ct) ? (int64_t)json_integer_value(ct) : 0;
}

int fd_llm_chunk_parse(const char *p, size_t n, fd_llm_chunk *out, fd_err *err)
{
    memset(out, 0, sizeof *out);
    json_error_t jerr;
    json_t *root = json_loadb(p, n, 0, &jerr);
    if (!json_is_object(root)) {
        json_decref(root);
        return fd_err_set(err, FD_EUPSTREAM, "LLM sent a chunk that is not a JSON object: %s",
                          root ? "not an object" : jerr.text);
    }
    out->_root = root;
    json_t *e = json_object_get(root, "error");
    if (e && !json_is_null(e)) {
        out->error = error_text(e);
        return FD_OK;
    }
    read_usage(root, out);
    json_t *choice = json_array_get(json_object_get(root, "choices"), 0);
    if (!json_is_object(choice))
        return FD_OK; /* the usage-only chunk, or a keep-alive object */
    json_t *m = json_object_get(choice, "delta");
    if (!json_is_object(m))
        m = json_object_get(choice, "message");
    json_t *c = json_object_get(m, "content");
    if (json_is_string(c)) {
        out->content = json_string_value(c);
        out->content_len = json_string_length(c);
    }
    out->finish_reason = json_string_value(json_object_get(choice, "finish_reason"));
    return FD_OK;
}

void fd_llm_chunk_release(fd_llm_chunk *ch)
{
    json_decref((json_t *)ch->_root);
    memset(ch, 0, sizeof *ch);
}

void fd_llm_error_message(const char *p, size_t n, char *out, size_t cap)
{
    if (!cap)
        return;
    out[0] = '\0';
    json_t *root = json_loadb(p, n, 0, NULL);
    json_t *e = json_object_get(root, "error");
    if (e && !json_is_null(e))
        snprintf(out, cap, "%s", error_text(e));
    json_decref(root);
}
