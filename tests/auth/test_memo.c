/* test_memo.c: the last good verification of each key (memo.c), as the
 * server asks it: within one second (AUTH_FRESH_S, no store lookup) and
 * within ten minutes (AUTH_STALE_S, only while the store is away). A key
 * is found by its whole text, and never past its expiry or rotation. */
#include "support.h"
#include "auth.h"

#include <stdio.h>
#include <string.h>

static void test_memo_ages(void **state)
{
    (void)state;
    fd_key_memo *m = fd_key_memo_new();
    assert_non_null(m);
    const char *key = "fdk_AbCdEfGh_0123456789abcdefghijklmnopqrstuv";
    fd_key_info in = {.id = 7, .scopes = 1, .expires_at = 0, .valid_until = 0};
    snprintf(in.name, sizeof in.name, "widget");
    fd_key_memo_put(m, key, &in, 100.0);
    static const struct {
        double now, max_age;
        int want;
    } cases[] = {
        {100.5, 1.0, 1},   /* fresh: let in without the store */
        {101.0, 1.0, 1},   /* the bound itself */
        {101.5, 1.0, 0},   /* past it: the store is asked (a revocation counts) */
        {101.5, 600.0, 1}, /* the store is away: the stale memo answers */
        {700.5, 600.0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fd_key_info out = {0};
        int got = fd_key_memo_get(m, key, cases[i].now, cases[i].max_age, &out);
        assert_int_equal(got, cases[i].want);
        if (got) {
            assert_int_equal(out.id, 7);
            assert_string_equal(out.name, "widget");
        }
    }
    fd_key_info out;
    /* another key, even one differing in its last character */
    assert_int_equal(
        fd_key_memo_get(m, "fdk_AbCdEfGh_0123456789abcdefghijklmnopqrstuw", 100.5, 1.0, &out), 0);
    /* a key that expires (or stops after rotation) is not let in past then */
    in.expires_at = 100.8;
    fd_key_memo_put(m, key, &in, 100.0);
    assert_int_equal(fd_key_memo_get(m, key, 100.5, 1.0, &out), 1);
    assert_int_equal(fd_key_memo_get(m, key, 100.9, 1.0, &out), 0);
    in.expires_at = 0;
    in.valid_until = 100.2;
    fd_key_memo_put(m, key, &in, 100.0);
    assert_int_equal(fd_key_memo_get(m, key, 100.3, 1.0, &out), 0);
    /* the wall clock stepped back past the entry: not let in from it */
    in.valid_until = 0;
    fd_key_memo_put(m, key, &in, 100.0);
    assert_int_equal(fd_key_memo_get(m, key, 100.0, 1.0, &out), 1);
    assert_int_equal(fd_key_memo_get(m, key, 90.0, 1.0, &out), 0);
    fd_key_memo_free(m);
    fd_key_memo_free(NULL);
    assert_int_equal(fd_key_memo_get(NULL, key, 100.0, 1.0, &out), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_memo_ages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
