/* test_question.c: reading the question: synonyms for retrieval and
 * weighing, the kind of fact asked for, superlatives, and modal verbs
 * ("can", "will") that carry no topic; cross-references between pages. */
#include "support.h"
#include "answer_int.h"

static void test_superlative(void **state)
{
    (void)state;
    assert_int_equal(ans_superlative(fd_str_c("whats the biggest pizza box you sell")), 1);
    assert_int_equal(ans_superlative(fd_str_c("your cheapest cup?")), -1);
    assert_int_equal(ans_superlative(fd_str_c("le plus petit gobelet")), -1);
    assert_int_equal(ans_superlative(fd_str_c("big boxes")), 0);
    assert_int_equal(ans_superlative(fd_str_c("biggestness")), 0); /* whole words only */
}

static void test_cue_and_synonyms(void **state)
{
    (void)state;
    assert_int_equal(ans_answer_cue(fd_str_c("how long does it take")), WANT_WHEN);
    assert_int_equal(ans_answer_cue(fd_str_c("what is the fee")), WANT_MONEY);
    assert_int_equal(ans_answer_cue(fd_str_c("feedback form")), 0);
    assert_int_equal(ans_answer_cue(fd_str_c("what are your customer service hours")), WANT_WHEN);
    assert_int_equal(ans_answer_cue(fd_str_c("is the ubi outlet open on sunday")), WANT_WHEN);
    assert_int_equal(ans_answer_cue(fd_str_c("closed cartons")), 0);
    fd_str alt[3];
    size_t n = ans_synonyms(fd_str_c("complain"), alt, 3);
    assert_int_equal(n, 2);
    assert_true(fd_str_eq_c(alt[0], "qualiti") || fd_str_eq_c(alt[1], "qualiti"));
    assert_int_equal(ans_synonyms(fd_str_c("1"), alt, 3), 1);
    assert_true(fd_str_eq_c(alt[0], "one"));
    assert_int_equal(ans_synonyms(fd_str_c("complain"), alt, 1), 1); /* max holds */
    assert_int_equal(ans_synonyms(fd_str_c("zebra"), alt, 3), 0);
}

static void test_modals_are_generic(void **state)
{
    (void)state;
    assert_true(ans_term_generic(fd_str_c("will")));
    assert_true(ans_term_generic(fd_str_c("can")));
    assert_true(ans_term_generic(fd_str_c("would")));
    assert_false(ans_term_generic(fd_str_c("credit")));
    /* French modals and light verbs in their forms' stems ("je peux",
     * "il faut", "je dois", "je fais comment"), question words and chat */
    static const char *const fr[] = {"peux",  "peut", "pourr", "faut",  "faudr", "dois",
                                     "doit",  "devr", "veux",  "voudr", "fais",  "quoi",
                                     "quand", "ca",   "truc",  "lol"};
    for (size_t i = 0; i < sizeof fr / sizeof *fr; i++)
        assert_true(ans_term_generic(fd_str_c(fr[i])));
    /* ...but not what shares a stem with a business word: "devez" and
     * "devis" (a quote) are both "dev"; "font" is a typeface too */
    assert_false(ans_term_generic(fd_str_c("dev")));
    assert_false(ans_term_generic(fd_str_c("font")));
    assert_false(ans_term_generic(fd_str_c("fer")));
    assert_false(ans_term_generic(fd_str_c("va")));
    assert_false(ans_term_generic(fd_str_c("pu")));
}

/* The same words as customers type them, through the analyzer: every
 * term a French modal, question word or filler leaves is generic (a stem
 * listed that the stemmer never makes would pass the test above and
 * weigh nothing here). Stopwords leave no term at all. */
static void test_french_question_words_analyzed(void **state)
{
    (void)state;
    fd_analyzer *an = NULL;
    assert_int_equal(fd_analyzer_new(&an, NULL), FD_OK);
    fd_arena *a = fd_arena_new(0);
    static const char *const said[] = {
        "peux",    "peut",    "pouvons",  "pourrais", "pourriez", "puisse",   "dois",   "doit",
        "devons",  "doivent", "devrais",  "devrions", "faut",     "faudrait", "veux",   "veut",
        "voulons", "veulent", "voudrais", "fais",     "faisons",  "vais",     "allons", "allez",
        "vont",    "sais",    "savez",    "quoi",     "pourquoi", "quand",    "lequel", "laquelle",
        "ça",      "truc",    "trucs",    "beaucoup", "bientôt"};
    for (size_t i = 0; i < sizeof said / sizeof *said; i++) {
        fd_terms t;
        assert_int_equal(fd_analyzer_terms(an, fd_str_c(said[i]), FD_LANG_FR, a, &t, NULL), FD_OK);
        for (size_t k = 0; k < t.n; k++)
            if (!ans_term_generic(t.v[k].term))
                fail_msg("'%s' leaves the term '%.*s', not a generic one", said[i],
                         (int)t.v[k].term.len, t.v[k].term.p);
    }
    /* ...and a quote is not: "devis" leaves "dev" */
    fd_terms t;
    assert_int_equal(fd_analyzer_terms(an, fd_str_c("devis"), FD_LANG_FR, a, &t, NULL), FD_OK);
    assert_int_equal(t.n, 1);
    assert_false(ans_term_generic(t.v[0].term));
    fd_arena_free(a);
    fd_analyzer_free(an);
}

static void test_xref_spans(void **state)
{
    (void)state;
    fd_str r[4];
    size_t n = ans_xref_spans(
        fd_str_c("To change the default delivery address on your account, see Account management."),
        r, 4);
    assert_int_equal(n, 1);
    assert_true(fd_str_eq_c(r[0], "Account management"));
    n = ans_xref_spans(fd_str_c("New accounts start on prepayment; see Credit accounts to apply "
                                "for 30-day terms (or see Privacy)."),
                       r, 4);
    assert_int_equal(n, 2);
    assert_true(fd_str_eq_c(r[0], "Credit accounts to apply for 30-day terms"));
    assert_true(fd_str_eq_c(r[1], "Privacy"));
    assert_int_equal(ans_xref_spans(fd_str_c("See you soon, and see below."), r, 4), 0);
    assert_int_equal(ans_xref_spans(fd_str_c("Overseas orders are possible."), r, 4), 0);
    assert_int_equal(ans_xref_spans(fd_str_c("Pour le détail, voir Livraison."), r, 4), 1);
    assert_true(fd_str_eq_c(r[0], "Livraison"));
    assert_int_equal(ans_xref_spans(fd_str_c("see"), r, 4), 0);
    assert_int_equal(ans_xref_spans(fd_str_c("see A; see B; see C"), r, 2), 2); /* max holds */
}

static void test_xref_names(void **state)
{
    (void)state;
    fd_analyzer *an;
    fd_err err;
    assert_int_equal(fd_analyzer_new(&an, &err), FD_OK);
    fd_arena *a = fd_arena_new(0);
    ans_bag ref, t1, t2, t3;
    assert_int_equal(ans_bag_make(an, fd_str_c("Account management"), FD_LANG_EN, a, &ref, &err),
                     FD_OK);
    assert_int_equal(ans_bag_make(an, fd_str_c("Managing your account"), FD_LANG_EN, a, &t1, &err),
                     FD_OK);
    assert_int_equal(ans_bag_make(an, fd_str_c("Credit accounts"), FD_LANG_EN, a, &t2, &err),
                     FD_OK);
    assert_int_equal(
        ans_bag_make(an, fd_str_c("Account management and privacy"), FD_LANG_EN, a, &t3, &err),
        FD_OK);
    assert_true(ans_xref_names(&ref, &t1) == 1.0); /* same stems, other order */
    assert_true(ans_xref_names(&ref, &t2) == 0.0); /* shares a word only */
    double part = ans_xref_names(&ref, &t3);       /* the title says more */
    assert_true(part > 0 && part < 1.0);
    ans_bag empty = {0};
    assert_true(ans_xref_names(&empty, &t1) == 0.0);
    fd_arena_free(a);
    fd_analyzer_free(an);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_superlative),
        cmocka_unit_test(test_cue_and_synonyms),
        cmocka_unit_test(test_modals_are_generic),
        cmocka_unit_test(test_french_question_words_analyzed),
        cmocka_unit_test(test_xref_spans),
        cmocka_unit_test(test_xref_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
