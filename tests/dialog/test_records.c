/* test_records.c: the cache records the dialog writes and reads back
 * (records.c). With Redis they come from outside the process: every
 * damaged shape (cut short anywhere, a string not UTF-8, a count, flag,
 * score or language out of range) must decode as a miss, and what was
 * written must read back the same. */
#include "support.h"

#include "dialog_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const fd_reply_cite cites[] = {
    {"docs/delivery.md", "Delivery", "Delivery > Days"},
    {"docs/fees.md", NULL, NULL},
};

static fd_cache_rec reply_rec(const char *answer, const char *title0)
{
    fd_reply_cite c[2] = {cites[0], cites[1]};
    c[0].title = title0;
    fd_reply r = {0};
    r.answer = answer;
    r.answered = 1;
    r.validation = "ok";
    r.grounded = 1;
    r.citations = c;
    r.n_citations = 2;
    fd_cache_rec rec;
    fd_cache_rec_init(&rec);
    assert_int_equal(dialog_reply_encode(&r, &rec), FD_OK);
    return rec;
}

static void test_reply_round_trip(void **state)
{
    (void)state;
    fd_arena *a = fd_arena_new(0);
    fd_cache_rec rec = reply_rec("We deliver Monday to Saturday — 8 am to 6 pm.", "Delivery");
    dialog_cached_reply c;
    assert_int_equal(dialog_reply_decode(rec.b.p, rec.b.len, a, &c), 1);
    assert_string_equal(c.answer, "We deliver Monday to Saturday — 8 am to 6 pm.");
    assert_string_equal(c.validation, "ok");
    assert_int_equal(c.answered, 1);
    assert_int_equal(c.grounded, 1);
    assert_int_equal(c.n_cites, 2);
    assert_string_equal(c.cites[0].document, "docs/delivery.md");
    assert_string_equal(c.cites[0].section, "Delivery > Days");
    assert_null(c.cites[1].title);
    /* cut short anywhere: a miss */
    for (size_t n = 0; n < rec.b.len; n++)
        if (dialog_reply_decode(rec.b.p, n, a, &c))
            fail_msg("a reply cut at %zu of %zu bytes decoded", n, rec.b.len);
    fd_cache_rec_free(&rec);
    fd_arena_free(a);
}

static void test_reply_damaged(void **state)
{
    (void)state;
    fd_arena *a = fd_arena_new(0);
    dialog_cached_reply c;
    fd_cache_rec rec = reply_rec("caf\xc3 au lait", "Delivery"); /* a cut UTF-8 sequence */
    assert_int_equal(dialog_reply_decode(rec.b.p, rec.b.len, a, &c), 0);
    fd_cache_rec_free(&rec);
    rec = reply_rec("fine", "\xff\xfe title");
    assert_int_equal(dialog_reply_decode(rec.b.p, rec.b.len, a, &c), 0);
    fd_cache_rec_free(&rec);
    /* a citation count past the limit, and a flag that is no flag */
    fd_cache_rec_init(&rec);
    assert_int_equal(fd_cache_rec_str(&rec, "x"), 0);
    assert_int_equal(fd_cache_rec_int(&rec, 1), 0);
    assert_int_equal(fd_cache_rec_str(&rec, "ok"), 0);
    assert_int_equal(fd_cache_rec_int(&rec, 1), 0);
    assert_int_equal(fd_cache_rec_int(&rec, 1000000), 0);
    assert_int_equal(dialog_reply_decode(rec.b.p, rec.b.len, a, &c), 0);
    fd_cache_rec_free(&rec);
    fd_cache_rec_init(&rec);
    assert_int_equal(fd_cache_rec_str(&rec, "x"), 0);
    assert_int_equal(fd_cache_rec_int(&rec, 7), 0);
    assert_int_equal(fd_cache_rec_str(&rec, "ok"), 0);
    assert_int_equal(fd_cache_rec_int(&rec, 1), 0);
    assert_int_equal(fd_cache_rec_int(&rec, 0), 0);
    assert_int_equal(dialog_reply_decode(rec.b.p, rec.b.len, a, &c), 0);
    fd_cache_rec_free(&rec);
    fd_arena_free(a);
}

static const fd_passage psg[] = {
    {"docs/delivery.md", "Delivery", "Delivery > Days", "We deliver Monday to Saturday.", 1.5f,
     FD_LANG_EN},
    {"docs/fr/livraison.md", "Livraison", NULL, "Nous livrons du lundi au samedi.", 0.0f,
     FD_LANG_FR},
};

static fd_cache_rec passages_rec(const fd_passage *p, size_t n, size_t n_pass)
{
    fd_cache_rec rec;
    fd_cache_rec_init(&rec);
    assert_int_equal(dialog_passages_encode(p, n, n_pass, &rec), FD_OK);
    return rec;
}

static void test_passages(void **state)
{
    (void)state;
    fd_arena *a = fd_arena_new(0);
    fd_cache_rec rec = passages_rec(psg, 2, 1);
    fd_passage *p;
    size_t n, n_pass;
    assert_int_equal(dialog_passages_decode(rec.b.p, rec.b.len, 8, a, &p, &n, &n_pass), 1);
    assert_int_equal(n, 2);
    assert_int_equal(n_pass, 1);
    assert_string_equal(p[1].text, "Nous livrons du lundi au samedi.");
    assert_null(p[1].section);
    assert_true(p[0].score == 1.5f);
    assert_int_equal(p[1].lang, FD_LANG_FR);
    for (size_t k = 0; k < rec.b.len; k++)
        if (dialog_passages_decode(rec.b.p, k, 8, a, &p, &n, &n_pass))
            fail_msg("passages cut at %zu of %zu bytes decoded", k, rec.b.len);
    /* more hits than the caller keeps */
    assert_int_equal(dialog_passages_decode(rec.b.p, rec.b.len, 0, a, &p, &n, &n_pass), 0);
    fd_cache_rec_free(&rec);

    fd_passage bad[1] = {psg[0]};
    bad[0].text = "bad \xc0\xaf bytes";
    rec = passages_rec(bad, 1, 1);
    assert_int_equal(dialog_passages_decode(rec.b.p, rec.b.len, 8, a, &p, &n, &n_pass), 0);
    fd_cache_rec_free(&rec);
    bad[0] = psg[0];
    bad[0].score = NAN;
    rec = passages_rec(bad, 1, 1);
    assert_int_equal(dialog_passages_decode(rec.b.p, rec.b.len, 8, a, &p, &n, &n_pass), 0);
    fd_cache_rec_free(&rec);
    bad[0] = psg[0];
    bad[0].lang = 99;
    rec = passages_rec(bad, 1, 1);
    assert_int_equal(dialog_passages_decode(rec.b.p, rec.b.len, 8, a, &p, &n, &n_pass), 0);
    fd_cache_rec_free(&rec);
    /* a count no value of this size can hold: refused before allocating */
    fd_cache_rec_init(&rec);
    assert_int_equal(fd_cache_rec_int(&rec, 90000), 0);
    assert_int_equal(fd_cache_rec_int(&rec, 0), 0);
    assert_int_equal(dialog_passages_decode(rec.b.p, rec.b.len, 8, a, &p, &n, &n_pass), 0);
    fd_cache_rec_free(&rec);
    fd_arena_free(a);
}

/* Session ids: 32 lowercase hex digits, in the order they were made
 * (their first 12 digits the milliseconds), never the same twice, and
 * accepted by the id check. */
static void test_session_ids(void **state)
{
    (void)state;
    char prev[33] = "", id[33];
    for (int i = 0; i < 2000; i++) {
        dialog_new_session_id(id);
        assert_int_equal(strlen(id), 32);
        for (int k = 0; k < 32; k++)
            assert_true((id[k] >= '0' && id[k] <= '9') || (id[k] >= 'a' && id[k] <= 'f'));
        assert_true(dialog_session_id_ok(id));
        assert_int_not_equal(strcmp(id, prev), 0);
        if (prev[0] && memcmp(id, prev, 12) != 0)
            assert_true(memcmp(id, prev, 12) > 0); /* a later millisecond sorts later */
        memcpy(prev, id, sizeof id);
    }
    char a[33], b[33];
    dialog_new_session_id(a);
    struct timespec ts = {0, 3 * 1000 * 1000};
    nanosleep(&ts, NULL);
    dialog_new_session_id(b);
    assert_true(strcmp(a, b) < 0);
    /* the prefix is the time: within a second of now */
    char pre[13];
    memcpy(pre, b, 12);
    pre[12] = '\0';
    unsigned long long ms = strtoull(pre, NULL, 16);
    assert_true(fabs((double)ms / 1000.0 - fd_time_wall()) < 1.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reply_round_trip),
        cmocka_unit_test(test_reply_damaged),
        cmocka_unit_test(test_passages),
        cmocka_unit_test(test_session_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
