/* test_lang.c: language codes and fd_text_guess_lang (src/text/lang.c). */
#include "support.h"
#include "text.h"

#include <string.h>

typedef struct guess_case {
    const char *in;
    fd_lang want;
} guess_case;

static const guess_case cases[] = {
    {"Hello, where is my order?", FD_LANG_EN},
    {"I would like to know the price of the 12-inch boxes", FD_LANG_EN},
    {"Can you deliver to my shop on Monday?", FD_LANG_EN},
    {"thanks", FD_LANG_EN},
    {"Bonjour, où est ma commande ?", FD_LANG_FR},
    {"Je voudrais savoir le prix des boîtes", FD_LANG_FR},
    {"L'emballage est abîmé", FD_LANG_FR},
    {"Pouvez-vous livrer lundi à mon magasin ?", FD_LANG_FR},
    {"merci", FD_LANG_FR},
    {"café crème", FD_LANG_FR},
    {"PB-1203", FD_LANG_UNKNOWN},
    {"12-inch 500ml S$1.20", FD_LANG_UNKNOWN},
    {"", FD_LANG_UNKNOWN},
    {"Xylophone", FD_LANG_UNKNOWN},
    {"a", FD_LANG_UNKNOWN}, /* a stopword of both */
};

static void test_guess(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fd_lang got = fd_text_guess_lang(fd_str_c(cases[i].in));
        if (got != cases[i].want)
            fail_msg("guess('%s') = '%s', want '%s'", cases[i].in, fd_lang_code(got),
                     fd_lang_code(cases[i].want));
    }
    assert_int_equal(fd_text_guess_lang((fd_str){NULL, 5}), FD_LANG_UNKNOWN);
    assert_int_equal(fd_text_guess_lang((fd_str){"the \xff order", 11}), FD_LANG_UNKNOWN);
}

/* Only the first 4 KiB is read, cut on a character boundary. */
static void test_guess_long(void **state)
{
    (void)state;
    fd_buf b;
    fd_buf_init(&b, 0);
    while (b.len < 4094)
        assert_int_equal(fd_buf_append(&b, "é", 2), FD_OK);
    assert_int_equal(fd_buf_append(&b, " the and of to", 14), FD_OK);
    assert_int_equal(fd_text_guess_lang((fd_str){b.p, b.len}), FD_LANG_FR);
    fd_buf_reset(&b);
    for (int i = 0; i < 2000; i++)
        assert_int_equal(fd_buf_append(&b, "the box ", 8), FD_OK);
    assert_int_equal(fd_buf_append(&b, "\xff", 1), FD_OK); /* past the window */
    assert_int_equal(fd_text_guess_lang((fd_str){b.p, b.len}), FD_LANG_EN);
    fd_buf_free(&b);
}

static void test_codes(void **state)
{
    (void)state;
    assert_string_equal(fd_lang_code(FD_LANG_EN), "en");
    assert_string_equal(fd_lang_code(FD_LANG_FR), "fr");
    assert_string_equal(fd_lang_code(FD_LANG_UNKNOWN), "");
    assert_string_equal(fd_lang_code((fd_lang)99), "");
    assert_int_equal(fd_lang_parse("en"), FD_LANG_EN);
    assert_int_equal(fd_lang_parse("english"), FD_LANG_EN);
    assert_int_equal(fd_lang_parse("fr"), FD_LANG_FR);
    assert_int_equal(fd_lang_parse("french"), FD_LANG_FR);
    assert_int_equal(fd_lang_parse("de"), FD_LANG_UNKNOWN);
    assert_int_equal(fd_lang_parse(""), FD_LANG_UNKNOWN);
    assert_int_equal(fd_lang_parse(NULL), FD_LANG_UNKNOWN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_guess),
        cmocka_unit_test(test_guess_long),
        cmocka_unit_test(test_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
