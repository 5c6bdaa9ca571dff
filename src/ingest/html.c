/* html.c: HTML to plain text with h1-h6 as the heading path. A tolerant
 * hand-written scanner (no DOM, no libxml2): tags only matter for what they
 * drop (script, style, head), break (block elements) or start (headings);
 * malformed markup degrades to text rather than failing the file. A table
 * keeps its rows as Markdown rows ("| Gold service | £150 | 1 day |"), so
 * an answer reads a value with its column's name, as from a Markdown
 * table; a table with no <th> row gets a blank header row ("| |"), so its
 * first row stays data. */
#include "ingest_int.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

typedef struct html {
    ing_doc d;
    fd_buf title; /* <title> text */
    fd_buf head;  /* the open heading's text */
    int in_title, in_head, in_pre;
    int level;   /* open heading level, 0 = none */
    int tables;  /* open <table> elements; rows are kept only at depth 1 */
    int in_row;  /* a <tr> of the outer table is open */
    int in_cell; /* a cell of it is open */
    int rows;    /* rows started in the outer table */
    int rc;      /* scratch buffer failure */
} html;

static void buf_add(html *h, fd_buf *b, const char *p, size_t n)
{
    int rc = fd_buf_append(b, p, n);
    if (rc && !h->rc)
        h->rc = rc;
}

static void text(html *h, const char *p, size_t n)
{
    if (h->in_title) {
        buf_add(h, &h->title, p, n);
    } else if (h->level) {
        buf_add(h, &h->head, p, n);
    } else if (h->in_head) {
        /* <head> holds no body text; a stray character is dropped */
    } else if (h->in_pre) {
        /* Preformatted: keep the lines, collapse within them. */
        size_t i = 0;
        while (i < n) {
            const char *nl = memchr(p + i, '\n', n - i);
            size_t e = nl ? (size_t)(nl - p) : n;
            ing_text(&h->d, p + i, e - i);
            if (nl)
                ing_break(&h->d, 1);
            i = e + 1;
        }
    } else {
        ing_text(&h->d, p, n);
    }
}

static void end_heading(html *h)
{
    if (!h->level)
        return;
    ing_heading(&h->d, h->level, h->head.p ? h->head.p : "", h->head.len);
    ing_break(&h->d, 2);
    fd_buf_reset(&h->head);
    h->level = 0;
}

/* Elements that end a line (1) or a paragraph (2). */
static int block_break(const char *name)
{
    static const char *const para[] = {
        "p",      "div",  "section", "article",  "header",     "footer", "nav",
        "aside",  "main", "table",   "ul",       "ol",         "dl",     "form",
        "figure", "hr",   "address", "fieldset", "blockquote", "pre",    "body",
    };
    static const char *const line[] = {"li", "br",         "tr",      "dt",
                                       "dd", "figcaption", "caption", "option"};
    for (size_t i = 0; i < sizeof para / sizeof para[0]; i++)
        if (strcmp(name, para[i]) == 0)
            return 2;
    for (size_t i = 0; i < sizeof line / sizeof line[0]; i++)
        if (strcmp(name, line[i]) == 0)
            return 1;
    return 0;
}

/* Index just past the '>' closing the tag that starts at i, skipping
 * quoted attribute values; n when the tag never closes. */
static size_t tag_end(const char *p, size_t n, size_t i)
{
    char quote = 0;
    for (; i < n; i++) {
        if (quote) {
            if (p[i] == quote)
                quote = 0;
        } else if (p[i] == '"' || p[i] == '\'') {
            quote = p[i];
        } else if (p[i] == '>') {
            return i + 1;
        }
    }
    return n;
}

/* Past "</name ...>" from i, or n: the content of script and style is
 * not HTML, so only its own end tag ends it. */
static size_t skip_raw(const char *p, size_t n, size_t i, const char *name)
{
    size_t k = strlen(name);
    for (; i + 2 + k <= n; i++) {
        if (p[i] == '<' && p[i + 1] == '/' && strncasecmp(p + i + 2, name, k) == 0)
            return tag_end(p, n, i);
    }
    return n;
}

/* Closes the open cell ("... |"), and the row when row is set. */
static void end_cell(html *h, int row)
{
    if (h->in_cell) {
        ing_space(&h->d);
        ing_text(&h->d, "|", 1);
        h->in_cell = 0;
    }
    if (row && h->in_row) {
        h->in_row = 0;
        ing_break(&h->d, 1);
    }
}

/* Table markup of the outer table: 1 when the tag was handled here. */
static int on_table_tag(html *h, const char *name, int closing)
{
    if (strcmp(name, "table") == 0) {
        if (!closing && h->tables++ == 0) {
            h->rows = 0;
            ing_break(&h->d, 2);
        } else if (closing && h->tables > 0 && --h->tables == 0) {
            end_cell(h, 1);
            ing_break(&h->d, 2);
        }
        return 1;
    }
    if (h->tables != 1)
        return 0; /* nested tables read as text */
    if (strcmp(name, "tr") == 0) {
        end_cell(h, 1);
        return 1;
    }
    int th = strcmp(name, "th") == 0;
    if (!th && strcmp(name, "td") != 0)
        return 0;
    if (closing) {
        end_cell(h, 0);
        return 1;
    }
    end_cell(h, 0);
    if (!h->in_row) {
        /* The row starts at its first cell: a first row of data cells
         * gets a blank header above it. */
        ing_break(&h->d, 1);
        if (h->rows++ == 0 && !th) {
            ing_text(&h->d, "| |", 3);
            ing_break(&h->d, 1);
        }
        ing_text(&h->d, "|", 1);
        h->in_row = 1;
    }
    ing_space(&h->d);
    h->in_cell = 1;
    return 1;
}

static void on_tag(html *h, const char *name, int closing)
{
    if (strcmp(name, "head") == 0) {
        h->in_head = !closing;
        return;
    }
    if (strcmp(name, "title") == 0) {
        h->in_title = !closing;
        return;
    }
    int hlevel = name[0] == 'h' && name[1] >= '1' && name[1] <= '6' && !name[2] ? name[1] - '0' : 0;
    int brk = hlevel ? 2 : block_break(name);
    if (brk)
        h->in_head = 0; /* body content: the </head> was missing */
    if (hlevel) {
        end_heading(h);
        if (!closing)
            h->level = hlevel;
        return;
    }
    if (strcmp(name, "pre") == 0)
        h->in_pre = !closing;
    if (on_table_tag(h, name, closing))
        return;
    if (brk && h->in_cell)
        ing_space(&h->d); /* a <p> or <br> in a cell: the row stays one line */
    else if (brk)
        ing_break(&h->d, brk);
    else if (strcmp(name, "td") == 0 || strcmp(name, "th") == 0)
        ing_space(&h->d);
}

/* The markup starting at p[i] == '<'; returns where scanning resumes. */
static size_t markup(html *h, const char *p, size_t n, size_t i)
{
    if (n - i >= 4 && memcmp(p + i, "<!--", 4) == 0) {
        const char *e = memmem(p + i + 4, n - i - 4, "-->", 3);
        return e ? (size_t)(e - p) + 3 : n;
    }
    if (i + 1 < n && (p[i + 1] == '!' || p[i + 1] == '?'))
        return tag_end(p, n, i);
    int closing = i + 1 < n && p[i + 1] == '/';
    size_t j = i + 1 + (size_t)closing;
    if (j >= n || !isalpha((unsigned char)p[j])) {
        text(h, "<", 1);
        return i + 1;
    }
    char name[16];
    size_t k = 0;
    for (; j < n && isalnum((unsigned char)p[j]); j++)
        if (k + 1 < sizeof name)
            name[k++] = (char)tolower((unsigned char)p[j]);
    name[k] = '\0';
    size_t end = tag_end(p, n, j);
    if (!closing && (strcmp(name, "script") == 0 || strcmp(name, "style") == 0 ||
                     strcmp(name, "template") == 0))
        return skip_raw(p, n, end, name);
    on_tag(h, name, closing);
    return end;
}

static void scan(html *h, const char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (p[i] == '<') {
            i = markup(h, p, n, i);
            continue;
        }
        if (p[i] == '&') {
            char ent[4];
            size_t elen = 0, used = ing_entity(p + i, n - i, ent, &elen);
            text(h, used ? ent : "&", used ? elen : 1);
            i += used ? used : 1;
            continue;
        }
        size_t j = i;
        while (j < n && p[j] != '<' && p[j] != '&')
            j++;
        text(h, p + i, j - i);
        i = j;
    }
    end_heading(h); /* an unclosed heading still names its section */
    end_cell(h, 1); /* an unclosed table keeps its last row */
}

int ing_load_html(const ing_src *s)
{
    html h = {0};
    ing_init(&h.d, s->a);
    fd_buf_init(&h.title, 0);
    fd_buf_init(&h.head, 0);
    scan(&h, s->p, s->len);
    fd_doc doc = {.tag = ""};
    int rc = h.rc ? h.rc : ing_finish(&h.d, &doc);
    if (!rc) {
        doc.key = ing_strndup(s->a, s->path, strlen(s->path), &rc);
        doc.source = doc.key;
        const char *t = ing_collapse(s->a, h.title.p ? h.title.p : "", h.title.len, &rc);
        if (t && *t)
            doc.title = t;
        else if (h.d.first_h1)
            doc.title = h.d.first_h1;
        else
            doc.title = ing_stem(s->a, s->path, &rc);
    }
    fd_buf_free(&h.title);
    fd_buf_free(&h.head);
    ing_free(&h.d);
    if (rc)
        return ing_fail(s->err, rc, s->path);
    return s->cb(s->ctx, &doc);
}
