/* bench_dialog.c: time per customer message through the whole pipeline
 * outside the LLM (guard, session, nlu, escalation rules, retrieval,
 * extractive answer, validation, storing the turn), on the example
 * knowledge base, single thread. Prints one JSON object: wall-clock
 * percentiles (which include waiting for the disk when the turn is
 * committed) and the thread's CPU time per message (cpu_*_us: the issue's
 * "pipeline CPU per message" target, what a turn costs the cores).
 *
 *   bench_dialog --kb examples/packaging-supplier [--rounds N] */
#include "dialog.h"
#include "bench_kb.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    const char *kbdir = "examples/packaging-supplier";
    int rounds = 5;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--kb") == 0)
            kbdir = argv[i + 1];
        else if (strcmp(argv[i], "--rounds") == 0)
            rounds = atoi(argv[i + 1]);
    }
    char dir[64];
    fd_config cfg;
    fd_kb_ingest_report rep;
    fd_kb *kb = bench_kb_open("bench_dialog", kbdir, &cfg, dir, sizeof dir, &rep);
    fd_err err;
    fd_assistant *as;
    if (fd_assistant_open(&cfg, NULL, kb, &as, &err))
        bench_die("bench_dialog", "assistant", &err);
    /* The questions of the case file, each asked in a fresh session (the
     * turn is stored) and, every other one, as a follow-up in one session. */
    char *qs[512];
    size_t nq = bench_questions("bench_dialog", kbdir, qs, 512);
    size_t n = 0, total = nq * (size_t)rounds;
    double *ms = malloc(total * sizeof *ms), *ms_ret = malloc(total * sizeof *ms);
    double *cpu = malloc(total * sizeof *cpu);
    double *st[5];
    for (int k = 0; k < 5; k++)
        st[k] = malloc(total * sizeof *ms);
    fd_arena *a = fd_arena_new(0);
    char session[40] = "";
    uint64_t t0 = fd_time_ns();
    for (int r = 0; r < rounds; r++) {
        for (size_t i = 0; i < nq; i++) {
            fd_arena_reset(a);
            fd_turn_in in = {
                .message = qs[i], .len = strlen(qs[i]), .session_id = (i % 2) ? session : NULL};
            fd_reply rep2;
            uint64_t s = fd_time_ns(), c0 = fd_thread_cpu_ns();
            if (fd_assistant_turn(as, kb, &in, NULL, a, &rep2, &err))
                bench_die("bench_dialog", "turn", &err);
            ms[n] = (double)(fd_time_ns() - s) / 1e6;
            cpu[n] = (double)(fd_thread_cpu_ns() - c0) / 1e3;
            ms_ret[n] = rep2.ms_retrieve;
            st[0][n] = rep2.ms_guard;
            st[1][n] = rep2.ms_nlu;
            st[2][n] = rep2.ms_answer;
            st[3][n] = rep2.ms_validate;
            st[4][n] = rep2.ms_total - rep2.ms_guard - rep2.ms_nlu - rep2.ms_retrieve -
                       rep2.ms_answer - rep2.ms_validate;
            n++;
            if (!session[0])
                snprintf(session, sizeof session, "%s", rep2.session_id);
        }
    }
    double secs = (double)(fd_time_ns() - t0) / 1e9;
    if (n == 0)
        bench_die("bench_dialog", "no messages", NULL); /* --rounds 0 */
    qsort(ms, n, sizeof *ms, fd_cmp_double);
    qsort(ms_ret, n, sizeof *ms_ret, fd_cmp_double);
    qsort(cpu, n, sizeof *cpu, fd_cmp_double);
    for (int k = 0; k < 5; k++)
        qsort(st[k], n, sizeof *ms, fd_cmp_double);
    printf("{\"bench\":\"dialog\",\"messages\":%zu,\"chunks\":%zu,\"p50_ms\":%.3f,\"p95_ms\":%.3f,"
           "\"p99_ms\":%.3f,\"max_ms\":%.3f,\"retrieve_p99_ms\":%.3f,\"msgs_per_s\":%.0f,"
           "\"guard_p99_ms\":%.3f,\"nlu_p99_ms\":%.3f,\"answer_p99_ms\":%.3f,"
           "\"validate_p99_ms\":%.3f,\"store_and_rest_p99_ms\":%.3f,\"cpu_p50_us\":%.1f,"
           "\"cpu_p99_us\":%.1f,\"rss_mb\":%.1f}\n",
           n, rep.chunks, bench_pct(ms, n, 0.5), bench_pct(ms, n, 0.95), bench_pct(ms, n, 0.99),
           ms[n - 1], bench_pct(ms_ret, n, 0.99), (double)n / secs, bench_pct(st[0], n, 0.99),
           bench_pct(st[1], n, 0.99), bench_pct(st[2], n, 0.99), bench_pct(st[3], n, 0.99),
           bench_pct(st[4], n, 0.99), bench_pct(cpu, n, 0.5), bench_pct(cpu, n, 0.99),
           (double)fd_rss_peak() / 1048576.0);
    for (size_t i = 0; i < nq; i++)
        free(qs[i]);
    free(ms);
    free(ms_ret);
    free(cpu);
    for (int k = 0; k < 5; k++)
        free(st[k]);
    fd_arena_free(a);
    fd_assistant_close(as);
    fd_kb_close(kb);
    bench_rmdir("bench_dialog", dir);
    return 0;
}
