/* test_breaker.c: the breaker's state machine on a hand-driven clock:
 * consecutive failures open it, open refuses, the open time half-opens it,
 * one trial decides; neutral outcomes and stragglers change nothing. */
#include "support.h"

#include "llm_int.h"

#define MS 1000000ull

static void test_open_half_open_close(void **state)
{
    (void)state;
    fd_llm_breaker b;
    fd_llm_breaker_init(&b, 3, 100);
    uint64_t t = 1000 * MS;
    int trial;
    assert_true(fd_llm_breaker_allow(&b, t, &trial));
    assert_int_equal(trial, 0);
    fd_llm_breaker_record(&b, FD_LLM_OUTCOME_FAIL, 0, t);
    fd_llm_breaker_record(&b, FD_LLM_OUTCOME_FAIL, 0, t);
    fd_llm_breaker_record(&b, FD_LLM_OUTCOME_OK, 0, t); /* not consecutive any more */
    fd_llm_breaker_record(&b, FD_LLM_OUTCOME_FAIL, 0, t);
    fd_llm_breaker_record(&b, FD_LLM_OUTCOME_NEUTRAL, 0, t);
    fd_llm_breaker_record(&b, FD_LLM_OUTCOME_FAIL, 0, t);
    assert_int_equal(fd_llm_breaker_state(&b, t), FD_BREAKER_CLOSED);
    fd_llm_breaker_record(&b, FD_LLM_OUTCOME_FAIL, 0, t);
    assert_int_equal(fd_llm_breaker_state(&b, t), FD_BREAKER_OPEN);
    assert_false(fd_llm_breaker_allow(&b, t + 99 * MS, &trial));
    /* A straggler that started before the opening does not close it. */
    fd_llm_breaker_record(&b, FD_LLM_OUTCOME_OK, 0, t + 50 * MS);
    assert_int_equal(fd_llm_breaker_state(&b, t + 50 * MS), FD_BREAKER_OPEN);

    t += 100 * MS;
    assert_int_equal(fd_llm_breaker_state(&b, t), FD_BREAKER_HALF_OPEN);
    assert_true(fd_llm_breaker_allow(&b, t, &trial));
    assert_int_equal(trial, 1);
    int other;
    assert_false(fd_llm_breaker_allow(&b, t, &other));
    fd_llm_breaker_record(&b, FD_LLM_OUTCOME_OK, 1, t);
    assert_int_equal(fd_llm_breaker_state(&b, t), FD_BREAKER_CLOSED);
    assert_int_equal(b.failures, 0);
}

static void test_trial_fails_or_is_cancelled(void **state)
{
    (void)state;
    fd_llm_breaker b;
    fd_llm_breaker_init(&b, 1, 100);
    uint64_t t = 5 * MS;
    int trial;
    fd_llm_breaker_record(&b, FD_LLM_OUTCOME_FAIL, 0, t);
    assert_int_equal(fd_llm_breaker_state(&b, t), FD_BREAKER_OPEN);
    t += 100 * MS;
    assert_true(fd_llm_breaker_allow(&b, t, &trial));
    assert_int_equal(trial, 1);
    /* Cancelled: the slot comes back, still half-open. */
    fd_llm_breaker_record(&b, FD_LLM_OUTCOME_NEUTRAL, 1, t);
    assert_int_equal(fd_llm_breaker_state(&b, t), FD_BREAKER_HALF_OPEN);
    assert_true(fd_llm_breaker_allow(&b, t, &trial));
    assert_int_equal(trial, 1);
    /* Failed: open again, for a full open time from now. */
    fd_llm_breaker_record(&b, FD_LLM_OUTCOME_FAIL, 1, t + 10 * MS);
    assert_int_equal(fd_llm_breaker_state(&b, t + 10 * MS), FD_BREAKER_OPEN);
    assert_false(fd_llm_breaker_allow(&b, t + 109 * MS, &trial));
    assert_true(fd_llm_breaker_allow(&b, t + 110 * MS, &trial));
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(fd_breaker_state_name(FD_BREAKER_CLOSED), "closed");
    assert_string_equal(fd_breaker_state_name(FD_BREAKER_OPEN), "open");
    assert_string_equal(fd_breaker_state_name(FD_BREAKER_HALF_OPEN), "half_open");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_half_open_close),
        cmocka_unit_test(test_trial_fails_or_is_cancelled),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
