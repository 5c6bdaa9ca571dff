/* client.c: the client: configuration and key, the thread-safe submit queue,
 * the curl multi loop with its timers (retry, first token, total), reaping
 * finished calls into on_done, and the breaker and stats around them. */
#include "llm_int.h"

#include <string.h>

#define NS_PER_MS 1000000ull
#define KEY_FILE_MAX (64 * 1024)

/* curl_global_init is not thread-safe and must run once per process: the
 * one piece of global state here, written once under pthread_once. */
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- fd_llm_new / fd_llm_free ------------------------------------------- */

static int has_ctl(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    return 0;
}

static void trim(char *s)
{
    size_t n = strlen(s);
    while (n && strchr(" \t\r\n", s[n - 1]))
        s[--n] = '\0';
    size_t lead = strspn(s, " \t\r\n");
    memmove(s, s + lead, n - lead + 1);
}

static int read_key(const fd_config *cfg, char **out, fd_err *err)
{
    char *key = NULL;
    size_t n;
    if (cfg->llm_api_key[0]) {
        key = fd_strdup(cfg->llm_api_key);
    } else if (cfg->llm_api_key_file[0]) {
        fd_err e;
        int rc = fd_file_read(cfg->llm_api_key_file, KEY_FILE_MAX, &key, &n, &e);
        if (rc)
            return fd_err_set_field(err, rc == FD_ENOMEM ? FD_ENOMEM : FD_EIO, "llm.api_key_file",
                                    "llm.api_key_file: %s", e.msg);
        if (key)
            trim(key);
        if (key && !key[0]) {
            fd_free(key);
            return fd_err_set_field(err, FD_EINVAL, "llm.api_key_file",
                                    "llm.api_key_file %s is empty", cfg->llm_api_key_file);
        }
    } else {
        key = fd_strdup("");
    }
    if (!key)
        return fd_err_set(err, FD_ENOMEM, "out of memory");
    trim(key);
    if (has_ctl(key)) {
        explicit_bzero(key, strlen(key));
        fd_free(key);
        return fd_err_set_field(err, FD_EINVAL, "llm.api_key",
                                "the API key has control characters");
    }
    *out = key;
    return FD_OK;
}

/* {base_url}/chat/completions; a base_url that already names the endpoint
 * is taken as it is. */
static int build_url(const char *base, char **out, fd_err *err)
{
    if (strncmp(base, "http://", 7) != 0 && strncmp(base, "https://", 8) != 0)
        return fd_err_set_field(err, FD_EINVAL, "llm.base_url",
                                "llm.base_url must start with http:// or https://");
    if (has_ctl(base))
        return fd_err_set_field(err, FD_EINVAL, "llm.base_url",
                                "llm.base_url has control characters");
    size_t n = strlen(base);
    while (n && base[n - 1] == '/')
        n--;
    static const char ep[] = "/chat/completions";
    size_t k = sizeof ep - 1;
    int has_ep = n >= k && memcmp(base + n - k, ep, k) == 0;
    fd_buf b;
    fd_buf_init(&b, 0);
    int rc = fd_buf_append(&b, base, n);
    if (!rc && !has_ep)
        rc = fd_buf_append(&b, ep, k);
    *out = rc ? NULL : fd_buf_take(&b);
    fd_buf_free(&b);
    return *out ? FD_OK : fd_err_set(err, FD_ENOMEM, "out of memory");
}

static void copy_limits(fd_llm *c, const fd_config *cfg)
{
    c->connect_ms = cfg->llm_connect_timeout_ms > 0 ? cfg->llm_connect_timeout_ms : 2000;
    c->first_token_ms = cfg->llm_first_token_ms > 0 ? cfg->llm_first_token_ms : 10000;
    c->total_ms = cfg->llm_total_ms > 0 ? cfg->llm_total_ms : 30000;
    c->max_retries = cfg->llm_max_retries > 0 ? cfg->llm_max_retries : 0;
    c->backoff_ms = cfg->llm_backoff_ms > 0 ? cfg->llm_backoff_ms : 0;
    c->max_inflight = cfg->llm_max_inflight > 0 ? cfg->llm_max_inflight : 1;
    c->queue_max = cfg->llm_queue_max >= 0 ? cfg->llm_queue_max : 0;
    c->queue_timeout_ms = cfg->llm_queue_timeout_ms > 0 ? cfg->llm_queue_timeout_ms : 5000;
    c->max_tokens = cfg->llm_max_tokens;
    c->temperature = cfg->llm_temperature;
    fd_llm_breaker_init(&c->breaker, cfg->llm_breaker_failures, cfg->llm_breaker_open_ms);
}

int fd_llm_new(const fd_config *cfg, fd_log *log, fd_llm **out, fd_err *err)
{
    *out = NULL;
    if (!cfg->llm_base_url[0])
        return fd_err_set_field(err, FD_EUNAVAIL, "llm.base_url",
                                "no LLM configured (llm.base_url is empty)");
    double usd;
    int rc = fd_llm_price(cfg->llm_prices, cfg->llm_model, 0, 0, &usd, err);
    if (rc)
        return rc;
    pthread_once(&curl_once, curl_init);
    if (curl_init_rc)
        return fd_err_set(err, FD_EUNAVAIL, "curl_global_init: %s",
                          curl_easy_strerror(curl_init_rc));
    fd_llm *c = fd_calloc(1, sizeof *c);
    if (!c)
        return fd_err_set(err, FD_ENOMEM, "out of memory");
    if (pthread_mutex_init(&c->mu, NULL)) {
        fd_free(c);
        return fd_err_set(err, FD_ENOMEM, "pthread_mutex_init failed");
    }
    c->log = log;
    copy_limits(c, cfg);
    fd_buf_init(&c->last_text, 0);
    atomic_init(&c->woken, 0);
    c->rng = fd_time_ns() ^ (uint64_t)(uintptr_t)c ^ 0x9E3779B97F4A7C15ull;
    rc = read_key(cfg, &c->key, err);
    if (!rc)
        rc = build_url(cfg->llm_base_url, &c->url, err);
    if (!rc) {
        c->model = fd_strdup(cfg->llm_model);
        c->prices = fd_strdup(cfg->llm_prices);
        c->multi = curl_multi_init();
        if (c->key[0]) {
            size_t n = strlen(c->key) + 32;
            c->auth = fd_malloc(n);
            if (c->auth)
                snprintf(c->auth, n, "Authorization: Bearer %s", c->key);
        }
        if (!c->model || !c->prices || !c->multi || (c->key[0] && !c->auth))
            rc = fd_err_set(err, FD_ENOMEM, "out of memory");
    }
    if (rc) {
        fd_llm_free(c);
        return rc;
    }
    *out = c;
    return FD_OK;
}

static void free_secret(char *s)
{
    if (s)
        explicit_bzero(s, strlen(s));
    fd_free(s);
}

void fd_llm_free(fd_llm *c)
{
    if (!c)
        return;
    while (c->active) {
        fd_llm_call *call = c->active;
        c->active = call->next;
        fd_llm_call_free(call);
    }
    while (c->queue) {
        fd_llm_call *call = c->queue;
        c->queue = call->next;
        fd_llm_call_free(call);
    }
    if (c->multi)
        curl_multi_cleanup(c->multi);
    pthread_mutex_destroy(&c->mu);
    free_secret(c->key);
    free_secret(c->auth);
    fd_free(c->url);
    fd_free(c->model);
    fd_free(c->prices);
    fd_buf_free(&c->last_text);
    fd_free(c);
}

const char *fd_llm_model(const fd_llm *c)
{
    return c && c->model ? c->model : "";
}

/* ---- submit and cancel ----------------------------------------------------- */

static int check_header_value(const char *v, const char *name, fd_err *err)
{
    if (v && (has_ctl(v) || strlen(v) > 512))
        return fd_err_set_field(err, FD_EINVAL, name, "%s has control characters or is too long",
                                name);
    return FD_OK;
}

static int add_header(struct curl_slist **h, const char *fmt, const char *v)
{
    char line[600];
    snprintf(line, sizeof line, fmt, v);
    struct curl_slist *n = curl_slist_append(*h, line);
    if (!n)
        return FD_ENOMEM;
    *h = n;
    return FD_OK;
}

static int build_headers(const fd_llm *c, const fd_llm_request *req, struct curl_slist **h,
                         fd_err *err)
{
    int rc = add_header(h, "%s", "Content-Type: application/json");
    if (!rc)
        rc = add_header(h, "%s", "Accept: text/event-stream");
    /* No "Expect: 100-continue" round trip for prompts over 1 KiB. */
    if (!rc)
        rc = add_header(h, "%s", "Expect:");
    if (!rc && c->auth) {
        struct curl_slist *n = curl_slist_append(*h, c->auth);
        rc = n ? FD_OK : FD_ENOMEM;
        if (n)
            *h = n;
    }
    if (!rc && req->traceparent && *req->traceparent)
        rc = add_header(h, "traceparent: %s", req->traceparent);
    if (!rc && req->request_id && *req->request_id)
        rc = add_header(h, "X-Request-Id: %s", req->request_id);
    return rc ? fd_err_set(err, rc, "out of memory") : FD_OK;
}

static fd_llm_call *call_new(fd_llm *c, const fd_llm_request *req, const fd_llm_callbacks *cb,
                             fd_err *err)
{
    fd_llm_call *call = fd_calloc(1, sizeof *call);
    if (!call) {
        fd_err_set(err, FD_ENOMEM, "out of memory");
        return NULL;
    }
    call->c = c;
    call->cb = *cb;
    fd_llm_call_init_buffers(call);
    snprintf(call->request_id, sizeof call->request_id, "%s",
             req->request_id && *req->request_id ? req->request_id : "-");
    for (size_t i = 0; i < req->n_msgs && req->msgs; i++)
        call->prompt_bytes += req->msgs[i].content ? strlen(req->msgs[i].content) : 0;
    int rc = fd_llm_body_build(req, c->model, req->max_tokens > 0 ? req->max_tokens : c->max_tokens,
                               req->temperature >= 0 ? req->temperature : c->temperature, 1,
                               &call->body, &call->body_len, err);
    if (!rc)
        rc = build_headers(c, req, &call->headers, err);
    if (rc) {
        fd_llm_call_free(call);
        return NULL;
    }
    return call;
}

int fd_llm_submit(fd_llm *c, const fd_llm_request *req, const fd_llm_callbacks *cb,
                  fd_llm_call **out, fd_err *err)
{
    if (out)
        *out = NULL;
    if (!c)
        return fd_err_set(err, FD_EUNAVAIL, "no LLM configured");
    if (!req || !cb || !cb->on_done)
        return fd_err_set(err, FD_EINVAL, "a request and an on_done callback are required");
    int rc = check_header_value(req->traceparent, "traceparent", err);
    if (!rc)
        rc = check_header_value(req->request_id, "request_id", err);
    if (rc)
        return rc;
    fd_llm_call *call = call_new(c, req, cb, err);
    if (!call)
        return err ? err->code : FD_ENOMEM;
    uint64_t now = fd_time_ns();
    call->t_submit = now;
    call->first_deadline = now + (uint64_t)c->first_token_ms * NS_PER_MS;
    call->total_deadline = now + (uint64_t)c->total_ms * NS_PER_MS;
    call->state = FD_LLM_QUEUED;
    const char *why = NULL;
    pthread_mutex_lock(&c->mu);
    /* Admission: max_inflight calls run, queue_max more wait their turn;
     * past that the caller answers without the LLM at once rather than
     * piling up behind it. */
    if (c->stats.inflight >= c->max_inflight + c->queue_max) {
        why = c->queue_max ? "the LLM queue is full (llm.max_inflight + llm.queue_max)"
                           : "too many LLM calls in flight (llm.max_inflight)";
        c->stats.queue_full++;
    } else if (!fd_llm_breaker_allow(&c->breaker, now, &call->trial))
        why = "the LLM circuit breaker is open";
    if (why) {
        c->stats.refused++;
    } else {
        call->prev = c->queue_tail;
        if (c->queue_tail)
            c->queue_tail->next = call;
        else
            c->queue = call;
        c->queue_tail = call;
        c->stats.calls++;
        c->stats.inflight++;
        c->stats.queued++;
    }
    pthread_mutex_unlock(&c->mu);
    if (why) {
        fd_llm_call_free(call);
        return fd_err_set(err, FD_EUNAVAIL, "%s", why);
    }
    if (out)
        *out = call;
    fd_llm_wakeup(c);
    return FD_OK;
}

static void unlink_call(fd_llm_call **head, fd_llm_call **tail, fd_llm_call *call)
{
    if (call->prev)
        call->prev->next = call->next;
    else
        *head = call->next;
    if (call->next)
        call->next->prev = call->prev;
    else if (tail)
        *tail = call->prev;
    call->prev = call->next = NULL;
}

/* The call is unlinked: count it, give back its slot (and the breaker's
 * trial, which a cancelled call cannot settle), free it. */
static void drop_cancelled(fd_llm *c, fd_llm_call *call)
{
    pthread_mutex_lock(&c->mu);
    c->stats.cancelled++;
    c->stats.inflight--;
    if (call->trial)
        fd_llm_breaker_record(&c->breaker, FD_LLM_OUTCOME_NEUTRAL, 1, fd_time_ns());
    pthread_mutex_unlock(&c->mu);
    fd_llm_call_free(call);
}

void fd_llm_cancel(fd_llm *c, fd_llm_call *call)
{
    if (!c || !call || call->reaping || call->cancelled)
        return;
    pthread_mutex_lock(&c->mu);
    int queued = call->state == FD_LLM_QUEUED;
    if (queued) {
        unlink_call(&c->queue, &c->queue_tail, call);
        c->stats.queued--;
    }
    pthread_mutex_unlock(&c->mu);
    if (!queued && c->depth > 0) {
        /* Inside a callback curl may be mid-transfer on this very handle:
         * only mark it; the loop drops it at its next safe point. */
        call->cancelled = 1;
        return;
    }
    if (!queued)
        unlink_call(&c->active, NULL, call);
    drop_cancelled(c, call);
}

/* ---- the loop ----------------------------------------------------------- */

/* Submitted calls join the active list as due-now retries, so the timer
 * pass starts them with the same code that starts every attempt — as many
 * as there are free slots, oldest first. A call that waited longer than
 * llm.queue_timeout_ms fails without reaching the LLM (the caller answers
 * without it); its deadlines start when it leaves the queue. */
static void intake(fd_llm *c)
{
    uint64_t now = fd_time_ns();
    uint64_t max_wait = (uint64_t)c->queue_timeout_ms * NS_PER_MS;
    fd_llm_call *in = NULL, *in_tail = NULL;
    pthread_mutex_lock(&c->mu);
    while (c->queue) {
        fd_llm_call *call = c->queue;
        int expired = now - call->t_submit >= max_wait;
        if (!expired && c->stats.inflight - c->stats.queued >= c->max_inflight)
            break;
        unlink_call(&c->queue, &c->queue_tail, call);
        c->stats.queued--;
        if (expired) {
            c->stats.queue_timeouts++;
            call->queue_expired = 1;
            call->state = FD_LLM_DONE;
            call->code = FD_EUNAVAIL;
            snprintf(call->error, sizeof call->error,
                     "waited %d ms for an LLM slot (llm.queue_timeout_ms)", c->queue_timeout_ms);
        } else {
            call->state = FD_LLM_WAITING;
            call->retry_at = now;
            call->t_start = now;
            call->first_deadline = now + (uint64_t)c->first_token_ms * NS_PER_MS;
            call->total_deadline = now + (uint64_t)c->total_ms * NS_PER_MS;
        }
        call->prev = in_tail;
        if (in_tail)
            in_tail->next = call;
        else
            in = call;
        in_tail = call;
    }
    pthread_mutex_unlock(&c->mu);
    if (!in)
        return;
    /* Appended in submit order, so the oldest call starts first. */
    fd_llm_call *tail = c->active;
    while (tail && tail->next)
        tail = tail->next;
    in->prev = tail;
    if (tail)
        tail->next = in;
    else
        c->active = in;
}

/* When the oldest queued call gives up waiting (until if none sooner). */
static uint64_t queue_timer(fd_llm *c, uint64_t until)
{
    pthread_mutex_lock(&c->mu);
    if (c->queue) {
        uint64_t t = c->queue->t_submit + (uint64_t)c->queue_timeout_ms * NS_PER_MS;
        if (t < until)
            until = t;
    }
    pthread_mutex_unlock(&c->mu);
    return until;
}

static void timeout_call(fd_llm_call *call, const char *what, int ms)
{
    /* Keep what the last attempt said: "HTTP 500" explains a timeout. */
    char last[sizeof call->error];
    snprintf(last, sizeof last, "%s", call->error);
    fd_llm_call_fail(call, FD_ETIMEOUT, "%s within %d ms%s%s", what, ms, last[0] ? "; last: " : "",
                     last);
}

static void timers(fd_llm *c, uint64_t now)
{
    for (fd_llm_call *call = c->active; call; call = call->next) {
        if (call->cancelled || call->state == FD_LLM_DONE)
            continue;
        if (now >= call->total_deadline)
            timeout_call(call, "no complete answer (llm.total_timeout_ms)", c->total_ms);
        else if (!call->got_token && now >= call->first_deadline)
            timeout_call(call, "no first token (llm.first_token_timeout_ms)", c->first_token_ms);
        else if (call->state == FD_LLM_WAITING && now >= call->retry_at)
            fd_llm_call_start(call, now);
    }
}

/* The earliest timer of any call, or `until` if none is sooner. */
static uint64_t next_timer(const fd_llm *c, uint64_t until)
{
    for (const fd_llm_call *call = c->active; call; call = call->next) {
        if (call->cancelled || call->state == FD_LLM_DONE)
            continue;
        uint64_t t = call->total_deadline;
        if (!call->got_token && call->first_deadline < t)
            t = call->first_deadline;
        if (call->state == FD_LLM_WAITING && call->retry_at < t)
            t = call->retry_at;
        if (t < until)
            until = t;
    }
    return until;
}

static void drain(fd_llm *c)
{
    CURLMsg *m;
    int left;
    for (;;) {
        m = curl_multi_info_read(c->multi, &left);
        if (!m)
            break;
        if (m->msg != CURLMSG_DONE)
            continue;
        fd_llm_call *call = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&call);
        CURLcode res = m->data.result; /* m is invalid once the handle is removed */
        if (call)
            fd_llm_call_finished(call, res, fd_time_ns());
    }
}

static fd_llm_outcome outcome_of(int code)
{
    if (code == FD_OK)
        return FD_LLM_OUTCOME_OK;
    if (code == FD_ETIMEOUT || code == FD_EUPSTREAM || code == FD_EUNAVAIL)
        return FD_LLM_OUTCOME_FAIL;
    return FD_LLM_OUTCOME_NEUTRAL; /* out of memory here says nothing about the LLM */
}

static int64_t ceil4(size_t n)
{
    return (int64_t)((n + 3) / 4);
}

static void fill_result(fd_llm *c, fd_llm_call *call, fd_llm_result *r, uint64_t now)
{
    memset(r, 0, sizeof *r);
    r->code = call->code;
    r->error = call->code ? call->error : "";
    r->text = call->text.len ? call->text.p : "";
    r->text_len = call->text.len;
    r->finish_reason = call->finish_reason;
    r->http_status = call->http_status;
    r->attempts = call->attempts;
    if (call->has_usage) {
        r->prompt_tokens = call->prompt_tokens;
        r->completion_tokens = call->completion_tokens;
    } else {
        /* ~4 bytes a token: good enough for budgets, flagged as a guess. A
         * call that never reached the model is assumed to have cost nothing. */
        r->usage_estimated = 1;
        r->prompt_tokens = call->got_2xx ? ceil4(call->prompt_bytes) : 0;
        r->completion_tokens = ceil4(call->text.len);
    }
    if (fd_llm_price(c->prices, c->model, r->prompt_tokens, r->completion_tokens, &r->cost_usd,
                     NULL))
        r->cost_usd = 0; /* the table was checked in fd_llm_new */
    r->first_token_ms = call->got_token ? (double)(call->t_first - call->t_submit) / 1e6 : -1;
    r->queue_ms = (double)((call->t_start ? call->t_start : now) - call->t_submit) / 1e6;
    r->total_ms = (double)(now - call->t_submit) / 1e6;
}

static void account(fd_llm *c, fd_llm_call *call, const fd_llm_result *r, uint64_t now)
{
    pthread_mutex_lock(&c->mu);
    fd_breaker_state before = c->breaker.state;
    c->stats.inflight--;
    if (r->code == FD_OK)
        c->stats.ok++;
    else
        c->stats.failed++;
    if (r->code == FD_ETIMEOUT)
        c->stats.timeouts++;
    c->stats.prompt_tokens += (uint64_t)r->prompt_tokens;
    c->stats.completion_tokens += (uint64_t)r->completion_tokens;
    c->stats.cost_usd += r->cost_usd;
    fd_llm_breaker_record(&c->breaker,
                          call->queue_expired ? FD_LLM_OUTCOME_NEUTRAL : outcome_of(r->code),
                          call->trial, now);
    fd_breaker_state after = c->breaker.state;
    int failures = c->breaker.failures;
    pthread_mutex_unlock(&c->mu);
    if (r->code)
        FD_LOG(c->log, FD_LOG_WARN, "llm",
               "request %s: call failed (%s) after %d attempt%s, HTTP %d: %s", call->request_id,
               fd_code_name(r->code), r->attempts, r->attempts == 1 ? "" : "s", r->http_status,
               r->error);
    if (after == FD_BREAKER_OPEN && (before != FD_BREAKER_OPEN || call->trial))
        FD_LOG(c->log, FD_LOG_WARN, "llm", "circuit opened (%d consecutive failures)", failures);
    else if (after == FD_BREAKER_CLOSED && before != FD_BREAKER_CLOSED)
        FD_LOG(c->log, FD_LOG_INFO, "llm", "circuit closed: the trial call succeeded");
}

static void complete_call(fd_llm *c, fd_llm_call *call)
{
    uint64_t now = fd_time_ns();
    fd_llm_result r;
    fill_result(c, call, &r, now);
    account(c, call, &r, now);
    call->reaping = 1;
    c->depth++;
    call->cb.on_done(call->cb.ctx, &r);
    c->depth--;
    fd_llm_call_free(call);
}

/* Fires on_done for finished calls and frees cancelled ones. A callback may
 * cancel other calls (marked, since depth > 0) or submit new ones, so the
 * scan restarts from the head after each. Returns on_done calls made. */
static int reap(fd_llm *c)
{
    int n = 0;
    for (;;) {
        fd_llm_call *call = c->active;
        while (call && !call->cancelled && call->state != FD_LLM_DONE)
            call = call->next;
        if (!call)
            return n;
        unlink_call(&c->active, NULL, call);
        if (call->cancelled) {
            drop_cancelled(c, call);
            continue;
        }
        complete_call(c, call);
        n++;
    }
}

static int pending(fd_llm *c)
{
    pthread_mutex_lock(&c->mu);
    int n = c->stats.inflight;
    pthread_mutex_unlock(&c->mu);
    return n;
}

int fd_llm_run(fd_llm *c, int timeout_ms)
{
    if (!c)
        return 0;
    uint64_t end = fd_time_ns() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0) * NS_PER_MS;
    int woke = 0;
    for (;;) {
        intake(c);
        timers(c, fd_time_ns());
        int running;
        curl_multi_perform(c->multi, &running);
        drain(c);
        int n_done = reap(c);
        uint64_t now = fd_time_ns();
        if (timeout_ms <= 0 || n_done || woke || now >= end)
            break;
        uint64_t until = queue_timer(c, next_timer(c, end));
        long curl_ms = -1;
        curl_multi_timeout(c->multi, &curl_ms);
        uint64_t wait_ms = until > now ? (until - now + NS_PER_MS - 1) / NS_PER_MS : 0;
        if (curl_ms >= 0 && (uint64_t)curl_ms < wait_ms)
            wait_ms = (uint64_t)curl_ms;
        if (wait_ms)
            curl_multi_poll(c->multi, NULL, 0, (int)wait_ms, NULL);
        /* Woken (a submit, fd_llm_wakeup): one more pass takes in the new
         * calls, then the caller gets control back. */
        woke = atomic_exchange(&c->woken, 0);
    }
    return pending(c);
}

void fd_llm_wakeup(fd_llm *c)
{
    if (!c)
        return;
    atomic_store(&c->woken, 1);
    curl_multi_wakeup(c->multi);
}

void fd_llm_stats_get(fd_llm *c, fd_llm_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    *out = c->stats;
    out->breaker = fd_llm_breaker_state(&c->breaker, fd_time_ns());
    pthread_mutex_unlock(&c->mu);
}

/* ---- fd_llm_complete ------------------------------------------------------ */

typedef struct sync_ctx {
    fd_llm *c;
    fd_llm_result *r;
    int done;
    void (*on_token)(void *ctx, const char *p, size_t n);
    void *ctx;
} sync_ctx;

static void sync_token(void *ctx, const char *p, size_t n)
{
    sync_ctx *s = ctx;
    if (s->on_token)
        s->on_token(s->ctx, p, n);
}

/* The result's strings die with the call: keep copies in the client. */
static void sync_done(void *ctx, const fd_llm_result *r)
{
    sync_ctx *s = ctx;
    fd_llm *c = s->c;
    *s->r = *r;
    fd_buf_reset(&c->last_text);
    if (r->text_len && fd_buf_append(&c->last_text, r->text, r->text_len)) {
        s->r->code = s->r->code ? s->r->code : FD_ENOMEM;
        snprintf(c->last_error, sizeof c->last_error, "out of memory copying the answer");
    } else {
        snprintf(c->last_error, sizeof c->last_error, "%s", r->error ? r->error : "");
    }
    snprintf(c->last_finish, sizeof c->last_finish, "%s", r->finish_reason ? r->finish_reason : "");
    s->r->text = c->last_text.len ? c->last_text.p : "";
    s->r->text_len = c->last_text.len;
    s->r->error = c->last_error;
    s->r->finish_reason = c->last_finish;
    s->done = 1;
}

int fd_llm_complete(fd_llm *c, const fd_llm_request *req,
                    void (*on_token)(void *ctx, const char *p, size_t n), void *ctx,
                    fd_llm_result *r, fd_err *err)
{
    memset(r, 0, sizeof *r);
    r->text = "";
    r->finish_reason = "";
    r->first_token_ms = -1;
    sync_ctx s = {c, r, 0, on_token, ctx};
    fd_llm_callbacks cb = {sync_token, sync_done, &s};
    fd_err e;
    fd_err_clear(&e);
    int rc = fd_llm_submit(c, req, &cb, NULL, &e);
    if (rc) {
        r->code = rc;
        if (c) {
            snprintf(c->last_error, sizeof c->last_error, "%s", e.msg);
            r->error = c->last_error;
        } else {
            r->error = "no LLM configured";
        }
        return fd_err_set(err, rc, "%s", r->error);
    }
    while (!s.done)
        fd_llm_run(c, 1000);
    if (r->code)
        fd_err_set(err, r->code, "%s", r->error);
    return r->code;
}
