/* kb/kb.h: a knowledge base: the store (documents, chunks, versions) plus
 * the search index built from it and saved as a snapshot beside it
 * (<data_dir>/frontdesk.db, <data_dir>/index.snap).
 *
 * Threads: an fd_kb is used by one thread at a time (it owns a store
 *          connection and an analyzer). The snapshot it maps is read-only.
 * Memory:  search results live in the caller's arena.
 * Errors:  FD_ENOTFOUND (missing path or document), FD_EINVAL (bad query
 *          or option), FD_EIO, FD_EFORMAT, FD_ENOMEM, FD_ETOOBIG. */
#ifndef FD_KB_H
#define FD_KB_H

#include "core.h"
#include "ingest.h"
#include "text.h"

typedef struct fd_kb fd_kb;

/* Opens (creating if needed) the knowledge base in cfg->data_dir and maps
 * its index snapshot. A snapshot older than the store is rebuilt. cfg must
 * outlive the kb; log may be NULL. */
int fd_kb_open(const fd_config *cfg, fd_log *log, fd_kb **out, fd_err *err) FD_MUST_USE;
void fd_kb_close(fd_kb *kb); /* NULL is fine */

/* ---- ingest -------------------------------------------------------------- */

typedef struct fd_kb_ingest_report {
    size_t files;     /* files read */
    size_t added;     /* new documents */
    size_t changed;   /* documents whose content changed */
    size_t unchanged; /* same hash: left alone */
    size_t removed;   /* rows gone from a re-ingested CSV/JSONL */
    size_t chunks;    /* chunks written */
    size_t skipped;   /* files or rows skipped (each reported to on_skip) */
    size_t assets;    /* tone.md, escalation.toml|json, intents.tsv stored */
    size_t assets_changed;
    int64_t kb_version;
    double seconds;
} fd_kb_ingest_report;

typedef struct fd_kb_ingest_opts {
    /* Called after each file (done of total); may be NULL. */
    void (*on_progress)(void *ctx, size_t done, size_t total, const char *path);
    /* Called for each skipped file with the reason, and for a file whose bad
     * rows were left out while the rest went in (why->field is "rows");
     * may be NULL. */
    void (*on_skip)(void *ctx, const char *path, const fd_err *why);
    void *ctx;
    /* Keys and sources are the path with this prefix removed, so a file the
     * server keeps at <root>faq/a.md is the document "faq/a.md" wherever
     * the data dir is. Paths outside the root keep their name. NULL: none. */
    const char *key_root;
    /* Parse every file as this format instead of by its extension (an
     * uploaded document's id need not have one). FD_FMT_UNKNOWN: by extension. */
    fd_format format;
    /* Replace what the files say: tag for every document, title for files
     * that hold one document (not CSV or JSONL rows). NULL: keep theirs. */
    const char *tag;
    const char *title;
} fd_kb_ingest_opts;

/* 1 for a file of a KB folder that configures the engine or is private
 * (tone.md, escalation.toml, intents.tsv, commerce.toml, customers.csv,
 * README.md, cases.jsonl...): never ingested as a document. */
int fd_kb_special_file(const char *name);

/* Loads files and folders (recursively; hidden files skipped) into the
 * store, one transaction per batch of files; documents whose hash did not
 * change are left alone. If anything changed, bumps the kb version and
 * rebuilds the index snapshot. A missing path is FD_ENOTFOUND before
 * anything is written; unreadable, empty or invalid files are skipped.
 * Keys (without key_root): a folder's own name and the path inside it
 * ("kb/faq/a.md" for "kb", "./kb/" or "/srv/kb"); a file given alone, its
 * folder's name and its own. A folder's documents whose file is gone, or
 * stored under another spelling of its path, are removed (rep->removed);
 * two files under one key: the second is skipped, FD_ECONFLICT. */
int fd_kb_ingest(fd_kb *kb, const char *const *paths, size_t n_paths, const fd_kb_ingest_opts *opts,
                 fd_kb_ingest_report *rep, fd_err *err) FD_MUST_USE;

/* Deletes a document by key (or every document of a source file) and
 * rebuilds the index. FD_ENOTFOUND when nothing matched. */
int fd_kb_remove(fd_kb *kb, const char *key, size_t *n_removed, fd_err *err) FD_MUST_USE;

/* A knowledge-base asset stored by ingest ("tone.md", "escalation.toml",
 * "escalation.json", "intents.tsv"): content copied into a, NUL-terminated;
 * hash (may be NULL) receives its SHA-256 hex. FD_ENOTFOUND if never
 * ingested. */
int fd_kb_asset(fd_kb *kb, const char *name, fd_arena *a, const char **content, size_t *len,
                char hash[65], fd_err *err) FD_MUST_USE;

/* ---- canned replies (canned.c) ------------------------------------------- */

/* The agents' saved replies, from the knowledge base's canned.md: each
 * "## /shortcut Title" heading starts one (shortcut: 1-32 of a-z 0-9 - _;
 * the title defaults to it), its text is the lines below up to the next
 * such heading (1..FD_CANNED_TEXT_MAX bytes). Text above the first one is
 * for people. Other headings inside a reply, a duplicate shortcut, an
 * empty reply or more than FD_CANNED_MAX: FD_EFORMAT naming the line. */
#define FD_CANNED_MAX 200
#define FD_CANNED_TEXT_MAX 4000
typedef struct fd_canned {
    const char *shortcut, *title, *text; /* in the caller's arena */
} fd_canned;

/* In file order; *out and its strings live in a. */
int fd_kb_canned_parse(const char *p, size_t len, fd_arena *a, fd_canned **out, size_t *n,
                       fd_err *err) FD_MUST_USE;

/* The kb's store connection, borrowed (same thread rules as the kb): the
 * conversation engine keeps sessions and handoffs beside the documents. */
struct fd_store *fd_kb_store(fd_kb *kb);

/* The kb's text analyzer, borrowed (same thread rules as the kb), for
 * callers that analyze text alongside its searches. */
fd_analyzer *fd_kb_analyzer(fd_kb *kb);

/* Current knowledge-base version (bumped by every change). */
int fd_kb_version(fd_kb *kb, int64_t *version, fd_err *err) FD_MUST_USE;
/* Applies retention.* from the configuration now (nothing when all are 0). */
struct fd_retention_counts;
int fd_kb_apply_retention(fd_kb *kb, struct fd_retention_counts *out, fd_err *err) FD_MUST_USE;

/* Brings the mapped index up to the store's version (another process may
 * have ingested): maps the newer snapshot, or rebuilds it. A no-op when
 * current. */
int fd_kb_refresh(fd_kb *kb, fd_err *err) FD_MUST_USE;

/* Rebuilds the index snapshot from the store. */
int fd_kb_reindex(fd_kb *kb, fd_err *err) FD_MUST_USE;

typedef struct fd_kb_stats {
    int64_t kb_version;
    int64_t n_docs;
    int64_t n_chunks;
    size_t snapshot_bytes;
    int dense_dim; /* 0: no dense index */
    int hnsw;
} fd_kb_stats;
int fd_kb_stats_get(fd_kb *kb, fd_kb_stats *out, fd_err *err) FD_MUST_USE;

/* The index snapshots this handle built and offered the other replicas
 * through the store (PostgreSQL, index.share_snapshots): how many were
 * shared, how many failed (those replicas then build their own), and the
 * seconds spent putting them. Safe from any thread. */
void fd_kb_shares(const fd_kb *kb, uint64_t *shared, uint64_t *failed, double *seconds);

/* Lists documents; cb returns non-zero to stop. */
typedef struct fd_kb_doc {
    const char *key, *title, *source, *tag, *lang;
    int64_t n_chunks, kb_version;
} fd_kb_doc;
int fd_kb_docs_each(fd_kb *kb, int (*cb)(void *ctx, const fd_kb_doc *doc), void *ctx,
                    fd_err *err) FD_MUST_USE;

/* ---- search -------------------------------------------------------------- */

typedef enum fd_search_mode { FD_SEARCH_BM25, FD_SEARCH_DENSE, FD_SEARCH_HYBRID } fd_search_mode;

int fd_search_mode_parse(const char *s, fd_search_mode *out);
const char *fd_search_mode_name(fd_search_mode m);

typedef struct fd_search_opts {
    fd_search_mode mode;
    size_t k;
    const char *tag; /* only chunks of documents with this tag; NULL: any */
    fd_lang lang;    /* only chunks in this language; UNKNOWN: any */
    int no_text;     /* skip text and snippet (evaluation: ids only) */
    int hl_ansi;     /* snippet highlights as ANSI bold instead of **...** */
    /* text and section without a snippet: the chat pipeline reads whole
     * chunks, and a snippet analyzes its chunk again (a tenth of a chat
     * turn's CPU, bench/RESULTS.md "snippets") */
    int no_snippet;
} fd_search_opts;

typedef struct fd_result {
    int64_t chunk_id;
    const char *doc_key;
    const char *title;
    const char *section;
    const char *text;    /* the chunk ("" with no_text) */
    const char *snippet; /* best window with query terms highlighted */
    float score;
    int lang; /* fd_lang of its document, decided at ingest (0: unknown) */
} fd_result;

/* Top k chunks for the query, best first. An empty or all-stopword query
 * is FD_EINVAL, and so is a missing argument (opts included); an empty
 * knowledge base gives 0 results. */
int fd_kb_search(fd_kb *kb, fd_str query, const fd_search_opts *opts, fd_arena *a, fd_result **out,
                 size_t *n_out, fd_err *err) FD_MUST_USE;

/* The embedding of analyzed terms with this knowledge base's embedder,
 * unit length, into vec (dim floats, in a). FD_ENOTFOUND when there is no
 * embedder or no term is known to it. */
int fd_kb_embed_terms(fd_kb *kb, const fd_str *terms, size_t n_terms, fd_arena *a, float **vec,
                      int *dim, fd_err *err) FD_MUST_USE;

/* The version of the index this handle answers from (0: none yet); the
 * version answers computed through it belong to. No store access. */
int64_t fd_kb_loaded_version(const fd_kb *kb);

/* ---- corpus statistics (kb_terms.c) -------------------------------------- */

/* How many indexed chunks hold an analyzed term (as fd_analyzer_terms
 * spells it: folded, stemmed), in any language; 0 for an unknown term or
 * an empty knowledge base. With fd_kb_n_chunks, the corpus-wide rarity of
 * a word. Reads the mapped index only: cheap enough per query term. */
uint32_t fd_kb_term_df(const fd_kb *kb, fd_str term);
uint32_t fd_kb_n_chunks(const fd_kb *kb);

/* Every chunk of the document that holds chunk chunk_id, in document
 * order, at most max (0: all): text and section filled, snippet "",
 * score 0. FD_ENOTFOUND when the chunk is not in the index. */
int fd_kb_doc_chunks(fd_kb *kb, int64_t chunk_id, size_t max, fd_arena *a, fd_result **out,
                     size_t *n_out, fd_err *err) FD_MUST_USE;

/* ---- retrieval evaluation (metrics.c) ----------------------------------- */

/* Relevance judgments: (query id, doc id, grade > 0). */
typedef struct fd_qrels fd_qrels;

int fd_qrels_load(const char *path, fd_qrels **out, fd_err *err) FD_MUST_USE;
void fd_qrels_free(fd_qrels *q);
int fd_qrels_add(fd_qrels *q, const char *qid, const char *docid, int grade,
                 fd_err *err) FD_MUST_USE;
fd_qrels *fd_qrels_new(void);
size_t fd_qrels_n_queries(const fd_qrels *q);

typedef struct fd_eval_scores {
    double ndcg10;    /* trec_eval ndcg_cut_10 (gain = grade, log2 discount) */
    double recall100; /* trec_eval recall_100 */
    double mrr10;     /* reciprocal rank of the first relevant doc in the top 10 */
} fd_eval_scores;

/* Scores one query's ranked doc ids (best first, no duplicates). A query
 * without judgments returns FD_ENOTFOUND (trec_eval skips it). */
int fd_eval_query(const fd_qrels *q, const char *qid, const char *const *ranked, size_t n,
                  fd_eval_scores *out) FD_MUST_USE;

#endif
