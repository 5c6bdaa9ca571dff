/* index/index.h: the search index of one knowledge-base version: a snapshot
 * file of sections (BM25 postings, dense vectors, HNSW graph, embedder
 * model, chunk metadata), memory-mapped at start; BM25 search with
 * block-max pruning; exact and HNSW dense search; hybrid fusion.
 *
 * Documents inside the index are numbered 0..n-1 in the order they were
 * added ("doc" below); callers map them to their own ids.
 *
 * Threads: build on one thread. Opened indexes are read-only: search from
 *          any number of threads.
 * Memory:  builders and opened handles own their memory (_new/_free);
 *          search results live in the caller's arena. Handles opened over
 *          snapshot bytes borrow them: keep the fd_snap open longer.
 * Errors:  FD_EINVAL, FD_ENOMEM, FD_ETOOBIG, FD_EIO (snapshot file),
 *          FD_EFORMAT (corrupt or foreign snapshot). */
#ifndef FD_INDEX_H
#define FD_INDEX_H

#include "core.h"

/* A scored document; lists are sorted best first (ties: lower doc first). */
typedef struct fd_hit {
    uint32_t doc;
    float score;
} fd_hit;

typedef struct fd_hits {
    fd_hit *v;
    size_t n;
} fd_hits;

/* Optional filter: bit d of allow (allow[d >> 3] >> (d & 7) & 1) says doc d
 * may be returned. NULL allows every doc. */
typedef const uint8_t *fd_allow;

/* ---- snapshot container (snapshot.c) ------------------------------------ */

/* Section tags; a snapshot holds at most one of each. */
enum {
    FD_SNAP_META = 1,  /* caller's metadata (kb version, chunk ids...) */
    FD_SNAP_BM25 = 2,
    FD_SNAP_DENSE = 3,
    FD_SNAP_EMBED = 4, /* embedder model */
    FD_SNAP_CHUNKS = 5 /* caller's per-chunk table */
};

typedef struct fd_snap_writer fd_snap_writer;
typedef struct fd_snap fd_snap;

/* Writes to path + ".tmp"; fd_snap_writer_finish fsyncs and renames over
 * path, so readers see the old snapshot or the new one, never half. */
int fd_snap_writer_new(const char *path, fd_snap_writer **out, fd_err *err) FD_MUST_USE;
int fd_snap_writer_add(fd_snap_writer *w, uint32_t tag, const void *p, size_t len,
                       fd_err *err) FD_MUST_USE;
/* Finishes and frees w, whatever the result. */
int fd_snap_writer_finish(fd_snap_writer *w, fd_err *err) FD_MUST_USE;
void fd_snap_writer_abort(fd_snap_writer *w); /* removes the .tmp; NULL is fine */

/* Maps the file read-only and checks magic, version and section bounds.
 * Sections start 64-byte aligned. */
int fd_snap_open(const char *path, fd_snap **out, fd_err *err) FD_MUST_USE;
void fd_snap_close(fd_snap *s); /* NULL is fine */
/* FD_ENOTFOUND when the section is absent. *p stays valid until close. */
int fd_snap_section(const fd_snap *s, uint32_t tag, const void **p, size_t *len);
size_t fd_snap_size(const fd_snap *s);
/* Reads every section and checks its stored checksum (fd_snap_open checks
 * only the header, table and bounds, to keep start-up O(1)): for doctor and
 * tests. FD_EFORMAT on a mismatch. */
int fd_snap_verify(const fd_snap *s, fd_err *err) FD_MUST_USE;

/* ---- BM25 (bm25.c) ------------------------------------------------------ */

typedef struct fd_bm25_builder fd_bm25_builder;
typedef struct fd_bm25 fd_bm25;

int fd_bm25_builder_new(fd_bm25_builder **out, fd_err *err) FD_MUST_USE;
void fd_bm25_builder_free(fd_bm25_builder *b);
/* Adds the next doc (numbered from 0) with its analyzed terms; a term
 * repeated n times has tf n. A doc with no terms is allowed (never found). */
int fd_bm25_builder_add(fd_bm25_builder *b, const fd_str *terms, size_t n_terms,
                        fd_err *err) FD_MUST_USE;
/* Serializes the index (compressed postings with per-block score bounds)
 * for BM25 parameters k1, b; append the bytes to out. */
int fd_bm25_builder_write(fd_bm25_builder *b, double k1, double bparam, fd_buf *out,
                          fd_err *err) FD_MUST_USE;

/* A read-only view over serialized bytes (e.g. a snapshot section); no copy. */
int fd_bm25_open(const void *p, size_t len, fd_bm25 **out, fd_err *err) FD_MUST_USE;
void fd_bm25_free(fd_bm25 *ix);
uint32_t fd_bm25_n_docs(const fd_bm25 *ix);
/* Document frequency of a term (0 if unknown). */
uint32_t fd_bm25_df(const fd_bm25 *ix, fd_str term);

/* Top k docs for the query terms, best first. A query term repeated n times
 * counts n times. Score: sum over terms of
 *   idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl)),
 *   idf = ln(1 + (N - df + 0.5) / (df + 0.5)),
 * dl the doc's term count. Unknown terms are ignored; no known term gives 0
 * hits (not an error). Result: exactly what exhaustive scoring gives. */
int fd_bm25_search(const fd_bm25 *ix, const fd_str *terms, size_t n_terms, size_t k,
                   fd_allow allow, fd_arena *a, fd_hits *out, fd_err *err) FD_MUST_USE;
/* BM25 scores of the given docs (any order) into scores[i]. */
int fd_bm25_score_docs(const fd_bm25 *ix, const fd_str *terms, size_t n_terms,
                       const uint32_t *docs, size_t n_docs, float *scores,
                       fd_err *err) FD_MUST_USE;

/* ---- dense vectors (dense.c, hnsw.c) ------------------------------------- */

typedef struct fd_dense fd_dense;

typedef struct fd_dense_params {
    int quantize;        /* store int8 (per-vector scale) instead of float */
    int hnsw;            /* also build an HNSW graph */
    int hnsw_m;          /* links per node (0: 16) */
    int hnsw_ef_build;   /* (0: 100) */
    int hnsw_ef_search;  /* default search beam (0: 64) */
} fd_dense_params;

/* Serializes n L2-normalized vectors of dim floats (row-major) and, with
 * params->hnsw, a graph built over them; appends to out. */
int fd_dense_write(const float *vecs, size_t n, int dim, const fd_dense_params *params,
                   fd_buf *out, fd_err *err) FD_MUST_USE;
int fd_dense_open(const void *p, size_t len, fd_dense **out, fd_err *err) FD_MUST_USE;
void fd_dense_free(fd_dense *d);
int fd_dense_dim(const fd_dense *d);
uint32_t fd_dense_n(const fd_dense *d);
int fd_dense_has_hnsw(const fd_dense *d);

/* Top k by cosine (dot product of normalized vectors). exact=1 scans every
 * vector (SIMD-friendly loop); exact=0 uses the graph when there is one. */
int fd_dense_search(const fd_dense *d, const float *q, size_t k, int exact, fd_allow allow,
                    fd_arena *a, fd_hits *out, fd_err *err) FD_MUST_USE;
void fd_dense_score_docs(const fd_dense *d, const float *q, const uint32_t *docs, size_t n,
                         float *scores);

/* ---- fusion (fusion.c) ----------------------------------------------------- */

typedef enum fd_fuse_mode {
    FD_FUSE_RRF,      /* sum of 1 / (rrf_k + rank) */
    FD_FUSE_WEIGHTED, /* (1 - w) * norm(a) + w * norm(b); norm: score / list max */
} fd_fuse_mode;

/* Fuses two ranked lists into the top k. For FD_FUSE_WEIGHTED the lists
 * must carry scores for the same docs when available (see
 * fd_bm25_score_docs / fd_dense_score_docs); a doc missing from a list
 * scores 0 there. */
int fd_fuse(const fd_hits *a, const fd_hits *b, fd_fuse_mode mode, double w, int rrf_k, size_t k,
            fd_arena *arena, fd_hits *out, fd_err *err) FD_MUST_USE;

#endif
