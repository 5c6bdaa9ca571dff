/* test_dense.c: dense vectors: exact search against brute force, int8
 * against float, the allow filter, serialization round trip, corrupt and
 * truncated bytes, atomic writes. */
#include "support.h"
#include "dense_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state;

static double uniform(void)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return ((double)(rng_state >> 11) + 0.5) / 9007199254740992.0;
}

static double gauss(void)
{
    return sqrt(-2 * log(uniform())) * cos(2 * M_PI * uniform());
}

static void normalize(float *v, int dim)
{
    double n = 0;
    for (int i = 0; i < dim; i++)
        n += (double)v[i] * v[i];
    for (int i = 0; i < dim; i++)
        v[i] = (float)(v[i] / sqrt(n));
}

/* n normalized vectors around n / 50 cluster centers. */
static float *clustered(size_t n, int dim, double noise, uint64_t seed)
{
    rng_state = seed;
    size_t nc = n / 50 + 1;
    float *c = malloc(nc * dim * sizeof *c), *v = malloc(n * dim * sizeof *v);
    for (size_t i = 0; i < nc * dim; i++)
        c[i] = (float)gauss();
    for (size_t i = 0; i < n; i++) {
        size_t k = (size_t)(uniform() * nc);
        for (int j = 0; j < dim; j++)
            v[i * dim + j] = c[k * dim + j] + (float)(noise * gauss());
        normalize(v + i * dim, dim);
    }
    free(c);
    return v;
}

static fd_dense *open_new(const float *v, size_t n, int dim, const fd_dense_params *p, fd_buf *b)
{
    fd_err err;
    fd_buf_init(b, 0);
    assert_int_equal(fd_dense_write(v, n, dim, p, b, &err), FD_OK);
    fd_dense *d = NULL;
    assert_int_equal(fd_dense_open(b->p, b->len, &d, &err), FD_OK);
    return d;
}

typedef struct ref_hit {
    uint32_t doc;
    double score;
} ref_hit;

static int by_score(const void *a, const void *b)
{
    const ref_hit *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return x->doc < y->doc ? -1 : 1;
}

/* Brute force in double over allowed docs; returns how many. */
static size_t brute(const float *v, size_t n, int dim, const float *q, fd_allow allow, ref_hit *out)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (allow && !(allow[i >> 3] >> (i & 7) & 1))
            continue;
        double s = 0;
        for (int j = 0; j < dim; j++)
            s += (double)q[j] * v[i * dim + j];
        out[m++] = (ref_hit){(uint32_t)i, s};
    }
    qsort(out, m, sizeof *out, by_score);
    return m;
}

static void assert_matches(const fd_hits *h, const ref_hit *ref, size_t k)
{
    assert_int_equal(h->n, k);
    for (size_t i = 0; i < k; i++) {
        assert_true(fabs(h->v[i].score - ref[i].score) < 1e-5);
        /* Order may only differ between near-equal scores. */
        if (h->v[i].doc != ref[i].doc)
            assert_true(fabs(ref[i].score - h->v[i].score) < 1e-5);
        if (i)
            assert_true(h->v[i - 1].score >= h->v[i].score);
    }
}

static void test_exact_equals_brute_force(void **state)
{
    (void)state;
    const size_t n = 700;
    const int dims[] = {37, 64, 3};
    for (size_t t = 0; t < 3; t++) {
        int dim = dims[t];
        float *v = clustered(n, dim, 0.5, 1 + t);
        float *q = clustered(5, dim, 0.5, 100 + t);
        fd_buf b;
        fd_dense *d = open_new(v, n, dim, NULL, &b);
        assert_int_equal(fd_dense_dim(d), dim);
        assert_int_equal(fd_dense_n(d), n);
        assert_false(fd_dense_has_hnsw(d));
        fd_arena *a = fd_arena_new(0);
        ref_hit *ref = malloc(n * sizeof *ref);
        for (int i = 0; i < 5; i++) {
            fd_hits h;
            assert_int_equal(fd_dense_search(d, q + i * dim, 10, 1, NULL, a, &h, NULL), FD_OK);
            brute(v, n, dim, q + i * dim, NULL, ref);
            assert_matches(&h, ref, 10);
            /* exact=0 without a graph is still exact */
            assert_int_equal(fd_dense_search(d, q + i * dim, 10, 0, NULL, a, &h, NULL), FD_OK);
            assert_matches(&h, ref, 10);
        }
        free(ref);
        fd_arena_free(a);
        fd_dense_free(d);
        fd_buf_free(&b);
        free(v);
        free(q);
    }
}

static void test_k_bounds_and_ties(void **state)
{
    (void)state;
    /* Four identical vectors: ties go to the lower doc. */
    float v[4 * 3] = {0};
    for (int i = 0; i < 4; i++)
        v[i * 3] = 1;
    fd_buf b;
    fd_dense *d = open_new(v, 4, 3, NULL, &b);
    fd_arena *a = fd_arena_new(0);
    float q[3] = {1, 0, 0};
    fd_hits h;
    assert_int_equal(fd_dense_search(d, q, 100, 1, NULL, a, &h, NULL), FD_OK);
    assert_int_equal(h.n, 4);
    for (uint32_t i = 0; i < 4; i++)
        assert_int_equal(h.v[i].doc, i);
    assert_int_equal(fd_dense_search(d, q, 2, 1, NULL, a, &h, NULL), FD_OK);
    assert_int_equal(h.n, 2);
    assert_int_equal(h.v[1].doc, 1);
    assert_int_equal(fd_dense_search(d, q, 0, 1, NULL, a, &h, NULL), FD_OK);
    assert_int_equal(h.n, 0);
    assert_int_equal(fd_dense_search(d, NULL, 3, 1, NULL, a, &h, NULL), FD_EINVAL);
    fd_arena_free(a);
    fd_dense_free(d);
    fd_buf_free(&b);

    /* An empty index is valid and finds nothing. */
    d = open_new(NULL, 0, 8, NULL, &b);
    a = fd_arena_new(0);
    float q8[8] = {1};
    assert_int_equal(fd_dense_search(d, q8, 5, 1, NULL, a, &h, NULL), FD_OK);
    assert_int_equal(h.n, 0);
    fd_arena_free(a);
    fd_dense_free(d);
    fd_buf_free(&b);
}

static double overlap(const fd_hits *x, const fd_hits *y)
{
    size_t c = 0;
    for (size_t i = 0; i < x->n; i++)
        for (size_t j = 0; j < y->n; j++)
            c += x->v[i].doc == y->v[j].doc;
    return x->n ? (double)c / x->n : 1;
}

static void test_int8_close_to_float(void **state)
{
    (void)state;
    const size_t n = 3000;
    const int dim = 48;
    float *v = clustered(n, dim, 0.3, 7);
    float *q = clustered(50, dim, 0.3, 8);
    fd_buf bf, bq;
    fd_dense_params pq = {.quantize = 1};
    fd_dense *df = open_new(v, n, dim, NULL, &bf);
    fd_dense *dq = open_new(v, n, dim, &pq, &bq);
    assert_true(bq.len < bf.len / 3); /* about 4x smaller */
    fd_arena *a = fd_arena_new(0);
    double sum = 0;
    for (int i = 0; i < 50; i++) {
        fd_hits hf, hq;
        assert_int_equal(fd_dense_search(df, q + i * dim, 10, 1, NULL, a, &hf, NULL), FD_OK);
        assert_int_equal(fd_dense_search(dq, q + i * dim, 10, 1, NULL, a, &hq, NULL), FD_OK);
        sum += overlap(&hf, &hq);
        /* Scores stay close to the float cosine. */
        assert_true(fabs(hf.v[0].score - hq.v[0].score) < 0.02);
    }
    assert_true(sum / 50 >= 0.9);
    fd_arena_free(a);
    fd_dense_free(df);
    fd_dense_free(dq);
    fd_buf_free(&bf);
    fd_buf_free(&bq);
    free(v);
    free(q);
}

static void test_filter(void **state)
{
    (void)state;
    const size_t n = 500;
    const int dim = 32;
    float *v = clustered(n, dim, 0.4, 11);
    uint8_t allow[(500 + 7) / 8] = {0};
    for (size_t i = 0; i < n; i += 3)
        allow[i >> 3] |= (uint8_t)(1u << (i & 7));
    fd_arena *a = fd_arena_new(0);
    ref_hit *ref = malloc(n * sizeof *ref);
    for (int quant = 0; quant < 2; quant++) {
        fd_buf b;
        fd_dense_params p = {.quantize = quant};
        fd_dense *d = open_new(v, n, dim, &p, &b);
        fd_hits h;
        assert_int_equal(fd_dense_search(d, v + 5 * dim, 20, 1, allow, a, &h, NULL), FD_OK);
        assert_int_equal(h.n, 20);
        for (size_t i = 0; i < h.n; i++)
            assert_int_equal(h.v[i].doc % 3, 0);
        if (!quant) {
            brute(v, n, dim, v + 5 * dim, allow, ref);
            assert_matches(&h, ref, 20);
        }
        /* Fewer allowed docs than k: all of them. */
        uint8_t one[(500 + 7) / 8] = {0};
        one[0] = 1u << 4;
        assert_int_equal(fd_dense_search(d, v, 10, 1, one, a, &h, NULL), FD_OK);
        assert_int_equal(h.n, 1);
        assert_int_equal(h.v[0].doc, 4);
        fd_dense_free(d);
        fd_buf_free(&b);
    }
    free(ref);
    fd_arena_free(a);
    free(v);
}

static void test_score_docs(void **state)
{
    (void)state;
    const size_t n = 100;
    const int dim = 20;
    float *v = clustered(n, dim, 0.5, 21);
    for (int quant = 0; quant < 2; quant++) {
        fd_buf b;
        fd_dense_params p = {.quantize = quant};
        fd_dense *d = open_new(v, n, dim, &p, &b);
        uint32_t docs[] = {99, 0, 42, 1000};
        float s[4];
        fd_dense_score_docs(d, v + 3 * dim, docs, 4, s);
        for (int i = 0; i < 3; i++) {
            double ref = 0;
            for (int j = 0; j < dim; j++)
                ref += (double)v[3 * dim + j] * v[docs[i] * dim + j];
            assert_true(fabs(s[i] - ref) < (quant ? 0.02 : 1e-5));
        }
        assert_true(s[3] == 0.0f); /* out of range: 0, not a crash */
        fd_dense_free(d);
        fd_buf_free(&b);
    }
    free(v);
}

/* Every prefix and a sweep of byte flips: FD_EFORMAT or a working index,
 * never a crash (ASan watches). */
static void test_bad_bytes(void **state)
{
    (void)state;
    const size_t n = 40;
    const int dim = 8;
    float *v = clustered(n, dim, 0.5, 31);
    fd_dense_params p = {.quantize = 1, .hnsw = 1, .hnsw_m = 4};
    fd_buf b;
    fd_buf_init(&b, 0);
    assert_int_equal(fd_dense_write(v, n, dim, &p, &b, NULL), FD_OK);
    fd_dense *d;
    fd_err err;
    char *copy = fd_malloc(b.len);
    for (size_t len = 0; len < b.len; len++) {
        memcpy(copy, b.p, len);
        assert_int_equal(fd_dense_open(copy, len, &d, &err), FD_EFORMAT);
        assert_null(d);
    }
    /* Longer than the header says is also corrupt. */
    fd_buf_free(&b);
    fd_buf_init(&b, 0);
    assert_int_equal(fd_dense_write(v, n, dim, &p, &b, NULL), FD_OK);
    assert_int_equal(fd_buf_append(&b, "xxxx", 4), FD_OK);
    assert_int_equal(fd_dense_open(b.p, b.len, &d, &err), FD_EFORMAT);
    b.len -= 4;
    /* Header fields: each flip is rejected or harmless. */
    fd_arena *a = fd_arena_new(0);
    for (size_t i = 0; i < sizeof(dense_hdr); i++) {
        memcpy(copy, b.p, b.len);
        copy[i] ^= (char)0x5a;
        if (fd_dense_open(copy, b.len, &d, &err) == FD_OK) {
            fd_hits h;
            assert_int_equal(fd_dense_search(d, v, 5, 0, NULL, a, &h, NULL), FD_OK);
            fd_dense_free(d);
        } else {
            assert_int_equal(err.code, FD_EFORMAT);
        }
        fd_arena_reset(a);
    }
    /* Garbage with the right magic. */
    memset(copy, 0xff, b.len);
    memcpy(copy, DENSE_MAGIC, 8);
    assert_int_equal(fd_dense_open(copy, b.len, &d, &err), FD_EFORMAT);
    /* Misaligned bytes are a caller error, not corruption. */
    memcpy(copy + 1, b.p, b.len - 1);
    assert_int_equal(fd_dense_open(copy + 1, b.len - 1, &d, &err), FD_EINVAL);
    fd_arena_free(a);
    fd_free(copy);
    fd_buf_free(&b);
    free(v);
}

static void test_write_errors(void **state)
{
    (void)state;
    float v[4 * 4] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1};
    fd_buf b;
    fd_buf_init(&b, 100); /* too small for header + rows */
    assert_int_equal(fd_buf_append(&b, "prefix", 6), FD_OK);
    fd_err err;
    assert_int_equal(fd_dense_write(v, 4, 4, NULL, &b, &err), FD_ETOOBIG);
    assert_int_equal(b.len, 6); /* nothing half-written */
    assert_string_equal(b.p, "prefix");
    assert_int_equal(fd_dense_write(v, 4, 0, NULL, &b, &err), FD_EINVAL);
    assert_int_equal(fd_dense_write(NULL, 4, 4, NULL, &b, &err), FD_EINVAL);
    fd_dense_params p = {.hnsw = 1, .hnsw_m = 1000};
    assert_int_equal(fd_dense_write(v, 4, 4, &p, &b, &err), FD_EINVAL);
    fd_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_equals_brute_force),
        cmocka_unit_test(test_k_bounds_and_ties),
        cmocka_unit_test(test_int8_close_to_float),
        cmocka_unit_test(test_filter),
        cmocka_unit_test(test_score_docs),
        cmocka_unit_test(test_bad_bytes),
        cmocka_unit_test(test_write_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
