/* local.c: the in-process tier. Sixteen shards, each a chained hash table
 * and an LRU list under its own mutex, so a hit costs one hash, one lock
 * and one copy. Every shard holds 1/16 of the byte budget; an insert past
 * it evicts from the cold end. Entries older than the TTL are dropped when
 * met (a lookup, or the LRU walk of an insert). */
#include "cache_int.h"

#include <string.h>

#define N_SHARDS 16 /* shard_of takes the top 4 bits of a hash */

typedef struct entry {
    struct entry *chain;       /* hash bucket */
    struct entry *prev, *next; /* LRU: head is the most recent */
    uint64_t hash;
    uint64_t expires; /* fd_time_ns() */
    uint32_t klen, vlen;
    int layer;
    unsigned char data[]; /* key, then value */
} entry;

typedef struct shard {
    pthread_mutex_t mu;
    entry **tab;
    size_t cap, n;
    entry *head, *tail;
    size_t bytes, budget;
    uint64_t entries[FD_CACHE_N_LAYERS], lbytes[FD_CACHE_N_LAYERS];
    uint64_t evictions[FD_CACHE_N_LAYERS], expired[FD_CACHE_N_LAYERS], purged[FD_CACHE_N_LAYERS];
} shard;

struct cache_local {
    shard s[N_SHARDS];
    uint64_t ttl_ns;
};

/* What an entry costs: its bytes plus the bookkeeping around it. */
static size_t entry_cost(const entry *e)
{
    return sizeof *e + e->klen + e->vlen + sizeof(entry *);
}

int cache_local_new(size_t max_bytes, int ttl_s, cache_local **out)
{
    cache_local *lc = fd_calloc(1, sizeof *lc);
    if (!lc)
        return -1;
    lc->ttl_ns = (uint64_t)(ttl_s > 0 ? ttl_s : 3600) * 1000000000ull;
    for (int i = 0; i < N_SHARDS; i++) {
        shard *s = &lc->s[i];
        pthread_mutex_init(&s->mu, NULL);
        s->budget = max_bytes / N_SHARDS;
        s->cap = 64;
        s->tab = fd_calloc(s->cap, sizeof *s->tab);
        if (!s->tab) {
            cache_local_free(lc);
            return -1;
        }
    }
    *out = lc;
    return 0;
}

void cache_local_free(cache_local *lc)
{
    if (!lc)
        return;
    for (int i = 0; i < N_SHARDS; i++) {
        shard *s = &lc->s[i];
        for (entry *e = s->head, *nx; e; e = nx) {
            nx = e->next;
            fd_free(e);
        }
        fd_free(s->tab);
        pthread_mutex_destroy(&s->mu);
    }
    fd_free(lc);
}

static uint64_t key_hash(int layer, const void *key, size_t klen)
{
    return fd_hash64(key, klen, 0x9e3779b97f4a7c15ull * (uint64_t)(layer + 1));
}

/* The shard from the hash's top bits: its buckets use the low ones, and
 * with the same bits for both a shard's entries would all share the same
 * low four bits and fill only 1/16 of its buckets (16x longer chains). */
static shard *shard_of(cache_local *lc, uint64_t h)
{
    return &lc->s[h >> 60];
}

static void lru_unlink(shard *s, entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        s->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        s->tail = e->prev;
    e->prev = e->next = NULL;
}

static void lru_push(shard *s, entry *e)
{
    e->prev = NULL;
    e->next = s->head;
    if (s->head)
        s->head->prev = e;
    s->head = e;
    if (!s->tail)
        s->tail = e;
}

/* Unlinks e from its chain and the LRU and frees it. */
static void drop(shard *s, entry *e)
{
    entry **pp = &s->tab[e->hash & (s->cap - 1)];
    while (*pp && *pp != e)
        pp = &(*pp)->chain;
    if (*pp)
        *pp = e->chain;
    lru_unlink(s, e);
    s->n--;
    s->bytes -= entry_cost(e);
    s->entries[e->layer]--;
    s->lbytes[e->layer] -= entry_cost(e);
    fd_free(e);
}

static entry *find(shard *s, uint64_t h, int layer, const void *key, size_t klen)
{
    for (entry *e = s->tab[h & (s->cap - 1)]; e; e = e->chain)
        if (e->hash == h && e->layer == layer && e->klen == klen && memcmp(e->data, key, klen) == 0)
            return e;
    return NULL;
}

static void grow(shard *s)
{
    size_t cap = s->cap * 2;
    entry **tab = fd_calloc(cap, sizeof *tab);
    if (!tab)
        return; /* longer chains, still correct */
    for (size_t i = 0; i < s->cap; i++)
        for (entry *e = s->tab[i], *nx; e; e = nx) {
            nx = e->chain;
            e->chain = tab[e->hash & (cap - 1)];
            tab[e->hash & (cap - 1)] = e;
        }
    fd_free(s->tab);
    s->tab = tab;
    s->cap = cap;
}

int cache_local_get(cache_local *lc, int layer, const void *key, size_t klen, fd_arena *a,
                    void **val, size_t *vlen, int *expired)
{
    uint64_t h = key_hash(layer, key, klen);
    shard *s = shard_of(lc, h);
    *expired = 0;
    pthread_mutex_lock(&s->mu);
    entry *e = find(s, h, layer, key, klen);
    if (e && fd_time_ns() >= e->expires) {
        s->expired[layer]++;
        drop(s, e);
        e = NULL;
        *expired = 1;
    }
    int hit = 0;
    if (e) {
        void *copy = fd_arena_alloc(a, e->vlen + 1);
        if (copy) {
            memcpy(copy, e->data + e->klen, e->vlen);
            ((char *)copy)[e->vlen] = 0;
            *val = copy;
            *vlen = e->vlen;
            hit = 1;
            if (s->head != e) {
                lru_unlink(s, e);
                lru_push(s, e);
            }
        }
    }
    pthread_mutex_unlock(&s->mu);
    return hit;
}

int cache_local_put(cache_local *lc, int layer, const void *key, size_t klen, const void *val,
                    size_t vlen)
{
    if (klen > UINT32_MAX || vlen > UINT32_MAX)
        return -1;
    entry *e = fd_malloc(sizeof *e + klen + vlen);
    if (!e)
        return -1;
    memset(e, 0, sizeof *e);
    e->hash = key_hash(layer, key, klen);
    e->layer = layer;
    e->klen = (uint32_t)klen;
    e->vlen = (uint32_t)vlen;
    memcpy(e->data, key, klen);
    memcpy(e->data + klen, val, vlen);
    shard *s = shard_of(lc, e->hash);
    size_t cost = entry_cost(e);
    if (cost > s->budget) {
        fd_free(e);
        return -1;
    }
    uint64_t now = fd_time_ns();
    e->expires = now + lc->ttl_ns;
    pthread_mutex_lock(&s->mu);
    entry *old = find(s, e->hash, layer, key, klen);
    if (old)
        drop(s, old);
    /* Expired entries at the cold end go first, then the least recent. */
    while (s->tail && s->bytes + cost > s->budget) {
        entry *t = s->tail;
        if (now >= t->expires)
            s->expired[t->layer]++;
        else
            s->evictions[t->layer]++;
        drop(s, t);
    }
    if (s->n + 1 > s->cap)
        grow(s);
    entry **b = &s->tab[e->hash & (s->cap - 1)];
    e->chain = *b;
    *b = e;
    lru_push(s, e);
    s->n++;
    s->bytes += cost;
    s->entries[layer]++;
    s->lbytes[layer] += cost;
    pthread_mutex_unlock(&s->mu);
    return 0;
}

static int64_t key_version(const entry *e)
{
    int64_t v = -1;
    if (e->klen >= 8) {
        uint64_t u = 0;
        for (int i = 7; i >= 0; i--)
            u = u << 8 | e->data[i];
        v = (int64_t)u;
    }
    return v;
}

void cache_local_purge(cache_local *lc, int64_t kb_version)
{
    for (int i = 0; i < N_SHARDS; i++) {
        shard *s = &lc->s[i];
        pthread_mutex_lock(&s->mu);
        for (entry *e = s->head, *nx; e; e = nx) {
            nx = e->next;
            if (kb_version < 0 || key_version(e) != kb_version) {
                s->purged[e->layer]++;
                drop(s, e);
            }
        }
        pthread_mutex_unlock(&s->mu);
    }
}

void cache_local_counts_get(cache_local *lc, cache_local_counts *out)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; i < N_SHARDS; i++) {
        shard *s = &lc->s[i];
        pthread_mutex_lock(&s->mu);
        for (int l = 0; l < FD_CACHE_N_LAYERS; l++) {
            out->entries[l] += s->entries[l];
            out->bytes[l] += s->lbytes[l];
            out->evictions[l] += s->evictions[l];
            out->expired[l] += s->expired[l];
            out->purged[l] += s->purged[l];
        }
        pthread_mutex_unlock(&s->mu);
    }
}
