/* ingest/ingest.h: turning files into documents and documents into chunks.
 * Loaders: Markdown (heading path kept as the section), plain text, HTML
 * (text only; script/style dropped), CSV (one document per row), JSONL in
 * the BEIR corpus format ({"_id","title","text"}).
 *
 * Threads: no shared state; one call at a time per arena.
 * Memory:  documents and chunks live in the caller's arena.
 * Errors:  FD_EUTF8 (file is not UTF-8), FD_EINVAL (empty or malformed,
 *          message names the file and line), FD_EIO, FD_ETOOBIG. */
#ifndef FD_INGEST_H
#define FD_INGEST_H

#include "core.h"

typedef struct fd_section {
    const char *heading; /* "Refunds > Defective goods"; "" before any heading */
    const char *text;    /* plain text of the section, paragraphs separated by "\n\n" */
} fd_section;

typedef struct fd_doc {
    const char *key;    /* unique: the file path; "path#<row>" or "path#<_id>" for rows */
    const char *title;  /* first heading, <title>, CSV name column, BEIR title, or file name */
    const char *source; /* the file */
    const char *tag;    /* from the folder name or a front-matter "tag:" line; "" */
    fd_section *sections;
    size_t n_sections;
} fd_doc;

typedef enum fd_format {
    FD_FMT_UNKNOWN = 0,
    FD_FMT_MARKDOWN,
    FD_FMT_TEXT,
    FD_FMT_HTML,
    FD_FMT_CSV,
    FD_FMT_JSONL
} fd_format;

/* From the extension: .md .markdown .txt .html .htm .csv .jsonl */
fd_format fd_ingest_format(const char *path);

/* Parses a file's bytes (already read) into documents, calling cb for each;
 * cb returning non-zero stops (that value is returned). Bad rows of a CSV
 * or JSONL are skipped and counted in *n_bad (may be NULL) with the first
 * reason in err; a file where nothing parses is FD_EINVAL. */
int fd_ingest_parse(const char *path, fd_format fmt, const char *p, size_t len, fd_arena *a,
                    int (*cb)(void *ctx, const fd_doc *doc), void *ctx, size_t *n_bad,
                    fd_err *err) FD_MUST_USE;

typedef struct fd_chunk {
    const char *section;
    const char *text;
    uint32_t n_words;
} fd_chunk;

/* Heading-aware chunking: a chunk never spans two sections; a section
 * longer than max_words is split at paragraph, then sentence boundaries,
 * with overlap_words words repeated at the start of the next chunk. */
int fd_ingest_chunk(const fd_doc *doc, int max_words, int overlap_words, fd_arena *a,
                    fd_chunk **out, size_t *n_out, fd_err *err) FD_MUST_USE;

/* SHA-256 hex over a doc's title, tag and sections: equal content, equal hash. */
void fd_ingest_doc_hash(const fd_doc *doc, char out[65]);

#endif
