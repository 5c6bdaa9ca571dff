/* test_snapshot_load.c: the index snapshot loader on the fuzz corpus kept in
 * tests/fuzz/snapshot/ (a good snapshot and the damaged ones the fuzzer
 * found crashing it): the good one loads, every other is refused with
 * FD_EFORMAT, none crashes. */
#include "support.h"
#include "kb_int.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>

static void test_corpus(void **state)
{
    (void)state;
    const char *src = getenv("FD_SOURCE_DIR");
    assert_non_null(src);
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/tests/fuzz/snapshot", src);
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    int good = 0, refused = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[1300];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        kb_index *ix = NULL;
        fd_err err = {0};
        int rc = kb_index_load(path, &ix, &err);
        if (strstr(e->d_name, ".snap")) {
            assert_int_equal(rc, FD_OK);
            good++;
        } else {
            if (rc != FD_EFORMAT && rc != FD_EIO)
                fail_msg("%s: %d (%s), not refused", e->d_name, rc, err.msg);
            refused++;
        }
        kb_index_free(ix);
    }
    closedir(d);
    assert_int_equal(good, 1);
    assert_true(refused >= 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_corpus)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
