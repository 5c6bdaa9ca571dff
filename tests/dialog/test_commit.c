/* test_commit.c: group commit (commit.c). Four threads send turns in their
 * own sessions through one committer: every turn is stored whole, each call
 * returns only once its turn is kept, and (FD_TESTING builds) a turn whose
 * rows fail inside a batch fails alone — its neighbours in the same
 * transaction are kept. */
#include "commit_test.h"

#include <sys/stat.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define THREADS 4
#define TURNS 3

typedef struct worker {
    fixture *f;
    int id, failed, ok;
} worker;

/* Each thread has its own kb handle (a handle is one thread's), as the
 * server's pool gives them. */
static void *run(void *arg)
{
    worker *w = arg;
    fd_kb *kb;
    fd_err err = {0};
    if (fd_kb_open(&w->f->cfg, NULL, &kb, &err) != FD_OK)
        return NULL;
    fd_arena *a = fd_arena_new(0);
    char sid[32];
    snprintf(sid, sizeof sid, "w%d", w->id);
    for (int i = 0; i < TURNS; i++) {
        fd_arena_reset(a);
        const char *m = "do you deliver on saturdays?";
        fd_turn_in in = {.message = m, .len = strlen(m), .session_id = sid};
        fd_reply rep;
        if (fd_assistant_turn(w->f->as, kb, &in, NULL, a, &rep, &err) == FD_OK)
            w->ok++;
        else
            w->failed++;
    }
    fd_arena_free(a);
    fd_kb_close(kb);
    return NULL;
}

static void test_group_commit(void **state)
{
    fixture *f = *state;
    pthread_t th[THREADS];
    worker w[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (worker){f, i, 0, 0};
        assert_int_equal(pthread_create(&th[i], NULL, run, &w[i]), 0);
    }
    int ok = 0, failed = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        ok += w[i].ok;
        failed += w[i].failed;
    }
#ifdef FD_TESTING
    int want_failed = 1; /* FRONTDESK_FAULTS=dialog.persist:5, armed in main */
#else
    int want_failed = 0;
#endif
    assert_int_equal(failed, want_failed);
    assert_int_equal(ok, THREADS * TURNS - want_failed);
    int stored = 0;
    for (int i = 0; i < THREADS; i++) {
        char sid[32];
        snprintf(sid, sizeof sid, "w%d", i);
        int n = 0;
        assert_int_equal(fd_store_turns_each(fd_kb_store(f->kb), sid, 0, count_turn, &n, NULL),
                         FD_OK);
        assert_int_equal(n % 2, 0); /* never half an exchange */
        assert_int_equal(n, 2 * w[i].ok);
        stored += n;
    }
    /* the failed turn's neighbours in its batch were kept */
    assert_int_equal(stored, 2 * (THREADS * TURNS - want_failed));
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* The committer's commits leave the WAL to the checkpointer thread: turns
 * far fewer than SQLite's own 1,000-page trigger still reach the database
 * file within a few checkpoint intervals (without the thread they would
 * stay in the WAL until then). */
static void test_wal_checkpointed(void **state)
{
    fixture *f = *state;
    char db[600];
    fd_config_store_path(&f->cfg, db, sizeof db);
    long before = file_size(db);
    assert_true(before > 0);
    fd_arena *a = fd_arena_new(0);
    int ok = 0;
    for (int i = 0; i < 40; i++) {
        char sid[32];
        snprintf(sid, sizeof sid, "ck%d", i);
        const char *m = "do you deliver on saturdays? we are a new cafe in the east";
        fd_turn_in in = {.message = m, .len = strlen(m), .session_id = sid};
        fd_reply rep;
        fd_err err = {0};
        ok += fd_assistant_turn(f->as, f->kb, &in, NULL, a, &rep, &err) == FD_OK;
        fd_arena_reset(a);
    }
    fd_arena_free(a);
    assert_true(ok >= 39); /* the armed fault may fail one */
    long after = before;
    for (int i = 0; i < 40 && after <= before; i++) {
        pause_ms(100);
        after = file_size(db);
    }
    assert_true(after > before);
}

int main(void)
{
    setenv("FRONTDESK_FAULTS", "dialog.persist:5", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_group_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wal_checkpointed, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
