/* embed/embed_int.h: private to the embed module and its tests: the LSA
 * model layout, the dense linear algebra behind the randomized SVD, and
 * tuning knobs the evaluation programs flip. */
#ifndef FD_EMBED_INT_H
#define FD_EMBED_INT_H

#include "embed.h"

#include <math.h>

/* ---- model bytes (native endianness; arrays 64-byte aligned from the
 * start of the model, which the snapshot aligns to 64) ----
 *   header   lsa_hdr (64 bytes)
 *   idf      float[n_terms]
 *   term_off uint32[n_terms + 1]   term t is strings[term_off[t] .. term_off[t+1])
 *   table    uint32[table_size]    open addressing on fd_hash64; 0 empty,
 *                                  else term id + 1; a power of two, <= 50% full
 *   pscale   float[n_terms]        row t's int8 scale
 *   proj     int8[n_terms][dim]    row t: term t's direction (already
 *                                  scaled, see sigma_power) = proj * pscale;
 *                                  int8 keeps the model 4x smaller (a 50k-term
 *                                  128-d model: 6.4 MB, not 25.6) at no
 *                                  measured cost on SciFact
 *   strings  char[strings_len] */
#define LSA_MAGIC "FDLSA001"
#define LSA_VERSION 2u
#define LSA_HASH_SEED 0x4C5341u
#define LSA_MAX_DIM 4096
#define LSA_F_RAW_TF 1u /* tf weight is the count, not 1 + ln(count) */

typedef struct lsa_hdr {
    char magic[8];
    uint32_t version;
    uint32_t dim;
    uint32_t n_terms;
    uint32_t table_size;
    uint32_t strings_len;
    uint32_t flags; /* LSA_F_* */
    uint32_t reserved[8];
} lsa_hdr;

/* Offsets of the arrays for a header; 0 when the sizes are out of range. */
typedef struct lsa_layout {
    size_t idf, pscale, term_off, table, proj, strings, end;
} lsa_layout;
int fd_lsa_layout(const lsa_hdr *h, lsa_layout *lay);
/* Appends a model: terms[i] has weight idf[i] and projection row
 * proj[i * dim .. +dim). On failure out is as it was. */
int fd_lsa_model_write(const fd_str *terms, const float *idf, const float *proj, uint32_t n_terms,
                       uint32_t dim, uint32_t flags, fd_buf *out) FD_MUST_USE;
/* Quantizes a projection row to int8 (symmetric, scale = max|x| / 127)
 * and returns the scale. The trainer rounds its rows through this before
 * projecting docs, so docs and queries see the very same model. */
float fd_lsa_quantize_row(const float *x, uint32_t dim, int8_t *q);

/* The tf weight both the trainer and the embedder apply. */
static inline float fd_lsa_tf(uint32_t count, uint32_t flags)
{
    return flags & LSA_F_RAW_TF ? (float)count : 1.0f + logf((float)count);
}

/* Knobs measured on SciFact (see lsa.c); defaults are the chosen ones. */
typedef struct fd_lsa_tuning {
    double sigma_power; /* projection = V_k * S^-sigma_power */
    int sublinear_tf;   /* 1 + ln(tf) rather than tf */
    int oversample;     /* extra randomized-SVD columns */
} fd_lsa_tuning;
void fd_lsa_tuning_defaults(fd_lsa_tuning *tu);
void fd_lsa_trainer_tune(fd_lsa_trainer *t, const fd_lsa_tuning *tu);

/* ---- linear algebra (linalg.c) --------------------------------------------
 * Dense matrices are row-major float with a row stride ls, a multiple of 16,
 * columns l..ls-1 zero: the kernels then run whole 16-lane blocks, which
 * gcc -O2 vectorizes. */
#define LA_LANES 16

typedef struct fd_csr {
    uint32_t m;      /* rows (docs) */
    uint32_t n_cols; /* columns (terms) */
    size_t *row;     /* m + 1 */
    uint32_t *col;
    float *val;
} fd_csr;

/* y[0..ls) += a * x[0..ls); ls a multiple of 16. size_t indices matter:
 * with uint32_t gcc must allow for wrap-around and gives up on the loop. */
static inline void fd_la_axpy(float *restrict y, float a, const float *restrict x, size_t ls)
{
    for (size_t i = 0; i < ls; i += LA_LANES)
        for (size_t j = 0; j < LA_LANES; j++)
            y[i + j] += a * x[i + j];
}

/* Rows of the dense factor are fetched in sparse-column order, which the
 * hardware prefetcher cannot guess; asking a few entries ahead hides most
 * of the L3 latency (measured: see fd_la_mul). */
#define LA_PREFETCH 4
static inline void fd_la_prefetch_row(const float *row, size_t ls)
{
    for (size_t i = 0; i < ls; i += 16) /* one 64-byte line per 16 floats */
        __builtin_prefetch(row + i);
}

/* Y (m x ls) = A X, X (n_cols x ls). */
void fd_la_mul(const fd_csr *A, const float *X, uint32_t ls, float *Y);
/* Z (n_cols x ls) = A^T Y, Y (m x ls). */
void fd_la_mul_t(const fd_csr *A, const float *Y, uint32_t ls, float *Z);
/* Orthonormalizes the first l columns of Y (rows x ls) in place with 1 or
 * 2 CholeskyQR passes; columns found dependent become zero. */
int fd_la_orthonormalize(float *Y, size_t rows, uint32_t l, uint32_t ls, int passes) FD_MUST_USE;
/* Top k right singular vectors of A (n_cols x k, row-major, stride k) and
 * singular values (descending, 0 past the rank) by randomized subspace
 * iteration (Halko, Martinsson, Tropp 2011, alg. 4.4 + 5.1). *v is
 * fd_malloc'd. */
int fd_la_rsvd(const fd_csr *A, uint32_t k, uint32_t oversample, int power_iters, uint64_t seed,
               float **v, float *sigma) FD_MUST_USE;
/* Eigen-decomposition of symmetric G (l x l, destroyed) by cyclic Jacobi:
 * evals descending, evecs columns (l x l row-major). */
int fd_la_sym_eig(double *G, uint32_t l, double *evals, double *evecs) FD_MUST_USE;

#endif
