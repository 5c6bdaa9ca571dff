/* commit.c: group commit of turns (issue 13). Each turn's rows (session,
 * the two turns, event, cost, handoff, order) used to be one transaction on
 * the request thread's connection: five to ten WAL pages written per
 * message, and threads queueing on SQLite's sleep-and-retry busy handler.
 * Here one thread owns one connection and commits every turn waiting in
 * one transaction, each in its own savepoint when one turn's failure
 * could otherwise be its neighbours' (run_batch). A request thread waits
 * for its own commit: a reply never says something the store has not
 * kept. */
#include "turn_int.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* Enough to amortize a commit, few enough that the first in a batch does
 * not wait long for the last. */
#define MAX_BATCH 64

typedef struct commit_job {
    turn *t;
    int rc;
    int done;
    int skip; /* failed alone in a batch without savepoints: not run again */
    struct commit_job *next;
} commit_job;

struct fd_committer {
    fd_store *st;
    fd_log *log;
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t work, done;
    commit_job *head, *tail;
    int stop, running;
};

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
static void run_savepoints(fd_committer *c, commit_job *jobs)
{
    fd_err err = {0};
    int rc = fd_store_begin(c->st, &err);
    for (commit_job *j = jobs; j && !rc; j = j->next) {
        if (j->skip)
            continue;
        j->rc = fd_store_savepoint(c->st, j->t->err);
        if (!j->rc)
            j->rc = dialog_persist_rows(j->t, c->st);
        /* With deferred writes a row's failure may show only at the
         * release: undone the same way. */
        if (!j->rc)
            j->rc = fd_store_release(c->st, j->t->err);
        if (j->rc)
            fd_store_rollback_to(c->st);
    }
    if (!rc)
        rc = fd_store_commit(c->st, &err);
    if (rc)
        fail_rest(jobs, rc, &err);
}

/* One batch. Savepoints cost two statements and a round trip per turn on
 * PostgreSQL (issue 16), and are needed only to keep one turn's failure
 * from its neighbours. A batch of one needs none: its failure is the
 * batch's. Nor does a batch of plain turns (dialog_persist_plain): each
 * reports its own failure at once, so the failed one keeps its error, the
 * transaction is rolled back and the others run again, each in its
 * savepoint (a failure is a fault or an outage, not a customer's input:
 * the second pass is rare). */
static void run_batch(fd_committer *c, commit_job *jobs)
{
    int n = 0, plain = 1;
    for (commit_job *j = jobs; j; j = j->next) {
        n++;
        plain = plain && dialog_persist_plain(j->t);
    }
    if (n > 1 && !plain) {
        run_savepoints(c, jobs);
        return;
    }
    fd_err err = {0};
    int rc = fd_store_begin(c->st, &err);
    commit_job *failed = NULL;
    for (commit_job *j = jobs; j && !rc && !failed; j = j->next) {
        j->rc = dialog_persist_rows(j->t, c->st);
        if (j->rc)
            failed = j;
    }
    if (failed) {
        fd_store_rollback(c->st);
        if (n == 1)
            return;
        failed->skip = 1;
        for (commit_job *j = jobs; j; j = j->next)
            if (j != failed)
                j->rc = 0;
        run_savepoints(c, jobs);
        return;
    }
    if (!rc)
        rc = fd_store_commit(c->st, &err);
    if (rc)
        fail_rest(jobs, rc, &err);
}

static void *committer_main(void *arg)
{
    fd_committer *c = arg;
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
        run_batch(c, batch);
        pthread_mutex_lock(&c->mu);
        for (commit_job *j = batch; j; j = j->next)
            j->done = 1;
        pthread_cond_broadcast(&c->done);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

int fd_committer_start(const fd_config *cfg, fd_log *log, fd_committer **out, fd_err *err)
{
    *out = NULL;
    fd_committer *c = fd_calloc(1, sizeof *c);
    if (!c)
        return fd_err_set(err, FD_ENOMEM, "out of memory");
    c->log = log;
    char db[600];
    fd_config_store_path(cfg, db, sizeof db);
    int rc = fd_store_open(db, &c->st, err);
    if (rc) {
        fd_free(c);
        return rc;
    }
    /* a writer elsewhere (another process) makes turns wait this long, then 503 */
    fd_store_set_busy_timeout(c->st, cfg->store_busy_timeout_ms);
    /* PostgreSQL: a turn's rows in three round trips, not seven (each
     * turn's savepoint release reports its rows' failures). */
    fd_store_defer_writes(c->st, 1);
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->work, NULL);
    pthread_cond_init(&c->done, NULL);
    if (pthread_create(&c->th, NULL, committer_main, c) != 0) {
        fd_committer_stop(c);
        return fd_err_set(err, FD_EIO, "cannot start the turn committer");
    }
    c->running = 1;
    *out = c;
    return FD_OK;
}

void fd_committer_stop(fd_committer *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    c->stop = 1; /* jobs queued still run: their requests are waiting */
    pthread_cond_signal(&c->work);
    pthread_mutex_unlock(&c->mu);
    if (c->running)
        pthread_join(c->th, NULL);
    fd_store_close(c->st);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->work);
    pthread_cond_destroy(&c->done);
    fd_free(c);
}

int dialog_commit(fd_committer *c, turn *t)
{
    commit_job j = {t, 0, 0, 0, NULL};
    pthread_mutex_lock(&c->mu);
    if (c->stop) {
        pthread_mutex_unlock(&c->mu);
        return fd_err_set(t->err, FD_EUNAVAIL, "the server is shutting down");
    }
    if (c->tail)
        c->tail->next = &j;
    else
        c->head = &j;
    c->tail = &j;
    pthread_cond_signal(&c->work);
    while (!j.done)
        pthread_cond_wait(&c->done, &c->mu);
    pthread_mutex_unlock(&c->mu);
    return j.rc;
}
