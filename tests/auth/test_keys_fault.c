/* test_keys_fault.c: a failed commit during rotation leaves the old key
 * exactly as it was and no successor; no randomness means no key. Its own
 * program because the fault list is read once per process. */
#include "support.h"
#include "auth.h"

#include <stdlib.h>

static int count_key(void *ctx, const fd_key_info *k)
{
    (void)k;
    (*(int *)ctx)++;
    return 0;
}

static void test_rotate_commit_fault(void **state)
{
    (void)state;
#ifndef FD_TESTING
    skip(); /* fault points exist only in FD_TESTING builds */
#endif
    char *dir = fd_test_tmpdir();
    char path[600];
    snprintf(path, sizeof path, "%s/k.db", dir);
    fd_err err = {0};
    fd_store *st = NULL;
    assert_int_equal(fd_store_open(path, &st, &err), FD_OK);
    char key[FD_KEY_LEN + 1], fresh[FD_KEY_LEN + 1];
    fd_key_info info, got;
    /* getrandom hit 1: fine. */
    assert_int_equal(fd_keys_create(st, "a", FD_SCOPE_CHAT, 0, key, &info, &err), FD_OK);
    /* getrandom hit 2: armed. */
    assert_int_equal(fd_keys_create(st, "b", FD_SCOPE_CHAT, 0, fresh, NULL, &err), FD_EIO);
    assert_int_equal(fresh[0], '\0');
    int n = 0;
    assert_int_equal(fd_keys_list(st, count_key, &n, &err), FD_OK);
    assert_int_equal(n, 1);

    /* store.commit hit 1: armed; the rotation must vanish whole. */
    memset(fresh, 'x', sizeof fresh);
    assert_int_equal(fd_keys_rotate(st, info.prefix, 3600, fresh, &got, &err), FD_EIO);
    assert_non_null(strstr(err.msg, "store.commit"));
    for (size_t i = 0; i < sizeof fresh; i++)
        assert_int_equal(fresh[i], 0); /* no half-made secret left behind */
    n = 0;
    assert_int_equal(fd_keys_list(st, count_key, &n, &err), FD_OK);
    assert_int_equal(n, 1);
    assert_int_equal(fd_keys_verify(st, key, fd_time_wall() + 7200, &got, &err), FD_OK);
    assert_int_equal(got.rotated_to, 0);
    assert_true(got.valid_until == 0);

    /* And it works once the fault has passed. */
    assert_int_equal(fd_keys_rotate(st, info.prefix, 0, fresh, &got, &err), FD_OK);
    assert_int_equal(fd_keys_verify(st, fresh, fd_time_wall(), NULL, &err), FD_OK);
    assert_int_equal(fd_keys_verify(st, key, fd_time_wall(), NULL, &err), FD_ENOTFOUND);
    fd_store_close(st);
    fd_test_rmrf(dir);
    fd_free(dir);
}

int main(void)
{
    setenv("FRONTDESK_FAULTS", "auth.getrandom:2,store.commit:1", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rotate_commit_fault),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
