/* cache.c: the layers over the two tiers (cache.h). A get tries the local
 * tier, then Redis (and keeps what Redis had locally); a put writes both.
 * Semantic buckets are ordinary values (a short list of vector + answer),
 * so both tiers store them without knowing about vectors. */
#include "cache_int.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SEM_MAX_ITEMS 16
#define SEM_MAX_DIM 4096 /* what sem_parse accepts back */

/* A flight's value in Redis: who leads it, so its end deletes only its own
 * flight key and never a successor's (the key expires after wait_ms). */
#define TOKEN_LEN 64

typedef struct flight {
    int layer;
    uint64_t hash;
    size_t klen;
    unsigned char *key;
    char token[TOKEN_LEN];
    int shared; /* the Redis flight key is ours: delete it at the end */
} flight;

struct fd_cache {
    fd_log *log;
    int on[FD_CACHE_N_LAYERS];
    int ttl_s;
    uint64_t max_bytes;
    double sem_min;
    cache_local *local;
    cache_redis *redis; /* NULL: local only */
    _Atomic uint64_t hits[FD_CACHE_N_LAYERS], misses[FD_CACHE_N_LAYERS], puts[FD_CACHE_N_LAYERS];
    _Atomic uint64_t redis_hits, redis_fallbacks, led, followed, flight_timeouts, flight_seq;
    pthread_mutex_t fmu;
    pthread_cond_t fcv;
    flight *fl;
    size_t n_fl, cap_fl;
};

static const char *const layer_names[FD_CACHE_N_LAYERS] = {"exact", "semantic", "retrieval", "llm",
                                                           "guard"};

const char *fd_cache_layer_name(fd_cache_layer l)
{
    return l < FD_CACHE_N_LAYERS ? layer_names[l] : "?";
}

int fd_cache_new(const fd_config *cfg, fd_log *log, fd_cache **out, fd_err *err)
{
    fd_cache *c = fd_calloc(1, sizeof *c);
    if (!c)
        return fd_err_set(err, FD_ENOMEM, "out of memory");
    c->log = log;
    int all = cfg->cache_enabled;
    c->on[FD_CACHE_EXACT] = all && cfg->cache_exact;
    c->on[FD_CACHE_SEMANTIC] = all && cfg->cache_semantic;
    c->on[FD_CACHE_RETRIEVAL] = all && cfg->cache_retrieval;
    c->on[FD_CACHE_LLM] = all && cfg->cache_llm;
    c->on[FD_CACHE_GUARD] = all && cfg->cache_exact;
    c->ttl_s = cfg->cache_ttl_s;
    c->max_bytes = (uint64_t)cfg->cache_max_bytes;
    c->sem_min = cfg->cache_semantic_min;
    pthread_mutex_init(&c->fmu, NULL);
    pthread_cond_init(&c->fcv, NULL);
    if (cache_local_new((size_t)cfg->cache_max_bytes, cfg->cache_ttl_s, &c->local)) {
        fd_cache_free(c);
        return fd_err_set(err, FD_ENOMEM, "out of memory");
    }
    if (cfg->cache_redis_url[0]) {
        int rc = cache_redis_new(cfg->cache_redis_url, cfg->cache_redis_timeout_ms,
                                 cfg->cache_redis_retry_ms, log, &c->redis, err);
        if (rc) {
            fd_cache_free(c);
            return rc;
        }
        /* Find out now whether it answers (a failure is logged, not fatal). */
        (void)cache_redis_set(c->redis, "fd:ping", 7, "1", 1, 1000, 0);
    }
    *out = c;
    return FD_OK;
}

void fd_cache_free(fd_cache *c)
{
    if (!c)
        return;
    cache_local_free(c->local);
    cache_redis_free(c->redis);
    for (size_t i = 0; i < c->n_fl; i++)
        fd_free(c->fl[i].key);
    fd_free(c->fl);
    pthread_cond_destroy(&c->fcv);
    pthread_mutex_destroy(&c->fmu);
    fd_free(c);
}

int fd_cache_enabled(const fd_cache *c, fd_cache_layer l)
{
    return c && l < FD_CACHE_N_LAYERS && c->on[l];
}

/* Redis keys: "fd:<layer>:" then the caller's bytes. */
static unsigned char *redis_key(fd_cache_layer l, const void *key, size_t klen, const char *kind,
                                fd_arena *a, size_t *out_len)
{
    char pre[32];
    int n = snprintf(pre, sizeof pre, "fd:%s:%s:", kind, layer_names[l]);
    unsigned char *k = fd_arena_alloc(a, (size_t)n + klen);
    if (!k)
        return NULL;
    memcpy(k, pre, (size_t)n);
    memcpy(k + n, key, klen);
    *out_len = (size_t)n + klen;
    return k;
}

/* Both tiers, uncounted (the semantic layer counts its own outcome). */
static int tier_get(fd_cache *c, fd_cache_layer l, const void *key, size_t klen, fd_arena *a,
                    void **val, size_t *vlen)
{
    int expired;
    if (cache_local_get(c->local, (int)l, key, klen, a, val, vlen, &expired))
        return 1;
    if (!c->redis)
        return 0;
    size_t rkl;
    unsigned char *rk = redis_key(l, key, klen, "c", a, &rkl);
    int got = rk ? cache_redis_get(c->redis, rk, rkl, a, val, vlen) : -1;
    if (got < 0)
        atomic_fetch_add(&c->redis_fallbacks, 1);
    if (got != 1)
        return 0;
    atomic_fetch_add(&c->redis_hits, 1);
    (void)cache_local_put(c->local, (int)l, key, klen, *val, *vlen);
    return 1;
}

static void tier_put(fd_cache *c, fd_cache_layer l, const void *key, size_t klen, const void *val,
                     size_t vlen)
{
    (void)cache_local_put(c->local, (int)l, key, klen, val, vlen);
    if (!c->redis)
        return;
    fd_arena *a = fd_arena_new(klen + 256);
    size_t rkl;
    unsigned char *rk = a ? redis_key(l, key, klen, "c", a, &rkl) : NULL;
    if (!rk || cache_redis_set(c->redis, rk, rkl, val, vlen, (int64_t)c->ttl_s * 1000, 0) < 0)
        atomic_fetch_add(&c->redis_fallbacks, 1);
    fd_arena_free(a);
}

int fd_cache_get(fd_cache *c, fd_cache_layer l, const void *key, size_t klen, fd_arena *a,
                 void **val, size_t *vlen)
{
    if (!fd_cache_enabled(c, l))
        return 0;
    int hit = tier_get(c, l, key, klen, a, val, vlen);
    atomic_fetch_add(hit ? &c->hits[l] : &c->misses[l], 1);
    return hit;
}

void fd_cache_put(fd_cache *c, fd_cache_layer l, const void *key, size_t klen, const void *val,
                  size_t vlen)
{
    if (!fd_cache_enabled(c, l))
        return;
    atomic_fetch_add(&c->puts[l], 1);
    tier_put(c, l, key, klen, val, vlen);
}

/* ---- semantic buckets ----------------------------------------------------------- */

/* A bucket: u32 n, then n items of u32 dim, dim floats, u32 vlen, value. */
typedef struct sem_item {
    const float *vec; /* unaligned in the blob: read with memcpy */
    const unsigned char *val;
    uint32_t dim, vlen;
} sem_item;

static uint32_t rd32(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* The bucket's items (at most SEM_MAX_ITEMS); -1 when the blob is malformed. */
static int sem_parse(const unsigned char *p, size_t n, sem_item *items)
{
    if (n < 4)
        return -1;
    uint32_t cnt = rd32(p);
    if (cnt > SEM_MAX_ITEMS)
        return -1;
    size_t off = 4;
    for (uint32_t i = 0; i < cnt; i++) {
        if (n - off < 4)
            return -1;
        uint32_t dim = rd32(p + off);
        off += 4;
        if (dim > SEM_MAX_DIM || n - off < (size_t)dim * 4 + 4)
            return -1;
        items[i].dim = dim;
        items[i].vec = (const float *)(const void *)(p + off);
        off += (size_t)dim * 4;
        uint32_t vl = rd32(p + off);
        off += 4;
        if (n - off < vl)
            return -1;
        items[i].vlen = vl;
        items[i].val = p + off;
        off += vl;
    }
    return (int)cnt;
}

static double cosine(const sem_item *it, const float *vec, int dim)
{
    if ((int)it->dim != dim)
        return -1;
    double dot = 0, n1 = 0, n2 = 0;
    for (int i = 0; i < dim; i++) {
        float x;
        memcpy(&x, (const unsigned char *)it->vec + 4 * (size_t)i, 4);
        dot += (double)x * vec[i];
        n1 += (double)x * x;
        n2 += (double)vec[i] * vec[i];
    }
    return n1 > 0 && n2 > 0 ? dot / sqrt(n1 * n2) : -1;
}

int fd_cache_sem_get(fd_cache *c, const void *bucket, size_t blen, const float *vec, int dim,
                     fd_arena *a, void **val, size_t *vlen, double *similarity)
{
    if (!fd_cache_enabled(c, FD_CACHE_SEMANTIC) || !vec || dim <= 0)
        return 0;
    void *blob;
    size_t n;
    int hit = 0;
    if (tier_get(c, FD_CACHE_SEMANTIC, bucket, blen, a, &blob, &n)) {
        sem_item items[SEM_MAX_ITEMS];
        int cnt = sem_parse(blob, n, items);
        int best = -1;
        double best_sim = -1;
        for (int i = 0; i < cnt; i++) {
            double s = cosine(&items[i], vec, dim);
            if (s > best_sim) {
                best_sim = s;
                best = i;
            }
        }
        if (best >= 0 && best_sim >= c->sem_min) {
            char *v = fd_arena_alloc(a, items[best].vlen + 1);
            if (v) {
                memcpy(v, items[best].val, items[best].vlen);
                v[items[best].vlen] = 0;
                *val = v;
                *vlen = items[best].vlen;
                if (similarity)
                    *similarity = best_sim;
                hit = 1;
            }
        }
    }
    atomic_fetch_add(hit ? &c->hits[FD_CACHE_SEMANTIC] : &c->misses[FD_CACHE_SEMANTIC], 1);
    return hit;
}

static int put32(fd_buf *b, uint32_t v)
{
    return fd_buf_append(b, &v, 4);
}

void fd_cache_sem_put(fd_cache *c, const void *bucket, size_t blen, const float *vec, int dim,
                      const void *val, size_t vlen)
{
    /* A vector sem_parse would refuse is not stored: it would make the
     * whole bucket unreadable, losing the items already in it. */
    if (!fd_cache_enabled(c, FD_CACHE_SEMANTIC) || !vec || dim <= 0 || dim > SEM_MAX_DIM ||
        vlen > UINT32_MAX)
        return;
    atomic_fetch_add(&c->puts[FD_CACHE_SEMANTIC], 1);
    fd_arena *a = fd_arena_new(0);
    if (!a)
        return;
    void *blob = NULL;
    size_t n = 0;
    sem_item items[SEM_MAX_ITEMS];
    int cnt = 0;
    if (tier_get(c, FD_CACHE_SEMANTIC, bucket, blen, a, &blob, &n))
        cnt = sem_parse(blob, n, items);
    if (cnt < 0)
        cnt = 0;
    /* The new item first; then the old ones, newest first, minus one that
     * says the same (near-identical vector) and past the cap. */
    fd_buf b;
    fd_buf_init(&b, 0);
    int bad = put32(&b, 0) || put32(&b, (uint32_t)dim) || fd_buf_append(&b, vec, (size_t)dim * 4) ||
              put32(&b, (uint32_t)vlen) || fd_buf_append(&b, val, vlen);
    uint32_t kept = 1;
    for (int i = 0; i < cnt && !bad && kept < SEM_MAX_ITEMS; i++) {
        if (cosine(&items[i], vec, dim) > 0.9999)
            continue;
        bad = put32(&b, items[i].dim) ||
              fd_buf_append(&b, items[i].vec, (size_t)items[i].dim * 4) ||
              put32(&b, items[i].vlen) || fd_buf_append(&b, items[i].val, items[i].vlen);
        kept++;
    }
    if (!bad) {
        memcpy(b.p, &kept, 4);
        tier_put(c, FD_CACHE_SEMANTIC, bucket, blen, b.p, b.len);
    }
    fd_buf_free(&b);
    fd_arena_free(a);
}

void fd_cache_purge(fd_cache *c, int64_t kb_version)
{
    if (c)
        cache_local_purge(c->local, kb_version);
}

void fd_cache_clear(fd_cache *c)
{
    if (c)
        cache_local_purge(c->local, -1);
}

/* ---- single-flight ---------------------------------------------------------------- */

static flight *flight_find(fd_cache *c, int layer, uint64_t h, const void *key, size_t klen)
{
    for (size_t i = 0; i < c->n_fl; i++) {
        flight *f = &c->fl[i];
        if (f->layer == layer && f->hash == h && f->klen == klen && memcmp(f->key, key, klen) == 0)
            return f;
    }
    return NULL;
}

static void deadline_in(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* Removes key's local flight and wakes its followers. 1 when its Redis
 * flight key is ours to delete (token: its value). */
static int flight_remove(fd_cache *c, fd_cache_layer l, const void *key, size_t klen, char *token)
{
    uint64_t h = fd_hash64(key, klen, (uint64_t)l);
    int shared = 0;
    pthread_mutex_lock(&c->fmu);
    flight *f = flight_find(c, (int)l, h, key, klen);
    if (f) {
        shared = f->shared;
        memcpy(token, f->token, TOKEN_LEN);
        fd_free(f->key);
        *f = c->fl[--c->n_fl];
        pthread_cond_broadcast(&c->fcv);
    }
    pthread_mutex_unlock(&c->fmu);
    return shared;
}

static void flight_mark_shared(fd_cache *c, fd_cache_layer l, uint64_t h, const void *key,
                               size_t klen)
{
    pthread_mutex_lock(&c->fmu);
    flight *f = flight_find(c, (int)l, h, key, klen);
    if (f)
        f->shared = 1;
    pthread_mutex_unlock(&c->fmu);
}

/* Another replica leads: wait until its value is in Redis or its flight
 * key is gone (it ended without a value, or its time ran out), so a leader
 * that fails does not hold followers for all of wait_ms. 1 when wait_ms
 * ran out first. */
static int wait_remote(fd_cache *c, fd_cache_layer l, const void *key, size_t klen, int wait_ms)
{
    uint64_t until = fd_time_ns() + (uint64_t)wait_ms * 1000000ull;
    fd_arena *a = fd_arena_new(0);
    size_t vkl = 0, fkl = 0;
    unsigned char *vk = a ? redis_key(l, key, klen, "c", a, &vkl) : NULL;
    unsigned char *fk = a ? redis_key(l, key, klen, "f", a, &fkl) : NULL;
    int timed_out = 0;
    while (vk && fk) {
        void *v;
        size_t vl;
        if (cache_redis_get(c->redis, vk, vkl, a, &v, &vl) != 0)
            break; /* there (the caller looks again), or Redis failed */
        if (cache_redis_get(c->redis, fk, fkl, a, &v, &vl) != 1)
            break; /* the leader is done, or Redis failed */
        if (fd_time_ns() >= until) {
            timed_out = 1;
            break;
        }
        struct timespec d = {0, 5 * 1000000L};
        nanosleep(&d, NULL);
    }
    fd_arena_free(a);
    return timed_out;
}

/* Claims the flight in Redis: 1 ours, 0 another replica's, -1 no Redis. */
static int claim_remote(fd_cache *c, fd_cache_layer l, const void *key, size_t klen,
                        const char *token, int wait_ms)
{
    fd_arena *a = fd_arena_new(klen + 256);
    size_t rkl;
    unsigned char *rk = a ? redis_key(l, key, klen, "f", a, &rkl) : NULL;
    int got = rk ? cache_redis_set(c->redis, rk, rkl, token, strlen(token), wait_ms, 1) : -1;
    fd_arena_free(a);
    return got;
}

int fd_cache_flight_begin(fd_cache *c, fd_cache_layer l, const void *key, size_t klen, int wait_ms)
{
    if (!c || l >= FD_CACHE_N_LAYERS)
        return FD_CACHE_LEAD;
    /* A negative wait would be a deadline timedwait refuses (EINVAL, the
     * lock kept): the wait below would spin holding it. */
    if (wait_ms < 0)
        wait_ms = 0;
    uint64_t h = fd_hash64(key, klen, (uint64_t)l);
    pthread_mutex_lock(&c->fmu);
    if (flight_find(c, (int)l, h, key, klen)) {
        struct timespec dl;
        deadline_in(&dl, wait_ms);
        int rc = 0;
        while (flight_find(c, (int)l, h, key, klen) && rc != ETIMEDOUT)
            rc = pthread_cond_timedwait(&c->fcv, &c->fmu, &dl);
        pthread_mutex_unlock(&c->fmu);
        atomic_fetch_add(&c->followed, 1);
        if (rc == ETIMEDOUT)
            atomic_fetch_add(&c->flight_timeouts, 1);
        return FD_CACHE_FOLLOWED;
    }
    unsigned char *k = fd_malloc(klen ? klen : 1);
    if (c->n_fl == c->cap_fl) {
        size_t cap = c->cap_fl ? 2 * c->cap_fl : 16;
        flight *v = fd_realloc(c->fl, cap * sizeof *v);
        if (v) {
            c->fl = v;
            c->cap_fl = cap;
        }
    }
    if (!k || c->n_fl == c->cap_fl) {
        /* Out of memory: lead without telling anyone (correct, less shared). */
        pthread_mutex_unlock(&c->fmu);
        fd_free(k);
        return FD_CACHE_LEAD;
    }
    memcpy(k, key, klen);
    flight f = {(int)l, h, klen, k, {0}, 0};
    /* Unique among replicas: this process, this cache, this moment, this flight. */
    snprintf(f.token, sizeof f.token, "%d:%llx:%llx:%llx", (int)getpid(),
             (unsigned long long)((uintptr_t)c & 0xffffff), (unsigned long long)fd_time_ns(),
             (unsigned long long)atomic_fetch_add(&c->flight_seq, 1));
    c->fl[c->n_fl++] = f;
    pthread_mutex_unlock(&c->fmu);
    if (c->redis && wait_ms > 0) {
        int got = claim_remote(c, l, key, klen, f.token, wait_ms);
        if (got == 0) {
            /* Another replica computes it: wait for its answer there. The
             * local flight stays meanwhile, so this replica's other callers
             * wait with us instead of computing it themselves. */
            char token[TOKEN_LEN];
            int timed_out = wait_remote(c, l, key, klen, wait_ms);
            (void)flight_remove(c, l, key, klen, token);
            atomic_fetch_add(&c->followed, 1);
            if (timed_out)
                atomic_fetch_add(&c->flight_timeouts, 1);
            return FD_CACHE_FOLLOWED;
        }
        if (got == 1)
            flight_mark_shared(c, l, h, key, klen);
    }
    atomic_fetch_add(&c->led, 1);
    return FD_CACHE_LEAD;
}

void fd_cache_flight_end(fd_cache *c, fd_cache_layer l, const void *key, size_t klen)
{
    if (!c || l >= FD_CACHE_N_LAYERS)
        return;
    char token[TOKEN_LEN];
    if (!flight_remove(c, l, key, klen, token) || !c->redis)
        return;
    /* Over for the other replicas too: their followers see the key go and
     * look again. Only if still ours: past wait_ms it may be a successor's. */
    fd_arena *a = fd_arena_new(klen + 256);
    size_t rkl;
    unsigned char *rk = a ? redis_key(l, key, klen, "f", a, &rkl) : NULL;
    if (rk)
        (void)cache_redis_del_if(c->redis, rk, rkl, token, strlen(token));
    fd_arena_free(a);
}

/* ---- counters ------------------------------------------------------------------------ */

void fd_cache_stats_get(fd_cache *c, fd_cache_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!c)
        return;
    cache_local_counts lc;
    cache_local_counts_get(c->local, &lc);
    for (int l = 0; l < FD_CACHE_N_LAYERS; l++) {
        fd_cache_layer_stats *s = &out->layer[l];
        s->hits = atomic_load(&c->hits[l]);
        s->misses = atomic_load(&c->misses[l]);
        s->puts = atomic_load(&c->puts[l]);
        s->evictions = lc.evictions[l];
        s->expired = lc.expired[l];
        s->purged = lc.purged[l];
        s->entries = lc.entries[l];
        s->bytes = lc.bytes[l];
    }
    out->max_bytes = c->max_bytes;
    out->flights_led = atomic_load(&c->led);
    out->flights_followed = atomic_load(&c->followed);
    out->flight_timeouts = atomic_load(&c->flight_timeouts);
    out->redis_configured = c->redis != NULL;
    if (c->redis) {
        out->redis_up = cache_redis_up(c->redis);
        cache_redis_counts(c->redis, &out->redis_errors, &out->redis_recoveries);
        out->redis_hits = atomic_load(&c->redis_hits);
        out->redis_fallbacks = atomic_load(&c->redis_fallbacks);
    }
}

int fd_cache_take(fd_cache *c, const char *key, double rate_per_s, double burst,
                  double *retry_after_s)
{
    if (!c || !c->redis || !key || rate_per_s <= 0)
        return -1;
    /* A burst below one is one, as in fd_ratelimit: the script would
     * otherwise never hold a whole token and refuse every call. */
    if (burst < 1)
        burst = 1;
    /* In the cache's own namespace, so a caller's key never lands on (and
     * fails on) another kind of value. */
    fd_arena *a = fd_arena_new(strlen(key) + 64);
    char *rk = a ? fd_arena_printf(a, "fd:r:%s", key) : NULL;
    int rc = rk ? cache_redis_take(c->redis, rk, rate_per_s, burst, retry_after_s) : -1;
    fd_arena_free(a);
    if (rc < 0)
        atomic_fetch_add(&c->redis_fallbacks, 1);
    return rc;
}
