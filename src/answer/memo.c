/* memo.c: what the composer and the validator make of a passage's text,
 * kept between messages (issue 13). Every message used to split, analyze
 * and scan for facts each of its 10-20 passages again, though a knowledge
 * base's passages are the same from one message to the next: that was
 * half of a turn's CPU (perf on bench_dialog, bench/RESULTS.md).
 *
 * Keyed by the text itself (kind, language, bytes), so a new snapshot, an
 * edited document or another knowledge base can never be served an old
 * analysis; nothing needs invalidating. One memo per thread (it lives
 * beside the kb handle's analyzer). Bounded: entries and their results live
 * in one arena; past FILL_CAP of it, or a full table, new texts are
 * analyzed into the caller's arena as before, and the next call starts the
 * memo afresh (ans_memo_begin): pointers handed out during a call stay
 * valid until it returns, and none leaves the answer module. */
#include "answer_int.h"

#include <stdlib.h>

typedef enum memo_kind { MEMO_BAG = 1, MEMO_CLAIMS, MEMO_SPLIT, MEMO_NEG } memo_kind;

typedef struct memo_slot {
    uint64_t h;
    const char *key; /* a copy of the text, in the memo's arena; NULL: empty */
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

struct fd_answer_memo {
    fd_arena *a;
    memo_slot *slot;
    size_t cap, used; /* slots: a power of two, and how many hold a key */
    size_t max_cap;   /* cap grows by doubling up to this */
    size_t soft;      /* bytes of the arena past which the next message resets */
    uint64_t hits, misses;
};

/* Open addressing stays short below this load. */
#define MAX_LOAD_NUM 7
#define MAX_LOAD_DEN 10
/* The table's first size: 1,024 slots (64 KB), a few messages' passages. */
#define MIN_CAP 1024

int fd_answer_memo_new(size_t bytes, fd_answer_memo **out, fd_err *err)
{
    *out = NULL;
    if (bytes < 4096)
        return fd_err_set(err, FD_EINVAL, "answer memo: %zu bytes is too small", bytes);
    fd_answer_memo *m = fd_calloc(1, sizeof *m);
    if (!m)
        return fd_err_set(err, FD_ENOMEM, "out of memory");
    /* At most a slot per ~512 bytes of results: a sentence's bag and
     * claims take a few hundred. The table starts at MIN_CAP and doubles
     * as it fills: one made whole at once (2 MB for 16 MB of results) was
     * resident from a handle's first messages, since even a few hundred
     * entries land on every page of it, and each of the server's pooled
     * handles has its own memo (the soak's heap stepped 2 MB each time one
     * more handle came into use, bench/RESULTS.md). */
    size_t max_cap = MIN_CAP;
    while (max_cap < bytes / 512 && max_cap < ((size_t)1 << 24))
        max_cap <<= 1;
    m->cap = MIN_CAP;
    m->max_cap = max_cap;
    m->soft = bytes;
    m->slot = fd_calloc(m->cap, sizeof *m->slot);
    /* Twice the soft cap: a message in progress may go past it. */
    m->a = fd_arena_new(2 * bytes);
    if (!m->slot || !m->a) {
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
    fd_arena_free(m->a);
    fd_free(m->slot);
    fd_free(m);
}

void ans_memo_begin(fd_answer_memo *m)
{
    if (!m)
        return;
    if (fd_arena_used(m->a) <= m->soft &&
        (m->cap < m->max_cap || m->used * MAX_LOAD_DEN < m->cap * MAX_LOAD_NUM))
        return;
    fd_arena_reset(m->a);
    memset(m->slot, 0, m->cap * sizeof *m->slot);
    m->used = 0;
}

void fd_answer_memo_stats(const fd_answer_memo *m, uint64_t *hits, uint64_t *misses)
{
    *hits = m ? m->hits : 0;
    *misses = m ? m->misses : 0;
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
 * grow or no memory (the memo then counts as full). Slots are held only
 * within one memo call, between find and filling, never across a growth. */
static int grow(fd_answer_memo *m)
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

/* The slot holding (kind, lang, text), or the empty one reserved for it
 * (key copied, not yet filled); NULL when the memo is full. */
static memo_slot *find(fd_answer_memo *m, memo_kind kind, fd_lang lang, fd_str text)
{
    if (text.len > UINT32_MAX)
        return NULL;
    uint64_t h = text_hash(text.p, text.len, (uint64_t)kind * 31u + (uint64_t)lang);
    size_t mask = m->cap - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        memo_slot *s = &m->slot[i];
        if (!s->key) {
            if ((m->used + 1) * MAX_LOAD_DEN > m->cap * MAX_LOAD_NUM) {
                if (!grow(m))
                    return NULL;
                return find(m, kind, lang, text); /* once: the load is now half */
            }
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
}

/* Where a result is made: the memo's arena when a slot waits for it. */
static fd_arena *target(fd_answer_memo *m, memo_slot *s, fd_arena *a)
{
    if (s)
        m->misses++;
    return s ? m->a : a;
}

/* What to analyze: the memo's own copy of the text when the result is
 * kept, since terms and codes may point into the text they came from
 * (a passage of an old snapshot, a sentence made in a message's arena). */
static fd_str source(const memo_slot *s, fd_str text)
{
    return s ? (fd_str){s->key, s->len} : text;
}

int ans_memo_bag(fd_answer_memo *m, fd_analyzer *an, fd_str text, fd_lang lang, fd_arena *a,
                 ans_bag *out, fd_err *err)
{
    memo_slot *s = m ? find(m, MEMO_BAG, lang, text) : NULL;
    if (s && s->filled) {
        m->hits++;
        *out = s->v.bag;
        return FD_OK;
    }
    int rc = ans_bag_make(an, source(s, text), lang, target(m, s, a), out, err);
    if (rc && s && fd_arena_full(m->a)) /* the memo is full: as before it */
        return ans_bag_make(an, text, lang, a, out, err);
    if (!rc && s) {
        s->v.bag = *out;
        s->filled = 1;
    }
    return rc;
}

int ans_memo_claims(fd_answer_memo *m, fd_str text, fd_arena *a, ans_claims *out, fd_err *err)
{
    memo_slot *s = m ? find(m, MEMO_CLAIMS, FD_LANG_UNKNOWN, text) : NULL;
    if (s && s->filled) {
        m->hits++;
        *out = s->v.claims;
        return FD_OK;
    }
    int rc = ans_claims_scan(source(s, text), target(m, s, a), out, err);
    if (rc && s && fd_arena_full(m->a))
        return ans_claims_scan(text, a, out, err);
    if (!rc && s) {
        s->v.claims = *out;
        s->filled = 1;
    }
    return rc;
}

int ans_memo_split(fd_answer_memo *m, fd_str text, fd_arena *a, ans_sent **out, size_t *n,
                   fd_err *err)
{
    memo_slot *s = m ? find(m, MEMO_SPLIT, FD_LANG_UNKNOWN, text) : NULL;
    if (s && s->filled) {
        m->hits++;
        *out = s->v.split.v;
        *n = s->v.split.n;
        return FD_OK;
    }
    int rc = ans_split(source(s, text), target(m, s, a), out, n, err);
    if (rc && s && fd_arena_full(m->a))
        return ans_split(text, a, out, n, err);
    if (!rc && s) {
        s->v.split.v = *out;
        s->v.split.n = *n;
        s->filled = 1;
    }
    return rc;
}

int ans_memo_negated(fd_answer_memo *m, fd_str text, fd_arena *a, int *neg, fd_err *err)
{
    memo_slot *s = m ? find(m, MEMO_NEG, FD_LANG_UNKNOWN, text) : NULL;
    if (s && s->filled) {
        m->hits++;
        *neg = s->v.neg;
        return FD_OK;
    }
    if (s)
        m->misses++;
    fd_str f; /* the folded text is not kept: only the verdict is */
    int rc = fd_text_fold(text, a, &f, err);
    if (rc)
        return rc;
    *neg = ans_negated(f);
    if (s) {
        s->v.neg = *neg;
        s->filled = 1;
    }
    return FD_OK;
}
