/* test_hnsw.c: the HNSW graph: recall against exact search, deterministic
 * builds, filtered search and its exact fallback, corrupt graphs,
 * allocation failure during the build. */
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

/* n normalized vectors around n / 50 centers (norm ~sqrt(dim) before the
 * noise): the shape of real embeddings
 * (topics), where a greedy graph walk can get stuck in the wrong cluster. */
static float *clustered(size_t n, int dim, double noise, uint64_t seed)
{
    rng_state = seed;
    size_t nc = n / 50 + 1;
    float *c = malloc(nc * dim * sizeof *c), *v = malloc(n * dim * sizeof *v);
    for (size_t i = 0; i < nc * dim; i++)
        c[i] = (float)gauss();
    for (size_t i = 0; i < n; i++) {
        size_t k = (size_t)(uniform() * nc);
        double norm = 0;
        for (int j = 0; j < dim; j++) {
            v[i * dim + j] = c[k * dim + j] + (float)(noise * gauss());
            norm += (double)v[i * dim + j] * v[i * dim + j];
        }
        for (int j = 0; j < dim; j++)
            v[i * dim + j] = (float)(v[i * dim + j] / sqrt(norm));
    }
    free(c);
    return v;
}

static double overlap(const fd_hits *x, const fd_hits *y)
{
    size_t c = 0;
    for (size_t i = 0; i < x->n; i++)
        for (size_t j = 0; j < y->n; j++)
            c += x->v[i].doc == y->v[j].doc;
    return x->n ? (double)c / x->n : 1;
}

static fd_dense *build(const float *v, size_t n, int dim, int quant, fd_buf *b)
{
    fd_dense_params p = {.quantize = quant, .hnsw = 1};
    fd_buf_init(b, 0);
    fd_err err;
    assert_int_equal(fd_dense_write(v, n, dim, &p, b, &err), FD_OK);
    fd_dense *d;
    assert_int_equal(fd_dense_open(b->p, b->len, &d, &err), FD_OK);
    assert_true(fd_dense_has_hnsw(d));
    return d;
}

static void test_recall(void **state)
{
    (void)state;
    const size_t n = 5000, nq = 100;
    const int dim = 64;
    /* Queries come from the same clusters as the data (the last nq rows),
     * as real queries come from the corpus' topics. */
    float *v = clustered(n + nq, dim, 1.5, 1);
    const float *q = v + n * dim;
    fd_arena *a = fd_arena_new(0);
    for (int quant = 0; quant < 2; quant++) {
        fd_buf b;
        fd_dense *d = build(v, n, dim, quant, &b);
        double sum = 0;
        for (size_t i = 0; i < nq; i++) {
            fd_hits ex, ap;
            assert_int_equal(fd_dense_search(d, q + i * dim, 10, 1, NULL, a, &ex, NULL), FD_OK);
            assert_int_equal(fd_dense_search(d, q + i * dim, 10, 0, NULL, a, &ap, NULL), FD_OK);
            assert_int_equal(ap.n, 10);
            for (size_t j = 1; j < ap.n; j++)
                assert_true(ap.v[j - 1].score >= ap.v[j].score);
            sum += overlap(&ex, &ap);
            fd_arena_reset(a);
        }
        print_message("hnsw recall@10 (quantize=%d): %.3f\n", quant, sum / nq);
        assert_true(sum / nq >= 0.95);
        fd_dense_free(d);
        fd_buf_free(&b);
    }
    fd_arena_free(a);
    free(v);
}

static void test_deterministic(void **state)
{
    (void)state;
    const size_t n = 800;
    const int dim = 16;
    float *v = clustered(n, dim, 0.3, 5);
    fd_buf b1, b2;
    fd_dense *d1 = build(v, n, dim, 0, &b1);
    fd_dense *d2 = build(v, n, dim, 0, &b2);
    assert_int_equal(b1.len, b2.len);
    assert_memory_equal(b1.p, b2.p, b1.len);
    fd_dense_free(d1);
    fd_dense_free(d2);
    fd_buf_free(&b1);
    fd_buf_free(&b2);
    free(v);
}

static void test_filter_and_fallback(void **state)
{
    (void)state;
    const size_t n = 3000;
    const int dim = 32;
    float *v = clustered(n, dim, 0.25, 9);
    fd_buf b;
    fd_dense *d = build(v, n, dim, 0, &b);
    fd_arena *a = fd_arena_new(0);
    uint8_t *half = calloc((n + 7) / 8, 1), *rare = calloc((n + 7) / 8, 1);
    for (size_t i = 0; i < n; i++) {
        if (i % 2)
            half[i >> 3] |= (uint8_t)(1u << (i & 7));
        if (i % 500 == 7) /* 6 docs, far apart in the graph */
            rare[i >> 3] |= (uint8_t)(1u << (i & 7));
    }
    double sum = 0;
    for (int i = 0; i < 50; i++) {
        const float *q = v + (size_t)(i * 37) * dim;
        fd_hits ex, ap;
        assert_int_equal(fd_dense_search(d, q, 10, 1, half, a, &ex, NULL), FD_OK);
        assert_int_equal(fd_dense_search(d, q, 10, 0, half, a, &ap, NULL), FD_OK);
        for (size_t j = 0; j < ap.n; j++)
            assert_int_equal(ap.v[j].doc % 2, 1);
        sum += overlap(&ex, &ap);
        /* The selective filter falls back to exact: all six, in order. */
        assert_int_equal(fd_dense_search(d, q, 10, 1, rare, a, &ex, NULL), FD_OK);
        assert_int_equal(fd_dense_search(d, q, 10, 0, rare, a, &ap, NULL), FD_OK);
        assert_int_equal(ap.n, 6);
        for (size_t j = 0; j < ap.n; j++)
            assert_int_equal(ap.v[j].doc, ex.v[j].doc);
        fd_arena_reset(a);
    }
    assert_true(sum / 50 >= 0.9);
    free(half);
    free(rare);
    fd_arena_free(a);
    fd_dense_free(d);
    fd_buf_free(&b);
    free(v);
}

static void test_tiny_graphs(void **state)
{
    (void)state;
    float v[3 * 2] = {1, 0, 0, 1, 0.6f, 0.8f};
    fd_arena *a = fd_arena_new(0);
    for (size_t n = 0; n <= 3; n++) {
        fd_buf b;
        fd_dense *d = build(n ? v : NULL, n, 2, 0, &b);
        fd_hits h;
        float q[2] = {0, 1};
        assert_int_equal(fd_dense_search(d, q, 5, 0, NULL, a, &h, NULL), FD_OK);
        assert_int_equal(h.n, n);
        if (n == 3) {
            assert_int_equal(h.v[0].doc, 1);
            assert_int_equal(h.v[1].doc, 2);
        }
        fd_dense_free(d);
        fd_buf_free(&b);
    }
    fd_arena_free(a);
}

/* Random bytes in the graph arrays must give answers, not crashes. */
static void test_corrupt_graph(void **state)
{
    (void)state;
    const size_t n = 300;
    const int dim = 16;
    float *v = clustered(n, dim, 0.3, 13);
    fd_buf b;
    fd_dense *d = build(v, n, dim, 1, &b);
    fd_dense_free(d);
    size_t graph = sizeof(dense_hdr) + 64 + n * 4 + n * 16; /* past header, scales, codes */
    fd_arena *a = fd_arena_new(0);
    char *copy = fd_malloc(b.len);
    rng_state = 77;
    for (int round = 0; round < 50; round++) {
        memcpy(copy, b.p, b.len);
        for (int k = 0; k < 200; k++) {
            size_t at = graph + (size_t)(uniform() * (double)(b.len - graph));
            copy[at] = (char)(uniform() * 256);
        }
        fd_err err;
        if (fd_dense_open(copy, b.len, &d, &err) != FD_OK)
            continue; /* the upper-layer table is checked at open */
        fd_hits h;
        for (int i = 0; i < 5; i++) {
            int rc = fd_dense_search(d, v + (size_t)i * dim, 10, 0, NULL, a, &h, &err);
            assert_int_equal(rc, FD_OK);
            assert_true(h.n <= 10);
            for (size_t j = 0; j < h.n; j++)
                assert_true(h.v[j].doc < n);
        }
        fd_dense_free(d);
        fd_arena_reset(a);
    }
    fd_free(copy);
    fd_arena_free(a);
    fd_buf_free(&b);
    free(v);
}

static int build_once(const float *v, size_t n, int dim, fd_err *err)
{
    fd_dense_params p = {.quantize = 1, .hnsw = 1, .hnsw_m = 4, .hnsw_ef_build = 20};
    fd_buf b;
    fd_buf_init(&b, 0);
    int rc = fd_dense_write(v, n, dim, &p, &b, err);
    fd_dense *d = NULL;
    if (!rc)
        rc = fd_dense_open(b.p, b.len, &d, err);
    fd_dense_free(d);
    fd_buf_free(&b);
    return rc;
}

static void test_alloc_failure(void **state)
{
    (void)state;
    const size_t n = 120;
    const int dim = 8;
    float *v = clustered(n, dim, 0.3, 17);
    fd_err err;
    int rc;
    long k = 0;
    do {
        fd_alloc_fail_at(++k);
        rc = build_once(v, n, dim, &err);
        fd_alloc_fail_at(0);
        assert_true(rc == FD_OK || rc == FD_ENOMEM);
    } while (fd_alloc_failures() > 0);
    assert_int_equal(rc, FD_OK);
    assert_true(k > 10); /* the loop really went through the build */
    free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_recall),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_filter_and_fallback),
        cmocka_unit_test(test_tiny_graphs),
        cmocka_unit_test(test_corrupt_graph),
        cmocka_unit_test(test_alloc_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
