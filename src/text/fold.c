/* fold.c: matching form of text: NFKC, case fold, accents stripped
 * ("Crème" -> "creme"). ASCII, most of what customers type, never reaches
 * utf8proc: lower-casing is all NFKC_Casefold does to it. */
#include "text_int.h"

#include <ctype.h>
#include <string.h>
#include <utf8proc.h>

/* COMPOSE implies decomposing first, which is what lets STRIPMARK drop the
 * accent of a precomposed "è". LUMP turns ’ into ' and Unicode dashes into
 * '-', so phone-typed text matches keyboard-typed text; IGNORE drops soft
 * hyphens and zero-width joiners. */
#define FOLD_OPTS                                                                                  \
    (UTF8PROC_STABLE | UTF8PROC_COMPAT | UTF8PROC_COMPOSE | UTF8PROC_CASEFOLD |                    \
     UTF8PROC_STRIPMARK | UTF8PROC_IGNORE | UTF8PROC_LUMP)

/* œ and æ have no decomposition, but French writers type "oe" as often as
 * "œ" (coeur/cœur). Same byte length, so this rewrites in place. */
static void spell_ligatures(char *p, size_t n)
{
    for (size_t i = 0; i + 1 < n; i++) {
        unsigned char c = (unsigned char)p[i];
        unsigned char d = (unsigned char)p[i + 1];
        if (c == 0xC5 && d == 0x93) {
            p[i] = 'o';
            p[i + 1] = 'e';
        } else if (c == 0xC3 && d == 0xA6) {
            p[i] = 'a';
            p[i + 1] = 'e';
        }
    }
}

int fd_tx_fold_utf8(const char *p, size_t n, fd_tx_scratch *sc, fd_arena *a, const char **out,
                    size_t *out_len)
{
    const utf8proc_uint8_t *s = (const utf8proc_uint8_t *)p;
    int32_t *buf = sc->buf;
    /* reencode writes up to 4 bytes per code point plus a NUL, in place:
     * the buffer needs one spare slot. */
    utf8proc_ssize_t cap = (utf8proc_ssize_t)(sizeof sc->buf / sizeof sc->buf[0]) - 1;
    utf8proc_ssize_t r = utf8proc_decompose(s, (utf8proc_ssize_t)n, buf, cap, FOLD_OPTS);
    if (r > cap) {
        if (!a)
            return FD_ETOOBIG; /* callers without an arena fold short words only */
        if ((size_t)r > SIZE_MAX / sizeof(int32_t) - 1)
            return FD_ETOOBIG;
        buf = fd_arena_alloc(a, ((size_t)r + 1) * sizeof(int32_t));
        if (!buf)
            return fd_arena_full(a) ? FD_ETOOBIG : FD_ENOMEM;
        r = utf8proc_decompose(s, (utf8proc_ssize_t)n, buf, r, FOLD_OPTS);
    }
    if (r < 0)
        return FD_EUTF8; /* callers validate first; kept so a bug is an error, not UB */
    utf8proc_ssize_t len = utf8proc_reencode(buf, r, FOLD_OPTS);
    if (len < 0)
        return FD_EUTF8;
    spell_ligatures((char *)buf, (size_t)len);
    *out = (const char *)buf;
    *out_len = (size_t)len;
    return FD_OK;
}

static int is_ascii(const char *p, size_t n)
{
    /* OR-reduce 8 bytes at a time: one branch per word of text. */
    uint64_t acc = 0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        acc |= w;
    }
    for (; i < n; i++)
        acc |= (unsigned char)p[i];
    return !(acc & 0x8080808080808080ull);
}

int fd_text_fold(fd_str in, fd_arena *a, fd_str *out, fd_err *err)
{
    int rc = fd_tx_check_input(in, err);
    if (rc)
        return rc;
    const char *src = in.p;
    size_t n = in.len;
    fd_tx_scratch sc;
    int ascii = is_ascii(in.p, in.len);
    if (!ascii) {
        rc = fd_tx_fold_utf8(in.p, in.len, &sc, a, &src, &n);
        if (rc == FD_ENOMEM || rc == FD_ETOOBIG)
            return fd_tx_arena_err(a, err);
        if (rc)
            return fd_err_set(err, rc, "text: utf8proc rejected the input");
    }
    char *d = fd_arena_alloc(a, n + 1);
    if (!d)
        return fd_tx_arena_err(a, err);
    if (ascii) {
        for (size_t i = 0; i < n; i++)
            d[i] = (char)fd_tx_lc((unsigned char)src[i]);
    } else if (n) {
        memcpy(d, src, n);
    }
    d[n] = '\0';
    out->p = d;
    out->len = n;
    return FD_OK;
}

int fd_text_has_word(fd_str f, const char *w)
{
    return fd_tx_has_bounded(f, w, 0);
}
