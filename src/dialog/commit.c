/* commit.c: group commit of turns (issue 13). Each turn's rows (session,
 * the two turns, event, cost, handoff, order) used to be one transaction on
 * the request thread's connection: five to ten WAL pages written per
 * message, and threads queueing on SQLite's sleep-and-retry busy handler.
 * Here one thread owns one connection and commits every turn waiting:
 * the plain ones in one transaction, the rest in a second, each of those
 * in its own savepoint when one turn's failure could otherwise be its
 * neighbours' (run_batch). A reply never says
 * something the store has not kept: its thread waits for its commit
 * (dialog_commit), or, the server's JSON chat, queues it and is told when
 * it is done (dialog_commit_queue), its connection suspended meanwhile. */
#include "turn_int.h"

#include <assert.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Enough to amortize a commit, few enough that the first in a batch does
 * not wait long for the last. */
#define MAX_BATCH 64

/* Committer threads, each with its own connection. SQLite: one, since its
 * file has one writer at a time and a second would only queue on the
 * lock. PostgreSQL: batches of plain turns take no exclusive lock
 * (fd_store_begin_turns), so while one batch waits for its commit's WAL
 * flush the next is already written, and PostgreSQL flushes the two
 * commits together. A conversation's turns stay in order: it has one
 * message in flight at a time on a shared store (its lease, turn.c). */
#define N_COMMITTERS_PG 2

/* SQLite: the committer's commits leave the WAL to a checkpointer thread
 * with its own connection, which copies it into the database every
 * CHECKPOINT_MS while turns are being written. Left to the commits
 * (SQLite's default, every 1,000 pages), a checkpoint and its fsync ran
 * inside one batch's commit on the one committer thread: 19% of its CPU
 * under cached chat load (perf), and the wait of every turn in that
 * batch. A PASSIVE checkpoint blocks neither readers nor the writer. */
#define CHECKPOINT_MS 250
/* 40 MB of 4 KB pages: far beyond what 250 ms of turns write. */
#define WAL_WARN_PAGES 10000
/* Under steady load a reader always holds a snapshot of the log, so no
 * commit may start it over, however much PASSIVE copies: cached chat at
 * wrk -c32 grew it by 5.3 GB in 30 s (every commit appends whole pages:
 * ~10 a turn, the indexes' random keys) beside a 260 MB database. Past
 * WAL_RESTART_PAGES (16 MB), a RESTART checkpoint waits up to
 * RESTART_WAIT_MS for the readers of the log (a chat turn's reads take
 * well under that); if a long reader (a backup) outlasts it, the next
 * round tries again. Writers wait behind it for the copy and the
 * database's fsync: at saturation (wrk -c32, 20 s runs) the log stays
 * within 16-62 MB and req/s is unchanged, but p99 goes from ~22 to ~65 ms;
 * 64 MB (16,384 pages) made it 87 ms and 256 MB 159 ms (longer copies),
 * so the smallest bound is the best one. */
#define WAL_RESTART_PAGES 4096
#define RESTART_WAIT_MS 10
/* After a RESTART that a reader outlasted, the next waits this long,
 * doubling up to the max: a backup's read of the whole file would
 * otherwise cost writers 10 ms in every 250. */
#define RESTART_PAUSE_MIN_S 1.0
#define RESTART_PAUSE_MAX_S 16.0

/* A lost race for a turn's seq (fd_store_turn_write's FD_ECONFLICT "seq")
 * is run again this many times before its error is the turn's. */
#define MAX_SEQ_RETRIES 3

typedef struct commit_job {
    turn *t;
    int rc;
    int done;
    /* Its waiter's own: a batch wakes its own requests, not every
     * request thread waiting (each woken for nothing went back to sleep:
     * a futex round trip apiece per batch). */
    pthread_cond_t cv;
    int skip; /* failed alone in a batch without savepoints: not run again */
    /* Queued without a waiter (dialog_commit_queue): called once the
     * batch is over, after which the job (in its turn's arena) may be
     * gone; cv is unused. */
    void (*on_done)(void *ctx);
    void *on_done_ctx;
    struct commit_job *next;
} commit_job;

typedef struct committer_thread {
    struct fd_committer *c;
    fd_store *st; /* this thread's own connection */
    pthread_t th;
    int running;
} committer_thread;

struct fd_committer {
    fd_log *log;
    committer_thread th[N_COMMITTERS_PG];
    int n_threads;
    pthread_mutex_t mu;
    pthread_cond_t work;
    commit_job *head, *tail;
    int stop;
    /* the WAL's checkpointer (SQLite) */
    fd_store *ckpt_st;
    pthread_t ckpt_th;
    int ckpt_running;
    pthread_cond_t ckpt_wake;
    unsigned long long batches;      /* committed so far (under mu) */
    unsigned long long turns;        /* in those batches (under mu) */
    unsigned long long turns_failed; /* of those, not stored (under mu) */
    /* the checkpointer's outcomes (under mu) */
    unsigned long long ckpt_ok, ckpt_failed, restart_ok, restart_failed;
    int wal_pages;
};

/* Whether job j lost the race for its turn's seq: run it again. */
static int lost_seq_race(const commit_job *j)
{
    return j->rc == FD_ECONFLICT && j->t->err && strcmp(j->t->err->field, "seq") == 0;
}

/* The commit failed (or never began): none of the jobs still standing is
 * kept. */
static void fail_rest(commit_job *jobs, int rc, const fd_err *err)
{
    for (commit_job *j = jobs; j; j = j->next)
        if (!j->rc && !j->skip) {
            j->rc = rc;
            if (j->t->err)
                *j->t->err = *err;
        }
}

/* Every job in its savepoint, then the commit for all. */
static void run_savepoints(fd_store *st, commit_job *jobs)
{
    fd_err err = {0};
    int rc = fd_store_begin(st, &err);
    for (commit_job *j = jobs; j && !rc; j = j->next) {
        if (j->skip)
            continue;
        j->rc = fd_store_savepoint(st, j->t->err);
        if (!j->rc)
            j->rc = dialog_persist_rows(j->t, st);
        /* With deferred writes a row's failure may show only at the
         * release: undone the same way. */
        if (!j->rc)
            j->rc = fd_store_release(st, j->t->err);
        if (j->rc)
            fd_store_rollback_to(st);
    }
    if (!rc)
        rc = fd_store_commit(st, &err);
    if (rc)
        fail_rest(jobs, rc, &err);
}

/* Jobs that lost the race for their seq, each again alone, with the seq
 * read anew, under the exclusive lock (fd_store_begin). */
static void retry_lost(fd_store *st, commit_job *jobs)
{
    for (commit_job *j = jobs; j; j = j->next)
        for (int k = 0; k < MAX_SEQ_RETRIES && lost_seq_race(j); k++) {
            fd_err_clear(j->t->err); /* the lost race's message is not the turn's */
            j->rc = fd_store_begin(st, j->t->err);
            if (!j->rc)
                j->rc = dialog_persist_rows(j->t, st);
            if (!j->rc)
                j->rc = fd_store_commit(st, j->t->err);
            else
                fd_store_rollback(st);
        }
}

/* One transaction of a batch (run_batch splits it). Savepoints cost two
 * statements and a round trip per turn on PostgreSQL (issue 16), and are
 * needed only to keep one turn's failure from its neighbours. A group of
 * one needs none: its failure is the group's. Nor does a group of plain
 * turns (dialog_persist_plain): each reports its own failure at once, so
 * the failed one keeps its error, the transaction is rolled back and the
 * others run again, each in its savepoint (a failure is a fault or an
 * outage, not a customer's input: the second pass is rare). Plain turns
 * write nothing but their session, turns, event and cost: on PostgreSQL
 * their group runs beside other batches (fd_store_begin_turns). A turn
 * whose seq another writer took first (the unique index stopped the
 * duplicate) is not failed: it runs again, its seq read anew. */
static void run_group(fd_store *st, commit_job *jobs)
{
    int n = 0, plain = 1;
    const char *ids[MAX_BATCH];
    for (commit_job *j = jobs; j; j = j->next) {
        plain = plain && dialog_persist_plain(j->t);
        ids[n++] = j->t->sess.id;
    }
    if (n > 1 && !plain) {
        run_savepoints(st, jobs);
        retry_lost(st, jobs);
        return;
    }
    fd_err err = {0};
    int rc = plain ? fd_store_begin_turns(st, ids, (size_t)n, &err) : fd_store_begin(st, &err);
    commit_job *failed = NULL;
    for (commit_job *j = jobs; j && !rc && !failed; j = j->next) {
        j->rc = dialog_persist_rows(j->t, st);
        if (j->rc)
            failed = j;
    }
    if (!failed) {
        if (!rc)
            rc = fd_store_commit(st, &err);
        if (rc)
            fail_rest(jobs, rc, &err);
        return;
    }
    fd_store_rollback(st);
    if (n > 1) {
        if (lost_seq_race(failed))
            fd_err_clear(failed->t->err); /* run again, with the others */
        else
            failed->skip = 1;
        for (commit_job *j = jobs; j; j = j->next)
            if (!j->skip)
                j->rc = 0;
        run_savepoints(st, jobs);
    }
    retry_lost(st, jobs);
}

/* Queued turns' conversation locks (PostgreSQL's leases, turn.c), dropped
 * here once their batch is over, committed or not, in one statement on
 * this thread's connection and before their callbacks. Their request
 * threads cannot: a queued turn's connection is suspended, and only the
 * server thread that owns it can resume it, so a lease dropped at the
 * resume would keep a second message of the conversation that reached
 * that same thread waiting for it until store.busy_timeout_ms (its 503).
 * A waiter (dialog_commit) drops its own on its thread, as before. */
static void unlock_queued(fd_store *st, commit_job *jobs)
{
    const char *sids[MAX_BATCH], *holders[MAX_BATCH];
    size_t n = 0;
    for (commit_job *j = jobs; j; j = j->next)
        if (j->on_done && j->t->lock_holder[0]) {
            sids[n] = j->t->lock_sid;
            holders[n++] = j->t->lock_holder;
        }
    if (!n)
        return;
    fd_store_convo_unlock_many(st, sids, holders, n);
    /* Seen by the request thread after its callback (which takes its
     * mutex): fd_turn_locked is then false and nothing is dropped twice. */
    for (commit_job *j = jobs; j; j = j->next)
        if (j->on_done)
            j->t->lock_holder[0] = '\0';
}

/* Whether a turn of j's conversation in list is not plain. */
static int session_not_plain(const commit_job *j, const commit_job *list)
{
    for (const commit_job *k = list; k; k = k->next)
        if (!dialog_persist_plain(k->t) && strcmp(k->t->sess.id, j->t->sess.id) == 0)
            return 1;
    return 0;
}

/* One batch: its plain turns in one transaction without savepoints, then
 * the rest (handoffs, orders) in another, with them (run_group). One
 * escalation among 30 plain turns sent all 30 down the savepoint path:
 * on PostgreSQL each turn's statement then went as text behind its
 * SAVEPOINT, parsed and planned anew, and a queued commit's batches (30
 * turns on average under wrk -c100, bench/RESULTS.md) nearly all held
 * one: 0.64 ms of PostgreSQL CPU a turn; split, 0.23. A conversation
 * with a turn in the rest has all its turns of the batch there, so its
 * turns keep their order. On SQLite a batch with both kinds costs one
 * more commit (an fsync only with store.synchronous = full); hand-overs
 * and orders are a few in a hundred messages, and one path serves both
 * engines. Returns the jobs relinked (plain first) for the caller to
 * tell. */
static commit_job *run_batch(fd_store *st, commit_job *jobs)
{
    /* The rest: every turn of a conversation with a turn that is not
     * plain, in queue order. Decided on the whole batch before it is
     * relinked. */
    char rest_of[MAX_BATCH];
    int n = 0;
    for (commit_job *j = jobs; j; j = j->next)
        rest_of[n++] = (char)session_not_plain(j, jobs);
    commit_job *plain = NULL, **pt = &plain, *rest = NULL, **rt = &rest;
    n = 0;
    for (commit_job *j = jobs, *next; j; j = next) {
        next = j->next;
        j->next = NULL;
        if (rest_of[n++]) {
            *rt = j;
            rt = &j->next;
        } else {
            *pt = j;
            pt = &j->next;
        }
    }
    if (plain)
        run_group(st, plain);
    if (rest)
        run_group(st, rest);
    *pt = rest;
    return plain ? plain : rest;
}

static void *committer_main(void *arg)
{
    committer_thread *me = arg;
    fd_committer *c = me->c;
    pthread_mutex_lock(&c->mu);
    for (;;) {
        while (!c->head && !c->stop)
            pthread_cond_wait(&c->work, &c->mu);
        if (!c->head && c->stop)
            break;
        commit_job *batch = c->head, *last = batch;
        for (int n = 1; last->next && n < MAX_BATCH; n++)
            last = last->next;
        c->head = last->next;
        if (!c->head)
            c->tail = NULL;
        last->next = NULL;
        pthread_mutex_unlock(&c->mu);
        /* Tests: a commit as slow as a disk's under load (0.5 s), to show
         * that no request thread waits for it and the next batch fills. */
        if (FD_FAULT("commit.slow"))
            usleep(500 * 1000);
        batch = run_batch(me->st, batch);
        unlock_queued(me->st, batch);
        pthread_mutex_lock(&c->mu);
        /* Under mu: a waiter leaves (and its job with it) only once it
         * holds mu again, after the last of these. Jobs without a waiter
         * are told after mu is let go: their callbacks resume HTTP
         * connections (a lock and a write each), and no dialog_commit
         * should queue behind that. */
        commit_job *told = NULL, **tail = &told;
        for (commit_job *j = batch, *next; j; j = next) {
            next = j->next;
            c->turns++;
            c->turns_failed += j->rc != FD_OK;
            if (j->on_done) {
                j->next = NULL;
                *tail = j;
                tail = &j->next;
                continue;
            }
            j->done = 1;
            pthread_cond_signal(&j->cv);
        }
        c->batches++;
        pthread_mutex_unlock(&c->mu);
        for (commit_job *j = told, *next; j; j = next) {
            next = j->next; /* j may be freed by its callback's caller */
            j->done = 1;
            j->on_done(j->on_done_ctx);
        }
        pthread_mutex_lock(&c->mu);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

static double now_s(void)
{
    return (double)fd_time_ns() / 1e9;
}

static void *checkpointer_main(void *arg)
{
    fd_committer *c = arg;
    unsigned long long seen = 0;
    double warned = -60, restart_after = 0, restart_pause = RESTART_PAUSE_MIN_S;
    pthread_mutex_lock(&c->mu);
    while (!c->stop) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += (long)CHECKPOINT_MS * 1000000L;
        until.tv_sec += until.tv_nsec / 1000000000L;
        until.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&c->ckpt_wake, &c->mu, &until);
        if (c->stop || c->batches == seen)
            continue;
        seen = c->batches;
        pthread_mutex_unlock(&c->mu);
        fd_err err = {0};
        int pages = 0, restart = -1; /* restart: -1 not tried, else its rc */
        int ckpt = fd_store_checkpoint(c->ckpt_st, &pages, &err);
        if (ckpt != FD_OK)
            FD_LOG(c->log, FD_LOG_DEBUG, "store", "WAL checkpoint: %s (next time)", err.msg);
        else if (pages > WAL_RESTART_PAGES && now_s() >= restart_after) {
            restart = fd_store_checkpoint_restart(c->ckpt_st, RESTART_WAIT_MS, &pages, &err);
            int rc = restart;
            if (rc == FD_OK) {
                pages = 0; /* the next commit starts the log over */
                restart_pause = RESTART_PAUSE_MIN_S;
                restart_after = 0;
            } else {
                /* a long reader (a backup): each try holds writers back
                 * RESTART_WAIT_MS, so wait longer between tries */
                restart_after = now_s() + restart_pause;
                restart_pause = fmin(restart_pause * 2, RESTART_PAUSE_MAX_S);
                FD_LOG(c->log, FD_LOG_DEBUG, "store", "WAL restart: %s (next time)", err.msg);
            }
        }
        /* A log that stays long means checkpoints cannot finish (a reader
         * holding an old snapshot: a backup, an export): said, not hidden,
         * at most once a minute. */
        double now = now_s();
        if (pages > WAL_WARN_PAGES && now - warned >= 60) {
            FD_LOG(c->log, FD_LOG_WARN, "store",
                   "the WAL holds %d pages after a checkpoint (a long reader?)", pages);
            warned = now;
        }
        pthread_mutex_lock(&c->mu);
        if (ckpt == FD_OK) {
            c->ckpt_ok++;
            c->wal_pages = pages;
        } else
            c->ckpt_failed++;
        if (restart == FD_OK)
            c->restart_ok++;
        else if (restart > 0)
            c->restart_failed++;
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

/* SQLite: the checkpointer's own connection and thread; once it runs,
 * the committer's connection is opened with auto-checkpoint off. Without
 * it (it could not start) commits still checkpoint, as before. Other
 * connections (the kb's, the outbox's) commit rarely and keep SQLite's
 * trigger: they checkpoint only if the log ever passes 1,000 pages. */
static void start_checkpointer(fd_committer *c, const fd_config *cfg)
{
    fd_err err = {0};
    if (fd_store_open_cfg(cfg, &c->ckpt_st, &err) != FD_OK) {
        FD_LOG(c->log, FD_LOG_WARN, "store", "no WAL checkpointer (%s): commits checkpoint",
               err.msg);
        return;
    }
    if (pthread_create(&c->ckpt_th, NULL, checkpointer_main, c) != 0) {
        fd_store_close(c->ckpt_st);
        c->ckpt_st = NULL;
        return;
    }
    c->ckpt_running = 1;
}

int fd_committer_start(const fd_config *cfg, fd_log *log, fd_committer **out, fd_err *err)
{
    *out = NULL;
    fd_committer *c = fd_calloc(1, sizeof *c);
    if (!c)
        return fd_err_set(err, FD_ENOMEM, "out of memory");
    c->log = log;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->work, NULL);
    /* Its waits are measured on the monotonic clock: a wall-clock jump
     * must not hold the WAL back for hours. */
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->ckpt_wake, &ca);
    pthread_condattr_destroy(&ca);
    if (!cfg->store_url[0])
        start_checkpointer(c, cfg);
    int n = cfg->store_url[0] ? N_COMMITTERS_PG : 1;
    for (int i = 0; i < n; i++) {
        committer_thread *th = &c->th[i];
        th->c = c;
        /* store.busy_timeout_ms: a writer elsewhere (another process)
         * makes turns wait this long, then 503; store.synchronous = full is
         * for the turns above all, and they are written here */
        int rc = fd_store_open_cfg(cfg, &th->st, err);
        if (rc) {
            fd_committer_stop(c);
            return rc;
        }
        c->n_threads = i + 1;
        if (c->ckpt_running)
            fd_store_set_autocheckpoint(th->st, 0); /* the checkpointer's job */
        /* PostgreSQL: a turn's rows in three round trips, not seven (each
         * turn's savepoint release reports its rows' failures). */
        fd_store_defer_writes(th->st, 1);
        if (pthread_create(&th->th, NULL, committer_main, th) != 0) {
            fd_committer_stop(c);
            return fd_err_set(err, FD_EIO, "cannot start the turn committer");
        }
        th->running = 1;
    }
    *out = c;
    return FD_OK;
}

void fd_committer_stats_get(fd_committer *c, fd_committer_stats *out)
{
    *out = (fd_committer_stats){.wal_pages = -1};
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    out->batches = c->batches;
    out->turns = c->turns;
    out->turns_failed = c->turns_failed;
    out->checkpoints_ok = c->ckpt_ok;
    out->checkpoints_failed = c->ckpt_failed;
    out->restarts_ok = c->restart_ok;
    out->restarts_failed = c->restart_failed;
    out->wal_pages = c->ckpt_running ? c->wal_pages : -1;
    pthread_mutex_unlock(&c->mu);
}

void fd_committer_stop(fd_committer *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    c->stop = 1; /* jobs queued still run: their requests are waiting */
    pthread_cond_broadcast(&c->work);
    pthread_cond_broadcast(&c->ckpt_wake);
    pthread_mutex_unlock(&c->mu);
    for (int i = 0; i < c->n_threads; i++) {
        if (c->th[i].running)
            pthread_join(c->th[i].th, NULL);
        fd_store_close(c->th[i].st);
    }
    if (c->ckpt_running)
        pthread_join(c->ckpt_th, NULL);
    if (c->ckpt_st) {
        /* the last turns' pages into the database (the log is durable
         * either way; this keeps it short for the next start) */
        fd_err err = {0};
        if (fd_store_checkpoint(c->ckpt_st, NULL, &err) != FD_OK)
            FD_LOG(c->log, FD_LOG_DEBUG, "store", "last WAL checkpoint: %s", err.msg);
    }
    fd_store_close(c->ckpt_st);
    if (c->batches)
        FD_LOG(c->log, FD_LOG_INFO, "store",
               "group commit: %llu turns in %llu batches (%.2f a batch)", c->turns, c->batches,
               (double)c->turns / (double)c->batches);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->work);
    pthread_cond_destroy(&c->ckpt_wake);
    fd_free(c);
}

/* Appends j to the queue and wakes a committer, under c->mu; FD_EUNAVAIL
 * (in t's err) once the committer is stopping. */
static int enqueue_locked(fd_committer *c, commit_job *j)
{
    if (c->stop)
        return fd_err_set(j->t->err, FD_EUNAVAIL, "the server is shutting down");
    if (c->tail)
        c->tail->next = j;
    else
        c->head = j;
    c->tail = j;
    pthread_cond_signal(&c->work);
    return FD_OK;
}

int dialog_commit(fd_committer *c, turn *t)
{
    commit_job j = {.t = t};
    /* The committer reads the error's field (a lost seq race is run
     * again): a turn whose caller passed none gets one for the while. */
    fd_err local = {0}, *caller = t->err;
    if (!caller)
        t->err = &local;
    pthread_cond_init(&j.cv, NULL);
    pthread_mutex_lock(&c->mu);
    int rc = enqueue_locked(c, &j);
    while (!rc && !j.done)
        pthread_cond_wait(&j.cv, &c->mu);
    pthread_mutex_unlock(&c->mu);
    pthread_cond_destroy(&j.cv);
    t->err = caller;
    return rc ? rc : j.rc;
}

int dialog_commit_queue(fd_committer *c, turn *t, void (*done)(void *), void *ctx)
{
    assert(t->err && done);
    commit_job *j = fd_arena_calloc(t->a, 1, sizeof *j);
    if (!j)
        return turn_oom(t);
    j->t = t;
    j->on_done = done;
    j->on_done_ctx = ctx;
    pthread_mutex_lock(&c->mu);
    int rc = enqueue_locked(c, j);
    if (!rc)
        t->commit = j;
    pthread_mutex_unlock(&c->mu);
    return rc;
}

int dialog_commit_rc(const turn *t)
{
    /* Read after done() ran, by a thread that synchronized with it (the
     * caller's own lock): rc was written before. */
    assert(t->commit && t->commit->done);
    return t->commit->rc;
}
