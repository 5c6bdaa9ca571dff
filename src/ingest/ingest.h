/* ingest/ingest.h: turning files into documents and documents into chunks.
 * Loaders: Markdown (heading path kept as the section), plain text, HTML
 * (text only; script/style dropped), CSV (one document per row), JSONL in
 * the BEIR corpus format ({"_id","title","text"}), PDF (poppler, in a child
 * process: headings from font sizes, wrapped lines joined into paragraphs,
 * table rows kept as rows) and DOCX (libzip + libxml2: heading styles,
 * lists, tables).
 *
 * Threads: no shared state; one call at a time per arena.
 * Memory:  documents and chunks live in the caller's arena. Loaders keep
 *          none of their own state there, so a callback may reset the
 *          arena after each document (a large CSV/JSONL then needs no
 *          more than one document's worth).
 * Errors:  FD_EUTF8 (file is not UTF-8), FD_EINVAL (empty or malformed,
 *          message names the file and line; a PDF that is encrypted, damaged
 *          or has no text layer, a DOCX that is not one), FD_EIO, FD_ETOOBIG,
 *          FD_ETIMEOUT (a PDF whose reading took over FD_INGEST_PDF_SECONDS). */
#ifndef FD_INGEST_H
#define FD_INGEST_H

#include "core.h"

typedef struct fd_section {
    const char *heading; /* "Refunds > Defective goods"; "" before any heading */
    const char *text;    /* plain text of the section, paragraphs separated by "\n\n";
                            list items, table rows, code and CSV fields one per line;
                            never empty, no leading or trailing blank lines */
} fd_section;

typedef struct fd_doc {
    /* unique. Markdown, text, HTML: the path as given. CSV:
     * "path#<value of the id/code/sku column>", else "path#<row>" (data rows
     * from 1, bad rows counted, blank lines not). JSONL: the "_id" itself
     * (a string, or an integer printed), so evaluation maps results back
     * to BEIR ids; "path#<line>" when a line has none. */
    const char *key;
    /* Markdown: front-matter title, else first H1, else file name without
     * extension. Text: first line when under 100 characters, else the file
     * name. HTML: <title>, else first h1, else file name. CSV: the
     * name/title/product column, else the first. JSONL: "title" ("" if none). */
    const char *title;
    const char *source; /* the file (path as given) */
    /* Markdown front-matter "tag:"; CSV "product" for products.csv, else the
     * file stem; otherwise "". Tags from folder names are the caller's job. */
    const char *tag;
    fd_section *sections;
    size_t n_sections;
} fd_doc;

typedef enum fd_format {
    FD_FMT_UNKNOWN = 0,
    FD_FMT_MARKDOWN,
    FD_FMT_TEXT,
    FD_FMT_HTML,
    FD_FMT_CSV,
    FD_FMT_JSONL,
    FD_FMT_PDF,
    FD_FMT_DOCX
} fd_format;

/* The binary formats: their bytes are not text, so the UTF-8 and NUL
 * checks other formats get do not apply to them. */
static inline int fd_format_is_binary(fd_format f)
{
    return f == FD_FMT_PDF || f == FD_FMT_DOCX;
}

/* A PDF is read in a child process (a hostile or broken file can crash or
 * hang the reader, never the server) given this much CPU and wall time. */
#define FD_INGEST_PDF_SECONDS 60

/* From the extension: .md .markdown .txt .html .htm .csv .jsonl .pdf .docx */
fd_format fd_ingest_format(const char *path);

/* Parses a file's bytes (already read) into documents, calling cb for each;
 * cb returning non-zero stops (that value is returned). Bad rows of a CSV
 * or JSONL are skipped and counted in *n_bad (may be NULL) with the first
 * reason in err, even when FD_OK is returned; a file where nothing parses
 * is FD_EINVAL (a CSV with only its header is FD_OK with no documents).
 * Every text format: a UTF-8 BOM is skipped; invalid UTF-8 is FD_EUTF8
 * naming the file and byte offset; an empty or whitespace-only file is
 * FD_EINVAL. PDF and DOCX are first turned into an outline (title,
 * headings, paragraphs, lines) and that outline is loaded like the others:
 * one document keyed by path. */
int fd_ingest_parse(const char *path, fd_format fmt, const char *p, size_t len, fd_arena *a,
                    int (*cb)(void *ctx, const fd_doc *doc), void *ctx, size_t *n_bad,
                    fd_err *err) FD_MUST_USE;

typedef struct fd_chunk {
    const char *section;
    const char *text;
    uint32_t n_words;
} fd_chunk;

/* Heading-aware chunking: a chunk never spans two sections; a section
 * longer than max_words is split at paragraph, then sentence (". ", "? ",
 * "! " before a capital or digit; line ends), then hard word boundaries,
 * with overlap_words words repeated at the start of the next chunk (at most
 * half the previous chunk). A chunk holds at most max_words words, overlap
 * included, except a section's last: a tail under max/4 words joins it
 * when the sum stays within 1.25 x max. Chunk text is a contiguous slice of
 * the section text; chunk.section points at the doc's heading string.
 * Empty sections give no chunk. FD_EINVAL unless 0 <= overlap < max. */
int fd_ingest_chunk(const fd_doc *doc, int max_words, int overlap_words, fd_arena *a,
                    fd_chunk **out, size_t *n_out, fd_err *err) FD_MUST_USE;

/* SHA-256 hex over a doc's title, tag and sections (headings and text,
 * field boundaries included); key and source are not part of it. Equal
 * content, equal hash, across runs and versions. Cannot fail. */
void fd_ingest_doc_hash(const fd_doc *doc, char out[65]);

/* ---- a CSV file as a table ------------------------------------------------ */

/* RFC 4180 (as the CSV loader reads it), fields trimmed, in the arena. A
 * row with the wrong number of fields or an unterminated quote is skipped
 * and counted; blank lines are ignored. The first record is the header. */
typedef struct fd_csv {
    const char **head; /* n_cols names */
    size_t n_cols;
    const char ***rows; /* n_rows rows of n_cols fields */
    size_t n_rows;
    size_t n_bad;          /* rows skipped */
    size_t first_bad_line; /* 1-based line of the first, for messages */
} fd_csv;

/* FD_EUTF8, FD_EINVAL (no header), FD_ENOMEM. */
int fd_csv_parse(const char *p, size_t len, fd_arena *a, fd_csv *out, fd_err *err) FD_MUST_USE;
/* The column named name (case-insensitive), or -1. */
int fd_csv_col(const fd_csv *t, const char *name);

#endif
