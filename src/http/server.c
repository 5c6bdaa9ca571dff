/* server.c: the daemon's life: start (pools, assistant, metrics, MHD thread
 * pool), the per-connection callbacks that collect a request body under its
 * cap, reload and drain. */
#include "http_int.h"

#include <arpa/inet.h>
#include <assert.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- knowledge-base pool ------------------------------------------------ */

/* One handle opens before the server listens (it checks the store and maps
 * the snapshot: a server that cannot serve does not start); the others open
 * in the background once it listens (pool_fill), and a request that finds
 * none free before then opens one itself. Opening all of them first kept a
 * replica from listening for 1.5 s with 16 PostgreSQL handles
 * (bench/RESULTS.md, "replica start"); opening them only on demand made a
 * request wait behind an index build that held the store (an upload storm
 * right after start, tests/integration/http_documents.sh). */
static int pool_open(fd_server *s, size_t n, fd_err *err)
{
    kb_pool *p = &s->kbs;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    atomic_init(&p->gen, 0);
    p->cap = n ? n : 1;
    p->all = fd_calloc(p->cap, sizeof *p->all);
    p->free = fd_calloc(p->cap, sizeof *p->free);
    p->seen = fd_calloc(p->cap, sizeof *p->seen);
    if (!p->all || !p->free || !p->seen)
        return fd_err_set(err, FD_ENOMEM, "out of memory");
    int rc = fd_kb_open(s->cfg, s->log, &p->all[0], err);
    if (rc)
        return rc;
    p->n = 1;
    p->free[p->n_free++] = 0;
    /* A missing or empty store starts (a company may upload its documents
     * through the API), but not silently: every question would be declined. */
    fd_kb_stats st;
    if (fd_kb_stats_get(p->all[0], &st, NULL) == FD_OK && st.n_docs == 0)
        FD_LOG(s->log, FD_LOG_WARN, "http",
               "the knowledge base in %s is empty: every question will be declined until "
               "documents are added (frontdesk ingest DIR, or POST /v1/documents)",
               s->cfg->data_dir);
    return FD_OK;
}

static void pool_close(kb_pool *p)
{
    for (size_t i = 0; i < p->n; i++)
        fd_kb_close(p->all[i]);
    fd_free(p->all);
    fd_free(p->free);
    fd_free(p->seen);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
}

/* Opens one more handle into the pool (free for the taking); 0 when the
 * pool is full, stopping, or the open failed. Called without mu. The
 * generation is read before the open: a reload that lands during it leaves
 * the handle behind, to catch up like the others. */
static int pool_grow(fd_server *s, kb_pool *p)
{
    pthread_mutex_lock(&p->mu);
    if (p->fill_stop || p->n + p->opening >= p->cap) {
        pthread_mutex_unlock(&p->mu);
        return 0;
    }
    p->opening++;
    unsigned long long gen = atomic_load(&p->gen);
    pthread_mutex_unlock(&p->mu);
    fd_kb *kb = NULL;
    fd_err err = {0};
    int rc = fd_kb_open(s->cfg, s->log, &kb, &err);
    pthread_mutex_lock(&p->mu);
    p->opening--;
    if (rc == FD_OK) {
        size_t i = p->n++;
        p->all[i] = kb;
        p->seen[i] = gen;
        p->free[p->n_free++] = i;
        pthread_cond_signal(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
    if (rc) {
        fd_metric_add(s->m.errors, 1, "kb_open");
        FD_LOG(s->log, FD_LOG_WARN, "http", "opening another knowledge-base handle: %s", err.msg);
    }
    return rc == FD_OK;
}

static void *pool_fill(void *arg)
{
    fd_server *s = arg;
    while (pool_grow(s, &s->kbs))
        ;
    return NULL;
}

static void pool_fill_start(fd_server *s)
{
    if (s->kbs.cap > 1 && pthread_create(&s->kbs.filler, NULL, pool_fill, s) == 0)
        s->kbs.filling = 1; /* else requests open handles as they need them */
}

static void pool_fill_stop(kb_pool *p)
{
    if (!p->filling)
        return;
    pthread_mutex_lock(&p->mu);
    p->fill_stop = 1;
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->filler, NULL);
    p->filling = 0;
}

/* A free handle's index, opening a new one (pool_grow) when none is free
 * and the pool may grow; waits otherwise. Called and returns with p->mu
 * held. A handle that fails to open (the store away) is logged and counted,
 * and the caller waits for one in use, as a full pool would. */
static size_t pool_take(fd_server *s, kb_pool *p)
{
    while (p->n_free == 0) {
        if (p->n + p->opening < p->cap) {
            pthread_mutex_unlock(&p->mu);
            int grew = pool_grow(s, p);
            pthread_mutex_lock(&p->mu);
            if (grew || p->n_free)
                continue;
        }
        pthread_cond_wait(&p->cv, &p->mu);
    }
    return p->free[--p->n_free];
}

fd_kb *http_kb_get(fd_server *s)
{
    kb_pool *p = &s->kbs;
    pthread_mutex_lock(&p->mu);
    size_t i = pool_take(s, p);
    fd_kb *kb = p->all[i];
    unsigned long long seen = p->seen[i];
    pthread_mutex_unlock(&p->mu);
    unsigned long long gen = atomic_load(&p->gen);
    /* Behind a reload: catch up now. Only when no writer runs: a refresh
     * that finds the store ahead of the snapshot rebuilds it, and must not
     * race the writer's own build; a skipped handle retries next time. */
    if (seen != gen && pthread_mutex_trylock(&s->write_lock) == 0) {
        fd_err err;
        if (fd_kb_refresh(kb, &err) == FD_OK) {
            pthread_mutex_lock(&p->mu);
            p->seen[i] = gen;
            pthread_mutex_unlock(&p->mu);
            fd_mem_trim(); /* the old snapshot's pages (see http_assistant_put) */
        } else
            FD_LOG(s->log, FD_LOG_WARN, "http", "index refresh: %s", err.msg);
        pthread_mutex_unlock(&s->write_lock);
    }
    return kb;
}

void http_kb_put(fd_server *s, fd_kb *kb)
{
    kb_pool *p = &s->kbs;
    pthread_mutex_lock(&p->mu); /* the pool may be growing: all[] read under mu */
    size_t i = 0;
    while (i < p->n && p->all[i] != kb)
        i++;
    assert(i < p->n);
    p->free[p->n_free++] = i;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

/* ---- metrics ------------------------------------------------------------ */

static int metrics_init(fd_server *s, fd_err *err)
{
    server_metrics *m = &s->m;
    fd_metrics *r = s->metrics;
    const double *lb = fd_latency_buckets;
    size_t nb = fd_latency_n_buckets;
    int rc =
        fd_metrics_counter(r, "frontdesk_http_requests_total", "HTTP requests by route and status",
                           "route,method,status", &m->requests, err);
    rc = rc ? rc
            : fd_metrics_histogram(r, "frontdesk_http_request_seconds", "request latency by route",
                                   "route", lb, nb, &m->latency, err);
    rc = rc ? rc
            : fd_metrics_gauge(r, "frontdesk_http_inflight", "requests being handled", NULL,
                               &m->inflight, err);
    rc = rc ? rc
            : fd_metrics_histogram(r, "frontdesk_pipeline_stage_seconds",
                                   "time per pipeline stage of a chat message", "stage", lb, nb,
                                   &m->stage, err);
    rc = rc ? rc
            : fd_metrics_counter(r, "frontdesk_escalations_total", "handoffs to people by tier",
                                 "tier", &m->escalations, err);
    rc = rc ? rc
            : fd_metrics_counter(r, "frontdesk_ratings_total",
                                 "customers' ratings of a conversation (1 to 5), by score", "score",
                                 &m->ratings, err);
    rc = rc ? rc
            : fd_metrics_counter(r, "frontdesk_validation_total",
                                 "answers checked, by result (ok, skipped, or the failure)",
                                 "result", &m->validation, err);
    rc = rc ? rc
            : fd_metrics_counter(r, "frontdesk_guard_flagged_total",
                                 "messages refused by the guard", "kind", &m->guard_flagged, err);
    rc = rc ? rc
            : fd_metrics_counter(r, "frontdesk_llm_calls_total", "LLM calls by outcome", "outcome",
                                 &m->llm_calls, err);
    rc = rc ? rc
            : fd_metrics_histogram(r, "frontdesk_llm_queue_wait_seconds",
                                   "time an LLM call waited for a slot (llm.max_inflight)", NULL,
                                   lb, nb, &m->llm_queue_wait, err);
    rc = rc ? rc
            : fd_metrics_counter(r, "frontdesk_llm_shared_total",
                                 "chat messages answered by an identical LLM call already in "
                                 "flight (single-flight)",
                                 NULL, &m->llm_shared, err);
    rc = rc ? rc
            : fd_metrics_counter(r, "frontdesk_llm_tokens_total", "LLM tokens", "kind",
                                 &m->llm_tokens, err);
    rc = rc ? rc
            : fd_metrics_counter(r, "frontdesk_llm_cost_usd_total", "LLM cost in USD", NULL,
                                 &m->llm_cost, err);
    rc = rc ? rc
            : fd_metrics_counter(r, "frontdesk_rate_limited_total", "requests refused with 429",
                                 "scope", &m->rate_limited, err);
    rc = rc ? rc
            : fd_metrics_counter(r, "frontdesk_auth_failures_total", "requests refused with 401",
                                 NULL, &m->auth_failures, err);
    rc = rc ? rc
            : fd_metrics_counter(r, "frontdesk_errors_total", "error responses by code", "code",
                                 &m->errors, err);
    return rc;
}

/* ---- connection callbacks ----------------------------------------------- */

static void request_free(request *r)
{
    if (!r)
        return;
    http_chat_free(r->chat);
    http_writer_drop(r);
    fd_buf_free(&r->body);
    fd_arena_free(r->a);
    fd_free(r);
}

static request *request_new(fd_server *s, struct MHD_Connection *con, const char *method,
                            const char *url)
{
    request *r = fd_calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->a = fd_arena_new((size_t)8 << 20);
    if (!r->a) {
        fd_free(r);
        return NULL;
    }
    atomic_init(&r->refs, 1);
    r->srv = s;
    r->con = con;
    r->t0 = fd_time_ns();
    r->method = method;
    r->route = "other";
    fd_buf_init(&r->body, http_body_cap(s->cfg, method, url));
    /* The caller's request id when it is sane, else a fresh one. */
    const char *rid = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "X-Request-Id");
    if (http_request_id_ok(rid, sizeof r->id)) {
        memcpy(r->id, rid, strlen(rid) + 1);
    } else {
        unsigned long long k = atomic_fetch_add(&s->next_request, 1);
        uint64_t h = fd_hash64(&k, sizeof k, (uint64_t)s->started_at * 1000003u);
        snprintf(r->id, sizeof r->id, "%016llx%08llx", (unsigned long long)h, k & 0xffffffffull);
    }
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(con, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci && ci->client_addr) {
        const struct sockaddr *sa = ci->client_addr;
        if (sa->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, r->ip, sizeof r->ip);
        else if (sa->sa_family == AF_INET6)
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, r->ip, sizeof r->ip);
    }
    return r;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *con, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    (void)version;
    fd_server *s = cls;
    request *r = *con_cls;
    if (!r) {
        r = request_new(s, con, method, url);
        if (!r) {
            /* Out of memory: MHD closes the connection; counted and logged. */
            fd_metric_add(s->m.errors, 1, "no_memory");
            FD_LOG(s->log, FD_LOG_ERROR, "http", "out of memory accepting %s %s", method, url);
            return MHD_NO;
        }
        *con_cls = r;
        atomic_fetch_add(&s->inflight, 1);
        fd_metric_add(s->m.inflight, 1);
        const char *why = http_framing_ambiguous(con);
        if (why)
            return http_send_bad_framing(r, why);
        return MHD_YES;
    }
    if (*upload_size) {
        /* Keep reading past the cap (MHD needs the body consumed) but drop it. */
        if (!r->body_too_big && fd_buf_append(&r->body, upload, *upload_size))
            r->body_too_big = 1;
        *upload_size = 0;
        return MHD_YES;
    }
    if (r->chat) /* resumed after its LLM call */
        return http_chat_resumed(r);
    if (r->job) /* resumed after the writer ran its upload or delete */
        return http_writer_resumed(r);
    return http_dispatch(r, url);
}

/* The client's address with its host part dropped (IPv4 /24, IPv6 /48):
 * enough to see a hot network, not enough to single out a person. */
static void redact_ip(const char *ip, char *out, size_t n)
{
    snprintf(out, n, "%s", ip[0] ? ip : "-");
    if (strchr(out, ':')) {
        char *p = out;
        for (int groups = 0; (p = strchr(p, ':')) != NULL; p++)
            if (++groups == 3) {
                snprintf(p, n - (size_t)(p - out), "::");
                break;
            }
    } else {
        char *dot = strrchr(out, '.');
        if (dot)
            snprintf(dot, n - (size_t)(dot - out), ".0");
    }
}

/* Access log, one JSON object per request: the route template (never the
 * path's ids or query), status, time, request id and key prefix. No
 * bodies, messages, keys or full addresses: PII stays out. */
static void access_log(fd_server *s, request *r, double secs, enum MHD_RequestTerminationCode toe)
{
    if (!fd_log_enabled(s->log, FD_LOG_INFO))
        return;
    char ip[64], fields[512];
    redact_ip(r->ip, ip, sizeof ip);
    const char *m = r->method;
    size_t n = 0;
    while (m[n] >= 'A' && m[n] <= 'Z')
        n++;
    if (m[n] || n == 0 || n > 10)
        m = "OTHER"; /* a method token we would have to escape */
    snprintf(fields, sizeof fields,
             "\"event\":\"access\",\"ip\":\"%s\",\"method\":\"%s\",\"route\":\"%s\","
             "\"status\":%d,\"ms\":%.2f,\"request_id\":\"%s\",\"key\":\"%s\",\"aborted\":%s",
             ip, m, r->route, r->status, secs * 1e3, r->id, r->has_key ? r->key.prefix : "-",
             toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "false" : "true");
    fd_log_fields(s->log, FD_LOG_INFO, "access", fields);
}

static void on_completed(void *cls, struct MHD_Connection *con, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)con;
    fd_server *s = cls;
    request *r = *con_cls;
    if (!r)
        return;
    double secs = (double)(fd_time_ns() - r->t0) / 1e9;
    char status[8];
    snprintf(status, sizeof status, "%d", r->status ? r->status : 499);
    fd_metric_add(s->m.requests, 1, r->route, r->method, status);
    fd_metric_observe(s->m.latency, secs, r->route);
    fd_metric_add(s->m.inflight, -1);
    access_log(s, r, secs, toe);
    *con_cls = NULL;
    http_idem_release(r); /* claimed, never kept: a retry may run */
    http_chat_gone(r);
    http_events_gone(r);
    http_request_release(r);
    atomic_fetch_sub(&s->inflight, 1);
}

void http_request_release(request *r)
{
    if (atomic_fetch_sub(&r->refs, 1) == 1)
        request_free(r);
}

/* ---- the assistant, counted ------------------------------------------------------ */

assistant_ref *http_assistant_get(fd_server *s)
{
    pthread_mutex_lock(&s->state_mu);
    assistant_ref *ref = s->cur;
    atomic_fetch_add(&ref->refs, 1);
    pthread_mutex_unlock(&s->state_mu);
    return ref;
}

void http_assistant_put(assistant_ref *ref)
{
    if (ref && atomic_fetch_sub(&ref->refs, 1) == 1) {
        fd_assistant_close(ref->as);
        fd_free(ref);
        /* The old assistant (word lists, guard and intent models: tens of
         * MB) was freed in pieces across threads' malloc arenas; without a
         * trim each reload left its pages behind (the soak: RSS 37 -> 67 MB
         * over 4 uploads). */
        fd_mem_trim();
    }
}

/* prev: the assistant being replaced (its word lists are lent on), or NULL. */
static int assistant_new(fd_server *s, fd_kb *kb, const fd_assistant *prev, assistant_ref **out,
                         fd_err *err)
{
    assistant_ref *ref = fd_calloc(1, sizeof *ref);
    if (!ref)
        return fd_err_set(err, FD_ENOMEM, "out of memory");
    int rc = prev ? fd_assistant_reopen(prev, kb, &ref->as, err)
                  : fd_assistant_open_llm(s->cfg, s->log, kb, s->llm, &ref->as, err);
    if (rc) {
        fd_free(ref);
        return rc;
    }
    fd_assistant_use_cache(ref->as, s->cache);
    fd_assistant_use_committer(ref->as, s->committer);
    atomic_init(&ref->refs, 1); /* the server's */
    *out = ref;
    return FD_OK;
}

/* ---- lifecycle ----------------------------------------------------------- */

static int listen_addr(const fd_config *cfg, struct sockaddr_in *sa, fd_err *err)
{
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)cfg->server_port);
    if (inet_pton(AF_INET, cfg->server_bind, &sa->sin_addr) != 1)
        return fd_err_set_field(err, FD_EINVAL, "server.bind",
                                "server.bind: '%s' is not an IPv4 address", cfg->server_bind);
    return FD_OK;
}

/* Connections the server may hold: server.max_connections, within the
 * open-file limit (raised to its hard limit first) less a reserve for the
 * store, the snapshot, logs and the LLM's sockets. Past the budget MHD
 * refuses new connections instead of failing accept() for everything
 * (issue 17 item 5: under a 1,024-file limit 1,100 slow clients locked
 * everyone out). */
#define FD_RESERVE 64

static unsigned connection_budget(fd_server *s)
{
    struct rlimit rl;
    unsigned want = (unsigned)s->cfg->server_max_connections;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return want;
    if (rl.rlim_cur < rl.rlim_max) {
        rlim_t old = rl.rlim_cur;
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            rl.rlim_cur = old;
    }
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)want + FD_RESERVE) {
        unsigned fit = rl.rlim_cur > 2 * FD_RESERVE ? (unsigned)(rl.rlim_cur - FD_RESERVE) : 16;
        FD_LOG(s->log, FD_LOG_WARN, "http",
               "open-file limit %llu: at most %u connections (server.max_connections %u)",
               (unsigned long long)rl.rlim_cur, fit, want);
        want = fit;
    }
    return want;
}

#define PG_THREADS_PER_CORE 8     /* see fd_server_start */
#define SQLITE_THREADS_PER_CORE 2 /* the same, on SQLite */

/* Another replica's notice (store.h, "change notices"): an operator's
 * message or a state change wakes this replica's event streams, a new
 * knowledge-base version its writer, at once rather than at their polls. */
static void on_notice(void *ctx, fd_store_note what, const char *about)
{
    fd_server *s = ctx;
    if (what == FD_NOTE_KB)
        http_writer_follow_now(s);
    else if (what == FD_NOTE_TYPING)
        http_events_typing_heard(s, about);
    else
        http_events_wake(s, about);
}

/* The assistant's preparation (the guard's training on a new replica,
 * ~0.1-0.25 s) on a thread of its own while the index snapshot is fetched
 * or mapped: a new replica on PostgreSQL was ready in 0.63-0.81 s with the
 * two one after the other (bench/RESULTS.md, "a new replica's start"). */
typedef struct prepare_job {
    const fd_config *cfg;
    fd_log *log;
} prepare_job;

static void *prepare_run(void *arg)
{
    prepare_job *j = arg;
    fd_err e = {0};
    /* A failure costs only the time: the assistant's open does it again
     * and reports what goes wrong there. */
    if (fd_assistant_prepare(j->cfg, &e) != FD_OK)
        FD_LOG(j->log, FD_LOG_DEBUG, "http", "assistant not prepared ahead: %s", e.msg);
    return NULL;
}

int fd_server_start(const fd_config *cfg, fd_log *log, fd_server **out, fd_err *err)
{
    fd_server *s = fd_calloc(1, sizeof *s);
    if (!s)
        return fd_err_set(err, FD_ENOMEM, "out of memory");
    s->cfg = cfg;
    s->log = log;
    s->started_at = fd_time_wall();
    s->key_memo = fd_key_memo_new();
    if (!s->key_memo) {
        fd_free(s);
        return fd_err_set(err, FD_ENOMEM, "out of memory");
    }
    pthread_mutex_init(&s->state_mu, NULL);
    pthread_mutex_init(&s->pend_mu, NULL);
    pthread_mutex_init(&s->flight_mu, NULL);
    pthread_mutex_init(&s->subs_mu, NULL);
    pthread_mutex_init(&s->typing_mu, NULL);
    pthread_mutex_init(&s->tick_mu, NULL);
    pthread_cond_init(&s->tick_cv, NULL);
    pthread_mutex_init(&s->write_lock, NULL);
    pthread_mutex_init(&s->commit_mu, NULL);
    pthread_cond_init(&s->commit_cv, NULL);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned threads =
        cfg->server_threads > 0 ? (unsigned)cfg->server_threads : (unsigned)(cores > 0 ? cores : 2);
    /* On PostgreSQL a reply waits for its turn's durable commit over the
     * network (~1-2 ms with the WAL flush, against ~0.1 ms for SQLite), and
     * a thread waiting is a thread not answering; more threads also fill
     * the committer's batches. Measured on 2 cores, 8 s of wrk -c100
     * (bench/replicas workload, one replica): 2 threads 486 req/s (one turn
     * per commit), 8 threads 654 (3.8 per commit), 16 threads 748 (7). */
    if (cfg->server_threads == 0 && cfg->store_url[0])
        threads = threads * PG_THREADS_PER_CORE > 64 ? 64 : threads * PG_THREADS_PER_CORE;
    /* SQLite's commit is shorter, but one thread per core still waits on
     * it with its core idle, and a batch holds at most one turn per
     * waiting thread: on 2 cores, cached chat at wrk -c50 (issue 13), 2
     * threads made 1.4 turns per commit, 8 threads 4.7, the committer's
     * CPU per turn down a fifth. 4 threads answered as many requests as
     * 8 (5,400 req/s cached, 2,200 extractive) with a peak RSS of 70-77
     * MB against 85-103: each thread keeps its own malloc arena and kb
     * handle (bench/RESULTS.md). */
    else if (cfg->server_threads == 0)
        threads = threads * SQLITE_THREADS_PER_CORE > 64 ? 64 : threads * SQLITE_THREADS_PER_CORE;
    struct sockaddr_in sa;
    int rc = listen_addr(cfg, &sa, err);
    if (!rc)
        rc = http_jwt_init(&s->jwt, cfg, err);
    if (!rc)
        rc = fd_metrics_new(&s->metrics, err);
    if (!rc)
        rc = metrics_init(s, err);
    if (!rc)
        rc = fd_ratelimit_new(100000, &s->limits, err);
    prepare_job pj = {cfg, log};
    pthread_t prep;
    int preparing = !rc && pthread_create(&prep, NULL, prepare_run, &pj) == 0;
    if (!rc)
        rc = pool_open(s, threads, err);
    if (!rc)
        http_documents_clean_staging(s);
    if (!rc)
        rc = http_writer_start(s, err);
    if (!rc)
        rc = fd_cache_new(cfg, log, &s->cache, err);
    if (!rc)
        rc = fd_committer_start(cfg, log, &s->committer, err);
    if (!rc && cfg->llm_base_url[0]) {
        rc = fd_llm_new(cfg, log, &s->llm, err);
        if (!rc)
            FD_LOG(log, FD_LOG_INFO, "http", "LLM: %s at %s", fd_llm_model(s->llm),
                   cfg->llm_base_url);
    }
    if (preparing)
        pthread_join(prep, NULL);
    if (!rc) {
        /* Borrowed like any request's: the writer thread is already running
         * and may hold a handle (a version check), and a PostgreSQL handle
         * is one connection, never to be used by two threads at once. Used
         * unborrowed, a replica whose first version check met its
         * assistant's open hung or aborted at start ("prepared statement
         * already exists", then the protocol out of step). */
        fd_kb *kb = http_kb_get(s);
        rc = assistant_new(s, kb, NULL, &s->cur, err);
        http_kb_put(s, kb);
    }
    if (!rc)
        rc = http_loop_start(s, err);
    if (!rc)
        rc = http_events_start(s, err);
    if (!rc && cfg->store_url[0])
        rc = fd_store_listener_start(cfg->store_url, on_notice, s, &s->listener, err);
    if (!rc)
        rc = fd_outbox_start(cfg, log, s->metrics, &s->outbox, err);
    if (rc) {
        fd_server_free(s);
        return rc;
    }
    /* poll(), not epoll: with MHD 0.9.75's edge-triggered epoll, a client
     * that sends part of a body and hangs up in the same segment is never
     * seen to close; its request stays in flight until the 60 s connection
     * timeout and holds up every drain (tests/integration/http_hostile.sh).
     * Each pool thread polls its own few connections, so poll costs little. */
    unsigned conns = connection_budget(s);
    s->mhd = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_ALLOW_SUSPEND_RESUME |
            MHD_USE_ERROR_LOG,
        0, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
        MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60, MHD_OPTION_CONNECTION_LIMIT, conns,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)cfg->server_max_conns_per_ip,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024, MHD_OPTION_END);
    if (!s->mhd) {
        fd_server_free(s);
        return fd_err_set(err, FD_EIO, "cannot listen on %s:%d (in use, or not allowed)",
                          cfg->server_bind, cfg->server_port);
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : cfg->server_port;
    FD_LOG(log, FD_LOG_INFO, "http", "listening on http://%s:%d (%u threads)", cfg->server_bind,
           s->port, threads);
    pool_fill_start(s);
    *out = s;
    return FD_OK;
}

int fd_server_port(const fd_server *s)
{
    return s->port;
}

int fd_server_reload(fd_server *s, fd_err *err)
{
    pthread_mutex_lock(&s->write_lock);
    int rc = http_reload_locked(s, err);
    pthread_mutex_unlock(&s->write_lock);
    return rc;
}

int http_reload_locked(fd_server *s, fd_err *err)
{
    /* A fresh assistant is built aside, then swapped under the state lock:
     * requests in flight finish with the old one. */
    fd_kb *kb = http_kb_get(s);
    assistant_ref *ref = NULL;
    int rc = fd_kb_refresh(kb, err);
    if (!rc) /* s->cur changes only here, under the write lock we hold */
        rc = assistant_new(s, kb, s->cur ? s->cur->as : NULL, &ref, err);
    /* Answers of older versions can no longer be reached (every key holds
     * its version): free their memory now. */
    if (!rc)
        fd_cache_purge(s->cache, fd_kb_loaded_version(kb));
    http_kb_put(s, kb);
    if (rc)
        return rc;
    pthread_mutex_lock(&s->state_mu);
    assistant_ref *old = s->cur;
    s->cur = ref;
    pthread_mutex_unlock(&s->state_mu);
    http_assistant_put(old);
    /* Each pooled handle re-maps the snapshot on its next borrow (borrowing
     * them all here would stall behind requests in flight, and taking one n
     * times gets the same handle back each time). */
    atomic_fetch_add(&s->kbs.gen, 1);
    FD_LOG(s->log, FD_LOG_INFO, "http", "reloaded configuration files and index");
    return FD_OK;
}

/* Replies of chats whose commit outlasted the drain's deadline: sent
 * within milliseconds once resumed; the bound only keeps a stuck client
 * from holding the exit. */
#define COMMIT_GRACE_MS 1000

int fd_server_stop(fd_server *s, int drain_ms)
{
    if (!s || !s->mhd)
        return 0;
    atomic_store(&s->draining, 1);
    /* Live session streams never end by themselves: end them now. */
    http_events_close(s);
    /* Stop accepting: the listening socket closes, connections stay. */
    MHD_socket fd = MHD_quiesce_daemon(s->mhd);
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
    uint64_t deadline = fd_time_ns() + (uint64_t)drain_ms * 1000000ull;
    while (atomic_load(&s->inflight) > 0 && fd_time_ns() < deadline)
        usleep(5000);
    int left = atomic_load(&s->inflight);
    /* Chats suspended until their commit are answered before MHD stops
     * (it must not stop with a connection suspended): the committer runs
     * until fd_server_free, and each commit ends within the store's busy
     * timeout. Resumed, their replies get COMMIT_GRACE_MS to go out. */
    if (http_chat_commits_close(s) > 0 && left) {
        deadline = fd_time_ns() + (uint64_t)COMMIT_GRACE_MS * 1000000ull;
        while (atomic_load(&s->inflight) > 0 && fd_time_ns() < deadline)
            usleep(5000);
        left = atomic_load(&s->inflight);
    }
    if (left)
        FD_LOG(s->log, FD_LOG_WARN, "http", "drain deadline: %d requests still running", left);
    /* Queued writes finish (they were acknowledged as accepted requests);
     * their connections resume before MHD stops. */
    http_writer_stop(s);
    /* Connections parked on the LLM must be resumed before MHD stops. */
    http_loop_abort(s);
    MHD_stop_daemon(s->mhd);
    s->mhd = NULL;
    return left;
}

void fd_server_free(fd_server *s)
{
    if (!s)
        return;
    if (s->mhd) {
        http_chat_commits_close(s);
        http_writer_stop(s);
        http_loop_abort(s);
        MHD_stop_daemon(s->mhd);
    }
    http_writer_stop(s); /* a start that failed after it began, or no stop */
    fd_outbox_stop(s->outbox);
    s->outbox = NULL;
    http_loop_stop(s);
    fd_store_listener_stop(s->listener); /* before the streams and writer it wakes */
    s->listener = NULL;
    http_events_stop(s);
    fd_committer_stop(s->committer); /* after every request and LLM turn ended */
    s->committer = NULL;
    if (s->cur)
        http_assistant_put(s->cur);
    fd_llm_free(s->llm);
    fd_cache_free(s->cache);
    pool_fill_stop(&s->kbs);
    pool_close(&s->kbs);
    fd_ratelimit_free(s->limits);
    http_jwt_free(&s->jwt);
    fd_metrics_free(s->metrics);
    pthread_mutex_destroy(&s->state_mu);
    pthread_mutex_destroy(&s->pend_mu);
    pthread_mutex_destroy(&s->flight_mu);
    pthread_mutex_destroy(&s->subs_mu);
    pthread_mutex_destroy(&s->typing_mu);
    pthread_mutex_destroy(&s->tick_mu);
    pthread_cond_destroy(&s->tick_cv);
    pthread_mutex_destroy(&s->write_lock);
    pthread_mutex_destroy(&s->commit_mu);
    pthread_cond_destroy(&s->commit_cv);
    fd_key_memo_free(s->key_memo);
    fd_free(s);
}
