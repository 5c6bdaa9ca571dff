/* test_fold.c: fd_text_fold (src/text/fold.c): NFKC, case folding, accents
 * stripped, the ASCII fast path and its agreement with utf8proc. */
#include "support.h"
#include "text.h"

#include <ctype.h>
#include <string.h>

typedef struct fold_case {
    const char *in;
    const char *want;
} fold_case;

static const fold_case cases[] = {
    {"", ""},
    {"Hello World 42", "hello world 42"},
    {"Crème Brûlée", "creme brulee"},
    {"CRÈME BRÛLÉE", "creme brulee"},
    {"Ça coûte combien, l’emballage ?", "ca coute combien, l'emballage ?"},
    {"\xef\xac\x81ne", "fine"},         /* ﬁ ligature, NFKC */
    {"\xef\xbc\x91\xef\xbc\x92", "12"}, /* full-width digits */
    {"\xef\xbc\xa1\xef\xbc\xa2", "ab"}, /* full-width letters */
    {"Stra\xc3\x9f"
     "e",
     "strasse"},                                  /* ß case-folds to ss */
    {"c\xc5\x93ur \xc5\x92uvre", "coeur oeuvre"}, /* œ spelled out */
    {"e\xcc\x81t\xc3\xa9", "ete"},                /* combining acute and precomposed é */
    {"pack\xc2\xad"
     "aging",
     "packaging"}, /* soft hyphen is ignorable */
    {"take\xe2\x80\x90"
     "away",
     "take-away"}, /* U+2010 hyphen lumped */
    {"3\xe2\x80\x93"
     "5 days",
     "3-5 days"},                                          /* en dash lumped */
    {"\xce\xa3\xce\xbf\xcf\x86\xce\xaf\xce\xb1", "σοφια"}, /* Greek keeps its letters */
    {"10\xe2\x82\xac", "10\xe2\x82\xac"},                  /* € untouched */
    {"tab\tand\nnewline", "tab\tand\nnewline"},
};

static void test_table(void **state)
{
    (void)state;
    fd_arena *a = fd_arena_new(0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fd_str out;
        fd_err err = {0};
        int rc = fd_text_fold(fd_str_c(cases[i].in), a, &out, &err);
        if (rc)
            fail_msg("%s: rc %d (%s)", cases[i].in, rc, err.msg);
        if (out.len != strlen(cases[i].want) || memcmp(out.p, cases[i].want, out.len))
            fail_msg("fold(%s) = '%.*s', want '%s'", cases[i].in, (int)out.len, out.p,
                     cases[i].want);
        assert_true(fd_utf8_valid(out.p, out.len, NULL));
    }
    fd_arena_free(a);
}

static void test_invalid(void **state)
{
    (void)state;
    fd_arena *a = fd_arena_new(0);
    fd_err err = {0};
    fd_str out;
    assert_int_equal(fd_text_fold((fd_str){"abc\xff", 4}, a, &out, &err), FD_EUTF8);
    assert_non_null(strstr(err.msg, "byte 3"));
    assert_int_equal(fd_text_fold((fd_str){"a\0b", 3}, a, &out, &err), FD_EUTF8);
    assert_non_null(strstr(err.msg, "byte 1"));
    assert_int_equal(fd_text_fold((fd_str){NULL, 3}, a, &out, &err), FD_EINVAL);
    assert_int_equal(fd_text_fold((fd_str){NULL, 0}, a, &out, NULL), FD_OK);
    assert_int_equal(out.len, 0);
    fd_arena_free(a);
}

/* More code points than the on-stack scratch holds: the arena takes over,
 * and a capped arena says FD_ETOOBIG instead of overflowing. */
static void test_long_and_capped(void **state)
{
    (void)state;
    fd_buf b;
    fd_buf_init(&b, 0);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(fd_buf_append(&b, "\xc3\x89\xef\xb7\xba", 5), FD_OK); /* É + U+FDFA */
    fd_arena *a = fd_arena_new(0);
    fd_str out;
    assert_int_equal(fd_text_fold((fd_str){b.p, b.len}, a, &out, NULL), FD_OK);
    assert_int_equal(memcmp(out.p, "e\xd8\xb5\xd9\x84\xd9\x89", 7), 0); /* e + "صلى ..." */
    assert_true(fd_utf8_valid(out.p, out.len, NULL));
    fd_arena_free(a);

    a = fd_arena_new(256);
    fd_err err = {0};
    assert_int_equal(fd_text_fold((fd_str){b.p, b.len}, a, &out, &err), FD_ETOOBIG);
    char ascii[300];
    memset(ascii, 'A', sizeof ascii);
    assert_int_equal(fd_text_fold((fd_str){ascii, sizeof ascii}, a, &out, &err), FD_ETOOBIG);
    fd_arena_free(a);
    fd_buf_free(&b);
}

/* The ASCII fast path must give what utf8proc gives: fold each printable
 * ASCII character alone and next to an é (which forces utf8proc). */
static void test_ascii_agrees(void **state)
{
    (void)state;
    fd_arena *a = fd_arena_new(0);
    for (int c = 0x20; c < 0x7F; c++) {
        char fast[2] = {(char)c, 0};
        char slow[4] = {(char)c, '\xc3', '\xa9', 0};
        fd_str f, s;
        assert_int_equal(fd_text_fold(fd_str_c(fast), a, &f, NULL), FD_OK);
        assert_int_equal(fd_text_fold(fd_str_c(slow), a, &s, NULL), FD_OK);
        assert_int_equal(s.len, f.len + 1);
        if (memcmp(f.p, s.p, f.len) || s.p[f.len] != 'e')
            fail_msg("ASCII 0x%02x: fast '%s', utf8proc '%s'", c, f.p, s.p);
    }
    fd_arena_free(a);
}

static void test_has_phrase(void **state)
{
    (void)state;
    fd_str t = fd_str_c("we may sue you in court, it is an issue");
    assert_true(fd_text_has_phrase(t, "sue"));
    assert_true(fd_text_has_phrase(t, "in court"));
    assert_false(fd_text_has_phrase(fd_str_c("an issue"), "sue"));
    assert_false(fd_text_has_phrase(fd_str_c("courtesy"), "court"));
    assert_true(fd_text_has_phrase(fd_str_c("sue"), "sue"));
    assert_false(fd_text_has_phrase(fd_str_c("su"), "sue"));
    assert_false(fd_text_has_phrase(t, ""));
    /* a byte >= 0x80 is a letter: "sue" followed by an accented letter is no match */
    assert_false(fd_text_has_phrase(fd_str_c("sue\xc3\xa9"), "sue"));
}

/* The plain definitions both searches had before they jumped with memchr
 * (the same tests, every position): the fast ones must agree with them on
 * every text and word below. */
static int ref_phrase(fd_str t, const char *w, int bytes_are_letters)
{
    size_t k = strlen(w);
    for (size_t i = 0; k && i + k <= t.len; i++) {
        if (memcmp(t.p + i, w, k) != 0)
            continue;
        unsigned char b = i ? (unsigned char)t.p[i - 1] : 0,
                      e = i + k < t.len ? (unsigned char)t.p[i + k] : 0;
        int lb = i && (isalnum(b) || (bytes_are_letters && b >= 0x80));
        int le = i + k < t.len && (isalnum(e) || (bytes_are_letters && e >= 0x80));
        if (!lb && !le)
            return 1;
    }
    return 0;
}

static void test_has_word_agrees(void **state)
{
    (void)state;
    static const char *const texts[] = {"",
                                        "a",
                                        "aa",
                                        "aaab",
                                        "sue",
                                        "an issue",
                                        "we may sue you in court, it is an issue",
                                        "2 pkt cups, lids same qty pls",
                                        "cancel cancelled cancel",
                                        "jusqu'a quand ?",
                                        "caf\xc3\xa9 sue\xc3\xa9 \xc3\xa9sue",
                                        "x x-x x",
                                        "no-no no",
                                        "abcabcabd"};
    static const char *const words[] = {
        "a",  "aa",  "aab", "sue",    "issue",    "cancel",  "qty", "pls",      "x",
        "no", "x-x", "abd", "abcabd", "in court", "jusqu'a", "caf", "\xc3\xa9", "zz"};
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++)
        for (size_t j = 0; j < sizeof words / sizeof *words; j++) {
            fd_str t = fd_str_c(texts[i]);
            if (fd_text_has_word(t, words[j]) != ref_phrase(t, words[j], 0))
                fail_msg("has_word('%s', '%s')", texts[i], words[j]);
            if (fd_text_has_phrase(t, words[j]) != ref_phrase(t, words[j], 1))
                fail_msg("has_phrase('%s', '%s')", texts[i], words[j]);
        }
    assert_true(fd_text_has_word(fd_str_c("aa aab"), "aab")); /* a false start first */
    assert_false(fd_text_has_word(fd_str_c("aaab"), "aab"));  /* inside a word */
    assert_true(fd_text_has_word(fd_str_c("x abcabd"), "abcabd"));
    assert_false(fd_text_has_word(fd_str_c("cancelled"), "cancel"));
    assert_true(fd_text_has_word(fd_str_c("caf\xc3\xa9"), "caf")); /* isalnum: 0x80+ is no letter */
    assert_false(fd_text_has_phrase(fd_str_c("caf\xc3\xa9"), "caf"));
    assert_false(fd_text_has_word((fd_str){NULL, 0}, "a"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),           cmocka_unit_test(test_has_phrase),
        cmocka_unit_test(test_has_word_agrees), cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_long_and_capped), cmocka_unit_test(test_ascii_agrees),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
