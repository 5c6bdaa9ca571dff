/* test_validate.c: verdicts of the answer gate on small, exact cases, odd
 * input, and the behaviour when memory runs out. */
#include "support.h"
#include "answer_int.h"

static const fd_passage psg[] = {
    {"docs/cancellations.md", "Cancelling an order", "Cancelling an order > Stock orders",
     "Delivery orders: you can cancel free of charge until 5:00 pm on the working day before the "
     "delivery date. A handling fee of 10% applies after that.",
     1.0f},
    {"docs/delivery-fees.md", "Delivery fees", "Delivery fees > Standard",
     "Orders below S$250 before GST pay a delivery fee of S$18. Orders of S$250 and above get "
     "free delivery. Call +65 6812 4470 or email orders@harbourpack.com.sg.",
     0.9f},
};
static const char *const banned[] = {"free of charge", "we will waive the fee"};

typedef struct fixture {
    fd_analyzer *an;
    fd_arena *a;
} fixture;

static int setup(void **state)
{
    fixture *f = fd_calloc(1, sizeof *f);
    fd_err err;
    assert_int_equal(fd_analyzer_new(&f->an, &err), FD_OK);
    f->a = fd_arena_new(0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    fd_arena_free(f->a);
    fd_analyzer_free(f->an);
    fd_free(f);
    return 0;
}

static fd_validation check(fixture *f, const char *text, size_t n_psg)
{
    fd_validation v;
    fd_err err;
    fd_validate_opts o = {banned, 2, fd_str_c("order HP-240517"), FD_LANG_EN, 0};
    assert_int_equal(fd_answer_validate(f->an, fd_str_c(text), psg, n_psg, &o, f->a, &v, &err),
                     FD_OK);
    return v;
}

static void test_verdicts(void **state)
{
    fixture *f = *state;
    static const struct {
        const char *text;
        fd_val_reason want;
    } cases[] = {
        {"You can cancel free of charge until 5:00 pm on the working day before delivery [1].",
         FD_VAL_OK},
        {"Sure! Delivery is S$18 for orders below S$250 [2]. Let me know if you need anything "
         "else.",
         FD_VAL_OK},
        {"Happy to help! You can reply here to reach a person.", FD_VAL_OK},
        {"Your order HP-240517 can be cancelled until 5pm the working day before [1].", FD_VAL_OK},
        {"Delivery is S$18.00 below S$250 [2].", FD_VAL_OK},
        {"Delivery is S$20 for orders below S$250 [2].", FD_VAL_NUMBER},
        {"You can cancel until 6:00 pm on the working day before delivery [1].", FD_VAL_NUMBER},
        {"You can cancel until 5:00 pm [3].", FD_VAL_BAD_CITATION},
        {"You can cancel until 5:00 pm [0].", FD_VAL_BAD_CITATION},
        {"Delivery is free of charge from S$250 [2].", FD_VAL_BANNED}, /* [2] lacks the phrase */
        {"Delivery costs S$18 [2], but we will waive the fee.", FD_VAL_BANNED},
        {"We also offer free delivery to Malaysia.", FD_VAL_UNSUPPORTED},
        {"Our pizza dough recipe uses olive oil and fresh basil.", FD_VAL_UNSUPPORTED},
        {"", FD_VAL_EMPTY},
        {"   \n\t ", FD_VAL_EMPTY},
        {"[1] [2]", FD_VAL_EMPTY},
        {"... !!! ???", FD_VAL_EMPTY},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        fd_validation v = check(f, cases[i].text, 2);
        if (v.reason != cases[i].want || v.ok != (cases[i].want == FD_VAL_OK))
            fail_msg("case %zu '%s': %s (%s), want %s", i, cases[i].text,
                     fd_val_reason_name(v.reason), v.detail ? v.detail : "",
                     fd_val_reason_name(cases[i].want));
        fd_arena_reset(f->a);
    }
}

static void test_answer_and_cites(void **state)
{
    fixture *f = *state;
    fd_validation v = check(f, "Delivery is S$18 below S$250 [2]. Call +65 6812 4470.", 2);
    assert_true(v.ok);
    assert_string_equal(v.answer.text, "Delivery is S$18 below S$250. Call +65 6812 4470.");
    assert_int_equal(v.answer.n_cites, 1);
    assert_int_equal(v.answer.cites[0].passage, 1);
    assert_string_equal(v.answer.cites[0].doc_key, "docs/delivery-fees.md");
    /* without markers, the passages that support the sentences are cited */
    v = check(f, "You can cancel until 5:00 pm on the working day before delivery.", 2);
    assert_true(v.ok);
    assert_int_equal(v.answer.n_cites, 1);
    assert_int_equal(v.answer.cites[0].passage, 0);
    assert_string_equal(fd_val_reason_name(FD_VAL_BAD_CITATION), "bad_citation");
    assert_string_equal(fd_val_reason_name(FD__NVAL), "unknown");
}

static void test_odd_input(void **state)
{
    fixture *f = *state;
    fd_validation v;
    fd_err err;
    const char bad[] = "Delivery is S$18 \xff\xfe [2].";
    assert_int_equal(
        fd_answer_validate(f->an, (fd_str){bad, sizeof bad - 1}, psg, 2, NULL, f->a, &v, &err),
        FD_EUTF8);
    assert_false(v.ok);
    /* no passages: every claim is unsupported, nothing crashes */
    v = check(f, "Delivery is S$18 [1].", 0);
    assert_int_equal(v.reason, FD_VAL_BAD_CITATION);
    v = check(f, "Delivery is S$18.", 0);
    assert_false(v.ok);
    /* one very long sentence */
    fd_buf b;
    fd_buf_init(&b, 0);
    for (int i = 0; i < 3000; i++)
        assert_int_equal(fd_buf_printf(&b, "delivery fee "), FD_OK);
    v = check(f, b.p, 2);
    if (!v.ok)
        fail_msg("long sentence: %s (%.40s)", fd_val_reason_name(v.reason), v.detail);
    fd_buf_free(&b);
}

/* A small arena cap gives FD_ETOOBIG, failed allocations FD_ENOMEM; never
 * a crash, and ASan checks for leaks. */
/* A quoted page with its own footnote marks: "[14]" is the document's, and
 * an extractive answer quoting it is not a bad citation (issue 12: such
 * answers were declined on the public sets' pages). */
static void test_verbatim_brackets(void **state)
{
    fixture *f = *state;
    const fd_passage page[] = {{"docs/plates.md", "Plates", "Plates",
                                "Surrender your plates at a DMV office [14]. Keep the receipt "
                                "[4] as proof.",
                                1.0f}};
    const char *quote = "Surrender your plates at a DMV office [14].";
    fd_validation v;
    fd_err err;
    fd_validate_opts o = {.verbatim = 1};
    assert_int_equal(fd_answer_validate(f->an, fd_str_c(quote), page, 1, &o, f->a, &v, &err),
                     FD_OK);
    assert_true(v.ok);
    assert_non_null(strstr(v.answer.text, "[14]")); /* the text is kept as the page has it */
    /* Without verbatim the same text is read as citing passage 14 of 1. */
    assert_int_equal(fd_answer_validate(f->an, fd_str_c(quote), page, 1, NULL, f->a, &v, &err),
                     FD_OK);
    assert_false(v.ok);
    assert_int_equal(v.reason, FD_VAL_BAD_CITATION);
}

static void test_out_of_memory(void **state)
{
    fixture *f = *state;
    fd_err err;
    fd_validation v;
    const char *text = "Delivery is S$18 below S$250 [2]. Happy to help!";
    fd_arena *small = fd_arena_new(2048);
    int rc = fd_answer_validate(f->an, fd_str_c(text), psg, 2, NULL, small, &v, &err);
    assert_int_equal(rc, FD_ETOOBIG);
    fd_arena_free(small);

    long n = 0;
    do {
        fd_arena *a = fd_arena_new(0);
        fd_alloc_fail_at(++n);
        rc = a ? fd_answer_validate(f->an, fd_str_c(text), psg, 2, NULL, a, &v, &err) : FD_ENOMEM;
        fd_alloc_fail_at(0);
        assert_true(rc == FD_OK || rc == FD_ENOMEM);
        fd_arena_free(a);
    } while (fd_alloc_failures() > 0);
    assert_int_equal(rc, FD_OK);
    assert_true(v.ok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verdicts),      cmocka_unit_test(test_answer_and_cites),
        cmocka_unit_test(test_odd_input),     cmocka_unit_test(test_verbatim_brackets),
        cmocka_unit_test(test_out_of_memory),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
