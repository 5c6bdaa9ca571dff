/* kb_build.c: builds the index snapshot from the store (BM25, LSA embedder,
 * dense vectors, chunk table) and maps it back. The snapshot is written
 * beside the store and replaced atomically, so a reader never sees half. */
#include "kb_int.h"

#include <string.h>
#include <unistd.h>

typedef struct build_ctx {
    fd_kb *kb;
    fd_err *err;
    fd_arena *a;
    fd_bm25_builder *bm;
    kb_lsa_job *lsa; /* NULL when dense is off; joined by write_dense or build_free */
    kb_chunk *chunks;
    size_t n_chunks, cap_chunks;
    uint32_t *doc_str; /* 2 per doc */
    size_t n_docs, cap_docs;
    uint32_t *chunk_str; /* 2 per chunk: section, text */
    size_t cap_chunk_str;
    int64_t last_doc_id;
    uint32_t tag_str[256]; /* distinct tags are few; more share tag 0 */
    size_t n_tags;
    fd_buf strings;
    size_t lang_counts[FD__NLANGS];
} build_ctx;

static int strings_add(build_ctx *b, const char *s, uint32_t *off)
{
    *off = (uint32_t)b->strings.len;
    int rc = fd_buf_append(&b->strings, s, strlen(s) + 1);
    return rc ? fd_err_set(b->err, rc, "index build: string table too big") : FD_OK;
}

static int grow(void **v, size_t *cap, size_t need, size_t elem, fd_err *err)
{
    if (need <= *cap)
        return FD_OK;
    size_t cap2 = *cap ? *cap * 2 : 1024;
    while (cap2 < need)
        cap2 *= 2;
    void *p = fd_realloc(*v, cap2 * elem);
    if (!p)
        return fd_err_set(err, FD_ENOMEM, "index build: out of memory");
    *v = p;
    *cap = cap2;
    return FD_OK;
}

static uint16_t tag_id(build_ctx *b, const char *tag)
{
    if (!tag || !*tag)
        return 0;
    for (size_t i = 1; i < b->n_tags; i++)
        if (strcmp(b->strings.p + b->tag_str[i], tag) == 0)
            return (uint16_t)i;
    if (b->n_tags >= sizeof b->tag_str / sizeof b->tag_str[0])
        return 0;
    uint32_t off;
    if (strings_add(b, tag, &off))
        return 0;
    b->tag_str[b->n_tags] = off;
    return (uint16_t)b->n_tags++;
}

int kb_chunk_terms(fd_analyzer *an, const char *title, const char *section, const char *text,
                   fd_lang lang, fd_arena *a, fd_terms *out, fd_err *err)
{
    /* One pass over "title \n section \n text": the title and heading path
     * make a chunk findable by what its document is about. */
    char *all = fd_arena_printf(a, "%s\n%s\n%s", title ? title : "", section ? section : "",
                                text ? text : "");
    if (!all)
        return fd_err_set(err, FD_ETOOBIG, "chunk too large to analyze");
    return fd_analyzer_terms(an, fd_str_c(all), lang, a, out, err);
}

static int add_chunk(void *ctx, const fd_chunk_row *c)
{
    build_ctx *b = ctx;
    fd_arena_reset(b->a);
    int rc = grow((void **)&b->chunks, &b->cap_chunks, b->n_chunks + 1, sizeof *b->chunks, b->err);
    if (rc)
        return rc;
    if (b->n_docs == 0 || c->doc_id != b->last_doc_id) {
        rc = grow((void **)&b->doc_str, &b->cap_docs, 2 * (b->n_docs + 1), sizeof *b->doc_str,
                  b->err);
        uint32_t *d = b->doc_str + 2 * b->n_docs;
        if (!rc)
            rc = strings_add(b, c->doc_key, &d[0]);
        if (!rc)
            rc = strings_add(b, c->title, &d[1]);
        if (rc)
            return rc;
        b->n_docs++;
        b->last_doc_id = c->doc_id;
    }
    rc = grow((void **)&b->chunk_str, &b->cap_chunk_str, 2 * (b->n_chunks + 1),
              sizeof *b->chunk_str, b->err);
    uint32_t *cs = rc ? NULL : b->chunk_str + 2 * b->n_chunks;
    if (!rc)
        rc = strings_add(b, c->section ? c->section : "", &cs[0]);
    if (!rc)
        rc = strings_add(b, c->text ? c->text : "", &cs[1]);
    if (rc)
        return rc;
    fd_lang lang = fd_lang_parse(c->lang);
    kb_chunk *k = &b->chunks[b->n_chunks++];
    memset(k, 0, sizeof *k);
    k->chunk_id = c->id;
    k->doc = (uint32_t)(b->n_docs - 1);
    k->tag = tag_id(b, c->tag);
    k->lang = (uint8_t)lang;
    b->lang_counts[lang]++;

    fd_terms terms;
    rc = kb_chunk_terms(b->kb->an, c->title, c->section, c->text, lang, b->a, &terms, b->err);
    if (rc)
        return rc;
    fd_str *v = fd_arena_alloc(b->a, (terms.n + 1) * sizeof *v);
    if (!v)
        return fd_err_set(b->err, FD_ETOOBIG, "chunk %lld: too many terms", (long long)c->id);
    for (size_t i = 0; i < terms.n; i++)
        v[i] = terms.v[i].term;
    rc = fd_bm25_builder_add(b->bm, v, terms.n, b->err);
    return rc;
}

static int write_dense(build_ctx *b, fd_snap_writer *w, fd_buf *tmp)
{
    const fd_config *cfg = b->kb->cfg;
    float *vecs = NULL;
    size_t n = 0;
    int dim = 0;
    fd_buf model;
    fd_buf_init(&model, 0);
    int rc = kb_lsa_join(b->lsa, &model, &vecs, &n, &dim, b->err);
    b->lsa = NULL;
    if (!rc && n != b->n_chunks)
        rc = fd_err_set(b->err, FD_ECONFLICT,
                        "the store changed during the index build; run the command again");
    if (!rc)
        rc = fd_snap_writer_add(w, FD_SNAP_EMBED, model.p, model.len, b->err);
    fd_buf_free(&model);
    if (!rc) {
        fd_dense_params dp = {0};
        dp.quantize = cfg->quantize;
        dp.hnsw = n >= (size_t)cfg->hnsw_min_chunks;
        fd_buf_reset(tmp);
        rc = fd_dense_write(vecs, n, dim, &dp, tmp, b->err);
    }
    if (!rc)
        rc = fd_snap_writer_add(w, FD_SNAP_DENSE, tmp->p, tmp->len, b->err);
    fd_free(vecs);
    return rc;
}

static int write_chunks(build_ctx *b, fd_snap_writer *w, fd_buf *tmp)
{
    fd_buf_reset(tmp);
    int rc = fd_buf_append(tmp, b->chunks, b->n_chunks * sizeof *b->chunks);
    if (!rc)
        rc = fd_buf_append(tmp, b->doc_str, 2 * b->n_docs * sizeof *b->doc_str);
    if (!rc)
        rc = fd_buf_append(tmp, b->tag_str, b->n_tags * sizeof *b->tag_str);
    if (!rc)
        rc = fd_buf_append(tmp, b->chunk_str, 2 * b->n_chunks * sizeof *b->chunk_str);
    if (!rc)
        rc = fd_buf_append(tmp, b->strings.p, b->strings.len);
    if (rc)
        return fd_err_set(b->err, rc, "index build: chunk table too big");
    return fd_snap_writer_add(w, FD_SNAP_CHUNKS, tmp->p, tmp->len, b->err);
}

/* How a snapshot was built, beyond the knowledge-base version: replicas
 * with other ranking settings must not map each other's. */
static void snapshot_tag(const fd_config *cfg, char *out, size_t n)
{
    snprintf(out, n, "f%d-k%.4g-b%.4g-w%d-d%d-q%d-h%d", KB_META_FORMAT, cfg->bm25_k1, cfg->bm25_b,
             cfg->chunk_max_words, cfg->dense_dim, cfg->quantize, cfg->hnsw_min_chunks);
}

static int write_snapshot(build_ctx *b, int64_t version)
{
    const fd_config *cfg = b->kb->cfg;
    kb_meta meta;
    memset(&meta, 0, sizeof meta);
    meta.magic = KB_META_MAGIC;
    meta.format = KB_META_FORMAT;
    meta.kb_version = version;
    meta.n_chunks = (uint32_t)b->n_chunks;
    meta.n_docs = (uint32_t)b->n_docs;
    meta.n_tags = (uint32_t)b->n_tags;
    meta.chunk_words = (uint32_t)cfg->chunk_max_words;
    meta.k1 = cfg->bm25_k1;
    meta.b = cfg->bm25_b;
    for (int l = 1; l < FD__NLANGS; l++)
        if (b->lang_counts[l] > b->lang_counts[meta.dominant_lang])
            meta.dominant_lang = (uint32_t)l;
    meta.dense_dim = b->lsa ? cfg->dense_dim : 0;

    fd_snap_writer *w = NULL;
    fd_buf tmp;
    fd_buf_init(&tmp, 0);
    int rc = fd_snap_writer_new(b->kb->snap_path, &w, b->err);
    if (!rc)
        rc = fd_snap_writer_add(w, FD_SNAP_META, &meta, sizeof meta, b->err);
    if (!rc)
        rc = fd_bm25_builder_write(b->bm, cfg->bm25_k1, cfg->bm25_b, &tmp, b->err);
    if (!rc)
        rc = fd_snap_writer_add(w, FD_SNAP_BM25, tmp.p, tmp.len, b->err);
    if (!rc)
        rc = write_chunks(b, w, &tmp);
    if (!rc && b->lsa)
        rc = write_dense(b, w, &tmp);
    fd_buf_free(&tmp);
    if (rc) {
        fd_snap_writer_abort(w);
        return rc;
    }
    return fd_snap_writer_finish(w, b->err);
}

static void build_free(build_ctx *b)
{
    fd_bm25_builder_free(b->bm);
    if (b->lsa)
        kb_lsa_join(b->lsa, NULL, NULL, NULL, NULL, NULL); /* error path: result unused */
    fd_arena_free(b->a);
    fd_free(b->chunks);
    fd_free(b->doc_str);
    fd_free(b->chunk_str);
    fd_buf_free(&b->strings);
}

int kb_index_build(fd_kb *kb, fd_err *err)
{
    /* Tests: an index build as slow as a large knowledge base's (1.5 s),
     * to show that it holds up no request thread. */
    if (FD_FAULT("index.slow"))
        usleep(1500 * 1000);
    uint64_t t0 = fd_time_ns();
    build_ctx b;
    memset(&b, 0, sizeof b);
    b.kb = kb;
    b.err = err;
    b.n_tags = 1; /* tag 0: none */
    fd_buf_init(&b.strings, (size_t)1 << 31);
    int64_t version = 0;
    int rc = fd_store_kb_version(kb->store, &version, err);
    if (!rc) {
        b.a = fd_arena_new((size_t)64 << 20);
        if (!b.a)
            rc = fd_err_set(err, FD_ENOMEM, "out of memory");
    }
    if (!rc)
        rc = strings_add(&b, "", &b.tag_str[0]);
    if (!rc)
        rc = fd_bm25_builder_new(&b.bm, err);
    if (!rc && kb->cfg->dense_dim > 0)
        rc = kb_lsa_start(kb, &b.lsa, err);
    if (!rc)
        rc = fd_store_chunks_each(kb->store, add_chunk, &b, err);
    if (!rc && b.n_chunks == 0) {
        /* Nothing to index: no snapshot, searches return nothing. */
        build_free(&b);
        kb_index_free(kb->ix);
        kb->ix = NULL;
        unlink(kb->snap_path);
        return FD_OK;
    }
    if (!rc)
        rc = write_snapshot(&b, version);
    size_t n = b.n_chunks;
    build_free(&b);
    if (rc)
        return rc;
    kb_index *ix = NULL;
    rc = kb_index_load(kb->snap_path, &ix, err);
    if (rc)
        return rc;
    kb_index_free(kb->ix);
    kb->ix = ix;
    FD_LOG(kb->log, FD_LOG_INFO, "kb", "indexed %zu chunks (version %lld) in %.2f s", n,
           (long long)version, (double)(fd_time_ns() - t0) / 1e9);
    /* For the other replicas (PostgreSQL; nothing on SQLite). Failing
     * costs them a build of their own, never this one its index. */
    if (!kb->cfg->share_snapshots)
        return FD_OK;
    char tag[96];
    snapshot_tag(kb->cfg, tag, sizeof tag);
    fd_err e2 = {0};
    uint64_t t1 = fd_time_ns();
    int put = fd_store_snapshot_put(kb->store, version, tag, kb->snap_path, &e2);
    if (kb->cfg->store_url[0]) { /* on SQLite the file beside the store is the shared one */
        atomic_fetch_add(&kb->share_ns, fd_time_ns() - t1);
        atomic_fetch_add(put == FD_OK ? &kb->shared : &kb->share_failed, 1);
    }
    if (put != FD_OK)
        FD_LOG(kb->log, FD_LOG_WARN, "kb", "index snapshot not shared through the store: %s",
               e2.msg);
    else if (fd_time_ns() - t1 > 1000000)
        FD_LOG(kb->log, FD_LOG_INFO, "kb", "index snapshot (version %lld) shared in %.2f s",
               (long long)version, (double)(fd_time_ns() - t1) / 1e9);
    return FD_OK;
}

int kb_index_fetch(fd_kb *kb, int64_t version, fd_err *err)
{
    if (!kb->cfg->share_snapshots)
        return fd_err_set(err, FD_ENOTFOUND, "index.share_snapshots is off");
    char tag[96];
    snapshot_tag(kb->cfg, tag, sizeof tag);
    uint64_t t0 = fd_time_ns();
    int rc = fd_store_snapshot_get(kb->store, version, tag, kb->snap_path, err);
    if (rc)
        return rc;
    kb_index *ix = NULL;
    rc = kb_index_load(kb->snap_path, &ix, err);
    if (!rc && ix->meta->kb_version != version) {
        kb_index_free(ix);
        return fd_err_set(err, FD_EIO, "the fetched snapshot is of version %lld, not %lld",
                          (long long)ix->meta->kb_version, (long long)version);
    }
    if (rc)
        return rc;
    kb_index_free(kb->ix);
    kb->ix = ix;
    FD_LOG(kb->log, FD_LOG_INFO, "kb",
           "index snapshot of version %lld fetched from the store (%u chunks) in %.2f s",
           (long long)version, ix->meta->n_chunks, (double)(fd_time_ns() - t0) / 1e9);
    return FD_OK;
}

const char *kb_index_str(const kb_index *ix, uint32_t off)
{
    return off < ix->strings_len ? ix->strings + off : "";
}

const char *kb_chunk_section(const kb_index *ix, size_t i)
{
    return i < ix->meta->n_chunks ? kb_index_str(ix, ix->chunk_str[2 * i]) : "";
}

const char *kb_chunk_text(const kb_index *ix, size_t i)
{
    return i < ix->meta->n_chunks ? kb_index_str(ix, ix->chunk_str[2 * i + 1]) : "";
}

static int load_sections(kb_index *ix, fd_err *err)
{
    const void *p;
    size_t len;
    if (fd_snap_section(ix->snap, FD_SNAP_META, &p, &len) || len != sizeof(kb_meta))
        return fd_err_set(err, FD_EFORMAT, "index snapshot: no metadata");
    ix->meta = p;
    if (ix->meta->magic != KB_META_MAGIC || ix->meta->format != KB_META_FORMAT)
        return fd_err_set(err, FD_EFORMAT, "index snapshot: unknown format");
    const kb_meta *m = ix->meta;
    /* All in size_t: n_tags * 4 in 32 bits wrapped (fuzz_snapshot), and a
     * crafted count then pointed the string table gigabytes past the map. */
    size_t fixed = (size_t)m->n_chunks * sizeof(kb_chunk) + 2 * (size_t)m->n_docs * 4 +
                   (size_t)m->n_tags * 4 + 2 * (size_t)m->n_chunks * 4;
    if (fd_snap_section(ix->snap, FD_SNAP_CHUNKS, &p, &len) || len < fixed)
        return fd_err_set(err, FD_EFORMAT, "index snapshot: bad chunk table");
    ix->chunks = p;
    ix->doc_str = (const uint32_t *)(ix->chunks + m->n_chunks);
    ix->tag_str = ix->doc_str + 2 * (size_t)m->n_docs;
    ix->chunk_str = ix->tag_str + m->n_tags;
    ix->strings = (const char *)(ix->chunk_str + 2 * (size_t)m->n_chunks);
    ix->strings_len = len - fixed;
    if (ix->strings_len == 0 || ix->strings[ix->strings_len - 1] != '\0')
        return fd_err_set(err, FD_EFORMAT, "index snapshot: bad string table");
    if (fd_snap_section(ix->snap, FD_SNAP_BM25, &p, &len))
        return fd_err_set(err, FD_EFORMAT, "index snapshot: no BM25 section");
    int rc = fd_bm25_open(p, len, &ix->bm25, err);
    if (rc)
        return rc;
    if (fd_bm25_n_docs(ix->bm25) != m->n_chunks)
        return fd_err_set(err, FD_EFORMAT, "index snapshot: BM25 and chunk table disagree");
    if (fd_snap_section(ix->snap, FD_SNAP_DENSE, &p, &len) == FD_OK) {
        rc = fd_dense_open(p, len, &ix->dense, err);
        if (rc)
            return rc;
        if (fd_snap_section(ix->snap, FD_SNAP_EMBED, &p, &len))
            return fd_err_set(err, FD_EFORMAT, "index snapshot: vectors without embedder");
        rc = fd_embedder_open_lsa(p, len, &ix->embedder, err);
        if (rc)
            return rc;
        if (fd_dense_n(ix->dense) != m->n_chunks ||
            fd_dense_dim(ix->dense) != fd_embedder_dim(ix->embedder))
            return fd_err_set(err, FD_EFORMAT, "index snapshot: vectors and chunks disagree");
    }
    return FD_OK;
}

/* kb_index.lang_allow, from the chunk table. */
static int lang_bitmaps(kb_index *ix, fd_err *err)
{
    uint32_t n = ix->meta->n_chunks;
    for (int l = FD_LANG_EN; l < FD__NLANGS; l++) {
        ix->lang_allow[l] = fd_calloc((n + 7) / 8 + 1, 1);
        if (!ix->lang_allow[l])
            return fd_err_set(err, FD_ENOMEM, "out of memory");
    }
    for (uint32_t d = 0; d < n; d++) {
        unsigned l = ix->chunks[d].lang;
        if (l > FD_LANG_UNKNOWN && l < FD__NLANGS)
            ix->lang_allow[l][d >> 3] |= (uint8_t)(1u << (d & 7));
    }
    return FD_OK;
}

int kb_index_load(const char *path, kb_index **out, fd_err *err)
{
    *out = NULL;
    kb_index *ix = fd_calloc(1, sizeof *ix);
    if (!ix)
        return fd_err_set(err, FD_ENOMEM, "out of memory");
    int rc = fd_snap_open(path, &ix->snap, err);
    if (!rc)
        rc = load_sections(ix, err);
    if (!rc)
        rc = lang_bitmaps(ix, err);
    if (rc) {
        kb_index_free(ix);
        return rc;
    }
    *out = ix;
    return FD_OK;
}

void kb_index_free(kb_index *ix)
{
    if (!ix)
        return;
    fd_bm25_free(ix->bm25);
    fd_dense_free(ix->dense);
    fd_embedder_free(ix->embedder);
    fd_snap_close(ix->snap);
    for (int l = 0; l < FD__NLANGS; l++)
        fd_free(ix->lang_allow[l]);
    fd_free(ix);
}
