/* pdf.c: a PDF to an outline, with poppler (poppler-glib), in a child
 * process. Poppler is a large C++ parser, and a PDF arrives from anyone
 * who may upload one: a file that crashes it, loops or eats memory must
 * cost a failed upload, never the server. So the reading is forked, given
 * FD_INGEST_PDF_SECONDS of CPU and of wall time (and an address-space cap
 * outside sanitizer builds), and hands back the outline through a pipe.
 *
 * A PDF has no paragraphs or headings, only positioned glyphs, so the
 * structure is rebuilt from geometry (poppler's per-character boxes and
 * fonts):
 * - the body size is the font size most text is set in; a short line set
 *   larger is a heading, the largest size level 1; a short, bold line at
 *   body size that ends no sentence is a heading below those;
 * - wrapped lines join into one paragraph while the gap to the next line
 *   stays under LINE_GAP line heights and the size stays the same: a
 *   sentence cut by a line end reads (and is quoted) as one sentence;
 * - a line starting with a bullet is a list item; a line whose words sit
 *   in columns (a gap over CELL_GAP font sizes), or lines poppler read
 *   column by column that share a baseline, are a table row, kept as a
 *   row so a price stays beside its name;
 * - running headers and footers (the same line at the top or bottom of
 *   most pages, digits aside) and bare page numbers are dropped.
 * The constants were set by hand on PDFs printed from the eval KBs'
 * Markdown (tests/ingest) and on office-suite exports; none is tuned on
 * answer scores. */
#include "ingest_int.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <poppler.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define HEADING_RATIO 1.15 /* a heading's size over the body size, at least */
#define HEADING_MAX_CHARS 150
#define BOLD_HEADING_MAX_CHARS 80
#define LINE_GAP 0.7 /* blank space between lines, in line heights, that ends a paragraph */
#define CELL_GAP 1.5 /* blank space inside a line, in font sizes, that separates cells */
#define ROW_PIECE_MAX                                                                              \
    40 /* chars: pieces this short side by side are cells, longer ones columns of prose */
#define SHORT_LINE                                                                                 \
    0.75 /* of the page's text width: a line ending a sentence this short ends its paragraph */
#define CHILD_MEMORY ((rlim_t)2 << 30)
/* Sanitizers reserve terabytes of address space: no address-space cap
 * under them (the CPU and wall limits still hold). */
#if defined(__SANITIZE_ADDRESS__)
#define CAP_MEMORY 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer) ||                         \
    __has_feature(thread_sanitizer)
#define CAP_MEMORY 0
#endif
#endif
#ifndef CAP_MEMORY
#define CAP_MEMORY 1
#endif
/* Same text as outline.c's cap, plus the status byte. */
#define PIPE_MAX (((size_t)64 << 20) + 4096)

/* ---- the child: geometry to outline ---------------------------------------- */

typedef struct line {
    size_t off, len; /* the line's text in the lines' buffer */
    double top, bottom, left, right;
    double size;
    int bold, page, geo; /* geo: the boxes were there */
    int cells;           /* gaps that make it a table row */
    int gone;            /* merged into another line's row */
} line;

typedef struct lines {
    fd_buf text;
    line *v;
    size_t n, cap;
} lines;

static int push_line(lines *ls, const line *l)
{
    if (ls->n == ls->cap) {
        size_t cap = ls->cap ? ls->cap * 2 : 256;
        line *v = fd_malloc(cap * sizeof *v);
        if (!v)
            return FD_ENOMEM;
        if (ls->n)
            memcpy(v, ls->v, ls->n * sizeof *v);
        fd_free(ls->v);
        ls->v = v;
        ls->cap = cap;
    }
    ls->v[ls->n++] = *l;
    return FD_OK;
}

static int is_bold_font(const char *name)
{
    return name && (strstr(name, "Bold") || strstr(name, "bold") || strstr(name, "Black") ||
                    strstr(name, "Heavy") || strstr(name, "Semibold") || strstr(name, "Demi"));
}

/* One page's lines: text split at '\n', each with its boxes' extent, the
 * size and weight of most of its glyphs, and " | " where a wide gap
 * separates columns. */
static int read_page(PopplerPage *pg, int page_no, lines *ls)
{
    char *text = poppler_page_get_text(pg);
    if (!text)
        return FD_OK;
    PopplerRectangle *rects = NULL;
    guint n_rects = 0;
    long n_chars = g_utf8_strlen(text, -1);
    if (!poppler_page_get_text_layout(pg, &rects, &n_rects) || (long)n_rects != n_chars) {
        g_free(rects);
        rects = NULL;
    }
    double *size = fd_calloc((size_t)n_chars + 1, sizeof *size);
    char *bold = fd_calloc((size_t)n_chars + 1, 1);
    int rc = size && bold ? FD_OK : FD_ENOMEM;
    GList *attrs = rc ? NULL : poppler_page_get_text_attributes(pg);
    for (GList *a = attrs; a; a = a->next) {
        PopplerTextAttributes *t = a->data;
        for (int i = t->start_index; i <= t->end_index && i < n_chars; i++) {
            if (i < 0)
                continue;
            size[i] = t->font_size;
            bold[i] = (char)is_bold_font(t->font_name);
        }
    }
    poppler_page_free_text_attributes(attrs);
    const char *p = text;
    long ci = 0;
    while (!rc && *p) {
        line l = {.off = ls->text.len, .page = page_no, .geo = rects != NULL};
        l.top = l.left = 1e9;
        l.bottom = l.right = -1e9;
        long first = -1, last = -1, n_ink = 0, n_bold = 0;
        long prev_ink = -1;
        const char *q = p;
        long cj = ci;
        /* The middle glyph's size stands for the line's: a heading is set
         * in one size, and a superscript at an end does not move it. */
        while (*q && *q != '\n') {
            const char *next = g_utf8_next_char(q);
            int ink = !(*q == ' ' || *q == '\t' || *q == '\r');
            if (ink) {
                if (first < 0)
                    first = cj;
                last = cj;
                n_ink++;
                n_bold += bold[cj];
                if (rects) {
                    PopplerRectangle *r = &rects[cj];
                    if (prev_ink >= 0 && size[cj] > 0 &&
                        r->x1 - rects[prev_ink].x2 > CELL_GAP * size[cj]) {
                        /* Columns: the spaces before this glyph become a separator. */
                        while (ls->text.len > l.off && ls->text.p[ls->text.len - 1] == ' ')
                            ls->text.len--;
                        rc = fd_buf_append(&ls->text, " | ", 3);
                        l.cells++;
                    }
                    l.top = r->y1 < l.top ? r->y1 : l.top;
                    l.bottom = r->y2 > l.bottom ? r->y2 : l.bottom;
                    l.left = r->x1 < l.left ? r->x1 : l.left;
                    l.right = r->x2 > l.right ? r->x2 : l.right;
                }
                prev_ink = cj;
            }
            if (!rc)
                rc = fd_buf_append(&ls->text, q, (size_t)(next - q));
            q = next;
            cj++;
        }
        if (!rc && n_ink) {
            l.len = ls->text.len - l.off;
            l.size = size[first + (last - first) / 2];
            l.bold = n_bold * 10 >= n_ink * 8;
            rc = push_line(ls, &l);
        } else {
            ls->text.len = l.off;
        }
        ci = cj + (*q == '\n');
        p = *q ? q + 1 : q;
    }
    fd_free(size);
    fd_free(bold);
    g_free(rects);
    g_free(text);
    return rc;
}

static const char *line_text(const lines *ls, const line *l)
{
    return ls->text.p + l->off;
}

/* Poppler reads a table column by column ("Standard", "Next day", then
 * "4.95", "9.95"): lines of one page on the same baseline, side by side,
 * short enough to be cells, are put back together as one row each, at the
 * first one's place. Two columns of prose (long lines) are left alone. */
static int merge_rows(lines *ls, size_t from)
{
    for (size_t i = from; i < ls->n; i++) {
        line *b = &ls->v[i];
        if (!b->geo || b->len > ROW_PIECE_MAX)
            continue;
        for (size_t j = from; j < i; j++) {
            line *a = &ls->v[j];
            double h = a->bottom - a->top;
            if (a->gone || !a->geo || h <= 0 || a->top - b->top > 0.3 * h ||
                b->top - a->top > 0.3 * h || a->bottom - b->bottom > 0.3 * h ||
                b->bottom - a->bottom > 0.3 * h)
                continue;
            int after = b->left >= a->right, before = b->right <= a->left;
            if ((!after && !before) || (a->len > ROW_PIECE_MAX && !a->cells))
                continue;
            /* The row's text, rebuilt at the end of the buffer. */
            const line *l = after ? a : b, *r = after ? b : a;
            size_t off = ls->text.len;
            int rc = fd_buf_append(&ls->text, line_text(ls, l), l->len);
            if (!rc)
                rc = fd_buf_append(&ls->text, " | ", 3);
            if (!rc)
                rc = fd_buf_append(&ls->text, line_text(ls, r), r->len);
            if (rc)
                return rc;
            a->off = off;
            a->len = ls->text.len - off;
            a->cells += b->cells + 1;
            a->left = a->left < b->left ? a->left : b->left;
            a->right = a->right > b->right ? a->right : b->right;
            b->gone = 1;
            break;
        }
    }
    return FD_OK;
}

/* "12", "Page 3", "3 / 12", "page 3 of 12": a page number alone. */
static int is_page_number(const char *p, size_t n)
{
    size_t i = 0;
    if (n >= 4 && strncasecmp(p, "page", 4) == 0)
        i = 4;
    int digits = 0;
    for (; i < n; i++) {
        char c = p[i];
        if (c >= '0' && c <= '9')
            digits++;
        else if (!(c == ' ' || c == '/' || c == '-' || (c == 'o' && i + 1 < n && p[i + 1] == 'f') ||
                   (c == 'f' && i > 0 && p[i - 1] == 'o')))
            return 0;
    }
    return digits > 0 && digits <= 8;
}

/* Same text but for digits (running heads carry page numbers). */
static int same_but_digits(const char *a, size_t an, const char *b, size_t bn)
{
    if (an != bn)
        return 0;
    for (size_t i = 0; i < an; i++) {
        int da = a[i] >= '0' && a[i] <= '9', db = b[i] >= '0' && b[i] <= '9';
        if (da != db || (!da && a[i] != b[i]))
            return 0;
    }
    return 1;
}

/* Marks running heads and feet (first or last line of at least half the
 * pages, 3 or more, alike but for digits) and bare page numbers. */
static void mark_furniture(const lines *ls, int n_pages, char *drop)
{
    size_t *first = fd_malloc((size_t)n_pages * sizeof *first);
    size_t *last = fd_malloc((size_t)n_pages * sizeof *last);
    if (!first || !last) {
        fd_free(first);
        fd_free(last);
        return;
    }
    for (int p = 0; p < n_pages; p++)
        first[p] = last[p] = SIZE_MAX;
    for (size_t i = 0; i < ls->n; i++) {
        int p = ls->v[i].page;
        if (drop[i])
            continue;
        if (first[p] == SIZE_MAX)
            first[p] = i;
        last[p] = i;
    }
    for (int edge = 0; edge < 2; edge++) {
        size_t *at = edge ? last : first;
        for (int p = 0; p < n_pages; p++) {
            if (at[p] == SIZE_MAX)
                continue;
            const line *l = &ls->v[at[p]];
            if (is_page_number(line_text(ls, l), l->len)) {
                drop[at[p]] = 1;
                continue;
            }
            int alike = 0;
            for (int q = 0; q < n_pages; q++)
                if (at[q] != SIZE_MAX &&
                    same_but_digits(line_text(ls, l), l->len, line_text(ls, &ls->v[at[q]]),
                                    ls->v[at[q]].len))
                    alike++;
            if (n_pages >= 3 && alike >= 3 && alike * 2 >= n_pages)
                drop[at[p]] = 1;
        }
    }
    fd_free(first);
    fd_free(last);
}

/* The size most of the text is set in (rounded to half points). */
static double body_size(const lines *ls, const char *drop)
{
    double sizes[64];
    size_t weight[64], n = 0;
    for (size_t i = 0; i < ls->n; i++) {
        if (drop[i] || ls->v[i].size <= 0)
            continue;
        double s = (double)(long)(ls->v[i].size * 2 + 0.5) / 2;
        size_t k = 0;
        while (k < n && sizes[k] != s)
            k++;
        if (k == n) {
            if (n == 64)
                continue;
            sizes[n] = s;
            weight[n++] = 0;
        }
        weight[k] += ls->v[i].len;
    }
    size_t best = 0;
    for (size_t k = 1; k < n; k++)
        if (weight[k] > weight[best])
            best = k;
    return n ? sizes[best] : 0;
}

static int ends_sentence(const char *p, size_t n)
{
    while (n && p[n - 1] == ' ')
        n--;
    return n && strchr(".!?:;,", p[n - 1]) != NULL;
}

/* A symbol bullet at the start: its length in bytes (with the space after). */
static size_t bullet(const char *p, size_t n)
{
    static const char *const marks[] = {"\xe2\x80\xa2",
                                        "\xe2\x97\xa6",
                                        "\xe2\x96\xaa",
                                        "\xe2\x97\x8f",
                                        "\xe2\x80\x93",
                                        "\xef\x82\xb7",
                                        "-",
                                        "*"};
    for (size_t k = 0; k < sizeof marks / sizeof marks[0]; k++) {
        size_t m = strlen(marks[k]);
        if (n > m && memcmp(p, marks[k], m) == 0 && (p[m] == ' ' || p[m] == '\t'))
            return m + 1;
    }
    return 0;
}

/* "1." "2)" "a)" at the start: a numbered item, kept as written. */
static int numbered(const char *p, size_t n)
{
    size_t i = 0;
    while (i < n && i < 3 && p[i] >= '0' && p[i] <= '9')
        i++;
    if (i == 0 && n > 0 && p[0] >= 'a' && p[0] <= 'z')
        i = 1;
    return i > 0 && i + 1 < n && (p[i] == '.' || p[i] == ')') && p[i + 1] == ' ';
}

typedef struct emit {
    fd_buf *out;
    fd_buf cur;     /* the paragraph, item or heading being gathered */
    char kind[3];   /* its record kind; "" when none */
    const line *at; /* its last line */
    double width;   /* the widest line's right edge seen on the page */
    int rc;
} emit;

static void flush(emit *e)
{
    if (!e->rc && e->kind[0] && e->cur.len)
        e->rc = ing_outline_put(e->out, e->kind, e->cur.p, e->cur.len);
    fd_buf_reset(&e->cur);
    e->kind[0] = '\0';
    e->at = NULL;
}

static void start(emit *e, const char *kind, const char *p, size_t n, const line *l)
{
    flush(e);
    snprintf(e->kind, sizeof e->kind, "%s", kind);
    if (!e->rc)
        e->rc = fd_buf_append(&e->cur, p, n);
    e->at = l;
}

static void join(emit *e, const char *p, size_t n, const line *l)
{
    /* "pre-" + "booking": a word broken at the line end stays one word. */
    int glue = e->cur.len && e->cur.p[e->cur.len - 1] == '-' && n && p[0] >= 'a' && p[0] <= 'z';
    if (!e->rc && !glue)
        e->rc = fd_buf_putc(&e->cur, ' ');
    if (!e->rc)
        e->rc = fd_buf_append(&e->cur, p, n);
    e->at = l;
}

/* Whether line l continues what e gathers. */
static int continues(const emit *e, const line *l)
{
    const line *p = e->at;
    if (!p || !p->geo || !l->geo || e->kind[0] == 'H' || p->cells || l->cells)
        return 0;
    if (l->page != p->page) /* a sentence running over a page break */
        return !ends_sentence(e->cur.p, e->cur.len) && e->kind[0] == 'P';
    double h = p->bottom - p->top;
    double gap = l->top - p->bottom;
    if (h <= 0 || gap > LINE_GAP * h || gap < -h)
        return 0;
    if (p->size > 0 && l->size > 0 && (l->size - p->size > 0.5 || p->size - l->size > 0.5))
        return 0;
    if (ends_sentence(e->cur.p, e->cur.len) && p->right < SHORT_LINE * e->width)
        return 0;
    if (e->kind[0] == 'L' && l->left < p->left - 1 && l->left <= e->at->left)
        return 0;
    return 1;
}

static int outline_of(const lines *ls, int n_pages, fd_buf *out)
{
    char *drop = fd_calloc(ls->n + 1, 1);
    if (!drop)
        return FD_ENOMEM;
    for (size_t i = 0; i < ls->n; i++)
        drop[i] = (char)ls->v[i].gone;
    mark_furniture(ls, n_pages, drop);
    double body = body_size(ls, drop);
    /* Heading sizes, largest first: level 1, 2, 3, then bold body text. */
    double hs[5];
    int n_hs = 0;
    for (size_t i = 0; i < ls->n; i++) {
        double s = (double)(long)(ls->v[i].size * 2 + 0.5) / 2;
        if (drop[i] || body <= 0 || s < body * HEADING_RATIO || ls->v[i].len > HEADING_MAX_CHARS)
            continue;
        int k = 0;
        while (k < n_hs && hs[k] != s)
            k++;
        if (k < n_hs)
            continue;
        if (n_hs < 5)
            hs[n_hs++] = s;
        for (int a = n_hs - 1; a > 0 && hs[a] > hs[a - 1]; a--) {
            double t = hs[a];
            hs[a] = hs[a - 1];
            hs[a - 1] = t;
        }
    }
    emit e = {.out = out};
    fd_buf_init(&e.cur, 0);
    int page = -1;
    for (size_t i = 0; i < ls->n && !e.rc; i++) {
        if (drop[i])
            continue;
        const line *l = &ls->v[i];
        const char *t = line_text(ls, l);
        if (l->page != page) {
            page = l->page;
            e.width = 0;
            for (size_t k = i; k < ls->n && ls->v[k].page == page; k++)
                if (!drop[k] && ls->v[k].right > e.width)
                    e.width = ls->v[k].right;
        }
        double s = (double)(long)(l->size * 2 + 0.5) / 2;
        int level = 0;
        for (int k = 0; k < n_hs; k++)
            if (s == hs[k])
                level = k + 1 > 6 ? 6 : k + 1;
        if (!level && l->bold && body > 0 && s <= body + 0.5 && l->len <= BOLD_HEADING_MAX_CHARS &&
            !ends_sentence(t, l->len) && !l->cells && !bullet(t, l->len) &&
            !(i + 1 < ls->n && ls->v[i + 1].bold && ls->v[i + 1].page == l->page &&
              ls->v[i + 1].top - l->bottom < LINE_GAP * (l->bottom - l->top)))
            level = n_hs + 1 > 6 ? 6 : n_hs + 1;
        if (level) {
            char kind[3] = {'H', (char)('0' + level), '\0'};
            /* A heading set over two lines is one heading. */
            if (strcmp(e.kind, kind) == 0 && e.at && e.at->page == l->page &&
                l->top - e.at->bottom < LINE_GAP * (e.at->bottom - e.at->top))
                join(&e, t, l->len, l);
            else
                start(&e, kind, t, l->len, l);
            continue;
        }
        size_t b = bullet(t, l->len);
        if (l->cells)
            start(&e, "R", t, l->len, l);
        else if (b || numbered(t, l->len))
            start(&e, "L", t + b, l->len - b, l);
        else if (continues(&e, l))
            join(&e, t, l->len, l);
        else
            start(&e, "P", t, l->len, l);
    }
    flush(&e);
    fd_buf_free(&e.cur);
    fd_free(drop);
    return e.rc;
}

/* The reading, in the child; the status byte then the outline, or 'E',
 * a code byte and a message. */
static void child_read(const char *p, size_t len, fd_buf *out)
{
    GError *ge = NULL;
    GBytes *bytes = g_bytes_new_static(p, len);
    PopplerDocument *doc = poppler_document_new_from_bytes(bytes, NULL, &ge);
    if (!doc) {
        int enc = ge && ge->domain == POPPLER_ERROR && ge->code == POPPLER_ERROR_ENCRYPTED;
        /* Unwritten, the parent reports "nothing back": still a failure. */
        if (fd_buf_printf(out, "E%c%s", enc ? 'P' : 'D',
                          enc ? "it is password-protected"
                              : "not a readable PDF (damaged, or not a PDF)"))
            fd_buf_reset(out);
        g_clear_error(&ge);
        g_bytes_unref(bytes);
        return;
    }
    int rc = fd_buf_putc(out, 'O');
    char *title = poppler_document_get_title(doc);
    if (!rc && title)
        rc = ing_outline_put(out, "T", title, strlen(title));
    g_free(title);
    int n_pages = poppler_document_get_n_pages(doc);
    lines ls = {0};
    fd_buf_init(&ls.text, 0);
    for (int i = 0; i < n_pages && !rc; i++) {
        PopplerPage *pg = poppler_document_get_page(doc, i);
        if (pg) {
            size_t from = ls.n;
            rc = read_page(pg, i, &ls);
            if (!rc)
                rc = merge_rows(&ls, from);
            g_object_unref(pg);
        }
    }
    if (!rc)
        rc = outline_of(&ls, n_pages, out);
    if (rc) {
        fd_buf_reset(out);
        if (fd_buf_printf(out, "E%c%s", rc == FD_ETOOBIG ? 'B' : 'M',
                          rc == FD_ETOOBIG ? "too much text" : "out of memory"))
            fd_buf_reset(out);
    }
    fd_buf_free(&ls.text);
    fd_free(ls.v);
    g_object_unref(doc);
    g_bytes_unref(bytes);
}

static void write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

static _Noreturn void child(int wfd, const char *p, size_t len)
{
    struct rlimit cpu = {FD_INGEST_PDF_SECONDS, FD_INGEST_PDF_SECONDS + 1};
    setrlimit(RLIMIT_CPU, &cpu);
    if (CAP_MEMORY) {
        struct rlimit as = {CHILD_MEMORY, CHILD_MEMORY};
        setrlimit(RLIMIT_AS, &as);
    }
    int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (null >= 0)
        dup2(null, 2); /* poppler reports syntax errors on stderr */
    fd_buf out;
    fd_buf_init(&out, PIPE_MAX);
    child_read(p, len, &out);
    write_all(wfd, out.p ? out.p : "", out.len);
    _exit(0);
}

/* ---- the parent ------------------------------------------------------------------ */

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int ing_pdf_outline(const char *path, const char *p, size_t len, fd_buf *out, fd_err *err)
{
    if (len < 5 || memcmp(p, "%PDF-", 5) != 0) {
        /* A PDF may carry junk before its header; poppler reads up to 1 KB. */
        const char *h = len > 5 ? memmem(p, len < 1024 ? len : 1024, "%PDF-", 5) : NULL;
        if (!h)
            return fd_err_set(err, FD_EINVAL, "%s: not a PDF (no %%PDF- header)", path);
    }
    int pf[2];
    if (pipe2(pf, O_CLOEXEC) != 0)
        return fd_err_set(err, FD_EIO, "%s: pipe: %s", path, strerror(errno));
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(pf[0]);
        close(pf[1]);
        return fd_err_set(err, FD_EIO, "%s: cannot start the PDF reader: %s", path, strerror(e));
    }
    if (pid == 0) {
        close(pf[0]);
        child(pf[1], p, len);
    }
    close(pf[1]);
    fd_buf got;
    fd_buf_init(&got, PIPE_MAX);
    long long deadline = now_ms() + (long long)FD_INGEST_PDF_SECONDS * 1000;
    int rc = FD_OK, timed_out = 0;
    char chunk[65536];
    for (;;) {
        long long left = deadline - now_ms();
        if (left <= 0) {
            timed_out = 1;
            break;
        }
        struct pollfd pfd = {.fd = pf[0], .events = POLLIN};
        int r = poll(&pfd, 1, left > 1000 ? 1000 : (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            continue;
        ssize_t n = read(pf[0], chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        rc = fd_buf_append(&got, chunk, (size_t)n);
        if (rc)
            break;
    }
    close(pf[0]);
    if (timed_out || rc)
        kill(pid, SIGKILL);
    int status = 0;
    pid_t w;
    do
        w = waitpid(pid, &status, 0);
    while (w < 0 && errno == EINTR);
    if (timed_out)
        rc = fd_err_set(err, FD_ETIMEOUT, "%s: reading the PDF took over %d s", path,
                        FD_INGEST_PDF_SECONDS);
    else if (rc)
        rc = fd_err_set(err, rc, "%s: %s", path,
                        rc == FD_ETOOBIG ? "too much text" : "out of memory");
    else if (w == pid && WIFSIGNALED(status))
        rc = fd_err_set(err, FD_EINVAL,
                        "%s: the PDF reader stopped on this file (signal %d%s): it is damaged "
                        "or not a PDF",
                        path, WTERMSIG(status), WTERMSIG(status) == SIGXCPU ? ", out of time" : "");
    else if (got.len == 0)
        rc = fd_err_set(err, FD_EINVAL, "%s: the PDF reader gave nothing back", path);
    else if (got.p[0] == 'E')
        rc = fd_err_set(err,
                        got.len > 1 && got.p[1] == 'B'   ? FD_ETOOBIG
                        : got.len > 1 && got.p[1] == 'M' ? FD_ENOMEM
                                                         : FD_EINVAL,
                        "%s: %s", path, got.len > 2 ? got.p + 2 : "cannot be read");
    else if (got.p[0] != 'O')
        rc = fd_err_set(err, FD_EINVAL, "%s: the PDF reader answered garbage", path);
    else
        rc = fd_buf_append(out, got.p + 1, got.len - 1)
                 ? fd_err_set(err, FD_ETOOBIG, "%s: too much text", path)
                 : FD_OK;
    fd_buf_free(&got);
    return rc;
}
