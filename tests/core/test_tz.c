/* test_tz.c: IANA zones from the system's zoneinfo: offsets with daylight
 * saving on both sides of a transition, zones without DST, refusal of bad
 * names and of damaged files (every truncation of a real one). */
#include "core.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

/* 2026-03-29 01:00 UTC: the UK moves to BST. */
#define UK_SPRING 1774746000LL

static fd_tz *load(const char *name)
{
    fd_tz *tz = NULL;
    fd_err err = {0};
    int rc = fd_tz_load(name, &tz, &err);
    if (rc)
        fail_msg("%s: %s", name, err.msg);
    return tz;
}

static void test_offsets(void **state)
{
    (void)state;
    fd_tz *uk = load("Europe/London");
    assert_int_equal(fd_tz_offset_s(uk, 1768478400), 0);           /* 2026-01-15 12:00 UTC */
    assert_int_equal(fd_tz_offset_s(uk, 1784116800), 3600);        /* 2026-07-15 12:00 UTC */
    assert_int_equal(fd_tz_offset_s(uk, UK_SPRING - 1), 0);        /* 00:59:59 GMT */
    assert_int_equal(fd_tz_offset_s(uk, UK_SPRING), 3600);         /* 02:00 BST */
    assert_int_equal(fd_tz_offset_s(uk, -5000000000LL), fd_tz_offset_s(uk, -5000000000LL)); /* no crash before the first */
    fd_tz_free(uk);
    fd_tz *ny = load("America/New_York");
    assert_int_equal(fd_tz_offset_s(ny, 1768478400), -5 * 3600);
    assert_int_equal(fd_tz_offset_s(ny, 1784116800), -4 * 3600);
    fd_tz_free(ny);
    fd_tz *sg = load("Asia/Singapore");
    assert_int_equal(fd_tz_offset_s(sg, 1768478400), 8 * 3600);
    assert_int_equal(fd_tz_offset_s(sg, 1784116800), 8 * 3600);
    fd_tz_free(sg);
    fd_tz *syd = load("Australia/Sydney"); /* southern summer in January */
    assert_int_equal(fd_tz_offset_s(syd, 1768478400), 11 * 3600);
    assert_int_equal(fd_tz_offset_s(syd, 1784116800), 10 * 3600);
    fd_tz_free(syd);
}

static void test_bad_names(void **state)
{
    (void)state;
    const char *bad[] = {"", "../../etc/passwd", "/etc/localtime", "Europe/London ", "Nowhere/Zone",
                         "Europe/..", "a;b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fd_tz *tz = (fd_tz *)1;
        fd_err err = {0};
        assert_int_equal(fd_tz_load(bad[i], &tz, &err), FD_EINVAL);
        assert_null(tz);
        assert_true(err.msg[0] != '\0');
    }
}

/* Every prefix of a real file, and the file with bytes flipped: refused or
 * read, never a crash (ASan watches). */
static void test_damaged_files(void **state)
{
    (void)state;
    char *p = NULL;
    size_t n = 0;
    fd_err err = {0};
    assert_int_equal(fd_file_read("/usr/share/zoneinfo/Europe/London", 1 << 20, &p, &n, &err),
                     FD_OK);
    for (size_t len = 0; len < n; len++) {
        fd_tz *tz = NULL;
        if (fd_tz_parse((const unsigned char *)p, len, &tz, &err) == FD_OK) {
            (void)fd_tz_offset_s(tz, 0);
            fd_tz_free(tz);
        }
    }
    for (size_t i = 4; i < n; i += 7) {
        unsigned char saved = (unsigned char)p[i];
        p[i] = (char)(saved ^ 0xA5);
        fd_tz *tz = NULL;
        if (fd_tz_parse((const unsigned char *)p, n, &tz, &err) == FD_OK) {
            (void)fd_tz_offset_s(tz, 1784116800);
            fd_tz_free(tz);
        }
        p[i] = (char)saved;
    }
    fd_tz *tz = NULL;
    assert_int_equal(fd_tz_parse((const unsigned char *)"TZif", 4, &tz, &err), FD_EFORMAT);
    assert_int_equal(fd_tz_parse((const unsigned char *)"hello world, not a zone file at all......"
                                                        "........",
                                 50, &tz, &err),
                     FD_EFORMAT);
    fd_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_offsets),
        cmocka_unit_test(test_bad_names),
        cmocka_unit_test(test_damaged_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
