/* index/dense_int.h: private to dense.c, hnsw.c and their tests: the
 * serialized layout of the dense section, the dot-product kernels and the
 * small hit heap both search paths share. */
#ifndef FD_DENSE_INT_H
#define FD_DENSE_INT_H

#include "index.h"

/* Layout (native endianness, every array 64-byte aligned from the start):
 *   header (64 bytes, dense_hdr)
 *   float mode: vectors  float[n][stride]
 *   int8 mode:  scales   float[n], then codes int8[n][stride]
 *   hnsw flag:  layer 0  uint32[n][1 + 2m]     (count, then neighbors)
 *               upper    uint32[n_upper][3]    (node, level, first slot),
 *                        sorted by node, for the few nodes above layer 0
 *               links    uint32[n_slots][1 + m] (one slot per upper level)
 * stride is dim rounded up to 16 and padded with zeros, so every row starts
 * on a cache line and the kernels run whole 16-lane blocks. */
#define DENSE_MAGIC "FDDENSE1"
#define DENSE_VERSION 1u
#define DENSE_MAX_DIM 65536
#define DENSE_MAX_LEVEL 32
#define DENSE_MAX_EF 65536 /* beam width bound: larger is corrupt */
#define DENSE_F_QUANT 1u
#define DENSE_F_HNSW 2u

typedef struct dense_hdr {
    char magic[8];
    uint32_t version;
    uint32_t n;
    uint32_t dim;
    uint32_t flags;     /* DENSE_F_* */
    uint32_t m;         /* hnsw: upper-layer links; layer 0 holds 2m */
    uint32_t ef_build;  /* informational */
    uint32_t ef_search; /* default beam */
    uint32_t max_level; /* level of the entry point */
    uint32_t entry;
    uint32_t n_upper; /* nodes above layer 0 */
    uint32_t n_slots; /* sum of their levels */
    uint32_t reserved[3];
} dense_hdr;

struct fd_dense {
    uint32_t n;
    int dim;
    uint32_t stride; /* floats or int8 per row */
    int quantized;
    const float *vf;    /* float mode rows */
    const float *scale; /* int8 mode: x[i] ~ scale * code[i] */
    const int8_t *vq;   /* int8 mode rows */
    int has_hnsw;
    uint32_t m, ef_search, max_level, entry, n_upper, n_slots;
    const uint32_t *l0;    /* n x (1 + 2m) */
    const uint32_t *upper; /* n_upper x 3 */
    const uint32_t *links; /* n_slots x (1 + m) */
};

/* An HNSW graph under construction (hnsw.c), in the serialized shape. */
typedef struct fd_hnsw_graph {
    uint32_t n, m, max_level, entry, n_upper, n_slots;
    uint32_t *l0;    /* n x (1 + 2m) */
    uint32_t *upper; /* n_upper x 3 */
    uint32_t *links; /* n_slots x (1 + m) */
} fd_hnsw_graph;

/* Deterministic build (fixed PRNG seed, nodes inserted in order). */
int fd_hnsw_build(const float *vecs, uint32_t n, int dim, uint32_t m, uint32_t ef_build,
                  fd_hnsw_graph *g, fd_err *err) FD_MUST_USE;
void fd_hnsw_graph_free(fd_hnsw_graph *g);
/* Graph search; FD_ENOTFOUND asks the caller to fall back to exact search
 * (too few allowed docs reached). */
int fd_hnsw_search(const fd_dense *d, const float *q, size_t k, size_t ef, fd_allow allow,
                   fd_arena *a, fd_hits *out, fd_err *err) FD_MUST_USE;

/* ---- kernels: whole 16-lane blocks with independent accumulators, which
 * gcc -O2 vectorizes (a single float accumulator would need -ffast-math to
 * be reordered); the scalar tail only runs when dim % 16 != 0. */

#define DENSE_LANES 16

static inline float fd_dot_f32(const float *a, const float *b, int dim)
{
    float acc[DENSE_LANES] = {0};
    int i = 0;
    for (; i + DENSE_LANES <= dim; i += DENSE_LANES)
        for (int j = 0; j < DENSE_LANES; j++)
            acc[j] += a[i + j] * b[i + j];
    float s = 0;
    for (; i < dim; i++)
        s += a[i] * b[i];
    for (int j = 0; j < DENSE_LANES; j++)
        s += acc[j];
    return s;
}

/* Query in float against int8 codes: no query rounding error, and as fast
 * as int8 x int8 here (see dense.c). */
static inline float fd_dot_f32_i8(const float *a, const int8_t *b, int dim)
{
    float acc[DENSE_LANES] = {0};
    int i = 0;
    for (; i + DENSE_LANES <= dim; i += DENSE_LANES)
        for (int j = 0; j < DENSE_LANES; j++)
            acc[j] += a[i + j] * (float)b[i + j];
    float s = 0;
    for (; i < dim; i++)
        s += a[i] * (float)b[i];
    for (int j = 0; j < DENSE_LANES; j++)
        s += acc[j];
    return s;
}

static inline int32_t fd_dot_i8(const int8_t *a, const int8_t *b, int dim)
{
    int32_t acc[DENSE_LANES] = {0};
    int i = 0;
    for (; i + DENSE_LANES <= dim; i += DENSE_LANES)
        for (int j = 0; j < DENSE_LANES; j++)
            acc[j] += (int32_t)a[i + j] * (int32_t)b[i + j];
    int32_t s = 0;
    for (; i < dim; i++)
        s += (int32_t)a[i] * (int32_t)b[i];
    for (int j = 0; j < DENSE_LANES; j++)
        s += acc[j];
    return s;
}

/* Score of stored vector i against query q (float, dim long). */
static inline float fd_dense_sim(const fd_dense *d, const float *q, uint32_t i)
{
    if (d->quantized)
        return d->scale[i] * fd_dot_f32_i8(q, d->vq + (size_t)i * d->stride, d->dim);
    return fd_dot_f32(q, d->vf + (size_t)i * d->stride, d->dim);
}

static inline int fd_allowed(fd_allow allow, uint32_t doc)
{
    return !allow || (allow[doc >> 3] >> (doc & 7) & 1);
}

/* ---- hit heaps: best_on_top 0 keeps the k best with the worst on top (a
 * top-k filter); 1 pops the best first (HNSW candidates). "Better" is a
 * higher score, then a lower doc, so results are total-ordered. */
typedef struct fd_hit_heap {
    fd_hit *v;
    size_t n, cap;
    int best_on_top;
} fd_hit_heap;

static inline int fd_hit_better(fd_hit a, fd_hit b)
{
    return a.score > b.score || (a.score == b.score && a.doc < b.doc);
}

void fd_hit_heap_push(fd_hit_heap *h, fd_hit x); /* requires n < cap */
fd_hit fd_hit_heap_pop(fd_hit_heap *h);
/* Top-k filter: keeps x if the heap has room or x beats the worst. */
void fd_hit_heap_offer(fd_hit_heap *h, fd_hit x);
/* Empties a top-k heap into out->v (arena), best first. */
int fd_hit_heap_drain(fd_hit_heap *h, fd_arena *a, fd_hits *out, fd_err *err) FD_MUST_USE;

#endif
