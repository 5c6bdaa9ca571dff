/* ratelimit.c: token buckets in a sharded hash table.
 *
 * A key hashes (seeded, so clients cannot aim at one chain) to a shard:
 * a mutex, a chained table that doubles as it fills, and an LRU list.
 * Each shard holds at most its share of max_keys, so the total is a hard
 * bound; past it the shard's least recently used bucket goes. Buckets
 * refill continuously: tokens += elapsed * rate, capped at burst. */
#include "auth_int.h"

#include <math.h>
#include <pthread.h>
#include <stdalign.h>
#include <string.h>
#include <sys/random.h>

#define DEFAULT_MAX_KEYS 100000
#define MAX_SHARDS 64
#define MIN_PER_SHARD 16 /* fewer shards for small caps, so LRU stays meaningful */
#define FIRST_SLOTS 8

typedef struct bucket {
    struct bucket *chain;       /* next in the hash slot */
    struct bucket *prev, *next; /* LRU list, head = most recent */
    uint64_t h;
    double tokens;
    double last;    /* time of the last refill */
    double full_at; /* when it is full again: from then on it says nothing */
    size_t klen;
    char key[];
} bucket;

typedef struct shard {
    alignas(64) pthread_mutex_t mu;
    bucket **slots;
    size_t mask; /* number of slots - 1 */
    size_t n, cap;
    bucket *head, *tail;
    uint64_t n_allowed, n_refused, n_evicted, n_expired, n_fail_open;
} shard;

struct fd_ratelimit {
    uint64_t seed;
    size_t n_shards; /* a power of two */
    shard *shards;
    void *mem; /* the unaligned allocation behind shards */
};

int fd_ratelimit_new(size_t max_keys, fd_ratelimit **out, fd_err *err)
{
    *out = NULL;
    if (max_keys == 0)
        max_keys = DEFAULT_MAX_KEYS;
    fd_ratelimit *rl = fd_calloc(1, sizeof *rl);
    if (!rl)
        return fd_err_set(err, FD_ENOMEM, "ratelimit: out of memory");
    size_t n = MAX_SHARDS;
    while (n > 1 && n * MIN_PER_SHARD > max_keys)
        n /= 2;
    rl->n_shards = n;
    /* Shards on their own cache lines: no false sharing between mutexes. */
    rl->mem = fd_calloc(n * sizeof(shard) + 64, 1);
    if (!rl->mem) {
        fd_free(rl);
        return fd_err_set(err, FD_ENOMEM, "ratelimit: out of memory");
    }
    rl->shards = (shard *)(((uintptr_t)rl->mem + 63) & ~(uintptr_t)63);
    for (size_t i = 0; i < n; i++) {
        shard *s = &rl->shards[i];
        pthread_mutex_init(&s->mu, NULL);
        s->cap = max_keys / n + (i < max_keys % n);
    }
    /* The seed only spreads keys; if the system has no randomness now, a
     * time-based one still beats a constant. */
    if (getrandom(&rl->seed, sizeof rl->seed, GRND_NONBLOCK) != (ssize_t)sizeof rl->seed)
        rl->seed = fd_time_ns() ^ (uint64_t)(uintptr_t)rl;
    *out = rl;
    return FD_OK;
}

void fd_ratelimit_free(fd_ratelimit *rl)
{
    if (!rl)
        return;
    for (size_t i = 0; i < rl->n_shards; i++) {
        shard *s = &rl->shards[i];
        for (bucket *b = s->head, *next; b; b = next) {
            next = b->next;
            fd_free(b);
        }
        fd_free(s->slots);
        pthread_mutex_destroy(&s->mu);
    }
    fd_free(rl->mem);
    fd_free(rl);
}

static void lru_unlink(shard *s, bucket *b)
{
    if (b->prev)
        b->prev->next = b->next;
    else
        s->head = b->next;
    if (b->next)
        b->next->prev = b->prev;
    else
        s->tail = b->prev;
    b->prev = b->next = NULL;
}

static void lru_push(shard *s, bucket *b)
{
    b->prev = NULL;
    b->next = s->head;
    if (s->head)
        s->head->prev = b;
    s->head = b;
    if (!s->tail)
        s->tail = b;
}

static bucket *find(shard *s, uint64_t h, const char *key, size_t klen)
{
    if (!s->slots)
        return NULL;
    for (bucket *b = s->slots[h & s->mask]; b; b = b->chain)
        if (b->h == h && b->klen == klen && memcmp(b->key, key, klen) == 0)
            return b;
    return NULL;
}

/* Doubles the slots when chains average more than one bucket. A failed
 * allocation keeps the old table: longer chains, still correct. */
static void maybe_grow(shard *s)
{
    size_t n_slots = s->slots ? s->mask + 1 : 0;
    if (s->slots && s->n <= n_slots)
        return;
    size_t want = n_slots ? n_slots * 2 : FIRST_SLOTS;
    bucket **slots = fd_calloc(want, sizeof *slots);
    if (!slots)
        return;
    for (size_t i = 0; i < n_slots; i++) {
        for (bucket *b = s->slots[i], *next; b; b = next) {
            next = b->chain;
            b->chain = slots[b->h & (want - 1)];
            slots[b->h & (want - 1)] = b;
        }
    }
    fd_free(s->slots);
    s->slots = slots;
    s->mask = want - 1;
}

static void drop_tail(shard *s)
{
    bucket *b = s->tail;
    bucket **pp = &s->slots[b->h & s->mask];
    while (*pp != b)
        pp = &(*pp)->chain;
    *pp = b->chain;
    lru_unlink(s, b);
    fd_free(b);
    s->n--;
}

static void evict_tail(shard *s)
{
    drop_tail(s);
    s->n_evicted++;
}

/* A bucket full again is what a new one would be: the least recently used
 * ones that are, are dropped (at most EXPIRE_PER_TAKE a call, so a burst
 * of them after a quiet hour costs no single request much). Without it
 * every conversation ever seen stayed until max_keys (100,000 in the
 * server: ~11 MB), and the soak's heap grew for its first 25 minutes. */
#define EXPIRE_PER_TAKE 64

static void expire_idle(shard *s, double now)
{
    for (int i = 0; i < EXPIRE_PER_TAKE && s->tail && s->tail->full_at <= now; i++) {
        drop_tail(s);
        s->n_expired++;
    }
}

/* A new, full bucket; NULL when out of memory (or no slots table yet). */
static bucket *insert(shard *s, uint64_t h, const char *key, size_t klen, double burst, double now)
{
    bucket *b = fd_malloc(sizeof *b + klen);
    if (!b)
        return NULL;
    maybe_grow(s);
    if (!s->slots) {
        fd_free(b);
        return NULL;
    }
    while (s->n >= s->cap && s->tail)
        evict_tail(s);
    memset(b, 0, sizeof *b);
    b->h = h;
    b->klen = klen;
    memcpy(b->key, key, klen);
    b->tokens = burst;
    b->last = now;
    b->chain = s->slots[h & s->mask];
    s->slots[h & s->mask] = b;
    lru_push(s, b);
    s->n++;
    return b;
}

int fd_ratelimit_take(fd_ratelimit *rl, const char *key, double per_minute, double burst,
                      double now, double *retry_after_s)
{
    if (retry_after_s)
        *retry_after_s = 0;
    if (!(per_minute > 0)) /* also NaN */
        return 1;
    if (!(burst >= 1))
        burst = 1;
    if (!isfinite(now))
        now = 0;
    double rate = per_minute / 60.0;
    size_t klen = key ? strnlen(key, FD_RATELIMIT_KEY_MAX) : 0;
    if (!key)
        key = "";
    uint64_t h = fd_hash64(key, klen, rl->seed);
    shard *s = &rl->shards[(h >> 32) & (rl->n_shards - 1)];

    pthread_mutex_lock(&s->mu);
    expire_idle(s, now);
    bucket *b = find(s, h, key, klen);
    if (!b) {
        b = insert(s, h, key, klen, burst, now);
        if (!b) {
            s->n_fail_open++;
            pthread_mutex_unlock(&s->mu);
            return 1;
        }
    } else {
        double elapsed = now - b->last;
        if (elapsed > 0) {
            b->tokens += elapsed * rate;
            b->last = now;
        }
        if (b->tokens > burst) /* full, or the caller lowered burst */
            b->tokens = burst;
        lru_unlink(s, b);
        lru_push(s, b);
    }
    int allowed = b->tokens >= 1;
    if (allowed) {
        b->tokens -= 1;
        s->n_allowed++;
    } else {
        s->n_refused++;
        if (retry_after_s) {
            double wait = ceil((1 - b->tokens) / rate);
            *retry_after_s = wait >= 1 ? wait : 1;
        }
    }
    b->full_at = b->last + (burst - b->tokens) / rate;
    pthread_mutex_unlock(&s->mu);
    return allowed;
}

void fd_ratelimit_stats_get(fd_ratelimit *rl, fd_ratelimit_stats *out)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < rl->n_shards; i++) {
        shard *s = &rl->shards[i];
        pthread_mutex_lock(&s->mu);
        out->n_keys += s->n;
        out->n_allowed += s->n_allowed;
        out->n_refused += s->n_refused;
        out->n_evicted += s->n_evicted;
        out->n_expired += s->n_expired;
        out->n_fail_open += s->n_fail_open;
        pthread_mutex_unlock(&s->mu);
    }
}
