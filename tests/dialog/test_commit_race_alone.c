/* test_commit_race_alone.c: a batch of one turn that loses the race for
 * its seq (FRONTDESK_FAULTS=store.turn_seq:1, FD_TESTING builds; on
 * PostgreSQL a writer outside the store's conversation locks): the
 * committer runs it again alone, the customer gets the answer, and the
 * message is kept once. test_commit_race.c: the same inside a batch. */
#include "commit_test.h"

#include <stdlib.h>
#include <string.h>

static int on_total(void *ctx, const fd_cost_sum *sum)
{
    *(int64_t *)ctx += sum->requests;
    return 0;
}

static void test_lost_race_alone(void **state)
{
    fixture *f = *state;
    fd_err err = {0};
    fd_arena *a = fd_arena_new(0);
    const char *m = "do you deliver on saturdays?";
    fd_turn_in in = {.message = m, .len = strlen(m), .session_id = "alone"};
    fd_reply rep;
    if (fd_assistant_turn(f->as, f->kb, &in, NULL, a, &rep, &err) != FD_OK)
        fail_msg("turn: %s", err.msg);
    assert_int_equal(rep.turn_seq, 2);
    int n = 0;
    assert_int_equal(fd_store_turns_each(fd_kb_store(f->kb), "alone", 0, count_turn, &n, NULL),
                     FD_OK);
    assert_int_equal(n, 2);
    int64_t requests = 0;
    assert_int_equal(fd_store_costs_each(fd_kb_store(f->kb), 0, "total", on_total, &requests, &err),
                     FD_OK);
    assert_int_equal(requests, 1);
    fd_arena_free(a);
}

int main(void)
{
    setenv("FRONTDESK_FAULTS", "store.turn_seq:1", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_lost_race_alone, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
