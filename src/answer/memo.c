/* memo.c: what the composer and the validator make of a passage's text,
 * kept between messages (issue 13). Every message used to split, analyze
 * and scan for facts each of its 10-20 passages again, though a knowledge
 * base's passages are the same from one message to the next: that was
 * half of a turn's CPU (perf on bench_dialog, bench/RESULTS.md).
 *
 * Keyed by the text itself (kind, language, bytes), so a new snapshot, an
 * edited document or another knowledge base can never be served an old
 * analysis; nothing needs invalidating.
 *
 * One memo for all of a server's threads (the assistant's). It was one per
 * kb handle, and the server pools a handle per request thread (up to 64 on
 * PostgreSQL): each learned the same passages, and the soak's heap grew
 * for as long as load brought another handle's memo into use
 * (bench/RESULTS.md).
 *
 * Bounded: entries and their results live in one generation's arena. Past
 * its soft size, or with its table full, the next call's ans_memo_begin
 * starts a new generation; the old one is freed when the last call holding
 * it ends (ans_memo_end), so results handed out during a call stay valid
 * until it returns, and none leaves the answer module. A generation is 16
 * shards by the key's hash, each a table and an arena behind its own
 * mutex: with one mutex for all, 4 request threads on 2 cores queued on it
 * (extractive answers over HTTP 10-17% slower than with a memo per
 * thread, though faster in one thread). A miss is analyzed under its
 * shard's mutex (into the shard's arena), a hit copies the result's handle
 * out. Lock order: the memo's, then a shard's; lookups take only a
 * shard's. */
#include "answer_int.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

typedef enum memo_kind { MEMO_BAG = 1, MEMO_CLAIMS, MEMO_SPLIT, MEMO_NEG } memo_kind;

typedef struct memo_slot {
    uint64_t h;
    const char *key; /* a copy of the text, in the generation's arena; NULL: empty */
    uint32_t len;
    uint8_t kind, lang, filled;
    union {
        ans_bag bag;
        ans_claims claims;
        struct {
            ans_sent *v;
            size_t n;
        } split;
        int neg;
    } v;
} memo_slot;

/* A sixteenth of a generation: the keys whose hash's top bits are its. */
typedef struct memo_shard {
    pthread_mutex_t mu; /* the table, the arena */
    fd_arena *a;
    memo_slot *slot;
    size_t cap, used; /* slots: a power of two, and how many hold a key */
    size_t max_cap;   /* cap grows by doubling up to this */
    size_t soft;      /* bytes of the arena past which the next call starts anew */
} memo_shard;

#define N_SHARDS 16
#define SHARD_OF(h) ((size_t)((h) >> 60)) /* the hash's top 4 bits */

/* One generation (answer_int.h: ans_memo). */
struct ans_memo {
    memo_shard sh[N_SHARDS];
    atomic_int full;       /* a shard passed its bounds: the next begin starts anew */
    int refs;              /* calls holding it, plus one while current (the memo's mu) */
    fd_answer_memo *owner; /* its counters */
};

struct fd_answer_memo {
    pthread_mutex_t mu; /* cur and every generation's refs */
    ans_memo *cur;
    size_t bytes;
    atomic_uint_least64_t hits, misses, generations;
};

/* Open addressing stays short below this load. */
#define MAX_LOAD_NUM 7
#define MAX_LOAD_DEN 10
/* A shard's table's first size: 128 slots (8 KB; 128 KB a generation). */
#define MIN_CAP 128

static void gen_free(ans_memo *g)
{
    if (!g)
        return;
    for (int i = 0; i < N_SHARDS; i++) {
        fd_arena_free(g->sh[i].a);
        fd_free(g->sh[i].slot);
        if (g->sh[i].max_cap) /* its mutex was made */
            pthread_mutex_destroy(&g->sh[i].mu);
    }
    fd_free(g);
}

static ans_memo *gen_new(fd_answer_memo *m)
{
    ans_memo *g = fd_calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->owner = m;
    g->refs = 1; /* current */
    /* At most a slot per ~512 bytes of results: a sentence's bag and
     * claims take a few hundred. A table starts at MIN_CAP and doubles as
     * it fills: one made whole at once (2 MB for 16 MB of results) was
     * resident from the first messages, since even a few hundred entries
     * land on every page of it. */
    size_t soft = m->bytes / N_SHARDS, max_cap = MIN_CAP;
    while (max_cap < soft / 512 && max_cap < ((size_t)1 << 24))
        max_cap <<= 1;
    for (int i = 0; i < N_SHARDS; i++) {
        memo_shard *sh = &g->sh[i];
        sh->cap = MIN_CAP;
        sh->soft = soft;
        sh->slot = fd_calloc(sh->cap, sizeof *sh->slot);
        /* Twice the soft cap: calls in progress may go past it. */
        sh->a = fd_arena_new(2 * soft);
        if (!sh->slot || !sh->a || pthread_mutex_init(&sh->mu, NULL) != 0) {
            gen_free(g);
            return NULL;
        }
        sh->max_cap = max_cap; /* set last: gen_free destroys the mutex */
    }
    atomic_fetch_add(&m->generations, 1);
    return g;
}

/* Under the memo's mu. */
static void gen_put(ans_memo *g)
{
    if (g && --g->refs == 0)
        gen_free(g);
}

int fd_answer_memo_new(size_t bytes, fd_answer_memo **out, fd_err *err)
{
    *out = NULL;
    if (bytes < 4096)
        return fd_err_set(err, FD_EINVAL, "answer memo: %zu bytes is too small", bytes);
    fd_answer_memo *m = fd_calloc(1, sizeof *m);
    if (!m)
        return fd_err_set(err, FD_ENOMEM, "out of memory");
    m->bytes = bytes;
    if (pthread_mutex_init(&m->mu, NULL) != 0) {
        fd_free(m);
        return fd_err_set(err, FD_ENOMEM, "answer memo: no mutex");
    }
    m->cur = gen_new(m);
    if (!m->cur) {
        fd_answer_memo_free(m);
        return fd_err_set(err, FD_ENOMEM, "out of memory");
    }
    *out = m;
    return FD_OK;
}

void fd_answer_memo_free(fd_answer_memo *m)
{
    if (!m)
        return;
    gen_put(m->cur); /* no call holds it any more */
    pthread_mutex_destroy(&m->mu);
    fd_free(m);
}

/* Past its bounds: the next call starts a new generation. Under sh->mu. */
static int shard_full(const memo_shard *sh)
{
    return fd_arena_used(sh->a) > sh->soft ||
           (sh->cap >= sh->max_cap && sh->used * MAX_LOAD_DEN >= sh->cap * MAX_LOAD_NUM);
}

ans_memo *ans_memo_begin(fd_answer_memo *m)
{
    if (!m)
        return NULL;
    pthread_mutex_lock(&m->mu);
    ans_memo *g = m->cur;
    /* Any shard past its bounds (they fill evenly: keys spread by hash),
     * as the shard said when it last changed: a message's two begins took
     * 16 locks each to ask them all. */
    if (atomic_load(&g->full)) {
        ans_memo *ng = gen_new(m);
        if (ng) { /* else the full one goes on: its misses are made in the callers' arenas */
            m->cur = ng;
            gen_put(g);
            g = ng;
        }
    }
    g->refs++;
    pthread_mutex_unlock(&m->mu);
    return g;
}

void ans_memo_end(fd_answer_memo *m, ans_memo *g)
{
    if (!m || !g)
        return;
    pthread_mutex_lock(&m->mu);
    gen_put(g);
    pthread_mutex_unlock(&m->mu);
}

void fd_answer_memo_stats(const fd_answer_memo *m, fd_answer_memo_counts *out)
{
    *out = (fd_answer_memo_counts){0};
    if (!m)
        return;
    out->hits = atomic_load(&m->hits);
    out->misses = atomic_load(&m->misses);
    out->generations = atomic_load(&m->generations);
}

/* The memo's keys are whole passages (~1 KB), hashed at every lookup:
 * fd_hash64's byte-at-a-time FNV steps were 4% of a chat turn's CPU
 * (bench_dialog under perf, bench/RESULTS.md). Eight bytes a step here,
 * each folded through a 64x64->128-bit multiply. Never persisted, so it
 * may differ from fd_hash64 (whose values are, in snapshots and models). */
static uint64_t mum(uint64_t a, uint64_t b)
{
    unsigned __int128 r = (unsigned __int128)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static uint64_t text_hash(const char *p, size_t n, uint64_t seed)
{
    uint64_t h = mum(seed ^ 0x9e3779b97f4a7c15ull, n ^ 0xa0761d6478bd642full);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = mum(h ^ w, 0xbf58476d1ce4e5b9ull);
    }
    uint64_t w = 0;
    memcpy(&w, p + i, n - i);
    return mum(h ^ w, 0x94d049bb133111ebull);
}

/* Doubles the table, its slots moved by their hashes; 0 when it may not
 * grow or no memory (the shard then counts as full). Under m->mu; slots
 * are held only within one lookup, never across a growth. */
static int grow(memo_shard *m)
{
    if (m->cap >= m->max_cap)
        return 0;
    size_t cap = m->cap * 2, mask = cap - 1;
    memo_slot *slot = fd_calloc(cap, sizeof *slot);
    if (!slot)
        return 0;
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->slot[i].key)
            continue;
        size_t j = (size_t)m->slot[i].h & mask;
        while (slot[j].key)
            j = (j + 1) & mask;
        slot[j] = m->slot[i];
    }
    fd_free(m->slot);
    m->slot = slot;
    m->cap = cap;
    return 1;
}

/* The slot holding (kind, lang, text) of hash h, or the empty one
 * reserved for it (key copied, not yet filled); NULL when the shard is
 * full. Under m->mu. */
static memo_slot *find(memo_shard *m, uint64_t h, memo_kind kind, fd_lang lang, fd_str text)
{
    for (int tries = 0; tries < 2; tries++) {
        size_t mask = m->cap - 1;
        for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
            memo_slot *s = &m->slot[i];
            if (!s->key) {
                if ((m->used + 1) * MAX_LOAD_DEN > m->cap * MAX_LOAD_NUM)
                    break; /* grown once, then probed again: the load is now half */
                char *k = fd_arena_strndup(m->a, text.p, text.len);
                if (!k)
                    return NULL;
                *s = (memo_slot){.h = h,
                                 .key = k,
                                 .len = (uint32_t)text.len,
                                 .kind = (uint8_t)kind,
                                 .lang = (uint8_t)lang};
                m->used++;
                return s;
            }
            if (s->h == h && s->kind == kind && s->lang == lang && s->len == text.len &&
                memcmp(s->key, text.p, text.len) == 0)
                return s;
        }
        if (!grow(m))
            return NULL;
    }
    return NULL;
}

/* What to analyze: the memo's own copy of the text when the result is
 * kept, since terms and codes may point into the text they came from
 * (a passage of an old snapshot, a sentence made in a message's arena). */
static fd_str source(const memo_slot *s)
{
    return (fd_str){s->key, s->len};
}

/* A lookup's first half: the key's shard in *shp, under its mutex on
 * return with 1 and *s filled (a hit, counted), or 0 and *s reserved for
 * the result (a miss, counted); -1 when the shard is full (its mutex let
 * go: the caller analyzes into its own arena). The hash is made before the
 * lock: the keys are whole passages. */
static int lookup(ans_memo *g, memo_kind kind, fd_lang lang, fd_str text, memo_shard **shp,
                  memo_slot **s)
{
    if (text.len > UINT32_MAX)
        return -1;
    uint64_t h = text_hash(text.p, text.len, (uint64_t)kind * 31u + (uint64_t)lang);
    memo_shard *sh = *shp = &g->sh[SHARD_OF(h)];
    pthread_mutex_lock(&sh->mu);
    *s = find(sh, h, kind, lang, text);
    if (!*s) {
        atomic_store(&g->full, 1);
        pthread_mutex_unlock(&sh->mu);
        return -1;
    }
    if ((*s)->filled) {
        atomic_fetch_add_explicit(&g->owner->hits, 1, memory_order_relaxed);
        return 1;
    }
    atomic_fetch_add_explicit(&g->owner->misses, 1, memory_order_relaxed);
    return 0;
}

/* A miss's end: rc of the analysis into sh->a; sh->mu let go. 1 when the
 * arena was full (the caller analyzes into its own arena). A miss is what
 * grows a shard, so it is where the generation learns it is full. */
static int settle(ans_memo *g, memo_shard *sh, memo_slot *s, int rc)
{
    if (!rc)
        s->filled = 1;
    if (shard_full(sh))
        atomic_store(&g->full, 1);
    int full = rc && fd_arena_full(sh->a);
    pthread_mutex_unlock(&sh->mu);
    return full;
}

int ans_memo_bag(ans_memo *g, fd_analyzer *an, fd_str text, fd_lang lang, fd_arena *a, ans_bag *out,
                 fd_err *err)
{
    memo_shard *sh = NULL;
    memo_slot *s = NULL;
    int l = g ? lookup(g, MEMO_BAG, lang, text, &sh, &s) : -1;
    if (l < 0)
        return ans_bag_make(an, text, lang, a, out, err);
    if (l == 1) {
        *out = s->v.bag;
        pthread_mutex_unlock(&sh->mu);
        return FD_OK;
    }
    int rc = ans_bag_make(an, source(s), lang, sh->a, out, err);
    if (!rc)
        s->v.bag = *out;
    if (settle(g, sh, s, rc)) /* the memo is full: as before it */
        return ans_bag_make(an, text, lang, a, out, err);
    return rc;
}

int ans_memo_claims(ans_memo *g, fd_str text, fd_arena *a, ans_claims *out, fd_err *err)
{
    memo_shard *sh = NULL;
    memo_slot *s = NULL;
    int l = g ? lookup(g, MEMO_CLAIMS, FD_LANG_UNKNOWN, text, &sh, &s) : -1;
    if (l < 0)
        return ans_claims_scan(text, a, out, err);
    if (l == 1) {
        *out = s->v.claims;
        pthread_mutex_unlock(&sh->mu);
        return FD_OK;
    }
    int rc = ans_claims_scan(source(s), sh->a, out, err);
    if (!rc)
        s->v.claims = *out;
    if (settle(g, sh, s, rc))
        return ans_claims_scan(text, a, out, err);
    return rc;
}

int ans_memo_split(ans_memo *g, fd_str text, fd_arena *a, ans_sent **out, size_t *n, fd_err *err)
{
    memo_shard *sh = NULL;
    memo_slot *s = NULL;
    int l = g ? lookup(g, MEMO_SPLIT, FD_LANG_UNKNOWN, text, &sh, &s) : -1;
    if (l < 0)
        return ans_split(text, a, out, n, err);
    if (l == 1) {
        *out = s->v.split.v;
        *n = s->v.split.n;
        pthread_mutex_unlock(&sh->mu);
        return FD_OK;
    }
    int rc = ans_split(source(s), sh->a, out, n, err);
    if (!rc) {
        s->v.split.v = *out;
        s->v.split.n = *n;
    }
    if (settle(g, sh, s, rc))
        return ans_split(text, a, out, n, err);
    return rc;
}

int ans_memo_negated(ans_memo *g, fd_str text, fd_arena *a, int *neg, fd_err *err)
{
    memo_shard *sh = NULL;
    memo_slot *s = NULL;
    int l = g ? lookup(g, MEMO_NEG, FD_LANG_UNKNOWN, text, &sh, &s) : -1;
    if (l == 1) {
        *neg = s->v.neg;
        pthread_mutex_unlock(&sh->mu);
        return FD_OK;
    }
    /* The folded text is not kept (the caller's arena): only the verdict is. */
    fd_str f;
    int rc = fd_text_fold(text, a, &f, err);
    if (!rc)
        *neg = ans_negated(f);
    if (l == 0) {
        if (!rc)
            s->v.neg = *neg;
        (void)settle(g, sh, s, rc);
    }
    return rc;
}
