/* test_snapshot.c: snapshot container: round trip, atomic replace, truncated
 * and corrupted files, missing sections, writer errors, allocation failure. */
#include "support.h"

#include "index.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *path_in(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = fd_malloc(n);
    assert_non_null(p);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static void fill(char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (char)(seed * 31 + i * 7 + (i >> 8));
}

/* Three sections, one of them empty. */
static void write_sample(const char *path, unsigned seed)
{
    static char meta[100], bm25[5000];
    fill(meta, sizeof meta, seed);
    fill(bm25, sizeof bm25, seed + 1);
    fd_snap_writer *w;
    fd_err err = {0};
    assert_int_equal(fd_snap_writer_new(path, &w, &err), FD_OK);
    assert_int_equal(fd_snap_writer_add(w, FD_SNAP_META, meta, sizeof meta, &err), FD_OK);
    assert_int_equal(fd_snap_writer_add(w, FD_SNAP_BM25, bm25, sizeof bm25, &err), FD_OK);
    assert_int_equal(fd_snap_writer_add(w, FD_SNAP_CHUNKS, NULL, 0, &err), FD_OK);
    assert_int_equal(fd_snap_writer_add(w, FD_SNAP_META, meta, 1, &err), FD_EINVAL); /* twice */
    assert_int_equal(fd_snap_writer_finish(w, &err), FD_OK);
}

static void check_sample(const fd_snap *s, unsigned seed)
{
    char want[5000];
    const void *p;
    size_t len;
    assert_int_equal(fd_snap_section(s, FD_SNAP_META, &p, &len), FD_OK);
    fill(want, 100, seed);
    assert_int_equal(len, 100);
    assert_memory_equal(p, want, 100);
    assert_int_equal((uintptr_t)p % 64, 0);
    assert_int_equal(fd_snap_section(s, FD_SNAP_BM25, &p, &len), FD_OK);
    fill(want, sizeof want, seed + 1);
    assert_int_equal(len, sizeof want);
    assert_memory_equal(p, want, sizeof want);
    assert_int_equal((uintptr_t)p % 64, 0);
    assert_int_equal(fd_snap_section(s, FD_SNAP_CHUNKS, &p, &len), FD_OK);
    assert_int_equal(len, 0);
    assert_int_equal(fd_snap_section(s, FD_SNAP_DENSE, &p, &len), FD_ENOTFOUND);
    assert_null(p);
}

static void test_round_trip(void **state)
{
    (void)state;
    char *dir = fd_test_tmpdir();
    char *path = path_in(dir, "ix.snap");
    char *tmp = path_in(dir, "ix.snap.tmp");
    write_sample(path, 1);
    assert_int_not_equal(access(tmp, F_OK), 0); /* renamed away */
    fd_snap *s;
    fd_err err = {0};
    assert_int_equal(fd_snap_open(path, &s, &err), FD_OK);
    check_sample(s, 1);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(fd_snap_size(s), (size_t)st.st_size);
    assert_int_equal(fd_snap_verify(s, &err), FD_OK);

    /* Replacing the file leaves an open mapping on the old bytes. */
    write_sample(path, 2);
    check_sample(s, 1);
    fd_snap *s2;
    assert_int_equal(fd_snap_open(path, &s2, &err), FD_OK);
    check_sample(s2, 2);
    fd_snap_close(s2);
    fd_snap_close(s);
    fd_snap_close(NULL);

    /* A snapshot with no sections is valid. */
    fd_snap_writer *w;
    assert_int_equal(fd_snap_writer_new(path, &w, &err), FD_OK);
    assert_int_equal(fd_snap_writer_finish(w, &err), FD_OK);
    assert_int_equal(fd_snap_open(path, &s, &err), FD_OK);
    const void *p;
    size_t len;
    assert_int_equal(fd_snap_section(s, FD_SNAP_META, &p, &len), FD_ENOTFOUND);
    fd_snap_close(s);
    fd_free(path);
    fd_free(tmp);
    fd_test_rmrf(dir);
    fd_free(dir);
}

static char *slurp(const char *path, size_t *len)
{
    char *p;
    assert_int_equal(fd_file_read(path, 0, &p, len, NULL), FD_OK);
    return p;
}

static int open_bytes(const char *dir, const char *p, size_t len, fd_snap **s)
{
    char *path = fd_test_write(dir, "bad.snap", p, len);
    fd_err err = {0};
    int rc = fd_snap_open(path, s, &err);
    if (rc)
        assert_true(err.msg[0] != '\0');
    fd_free(path);
    return rc;
}

static void test_truncated_and_corrupt(void **state)
{
    (void)state;
    char *dir = fd_test_tmpdir();
    char *path = path_in(dir, "ix.snap");
    write_sample(path, 3);
    size_t len;
    char *good = slurp(path, &len);
    fd_snap *s;
    /* Every truncation is refused: the header records the exact size. */
    for (size_t cut = 0; cut < len; cut += cut < 200 ? 1 : 61)
        assert_int_equal(open_bytes(dir, good, cut, &s), FD_EFORMAT);
    /* Header and table damage: magic, version, size, table, checksum. */
    size_t table = len - 3 * 32;
    size_t spots[] = {0, 7, 8, 12, 16, 24, 32, 40, table, table + 8, table + 16, len - 1};
    char *bad = fd_malloc(len);
    for (size_t i = 0; i < sizeof spots / sizeof spots[0]; i++) {
        memcpy(bad, good, len);
        bad[spots[i]] ^= 0x10;
        int rc = open_bytes(dir, bad, len, &s);
        if (spots[i] >= 40 && spots[i] < 64) { /* reserved header bytes */
            assert_int_equal(rc, FD_OK);
            fd_snap_close(s);
        } else {
            assert_int_equal(rc, FD_EFORMAT);
        }
    }
    /* Payload damage passes open (no hashing at start) but not verify. */
    memcpy(bad, good, len);
    bad[64 + 10] ^= 1;
    assert_int_equal(open_bytes(dir, bad, len, &s), FD_OK);
    fd_err err = {0};
    assert_int_equal(fd_snap_verify(s, &err), FD_EFORMAT);
    fd_snap_close(s);
    /* Random garbage of any size, and random bytes over a good file. */
    srand(7);
    for (int t = 0; t < 300; t++) {
        memcpy(bad, good, len);
        size_t n = t < 100 ? (size_t)rand() % len : len;
        for (int f = 0; f < 1 + t % 5; f++)
            bad[(size_t)rand() % len] = (char)rand();
        if (t % 50 == 0)
            for (size_t i = 0; i < n; i++)
                bad[i] = (char)rand();
        int rc = open_bytes(dir, bad, n, &s);
        assert_true(rc == FD_OK || rc == FD_EFORMAT);
        if (!rc)
            fd_snap_close(s);
    }
    assert_int_equal(fd_snap_open("/nonexistent/ix.snap", &s, &err), FD_ENOTFOUND);
    fd_free(bad);
    fd_free(good);
    fd_free(path);
    fd_test_rmrf(dir);
    fd_free(dir);
}

static void test_writer_errors(void **state)
{
    (void)state;
    fd_err err = {0};
    fd_snap_writer *w;
    assert_int_equal(fd_snap_writer_new("/nonexistent/dir/ix.snap", &w, &err), FD_EIO);
    assert_null(w);
    assert_int_equal(fd_snap_writer_new("", &w, &err), FD_EINVAL);
    char *dir = fd_test_tmpdir();
    char *path = path_in(dir, "ix.snap");
    char *tmp = path_in(dir, "ix.snap.tmp");
    assert_int_equal(fd_snap_writer_new(path, &w, &err), FD_OK);
    assert_int_equal(fd_snap_writer_add(w, FD_SNAP_META, "abc", 3, &err), FD_OK);
    assert_int_equal(access(tmp, F_OK), 0);
    fd_snap_writer_abort(w); /* nothing published, nothing left over */
    assert_int_not_equal(access(tmp, F_OK), 0);
    assert_int_not_equal(access(path, F_OK), 0);
    fd_snap_writer_abort(NULL);
    /* Past the section limit. */
    assert_int_equal(fd_snap_writer_new(path, &w, &err), FD_OK);
    int rc = FD_OK;
    for (uint32_t tag = 1; tag < 100 && !rc; tag++)
        rc = fd_snap_writer_add(w, tag, "x", 1, &err);
    assert_int_equal(rc, FD_ETOOBIG);
    fd_snap_writer_abort(w);
    fd_free(path);
    fd_free(tmp);
    fd_test_rmrf(dir);
    fd_free(dir);
}

static int scenario(const char *path)
{
    fd_err err = {0};
    fd_snap_writer *w;
    int rc = fd_snap_writer_new(path, &w, &err);
    if (rc)
        return rc;
    rc = fd_snap_writer_add(w, FD_SNAP_META, "meta", 4, &err);
    if (rc) {
        fd_snap_writer_abort(w);
        return rc;
    }
    rc = fd_snap_writer_finish(w, &err);
    fd_snap *s;
    if (!rc)
        rc = fd_snap_open(path, &s, &err);
    if (!rc)
        fd_snap_close(s);
    return rc;
}

static void test_alloc_failure_loop(void **state)
{
    (void)state;
    char *dir = fd_test_tmpdir();
    char *path = path_in(dir, "ix.snap");
    size_t before = fd_alloc_bytes();
    int rc, n = 0;
    do {
        fd_alloc_fail_at(++n);
        rc = scenario(path);
        fd_alloc_fail_at(0);
        assert_true(rc == FD_OK || rc == FD_ENOMEM);
        assert_int_equal(fd_alloc_bytes(), before);
    } while (fd_alloc_failures() > 0);
    assert_int_equal(rc, FD_OK);
    fd_free(path);
    fd_test_rmrf(dir);
    fd_free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_truncated_and_corrupt),
        cmocka_unit_test(test_writer_errors),
        cmocka_unit_test(test_alloc_failure_loop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
