/* parse.c: every byte a client sends that a route reads: JSON bodies,
 * query arguments, ids in paths and the few headers checked by shape.
 * Pure functions (no connection, no store), so that tests/fuzz can feed
 * them anything; the handlers only send what they refuse. */
#include "http_int.h"

#include "text.h"

#include <openssl/evp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum MHD_Result http_send_perr(request *r, const http_perr *e)
{
    return http_send_error(r, e->status, e->code, e->msg, e->field);
}

int http_refuse(http_perr *e, int status, const char *code, const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    e->status = status;
    e->code = code;
    e->field = field;
    return status;
}

/* ---- JSON bodies ------------------------------------------------------------- */

int http_media_type_is(const char *ct, const char *type)
{
    size_t n = strlen(type);
    /* "text/plain; charset=utf-8" is text/plain; "text/plainx" is not. */
    return ct && strncasecmp(ct, type, n) == 0 && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

int http_parse_json_object(const char *p, size_t n, json_t **out, http_perr *e)
{
    json_error_t je;
    json_t *j = json_loadb(p ? p : "", n, JSON_REJECT_DUPLICATES, &je);
    *out = NULL;
    if (!j || !json_is_object(j)) {
        int rc = http_refuse(e, 400, "invalid_json", NULL, "body is not a JSON object%s%s",
                             j ? "" : ": ", j ? "" : je.text);
        json_decref(j);
        return rc;
    }
    *out = j;
    return 0;
}

int http_parse_opt_string(json_t *obj, const char *name, const char **out, http_perr *e)
{
    json_t *v = json_object_get(obj, name);
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return http_refuse(e, 422, "invalid_field", name, "%s must be a string", name);
    *out = json_string_value(v);
    return 0;
}

int http_parse_text_member(json_t *obj, const char *name, size_t max, const char **out,
                           http_perr *e)
{
    json_t *v = json_object_get(obj, name);
    *out = NULL;
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > max ||
        !fd_utf8_valid(json_string_value(v), json_string_length(v), NULL))
        return http_refuse(e, 422, "invalid_field", name,
                           "%s must be a non-empty string of at most %zu bytes", name, max);
    *out = json_string_value(v);
    return 0;
}

int http_parse_string_member(json_t *obj, const char *name, int required, size_t max,
                             const char **out, http_perr *e)
{
    json_t *v = json_object_get(obj, name);
    *out = NULL;
    if (!v && !required) {
        *out = "";
        return 0;
    }
    if (!json_is_string(v) || (required && json_string_length(v) == 0) ||
        json_string_length(v) > max || strlen(json_string_value(v)) != json_string_length(v))
        return http_refuse(e, 422, "invalid_field", name,
                           "%s must be a %sstring of at most %zu bytes", name,
                           required ? "non-empty " : "", max);
    *out = json_string_value(v);
    return 0;
}

/* Frees *j on a refusal, so that every parser's caller owns j only on 0. */
static int drop(json_t **j, int rc)
{
    if (rc) {
        json_decref(*j);
        *j = NULL;
    }
    return rc;
}

int http_parse_chat(const char *p, size_t n, http_chat_body *out, http_perr *e)
{
    memset(out, 0, sizeof *out);
    int rc = http_parse_json_object(p, n, &out->j, e);
    if (rc)
        return rc;
    json_t *mv = json_object_get(out->j, "message");
    if (!mv || !json_is_string(mv))
        return drop(&out->j, http_refuse(e, 422, "invalid_field", "message", "%s",
                                         mv ? "message must be a string" : "message is required"));
    out->message = json_string_value(mv);
    out->len = json_string_length(mv);
    rc = http_parse_opt_string(out->j, "session_id", &out->session_id, e);
    rc = rc ? rc : http_parse_opt_string(out->j, "user", &out->user, e);
    if (rc)
        return drop(&out->j, rc);
    /* "trace": true, for admin keys (the handler checks the key). */
    json_t *tv = json_object_get(out->j, "trace");
    out->trace = json_is_true(tv);
    if (tv && !json_is_boolean(tv))
        return drop(&out->j,
                    http_refuse(e, 422, "invalid_field", "trace", "trace must be true or false"));
    return 0;
}

/* ---- the OpenAI facade's body ------------------------------------------------ */

/* The text of a message's content: a string, or the text parts of an array
 * ([{"type":"text","text":...}]) joined by newlines (at most 1 MiB), in a.
 * NULL if none (or out of memory). */
static const char *content_text(json_t *content, fd_arena *a, size_t *len)
{
    if (json_is_string(content)) {
        *len = json_string_length(content);
        return json_string_value(content);
    }
    if (!json_is_array(content))
        return NULL;
    fd_buf b;
    fd_buf_init(&b, 1 << 20);
    size_t i;
    json_t *part;
    json_array_foreach(content, i, part)
    {
        json_t *t = json_object_get(part, "text");
        if (!json_is_string(json_object_get(part, "type")) ||
            strcmp(json_string_value(json_object_get(part, "type")), "text") != 0 ||
            !json_is_string(t))
            continue;
        if ((b.len && fd_buf_putc(&b, '\n')) ||
            fd_buf_append(&b, json_string_value(t), json_string_length(t))) {
            fd_buf_free(&b);
            return NULL;
        }
    }
    char *s = b.len ? fd_arena_strndup(a, b.p, b.len) : NULL;
    *len = b.len;
    fd_buf_free(&b);
    return s;
}

int http_parse_completion(const char *p, size_t n, fd_arena *a, http_completion_body *out,
                          http_perr *e)
{
    memset(out, 0, sizeof *out);
    int rc = http_parse_json_object(p, n, &out->j, e);
    if (rc)
        return rc;
    json_t *j = out->j;
    json_t *msgs = json_object_get(j, "messages");
    if (!json_is_array(msgs) || json_array_size(msgs) == 0)
        return drop(&out->j, http_refuse(e, 400, "invalid_messages", "messages",
                                         "messages must be a non-empty array"));
    const char *text = NULL;
    size_t len = 0;
    for (size_t i = json_array_size(msgs); i-- > 0 && !text;) {
        json_t *m = json_array_get(msgs, i);
        json_t *role = json_object_get(m, "role");
        if (json_is_string(role) && strcmp(json_string_value(role), "user") == 0)
            text = content_text(json_object_get(m, "content"), a, &len);
    }
    if (!text || !len)
        return drop(&out->j, http_refuse(e, 400, "no_user_message", "messages",
                                         "messages has no user message with text content"));
    json_t *model = json_object_get(j, "model");
    json_t *stream = json_object_get(j, "stream");
    if (model && !json_is_string(model))
        return drop(&out->j,
                    http_refuse(e, 400, "invalid_field", "model", "model must be a string"));
    if (stream && !json_is_boolean(stream) && !json_is_null(stream))
        return drop(&out->j,
                    http_refuse(e, 400, "invalid_field", "stream", "stream must be a boolean"));
    /* What the facade cannot do is refused, never silently ignored: a
     * client asking for 3 choices or for tool calls would take one plain
     * answer for what it asked. */
    json_t *nv = json_object_get(j, "n");
    if (nv && !json_is_null(nv) && !(json_is_integer(nv) && json_integer_value(nv) == 1))
        return drop(&out->j, http_refuse(e, 400, "unsupported_parameter", "n",
                                         "n must be 1: one answer per message"));
    static const char *const no[] = {"tools", "functions", "tool_choice", "function_call"};
    for (size_t k = 0; k < sizeof no / sizeof no[0]; k++) {
        json_t *v = json_object_get(j, no[k]);
        if (v && !json_is_null(v) && !(json_is_array(v) && json_array_size(v) == 0) &&
            !(json_is_string(v) && strcmp(json_string_value(v), "none") == 0))
            return drop(&out->j, http_refuse(e, 400, "unsupported_parameter", no[k],
                                             "tool and function calls are not supported: "
                                             "frontdesk answers from its documents"));
    }
    rc = http_parse_opt_string(j, "user", &out->user, e);
    rc = rc ? rc : http_parse_opt_string(j, "session_id", &out->session_id, e);
    if (rc)
        return drop(&out->j, rc);
    out->messages = msgs;
    out->text = text;
    out->len = len;
    out->model = model ? json_string_value(model) : NULL;
    out->stream = json_is_true(stream);
    return 0;
}

int http_parse_opening(json_t *messages, fd_arena *a, const char **user, size_t *ulen,
                       const char **assistant, size_t *alen)
{
    const char *u1 = NULL, *a1 = NULL;
    size_t un = 0, an = 0, i;
    json_t *m;
    json_array_foreach(messages, i, m)
    {
        const char *role = json_string_value(json_object_get(m, "role"));
        if (!role)
            continue;
        if (!u1 && strcmp(role, "user") == 0)
            u1 = content_text(json_object_get(m, "content"), a, &un);
        else if (u1 && strcmp(role, "assistant") == 0) {
            a1 = content_text(json_object_get(m, "content"), a, &an);
            break;
        }
    }
    if (!u1 || !a1 || !un || !an)
        return 0;
    *user = u1;
    *ulen = un;
    *assistant = a1;
    *alen = an;
    return 1;
}

/* ---- rating ------------------------------------------------------------------- */

int http_parse_rating(const char *p, size_t n, http_rating_body *out, http_perr *e)
{
    memset(out, 0, sizeof *out);
    int rc = http_parse_json_object(p, n, &out->j, e);
    if (rc)
        return rc;
    json_t *sv = json_object_get(out->j, "score");
    if (!json_is_integer(sv) || json_integer_value(sv) < 1 || json_integer_value(sv) > 5)
        return drop(&out->j, http_refuse(e, 422, "invalid_field", "score",
                                         "score must be an integer from 1 to 5"));
    rc = http_parse_opt_string(out->j, "comment", &out->comment, e);
    if (rc)
        return drop(&out->j, rc);
    out->comment_len = out->comment ? strlen(out->comment) : 0;
    if (out->comment_len > HTTP_RATING_COMMENT_MAX)
        return drop(&out->j, http_refuse(e, 422, "invalid_field", "comment",
                                         "comment must be at most 1000 bytes"));
    out->score = (int)json_integer_value(sv);
    return 0;
}

/* ---- uploads ------------------------------------------------------------------ */

#define TAG_MAX 64    /* tags filter searches: identifiers, not prose */
#define TITLE_MAX 300 /* bytes */

/* Segments may not start with '.' ("..", hidden files, the staging folder). */
const char *http_upload_id_problem(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > HTTP_UPLOAD_ID_MAX)
        return "id must be 1..200 characters";
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '_' || c == '-' || c == '/';
        if (!ok)
            return "id may hold only A-Z a-z 0-9 . _ - /";
    }
    if (id[0] == '/' || id[n - 1] == '/' || strstr(id, "//"))
        return "id must be a relative path without empty segments";
    if (strstr(id, ".."))
        return "id must not contain '..'";
    for (const char *s = id; s; s = strchr(s, '/')) {
        s += *s == '/';
        if (*s == '.')
            return "id segments must not start with '.'";
    }
    return NULL;
}

static int tag_ok(const char *t)
{
    size_t n = strlen(t);
    if (n == 0 || n > TAG_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = t[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

static fd_format format_named(const char *name)
{
    static const struct {
        const char *name;
        fd_format fmt;
    } names[] = {{"markdown", FD_FMT_MARKDOWN}, {"text", FD_FMT_TEXT}, {"html", FD_FMT_HTML},
                 {"csv", FD_FMT_CSV},           {"pdf", FD_FMT_PDF},   {"docx", FD_FMT_DOCX}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(name, names[i].name) == 0)
            return names[i].fmt;
    return FD_FMT_UNKNOWN;
}

/* The format the id's extension names; JSONL is not taken (its keys are
 * the rows' own ids, never the upload's). */
static fd_format format_of_id(const char *id)
{
    fd_format f = fd_ingest_format(id);
    return f == FD_FMT_JSONL ? FD_FMT_UNKNOWN : f;
}

/* Standard base64 (line breaks allowed) into a. A PDF or DOCX in a JSON
 * body comes this way. */
static int decode_base64(const char *s, size_t n, fd_arena *a, http_upload *u, http_perr *e)
{
    unsigned char *out = n <= INT32_MAX ? fd_arena_alloc(a, n / 4 * 3 + 4) : NULL;
    EVP_ENCODE_CTX *ctx = out ? EVP_ENCODE_CTX_new() : NULL;
    if (!ctx)
        return http_refuse(e, 500, "internal", NULL, "out of memory");
    int got = 0, fin = 0;
    EVP_DecodeInit(ctx);
    int ok = EVP_DecodeUpdate(ctx, out, &got, (const unsigned char *)s, (int)n) >= 0 &&
             EVP_DecodeFinal(ctx, out + got, &fin) >= 0;
    EVP_ENCODE_CTX_free(ctx);
    if (!ok)
        return http_refuse(e, 422, "invalid_field", "content_base64",
                           "content_base64 is not valid base64");
    u->p = (const char *)out;
    u->len = (size_t)got + (size_t)fin;
    return 0;
}

static int upload_json_fields(fd_arena *a, http_upload *u, http_perr *e)
{
    json_t *j = u->j;
    const char *fmt = NULL, *b64 = NULL;
    int rc = http_parse_opt_string(j, "id", &u->id, e);
    rc = rc ? rc : http_parse_opt_string(j, "content", &u->p, e);
    rc = rc ? rc : http_parse_opt_string(j, "content_base64", &b64, e);
    rc = rc ? rc : http_parse_opt_string(j, "format", &fmt, e);
    rc = rc ? rc : http_parse_opt_string(j, "tag", &u->tag, e);
    rc = rc ? rc : http_parse_opt_string(j, "title", &u->title, e);
    if (rc)
        return rc;
    if (u->p && b64)
        return http_refuse(e, 422, "invalid_field", "content_base64",
                           "give content or content_base64, not both");
    if (!u->p && !b64)
        return http_refuse(e, 422, "invalid_field", "content",
                           "content is required (content_base64 for a PDF or DOCX)");
    if (b64) {
        rc = decode_base64(b64, json_string_length(json_object_get(j, "content_base64")), a, u, e);
        if (rc)
            return rc;
        u->b64 = 1;
    } else {
        u->len = json_string_length(json_object_get(j, "content"));
    }
    if (fmt) {
        u->fmt = format_named(fmt);
        if (u->fmt == FD_FMT_UNKNOWN)
            return http_refuse(e, 422, "invalid_field", "format",
                               "format must be markdown, text, html, csv, pdf or docx");
    }
    return 0;
}

int http_parse_upload_json(const char *p, size_t n, fd_arena *a, http_upload *u, http_perr *e)
{
    memset(u, 0, sizeof *u);
    int rc = http_parse_json_object(p, n, &u->j, e);
    return rc ? rc : drop(&u->j, upload_json_fields(a, u, e));
}

int http_parse_upload_raw(const char *ct, const char *id, const char *tag, const char *title,
                          const char *p, size_t n, http_upload *u, http_perr *e)
{
    static const struct {
        const char *type;
        fd_format fmt;
    } types[] = {
        {"text/markdown", FD_FMT_MARKDOWN},
        {"text/plain", FD_FMT_TEXT},
        {"text/html", FD_FMT_HTML},
        {"text/csv", FD_FMT_CSV},
        {"application/pdf", FD_FMT_PDF},
        {"application/vnd.openxmlformats-officedocument.wordprocessingml.document", FD_FMT_DOCX}};
    memset(u, 0, sizeof *u);
    for (size_t i = 0; i < sizeof types / sizeof types[0] && !u->fmt; i++)
        if (http_media_type_is(ct, types[i].type))
            u->fmt = types[i].fmt;
    if (!u->fmt)
        return http_refuse(e, 415, "unsupported_media_type", NULL, "%s",
                           "send application/json, text/markdown, text/plain, text/html, "
                           "text/csv, application/pdf or (DOCX) application/"
                           "vnd.openxmlformats-officedocument.wordprocessingml.document");
    u->id = id;
    u->tag = tag;
    u->title = title;
    u->p = p ? p : "";
    u->len = n;
    return 0;
}

int http_upload_check(http_upload *u, http_perr *e)
{
    const char *why = u->id ? http_upload_id_problem(u->id) : "id is required";
    if (why)
        return http_refuse(e, 422, "invalid_field", "id", "%s", why);
    if (!u->fmt)
        u->fmt = format_of_id(u->id);
    if (!u->fmt)
        return http_refuse(e, 422, "invalid_field", "format",
                           "give format (markdown, text, html, csv, pdf or docx): the id "
                           "has no .md, .txt, .html, .csv, .pdf or .docx extension");
    /* A PDF or DOCX is kept under its id and read again on every reload
     * by its extension: the id must carry it. */
    if (fd_format_is_binary(u->fmt) && format_of_id(u->id) != u->fmt)
        return http_refuse(e, 422, "invalid_field", "id", "%s",
                           u->fmt == FD_FMT_PDF ? "the id of a PDF must end in .pdf"
                                                : "the id of a DOCX must end in .docx");
    if (!fd_format_is_binary(u->fmt) && u->b64)
        return http_refuse(e, 422, "invalid_field", "content_base64",
                           "content_base64 is for pdf and docx; send text as content");
    if (u->tag && !tag_ok(u->tag))
        return http_refuse(e, 422, "invalid_field", "tag",
                           "tag must be 1..64 of A-Z a-z 0-9 . _ -");
    size_t tn = u->title ? strlen(u->title) : 0;
    if (u->title && (tn == 0 || tn > TITLE_MAX || !fd_utf8_valid(u->title, tn, NULL)))
        return http_refuse(e, 422, "invalid_field", "title", "title must be 1..300 bytes of UTF-8");
    if (u->len == 0)
        return http_refuse(e, 422, "invalid_field", "content", "content is empty");
    if (fd_format_is_binary(u->fmt))
        return 0; /* bytes, not text: the loader checks them */
    size_t bad = 0;
    if (!fd_utf8_valid(u->p, u->len, &bad))
        return http_refuse(e, 400, "invalid_utf8", "content",
                           "content is not valid UTF-8 (byte %zu)", bad);
    if (memchr(u->p, '\0', u->len))
        return http_refuse(e, 422, "invalid_field", "content",
                           "content must be text (it holds a NUL)");
    return 0;
}

/* ---- query arguments ----------------------------------------------------------- */

int http_parse_search_query(const char *q, const char *k, const char *mode,
                            const char *default_mode, size_t default_k, http_search_query *out,
                            http_perr *e)
{
    if (!q || !q[0])
        return http_refuse(e, 422, "invalid_field", "q", "q is required");
    out->q = q;
    out->k = default_k;
    if (fd_search_mode_parse(mode ? mode : default_mode, &out->mode) != FD_OK)
        return http_refuse(e, 422, "invalid_field", "mode", "mode must be bm25, dense or hybrid");
    if (k) {
        char *end;
        long v = strtol(k, &end, 10);
        if (*end || v < 1 || v > 100)
            return http_refuse(e, 422, "invalid_field", "k", "k must be 1..100");
        out->k = (size_t)v;
    }
    return 0;
}

#define HANDOFF_Q_MAX 200
#define HANDOFF_LIMIT_MAX 100
#define HANDOFF_LIMIT_DEFAULT 20

int http_parse_handoffs_query(const char *status, const char *q, const char *limit,
                              http_handoffs_query *out, http_perr *e)
{
    if (status && strcmp(status, "open") && strcmp(status, "claimed") && strcmp(status, "resolved"))
        return http_refuse(e, 422, "invalid_field", "status",
                           "status must be open, claimed or resolved");
    if (q) {
        while (*q == ' ')
            q++;
        size_t n = strlen(q);
        if (n == 0 || n > HANDOFF_Q_MAX || !fd_utf8_valid(q, n, NULL))
            return http_refuse(e, 422, "invalid_field", "q",
                               "q must be 1 to 200 bytes of UTF-8 text");
    }
    out->status = status;
    out->q = q;
    /* A search always has a limit; the plain list only when asked. */
    out->limit = q ? HANDOFF_LIMIT_DEFAULT : 0;
    if (limit) {
        char *end;
        long n = strtol(limit, &end, 10);
        if (end == limit || *end || n < 1 || n > HANDOFF_LIMIT_MAX)
            return http_refuse(e, 422, "invalid_field", "limit",
                               "limit must be a number from 1 to 100");
        out->limit = n;
    }
    return 0;
}

int http_parse_orders_query(const char *status, const char *limit, long *out_limit, http_perr *e)
{
    static const char *const v[] = {"confirmed", "review", "invoiced", "cancelled", "failed"};
    int ok = !status;
    for (size_t i = 0; !ok && i < sizeof v / sizeof *v; i++)
        ok = strcmp(status, v[i]) == 0;
    if (!ok)
        return http_refuse(e, 422, "invalid_field", "status",
                           "status must be confirmed, review, invoiced, cancelled or failed");
    *out_limit = 100;
    if (limit) {
        char *end;
        long n = strtol(limit, &end, 10);
        if (*end || end == limit || n < 1 || n > 1000)
            return http_refuse(e, 422, "invalid_field", "limit", "limit must be 1 to 1000");
        *out_limit = n;
    }
    return 0;
}

int http_parse_session_after(const char *from, int64_t *after, http_perr *e)
{
    *after = -1;
    if (!from)
        return 0;
    char *end;
    long long v = strtoll(from, &end, 10);
    if (*end || v < 0)
        return http_refuse(e, 422, "invalid_field", "after", "after must be a turn number >= 0");
    *after = v;
    return 0;
}

int http_parse_queue_after(const char *from, double *since, http_perr *e)
{
    *since = 0;
    if (!from)
        return 0;
    char *end;
    long long v = strtoll(from, &end, 10);
    if (end == from || *end || v < 0)
        return http_refuse(e, 422, "invalid_field", "after",
                           "after must be a sync event's id (milliseconds >= 0)");
    *since = (double)v / 1000.0;
    return 0;
}

/* ---- headers checked by shape --------------------------------------------------- */

#define VISITOR_MIN 22 /* 128 bits of base64url */
#define VISITOR_MAX 128

int http_visitor_token_ok(const char *t)
{
    size_t n = strlen(t);
    if (n < VISITOR_MIN || n > VISITOR_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = t[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return 0;
    }
    return 1;
}

int http_idem_key_ok(const char *k)
{
    size_t n = strlen(k);
    if (!n || n > 255)
        return 0;
    for (; *k; k++)
        if ((unsigned char)*k < 0x21 || (unsigned char)*k > 0x7e)
            return 0;
    return 1;
}

int http_request_id_ok(const char *id, size_t max)
{
    size_t n = id ? strlen(id) : 0;
    int ok = n > 0 && n < max;
    for (size_t i = 0; ok && i < n; i++)
        ok = (id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'z') ||
             (id[i] >= 'A' && id[i] <= 'Z') || id[i] == '-' || id[i] == '_' || id[i] == '.';
    return ok;
}

int http_origin_listed(const char *origin, const char *list)
{
    if (!origin || !list[0])
        return 0;
    size_t on = strlen(origin);
    for (const char *p = list; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t n = strcspn(p, ",");
        size_t m = n;
        while (m && p[m - 1] == ' ')
            m--;
        if ((m == 1 && p[0] == '*') || (m == on && memcmp(p, origin, on) == 0))
            return 1;
        p += n;
    }
    return 0;
}

int http_origin_is_host(const char *origin, const char *host)
{
    const char *rest = NULL;
    if (strncmp(origin, "http://", 7) == 0)
        rest = origin + 7;
    else if (strncmp(origin, "https://", 8) == 0)
        rest = origin + 8;
    return host && rest && strcasecmp(rest, host) == 0;
}

/* ---- message framing ---------------------------------------------------------------- */

/* RFC 9112: no whitespace between a field name and its colon (5.1, "MUST
 * reject"), Content-Length is 1*DIGIT (6.3), chunked must be the final
 * and only transfer coding of a request (6.1): libmicrohttpd takes
 * "Content-Length : 16" for an unknown header (and runs the body as a
 * second request), "Transfer-Encoding : chunked" likewise, and waits for
 * a "xchunked" body until the connection times out. A proxy that reads
 * any of them the other way would frame the next request differently. */
static int ows(char c)
{
    return c == ' ' || c == '\t';
}

/* libmicrohttpd 0.9.75 glues an obs-fold continuation line ("Content-Length:
 * 16\r\n 5") onto the field *name* ("Content-Length5": 16) and then frames
 * the body as if there were no length, so the body would run as the next
 * request. A proxy in front reads "16 5" or 16. So a name that starts
 * with a framing header's and goes on is refused: that is how a folded
 * line reaches us, and no registered header is named so (an invented one,
 * "Content-Length-Hint", is refused too). */
static int folded_framing(const char *name)
{
    static const char *const framing[] = {"Content-Length", "Transfer-Encoding"};
    for (size_t i = 0; i < sizeof framing / sizeof *framing; i++) {
        size_t n = strlen(framing[i]);
        if (strncasecmp(name, framing[i], n) == 0 && name[n])
            return 1;
    }
    return 0;
}

void http_framing_add(http_framing *f, const char *name, const char *value)
{
    const char *why = NULL;
    if (!value)
        value = "";
    size_t vn = strlen(value), from = 0;
    while (from < vn && ows(value[from]))
        from++;
    while (vn > from && ows(value[vn - 1]))
        vn--;
    if (strpbrk(name, " \t")) {
        why = "whitespace in a header field name";
    } else if (folded_framing(name)) {
        why = "a folded Content-Length or Transfer-Encoding line";
    } else if (strcasecmp(name, "Content-Length") == 0) {
        size_t digits = strspn(value + from, "0123456789");
        if (vn == from || from + digits != vn)
            why = "Content-Length is not a number";
        else if (f->n_cl && strcmp(f->cl, value) != 0)
            why = "Content-Length given twice with different values";
        if (!f->n_cl++)
            f->cl = value;
    } else if (strcasecmp(name, "Transfer-Encoding") == 0) {
        if (f->n_te++)
            why = "Transfer-Encoding given twice";
        else if (vn - from != 7 || strncasecmp(value + from, "chunked", 7) != 0)
            why = "a Transfer-Encoding other than chunked";
    }
    if (why && !f->why)
        f->why = why;
}

const char *http_framing_problem(const http_framing *f)
{
    if (f->why)
        return f->why;
    return f->n_te && f->n_cl ? "Transfer-Encoding with Content-Length" : NULL;
}

/* ---- ids in paths ------------------------------------------------------------------ */

/* The segment [id, slash) copied into out->buf when shorter than max. */
static void segment(http_path *out, const char *id, const char *slash, size_t max)
{
    size_t n = (size_t)(slash - id);
    out->id = out->buf;
    out->buf[0] = '\0';
    if (n >= max) {
        out->too_long = 1;
        return;
    }
    memcpy(out->buf, id, n);
    out->buf[n] = '\0';
}

static http_path_kind path_is(http_path *out, http_path_kind kind, const char *route)
{
    out->kind = kind;
    out->route = route;
    return kind;
}

http_path_kind http_parse_path(const char *url, http_path *out)
{
    memset(out, 0, sizeof *out);
    out->id = "";
    if (strncmp(url, "/v1/documents/", 14) == 0) {
        out->id = url + 14;
        return path_is(out, HTTP_PATH_DOCUMENT, "/v1/documents/{id}");
    }
    if (strncmp(url, "/v1/sessions/", 13) == 0 && url[13]) {
        const char *id = url + 13, *slash = strchr(id, '/');
        if (slash && strcmp(slash, "/events") == 0 && slash > id) {
            segment(out, id, slash, HTTP_SESSION_ID_MAX + 1);
            return path_is(out, HTTP_PATH_SESSION_EVENTS, "/v1/sessions/{id}/events");
        }
        if (slash && strcmp(slash, "/rating") == 0 && slash > id) {
            segment(out, id, slash, HTTP_SESSION_ID_MAX + 1);
            return path_is(out, HTTP_PATH_SESSION_RATING, "/v1/sessions/{id}/rating");
        }
        if (!slash) {
            out->id = id;
            return path_is(out, HTTP_PATH_SESSION, "/v1/sessions/{id}");
        }
    }
    if (strncmp(url, "/v1/users/", 10) == 0 && url[10]) {
        const char *id = url + 10, *slash = strchr(id, '/');
        if (!slash) {
            out->id = id;
            return path_is(out, HTTP_PATH_USER, "/v1/users/{id}");
        }
        if (strcmp(slash, "/export") == 0 && slash > id) {
            segment(out, id, slash, HTTP_USER_ID_MAX + 1);
            return path_is(out, HTTP_PATH_USER_EXPORT, "/v1/users/{id}/export");
        }
    }
    if (strncmp(url, "/v1/orders/", 11) == 0 && url[11] && !strchr(url + 11, '/')) {
        out->id = url + 11;
        return path_is(out, HTTP_PATH_ORDER, "/v1/orders/{id}");
    }
    if (strncmp(url, "/v1/handoffs/", 13) == 0) {
        /* the number, or the ticket customers are given ("HD-000011") */
        const char *num = url + 13;
        if ((num[0] == 'H' || num[0] == 'h') && (num[1] == 'D' || num[1] == 'd') && num[2] == '-' &&
            num[3] >= '0' && num[3] <= '9')
            num += 3;
        char *end;
        long long id = strtoll(num, &end, 10);
        if (end != num && *num >= '0' && *num <= '9' && !*end && id > 0) {
            out->handoff = id;
            return path_is(out, HTTP_PATH_HANDOFF, "/v1/handoffs/{id}");
        }
        if (end != num && *num >= '0' && *num <= '9' && *end == '/' && id > 0 &&
            !strchr(end + 1, '/')) {
            out->handoff = id;
            out->action = end + 1;
            return path_is(out, HTTP_PATH_HANDOFF_ACTION, "/v1/handoffs/{id}/{action}");
        }
    }
    return HTTP_PATH_NONE;
}
