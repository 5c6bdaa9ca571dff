/* test_commit_batch.c: a turn that fails inside a batch of plain turns,
 * which the committer writes without savepoints (commit.c run_batch). The
 * store's write lock is held from another connection while four turns
 * queue, so the committer's first batch (one turn) waits for it and the
 * other three form the second batch; FRONTDESK_FAULTS=dialog.persist:3
 * (FD_TESTING builds) fails the second batch's second turn. It alone
 * fails: the batch is rolled back and its neighbours are written again,
 * each in its savepoint, and kept whole. */
#include "commit_test.h"

static void test_failure_in_plain_batch(void **state)
{
    fixture *f = *state;
    queued_turn w[QUEUED_TURNS];
    queue_behind_lock(f, "b", w);
    int ok = 0;
    for (int i = 0; i < QUEUED_TURNS; i++)
        ok += w[i].ok;
#ifdef FD_TESTING
    int want_failed = 1;
#else
    int want_failed = 0;
#endif
    assert_int_equal(ok, QUEUED_TURNS - want_failed);
    if (want_failed)
        assert_int_equal(w[2].ok, 0); /* the third turn written: the fault's */
    int stored = 0;
    for (int i = 0; i < QUEUED_TURNS; i++) {
        char sid[32];
        snprintf(sid, sizeof sid, "b%d", i);
        int n = 0;
        assert_int_equal(fd_store_turns_each(fd_kb_store(f->kb), sid, 0, count_turn, &n, NULL),
                         FD_OK);
        assert_int_equal(n, 2 * w[i].ok); /* a kept turn whole, a failed one not at all */
        stored += n;
    }
    assert_int_equal(stored, 2 * (QUEUED_TURNS - want_failed));
}

int main(void)
{
    setenv("FRONTDESK_FAULTS", "dialog.persist:3", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_failure_in_plain_batch, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
