/* test_utf8.c: strict UTF-8 validation (src/text/utf8.c): overlongs,
 * surrogates, truncation, NUL and the U+10FFFF ceiling. */
#include "support.h"
#include "text.h"

#include <string.h>

typedef struct utf8_case {
    const char *name;
    const char *p;
    size_t len;
    int valid;
    size_t bad_at; /* when invalid */
} utf8_case;

#define C(name, lit, valid, bad)                                                                   \
    {                                                                                              \
        name, lit, sizeof(lit) - 1, valid, bad                                                     \
    }

static const utf8_case cases[] = {
    C("empty", "", 1, 0),
    C("ascii", "Hello, world", 1, 0),
    C("2-byte", "cr\xc3\xa8me", 1, 0),
    C("3-byte euro", "10\xe2\x82\xac", 1, 0),
    C("4-byte emoji", "ok \xf0\x9f\x98\x80", 1, 0),
    C("max code point U+10FFFF", "\xf4\x8f\xbf\xbf", 1, 0),
    C("U+FFFF is valid", "\xef\xbf\xbf", 1, 0),
    C("NUL",
      "ab\x00"
      "c",
      0, 2),
    C("overlong slash 2-byte", "a\xc0\xaf", 0, 1),
    C("overlong C1", "\xc1\xbf", 0, 0),
    C("overlong 3-byte", "xy\xe0\x80\xaf", 0, 2),
    C("overlong 4-byte", "\xf0\x80\x80\xaf", 0, 0),
    C("surrogate D800", "a\xed\xa0\x80", 0, 1),
    C("surrogate DFFF", "\xed\xbf\xbf", 0, 0),
    C("above U+10FFFF", "\xf4\x90\x80\x80", 0, 0),
    C("F5 lead byte", "\xf5\x80\x80\x80", 0, 0),
    C("FF byte", "abc\xff", 0, 3),
    C("lone continuation", "\x80", 0, 0),
    C("truncated 2-byte", "abc\xc3", 0, 3),
    C("truncated 3-byte", "\xe2\x82", 0, 0),
    C("truncated 4-byte", "ok\xf0\x9f\x98", 0, 2),
    C("bad continuation", "\xc3\x28", 0, 0),
    C("second char bad", "\xc3\xa9\xe2\x28\xa1", 0, 2),
};

static void test_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const utf8_case *c = &cases[i];
        size_t bad = 12345;
        int v = fd_utf8_valid(c->p, c->len, &bad);
        if (v != c->valid)
            fail_msg("%s: valid=%d, want %d", c->name, v, c->valid);
        if (!v && bad != c->bad_at)
            fail_msg("%s: bad_at=%zu, want %zu", c->name, bad, c->bad_at);
        assert_int_equal(fd_utf8_valid(c->p, c->len, NULL), c->valid); /* NULL is fine */
    }
}

/* Every code point from 1 to U+10FFFF, encoded by hand, is valid exactly
 * when it is not a surrogate. */
static void test_all_code_points(void **state)
{
    (void)state;
    for (uint32_t cp = 1; cp <= 0x10FFFF; cp++) {
        unsigned char b[4];
        size_t n;
        if (cp < 0x80) {
            b[0] = (unsigned char)cp;
            n = 1;
        } else if (cp < 0x800) {
            b[0] = (unsigned char)(0xC0 | cp >> 6);
            b[1] = (unsigned char)(0x80 | (cp & 0x3F));
            n = 2;
        } else if (cp < 0x10000) {
            b[0] = (unsigned char)(0xE0 | cp >> 12);
            b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
            b[2] = (unsigned char)(0x80 | (cp & 0x3F));
            n = 3;
        } else {
            b[0] = (unsigned char)(0xF0 | cp >> 18);
            b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
            b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
            b[3] = (unsigned char)(0x80 | (cp & 0x3F));
            n = 4;
        }
        int want = !(cp >= 0xD800 && cp <= 0xDFFF);
        if (fd_utf8_valid((const char *)b, n, NULL) != want)
            fail_msg("U+%04X: want %d", (unsigned)cp, want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_all_code_points),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
