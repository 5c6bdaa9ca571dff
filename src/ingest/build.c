/* build.c: the document builder all loaders share (whitespace, breaks,
 * heading paths, sections) plus small helpers: arena copies, file names,
 * HTML entities. Keeping this in one place makes every format produce the
 * same text shape, which the chunker and the hash rely on. */
#include "ingest_int.h"

#include <string.h>

static void note_fail(ing_doc *d, int rc)
{
    if (!d->rc)
        d->rc = rc;
}

void ing_init(ing_doc *d, fd_arena *a)
{
    memset(d, 0, sizeof *d);
    d->a = a;
    d->heading = "";
    fd_buf_init(&d->text, 0);
}

void ing_free(ing_doc *d)
{
    fd_buf_free(&d->text);
    for (int i = 0; i < 6; i++)
        FD_FREE(d->heads[i]);
    FD_FREE(d->v);
}

static void put(ing_doc *d, const char *p, size_t n)
{
    if (!d->rc && n)
        note_fail(d, fd_buf_append(&d->text, p, n));
}

/* Pays what is owed before real text: a break (only between texts, so
 * sections never start with one) or a collapsed space. */
static void pay_owed(ing_doc *d)
{
    if (d->text.len && d->brk)
        put(d, "\n\n", (size_t)d->brk);
    else if (d->text.len && d->space)
        put(d, " ", 1);
    d->brk = 0;
    d->space = 0;
}

void ing_text(ing_doc *d, const char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (ing_is_ws((unsigned char)p[i])) {
            if (!d->brk)
                d->space = 1;
            i++;
            continue;
        }
        size_t j = i;
        while (j < n && !ing_is_ws((unsigned char)p[j]))
            j++;
        pay_owed(d);
        put(d, p + i, j - i);
        i = j;
    }
}

void ing_raw(ing_doc *d, const char *p, size_t n)
{
    if (!n)
        return;
    pay_owed(d);
    put(d, p, n);
}

void ing_space(ing_doc *d)
{
    if (!d->brk)
        d->space = 1;
}

void ing_break(ing_doc *d, int level)
{
    if (level > d->brk)
        d->brk = level;
    d->space = 0;
}

void ing_plain(ing_doc *d, const char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        const char *nl = memchr(p + i, '\n', n - i);
        size_t e = nl ? (size_t)(nl - p) : n;
        size_t s = i;
        while (s < e && ing_is_ws((unsigned char)p[s]))
            s++;
        ing_break(d, s == e ? 2 : 1);
        ing_text(d, p + s, e - s);
        i = e + 1;
    }
}

static void close_section(ing_doc *d)
{
    d->brk = 0;
    d->space = 0;
    if (d->rc || !d->text.len)
        return; /* empty sections are not kept: nothing to retrieve */
    char *text = ing_strndup(d->a, d->text.p, d->text.len, &d->rc);
    fd_buf_reset(&d->text);
    if (!text)
        return;
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 8;
        fd_section *v = fd_realloc(d->v, cap * sizeof *v);
        if (!v) {
            note_fail(d, FD_ENOMEM);
            return;
        }
        d->v = v;
        d->cap = cap;
    }
    d->v[d->n++] = (fd_section){.heading = d->heading, .text = text};
}

/* "H1 > H2 > H3" from the levels that are set; skipped levels vanish. */
static const char *join_heads(ing_doc *d)
{
    fd_buf b;
    fd_buf_init(&b, 0);
    int rc = FD_OK;
    for (int i = 0; i < 6 && !rc; i++) {
        if (!d->heads[i])
            continue;
        if (b.len)
            rc = fd_buf_append(&b, " > ", 3);
        if (!rc)
            rc = fd_buf_append(&b, d->heads[i], strlen(d->heads[i]));
    }
    const char *out = "";
    if (rc)
        note_fail(d, rc);
    else if (b.len)
        out = ing_strndup(d->a, b.p, b.len, &d->rc);
    fd_buf_free(&b);
    return out ? out : "";
}

void ing_heading(ing_doc *d, int level, const char *p, size_t n)
{
    close_section(d);
    if (d->rc)
        return;
    char *h = ing_collapse(d->a, p, n, &d->rc);
    if (!h)
        return;
    for (int i = level - 1; i < 6; i++)
        FD_FREE(d->heads[i]);
    /* An empty heading ("##") still ends the section but adds no level. */
    if (*h) {
        d->heads[level - 1] = fd_strdup(h);
        if (!d->heads[level - 1])
            note_fail(d, FD_ENOMEM);
    }
    if (level == 1 && *h && !d->first_h1)
        d->first_h1 = h;
    d->heading = join_heads(d);
}

int ing_finish(ing_doc *d, fd_doc *out)
{
    close_section(d);
    out->sections = NULL;
    out->n_sections = 0;
    if (d->rc || !d->n)
        return d->rc;
    out->sections = fd_arena_alloc(d->a, d->n * sizeof *out->sections);
    if (!out->sections) {
        d->rc = fd_arena_full(d->a) ? FD_ETOOBIG : FD_ENOMEM;
        return d->rc;
    }
    memcpy(out->sections, d->v, d->n * sizeof *out->sections);
    out->n_sections = d->n;
    return FD_OK;
}

/* ---- helpers ------------------------------------------------------------ */

char *ing_strndup(fd_arena *a, const char *p, size_t n, int *rc)
{
    char *s = fd_arena_strndup(a, p, n);
    if (!s && !*rc)
        *rc = fd_arena_full(a) ? FD_ETOOBIG : FD_ENOMEM;
    return s;
}

char *ing_collapse(fd_arena *a, const char *p, size_t n, int *rc)
{
    char *s = fd_arena_alloc(a, n + 1);
    if (!s) {
        if (!*rc)
            *rc = fd_arena_full(a) ? FD_ETOOBIG : FD_ENOMEM;
        return NULL;
    }
    size_t o = 0;
    int space = 0;
    for (size_t i = 0; i < n; i++) {
        if (ing_is_ws((unsigned char)p[i])) {
            space = o > 0;
            continue;
        }
        if (space)
            s[o++] = ' ';
        space = 0;
        s[o++] = p[i];
    }
    s[o] = '\0';
    return s;
}

int ing_fail(fd_err *err, int rc, const char *path)
{
    if (rc == FD_ETOOBIG)
        return fd_err_set(err, rc, "%s: document too large for the arena", path);
    return fd_err_set(err, rc, "%s: out of memory", path);
}

const char *ing_basename(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

char *ing_stem(fd_arena *a, const char *path, int *rc)
{
    const char *base = ing_basename(path);
    const char *dot = strrchr(base, '.');
    size_t n = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    return ing_strndup(a, base, n, rc);
}

size_t ing_utf8_chars(const char *p, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += ((unsigned char)p[i] & 0xC0) != 0x80;
    return c;
}

/* ---- HTML entities ------------------------------------------------------ */

static const struct {
    const char *name;
    const char *utf8;
} entities[] = {
    /* nbsp becomes a plain space: the text is for search and quoting. */
    {"amp", "&"},
    {"lt", "<"},
    {"gt", ">"},
    {"quot", "\""},
    {"apos", "'"},
    {"nbsp", " "},
    {"copy", "\xC2\xA9"},
    {"reg", "\xC2\xAE"},
    {"trade", "\xE2\x84\xA2"},
    {"hellip", "\xE2\x80\xA6"},
    {"mdash", "\xE2\x80\x94"},
    {"ndash", "\xE2\x80\x93"},
    {"lsquo", "\xE2\x80\x98"},
    {"rsquo", "\xE2\x80\x99"},
    {"ldquo", "\xE2\x80\x9C"},
    {"rdquo", "\xE2\x80\x9D"},
    {"laquo", "\xC2\xAB"},
    {"raquo", "\xC2\xBB"},
    {"euro", "\xE2\x82\xAC"},
    {"pound", "\xC2\xA3"},
    {"yen", "\xC2\xA5"},
    {"cent", "\xC2\xA2"},
    {"deg", "\xC2\xB0"},
    {"times", "\xC3\x97"},
    {"middot", "\xC2\xB7"},
    {"bull", "\xE2\x80\xA2"},
    {"eacute", "\xC3\xA9"},
    {"egrave", "\xC3\xA8"},
    {"ecirc", "\xC3\xAA"},
    {"agrave", "\xC3\xA0"},
    {"acirc", "\xC3\xA2"},
    {"ccedil", "\xC3\xA7"},
    {"ocirc", "\xC3\xB4"},
    {"ucirc", "\xC3\xBB"},
    {"icirc", "\xC3\xAE"},
    {"euml", "\xC3\xAB"},
    {"iuml", "\xC3\xAF"},
    {"ugrave", "\xC3\xB9"},
};

static size_t utf8_put(uint32_t cp, char out[4])
{
    /* NUL, surrogates and out-of-range numbers would make the text invalid
     * UTF-8; other controls would only add noise. */
    if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
        cp = 0xFFFD;
    else if (cp < 0x20 || cp == 0x7F)
        cp = ' ';
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

static size_t numeric_entity(const char *p, size_t n, char out[4], size_t *out_len)
{
    /* p points after "&#". Seven digits cover U+10FFFF in either base. */
    int hex = n > 0 && (p[0] == 'x' || p[0] == 'X');
    size_t i = hex, digits = 0;
    uint32_t cp = 0;
    for (; i < n && digits < 8; i++, digits++) {
        char c = p[i];
        int v;
        if (c >= '0' && c <= '9')
            v = c - '0';
        else if (hex && c >= 'a' && c <= 'f')
            v = c - 'a' + 10;
        else if (hex && c >= 'A' && c <= 'F')
            v = c - 'A' + 10;
        else
            break;
        cp = cp * (hex ? 16 : 10) + (uint32_t)v;
    }
    if (!digits || digits > 7 || i >= n || p[i] != ';')
        return 0;
    *out_len = utf8_put(cp, out);
    return i + 1 + 2;
}

size_t ing_entity(const char *p, size_t n, char out[4], size_t *out_len)
{
    if (n < 3 || p[0] != '&')
        return 0;
    if (p[1] == '#')
        return numeric_entity(p + 2, n - 2, out, out_len);
    const char *semi = memchr(p + 1, ';', n - 1 < 8 ? n - 1 : 8);
    if (!semi)
        return 0;
    size_t len = (size_t)(semi - p - 1);
    for (size_t i = 0; i < sizeof entities / sizeof entities[0]; i++) {
        if (strlen(entities[i].name) == len && strncmp(entities[i].name, p + 1, len) == 0) {
            *out_len = strlen(entities[i].utf8);
            memcpy(out, entities[i].utf8, *out_len);
            return len + 2;
        }
    }
    return 0;
}
