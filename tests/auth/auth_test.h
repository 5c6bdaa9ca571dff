/* auth_test.h: the fixture the keys and agents tests share: a store in a
 * fresh temp directory, opened before each test and removed after it.
 * Header-only: each test file is its own program. */
#ifndef FD_AUTH_TEST_H
#define FD_AUTH_TEST_H

#include "support.h"
#include "auth_int.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct fixture {
    char *dir;
    char path[600]; /* <dir>/auth.db */
    fd_store *st;
} fixture;

static inline int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->dir = fd_test_tmpdir();
    snprintf(f->path, sizeof f->path, "%s/auth.db", f->dir);
    fd_err err;
    assert_int_equal(fd_store_open(f->path, &f->st, &err), FD_OK);
    *state = f;
    return 0;
}

static inline int teardown(void **state)
{
    fixture *f = *state;
    fd_store_close(f->st);
    fd_test_rmrf(f->dir);
    fd_free(f->dir);
    free(f);
    return 0;
}

#endif
