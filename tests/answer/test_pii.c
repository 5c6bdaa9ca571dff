/* test_pii.c: customer contact details are redacted; the company's own,
 * found in the sources, are kept; prices, codes and dates are untouched. */
#include "support.h"
#include "answer_int.h"

static void test_redact(void **state)
{
    (void)state;
    static const char *keep = "Call +65 6812 4470 or email orders@harbourpack.com.sg.";
    static const struct {
        const char *in, *out;
        size_t n;
    } cases[] = {
        {"Call us on +65 6812 4470.", "Call us on +65 6812 4470.", 0},
        {"Call us on 6812 4470.", "Call us on 6812 4470.", 0},
        {"Email Orders@HarbourPack.com.sg today.", "Email Orders@HarbourPack.com.sg today.", 0},
        {"We will call you on +65 9123 4567.", "We will call you on [redacted].", 1},
        {"Reply to jane.tan@example.com.", "Reply to [redacted].", 1},
        {"Card 4111 1111 1111 1111 was declined.", "Card [redacted] was declined.", 1},
        {"S$1,200 order HP-240517 on 12/03/2024, postal code 639103.",
         "S$1,200 order HP-240517 on 12/03/2024, postal code 639103.", 0},
        {"", "", 0},
    };
    fd_arena *a = fd_arena_new(0);
    fd_err err;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        fd_str out;
        size_t n;
        assert_int_equal(fd_pii_redact(fd_str_c(cases[i].in), fd_str_c(keep), a, &out, &n, &err),
                         FD_OK);
        assert_string_equal(out.p, cases[i].out);
        assert_int_equal(n, cases[i].n);
    }
    fd_str out;
    assert_int_equal(fd_pii_redact(fd_str_c("+65 6812 4470"), (fd_str){"", 0}, a, &out, NULL, &err),
                     FD_OK);
    assert_string_equal(out.p, "[redacted]");
    const char bad[] = "call \xc3";
    assert_int_equal(fd_pii_redact((fd_str){bad, sizeof bad - 1}, fd_str_c(keep), a, &out, NULL,
                                   &err),
                     FD_EUTF8);
    fd_arena_free(a);
    fd_arena *tiny = fd_arena_new(16);
    assert_int_equal(fd_pii_redact(fd_str_c("a long enough text to pass the cap"), fd_str_c(keep),
                                   tiny, &out, NULL, &err),
                     FD_ETOOBIG);
    fd_arena_free(tiny);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_redact)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
