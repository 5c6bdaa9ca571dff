/* test_commit_queue.c: a turn's commit queued without a thread waiting
 * (fd_turn_in.on_commit, the server's JSON chat). One thread begins six
 * turns while another connection holds the store's write lock: with the
 * blocking commit the first would wait for the lock and the thread could
 * begin no other. Each is told on the committer's thread, each is stored
 * whole, and (FD_TESTING builds) the one whose rows fail reports the
 * store's error through fd_turn_committed with nothing of it kept. */
#include "commit_test.h"

#define N 6

typedef struct told {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int n;
    int other_thread; /* every callback ran off the caller's thread */
    pthread_t caller;
} told;

static void on_commit(void *ctx)
{
    told *k = ctx;
    pthread_mutex_lock(&k->mu);
    k->n++;
    if (pthread_equal(pthread_self(), k->caller))
        k->other_thread = 0;
    pthread_cond_signal(&k->cv);
    pthread_mutex_unlock(&k->mu);
}

static void test_queued(void **state)
{
    fixture *f = *state;
    told k = {.other_thread = 1, .caller = pthread_self()};
    pthread_mutex_init(&k.mu, NULL);
    pthread_cond_init(&k.cv, NULL);
    fd_store *blocker = hold_write_lock(f);

    fd_arena *a[N];
    fd_reply rep[N];
    fd_err terr[N];
    fd_turn *t[N];
    char sid[N][16];
    for (int i = 0; i < N; i++) {
        a[i] = fd_arena_new(0);
        memset(&terr[i], 0, sizeof terr[i]);
        snprintf(sid[i], sizeof sid[i], "q%d", i);
        const char *m = "do you deliver on saturdays?";
        fd_turn_in in = {.message = m,
                         .len = strlen(m),
                         .session_id = sid[i],
                         .on_commit = on_commit,
                         .on_commit_ctx = &k};
        /* returns with the write lock still held elsewhere: nothing waits */
        assert_int_equal(
            fd_assistant_turn_begin(f->as, f->kb, &in, NULL, a[i], &rep[i], &t[i], &terr[i]),
            FD_OK);
        assert_non_null(t[i]);
        assert_true(fd_turn_committing(t[i]));
    }
    pthread_mutex_lock(&k.mu);
    assert_int_equal(k.n, 0); /* none committed while the lock is held */
    pthread_mutex_unlock(&k.mu);
    fd_store_rollback(blocker);
    fd_store_close(blocker);

    pthread_mutex_lock(&k.mu);
    while (k.n < N)
        pthread_cond_wait(&k.cv, &k.mu);
    pthread_mutex_unlock(&k.mu);
    assert_true(k.other_thread);

    int failed = 0;
    for (int i = 0; i < N; i++) {
        int rc = fd_turn_committed(t[i], NULL);
        int n = 0;
        assert_int_equal(fd_store_turns_each(fd_kb_store(f->kb), sid[i], 0, count_turn, &n, NULL),
                         FD_OK);
        if (rc) {
            /* as the blocking path reports it: the store's error, nothing kept */
            assert_int_equal(rc, FD_EIO);
            assert_non_null(strstr(terr[i].msg, "dialog.persist"));
            assert_int_equal(n, 0);
            failed++;
        } else {
            assert_int_equal(n, 2);
            assert_true(rep[i].turn_seq > 0);
            assert_true(rep[i].ms_total > 0);
            assert_string_equal(rep[i].session_id, sid[i]);
        }
        fd_arena_free(a[i]);
    }
#ifdef FD_TESTING
    assert_int_equal(failed, 1); /* FRONTDESK_FAULTS=dialog.persist:2, armed in main */
#else
    assert_int_equal(failed, 0);
#endif
    /* /metrics' counters: every turn, the failed one apart, in at least
     * one batch; the
     * checkpointer runs within its period once commits happened. */
    fd_committer_stats cs;
    fd_committer_stats_get(f->c, &cs);
    assert_int_equal(cs.turns, N);
    assert_int_equal(cs.turns_failed, (unsigned long long)failed);
    assert_true(cs.batches >= 1 && cs.batches <= cs.turns);
    for (int i = 0; i < 100 && cs.checkpoints_ok == 0; i++) {
        pause_ms(20);
        fd_committer_stats_get(f->c, &cs);
    }
    assert_true(cs.checkpoints_ok >= 1);
    assert_int_equal(cs.checkpoints_failed, 0);
    assert_true(cs.wal_pages >= 0);
    assert_int_equal(cs.restarts_ok + cs.restarts_failed, 0); /* a small log */
    fd_committer_stats_get(NULL, &cs);                        /* the CLI has none */
    assert_int_equal(cs.turns, 0);
    assert_int_equal(cs.wal_pages, -1);
    pthread_mutex_destroy(&k.mu);
    pthread_cond_destroy(&k.cv);
}

int main(void)
{
    setenv("FRONTDESK_FAULTS", "dialog.persist:2", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_queued, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
