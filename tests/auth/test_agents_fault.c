/* test_agents_fault.c: no randomness means no sign-in (and no half-made
 * token); a failed commit while setting a new password leaves the old
 * password and the agent's sessions exactly as they were. Its own program
 * because the fault list is read once per process. */
#include "support.h"
#include "auth.h"

#include <stdlib.h>

static void test_login_and_passwd_faults(void **state)
{
    (void)state;
#ifndef FD_TESTING
    skip(); /* fault points exist only in FD_TESTING builds */
#endif
    char *dir = fd_test_tmpdir();
    char path[600];
    snprintf(path, sizeof path, "%s/a.db", dir);
    fd_err err = {0};
    fd_store *st = NULL;
    assert_int_equal(fd_store_open(path, &st, &err), FD_OK);
    fd_agent_info a, v;
    assert_int_equal(fd_agents_create(st, "ana", "Ana", "first password", &a, &err), FD_OK);
    char token[FD_AGENT_TOKEN_LEN + 1];
    double now = fd_time_wall();

    /* getrandom hit 1: armed. */
    memset(token, 'x', sizeof token);
    assert_int_equal(fd_agents_login(st, "ana", "first password", 3600, now, token, &v, &err),
                     FD_EIO);
    assert_string_equal(token, "");
    assert_int_equal(fd_agents_get(st, "ana", &a, &err), FD_OK);
    assert_true(a.last_login_at == 0); /* nothing of the sign-in was written */

    /* getrandom hit 2 and store.commit hit 1: fine. */
    assert_int_equal(fd_agents_login(st, "ana", "first password", 3600, now, token, &v, &err),
                     FD_OK);

    /* store.commit hit 2: armed; the new password must vanish whole. */
    assert_int_equal(fd_agents_set_password(st, "ana", "second password", &a, &err), FD_EIO);
    assert_non_null(strstr(err.msg, "store.commit"));
    assert_int_equal(fd_agents_verify(st, token, now + 1, &v, &err), FD_OK);
    char again[FD_AGENT_TOKEN_LEN + 1];
    assert_int_equal(fd_agents_login(st, "ana", "first password", 3600, now, again, &v, &err),
                     FD_OK);
    assert_int_equal(fd_agents_login(st, "ana", "second password", 3600, now, again, &v, &err),
                     FD_ENOTFOUND);

    /* And it works once the fault has passed. */
    assert_int_equal(fd_agents_set_password(st, "ana", "second password", &a, &err), FD_OK);
    assert_int_equal(fd_agents_verify(st, token, now + 1, &v, &err), FD_ENOTFOUND);
    fd_store_close(st);
    fd_test_rmrf(dir);
    fd_free(dir);
}

int main(void)
{
    setenv("FRONTDESK_FAULTS", "auth.getrandom:1,store.commit:2", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_login_and_passwd_faults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
