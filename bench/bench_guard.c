/* bench_guard.c: the input guard alone, per message, in process.
 *
 *   bench_guard [--rounds N] FILE.tsv...
 *
 * Reads messages from guard-format files (label<TAB>lang<TAB>text, as in
 * data/guard/), checks each once to warm up, then checks every message N
 * times (default 20), timing each check. Prints one JSON object: messages,
 * checks, p50/p95/p99 µs per check, checks per second on one thread, peak
 * RSS. Run two builds alternately for a side-by-side (bench/RESULTS.md). */
#include "guard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int add_file(const char *path, char ***msgs, size_t *n, size_t *cap)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "bench_guard: cannot read %s\n", path);
        return -1;
    }
    char line[65536];
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        char *t = strchr(line, '\t');
        t = t ? strchr(t + 1, '\t') : NULL;
        if (!t)
            continue;
        t++;
        t[strcspn(t, "\n")] = '\0';
        if (*n == *cap) {
            *cap = *cap ? 2 * *cap : 1024;
            char **v = realloc(*msgs, *cap * sizeof *v);
            if (!v)
                return -1;
            *msgs = v;
        }
        (*msgs)[(*n)++] = strdup(t);
    }
    fclose(f);
    return 0;
}

int main(int argc, char **argv)
{
    int rounds = 20, i = 1;
    if (argc > 2 && strcmp(argv[1], "--rounds") == 0) {
        rounds = atoi(argv[2]);
        i = 3;
    }
    if (i >= argc || rounds < 1) {
        fprintf(stderr, "usage: bench_guard [--rounds N] FILE.tsv...\n");
        return 2;
    }
    char **msgs = NULL;
    size_t n = 0, cap = 0;
    for (; i < argc; i++)
        if (add_file(argv[i], &msgs, &n, &cap))
            return 1;
    fd_guard *g = NULL;
    fd_err err = {0};
    if (!n || fd_guard_new(NULL, &g, &err) != FD_OK) {
        fprintf(stderr, "bench_guard: %s\n", n ? err.msg : "no messages");
        return 1;
    }
    fd_arena *a = fd_arena_new(0);
    uint64_t *lat = malloc((size_t)rounds * n * sizeof *lat);
    if (!a || !lat)
        return 1;
    size_t flagged = 0, k = 0;
    for (size_t m = 0; m < n; m++) { /* warm-up, and the verdicts */
        fd_guard_verdict v;
        fd_arena_reset(a);
        if (fd_guard_check(g, fd_str_c(msgs[m]), a, &v, &err) == FD_OK)
            flagged += v.flagged != 0;
    }
    uint64_t t0 = fd_time_ns();
    for (int r = 0; r < rounds; r++)
        for (size_t m = 0; m < n; m++) {
            fd_guard_verdict v;
            fd_arena_reset(a);
            uint64_t s = fd_time_ns();
            if (fd_guard_check(g, fd_str_c(msgs[m]), a, &v, &err) != FD_OK)
                return 1;
            lat[k++] = fd_time_ns() - s;
        }
    double secs = (double)(fd_time_ns() - t0) / 1e9;
    qsort(lat, k, sizeof *lat, cmp_u64);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("{\"bench\":\"guard\",\"messages\":%zu,\"flagged\":%zu,\"checks\":%zu,"
           "\"p50_us\":%.1f,\"p95_us\":%.1f,\"p99_us\":%.1f,\"checks_per_s\":%.0f,"
           "\"rss_kb\":%ld}\n",
           n, flagged, k, (double)lat[k / 2] / 1e3, (double)lat[(size_t)((double)k * 0.95)] / 1e3,
           (double)lat[(size_t)((double)k * 0.99)] / 1e3, (double)k / secs, ru.ru_maxrss);
    for (size_t m = 0; m < n; m++)
        free(msgs[m]);
    free(msgs);
    free(lat);
    fd_arena_free(a);
    fd_guard_free(g);
    return 0;
}
