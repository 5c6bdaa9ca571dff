/* cache/cache.h: the answer caches. Customer traffic repeats itself, so a
 * message that was answered before is answered again from memory:
 *
 *   exact      normalized message            -> the knowledge step's answer
 *   semantic   bucket (intent, key entities,  -> the same, when the new
 *              distinctive terms, negation)      message's embedding is close
 *                                                 to a cached one's
 *   retrieval  query                          -> the passages it retrieved
 *   llm        prompt hash                    -> a validated completion
 *   guard      the message's exact bytes      -> the guard's verdict (the
 *                                                 costliest step left on a hit)
 *
 * The caller builds the keys and puts the knowledge-base version in every
 * one, so a new version never sees an old answer (fd_cache_purge frees
 * the old entries at once). Values are opaque bytes.
 *
 * Two tiers: a local, sharded LRU with a byte budget and a TTL, and, when
 * cache.redis_url is set, Redis shared by every replica. A Redis failure
 * is counted and the local tier carries on alone; the connection is
 * retried and Redis used again once it answers.
 *
 * Single-flight: identical computations in flight at once share one
 * (fd_cache_flight_begin); the LLM's own single-flight is the server's.
 *
 * Threads: every function is safe to call from any thread.
 * Memory:  gets copy into the caller's arena; the cache owns its copies.
 * Errors:  gets and puts never fail the caller: a failure is a miss, and
 *          counted. */
#ifndef FD_CACHE_H
#define FD_CACHE_H

#include "core.h"

typedef struct fd_cache fd_cache;

typedef enum fd_cache_layer {
    FD_CACHE_EXACT,
    FD_CACHE_SEMANTIC,
    FD_CACHE_RETRIEVAL,
    FD_CACHE_LLM,
    FD_CACHE_GUARD, /* raw message -> the guard's verdict (on with cache.exact) */
    FD_CACHE_N_LAYERS
} fd_cache_layer;

const char *fd_cache_layer_name(fd_cache_layer l); /* "exact", "semantic", ... */

/* From cache.* in cfg (budget, TTL, layers on or off, Redis). A Redis that
 * does not answer at open is not an error: local until it does. */
int fd_cache_new(const fd_config *cfg, fd_log *log, fd_cache **out, fd_err *err) FD_MUST_USE;
void fd_cache_free(fd_cache *c); /* NULL is fine */

/* 1 when the layer is on (cache.enabled and cache.<layer>). */
int fd_cache_enabled(const fd_cache *c, fd_cache_layer l);

/* 1 on a hit (*val, *vlen: a copy in a), 0 on a miss. */
int fd_cache_get(fd_cache *c, fd_cache_layer l, const void *key, size_t klen, fd_arena *a,
                 void **val, size_t *vlen);
void fd_cache_put(fd_cache *c, fd_cache_layer l, const void *key, size_t klen, const void *val,
                  size_t vlen);

/* The semantic layer: entries live in buckets (the caller's key for "same
 * intent, same entities, same distinctive words, same polarity"); a hit is
 * the bucket's entry whose vector is closest to vec with a cosine of at
 * least cache.semantic_min_similarity. vec has dim floats, unit length. */
int fd_cache_sem_get(fd_cache *c, const void *bucket, size_t blen, const float *vec, int dim,
                     fd_arena *a, void **val, size_t *vlen, double *similarity);
void fd_cache_sem_put(fd_cache *c, const void *bucket, size_t blen, const float *vec, int dim,
                      const void *val, size_t vlen);

/* Drops every local entry whose key does not carry this kb version (the
 * version is the first 8 bytes of every key, little-endian int64), so an
 * ingest frees the old answers at once. Redis entries expire by TTL. */
void fd_cache_purge(fd_cache *c, int64_t kb_version);
/* Empties the local tier. */
void fd_cache_clear(fd_cache *c);

/* ---- single-flight ---------------------------------------------------------- */

/* Before computing what key would hold: FD_CACHE_LEAD when nobody is, and
 * the caller must call fd_cache_flight_end when done (whether it put a
 * value or not); FD_CACHE_FOLLOWED after waiting (at most wait_ms) for the
 * one who was: look again. With Redis up the flight is shared by replicas
 * (SET NX with a TTL of wait_ms). */
enum { FD_CACHE_LEAD = 1, FD_CACHE_FOLLOWED = 2 };
int fd_cache_flight_begin(fd_cache *c, fd_cache_layer l, const void *key, size_t klen, int wait_ms);
void fd_cache_flight_end(fd_cache *c, fd_cache_layer l, const void *key, size_t klen);

/* ---- shared rate limits ------------------------------------------------------ */

/* One token from the bucket key (refilled at rate_per_s up to burst) held
 * in Redis, so every replica draws on the same bucket: 1 taken, 0 limited
 * (*retry_after_s set), -1 no Redis (not configured or down: the caller
 * limits locally). */
int fd_cache_take(fd_cache *c, const char *key, double rate_per_s, double burst,
                  double *retry_after_s);

/* ---- counters ---------------------------------------------------------------- */

typedef struct fd_cache_layer_stats {
    uint64_t hits, misses, puts, evictions, expired, purged;
    uint64_t entries, bytes;
} fd_cache_layer_stats;

typedef struct fd_cache_stats {
    fd_cache_layer_stats layer[FD_CACHE_N_LAYERS];
    uint64_t max_bytes;
    uint64_t flights_led, flights_followed, flight_timeouts;
    /* Redis: configured, reachable now, errors, fallbacks to local, and
     * reconnections after a failure. */
    int redis_configured, redis_up;
    uint64_t redis_errors, redis_recoveries, redis_hits;
    uint64_t redis_fallbacks; /* operations that went local because Redis was unavailable */
} fd_cache_stats;

void fd_cache_stats_get(fd_cache *c, fd_cache_stats *out);

/* ---- keys -------------------------------------------------------------------- */

/* A key under construction: the kb version first, then the caller's parts,
 * each length-prefixed so ("ab","c") and ("a","bc") differ. */
typedef struct fd_cache_key {
    fd_buf b;
} fd_cache_key;
int fd_cache_key_init(fd_cache_key *k, int64_t kb_version) FD_MUST_USE;
int fd_cache_key_add(fd_cache_key *k, const void *p, size_t n) FD_MUST_USE;
int fd_cache_key_add_str(fd_cache_key *k, const char *s) FD_MUST_USE;
void fd_cache_key_free(fd_cache_key *k);

/* ---- values ------------------------------------------------------------------ */

/* A value as a sequence of fields (strings and integers), so callers store
 * records without a format of their own. */
typedef struct fd_cache_rec {
    fd_buf b;
} fd_cache_rec;
void fd_cache_rec_init(fd_cache_rec *r);
int fd_cache_rec_str(fd_cache_rec *r, const char *s) FD_MUST_USE; /* NULL kept as NULL */
int fd_cache_rec_int(fd_cache_rec *r, int64_t v) FD_MUST_USE;
int fd_cache_rec_dbl(fd_cache_rec *r, double v) FD_MUST_USE;
void fd_cache_rec_free(fd_cache_rec *r);

/* Reading one back; every call fails (returns nonzero) once the record is
 * short or malformed, so a reader checks once at the end. */
typedef struct fd_cache_reader {
    const unsigned char *p;
    size_t n, off;
    int bad;
} fd_cache_reader;
void fd_cache_reader_init(fd_cache_reader *rd, const void *p, size_t n);
/* s points into the record (NUL-terminated there); NULL for a NULL. */
int fd_cache_read_str(fd_cache_reader *rd, const char **s);
int fd_cache_read_int(fd_cache_reader *rd, int64_t *v);
int fd_cache_read_dbl(fd_cache_reader *rd, double *v);

#endif
