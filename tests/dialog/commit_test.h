/* commit_test.h: the fixture the group-commit tests share (test_commit*.c):
 * a one-page knowledge base, an assistant and a committer on it, and four
 * turns made to queue behind a held write lock. Header-only; several
 * programs because each arms its own fault point (FRONTDESK_FAULTS is read
 * once a process). */
#ifndef FD_COMMIT_TEST_H
#define FD_COMMIT_TEST_H

#include "kb_fixture.h"

#include "dialog.h"
#include "kb.h"
#include "store.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct fixture {
    char *dir;
    fd_config cfg;
    fd_kb *kb;
    fd_assistant *as;
    fd_committer *c;
} fixture;

static inline int setup(void **state)
{
    fixture *f = fd_calloc(1, sizeof *f);
    f->dir = fd_test_tmpdir();
    static const fd_test_file doc = {
        "delivery.md", "# Delivery\n\n## Days\n\nWe deliver Monday to Saturday, 8 am to 6 pm.\n"};
    fd_config_defaults(&f->cfg);
    f->cfg.answer_wordlists[0] = '\0';
    f->kb = fd_test_kb(f->dir, &f->cfg, &doc, 1);
    fd_err err = {0};
    assert_int_equal(fd_assistant_open(&f->cfg, NULL, f->kb, &f->as, &err), FD_OK);
    assert_int_equal(fd_committer_start(&f->cfg, NULL, &f->c, &err), FD_OK);
    fd_assistant_use_committer(f->as, f->c);
    *state = f;
    return 0;
}

static inline int teardown(void **state)
{
    fixture *f = *state;
    fd_committer_stop(f->c);
    fd_assistant_close(f->as);
    fd_kb_close(f->kb);
    fd_test_rmrf(f->dir);
    fd_free(f->dir);
    fd_free(f);
    return 0;
}

/* ---- four turns queued behind a held write lock --------------------------- */

#define QUEUED_TURNS 4

typedef struct queued_turn {
    fixture *f;
    const char *prefix; /* session id: prefix + id */
    int id, ok;
    const char *sid, *msg; /* set: this session and message instead */
    char route[24];        /* the reply's */
} queued_turn;

/* One turn in its own session, on a kb handle of its own (a handle is one
 * thread's, as the server's pool gives them). */
static inline void *queued_turn_run(void *arg)
{
    queued_turn *w = arg;
    fd_kb *kb;
    fd_err err = {0};
    if (fd_kb_open(&w->f->cfg, NULL, &kb, &err) != FD_OK)
        return NULL;
    fd_arena *a = fd_arena_new(0);
    char sid[32];
    if (w->sid)
        snprintf(sid, sizeof sid, "%s", w->sid);
    else
        snprintf(sid, sizeof sid, "%s%d", w->prefix, w->id);
    const char *m = w->msg ? w->msg : "do you deliver on saturdays?";
    fd_turn_in in = {.message = m, .len = strlen(m), .session_id = sid};
    fd_reply rep;
    w->ok = fd_assistant_turn(w->f->as, kb, &in, NULL, a, &rep, &err) == FD_OK;
    if (w->ok)
        snprintf(w->route, sizeof w->route, "%s", rep.route);
    if (!w->ok)
        fprintf(stderr, "turn in %s: %s\n", sid, err.msg);
    fd_arena_free(a);
    fd_kb_close(kb);
    return NULL;
}

static inline void pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Another connection on f's store, holding its write lock (roll it back
 * and close it to let the committer on). */
static inline fd_store *hold_write_lock(fixture *f)
{
    char db[600];
    fd_config_store_path(&f->cfg, db, sizeof db);
    fd_store *blocker;
    fd_err err = {0};
    assert_int_equal(fd_store_open(db, &blocker, &err), FD_OK);
    assert_int_equal(fd_store_begin(blocker, &err), FD_OK); /* the write lock */
    return blocker;
}

/* Another connection holds the store's write lock while four turns (w,
 * filled in by the caller) queue: the committer's first batch (the first
 * turn) waits for it alone and the other three form the second batch.
 * Returns once every turn is answered. */
static inline void queue_turns_behind_lock(fixture *f, queued_turn w[QUEUED_TURNS])
{
    fd_store *blocker = hold_write_lock(f);
    pthread_t th[QUEUED_TURNS];
    for (int i = 0; i < QUEUED_TURNS; i++) {
        assert_int_equal(pthread_create(&th[i], NULL, queued_turn_run, &w[i]), 0);
        /* in this order: the first turn's batch waits for the lock alone */
        pause_ms(i == 0 ? 300 : 100);
    }
    pause_ms(300); /* the other three queued behind it */
    fd_store_rollback(blocker);
    for (int i = 0; i < QUEUED_TURNS; i++)
        pthread_join(th[i], NULL);
    fd_store_close(blocker);
}

/* The same, each turn in its own session prefix + i with the usual
 * question. */
static inline void queue_behind_lock(fixture *f, const char *prefix, queued_turn w[QUEUED_TURNS])
{
    for (int i = 0; i < QUEUED_TURNS; i++)
        w[i] = (queued_turn){.f = f, .prefix = prefix, .id = i};
    queue_turns_behind_lock(f, w);
}

/* fd_store_turns_each callback: counts the rows. */
static inline int count_turn(void *ctx, const fd_turn_row *t)
{
    (void)t;
    (*(int *)ctx)++;
    return 0;
}

#endif
