/* support.c: temp dirs and files for tests. */
#include "support.h"

#include <stdlib.h>
#include <string.h>

char *fd_test_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char tmpl[512];
    snprintf(tmpl, sizeof tmpl, "%s/fdtest.XXXXXX", base ? base : "/tmp");
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    return fd_strdup(d);
}

void fd_test_rmrf(const char *path)
{
    char cmd[1100];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    int rc = system(cmd);
    (void)rc;
}

char *fd_test_write(const char *dir, const char *name, const char *p, size_t len)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *path = fd_malloc(n);
    assert_non_null(path);
    snprintf(path, n, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, len, f), len);
    fclose(f);
    return path;
}
