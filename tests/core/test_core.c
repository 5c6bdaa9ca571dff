/* test_core.c: errors, arenas, buffers, allocation failure, config. */
#include "support.h"

#include <stdlib.h>
#include <string.h>

static void test_err(void **state)
{
    (void)state;
    fd_err err = {0};
    assert_int_equal(fd_err_set(&err, FD_EINVAL, "bad %d", 7), FD_EINVAL);
    assert_string_equal(err.msg, "bad 7");
    assert_int_equal(fd_err_set_field(&err, FD_ETOOBIG, "message", "x"), FD_ETOOBIG);
    assert_string_equal(err.field, "message");
    assert_int_equal(fd_err_set(NULL, FD_EIO, "ignored"), FD_EIO);
    assert_string_equal(fd_code_name(FD_EUTF8), "invalid_utf8");
    assert_string_equal(fd_code_name(999), "unknown");
}

static void test_arena(void **state)
{
    (void)state;
    fd_arena *a = fd_arena_new(1 << 20);
    assert_non_null(a);
    char *s = fd_arena_strndup(a, "hello world", 5);
    assert_string_equal(s, "hello");
    /* Many allocations cross block boundaries and stay aligned. */
    for (int i = 0; i < 1000; i++) {
        void *p = fd_arena_alloc(a, (size_t)(i % 97) + 1);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 16, 0);
    }
    /* The cap turns into NULL and full, not unbounded growth. */
    assert_null(fd_arena_alloc(a, 2 << 20));
    assert_true(fd_arena_full(a));
    fd_arena_reset(a);
    assert_int_equal(fd_arena_used(a), 0);
    assert_false(fd_arena_full(a));
    assert_string_equal(fd_arena_printf(a, "%d-%s", 12, "inch"), "12-inch");
    fd_arena_free(a);
}

static void test_buf(void **state)
{
    (void)state;
    fd_buf b;
    fd_buf_init(&b, 16);
    assert_int_equal(fd_buf_append(&b, "0123456789", 10), FD_OK);
    assert_int_equal(fd_buf_printf(&b, "%s", "abcdef"), FD_OK);
    assert_int_equal(b.len, 16);
    assert_int_equal(fd_buf_putc(&b, 'x'), FD_ETOOBIG);
    assert_int_equal(b.len, 16); /* nothing partial */
    fd_buf_free(&b);

    fd_buf_init(&b, 0);
    assert_int_equal(fd_buf_json_str(&b, "a\"b\\c\n<x>\x01", 10), FD_OK);
    assert_string_equal(b.p, "\"a\\\"b\\\\c\\n\\u003cx\\u003e\\u0001\"");
    /* Well-formed UTF-8 passes; each ill-formed byte (stray continuation,
     * overlong, surrogate, truncated) becomes U+FFFD, so output is UTF-8. */
    fd_buf_reset(&b);
    assert_int_equal(fd_buf_json_str(&b, "caf\xc3\xa9 \xf0\x9f\x93\xa6", 10), FD_OK);
    assert_string_equal(b.p, "\"caf\xc3\xa9 \xf0\x9f\x93\xa6\"");
    fd_buf_reset(&b);
    assert_int_equal(fd_buf_json_str(&b, "a\xff\xc0\xaf\xed\xa0\x80z\xe2\x82", 10), FD_OK);
    assert_string_equal(b.p, "\"a\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffdz\\ufffd\\ufffd\"");
    char *t = fd_buf_take(&b);
    assert_null(b.p);
    fd_free(t);
}

/* Every allocation failing in turn never crashes or leaks (STYLE.md §9). */
static int scenario(void)
{
    fd_arena *a = fd_arena_new(0);
    if (!a)
        return FD_ENOMEM;
    int rc = FD_OK;
    for (int i = 0; i < 50 && !rc; i++)
        if (!fd_arena_alloc(a, 3000))
            rc = FD_ENOMEM;
    fd_buf b;
    fd_buf_init(&b, 0);
    for (int i = 0; i < 100 && !rc; i++)
        rc = fd_buf_printf(&b, "line %d\n", i);
    fd_buf_free(&b);
    fd_arena_free(a);
    return rc;
}

static void test_alloc_failure_loop(void **state)
{
    (void)state;
    size_t before = fd_alloc_bytes();
    int rc, n = 0;
    do {
        fd_alloc_fail_at(++n);
        rc = scenario();
        fd_alloc_fail_at(0);
        assert_true(rc == FD_OK || rc == FD_ENOMEM);
        assert_int_equal(fd_alloc_bytes(), before);
    } while (fd_alloc_failures() > 0);
    assert_int_equal(rc, FD_OK);
    assert_true(n > 5);
}

static void test_config(void **state)
{
    (void)state;
    fd_config cfg;
    fd_err err = {0};
    char *dir = fd_test_tmpdir();
    const char toml[] = "# comment\ndata_dir = \"/tmp/x\"\n[index]\nk1 = 1.5 # inline\n"
                        "quantize = false\n[search]\nmode = \"bm25\"\n";
    char *path = fd_test_write(dir, "frontdesk.toml", toml, sizeof toml - 1);
    unsetenv("FRONTDESK_INDEX_B");
    setenv("FRONTDESK_INDEX_K1", "1.1", 1);
    assert_int_equal(fd_config_load(&cfg, path, &err), FD_OK);
    assert_string_equal(cfg.data_dir, "/tmp/x");
    assert_float_equal(cfg.bm25_k1, 1.1, 1e-9); /* env beats file */
    assert_float_equal(cfg.bm25_b, 0.4, 1e-9);  /* default */
    assert_int_equal(cfg.quantize, 0);
    assert_string_equal(cfg.search_mode, "bm25");
    unsetenv("FRONTDESK_INDEX_K1");

    const char json[] = "{\"index\":{\"k1\":2,\"dense_dim\":64},\"log\":{\"format\":\"json\"}}";
    char *jpath = fd_test_write(dir, "frontdesk.json", json, sizeof json - 1);
    assert_int_equal(fd_config_load(&cfg, jpath, &err), FD_OK);
    assert_float_equal(cfg.bm25_k1, 2.0, 1e-9);
    assert_int_equal(cfg.dense_dim, 64);
    assert_string_equal(cfg.log_format, "json");

    /* Bad values name the key and the place. */
    const char bad[] = "[search]\nmode = \"fuzzy\"\n";
    char *bpath = fd_test_write(dir, "bad.toml", bad, sizeof bad - 1);
    assert_int_equal(fd_config_load(&cfg, bpath, &err), FD_EINVAL);
    assert_non_null(strstr(err.msg, "search.mode"));
    assert_non_null(strstr(err.msg, "bad.toml:2"));
    assert_int_equal(fd_config_set(&cfg, "index.b", "1.5", &err), FD_EINVAL);
    assert_int_equal(fd_config_set(&cfg, "nope", "1", &err), FD_EINVAL);
    assert_int_equal(fd_config_set(&cfg, "search.k", "2.5", &err), FD_EINVAL);
    assert_int_equal(fd_config_load(&cfg, "/nonexistent/x.toml", &err), FD_ENOTFOUND);
    setenv("FRONTDESK_SEARCH_K", "abc", 1);
    assert_int_equal(fd_config_load(&cfg, jpath, &err), FD_EINVAL);
    assert_non_null(strstr(err.msg, "FRONTDESK_SEARCH_K"));
    unsetenv("FRONTDESK_SEARCH_K");

    /* store.url: a PostgreSQL URL or nothing; its password never shown. */
    char where[600];
    assert_int_equal(fd_config_load(&cfg, jpath, &err), FD_OK);
    fd_config_store_path(&cfg, where, sizeof where);
    assert_string_equal(where, "./var/frontdesk.db");
    setenv("FRONTDESK_STORE_URL", "mysql://x", 1);
    assert_int_equal(fd_config_load(&cfg, jpath, &err), FD_EINVAL);
    assert_string_equal(err.field, "store.url");
    setenv("FRONTDESK_STORE_URL", "postgresql://fd:s3cret@db.internal:5432/fd", 1);
    assert_int_equal(fd_config_load(&cfg, jpath, &err), FD_OK);
    fd_config_store_path(&cfg, where, sizeof where);
    assert_string_equal(where, "postgresql://fd:s3cret@db.internal:5432/fd");
    fd_config_store_shown(&cfg, where, sizeof where);
    assert_string_equal(where, "postgresql://fd:***@db.internal:5432/fd");
    setenv("FRONTDESK_STORE_URL", "postgres://db.internal/fd", 1);
    assert_int_equal(fd_config_load(&cfg, jpath, &err), FD_OK);
    fd_config_store_shown(&cfg, where, sizeof where);
    assert_string_equal(where, "postgres://db.internal/fd");
    unsetenv("FRONTDESK_STORE_URL");

    /* The sample file parses back to the defaults. */
    char *spath = fd_test_write(dir, "sample.toml", "", 0);
    FILE *f = fopen(spath, "w");
    fd_config_write_sample(f);
    fclose(f);
    fd_config def;
    fd_config_defaults(&def);
    assert_int_equal(fd_config_load(&cfg, spath, &err), FD_OK);
    assert_memory_equal(&cfg, &def, sizeof cfg);

    fd_free(path);
    fd_free(jpath);
    fd_free(bpath);
    fd_free(spath);
    fd_test_rmrf(dir);
    fd_free(dir);
}

static void test_misc(void **state)
{
    (void)state;
    char hex[65];
    fd_sha256_hex("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_int_not_equal(fd_hash64("a", 1, 0), fd_hash64("b", 1, 0));
    assert_true(fd_rss_now() > 0);
    uint64_t t0 = fd_time_ns();
    assert_true(fd_time_ns() >= t0);
    /* fd_str_eq_c: the length and every byte, stopping at the first miss */
    assert_true(fd_str_eq_c(fd_str_c("day"), "day"));
    assert_true(fd_str_eq_c((fd_str){NULL, 0}, ""));
    assert_false(fd_str_eq_c((fd_str){NULL, 0}, "a"));
    assert_false(fd_str_eq_c(fd_str_c("da"), "day"));   /* a prefix of s */
    assert_false(fd_str_eq_c(fd_str_c("days"), "day")); /* s a prefix of it */
    assert_false(fd_str_eq_c(fd_str_c("dax"), "day"));
    assert_false(fd_str_eq_c((fd_str){"a\0b", 3}, "a"));  /* a NUL inside is a byte */
    assert_true(fd_str_eq_c((fd_str){"dayz", 3}, "day")); /* not NUL-terminated */
}

/* gcc says __SANITIZE_ADDRESS__, clang __has_feature(address_sanitizer) */
#if defined(__SANITIZE_ADDRESS__)
#define FD_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FD_TEST_ASAN 1
#endif
#endif
#ifndef FD_TEST_ASAN
#define FD_TEST_ASAN 0
#endif

/* The heap's figures and the arena cap (the soak's heap growth: bench/RESULTS.md). */
static void test_heap(void **state)
{
    (void)state;
    fd_heap_stats hs;
#if defined(__GLIBC__) && !FD_TEST_ASAN &&                                                         \
    (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
    assert_int_equal(fd_heap_stats_now(&hs), FD_OK);
    size_t before = hs.in_use;
    void *big = malloc((size_t)4 << 20); /* served by mmap: in_use and mmapped */
    assert_non_null(big);
    memset(big, 1, (size_t)4 << 20);
    assert_int_equal(fd_heap_stats_now(&hs), FD_OK);
    assert_true(hs.in_use >= before + ((size_t)4 << 20));
    assert_true(hs.mmapped >= ((size_t)4 << 20) && hs.mmapped <= hs.in_use);
    free(big);
    unsetenv("MALLOC_ARENA_MAX");
    assert_int_equal(fd_mem_limit_arenas(2), 2);
    assert_int_equal(fd_mem_fix_mmap_threshold((size_t)256 << 10), 1);
    void *mid = malloc((size_t)300 << 10); /* above it: its own mapping, whatever freed before */
    assert_non_null(mid);
    assert_int_equal(fd_heap_stats_now(&hs), FD_OK);
    assert_true(hs.mmapped >= ((size_t)300 << 10));
    free(mid);
    assert_int_equal(fd_mem_limit_arenas(0), 0); /* 0: left as it is */
#else
    int rc = fd_heap_stats_now(&hs); /* a sanitizer's allocator: no arenas to count */
    (void)rc;
#endif
    setenv("MALLOC_ARENA_MAX", "3", 1); /* the environment wins */
#ifdef __GLIBC__
    assert_int_equal(fd_mem_limit_arenas(2), 3);
    setenv("MALLOC_ARENA_MAX", "-1", 1); /* not a count: glibc's default */
    assert_int_equal(fd_mem_limit_arenas(2), 0);
    unsetenv("MALLOC_ARENA_MAX");
    setenv("GLIBC_TUNABLES", "glibc.malloc.arena_max=5", 1);
    assert_int_equal(fd_mem_limit_arenas(2), 0);
    unsetenv("GLIBC_TUNABLES");
    setenv("MALLOC_ARENA_MAX", "", 1);
    setenv("MALLOC_MMAP_THRESHOLD_", "131072", 1); /* the environment wins */
    assert_int_equal(fd_mem_fix_mmap_threshold((size_t)256 << 10), 0);
    unsetenv("MALLOC_MMAP_THRESHOLD_");
    unsetenv("MALLOC_ARENA_MAX");
#endif
    unsetenv("MALLOC_ARENA_MAX");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_err),    cmocka_unit_test(test_arena),
        cmocka_unit_test(test_buf),    cmocka_unit_test(test_alloc_failure_loop),
        cmocka_unit_test(test_config), cmocka_unit_test(test_misc),
        cmocka_unit_test(test_heap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
