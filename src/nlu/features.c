/* features.c: text -> hashed, weighted sparse features for the intent
 * classifier: word 1-2-grams and char n-grams inside word boundaries, the
 * vocabulary that maps feature hashes to dense ids, and TF-IDF weighting.
 * No stemming: Snowball stemmers are not thread-safe and classification
 * must be, and char n-grams already tie "refund"/"refunded" together. */
#include "nlu_int.h"

#include "sort.h"

#include <math.h>
#include <stdlib.h>

/* Seeds keep word and char features apart when their bytes coincide
 * ("the" as a word and "the" as a char trigram). */
#define SEED_WORD 0x9e3779b97f4a7c15ull
#define SEED_CHAR 0xc2b2ae3d27d4eb4full
/* Caps what one message can cost: a message longer than this many words
 * is classified on its first MAX_WORDS words. */
#define MAX_WORDS 256
#define MAX_WORD_BYTES 48

void fd_nlu_fcfg_default(fd_nlu_fcfg *c)
{
    c->word_n = 2;
    c->char_lo = 3;
    c->char_hi = 5;
    c->min_df = 1;
    c->char_w = 0.5f;
}

/* Numbers, codes and amounts generalize by kind, not by value: "where is
 * order HP-240517" must look like every other order id. */
static fd_str token_form(const fd_token *t)
{
    switch (t->kind) {
    case FD_TOK_NUMBER:
        return FD_STR_LIT("0");
    case FD_TOK_MEASURE:
        return FD_STR_LIT("0u");
    case FD_TOK_MONEY:
        return FD_STR_LIT("$0");
    case FD_TOK_RANGE:
        return FD_STR_LIT("0-0");
    case FD_TOK_CODE:
        return FD_STR_LIT("x-0");
    case FD_TOK_EMAIL:
        return FD_STR_LIT("x@x");
    default:
        break;
    }
    fd_str s = t->norm;
    if (s.len > MAX_WORD_BYTES)
        s.len = MAX_WORD_BYTES;
    return s;
}

/* Features sorted by hash (core/sort.h: an inline quicksort, not glibc's
 * qsort through a callback); equal hashes are merged right after. */
#define RAW_KEY(x) ((x).h)
FD_SORT_DEFINE(sort_raw, fd_nlu_raw, RAW_KEY)

static uint64_t hash_pair(uint64_t a, uint64_t b)
{
    return fd_hash64(&b, sizeof b, a ^ SEED_WORD);
}

/* Char grams of " w " for every word: the padding marks prefixes and
 * suffixes, which carry most of the morphology. */
static size_t char_grams(const fd_nlu_fcfg *cfg, const fd_str *w, size_t nw, fd_nlu_raw *r)
{
    size_t k = 0;
    char buf[MAX_WORD_BYTES + 2];
    for (size_t i = 0; i < nw; i++) {
        size_t n = w[i].len + 2;
        buf[0] = ' ';
        memcpy(buf + 1, w[i].p, w[i].len);
        buf[n - 1] = ' ';
        for (size_t g = cfg->char_lo; g <= cfg->char_hi && g <= n; g++)
            for (size_t s = 0; s + g <= n; s++)
                r[k++] = (fd_nlu_raw){fd_hash64(buf + s, g, SEED_CHAR), 1.0f, 1};
    }
    return k;
}

int fd_nlu_featurize(const fd_nlu_fcfg *cfg, fd_str text, fd_arena *a, fd_nlu_raw **out, size_t *n,
                     fd_err *err)
{
    fd_tokens t;
    *out = NULL;
    *n = 0;
    int rc = fd_text_tokenize(text, a, &t, err);
    if (rc)
        return rc;
    size_t nw = t.n < MAX_WORDS ? t.n : MAX_WORDS;
    fd_str *w = fd_arena_alloc(a, (nw + 1) * sizeof *w);
    uint64_t *wh = fd_arena_alloc(a, (nw + 2) * sizeof *wh);
    if (!w || !wh)
        return fd_err_set(err, fd_arena_full(a) ? FD_ETOOBIG : FD_ENOMEM, "features: no memory");
    /* words + bigrams with both edges + char grams of each word */
    size_t cap = 2 * nw + 2;
    for (size_t i = 0; i < nw; i++) {
        w[i] = token_form(&t.v[i]);
        for (size_t g = cfg->char_lo; cfg->char_hi && g <= cfg->char_hi; g++)
            cap += w[i].len + 2 >= g ? w[i].len + 3 - g : 0;
    }
    fd_nlu_raw *r = fd_arena_alloc(a, (cap + 1) * sizeof *r);
    if (!r)
        return fd_err_set(err, fd_arena_full(a) ? FD_ETOOBIG : FD_ENOMEM, "features: no memory");
    size_t k = 0;
    wh[0] = fd_hash64("^", 1, SEED_WORD); /* sentence edges, for bigrams */
    for (size_t i = 0; i < nw; i++) {
        wh[i + 1] = fd_hash64(w[i].p, w[i].len, SEED_WORD);
        r[k++] = (fd_nlu_raw){wh[i + 1], 1.0f, 0};
    }
    wh[nw + 1] = fd_hash64("$", 1, SEED_WORD);
    if (cfg->word_n >= 2 && nw > 0)
        for (size_t i = 0; i + 1 < nw + 2; i++)
            r[k++] = (fd_nlu_raw){hash_pair(wh[i], wh[i + 1]), 1.0f, 0};
    if (cfg->char_hi)
        k += char_grams(cfg, w, nw, r + k);
    if (!k)
        return FD_OK;
    sort_raw(r, k);
    size_t u = 0;
    for (size_t i = 1; i < k; i++) {
        if (r[i].h == r[u].h)
            r[u].tf += 1.0f;
        else
            r[++u] = r[i];
    }
    *out = r;
    *n = u + 1;
    return FD_OK;
}

/* ---- vocabulary ---------------------------------------------------------- */

static size_t slot_of(uint64_t h, size_t cap)
{
    /* hashes are already well mixed: the low bits will do */
    return (size_t)(h & (cap - 1));
}

long fd_nlu_vocab_find(const fd_nlu_vocab *v, uint64_t h)
{
    if (!v->cap)
        return -1;
    for (size_t s = slot_of(h, v->cap);; s = (s + 1) & (v->cap - 1)) {
        uint32_t id = v->slots[s];
        if (!id)
            return -1;
        if (v->keys[id - 1] == h)
            return (long)(id - 1);
    }
}

static int vocab_grow(fd_nlu_vocab *v)
{
    size_t cap = v->cap ? v->cap * 2 : 1024;
    uint32_t *slots = fd_calloc(cap, sizeof *slots);
    if (!slots)
        return FD_ENOMEM;
    for (size_t i = 0; i < v->n; i++) {
        size_t s = slot_of(v->keys[i], cap);
        while (slots[s])
            s = (s + 1) & (cap - 1);
        slots[s] = (uint32_t)(i + 1);
    }
    fd_free(v->slots);
    v->slots = slots;
    v->cap = cap;
    return FD_OK;
}

int fd_nlu_vocab_add(fd_nlu_vocab *v, uint64_t h, uint32_t *id, int *added)
{
    long f = fd_nlu_vocab_find(v, h);
    *added = 0;
    if (f >= 0) {
        *id = (uint32_t)f;
        return FD_OK;
    }
    if (v->n >= UINT32_MAX - 1)
        return FD_ETOOBIG;
    /* load factor under 1/2 keeps probe runs short */
    if ((v->n + 1) * 2 > v->cap && vocab_grow(v))
        return FD_ENOMEM;
    if (v->n == v->keys_cap) {
        size_t kc = v->keys_cap ? v->keys_cap * 2 : 1024;
        uint64_t *k = fd_realloc(v->keys, kc * sizeof *k);
        if (!k)
            return FD_ENOMEM;
        v->keys = k;
        v->keys_cap = kc;
    }
    size_t s = slot_of(h, v->cap);
    while (v->slots[s])
        s = (s + 1) & (v->cap - 1);
    v->keys[v->n] = h;
    v->slots[s] = (uint32_t)(++v->n);
    *id = (uint32_t)(v->n - 1);
    *added = 1;
    return FD_OK;
}

void fd_nlu_vocab_free(fd_nlu_vocab *v)
{
    FD_FREE(v->keys);
    FD_FREE(v->slots);
    v->n = v->cap = v->keys_cap = 0;
}

/* ---- weighting ----------------------------------------------------------- */

size_t fd_nlu_vectorize(const fd_nlu_vocab *v, const float *idf, const fd_nlu_fcfg *cfg,
                        uint32_t bias_id, const fd_nlu_raw *raw, size_t n_raw, uint32_t *idx,
                        float *val)
{
    double norm2[2] = {0, 0};
    size_t k = 0;
    size_t n_words = 0; /* word features come first, then char grams */
    for (uint32_t grp = 0; grp < 2; grp++) {
        if (grp == 1)
            n_words = k;
        for (size_t i = 0; i < n_raw; i++) {
            if (raw[i].grp != grp)
                continue;
            long id = fd_nlu_vocab_find(v, raw[i].h);
            if (id < 0)
                continue;
            /* sublinear tf: a word said twice is not twice the evidence */
            float x = (1.0f + logf(raw[i].tf)) * idf[id];
            idx[k] = (uint32_t)id;
            val[k++] = x;
            norm2[grp] += (double)x * x;
        }
    }
    double share[2] = {cfg->char_hi ? 1.0 - cfg->char_w : 1.0, cfg->char_w};
    for (size_t i = 0; i < k; i++) {
        int g = i >= n_words;
        if (norm2[g] > 0)
            val[i] = (float)(val[i] * sqrt(share[g] / norm2[g]));
    }
    idx[k] = bias_id;
    val[k++] = 1.0f;
    return k;
}
