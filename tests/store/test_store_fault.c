/* test_store_fault.c: an injected commit failure rolls everything back.
 * Its own program because the fault list is read once per process. */
#include "store_test.h"

#include <stdlib.h>

static void test_commit_fault_rolls_back(void **state)
{
    (void)state;
#ifndef FD_TESTING
    skip(); /* fault points exist only in FD_TESTING builds */
#endif
    char *dir = fd_test_tmpdir();
    char *path = db_path(dir);
    fd_err err = {0};
    fd_store *st = NULL;
    assert_int_equal(fd_store_open(path, &st, &err), FD_OK);

    /* Commit 1 succeeds. */
    int64_t v = 0;
    assert_int_equal(fd_store_begin(st, &err), FD_OK);
    put_doc(st, "a.md", "a.md", 2);
    assert_int_equal(fd_store_kb_bump(st, "first", &v, &err), FD_OK);
    assert_int_equal(fd_store_commit(st, &err), FD_OK);

    /* Commit 2 is armed to fail: a new doc, a replaced doc, a deleted
     * chunk set and a version bump must all vanish. */
    assert_int_equal(fd_store_begin(st, &err), FD_OK);
    put_doc(st, "b.md", "b.md", 3);
    put_doc(st, "a.md", "a.md", 5);
    assert_int_equal(fd_store_kb_bump(st, "second", &v, &err), FD_OK);
    assert_int_equal(fd_store_commit(st, &err), FD_EIO);
    assert_non_null(strstr(err.msg, "store.commit"));
    fd_store_rollback(st); /* what callers do; harmless after the commit's own */

    counts(st, 1, 2);
    assert_int_equal(fd_store_kb_version(st, &v, &err), FD_OK);
    assert_int_equal(v, 1);
    fd_store_close(st);

    /* The file agrees after a reopen, and the store still works. */
    assert_int_equal(fd_store_open(path, &st, &err), FD_OK);
    counts(st, 1, 2);
    assert_int_equal(fd_store_begin(st, &err), FD_OK);
    put_doc(st, "c.md", "c.md", 1);
    assert_int_equal(fd_store_commit(st, &err), FD_OK);
    counts(st, 2, 3);
    fd_store_close(st);

    fd_test_rmrf(dir);
    fd_free(path);
    fd_free(dir);
}

int main(void)
{
    /* Before the first fault check: the list is parsed once. */
    setenv("FRONTDESK_FAULTS", "store.commit:2", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_commit_fault_rolls_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
