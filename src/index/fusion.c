/* fusion.c: merging a lexical and a dense ranking into one. Weighted fusion
 * on max-normalized scores is the default for hybrid search: plain RRF
 * gives a weak dense list the same say as BM25 and loses ~0.07 nDCG@10 on
 * SciFact (bench/RESULTS.md), while a small weight lets dense add recall. */
#include "index.h"

#include <stdlib.h>
#include <string.h>

typedef struct fused {
    uint32_t doc;
    double score;
} fused;

static int fused_cmp(const void *pa, const void *pb)
{
    const fused *a = pa, *b = pb;
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    return a->doc < b->doc ? -1 : a->doc > b->doc;
}

static double list_max(const fd_hits *h)
{
    double m = 0;
    for (size_t i = 0; i < h->n; i++)
        if (h->v[i].score > m)
            m = h->v[i].score;
    return m;
}

/* Where each doc's entry of v is: open addressing on the doc id, slots
 * holding an index into v plus one (0: empty). The lists are a few hundred
 * long, and a scan of v per entry made fusion quadratic: 2% of a chat
 * turn's CPU at hybrid search's depth of 100 + 100 (bench/RESULTS.md). */
typedef struct doc_index {
    uint32_t *slot;
    size_t mask;
} doc_index;

static int index_init(doc_index *x, size_t n, fd_arena *a)
{
    size_t cap = 16;
    while (cap < 2 * n)
        cap <<= 1;
    x->slot = fd_arena_calloc(a, cap, sizeof *x->slot);
    x->mask = cap - 1;
    return x->slot ? FD_OK : FD_ENOMEM;
}

/* doc's entry, appended to v (n grows) when it has none yet. */
static fused *entry(doc_index *x, fused *v, size_t *n, uint32_t doc)
{
    size_t i = (size_t)(doc * 0x9e3779b1u) & x->mask;
    while (x->slot[i]) {
        if (v[x->slot[i] - 1].doc == doc)
            return &v[x->slot[i] - 1];
        i = (i + 1) & x->mask;
    }
    fused *f = &v[*n];
    f->doc = doc;
    f->score = 0;
    x->slot[i] = (uint32_t)++ * n;
    return f;
}

int fd_fuse(const fd_hits *a, const fd_hits *b, fd_fuse_mode mode, double w, int rrf_k, size_t k,
            fd_arena *arena, fd_hits *out, fd_err *err)
{
    out->v = NULL;
    out->n = 0;
    if (w < 0 || w > 1 || rrf_k < 1)
        return fd_err_set(err, FD_EINVAL, "fusion weight must be in [0,1] and rrf_k >= 1");
    size_t cap = a->n + b->n;
    if (cap == 0 || k == 0)
        return FD_OK;
    fused *v = fd_arena_alloc(arena, cap * sizeof *v);
    if (!v)
        return fd_err_set(err, fd_arena_full(arena) ? FD_ETOOBIG : FD_ENOMEM, "fusion: no memory");
    doc_index x;
    if (index_init(&x, cap, arena))
        return fd_err_set(err, fd_arena_full(arena) ? FD_ETOOBIG : FD_ENOMEM, "fusion: no memory");
    double ma = list_max(a), mb = list_max(b);
    size_t n = 0;
    const fd_hits *lists[2] = {a, b};
    double weights[2] = {1 - w, w};
    double maxes[2] = {ma, mb};
    for (int l = 0; l < 2; l++) {
        const fd_hits *h = lists[l];
        for (size_t i = 0; i < h->n; i++) {
            double s;
            if (mode == FD_FUSE_RRF)
                s = weights[l] / (double)(rrf_k + (int)i + 1);
            else
                s = maxes[l] > 0 ? weights[l] * h->v[i].score / maxes[l] : 0;
            entry(&x, v, &n, h->v[i].doc)->score += s;
        }
    }
    qsort(v, n, sizeof *v, fused_cmp);
    if (n > k)
        n = k;
    out->v = fd_arena_alloc(arena, n * sizeof *out->v);
    if (!out->v)
        return fd_err_set(err, fd_arena_full(arena) ? FD_ETOOBIG : FD_ENOMEM, "fusion: no memory");
    for (size_t i = 0; i < n; i++) {
        out->v[i].doc = v[i].doc;
        out->v[i].score = (float)v[i].score;
    }
    out->n = n;
    return FD_OK;
}
