/* chunk.c: heading-aware chunking. Each section is cut into chunks of at
 * most max_words words, preferring paragraph breaks, then sentence (or
 * line) breaks, then a hard cut; each chunk after the first repeats the
 * previous chunk's last overlap_words words so a fact split across the cut
 * is still whole in one of them. A chunk is a contiguous slice of its
 * section's text, so the original spacing and lines survive. */
#include "ingest_int.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#define W_SENT 1 /* a sentence or line starts at this word */
#define W_PARA 2 /* a paragraph starts at this word (implies W_SENT) */

typedef struct word {
    size_t start, end; /* byte offsets in the section text */
    unsigned flags;
} word;

typedef struct chunker {
    fd_arena *a;
    int max, overlap;
    word *w; /* scratch, reused across sections */
    size_t cap_w;
    fd_chunk *out; /* scratch, copied to the arena at the end */
    size_t n_out, cap_out;
    int rc;
} chunker;

/* "Mr. Smith" and "e.g. Paris" do not end sentences. */
static int abbreviation(const char *p, size_t n)
{
    static const char *const abbr[] = {"mr",  "mrs", "ms",  "dr",     "st",  "vs",  "e.g", "i.e",
                                       "etc", "no",  "fig", "approx", "inc", "ltd", "jr",  "sr"};
    if (n < 2)
        return 1; /* "A." initials */
    n--;          /* the dot */
    for (size_t i = 0; i < sizeof abbr / sizeof abbr[0]; i++)
        if (strlen(abbr[i]) == n && strncasecmp(p, abbr[i], n) == 0)
            return 1;
    return 0;
}

static int ends_sentence(const char *p, size_t n)
{
    while (n && strchr(")\"']", p[n - 1]))
        n--;
    /* closing curly quotes: ’ ” (E2 80 99 / E2 80 9D) */
    while (n >= 3 && (unsigned char)p[n - 3] == 0xE2 && (unsigned char)p[n - 2] == 0x80 &&
           ((unsigned char)p[n - 1] == 0x99 || (unsigned char)p[n - 1] == 0x9D))
        n -= 3;
    if (!n)
        return 0;
    char c = p[n - 1];
    if (c == '?' || c == '!')
        return 1;
    return c == '.' && !abbreviation(p, n);
}

static int starts_sentence(const char *p, size_t n)
{
    while (n && strchr("(\"'[", *p)) {
        p++;
        n--;
    }
    /* opening curly quotes: ‘ “ (E2 80 98 / E2 80 9C) */
    if (n >= 3 && (unsigned char)p[0] == 0xE2 && (unsigned char)p[1] == 0x80 &&
        ((unsigned char)p[2] == 0x98 || (unsigned char)p[2] == 0x9C)) {
        p += 3;
        n -= 3;
    }
    /* Non-ASCII: no case tables here (text/ is not a dependency for this);
     * a letter after ". " is taken as a capital, as is typical. */
    return n &&
           (isupper((unsigned char)*p) || isdigit((unsigned char)*p) || (unsigned char)*p >= 0xC3);
}

static int add_word(chunker *c, size_t *n, size_t s, size_t e)
{
    if (*n == c->cap_w) {
        size_t cap = c->cap_w ? c->cap_w * 2 : 256;
        word *w = fd_realloc(c->w, cap * sizeof *w);
        if (!w)
            return FD_ENOMEM;
        c->w = w;
        c->cap_w = cap;
    }
    c->w[(*n)++] = (word){s, e, 0};
    return FD_OK;
}

/* Splits text into words and marks where sentences and paragraphs start. */
static int split_words(chunker *c, const char *t, size_t len, size_t *n_words)
{
    size_t n = 0, i = 0;
    while (i < len) {
        size_t nl = 0;
        while (i < len && ing_is_ws((unsigned char)t[i]))
            nl += t[i++] == '\n';
        if (i >= len)
            break;
        size_t s = i;
        while (i < len && !ing_is_ws((unsigned char)t[i]))
            i++;
        if (add_word(c, &n, s, i))
            return FD_ENOMEM;
        if (n == 1)
            continue;
        word *prev = &c->w[n - 2], *cur = &c->w[n - 1];
        if (nl >= 2)
            cur->flags = W_PARA | W_SENT;
        else if (nl == 1 || (ends_sentence(t + prev->start, prev->end - prev->start) &&
                             starts_sentence(t + s, i - s)))
            cur->flags = W_SENT;
    }
    *n_words = n;
    return FD_OK;
}

/* End (exclusive) of the next chunk's new words from pos, at most budget
 * of them: a paragraph break in the back half, else a sentence break in
 * the back three quarters, else a hard cut. */
static size_t pick_end(const word *w, size_t n, size_t pos, size_t budget)
{
    size_t limit = pos + budget;
    if (limit >= n)
        return n;
    size_t para = 0, sent = 0;
    for (size_t e = limit; e > pos && !para; e--) {
        if (!sent && (w[e].flags & W_SENT))
            sent = e;
        if (w[e].flags & W_PARA)
            para = e;
    }
    if (para && para - pos >= (budget + 1) / 2)
        return para;
    if (sent && sent - pos >= (budget + 3) / 4)
        return sent;
    return limit;
}

static void emit(chunker *c, const char *section, const char *t, size_t from, size_t to)
{
    if (c->rc)
        return;
    if (c->n_out == c->cap_out) {
        size_t cap = c->cap_out ? c->cap_out * 2 : 16;
        fd_chunk *o = fd_realloc(c->out, cap * sizeof *o);
        if (!o) {
            c->rc = FD_ENOMEM;
            return;
        }
        c->out = o;
        c->cap_out = cap;
    }
    size_t s = c->w[from].start, e = c->w[to - 1].end;
    char *text = ing_strndup(c->a, t + s, e - s, &c->rc);
    if (text)
        c->out[c->n_out++] = (fd_chunk){section, text, (uint32_t)(to - from)};
}

static void chunk_section(chunker *c, const fd_section *sec)
{
    const char *t = sec->text ? sec->text : "";
    size_t n = 0;
    if (split_words(c, t, strlen(t), &n)) {
        c->rc = FD_ENOMEM;
        return;
    }
    size_t max = (size_t)c->max, pos = 0, prev_len = 0;
    while (pos < n && !c->rc) {
        /* At most half the previous chunk: a chunk that merely repeats its
         * neighbour adds nothing to retrieve. */
        size_t ov = pos ? (size_t)c->overlap : 0;
        if (ov > prev_len / 2)
            ov = prev_len / 2;
        size_t budget = max - ov; /* >= 1: overlap < max */
        size_t end = pick_end(c->w, n, pos, budget);
        /* A short tail joins this chunk when the result stays near max,
         * rather than becoming a chunk that is mostly overlap. */
        if (end < n && n - end < max / 4 && end - pos + ov + (n - end) <= max + max / 4)
            end = n;
        emit(c, sec->heading ? sec->heading : "", t, pos - ov, end);
        prev_len = end - (pos - ov);
        pos = end;
    }
}

int fd_ingest_chunk(const fd_doc *doc, int max_words, int overlap_words, fd_arena *a,
                    fd_chunk **out, size_t *n_out, fd_err *err)
{
    *out = NULL;
    *n_out = 0;
    if (max_words < 1 || overlap_words < 0 || overlap_words >= max_words)
        return fd_err_set(err, FD_EINVAL,
                          "chunking: need max_words >= 1 and 0 <= overlap < max "
                          "(got %d, %d)",
                          max_words, overlap_words);
    chunker c = {.a = a, .max = max_words, .overlap = overlap_words};
    for (size_t i = 0; i < doc->n_sections && !c.rc; i++)
        chunk_section(&c, &doc->sections[i]);
    if (!c.rc && c.n_out) {
        *out = fd_arena_alloc(a, c.n_out * sizeof **out);
        if (*out) {
            memcpy(*out, c.out, c.n_out * sizeof **out);
            *n_out = c.n_out;
        } else {
            c.rc = fd_arena_full(a) ? FD_ETOOBIG : FD_ENOMEM;
        }
    }
    FD_FREE(c.w);
    FD_FREE(c.out);
    if (c.rc)
        return ing_fail(err, c.rc, doc->key ? doc->key : "chunking");
    return FD_OK;
}
