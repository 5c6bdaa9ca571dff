/* unicode.c: undoes the tricks that hide words from a reader or a filter:
 * invisible and bidi controls, Cyrillic/Greek look-alikes, fullwidth and
 * math letters, tag-character smuggling; and builds the de-obfuscated views
 * the rules read (joined/leet words, spaced-out letters, reversed text,
 * ROT13, base64/hex segments). */
#include "guard_int.h"

#include <string.h>
#include <utf8proc.h>

/* Decodes one code point of valid UTF-8 at s[i]; *n gets its length. */
static uint32_t decode(const unsigned char *s, size_t i, unsigned *n)
{
    unsigned char c = s[i];
    if (c < 0x80) {
        *n = 1;
        return c;
    }
    if (c < 0xE0) {
        *n = 2;
        return ((uint32_t)(c & 0x1F) << 6) | (s[i + 1] & 0x3F);
    }
    if (c < 0xF0) {
        *n = 3;
        return ((uint32_t)(c & 0x0F) << 12) | ((uint32_t)(s[i + 1] & 0x3F) << 6) |
               (s[i + 2] & 0x3F);
    }
    *n = 4;
    return ((uint32_t)(c & 0x07) << 18) | ((uint32_t)(s[i + 1] & 0x3F) << 12) |
           ((uint32_t)(s[i + 2] & 0x3F) << 6) | (s[i + 3] & 0x3F);
}

size_t fd_gu_count_cp(fd_str s)
{
    size_t n = 0;
    for (size_t i = 0; i < s.len; i++)
        n += ((unsigned char)s.p[i] & 0xC0) != 0x80;
    return n;
}

/* Characters with no glyph: zero-width spaces and joiners, bidi embeddings,
 * overrides and isolates, soft hyphen, word joiner, BOM, fillers, variation
 * selectors, invisible operators, C0/C1 controls other than tab and line
 * breaks. They carry nothing a customer means, and they split keywords. */
static int invisible(uint32_t cp)
{
    if (cp < 0x20)
        return cp != '\t' && cp != '\n' && cp != '\r';
    if (cp >= 0x7F && cp <= 0x9F)
        return 1;
    switch (cp) {
    case 0x00AD:
    case 0x034F:
    case 0x061C:
    case 0x115F:
    case 0x1160:
    case 0x17B4:
    case 0x17B5:
    case 0x3164:
    case 0xFEFF:
    case 0xFFA0:
        return 1;
    default:
        break;
    }
    return (cp >= 0x180B && cp <= 0x180E) || (cp >= 0x200B && cp <= 0x200F) ||
           (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2060 && cp <= 0x206F) ||
           (cp >= 0xFE00 && cp <= 0xFE0F) || (cp >= 0xE0000 && cp <= 0xE0FFF);
}

static int bidi_control(uint32_t cp)
{
    return (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

/* Cyrillic and Greek letters drawn like Latin ones (Unicode confusables,
 * the subset that fools a human reader in common fonts). */
typedef struct glyph {
    uint16_t cp;
    char ascii;
} glyph;

static const glyph confusables[] = {
    {0x0391, 'A'}, {0x0392, 'B'}, {0x0395, 'E'}, {0x0396, 'Z'}, {0x0397, 'H'}, {0x0399, 'I'},
    {0x039A, 'K'}, {0x039C, 'M'}, {0x039D, 'N'}, {0x039F, 'O'}, {0x03A1, 'P'}, {0x03A4, 'T'},
    {0x03A5, 'Y'}, {0x03A7, 'X'}, {0x03B1, 'a'}, {0x03B9, 'i'}, {0x03BA, 'k'}, {0x03BD, 'v'},
    {0x03BF, 'o'}, {0x03C1, 'p'}, {0x03C5, 'u'}, {0x03F2, 'c'}, {0x03F3, 'j'}, {0x0405, 'S'},
    {0x0406, 'I'}, {0x0408, 'J'}, {0x0410, 'A'}, {0x0412, 'B'}, {0x0415, 'E'}, {0x041A, 'K'},
    {0x041C, 'M'}, {0x041D, 'H'}, {0x041E, 'O'}, {0x0420, 'P'}, {0x0421, 'C'}, {0x0422, 'T'},
    {0x0425, 'X'}, {0x0430, 'a'}, {0x0435, 'e'}, {0x043E, 'o'}, {0x0440, 'p'}, {0x0441, 'c'},
    {0x0443, 'y'}, {0x0445, 'x'}, {0x0455, 's'}, {0x0456, 'i'}, {0x0458, 'j'}, {0x04BB, 'h'},
    {0x04C0, 'I'}, {0x0501, 'd'}, {0x051B, 'q'}, {0x051D, 'w'},
};

static char confusable(uint32_t cp)
{
    size_t lo = 0, hi = sizeof confusables / sizeof confusables[0];
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (confusables[mid].cp == cp)
            return confusables[mid].ascii;
        if (confusables[mid].cp < cp)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

/* Forms that are Latin letters or digits in another costume: fullwidth,
 * mathematical alphanumerics, circled letters. Mapped always: no French or
 * English text needs them, and NFKC would map most of them anyway. */
static char costume(uint32_t cp)
{
    if (cp >= 0xFF01 && cp <= 0xFF5E)
        return (char)(cp - 0xFEE0);
    if (cp == 0x3000)
        return ' ';
    if (cp >= 0x1D400 && cp <= 0x1D6A3) {
        unsigned k = (cp - 0x1D400) % 52;
        return (char)(k < 26 ? 'A' + k : 'a' + k - 26);
    }
    if (cp >= 0x1D7CE && cp <= 0x1D7FF)
        return (char)('0' + (cp - 0x1D7CE) % 10);
    if (cp >= 0x24B6 && cp <= 0x24CF)
        return (char)('A' + (cp - 0x24B6));
    if (cp >= 0x24D0 && cp <= 0x24E9)
        return (char)('a' + (cp - 0x24D0));
    return 0;
}

static int letter(uint32_t cp)
{
    if (cp < 0x80)
        return (cp | 0x20) >= 'a' && (cp | 0x20) <= 'z';
    utf8proc_category_t c = utf8proc_category((utf8proc_int32_t)cp);
    return c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_ME;
}

static int latin(uint32_t cp)
{
    return cp < 0x80 ? letter(cp)
                     : (cp >= 0xC0 && cp < 0x250 && cp != 0xD7 && cp != 0xF7) ||
                           (cp >= 0x1E00 && cp < 0x1F00);
}

static int word_cp(uint32_t cp)
{
    return letter(cp) || (cp >= '0' && cp <= '9') || costume(cp) > ' ' || invisible(cp);
}

/* Emoji sequences use ZWJ and VS16 legitimately (a family, a red heart):
 * keep them when the neighbour is a symbol, not a letter. */
static int emoji_glue(uint32_t cp, uint32_t prev, uint32_t next)
{
    if (cp != 0x200D && cp != 0xFE0F && cp != 0xFE0E)
        return 0;
    return prev >= 0x2190 && !letter(prev) && (cp != 0x200D || (next >= 0x2190 && !letter(next)));
}

typedef struct word_stats {
    size_t latin, look, other;
} word_stats;

static void stats_of(const unsigned char *s, size_t b, size_t e, word_stats *st)
{
    memset(st, 0, sizeof *st);
    for (size_t i = b; i < e;) {
        unsigned n;
        uint32_t cp = decode(s, i, &n);
        i += n;
        if (latin(cp) || costume(cp))
            st->latin++;
        else if (confusable(cp))
            st->look++;
        else if (letter(cp))
            st->other++;
    }
}

/* Cleans one word s[b..e) into d; returns bytes written. Look-alikes are
 * mapped only when the word mixes them with Latin letters, or is made of
 * nothing else: a real Russian or Greek word keeps its letters. */
static size_t clean_word(const unsigned char *s, size_t b, size_t e, char *d, fd_gu_clean *c,
                         int *touched)
{
    word_stats st;
    stats_of(s, b, e, &st);
    int map = st.look > 0 && st.other == 0;
    if (map && st.latin > 0)
        c->n_mixed++;
    size_t o = 0;
    uint32_t prev = 0;
    for (size_t i = b; i < e;) {
        unsigned n;
        uint32_t cp = decode(s, i, &n);
        i += n;
        char m = costume(cp);
        if (!m && map)
            m = confusable(cp);
        if (invisible(cp)) {
            unsigned n2 = 0;
            uint32_t next = i < e ? decode(s, i, &n2) : 0;
            if (emoji_glue(cp, prev, next)) {
                memcpy(d + o, s + i - n, n);
                o += n;
                continue;
            }
            c->n_removed++;
            if (prev && letter(prev) && next && !invisible(next))
                c->n_split++;
            *touched = 1;
            continue;
        }
        if (m) {
            d[o++] = m;
            c->n_mapped++;
            *touched = 1;
        } else {
            memcpy(d + o, s + i - n, n);
            o += n;
        }
        prev = cp;
    }
    return o;
}

int fd_gu_clean_text(fd_str in, fd_arena *a, fd_gu_clean *c)
{
    memset(c, 0, sizeof *c);
    c->text = in;
    c->touched = (fd_str){"", 0};
    c->smuggled = (fd_str){"", 0};
    const unsigned char *s = (const unsigned char *)in.p;
    int plain = 1;
    for (size_t i = 0; i < in.len && plain; i++)
        plain = (s[i] >= 0x20 && s[i] < 0x7F) || s[i] == '\n' || s[i] == '\r' || s[i] == '\t';
    if (plain)
        return FD_OK; /* printable ASCII: nothing to undo, no allocation */
    /* Each mapping shrinks or keeps the byte length (a 2-4 byte code point
     * becomes one ASCII byte), so in.len bounds every output. */
    char *d = fd_arena_alloc(a, in.len + 1);
    char *t = fd_arena_alloc(a, in.len + 1);
    char *g = fd_arena_alloc(a, in.len / 4 + 1);
    if (!d || !t || !g)
        return fd_arena_full(a) ? FD_ETOOBIG : FD_ENOMEM;
    size_t o = 0, to = 0, go = 0;
    for (size_t i = 0; i < in.len;) {
        unsigned n;
        uint32_t cp = decode(s, i, &n);
        if (cp >= 0xE0020 && cp <= 0xE007E) {
            g[go++] = (char)(cp - 0xE0000); /* ASCII smuggled in tag characters */
            c->n_removed++;
            i += n;
            continue;
        }
        if (bidi_control(cp))
            c->bidi = 1;
        if (!word_cp(cp)) {
            if (costume(cp) == ' ') {
                d[o++] = ' '; /* ideographic space between fullwidth words */
                c->n_mapped++;
            } else {
                memcpy(d + o, s + i, n);
                o += n;
            }
            i += n;
            continue;
        }
        size_t e = i;
        while (e < in.len) {
            unsigned n2;
            uint32_t cp2 = decode(s, e, &n2);
            if (!word_cp(cp2) || (cp2 >= 0xE0020 && cp2 <= 0xE007E))
                break;
            if (bidi_control(cp2))
                c->bidi = 1;
            e += n2;
        }
        int touched = 0;
        size_t w = clean_word(s, i, e, d + o, c, &touched);
        if (touched && w) {
            memcpy(t + to, d + o, w);
            to += w;
            t[to++] = ' ';
        }
        o += w;
        i = e;
    }
    d[o] = '\0';
    t[to] = '\0';
    g[go] = '\0';
    c->changed = o != in.len || memcmp(d, in.p, o) != 0;
    if (c->changed)
        c->text = (fd_str){d, o};
    c->touched = (fd_str){t, to};
    c->smuggled = (fd_str){g, go};
    return FD_OK;
}

int fd_gu_blank(fd_str s)
{
    const unsigned char *p = (const unsigned char *)s.p;
    for (size_t i = 0; i < s.len;) {
        unsigned n;
        uint32_t cp = decode(p, i, &n);
        i += n;
        if (cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || invisible(cp))
            continue;
        if (cp >= 0x80) {
            utf8proc_category_t k = utf8proc_category((utf8proc_int32_t)cp);
            if (k == UTF8PROC_CATEGORY_ZS || k == UTF8PROC_CATEGORY_CC || k == UTF8PROC_CATEGORY_CF)
                continue;
        }
        return 0;
    }
    return 1;
}

/* ---- words and views --------------------------------------------------- */

static int alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c >= 0x80;
}

static int leet_sym(unsigned char c)
{
    return c == '@' || c == '$' || c == '!' || c == '|';
}

static int joiner(unsigned char c)
{
    return c == '_' || c == '.' || c == '-' || c == '*' || c == '+';
}

/* A bound on words keeps matching linear in the message; 2000 characters
 * never hold more. */
#define MAX_WORDS 1200

int fd_gu_split(fd_str f, int joined, fd_arena *a, fd_gu_words *out)
{
    const unsigned char *s = (const unsigned char *)f.p;
    size_t cap = f.len / 2 + 2;
    if (cap > MAX_WORDS)
        cap = MAX_WORDS;
    out->v = fd_arena_alloc(a, cap * sizeof *out->v);
    out->n = 0;
    /* joined words drop their separators, so they need their own bytes */
    char *buf = joined ? fd_arena_alloc(a, f.len + 1) : NULL;
    if (!out->v || (joined && !buf))
        return fd_arena_full(a) ? FD_ETOOBIG : FD_ENOMEM;
    size_t bo = 0;
    for (size_t i = 0; i < f.len && out->n < cap;) {
        if (!alnum(s[i]) && !(joined && leet_sym(s[i]) && i + 1 < f.len && alnum(s[i + 1]))) {
            i++;
            continue;
        }
        if (!joined) {
            size_t b = i;
            while (i < f.len && alnum(s[i]))
                i++;
            out->v[out->n++] = (fd_str){f.p + b, i - b};
            continue;
        }
        size_t b = bo;
        while (i < f.len) {
            if (alnum(s[i]) || leet_sym(s[i])) {
                buf[bo++] = (char)s[i++];
            } else if (joiner(s[i]) && i + 1 < f.len && i > 0 && alnum(s[i + 1]) &&
                       (alnum(s[i - 1]) || leet_sym(s[i - 1]))) {
                i++;
            } else {
                break;
            }
        }
        out->v[out->n++] = (fd_str){buf + b, bo - b};
    }
    return FD_OK;
}

int fd_gu_spaced(const fd_gu_words *w, fd_arena *a, fd_str *out)
{
    *out = (fd_str){"", 0};
    size_t total = 0;
    for (size_t i = 0; i < w->n; i++)
        total += w->v[i].len == 1;
    if (total < 4)
        return FD_OK;
    char *d = fd_arena_alloc(a, total * 2 + 1);
    if (!d)
        return fd_arena_full(a) ? FD_ETOOBIG : FD_ENOMEM;
    size_t o = 0;
    for (size_t i = 0; i < w->n;) {
        size_t j = i;
        while (j < w->n && w->v[j].len == 1)
            j++;
        if (j - i >= 4) {
            for (size_t k = i; k < j; k++)
                d[o++] = w->v[k].p[0];
            d[o++] = ' ';
        }
        i = j > i ? j : i + 1;
    }
    d[o] = '\0';
    *out = (fd_str){d, o};
    return FD_OK;
}

int fd_gu_reverse(fd_str s, fd_arena *a, fd_str *out)
{
    char *d = fd_arena_alloc(a, s.len + 1);
    if (!d)
        return fd_arena_full(a) ? FD_ETOOBIG : FD_ENOMEM;
    size_t o = s.len;
    for (size_t i = 0; i < s.len;) {
        size_t n = 1;
        while (i + n < s.len && ((unsigned char)s.p[i + n] & 0xC0) == 0x80)
            n++;
        o -= n;
        memcpy(d + o, s.p + i, n); /* code points keep their byte order */
        i += n;
    }
    d[s.len] = '\0';
    *out = (fd_str){d, s.len};
    return FD_OK;
}

int fd_gu_rot13(fd_str s, fd_arena *a, fd_str *out)
{
    char *d = fd_arena_alloc(a, s.len + 1);
    if (!d)
        return fd_arena_full(a) ? FD_ETOOBIG : FD_ENOMEM;
    for (size_t i = 0; i < s.len; i++) {
        char c = s.p[i];
        if (c >= 'a' && c <= 'z')
            c = (char)('a' + (c - 'a' + 13) % 26);
        else if (c >= 'A' && c <= 'Z')
            c = (char)('A' + (c - 'A' + 13) % 26);
        d[i] = c;
    }
    d[s.len] = '\0';
    *out = (fd_str){d, s.len};
    return FD_OK;
}

static int b64_val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

static int hex_val(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (unsigned char)(c | 0x20);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decoded bytes count as hidden text when nearly all are printable ASCII or
 * UTF-8 and they contain a space: random IDs and hashes decode to noise. */
static int texty(const char *p, size_t n)
{
    size_t good = 0, spaces = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        good += (c >= 0x20 && c < 0x7F) || c >= 0x80 || c == '\n';
        spaces += c == ' ';
    }
    return n >= 8 && spaces > 0 && good * 10 >= n * 9;
}

int fd_gu_decode_segments(fd_str s, fd_arena *a, fd_str *out)
{
    *out = (fd_str){"", 0};
    const unsigned char *p = (const unsigned char *)s.p;
    char *d = NULL;
    size_t o = 0;
    for (size_t i = 0; i < s.len;) {
        if (b64_val(p[i]) < 0 || (i > 0 && b64_val(p[i - 1]) >= 0)) {
            i++;
            continue;
        }
        size_t e = i;
        int hex = 1;
        while (e < s.len && b64_val(p[e]) >= 0) {
            hex &= hex_val(p[e]) >= 0;
            e++;
        }
        size_t run = e - i;
        while (e < s.len && p[e] == '=')
            e++;
        if (run >= 16) {
            if (!d) {
                d = fd_arena_alloc(a, s.len + 2);
                if (!d)
                    return fd_arena_full(a) ? FD_ETOOBIG : FD_ENOMEM;
            }
            size_t start = o;
            if (hex && run % 2 == 0) {
                for (size_t k = i; k + 1 < i + run; k += 2)
                    d[o++] = (char)(hex_val(p[k]) * 16 + hex_val(p[k + 1]));
            } else {
                uint32_t acc = 0;
                int bits = 0;
                for (size_t k = i; k < i + run; k++) {
                    acc = (acc << 6) | (uint32_t)b64_val(p[k]);
                    bits += 6;
                    if (bits >= 8) {
                        bits -= 8;
                        d[o++] = (char)((acc >> bits) & 0xFF);
                    }
                }
            }
            if (texty(d + start, o - start))
                d[o++] = '\n';
            else
                o = start;
        }
        i = e;
    }
    if (d && o) {
        d[o] = '\0';
        *out = (fd_str){d, o};
    }
    return FD_OK;
}

/* Stems of the words attackers disguise; a disguised word that contains one
 * is a trick, not an accident. Folded forms (accents gone). */
static const char *const keywords[] = {
    "ignor",     "instruction", "prompt",     "system",      "systeme",  "password",
    "passwd",    "disregard",   "reveal",     "jailbr",      "override", "bypass",
    "forget",    "rules",       "secret",     "admin",       "apikey",   "credential",
    "consigne",  "oubli",       "regle",      "revel",       "affiche",  "motdepasse",
    "previous",  "precedent",   "developer",  "restriction", "filter",   "token",
    "guideline", "directive",   "unrestrict",
};

int fd_gu_has_keyword(fd_str f)
{
    for (size_t k = 0; k < sizeof keywords / sizeof keywords[0]; k++) {
        size_t n = strlen(keywords[k]);
        for (size_t i = 0; i + n <= f.len; i++)
            if (f.p[i] == keywords[k][0] && !memcmp(f.p + i, keywords[k], n))
                return 1;
    }
    return 0;
}
