/* writer.c: knowledge-base writes (uploads, deletes) off the request
 * threads (issue 17 item 4). A write re-indexes, which takes seconds on a
 * large knowledge base; done on a request thread, two or three uploads held
 * every pool thread and /healthz and chat waited behind them. Now the
 * request thread checks the request, queues the write and suspends its
 * connection; this one thread runs the writes in order under write_lock and
 * resumes each connection, whose handler then sends the answer. Writes were
 * one at a time already; nothing else waits for them. */
#include "http_int.h"

#include <time.h>

struct write_job {
    request *r;
    int (*run)(request *r, void *arg, fd_err *err); /* under write_lock */
    enum MHD_Result (*respond)(request *r, void *arg, int rc, const fd_err *err);
    void (*drop)(void *arg); /* releases arg when respond never ran; may be NULL */
    void *arg;
    int rc;
    fd_err err;
    int done;
    write_job *next;
};

/* retention.*: applied at start and then hourly, by this thread, which
 * already holds the writes. Counted and logged. */
#define RETENTION_EVERY_S 3600

static void retention(fd_server *s)
{
    const fd_config *c = s->cfg;
    if (!c->retention_turns_days && !c->retention_events_days && !c->retention_costs_days)
        return;
    fd_kb *kb = http_kb_get(s);
    fd_retention_counts n;
    fd_err err = {0};
    int rc = fd_kb_apply_retention(kb, &n, &err);
    http_kb_put(s, kb);
    if (rc) {
        fd_metric_add(s->m.errors, 1, "retention");
        FD_LOG(s->log, FD_LOG_ERROR, "http", "retention: %s", err.msg);
    } else if (n.sessions || n.events || n.costs) {
        FD_LOG(s->log, FD_LOG_INFO, "http",
               "retention: %lld conversations, %lld events, %lld cost rows deleted",
               (long long)n.sessions, (long long)n.events, (long long)n.costs);
    }
}

/* Replicas sharing a PostgreSQL store (store.url): another replica's
 * upload or `frontdesk ingest` bumps the store's knowledge-base version;
 * this one notices within a second and reloads as SIGHUP would (index
 * rebuilt from the store, assistant files re-read, caches of the old
 * version purged), requests in flight finishing on the old one. The poll is
 * the fallback: the version bump's NOTIFY wakes it at once (server.c's
 * listener, http_writer_follow_now). A SQLite file belongs to one server,
 * which reloads on its own writes or SIGHUP. */
#define KB_POLL_EVERY_S 1.0

static void follow_store(fd_server *s)
{
    fd_kb *kb = http_kb_get(s);
    int64_t stored = 0;
    fd_err err = {0};
    int rc = fd_kb_version(kb, &stored, &err);
    int64_t loaded = fd_kb_loaded_version(kb);
    http_kb_put(s, kb);
    if (rc) {
        /* The store is down: the index keeps answering; retried, counted
         * (logged at debug only: it repeats every second). */
        fd_metric_add(s->m.errors, 1, "kb_poll");
        FD_LOG(s->log, FD_LOG_DEBUG, "http", "knowledge-base version check: %s", err.msg);
        return;
    }
    if (stored == loaded)
        return;
    FD_LOG(s->log, FD_LOG_INFO, "http",
           "the store is at knowledge-base version %lld (this replica: %lld): reloading",
           (long long)stored, (long long)loaded);
    if (http_reload_locked(s, &err) != FD_OK) {
        fd_metric_add(s->m.errors, 1, "reload");
        FD_LOG(s->log, FD_LOG_ERROR, "http", "reload after another replica's write: %s", err.msg);
    }
}

void http_writer_follow_now(fd_server *s)
{
    pthread_mutex_lock(&s->wq_mu);
    s->kb_poll_now = 1;
    pthread_cond_signal(&s->wq_cv);
    pthread_mutex_unlock(&s->wq_mu);
}

static void *writer_main(void *arg)
{
    fd_server *s = arg;
    double next_retention = 0; /* at once */
    int shared = s->cfg->store_url[0] != '\0';
    double next_poll = shared ? fd_time_wall() + KB_POLL_EVERY_S : 1e300;
    pthread_mutex_lock(&s->wq_mu);
    for (;;) {
        double until_t = next_retention < next_poll ? next_retention : next_poll;
        while (!s->wq_head && !s->wq_stop && !s->kb_poll_now && fd_time_wall() < until_t) {
            struct timespec until = {(time_t)until_t,
                                     (long)((until_t - (double)(time_t)until_t) * 1e9)};
            pthread_cond_timedwait(&s->wq_cv, &s->wq_mu, &until);
        }
        if (!s->wq_head && !s->wq_stop) {
            if (s->kb_poll_now)
                next_poll = 0; /* another replica announced a new version */
            s->kb_poll_now = 0;
            pthread_mutex_unlock(&s->wq_mu);
            pthread_mutex_lock(&s->write_lock);
            double now = fd_time_wall();
            if (now >= next_poll) {
                follow_store(s);
                next_poll = fd_time_wall() + KB_POLL_EVERY_S;
            }
            if (now >= next_retention) {
                retention(s);
                next_retention = fd_time_wall() + RETENTION_EVERY_S;
            }
            pthread_mutex_unlock(&s->write_lock);
            pthread_mutex_lock(&s->wq_mu);
            continue;
        }
        write_job *j = s->wq_head;
        if (!j)
            break; /* stopping, and nothing left to write */
        s->wq_head = j->next;
        if (!s->wq_head)
            s->wq_tail = NULL;
        pthread_mutex_unlock(&s->wq_mu);
        pthread_mutex_lock(&s->write_lock);
        j->rc = j->run(j->r, j->arg, &j->err);
        pthread_mutex_unlock(&s->write_lock);
        pthread_mutex_lock(&s->wq_mu);
        j->done = 1;
        MHD_resume_connection(j->r->con);
    }
    pthread_mutex_unlock(&s->wq_mu);
    return NULL;
}

int http_writer_start(fd_server *s, fd_err *err)
{
    pthread_mutex_init(&s->wq_mu, NULL);
    pthread_cond_init(&s->wq_cv, NULL);
    s->wq_head = s->wq_tail = NULL;
    s->wq_stop = 0;
    if (pthread_create(&s->writer, NULL, writer_main, s) != 0) {
        pthread_cond_destroy(&s->wq_cv);
        pthread_mutex_destroy(&s->wq_mu);
        return fd_err_set(err, FD_ENOMEM, "cannot start the writer thread");
    }
    s->writer_running = 1;
    return FD_OK;
}

void http_writer_stop(fd_server *s)
{
    if (!s->writer_running)
        return;
    /* Queued writes still run: each was checked and is owed an answer. */
    pthread_mutex_lock(&s->wq_mu);
    s->wq_stop = 1;
    pthread_cond_signal(&s->wq_cv);
    pthread_mutex_unlock(&s->wq_mu);
    pthread_join(s->writer, NULL);
    s->writer_running = 0;
    pthread_cond_destroy(&s->wq_cv);
    pthread_mutex_destroy(&s->wq_mu);
}

enum MHD_Result http_writer_submit(request *r, int (*run)(request *, void *, fd_err *),
                                   enum MHD_Result (*respond)(request *, void *, int,
                                                              const fd_err *),
                                   void (*drop)(void *), void *arg)
{
    fd_server *s = r->srv;
    write_job *j = fd_arena_calloc(r->a, 1, sizeof *j);
    if (!j)
        return http_send_error(r, 500, "internal", "out of memory", NULL);
    *j = (write_job){.r = r, .run = run, .respond = respond, .drop = drop, .arg = arg};
    pthread_mutex_lock(&s->wq_mu);
    if (s->wq_stop || !s->writer_running) {
        pthread_mutex_unlock(&s->wq_mu);
        return http_send_error(r, 503, "unavailable", "server is shutting down", NULL);
    }
    r->job = j;
    /* Suspended before the writer can resume it: under wq_mu, which the
     * writer holds when it resumes. */
    MHD_suspend_connection(r->con);
    if (s->wq_tail)
        s->wq_tail->next = j;
    else
        s->wq_head = j;
    s->wq_tail = j;
    pthread_cond_signal(&s->wq_cv);
    pthread_mutex_unlock(&s->wq_mu);
    return MHD_YES;
}

enum MHD_Result http_writer_resumed(request *r)
{
    write_job *j = r->job;
    pthread_mutex_lock(&r->srv->wq_mu);
    int done = j->done;
    pthread_mutex_unlock(&r->srv->wq_mu);
    if (!done) /* a spurious wake: keep waiting */
        return MHD_YES;
    r->job = NULL;
    return j->respond(r, j->arg, j->rc, &j->err);
}

void http_writer_drop(request *r)
{
    /* Only a request ended without its answer (MHD stopped after the
     * writer ran it) still has its job: the writer is done with it. */
    if (r->job && r->job->drop)
        r->job->drop(r->job->arg);
    r->job = NULL;
}
