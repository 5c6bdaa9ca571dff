/* call.c: one call's attempts: the curl easy handle, the header and body
 * callbacks feeding the SSE parser into on_token, and what an ended
 * transfer means: done, failed, or retried after a backoff. Runs only on
 * the thread inside fd_llm_run. */
#include "llm_int.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define TEXT_MAX ((size_t)1 << 20) /* completion text: far above any max_tokens */
#define RAW_MAX ((size_t)4 << 20)  /* a whole (non-streamed) JSON answer */
#define ERR_BODY_MAX 4096          /* kept of an error body, enough for its message */
#define RETRY_AFTER_MAX_S 3600

enum { BODY_UNKNOWN, BODY_SSE, BODY_JSON };

#define NS_PER_MS 1000000ull

void fd_llm_scrub(const fd_llm *c, char *dst, size_t cap, const char *msg)
{
    snprintf(dst, cap, "%s", msg);
    size_t kn = c->key ? strlen(c->key) : 0;
    if (!kn)
        return;
    /* An upstream may quote the key back in its 401 body: never let it
     * reach a result, a log line or a metrics label. */
    for (char *h = strstr(dst, c->key); h; h = strstr(h + kn, c->key))
        memset(h, '*', kn);
}

/* Sets the call's error without touching the transfer (safe in callbacks). */
static int set_error(fd_llm_call *call, int code, const char *fmt, ...) FD_PRINTF(3, 4);
static int set_error(fd_llm_call *call, int code, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fd_llm_scrub(call->c, call->error, sizeof call->error, msg);
    return code;
}

void fd_llm_call_detach(fd_llm_call *call)
{
    if (!call->easy)
        return;
    curl_multi_remove_handle(call->c->multi, call->easy);
    curl_easy_cleanup(call->easy);
    call->easy = NULL;
}

void fd_llm_call_fail(fd_llm_call *call, int code, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fd_llm_call_detach(call);
    fd_llm_scrub(call->c, call->error, sizeof call->error, msg);
    call->code = code;
    call->state = FD_LLM_DONE;
}

void fd_llm_call_free(fd_llm_call *call)
{
    if (!call)
        return;
    fd_llm_call_detach(call);
    curl_slist_free_all(call->headers);
    fd_free(call->body);
    fd_llm_sse_free(&call->sse);
    fd_buf_free(&call->raw);
    fd_buf_free(&call->text);
    fd_free(call);
}

/* ---- response headers ----------------------------------------------------- */

/* Is the header line [p, p+n) "name: value"? The value is trimmed. */
static int header_is(const char *p, size_t n, const char *name, const char **v, size_t *vn)
{
    size_t k = strlen(name);
    if (n <= k || strncasecmp(p, name, k) != 0 || p[k] != ':')
        return 0;
    p += k + 1;
    n -= k + 1;
    while (n && (*p == ' ' || *p == '\t')) {
        p++;
        n--;
    }
    while (n && isspace((unsigned char)p[n - 1]))
        n--;
    *v = p;
    *vn = n;
    return 1;
}

/* Retry-After is delta-seconds or an HTTP date; -1 when unreadable. */
static int parse_retry_after(const char *v, size_t n)
{
    char tmp[64];
    if (!n || n >= sizeof tmp)
        return -1;
    memcpy(tmp, v, n);
    tmp[n] = '\0';
    long s;
    if (strspn(tmp, "0123456789") == n) {
        s = n > 6 ? RETRY_AFTER_MAX_S : strtol(tmp, NULL, 10);
    } else {
        time_t t = curl_getdate(tmp, NULL);
        if (t < 0)
            return -1;
        time_t now = time(NULL);
        s = t > now ? (long)(t - now) : 0;
    }
    return (int)(s > RETRY_AFTER_MAX_S ? RETRY_AFTER_MAX_S : s) * 1000;
}

static size_t on_header(char *p, size_t size, size_t nitems, void *ud)
{
    fd_llm_call *call = ud;
    size_t n = size * nitems;
    const char *v;
    size_t vn;
    if (n > 5 && memcmp(p, "HTTP/", 5) == 0) {
        /* A new response (after 100 Continue): forget what the last said. */
        const char *sp = memchr(p, ' ', n);
        call->http_status = sp && sp + 4 <= p + n ? atoi(sp + 1) : 0;
        call->retry_after_ms = -1;
        call->body_mode = BODY_UNKNOWN;
    } else if (header_is(p, n, "retry-after", &v, &vn)) {
        call->retry_after_ms = parse_retry_after(v, vn);
    } else if (header_is(p, n, "content-type", &v, &vn)) {
        if (memmem(v, vn, "event-stream", 12))
            call->body_mode = BODY_SSE;
    }
    return n;
}

/* ---- response body -------------------------------------------------------- */

/* Hands a piece of content to the caller. Nonzero stops the transfer. */
static int deliver(fd_llm_call *call, const char *p, size_t n)
{
    int rc = fd_buf_append(&call->text, p, n);
    if (rc == FD_ETOOBIG)
        return set_error(call, FD_EUPSTREAM, "completion longer than %zu bytes", (size_t)TEXT_MAX);
    if (rc)
        return set_error(call, rc, "out of memory for the completion");
    if (!call->got_token) {
        call->got_token = 1;
        call->t_first = fd_time_ns();
        call->state = FD_LLM_STREAMING;
    }
    if (call->cb.on_token) {
        call->c->depth++;
        call->cb.on_token(call->cb.ctx, p, n);
        call->c->depth--;
    }
    return call->cancelled ? FD_EINTERNAL : FD_OK; /* cancelled: just stop */
}

static int take_chunk(fd_llm_call *call, const fd_llm_chunk *ch)
{
    if (ch->error)
        return set_error(call, FD_EUPSTREAM, "LLM error: %s", ch->error);
    if (ch->has_usage) {
        call->has_usage = 1;
        call->prompt_tokens = ch->prompt_tokens;
        call->completion_tokens = ch->completion_tokens;
    }
    if (ch->finish_reason)
        snprintf(call->finish_reason, sizeof call->finish_reason, "%s", ch->finish_reason);
    return ch->content_len ? deliver(call, ch->content, ch->content_len) : FD_OK;
}

static int on_event(void *ud, const char *p, size_t n)
{
    fd_llm_call *call = ud;
    if (call->saw_done)
        return FD_OK; /* nothing after [DONE] means anything */
    if (n == 6 && memcmp(p, "[DONE]", 6) == 0) {
        call->saw_done = 1;
        return FD_OK;
    }
    fd_llm_chunk ch;
    fd_err err;
    int rc = fd_llm_chunk_parse(p, n, &ch, &err);
    if (rc)
        rc = set_error(call, FD_EUPSTREAM, "%s", err.msg);
    else
        rc = take_chunk(call, &ch);
    fd_llm_chunk_release(&ch);
    return rc;
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
    fd_llm_call *call = ud;
    size_t n = size * nmemb;
    if (call->cancelled)
        return 0;
    if (call->http_status < 200 || call->http_status >= 300) {
        size_t room = ERR_BODY_MAX > call->raw.len ? ERR_BODY_MAX - call->raw.len : 0;
        if (fd_buf_append(&call->raw, p, n < room ? n : room))
            return 0; /* out of memory: the transfer fails, abort_code unset */
        return n;
    }
    call->got_2xx = 1;
    size_t ws = 0;
    while (call->body_mode == BODY_UNKNOWN && ws < n && isspace((unsigned char)p[ws]))
        ws++;
    if (ws == n)
        return n;
    /* A server that ignores "stream" answers one JSON object, whatever its
     * Content-Type says; one that streams starts with "data:" or ":". */
    if (call->body_mode == BODY_UNKNOWN)
        call->body_mode = p[ws] == '{' ? BODY_JSON : BODY_SSE;
    int rc;
    if (call->body_mode == BODY_SSE) {
        rc = fd_llm_sse_feed(&call->sse, p, n, on_event, call);
        if (rc == FD_ETOOBIG || rc == FD_ENOMEM)
            set_error(call, FD_EUPSTREAM, "SSE event too big or out of memory");
    } else {
        rc = fd_buf_append(&call->raw, p, n);
        if (rc)
            set_error(call, FD_EUPSTREAM, "answer larger than %zu bytes", (size_t)RAW_MAX);
    }
    if (call->cancelled)
        return 0;
    if (rc) {
        call->abort_code = rc == FD_ENOMEM ? FD_ENOMEM : FD_EUPSTREAM;
        return 0;
    }
    return n;
}

/* ---- an attempt ------------------------------------------------------------ */

static void reset_attempt(fd_llm_call *call)
{
    fd_llm_sse_reset(&call->sse);
    call->raw.len = 0;
    call->http_status = 0;
    call->body_mode = BODY_UNKNOWN;
    call->retry_after_ms = -1;
    call->saw_done = 0;
    call->abort_code = 0;
    call->curl_err[0] = '\0';
    call->finish_reason[0] = '\0';
    call->has_usage = 0;
}

void fd_llm_call_start(fd_llm_call *call, uint64_t now)
{
    fd_llm *c = call->c;
    reset_attempt(call);
    call->attempts++;
    long left = now < call->total_deadline ? (long)((call->total_deadline - now) / NS_PER_MS) : 0;
    CURL *e = curl_easy_init();
    if (!e) {
        fd_llm_call_fail(call, FD_ENOMEM, "out of memory (curl handle)");
        return;
    }
    curl_easy_setopt(e, CURLOPT_PRIVATE, call);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, call->body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)call->body_len);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, call->headers);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "frontdesk/" FD_VERSION);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, call);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, call);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, call->curl_err);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, left < c->connect_ms ? left + 1 : c->connect_ms);
    /* Our own timers enforce the deadlines precisely (fd_llm_run); curl's
     * is a backstop a second later in case a timer is ever missed. */
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, left + 1000);
    CURLcode rc = curl_easy_setopt(e, CURLOPT_URL, c->url);
    if (!rc)
        rc = curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    CURLMcode mc = rc ? CURLM_OK : curl_multi_add_handle(c->multi, e);
    if (rc || mc) {
        curl_easy_cleanup(e);
        fd_llm_call_fail(call, FD_ENOMEM, "cannot start the transfer: %s",
                         rc ? curl_easy_strerror(rc) : curl_multi_strerror(mc));
        return;
    }
    call->easy = e;
    call->state = FD_LLM_CONNECTING;
}

static const char *curl_detail(const fd_llm_call *call, CURLcode res)
{
    return call->curl_err[0] ? call->curl_err : curl_easy_strerror(res);
}

static int transport_error(fd_llm_call *call, CURLcode res, int *retryable)
{
    *retryable = 1; /* but only before the first token (fd_llm_call_finished) */
    switch (res) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
        return set_error(call, FD_EUNAVAIL, "cannot connect to the LLM: %s",
                         curl_detail(call, res));
    case CURLE_OPERATION_TIMEDOUT:
        return set_error(call, FD_ETIMEOUT, "LLM timed out: %s", curl_detail(call, res));
    default:
        return set_error(call, FD_EUPSTREAM, "LLM transfer failed after %zu bytes of text: %s",
                         call->text.len, curl_detail(call, res));
    }
}

static int http_error(fd_llm_call *call, int *retryable)
{
    int st = call->http_status;
    char msg[160];
    fd_llm_error_message(call->raw.len ? call->raw.p : "", call->raw.len, msg, sizeof msg);
    *retryable = st == 408 || st == 429 || st >= 500;
    return set_error(call, FD_EUPSTREAM, "LLM answered HTTP %d%s%s", st, msg[0] ? ": " : "", msg);
}

/* A server that ignored "stream": the whole answer in one JSON object. */
static int whole_answer(fd_llm_call *call)
{
    fd_llm_chunk ch;
    fd_err err;
    int rc = fd_llm_chunk_parse(call->raw.len ? call->raw.p : "", call->raw.len, &ch, &err);
    if (rc)
        rc = set_error(call, FD_EUPSTREAM, "%s", err.msg);
    else if (!ch.error && !ch.content && !ch.finish_reason)
        rc = set_error(call, FD_EUPSTREAM, "LLM answer has no choices[0].message");
    else
        rc = take_chunk(call, &ch);
    fd_llm_chunk_release(&ch);
    return call->cancelled ? FD_OK : rc;
}

static int classify(fd_llm_call *call, CURLcode res, int *retryable)
{
    *retryable = 0;
    if (call->abort_code)
        return call->abort_code;
    if (res != CURLE_OK)
        return transport_error(call, res, retryable);
    if (call->http_status < 200 || call->http_status >= 300)
        return http_error(call, retryable);
    if (call->body_mode == BODY_JSON)
        return whole_answer(call);
    if (call->saw_done || call->finish_reason[0])
        return FD_OK;
    /* The connection closed cleanly but the stream never said it was over. */
    *retryable = 1;
    return set_error(call, FD_EUPSTREAM, "LLM stream ended without [DONE] after %zu bytes of text",
                     call->text.len);
}

static uint64_t next_random(fd_llm *c)
{
    c->rng ^= c->rng << 13;
    c->rng ^= c->rng >> 7;
    c->rng ^= c->rng << 17;
    return c->rng;
}

/* Full jitter (uniform in [0, backoff * 2^(attempt-1)]) spreads the retries
 * of many calls that failed together; a server's Retry-After wins. Never
 * retries past a deadline: the call fails now instead of sleeping in vain. */
static int schedule_retry(fd_llm_call *call, uint64_t now)
{
    fd_llm *c = call->c;
    if (call->attempts > c->max_retries)
        return 0;
    uint64_t delay_ms;
    if (call->retry_after_ms >= 0) {
        delay_ms = (uint64_t)call->retry_after_ms;
    } else {
        int shift = call->attempts - 1 < 20 ? call->attempts - 1 : 20;
        uint64_t cap = (uint64_t)c->backoff_ms << shift;
        delay_ms = next_random(c) % (cap + 1);
    }
    uint64_t at = now + delay_ms * NS_PER_MS;
    uint64_t deadline =
        call->first_deadline < call->total_deadline ? call->first_deadline : call->total_deadline;
    if (at >= deadline) {
        size_t len = strlen(call->error);
        snprintf(call->error + len, sizeof call->error - len,
                 " (retry in %llu ms is past the deadline)", (unsigned long long)delay_ms);
        return 0;
    }
    call->retry_at = at;
    call->state = FD_LLM_WAITING;
    pthread_mutex_lock(&c->mu);
    c->stats.retries++;
    pthread_mutex_unlock(&c->mu);
    FD_LOG(c->log, FD_LOG_INFO, "llm", "request %s: retry %d of %d in %llu ms: %s",
           call->request_id, call->attempts, c->max_retries, (unsigned long long)delay_ms,
           call->error);
    return 1;
}

void fd_llm_call_finished(fd_llm_call *call, CURLcode res, uint64_t now)
{
    long status = 0;
    if (curl_easy_getinfo(call->easy, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK && status)
        call->http_status = (int)status;
    fd_llm_call_detach(call);
    if (call->cancelled)
        return;
    int retryable;
    int code = classify(call, res, &retryable);
    if (code && retryable && !call->got_token && schedule_retry(call, now))
        return;
    call->code = code;
    if (!code)
        call->error[0] = '\0';
    call->state = FD_LLM_DONE;
}

void fd_llm_call_init_buffers(fd_llm_call *call)
{
    fd_llm_sse_init(&call->sse, 0);
    fd_buf_init(&call->raw, RAW_MAX);
    fd_buf_init(&call->text, TEXT_MAX);
}
