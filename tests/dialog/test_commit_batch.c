/* test_commit_batch.c: a turn that fails inside a batch of plain turns,
 * which the committer writes without savepoints (commit.c run_batch). The
 * store's write lock is held from another connection while four turns
 * queue, so the committer's first batch (one turn) waits for it and the
 * other three form the second batch; FRONTDESK_FAULTS=dialog.persist:3
 * (FD_TESTING builds) fails the second batch's second turn. It alone
 * fails: the batch is rolled back and its neighbours are written again,
 * each in its savepoint, and kept whole. */
#include "support.h"

#include "dialog.h"
#include "kb.h"
#include "store.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define THREADS 4

typedef struct fixture {
    char *dir;
    fd_config cfg;
    fd_kb *kb;
    fd_assistant *as;
    fd_committer *c;
} fixture;

typedef struct worker {
    fixture *f;
    int id, ok;
} worker;

static int setup(void **state)
{
    fixture *f = fd_calloc(1, sizeof *f);
    f->dir = fd_test_tmpdir();
    char docs[600];
    snprintf(docs, sizeof docs, "%s/docs", f->dir);
    assert_int_equal(fd_mkdirs(docs, NULL), FD_OK);
    static const char md[] =
        "# Delivery\n\n## Days\n\nWe deliver Monday to Saturday, 8 am to 6 pm.\n";
    fd_free(fd_test_write(docs, "delivery.md", md, sizeof md - 1));
    fd_config_defaults(&f->cfg);
    snprintf(f->cfg.data_dir, sizeof f->cfg.data_dir, "%s/var", f->dir);
    f->cfg.answer_wordlists[0] = '\0';
    fd_err err = {0};
    assert_int_equal(fd_kb_open(&f->cfg, NULL, &f->kb, &err), FD_OK);
    const char *paths[] = {docs};
    fd_kb_ingest_report rep;
    fd_kb_ingest_opts o = {0};
    assert_int_equal(fd_kb_ingest(f->kb, paths, 1, &o, &rep, &err), FD_OK);
    assert_int_equal(fd_assistant_open(&f->cfg, NULL, f->kb, &f->as, &err), FD_OK);
    assert_int_equal(fd_committer_start(&f->cfg, NULL, &f->c, &err), FD_OK);
    fd_assistant_use_committer(f->as, f->c);
    *state = f;
    return 0;
}

static int teardown(void **state)
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

static int count_turn(void *ctx, const fd_turn_row *t)
{
    (void)t;
    (*(int *)ctx)++;
    return 0;
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
