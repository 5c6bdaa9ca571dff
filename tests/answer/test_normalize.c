/* test_normalize.c: customer spelling to the knowledge base's. A fake
 * knowledge base (a document-frequency table over analyzed terms) and a
 * small word list stand in for the real ones, so each rule is seen alone:
 * chat spellings, a typo corrected toward the KB's word, a real word the
 * KB lacks left alone, and the limits (short words, words used once). */
#include "support.h"
#include "answer.h"

typedef struct fake_kb {
    const char *const *terms; /* analyzed (stemmed) terms */
    const uint32_t *df;
    size_t n;
} fake_kb;

static uint32_t fake_df(void *ctx, fd_str t)
{
    const fake_kb *k = ctx;
    for (size_t i = 0; i < k->n; i++)
        if (fd_str_eq_c(t, k->terms[i]))
            return k->df[i];
    return 0;
}

typedef struct fixture {
    fd_analyzer *an;
    fd_arena *a;
    fd_wordlist *words[FD__NLANGS];
    char *dir;
} fixture;

static int setup(void **state)
{
    fixture *f = fd_calloc(1, sizeof *f);
    assert_int_equal(fd_analyzer_new(&f->an, NULL), FD_OK);
    f->a = fd_arena_new(0);
    f->dir = fd_test_tmpdir();
    static const char en[] = "hiring\nhusband\nSaturday\nSaturday's\nbike\ndun\n";
    static const char fr[] = "combien\nété\nun\nautre\nhabite\n";
    char *p = fd_test_write(f->dir, "en", en, sizeof en - 1);
    assert_int_equal(fd_wordlist_new(&f->words[FD_LANG_EN], NULL), FD_OK);
    assert_int_equal(fd_wordlist_load(f->words[FD_LANG_EN], p, NULL), FD_OK);
    fd_free(p);
    p = fd_test_write(f->dir, "fr", fr, sizeof fr - 1);
    assert_int_equal(fd_wordlist_new(&f->words[FD_LANG_FR], NULL), FD_OK);
    assert_int_equal(fd_wordlist_load(f->words[FD_LANG_FR], p, NULL), FD_OK);
    fd_free(p);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    fd_analyzer_free(f->an);
    fd_arena_free(f->a);
    for (int l = 0; l < FD__NLANGS; l++)
        fd_wordlist_free(f->words[l]);
    fd_test_rmrf(f->dir);
    fd_free(f->dir);
    fd_free(f);
    return 0;
}

static const char *norm(fixture *f, const fake_kb *kb, fd_lang lang, const char *q, size_t *n)
{
    fd_norm_ctx nc = {f->an, lang, fake_df, (void *)kb, f->words};
    fd_str out;
    assert_int_equal(fd_answer_normalize_query(&nc, fd_str_c(q), f->a, &out, n, NULL), FD_OK);
    return fd_arena_strndup(f->a, out.p, out.len);
}

static void test_wordlist(void **state)
{
    fixture *f = *state;
    fd_wordlist *en = f->words[FD_LANG_EN], *fr = f->words[FD_LANG_FR];
    assert_int_equal(fd_wordlist_size(en), 6 - 1); /* the possessive is Saturday */
    assert_true(fd_wordlist_has(en, "HIRING", 6));
    assert_true(fd_wordlist_has(en, "saturday", 8));
    assert_true(fd_wordlist_has(fr, "ete", 3)); /* typed without accents */
    assert_false(fd_wordlist_has(en, "saturdys", 8));
    assert_false(fd_wordlist_has(NULL, "bike", 4));
    fd_wordlist *none;
    fd_err err;
    assert_int_equal(fd_wordlist_new(&none, NULL), FD_OK);
    assert_int_equal(fd_wordlist_load(none, "/nonexistent/words", &err), FD_ENOTFOUND);
    fd_wordlist_free(none);
}

static void test_typos_toward_the_kb(void **state)
{
    fixture *f = *state;
    static const char *const t[] = {"saturday", "deliveri", "collect", "bike", "bake"};
    static const uint32_t df[] = {4, 9, 3, 12, 1};
    fake_kb kb = {t, df, 5};
    size_t n;
    assert_string_equal(norm(f, &kb, FD_LANG_EN, "wat time do u open on saturdys", &n),
                        "what time do you open on saturdays");
    assert_int_equal(n, 3);
    assert_string_equal(norm(f, &kb, FD_LANG_EN, "Delivrey on Saturday?", &n),
                        "delivery on Saturday?");
    /* Real words the KB does not use stay: they are evidence, not typos. */
    assert_string_equal(norm(f, &kb, FD_LANG_EN, "can my husband collect it", &n),
                        "can my husband collect it");
    assert_int_equal(n, 0);
    assert_string_equal(norm(f, &kb, FD_LANG_EN, "are you hiring", &n), "are you hiring");
    /* Short words have too many neighbours; a word the KB uses once is no target. */
    assert_string_equal(norm(f, &kb, FD_LANG_EN, "bkie", &n), "bkie");
    assert_string_equal(norm(f, &kb, FD_LANG_EN, "baked", &n), "baked");
    /* Numbers, codes and non-ASCII words are left as they are. */
    assert_string_equal(norm(f, &kb, FD_LANG_EN, "PB-1201 x12 crème", &n), "PB-1201 x12 crème");
    assert_int_equal(n, 0);
}

static void test_chat_spellings(void **state)
{
    fixture *f = *state;
    fake_kb kb = {NULL, NULL, 0};
    assert_string_equal(norm(f, &kb, FD_LANG_EN, "dont u ship 2day? thx", NULL),
                        "don't you ship today? thanks");
    assert_string_equal(norm(f, &kb, FD_LANG_EN, "havent started it, wheres ur shop", NULL),
                        "haven't started it, where's your shop");
    assert_string_equal(norm(f, &kb, FD_LANG_FR, "jai une question svp, c combien", NULL),
                        "j'ai une question s'il vous plaît, c'est combien");
    /* French elision typed without its apostrophe, when the rest is French
     * ("dun" is an English word: only the French list counts here). */
    assert_string_equal(
        norm(f, &kb, FD_LANG_FR, "dun lave linge, lautre magasin, si jhabite", NULL),
        "d'un lave linge, l'autre magasin, si j'habite");
    assert_string_equal(norm(f, &kb, FD_LANG_EN, "a dun horse", NULL), "a dun horse");
    assert_string_equal(norm(f, &kb, FD_LANG_FR, "lundi", NULL), "lundi");
    /* Per language: "vs" is "vous" only in French. */
    assert_string_equal(norm(f, &kb, FD_LANG_EN, "cats vs dogs", NULL), "cats vs dogs");
    /* Without a word list, nothing is corrected, chat spellings still are. */
    static const char *const t[] = {"saturday"};
    static const uint32_t df[] = {4};
    fake_kb k2 = {t, df, 1};
    fd_wordlist *none[FD__NLANGS] = {NULL};
    fd_norm_ctx nc = {f->an, FD_LANG_EN, fake_df, &k2, none};
    fd_str out;
    assert_int_equal(
        fd_answer_normalize_query(&nc, fd_str_c("u open saturdys"), f->a, &out, NULL, NULL), FD_OK);
    assert_true(fd_str_eq_c(out, "you open saturdys"));
}

/* A span of days is said with the days a timetable names: "weekdays" gains
 * "Monday to Friday" (the dev KB vet-clinic's table says only that). */
static void test_day_spans(void **state)
{
    fixture *f = *state;
    fake_kb kb = {NULL, NULL, 0};
    assert_string_equal(norm(f, &kb, FD_LANG_EN, "open on Weekdays?", NULL),
                        "open on weekdays Monday to Friday?");
    assert_string_equal(norm(f, &kb, FD_LANG_EN, "and at the weekend", NULL),
                        "and at the weekend Saturday and Sunday");
    assert_string_equal(norm(f, &kb, FD_LANG_FR, "ouvert le weekend ?", NULL),
                        "ouvert le week-end samedi et dimanche ?");
    /* Not a part of another word, and not in the other language's table. */
    assert_string_equal(norm(f, &kb, FD_LANG_EN, "weekdaysx weekendly", NULL),
                        "weekdaysx weekendly");
    assert_string_equal(norm(f, &kb, FD_LANG_FR, "les weekdays", NULL), "les weekdays");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_wordlist, setup, teardown),
        cmocka_unit_test_setup_teardown(test_typos_toward_the_kb, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chat_spellings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_day_spans, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
