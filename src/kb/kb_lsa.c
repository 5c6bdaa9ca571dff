/* kb_lsa.c: trains the LSA embedder on a second thread while the main
 * thread builds BM25 (two cores: the index build drops from ~5.6 s to
 * ~4 s at 100k chunks). The thread has its own store connection, analyzer
 * and arena, and reads the same chunks in the same (doc, ord) order. */
#include "kb_int.h"

#include <pthread.h>
#include <string.h>

struct kb_lsa_job {
    pthread_t thread;
    char db_path[600];
    fd_lsa_params params;
    fd_analyzer *an;
    fd_arena *a;
    fd_lsa_trainer *lsa;
    /* results */
    int rc;
    fd_err err;
    fd_buf model;
    float *vecs;
    size_t n;
    int dim;
};

static int job_add_chunk(void *ctx, const fd_chunk_row *c)
{
    kb_lsa_job *job = ctx;
    fd_arena_reset(job->a);
    fd_terms terms;
    int rc = kb_chunk_terms(job->an, c->title, c->section, c->text, fd_lang_parse(c->lang), job->a,
                            &terms, &job->err);
    if (rc)
        return rc;
    fd_str *v = fd_arena_alloc(job->a, (terms.n + 1) * sizeof *v);
    if (!v)
        return fd_err_set(&job->err, FD_ETOOBIG, "chunk %lld: too many terms", (long long)c->id);
    for (size_t i = 0; i < terms.n; i++)
        v[i] = terms.v[i].term;
    return fd_lsa_trainer_add(job->lsa, v, terms.n, &job->err);
}

static void *job_run(void *arg)
{
    kb_lsa_job *job = arg;
    fd_store *st = NULL;
    int rc = fd_store_open(job->db_path, &st, &job->err);
    if (!rc)
        rc = fd_store_chunks_each(st, job_add_chunk, job, &job->err);
    fd_store_close(st);
    if (!rc)
        rc =
            fd_lsa_trainer_finish(job->lsa, &job->model, &job->vecs, &job->n, &job->dim, &job->err);
    job->rc = rc;
    return NULL;
}

static void job_free(kb_lsa_job *job)
{
    fd_lsa_trainer_free(job->lsa);
    fd_analyzer_free(job->an);
    fd_arena_free(job->a);
    fd_buf_free(&job->model);
    fd_free(job->vecs);
    fd_free(job);
}

int kb_lsa_start(const fd_kb *kb, kb_lsa_job **out, fd_err *err)
{
    *out = NULL;
    kb_lsa_job *job = fd_calloc(1, sizeof *job);
    if (!job)
        return fd_err_set(err, FD_ENOMEM, "out of memory");
    snprintf(job->db_path, sizeof job->db_path, "%s", kb->db_path);
    fd_buf_init(&job->model, 0);
    job->params.dim = kb->cfg->dense_dim;
    job->params.seed = 42;
    /* SciFact: 1 power iteration beats 2 (dense nDCG@10 0.459 vs 0.441) and is faster. */
    job->params.power_iters = 1;
    int rc = fd_analyzer_new(&job->an, err);
    if (!rc) {
        job->a = fd_arena_new((size_t)64 << 20);
        if (!job->a)
            rc = fd_err_set(err, FD_ENOMEM, "out of memory");
    }
    if (!rc)
        rc = fd_lsa_trainer_new(&job->params, &job->lsa, err);
    if (!rc && pthread_create(&job->thread, NULL, job_run, job) != 0)
        rc = fd_err_set(err, FD_ENOMEM, "cannot start the embedder training thread");
    if (rc) {
        job_free(job);
        return rc;
    }
    *out = job;
    return FD_OK;
}

int kb_lsa_join(kb_lsa_job *job, fd_buf *model, float **vecs, size_t *n, int *dim, fd_err *err)
{
    pthread_join(job->thread, NULL);
    int rc = job->rc;
    if (rc) {
        if (err)
            *err = job->err;
    } else if (model) {
        *model = job->model;
        fd_buf_init(&job->model, 0); /* handed over */
        *vecs = job->vecs;
        job->vecs = NULL;
        *n = job->n;
        *dim = job->dim;
    }
    job_free(job);
    return rc;
}
