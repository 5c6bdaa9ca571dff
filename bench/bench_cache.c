/* bench_cache.c: what a cached answer costs inside the process, next to an
 * uncached one, on the example knowledge base, single thread, side by side
 * in one run. Prints one JSON object:
 *
 *   layer_get     fd_cache_get of a stored answer (key of a typical
 *                 question, value of a typical reply): the cache itself
 *   turn_hit      a whole turn answered from the exact layer: guard,
 *                 understanding, routing, the cache, no store write
 *                 (ephemeral) — what serving a cached answer costs
 *   turn_hit_stored  the same with the turn stored in the session (SQLite)
 *   turn_miss     the same questions with the caches bypassed (retrieval,
 *                 composer, validation), ephemeral
 *
 *   bench_cache --kb examples/packaging-supplier [--rounds N] [--hits-only]
 *
 * --hits-only runs the cached turns alone (the other series stay empty):
 * for a profiler, whose samples would otherwise be mostly the misses'. */
#include "cache.h"
#include "dialog.h"
#include "bench_kb.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct series {
    double *v;
    size_t n;
} series;

static void put(series *s, double us)
{
    s->v[s->n++] = us;
}

static void report(const char *name, series *s, int last)
{
    qsort(s->v, s->n, sizeof *s->v, fd_cmp_double);
    printf("\"%s\":{\"n\":%zu,\"p50_us\":%.2f,\"p95_us\":%.2f,\"p99_us\":%.2f}%s", name, s->n,
           bench_pct(s->v, s->n, 0.5), bench_pct(s->v, s->n, 0.95), bench_pct(s->v, s->n, 0.99),
           last ? "" : ",");
}

int main(int argc, char **argv)
{
    const char *kbdir = "examples/packaging-supplier";
    int rounds = 20, hits_only = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--hits-only") == 0)
            hits_only = 1;
        else if (strcmp(argv[i], "--kb") == 0 && i + 1 < argc)
            kbdir = argv[++i];
        else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
            rounds = atoi(argv[++i]);
    }
    char dir[64];
    fd_config cfg;
    fd_kb_ingest_report rep;
    fd_kb *kb = bench_kb_open("bench_cache", kbdir, &cfg, dir, sizeof dir, &rep);
    fd_err err;
    fd_assistant *as;
    fd_cache *cache;
    if (fd_assistant_open(&cfg, NULL, kb, &as, &err) || fd_cache_new(&cfg, NULL, &cache, &err))
        bench_die("bench_cache", "assistant", &err);
    fd_assistant_use_cache(as, cache);
    char *qs[512];
    size_t nq = bench_questions("bench_cache", kbdir, qs, 512);
    size_t total = nq * (size_t)rounds;
    series get = {malloc(total * sizeof(double)), 0}, hit = {malloc(total * sizeof(double)), 0},
           stored = {malloc(total * sizeof(double)), 0}, miss = {malloc(total * sizeof(double)), 0},
           hit_guard = {malloc(total * sizeof(double)), 0},
           hit_nlu = {malloc(total * sizeof(double)), 0};
    fd_arena *a = fd_arena_new(0);
    /* Warm: every question answered once, so the caches hold them. */
    size_t cacheable = 0;
    for (size_t i = 0; i < nq; i++) {
        fd_arena_reset(a);
        fd_turn_in in = {.message = qs[i], .len = strlen(qs[i]), .ephemeral = 1};
        fd_reply r;
        if (fd_assistant_turn(as, kb, &in, NULL, a, &r, &err))
            bench_die("bench_cache", "turn", &err);
    }
    /* Which questions hit (the personal ones never do). */
    int *hits = calloc(nq, sizeof *hits);
    for (size_t i = 0; i < nq; i++) {
        fd_arena_reset(a);
        fd_turn_in in = {.message = qs[i], .len = strlen(qs[i]), .ephemeral = 1};
        fd_reply r;
        if (fd_assistant_turn(as, kb, &in, NULL, a, &r, &err))
            bench_die("bench_cache", "turn", &err);
        hits[i] = r.cached && strcmp(r.cached, "exact") == 0;
        cacheable += (size_t)hits[i];
    }
    /* The raw layer: a typical key and value. */
    fd_cache_key k;
    if (fd_cache_key_init(&k, 1) || fd_cache_key_add_str(&k, "bench") ||
        fd_cache_key_add_str(&k, "how long do i have to report defective boxes"))
        bench_die("bench_cache", "key", NULL);
    char val[640];
    memset(val, 'x', sizeof val);
    fd_cache_put(cache, FD_CACHE_EXACT, k.b.p, k.b.len, val, sizeof val);
    for (int r = 0; r < rounds; r++) {
        for (size_t i = 0; i < nq; i++) {
            void *v;
            size_t vl;
            fd_arena_reset(a);
            uint64_t t0 = fd_time_ns();
            int h = fd_cache_get(cache, FD_CACHE_EXACT, k.b.p, k.b.len, a, &v, &vl);
            put(&get, (double)(fd_time_ns() - t0) / 1e3);
            if (!h)
                bench_die("bench_cache", "layer miss", NULL);
            if (!hits[i])
                continue;
            fd_reply rp;
            fd_turn_in in = {.message = qs[i], .len = strlen(qs[i]), .ephemeral = 1};
            fd_arena_reset(a);
            t0 = fd_time_ns();
            if (fd_assistant_turn(as, kb, &in, NULL, a, &rp, &err))
                bench_die("bench_cache", "turn", &err);
            put(&hit, (double)(fd_time_ns() - t0) / 1e3);
            put(&hit_guard, rp.ms_guard * 1e3);
            put(&hit_nlu, rp.ms_nlu * 1e3);
            if (hits_only)
                continue;
            in.ephemeral = 0;
            fd_arena_reset(a);
            t0 = fd_time_ns();
            if (fd_assistant_turn(as, kb, &in, NULL, a, &rp, &err))
                bench_die("bench_cache", "turn", &err);
            put(&stored, (double)(fd_time_ns() - t0) / 1e3);
            in.ephemeral = 1;
            in.no_cache = 1;
            fd_arena_reset(a);
            t0 = fd_time_ns();
            if (fd_assistant_turn(as, kb, &in, NULL, a, &rp, &err))
                bench_die("bench_cache", "turn", &err);
            put(&miss, (double)(fd_time_ns() - t0) / 1e3);
        }
    }
    printf("{\"bench\":\"cache\",\"questions\":%zu,\"cacheable\":%zu,", nq, cacheable);
    report("layer_get", &get, 0);
    report("turn_hit", &hit, 0);
    report("turn_hit_guard", &hit_guard, 0);
    report("turn_hit_nlu", &hit_nlu, 0);
    report("turn_hit_stored", &stored, 0);
    report("turn_miss", &miss, 0);
    printf("\"miss_over_hit_p50\":%.1f,\"rss_mb\":%.1f}\n",
           bench_pct(miss.v, miss.n, 0.5) /
               (bench_pct(hit.v, hit.n, 0.5) > 0 ? bench_pct(hit.v, hit.n, 0.5) : 1),
           (double)fd_rss_peak() / 1048576.0);
    fd_cache_key_free(&k);
    for (size_t i = 0; i < nq; i++)
        free(qs[i]);
    free(hits);
    free(get.v);
    free(hit.v);
    free(stored.v);
    free(miss.v);
    free(hit_guard.v);
    free(hit_nlu.v);
    fd_arena_free(a);
    fd_assistant_close(as);
    fd_cache_free(cache);
    fd_kb_close(kb);
    bench_rmdir("bench_cache", dir);
    return 0;
}
