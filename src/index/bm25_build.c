/* bm25_build.c: collects documents' terms and serializes the BM25 section
 * (bm25_int.h): dictionary as an on-disk hash table, exact doc lengths,
 * block-packed postings with per-block and per-term score bounds. */
#include "bm25_int.h"

/* Build-time term: the dictionary entry plus where its last posting is, so a
 * repeated term in the same doc bumps that posting's tf in O(1). */
typedef struct bterm {
    uint64_t hash;
    uint32_t str_off;
    uint32_t str_len;
    uint32_t df;
    uint32_t last_doc; /* BM25_EMPTY before the first posting */
    uint32_t last_pos; /* index of that posting in the log */
} bterm;

/* Postings in the order docs arrive; write() regroups them by term with a
 * counting sort, which is cheaper than a growable list per term. */
typedef struct bpost {
    uint32_t tid;
    uint32_t tf;
} bpost;

struct fd_bm25_builder {
    bterm *terms;
    size_t n_terms, cap_terms;
    uint32_t *slots; /* term ids, BM25_EMPTY; load <= 1/2 */
    size_t n_slots;
    char *strs;
    size_t len_strs, cap_strs;
    bpost *log;
    size_t n_log, cap_log;
    uint32_t *doc_end; /* log index after doc d's postings */
    uint32_t *dl;
    size_t n_docs, cap_docs, cap_end;
    uint64_t total_len;
};

/* Grows *p to hold need elements (doubling); nothing changes on failure. */
static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return FD_OK;
    size_t n = *cap ? *cap : 64;
    while (n < need)
        n *= 2;
    if (n > SIZE_MAX / elem)
        return FD_ENOMEM;
    void *q = fd_realloc(*p, n * elem);
    if (!q)
        return FD_ENOMEM;
    *p = q;
    *cap = n;
    return FD_OK;
}

int fd_bm25_builder_new(fd_bm25_builder **out, fd_err *err)
{
    *out = fd_calloc(1, sizeof **out);
    return *out ? FD_OK : fd_err_set(err, FD_ENOMEM, "bm25 builder");
}

void fd_bm25_builder_free(fd_bm25_builder *b)
{
    if (!b)
        return;
    fd_free(b->terms);
    fd_free(b->slots);
    fd_free(b->strs);
    fd_free(b->log);
    fd_free(b->doc_end);
    fd_free(b->dl);
    fd_free(b);
}

static void slot_insert(uint32_t *slots, size_t n_slots, uint64_t hash, uint32_t tid)
{
    size_t i = (size_t)hash & (n_slots - 1);
    while (slots[i] != BM25_EMPTY)
        i = (i + 1) & (n_slots - 1);
    slots[i] = tid;
}

/* Makes room for `extra` new terms so that adding a doc cannot fail half
 * way: the doc is either fully in or not at all. */
static int reserve_terms(fd_bm25_builder *b, size_t extra, size_t bytes)
{
    size_t need = b->n_terms + extra;
    if (need >= BM25_EMPTY || b->len_strs + bytes > UINT32_MAX)
        return FD_ETOOBIG;
    int rc = grow((void **)&b->terms, &b->cap_terms, need, sizeof(bterm));
    if (!rc)
        rc = grow((void **)&b->strs, &b->cap_strs, b->len_strs + bytes + 1, 1);
    if (rc || need * 2 <= b->n_slots)
        return rc;
    size_t n = b->n_slots ? b->n_slots : 1024;
    while (need * 2 > n)
        n *= 2;
    uint32_t *s = fd_malloc(n * sizeof *s);
    if (!s)
        return FD_ENOMEM;
    memset(s, 0xff, n * sizeof *s);
    for (size_t t = 0; t < b->n_terms; t++)
        slot_insert(s, n, b->terms[t].hash, (uint32_t)t);
    fd_free(b->slots);
    b->slots = s;
    b->n_slots = n;
    return FD_OK;
}

static uint32_t term_id(fd_bm25_builder *b, fd_str s)
{
    uint64_t h = bm25_hash(s.p, s.len);
    size_t i = (size_t)h & (b->n_slots - 1);
    for (;; i = (i + 1) & (b->n_slots - 1)) {
        uint32_t t = b->slots[i];
        if (t == BM25_EMPTY)
            break;
        const bterm *e = &b->terms[t];
        if (e->hash == h && e->str_len == s.len && !memcmp(b->strs + e->str_off, s.p, s.len))
            return t;
    }
    uint32_t t = (uint32_t)b->n_terms++;
    b->slots[i] = t;
    b->terms[t] = (bterm){.hash = h,
                          .str_off = (uint32_t)b->len_strs,
                          .str_len = (uint32_t)s.len,
                          .last_doc = BM25_EMPTY};
    if (s.len)
        memcpy(b->strs + b->len_strs, s.p, s.len);
    b->len_strs += s.len;
    return t;
}

static int reserve_doc(fd_bm25_builder *b, const fd_str *terms, size_t n_terms)
{
    size_t bytes = 0;
    for (size_t i = 0; i < n_terms; i++) {
        if (!terms[i].p && terms[i].len)
            return FD_EINVAL;
        bytes += terms[i].len;
    }
    if (b->n_docs + 1 >= BM25_EMPTY || b->n_log + n_terms >= UINT32_MAX || n_terms >= UINT32_MAX)
        return FD_ETOOBIG;
    int rc = reserve_terms(b, n_terms, bytes);
    if (!rc)
        rc = grow((void **)&b->log, &b->cap_log, b->n_log + n_terms, sizeof(bpost));
    if (!rc)
        rc = grow((void **)&b->dl, &b->cap_docs, b->n_docs + 1, sizeof(uint32_t));
    if (!rc)
        rc = grow((void **)&b->doc_end, &b->cap_end, b->n_docs + 1, sizeof(uint32_t));
    return rc;
}

int fd_bm25_builder_add(fd_bm25_builder *b, const fd_str *terms, size_t n_terms, fd_err *err)
{
    if (!b || (!terms && n_terms))
        return fd_err_set(err, FD_EINVAL, "bm25 add: bad argument");
    int rc = reserve_doc(b, terms, n_terms);
    if (rc)
        return fd_err_set(err, rc, "bm25 add: doc %zu: %s", b->n_docs, fd_code_name(rc));
    uint32_t doc = (uint32_t)b->n_docs;
    for (size_t i = 0; i < n_terms; i++) {
        bterm *t = &b->terms[term_id(b, terms[i])];
        if (t->last_doc == doc) {
            b->log[t->last_pos].tf++;
            continue;
        }
        t->last_doc = doc;
        t->last_pos = (uint32_t)b->n_log;
        t->df++;
        b->log[b->n_log++] = (bpost){.tid = (uint32_t)(t - b->terms), .tf = 1};
    }
    b->dl[doc] = (uint32_t)n_terms;
    b->doc_end[doc] = (uint32_t)b->n_log;
    b->n_docs++;
    b->total_len += n_terms;
    return FD_OK;
}

/* ---- write ----------------------------------------------------------------- */

/* Where each region of the section starts (bm25_int.h). */
typedef struct layout {
    size_t dl, terms, slots, blocks, strings, post, total;
} layout;

typedef struct wctx {
    const fd_bm25_builder *b;
    bm25_params prm;
    uint32_t *pdoc, *ptf; /* postings grouped by term, doc order within */
    size_t *start;        /* term t's postings: [start[t], start[t + 1]) */
    uint32_t n_blocks, n_slots, dl_width;
    uint64_t len_post;
    layout lay;
    uint8_t *sec;
} wctx;

static size_t blocks_of(uint32_t df)
{
    return (df + BM25_BLOCK - 1) / BM25_BLOCK;
}

/* Counting sort of the log by term: doc order survives within a term. */
static int group_postings(wctx *w)
{
    const fd_bm25_builder *b = w->b;
    w->start = fd_malloc((b->n_terms + 1) * sizeof *w->start);
    w->pdoc = fd_malloc((b->n_log ? b->n_log : 1) * sizeof *w->pdoc);
    w->ptf = fd_malloc((b->n_log ? b->n_log : 1) * sizeof *w->ptf);
    if (!w->start || !w->pdoc || !w->ptf)
        return FD_ENOMEM;
    size_t sum = 0;
    for (size_t t = 0; t < b->n_terms; t++) {
        w->start[t] = sum;
        sum += b->terms[t].df;
    }
    w->start[b->n_terms] = sum;
    size_t i = 0;
    for (size_t d = 0; d < b->n_docs; d++) {
        for (; i < b->doc_end[d]; i++) {
            size_t at = w->start[b->log[i].tid]++;
            w->pdoc[at] = (uint32_t)d;
            w->ptf[at] = b->log[i].tf;
        }
    }
    for (size_t t = b->n_terms; t > 0; t--) /* the scatter moved each start to the next */
        w->start[t] = w->start[t - 1];
    w->start[0] = 0;
    return FD_OK;
}

/* Sizes every region; the postings size needs a pass over the blocks. */
static int plan(wctx *w)
{
    const fd_bm25_builder *b = w->b;
    uint64_t n_blocks = 0, post = 0;
    uint32_t max_dl = 0;
    for (size_t d = 0; d < b->n_docs; d++)
        max_dl = b->dl[d] > max_dl ? b->dl[d] : max_dl;
    for (size_t t = 0; t < b->n_terms; t++) {
        size_t s = w->start[t], df = b->terms[t].df;
        for (size_t j = 0; j < df; j += BM25_BLOCK) {
            uint32_t n = (uint32_t)(df - j < BM25_BLOCK ? df - j : BM25_BLOCK);
            int64_t prev = j ? (int64_t)w->pdoc[s + j - 1] : -1;
            post += bm25_block_size(w->pdoc + s + j, w->ptf + s + j, n, prev);
        }
        n_blocks += blocks_of((uint32_t)df);
    }
    if (n_blocks >= UINT32_MAX || post >= UINT32_MAX || b->n_terms > (1u << 30))
        return FD_ETOOBIG; /* block offsets are 32-bit */
    w->n_blocks = (uint32_t)n_blocks;
    w->len_post = post;
    w->dl_width = max_dl > UINT16_MAX ? 4 : 2;
    w->n_slots = 2;
    while (w->n_slots < 2 * b->n_terms)
        w->n_slots *= 2;
    layout *l = &w->lay;
    l->dl = bm25_align8(sizeof(bm25_hdr));
    l->terms = l->dl + bm25_align8(b->n_docs * w->dl_width);
    l->slots = l->terms + bm25_align8(b->n_terms * sizeof(bm25_term));
    l->blocks = l->slots + bm25_align8((size_t)w->n_slots * sizeof(uint32_t));
    l->strings = l->blocks + bm25_align8((size_t)w->n_blocks * sizeof(bm25_block));
    l->post = l->strings + bm25_align8(b->len_strs);
    l->total = l->post + bm25_align8(post + BM25_PAD);
    return FD_OK;
}

static void write_header(wctx *w, double k1, double bparam)
{
    const fd_bm25_builder *b = w->b;
    bm25_hdr h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, BM25_MAGIC, 8);
    h.version = BM25_VERSION;
    h.n_docs = (uint32_t)b->n_docs;
    h.n_terms = (uint32_t)b->n_terms;
    h.n_slots = w->n_slots;
    h.n_blocks = w->n_blocks;
    h.dl_width = w->dl_width;
    h.total_len = b->total_len;
    h.len_strings = b->len_strs;
    h.len_post = w->len_post;
    h.k1 = k1;
    h.b = bparam;
    memcpy(w->sec, &h, sizeof h);
}

static void write_dict(wctx *w)
{
    const fd_bm25_builder *b = w->b;
    uint8_t *dl = w->sec + w->lay.dl;
    for (size_t d = 0; d < b->n_docs; d++) {
        if (w->dl_width == 2) {
            uint16_t v = (uint16_t)b->dl[d];
            memcpy(dl + d * 2, &v, 2);
        } else {
            memcpy(dl + d * 4, &b->dl[d], 4);
        }
    }
    uint32_t *slots = (uint32_t *)(w->sec + w->lay.slots);
    memset(slots, 0xff, (size_t)w->n_slots * sizeof *slots);
    for (size_t t = 0; t < b->n_terms; t++)
        slot_insert(slots, w->n_slots, b->terms[t].hash, (uint32_t)t);
    if (b->len_strs)
        memcpy(w->sec + w->lay.strings, b->strs, b->len_strs);
}

/* Encodes term t's blocks at *off and fills its block and term records. */
static void write_term(wctx *w, size_t t, uint32_t *first_block, uint64_t *off)
{
    const fd_bm25_builder *b = w->b;
    const bterm *bt = &b->terms[t];
    size_t s = w->start[t];
    float idf = bm25_idf((uint32_t)b->n_docs, bt->df);
    bm25_block *blk = (bm25_block *)(w->sec + w->lay.blocks) + *first_block;
    float tmax = 0;
    for (size_t j = 0; j < bt->df; j += BM25_BLOCK, blk++) {
        uint32_t n = (uint32_t)(bt->df - j < BM25_BLOCK ? bt->df - j : BM25_BLOCK);
        const uint32_t *docs = w->pdoc + s + j, *tfs = w->ptf + s + j;
        float m = 0;
        for (uint32_t i = 0; i < n; i++) {
            float c = bm25_contrib(&w->prm, idf, tfs[i], bm25_kd(&w->prm, b->dl[docs[i]]));
            m = c > m ? c : m;
        }
        blk->last_doc = docs[n - 1];
        blk->off = (uint32_t)*off;
        blk->max_score = bm25_bound_up(m);
        tmax = blk->max_score > tmax ? blk->max_score : tmax;
        int64_t prev = j ? (int64_t)w->pdoc[s + j - 1] : -1;
        *off += bm25_block_encode(w->sec + w->lay.post + *off, docs, tfs, n, prev);
    }
    bm25_term rec = {.df = bt->df,
                     .first_block = *first_block,
                     .max_score = tmax,
                     .str_off = bt->str_off,
                     .str_len = bt->str_len};
    memcpy(w->sec + w->lay.terms + t * sizeof rec, &rec, sizeof rec);
    *first_block += (uint32_t)blocks_of(bt->df);
}

static int serialize(wctx *w, double k1, double bparam)
{
    int rc = group_postings(w);
    if (!rc)
        rc = plan(w);
    if (rc)
        return rc;
    w->sec = fd_calloc(1, w->lay.total); /* zeroed: the packer ORs bits in */
    if (!w->sec)
        return FD_ENOMEM;
    write_header(w, k1, bparam);
    write_dict(w);
    uint32_t first_block = 0;
    uint64_t off = 0;
    for (size_t t = 0; t < w->b->n_terms; t++)
        write_term(w, t, &first_block, &off);
    return FD_OK;
}

int fd_bm25_builder_write(fd_bm25_builder *b, double k1, double bparam, fd_buf *out, fd_err *err)
{
    if (!b || !out)
        return fd_err_set(err, FD_EINVAL, "bm25 write: bad argument");
    if (!(k1 >= 0 && k1 <= BM25_K1_MAX) || !(bparam >= 0 && bparam <= 1))
        return fd_err_set(err, FD_EINVAL, "bm25 write: k1 %g, b %g out of range", k1, bparam);
    wctx w = {.b = b};
    double avgdl = b->n_docs ? (double)b->total_len / (double)b->n_docs : 0;
    w.prm = bm25_params_make(k1, bparam, avgdl);
    int rc = serialize(&w, k1, bparam);
    if (!rc)
        rc = fd_buf_append(out, w.sec, w.lay.total);
    fd_free(w.start);
    fd_free(w.pdoc);
    fd_free(w.ptf);
    fd_free(w.sec);
    if (rc)
        return fd_err_set(err, rc, "bm25 write: %s", fd_code_name(rc));
    return FD_OK;
}
