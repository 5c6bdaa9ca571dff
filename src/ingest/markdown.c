/* markdown.c: Markdown to plain text with the heading path as section.
 * A line-based subset of CommonMark, tolerant of anything else: front
 * matter, ATX and setext headings, fences, lists, quotes and tables; inline
 * markup is stripped so the stored text reads (and quotes) as prose. */
#include "ingest_int.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

enum { PREV_NONE, PREV_PROSE, PREV_LINE };

typedef struct md {
    ing_doc d;
    fd_buf tmp;   /* one line after inline stripping */
    int in_fence; /* inside ``` or ~~~ */
    char fence_ch;
    size_t fence_len;
    int in_comment; /* inside a multi-line <!-- --> */
    int prev;       /* PREV_*: how the next line joins the previous one */
    const char *fm_title;
    const char *fm_tag;
} md;

/* ---- inline markup -------------------------------------------------------- */

#define MAX_LINK_DEPTH 4

static int is_word_byte(unsigned char c)
{
    return isalnum(c) || c >= 0x80;
}

static size_t run_len(const char *p, size_t n, size_t i, char c)
{
    size_t k = 0;
    while (i + k < n && p[i + k] == c)
        k++;
    return k;
}

/* Start of the next run of exactly k backticks at or after i, or n. */
static size_t find_ticks(const char *p, size_t n, size_t i, size_t k)
{
    while (i < n) {
        size_t r = run_len(p, n, i, '`');
        if (r == k)
            return i;
        i += r ? r : 1;
    }
    return n;
}

/* "[text](url)" or "[text][ref]" at p[i] == '['. */
static int link_at(const char *p, size_t n, size_t i, size_t *text_end, size_t *end)
{
    int depth = 0;
    size_t j = i;
    for (; j < n; j++) {
        if (p[j] == '\\') {
            j++;
        } else if (p[j] == '[') {
            depth++;
        } else if (p[j] == ']' && --depth == 0) {
            break;
        }
    }
    if (j + 1 >= n)
        return 0;
    *text_end = j;
    char open = p[j + 1], close = open == '(' ? ')' : ']';
    if (open != '(' && open != '[')
        return 0;
    int nest = 0;
    for (j++; j < n; j++) {
        if (p[j] == open && open == '(')
            nest++;
        else if (p[j] == close && (open == '[' || --nest == 0)) {
            *end = j + 1;
            return 1;
        }
    }
    return 0;
}

/* "<https://x>" keeps the URL; "<b>", "</p>", "<!-- x -->" are dropped;
 * anything else is a literal '<'. Returns the end, 0 for literal. */
static size_t angle_at(const char *p, size_t n, size_t i, size_t *keep_len)
{
    const char *gt = memchr(p + i, '>', n - i);
    if (!gt || gt == p + i + 1)
        return 0;
    const char *in = p + i + 1;
    size_t len = (size_t)(gt - in);
    *keep_len = 0;
    if (isalpha((unsigned char)in[0]) && !memchr(in, ' ', len) &&
        (memmem(in, len, "://", 3) || memchr(in, '@', len))) {
        *keep_len = len;
        return (size_t)(gt - p) + 1;
    }
    if (isalpha((unsigned char)in[0]) || in[0] == '/' || in[0] == '!')
        return (size_t)(gt - p) + 1;
    return 0;
}

static int special(char c)
{
    return c == '\\' || c == '`' || c == '*' || c == '_' || c == '~' || c == '!' || c == '[' ||
           c == '<' || c == '&';
}

/* One special character at p[*i]: appends what it stands for, advances. */
static int inline_special(fd_buf *out, const char *p, size_t n, size_t *i, int depth);

static int strip_inline(fd_buf *out, const char *p, size_t n, int depth)
{
    int rc = FD_OK;
    size_t i = 0;
    while (i < n && !rc) {
        size_t j = i;
        while (j < n && !special(p[j]))
            j++;
        if (j > i)
            rc = fd_buf_append(out, p + i, j - i);
        i = j;
        if (i < n && !rc)
            rc = inline_special(out, p, n, &i, depth);
    }
    return rc;
}

static int inline_special(fd_buf *out, const char *p, size_t n, size_t *i, int depth)
{
    size_t at = *i, a, b;
    char c = p[at];
    char prev = at ? p[at - 1] : ' ', next = at + 1 < n ? p[at + 1] : ' ';
    if (c == '\\' && ispunct((unsigned char)next)) {
        *i = at + 2;
        return fd_buf_append(out, p + at + 1, 1);
    }
    if (c == '`') {
        size_t k = run_len(p, n, at, '`');
        size_t close = find_ticks(p, n, at + k, k);
        *i = close < n ? close + k : at + k; /* an unmatched run is dropped */
        return close < n ? fd_buf_append(out, p + at + k, close - at - k) : FD_OK;
    }
    /* Emphasis markers go, unless they are plainly not markup: "5 * 3",
     * "order_id". */
    int lone_star = c == '*' && ing_is_ws((unsigned char)prev) && ing_is_ws((unsigned char)next);
    int inner_us =
        c == '_' && is_word_byte((unsigned char)prev) && is_word_byte((unsigned char)next);
    if ((c == '*' && !lone_star) || (c == '_' && !inner_us) || (c == '~' && next == '~')) {
        *i = at + (c == '~' ? 2 : 1);
        return FD_OK;
    }
    if (c == '!' && next == '[' && link_at(p, n, at + 1, &a, &b)) {
        *i = b; /* images carry no text worth retrieving */
        return FD_OK;
    }
    if (c == '[' && depth < MAX_LINK_DEPTH && link_at(p, n, at, &a, &b)) {
        *i = b;
        return strip_inline(out, p + at + 1, a - at - 1, depth + 1);
    }
    size_t keep = 0, end = c == '<' ? angle_at(p, n, at, &keep) : 0;
    if (end) {
        *i = end;
        return fd_buf_append(out, p + at + 1, keep);
    }
    char ent[4];
    size_t elen = 0, used = c == '&' ? ing_entity(p + at, n - at, ent, &elen) : 0;
    if (used) {
        *i = at + used;
        return fd_buf_append(out, ent, elen);
    }
    *i = at + 1;
    return fd_buf_append(out, p + at, 1);
}

/* ---- block structure ------------------------------------------------------ */

static size_t rtrim(const char *p, size_t n)
{
    while (n && ing_is_ws((unsigned char)p[n - 1]))
        n--;
    return n;
}

/* Leading spaces as columns (tab = 4) and bytes. */
static size_t indent(const char *p, size_t n, size_t *bytes)
{
    size_t col = 0, i = 0;
    for (; i < n && (p[i] == ' ' || p[i] == '\t'); i++)
        col += p[i] == '\t' ? 4 : 1;
    *bytes = i;
    return col;
}

/* A line made of one repeated character (spaces allowed), at least min. */
static int only_char(const char *p, size_t n, char c, size_t min)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == c)
            k++;
        else if (p[i] != ' ' && p[i] != '\t')
            return 0;
    }
    return k >= min;
}

static int is_table_rule(const char *p, size_t n)
{
    int dash = 0, pipe = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '-')
            dash = 1;
        else if (p[i] == '|')
            pipe = 1;
        else if (p[i] != ':' && p[i] != ' ' && p[i] != '\t')
            return 0;
    }
    return dash && pipe;
}

static int is_ref_def(const char *p, size_t n)
{
    if (n < 4 || p[0] != '[' || p[1] == '^')
        return 0;
    const char *close = memchr(p, ']', n);
    return close && (size_t)(close - p) + 1 < n && close[1] == ':';
}

/* "- ", "* ", "+ ", "1. ", "1) ": the marker's length, 0 if none. */
static size_t list_marker(const char *p, size_t n)
{
    if (n >= 2 && (p[0] == '-' || p[0] == '*' || p[0] == '+') && (p[1] == ' ' || p[1] == '\t'))
        return 1;
    size_t i = 0;
    while (i < n && i < 9 && isdigit((unsigned char)p[i]))
        i++;
    if (i && i + 1 < n && (p[i] == '.' || p[i] == ')') && (p[i + 1] == ' ' || p[i + 1] == '\t'))
        return i + 1;
    return 0;
}

static int setext_level(const char *p, size_t n)
{
    size_t b;
    if (indent(p, n, &b) > 3)
        return 0;
    if (only_char(p + b, n - b, '=', 1))
        return 1;
    return only_char(p + b, n - b, '-', 2) ? 2 : 0;
}

static void heading(md *m, int level, const char *p, size_t n)
{
    fd_buf_reset(&m->tmp);
    int rc = strip_inline(&m->tmp, p, n, 0);
    if (rc && !m->d.rc)
        m->d.rc = rc;
    ing_heading(&m->d, level, m->tmp.p ? m->tmp.p : "", m->tmp.len);
    ing_break(&m->d, 2);
    m->prev = PREV_NONE;
}

/* "## Title ##": level and content, or 0 when the line is not a heading. */
static int atx(const char *p, size_t n, const char **hp, size_t *hn)
{
    size_t k = run_len(p, n, 0, '#');
    if (k < 1 || k > 6 || (k < n && p[k] != ' ' && p[k] != '\t'))
        return 0;
    const char *s = p + k;
    size_t len = n - k;
    size_t e = len;
    while (e && s[e - 1] == '#')
        e--;
    if (e == 0 || s[e - 1] == ' ' || s[e - 1] == '\t')
        len = e; /* a closing run of #s, not part of the text */
    *hp = s;
    *hn = len;
    return (int)k;
}

static void text_line(md *m, const char *p, size_t n, int kind)
{
    if (kind == PREV_LINE || m->prev == PREV_LINE)
        ing_break(&m->d, 1);
    else if (m->prev == PREV_PROSE)
        ing_space(&m->d);
    fd_buf_reset(&m->tmp);
    size_t mk = list_marker(p, n);
    int rc = FD_OK;
    if (mk) {
        /* Kept as a plain "- item" line; '*' would otherwise vanish as
         * emphasis. */
        rc = fd_buf_append(&m->tmp, p[0] == '*' || p[0] == '+' ? "-" : p, mk);
        p += mk;
        n -= mk;
        if (!rc)
            rc = fd_buf_putc(&m->tmp, ' ');
    }
    if (!rc)
        rc = strip_inline(&m->tmp, p, n, 0);
    if (rc && !m->d.rc)
        m->d.rc = rc;
    ing_text(&m->d, m->tmp.p ? m->tmp.p : "", m->tmp.len);
    m->prev = kind;
}

static int fence_line(md *m, const char *p, size_t n)
{
    if (!n)
        return 0;
    size_t k = run_len(p, n, 0, p[0]);
    if (k < 3 || (p[0] != '`' && p[0] != '~'))
        return 0;
    if (m->in_fence)
        return p[0] == m->fence_ch && k >= m->fence_len && only_char(p, n, p[0], k);
    if (p[0] == '`' && memchr(p + k, '`', n - k))
        return 0; /* an inline code span, not a fence */
    m->fence_ch = p[0];
    m->fence_len = k;
    return 1;
}

/* Returns 1 when the next line was consumed (a setext underline). */
static int block_line(md *m, const char *p, size_t n, const char *next, size_t next_n)
{
    size_t b;
    size_t col = indent(p, n, &b);
    if (col >= 4 && m->prev == PREV_NONE) {
        ing_break(&m->d, 1); /* indented code: kept verbatim */
        ing_raw(&m->d, p + b, n - b);
        m->prev = PREV_LINE;
        return 0;
    }
    p += b;
    n -= b;
    const char *hp;
    size_t hn;
    int level = atx(p, n, &hp, &hn);
    if (level) {
        heading(m, level, hp, hn);
    } else if (only_char(p, n, '-', 3) || only_char(p, n, '*', 3) || only_char(p, n, '_', 3)) {
        ing_break(&m->d, 2); /* thematic break */
        m->prev = PREV_NONE;
    } else if (is_table_rule(p, n) || is_ref_def(p, n)) {
        /* layout only */
    } else if (m->prev == PREV_NONE && !list_marker(p, n) && next &&
               (level = setext_level(next, next_n))) {
        heading(m, level, p, n);
        return 1;
    } else {
        text_line(m, p, n, list_marker(p, n) || p[0] == '|' ? PREV_LINE : PREV_PROSE);
    }
    return 0;
}

static int line(md *m, const char *p, size_t n, const char *next, size_t next_n)
{
    n = rtrim(p, n);
    if (m->in_fence) {
        size_t b;
        indent(p, n, &b);
        if (fence_line(m, p + b, n - b)) {
            m->in_fence = 0;
            ing_break(&m->d, 2);
        } else {
            ing_break(&m->d, 1);
            ing_raw(&m->d, p, n);
        }
        return 0;
    }
    if (m->in_comment) {
        m->in_comment = !memmem(p, n, "-->", 3);
        return 0;
    }
    /* Block quotes read as their content. */
    size_t b;
    while (indent(p, n, &b) < 4 && b < n && p[b] == '>') {
        b += 1 + (b + 1 < n && p[b + 1] == ' ');
        p += b;
        n -= b;
    }
    size_t col = indent(p, n, &b);
    if (b == n) {
        ing_break(&m->d, 2);
        m->prev = PREV_NONE;
        return 0;
    }
    if (col < 4 && fence_line(m, p + b, n - b)) {
        m->in_fence = 1;
        ing_break(&m->d, 2);
        m->prev = PREV_NONE;
        return 0;
    }
    if (col < 4 && n - b >= 4 && memcmp(p + b, "<!--", 4) == 0 && !memmem(p, n, "-->", 3)) {
        m->in_comment = 1;
        return 0;
    }
    return block_line(m, p, n, next, next ? rtrim(next, next_n) : 0);
}

/* ---- front matter and the document ---------------------------------------- */

static const char *fm_value(md *m, const char *p, size_t n)
{
    while (n && ing_is_ws((unsigned char)*p)) {
        p++;
        n--;
    }
    n = rtrim(p, n);
    if (n >= 2 && (p[0] == '"' || p[0] == '\'') && p[n - 1] == p[0]) {
        p++;
        n -= 2;
    }
    return ing_collapse(m->d.a, p, n, &m->d.rc);
}

/* "---\nkey: value\n---": title and tag are kept. Returns the bytes it
 * used, 0 when the file has no (closed) front matter. */
static size_t front_matter(md *m, const char *p, size_t len)
{
    const char *nl = memchr(p, '\n', len);
    if (!nl || rtrim(p, (size_t)(nl - p)) != 3 || memcmp(p, "---", 3) != 0)
        return 0;
    size_t pos = (size_t)(nl - p) + 1;
    while (pos < len) {
        const char *s = p + pos;
        const char *e = memchr(s, '\n', len - pos);
        size_t n = e ? (size_t)(e - s) : len - pos;
        size_t next = pos + n + 1;
        size_t t = rtrim(s, n);
        if (t == 3 && (memcmp(s, "---", 3) == 0 || memcmp(s, "...", 3) == 0))
            return next > len ? len : next;
        const char *colon = memchr(s, ':', n);
        size_t k = colon ? rtrim(s, (size_t)(colon - s)) : 0;
        size_t vn = colon ? n - (size_t)(colon + 1 - s) : 0;
        if (k == 5 && strncasecmp(s, "title", 5) == 0)
            m->fm_title = fm_value(m, colon + 1, vn);
        else if (k == 3 && strncasecmp(s, "tag", 3) == 0)
            m->fm_tag = fm_value(m, colon + 1, vn);
        pos = next;
    }
    m->fm_title = m->fm_tag = NULL; /* never closed: it was text after all */
    return 0;
}

int ing_load_markdown(const ing_src *s)
{
    md m = {0};
    ing_init(&m.d, s->a);
    fd_buf_init(&m.tmp, 0);
    size_t pos = front_matter(&m, s->p, s->len);
    while (pos < s->len) {
        const char *p = s->p + pos;
        const char *e = memchr(p, '\n', s->len - pos);
        size_t n = e ? (size_t)(e - p) : s->len - pos;
        pos += n + 1;
        const char *next = pos < s->len ? s->p + pos : NULL;
        const char *ne = next ? memchr(next, '\n', s->len - pos) : NULL;
        size_t next_n = next ? (ne ? (size_t)(ne - next) : s->len - pos) : 0;
        if (line(&m, p, n, next, next_n))
            pos += next_n + 1;
    }
    fd_doc doc = {0};
    int rc = ing_finish(&m.d, &doc);
    if (!rc) {
        doc.key = ing_strndup(s->a, s->path, strlen(s->path), &rc);
        doc.source = doc.key;
        doc.tag = m.fm_tag ? m.fm_tag : "";
        if (m.fm_title && *m.fm_title)
            doc.title = m.fm_title;
        else if (m.d.first_h1)
            doc.title = m.d.first_h1;
        else
            doc.title = ing_stem(s->a, s->path, &rc);
    }
    fd_buf_free(&m.tmp);
    ing_free(&m.d);
    if (rc)
        return ing_fail(s->err, rc, s->path);
    return s->cb(s->ctx, &doc);
}
