/* test_intent.c: fd_intent_train / fd_intent_classify (src/nlu/intent.c,
 * intent_train.c, features.c): a tiny set learned, the out-of-scope
 * threshold, bad input, allocation failure, and the example shop's
 * intents.tsv when the repository is at hand. */
#include "support.h"
#include "nlu_int.h"

#include <stdlib.h>

static const fd_intent_example tiny[] = {
    {"greeting", "hi"},
    {"greeting", "hello there"},
    {"greeting", "good morning"},
    {"greeting", "hey, anyone around?"},
    {"greeting", "bonjour"},
    {"thanks", "thanks a lot"},
    {"thanks", "thank you so much"},
    {"thanks", "many thanks"},
    {"thanks", "thx"},
    {"thanks", "merci beaucoup"},
    {"order_status", "where is my order"},
    {"order_status", "has my order shipped yet"},
    {"order_status", "status of order HP-240517"},
    {"order_status", "when will my order arrive"},
    {"order_status", "track my order please"},
    {"complaint", "the lids are leaking"},
    {"complaint", "boxes arrived crushed"},
    {"complaint", "this is unacceptable, wrong items again"},
    {"complaint", "the cups are broken"},
    {"complaint", "terrible quality, very disappointed"},
    {"oos", "what is the weather today"},
    {"oos", "tell me a joke"},
    {"oos", "who won the football match"},
    {"oos", "how do I cook rice"},
    {"oos", "recommend a good movie"},
};
#define N_TINY (sizeof tiny / sizeof tiny[0])

static fd_intent_model *train_tiny(void)
{
    fd_intent_train_opts o = {.threads = 2};
    fd_intent_model *m = NULL;
    fd_err err = {0};
    int rc = fd_intent_train(tiny, N_TINY, &o, &m, &err);
    if (rc)
        fail_msg("train: %s", err.msg);
    return m;
}

static void expect(const fd_intent_model *m, fd_arena *a, const char *text, const char *label)
{
    fd_intent_result r;
    fd_err err = {0};
    assert_int_equal(fd_intent_classify(m, fd_str_c(text), a, &r, &err), FD_OK);
    if (strcmp(r.label, label))
        fail_msg("'%s': got %s (%.2f), want %s", text, r.label, r.confidence, label);
    assert_true(r.confidence > 0 && r.confidence <= 1);
    assert_true(r.second_confidence <= r.confidence);
}

static void test_tiny_learned(void **state)
{
    (void)state;
    fd_intent_model *m = train_tiny();
    fd_arena *a = fd_arena_new(0);
    assert_int_equal(fd_intent_n_labels(m), 5);
    assert_string_equal(fd_intent_label(m, 0), "complaint"); /* sorted */
    assert_null(fd_intent_label(m, 5));
    expect(m, a, "hello", "greeting");
    expect(m, a, "thanks!", "thanks");
    expect(m, a, "where is my order HP-999999", "order_status");
    expect(m, a, "the boxes are leaking and crushed", "complaint");
    expect(m, a, "tell me a funny joke", FD_INTENT_OOS);
    fd_intent_result r;
    fd_err err = {0};
    /* an out-of-scope label that wins is reported as oos */
    assert_int_equal(fd_intent_classify(m, fd_str_c("tell me a joke"), a, &r, &err), FD_OK);
    assert_true(r.oos);
    assert_string_equal(r.top_label, "oos");
    fd_arena_free(a);
    fd_intent_model_free(m);
}

static void test_threshold_oos(void **state)
{
    (void)state;
    fd_intent_model *m = train_tiny();
    fd_arena *a = fd_arena_new(0);
    fd_intent_result r;
    fd_err err = {0};
    assert_true(fd_intent_threshold(m) == 0);
    assert_int_equal(fd_intent_classify(m, fd_str_c("zebra quantum violin"), a, &r, &err), FD_OK);
    /* the model has an oos label: the threshold applies to the odds of the
     * best in-scope label against it, not to the top probability */
    double c = r.in_scope;
    assert_true(c > 0 && c < 1);
    if (!r.oos) {
        assert_true(r.in_scope >= r.confidence - 1e-12); /* p/(p+q) >= p when p+q <= 1 */
    }
    fd_intent_set_threshold(m, c + (1 - c) / 2);
    assert_int_equal(fd_intent_classify(m, fd_str_c("zebra quantum violin"), a, &r, &err), FD_OK);
    assert_true(r.oos);
    assert_string_equal(r.label, FD_INTENT_OOS);
    assert_non_null(r.top_label);
    fd_intent_set_threshold(m, 5); /* clamped */
    assert_true(fd_intent_threshold(m) == 1);
    fd_arena_free(a);
    fd_intent_model_free(m);
}

/* Without out-of-scope labels the threshold applies to the top probability. */
static void test_in_scope_without_oos(void **state)
{
    (void)state;
    fd_intent_train_opts o = {.threads = 2};
    fd_intent_model *m = NULL;
    fd_err err = {0};
    assert_int_equal(fd_intent_train(tiny, N_TINY - 5, &o, &m, &err), FD_OK); /* no oos rows */
    fd_arena *a = fd_arena_new(0);
    fd_intent_result r;
    assert_int_equal(fd_intent_classify(m, fd_str_c("zebra quantum violin"), a, &r, &err), FD_OK);
    assert_true(r.in_scope == r.confidence);
    assert_false(r.oos);
    fd_intent_set_threshold(m, r.confidence + 1e-6);
    assert_int_equal(fd_intent_classify(m, fd_str_c("zebra quantum violin"), a, &r, &err), FD_OK);
    assert_true(r.oos);
    assert_string_equal(r.label, FD_INTENT_OOS);
    fd_arena_free(a);
    fd_intent_model_free(m);
}

static void test_bad_input(void **state)
{
    (void)state;
    fd_intent_model *m = NULL;
    fd_err err = {0};
    assert_int_equal(fd_intent_train(tiny, 5, NULL, &m, &err), FD_EINVAL); /* one label */
    assert_null(m);
    fd_intent_example empty[] = {{"a", "x"}, {"b", ""}};
    assert_int_equal(fd_intent_train(empty, 2, NULL, &m, &err), FD_EINVAL);
    fd_intent_example bad_utf8[] = {{"a", "ok"}, {"b", "caf\xc3"}};
    assert_int_equal(fd_intent_train(bad_utf8, 2, NULL, &m, &err), FD_EUTF8);
    assert_non_null(strstr(err.msg, "example 2"));
    m = train_tiny();
    fd_arena *a = fd_arena_new(0);
    fd_intent_result r;
    assert_int_equal(fd_intent_classify(m, fd_str_c("  "), a, &r, &err), FD_EINVAL);
    assert_int_equal(fd_intent_classify(m, fd_str_c("bad \xff"), a, &r, &err), FD_EUTF8);
    /* no words at all still classifies (the bias decides) */
    assert_int_equal(fd_intent_classify(m, fd_str_c("?!"), a, &r, &err), FD_OK);
    fd_arena_free(a);
    fd_intent_model_free(m);
}

static void on_progress(void *ctx, double done)
{
    double *last = ctx;
    assert_true(done >= *last - 1e-9 && done <= 1.0 + 1e-9);
    *last = done;
}

static void test_progress_and_threads_agree(void **state)
{
    (void)state;
    double last = 0;
    fd_intent_train_opts o1 = {.threads = 1, .on_progress = on_progress, .ctx = &last};
    fd_intent_train_opts o2 = {.threads = 2};
    fd_intent_model *m1, *m2;
    fd_err err;
    assert_int_equal(fd_intent_train(tiny, N_TINY, &o1, &m1, &err), FD_OK);
    assert_true(last > 0.999);
    assert_int_equal(fd_intent_train(tiny, N_TINY, &o2, &m2, &err), FD_OK);
    /* each class is seeded on its own: thread count does not change the model */
    size_t nw = (m1->vocab.n + 1) * m1->n_labels;
    assert_int_equal(m1->vocab.n, m2->vocab.n);
    assert_memory_equal(m1->w, m2->w, nw * sizeof *m1->w);
    assert_true(m1->temp == m2->temp);
    fd_intent_model_free(m1);
    fd_intent_model_free(m2);
}

static int scenario(fd_err *err)
{
    fd_intent_train_opts o = {.threads = 1};
    fd_intent_model *m = NULL;
    int rc = fd_intent_train(tiny, N_TINY, &o, &m, err);
    if (rc)
        return rc;
    fd_arena *a = fd_arena_new(0);
    fd_intent_result r;
    rc = a ? fd_intent_classify(m, fd_str_c("where is my order"), a, &r, err) : FD_ENOMEM;
    if (!rc && strcmp(r.label, "order_status"))
        rc = FD_EINTERNAL;
    fd_arena_free(a);
    fd_intent_model_free(m);
    return rc;
}

static void test_alloc_failure(void **state)
{
    (void)state;
    int rc, n = 0;
    size_t before = fd_alloc_bytes();
    do {
        fd_err err = {0};
        fd_alloc_fail_at(++n);
        rc = scenario(&err);
        fd_alloc_fail_at(0);
        if (rc != FD_OK && rc != FD_ENOMEM && rc != FD_ETOOBIG)
            fail_msg("allocation %d: rc %d (%s)", n, rc, err.msg);
        assert_int_equal(fd_alloc_bytes(), before); /* nothing leaked */
    } while (fd_alloc_failures() > 0);
    assert_int_equal(rc, FD_OK);
    assert_true(n > 10);
}

/* The example shop's own intents: short customer messages land sensibly. */
static void test_shop_intents(void **state)
{
    (void)state;
    const char *src = getenv("FD_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/examples/packaging-supplier/intents.tsv", src ? src : ".");
    fd_intent_set s;
    fd_err err = {0};
    if (fd_intent_set_load(path, &s, &err)) {
        skip();
        return;
    }
    fd_intent_model *m;
    assert_int_equal(fd_intent_train(s.v, s.n, NULL, &m, &err), FD_OK);
    fd_arena *a = fd_arena_new(0);
    static const char *const cases[][2] = {
        {"hi", "greeting"},
        {"thanks!", "thanks"},
        {"I want to speak to a person", "human_handoff"},
        {"where is my order HP-240517", "order_status"},
        {"do you deliver to sentosa on saturday", "delivery"},
        {"cancel my order HP-240517", "order_cancel"},
        {"what's the weather in paris", FD_INTENT_OOS},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect(m, a, cases[i][0], cases[i][1]);
    fd_arena_free(a);
    fd_intent_model_free(m);
    fd_intent_set_free(&s);
}

/* Features come out sorted by hash and distinct, with every repeat
 * counted, for texts long enough to take the sort's partition path and
 * short enough for its insertion sort. */
static void test_features_sorted_and_counted(void **state)
{
    (void)state;
    fd_nlu_fcfg cfg;
    fd_nlu_fcfg_default(&cfg);
    const char *texts[] = {"hi", "box box box",
                           "I would like to order 500 kraft pizza boxes for the Pasir Ris outlet "
                           "and 200 more boxes, boxes boxes, deliver on Tuesday morning please, "
                           "my order number is HP-100234 and my phone is +65 9123 4567"};
    for (size_t t = 0; t < sizeof texts / sizeof *texts; t++) {
        fd_arena *a = fd_arena_new(1 << 20);
        assert_non_null(a);
        fd_nlu_raw *r = NULL;
        size_t n = 0;
        assert_int_equal(fd_nlu_featurize(&cfg, fd_str_c(texts[t]), a, &r, &n, NULL), FD_OK);
        assert_true(n > 0);
        double total = 0;
        for (size_t i = 0; i < n; i++) {
            if (i)
                assert_true(r[i - 1].h < r[i].h);
            total += r[i].tf;
        }
        /* "box" three times: one feature counted 3 */
        if (t == 1) {
            int three = 0;
            for (size_t i = 0; i < n; i++)
                three += r[i].tf == 3.0f;
            assert_true(three > 0);
        }
        assert_true(total >= (double)n);
        fd_arena_free(a);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tiny_learned),
        cmocka_unit_test(test_threshold_oos),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_progress_and_threads_agree),
        cmocka_unit_test(test_alloc_failure),
        cmocka_unit_test(test_shop_intents),
        cmocka_unit_test(test_in_scope_without_oos),
        cmocka_unit_test(test_features_sorted_and_counted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
