/* test_commit_race.c: a turn that loses the race for its seq inside a
 * batch of plain turns (on PostgreSQL, against a writer outside the
 * store's conversation locks: fd_store_turn_write's FD_ECONFLICT "seq").
 * As in test_commit_batch.c, the store's write lock is held while four
 * turns queue: the first batch is one turn, the second three;
 * FRONTDESK_FAULTS=store.turn_seq:3 (FD_TESTING builds) makes the second
 * batch's second turn lose. Unlike a failure, it is run again with its
 * neighbours: every turn is answered and kept whole, once. */
#include "commit_test.h"

static int count_seq(fd_store *st, const char *sid)
{
    int n = 0;
    assert_int_equal(fd_store_turns_each(st, sid, 0, count_turn, &n, NULL), FD_OK);
    return n;
}

static int on_total(void *ctx, const fd_cost_sum *sum)
{
    *(int64_t *)ctx += sum->requests;
    return 0;
}

static void test_lost_race_in_batch(void **state)
{
    fixture *f = *state;
    queued_turn w[QUEUED_TURNS];
    queue_behind_lock(f, "r", w);
    fd_err err = {0};
    for (int i = 0; i < QUEUED_TURNS; i++) {
        char sid[32];
        snprintf(sid, sizeof sid, "r%d", i);
        assert_int_equal(w[i].ok, 1);
        assert_int_equal(count_seq(fd_kb_store(f->kb), sid), 2);
    }
    /* One cost row per message: the lost attempt left none. */
    int64_t requests = 0;
    assert_int_equal(fd_store_costs_each(fd_kb_store(f->kb), 0, "total", on_total, &requests, &err),
                     FD_OK);
    assert_int_equal(requests, QUEUED_TURNS);
}

int main(void)
{
    setenv("FRONTDESK_FAULTS", "store.turn_seq:3", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_lost_race_in_batch, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
