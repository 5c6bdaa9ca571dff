/* embed/embed.h: text embedders behind one interface. The built-in one is
 * LSA: a truncated SVD (randomized, Halko et al. 2011) of the corpus'
 * TF-IDF matrix, trained at index time; no download, no network.
 *
 * Threads: train on one thread; an opened embedder is read-only and may
 *          embed from any thread.
 * Memory:  the trainer owns its memory; an embedder opened over model bytes
 *          borrows them (keep the snapshot open longer).
 * Errors:  FD_EINVAL, FD_ENOMEM, FD_EFORMAT (bad model bytes). */
#ifndef FD_EMBED_H
#define FD_EMBED_H

#include "core.h"

typedef struct fd_lsa_trainer fd_lsa_trainer;
typedef struct fd_embedder fd_embedder;

typedef struct fd_lsa_params {
    int dim;                 /* output dimensions (e.g. 128) */
    uint32_t min_df;         /* terms in fewer docs are ignored (0: 2) */
    uint32_t max_vocab;      /* keep the most frequent terms (0: 50000) */
    uint32_t max_train_docs; /* SVD on a sample of at most this many docs (0: 30000) */
    int power_iters;         /* randomized SVD power iterations (0: 2; -1: none) */
    uint64_t seed;           /* deterministic results for a seed */
} fd_lsa_params;

int fd_lsa_trainer_new(const fd_lsa_params *params, fd_lsa_trainer **out, fd_err *err) FD_MUST_USE;
void fd_lsa_trainer_free(fd_lsa_trainer *t);
/* Adds the next document's analyzed terms (numbered from 0). */
int fd_lsa_trainer_add(fd_lsa_trainer *t, const fd_str *terms, size_t n_terms,
                       fd_err *err) FD_MUST_USE;
/* Trains; appends the model to model_out and returns every added doc's
 * L2-normalized vector, row-major n_docs x dim, in *vecs (fd_free it). A
 * doc with no known term gets a zero vector. */
int fd_lsa_trainer_finish(fd_lsa_trainer *t, fd_buf *model_out, float **vecs, size_t *n_docs,
                          int *dim, fd_err *err) FD_MUST_USE;

/* Opens an LSA model (bytes from fd_lsa_trainer_finish, e.g. mmapped). */
int fd_embedder_open_lsa(const void *p, size_t len, fd_embedder **out, fd_err *err) FD_MUST_USE;
void fd_embedder_free(fd_embedder *e);
int fd_embedder_dim(const fd_embedder *e);
/* L2-normalized embedding of analyzed terms into out[dim]. Returns
 * FD_ENOTFOUND (out zeroed) when no term is in the model's vocabulary. */
int fd_embedder_embed(const fd_embedder *e, const fd_str *terms, size_t n_terms, float *out,
                      fd_err *err) FD_MUST_USE;

#endif
