/* test_memo.c: the answer memo gives what the plain calls give, keeps it
 * when the caller's text is gone, tells languages apart, stays correct
 * when full, and leaves answers and verdicts exactly as without it. */
#include "support.h"
#include "answer_int.h"

#include <pthread.h>
#include <stdio.h>

static const char *const texts[] = {
    "Report defects within 7 days of delivery. Reports after 7 days are reviewed case by case.",
    "- Orders below S$250 before GST: delivery fee of S$18.\n- Orders of S$250 and above: free.",
    "| Size | Kraft |\n|---|---|\n| 12-inch | S$21.00 |\n| 10-inch | S$18.00 |",
    "We do not deliver on Sundays or public holidays.",
    "Signalez le défaut dans les 7 jours suivant la livraison.",
};

static int same_bag(const ans_bag *x, const ans_bag *y)
{
    if (x->n != y->n)
        return 0;
    for (size_t i = 0; i < x->n; i++)
        if (!fd_str_eq(x->v[i], y->v[i]))
            return 0;
    return 1;
}

static int same_claims(const ans_claims *x, const ans_claims *y)
{
    if (x->n != y->n)
        return 0;
    for (size_t i = 0; i < x->n; i++)
        if (x->v[i].kind != y->v[i].kind || x->v[i].value != y->v[i].value ||
            x->v[i].off != y->v[i].off || !fd_str_eq(x->v[i].code, y->v[i].code))
            return 0;
    return 1;
}

/* Each text through the memo twice and plainly once: equal results, the
 * second from the memo (a hit), valid after the caller's copy is gone. */
static void test_same_results(void **state)
{
    (void)state;
    fd_analyzer *an;
    fd_answer_memo *m;
    fd_err err;
    assert_int_equal(fd_analyzer_new(&an, &err), FD_OK);
    assert_int_equal(fd_answer_memo_new(1 << 20, &m, &err), FD_OK);
    fd_arena *a = fd_arena_new(0), *scratch = fd_arena_new(0);
    ans_memo *g = ans_memo_begin(m);
    for (int round = 0; round < 2; round++)
        for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
            /* the memo's caller passes text from its own arena, reset below */
            char *copy = fd_arena_strndup(scratch, texts[i], strlen(texts[i]));
            fd_str t = fd_str_c(copy);
            ans_bag mb, pb;
            ans_claims mc, pc;
            ans_sent *ms, *ps;
            size_t mn, pn;
            int mneg;
            assert_int_equal(ans_memo_bag(g, an, t, FD_LANG_EN, a, &mb, &err), FD_OK);
            assert_int_equal(ans_memo_claims(g, t, a, &mc, &err), FD_OK);
            assert_int_equal(ans_memo_split(g, t, a, &ms, &mn, &err), FD_OK);
            assert_int_equal(ans_memo_negated(g, t, a, &mneg, &err), FD_OK);
            memset(copy, 'x', strlen(copy)); /* the caller's text is gone */
            fd_arena_reset(scratch);
            fd_str orig = fd_str_c(texts[i]);
            assert_int_equal(ans_bag_make(an, orig, FD_LANG_EN, a, &pb, &err), FD_OK);
            assert_int_equal(ans_claims_scan(orig, a, &pc, &err), FD_OK);
            assert_int_equal(ans_split(orig, a, &ps, &pn, &err), FD_OK);
            fd_str f;
            assert_int_equal(fd_text_fold(orig, a, &f, &err), FD_OK);
            assert_true(same_bag(&mb, &pb));
            assert_true(same_claims(&mc, &pc));
            assert_int_equal(mn, pn);
            assert_memory_equal(ms, ps, pn * sizeof *ps);
            assert_int_equal(mneg, ans_negated(f));
        }
    ans_memo_end(m, g);
    fd_answer_memo_counts k;
    fd_answer_memo_stats(m, &k);
    size_t n = sizeof texts / sizeof *texts;
    assert_int_equal(k.misses, 4 * n); /* the first round made each result */
    assert_int_equal(k.hits, 4 * n);   /* the second round found each */
    assert_int_equal(k.generations, 1);
    fd_arena_free(a);
    fd_arena_free(scratch);
    fd_answer_memo_free(m);
    fd_analyzer_free(an);
}

/* The same text in two languages is two analyses (stems differ). */
static void test_language_apart(void **state)
{
    (void)state;
    fd_analyzer *an;
    fd_answer_memo *m;
    fd_err err;
    assert_int_equal(fd_analyzer_new(&an, &err), FD_OK);
    assert_int_equal(fd_answer_memo_new(1 << 20, &m, &err), FD_OK);
    fd_arena *a = fd_arena_new(0);
    fd_str t = fd_str_c("livraisons gratuites les samedis");
    ans_bag en, fr, plain_fr;
    ans_memo *g = ans_memo_begin(m);
    assert_int_equal(ans_memo_bag(g, an, t, FD_LANG_EN, a, &en, &err), FD_OK);
    assert_int_equal(ans_memo_bag(g, an, t, FD_LANG_FR, a, &fr, &err), FD_OK);
    assert_int_equal(ans_bag_make(an, t, FD_LANG_FR, a, &plain_fr, &err), FD_OK);
    assert_true(same_bag(&fr, &plain_fr));
    assert_false(same_bag(&en, &fr));
    ans_memo_end(m, g);
    fd_arena_free(a);
    fd_answer_memo_free(m);
    fd_analyzer_free(an);
}

/* The smallest memo fills at once: every result still right (made in the
 * caller's arena), and the next call's begin starts it afresh. */
static void test_full_memo(void **state)
{
    (void)state;
    fd_analyzer *an;
    fd_answer_memo *m;
    fd_err err;
    assert_int_equal(fd_analyzer_new(&an, &err), FD_OK);
    assert_int_equal(fd_answer_memo_new(4096, &m, &err), FD_OK);
    fd_arena *a = fd_arena_new(0);
    fd_buf b;
    fd_buf_init(&b, 0);
    for (int i = 0; i < 300; i++)
        assert_int_equal(fd_buf_printf(&b, "Item %d costs S$%d.50 and ships in %d days. ", i, i, i),
                         FD_OK);
    for (int round = 0; round < 3; round++) {
        ans_memo *g = ans_memo_begin(m);
        for (size_t off = 0; off + 200 < b.len; off += 200) {
            fd_str t = {b.p + off, 200};
            ans_bag mb, pb;
            ans_claims mc, pc;
            assert_int_equal(ans_memo_bag(g, an, t, FD_LANG_EN, a, &mb, &err), FD_OK);
            assert_int_equal(ans_memo_claims(g, t, a, &mc, &err), FD_OK);
            assert_int_equal(ans_bag_make(an, t, FD_LANG_EN, a, &pb, &err), FD_OK);
            assert_int_equal(ans_claims_scan(t, a, &pc, &err), FD_OK);
            assert_true(same_bag(&mb, &pb));
            assert_true(same_claims(&mc, &pc));
        }
        ans_memo_end(m, g);
    }
    fd_answer_memo_counts k;
    fd_answer_memo_stats(m, &k);
    assert_true(k.generations >= 3); /* full at once: each round began a new one */
    fd_buf_free(&b);
    fd_arena_free(a);
    fd_answer_memo_free(m);
    assert_int_equal(fd_answer_memo_new(100, &m, &err), FD_EINVAL);
    assert_null(m);
    fd_analyzer_free(an);
}

/* The table starts small and doubles as it fills: 1,500 texts (3,000
 * entries, three doublings) are all found again, equal to the plain
 * results, none dropped by a growth. */
static void test_grows(void **state)
{
    (void)state;
    fd_analyzer *an;
    fd_answer_memo *m;
    fd_err err;
    assert_int_equal(fd_analyzer_new(&an, &err), FD_OK);
    assert_int_equal(fd_answer_memo_new((size_t)16 << 20, &m, &err), FD_OK);
    fd_arena *a = fd_arena_new(0);
    enum { N_TEXTS = 1500 };
    char t[N_TEXTS][64];
    for (int i = 0; i < N_TEXTS; i++)
        snprintf(t[i], sizeof t[i], "Box %d costs S$%d.25 and ships in %d days.", i, i % 97, i % 9);
    for (int round = 0; round < 2; round++) {
        ans_memo *g = ans_memo_begin(m);
        for (int i = 0; i < N_TEXTS; i++) {
            ans_bag mb, pb;
            ans_claims mc, pc;
            fd_str x = fd_str_c(t[i]);
            assert_int_equal(ans_memo_bag(g, an, x, FD_LANG_EN, a, &mb, &err), FD_OK);
            assert_int_equal(ans_memo_claims(g, x, a, &mc, &err), FD_OK);
            if (i % 50 == 0) {
                assert_int_equal(ans_bag_make(an, x, FD_LANG_EN, a, &pb, &err), FD_OK);
                assert_int_equal(ans_claims_scan(x, a, &pc, &err), FD_OK);
                assert_true(same_bag(&mb, &pb));
                assert_true(same_claims(&mc, &pc));
            }
        }
        ans_memo_end(m, g);
        fd_arena_reset(a);
    }
    fd_answer_memo_counts k;
    fd_answer_memo_stats(m, &k);
    assert_int_equal(k.misses, 2 * N_TEXTS);
    assert_int_equal(k.hits, 2 * N_TEXTS);
    assert_int_equal(k.generations, 1); /* grown, never started anew */
    fd_arena_free(a);
    fd_answer_memo_free(m);
    fd_analyzer_free(an);
}

/* One memo, four threads at once, each with its own analyzer and arena,
 * over the same texts and a small budget (generations start anew while
 * others hold the old one): every result equal to the plain one, no call
 * ever reading a freed generation (ASan), and the old generations freed. */
typedef struct racer {
    fd_answer_memo *m;
    int bad;
} racer;

static void *race(void *arg)
{
    racer *r = arg;
    fd_analyzer *an;
    fd_err err;
    if (fd_analyzer_new(&an, &err)) {
        r->bad = 1;
        return NULL;
    }
    fd_arena *a = fd_arena_new(0);
    char t[96];
    for (int round = 0; round < 40 && !r->bad; round++) {
        ans_memo *g = ans_memo_begin(r->m);
        for (int i = 0; i < 60 && !r->bad; i++) {
            snprintf(t, sizeof t, "Box %d costs S$%d.25 and ships in %d days.", i, i % 7, i % 5);
            fd_str x = fd_str_c(t);
            ans_bag mb, pb;
            ans_claims mc, pc;
            if (ans_memo_bag(g, an, x, FD_LANG_EN, a, &mb, &err) ||
                ans_memo_claims(g, x, a, &mc, &err) ||
                ans_bag_make(an, x, FD_LANG_EN, a, &pb, &err) || ans_claims_scan(x, a, &pc, &err) ||
                !same_bag(&mb, &pb) || !same_claims(&mc, &pc))
                r->bad = 1;
        }
        ans_memo_end(r->m, g);
        fd_arena_reset(a);
    }
    fd_arena_free(a);
    fd_analyzer_free(an);
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    fd_answer_memo *m;
    fd_err err;
    assert_int_equal(fd_answer_memo_new(16384, &m, &err), FD_OK);
    pthread_t th[4];
    racer r[4];
    for (int i = 0; i < 4; i++) {
        r[i] = (racer){m, 0};
        assert_int_equal(pthread_create(&th[i], NULL, race, &r[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_false(r[i].bad);
    }
    fd_answer_memo_counts k;
    fd_answer_memo_stats(m, &k);
    assert_true(k.hits > 0);
    assert_true(k.generations > 1); /* 16 KB fills: started anew under the others */
    fd_answer_memo_free(m);
}

static const fd_passage psg[] = {
    {"docs/refunds.md", "Refunds", "Refunds > Time window",
     "Report defects within 7 days of delivery. Reports after 7 days are reviewed case by case.",
     1.0f},
    {"docs/delivery.md", "Delivery fees", "Delivery fees > Standard",
     "- Orders below S$250 before GST: delivery fee of S$18 per delivery.\n- Orders of S$250 "
     "and above before GST: free delivery.\n\nWe do not deliver on Sundays.",
     0.8f},
};

/* Answers and verdicts with the memo, cold and warm, are those without. */
static void test_answers_unchanged(void **state)
{
    (void)state;
    static const char *const qs[] = {"how much is delivery",
                                     "how long do I have to report a defect",
                                     "do you deliver on sundays", "what is the warranty on lids"};
    fd_analyzer *an;
    fd_answer_memo *m;
    fd_err err;
    assert_int_equal(fd_analyzer_new(&an, &err), FD_OK);
    assert_int_equal(fd_answer_memo_new(1 << 20, &m, &err), FD_OK);
    fd_arena *a = fd_arena_new(0);
    for (int round = 0; round < 2; round++)
        for (size_t i = 0; i < sizeof qs / sizeof *qs; i++) {
            fd_answer plain, memo;
            fd_answer_opts po = {.lang = FD_LANG_EN}, mo = {.lang = FD_LANG_EN, .memo = m};
            assert_int_equal(fd_answer_extract(an, fd_str_c(qs[i]), psg, 2, &po, a, &plain, &err),
                             FD_OK);
            assert_int_equal(fd_answer_extract(an, fd_str_c(qs[i]), psg, 2, &mo, a, &memo, &err),
                             FD_OK);
            assert_int_equal(plain.answered, memo.answered);
            assert_string_equal(plain.text, memo.text);
            assert_int_equal(plain.n_cites, memo.n_cites);
            fd_validation pv, mv;
            fd_validate_opts vp = {.lang = FD_LANG_EN, .verbatim = 1},
                             vm = {.lang = FD_LANG_EN, .verbatim = 1, .memo = m};
            fd_str said = fd_str_c("Orders below S$250 pay a delivery fee of S$20.");
            assert_int_equal(fd_answer_validate(an, said, psg, 2, &vp, a, &pv, &err), FD_OK);
            assert_int_equal(fd_answer_validate(an, said, psg, 2, &vm, a, &mv, &err), FD_OK);
            assert_int_equal(pv.ok, mv.ok);
            assert_false(mv.ok); /* S$20 is in no passage */
            assert_int_equal(pv.reason, mv.reason);
        }
    fd_answer_memo_counts k;
    fd_answer_memo_stats(m, &k);
    assert_true(k.hits > k.misses); /* the second round and the repeats were found */
    fd_arena_free(a);
    fd_answer_memo_free(m);
    fd_analyzer_free(an);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_results), cmocka_unit_test(test_language_apart),
        cmocka_unit_test(test_full_memo),    cmocka_unit_test(test_grows),
        cmocka_unit_test(test_threads),      cmocka_unit_test(test_answers_unchanged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
