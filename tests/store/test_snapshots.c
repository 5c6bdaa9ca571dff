/* test_snapshots.c: index snapshots shared through the store (store.h).
 * On SQLite they are not kept (put does nothing, get finds none); on
 * PostgreSQL (on_pg.sh) a snapshot put by one handle is fetched byte for
 * byte by another, under its version and tag only; a newer version drops
 * the older; a part lost or changed is refused (no file left behind); and
 * a second put of the same version is a no-op. */
#include "store_test.h"

#include <sys/stat.h>

/* A file of n pseudo-random bytes at dir/name; returns its path. */
static char *make_file(const char *dir, const char *name, size_t n, unsigned seed)
{
    unsigned char *b = fd_malloc(n ? n : 1);
    assert_non_null(b);
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        b[i] = (unsigned char)(seed >> 16);
    }
    char *p = fd_test_write(dir, name, (const char *)b, n);
    fd_free(b);
    return p;
}

static int same_file(const char *a, const char *b)
{
    size_t na = 0, nb = 0;
    char *x = NULL, *y = NULL;
    fd_err err;
    int same = fd_file_read(a, 64u << 20, &x, &na, &err) == FD_OK &&
               fd_file_read(b, 64u << 20, &y, &nb, &err) == FD_OK && na == nb &&
               memcmp(x, y, na) == 0;
    fd_free(x);
    fd_free(y);
    return same;
}

static void test_sqlite_keeps_none(void **state)
{
    (void)state;
    if (pg_mode())
        skip();
    char *dir = fd_test_tmpdir();
    char *path = db_path(dir);
    fd_store *st = NULL;
    fd_err err = {0};
    assert_int_equal(fd_store_open(path, &st, &err), FD_OK);
    char *snap = make_file(dir, "index.snap", 1000, 1);
    assert_int_equal(fd_store_snapshot_put(st, 3, "t", snap, &err), FD_OK);
    char out[600];
    snprintf(out, sizeof out, "%s/fetched.snap", dir);
    assert_int_equal(fd_store_snapshot_get(st, 3, "t", out, &err), FD_ENOTFOUND);
    struct stat sb;
    assert_int_not_equal(stat(out, &sb), 0);
    fd_store_close(st);
    fd_free(snap);
    fd_free(path);
    fd_test_rmrf(dir);
    fd_free(dir);
}

static void test_pg_shares(void **state)
{
    (void)state;
    if (!pg_mode())
        skip();
    char *dir = fd_test_tmpdir();
    char *path = db_path(dir);
    fd_store *a = NULL, *b = NULL;
    fd_err err = {0};
    assert_int_equal(fd_store_open(path, &a, &err), FD_OK);
    assert_int_equal(fd_store_open(path, &b, &err), FD_OK);
    /* 9 MB: three parts, the last one short */
    char *snap = make_file(dir, "index.snap", 9u << 20 | 123, 7);
    char out[600];
    snprintf(out, sizeof out, "%s/fetched.snap", dir);
    assert_int_equal(fd_store_snapshot_get(b, 5, "t1", out, &err), FD_ENOTFOUND);
    if (fd_store_snapshot_put(a, 5, "t1", snap, &err) != FD_OK)
        fail_msg("put: %s", err.msg);
    assert_int_equal(query_i64(a, "SELECT COUNT(*) FROM kb_snapshot_parts"), 3);
    /* again: already there, nothing written */
    assert_int_equal(fd_store_snapshot_put(b, 5, "t1", snap, &err), FD_OK);
    assert_int_equal(query_i64(a, "SELECT COUNT(*) FROM kb_snapshot_parts"), 3);
    if (fd_store_snapshot_get(b, 5, "t1", out, &err) != FD_OK)
        fail_msg("get: %s", err.msg);
    assert_true(same_file(snap, out));
    /* another version or tag: none */
    assert_int_equal(fd_store_snapshot_get(b, 4, "t1", out, &err), FD_ENOTFOUND);
    assert_int_equal(fd_store_snapshot_get(b, 5, "t2", out, &err), FD_ENOTFOUND);
    /* a newer version replaces it */
    char *snap6 = make_file(dir, "index6.snap", 1000, 9);
    assert_int_equal(fd_store_snapshot_put(a, 6, "t1", snap6, &err), FD_OK);
    assert_int_equal(fd_store_snapshot_get(b, 5, "t1", out, &err), FD_ENOTFOUND);
    assert_int_equal(query_i64(a, "SELECT COUNT(*) FROM kb_snapshot_parts"), 1);
    assert_int_equal(fd_store_snapshot_get(b, 6, "t1", out, &err), FD_OK);
    assert_true(same_file(snap6, out));
    /* a part changed behind our back: refused, the file at out untouched */
    assert_int_equal(store_exec(a, "UPDATE kb_snapshot_parts SET data = '\\x00'"), SQLITE_OK);
    char out2[600];
    snprintf(out2, sizeof out2, "%s/damaged.snap", dir);
    assert_int_equal(fd_store_snapshot_get(b, 6, "t1", out2, &err), FD_EIO);
    assert_non_null(strstr(err.msg, "damaged"));
    struct stat sb;
    assert_int_not_equal(stat(out2, &sb), 0);
    /* a part gone */
    assert_int_equal(store_exec(a, "DELETE FROM kb_snapshot_parts"), SQLITE_OK);
    assert_int_equal(fd_store_snapshot_get(b, 6, "t1", out2, &err), FD_ENOTFOUND);
    assert_int_not_equal(stat(out2, &sb), 0);
    /* no temporary file left in the folder */
    char cmd[700];
    snprintf(cmd, sizeof cmd, "ls '%s' | grep -q 'snap[.]fetch[.]'", dir);
    assert_int_not_equal(system(cmd), 0);
    fd_store_close(a);
    fd_store_close(b);
    fd_free(snap);
    fd_free(snap6);
    fd_free(path);
    fd_test_rmrf(dir);
    fd_free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sqlite_keeps_none),
        cmocka_unit_test(test_pg_shares),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
