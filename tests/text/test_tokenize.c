/* test_tokenize.c: fd_text_tokenize (src/text/tokenize.c): every token
 * kind, norms, byte offsets into the original input, and random input. */
#include "support.h"
#include "text.h"

#include <string.h>

typedef struct want_tok {
    fd_tok_kind kind;
    const char *src; /* the input bytes at off/len */
    const char *norm;
} want_tok;

typedef struct tok_case {
    const char *in;
    want_tok t[10]; /* ends at src == NULL */
} tok_case;

#define W FD_TOK_WORD
#define N FD_TOK_NUMBER
#define M FD_TOK_MEASURE
#define S FD_TOK_MONEY
#define R FD_TOK_RANGE
#define K FD_TOK_CODE
#define E FD_TOK_EMAIL

static const tok_case cases[] = {
    {"", {{0}}},
    {"  ,;!? ", {{0}}},
    {"Hello, World!", {{W, "Hello", "hello"}, {W, "World", "world"}}},
    /* accented and non-Latin letters */
    {"Crème brûlée à emporter",
     {{W, "Crème", "creme"}, {W, "brûlée", "brulee"}, {W, "à", "a"}, {W, "emporter", "emporter"}}},
    {"Σοφία 東京", {{W, "Σοφία", "σοφια"}, {W, "東京", "東京"}}},
    /* inner apostrophes and hyphens; French elision keeps the word */
    {"l'emballage d’une boîte",
     {{W, "emballage", "emballage"}, {W, "une", "une"}, {W, "boîte", "boite"}}},
    {"qu'il jusqu'à L'Été", {{W, "il", "il"}, {W, "à", "a"}, {W, "Été", "ete"}}},
    {"don't aujourd'hui customer’s",
     {{W, "don't", "don't"}, {W, "aujourd'hui", "aujourd'hui"}, {W, "customer’s", "customer's"}}},
    {"take-away 'quoted' end- -start",
     {{W, "take-away", "take-away"},
      {W, "quoted", "quoted"},
      {W, "end", "end"},
      {W, "start", "start"}}},
    {"e\xe2\x80\x90mail", {{W, "e\xe2\x80\x90mail", "e-mail"}}},
    /* numbers */
    {"12 1.20 1,000 1,000,000.50 1,20",
     {{N, "12", "12"},
      {N, "1.20", "1.20"},
      {N, "1,000", "1000"},
      {N, "1,000,000.50", "1000000.50"},
      {N, "1,20", "1.20"}}},
    {"sizes 10,12,14.", {{W, "sizes", "sizes"}, {N, "10", "10"}, {N, "12", "12"}, {N, "14", "14"}}},
    {"costs 12. Then", {{W, "costs", "costs"}, {N, "12", "12"}, {W, "Then", "then"}}},
    {"\xef\xbc\x91\xef\xbc\x92", {{N, "\xef\xbc\x91\xef\xbc\x92", "12"}}},
    /* measures: attached forms only */
    {"12-inch 12inch 12\" 12in 12\xe2\x80\x9d",
     {{M, "12-inch", "12inch"},
      {M, "12inch", "12inch"},
      {M, "12\"", "12inch"},
      {M, "12in", "12inch"},
      {M, "12\xe2\x80\x9d", "12inch"}}},
    {"500ml 16oz 3kg 10cm 500ML 2.5L 50%",
     {{M, "500ml", "500ml"},
      {M, "16oz", "16oz"},
      {M, "3kg", "3kg"},
      {M, "10cm", "10cm"},
      {M, "500ML", "500ml"},
      {M, "2.5L", "2.5l"},
      {M, "50%", "50%"}}},
    {"12 inch", {{N, "12", "12"}, {W, "inch", "inch"}}},
    /* money, currency first in the norm whatever side it was written on */
    {"S$1.20 $5 10€ €10 US$1,000",
     {{S, "S$1.20", "s$1.20"},
      {S, "$5", "$5"},
      {S, "10€", "€10"},
      {S, "€10", "€10"},
      {S, "US$1,000", "us$1000"}}},
    {"1,20 € 12.50 SGD SGD 12.50 £3",
     {{S, "1,20 €", "€1.20"},
      {S, "12.50 SGD", "sgd12.50"},
      {S, "SGD 12.50", "sgd12.50"},
      {S, "£3", "£3"}}},
    {"10\xc2\xa0\xe2\x82\xac", {{S, "10\xc2\xa0\xe2\x82\xac", "€10"}}},
    {"$ 5", {{N, "5", "5"}}},
    /* ranges */
    {"3-5 days 3\xe2\x80\x93"
     "5 10-20",
     {{R, "3-5", "3-5"},
      {W, "days", "days"},
      {R,
       "3\xe2\x80\x93"
       "5",
       "3-5"},
      {R, "10-20", "10-20"}}},
    /* codes */
    {"PB-1203 A4 INV-2024-001 covid-19 v2.0",
     {{K, "PB-1203", "pb-1203"},
      {K, "A4", "a4"},
      {K, "INV-2024-001", "inv-2024-001"},
      {K, "covid-19", "covid-19"},
      {K, "v2.0", "v2.0"}}},
    {"2-day 12x10cm 4th 12-34-56",
     {{K, "2-day", "2-day"},
      {K, "12x10cm", "12x10cm"},
      {K, "4th", "4th"},
      {K, "12-34-56", "12-34-56"}}},
    /* emails */
    {"Mail Sales.Team@Acme-Pack.com.",
     {{W, "Mail", "mail"}, {E, "Sales.Team@Acme-Pack.com", "sales.team@acme-pack.com"}}},
    {"a+b@x.co, @home, x@y",
     {{E, "a+b@x.co", "a+b@x.co"}, {W, "home", "home"}, {W, "x", "x"}, {W, "y", "y"}}},
    /* ignorables and lone marks */
    {"pack\xc2\xad"
     "aging \xcc\x81 x",
     {{W,
       "pack\xc2\xad"
       "aging",
       "packaging"},
      {W, "x", "x"}}},
    {"emoji \xf0\x9f\x98\x80 ok", {{W, "emoji", "emoji"}, {W, "ok", "ok"}}},
};

static const char *kind_name(fd_tok_kind k)
{
    static const char *names[] = {"WORD", "NUMBER", "MEASURE", "MONEY", "RANGE", "CODE", "EMAIL"};
    return (unsigned)k < 7 ? names[k] : "?";
}

static void check_case(fd_arena *a, const tok_case *c)
{
    fd_tokens t;
    fd_err err = {0};
    int rc = fd_text_tokenize(fd_str_c(c->in), a, &t, &err);
    if (rc)
        fail_msg("'%s': rc %d (%s)", c->in, rc, err.msg);
    size_t n = 0;
    while (n < 10 && c->t[n].src)
        n++;
    for (size_t i = 0; i < t.n && i < n; i++) {
        const fd_token *g = &t.v[i];
        const want_tok *w = &c->t[i];
        int ok = g->kind == w->kind && g->len == strlen(w->src) &&
                 !memcmp(c->in + g->off, w->src, g->len) && g->norm.len == strlen(w->norm) &&
                 !memcmp(g->norm.p, w->norm, g->norm.len);
        if (!ok)
            fail_msg("'%s' token %zu: got %s '%.*s' -> '%.*s', want %s '%s' -> '%s'", c->in, i,
                     kind_name(g->kind), (int)g->len, c->in + g->off, (int)g->norm.len, g->norm.p,
                     kind_name(w->kind), w->src, w->norm);
    }
    if (t.n != n)
        fail_msg("'%s': %zu tokens, want %zu", c->in, t.n, n);
}

static void test_table(void **state)
{
    (void)state;
    fd_arena *a = fd_arena_new(0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_case(a, &cases[i]);
    fd_arena_free(a);
}

/* Offsets are byte offsets into the input, for highlighting. */
static void test_offsets(void **state)
{
    (void)state;
    const char *in = "Salut! L'emballage (12\") coûte 10 €.";
    fd_arena *a = fd_arena_new(0);
    fd_tokens t;
    assert_int_equal(fd_text_tokenize(fd_str_c(in), a, &t, NULL), FD_OK);
    assert_int_equal(t.n, 5);
    assert_int_equal(t.v[0].off, 0);
    assert_int_equal(t.v[1].off, 9); /* after "L'" */
    assert_int_equal(t.v[1].len, 9);
    assert_int_equal(t.v[2].off, 20);
    assert_int_equal(t.v[2].len, 3);
    assert_int_equal(t.v[3].off, 25);
    assert_int_equal(t.v[3].len, 6); /* "coûte": û is 2 bytes */
    assert_int_equal(t.v[4].off, 32);
    assert_int_equal(t.v[4].len, 6); /* "10 €" */
    fd_arena_free(a);
}

static void test_errors(void **state)
{
    (void)state;
    fd_arena *a = fd_arena_new(0);
    fd_tokens t = {(fd_token *)1, 7};
    fd_err err = {0};
    assert_int_equal(fd_text_tokenize((fd_str){"ok \xc3\x28", 5}, a, &t, &err), FD_EUTF8);
    assert_non_null(strstr(err.msg, "byte 3"));
    assert_int_equal(t.n, 0);
    assert_int_equal(fd_text_tokenize((fd_str){NULL, 0}, a, &t, &err), FD_OK);
    assert_int_equal(t.n, 0);
    fd_arena_free(a);

    /* A tiny arena runs out: FD_ETOOBIG, never a crash or a partial result. */
    for (size_t cap = 16; cap <= 1024; cap += 16) {
        a = fd_arena_new(cap);
        int rc = fd_text_tokenize(FD_STR_LIT("Crème brûlée PB-1203 costs S$1.20, 3-5 days, "
                                             "12-inch boxes, sales@acme.com"),
                                  a, &t, &err);
        assert_true(rc == FD_OK || rc == FD_ETOOBIG);
        if (rc == FD_OK)
            assert_int_equal(t.n, 10);
        fd_arena_free(a);
    }
}

/* xorshift64*: a fixed seed makes a failure reproducible. */
static uint64_t rnd(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

/* Pieces that exercise every branch of the scanner when shuffled. */
static const char *const pieces[] = {
    "a",
    "Z",
    "é",
    "É",
    "0",
    "7",
    "１",
    "'",
    "’",
    "-",
    "‐",
    "–",
    ".",
    ",",
    "@",
    "$",
    "€",
    "£",
    "\"",
    "”",
    "%",
    " ",
    "\xc2\xa0",
    "\xe2\x80\xaf",
    "\xcc\x81",
    "\xc2\xad",
    "\xe2\x80\x8d",
    "ﬁ",
    "\xef\xb7\xba",
    "😀",
    "東",
    "in",
    "ml",
    "SGD",
    "S$",
    "l'",
    "qu'",
    "x@y.com",
    "\t",
    "\n",
    "_",
};

static void check_tokens(const char *in, size_t len, const fd_tokens *t)
{
    size_t prev_end = 0;
    for (size_t i = 0; i < t->n; i++) {
        const fd_token *k = &t->v[i];
        assert_true(k->len > 0);
        assert_true((size_t)k->off + k->len <= len);
        assert_true(k->off >= prev_end); /* in order, no overlap */
        prev_end = (size_t)k->off + k->len;
        assert_true(k->norm.len > 0);
        assert_true(fd_utf8_valid(k->norm.p, k->norm.len, NULL));
        assert_true(fd_utf8_valid(in + k->off, k->len, NULL));
    }
}

static void test_random(void **state)
{
    (void)state;
    uint64_t seed = 0x9E3779B97F4A7C15ull;
    fd_arena *a = fd_arena_new(0);
    char buf[512];
    /* Random bytes: mostly invalid UTF-8, which must be refused cleanly. */
    for (int it = 0; it < 20000; it++) {
        size_t len = rnd(&seed) % 64;
        for (size_t i = 0; i < len; i++)
            buf[i] = (char)(rnd(&seed) >> 56);
        fd_tokens t;
        fd_str f;
        int rc = fd_text_tokenize((fd_str){buf, len}, a, &t, NULL);
        int valid = fd_utf8_valid(buf, len, NULL);
        assert_int_equal(rc, valid ? FD_OK : FD_EUTF8);
        if (!rc)
            check_tokens(buf, len, &t);
        assert_int_equal(fd_text_fold((fd_str){buf, len}, a, &f, NULL), rc);
        (void)fd_text_guess_lang((fd_str){buf, len});
        fd_arena_reset(a);
    }
    /* Random valid text from tricky pieces: always FD_OK, sane tokens. */
    for (int it = 0; it < 20000; it++) {
        size_t len = 0;
        size_t n = rnd(&seed) % 24;
        for (size_t i = 0; i < n; i++) {
            const char *p = pieces[rnd(&seed) % (sizeof pieces / sizeof pieces[0])];
            size_t pl = strlen(p);
            memcpy(buf + len, p, pl);
            len += pl;
        }
        fd_tokens t;
        fd_err err = {0};
        int rc = fd_text_tokenize((fd_str){buf, len}, a, &t, &err);
        if (rc)
            fail_msg("'%.*s': rc %d (%s)", (int)len, buf, rc, err.msg);
        check_tokens(buf, len, &t);
        fd_arena_reset(a);
    }
    fd_arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_offsets),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
