/* ingest.c: the entry points: format by extension, the checks every file
 * gets (BOM, UTF-8, empty) before its loader runs, the plain-text loader,
 * and the content hash used to skip unchanged documents on re-ingest. */
#include "ingest_int.h"
#include "text.h"

#include <string.h>
#include <strings.h>

fd_format fd_ingest_format(const char *path)
{
    static const struct {
        const char *ext;
        fd_format fmt;
    } exts[] = {
        {"md", FD_FMT_MARKDOWN}, {"markdown", FD_FMT_MARKDOWN}, {"txt", FD_FMT_TEXT},
        {"html", FD_FMT_HTML},   {"htm", FD_FMT_HTML},          {"csv", FD_FMT_CSV},
        {"jsonl", FD_FMT_JSONL}, {"pdf", FD_FMT_PDF},           {"docx", FD_FMT_DOCX},
    };
    if (!path)
        return FD_FMT_UNKNOWN;
    const char *base = ing_basename(path);
    const char *dot = strrchr(base, '.');
    if (!dot || dot == base)
        return FD_FMT_UNKNOWN;
    for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++)
        if (strcasecmp(dot + 1, exts[i].ext) == 0)
            return exts[i].fmt;
    return FD_FMT_UNKNOWN;
}

int fd_ingest_parse(const char *path, fd_format fmt, const char *p, size_t len, fd_arena *a,
                    int (*cb)(void *ctx, const fd_doc *doc), void *ctx, size_t *n_bad, fd_err *err)
{
    size_t bad_local = 0;
    ing_src s = {.path = path ? path : "",
                 .p = p,
                 .len = len,
                 .a = a,
                 .cb = cb,
                 .ctx = ctx,
                 .n_bad = n_bad ? n_bad : &bad_local,
                 .err = err};
    *s.n_bad = 0;
    if (fd_format_is_binary(fmt))
        return ing_load_binary(&s, fmt);
    size_t bom = len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
    size_t bad_at = 0;
    if (!fd_utf8_valid(p + bom, len - bom, &bad_at))
        return fd_err_set(err, FD_EUTF8, "%s: invalid UTF-8 at byte %zu", s.path, bad_at + bom);
    s.p = p + bom;
    s.len = len - bom;
    size_t i = 0;
    while (i < s.len && ing_is_ws((unsigned char)s.p[i]))
        i++;
    if (i == s.len)
        return fd_err_set(err, FD_EINVAL, "%s: empty file", s.path);
    switch (fmt) {
    case FD_FMT_MARKDOWN:
        return ing_load_markdown(&s);
    case FD_FMT_TEXT:
        return ing_load_text(&s);
    case FD_FMT_HTML:
        return ing_load_html(&s);
    case FD_FMT_CSV:
        return ing_load_csv(&s);
    case FD_FMT_JSONL:
        return ing_load_jsonl(&s);
    default:
        return fd_err_set(err, FD_EINVAL, "%s: unknown file format", s.path);
    }
}

/* Titles longer than this are prose, not a title line. */
#define TEXT_TITLE_MAX_CHARS 100

int ing_load_text(const ing_src *s)
{
    ing_doc d;
    ing_init(&d, s->a);
    fd_doc doc = {.tag = ""};
    ing_plain(&d, s->p, s->len);
    int rc = ing_finish(&d, &doc);
    if (!rc) {
        /* The builder already trimmed: the first line of the text is the
         * file's first non-blank line. */
        const char *t = doc.n_sections ? doc.sections[0].text : "";
        const char *nl = strchr(t, '\n');
        size_t n = nl ? (size_t)(nl - t) : strlen(t);
        if (n && ing_utf8_chars(t, n) < TEXT_TITLE_MAX_CHARS)
            doc.title = ing_strndup(s->a, t, n, &rc);
        else
            doc.title = ing_stem(s->a, s->path, &rc);
        doc.key = ing_strndup(s->a, s->path, strlen(s->path), &rc);
        doc.source = doc.key;
    }
    ing_free(&d);
    if (rc)
        return ing_fail(s->err, rc, s->path);
    return s->cb(s->ctx, &doc);
}

/* ---- content hash -------------------------------------------------------
 * Each field is hashed alone and chained as H(prev || kind || H(field)):
 * no allocation (the hash cannot fail), and field boundaries are part of
 * the input, so "ab"+"c" and "a"+"bc" differ. */

static void chain(char acc[65], char kind, const char *p)
{
    char part[65];
    fd_sha256_hex(p ? p : "", p ? strlen(p) : 0, part);
    char buf[64 + 1 + 64];
    memcpy(buf, acc, 64);
    buf[64] = kind;
    memcpy(buf + 65, part, 64);
    fd_sha256_hex(buf, sizeof buf, acc);
}

void fd_ingest_doc_hash(const fd_doc *doc, char out[65])
{
    fd_sha256_hex("frontdesk-doc-v1", 16, out);
    chain(out, 'T', doc->title);
    chain(out, 'G', doc->tag);
    for (size_t i = 0; i < doc->n_sections; i++) {
        chain(out, 'H', doc->sections[i].heading);
        chain(out, 'X', doc->sections[i].text);
    }
}
