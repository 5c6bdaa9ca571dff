/* support.h: helpers shared by the unit tests (temp dirs, files). */
#ifndef FD_TEST_SUPPORT_H
#define FD_TEST_SUPPORT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core.h"

/* mkdtemp under $TMPDIR; returns a path the caller fd_free's. */
char *fd_test_tmpdir(void);
/* rm -rf path (best effort). */
void fd_test_rmrf(const char *path);
/* Writes len bytes to dir/name; returns the full path (fd_free). */
char *fd_test_write(const char *dir, const char *name, const char *p, size_t len);

#endif
