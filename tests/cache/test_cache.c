/* test_cache.c: the local tier and the layers over it: hits and misses per
 * layer and layers as separate namespaces, disabled layers, the byte budget
 * with LRU eviction, the TTL, purge by kb version, the semantic buckets
 * (similarity threshold, best match, cap, replacement), single-flight
 * among threads (one leader, followers wait, timeouts), keys and records
 * (length prefixes, round trips, truncated and corrupt records) and a
 * threaded soak whose counters must add up. */
#include "support.h"
#include "cache.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define MS 1000000ull

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* Local only, every layer on, the defaults otherwise. */
static void base_cfg(fd_config *cfg)
{
    fd_config_defaults(cfg);
    cfg->cache_enabled = 1;
    cfg->cache_exact = cfg->cache_semantic = cfg->cache_retrieval = cfg->cache_llm = 1;
    cfg->cache_redis_url[0] = '\0';
    cfg->cache_semantic_min = 0.8;
}

static fd_cache *new_cache(const fd_config *cfg)
{
    fd_cache *c = NULL;
    fd_err err = {0};
    assert_int_equal(fd_cache_new(cfg, NULL, &c, &err), FD_OK);
    assert_non_null(c);
    return c;
}

/* A key of kb version ver with one part, name. */
static void mkkey(fd_cache_key *k, int64_t ver, const char *name)
{
    assert_int_equal(fd_cache_key_init(k, ver), FD_OK);
    assert_int_equal(fd_cache_key_add_str(k, name), FD_OK);
}

/* 1 when key holds exactly want in layer l (a counted get). */
static int holds(fd_cache *c, fd_cache_layer l, int64_t ver, const char *name, const char *want)
{
    fd_cache_key k;
    mkkey(&k, ver, name);
    fd_arena *a = fd_arena_new(0);
    assert_non_null(a);
    void *v = NULL;
    size_t vl = 0;
    int hit = fd_cache_get(c, l, k.b.p, k.b.len, a, &v, &vl);
    int ok = hit && (!want || (vl == strlen(want) && memcmp(v, want, vl) == 0));
    if (hit)
        assert_int_equal(((char *)v)[vl], '\0'); /* copies are NUL-terminated */
    fd_arena_free(a);
    fd_cache_key_free(&k);
    return ok;
}

static void put(fd_cache *c, fd_cache_layer l, int64_t ver, const char *name, const void *val,
                size_t vlen)
{
    fd_cache_key k;
    mkkey(&k, ver, name);
    fd_cache_put(c, l, k.b.p, k.b.len, val, vlen);
    fd_cache_key_free(&k);
}

static void put_s(fd_cache *c, fd_cache_layer l, int64_t ver, const char *name, const char *val)
{
    put(c, l, ver, name, val, strlen(val));
}

static uint64_t total_bytes(const fd_cache_stats *st)
{
    uint64_t b = 0;
    for (int l = 0; l < FD_CACHE_N_LAYERS; l++)
        b += st->layer[l].bytes;
    return b;
}

/* ---- 1. hits, misses, namespaces, disabled layers ------------------------------ */

static void test_get_put_layers(void **state)
{
    (void)state;
    fd_config cfg;
    base_cfg(&cfg);
    fd_cache *c = new_cache(&cfg);
    for (int l = 0; l < FD_CACHE_N_LAYERS; l++)
        assert_true(fd_cache_enabled(c, (fd_cache_layer)l));
    assert_string_equal(fd_cache_layer_name(FD_CACHE_EXACT), "exact");
    assert_string_equal(fd_cache_layer_name(FD_CACHE_SEMANTIC), "semantic");
    assert_string_equal(fd_cache_layer_name(FD_CACHE_RETRIEVAL), "retrieval");
    assert_string_equal(fd_cache_layer_name(FD_CACHE_LLM), "llm");

    assert_false(holds(c, FD_CACHE_EXACT, 1, "hello", NULL));
    put_s(c, FD_CACHE_EXACT, 1, "hello", "answer-exact");
    assert_true(holds(c, FD_CACHE_EXACT, 1, "hello", "answer-exact"));
    /* Same key bytes, other layers: other entries. */
    assert_false(holds(c, FD_CACHE_LLM, 1, "hello", NULL));
    assert_false(holds(c, FD_CACHE_RETRIEVAL, 1, "hello", NULL));
    put_s(c, FD_CACHE_LLM, 1, "hello", "answer-llm");
    assert_true(holds(c, FD_CACHE_EXACT, 1, "hello", "answer-exact"));
    assert_true(holds(c, FD_CACHE_LLM, 1, "hello", "answer-llm"));
    /* Same name, other version: another key. */
    assert_false(holds(c, FD_CACHE_EXACT, 2, "hello", NULL));
    /* A put replaces. */
    put_s(c, FD_CACHE_EXACT, 1, "hello", "second");
    assert_true(holds(c, FD_CACHE_EXACT, 1, "hello", "second"));
    /* Empty values and binary values are values. */
    put(c, FD_CACHE_RETRIEVAL, 1, "empty", "", 0);
    assert_true(holds(c, FD_CACHE_RETRIEVAL, 1, "empty", ""));
    const unsigned char bin[] = {0, 1, 0, 255, 0};
    put(c, FD_CACHE_RETRIEVAL, 1, "bin", bin, sizeof bin);
    {
        fd_cache_key k;
        mkkey(&k, 1, "bin");
        fd_arena *a = fd_arena_new(0);
        void *v;
        size_t vl;
        assert_true(fd_cache_get(c, FD_CACHE_RETRIEVAL, k.b.p, k.b.len, a, &v, &vl));
        assert_int_equal(vl, sizeof bin);
        assert_memory_equal(v, bin, sizeof bin);
        fd_arena_free(a);
        fd_cache_key_free(&k);
    }

    fd_cache_stats st;
    fd_cache_stats_get(c, &st);
    const fd_cache_layer_stats *ex = &st.layer[FD_CACHE_EXACT], *llm = &st.layer[FD_CACHE_LLM];
    const fd_cache_layer_stats *re = &st.layer[FD_CACHE_RETRIEVAL];
    assert_int_equal(ex->hits, 3);
    assert_int_equal(ex->misses, 2);
    assert_int_equal(ex->puts, 2);
    assert_int_equal(ex->entries, 1); /* replaced, not added */
    assert_true(ex->bytes > 0);
    assert_int_equal(llm->hits, 1);
    assert_int_equal(llm->misses, 1);
    assert_int_equal(llm->puts, 1);
    assert_int_equal(llm->entries, 1);
    assert_int_equal(re->hits, 2);
    assert_int_equal(re->misses, 1);
    assert_int_equal(re->entries, 2);
    assert_int_equal(st.layer[FD_CACHE_SEMANTIC].hits + st.layer[FD_CACHE_SEMANTIC].misses, 0);
    assert_int_equal(st.redis_configured, 0);
    assert_int_equal(st.redis_up, 0);
    assert_int_equal(st.max_bytes, cfg.cache_max_bytes);
    fd_cache_free(c);
    fd_cache_free(NULL);
}

static void test_disabled_layers(void **state)
{
    (void)state;
    fd_config cfg;
    base_cfg(&cfg);
    cfg.cache_exact = 0;
    fd_cache *c = new_cache(&cfg);
    assert_false(fd_cache_enabled(c, FD_CACHE_EXACT));
    assert_true(fd_cache_enabled(c, FD_CACHE_LLM));
    put_s(c, FD_CACHE_EXACT, 1, "k", "v");
    assert_false(holds(c, FD_CACHE_EXACT, 1, "k", NULL));
    put_s(c, FD_CACHE_LLM, 1, "k", "v"); /* the others work */
    assert_true(holds(c, FD_CACHE_LLM, 1, "k", "v"));
    fd_cache_stats st;
    fd_cache_stats_get(c, &st);
    const fd_cache_layer_stats *ex = &st.layer[FD_CACHE_EXACT];
    assert_int_equal(ex->hits + ex->misses + ex->puts + ex->entries + ex->bytes, 0);
    assert_int_equal(st.layer[FD_CACHE_LLM].hits, 1);
    fd_cache_free(c);

    /* cache.enabled off: nothing at all, the semantic layer included. */
    base_cfg(&cfg);
    cfg.cache_enabled = 0;
    c = new_cache(&cfg);
    float vec[4] = {1, 0, 0, 0};
    for (int l = 0; l < FD_CACHE_N_LAYERS; l++) {
        assert_false(fd_cache_enabled(c, (fd_cache_layer)l));
        put_s(c, (fd_cache_layer)l, 1, "k", "v");
        assert_false(holds(c, (fd_cache_layer)l, 1, "k", NULL));
    }
    fd_cache_sem_put(c, "b", 1, vec, 4, "v", 1);
    fd_arena *a = fd_arena_new(0);
    void *v;
    size_t vl;
    double sim;
    assert_false(fd_cache_sem_get(c, "b", 1, vec, 4, a, &v, &vl, &sim));
    fd_arena_free(a);
    fd_cache_stats_get(c, &st);
    for (int l = 0; l < FD_CACHE_N_LAYERS; l++) {
        const fd_cache_layer_stats *s = &st.layer[l];
        assert_int_equal(s->hits + s->misses + s->puts + s->entries + s->bytes, 0);
    }
    fd_cache_free(c);
    assert_false(fd_cache_enabled(NULL, FD_CACHE_EXACT));
}

/* ---- 2. the byte budget and LRU ---------------------------------------------------- */

static void test_budget_lru(void **state)
{
    (void)state;
    fd_config cfg;
    base_cfg(&cfg);
    cfg.cache_max_bytes = 65536; /* the minimum: 4 KB a shard, three 1 KB values */
    fd_cache *c = new_cache(&cfg);
    char val[1024], name[32];
    memset(val, 'x', sizeof val);
    fd_cache_stats st;
    const int n = 400;
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof name, "key-%d", i);
        put(c, FD_CACHE_EXACT, 1, name, val, sizeof val);
        fd_cache_stats_get(c, &st);
        assert_true(total_bytes(&st) <= 65536);
    }
    const fd_cache_layer_stats *ex = &st.layer[FD_CACHE_EXACT];
    assert_int_equal(ex->puts, n);
    assert_true(ex->evictions > 0);
    assert_int_equal(ex->evictions, n - ex->entries); /* every key was new */
    assert_true(ex->entries >= 32 && ex->entries <= 64);
    assert_true(ex->bytes > 65536 / 2); /* the budget is used, not wasted */
    assert_int_equal(ex->expired + ex->purged, 0);
    /* The newest three always survive (a shard holds three). */
    for (int i = n - 3; i < n; i++) {
        snprintf(name, sizeof name, "key-%d", i);
        assert_true(holds(c, FD_CACHE_EXACT, 1, name, NULL));
    }

    /* hot is touched before every insert, cold never: hot stays the most
     * recent of its shard and survives; cold goes like the first keys. */
    put(c, FD_CACHE_EXACT, 1, "hot", val, sizeof val);
    put(c, FD_CACHE_EXACT, 1, "cold", val, sizeof val);
    for (int i = 0; i < 500; i++) {
        assert_true(holds(c, FD_CACHE_EXACT, 1, "hot", NULL));
        snprintf(name, sizeof name, "more-%d", i);
        put(c, FD_CACHE_EXACT, 1, name, val, sizeof val);
    }
    assert_true(holds(c, FD_CACHE_EXACT, 1, "hot", NULL));
    assert_false(holds(c, FD_CACHE_EXACT, 1, "cold", NULL));
    for (int i = 0; i < 100; i++) {
        snprintf(name, sizeof name, "key-%d", i);
        assert_false(holds(c, FD_CACHE_EXACT, 1, name, NULL));
    }
    fd_cache_stats_get(c, &st);
    assert_true(total_bytes(&st) <= 65536);
    assert_int_equal(st.layer[FD_CACHE_EXACT].evictions,
                     n + 502 - st.layer[FD_CACHE_EXACT].entries);

    /* Layers share one budget, and evictions are counted per layer. */
    for (int i = 0; i < 200; i++) {
        snprintf(name, sizeof name, "llm-%d", i);
        put(c, FD_CACHE_LLM, 1, name, val, sizeof val);
    }
    fd_cache_stats_get(c, &st);
    assert_true(total_bytes(&st) <= 65536);
    assert_true(st.layer[FD_CACHE_LLM].evictions > 0);
    assert_true(st.layer[FD_CACHE_EXACT].entries < 16); /* pushed out by llm entries */

    /* A value past a shard's budget is not kept (and breaks nothing). */
    static char big[8192];
    memset(big, 'y', sizeof big);
    put(c, FD_CACHE_RETRIEVAL, 1, "big", big, sizeof big);
    assert_false(holds(c, FD_CACHE_RETRIEVAL, 1, "big", NULL));
    fd_cache_stats_get(c, &st);
    assert_true(total_bytes(&st) <= 65536);
    fd_cache_free(c);
}

/* ---- 3. TTL ------------------------------------------------------------------------- */

static void test_ttl(void **state)
{
    (void)state;
    fd_config cfg;
    base_cfg(&cfg);
    cfg.cache_ttl_s = 1;
    fd_cache *c = new_cache(&cfg);
    put_s(c, FD_CACHE_EXACT, 1, "k", "v");
    put_s(c, FD_CACHE_LLM, 1, "k", "v");
    assert_true(holds(c, FD_CACHE_EXACT, 1, "k", "v"));
    sleep_ms(1200);
    assert_false(holds(c, FD_CACHE_EXACT, 1, "k", NULL));
    assert_false(holds(c, FD_CACHE_EXACT, 1, "k", NULL)); /* gone, not expired twice */
    fd_cache_stats st;
    fd_cache_stats_get(c, &st);
    assert_int_equal(st.layer[FD_CACHE_EXACT].expired, 1);
    assert_int_equal(st.layer[FD_CACHE_EXACT].entries, 0);
    assert_int_equal(st.layer[FD_CACHE_EXACT].bytes, 0);
    assert_int_equal(st.layer[FD_CACHE_EXACT].hits, 1);
    assert_int_equal(st.layer[FD_CACHE_EXACT].misses, 2);
    assert_int_equal(st.layer[FD_CACHE_EXACT].evictions, 0);
    /* A fresh put lives again. */
    put_s(c, FD_CACHE_EXACT, 1, "k", "w");
    assert_true(holds(c, FD_CACHE_EXACT, 1, "k", "w"));
    assert_false(holds(c, FD_CACHE_LLM, 1, "k", NULL));
    fd_cache_stats_get(c, &st);
    assert_int_equal(st.layer[FD_CACHE_LLM].expired, 1);
    fd_cache_free(c);
}

/* ---- 4. purge by kb version --------------------------------------------------------- */

static void test_purge(void **state)
{
    (void)state;
    fd_config cfg;
    base_cfg(&cfg);
    fd_cache *c = new_cache(&cfg);
    put_s(c, FD_CACHE_EXACT, 1, "a", "1a");
    put_s(c, FD_CACHE_EXACT, 1, "b", "1b");
    put_s(c, FD_CACHE_LLM, 1, "a", "1a");
    put_s(c, FD_CACHE_EXACT, 2, "a", "2a");
    put_s(c, FD_CACHE_EXACT, 2, "c", "2c");
    put_s(c, FD_CACHE_RETRIEVAL, 2, "a", "2a");
    /* A version whose bytes are not all low: the whole 8 bytes count. */
    put_s(c, FD_CACHE_EXACT, (int64_t)1 << 40 | 2, "a", "big");
    fd_cache_purge(c, 2);
    assert_false(holds(c, FD_CACHE_EXACT, 1, "a", NULL));
    assert_false(holds(c, FD_CACHE_EXACT, 1, "b", NULL));
    assert_false(holds(c, FD_CACHE_LLM, 1, "a", NULL));
    assert_false(holds(c, FD_CACHE_EXACT, (int64_t)1 << 40 | 2, "a", NULL));
    assert_true(holds(c, FD_CACHE_EXACT, 2, "a", "2a"));
    assert_true(holds(c, FD_CACHE_EXACT, 2, "c", "2c"));
    assert_true(holds(c, FD_CACHE_RETRIEVAL, 2, "a", "2a"));
    fd_cache_stats st;
    fd_cache_stats_get(c, &st);
    assert_int_equal(st.layer[FD_CACHE_EXACT].purged, 3);
    assert_int_equal(st.layer[FD_CACHE_LLM].purged, 1);
    assert_int_equal(st.layer[FD_CACHE_RETRIEVAL].purged, 0);
    assert_int_equal(st.layer[FD_CACHE_EXACT].entries, 2);
    assert_int_equal(st.layer[FD_CACHE_LLM].entries, 0);
    assert_int_equal(st.layer[FD_CACHE_LLM].bytes, 0);
    /* Purging the current version again drops nothing. */
    fd_cache_purge(c, 2);
    fd_cache_stats_get(c, &st);
    assert_int_equal(st.layer[FD_CACHE_EXACT].purged, 3);
    /* Clear drops everything. */
    fd_cache_clear(c);
    assert_false(holds(c, FD_CACHE_EXACT, 2, "a", NULL));
    fd_cache_stats_get(c, &st);
    assert_int_equal(st.layer[FD_CACHE_EXACT].purged, 5);
    assert_int_equal(st.layer[FD_CACHE_RETRIEVAL].purged, 1);
    assert_int_equal(total_bytes(&st), 0);
    fd_cache_purge(NULL, 1);
    fd_cache_clear(NULL);
    fd_cache_free(c);
}

/* ---- 5. semantic buckets ------------------------------------------------------------- */

#define DIM 32

static void basis(float *v, int i)
{
    memset(v, 0, DIM * sizeof *v);
    v[i] = 1;
}

/* cos(v, e_i) == cs, the rest along e_j. */
static void at_cosine(float *v, int i, int j, double cs)
{
    memset(v, 0, DIM * sizeof *v);
    v[i] = (float)cs;
    v[j] = (float)sqrt(1 - cs * cs);
}

static int sem(fd_cache *c, const char *bucket, const float *vec, int dim, char *out, size_t outsz,
               double *sim)
{
    fd_arena *a = fd_arena_new(0);
    void *v = NULL;
    size_t vl = 0;
    double s = -2;
    int hit = fd_cache_sem_get(c, bucket, strlen(bucket), vec, dim, a, &v, &vl, &s);
    if (hit) {
        assert_true(vl < outsz);
        memcpy(out, v, vl);
        out[vl] = '\0';
        assert_int_equal(((char *)v)[vl], '\0');
    }
    if (sim)
        *sim = s;
    fd_arena_free(a);
    return hit;
}

static void sem_put_s(fd_cache *c, const char *bucket, const float *vec, const char *val)
{
    fd_cache_sem_put(c, bucket, strlen(bucket), vec, DIM, val, strlen(val));
}

/* The number of items in a bucket, read from its raw value. */
static uint32_t bucket_items(fd_cache *c, const char *bucket)
{
    fd_arena *a = fd_arena_new(0);
    void *v;
    size_t vl;
    uint32_t n = 0;
    if (fd_cache_get(c, FD_CACHE_SEMANTIC, bucket, strlen(bucket), a, &v, &vl)) {
        assert_true(vl >= 4);
        memcpy(&n, v, 4);
    }
    fd_arena_free(a);
    return n;
}

static void test_semantic(void **state)
{
    (void)state;
    fd_config cfg;
    base_cfg(&cfg);
    cfg.cache_semantic_min = 0.8;
    fd_cache *c = new_cache(&cfg);
    float e0[DIM], v[DIM];
    char out[64];
    double sim;
    basis(e0, 0);
    assert_false(sem(c, "b1", e0, DIM, out, sizeof out, &sim)); /* empty */
    sem_put_s(c, "b1", e0, "answer-0");
    assert_true(sem(c, "b1", e0, DIM, out, sizeof out, &sim));
    assert_string_equal(out, "answer-0");
    assert_true(fabs(sim - 1) < 1e-6);
    at_cosine(v, 0, 1, 0.9);
    assert_true(sem(c, "b1", v, DIM, out, sizeof out, &sim));
    assert_string_equal(out, "answer-0");
    assert_true(fabs(sim - 0.9) < 1e-4);
    at_cosine(v, 0, 1, 0.5);
    sim = -2;
    assert_false(sem(c, "b1", v, DIM, out, sizeof out, &sim));
    at_cosine(v, 0, 1, 0.79);
    assert_false(sem(c, "b1", v, DIM, out, sizeof out, NULL));
    assert_false(sem(c, "b2", e0, DIM, out, sizeof out, NULL));     /* another bucket */
    assert_false(sem(c, "b1", e0, DIM / 2, out, sizeof out, NULL)); /* another dimension */
    assert_false(sem(c, "b1", NULL, DIM, out, sizeof out, NULL));

    /* The closest item wins. */
    float e1[DIM];
    basis(e1, 1);
    sem_put_s(c, "b1", e1, "answer-1");
    at_cosine(v, 1, 0, 0.95);
    assert_true(sem(c, "b1", v, DIM, out, sizeof out, &sim));
    assert_string_equal(out, "answer-1");
    assert_true(fabs(sim - 0.95) < 1e-4);
    at_cosine(v, 0, 1, 0.95);
    assert_true(sem(c, "b1", v, DIM, out, sizeof out, &sim));
    assert_string_equal(out, "answer-0");

    fd_cache_stats st;
    fd_cache_stats_get(c, &st);
    assert_int_equal(st.layer[FD_CACHE_SEMANTIC].puts, 2);
    assert_int_equal(st.layer[FD_CACHE_SEMANTIC].hits, 4);
    assert_int_equal(st.layer[FD_CACHE_SEMANTIC].misses, 5);  /* NULL vec: not counted */
    assert_int_equal(st.layer[FD_CACHE_SEMANTIC].entries, 1); /* one bucket */

    /* Twenty distinct items: the newest sixteen stay. */
    for (int i = 0; i < 20; i++) {
        char val[16];
        snprintf(val, sizeof val, "v%d", i);
        basis(v, i);
        sem_put_s(c, "cap", v, val);
    }
    assert_int_equal(bucket_items(c, "cap"), 16);
    for (int i = 0; i < 20; i++) {
        char want[16];
        snprintf(want, sizeof want, "v%d", i);
        basis(v, i);
        int hit = sem(c, "cap", v, DIM, out, sizeof out, NULL);
        assert_int_equal(hit, i >= 4);
        if (hit)
            assert_string_equal(out, want);
    }

    /* A near-identical vector replaces its item; a merely close one adds. */
    sem_put_s(c, "rep", e0, "old");
    memset(v, 0, sizeof v);
    v[0] = 1;
    v[1] = 0.001f; /* cosine 0.9999995 */
    sem_put_s(c, "rep", v, "new");
    assert_int_equal(bucket_items(c, "rep"), 1);
    assert_true(sem(c, "rep", e0, DIM, out, sizeof out, NULL));
    assert_string_equal(out, "new");
    at_cosine(v, 0, 1, 0.9);
    sem_put_s(c, "rep", v, "close");
    assert_int_equal(bucket_items(c, "rep"), 2);
    assert_true(sem(c, "rep", e0, DIM, out, sizeof out, NULL));
    assert_string_equal(out, "new");
    assert_true(sem(c, "rep", v, DIM, out, sizeof out, NULL));
    assert_string_equal(out, "close");

    /* A corrupt bucket is a miss, and the next put starts it over. */
    const unsigned char junk[] = {200, 0, 0, 0, 1, 2, 3};
    fd_cache_put(c, FD_CACHE_SEMANTIC, "bad", 3, junk, sizeof junk);
    assert_false(sem(c, "bad", e0, DIM, out, sizeof out, NULL));
    const unsigned char lying[] = {1, 0, 0, 0, 0xff, 0xff, 0, 0};
    fd_cache_put(c, FD_CACHE_SEMANTIC, "bad", 3, lying, sizeof lying);
    assert_false(sem(c, "bad", e0, DIM, out, sizeof out, NULL));
    sem_put_s(c, "bad", e0, "fresh");
    assert_int_equal(bucket_items(c, "bad"), 1);
    assert_true(sem(c, "bad", e0, DIM, out, sizeof out, NULL));
    assert_string_equal(out, "fresh");
    fd_cache_free(c);
}

/* A vector the bucket format cannot hold back is not stored: it would make
 * the whole bucket unreadable, losing its other items. */
static void test_semantic_huge_dim(void **state)
{
    (void)state;
    fd_config cfg;
    base_cfg(&cfg);
    fd_cache *c = new_cache(&cfg);
    float e0[DIM];
    char out[64];
    basis(e0, 0);
    sem_put_s(c, "b", e0, "kept");
    int big = 5000;
    float *huge = calloc((size_t)big, sizeof *huge);
    assert_non_null(huge);
    huge[0] = 1;
    fd_cache_sem_put(c, "b", 1, huge, big, "huge", 4);
    assert_true(sem(c, "b", e0, DIM, out, sizeof out, NULL));
    assert_string_equal(out, "kept");
    free(huge);
    fd_cache_free(c);
}

/* ---- 6. single-flight ------------------------------------------------------------------ */

#define N_FLIGHT 50

typedef struct flight_run {
    fd_cache *c;
    pthread_barrier_t *start;
    atomic_int *arrived;
    int rc, hit;
    char got[32];
} flight_run;

static void *flight_thread(void *arg)
{
    flight_run *r = arg;
    const char *key = "same-question";
    pthread_barrier_wait(r->start);
    atomic_fetch_add(r->arrived, 1);
    r->rc = fd_cache_flight_begin(r->c, FD_CACHE_LLM, key, strlen(key), 5000);
    if (r->rc == FD_CACHE_LEAD) {
        /* Lead only once everyone is about to ask, then compute for 50 ms. */
        while (atomic_load(r->arrived) < N_FLIGHT)
            sleep_ms(1);
        sleep_ms(50);
        fd_cache_put(r->c, FD_CACHE_LLM, key, strlen(key), "computed", 8);
        fd_cache_flight_end(r->c, FD_CACHE_LLM, key, strlen(key));
    } else {
        fd_arena *a = fd_arena_new(0);
        void *v;
        size_t vl;
        r->hit = a && fd_cache_get(r->c, FD_CACHE_LLM, key, strlen(key), a, &v, &vl);
        if (r->hit)
            snprintf(r->got, sizeof r->got, "%.*s", (int)vl, (char *)v);
        fd_arena_free(a);
    }
    return NULL;
}

static void test_single_flight(void **state)
{
    (void)state;
    fd_config cfg;
    base_cfg(&cfg);
    fd_cache *c = new_cache(&cfg);
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, N_FLIGHT);
    atomic_int arrived = 0;
    static flight_run runs[N_FLIGHT];
    pthread_t th[N_FLIGHT];
    for (int i = 0; i < N_FLIGHT; i++) {
        runs[i] = (flight_run){.c = c, .start = &start, .arrived = &arrived};
        assert_int_equal(pthread_create(&th[i], NULL, flight_thread, &runs[i]), 0);
    }
    int leads = 0, followed = 0, hits = 0;
    for (int i = 0; i < N_FLIGHT; i++) {
        pthread_join(th[i], NULL);
        leads += runs[i].rc == FD_CACHE_LEAD;
        followed += runs[i].rc == FD_CACHE_FOLLOWED;
        if (runs[i].rc == FD_CACHE_FOLLOWED && runs[i].hit && strcmp(runs[i].got, "computed") == 0)
            hits++;
    }
    pthread_barrier_destroy(&start);
    assert_int_equal(leads, 1);
    assert_int_equal(followed, N_FLIGHT - 1);
    assert_int_equal(hits, N_FLIGHT - 1);
    fd_cache_stats st;
    fd_cache_stats_get(c, &st);
    assert_int_equal(st.flights_led, 1);
    assert_int_equal(st.flights_followed, N_FLIGHT - 1);
    assert_int_equal(st.flight_timeouts, 0);
    assert_int_equal(st.layer[FD_CACHE_LLM].hits, N_FLIGHT - 1);
    assert_int_equal(st.layer[FD_CACHE_LLM].puts, 1);
    /* Over: the next one leads again. */
    assert_int_equal(fd_cache_flight_begin(c, FD_CACHE_LLM, "same-question", 13, 100),
                     FD_CACHE_LEAD);
    fd_cache_flight_end(c, FD_CACHE_LLM, "same-question", 13);
    fd_cache_free(c);
}

typedef struct follower {
    fd_cache *c;
    int wait_ms, rc;
    uint64_t took_ns;
} follower;

static void *follow_thread(void *arg)
{
    follower *f = arg;
    uint64_t t0 = fd_time_ns();
    f->rc = fd_cache_flight_begin(f->c, FD_CACHE_EXACT, "stuck", 5, f->wait_ms);
    f->took_ns = fd_time_ns() - t0;
    return NULL;
}

static void test_flight_timeout(void **state)
{
    (void)state;
    fd_config cfg;
    base_cfg(&cfg);
    fd_cache *c = new_cache(&cfg);
    assert_int_equal(fd_cache_flight_begin(c, FD_CACHE_EXACT, "stuck", 5, 150), FD_CACHE_LEAD);
    /* Other keys and other layers are other flights. */
    assert_int_equal(fd_cache_flight_begin(c, FD_CACHE_LLM, "stuck", 5, 150), FD_CACHE_LEAD);
    assert_int_equal(fd_cache_flight_begin(c, FD_CACHE_EXACT, "stuck2", 6, 150), FD_CACHE_LEAD);
    /* A follower of a leader that never ends comes back after wait_ms. */
    follower f = {.c = c, .wait_ms = 150};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, follow_thread, &f), 0);
    pthread_join(th, NULL);
    assert_int_equal(f.rc, FD_CACHE_FOLLOWED);
    assert_true(f.took_ns >= 140 * MS);
    assert_true(f.took_ns < 2000 * MS);
    /* Twice, to see the count move (and a zero wait returns at once). */
    uint64_t t0 = fd_time_ns();
    assert_int_equal(fd_cache_flight_begin(c, FD_CACHE_EXACT, "stuck", 5, 0), FD_CACHE_FOLLOWED);
    assert_true(fd_time_ns() - t0 < 100 * MS);
    fd_cache_stats st;
    fd_cache_stats_get(c, &st);
    assert_int_equal(st.flights_led, 3);
    assert_int_equal(st.flights_followed, 2);
    assert_int_equal(st.flight_timeouts, 2);
    /* A negative wait is a zero wait, not a hang: run it aside and give up
     * on it after 1 s (leaking it: a stuck thread may hold the lock). */
    follower g = {.c = c, .wait_ms = -999};
    assert_int_equal(pthread_create(&th, NULL, follow_thread, &g), 0);
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 1;
    if (pthread_timedjoin_np(th, NULL, &dl) != 0)
        fail_msg("fd_cache_flight_begin(wait_ms = -999) did not return within 1 s");
    assert_int_equal(g.rc, FD_CACHE_FOLLOWED);
    assert_true(g.took_ns < 100 * MS);
    fd_cache_stats_get(c, &st);
    assert_int_equal(st.flight_timeouts, 3);
    /* The leader ends without a value: the flight is over all the same. */
    fd_cache_flight_end(c, FD_CACHE_EXACT, "stuck", 5);
    fd_cache_flight_end(c, FD_CACHE_EXACT, "stuck", 5); /* twice: harmless */
    assert_int_equal(fd_cache_flight_begin(c, FD_CACHE_EXACT, "stuck", 5, 150), FD_CACHE_LEAD);
    fd_cache_flight_end(c, FD_CACHE_EXACT, "stuck", 5);
    /* Flights left open are freed with the cache (ASan checks). */
    fd_cache_free(c);
}

/* ---- 7. keys and records ---------------------------------------------------------------- */

static void test_keys(void **state)
{
    (void)state;
    fd_cache_key k1, k2;
    assert_int_equal(fd_cache_key_init(&k1, 7), FD_OK);
    assert_int_equal(fd_cache_key_add_str(&k1, "ab"), FD_OK);
    assert_int_equal(fd_cache_key_add_str(&k1, "c"), FD_OK);
    assert_int_equal(fd_cache_key_init(&k2, 7), FD_OK);
    assert_int_equal(fd_cache_key_add_str(&k2, "a"), FD_OK);
    assert_int_equal(fd_cache_key_add_str(&k2, "bc"), FD_OK);
    assert_int_equal(k1.b.len, k2.b.len);
    assert_int_equal(k1.b.len, 8 + 4 + 2 + 4 + 1);
    assert_memory_not_equal(k1.b.p, k2.b.p, k1.b.len);
    /* The version first, 8 bytes little-endian. */
    const unsigned char ver[8] = {7, 0, 0, 0, 0, 0, 0, 0};
    assert_memory_equal(k1.b.p, ver, 8);
    /* Empty parts count too: ("a","") differs from ("a"). */
    fd_cache_key k3, k4;
    assert_int_equal(fd_cache_key_init(&k3, 7), FD_OK);
    assert_int_equal(fd_cache_key_add_str(&k3, "a"), FD_OK);
    assert_int_equal(fd_cache_key_add(&k3, "", 0), FD_OK);
    assert_int_equal(fd_cache_key_init(&k4, 7), FD_OK);
    assert_int_equal(fd_cache_key_add_str(&k4, "a"), FD_OK);
    assert_true(k3.b.len != k4.b.len);
    /* And in the cache they are different entries. */
    fd_config cfg;
    base_cfg(&cfg);
    fd_cache *c = new_cache(&cfg);
    fd_cache_put(c, FD_CACHE_EXACT, k1.b.p, k1.b.len, "one", 3);
    fd_arena *a = fd_arena_new(0);
    void *v;
    size_t vl;
    assert_false(fd_cache_get(c, FD_CACHE_EXACT, k2.b.p, k2.b.len, a, &v, &vl));
    assert_true(fd_cache_get(c, FD_CACHE_EXACT, k1.b.p, k1.b.len, a, &v, &vl));
    /* A key shorter than a version is a key too (and purged as foreign). */
    fd_cache_put(c, FD_CACHE_EXACT, "ab", 2, "short", 5);
    assert_true(fd_cache_get(c, FD_CACHE_EXACT, "ab", 2, a, &v, &vl));
    fd_cache_purge(c, 7);
    assert_false(fd_cache_get(c, FD_CACHE_EXACT, "ab", 2, a, &v, &vl));
    assert_true(fd_cache_get(c, FD_CACHE_EXACT, k1.b.p, k1.b.len, a, &v, &vl));
    fd_arena_free(a);
    fd_cache_free(c);
    fd_cache_key_free(&k1);
    fd_cache_key_free(&k2);
    fd_cache_key_free(&k3);
    fd_cache_key_free(&k4);
}

/* The record every record test uses, and a reader that checks it. */
static void sample_rec(fd_cache_rec *r)
{
    fd_cache_rec_init(r);
    assert_int_equal(fd_cache_rec_str(r, "hello"), FD_OK);
    assert_int_equal(fd_cache_rec_str(r, NULL), FD_OK);
    assert_int_equal(fd_cache_rec_str(r, ""), FD_OK);
    assert_int_equal(fd_cache_rec_int(r, INT64_MIN), FD_OK);
    assert_int_equal(fd_cache_rec_int(r, -1), FD_OK);
    assert_int_equal(fd_cache_rec_int(r, INT64_MAX), FD_OK);
    assert_int_equal(fd_cache_rec_dbl(r, 3.25), FD_OK);
    assert_int_equal(fd_cache_rec_dbl(r, -1e300), FD_OK);
    assert_int_equal(fd_cache_rec_str(r, "näive, ünicode"), FD_OK);
}

/* Reads the sample back; 0 when all of it read and matched. */
static int read_sample(const void *p, size_t n, int check)
{
    fd_cache_reader rd;
    fd_cache_reader_init(&rd, p, n);
    const char *s1, *s2, *s3, *s4;
    int64_t i1, i2, i3;
    double d1, d2;
    int fails = 0;
    fails += fd_cache_read_str(&rd, &s1) != 0;
    fails += fd_cache_read_str(&rd, &s2) != 0;
    fails += fd_cache_read_str(&rd, &s3) != 0;
    fails += fd_cache_read_int(&rd, &i1) != 0;
    fails += fd_cache_read_int(&rd, &i2) != 0;
    fails += fd_cache_read_int(&rd, &i3) != 0;
    fails += fd_cache_read_dbl(&rd, &d1) != 0;
    fails += fd_cache_read_dbl(&rd, &d2) != 0;
    fails += fd_cache_read_str(&rd, &s4) != 0;
    if (fails) {
        assert_true(rd.bad); /* a failure sticks */
        assert_true(rd.off <= rd.n);
        int64_t x;
        assert_int_not_equal(fd_cache_read_int(&rd, &x), 0);
        return 1;
    }
    assert_false(rd.bad);
    if (check) {
        assert_string_equal(s1, "hello");
        assert_null(s2);
        assert_non_null(s3);
        assert_string_equal(s3, "");
        assert_true(i1 == INT64_MIN);
        assert_true(i2 == -1);
        assert_true(i3 == INT64_MAX);
        assert_true(d1 == 3.25);
        assert_true(d2 == -1e300);
        assert_string_equal(s4, "näive, ünicode");
        assert_int_equal(rd.off, n);
        /* Past the end: fails, and stays failed. */
        int64_t x;
        assert_int_not_equal(fd_cache_read_int(&rd, &x), 0);
        assert_true(rd.bad);
        const char *s;
        assert_int_not_equal(fd_cache_read_str(&rd, &s), 0);
        assert_null(s);
    }
    return 0;
}

static void test_records(void **state)
{
    (void)state;
    fd_cache_rec r;
    sample_rec(&r);
    assert_int_equal(read_sample(r.b.p, r.b.len, 1), 0);
    /* Through the cache: the value is the same bytes. */
    fd_config cfg;
    base_cfg(&cfg);
    fd_cache *c = new_cache(&cfg);
    fd_cache_put(c, FD_CACHE_RETRIEVAL, "q", 1, r.b.p, r.b.len);
    fd_arena *a = fd_arena_new(0);
    void *v;
    size_t vl;
    assert_true(fd_cache_get(c, FD_CACHE_RETRIEVAL, "q", 1, a, &v, &vl));
    assert_int_equal(read_sample(v, vl, 1), 0);
    fd_arena_free(a);
    fd_cache_free(c);

    /* Every truncation fails, reading only the bytes it has: each is a heap
     * copy of exactly that size, so ASan sees any read past it. */
    for (size_t cut = 0; cut < r.b.len; cut++) {
        unsigned char *p = malloc(cut ? cut : 1);
        assert_non_null(p);
        memcpy(p, r.b.p, cut);
        assert_int_equal(read_sample(p, cut, 0), 1);
        free(p);
    }
    /* Every single-byte corruption either still reads (a changed value) or
     * fails; none reads out of bounds. */
    for (size_t i = 0; i < r.b.len; i++) {
        const unsigned char flips[] = {0xff, 0x00, 0x80, 0x7f};
        for (size_t f = 0; f < sizeof flips; f++) {
            unsigned char *p = malloc(r.b.len);
            assert_non_null(p);
            memcpy(p, r.b.p, r.b.len);
            p[i] = flips[f];
            (void)read_sample(p, r.b.len, 0);
            free(p);
        }
    }
    /* Specific corruptions that must fail. */
    unsigned char *p = malloc(r.b.len);
    assert_non_null(p);
    memcpy(p, r.b.p, r.b.len);
    p[0] = 0xf0; /* "hello" says it is 4 GB long */
    p[3] = 0x7f;
    assert_int_equal(read_sample(p, r.b.len, 0), 1);
    memcpy(p, r.b.p, r.b.len);
    p[4 + 5] = 'x'; /* hello's NUL gone */
    assert_int_equal(read_sample(p, r.b.len, 0), 1);
    memcpy(p, r.b.p, r.b.len);
    p[0] = 0xfe; /* length 0xfffffffe: the largest that is not NULL */
    p[1] = p[2] = p[3] = 0xff;
    assert_int_equal(read_sample(p, r.b.len, 0), 1);
    free(p);
    fd_cache_reader rd;
    fd_cache_reader_init(&rd, NULL, 0);
    const char *s;
    assert_int_not_equal(fd_cache_read_str(&rd, &s), 0);
    double d;
    assert_int_not_equal(fd_cache_read_dbl(&rd, &d), 0);
    fd_cache_rec_free(&r);
}

/* ---- 8. threads --------------------------------------------------------------------------- */

typedef struct soak {
    fd_cache *c;
    unsigned seed;
    uint64_t stop_ns;
    uint64_t gets[FD_CACHE_N_LAYERS];
    int bad;
} soak;

static void *soak_thread(void *arg)
{
    soak *s = arg;
    fd_arena *a = fd_arena_new(0);
    if (!a) {
        s->bad = 1;
        return NULL;
    }
    char val[700], name[32];
    memset(val, 'z', sizeof val);
    float vec[DIM];
    for (long it = 0; fd_time_ns() < s->stop_ns; it++) {
        unsigned r = (unsigned)rand_r(&s->seed);
        fd_cache_layer l = (fd_cache_layer)(r % FD_CACHE_N_LAYERS);
        int64_t ver = 1 + (r >> 4) % 2;
        snprintf(name, sizeof name, "k%u", (r >> 8) % 300);
        fd_cache_key k;
        if (fd_cache_key_init(&k, ver) || fd_cache_key_add_str(&k, name)) {
            s->bad = 1;
            break;
        }
        unsigned op = (r >> 20) % 100;
        if (op < 50) {
            void *v;
            size_t vl;
            if (fd_cache_get(s->c, l, k.b.p, k.b.len, a, &v, &vl)) {
                /* Whatever it was, it is a whole value from some put. */
                if (l != FD_CACHE_SEMANTIC && (vl > sizeof val || (vl && memcmp(v, val, vl) != 0)))
                    s->bad = 1;
            }
            s->gets[l]++;
        } else if (op < 85) {
            if (l != FD_CACHE_SEMANTIC)
                fd_cache_put(s->c, l, k.b.p, k.b.len, val, 1 + (r >> 10) % sizeof val);
        } else if (op < 93) {
            basis(vec, (int)((r >> 12) % DIM));
            if (op & 1) {
                fd_cache_sem_put(s->c, name, strlen(name), vec, DIM, "sem", 3);
            } else {
                void *v;
                size_t vl;
                double sim;
                (void)fd_cache_sem_get(s->c, name, strlen(name), vec, DIM, a, &v, &vl, &sim);
                s->gets[FD_CACHE_SEMANTIC]++;
            }
        } else if (op < 95) {
            fd_cache_purge(s->c, ver);
        } else if (op < 96) {
            fd_cache_clear(s->c);
        } else if (op < 98) {
            if (fd_cache_flight_begin(s->c, l, k.b.p, k.b.len, 20) == FD_CACHE_LEAD)
                fd_cache_flight_end(s->c, l, k.b.p, k.b.len);
        } else {
            fd_cache_stats st;
            fd_cache_stats_get(s->c, &st);
            if (total_bytes(&st) > 65536)
                s->bad = 1;
        }
        fd_cache_key_free(&k);
        fd_arena_reset(a);
    }
    fd_arena_free(a);
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    fd_config cfg;
    base_cfg(&cfg);
    cfg.cache_max_bytes = 65536; /* evictions all the time */
    fd_cache *c = new_cache(&cfg);
    soak s[4];
    pthread_t th[4];
    uint64_t stop = fd_time_ns() + 500 * MS;
    for (int i = 0; i < 4; i++) {
        s[i] = (soak){.c = c, .seed = 1234u + (unsigned)i, .stop_ns = stop};
        assert_int_equal(pthread_create(&th[i], NULL, soak_thread, &s[i]), 0);
    }
    uint64_t gets[FD_CACHE_N_LAYERS] = {0};
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_false(s[i].bad);
        for (int l = 0; l < FD_CACHE_N_LAYERS; l++)
            gets[l] += s[i].gets[l];
    }
    fd_cache_stats st;
    fd_cache_stats_get(c, &st);
    uint64_t all = 0;
    for (int l = 0; l < FD_CACHE_N_LAYERS; l++) {
        /* sem_put reads its bucket without counting: gets are the callers'. */
        assert_int_equal(st.layer[l].hits + st.layer[l].misses, gets[l]);
        all += gets[l];
    }
    assert_true(all > 1000); /* it did run */
    assert_true(total_bytes(&st) <= 65536);
    /* The books balance: what is left is what the counts say. */
    fd_cache_clear(c);
    fd_cache_stats_get(c, &st);
    assert_int_equal(total_bytes(&st), 0);
    for (int l = 0; l < FD_CACHE_N_LAYERS; l++)
        assert_int_equal(st.layer[l].entries, 0);
    fd_cache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_put_layers),
        cmocka_unit_test(test_disabled_layers),
        cmocka_unit_test(test_budget_lru),
        cmocka_unit_test(test_ttl),
        cmocka_unit_test(test_purge),
        cmocka_unit_test(test_semantic),
        cmocka_unit_test(test_semantic_huge_dim),
        cmocka_unit_test(test_single_flight),
        cmocka_unit_test(test_flight_timeout),
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_records),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
