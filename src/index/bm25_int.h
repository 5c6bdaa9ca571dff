/* index/bm25_int.h: private to bm25*.c, postings.c and their tests: the BM25
 * section format, the one scoring function every path shares, and the
 * posting-block cursor. */
#ifndef FD_BM25_INT_H
#define FD_BM25_INT_H

#include "index.h"

#include <math.h>
#include <string.h>

/* ---- section format (version 1, little-endian) ------------------------------
 *
 *   bm25_hdr
 *   dl[n_docs]            doc lengths, uint16 (dl_width 2) or uint32 (4): exact
 *   terms[n_terms]        bm25_term, indexed by term id
 *   slots[n_slots]        open-addressing table: term id or BM25_EMPTY;
 *                         n_slots a power of two >= 2 * n_terms; linear probing
 *                         from bm25_hash(term) & (n_slots - 1). Used in place, so
 *                         opening builds nothing.
 *   blocks[n_blocks]      bm25_block; term t owns blocks [first_block,
 *                         first_block + ceil(df / 128))
 *   strings[len_strings]  term bytes, concatenated
 *   post[len_post + 8]    encoded blocks (postings.c), then 8 zero bytes so
 *                         the decoder may load 8 bytes at any data position
 * Each region starts 8-aligned; the section itself must be 8-aligned. */

#define BM25_MAGIC "FDBM25\0\0"
#define BM25_VERSION 1u
#define BM25_BLOCK 128u /* postings per block: the unit of skipping and of score bounds */
#define BM25_EMPTY UINT32_MAX
#define BM25_PAD 8u
#define BM25_K1_MAX 1000.0 /* far above any useful k1; keeps float constants finite */

typedef struct bm25_hdr {
    char magic[8];
    uint32_t version;
    uint32_t n_docs;
    uint32_t n_terms;
    uint32_t n_slots;
    uint32_t n_blocks;
    uint32_t dl_width;  /* 2 or 4 */
    uint64_t total_len; /* sum of dl */
    uint64_t len_strings;
    uint64_t len_post; /* without the pad */
    double k1;
    double b;
} bm25_hdr;

typedef struct bm25_term {
    uint32_t df; /* docs with the term, never 0 */
    uint32_t first_block;
    float max_score; /* bound on one occurrence's contribution: max of its blocks' */
    uint32_t str_off;
    uint32_t str_len;
} bm25_term;

typedef struct bm25_block {
    uint32_t last_doc; /* increasing within a term; the skip key */
    uint32_t off;      /* of the encoded block in post[] */
    float max_score;   /* >= every posting's contribution (qtf 1), rounded up */
} bm25_block;

_Static_assert(sizeof(bm25_hdr) == 72, "header layout is part of the format");
_Static_assert(sizeof(bm25_term) == 20, "term layout is part of the format");
_Static_assert(sizeof(bm25_block) == 12, "block layout is part of the format");

/* Scoring constants, derived from (k1, b, avgdl) identically by the writer
 * (for block bounds) and the reader (for scores), so bounds hold exactly. */
typedef struct bm25_params {
    float k1p1; /* k1 + 1 */
    float kd_a; /* k1 * (1 - b) */
    float kd_b; /* k1 * b / avgdl: kd(dl) = kd_a + kd_b * dl */
} bm25_params;

struct fd_bm25 {
    uint32_t n_docs, n_terms, n_slots, n_blocks, dl_width;
    const uint8_t *dl;
    const bm25_term *terms;
    const uint32_t *slots;
    const bm25_block *blocks;
    const char *strings;
    const uint8_t *post;
    uint64_t len_post;
    bm25_params prm;
};

/* Pinned here (FNV-1a with a splitmix64 finish) rather than core's
 * fd_hash64: the table is on disk, so its hash is part of the format. */
static inline uint64_t bm25_hash(const char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 0x100000001b3ull;
    }
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebull;
    return h ^ (h >> 31);
}

static inline size_t bm25_align8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

static inline bm25_params bm25_params_make(double k1, double b, double avgdl)
{
    bm25_params p;
    p.k1p1 = (float)(k1 + 1.0);
    p.kd_a = (float)(k1 * (1.0 - b));
    p.kd_b = avgdl > 0 ? (float)(k1 * b / avgdl) : 0.0f;
    return p;
}

static inline float bm25_idf(uint32_t n_docs, uint32_t df)
{
    return (float)log(1.0 + ((double)n_docs - (double)df + 0.5) / ((double)df + 0.5));
}

static inline float bm25_kd(const bm25_params *p, uint32_t dl)
{
    return p->kd_a + p->kd_b * (float)dl;
}

/* One occurrence's contribution. Search, score_docs and the writer's block
 * bounds all go through here, in float; per-doc sums are taken in double
 * (exact for the few terms of a query, so independent of term order) and
 * rounded to float once, which is what makes search equal exhaustive. */
static inline float bm25_contrib(const bm25_params *p, float idf, uint32_t tf, float kd)
{
    float t = (float)tf;
    return idf * (t * p->k1p1 / (t + kd));
}

/* Stored bounds are rounded up by ~1e-6 so they still hold if the reader's
 * libm log() differs from the writer's by an ulp or two. */
static inline float bm25_bound_up(float x)
{
    return nextafterf(x * (1.0f + 1.0f / (1 << 20)), INFINITY);
}

static inline uint32_t bm25_dl(const fd_bm25 *ix, uint32_t doc)
{
    if (ix->dl_width == 2) {
        uint16_t v;
        memcpy(&v, ix->dl + (size_t)doc * 2, 2);
        return v;
    }
    uint32_t v;
    memcpy(&v, ix->dl + (size_t)doc * 4, 4);
    return v;
}

/* Term id of a term, or BM25_EMPTY. */
uint32_t bm25_lookup(const fd_bm25 *ix, const char *p, size_t n);

/* ---- posting blocks (postings.c) -------------------------------------------
 * A block of n <= 128 postings is [doc_bits u8][tf_bits u8], then the n values
 * doc - prev - 1 bit-packed at doc_bits each (prev: the previous doc, or the
 * previous block's last doc, or -1), padded to a byte, then n values tf - 1 at
 * tf_bits each. Binary packing, not varint: decoding has no branch per value,
 * a tf is read at any position without decoding the others, and tf = 1
 * everywhere costs 0 bits. */

/* Bytes the block takes once encoded. */
size_t bm25_block_size(const uint32_t *docs, const uint32_t *tfs, uint32_t n, int64_t prev);
/* Writes the block to out (bm25_block_size bytes); returns that size. */
size_t bm25_block_encode(uint8_t *out, const uint32_t *docs, const uint32_t *tfs, uint32_t n,
                         int64_t prev);

/* A term's postings, walked forward block by block, seekable backwards. */
typedef struct bm25_cursor {
    const bm25_block *blk; /* the term's blocks */
    uint32_t n_blocks;
    uint32_t df;
    uint32_t bi;     /* current block */
    uint32_t loaded; /* block decoded into docs[], or BM25_EMPTY */
    uint32_t n;      /* postings in the loaded block */
    uint32_t pos;    /* position in docs[] */
    uint8_t tf_bits;
    const uint8_t *tf_data;
    float idf;
    double w;    /* times the term occurs in the query */
    double ub;   /* w * term max_score */
    double wmax; /* search: w * bound over the current window */
    uint32_t docs[BM25_BLOCK];
} bm25_cursor;

void bm25_cursor_init(const fd_bm25 *ix, uint32_t tid, uint32_t qtf, bm25_cursor *c);
/* Decodes block c->bi's doc ids (pos = 0); FD_EFORMAT when the bytes
 * disagree with the block table (a corrupt section). */
int bm25_cursor_load(const fd_bm25 *ix, bm25_cursor *c);
/* Moves bi to the first block whose last doc is >= doc (forward only);
 * 0 when the term has no such block. */
int bm25_cursor_skip(bm25_cursor *c, uint32_t doc);
/* tf of doc for this term, 0 if absent; any order of docs. */
int bm25_cursor_tf(const fd_bm25 *ix, bm25_cursor *c, uint32_t doc, uint32_t *tf);

static inline uint32_t bm25_cursor_tf_at(const bm25_cursor *c, uint32_t i)
{
    if (!c->tf_bits)
        return 1;
    uint64_t bit = (uint64_t)i * c->tf_bits;
    uint64_t w;
    memcpy(&w, c->tf_data + (bit >> 3), 8);
    return 1u + (uint32_t)((w >> (bit & 7)) & ((1ull << c->tf_bits) - 1));
}

/* First doc the current block may hold. */
static inline uint32_t bm25_cursor_block_start(const bm25_cursor *c)
{
    return c->bi ? c->blk[c->bi - 1].last_doc + 1 : 0;
}

/* ---- search (bm25_search.c) ------------------------------------------------ */

/* Block-max MaxScore over the cursors (sorted or not); fills heap-ordered
 * hits into out->v (capacity k) and out->n. */
int bm25_topk(const fd_bm25 *ix, bm25_cursor *cur, size_t n_cur, size_t k, fd_allow allow,
              fd_arena *a, fd_hits *out, fd_err *err);

#endif
