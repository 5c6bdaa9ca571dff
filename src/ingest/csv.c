/* csv.c: one document per CSV row (RFC 4180: quoted fields, "" escapes,
 * CRLF, newlines inside quotes; the separator sniffed from the header row:
 * a comma, or the semicolon of spreadsheets in French, German and most
 * European locales (where the comma is the decimal mark), or a tab). The text is "Column: value"
 * lines so a question like "unit price of PB-1203" finds both the name and the value. A row with
 * the wrong field count is skipped and counted, not fatal. */
#include "ingest_int.h"
#include "text.h"

#include <string.h>
#include <strings.h>

/* One parsed record: fields as NUL-terminated strings inside bytes, by
 * offset (bytes may move when it grows). fd_malloc'd, reused per row. */
typedef struct record {
    fd_buf bytes;
    size_t *off;
    size_t n, cap;
    int unterminated; /* a quote ran to the end of the file: the record is its first line */
    char sep;         /* ',', ';' or '\t' (sniff_sep) */
} record;

typedef struct csv {
    const ing_src *s;
    record hdr; /* the header row, kept for the whole file */
    record row;
    int id_col;    /* column giving the key, -1 = use the row number */
    int title_col; /* column giving the title */
    int products;  /* products.csv: tag "product", else the file stem */
    size_t line;   /* line where the current record starts, 1-based */
} csv;

static const char *field(const record *r, size_t i)
{
    return r->bytes.p + r->off[i];
}

static int end_field(record *r)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        size_t *off = fd_realloc(r->off, cap * sizeof *off);
        if (!off)
            return FD_ENOMEM;
        r->off = off;
        r->cap = cap;
    }
    r->off[r->n] = r->bytes.len; /* start of the next field, fixed below */
    r->n++;
    return fd_buf_putc(&r->bytes, '\0');
}

/* Parses one field at *pos into r's bytes (unterminated), per RFC 4180,
 * tolerating text after a closing quote. */
static int parse_field(record *r, const char *p, size_t len, size_t *pos)
{
    size_t i = *pos;
    int rc = FD_OK;
    if (i < len && p[i] == '"') {
        for (i++;; i++) {
            if (i >= len) {
                r->unterminated = 1;
                break;
            }
            if (p[i] == '"') {
                if (i + 1 < len && p[i + 1] == '"') {
                    i++;
                } else {
                    i++;
                    break;
                }
            }
            rc = fd_buf_putc(&r->bytes, p[i]);
            if (rc)
                return rc;
        }
    }
    size_t j = i;
    while (j < len && p[j] != r->sep && p[j] != '\n' && p[j] != '\r')
        j++;
    if (j > i)
        rc = fd_buf_append(&r->bytes, p + i, j - i);
    *pos = j;
    return rc;
}

/* Parses the record at *pos; 0 at the end of input. Counts lines in
 * *line for messages. */
static int next_record(record *r, const char *p, size_t len, size_t *pos, size_t *line, int *rc)
{
    fd_buf_reset(&r->bytes);
    r->n = 0;
    r->unterminated = 0;
    if (*pos >= len)
        return 0;
    size_t start = *pos;
    for (;;) {
        size_t field_start = r->bytes.len;
        *rc = parse_field(r, p, len, pos);
        if (!*rc)
            *rc = end_field(r);
        if (*rc)
            return 0;
        r->off[r->n - 1] = field_start;
        if (*pos < len && p[*pos] == r->sep) {
            (*pos)++;
            continue;
        }
        break;
    }
    if (r->unterminated) {
        /* A stray quote would swallow every row after it: the bad record
         * is its first line only, and reading resumes on the next one. */
        const char *nl = memchr(p + start, '\n', len - start);
        *pos = nl ? (size_t)(nl - p) + 1 : len;
        *line += nl != NULL;
        return 1;
    }
    for (size_t i = start; i < *pos; i++)
        *line += p[i] == '\n';
    if (*pos < len && p[*pos] == '\r')
        (*pos)++;
    if (*pos < len && p[*pos] == '\n') {
        (*pos)++;
        (*line)++;
    }
    return 1;
}

/* The separator of the first non-blank line: whichever of ',' ';' and
 * tab it holds most often outside quotes; a comma when none (one column)
 * or on a tie. A ";"-separated export ("Prix;22,50") read with commas
 * split every price in two and lost every row (wrong number of fields). */
static char sniff_sep(const char *p, size_t len)
{
    size_t i = 0, n[3] = {0, 0, 0};
    while (i < len && (p[i] == '\n' || p[i] == '\r' || p[i] == ' ' || p[i] == '\t'))
        i++;
    int quoted = 0;
    for (; i < len && (quoted || (p[i] != '\n' && p[i] != '\r')); i++) {
        if (p[i] == '"')
            quoted = !quoted;
        else if (!quoted && p[i] == ',')
            n[0]++;
        else if (!quoted && p[i] == ';')
            n[1]++;
        else if (!quoted && p[i] == '\t')
            n[2]++;
    }
    if (n[1] > n[0] && n[1] >= n[2])
        return ';';
    return n[2] > n[0] ? '\t' : ',';
}

static void record_free(record *r)
{
    fd_buf_free(&r->bytes);
    FD_FREE(r->off);
}

static int blank_record(const record *r)
{
    return r->n == 1 && !r->unterminated && field(r, 0)[0] == '\0';
}

/* Trimmed view of a field. */
static fd_str trimmed(const char *f)
{
    size_t n = strlen(f);
    while (n && ing_is_ws((unsigned char)*f)) {
        f++;
        n--;
    }
    while (n && ing_is_ws((unsigned char)f[n - 1]))
        n--;
    return (fd_str){f, n};
}

/* The first column whose header is one of names, in names' order. */
static int find_col(const record *hdr, const char *const *names, size_t n_names)
{
    for (size_t k = 0; k < n_names; k++)
        for (size_t i = 0; i < hdr->n; i++) {
            fd_str h = trimmed(field(hdr, i));
            if (h.len == strlen(names[k]) && strncasecmp(h.p, names[k], h.len) == 0)
                return (int)i;
        }
    return -1;
}

static int row_doc(csv *c, size_t row_no)
{
    const ing_src *s = c->s;
    ing_doc d;
    ing_init(&d, s->a);
    for (size_t i = 0; i < c->hdr.n; i++) {
        fd_str v = trimmed(field(&c->row, i));
        if (!v.len)
            continue; /* "Colour: " says nothing */
        fd_str h = trimmed(field(&c->hdr, i));
        ing_break(&d, 1);
        ing_text(&d, h.p, h.len);
        ing_text(&d, ": ", 2);
        ing_text(&d, v.p, v.len);
    }
    fd_doc doc = {.tag = "product"};
    int rc = ing_finish(&d, &doc);
    /* Per row, not per file: the callback may reset the arena. */
    if (!rc && !c->products)
        doc.tag = ing_stem(s->a, s->path, &rc);
    fd_str id = c->id_col >= 0 ? trimmed(field(&c->row, (size_t)c->id_col)) : (fd_str){"", 0};
    if (!rc && id.len)
        doc.key = fd_arena_printf(s->a, "%s#%.*s", s->path, (int)id.len, id.p);
    else if (!rc)
        doc.key = fd_arena_printf(s->a, "%s#%zu", s->path, row_no);
    if (!rc && !doc.key)
        rc = fd_arena_full(s->a) ? FD_ETOOBIG : FD_ENOMEM;
    if (!rc) {
        fd_str t = trimmed(field(&c->row, (size_t)c->title_col));
        doc.title = t.len ? ing_collapse(s->a, t.p, t.len, &rc) : doc.key;
        doc.source = s->path;
    }
    ing_free(&d);
    if (rc)
        return ing_fail(s->err, rc, s->path);
    return s->cb(s->ctx, &doc);
}

static void bad_row(csv *c, size_t line, const char *why)
{
    if (*c->s->n_bad == 0)
        fd_err_set(c->s->err, FD_EINVAL, "%s: line %zu: %s (%zu fields, header has %zu)",
                   c->s->path, line, why, c->row.n, c->hdr.n);
    (*c->s->n_bad)++;
}

static int rows(csv *c, size_t pos, size_t *n_good)
{
    const ing_src *s = c->s;
    size_t row_no = 0;
    int rc = FD_OK;
    for (;;) {
        size_t line = c->line; /* where this record starts */
        if (!next_record(&c->row, s->p, s->len, &pos, &c->line, &rc))
            return rc ? ing_fail(s->err, rc, s->path) : FD_OK;
        if (blank_record(&c->row))
            continue;
        /* Bad rows keep their number, so later keys do not shift when
         * one of them is fixed. */
        row_no++;
        if (c->row.unterminated) {
            bad_row(c, line, "unterminated quote");
        } else if (c->row.n != c->hdr.n) {
            bad_row(c, line, "wrong number of fields");
        } else {
            rc = row_doc(c, row_no);
            if (rc)
                return rc;
            (*n_good)++;
        }
    }
}

int ing_load_csv(const ing_src *s)
{
    static const char *const id_names[] = {"id", "code", "sku"};
    static const char *const title_names[] = {"name", "title", "product"};
    csv c = {.s = s, .line = 1};
    fd_buf_init(&c.hdr.bytes, 0);
    fd_buf_init(&c.row.bytes, 0);
    c.hdr.sep = c.row.sep = sniff_sep(s->p, s->len);
    size_t pos = 0, n_good = 0;
    int rc = FD_OK;
    /* The header is the first non-blank record. */
    do {
        if (!next_record(&c.hdr, s->p, s->len, &pos, &c.line, &rc))
            break;
    } while (blank_record(&c.hdr));
    if (rc) {
        rc = ing_fail(s->err, rc, s->path);
    } else if (c.hdr.unterminated || c.hdr.n == 0) {
        rc = fd_err_set(s->err, FD_EINVAL, "%s: line 1: unreadable header row", s->path);
    } else {
        c.id_col = find_col(&c.hdr, id_names, 3);
        c.title_col = find_col(&c.hdr, title_names, 3);
        if (c.title_col < 0)
            c.title_col = 0;
        c.products = strcasecmp(ing_basename(s->path), "products.csv") == 0;
        rc = rows(&c, pos, &n_good);
    }
    if (!rc && n_good == 0 && *s->n_bad > 0)
        rc = FD_EINVAL; /* err already holds the first bad row's reason */
    record_free(&c.hdr);
    record_free(&c.row);
    return rc;
}

/* ---- a whole table, for callers that want fields, not documents ---------- */

static char *arena_field(fd_arena *a, const char *f)
{
    fd_str t = trimmed(f);
    return fd_arena_strndup(a, t.p, t.len);
}

int fd_csv_parse(const char *p, size_t len, fd_arena *a, fd_csv *out, fd_err *err)
{
    memset(out, 0, sizeof *out);
    size_t bad;
    if (!fd_utf8_valid(p, len, &bad))
        return fd_err_set(err, FD_EUTF8, "not UTF-8 (byte %zu)", bad);
    if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) {
        p += 3;
        len -= 3;
    }
    record r = {0};
    fd_buf_init(&r.bytes, 0);
    r.sep = sniff_sep(p, len);
    size_t pos = 0, line = 1, cap = 0;
    int rc = FD_OK;
    for (;;) {
        size_t at = line;
        if (!next_record(&r, p, len, &pos, &line, &rc)) {
            if (rc)
                fd_err_set(err, rc, "line %zu: out of memory", at);
            break;
        }
        if (blank_record(&r))
            continue;
        if (!out->head) {
            if (r.unterminated) {
                rc = fd_err_set(err, FD_EINVAL, "line %zu: unreadable header row", at);
                break;
            }
            out->head = fd_arena_calloc(a, r.n, sizeof *out->head);
            for (size_t i = 0; out->head && i < r.n; i++)
                if (!(out->head[i] = arena_field(a, field(&r, i))))
                    out->head = NULL;
            if (!out->head) {
                rc = fd_err_set(err, FD_ENOMEM, "out of memory");
                break;
            }
            out->n_cols = r.n;
            continue;
        }
        if (r.unterminated || r.n != out->n_cols) {
            if (!out->n_bad++)
                out->first_bad_line = at;
            continue;
        }
        if (out->n_rows == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            const char ***v = fd_arena_alloc(a, ncap * sizeof *v);
            if (!v) {
                rc = fd_err_set(err, FD_ENOMEM, "out of memory");
                break;
            }
            if (out->n_rows)
                memcpy(v, out->rows, out->n_rows * sizeof *v);
            out->rows = v;
            cap = ncap;
        }
        const char **row = fd_arena_calloc(a, r.n, sizeof *row);
        for (size_t i = 0; row && i < r.n; i++)
            if (!(row[i] = arena_field(a, field(&r, i))))
                row = NULL;
        if (!row) {
            rc = fd_err_set(err, FD_ENOMEM, "out of memory");
            break;
        }
        out->rows[out->n_rows++] = row;
    }
    if (!rc && !out->head)
        rc = fd_err_set(err, FD_EINVAL, "empty file: no header row");
    record_free(&r);
    return rc;
}

int fd_csv_col(const fd_csv *t, const char *name)
{
    for (size_t i = 0; t && name && i < t->n_cols; i++)
        if (strcasecmp(t->head[i], name) == 0)
            return (int)i;
    return -1;
}
