/* bm25.c: the BM25 index read in place from its serialized bytes: open
 * (bounds checks only, nothing copied or rebuilt), term lookup, top-k search
 * and scoring of given docs. */
#include "bm25_int.h"

#include <stdlib.h>

/* ---- open ------------------------------------------------------------------ */

typedef struct regions {
    uint64_t dl, terms, slots, blocks, strings, post, end;
} regions;

/* Region offsets from the header's counts, checked against len; 64-bit sums
 * of 32-bit counts times small sizes cannot overflow. */
static int place_regions(const bm25_hdr *h, size_t len, regions *r)
{
    if (h->len_strings > len || h->len_post > len)
        return FD_EFORMAT;
    r->dl = bm25_align8(sizeof *h);
    r->terms = r->dl + bm25_align8((uint64_t)h->n_docs * h->dl_width);
    r->slots = r->terms + bm25_align8((uint64_t)h->n_terms * sizeof(bm25_term));
    r->blocks = r->slots + bm25_align8((uint64_t)h->n_slots * sizeof(uint32_t));
    r->strings = r->blocks + bm25_align8((uint64_t)h->n_blocks * sizeof(bm25_block));
    r->post = r->strings + bm25_align8(h->len_strings);
    r->end = r->post + h->len_post + BM25_PAD;
    return r->end <= len ? FD_OK : FD_EFORMAT;
}

static int check_header(const bm25_hdr *h)
{
    if (memcmp(h->magic, BM25_MAGIC, 8) != 0 || h->version != BM25_VERSION)
        return FD_EFORMAT;
    if (h->dl_width != 2 && h->dl_width != 4)
        return FD_EFORMAT;
    if (h->n_slots < 2 || (h->n_slots & (h->n_slots - 1)) || h->n_slots <= h->n_terms)
        return FD_EFORMAT;
    if (!(h->k1 >= 0 && h->k1 <= BM25_K1_MAX) || !(h->b >= 0 && h->b <= 1))
        return FD_EFORMAT;
    if (h->n_terms > h->n_blocks || (h->n_docs == 0 && h->n_terms))
        return FD_EFORMAT;
    return FD_OK;
}

/* O(terms + blocks) and touching only the tables (a few MB for 100k docs):
 * after this, cursors can trust block order and doc bounds. */
static int check_tables(const fd_bm25 *ix, uint64_t len_strings)
{
    uint64_t next_block = 0;
    for (uint32_t t = 0; t < ix->n_terms; t++) {
        const bm25_term *e = &ix->terms[t];
        uint64_t nb = (e->df + (uint64_t)BM25_BLOCK - 1) / BM25_BLOCK;
        if (!e->df || e->df > ix->n_docs || e->first_block != next_block ||
            nb > ix->n_blocks - next_block || e->str_off > len_strings ||
            e->str_len > len_strings - e->str_off)
            return FD_EFORMAT;
        const bm25_block *b = ix->blocks + e->first_block;
        for (uint64_t j = 0; j < nb; j++)
            if (b[j].last_doc >= ix->n_docs || (j && b[j].last_doc <= b[j - 1].last_doc))
                return FD_EFORMAT;
        next_block += nb;
    }
    return next_block == ix->n_blocks ? FD_OK : FD_EFORMAT;
}

int fd_bm25_open(const void *p, size_t len, fd_bm25 **out, fd_err *err)
{
    *out = NULL;
    if (!p || (uintptr_t)p % 8)
        return fd_err_set(err, FD_EINVAL, "bm25 open: bytes must be 8-byte aligned");
    bm25_hdr h;
    regions r;
    if (len < sizeof h)
        return fd_err_set(err, FD_EFORMAT, "bm25: %zu bytes, too short", len);
    memcpy(&h, p, sizeof h);
    if (check_header(&h) || place_regions(&h, len, &r))
        return fd_err_set(err, FD_EFORMAT, "bm25: bad or truncated header");
    fd_bm25 *ix = fd_calloc(1, sizeof *ix);
    if (!ix)
        return fd_err_set(err, FD_ENOMEM, "bm25 open");
    const uint8_t *base = p;
    ix->n_docs = h.n_docs;
    ix->n_terms = h.n_terms;
    ix->n_slots = h.n_slots;
    ix->n_blocks = h.n_blocks;
    ix->dl_width = h.dl_width;
    ix->dl = base + r.dl;
    ix->terms = (const bm25_term *)(base + r.terms);
    ix->slots = (const uint32_t *)(base + r.slots);
    ix->blocks = (const bm25_block *)(base + r.blocks);
    ix->strings = (const char *)(base + r.strings);
    ix->post = base + r.post;
    ix->len_post = h.len_post;
    double avgdl = h.n_docs ? (double)h.total_len / (double)h.n_docs : 0;
    ix->prm = bm25_params_make(h.k1, h.b, avgdl);
    if (check_tables(ix, h.len_strings)) {
        fd_free(ix);
        return fd_err_set(err, FD_EFORMAT, "bm25: corrupt term or block table");
    }
    *out = ix;
    return FD_OK;
}

void fd_bm25_free(fd_bm25 *ix)
{
    fd_free(ix);
}

uint32_t fd_bm25_n_docs(const fd_bm25 *ix)
{
    return ix->n_docs;
}

uint32_t bm25_lookup(const fd_bm25 *ix, const char *p, size_t n)
{
    if (!ix->n_terms || (!p && n))
        return BM25_EMPTY;
    uint32_t mask = ix->n_slots - 1;
    uint32_t i = (uint32_t)bm25_hash(p, n) & mask;
    for (uint32_t probes = 0; probes < ix->n_slots; probes++, i = (i + 1) & mask) {
        uint32_t t = ix->slots[i];
        if (t >= ix->n_terms) /* BM25_EMPTY, or garbage: not found either way */
            return BM25_EMPTY;
        const bm25_term *e = &ix->terms[t];
        if (e->str_len == n && (!n || !memcmp(ix->strings + e->str_off, p, n)))
            return t;
    }
    return BM25_EMPTY;
}

uint32_t fd_bm25_df(const fd_bm25 *ix, fd_str term)
{
    uint32_t t = bm25_lookup(ix, term.p, term.len);
    return t == BM25_EMPTY ? 0 : ix->terms[t].df;
}

/* ---- queries --------------------------------------------------------------- */

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Known query terms, deduplicated into one cursor each with its count as
 * weight; tids is scratch for n_terms ids. Returns the number of cursors. */
static size_t resolve(const fd_bm25 *ix, const fd_str *terms, size_t n_terms, uint32_t *tids,
                      bm25_cursor *cur)
{
    size_t n = 0;
    for (size_t i = 0; i < n_terms; i++) {
        uint32_t t = bm25_lookup(ix, terms[i].p, terms[i].len);
        if (t != BM25_EMPTY)
            tids[n++] = t;
    }
    qsort(tids, n, sizeof *tids, cmp_u32);
    size_t n_cur = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && tids[j] == tids[i])
            j++;
        bm25_cursor_init(ix, tids[i], (uint32_t)(j - i), &cur[n_cur++]);
        i = j;
    }
    return n_cur;
}

static int hit_cmp(const void *a, const void *b)
{
    const fd_hit *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return (x->doc > y->doc) - (x->doc < y->doc);
}

static int arena_fail(fd_arena *a, fd_err *err)
{
    int code = fd_arena_full(a) ? FD_ETOOBIG : FD_ENOMEM;
    return fd_err_set(err, code, "bm25 search: out of arena memory");
}

int fd_bm25_search(const fd_bm25 *ix, const fd_str *terms, size_t n_terms, size_t k, fd_allow allow,
                   fd_arena *a, fd_hits *out, fd_err *err)
{
    if (!ix || !a || !out || (!terms && n_terms))
        return fd_err_set(err, FD_EINVAL, "bm25 search: bad argument");
    out->v = NULL;
    out->n = 0;
    if (!k || !n_terms || !ix->n_docs)
        return FD_OK;
    if (k > ix->n_docs)
        k = ix->n_docs;
    if (n_terms > SIZE_MAX / (2 * sizeof(bm25_cursor)))
        return fd_err_set(err, FD_ETOOBIG, "bm25 search: %zu terms", n_terms);
    bm25_cursor *cur = fd_arena_alloc(a, n_terms * (sizeof *cur + sizeof(uint32_t)));
    if (!cur)
        return arena_fail(a, err);
    uint32_t *tids = (uint32_t *)(void *)(cur + n_terms);
    size_t n_cur = resolve(ix, terms, n_terms, tids, cur);
    if (!n_cur)
        return FD_OK;
    int rc = bm25_topk(ix, cur, n_cur, k, allow, a, out, err);
    if (rc)
        return rc;
    qsort(out->v, out->n, sizeof *out->v, hit_cmp);
    return FD_OK;
}

int fd_bm25_score_docs(const fd_bm25 *ix, const fd_str *terms, size_t n_terms, const uint32_t *docs,
                       size_t n_docs, float *scores, fd_err *err)
{
    if (!ix || (!terms && n_terms) || (n_docs && (!docs || !scores)))
        return fd_err_set(err, FD_EINVAL, "bm25 score_docs: bad argument");
    for (size_t i = 0; i < n_docs; i++) {
        scores[i] = 0;
        if (docs[i] >= ix->n_docs)
            return fd_err_set(err, FD_EINVAL, "bm25 score_docs: doc %u of %u", docs[i], ix->n_docs);
    }
    if (!n_terms || !n_docs)
        return FD_OK;
    if (n_terms > SIZE_MAX / (2 * sizeof(bm25_cursor)))
        return fd_err_set(err, FD_ETOOBIG, "bm25 score_docs: %zu terms", n_terms);
    bm25_cursor *cur = fd_malloc(n_terms * (sizeof *cur + sizeof(uint32_t)));
    if (!cur)
        return fd_err_set(err, FD_ENOMEM, "bm25 score_docs");
    uint32_t *tids = (uint32_t *)(void *)(cur + n_terms);
    size_t n_cur = resolve(ix, terms, n_terms, tids, cur);
    int rc = FD_OK;
    for (size_t i = 0; i < n_docs && !rc; i++) {
        float kd = bm25_kd(&ix->prm, bm25_dl(ix, docs[i]));
        double s = 0;
        for (size_t j = 0; j < n_cur && !rc; j++) {
            uint32_t tf;
            rc = bm25_cursor_tf(ix, &cur[j], docs[i], &tf);
            if (tf)
                s += cur[j].w * (double)bm25_contrib(&ix->prm, cur[j].idf, tf, kd);
        }
        scores[i] = (float)s;
    }
    fd_free(cur);
    if (rc)
        return fd_err_set(err, rc, "bm25: corrupt posting block");
    return FD_OK;
}
