/* analyzer.c: text -> index terms: tokens, folded, stopwords dropped,
 * words stemmed with Snowball, compound tokens split so every spelling of
 * "12-inch" or "PB-1203" meets. Runs on every indexed chunk and query, so
 * stems are cached per analyzer and nothing is malloc'ed per token. */
#include "text_int.h"

#include <libstemmer.h>

/* Direct-mapped cache of stems (and stopword flags): a knowledge base
 * repeats a few thousand words, and a hit costs a hash and a memcmp where
 * Snowball costs ~10x more. 4096 x 64 bytes = 256 KiB per analyzer. */
#define CACHE_BITS 12
#define CACHE_WORD 28 /* longer words bypass the cache */
/* Longer "words" (hashes, base64) are not worth stemming; Snowball would
 * run on them for nothing. */
#define STEM_MAX 64

typedef struct centry {
    uint32_t hash; /* 0 = empty slot */
    uint8_t lang, wlen, slen, stop;
    char word[CACHE_WORD];
    char stem[CACHE_WORD];
} centry;
_Static_assert(sizeof(centry) == 64, "one cache line per entry");

struct fd_analyzer {
    struct sb_stemmer *stem[FD__NLANGS]; /* EN and FR; UNKNOWN uses EN */
    centry *cache;
};

void fd_analyzer_free(fd_analyzer *an)
{
    if (!an)
        return;
    for (int i = 0; i < FD__NLANGS; i++)
        sb_stemmer_delete(an->stem[i]);
    fd_free(an->cache);
    fd_free(an);
}

int fd_analyzer_new(fd_analyzer **out, fd_err *err)
{
    *out = NULL;
    fd_analyzer *an = fd_calloc(1, sizeof *an);
    if (!an)
        return fd_err_set(err, FD_ENOMEM, "analyzer: out of memory");
    an->cache = fd_calloc((size_t)1 << CACHE_BITS, sizeof(centry));
    an->stem[FD_LANG_EN] = sb_stemmer_new("english", "UTF_8");
    an->stem[FD_LANG_FR] = sb_stemmer_new("french", "UTF_8");
    if (!an->cache || !an->stem[FD_LANG_EN] || !an->stem[FD_LANG_FR]) {
        fd_analyzer_free(an);
        /* sb_stemmer_new also returns NULL for an unknown algorithm, but
         * both are built into every libstemmer: out of memory it is. */
        return fd_err_set(err, FD_ENOMEM, "analyzer: cannot create the stemmers");
    }
    *out = an;
    return FD_OK;
}

/* The language whose stemmer and stopwords apply. */
static fd_lang eff_lang(fd_lang lang)
{
    return lang == FD_LANG_FR ? FD_LANG_FR : FD_LANG_EN;
}

static uint32_t hash_word(const char *w, size_t n, fd_lang lang)
{
    uint32_t h = 2166136261u ^ (uint32_t)lang;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)w[i];
        h *= 16777619u;
    }
    return (h ^ (h >> 15)) | 1; /* never 0: 0 marks an empty slot */
}

/* Stem of a folded word. *s is the stem (valid until the next call),
 * *stop says the word is a stopword of lang. FD_ENOMEM from Snowball. */
typedef struct stem_out {
    const char *p;
    size_t n;
    int stop;
} stem_out;

/* Snowball on one word; words past STEM_MAX come back unchanged. */
static int snowball(fd_analyzer *an, fd_lang lang, const char *w, size_t n, stem_out *o)
{
    o->p = w;
    o->n = n;
    if (n > STEM_MAX)
        return FD_OK;
    const sb_symbol *r = sb_stemmer_stem(an->stem[lang], (const sb_symbol *)w, (int)n);
    if (!r)
        return FD_ENOMEM;
    o->p = (const char *)r;
    o->n = (size_t)sb_stemmer_length(an->stem[lang]);
    return FD_OK;
}

static int stem_uncached(fd_analyzer *an, fd_lang lang, const char *w, size_t n, stem_out *o)
{
    o->stop = fd_tx_stopword(lang, w, n);
    if (o->stop) {
        o->p = w;
        o->n = n;
        return FD_OK;
    }
    return snowball(an, lang, w, n, o);
}

static int stem_word(fd_analyzer *an, fd_lang lang, const char *w, size_t n, stem_out *o)
{
    if (n > CACHE_WORD)
        return stem_uncached(an, lang, w, n, o);
    uint32_t h = hash_word(w, n, lang);
    centry *e = &an->cache[h & ((1u << CACHE_BITS) - 1)];
    if (e->hash == h && e->lang == lang && e->wlen == n && !memcmp(e->word, w, n)) {
        *o = (stem_out){e->stem, e->slen, e->stop};
        return FD_OK;
    }
    int rc = stem_uncached(an, lang, w, n, o);
    if (rc || o->n > CACHE_WORD)
        return rc;
    e->hash = h;
    e->lang = (uint8_t)lang;
    e->wlen = (uint8_t)n;
    e->slen = (uint8_t)o->n;
    e->stop = (uint8_t)o->stop;
    memcpy(e->word, w, n);
    memcpy(e->stem, o->p, o->n);
    return FD_OK;
}

/* ---- terms -------------------------------------------------------------- */

/* Terms collected for one text; every string is in the arena. */
typedef struct sink {
    fd_analyzer *an;
    fd_lang lang;
    fd_arena *a;
    fd_tx_pool *pool;
    fd_err *err;
    fd_term *v;
    size_t n, cap;
    uint32_t off, len; /* the token the next terms come from */
} sink;

static int push(sink *k, const char *p, size_t n)
{
    if (n == 0)
        return FD_OK;
    if (k->n == k->cap) {
        size_t ncap = k->cap * 2;
        fd_term *nv = fd_arena_alloc(k->a, ncap * sizeof *nv);
        if (!nv)
            return fd_tx_arena_err(k->a, k->err);
        memcpy(nv, k->v, k->n * sizeof *nv);
        k->v = nv;
        k->cap = ncap;
    }
    k->v[k->n++] = (fd_term){{p, n}, k->off, k->len};
    return FD_OK;
}

/* The stem of folded word w (in the arena), unless it is a stopword. */
static int emit_word(sink *k, const char *w, size_t n)
{
    stem_out o;
    if (stem_word(k->an, k->lang, w, n, &o))
        return fd_err_set(k->err, FD_ENOMEM, "analyzer: stemmer out of memory");
    if (o.stop)
        return FD_OK;
    /* English stems are mostly prefixes of the word: share its bytes. */
    if (o.n <= n && !memcmp(w, o.p, o.n))
        return push(k, w, o.n);
    char *d = fd_tx_pool_alloc(k->pool, o.n);
    if (!d)
        return fd_tx_arena_err(k->a, k->err);
    memcpy(d, o.p, o.n);
    return push(k, d, o.n);
}

static int has_digit(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] >= '0' && p[i] <= '9')
            return 1;
    return 0;
}

/* A part of a compound: words are stemmed (and may be stopwords), parts
 * with digits are kept as they are. */
static int emit_part(sink *k, const char *p, size_t n)
{
    return has_digit(p, n) ? push(k, p, n) : emit_word(k, p, n);
}

/* "take-away", "PB-1203": the whole (done by the caller), the hyphens
 * removed ("takeaway", "pb1203", what people also type), then each part. */
static int emit_hyphenated(sink *k, const char *p, size_t n, int stem)
{
    char *j = fd_tx_pool_alloc(k->pool, n);
    if (!j)
        return fd_tx_arena_err(k->a, k->err);
    size_t jn = 0;
    for (size_t i = 0; i < n; i++)
        if (p[i] != '-')
            j[jn++] = p[i];
    int rc = stem ? emit_word(k, j, jn) : push(k, j, jn);
    size_t b = 0;
    for (size_t i = 0; i <= n && !rc; i++) {
        if (i < n && p[i] != '-')
            continue;
        if (i > b)
            rc = emit_part(k, p + b, i - b);
        b = i + 1;
    }
    return rc;
}

static int emit_split(sink *k, fd_str t, size_t at, int unit_is_word)
{
    int rc = push(k, t.p, t.len);
    if (!rc && at > 0 && at < t.len)
        rc = push(k, t.p, at);
    if (!rc && unit_is_word && at < t.len)
        rc = emit_word(k, t.p + at, t.len - at);
    return rc;
}

static size_t first_byte_of(fd_str t, int (*want)(char))
{
    size_t i = 0;
    while (i < t.len && !want(t.p[i]))
        i++;
    return i;
}

static int is_unit_start(char c)
{
    return (c >= 'a' && c <= 'z') || c == '%';
}

static int is_digit_char(char c)
{
    return c >= '0' && c <= '9';
}

static int emit_token(sink *k, const fd_token *t)
{
    fd_str s = t->norm;
    int hyph = memchr(s.p, '-', s.len) != NULL;
    int rc;
    switch (t->kind) {
    case FD_TOK_WORD:
        rc = emit_word(k, s.p, s.len);
        return rc || !hyph ? rc : emit_hyphenated(k, s.p, s.len, 1);
    case FD_TOK_CODE:
        rc = push(k, s.p, s.len);
        return rc || !hyph ? rc : emit_hyphenated(k, s.p, s.len, 0);
    case FD_TOK_MEASURE: { /* "12inch" -> "12inch", "12", "inch" */
        size_t at = first_byte_of(s, is_unit_start);
        return emit_split(k, s, at, at < s.len && s.p[at] != '%');
    }
    case FD_TOK_MONEY: { /* "s$1.20" -> "s$1.20", "1.20" */
        size_t at = first_byte_of(s, is_digit_char);
        rc = push(k, s.p, s.len);
        return rc || at == 0 || at >= s.len ? rc : push(k, s.p + at, s.len - at);
    }
    case FD_TOK_RANGE: { /* "3-5" -> "3-5", "3", "5" */
        const char *d = memchr(s.p, '-', s.len);
        size_t at = d ? (size_t)(d - s.p) : s.len;
        rc = push(k, s.p, s.len);
        if (!rc && d)
            rc = push(k, s.p, at);
        return rc || !d ? rc : push(k, d + 1, s.len - at - 1);
    }
    default: /* numbers and e-mails: one term */
        return push(k, s.p, s.len);
    }
}

int fd_analyzer_terms(fd_analyzer *an, fd_str text, fd_lang lang, fd_arena *a, fd_terms *out,
                      fd_err *err)
{
    out->v = NULL;
    out->n = 0;
    int rc = fd_tx_check_input(text, err);
    if (rc)
        return rc;
    fd_tx_lexer lx;
    fd_tx_lexer_init(&lx, text, a);
    sink k = {an, eff_lang(lang), a, &lx.pool, err, NULL, 0, 0, 0, 0};
    k.cap = text.len / 5 + 8; /* ~1 term per word of prose; push doubles it */
    k.v = fd_arena_alloc(a, k.cap * sizeof *k.v);
    if (!k.v)
        return fd_tx_arena_err(a, err);
    for (;;) {
        fd_token t;
        int r = fd_tx_lexer_next(&lx, &t, err);
        if (r < 0)
            return -r;
        if (r == 0)
            break;
        k.off = t.off;
        k.len = t.len;
        rc = emit_token(&k, &t);
        if (rc)
            return rc;
    }
    out->v = k.v;
    out->n = k.n;
    return FD_OK;
}

int fd_analyzer_stem(fd_analyzer *an, fd_lang lang, fd_str word, fd_arena *a, fd_str *out,
                     fd_err *err)
{
    int rc = fd_tx_check_input(word, err);
    if (rc)
        return rc;
    stem_out o = {word.p ? word.p : "", word.len, 0};
    if (word.len && snowball(an, eff_lang(lang), word.p, word.len, &o))
        return fd_err_set(err, FD_ENOMEM, "analyzer: stemmer out of memory");
    char *d = fd_arena_strndup(a, o.p, o.n);
    if (!d)
        return fd_tx_arena_err(a, err);
    *out = (fd_str){d, o.n};
    return FD_OK;
}
