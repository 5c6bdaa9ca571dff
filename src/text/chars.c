/* chars.c: what the scanner needs to know about a character, plus the
 * small-string pool and the input checks shared by the text functions.
 * ASCII is a table lookup; only non-ASCII code points reach utf8proc. */
#include "text_int.h"

#include <ctype.h>
#include <string.h>

#include <utf8proc.h>

#define O TX_OTHER
#define A TX_ALPHA
#define D TX_DIGIT
#define Q TX_APOS
#define H TX_HYPHEN
#define P TX_DOT
#define C TX_COMMA
#define T TX_AT
#define U TX_CUR
#define I TX_INCHQ
#define R TX_PCT
#define S TX_SPACE
static const unsigned char ascii_cls[128] = {
    O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O,
    S, O, I, O, U, R, O, Q, O, O, O, O, C, H, P, O, D, D, D, D, D, D, D, D, D, D, O, O, O, O, O, O,
    T, A, A, A, A, A, A, A, A, A, A, A, A, A, A, A, A, A, A, A, A, A, A, A, A, A, A, O, O, O, O, O,
    O, A, A, A, A, A, A, A, A, A, A, A, A, A, A, A, A, A, A, A, A, A, A, A, A, A, A, O, O, O, O, O,
};
#undef O
#undef A
#undef D
#undef Q
#undef H
#undef P
#undef C
#undef T
#undef U
#undef I
#undef R
#undef S

/* Punctuation that changes how a token is read; checked before the Unicode
 * category because most of it is plain punctuation there. */
static fd_tx_cls special_class(uint32_t cp)
{
    switch (cp) {
    case 0x2019: /* ’ what phones type for ' */
    case 0x02BC: /* modifier apostrophe */
        return TX_APOS;
    case 0x2010:
    case 0x2011:
        return TX_HYPHEN;
    case 0x2013:
        return TX_DASH;
    case 0x20AC: /* € */
    case 0x00A3: /* £ */
    case 0x00A5: /* ¥ */
    case 0x20B9: /* ₹ */
        return TX_CUR;
    case 0x201D: /* ” autocorrected inch mark */
    case 0x2033: /* ″ double prime */
        return TX_INCHQ;
    case 0x00A0:
    case 0x202F: /* French "10 €" uses (narrow) no-break spaces */
        return TX_SPACE;
    default:
        return TX_OTHER;
    }
}

static fd_tx_cls category_class(uint32_t cp)
{
    switch (utf8proc_category((utf8proc_int32_t)cp)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_NL: /* Ⅻ, ², ½ fold to digits inside a word */
    case UTF8PROC_CATEGORY_NO:
        return TX_ALPHA;
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME:
        return TX_MARK;
    case UTF8PROC_CATEGORY_ND:
        return TX_DIGIT;
    case UTF8PROC_CATEGORY_CF:
        return TX_IGN;
    default:
        return TX_OTHER;
    }
}

fd_tx_cls fd_tx_class(const unsigned char *s, size_t len, size_t i, unsigned *n)
{
    if (i >= len) {
        *n = 0;
        return TX_OTHER;
    }
    unsigned char c = s[i];
    if (c < 0x80) {
        *n = 1;
        return (fd_tx_cls)ascii_cls[c];
    }
    /* Input was validated, but a short tail must still never be read past. */
    unsigned k = c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    if (len - i < k) {
        *n = (unsigned)(len - i);
        return TX_OTHER;
    }
    uint32_t cp = c & (0x7F >> k);
    for (unsigned j = 1; j < k; j++)
        cp = (cp << 6) | (s[i + j] & 0x3F);
    *n = k;
    fd_tx_cls cls = special_class(cp);
    return cls != TX_OTHER ? cls : category_class(cp);
}

char *fd_tx_pool_alloc(fd_tx_pool *pl, size_t n)
{
    if (n > pl->left) {
        /* 512-byte chunks amortize the arena call; a tiny arena may not
         * have 512 left, so retry with the exact size before failing. */
        size_t chunk = n > 512 ? n : 512;
        char *p = fd_arena_alloc(pl->a, chunk);
        if (!p && chunk > n) {
            chunk = n;
            p = fd_arena_alloc(pl->a, chunk);
        }
        if (!p)
            return NULL;
        pl->p = p;
        pl->left = chunk;
    }
    char *r = pl->p;
    pl->p += n;
    pl->left -= n;
    return r;
}

int fd_tx_arena_err(fd_arena *a, fd_err *err)
{
    if (fd_arena_full(a))
        return fd_err_set(err, FD_ETOOBIG, "text: arena cap reached");
    return fd_err_set(err, FD_ENOMEM, "text: out of memory");
}

int fd_tx_check_input(fd_str in, fd_err *err)
{
    if (!in.p && in.len)
        return fd_err_set(err, FD_EINVAL, "text: NULL input with length %zu", in.len);
    if (in.len > UINT32_MAX)
        return fd_err_set(err, FD_ETOOBIG, "text: input of %zu bytes (max 4 GiB)", in.len);
    size_t bad = 0;
    if (in.len && !fd_utf8_valid(in.p, in.len, &bad))
        return fd_err_set(err, FD_EUTF8, "text: invalid UTF-8 at byte %zu", bad);
    return FD_OK;
}

int fd_tx_is_elision(const unsigned char *p, size_t n)
{
    static const char *const pre[] = {"l", "d",  "j",     "m",      "n",      "s",     "t",
                                      "c", "qu", "jusqu", "lorsqu", "puisqu", "quoiqu"};
    if (n == 0 || n > 6)
        return 0;
    char w[8];
    for (size_t i = 0; i < n; i++)
        w[i] = (char)fd_tx_lc(p[i]);
    for (size_t k = 0; k < sizeof pre / sizeof pre[0]; k++)
        if (strlen(pre[k]) == n && !memcmp(pre[k], w, n))
            return 1;
    return 0;
}

static int letter(unsigned char c, int high)
{
    return isalnum(c) || (high && c >= 0x80);
}

/* The first byte found with memchr, then the rest compared: the order
 * reader and the escalation rules ask for dozens of words per message, and
 * a memcmp at every byte was a fifth of a cached turn (perf, issue 13). */
int fd_tx_has_bounded(fd_str text, const char *w, int high_bytes_are_letters)
{
    size_t k = strlen(w);
    if (k == 0 || k > text.len)
        return 0;
    const char *p = text.p, *last = text.p + (text.len - k);
    while (p <= last) {
        const char *q = memchr(p, w[0], (size_t)(last - p) + 1);
        if (!q)
            return 0;
        size_t i = (size_t)(q - text.p);
        if (memcmp(q + 1, w + 1, k - 1) == 0 &&
            (i == 0 || !letter((unsigned char)text.p[i - 1], high_bytes_are_letters)) &&
            (i + k == text.len || !letter((unsigned char)text.p[i + k], high_bytes_are_letters)))
            return 1;
        p = q + 1;
    }
    return 0;
}

int fd_text_has_phrase(fd_str text, const char *phrase)
{
    return fd_tx_has_bounded(text, phrase, 1);
}
