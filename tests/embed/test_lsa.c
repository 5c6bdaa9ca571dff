/* test_lsa.c: the LSA embedder on small synthetic corpora: topics separate,
 * synonyms are learned from co-occurrence, unknown queries, determinism,
 * vocabulary limits, corrupt models, allocation failure. */
#include "support.h"
#include "embed_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *cars[] = {"engine", "wheel", "brake", "tire", "gear", "clutch", "fuel"};
static const char *baking[] = {"flour", "oven", "sugar", "dough", "yeast", "butter", "bread"};
static const char *common[] = {"good", "new", "use"};

static uint64_t rng_state;

static uint32_t pick(uint32_t n)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)((rng_state >> 33) % n);
}

/* Doc i: topic i % 2; car docs say "car" (even i / 2) or "automobile"
 * (odd), never both, so the two only meet through their shared context. */
static size_t make_doc(int i, fd_str *out)
{
    const char **topic = i % 2 ? baking : cars;
    size_t n = 0;
    for (int k = 0; k < 5; k++)
        out[n++] = fd_str_c(topic[pick(7)]);
    out[n++] = fd_str_c(common[pick(3)]);
    if (i % 2 == 0)
        out[n++] = fd_str_c(i / 2 % 2 ? "automobile" : "car");
    return n;
}

typedef struct trained {
    fd_buf model;
    float *vecs;
    size_t n;
    int dim;
    fd_embedder *e;
} trained;

static int train(const fd_lsa_params *p, int n_docs, trained *t, fd_err *err)
{
    fd_lsa_trainer *tr = NULL;
    memset(t, 0, sizeof *t);
    fd_buf_init(&t->model, 0);
    int rc = fd_lsa_trainer_new(p, &tr, err);
    rng_state = 42;
    for (int i = 0; i < n_docs && !rc; i++) {
        fd_str terms[8];
        size_t n = make_doc(i, terms);
        rc = fd_lsa_trainer_add(tr, terms, n, err);
    }
    if (!rc)
        rc = fd_lsa_trainer_finish(tr, &t->model, &t->vecs, &t->n, &t->dim, err);
    fd_lsa_trainer_free(tr);
    if (!rc)
        rc = fd_embedder_open_lsa(t->model.p, t->model.len, &t->e, err);
    return rc;
}

static void trained_free(trained *t)
{
    fd_embedder_free(t->e);
    fd_free(t->vecs);
    fd_buf_free(&t->model);
}

static double dot(const float *a, const float *b, int dim)
{
    double s = 0;
    for (int i = 0; i < dim; i++)
        s += (double)a[i] * b[i];
    return s;
}

/* Mean cosine within topics minus across them. */
static double separation(const trained *t)
{
    double same = 0, cross = 0;
    int n_same = 0, n_cross = 0;
    for (size_t i = 0; i < t->n; i++) {
        assert_true(fabs(dot(t->vecs + i * t->dim, t->vecs + i * t->dim, t->dim) - 1) < 1e-4);
        for (size_t j = i + 1; j < t->n; j++) {
            double s = dot(t->vecs + i * t->dim, t->vecs + j * t->dim, t->dim);
            if (i % 2 == j % 2) {
                same += s;
                n_same++;
            } else {
                cross += s;
                n_cross++;
            }
        }
    }
    return same / n_same - cross / n_cross;
}

/* At dim 2 (the number of topics) the space is the topics; at dim 4 the
 * spare dimensions also encode word choice within a topic (these docs are
 * 6 words from 7), which lowers but keeps the separation. */
static void test_topics_separate(void **state)
{
    (void)state;
    trained t;
    fd_lsa_params p = {.dim = 4, .seed = 1};
    assert_int_equal(train(&p, 60, &t, NULL), FD_OK);
    assert_int_equal(t.n, 60);
    assert_int_equal(t.dim, 4);
    assert_int_equal(fd_embedder_dim(t.e), 4);
    assert_true(separation(&t) > 0.5);
    trained_free(&t);

    p.dim = 2;
    assert_int_equal(train(&p, 60, &t, NULL), FD_OK);
    assert_true(separation(&t) > 0.9);
    /* A query of baking words ranks every baking doc above every car doc. */
    fd_str q[] = {FD_STR_LIT("oven"), FD_STR_LIT("dough"), FD_STR_LIT("unknownword")};
    float v[2];
    assert_int_equal(fd_embedder_embed(t.e, q, 3, v, NULL), FD_OK);
    double worst_baking = 1, best_car = -1;
    for (size_t i = 0; i < t.n; i++) {
        double s = dot(v, t.vecs + i * 2, 2);
        if (i % 2)
            worst_baking = s < worst_baking ? s : worst_baking;
        else
            best_car = s > best_car ? s : best_car;
    }
    assert_true(worst_baking > best_car + 0.5);
    trained_free(&t);
}

static void test_synonyms(void **state)
{
    (void)state;
    fd_lsa_params p = {.dim = 2, .seed = 3};
    trained t;
    assert_int_equal(train(&p, 80, &t, NULL), FD_OK);
    /* "automobile" never occurs in a "car" doc, but both live among engines
     * and wheels: its embedding finds the car docs over the baking ones. */
    fd_str q[] = {FD_STR_LIT("automobile")};
    float v[2];
    assert_int_equal(fd_embedder_embed(t.e, q, 1, v, NULL), FD_OK);
    double worst_car = 1, best_baking = -1;
    for (size_t i = 0; i < t.n; i += 2) {
        if (i / 2 % 2 == 0) { /* a "car" doc */
            double s = dot(v, t.vecs + i * 2, 2);
            worst_car = s < worst_car ? s : worst_car;
        }
        double b = dot(v, t.vecs + (i + 1) * 2, 2);
        best_baking = b > best_baking ? b : best_baking;
    }
    assert_true(worst_car > 0.9);
    assert_true(worst_car > best_baking + 0.5);
    trained_free(&t);
}

static void test_unknown_query(void **state)
{
    (void)state;
    fd_lsa_params p = {.dim = 4, .seed = 1};
    trained t;
    assert_int_equal(train(&p, 20, &t, NULL), FD_OK);
    float v[4] = {1, 1, 1, 1};
    fd_str q[] = {FD_STR_LIT("zebra"), FD_STR_LIT(""), FD_STR_LIT("ovens")};
    fd_err err;
    assert_int_equal(fd_embedder_embed(t.e, q, 3, v, &err), FD_ENOTFOUND);
    for (int i = 0; i < 4; i++)
        assert_true(v[i] == 0);
    assert_int_equal(fd_embedder_embed(t.e, NULL, 0, v, &err), FD_ENOTFOUND);
    trained_free(&t);
}

/* Embedding a doc's own terms gives its vector: docs and queries share one
 * formula, so they are comparable. Long queries take the heap path. */
static void test_query_matches_doc(void **state)
{
    (void)state;
    fd_lsa_params p = {.dim = 6, .seed = 9};
    trained t;
    assert_int_equal(train(&p, 40, &t, NULL), FD_OK);
    rng_state = 42;
    for (int i = 0; i < 10; i++) {
        fd_str terms[8];
        size_t n = make_doc(i, terms);
        float v[6];
        assert_int_equal(fd_embedder_embed(t.e, terms, n, v, NULL), FD_OK);
        assert_true(dot(v, t.vecs + i * 6, 6) > 0.9999);
        if (i == 0) { /* the same terms 100 times: same direction */
            fd_str *many = malloc(800 * sizeof *many);
            for (size_t k = 0; k < 100 * n; k++)
                many[k] = terms[k % n];
            float w[6];
            assert_int_equal(fd_embedder_embed(t.e, many, 100 * n, w, NULL), FD_OK);
            assert_true(dot(v, w, 6) > 0.99);
            free(many);
        }
    }
    trained_free(&t);
}

static void test_deterministic(void **state)
{
    (void)state;
    fd_lsa_params p = {.dim = 5, .seed = 7, .max_train_docs = 25};
    trained a, b, c;
    assert_int_equal(train(&p, 50, &a, NULL), FD_OK);
    assert_int_equal(train(&p, 50, &b, NULL), FD_OK);
    assert_int_equal(a.model.len, b.model.len);
    assert_memory_equal(a.model.p, b.model.p, a.model.len);
    assert_memory_equal(a.vecs, b.vecs, a.n * a.dim * sizeof(float));
    p.seed = 8; /* another seed: another sample, same quality */
    assert_int_equal(train(&p, 50, &c, NULL), FD_OK);
    assert_true(c.model.len == a.model.len);
    trained_free(&a);
    trained_free(&b);
    trained_free(&c);
}

static void test_vocab_limits(void **state)
{
    (void)state;
    /* min_df 2: a term of one doc is unknown. max_vocab 3: only the three
     * most frequent terms are kept. dim above the rank: zero components. */
    fd_lsa_trainer *tr;
    fd_lsa_params p = {.dim = 16, .max_vocab = 3, .seed = 1};
    assert_int_equal(fd_lsa_trainer_new(&p, &tr, NULL), FD_OK);
    const char *docs[][3] = {
        {"a", "b", "c"}, {"a", "b", "d"}, {"a", "c", "once"}, {"b", "c", "d"}, {"x", "y", "z"}};
    for (int i = 0; i < 5; i++) {
        fd_str terms[3] = {fd_str_c(docs[i][0]), fd_str_c(docs[i][1]), fd_str_c(docs[i][2])};
        assert_int_equal(fd_lsa_trainer_add(tr, terms, 3, NULL), FD_OK);
    }
    fd_buf model;
    fd_buf_init(&model, 0);
    float *vecs;
    size_t n;
    int dim;
    assert_int_equal(fd_lsa_trainer_finish(tr, &model, &vecs, &n, &dim, NULL), FD_OK);
    fd_lsa_trainer_free(tr);
    assert_int_equal(n, 5);
    assert_int_equal(dim, 16);
    for (int j = 0; j < 16; j++) /* doc of unknown terms: zero vector */
        assert_true(vecs[4 * 16 + j] == 0);
    fd_embedder *e;
    assert_int_equal(fd_embedder_open_lsa(model.p, model.len, &e, NULL), FD_OK);
    float v[16];
    fd_str once = FD_STR_LIT("once"), d = FD_STR_LIT("d"), b = FD_STR_LIT("b");
    assert_int_equal(fd_embedder_embed(e, &once, 1, v, NULL), FD_ENOTFOUND);
    assert_int_equal(fd_embedder_embed(e, &d, 1, v, NULL), FD_ENOTFOUND); /* 4th by df */
    assert_int_equal(fd_embedder_embed(e, &b, 1, v, NULL), FD_OK);
    assert_true(fabs(dot(v, v, 16) - 1) < 1e-5);
    fd_embedder_free(e);
    fd_free(vecs);
    fd_buf_free(&model);

    assert_int_equal(fd_lsa_trainer_new(&(fd_lsa_params){.dim = 0}, &tr, NULL), FD_EINVAL);
    assert_null(tr);
}

static void test_empty_corpus(void **state)
{
    (void)state;
    fd_lsa_trainer *tr;
    fd_lsa_params p = {.dim = 8};
    assert_int_equal(fd_lsa_trainer_new(&p, &tr, NULL), FD_OK);
    assert_int_equal(fd_lsa_trainer_add(tr, NULL, 0, NULL), FD_OK);
    fd_buf model;
    fd_buf_init(&model, 0);
    float *vecs;
    size_t n;
    int dim;
    assert_int_equal(fd_lsa_trainer_finish(tr, &model, &vecs, &n, &dim, NULL), FD_OK);
    fd_lsa_trainer_free(tr);
    assert_int_equal(n, 1);
    fd_embedder *e;
    assert_int_equal(fd_embedder_open_lsa(model.p, model.len, &e, NULL), FD_OK);
    float v[8];
    fd_str q = FD_STR_LIT("anything");
    assert_int_equal(fd_embedder_embed(e, &q, 1, v, NULL), FD_ENOTFOUND);
    fd_embedder_free(e);
    fd_free(vecs);
    fd_buf_free(&model);
}

static void test_bad_model(void **state)
{
    (void)state;
    fd_lsa_params p = {.dim = 4, .seed = 1};
    trained t;
    assert_int_equal(train(&p, 30, &t, NULL), FD_OK);
    size_t len = t.model.len;
    char *copy = fd_malloc(len + 8);
    fd_embedder *e;
    fd_err err;
    for (size_t l = 0; l < len; l++) {
        memcpy(copy, t.model.p, l);
        assert_int_equal(fd_embedder_open_lsa(copy, l, &e, &err), FD_EFORMAT);
        assert_null(e);
    }
    memcpy(copy, t.model.p, len);
    copy[0] ^= 1;
    assert_int_equal(fd_embedder_open_lsa(copy, len, &e, &err), FD_EFORMAT);
    /* Garbage after a valid header: opens (nothing is scanned at open) but
     * lookups stay in bounds. */
    memcpy(copy, t.model.p, sizeof(lsa_hdr));
    memset(copy + sizeof(lsa_hdr), 0xee, len - sizeof(lsa_hdr));
    assert_int_equal(fd_embedder_open_lsa(copy, len, &e, &err), FD_OK);
    fd_str q[] = {FD_STR_LIT("oven"), FD_STR_LIT("wheel")};
    float v[4];
    int rc = fd_embedder_embed(e, q, 2, v, &err);
    assert_true(rc == FD_OK || rc == FD_ENOTFOUND);
    fd_embedder_free(e);
    memcpy(copy + 1, t.model.p, len); /* misaligned: caller error */
    assert_int_equal(fd_embedder_open_lsa(copy + 1, len, &e, &err), FD_EINVAL);
    fd_free(copy);
    trained_free(&t);
}

static void test_alloc_failure(void **state)
{
    (void)state;
    fd_lsa_params p = {.dim = 4, .seed = 5, .max_train_docs = 20};
    fd_err err;
    int rc;
    long k = 0;
    do {
        trained t;
        fd_alloc_fail_at(++k);
        rc = train(&p, 40, &t, &err);
        if (!rc) {
            fd_str q = FD_STR_LIT("oven");
            float v[4];
            rc = fd_embedder_embed(t.e, &q, 1, v, &err);
        }
        trained_free(&t);
        fd_alloc_fail_at(0);
        assert_true(rc == FD_OK || rc == FD_ENOMEM);
    } while (fd_alloc_failures() > 0);
    assert_int_equal(rc, FD_OK);
    assert_true(k > 20);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_topics_separate), cmocka_unit_test(test_synonyms),
        cmocka_unit_test(test_unknown_query),   cmocka_unit_test(test_query_matches_doc),
        cmocka_unit_test(test_deterministic),   cmocka_unit_test(test_vocab_limits),
        cmocka_unit_test(test_empty_corpus),    cmocka_unit_test(test_bad_model),
        cmocka_unit_test(test_alloc_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
