/* postings.c: the BM25 posting-block codec (binary packing of doc gaps and
 * tfs, 128 per block) and the cursor that walks a term's blocks, skipping
 * by the block table so only blocks that can matter are decoded. */
#include "bm25_int.h"

static unsigned bits_for(uint32_t max)
{
    return max ? 32u - (unsigned)__builtin_clz(max) : 0u;
}

static size_t packed_bytes(uint32_t n, unsigned bits)
{
    return ((size_t)n * bits + 7) / 8;
}

/* Widths of a block: gaps minus one (docs strictly increase) and tf - 1. */
static void block_widths(const uint32_t *docs, const uint32_t *tfs, uint32_t n, int64_t prev,
                         unsigned *db, unsigned *tb)
{
    uint32_t gmax = 0, tmax = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t gap = (uint32_t)((int64_t)docs[i] - prev - 1);
        gmax |= gap;
        tmax |= tfs[i] - 1;
        prev = docs[i];
    }
    *db = bits_for(gmax); /* OR of the values has the same top bit as their max */
    *tb = bits_for(tmax);
}

size_t bm25_block_size(const uint32_t *docs, const uint32_t *tfs, uint32_t n, int64_t prev)
{
    unsigned db, tb;
    block_widths(docs, tfs, n, prev, &db, &tb);
    return 2 + packed_bytes(n, db) + packed_bytes(n, tb);
}

/* out must be zeroed: values are OR-ed in byte by byte, never past the end. */
static void pack(uint8_t *out, uint32_t v, uint32_t i, unsigned bits)
{
    uint64_t bit = (uint64_t)i * bits;
    uint64_t x = (uint64_t)v << (bit & 7);
    for (uint8_t *p = out + (bit >> 3); x; x >>= 8)
        *p++ |= (uint8_t)x;
}

size_t bm25_block_encode(uint8_t *out, const uint32_t *docs, const uint32_t *tfs, uint32_t n,
                         int64_t prev)
{
    unsigned db, tb;
    block_widths(docs, tfs, n, prev, &db, &tb);
    out[0] = (uint8_t)db;
    out[1] = (uint8_t)tb;
    uint8_t *gaps = out + 2;
    uint8_t *tfp = gaps + packed_bytes(n, db);
    for (uint32_t i = 0; i < n; i++) {
        if (db)
            pack(gaps, (uint32_t)((int64_t)docs[i] - prev - 1), i, db);
        if (tb)
            pack(tfp, tfs[i] - 1, i, tb);
        prev = docs[i];
    }
    return 2 + packed_bytes(n, db) + packed_bytes(n, tb);
}

void bm25_cursor_init(const fd_bm25 *ix, uint32_t tid, uint32_t qtf, bm25_cursor *c)
{
    const bm25_term *t = &ix->terms[tid];
    c->blk = ix->blocks + t->first_block;
    c->df = t->df;
    c->n_blocks = (t->df + BM25_BLOCK - 1) / BM25_BLOCK;
    c->bi = 0;
    c->loaded = BM25_EMPTY;
    c->n = 0;
    c->pos = 0;
    c->tf_bits = 0;
    c->tf_data = NULL;
    c->idf = bm25_idf(ix->n_docs, t->df);
    c->w = (double)qtf;
    c->ub = c->w * (double)t->max_score;
    c->wmax = 0;
}

/* Gaps of a full block, unpacked with the width as a constant so the
 * compiler unrolls and keeps shifts immediate: ~3x the generic loop. */
#define UNPACK_FULL(B)                                                                             \
    static void unpack_full_##B(const uint8_t *p, uint32_t *v)                                     \
    {                                                                                              \
        for (uint32_t i = 0; i < BM25_BLOCK; i++) {                                                \
            uint64_t bit = (uint64_t)i * B, w;                                                     \
            memcpy(&w, p + (bit >> 3), 8);                                                         \
            v[i] = (uint32_t)((w >> (bit & 7)) & ((1ull << B) - 1));                               \
        }                                                                                          \
    }
#define UNPACK_8(X) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8)
UNPACK_8(UNPACK_FULL)
UNPACK_FULL(9)
UNPACK_FULL(10)
UNPACK_FULL(11)
UNPACK_FULL(12)
UNPACK_FULL(13)
UNPACK_FULL(14)
UNPACK_FULL(15)
UNPACK_FULL(16)

static void unpack_any(const uint8_t *p, uint32_t n, unsigned bits, uint32_t *v)
{
    uint64_t mask = (1ull << bits) - 1;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t bit = (uint64_t)i * bits, w;
        memcpy(&w, p + (bit >> 3), 8);
        v[i] = (uint32_t)((w >> (bit & 7)) & mask);
    }
}

typedef void (*unpack_fn)(const uint8_t *p, uint32_t *v);
static const unpack_fn unpack_full[17] = {
    NULL,           unpack_full_1,  unpack_full_2,  unpack_full_3,  unpack_full_4,  unpack_full_5,
    unpack_full_6,  unpack_full_7,  unpack_full_8,  unpack_full_9,  unpack_full_10, unpack_full_11,
    unpack_full_12, unpack_full_13, unpack_full_14, unpack_full_15, unpack_full_16,
};

/* Returns the last doc, computed in 64 bits so a corrupt gap cannot wrap. */
static uint64_t unpack_gaps(const uint8_t *p, uint32_t n, unsigned bits, int64_t prev,
                            uint32_t *docs)
{
    if (!bits)
        memset(docs, 0, n * sizeof *docs);
    else if (n == BM25_BLOCK && bits <= 16)
        unpack_full[bits](p, docs);
    else
        unpack_any(p, n, bits, docs);
    uint64_t cur = (uint64_t)prev;
    for (uint32_t i = 0; i < n; i++) {
        cur += (uint64_t)docs[i] + 1;
        docs[i] = (uint32_t)cur;
    }
    return cur;
}

int bm25_cursor_load(const fd_bm25 *ix, bm25_cursor *c)
{
    const bm25_block *b = &c->blk[c->bi];
    uint32_t n = c->bi + 1 < c->n_blocks ? BM25_BLOCK : c->df - c->bi * BM25_BLOCK;
    if (ix->len_post < 2 || b->off > ix->len_post - 2)
        return FD_EFORMAT;
    const uint8_t *p = ix->post + b->off;
    unsigned db = p[0], tb = p[1];
    if (db > 32 || tb > 32 || 2 + packed_bytes(n, db) + packed_bytes(n, tb) > ix->len_post - b->off)
        return FD_EFORMAT;
    int64_t prev = c->bi ? (int64_t)c->blk[c->bi - 1].last_doc : -1;
    c->loaded = BM25_EMPTY;
    /* Gaps are >= 1, so ending exactly on the table's last doc (< n_docs,
     * checked at open) proves every doc of the block is in range and above
     * the previous block: nothing downstream needs to check again. */
    if (unpack_gaps(p + 2, n, db, prev, c->docs) != b->last_doc)
        return FD_EFORMAT;
    c->n = n;
    c->pos = 0;
    c->loaded = c->bi;
    c->tf_bits = (uint8_t)tb;
    c->tf_data = p + 2 + packed_bytes(n, db);
    return FD_OK;
}

int bm25_cursor_skip(bm25_cursor *c, uint32_t doc)
{
    const bm25_block *blk = c->blk;
    uint32_t lo = c->bi;
    if (lo >= c->n_blocks)
        return 0;
    if (blk[lo].last_doc >= doc)
        return 1;
    /* Gallop, then bisect: short hops (the common case while walking a
     * window) stay O(1), long ones O(log). */
    uint32_t step = 1;
    while (lo + step < c->n_blocks && blk[lo + step].last_doc < doc) {
        lo += step;
        step *= 2;
    }
    uint32_t hi = lo + step < c->n_blocks ? lo + step : c->n_blocks;
    while (lo + 1 < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (blk[mid].last_doc < doc)
            lo = mid;
        else
            hi = mid;
    }
    c->bi = hi;
    return hi < c->n_blocks;
}

int bm25_cursor_tf(const fd_bm25 *ix, bm25_cursor *c, uint32_t doc, uint32_t *tf)
{
    *tf = 0;
    if (c->bi >= c->n_blocks || doc < bm25_cursor_block_start(c))
        c->bi = 0; /* backwards (score_docs takes any order): search again */
    if (!bm25_cursor_skip(c, doc) || doc < bm25_cursor_block_start(c))
        return FD_OK; /* in no block's range: absent, nothing decoded */
    if (c->loaded != c->bi) {
        int rc = bm25_cursor_load(ix, c);
        if (rc)
            return rc;
    }
    uint32_t lo = c->docs[c->pos] <= doc ? c->pos : 0, hi = c->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (c->docs[mid] < doc)
            lo = mid + 1;
        else
            hi = mid;
    }
    c->pos = lo < c->n ? lo : c->n - 1;
    if (lo < c->n && c->docs[lo] == doc)
        *tf = bm25_cursor_tf_at(c, lo);
    return FD_OK;
}
