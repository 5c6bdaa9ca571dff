/* kb_int.h: private to the kb module and its tests. */
#ifndef FD_KB_INT_H
#define FD_KB_INT_H

#include "kb.h"
#include "embed.h"
#include "index.h"
#include "store.h"

#include <stdatomic.h>

/* Per-chunk row of the snapshot's CHUNKS section (16 bytes, mmapped). */
typedef struct kb_chunk {
    int64_t chunk_id; /* store rowid */
    uint32_t doc;     /* index into the docs table */
    uint16_t tag;     /* index into the tags table; 0 = no tag */
    uint8_t lang;     /* fd_lang */
    uint8_t _pad;
} kb_chunk;

/* Snapshot META section. */
typedef struct kb_meta {
    uint32_t magic; /* KB_META_MAGIC */
    uint32_t format;
    int64_t kb_version;
    uint32_t n_chunks;
    uint32_t n_docs;
    uint32_t n_tags;
    uint32_t dominant_lang;
    uint32_t chunk_words; /* chunk.max_words the store was chunked with (info) */
    int32_t dense_dim;
    double k1, b;
} kb_meta;

#define KB_META_MAGIC 0x4644424bu /* "KBDF" */
/* 2: each chunk's section and text in the snapshot (chunk_str), so search
 * and answers read no row from the store: replicas keep answering while
 * PostgreSQL is away, and a result is never a chunk the store has since
 * replaced. A format-1 snapshot is rebuilt. */
#define KB_META_FORMAT 2

/* A loaded snapshot: the mapped file and views over its sections. */
typedef struct kb_index {
    fd_snap *snap;
    const kb_meta *meta;
    const kb_chunk *chunks;
    const uint32_t *doc_str;   /* n_docs x {key offset, title offset} */
    const uint32_t *tag_str;   /* n_tags offsets */
    const uint32_t *chunk_str; /* n_chunks x {section offset, text offset} */
    const char *strings;
    size_t strings_len;
    fd_bm25 *bm25;
    fd_dense *dense;       /* NULL without dense vectors */
    fd_embedder *embedder; /* NULL without dense vectors */
    /* Per language, a bit per chunk in it: the filter of every chat
     * search, made once at load instead of a pass over all chunks per
     * query (a knowledge base of 100k chunks: 100k entries read per
     * search). NULL: none in that language. */
    uint8_t *lang_allow[FD__NLANGS];
} kb_index;

struct fd_kb {
    const fd_config *cfg;
    fd_log *log;
    fd_store *store;
    fd_analyzer *an;
    kb_index *ix; /* NULL until something is indexed */
    char db_path[600];
    char snap_path[600];
    /* Snapshots this handle offered the other replicas (kb_index_build):
     * written by the thread that builds, read by /metrics (fd_kb_shares). */
    atomic_ullong shared, share_failed, share_ns;
};

/* kb_build.c */
/* Builds the index of the store's current version, writes and maps its
 * snapshot, and shares it through the store (replicas on PostgreSQL). */
int kb_index_build(fd_kb *kb, fd_err *err);
/* Maps the snapshot of `version` a replica shared through the store
 * (fd_store_snapshot_get); FD_ENOTFOUND when there is none to fetch. */
int kb_index_fetch(fd_kb *kb, int64_t version, fd_err *err);
int kb_index_load(const char *path, kb_index **out, fd_err *err);
void kb_index_free(kb_index *ix);
const char *kb_index_str(const kb_index *ix, uint32_t off);
/* Chunk i's heading path and text, from the snapshot. */
const char *kb_chunk_section(const kb_index *ix, size_t i);
const char *kb_chunk_text(const kb_index *ix, size_t i);

/* kb_lsa.c: the embedder trains on its own thread during the BM25 build.
 * join waits, hands over the model bytes and doc vectors, and frees the
 * job whatever the result (every started job must be joined; model NULL
 * discards the result). */
typedef struct kb_lsa_job kb_lsa_job;
int kb_lsa_start(const fd_kb *kb, kb_lsa_job **out, fd_err *err);
int kb_lsa_join(kb_lsa_job *job, fd_buf *model, float **vecs, size_t *n, int *dim, fd_err *err);

/* Analyzed text of a chunk as indexed: title, section and text. */
int kb_chunk_terms(fd_analyzer *an, const char *title, const char *section, const char *text,
                   fd_lang lang, fd_arena *a, fd_terms *out, fd_err *err);

#endif
