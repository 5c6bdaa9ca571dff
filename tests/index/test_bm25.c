/* test_bm25.c: BM25 build, open and search: hand-computed scores, top-k equal
 * to exhaustive scoring on random corpora, score_docs, corrupt bytes, and
 * allocation failure over build + write + open + search. */
#include "support.h"

#include "bm25_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers --------------------------------------------------------------- */

static uint64_t rng_state;

static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}

/* A corpus as term ids; term i is the string "t<i>". */
typedef struct corpus {
    size_t n_docs, vocab;
    uint32_t **docs;
    size_t *len;
    uint32_t *df; /* by term id, for the reference scorer */
    double avgdl;
    char (*names)[16];
} corpus;

static fd_str term_str(const corpus *c, uint32_t t)
{
    return fd_str_c(c->names[t]);
}

/* Skewed like text: P(id < x) = (x / vocab)^(1/skew), so low ids are common. */
static uint32_t draw_term(size_t vocab, double skew)
{
    double u = (rnd() + 0.5) / 4294967296.0;
    uint32_t t = (uint32_t)(pow(u, skew) * (double)vocab);
    return t < vocab ? t : (uint32_t)vocab - 1;
}

/* df and avgdl for the reference scorer; call again after editing docs. */
static void corpus_stats(corpus *c)
{
    uint32_t *last = calloc(c->vocab, sizeof *last);
    double total = 0;
    memset(c->df, 0, c->vocab * sizeof *c->df);
    for (size_t d = 0; d < c->n_docs; d++) {
        for (size_t i = 0; i < c->len[d]; i++) {
            uint32_t t = c->docs[d][i];
            c->df[t] += last[t] != d + 1;
            last[t] = (uint32_t)d + 1;
        }
        total += (double)c->len[d];
    }
    c->avgdl = total / (double)c->n_docs;
    free(last);
}

static corpus corpus_random(size_t n_docs, size_t vocab, size_t max_len, double skew)
{
    corpus c = {.n_docs = n_docs, .vocab = vocab};
    c.docs = calloc(n_docs, sizeof *c.docs);
    c.len = calloc(n_docs, sizeof *c.len);
    c.names = calloc(vocab, sizeof *c.names);
    c.df = calloc(vocab, sizeof *c.df);
    for (size_t t = 0; t < vocab; t++)
        snprintf(c.names[t], sizeof c.names[t], "t%u", (unsigned)t % 1000000000u);
    for (size_t d = 0; d < n_docs; d++) {
        c.len[d] = rnd() % 8 == 0 ? 0 : rnd() % (max_len + 1); /* some empty docs */
        c.docs[d] = calloc(c.len[d] + 1, sizeof **c.docs);
        for (size_t i = 0; i < c.len[d]; i++)
            c.docs[d][i] = draw_term(vocab, skew);
    }
    corpus_stats(&c);
    return c;
}

static void corpus_free(corpus *c)
{
    for (size_t d = 0; d < c->n_docs; d++)
        free(c->docs[d]);
    free(c->docs);
    free(c->len);
    free(c->df);
    free(c->names);
}

static void build(const corpus *c, double k1, double b, fd_buf *out)
{
    fd_bm25_builder *bld;
    fd_err err = {0};
    assert_int_equal(fd_bm25_builder_new(&bld, &err), FD_OK);
    fd_str *terms = NULL;
    for (size_t d = 0; d < c->n_docs; d++) {
        terms = realloc(terms, (c->len[d] + 1) * sizeof *terms);
        for (size_t i = 0; i < c->len[d]; i++)
            terms[i] = term_str(c, c->docs[d][i]);
        assert_int_equal(fd_bm25_builder_add(bld, terms, c->len[d], &err), FD_OK);
    }
    free(terms);
    fd_buf_init(out, 0);
    assert_int_equal(fd_bm25_builder_write(bld, k1, b, out, &err), FD_OK);
    fd_bm25_builder_free(bld);
}

/* The formula of index.h, in double, from the raw corpus. */
static double ref_score(const corpus *c, const fd_str *q, size_t nq, size_t d, double k1, double b)
{
    double s = 0;
    for (size_t j = 0; j < nq; j++) {
        if (q[j].len < 2 || q[j].p[0] != 't')
            continue; /* not a corpus term */
        uint32_t t = (uint32_t)strtoul(q[j].p + 1, NULL, 10), tf = 0;
        for (size_t i = 0; i < c->len[d]; i++)
            tf += c->docs[d][i] == t;
        if (!tf)
            continue;
        double df = c->df[t], n = (double)c->n_docs;
        double idf = log(1 + (n - df + 0.5) / (df + 0.5));
        s += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * (double)c->len[d] / c->avgdl));
    }
    return s;
}

static int allowed(fd_allow allow, uint32_t d)
{
    return !allow || (allow[d >> 3] >> (d & 7) & 1);
}

static int hit_order(const void *a, const void *b)
{
    const fd_hit *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return (x->doc > y->doc) - (x->doc < y->doc);
}

/* Top k by scoring every doc with score_docs: the exhaustive answer. */
static size_t exhaustive(const fd_bm25 *ix, const fd_str *q, size_t nq, size_t k, fd_allow allow,
                         fd_hit *out)
{
    uint32_t n = fd_bm25_n_docs(ix);
    uint32_t *docs = malloc((n + 1) * sizeof *docs);
    float *scores = malloc((n + 1) * sizeof *scores);
    for (uint32_t d = 0; d < n; d++)
        docs[n - 1 - d] = d; /* backwards: score_docs takes any order */
    fd_err err = {0};
    assert_int_equal(fd_bm25_score_docs(ix, q, nq, docs, n, scores, &err), FD_OK);
    size_t m = 0;
    for (uint32_t i = 0; i < n; i++)
        if (scores[i] > 0 && allowed(allow, docs[i]))
            out[m++] = (fd_hit){.doc = docs[i], .score = scores[i]};
    qsort(out, m, sizeof *out, hit_order);
    free(docs);
    free(scores);
    return m < k ? m : k;
}

static void search_ok(const fd_bm25 *ix, const fd_str *q, size_t nq, size_t k, fd_allow allow,
                      fd_arena *a, fd_hits *h)
{
    fd_err err = {0};
    int rc = fd_bm25_search(ix, q, nq, k, allow, a, h, &err);
    if (rc)
        fail_msg("search: %s", err.msg);
}

/* ---- hand-computed scores ---------------------------------------------------- */

static fd_bm25 *open_tiny(fd_buf *buf)
{
    static const char *docs[][5] = {
        {"a", "b", "c"}, {"a", "a", "b"}, {0}, {"c", "d", "d", "d", "e"}};
    static const size_t lens[] = {3, 3, 0, 5};
    fd_bm25_builder *b;
    fd_err err = {0};
    assert_int_equal(fd_bm25_builder_new(&b, &err), FD_OK);
    for (size_t d = 0; d < 4; d++) {
        fd_str t[5];
        for (size_t i = 0; i < lens[d]; i++)
            t[i] = fd_str_c(docs[d][i]);
        assert_int_equal(fd_bm25_builder_add(b, t, lens[d], &err), FD_OK);
    }
    fd_buf_init(buf, 0);
    assert_int_equal(fd_bm25_builder_write(b, 1.2, 0.75, buf, &err), FD_OK);
    fd_bm25_builder_free(b);
    fd_bm25 *ix;
    assert_int_equal(fd_bm25_open(buf->p, buf->len, &ix, &err), FD_OK);
    return ix;
}

/* N = 4, dl = 3 3 0 5, avgdl = 2.75, k1 = 1.2, b = 0.75; idf(df 2) = ln 2,
 * idf(df 1) = ln(1 + 3.5 / 1.5). E.g. "a" in doc 1: tf 2, dl 3:
 * ln 2 * 2 * 2.2 / (2 + 1.2 * (0.25 + 0.75 * 3 / 2.75)) = 0.9293164. */
static void test_hand_scores(void **state)
{
    (void)state;
    fd_buf buf;
    fd_bm25 *ix = open_tiny(&buf);
    fd_arena *a = fd_arena_new(0);
    fd_hits h;
    struct {
        const char *q[4];
        size_t nq;
        size_t n;
        uint32_t doc[3];
        double score[3];
    } cases[] = {
        {{"a"}, 1, 2, {1, 0}, {0.9293164, 0.6682933}},
        {{"d"}, 1, 1, {3}, {1.6097316}},
        {{"a", "zzz", "d"}, 3, 3, {3, 1, 0}, {1.6097316, 0.9293164, 0.6682933}},
        {{"a", "a"}, 2, 2, {1, 0}, {2 * 0.9293164, 2 * 0.6682933}}, /* repeats count */
        {{"c"}, 1, 2, {0, 3}, {0.6682933, 0.5193239}},
        {{"zzz", "yyy"}, 2, 0, {0}, {0}}, /* unknown terms only: no hits */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fd_str q[4];
        for (size_t j = 0; j < cases[i].nq; j++)
            q[j] = fd_str_c(cases[i].q[j]);
        search_ok(ix, q, cases[i].nq, 10, NULL, a, &h);
        assert_int_equal(h.n, cases[i].n);
        for (size_t j = 0; j < h.n; j++) {
            assert_int_equal(h.v[j].doc, cases[i].doc[j]);
            assert_float_equal(h.v[j].score, cases[i].score[j], 2e-6);
        }
    }
    assert_int_equal(fd_bm25_n_docs(ix), 4);
    assert_int_equal(fd_bm25_df(ix, FD_STR_LIT("a")), 2);
    assert_int_equal(fd_bm25_df(ix, FD_STR_LIT("d")), 1);
    assert_int_equal(fd_bm25_df(ix, FD_STR_LIT("nope")), 0);
    /* k = 0 and an empty query: no hits, no error. */
    fd_str qa = FD_STR_LIT("a");
    search_ok(ix, &qa, 1, 0, NULL, a, &h);
    assert_int_equal(h.n, 0);
    search_ok(ix, NULL, 0, 5, NULL, a, &h);
    assert_int_equal(h.n, 0);
    /* A filter drops doc 1. */
    uint8_t allow = 0xff & ~(1u << 1);
    search_ok(ix, &qa, 1, 10, &allow, a, &h);
    assert_int_equal(h.n, 1);
    assert_int_equal(h.v[0].doc, 0);
    /* score_docs, any order, repeats, the empty doc. */
    uint32_t docs[] = {3, 2, 1, 0, 1};
    float sc[5];
    fd_str q2[] = {FD_STR_LIT("a"), FD_STR_LIT("d")};
    assert_int_equal(fd_bm25_score_docs(ix, q2, 2, docs, 5, sc, NULL), FD_OK);
    assert_float_equal(sc[0], 1.6097316, 2e-6);
    assert_float_equal(sc[1], 0, 0);
    assert_float_equal(sc[2], 0.9293164, 2e-6);
    assert_float_equal(sc[3], 0.6682933, 2e-6);
    assert_float_equal(sc[4], 0.9293164, 2e-6);
    uint32_t bad = 4;
    fd_err err = {0};
    assert_int_equal(fd_bm25_score_docs(ix, q2, 2, &bad, 1, sc, &err), FD_EINVAL);
    fd_bm25_free(ix);
    fd_buf_free(&buf);
    fd_arena_free(a);
}

/* Identical docs tie exactly; lower doc ids win the ties. */
static void test_ties(void **state)
{
    (void)state;
    fd_bm25_builder *b;
    assert_int_equal(fd_bm25_builder_new(&b, NULL), FD_OK);
    fd_str doc[] = {FD_STR_LIT("x"), FD_STR_LIT("y")}, other = FD_STR_LIT("z");
    for (int d = 0; d < 300; d++)
        assert_int_equal(fd_bm25_builder_add(b, d % 3 ? doc : &other, d % 3 ? 2 : 1, NULL), FD_OK);
    fd_buf buf;
    fd_buf_init(&buf, 0);
    assert_int_equal(fd_bm25_builder_write(b, 1.2, 0.75, &buf, NULL), FD_OK);
    fd_bm25_builder_free(b);
    fd_bm25 *ix;
    assert_int_equal(fd_bm25_open(buf.p, buf.len, &ix, NULL), FD_OK);
    fd_arena *a = fd_arena_new(0);
    fd_hits h;
    search_ok(ix, doc, 2, 5, NULL, a, &h);
    uint32_t want[] = {1, 2, 4, 5, 7};
    assert_int_equal(h.n, 5);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(h.v[i].doc, want[i]);
        assert_true(h.v[i].score == h.v[0].score);
    }
    fd_bm25_free(ix);
    fd_buf_free(&buf);
    fd_arena_free(a);
}

/* ---- random corpora: search == exhaustive ------------------------------------ */

typedef struct rcase {
    size_t n_docs, vocab, max_len;
    double skew, k1, b;
} rcase;

static void check_queries(const corpus *c, const fd_bm25 *ix, const rcase *rc, int n_queries)
{
    fd_arena *a = fd_arena_new(0);
    fd_hit *want = malloc((c->n_docs + 1) * sizeof *want);
    uint8_t *allow = malloc(c->n_docs / 8 + 1);
    static const size_t ks[] = {1, 3, 10, 50, 1000000};
    for (int qi = 0; qi < n_queries; qi++) {
        fd_str q[12];
        size_t nq = 1 + rnd() % 10;
        for (size_t i = 0; i < nq; i++) {
            if (rnd() % 10 == 0)
                q[i] = FD_STR_LIT("unknown-term");
            else if (i && rnd() % 6 == 0)
                q[i] = q[rnd() % i]; /* a repeated term */
            else
                q[i] = term_str(c, draw_term(c->vocab, rnd() % 2 ? rc->skew : 1.0));
        }
        size_t k = ks[rnd() % 5];
        int dens = (int)(rnd() % 3); /* no filter, 50%, 10% */
        for (size_t i = 0; i < c->n_docs / 8 + 1; i++)
            allow[i] = dens == 1 ? (uint8_t)rnd() : (uint8_t)(rnd() & rnd() & rnd());
        fd_allow f = dens ? allow : NULL;
        fd_hits h;
        search_ok(ix, q, nq, k, f, a, &h);
        size_t m = exhaustive(ix, q, nq, k, f, want);
        assert_int_equal(h.n, m);
        for (size_t i = 0; i < m; i++) {
            if (h.v[i].doc != want[i].doc || h.v[i].score != want[i].score)
                fail_msg("query %d rank %zu: got %u %.9g want %u %.9g", qi, i, h.v[i].doc,
                         h.v[i].score, want[i].doc, want[i].score);
        }
        /* score_docs agrees with the formula on a few docs. */
        for (int j = 0; j < 3 && m; j++) {
            fd_hit x = want[rnd() % m];
            double r = ref_score(c, q, nq, x.doc, rc->k1, rc->b);
            assert_float_equal(x.score, r, 1e-5 * (1 + r));
        }
        fd_arena_reset(a);
    }
    free(want);
    free(allow);
    fd_arena_free(a);
}

static void test_random_exact(void **state)
{
    (void)state;
    static const rcase cases[] = {
        {50, 20, 10, 2.0, 1.2, 0.75},      {400, 300, 60, 3.0, 1.2, 0.75},
        {2000, 1000, 80, 4.0, 0.9, 0.4},   {3000, 50, 30, 1.5, 1.2, 0.75},
        {1000, 500, 200, 3.0, 2.0, 1.0},   {1500, 800, 40, 3.0, 1.2, 0.0},
        {700, 30, 20, 2.0, 0.0, 0.5},      /* k1 = 0: tf ignored, ties everywhere */
        {12000, 3000, 60, 5.0, 1.2, 0.75}, /* many blocks and windows */
    };
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        for (uint64_t seed = 1; seed <= 4; seed++) {
            rng_state = seed * 0x9e3779b97f4a7c15ull + ci;
            const rcase *rc = &cases[ci];
            corpus c = corpus_random(rc->n_docs, rc->vocab, rc->max_len, rc->skew);
            fd_buf buf;
            build(&c, rc->k1, rc->b, &buf);
            fd_bm25 *ix;
            assert_int_equal(fd_bm25_open(buf.p, buf.len, &ix, NULL), FD_OK);
            check_queries(&c, ix, rc, rc->n_docs > 5000 ? 25 : 40);
            fd_bm25_free(ix);
            fd_buf_free(&buf);
            corpus_free(&c);
        }
    }
}

/* A doc longer than 65535 terms switches doc lengths to 32 bits. */
static void test_long_doc(void **state)
{
    (void)state;
    rng_state = 77;
    corpus c = corpus_random(300, 100, 50, 2.0);
    free(c.docs[7]);
    c.len[7] = 70000;
    c.docs[7] = calloc(c.len[7], sizeof **c.docs);
    for (size_t i = 0; i < c.len[7]; i++)
        c.docs[7][i] = draw_term(c.vocab, 2.0);
    corpus_stats(&c);
    fd_buf buf;
    build(&c, 1.2, 0.75, &buf);
    fd_bm25 *ix;
    assert_int_equal(fd_bm25_open(buf.p, buf.len, &ix, NULL), FD_OK);
    assert_int_equal(ix->dl_width, 4);
    assert_int_equal(bm25_dl(ix, 7), 70000);
    rcase rc = {300, 100, 50, 2.0, 1.2, 0.75};
    check_queries(&c, ix, &rc, 20);
    fd_bm25_free(ix);
    fd_buf_free(&buf);
    corpus_free(&c);
}

/* ---- edges, bad input, corrupt bytes ----------------------------------------- */

static void test_edges(void **state)
{
    (void)state;
    fd_err err = {0};
    fd_bm25_builder *b;
    assert_int_equal(fd_bm25_builder_new(&b, &err), FD_OK);
    fd_buf buf;
    fd_buf_init(&buf, 0);
    assert_int_equal(fd_bm25_builder_write(b, -1, 0.5, &buf, &err), FD_EINVAL);
    assert_int_equal(fd_bm25_builder_write(b, 1.2, 1.5, &buf, &err), FD_EINVAL);
    assert_int_equal(fd_bm25_builder_write(b, NAN, 0.5, &buf, &err), FD_EINVAL);
    /* An empty index opens and finds nothing. */
    assert_int_equal(fd_bm25_builder_write(b, 1.2, 0.75, &buf, &err), FD_OK);
    fd_bm25 *ix;
    assert_int_equal(fd_bm25_open(buf.p, buf.len, &ix, &err), FD_OK);
    fd_arena *a = fd_arena_new(0);
    fd_hits h;
    fd_str q = FD_STR_LIT("x");
    search_ok(ix, &q, 1, 10, NULL, a, &h);
    assert_int_equal(h.n, 0);
    fd_bm25_free(ix);
    /* A bad term leaves the builder as it was. */
    fd_str bad[] = {FD_STR_LIT("x"), {NULL, 3}};
    assert_int_equal(fd_bm25_builder_add(b, bad, 2, &err), FD_EINVAL);
    assert_int_equal(fd_bm25_builder_add(b, NULL, 0, &err), FD_OK); /* empty doc */
    assert_int_equal(fd_bm25_builder_add(b, bad, 1, &err), FD_OK);
    fd_buf_reset(&buf);
    assert_int_equal(fd_bm25_builder_write(b, 1.2, 0.75, &buf, &err), FD_OK);
    assert_int_equal(fd_bm25_open(buf.p, buf.len, &ix, &err), FD_OK);
    assert_int_equal(fd_bm25_n_docs(ix), 2);
    assert_int_equal(fd_bm25_df(ix, q), 1);
    search_ok(ix, &q, 1, 10, NULL, a, &h);
    assert_int_equal(h.n, 1);
    assert_int_equal(h.v[0].doc, 1);
    fd_bm25_free(ix);
    /* Unaligned bytes are refused rather than read misaligned. */
    assert_int_equal(fd_bm25_open(buf.p + 1, buf.len - 1, &ix, &err), FD_EINVAL);
    fd_bm25_builder_free(b);
    fd_buf_free(&buf);
    fd_arena_free(a);
}

/* Whatever the bytes, open, search and score_docs return OK or FD_EFORMAT. */
static void test_corrupt(void **state)
{
    (void)state;
    rng_state = 4242;
    corpus c = corpus_random(1500, 400, 60, 3.0);
    fd_buf buf;
    build(&c, 1.2, 0.75, &buf);
    fd_bm25 *ix;
    fd_err err = {0};
    /* Truncation past the alignment slack is always caught at open. */
    for (size_t cut = 0; cut + 8 < buf.len; cut += 1 + cut / 16)
        assert_int_equal(fd_bm25_open(buf.p, cut, &ix, &err), FD_EFORMAT);
    char *copy = fd_malloc(buf.len);
    fd_arena *a = fd_arena_new(0);
    uint32_t docs[64];
    float sc[64];
    for (int trial = 0; trial < 3000; trial++) {
        memcpy(copy, buf.p, buf.len);
        for (int f = 1 + (int)(rnd() % 4); f > 0; f--) {
            /* Half the hits on the tables, where damage is subtler. */
            size_t at = trial % 2 ? rnd() % buf.len : rnd() % (buf.len / 3);
            copy[at] ^= (char)(1u << (rnd() % 8));
        }
        int rc = fd_bm25_open(copy, buf.len, &ix, &err);
        assert_true(rc == FD_OK || rc == FD_EFORMAT);
        if (rc)
            continue;
        for (int qi = 0; qi < 3; qi++) {
            fd_str q[4];
            for (int i = 0; i < 4; i++)
                q[i] = term_str(&c, draw_term(c.vocab, 3.0));
            fd_hits h;
            rc = fd_bm25_search(ix, q, 4, 10, NULL, a, &h, &err);
            assert_true(rc == FD_OK || rc == FD_EFORMAT);
            for (int i = 0; i < 64; i++)
                docs[i] = rnd() % fd_bm25_n_docs(ix);
            rc = fd_bm25_score_docs(ix, q, 4, docs, 64, sc, &err);
            assert_true(rc == FD_OK || rc == FD_EFORMAT);
            fd_arena_reset(a);
        }
        fd_bm25_free(ix);
    }
    fd_free(copy);
    fd_arena_free(a);
    fd_buf_free(&buf);
    corpus_free(&c);
}

/* ---- through a snapshot, and allocation failure -------------------------------- */

static int scenario(const corpus *c, const char *path)
{
    fd_err err = {0};
    fd_bm25_builder *b = NULL;
    fd_snap_writer *w = NULL;
    fd_snap *s = NULL;
    fd_bm25 *ix = NULL;
    fd_arena *a = NULL;
    fd_buf buf;
    fd_buf_init(&buf, 0);
    int rc = fd_bm25_builder_new(&b, &err);
    fd_str t[64];
    for (size_t d = 0; d < c->n_docs && !rc; d++) {
        for (size_t i = 0; i < c->len[d]; i++)
            t[i] = term_str(c, c->docs[d][i]);
        rc = fd_bm25_builder_add(b, t, c->len[d], &err);
    }
    if (!rc)
        rc = fd_bm25_builder_write(b, 1.2, 0.75, &buf, &err);
    if (!rc)
        rc = fd_snap_writer_new(path, &w, &err);
    if (!rc)
        rc = fd_snap_writer_add(w, FD_SNAP_BM25, buf.p, buf.len, &err);
    if (!rc) {
        rc = fd_snap_writer_finish(w, &err);
        w = NULL;
    }
    if (!rc)
        rc = fd_snap_open(path, &s, &err);
    const void *p;
    size_t len;
    if (!rc)
        rc = fd_snap_section(s, FD_SNAP_BM25, &p, &len);
    if (!rc)
        rc = fd_bm25_open(p, len, &ix, &err);
    if (!rc) {
        a = fd_arena_new(0);
        rc = a ? FD_OK : FD_ENOMEM;
    }
    fd_str q[] = {term_str(c, 0), term_str(c, 1), term_str(c, 5), term_str(c, 0)};
    fd_hits h;
    if (!rc)
        rc = fd_bm25_search(ix, q, 4, 10, NULL, a, &h, &err);
    uint32_t docs[] = {5, 3, 1};
    float sc[3];
    if (!rc)
        rc = fd_bm25_score_docs(ix, q, 4, docs, 3, sc, &err);
    fd_snap_writer_abort(w);
    fd_arena_free(a);
    fd_bm25_free(ix);
    fd_snap_close(s);
    fd_buf_free(&buf);
    fd_bm25_builder_free(b);
    return rc;
}

static void test_alloc_failure_loop(void **state)
{
    (void)state;
    rng_state = 99;
    corpus c = corpus_random(400, 200, 60, 3.0);
    char *dir = fd_test_tmpdir();
    size_t n = strlen(dir) + 16;
    char *path = malloc(n);
    snprintf(path, n, "%s/ix.snap", dir);
    size_t before = fd_alloc_bytes();
    int rc, i = 0;
    do {
        fd_alloc_fail_at(++i);
        rc = scenario(&c, path);
        fd_alloc_fail_at(0);
        assert_true(rc == FD_OK || rc == FD_ENOMEM);
        assert_int_equal(fd_alloc_bytes(), before);
    } while (fd_alloc_failures() > 0);
    assert_int_equal(rc, FD_OK);
    assert_true(i > 10);
    free(path);
    fd_test_rmrf(dir);
    fd_free(dir);
    corpus_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand_scores),
        cmocka_unit_test(test_ties),
        cmocka_unit_test(test_random_exact),
        cmocka_unit_test(test_long_doc),
        cmocka_unit_test(test_edges),
        cmocka_unit_test(test_corrupt),
        cmocka_unit_test(test_alloc_failure_loop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
