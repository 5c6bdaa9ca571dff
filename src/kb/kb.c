/* kb.c: opening a knowledge base (store + snapshot), listing, removing and
 * reindexing. Ingest is in kb_ingest.c, search in kb_search.c. */
#include "kb_int.h"

#include <string.h>
#include <sys/stat.h>

/* The snapshot another replica shared, if any: 0 when mapped. */
static int fetch(fd_kb *kb, int64_t version)
{
    fd_err e2 = {0};
    int rc = kb_index_fetch(kb, version, &e2);
    if (rc && rc != FD_ENOTFOUND)
        FD_LOG(kb->log, FD_LOG_WARN, "kb", "shared index snapshot not used: %s", e2.msg);
    return rc;
}

int fd_kb_open(const fd_config *cfg, fd_log *log, fd_kb **out, fd_err *err)
{
    *out = NULL;
    fd_kb *kb = fd_calloc(1, sizeof *kb);
    if (!kb)
        return fd_err_set(err, FD_ENOMEM, "out of memory");
    kb->cfg = cfg;
    kb->log = log;
    fd_config_store_path(cfg, kb->db_path, sizeof kb->db_path);
    snprintf(kb->snap_path, sizeof kb->snap_path, "%s/index.snap", cfg->data_dir);
    int rc = fd_mkdirs(cfg->data_dir, err);
    if (!rc)
        rc = fd_store_open_cfg(cfg, &kb->store, err);
    if (!rc) {
        rc = fd_analyzer_new(&kb->an, err);
    }
    int64_t version = 0, n_docs = 0, n_chunks = 0;
    if (!rc)
        rc = fd_store_kb_version(kb->store, &version, err);
    if (!rc)
        rc = fd_store_counts(kb->store, &n_docs, &n_chunks, err);
    if (rc) {
        fd_kb_close(kb);
        return rc;
    }
    struct stat st;
    if (stat(kb->snap_path, &st) == 0) {
        fd_err lerr = {0};
        if (kb_index_load(kb->snap_path, &kb->ix, &lerr) != FD_OK)
            FD_LOG(log, FD_LOG_WARN, "kb", "index snapshot unusable (%s); rebuilding", lerr.msg);
    }
    int stale = kb->ix ? kb->ix->meta->kb_version != version : n_chunks > 0;
    if (stale && fetch(kb, version)) {
        FD_LOG(log, FD_LOG_INFO, "kb", "index snapshot is behind the store; rebuilding");
        rc = kb_index_build(kb, err);
        if (rc) {
            fd_kb_close(kb);
            return rc;
        }
    }
    *out = kb;
    return FD_OK;
}

int fd_kb_refresh(fd_kb *kb, fd_err *err)
{
    int64_t version = 0;
    int rc = fd_store_kb_version(kb->store, &version, err);
    if (rc || (kb->ix && kb->ix->meta->kb_version == version))
        return rc;
    /* Another process (ingest) changed the store: map its new snapshot if
     * it is current, else build one. */
    kb_index *ix = NULL;
    fd_err lerr = {0};
    if (kb_index_load(kb->snap_path, &ix, &lerr) == FD_OK && ix->meta->kb_version == version) {
        kb_index_free(kb->ix);
        kb->ix = ix;
        return FD_OK;
    }
    kb_index_free(ix);
    if (fetch(kb, version) == FD_OK)
        return FD_OK;
    return kb_index_build(kb, err);
}

void fd_kb_close(fd_kb *kb)
{
    if (!kb)
        return;
    kb_index_free(kb->ix);
    fd_analyzer_free(kb->an);
    fd_store_close(kb->store);
    fd_free(kb);
}

int fd_kb_reindex(fd_kb *kb, fd_err *err)
{
    return kb_index_build(kb, err);
}

int fd_kb_asset(fd_kb *kb, const char *name, fd_arena *a, const char **content, size_t *len,
                char hash[65], fd_err *err)
{
    fd_asset_row row;
    int rc = fd_store_asset_get(kb->store, name, a, &row, err);
    if (rc)
        return rc;
    *content = row.content;
    if (len)
        *len = row.len;
    if (hash)
        snprintf(hash, 65, "%s", row.hash);
    return FD_OK;
}

struct fd_store *fd_kb_store(fd_kb *kb)
{
    return kb->store;
}

fd_analyzer *fd_kb_analyzer(fd_kb *kb)
{
    return kb->an;
}

int fd_kb_version(fd_kb *kb, int64_t *version, fd_err *err)
{
    return fd_store_kb_version(kb->store, version, err);
}

int fd_kb_stats_get(fd_kb *kb, fd_kb_stats *out, fd_err *err)
{
    memset(out, 0, sizeof *out);
    int rc = fd_store_kb_version(kb->store, &out->kb_version, err);
    if (!rc)
        rc = fd_store_counts(kb->store, &out->n_docs, &out->n_chunks, err);
    if (!rc && kb->ix) {
        out->snapshot_bytes = fd_snap_size(kb->ix->snap);
        out->dense_dim = kb->ix->dense ? fd_dense_dim(kb->ix->dense) : 0;
        out->hnsw = kb->ix->dense ? fd_dense_has_hnsw(kb->ix->dense) : 0;
    }
    return rc;
}

void fd_kb_shares(const fd_kb *kb, uint64_t *shared, uint64_t *failed, double *seconds)
{
    fd_kb *k = (fd_kb *)kb; /* atomic loads of a const object */
    *shared = atomic_load(&k->shared);
    *failed = atomic_load(&k->share_failed);
    *seconds = (double)atomic_load(&k->share_ns) / 1e9;
}

typedef struct docs_ctx {
    int (*cb)(void *ctx, const fd_kb_doc *doc);
    void *ctx;
} docs_ctx;

static int docs_adapter(void *ctx, const fd_doc_row *row)
{
    docs_ctx *d = ctx;
    fd_kb_doc doc = {row->key,  row->title,    row->source,    row->tag,
                     row->lang, row->n_chunks, row->kb_version};
    return d->cb(d->ctx, &doc);
}

int fd_kb_docs_each(fd_kb *kb, int (*cb)(void *ctx, const fd_kb_doc *doc), void *ctx, fd_err *err)
{
    docs_ctx d = {cb, ctx};
    return fd_store_docs_each(kb->store, docs_adapter, &d, err);
}

/* Collects keys of a source file's documents into a buffer of NUL-separated keys. */
static int collect_key(void *ctx, const char *key)
{
    fd_buf *b = ctx;
    return fd_buf_append(b, key, strlen(key) + 1);
}

int fd_kb_remove(fd_kb *kb, const char *key, size_t *n_removed, fd_err *err)
{
    *n_removed = 0;
    fd_buf keys;
    fd_buf_init(&keys, 0);
    int rc = fd_store_docs_by_source(kb->store, key, collect_key, &keys, err);
    if (!rc)
        rc = fd_store_begin(kb->store, err);
    if (rc) {
        fd_buf_free(&keys);
        return rc;
    }
    if (keys.len == 0) {
        /* Not a source file: a single document key. */
        rc = fd_store_doc_delete(kb->store, key, err);
        if (!rc)
            *n_removed = 1;
    }
    for (size_t off = 0; off < keys.len && !rc; off += strlen(keys.p + off) + 1) {
        rc = fd_store_doc_delete(kb->store, keys.p + off, err);
        if (!rc)
            (*n_removed)++;
    }
    fd_buf_free(&keys);
    int64_t version;
    char note[700];
    snprintf(note, sizeof note, "rm %s", key);
    if (!rc)
        rc = fd_store_kb_bump(kb->store, note, &version, err);
    if (!rc)
        rc = fd_store_commit(kb->store, err);
    if (rc) {
        fd_store_rollback(kb->store);
        *n_removed = 0;
        return rc;
    }
    return kb_index_build(kb, err);
}

int fd_kb_apply_retention(fd_kb *kb, struct fd_retention_counts *out, fd_err *err)
{
    const fd_config *c = kb->cfg;
    double now = fd_time_wall(), day = 86400.0;
    return fd_store_retention(
        kb->store, c->retention_turns_days ? now - c->retention_turns_days * day : 0,
        c->retention_events_days ? now - c->retention_events_days * day : 0,
        c->retention_costs_days ? now - c->retention_costs_days * day : 0, out, err);
}
