/* embedder.c: the LSA model format: writing it, and embedding queries over
 * its bytes in place (a hash probe per term, a weighted sum of rows), so
 * opening a model costs nothing however large its vocabulary. */
#include "embed_int.h"

#include <stdlib.h>
#include <string.h>

#define ALIGN 64
#define STACK_TERMS 256

struct fd_embedder {
    uint32_t dim, n_terms, table_size, strings_len, flags;
    const float *idf;
    const float *pscale; /* per-row int8 scale */
    const uint32_t *term_off;
    const uint32_t *table;
    const int8_t *proj;
    const char *strings;
};

static size_t align_up(size_t x)
{
    return (x + ALIGN - 1) / ALIGN * ALIGN;
}

/* Bounds keep every product below 2^62, so size_t cannot overflow. */
int fd_lsa_layout(const lsa_hdr *h, lsa_layout *lay)
{
    if (h->dim < 1 || h->dim > LSA_MAX_DIM || h->n_terms >= (1u << 28) ||
        h->table_size > (1u << 30) || h->table_size <= h->n_terms ||
        (h->table_size & (h->table_size - 1)))
        return 0;
    lay->idf = sizeof *h;
    lay->pscale = align_up(lay->idf + (size_t)h->n_terms * 4);
    lay->term_off = align_up(lay->pscale + (size_t)h->n_terms * 4);
    lay->table = align_up(lay->term_off + ((size_t)h->n_terms + 1) * 4);
    lay->proj = align_up(lay->table + (size_t)h->table_size * 4);
    lay->strings = lay->proj + (size_t)h->n_terms * h->dim;
    lay->end = lay->strings + h->strings_len;
    return 1;
}

/* ---- writing ------------------------------------------------------------- */

static int pad(fd_buf *out, size_t start)
{
    static const char zeros[ALIGN];
    size_t len = out->len - start;
    return fd_buf_append(out, zeros, align_up(len) - len);
}

static uint32_t *hash_table(const fd_str *terms, uint32_t n, uint32_t size)
{
    uint32_t *tab = fd_calloc(size, sizeof *tab);
    if (!tab)
        return NULL;
    for (uint32_t id = 0; id < n; id++) {
        uint32_t i = (uint32_t)fd_hash64(terms[id].p, terms[id].len, LSA_HASH_SEED) & (size - 1);
        while (tab[i])
            i = (i + 1) & (size - 1);
        tab[i] = id + 1;
    }
    return tab;
}

float fd_lsa_quantize_row(const float *x, uint32_t dim, int8_t *q)
{
    float m = 0;
    for (uint32_t c = 0; c < dim; c++)
        m = fabsf(x[c]) > m ? fabsf(x[c]) : m;
    float scale = m > 0 ? m / 127.0f : 0;
    for (uint32_t c = 0; c < dim; c++)
        q[c] = scale > 0 ? (int8_t)lrintf(x[c] / scale) : 0;
    return scale;
}

static int write_arrays(const fd_str *terms, const float *idf, const float *proj, const lsa_hdr *h,
                        size_t start, fd_buf *out)
{
    uint32_t *off = fd_malloc(((size_t)h->n_terms + 1) * sizeof *off);
    uint32_t *tab = hash_table(terms, h->n_terms, h->table_size);
    float *scales = fd_malloc(((size_t)h->n_terms + 1) * sizeof *scales);
    int8_t *q = fd_malloc((size_t)h->n_terms * h->dim + 1);
    int rc = off && tab && scales && q ? FD_OK : FD_ENOMEM;
    for (uint32_t i = 0; i < h->n_terms && !rc; i++)
        scales[i] = fd_lsa_quantize_row(proj + (size_t)i * h->dim, h->dim, q + (size_t)i * h->dim);
    if (!rc) {
        off[0] = 0;
        for (uint32_t i = 0; i < h->n_terms; i++)
            off[i + 1] = off[i] + (uint32_t)terms[i].len;
        rc = fd_buf_append(out, h, sizeof *h);
    }
    if (!rc)
        rc = fd_buf_append(out, idf, (size_t)h->n_terms * sizeof *idf);
    if (!rc)
        rc = pad(out, start);
    if (!rc)
        rc = fd_buf_append(out, scales, (size_t)h->n_terms * sizeof *scales);
    if (!rc)
        rc = pad(out, start);
    if (!rc)
        rc = fd_buf_append(out, off, ((size_t)h->n_terms + 1) * sizeof *off);
    if (!rc)
        rc = pad(out, start);
    if (!rc)
        rc = fd_buf_append(out, tab, (size_t)h->table_size * sizeof *tab);
    if (!rc)
        rc = pad(out, start);
    if (!rc)
        rc = fd_buf_append(out, q, (size_t)h->n_terms * h->dim);
    for (uint32_t i = 0; i < h->n_terms && !rc; i++)
        rc = fd_buf_append(out, terms[i].p, terms[i].len);
    fd_free(off);
    fd_free(tab);
    fd_free(scales);
    fd_free(q);
    return rc;
}

int fd_lsa_model_write(const fd_str *terms, const float *idf, const float *proj, uint32_t n_terms,
                       uint32_t dim, uint32_t flags, fd_buf *out)
{
    lsa_hdr h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, LSA_MAGIC, 8);
    h.version = LSA_VERSION;
    h.dim = dim;
    h.n_terms = n_terms;
    h.flags = flags;
    /* At most half full: unsuccessful probes (unknown query words, the
     * common case) stay short. */
    h.table_size = 16;
    while (h.table_size < 2 * (size_t)n_terms)
        h.table_size *= 2;
    size_t len = 0;
    for (uint32_t i = 0; i < n_terms; i++)
        len += terms[i].len;
    lsa_layout lay;
    if (len > UINT32_MAX || !fd_lsa_layout(&h, &lay))
        return FD_ETOOBIG;
    h.strings_len = (uint32_t)len;
    size_t start = out->len;
    int rc = write_arrays(terms, idf, proj, &h, start, out);
    if (rc) {
        out->len = start;
        if (out->p)
            out->p[start] = '\0';
    }
    return rc;
}

/* ---- reading --------------------------------------------------------------- */

int fd_embedder_open_lsa(const void *p, size_t len, fd_embedder **out, fd_err *err)
{
    *out = NULL;
    lsa_hdr h;
    lsa_layout lay;
    if (!p || len < sizeof h)
        return fd_err_set(err, FD_EFORMAT, "lsa: model too short (%zu bytes)", len);
    if ((uintptr_t)p % 4)
        return fd_err_set(err, FD_EINVAL, "lsa: model bytes not 4-byte aligned");
    memcpy(&h, p, sizeof h);
    if (memcmp(h.magic, LSA_MAGIC, 8) || h.version != LSA_VERSION || (h.flags & ~LSA_F_RAW_TF))
        return fd_err_set(err, FD_EFORMAT, "lsa: bad magic, version or flags");
    if (!fd_lsa_layout(&h, &lay) || lay.end != len)
        return fd_err_set(err, FD_EFORMAT, "lsa: model size %zu does not match header", len);
    fd_embedder *e = fd_malloc(sizeof *e);
    if (!e)
        return fd_err_set(err, FD_ENOMEM, "lsa: open");
    const char *b = p;
    *e = (fd_embedder){h.dim,
                       h.n_terms,
                       h.table_size,
                       h.strings_len,
                       h.flags,
                       (const float *)(b + lay.idf),
                       (const float *)(b + lay.pscale),
                       (const uint32_t *)(b + lay.term_off),
                       (const uint32_t *)(b + lay.table),
                       (const int8_t *)(b + lay.proj),
                       b + lay.strings};
    *out = e;
    return FD_OK;
}

void fd_embedder_free(fd_embedder *e)
{
    fd_free(e);
}

int fd_embedder_dim(const fd_embedder *e)
{
    return (int)e->dim;
}

/* Term id, or UINT32_MAX. Every read is bounds-checked, so corrupt model
 * bytes give wrong answers at worst, never a crash; the probe count is
 * bounded in case the table has no empty slot. */
static uint32_t lookup(const fd_embedder *e, fd_str s)
{
    uint32_t mask = e->table_size - 1;
    uint32_t i = (uint32_t)fd_hash64(s.p, s.len, LSA_HASH_SEED) & mask;
    for (uint32_t probes = 0; probes < e->table_size && e->table[i]; probes++) {
        uint32_t id = e->table[i] - 1;
        i = (i + 1) & mask;
        if (id >= e->n_terms)
            continue;
        uint32_t a = e->term_off[id], z = e->term_off[id + 1];
        if (a <= z && z <= e->strings_len && z - a == s.len && !memcmp(e->strings + a, s.p, s.len))
            return id;
    }
    return UINT32_MAX;
}

static void sort_ids(uint32_t *v, size_t n)
{
    for (size_t i = 1; i < n; i++) { /* queries are short */
        uint32_t x = v[i];
        size_t j = i;
        for (; j > 0 && v[j - 1] > x; j--)
            v[j] = v[j - 1];
        v[j] = x;
    }
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* out = normalize(sum over distinct terms of tf weight * idf * row). */
static int embed_ids(const fd_embedder *e, uint32_t *ids, size_t n, float *out)
{
    if (n <= 64)
        sort_ids(ids, n);
    else
        qsort(ids, n, sizeof *ids, cmp_u32);
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && ids[j] == ids[i])
            j++;
        float w = fd_lsa_tf((uint32_t)(j - i), e->flags) * e->idf[ids[i]] * e->pscale[ids[i]];
        const int8_t *row = e->proj + (size_t)ids[i] * e->dim;
        for (uint32_t c = 0; c < e->dim; c++)
            out[c] += w * row[c];
        i = j;
    }
    double norm = 0;
    for (uint32_t c = 0; c < e->dim; c++)
        norm += (double)out[c] * out[c];
    if (!(norm > 0) || !(norm < INFINITY)) {
        memset(out, 0, e->dim * sizeof *out);
        return FD_ENOTFOUND;
    }
    float inv = (float)(1 / sqrt(norm));
    for (uint32_t c = 0; c < e->dim; c++)
        out[c] *= inv;
    return FD_OK;
}

int fd_embedder_embed(const fd_embedder *e, const fd_str *terms, size_t n_terms, float *out,
                      fd_err *err)
{
    memset(out, 0, e->dim * sizeof *out);
    uint32_t stack[STACK_TERMS];
    uint32_t *ids = stack;
    if (n_terms > STACK_TERMS && !(ids = fd_malloc(n_terms * sizeof *ids)))
        return fd_err_set(err, FD_ENOMEM, "lsa: embedding %zu terms", n_terms);
    size_t n = 0;
    for (size_t i = 0; i < n_terms; i++) {
        uint32_t id = lookup(e, terms[i]);
        if (id != UINT32_MAX)
            ids[n++] = id;
    }
    int rc = embed_ids(e, ids, n, out);
    if (ids != stack)
        fd_free(ids);
    if (rc)
        return fd_err_set(err, rc, "lsa: no query term in the vocabulary");
    return FD_OK;
}
