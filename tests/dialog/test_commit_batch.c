/* test_commit_batch.c: a turn that fails inside a batch of plain turns,
 * which the committer writes without savepoints (commit.c run_batch). The
 * store's write lock is held from another connection while four turns
 * queue, so the committer's first batch (one turn) waits for it and the
 * other three form the second batch; FRONTDESK_FAULTS=dialog.persist:3
 * (FD_TESTING builds) fails the second batch's second turn. It alone
 * fails: the batch is rolled back and its neighbours are written again,
 * each in its savepoint, and kept whole. */
#include "commit_test.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define THREADS 4

typedef struct worker {
    fixture *f;
    int id, ok;
} worker;

static void *run(void *arg)
{
    worker *w = arg;
    fd_kb *kb;
    fd_err err = {0};
    if (fd_kb_open(&w->f->cfg, NULL, &kb, &err) != FD_OK)
        return NULL;
    fd_arena *a = fd_arena_new(0);
    char sid[32];
    snprintf(sid, sizeof sid, "b%d", w->id);
    const char *m = "do you deliver on saturdays?";
    fd_turn_in in = {.message = m, .len = strlen(m), .session_id = sid};
    fd_reply rep;
    w->ok = fd_assistant_turn(w->f->as, kb, &in, NULL, a, &rep, &err) == FD_OK;
    fd_arena_free(a);
    fd_kb_close(kb);
    return NULL;
}

static void pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void test_failure_in_plain_batch(void **state)
{
    fixture *f = *state;
    char db[600];
    fd_config_store_path(&f->cfg, db, sizeof db);
    fd_store *blocker;
    fd_err err = {0};
    assert_int_equal(fd_store_open(db, &blocker, &err), FD_OK);
    assert_int_equal(fd_store_begin(blocker, &err), FD_OK); /* the write lock */
    pthread_t th[THREADS];
    worker w[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (worker){f, i, 0};
        assert_int_equal(pthread_create(&th[i], NULL, run, &w[i]), 0);
        /* in this order: the first turn's batch waits for the lock alone */
        pause_ms(i == 0 ? 300 : 100);
    }
    pause_ms(300); /* the other three queued behind it */
    fd_store_rollback(blocker);
    int ok = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        ok += w[i].ok;
    }
    fd_store_close(blocker);
#ifdef FD_TESTING
    int want_failed = 1;
#else
    int want_failed = 0;
#endif
    assert_int_equal(ok, THREADS - want_failed);
    if (want_failed)
        assert_int_equal(w[2].ok, 0); /* the third turn written: the fault's */
    int stored = 0;
    for (int i = 0; i < THREADS; i++) {
        char sid[32];
        snprintf(sid, sizeof sid, "b%d", i);
        int n = 0;
        assert_int_equal(fd_store_turns_each(fd_kb_store(f->kb), sid, 0, count_turn, &n, NULL),
                         FD_OK);
        assert_int_equal(n, 2 * w[i].ok); /* a kept turn whole, a failed one not at all */
        stored += n;
    }
    assert_int_equal(stored, 2 * (THREADS - want_failed));
}

int main(void)
{
    setenv("FRONTDESK_FAULTS", "dialog.persist:3", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_failure_in_plain_batch, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
