/* cache_int.h: the two tiers behind fd_cache (cache.c): the local sharded
 * LRU (local.c) and the Redis client (redis.c). */
#ifndef FD_CACHE_INT_H
#define FD_CACHE_INT_H

#include "cache.h"

#include <pthread.h>
#include <stdatomic.h>

/* ---- local.c: sharded LRU with a byte budget and a TTL ------------------------ */

typedef struct cache_local cache_local;

int cache_local_new(size_t max_bytes, int ttl_s, cache_local **out);
void cache_local_free(cache_local *lc);
/* 1 hit (copy in a), 0 miss (or expired: *expired set). */
int cache_local_get(cache_local *lc, int layer, const void *key, size_t klen, fd_arena *a,
                    void **val, size_t *vlen, int *expired);
/* 0 stored, -1 out of memory or larger than a shard's budget. Evictions
 * are counted per layer of the entry evicted. */
int cache_local_put(cache_local *lc, int layer, const void *key, size_t klen, const void *val,
                    size_t vlen);
/* Drops entries whose key's first 8 bytes are not kb_version (all when
 * kb_version < 0); counted as purged. */
void cache_local_purge(cache_local *lc, int64_t kb_version);

typedef struct cache_local_counts {
    uint64_t entries[FD_CACHE_N_LAYERS], bytes[FD_CACHE_N_LAYERS];
    uint64_t evictions[FD_CACHE_N_LAYERS], expired[FD_CACHE_N_LAYERS], purged[FD_CACHE_N_LAYERS];
} cache_local_counts;
void cache_local_counts_get(cache_local *lc, cache_local_counts *out);

/* ---- redis.c: a small pool of hiredis connections ----------------------------- */

typedef struct cache_redis cache_redis;

/* url: redis://host:port[/db]. Never fails on an unreachable server (it is
 * retried); FD_EINVAL on a malformed URL. */
int cache_redis_new(const char *url, int timeout_ms, int retry_ms, fd_log *log, cache_redis **out,
                    fd_err *err);
void cache_redis_free(cache_redis *r);
/* 1 hit, 0 miss, -1 Redis unavailable (down, or failed now: counted). */
int cache_redis_get(cache_redis *r, const void *key, size_t klen, fd_arena *a, void **val,
                    size_t *vlen);
/* SET key val PX ttl_ms [NX]: 1 set, 0 not set (NX and present), -1 unavailable. */
int cache_redis_set(cache_redis *r, const void *key, size_t klen, const void *val, size_t vlen,
                    int64_t ttl_ms, int nx);
int cache_redis_del(cache_redis *r, const void *key, size_t klen);
/* DEL key if it holds val: 1 deleted, 0 not (absent or another value), -1 unavailable. */
int cache_redis_del_if(cache_redis *r, const void *key, size_t klen, const void *val, size_t vlen);
/* A token bucket in one round trip (a Lua script): 1 allowed, 0 limited
 * (*retry_after_s set), -1 unavailable. */
int cache_redis_take(cache_redis *r, const char *key, double rate_per_s, double burst,
                     double *retry_after_s);
int cache_redis_up(cache_redis *r);
void cache_redis_counts(cache_redis *r, uint64_t *errors, uint64_t *recoveries);

#endif
