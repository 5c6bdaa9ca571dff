/* ingest/ingest_int.h: private to src/ingest/ and its tests: the document
 * builder every loader feeds, entity decoding and path helpers. */
#ifndef FD_INGEST_INT_H
#define FD_INGEST_INT_H

#include "ingest.h"

/* One loader call: the file, where documents go, and the error slots. */
typedef struct ing_src {
    const char *path;
    const char *p; /* after the BOM; valid UTF-8, not all whitespace */
    size_t len;
    fd_arena *a;
    int (*cb)(void *ctx, const fd_doc *doc);
    void *ctx;
    size_t *n_bad; /* never NULL inside the loaders */
    fd_err *err;
} ing_src;

int ing_load_markdown(const ing_src *s);
int ing_load_text(const ing_src *s);
int ing_load_html(const ing_src *s);
int ing_load_csv(const ing_src *s);
int ing_load_jsonl(const ing_src *s);

/* ---- binary formats (outline.c, pdf.c, docx.c) ---------------------------
 * A PDF or DOCX becomes an outline first: one record a line, its kind, a
 * space, then its text with no line breaks in it:
 *   "T text"  the document's title (metadata), at most one
 *   "H2 text" a heading at level 1..6
 *   "P text"  a paragraph
 *   "L text"  a line kept as a line: a list item
 *   "R a | b" a table row, cells separated by " | "; "Rh" a header row
 * so that the reader, which for PDF runs in a child process, hands back
 * plain bytes, and one loader builds the document for both formats. */
int ing_load_binary(const ing_src *s, fd_format fmt);
/* Appends one record; newlines and other control characters in p become
 * spaces, and a record whose text is blank is not written. */
int ing_outline_put(fd_buf *out, const char *kind, const char *p, size_t n) FD_MUST_USE;
int ing_pdf_outline(const char *path, const char *p, size_t len, fd_buf *out, fd_err *err);
int ing_docx_outline(const char *path, const char *p, size_t len, fd_buf *out, fd_err *err);

/* ---- document builder ---------------------------------------------------
 * Loaders push text, breaks and headings; the builder collapses
 * whitespace, owes separators until the next real text (so no section
 * starts or ends with blank lines), keeps the heading path, and closes a
 * section at each heading. Scratch is fd_malloc'd; only finished strings go
 * to the arena, so a callback may reset the arena between documents.
 * Failures (arena full, no memory) are sticky in rc and reported once. */
typedef struct ing_doc {
    fd_arena *a;
    fd_buf text;          /* the open section's text */
    int brk;              /* owed before the next text: 0, 1 = "\n", 2 = "\n\n" */
    int space;            /* a collapsed space is owed */
    char *heads[6];       /* heading text per level, fd_malloc'd; NULL = none */
    const char *heading;  /* the open section's path, in the arena */
    const char *first_h1; /* in the arena; NULL until a level-1 heading */
    fd_section *v;        /* finished sections, fd_malloc'd scratch */
    size_t n, cap;
    int rc; /* first failure, sticky */
} ing_doc;

void ing_init(ing_doc *d, fd_arena *a);
void ing_free(ing_doc *d);
/* Text with whitespace runs collapsed to one space. */
void ing_text(ing_doc *d, const char *p, size_t n);
/* Text kept byte for byte (code lines); owed separators still apply. */
void ing_raw(ing_doc *d, const char *p, size_t n);
void ing_space(ing_doc *d);
void ing_break(ing_doc *d, int level);
/* Plain text: lines kept as lines, blank lines make paragraphs. */
void ing_plain(ing_doc *d, const char *p, size_t n);
/* Closes the open section and opens one under heading p at level 1..6. */
void ing_heading(ing_doc *d, int level, const char *p, size_t n);
/* Closes the open section and fills out's sections; returns d->rc. */
int ing_finish(ing_doc *d, fd_doc *out);

/* ---- helpers ------------------------------------------------------------ */

/* Copies p[0..n) into the arena; NULL sets *rc (if not already set). */
char *ing_strndup(fd_arena *a, const char *p, size_t n, int *rc);
/* Whitespace collapsed and trimmed, into the arena. */
char *ing_collapse(fd_arena *a, const char *p, size_t n, int *rc);
/* Turns an arena/builder failure code into an error naming the file. */
int ing_fail(fd_err *err, int rc, const char *path);

const char *ing_basename(const char *path);
/* The file name without its last extension, into the arena. */
char *ing_stem(fd_arena *a, const char *path, int *rc);
size_t ing_utf8_chars(const char *p, size_t n);

static inline int ing_is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Decodes the HTML entity at p[0] == '&' ("&amp;", "&#233;", "&#xE9;")
 * into out as UTF-8; returns the bytes consumed, 0 if it is not one. */
size_t ing_entity(const char *p, size_t n, char out[4], size_t *out_len);

#endif
