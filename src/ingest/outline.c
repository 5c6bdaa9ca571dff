/* outline.c: the binary formats' common half. A reader (pdf.c, docx.c)
 * turns the file into an outline (ingest_int.h); this file checks it and
 * builds the document from it with the same builder as every text loader,
 * so a PDF's or DOCX's sections, paragraphs and lines reach chunking and
 * answers the way a Markdown file's do. */
#include "ingest_int.h"
#include "text.h"

#include <string.h>

/* The outline of one file; past this a file is refused whole (FD_ETOOBIG),
 * never cut: half a price list answers wrongly. 64 MiB of text is ~10,000
 * pages, far past what a company's policy or price list holds. */
#define OUTLINE_MAX ((size_t)64 << 20)

int ing_outline_put(fd_buf *out, const char *kind, const char *p, size_t n)
{
    size_t i = 0, j = n;
    while (i < j && ing_is_ws((unsigned char)p[i]))
        i++;
    while (j > i && ing_is_ws((unsigned char)p[j - 1]))
        j--;
    if (i == j)
        return FD_OK;
    int rc = fd_buf_append(out, kind, strlen(kind));
    if (!rc)
        rc = fd_buf_putc(out, ' ');
    /* Controls (line breaks, tabs, form feeds) would end the record or
     * read as layout: one space each, runs collapsed by the builder. */
    for (size_t k = i; !rc && k < j; k++) {
        unsigned char c = (unsigned char)p[k];
        rc = fd_buf_putc(out, c < 0x20 || c == 0x7f ? ' ' : (char)c);
    }
    if (!rc)
        rc = fd_buf_putc(out, '\n');
    return rc;
}

static int has_digit(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] >= '0' && p[i] <= '9')
            return 1;
    return 0;
}

/* Whether a table's first row (txt) names its columns, when the reader
 * could not tell: it holds no digit while a later row of the same table
 * (records from `next` on) does ("Service | Price" over "Standard | 4.95").
 * Answers read a row through its header ("Standard: Price 4.95"), so a
 * data row taken for a header would lose a row and mislabel the others. */
static int looks_like_header(const ing_src *s, const char *txt, size_t tn, size_t next)
{
    if (has_digit(txt, tn))
        return 0;
    while (next < s->len && s->p[next] == 'R') {
        const char *nl = memchr(s->p + next, '\n', s->len - next);
        size_t end = nl ? (size_t)(nl - s->p) : s->len;
        if (has_digit(s->p + next, end - next))
            return 1;
        next = end + 1;
    }
    return 0;
}

/* A row as the Markdown loader keeps one ("| a | b |"), so the composer
 * reads it the same way whatever file it came from. */
static void row(ing_doc *d, const char *txt, size_t tn)
{
    fd_buf b;
    fd_buf_init(&b, 0);
    int rc = fd_buf_append(&b, "| ", 2);
    if (!rc)
        rc = fd_buf_append(&b, txt, tn);
    if (!rc)
        rc = fd_buf_append(&b, " |", 2);
    if (rc && !d->rc)
        d->rc = rc;
    else
        ing_text(d, b.p, b.len);
    fd_buf_free(&b);
}

/* Builds one document from the outline in s->p (valid UTF-8). */
static int load_outline(const ing_src *s)
{
    ing_doc d;
    ing_init(&d, s->a);
    fd_doc doc = {.tag = ""};
    const char *title = NULL;
    size_t title_len = 0;
    char prev = 0; /* the previous record's kind */
    for (size_t i = 0; i < s->len;) {
        const char *nl = memchr(s->p + i, '\n', s->len - i);
        size_t end = nl ? (size_t)(nl - s->p) : s->len;
        const char *rec = s->p + i;
        size_t n = end - i;
        i = end + 1;
        const char *sp = memchr(rec, ' ', n);
        if (!sp)
            continue;
        const char *txt = sp + 1;
        size_t tn = n - (size_t)(txt - rec);
        switch (rec[0]) {
        case 'T':
            title = txt;
            title_len = tn;
            break;
        case 'H': {
            int level = sp - rec == 2 && rec[1] >= '1' && rec[1] <= '6' ? rec[1] - '0' : 1;
            ing_heading(&d, level, txt, tn);
            break;
        }
        case 'P':
            ing_break(&d, 2);
            ing_text(&d, txt, tn);
            break;
        case 'L':
            /* A list is its own paragraph; its items one a line. */
            ing_break(&d, prev == 'L' ? 1 : 2);
            ing_text(&d, txt, tn);
            break;
        case 'R':
            if (prev != 'R') {
                /* A table without a header row gets a blank one, so its
                 * first row is read as data, not as column names. */
                ing_break(&d, 2);
                if (rec[1] != 'h' && !looks_like_header(s, txt, tn, i)) {
                    ing_text(&d, "| |", 3);
                    ing_break(&d, 1);
                }
            } else {
                ing_break(&d, 1);
            }
            row(&d, txt, tn);
            break;
        default:
            continue;
        }
        prev = rec[0];
    }
    int rc = ing_finish(&d, &doc);
    if (!rc && doc.n_sections == 0)
        rc = FD_EINVAL;
    if (!rc) {
        doc.key = ing_strndup(s->a, s->path, strlen(s->path), &rc);
        doc.source = doc.key;
        const char *t = title ? ing_collapse(s->a, title, title_len, &rc) : NULL;
        if (t && *t)
            doc.title = t;
        else if (d.first_h1)
            doc.title = d.first_h1;
        else
            doc.title = ing_stem(s->a, s->path, &rc);
    }
    ing_free(&d);
    if (rc == FD_EINVAL)
        return fd_err_set(s->err, FD_EINVAL, "%s: no text in it", s->path);
    if (rc)
        return ing_fail(s->err, rc, s->path);
    return s->cb(s->ctx, &doc);
}

int ing_load_binary(const ing_src *s, fd_format fmt)
{
    if (s->len == 0)
        return fd_err_set(s->err, FD_EINVAL, "%s: empty file", s->path);
    fd_buf out;
    fd_buf_init(&out, OUTLINE_MAX);
    int rc = fmt == FD_FMT_PDF ? ing_pdf_outline(s->path, s->p, s->len, &out, s->err)
                               : ing_docx_outline(s->path, s->p, s->len, &out, s->err);
    size_t bad = 0;
    if (!rc && !fd_utf8_valid(out.p ? out.p : "", out.len, &bad))
        rc = fd_err_set(s->err, FD_EUTF8, "%s: the text read from it is not UTF-8 (byte %zu)",
                        s->path, bad);
    int has_text = 0;
    for (size_t i = 0; !rc && i < out.len && !has_text; i++)
        has_text = out.p[i] != 'T' && (i == 0 || out.p[i - 1] == '\n');
    if (!rc && !has_text)
        rc = fd_err_set(s->err, FD_EINVAL,
                        fmt == FD_FMT_PDF
                            ? "%s: no text in this PDF (a scanned document needs OCR first)"
                            : "%s: no text in this document",
                        s->path);
    if (!rc) {
        ing_src o = *s;
        o.p = out.p;
        o.len = out.len;
        rc = load_outline(&o);
    }
    fd_buf_free(&out);
    return rc;
}
