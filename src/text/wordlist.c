/* wordlist.c: "is this a word of the language?" from plain word lists, one
 * word a line (Debian's wamerican, wbritish and wfrench: /usr/share/dict).
 * The spelling corrector (answer/normalize.c) asks it before touching a
 * word: "hiring" and "combien" are words the knowledge base may not use,
 * not typos of words it does ("airing", "combin"); "saturdys" is neither.
 *
 * Stored as a set of 64-bit hashes of the folded spelling (lowercase,
 * Latin accents stripped, so "ete" finds "été" as customers type it), in
 * one open-addressed table: 450k words in 8 MB, no strings kept. A false
 * "is a word" needs a 64-bit collision. */
#include "text_int.h"

#include <stdio.h>
#include <string.h>

struct fd_wordlist {
    uint64_t *slot; /* 0: empty (a hash of 0 is stored as 1) */
    size_t cap;     /* a power of two */
    size_t n;
};

#define SEED 0x9e3779b97f4a7c15ULL

/* Lowercase ASCII, the Latin-1 accented letters as their base letter, œ/æ
 * as two letters; anything else as is. out has room for 2 * n bytes. */
static size_t fold_word(const char *w, size_t n, char *out)
{
    static const char *const from[] = {"à", "â", "ä", "á", "ç", "é", "è", "ê", "ë", "î", "ï",
                                       "í", "ô", "ö", "ó", "ù", "û", "ü", "ú", "ÿ", "ñ", "œ",
                                       "æ", "À", "Â", "Ç", "É", "È", "Ê", "Î", "Ô", "Û"};
    static const char *const to[] = {"a",  "a", "a", "a", "c", "e", "e", "e", "e", "i", "i",
                                     "i",  "o", "o", "o", "u", "u", "u", "u", "y", "n", "oe",
                                     "ae", "a", "a", "c", "e", "e", "e", "i", "o", "u"};
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        unsigned char ch = (unsigned char)w[i];
        if (ch < 0x80) {
            out[k++] = (char)(ch >= 'A' && ch <= 'Z' ? ch | 0x20 : ch);
            i++;
            continue;
        }
        size_t j = 0;
        for (; j < sizeof from / sizeof *from; j++) {
            size_t m = strlen(from[j]);
            if (i + m <= n && memcmp(w + i, from[j], m) == 0) {
                size_t t = strlen(to[j]);
                memcpy(out + k, to[j], t);
                k += t;
                i += m;
                break;
            }
        }
        if (j == sizeof from / sizeof *from)
            out[k++] = w[i++];
    }
    return k;
}

static uint64_t word_hash(const char *w, size_t n)
{
    char f[256];
    if (n > sizeof f / 2)
        n = sizeof f / 2;
    size_t k = fold_word(w, n, f);
    uint64_t h = fd_hash64(f, k, SEED);
    return h ? h : 1;
}

static int grow(fd_wordlist *wl)
{
    size_t cap = wl->cap ? wl->cap * 2 : 1 << 16;
    uint64_t *s = fd_calloc(cap, sizeof *s);
    if (!s)
        return FD_ENOMEM;
    for (size_t i = 0; i < wl->cap; i++) {
        uint64_t h = wl->slot[i];
        if (!h)
            continue;
        size_t j = h & (cap - 1);
        while (s[j])
            j = (j + 1) & (cap - 1);
        s[j] = h;
    }
    fd_free(wl->slot);
    wl->slot = s;
    wl->cap = cap;
    return FD_OK;
}

static int add(fd_wordlist *wl, uint64_t h)
{
    if ((wl->n + 1) * 2 > wl->cap && grow(wl))
        return FD_ENOMEM;
    size_t j = h & (wl->cap - 1);
    while (wl->slot[j]) {
        if (wl->slot[j] == h)
            return FD_OK;
        j = (j + 1) & (wl->cap - 1);
    }
    wl->slot[j] = h;
    wl->n++;
    return FD_OK;
}

int fd_wordlist_new(fd_wordlist **out, fd_err *err)
{
    *out = fd_calloc(1, sizeof **out);
    return *out ? FD_OK : fd_err_set(err, FD_ENOMEM, "word list: out of memory");
}

int fd_wordlist_load(fd_wordlist *wl, const char *path, fd_err *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return fd_err_set(err, FD_ENOTFOUND, "word list %s: cannot open", path);
    char line[256];
    int rc = FD_OK;
    while (!rc && fgets(line, sizeof line, f)) {
        size_t n = strcspn(line, "\r\n");
        /* "Saturday's": the possessive is not a spelling of its own. */
        char *ap = memchr(line, '\'', n);
        if (ap)
            n = (size_t)(ap - line);
        if (n)
            rc = add(wl, word_hash(line, n));
    }
    int bad = ferror(f);
    fclose(f);
    if (rc)
        return fd_err_set(err, FD_ENOMEM, "word list %s: out of memory", path);
    if (bad)
        return fd_err_set(err, FD_EIO, "word list %s: read error", path);
    return FD_OK;
}

int fd_wordlist_has(const fd_wordlist *wl, const char *w, size_t n)
{
    if (!wl || !wl->cap || n == 0)
        return 0;
    uint64_t h = word_hash(w, n);
    size_t j = h & (wl->cap - 1);
    while (wl->slot[j]) {
        if (wl->slot[j] == h)
            return 1;
        j = (j + 1) & (wl->cap - 1);
    }
    return 0;
}

size_t fd_wordlist_size(const fd_wordlist *wl)
{
    return wl ? wl->n : 0;
}

void fd_wordlist_free(fd_wordlist *wl)
{
    if (!wl)
        return;
    fd_free(wl->slot);
    fd_free(wl);
}
