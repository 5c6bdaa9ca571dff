/* test_analyzer.c: fd_analyzer (src/text/analyzer.c) and stopwords
 * (src/text/stopwords.c): real Snowball stems, terms for every token kind,
 * the stem cache, arena caps and allocation failure. */
#include "support.h"
#include "text.h"

#include <stdio.h>
#include <string.h>

typedef struct stem_case {
    fd_lang lang;
    const char *word; /* folded */
    const char *stem; /* what Snowball gives */
} stem_case;

static const stem_case stems[] = {
    {FD_LANG_EN, "boxes", "box"},
    {FD_LANG_EN, "box", "box"},
    /* Porter2 splits this family in two: -ed/-ing vs -y/-ies. */
    {FD_LANG_EN, "delivered", "deliv"},
    {FD_LANG_EN, "delivering", "deliv"},
    {FD_LANG_EN, "delivery", "deliveri"},
    {FD_LANG_EN, "deliveries", "deliveri"},
    {FD_LANG_EN, "refunded", "refund"},
    {FD_LANG_EN, "refunds", "refund"},
    {FD_LANG_EN, "packaging", "packag"},
    {FD_LANG_EN, "packages", "packag"},
    {FD_LANG_EN, "customer's", "custom"},
    {FD_LANG_EN, "running", "run"},
    {FD_LANG_UNKNOWN, "boxes", "box"}, /* UNKNOWN stems as English */
    {FD_LANG_FR, "livraisons", "livraison"},
    {FD_LANG_FR, "livraison", "livraison"},
    {FD_LANG_FR, "livrer", "livr"},
    {FD_LANG_FR, "emballages", "emballag"},
    {FD_LANG_FR, "emballage", "emballag"},
    {FD_LANG_FR, "commandes", "command"},
    {FD_LANG_FR, "commander", "command"},
    {FD_LANG_FR, "boites", "boit"},
    {FD_LANG_FR, "remboursement", "rembours"},
    {FD_LANG_FR, "gobelets", "gobelet"},
    {FD_LANG_FR, "delivered", "delivered"},
    {FD_LANG_EN, "", ""},
};

static void test_stem(void **state)
{
    (void)state;
    fd_analyzer *an;
    assert_int_equal(fd_analyzer_new(&an, NULL), FD_OK);
    fd_arena *a = fd_arena_new(0);
    for (size_t i = 0; i < sizeof stems / sizeof stems[0]; i++) {
        fd_str out;
        fd_err err = {0};
        int rc = fd_analyzer_stem(an, stems[i].lang, fd_str_c(stems[i].word), a, &out, &err);
        if (rc)
            fail_msg("%s: rc %d (%s)", stems[i].word, rc, err.msg);
        if (strcmp(out.p, stems[i].stem))
            fail_msg("stem(%s, %s) = '%s', want '%s'", fd_lang_code(stems[i].lang), stems[i].word,
                     out.p, stems[i].stem);
    }
    fd_err err = {0};
    fd_str out;
    assert_int_equal(fd_analyzer_stem(an, FD_LANG_EN, (fd_str){"bo\xc3", 3}, a, &out, &err),
                     FD_EUTF8);
    fd_arena_free(a);
    fd_analyzer_free(an);
    fd_analyzer_free(NULL);
}

typedef struct stop_case {
    fd_lang lang;
    const char *word;
    int stop;
} stop_case;

static const stop_case stops[] = {
    {FD_LANG_EN, "the", 1},      {FD_LANG_EN, "and", 1},
    {FD_LANG_EN, "don't", 1},    {FD_LANG_EN, "yourselves", 1},
    {FD_LANG_EN, "a", 1},        {FD_LANG_EN, "box", 0},
    {FD_LANG_EN, "them", 1},     {FD_LANG_EN, "theme", 0},
    {FD_LANG_EN, "th", 0},       {FD_LANG_EN, "le", 0},
    {FD_LANG_EN, "", 0},         {FD_LANG_EN, "averyveryverylongword", 0},
    {FD_LANG_FR, "le", 1},       {FD_LANG_FR, "des", 1},
    {FD_LANG_FR, "ete", 1}, /* été */
    {FD_LANG_FR, "a", 1},        /* à */ {FD_LANG_FR, "ou", 1},
    {FD_LANG_FR, "meme", 1},     {FD_LANG_FR, "boite", 0},
    {FD_LANG_FR, "the", 0},      {FD_LANG_FR, "y", 1},
    {FD_LANG_UNKNOWN, "the", 0},
};

static void test_stopwords(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof stops / sizeof stops[0]; i++)
        if (fd_text_is_stopword(stops[i].lang, fd_str_c(stops[i].word)) != stops[i].stop)
            fail_msg("stopword(%s, '%s') != %d", fd_lang_code(stops[i].lang), stops[i].word,
                     stops[i].stop);
    assert_false(fd_text_is_stopword(FD_LANG_EN, (fd_str){NULL, 0}));
}

typedef struct terms_case {
    const char *in;
    fd_lang lang;
    const char *terms; /* space-separated, in order */
} terms_case;

static const terms_case term_cases[] = {
    {"Our 12-inch pizza boxes", FD_LANG_EN, "12inch 12 inch pizza box"},
    {"12\" or 12in", FD_LANG_EN, "12inch 12 inch 12inch 12 inch"},
    {"Code PB-1203, A4", FD_LANG_EN, "code pb-1203 pb1203 pb 1203 a4"},
    {"S$1.20 and 10 €", FD_LANG_EN, "s$1.20 1.20 €10 10"},
    {"3-5 days", FD_LANG_EN, "3-5 3 5 day"},
    {"take-away cups", FD_LANG_EN, "take-away takeaway take away cup"},
    {"the-of", FD_LANG_EN, "the-of theof"},
    {"The boxes were delivered to them", FD_LANG_EN, "box deliv"},
    {"500ml 50% 1,000", FD_LANG_EN, "500ml 500 ml 50% 50 1000"},
    {"covid-19 Sales@Acme.com", FD_LANG_EN, "covid-19 covid19 covid 19 sales@acme.com"},
    {"Where is my order?", FD_LANG_UNKNOWN, "order"},
    {"L'emballage des livraisons", FD_LANG_FR, "emballag livraison"},
    {"Je voudrais commander des boîtes", FD_LANG_FR, "voudr command boit"},
    {"Crème brûlée à emporter", FD_LANG_FR, "crem brule emport"},
    {"", FD_LANG_EN, ""},
    {"?!", FD_LANG_EN, ""},
};

/* Joins terms with spaces, for one readable comparison per case. */
static void join(const fd_terms *t, char *out, size_t cap)
{
    size_t w = 0;
    out[0] = '\0';
    for (size_t i = 0; i < t->n; i++)
        w += (size_t)snprintf(out + w, w < cap ? cap - w : 0, "%s%.*s", i ? " " : "",
                              (int)t->v[i].term.len, t->v[i].term.p);
}

static void test_terms(void **state)
{
    (void)state;
    fd_analyzer *an;
    assert_int_equal(fd_analyzer_new(&an, NULL), FD_OK);
    fd_arena *a = fd_arena_new(0);
    /* Twice: the second pass is served by the stem cache. */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < sizeof term_cases / sizeof term_cases[0]; i++) {
            const terms_case *c = &term_cases[i];
            fd_terms t;
            fd_err err = {0};
            char got[512];
            int rc = fd_analyzer_terms(an, fd_str_c(c->in), c->lang, a, &t, &err);
            if (rc)
                fail_msg("'%s': rc %d (%s)", c->in, rc, err.msg);
            join(&t, got, sizeof got);
            if (strcmp(got, c->terms))
                fail_msg("terms('%s') = '%s', want '%s'", c->in, got, c->terms);
        }
    }
    fd_arena_free(a);
    fd_analyzer_free(an);
}

/* Terms point back at their source token; compound parts share its span. */
static void test_term_offsets(void **state)
{
    (void)state;
    fd_analyzer *an;
    assert_int_equal(fd_analyzer_new(&an, NULL), FD_OK);
    fd_arena *a = fd_arena_new(0);
    fd_terms t;
    assert_int_equal(
        fd_analyzer_terms(an, FD_STR_LIT("Our 12-inch boxes"), FD_LANG_EN, a, &t, NULL), FD_OK);
    assert_int_equal(t.n, 4);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(t.v[i].off, 4);
        assert_int_equal(t.v[i].len, 7);
    }
    assert_int_equal(t.v[3].off, 12);
    assert_int_equal(t.v[3].len, 5);
    fd_arena_free(a);
    fd_analyzer_free(an);
}

/* The cache is keyed by language: the same word stems differently. */
static void test_cache_per_lang(void **state)
{
    (void)state;
    fd_analyzer *an;
    assert_int_equal(fd_analyzer_new(&an, NULL), FD_OK);
    fd_arena *a = fd_arena_new(0);
    for (int i = 0; i < 3; i++) {
        fd_terms t;
        assert_int_equal(fd_analyzer_terms(an, FD_STR_LIT("delivered"), FD_LANG_EN, a, &t, NULL),
                         FD_OK);
        assert_int_equal(t.n, 1);
        assert_memory_equal(t.v[0].term.p, "deliv", 5);
        assert_int_equal(fd_analyzer_terms(an, FD_STR_LIT("delivered"), FD_LANG_FR, a, &t, NULL),
                         FD_OK);
        assert_int_equal(t.n, 1);
        assert_int_equal(t.v[0].term.len, 9);
    }
    fd_arena_free(a);
    fd_analyzer_free(an);
}

static const char sample[] =
    "Bonjour ! Our 12-inch pizza boxes (PB-1203) cost S$1.20 each, 3-5 days delivery. "
    "L'emballage est recyclable; contactez sales@acme.com. Crème brûlée cups 500ml, 16oz. ";

static void test_errors_and_caps(void **state)
{
    (void)state;
    fd_analyzer *an;
    assert_int_equal(fd_analyzer_new(&an, NULL), FD_OK);
    fd_arena *a = fd_arena_new(0);
    fd_terms t = {(fd_term *)1, 3};
    fd_err err = {0};
    assert_int_equal(fd_analyzer_terms(an, (fd_str){"box\xed\xa0\x80", 6}, FD_LANG_EN, a, &t, &err),
                     FD_EUTF8);
    assert_non_null(strstr(err.msg, "byte 3"));
    assert_int_equal(t.n, 0);
    fd_arena_free(a);

    /* Every cap either fits the terms or says FD_ETOOBIG. */
    size_t want = 0;
    for (size_t cap = 16; cap <= 4096; cap += 16) {
        a = fd_arena_new(cap);
        int rc = fd_analyzer_terms(an, FD_STR_LIT(sample), FD_LANG_EN, a, &t, &err);
        assert_true(rc == FD_OK || rc == FD_ETOOBIG);
        if (rc == FD_OK && !want)
            want = t.n;
        if (rc == FD_OK)
            assert_int_equal(t.n, want);
        fd_arena_free(a);
    }
    assert_true(want > 20);
    fd_analyzer_free(an);
}

/* STYLE.md §9: fail the 1st, 2nd, ... allocation until a run hits none. */
static int scenario(void)
{
    fd_analyzer *an = NULL;
    fd_arena *a = NULL;
    fd_buf b;
    fd_buf_init(&b, 0);
    int rc = fd_analyzer_new(&an, NULL);
    if (!rc)
        rc = (a = fd_arena_new(0)) ? FD_OK : FD_ENOMEM;
    for (int i = 0; i < 60 && !rc; i++) /* ~10 KB: the arena needs more blocks */
        rc = fd_buf_append(&b, sample, sizeof sample - 1);
    fd_terms t;
    if (!rc)
        rc = fd_analyzer_terms(an, (fd_str){b.p, b.len}, FD_LANG_FR, a, &t, NULL);
    fd_tokens tk;
    if (!rc)
        rc = fd_text_tokenize((fd_str){b.p, b.len}, a, &tk, NULL);
    fd_buf_free(&b);
    fd_arena_free(a);
    fd_analyzer_free(an);
    return rc;
}

static void test_alloc_failure(void **state)
{
    (void)state;
    int rc, n = 0;
    do {
        fd_alloc_fail_at(++n);
        rc = scenario();
        fd_alloc_fail_at(0);
        assert_true(rc == FD_OK || rc == FD_ENOMEM);
    } while (fd_alloc_failures() > 0);
    assert_int_equal(rc, FD_OK);
    assert_true(n > 3);
}

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

/* Random text from tricky pieces through the analyzer, in all languages. */
static void test_random(void **state)
{
    (void)state;
    static const char *const pieces[] = {
        "box", "Crème",        "l'",       "-",   "12",  ",", ".",     "000", "€", "$",
        "S",   "inch",         "\"",       "%",   " ",   "@", "x.com", "’",   "–", "PB",
        "ﬁ",   "\xef\xb7\xba", "\xcc\x81", "the", "qu'",
    };
    fd_analyzer *an;
    assert_int_equal(fd_analyzer_new(&an, NULL), FD_OK);
    fd_arena *a = fd_arena_new(0);
    uint64_t seed = 42;
    char buf[512];
    for (int it = 0; it < 20000; it++) {
        size_t len = 0, n = rnd(&seed) % 32;
        for (size_t i = 0; i < n; i++) {
            const char *p = pieces[rnd(&seed) % (sizeof pieces / sizeof pieces[0])];
            memcpy(buf + len, p, strlen(p));
            len += strlen(p);
        }
        fd_terms t;
        fd_err err = {0};
        int rc = fd_analyzer_terms(an, (fd_str){buf, len}, (fd_lang)(it % FD__NLANGS), a, &t, &err);
        if (rc)
            fail_msg("'%.*s': rc %d (%s)", (int)len, buf, rc, err.msg);
        for (size_t i = 0; i < t.n; i++) {
            assert_true(t.v[i].term.len > 0);
            assert_true(fd_utf8_valid(t.v[i].term.p, t.v[i].term.len, NULL));
            assert_true((size_t)t.v[i].off + t.v[i].len <= len);
        }
        fd_arena_reset(a);
    }
    fd_arena_free(a);
    fd_analyzer_free(an);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stem),           cmocka_unit_test(test_stopwords),
        cmocka_unit_test(test_terms),          cmocka_unit_test(test_term_offsets),
        cmocka_unit_test(test_cache_per_lang), cmocka_unit_test(test_errors_and_caps),
        cmocka_unit_test(test_alloc_failure),  cmocka_unit_test(test_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
