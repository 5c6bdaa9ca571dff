/* bench_search.c: knowledge-engine benchmark on a synthetic corpus with a
 * Zipf vocabulary: build throughput, snapshot size, query latency for
 * bm25/dense/hybrid end to end (query string -> top 10), serving RSS, and
 * SQLite FTS5's bm25() on the same corpus and queries, in the same run.
 *
 * usage: bench_search [--chunks N]... [--queries Q] [--words W] [--no-fts]
 * prints one JSON object per corpus size. */
#include "core.h"
#include "kb.h"

#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define VOCAB 100000
#define ZIPF_S 1.07

typedef struct rng {
    uint64_t s;
} rng;

static uint64_t rng_next(rng *r)
{
    r->s += 0x9e3779b97f4a7c15ull;
    uint64_t z = r->s;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double rng_unit(rng *r)
{
    return (double)(rng_next(r) >> 11) / 9007199254740992.0;
}

/* Pronounceable pseudo-words, 2-4 syllables: stemmers and stopword lists
 * treat them like real words, and no two ranks share a spelling. */
static void make_word(uint32_t rank, char *out)
{
    static const char *cons = "bdfgklmnprstvz";
    static const char *vow = "aeiou";
    uint32_t x = rank + 7;
    size_t n = 0;
    int syl = 2 + (int)(rank % 3);
    for (int i = 0; i < syl || x; i++) {
        out[n++] = cons[x % 14];
        x /= 14;
        out[n++] = vow[x % 5];
        x /= 5;
    }
    out[n++] = 'x'; /* no pseudo-word is an English stopword */
    out[n] = '\0';
}

typedef struct zipf {
    double *cdf;
} zipf;

static int zipf_init(zipf *z)
{
    z->cdf = malloc(VOCAB * sizeof *z->cdf);
    if (!z->cdf)
        return -1;
    double sum = 0;
    for (int i = 0; i < VOCAB; i++) {
        sum += 1.0 / pow(i + 1, ZIPF_S);
        z->cdf[i] = sum;
    }
    for (int i = 0; i < VOCAB; i++)
        z->cdf[i] /= sum;
    return 0;
}

static uint32_t zipf_draw(const zipf *z, rng *r)
{
    double u = rng_unit(r);
    uint32_t lo = 0, hi = VOCAB - 1;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (z->cdf[mid] < u)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static char *gen_text(const zipf *z, rng *r, int words)
{
    char *t = malloc((size_t)words * 24 + 1);
    size_t n = 0;
    for (int w = 0; w < words; w++) {
        char word[32];
        make_word(zipf_draw(z, r), word);
        n += (size_t)sprintf(t + n, "%s%s", w ? " " : "", word);
    }
    t[n] = '\0';
    return t;
}

static int write_corpus(const char *path, const zipf *z, size_t n, int words)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    rng r = {12345};
    for (size_t i = 0; i < n; i++) {
        /* Lengths vary around the mean as real chunks do (0.5x .. 1.5x). */
        int len = words / 2 + (int)(rng_next(&r) % (uint64_t)(words + 1));
        char *t = gen_text(z, &r, len);
        fprintf(f, "{\"_id\":\"c%zu\",\"title\":\"\",\"text\":\"%s\"}\n", i, t);
        free(t);
    }
    return fclose(f);
}

static char **gen_queries(const zipf *z, size_t n)
{
    char **q = malloc(n * sizeof *q);
    rng r = {999};
    for (size_t i = 0; i < n; i++)
        q[i] = gen_text(z, &r, 2 + (int)(rng_next(&r) % 5)); /* 2-6 words */
    return q;
}

static void pct(double *v, size_t n, double *p50, double *p99)
{
    qsort(v, n, sizeof *v, fd_cmp_double);
    *p50 = v[n / 2];
    *p99 = v[(size_t)(0.99 * (double)(n - 1))];
}

/* The serving side, in its own process: open the snapshot, run every
 * query in every mode, print latencies and RSS. */
static void serve_queries(const fd_config *cfg, char **queries, size_t nq, int out_fd)
{
    fd_kb *kb = NULL;
    fd_err err = {0};
    char buf[2048];
    size_t len = 0;
    if (fd_kb_open(cfg, NULL, &kb, &err) != FD_OK) {
        len = (size_t)snprintf(buf, sizeof buf, "\"error\":\"%s\"", err.msg);
    } else {
        fd_arena *a = fd_arena_new(0);
        double *lat = malloc(nq * sizeof *lat);
        fd_search_mode modes[] = {FD_SEARCH_BM25, FD_SEARCH_DENSE, FD_SEARCH_HYBRID};
        for (int m = 0; m < 3; m++) {
            fd_search_opts o = {modes[m], 10, NULL, FD_LANG_UNKNOWN, 1, 0};
            for (size_t i = 0; i < nq; i++) {
                fd_result *res;
                size_t n;
                fd_arena_reset(a);
                uint64_t t0 = fd_time_ns();
                int rc = fd_kb_search(kb, fd_str_c(queries[i]), &o, a, &res, &n, &err);
                lat[i] = (double)(fd_time_ns() - t0) / 1e6;
                (void)rc;
            }
            double p50, p99;
            pct(lat, nq, &p50, &p99);
            len += (size_t)snprintf(buf + len, sizeof buf - len,
                                    "\"%s\":{\"p50_ms\":%.4f,\"p99_ms\":%.4f},",
                                    fd_search_mode_name(modes[m]), p50, p99);
        }
        len += (size_t)snprintf(buf + len, sizeof buf - len, "\"rss_serving_mb\":%.1f",
                                (double)fd_rss_now() / 1e6);
        free(lat);
        fd_arena_free(a);
        fd_kb_close(kb);
    }
    ssize_t w = write(out_fd, buf, len);
    (void)w;
}

static int serve_main(const char *data_dir, const char *qpath)
{
    fd_config cfg;
    fd_config_defaults(&cfg);
    snprintf(cfg.data_dir, sizeof cfg.data_dir, "%s", data_dir);
    FILE *f = fopen(qpath, "r");
    if (!f)
        return 1;
    size_t n = 0, cap = 1024;
    char **q = malloc(cap * sizeof *q);
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;
    while ((len = getline(&line, &lcap, f)) > 0) {
        line[strcspn(line, "\n")] = '\0';
        if (n == cap)
            q = realloc(q, (cap *= 2) * sizeof *q);
        q[n++] = strdup(line);
    }
    free(line);
    fclose(f);
    serve_queries(&cfg, q, n, 1);
    for (size_t i = 0; i < n; i++)
        free(q[i]);
    free(q);
    return 0;
}

static int fts5_bench(const char *dir, const char *corpus, char **queries, size_t nq, char *out,
                      size_t cap)
{
    char path[600];
    snprintf(path, sizeof path, "%s/fts.db", dir);
    sqlite3 *db;
    if (sqlite3_open(path, &db) != SQLITE_OK)
        return -1;
    sqlite3_exec(db, "PRAGMA journal_mode=WAL; CREATE VIRTUAL TABLE t USING fts5(body)", NULL, NULL,
                 NULL);
    uint64_t t0 = fd_time_ns();
    sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
    sqlite3_stmt *ins;
    sqlite3_prepare_v2(db, "INSERT INTO t(body) VALUES(?)", -1, &ins, NULL);
    FILE *f = fopen(corpus, "r");
    char *line = NULL;
    size_t lcap = 0;
    size_t n = 0;
    while (getline(&line, &lcap, f) > 0) {
        char *s = strstr(line, "\"text\":\"");
        if (!s)
            continue;
        s += 8;
        char *e = strrchr(s, '"');
        sqlite3_bind_text(ins, 1, s, (int)(e - s), SQLITE_STATIC);
        sqlite3_step(ins);
        sqlite3_reset(ins);
        n++;
    }
    free(line);
    fclose(f);
    sqlite3_finalize(ins);
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    double build_s = (double)(fd_time_ns() - t0) / 1e9;
    sqlite3_stmt *q;
    sqlite3_prepare_v2(db, "SELECT rowid, bm25(t) FROM t WHERE t MATCH ? ORDER BY bm25(t) LIMIT 10",
                       -1, &q, NULL);
    double *lat = malloc(nq * sizeof *lat);
    for (size_t i = 0; i < nq; i++) {
        /* Same words, OR'd: the bag-of-words query BM25 answers. */
        char m[2048];
        size_t len = 0;
        char tmp[1024];
        snprintf(tmp, sizeof tmp, "%s", queries[i]);
        char *save = NULL;
        for (char *w = strtok_r(tmp, " ", &save); w; w = strtok_r(NULL, " ", &save))
            len += (size_t)snprintf(m + len, sizeof m - len, "%s%s", len ? " OR " : "", w);
        uint64_t q0 = fd_time_ns();
        sqlite3_bind_text(q, 1, m, -1, SQLITE_TRANSIENT);
        while (sqlite3_step(q) == SQLITE_ROW)
            ;
        sqlite3_reset(q);
        lat[i] = (double)(fd_time_ns() - q0) / 1e6;
    }
    sqlite3_finalize(q);
    sqlite3_close(db);
    double p50, p99;
    pct(lat, nq, &p50, &p99);
    free(lat);
    snprintf(out, cap,
             "{\"build_s\":%.3f,\"build_chunks_per_s\":%.0f,\"p50_ms\":%.4f,"
             "\"p99_ms\":%.4f}",
             build_s, (double)n / build_s, p50, p99);
    return 0;
}

static int run_size(size_t n_chunks, size_t nq, int words, int fts, const zipf *z)
{
    char dir[] = "/tmp/fdbench.XXXXXX";
    if (!mkdtemp(dir))
        return -1;
    char corpus[600];
    snprintf(corpus, sizeof corpus, "%s/corpus.jsonl", dir);
    if (write_corpus(corpus, z, n_chunks, words) != 0)
        return -1;
    char **queries = gen_queries(z, nq);

    fd_config cfg;
    fd_config_defaults(&cfg);
    snprintf(cfg.data_dir, sizeof cfg.data_dir, "%s/kb", dir);
    fd_kb *kb = NULL;
    fd_err err = {0};
    fd_kb_ingest_report rep;
    const char *paths[] = {corpus};
    if (fd_kb_open(&cfg, NULL, &kb, &err) || fd_kb_ingest(kb, paths, 1, NULL, &rep, &err)) {
        fprintf(stderr, "bench: %s\n", err.msg);
        return -1;
    }
    fd_kb_stats st;
    if (fd_kb_stats_get(kb, &st, &err))
        return -1;
    fd_kb_close(kb);
    size_t build_rss = fd_rss_peak();

    /* Queries run in a fresh process (exec, not fork: a forked child would
     * count the builder's freed-but-kept heap in its RSS). */
    char qpath[600], cmd[1400];
    snprintf(qpath, sizeof qpath, "%s/queries.txt", dir);
    FILE *qf = fopen(qpath, "w");
    if (!qf)
        return -1;
    for (size_t i = 0; i < nq; i++)
        fprintf(qf, "%s\n", queries[i]);
    fclose(qf);
    snprintf(cmd, sizeof cmd, "/proc/%d/exe --serve '%s' '%s'", (int)getpid(), cfg.data_dir, qpath);
    char qres[2048] = "";
    FILE *p = popen(cmd, "r");
    if (!p || !fgets(qres, sizeof qres, p))
        snprintf(qres, sizeof qres, "\"error\":\"query process failed\"");
    if (p)
        pclose(p);
    qres[strcspn(qres, "\n")] = '\0';

    char ftsres[512] = "null";
    if (fts)
        fts5_bench(dir, corpus, queries, nq, ftsres, sizeof ftsres);
    printf("{\"chunks\":%zu,\"words_per_chunk\":%d,\"queries\":%zu,\"build_s\":%.3f,"
           "\"build_chunks_per_s\":%.0f,\"snapshot_mb\":%.2f,\"build_peak_rss_mb\":%.1f,"
           "\"dense_dim\":%d,\"hnsw\":%s,%s,\"fts5\":%s}\n",
           n_chunks, words, nq, rep.seconds, (double)n_chunks / rep.seconds,
           (double)st.snapshot_bytes / 1e6, (double)build_rss / 1e6, st.dense_dim,
           st.hnsw ? "true" : "false", qres, ftsres);
    fflush(stdout);
    for (size_t i = 0; i < nq; i++)
        free(queries[i]);
    free(queries);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd);
}

int main(int argc, char **argv)
{
    if (argc == 4 && !strcmp(argv[1], "--serve"))
        return serve_main(argv[2], argv[3]);
    size_t sizes[8], n_sizes = 0, nq = 1000;
    int words = 100, fts = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--chunks") && i + 1 < argc && n_sizes < 8)
            sizes[n_sizes++] = (size_t)atol(argv[++i]);
        else if (!strcmp(argv[i], "--queries") && i + 1 < argc)
            nq = (size_t)atol(argv[++i]);
        else if (!strcmp(argv[i], "--words") && i + 1 < argc)
            words = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--no-fts"))
            fts = 0;
        else {
            fprintf(stderr, "usage: bench_search [--chunks N]... [--queries Q] [--words W] "
                            "[--no-fts]\n");
            return 2;
        }
    }
    if (n_sizes == 0) {
        sizes[n_sizes++] = 10000;
        sizes[n_sizes++] = 100000;
    }
    zipf z;
    if (zipf_init(&z) != 0)
        return 1;
    for (size_t i = 0; i < n_sizes; i++)
        if (run_size(sizes[i], nq, words, fts, &z) != 0)
            return 1;
    free(z.cdf);
    return 0;
}
