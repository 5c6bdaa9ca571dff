/* lsa.c: the LSA trainer: interns terms, keeps docs as sparse (term, count)
 * rows, then picks a vocabulary, weighs TF-IDF, runs the randomized SVD on
 * a sample of docs, projects every doc and writes the model. */
#include "embed_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct term_info {
    uint32_t off, len; /* in t->str */
    uint32_t hash;
    uint32_t df;   /* docs containing the term */
    uint32_t last; /* last doc + 1 that had it, to count tf within a doc */
    uint32_t pos;  /* its entry in that doc */
} term_info;

struct fd_lsa_trainer {
    fd_lsa_params p;
    fd_lsa_tuning tu;
    char *str;
    size_t str_len, str_cap;
    term_info *terms;
    uint32_t n_terms, cap_terms;
    uint32_t *table; /* term id + 1, 0 empty */
    uint32_t table_size;
    size_t *row; /* n_docs + 1 entries */
    uint32_t n_docs, cap_docs;
    uint32_t *ent_term;
    uint16_t *ent_cnt; /* saturates: 1 + ln(65535) is already 12 */
    size_t n_ent, cap_ent;
};

void fd_lsa_tuning_defaults(fd_lsa_tuning *tu)
{
    tu->sigma_power = 0.0;
    tu->sublinear_tf = 1;
    tu->oversample = 16;
}

void fd_lsa_trainer_tune(fd_lsa_trainer *t, const fd_lsa_tuning *tu)
{
    t->tu = *tu;
}

int fd_lsa_trainer_new(const fd_lsa_params *params, fd_lsa_trainer **out, fd_err *err)
{
    *out = NULL;
    if (!params || params->dim < 1 || params->dim > LSA_MAX_DIM)
        return fd_err_set(err, FD_EINVAL, "lsa: dim %d not in 1..%d", params ? params->dim : 0,
                          LSA_MAX_DIM);
    fd_lsa_trainer *t = fd_calloc(1, sizeof *t);
    if (!t)
        return fd_err_set(err, FD_ENOMEM, "lsa: trainer");
    t->p = *params;
    t->p.min_df = t->p.min_df ? t->p.min_df : 2;
    t->p.max_vocab = t->p.max_vocab ? t->p.max_vocab : 50000;
    t->p.max_train_docs = t->p.max_train_docs ? t->p.max_train_docs : 30000;
    t->p.power_iters = t->p.power_iters < 0 ? 0 : t->p.power_iters ? t->p.power_iters : 2;
    fd_lsa_tuning_defaults(&t->tu);
    t->row = fd_calloc(1, sizeof *t->row);
    if (!t->row) {
        fd_free(t);
        return fd_err_set(err, FD_ENOMEM, "lsa: trainer");
    }
    *out = t;
    return FD_OK;
}

void fd_lsa_trainer_free(fd_lsa_trainer *t)
{
    if (!t)
        return;
    fd_free(t->str);
    fd_free(t->terms);
    fd_free(t->table);
    fd_free(t->row);
    fd_free(t->ent_term);
    fd_free(t->ent_cnt);
    fd_free(t);
}

/* ---- collecting docs ------------------------------------------------------- */

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return FD_OK;
    size_t c = *cap ? *cap : 256;
    while (c < need)
        c *= 2;
    void *q = fd_realloc(*p, c * elem);
    if (!q)
        return FD_ENOMEM;
    *p = q;
    *cap = c;
    return FD_OK;
}

static int rehash(fd_lsa_trainer *t)
{
    uint32_t size = t->table_size ? t->table_size * 2 : 1024;
    uint32_t *tab = fd_calloc(size, sizeof *tab);
    if (!tab)
        return FD_ENOMEM;
    for (uint32_t id = 0; id < t->n_terms; id++) {
        uint32_t i = t->terms[id].hash & (size - 1);
        while (tab[i])
            i = (i + 1) & (size - 1);
        tab[i] = id + 1;
    }
    fd_free(t->table);
    t->table = tab;
    t->table_size = size;
    return FD_OK;
}

/* Id of term s, adding it if new; UINT32_MAX when out of memory. */
static uint32_t intern(fd_lsa_trainer *t, fd_str s)
{
    if ((t->n_terms + 1) * 2 > t->table_size && rehash(t))
        return UINT32_MAX;
    uint32_t h = (uint32_t)fd_hash64(s.p, s.len, LSA_HASH_SEED);
    uint32_t i = h & (t->table_size - 1);
    for (; t->table[i]; i = (i + 1) & (t->table_size - 1)) {
        const term_info *ti = &t->terms[t->table[i] - 1];
        if (ti->hash == h && ti->len == s.len && !memcmp(t->str + ti->off, s.p, s.len))
            return t->table[i] - 1;
    }
    size_t cap = t->cap_terms;
    if (t->n_terms == UINT32_MAX - 1 || t->str_len + s.len > UINT32_MAX ||
        grow((void **)&t->terms, &cap, t->n_terms + 1, sizeof *t->terms) ||
        grow((void **)&t->str, &t->str_cap, t->str_len + s.len + 1, 1))
        return UINT32_MAX;
    t->cap_terms = (uint32_t)cap;
    memcpy(t->str + t->str_len, s.p, s.len);
    t->terms[t->n_terms] = (term_info){(uint32_t)t->str_len, (uint32_t)s.len, h, 0, 0, 0};
    t->str_len += s.len;
    t->table[i] = t->n_terms + 1;
    return t->n_terms++;
}

int fd_lsa_trainer_add(fd_lsa_trainer *t, const fd_str *terms, size_t n_terms, fd_err *err)
{
    size_t cap_docs = t->cap_docs;
    if (t->n_docs == UINT32_MAX - 1)
        return fd_err_set(err, FD_ETOOBIG, "lsa: too many docs");
    if (grow((void **)&t->row, &cap_docs, (size_t)t->n_docs + 2, sizeof *t->row) ||
        grow((void **)&t->ent_term, &t->cap_ent, t->n_ent + n_terms, sizeof *t->ent_term))
        return fd_err_set(err, FD_ENOMEM, "lsa: adding doc %u", t->n_docs);
    t->cap_docs = (uint32_t)cap_docs;
    /* ent_cnt follows ent_term's capacity; it is grown separately so a
     * failure leaves both arrays valid. */
    size_t cap_cnt = t->cap_ent;
    void *cnt = fd_realloc(t->ent_cnt, cap_cnt * sizeof *t->ent_cnt);
    if (!cnt)
        return fd_err_set(err, FD_ENOMEM, "lsa: adding doc %u", t->n_docs);
    t->ent_cnt = cnt;
    size_t start = t->n_ent;
    uint32_t mark = t->n_docs + 1;
    for (size_t i = 0; i < n_terms; i++) {
        if (!terms[i].len)
            continue;
        uint32_t id = intern(t, terms[i]);
        if (id == UINT32_MAX) {
            for (size_t e = start; e < t->n_ent; e++) /* undo this doc's df */
                t->terms[t->ent_term[e]].df--;
            t->n_ent = start;
            return fd_err_set(err, FD_ENOMEM, "lsa: adding doc %u", t->n_docs);
        }
        term_info *ti = &t->terms[id];
        if (ti->last == mark) {
            if (t->ent_cnt[ti->pos] < UINT16_MAX)
                t->ent_cnt[ti->pos]++;
            continue;
        }
        ti->last = mark;
        ti->pos = (uint32_t)t->n_ent;
        ti->df++;
        t->ent_term[t->n_ent] = id;
        t->ent_cnt[t->n_ent++] = 1;
    }
    t->row[++t->n_docs] = t->n_ent;
    return FD_OK;
}

/* ---- vocabulary and weights -------------------------------------------------- */

typedef struct vocab {
    uint32_t n;
    uint32_t *ids;   /* vocab id -> trainer term id */
    uint32_t *remap; /* trainer term id -> vocab id, UINT32_MAX if dropped */
    float *idf;
} vocab;

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void vocab_free(vocab *v)
{
    FD_FREE(v->ids);
    FD_FREE(v->remap);
    FD_FREE(v->idf);
}

static int choose_vocab(const fd_lsa_trainer *t, vocab *v)
{
    memset(v, 0, sizeof *v);
    v->ids = fd_malloc(((size_t)t->n_terms + 1) * sizeof *v->ids);
    v->remap = fd_malloc(((size_t)t->n_terms + 1) * sizeof *v->remap);
    if (!v->ids || !v->remap)
        return FD_ENOMEM;
    /* Sort key: df descending, then first seen first, so the vocabulary
     * is deterministic. */
    uint64_t *key = fd_malloc(((size_t)t->n_terms + 1) * sizeof *key);
    if (!key)
        return FD_ENOMEM;
    for (uint32_t id = 0; id < t->n_terms; id++)
        if (t->terms[id].df >= t->p.min_df)
            key[v->n++] = (uint64_t)(UINT32_MAX - t->terms[id].df) << 32 | id;
    qsort(key, v->n, sizeof *key, cmp_u64);
    if (v->n > t->p.max_vocab)
        v->n = t->p.max_vocab;
    for (uint32_t i = 0; i < v->n; i++)
        v->ids[i] = (uint32_t)key[i];
    fd_free(key);
    v->idf = fd_malloc(((size_t)v->n + 1) * sizeof *v->idf);
    if (!v->idf)
        return FD_ENOMEM;
    memset(v->remap, 0xff, (size_t)t->n_terms * sizeof *v->remap);
    for (uint32_t i = 0; i < v->n; i++) {
        v->remap[v->ids[i]] = i;
        v->idf[i] = (float)log((double)t->n_docs / t->terms[v->ids[i]].df);
    }
    return FD_OK;
}

static uint32_t model_flags(const fd_lsa_trainer *t)
{
    return t->tu.sublinear_tf ? 0 : LSA_F_RAW_TF;
}

/* Doc d's TF-IDF row over the vocabulary into col/val, L2-normalized;
 * returns its length. */
static size_t doc_row(const fd_lsa_trainer *t, const vocab *v, uint32_t d, uint32_t *col,
                      float *val)
{
    size_t n = 0;
    double norm = 0;
    for (size_t e = t->row[d]; e < t->row[d + 1]; e++) {
        uint32_t vid = v->remap[t->ent_term[e]];
        if (vid == UINT32_MAX || v->idf[vid] <= 0)
            continue;
        col[n] = vid;
        val[n] = fd_lsa_tf(t->ent_cnt[e], model_flags(t)) * v->idf[vid];
        norm += (double)val[n] * val[n];
        n++;
    }
    float inv = norm > 0 ? (float)(1 / sqrt(norm)) : 0;
    for (size_t i = 0; i < n; i++)
        val[i] *= inv;
    return n;
}

/* ---- training ------------------------------------------------------------------ */

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Docs for the SVD: all of them, or a seeded partial Fisher-Yates sample
 * kept in doc order (for locality and so the sample is a set, not a
 * sequence). */
static uint32_t *sample_docs(const fd_lsa_trainer *t, uint32_t *n_out)
{
    uint32_t n = t->n_docs, m = n < t->p.max_train_docs ? n : t->p.max_train_docs;
    uint32_t *ids = fd_malloc(((size_t)n + 1) * sizeof *ids);
    if (!ids)
        return NULL;
    for (uint32_t i = 0; i < n; i++)
        ids[i] = i;
    uint64_t s = t->p.seed ^ 0xA5A5A5A5DEADBEEFull;
    for (uint32_t i = 0; i < m && m < n; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        uint32_t j = i + (uint32_t)((s >> 33) % (n - i));
        uint32_t tmp = ids[i];
        ids[i] = ids[j];
        ids[j] = tmp;
    }
    qsort(ids, m, sizeof *ids, cmp_u32);
    *n_out = m;
    return ids;
}

static void csr_free(fd_csr *A)
{
    FD_FREE(A->row);
    FD_FREE(A->col);
    FD_FREE(A->val);
}

static int build_sample(const fd_lsa_trainer *t, const vocab *v, fd_csr *A)
{
    memset(A, 0, sizeof *A);
    uint32_t m;
    uint32_t *ids = sample_docs(t, &m);
    if (!ids)
        return FD_ENOMEM;
    size_t nnz = 0;
    for (uint32_t i = 0; i < m; i++)
        nnz += t->row[ids[i] + 1] - t->row[ids[i]];
    A->m = m;
    A->n_cols = v->n;
    A->row = fd_malloc(((size_t)m + 1) * sizeof *A->row);
    A->col = fd_malloc((nnz + 1) * sizeof *A->col);
    A->val = fd_malloc((nnz + 1) * sizeof *A->val);
    if (!A->row || !A->col || !A->val) {
        fd_free(ids);
        return FD_ENOMEM;
    }
    A->row[0] = 0;
    for (uint32_t i = 0; i < m; i++)
        A->row[i + 1] = A->row[i] + doc_row(t, v, ids[i], A->col + A->row[i], A->val + A->row[i]);
    fd_free(ids);
    return FD_OK;
}

/* Every doc through the same formula as a query (embedder.c): the sum of
 * its terms' projection rows weighted by TF-IDF, normalized. */
static int project_docs(const fd_lsa_trainer *t, const vocab *v, const float *proj, int dim,
                        float *vecs)
{
    size_t max_row = 0;
    for (uint32_t d = 0; d < t->n_docs; d++)
        if (t->row[d + 1] - t->row[d] > max_row)
            max_row = t->row[d + 1] - t->row[d];
    uint32_t ds = (uint32_t)(dim + LA_LANES - 1) / LA_LANES * LA_LANES;
    uint32_t *col = fd_malloc((max_row + 1) * sizeof *col);
    float *val = fd_malloc((max_row + 1) * sizeof *val);
    float *acc = fd_malloc(ds * sizeof *acc);
    float *prow = fd_calloc(ds, sizeof *prow);
    int rc = col && val && acc && prow ? FD_OK : FD_ENOMEM;
    for (uint32_t d = 0; d < t->n_docs && !rc; d++) {
        size_t n = doc_row(t, v, d, col, val);
        memset(acc, 0, ds * sizeof *acc);
        for (size_t i = 0; i < n; i++) {
            if (i + LA_PREFETCH < n)
                fd_la_prefetch_row(proj + (size_t)col[i + LA_PREFETCH] * dim, (size_t)dim);
            /* Rows are dim long in the model; copy to a padded row when
             * dim is not a lane multiple, else use it in place. */
            const float *r = proj + (size_t)col[i] * dim;
            if ((uint32_t)dim != ds) {
                memcpy(prow, r, (size_t)dim * sizeof *prow);
                r = prow;
            }
            fd_la_axpy(acc, val[i], r, ds);
        }
        double norm = 0;
        for (int j = 0; j < dim; j++)
            norm += (double)acc[j] * acc[j];
        float inv = norm > 0 ? (float)(1 / sqrt(norm)) : 0;
        for (int j = 0; j < dim; j++)
            vecs[(size_t)d * dim + j] = acc[j] * inv;
    }
    fd_free(col);
    fd_free(val);
    fd_free(acc);
    fd_free(prow);
    return rc;
}

/* Directions weighted by S^-power: 0 keeps V_k (cosine in the LSA term
 * space), 1 gives the classic fold-in S^-1 V_k^T q. Zero singular values
 * leave their column zero. */
static int scale_columns(float *vk, uint32_t rows, int dim, const float *sigma, double power)
{
    float *f = fd_malloc((size_t)dim * sizeof *f);
    if (!f)
        return FD_ENOMEM;
    for (int j = 0; j < dim; j++)
        f[j] = sigma[j] > 0 ? (float)pow(sigma[j], -power) : 0.0f;
    for (uint32_t r = 0; r < rows; r++) /* row order: one pass over the matrix */
        for (int j = 0; j < dim; j++)
            vk[(size_t)r * dim + j] *= f[j];
    fd_free(f);
    return FD_OK;
}

static int write_model(const fd_lsa_trainer *t, const vocab *v, const float *proj, fd_buf *out)
{
    fd_str *names = fd_malloc(((size_t)v->n + 1) * sizeof *names);
    if (!names)
        return FD_ENOMEM;
    for (uint32_t i = 0; i < v->n; i++) {
        const term_info *ti = &t->terms[v->ids[i]];
        names[i] = (fd_str){t->str + ti->off, ti->len};
    }
    int rc = fd_lsa_model_write(names, v->idf, proj, v->n, (uint32_t)t->p.dim, model_flags(t), out);
    fd_free(names);
    return rc;
}

/* The model stores rows as int8; project docs through the same rounded
 * rows so a doc's vector is exactly what embedding its terms gives. */
static int round_to_int8(float *proj, uint32_t n, uint32_t dim)
{
    int8_t *q = fd_malloc((size_t)dim + 1);
    if (!q)
        return FD_ENOMEM;
    for (uint32_t i = 0; i < n; i++) {
        float *row = proj + (size_t)i * dim;
        float scale = fd_lsa_quantize_row(row, dim, q);
        for (uint32_t c = 0; c < dim; c++)
            row[c] = (float)q[c] * scale;
    }
    fd_free(q);
    return FD_OK;
}

int fd_lsa_trainer_finish(fd_lsa_trainer *t, fd_buf *model_out, float **vecs, size_t *n_docs,
                          int *dim, fd_err *err)
{
    *vecs = NULL;
    *n_docs = 0;
    *dim = t->p.dim;
    size_t start = model_out->len;
    vocab v = {0};
    fd_csr A = {0};
    float *vk = NULL, *out = NULL;
    float *sigma = fd_calloc((size_t)t->p.dim, sizeof *sigma);
    int rc = sigma ? choose_vocab(t, &v) : FD_ENOMEM;
    if (!rc)
        rc = build_sample(t, &v, &A);
    if (!rc)
        rc = fd_la_rsvd(&A, (uint32_t)t->p.dim, (uint32_t)t->tu.oversample, t->p.power_iters,
                        t->p.seed, &vk, sigma);
    csr_free(&A); /* before the doc vectors: keeps the peak down */
    if (!rc) {
        rc = scale_columns(vk, v.n, t->p.dim, sigma, t->tu.sigma_power);
        if (!rc)
            rc = round_to_int8(vk, v.n, (uint32_t)t->p.dim);
        out = rc ? NULL : fd_malloc(((size_t)t->n_docs * t->p.dim + 1) * sizeof *out);
        rc = rc ? rc : out ? project_docs(t, &v, vk, t->p.dim, out) : FD_ENOMEM;
    }
    if (!rc)
        rc = write_model(t, &v, vk, model_out);
    vocab_free(&v);
    fd_free(vk);
    fd_free(sigma);
    if (rc) {
        fd_free(out);
        model_out->len = start; /* nothing half-written */
        if (model_out->p)
            model_out->p[start] = '\0';
        return fd_err_set(err, rc, "lsa: training on %u docs", t->n_docs);
    }
    *vecs = out;
    *n_docs = t->n_docs;
    return FD_OK;
}
