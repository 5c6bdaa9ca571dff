/* fake_llm.c: an OpenAI-compatible chat server for tests (libmicrohttpd, a
 * thread per connection). It answers from the prompt's numbered passages
 * like a well-behaved model, and misbehaves on demand (stall, 429, 500,
 * broken JSON, dropped stream, hang), switchable at runtime.
 *
 *   fake_llm [--port N] [--port-file F] [--mode M] [--delay-ms N]
 *
 * Modes: echo (default), invent, slow, slow_tokens, 500, 429, broken_json,
 * drop, hang, fail_n:K (K x 500 then echo), rate_n:K (K x 429 then echo),
 * nostream (one JSON answer even when asked to stream), no_usage (a stream
 * without the usage chunk).
 * POST /v1/chat/completions (also /chat/completions): SSE when "stream" is
 * true, else one JSON object. POST /_control {"mode", "delay_ms", "reset"}
 * switches at runtime; GET /_stats returns the counters and what the last
 * request carried (headers, body). */
#include "core.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BODY_MAX (8u << 20)
#define HANG_MAX_MS 60000

typedef struct server {
    pthread_mutex_t mu;
    atomic_int stopping;
    /* under mu */
    char mode[64];
    int delay_ms;
    long mode_requests; /* chat requests since the mode was set, for fail_n */
    long requests, completions;
    char auth[512], request_id[256], traceparent[256], content_type[128], accept[128];
    int has_auth;
    json_t *last_request;
} server;

typedef struct conn {
    fd_buf body;
    int too_big;
} conn;

/* ---- small helpers ------------------------------------------------------- */

/* Has the client hung up? (A stalled handler would otherwise hold its
 * thread for the whole stall after the test gave up.) */
static int peer_gone(struct MHD_Connection *con)
{
    if (!con)
        return 0;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(con, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!ci)
        return 0;
    char c;
    ssize_t n = recv(ci->connect_fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

static void sleep_ms(server *s, struct MHD_Connection *con, int ms)
{
    /* In slices, so a stop or a hang-up never waits for a long stall. */
    while (ms > 0 && !atomic_load(&s->stopping) && !peer_gone(con)) {
        int step = ms < 20 ? ms : 20;
        struct timespec ts = {0, (long)step * 1000000L};
        nanosleep(&ts, NULL);
        ms -= step;
    }
}

static enum MHD_Result send_text(struct MHD_Connection *con, unsigned status, const char *ctype,
                                 const char *p, size_t n, const char *retry_after)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(n, (void *)p, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", ctype);
    if (retry_after)
        MHD_add_response_header(r, "Retry-After", retry_after);
    enum MHD_Result ok = MHD_queue_response(con, status, r);
    MHD_destroy_response(r);
    return ok;
}

/* Sends j (reference stolen) as the JSON body. */
static enum MHD_Result send_json(struct MHD_Connection *con, unsigned status, json_t *j,
                                 const char *retry_after)
{
    char *p = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!p)
        return MHD_NO;
    enum MHD_Result ok = send_text(con, status, "application/json", p, strlen(p), retry_after);
    free(p);
    return ok;
}

static enum MHD_Result send_error(struct MHD_Connection *con, unsigned status, const char *msg,
                                  const char *retry_after)
{
    return send_json(con, status,
                     json_pack("{s:{s:s,s:s}}", "error", "message", msg, "type", "fake_error"),
                     retry_after);
}

/* ---- the answer ----------------------------------------------------------- */

typedef struct passage {
    int n;
    const char *p; /* body text, after the title line */
    size_t len;
} passage;

static int is_stop(const char *w, size_t n)
{
    static const char *stop[] = {"the",  "and",  "for", "you",  "your", "can",   "are",  "what",
                                 "how",  "with", "our", "does", "did",  "have",  "has",  "this",
                                 "that", "from", "not", "any",  "will", "there", "when", "which"};
    for (size_t i = 0; i < sizeof stop / sizeof stop[0]; i++)
        if (strlen(stop[i]) == n && strncmp(stop[i], w, n) == 0)
            return 1;
    return 0;
}

/* Next word (letters and digits, lower-cased, a final 's' dropped) of at
 * least 3 characters that is not a stop word; 0 at the end. */
static size_t next_word(const char **p, const char *end, char *out, size_t cap)
{
    while (*p < end) {
        while (*p < end && !isalnum((unsigned char)**p))
            (*p)++;
        size_t n = 0;
        while (*p < end && isalnum((unsigned char)**p)) {
            if (n + 1 < cap)
                out[n++] = (char)tolower((unsigned char)**p);
            (*p)++;
        }
        if (n > 3 && out[n - 1] == 's')
            n--;
        out[n] = '\0';
        if (n >= 3 && !is_stop(out, n))
            return n;
    }
    return 0;
}

static int overlap(const char *q, size_t qn, const char *s, size_t sn)
{
    int score = 0;
    char w[64], v[64];
    const char *qp = q;
    while (next_word(&qp, q + qn, w, sizeof w)) {
        const char *sp = s;
        while (next_word(&sp, s + sn, v, sizeof v)) {
            if (strcmp(w, v) == 0) {
                score++;
                break;
            }
        }
    }
    return score;
}

/* The passages "[n] Title\nbody" of the last user message, and the question
 * after "Question:". Returns the number of passages. */
static size_t parse_prompt(const char *m, passage *ps, size_t cap, const char **q)
{
    size_t n = 0;
    const char *qs = strstr(m, "Question:");
    for (const char *next = qs; next; next = strstr(next + 1, "Question:"))
        qs = next;
    *q = qs ? qs + 9 : m;
    const char *end = qs ? qs : m + strlen(m);
    for (const char *p = m; p && p < end; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        int num;
        int used = 0;
        if (p[0] != '[' || sscanf(p, "[%d]%n", &num, &used) != 1 || n == cap)
            continue;
        const char *body = strchr(p + used, '\n');
        body = body && body < end ? body + 1 : end;
        if (n)
            ps[n - 1].len = (size_t)(p - ps[n - 1].p);
        ps[n].n = num;
        ps[n].p = body;
        ps[n].len = (size_t)(end - body);
        n++;
    }
    return n;
}

typedef struct sentence {
    const char *p;
    size_t len;
    int n, score;
} sentence;

/* Appends sentence s as "Customers can ... [n]." */
static int put_sentence(fd_buf *b, const sentence *s)
{
    const char *p = s->p;
    size_t n = s->len;
    while (n && (p[n - 1] == '.' || p[n - 1] == '!' || isspace((unsigned char)p[n - 1])))
        n--;
    int rc = FD_OK;
    if (n >= 8 && strncmp(p, "You can ", 8) == 0) {
        rc = fd_buf_printf(b, "Customers can ");
        p += 8;
        n -= 8;
    } else if (n >= 8 && strncmp(p, "You may ", 8) == 0) {
        rc = fd_buf_printf(b, "Customers may ");
        p += 8;
        n -= 8;
    }
    if (!rc)
        rc = fd_buf_printf(b, "%.*s [%d]. ", (int)n, p, s->n);
    return rc;
}

static void best_sentences(const passage *ps, size_t n_ps, const char *q, sentence best[2])
{
    memset(best, 0, 2 * sizeof *best);
    for (size_t i = 0; i < n_ps; i++) {
        const char *p = ps[i].p, *end = ps[i].p + ps[i].len;
        while (p < end) {
            while (p < end && isspace((unsigned char)*p))
                p++;
            const char *e = p;
            while (e < end && *e != '\n' &&
                   !((*e == '.' || *e == '!' || *e == '?') &&
                     (e + 1 == end || isspace((unsigned char)e[1]))))
                e++;
            if (e < end && *e != '\n')
                e++; /* keep the full stop */
            sentence s = {p, (size_t)(e - p), ps[i].n, overlap(q, strlen(q), p, (size_t)(e - p))};
            if (s.len && s.score > best[0].score) {
                best[1] = best[0];
                best[0] = s;
            } else if (s.len && s.score > best[1].score) {
                best[1] = s;
            }
            p = e;
        }
    }
}

/* Swaps the first number for another one, and always adds a made-up
 * price, so every answer in this mode carries an invented fact. */
static int invent(fd_buf *b)
{
    int rc = fd_buf_printf(b, " The price is S$12.34 per carton [1].");
    char *d = rc || !b->p ? NULL : strpbrk(b->p, "0123456789");
    if (rc || !d || d >= strstr(b->p, " The price is S$12.34"))
        return rc;
    size_t k = strspn(d, "0123456789");
    char tail[4096];
    snprintf(tail, sizeof tail, "%s", d + k);
    long v = strtol(d, NULL, 10);
    b->len = (size_t)(d - b->p);
    return fd_buf_printf(b, "%ld%s", v * 2 + 3, tail);
}

static int build_answer(const char *last_user, int lie, fd_buf *b)
{
    passage ps[64];
    const char *q;
    size_t n = parse_prompt(last_user, ps, 64, &q);
    sentence best[2];
    best_sentences(ps, n, q, best);
    /* Like a careful model: no sentence saying half of what was asked
     * means the passages do not answer it ("coffee cups" for "coffee
     * machines"), and the reply is the marker the prompt asks for. */
    char w[64];
    int n_q = 0;
    for (const char *qp = q; next_word(&qp, q + strlen(q), w, sizeof w);)
        n_q++;
    if (!best[0].score || best[0].score * 2 < n_q)
        return fd_buf_printf(b, "NO_ANSWER");
    /* A faithful model opens in the customer's language. */
    int fr = strstr(q, " vous") || strstr(q, " le ") || strstr(q, " la ") || strstr(q, " les ") ||
             strstr(q, " des ") || strstr(q, "Combien") || strstr(q, "Puis-je") ||
             strstr(q, " est-ce") || strstr(q, "Quel");
    int rc = fd_buf_printf(b, fr ? "Avec plaisir. " : "Happy to help. ");
    if (!rc)
        rc = put_sentence(b, &best[0]);
    if (!rc && best[1].score && best[1].score * 2 >= best[0].score)
        rc = put_sentence(b, &best[1]);
    while (!rc && b->len && b->p[b->len - 1] == ' ')
        b->p[--b->len] = '\0';
    if (!rc && lie)
        rc = invent(b);
    return rc;
}

static const char *last_user_text(json_t *req, size_t *prompt_bytes)
{
    const char *last = "";
    json_t *msgs = json_object_get(req, "messages");
    size_t i;
    json_t *m;
    *prompt_bytes = 0;
    json_array_foreach(msgs, i, m)
    {
        const char *c = json_string_value(json_object_get(m, "content"));
        const char *role = json_string_value(json_object_get(m, "role"));
        *prompt_bytes += c ? strlen(c) : 0;
        if (c && role && strcmp(role, "user") == 0)
            last = c;
    }
    return last;
}

/* ---- streaming ------------------------------------------------------------- */

typedef struct stream {
    server *s;
    char **events; /* whole "data: ...\n\n" strings */
    size_t n, i, off;
    int token_delay_ms;
    long drop_at; /* close the connection before this event; -1: never */
} stream;

static void stream_free(void *cls)
{
    stream *st = cls;
    for (size_t i = 0; i < st->n; i++)
        free(st->events[i]);
    free(st->events);
    free(st);
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    stream *st = cls;
    if (st->off == 0 && st->i > 0 && st->token_delay_ms)
        sleep_ms(st->s, NULL, st->token_delay_ms);
    if (st->drop_at >= 0 && (long)st->i >= st->drop_at)
        return MHD_CONTENT_READER_END_WITH_ERROR; /* no final chunk: a cut stream */
    if (st->i == st->n)
        return MHD_CONTENT_READER_END_OF_STREAM;
    const char *e = st->events[st->i];
    size_t len = strlen(e) - st->off;
    size_t n = len < max ? len : max;
    memcpy(buf, e + st->off, n);
    st->off += n;
    if (st->off == strlen(e)) {
        st->i++;
        st->off = 0;
    }
    return (ssize_t)n;
}

static int add_event(stream *st, const char *data)
{
    char **ev = realloc(st->events, (st->n + 1) * sizeof *ev);
    if (!ev)
        return -1;
    st->events = ev;
    size_t n = strlen(data) + 16;
    ev[st->n] = malloc(n);
    if (!ev[st->n])
        return -1;
    snprintf(ev[st->n], n, "data: %s\n\n", data);
    st->n++;
    return 0;
}

/* Adds j (reference stolen) as one event. */
static int add_json_event(stream *st, json_t *j)
{
    char *p = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    int rc = p ? add_event(st, p) : -1;
    free(p);
    return rc;
}

static json_t *chunk(const char *model, json_t *delta, const char *finish)
{
    return json_pack("{s:s,s:s,s:I,s:s,s:[{s:i,s:o,s:o}]}", "id", "chatcmpl-fake", "object",
                     "chat.completion.chunk", "created", (json_int_t)time(NULL), "model", model,
                     "choices", "index", 0, "delta", delta, "finish_reason",
                     finish ? json_string(finish) : json_null());
}

static json_t *usage(size_t prompt_bytes, size_t answer_bytes)
{
    json_int_t pt = (json_int_t)(prompt_bytes / 4), ct = (json_int_t)(answer_bytes / 4);
    return json_pack("{s:I,s:I,s:I}", "prompt_tokens", pt, "completion_tokens", ct, "total_tokens",
                     pt + ct);
}

/* The answer word by word (each token carries its trailing space). */
static int add_tokens(stream *st, const char *model, const char *a, size_t len)
{
    const char *p = a, *end = a + len;
    while (p < end) {
        const char *e = p;
        while (e < end && *e != ' ')
            e++;
        while (e < end && *e == ' ')
            e++;
        json_t *delta = json_pack("{s:s%}", "content", p, (size_t)(e - p));
        if (add_json_event(st, chunk(model, delta, NULL)))
            return -1;
        p = e;
    }
    return 0;
}

static enum MHD_Result send_stream(server *s, struct MHD_Connection *con, const char *mode,
                                   int delay_ms, const char *model, const fd_buf *a,
                                   const char *finish, size_t prompt_bytes, int with_usage)
{
    stream *st = calloc(1, sizeof *st);
    if (!st)
        return MHD_NO;
    st->s = s;
    st->drop_at = -1;
    st->token_delay_ms = strcmp(mode, "slow_tokens") == 0 ? delay_ms : 0;
    int rc = add_json_event(
        st, chunk(model, json_pack("{s:s,s:s}", "role", "assistant", "content", ""), NULL));
    if (!rc && strcmp(mode, "broken_json") == 0)
        rc = add_event(st, "{\"choices\":[{\"delta\":{\"content\":\"oops");
    if (!rc && strcmp(mode, "broken_json") != 0)
        rc = add_tokens(st, model, a->p ? a->p : "", a->len);
    if (!rc)
        rc = add_json_event(st, chunk(model, json_object(), finish));
    if (!rc && with_usage)
        rc = add_json_event(st, json_pack("{s:s,s:s,s:[],s:o}", "id", "chatcmpl-fake", "object",
                                          "chat.completion.chunk", "choices", "usage",
                                          usage(prompt_bytes, a->len)));
    if (!rc)
        rc = add_event(st, "[DONE]");
    if (strcmp(mode, "drop") == 0)
        st->drop_at = st->n > 4 ? 4 : 1; /* the role chunk and three tokens */
    struct MHD_Response *r = rc ? NULL
                                : MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 1024,
                                                                    stream_read, st, stream_free);
    if (!r) {
        stream_free(st);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", "text/event-stream");
    MHD_add_response_header(r, "Cache-Control", "no-cache");
    enum MHD_Result ok = MHD_queue_response(con, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result send_whole(struct MHD_Connection *con, const char *model, const fd_buf *a,
                                  const char *finish, size_t prompt_bytes)
{
    json_t *j = json_pack("{s:s,s:s,s:I,s:s,s:[{s:i,s:{s:s,s:s%},s:s}],s:o}", "id", "chatcmpl-fake",
                          "object", "chat.completion", "created", (json_int_t)time(NULL), "model",
                          model, "choices", "index", 0, "message", "role", "assistant", "content",
                          a->p ? a->p : "", a->len, "finish_reason", finish, "usage",
                          usage(prompt_bytes, a->len));
    return send_json(con, MHD_HTTP_OK, j, NULL);
}

/* ---- endpoints ------------------------------------------------------------- */

static void copy_header(struct MHD_Connection *con, const char *name, char *dst, size_t cap,
                        int *present)
{
    const char *v = MHD_lookup_connection_value(con, MHD_HEADER_KIND, name);
    snprintf(dst, cap, "%s", v ? v : "");
    if (present)
        *present = v != NULL;
}

/* Counts the request, records what it carried; returns its number under the
 * current mode (1-based) and copies the mode out. */
static long record(server *s, struct MHD_Connection *con, json_t *req, char *mode, int *delay)
{
    pthread_mutex_lock(&s->mu);
    s->requests++;
    long k = ++s->mode_requests;
    copy_header(con, "Authorization", s->auth, sizeof s->auth, &s->has_auth);
    copy_header(con, "X-Request-Id", s->request_id, sizeof s->request_id, NULL);
    copy_header(con, "traceparent", s->traceparent, sizeof s->traceparent, NULL);
    copy_header(con, "Content-Type", s->content_type, sizeof s->content_type, NULL);
    copy_header(con, "Accept", s->accept, sizeof s->accept, NULL);
    json_decref(s->last_request);
    s->last_request = json_incref(req);
    snprintf(mode, 64, "%s", s->mode);
    *delay = s->delay_ms;
    pthread_mutex_unlock(&s->mu);
    return k;
}

/* The fault modes that answer with an HTTP error; -1 when the mode answers. */
static int fault_status(const char *mode, long k)
{
    long n;
    if (strcmp(mode, "500") == 0)
        return 500;
    if (strcmp(mode, "429") == 0)
        return 429;
    if (sscanf(mode, "fail_n:%ld", &n) == 1 && k <= n)
        return 500;
    if (sscanf(mode, "rate_n:%ld", &n) == 1 && k <= n)
        return 429;
    return -1;
}

static enum MHD_Result chat(server *s, struct MHD_Connection *con, conn *cn)
{
    json_t *req = json_loadb(cn->body.p ? cn->body.p : "", cn->body.len, 0, NULL);
    char mode[64];
    int delay;
    long k = record(s, con, req, mode, &delay);
    if (!json_is_object(req)) {
        json_decref(req);
        return send_error(con, 400, "the body is not a JSON object", NULL);
    }
    if (strcmp(mode, "hang") == 0) {
        sleep_ms(s, con, HANG_MAX_MS);
        json_decref(req);
        return MHD_NO; /* close without a word */
    }
    if (strcmp(mode, "slow") == 0)
        sleep_ms(s, con, delay);
    int st = fault_status(mode, k);
    if (st > 0) {
        json_decref(req);
        return send_error(con, (unsigned)st, st == 429 ? "rate limited" : "fake internal error",
                          st == 429 ? "1" : NULL);
    }
    size_t prompt_bytes;
    const char *model = json_string_value(json_object_get(req, "model"));
    model = model ? model : "fake";
    fd_buf a;
    fd_buf_init(&a, 0);
    int rc = build_answer(last_user_text(req, &prompt_bytes), strcmp(mode, "invent") == 0, &a);
    const char *finish = "stop";
    json_int_t max_tokens = json_integer_value(json_object_get(req, "max_tokens"));
    if (!rc && max_tokens > 0 && (json_int_t)(a.len / 4) > max_tokens) {
        a.len = (size_t)max_tokens * 4; /* a model stops at its budget */
        finish = "length";
    }
    enum MHD_Result ok = MHD_NO;
    if (!rc) {
        pthread_mutex_lock(&s->mu);
        s->completions++;
        pthread_mutex_unlock(&s->mu);
        json_t *so = json_object_get(req, "stream_options");
        int usage_too =
            json_is_true(json_object_get(so, "include_usage")) && strcmp(mode, "no_usage") != 0;
        if (json_is_true(json_object_get(req, "stream")) && strcmp(mode, "nostream") != 0)
            ok = send_stream(s, con, mode, delay, model, &a, finish, prompt_bytes, usage_too);
        else
            ok = send_whole(con, model, &a, finish, prompt_bytes);
    }
    fd_buf_free(&a);
    json_decref(req);
    return ok;
}

static enum MHD_Result control(server *s, struct MHD_Connection *con, conn *cn)
{
    json_t *j = json_loadb(cn->body.p ? cn->body.p : "", cn->body.len, 0, NULL);
    if (!json_is_object(j)) {
        json_decref(j);
        return send_error(con, 400, "want {\"mode\":..., \"delay_ms\":...}", NULL);
    }
    const char *mode = json_string_value(json_object_get(j, "mode"));
    json_t *delay = json_object_get(j, "delay_ms");
    pthread_mutex_lock(&s->mu);
    if (mode) {
        snprintf(s->mode, sizeof s->mode, "%s", mode);
        s->mode_requests = 0;
    }
    if (json_is_integer(delay))
        s->delay_ms = (int)json_integer_value(delay);
    if (json_is_true(json_object_get(j, "reset"))) {
        s->requests = s->completions = 0;
        s->auth[0] = s->request_id[0] = s->traceparent[0] = '\0';
        s->has_auth = 0;
        json_decref(s->last_request);
        s->last_request = NULL;
    }
    pthread_mutex_unlock(&s->mu);
    json_decref(j);
    return send_json(con, 200, json_pack("{s:b}", "ok", 1), NULL);
}

static enum MHD_Result stats(server *s, struct MHD_Connection *con)
{
    pthread_mutex_lock(&s->mu);
    json_t *j =
        json_pack("{s:I,s:I,s:s,s:i,s:o,s:s,s:s,s:s,s:s,s:O?}", "requests", (json_int_t)s->requests,
                  "completions", (json_int_t)s->completions, "mode", s->mode, "delay_ms",
                  s->delay_ms, "auth", s->has_auth ? json_string(s->auth) : json_null(),
                  "request_id", s->request_id, "traceparent", s->traceparent, "content_type",
                  s->content_type, "accept", s->accept, "last_request", s->last_request);
    pthread_mutex_unlock(&s->mu);
    return send_json(con, 200, j, NULL);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *con, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    (void)version;
    server *s = cls;
    conn *cn = *con_cls;
    if (!cn) {
        cn = calloc(1, sizeof *cn);
        if (!cn)
            return MHD_NO;
        fd_buf_init(&cn->body, BODY_MAX);
        *con_cls = cn;
        return MHD_YES;
    }
    if (*upload_size) {
        if (fd_buf_append(&cn->body, upload, *upload_size))
            cn->too_big = 1;
        *upload_size = 0;
        return MHD_YES;
    }
    if (cn->too_big)
        return send_error(con, 413, "body too big", NULL);
    int post = strcmp(method, "POST") == 0;
    if (post && (strcmp(url, "/v1/chat/completions") == 0 || strcmp(url, "/chat/completions") == 0))
        return chat(s, con, cn);
    if (post && strcmp(url, "/_control") == 0)
        return control(s, con, cn);
    if (strcmp(method, "GET") == 0 && strcmp(url, "/_stats") == 0)
        return stats(s, con);
    return send_error(con, 404, "no such endpoint", NULL);
}

static void on_completed(void *cls, struct MHD_Connection *con, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)con;
    (void)toe;
    conn *cn = *con_cls;
    if (!cn)
        return;
    fd_buf_free(&cn->body);
    free(cn);
    *con_cls = NULL;
}

/* ---- main ------------------------------------------------------------------ */

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
    got_signal = sig;
}

static int write_port_file(const char *path, unsigned port)
{
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    fprintf(f, "%u\n", port);
    if (fclose(f))
        return -1;
    return rename(tmp, path); /* readers never see half a number */
}

static int usage_exit(void)
{
    fprintf(stderr, "usage: fake_llm [--port N] [--port-file F] [--mode M] [--delay-ms N]\n");
    return 2;
}

int main(int argc, char **argv)
{
    server s;
    memset(&s, 0, sizeof s);
    pthread_mutex_init(&s.mu, NULL);
    atomic_init(&s.stopping, 0);
    snprintf(s.mode, sizeof s.mode, "echo");
    int port = 0;
    const char *port_file = NULL;
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            return usage_exit();
        if (strcmp(argv[i], "--port") == 0)
            port = atoi(v);
        else if (strcmp(argv[i], "--port-file") == 0)
            port_file = v;
        else if (strcmp(argv[i], "--mode") == 0)
            snprintf(s.mode, sizeof s.mode, "%s", v);
        else if (strcmp(argv[i], "--delay-ms") == 0)
            s.delay_ms = atoi(v);
        else
            return usage_exit();
        i++;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG, 0,
        NULL, NULL, on_request, &s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "fake_llm: cannot listen on 127.0.0.1:%d: %s\n", port, strerror(errno));
        return 1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    unsigned bound = info ? info->port : (unsigned)port;
    if (port_file && write_port_file(port_file, bound)) {
        fprintf(stderr, "fake_llm: cannot write %s: %s\n", port_file, strerror(errno));
        MHD_stop_daemon(d);
        return 1;
    }
    fprintf(stderr, "fake_llm: listening on 127.0.0.1:%u, mode %s\n", bound, s.mode);
    while (!got_signal) {
        struct timespec ts = {0, 50000000L};
        nanosleep(&ts, NULL); /* a signal cuts it short */
    }
    atomic_store(&s.stopping, 1);
    MHD_stop_daemon(d);
    json_decref(s.last_request);
    pthread_mutex_destroy(&s.mu);
    return 0;
}
