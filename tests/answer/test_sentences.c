/* test_sentences.c: sentence splitting keeps prices, times, abbreviations
 * and markers whole, and reads Markdown lists, tables and headings. */
#include "support.h"
#include "answer_int.h"

static char **split(fd_arena *a, const char *text, size_t *n)
{
    ans_sent *s;
    fd_err err;
    fd_str t = fd_str_c(text);
    assert_int_equal(ans_split(t, a, &s, n, &err), FD_OK);
    char **out = fd_arena_calloc(a, *n + 1, sizeof *out);
    for (size_t i = 0; i < *n; i++) {
        fd_str st;
        assert_int_equal(ans_sent_text(t, &s[i], a, &st, &err), FD_OK);
        out[i] = fd_arena_strndup(a, st.p, st.len);
    }
    return out;
}

static void test_split_table(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        size_t n;
        const char *first, *last;
    } cases[] = {
        {"Delivery costs S$1.20 per km. We open at 9:00 am. Thanks!", 3,
         "Delivery costs S$1.20 per km.", "Thanks!"},
        {"Harbour Pack Supplies Pte. Ltd. is in Tuas. Bring ID, e.g. a passport.", 2,
         "Harbour Pack Supplies Pte. Ltd. is in Tuas.", "Bring ID, e.g. a passport."},
        {"We open at 9:00 am. Orders by 3:00 pm ship today.", 2, "We open at 9:00 am.",
         "Orders by 3:00 pm ship today."},
        {"# Title\n\nIntro line\nwraps here.\n\n- First item\n- Second item: 7 days\n1. Step one",
         5, "Title", "Step one"},
        {"Report within 7 days [1]. We reply within 2 working days [2].", 2,
         "Report within 7 days [1].", "We reply within 2 working days [2]."},
        {"It costs S$18. [1] Free from S$250.", 2, "It costs S$18. [1]", "Free from S$250."},
        {"| Size | Kraft |\n|---|---|\n| 12-inch | S$21.00 |\n", 1, "12-inch: Kraft S$21.00",
         "12-inch: Kraft S$21.00"},
        {"---\ntitle: x\n---\nBody only.", 1, "Body only.", "Body only."},
        /* catalogue fields read with labels, the unit in the label */
        {"code: PB-1201\nname: Pizza box\nunit_price_sgd: 21.00", 3, "Code: PB-1201",
         "Unit price (SGD): 21.00"},
        {"sku: T2\nstock_qty: 40\nweight_kg: 2.5\nprice_gbp: n/a", 4, "SKU: T2",
         "Price (GBP): n/a"},
        {"delivery_days: 3", 1, "Delivery (days): 3", "Delivery (days): 3"},
        /* a blank header ("| |", PDF/DOCX/HTML tables without one) is a
         * header, not layout: the first row stays a row */
        {"| |\n| Standard | 4.95 |\n| Next day | 9.95 |", 2, "Standard: 4.95", "Next day: 9.95"},
        {"approx. half of them. Done", 2, "approx. half of them.", "Done"},
        {"", 0, NULL, NULL},
        {"   \n\n  \t", 0, NULL, NULL},
    };
    fd_arena *a = fd_arena_new(0);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        size_t n;
        char **s = split(a, cases[i].in, &n);
        if (n != cases[i].n)
            fail_msg("case %zu: %zu sentences, want %zu", i, n, cases[i].n);
        if (n) {
            assert_string_equal(s[0], cases[i].first);
            assert_string_equal(s[n - 1], cases[i].last);
        }
    }
    fd_arena_free(a);
}

static void test_split_long_and_kinds(void **state)
{
    (void)state;
    fd_arena *a = fd_arena_new(0);
    fd_buf b;
    fd_buf_init(&b, 0);
    for (int i = 0; i < 5000; i++)
        assert_int_equal(fd_buf_printf(&b, "word%d ", i), FD_OK);
    size_t n;
    char **s = split(a, b.p, &n);
    assert_int_equal(n, 1);
    assert_true(strlen(s[0]) > 30000);
    fd_buf_free(&b);

    ans_sent *v;
    fd_err err;
    const char *md = "## Heading\n- item one\n| a | b |\n|---|---|\n| 1 | 2 |\nText.";
    assert_int_equal(ans_split(fd_str_c(md), a, &v, &n, &err), FD_OK);
    assert_int_equal(n, 4);
    assert_int_equal(v[0].kind, ANS_HEADING);
    assert_int_equal(v[0].level, 2);
    assert_int_equal(v[1].kind, ANS_ITEM);
    assert_int_equal(v[2].kind, ANS_ROW);
    assert_int_equal(v[3].kind, ANS_TEXT);
    /* A heading with no text pushes nothing and changes no other
     * sentence's level (found by fuzz_answer: it wrote before the array). */
    assert_int_equal(ans_split(fd_str_c("###\nText."), a, &v, &n, &err), FD_OK);
    assert_int_equal(n, 1);
    assert_int_equal(v[0].kind, ANS_TEXT);
    assert_int_equal(ans_split(fd_str_c("# One\n##\nText."), a, &v, &n, &err), FD_OK);
    assert_int_equal(n, 2);
    assert_int_equal(v[0].level, 1);
    fd_arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_table),
        cmocka_unit_test(test_split_long_and_kinds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
