/* test_facts.c: claims are normalized so that the same fact written two
 * ways matches, and a different fact does not. */
#include "support.h"
#include "answer_int.h"

/* 1 when every claim of `said` is supported by the claims of `source`. */
static int supported(const char *said, const char *source)
{
    fd_arena *a = fd_arena_new(0);
    ans_claims c, s;
    fd_err err;
    assert_int_equal(ans_claims_scan(fd_str_c(said), a, &c, &err), FD_OK);
    assert_int_equal(ans_claims_scan(fd_str_c(source), a, &s, &err), FD_OK);
    assert_true(c.n > 0);
    int ok = 1;
    for (size_t i = 0; i < c.n; i++)
        ok &= ans_claim_supported(&c.v[i], &s);
    fd_arena_free(a);
    return ok;
}

static void test_same_fact(void **state)
{
    (void)state;
    static const char *const same[][2] = {
        {"S$18.00", "a fee of S$18"},
        {"$18", "a fee of S$18"},
        {"18 dollars", "S$18"},
        {"18 S$", "S$18"},
        {"seven days", "within 7 days"},
        {"7 days", "a 7-day window"},
        {"9am", "9:00 am"},
        {"9 a.m.", "9:00 am"},
        {"15 h 00", "3:00 pm"},
        {"17h00", "5:00 pm"},
        {"noon", "12:00 pm"},
        {"13:00", "1:00 pm"},
        {"2 days", "2 working days"},
        {"two weeks", "14 days"},
        {"15 %", "a fee of 15%"},
        {"S$1,200", "S$1200"},
        {"Tuesdays", "on Tuesday"},
        {"mardi", "Tuesday"},
        {"1 January", "on January 1"},
        {"PB-1201", "code pb1201"},
        {"unit price 21.00 dollars", "unit_price_sgd: 21.00"},
        {"call +65 6812 4470", "Phone: +65 6812 4470"},
    };
    for (size_t i = 0; i < sizeof same / sizeof *same; i++)
        if (!supported(same[i][0], same[i][1]))
            fail_msg("'%s' should match '%s'", same[i][0], same[i][1]);
}

static void test_different_fact(void **state)
{
    (void)state;
    static const char *const diff[][2] = {
        {"S$20", "a fee of S$18"},
        {"S$18", "18 pieces"},        /* a price is not any 18 */
        {"14 days", "within 7 days"},
        {"2 working days", "2 days"}, /* adds a condition the source lacks */
        {"10:00 am", "10:00 pm"},
        {"9:00 am", "9 days"},
        {"3%", "3 days"},
        {"Monday", "Tuesday"},
        {"PB-1202", "PB-1201"},
        {"2 February", "2 March"},
        {"5 hours", "5 days"},
    };
    for (size_t i = 0; i < sizeof diff / sizeof *diff; i++)
        if (supported(diff[i][0], diff[i][1]))
            fail_msg("'%s' should not match '%s'", diff[i][0], diff[i][1]);
}

static void test_kinds(void **state)
{
    (void)state;
    fd_arena *a = fd_arena_new(0);
    ans_claims c;
    fd_err err;
    const char *t = "S$25 at 9:00 am within 48 hours, 1.5% per month, 12oz cups, PB-1201, Friday";
    assert_int_equal(ans_claims_scan(fd_str_c(t), a, &c, &err), FD_OK);
    static const ans_claim_kind want[] = {CLAIM_MONEY,  CLAIM_TIME, CLAIM_DURATION,
                                          CLAIM_PERCENT, CLAIM_NUMBER, CLAIM_CODE,
                                          CLAIM_WEEKDAY};
    assert_int_equal(c.n, sizeof want / sizeof *want);
    for (size_t i = 0; i < c.n; i++)
        assert_int_equal(c.v[i].kind, want[i]);
    assert_true(c.v[1].value == 540);
    assert_true(c.v[2].unit == UNIT_HOUR && c.v[2].value == 48);
    /* no claims in plain words; none from "one of them" */
    assert_int_equal(ans_claims_scan(fd_str_c("Happy to help, one of us will reply."), a, &c, &err),
                     FD_OK);
    assert_int_equal(c.n, 0);
    fd_arena_free(a);
}

/* Leaves dots in the stack below the caller, where the scanner's frames
 * will lie: what earlier, deeper calls (other requests') leave behind. */
__attribute__((noinline)) static void dirty_stack(void)
{
    volatile char junk[16384];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = '.';
}

/* A decimal reads the same whatever the stack held before: parse_number
 * once looked for an earlier '.' in the bytes past the digits it had
 * copied, so a stale dot made "5.60" read as 5, and which correct answers
 * failed the number check depended on the requests served before. Leading
 * zeros move the separator along the parser's buffer, so a stale byte
 * anywhere in it is found whatever the compiler's frame layout. */
static void test_decimal_ignores_stale_stack(void **state)
{
    (void)state;
    fd_arena *a = fd_arena_new(0);
    ans_claims c = {0};
    fd_err err;
    char t[64], bad[128] = "";
    for (int zeros = 1; zeros <= 48 && !bad[0]; zeros++) {
        snprintf(t, sizeof t, "%0*d5.60", zeros, 0);
        dirty_stack();
        if (ans_claims_scan(fd_str_c(t), a, &c, &err) != FD_OK || c.n != 1 || c.v[0].value != 5.60)
            snprintf(bad, sizeof bad, "'%s' read as %zu claim(s), the first %g", t, c.n,
                     c.n ? c.v[0].value : 0.0);
    }
    fd_arena_free(a);
    if (bad[0])
        fail_msg("%s", bad);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_fact),
        cmocka_unit_test(test_different_fact),
        cmocka_unit_test(test_kinds),
        cmocka_unit_test(test_decimal_ignores_stale_stack),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
