/* bench_orders.c: what taking orders costs, outside any LLM, single thread,
 * on the example knowledge base. Prints one JSON object:
 *  - "order_turn_ms": p50/p95/p99 of every turn of the seed order
 *    conversation (order intent, choice, outlet, date, a question mid-order,
 *    a change, yes: the last one stores the order, its lines, its history
 *    and its invoice's outbox row with the turn), and "knowledge_turn_ms"
 *    the same for the case file's questions in the same run (the ratio is
 *    what the order flow adds);
 *  - with --accounting (the fake server, tests/support/fake_accounting.py,
 *    started here on 127.0.0.1): "outbox" invoices delivered per second
 *    through the real connector (token, Idempotency-Key, commit per row).
 *
 *   bench_orders --kb examples/packaging-supplier [--rounds N]
 *                [--accounting tests/support/fake_accounting.py --invoices M] */
#include "bench_kb.h"
#include "dialog.h"
#include "outbox.h"
#include "store.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static json_t *pcts(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_dbl);
    return json_pack("{s:f, s:f, s:f, s:i}", "p50", bench_pct(v, n, 0.5), "p95",
                     bench_pct(v, n, 0.95), "p99", bench_pct(v, n, 0.99), "n", (int)n);
}

static const char *const seed[] = {"I want to order 100 12-inch pizza boxes",
                                   "the kraft ones",
                                   "My outlet is Canadian Pizza Pasir Ris",
                                   "Deliver on Friday morning",
                                   "what's your minimum order?",
                                   "make it 300 instead",
                                   "yes"};
#define N_SEED (sizeof seed / sizeof *seed)

/* Starts the fake accounting server; its port in *port. */
static pid_t fake_start(const char *script, int *port)
{
    int p[2];
    if (pipe(p))
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 1);
        close(p[0]);
        execlp("python3", "python3", script, (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    char buf[32] = "";
    ssize_t n = read(p[0], buf, sizeof buf - 1);
    close(p[0]);
    *port = n > 0 ? atoi(buf) : 0;
    return *port ? pid : -1;
}

static json_t *outbox_bench(fd_config *cfg, fd_kb *kb, const char *script, int n_inv)
{
    int port;
    pid_t pid = fake_start(script, &port);
    if (pid < 0)
        bench_die("bench_orders", "fake accounting server did not start", NULL);
    snprintf(cfg->acct_url, sizeof cfg->acct_url, "http://127.0.0.1:%d", port);
    snprintf(cfg->acct_token_url, sizeof cfg->acct_token_url, "http://127.0.0.1:%d/connect/token",
             port);
    snprintf(cfg->acct_client_id, sizeof cfg->acct_client_id, "test-client");
    snprintf(cfg->acct_client_secret, sizeof cfg->acct_client_secret, "test-secret");
    snprintf(cfg->acct_tenant_id, sizeof cfg->acct_tenant_id, "tenant-1");
    cfg->acct_rate_per_min = 1000000;
    fd_store *st = fd_kb_store(kb);
    fd_err err;
    if (fd_accounting_connect(cfg, st, "good-code", "", &err))
        bench_die("bench_orders", "connect", &err);
    static const fd_order_line_row line = {"PB-1201", "Pizza box 12-inch kraft", 100, 2, 50, 2100,
                                           4200};
    const char *inv = "{\"type\":\"ACCREC\",\"contact_id\":\"xc-canadian-pizza\",\"date\":"
                      "\"2026-12-07\",\"due_date\":\"2027-01-06\",\"currency\":\"SGD\",\"lines\":[{"
                      "\"code\":\"PB-1201\",\"description\":\"Pizza box 12-inch kraft\",\"quantity\":"
                      "2,\"unit_amount\":21.00}]}";
    if (fd_store_begin(st, &err))
        bench_die("bench_orders", "begin", &err);
    for (int i = 0; i < n_inv; i++) {
        char key[64], ref[32];
        int64_t id;
        snprintf(key, sizeof key, "bench:%d", i);
        fd_order_row o = {.idem_key = key, .customer_id = "C1001", .currency = "SGD",
                          .subtotal = 4200, .tax = 378, .total = 4578, .lines = &line, .n_lines = 1};
        if (fd_store_order_add(st, &o, "HP", inv, &id, ref, sizeof ref, &err))
            bench_die("bench_orders", "order", &err);
    }
    if (fd_store_commit(st, &err))
        bench_die("bench_orders", "commit", &err);
    uint64_t t0 = fd_time_ns();
    int total = 0;
    while (total < n_inv) {
        int ok = 0, dead = 0;
        if (fd_outbox_deliver_due(cfg, NULL, st, &ok, &dead, &err))
            bench_die("bench_orders", "deliver", &err);
        if (!ok && !dead)
            break;
        total += ok;
    }
    double s = (double)(fd_time_ns() - t0) / 1e9;
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return json_pack("{s:i, s:f, s:f}", "invoices", total, "seconds", s, "per_s",
                     s > 0 ? total / s : 0);
}

int main(int argc, char **argv)
{
    const char *kbdir = "examples/packaging-supplier", *fake = NULL;
    int rounds = 50, n_inv = 500;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--kb") == 0)
            kbdir = argv[i + 1];
        else if (strcmp(argv[i], "--rounds") == 0)
            rounds = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--accounting") == 0)
            fake = argv[i + 1];
        else if (strcmp(argv[i], "--invoices") == 0)
            n_inv = atoi(argv[i + 1]);
    }
    char dir[64];
    fd_config cfg;
    fd_kb_ingest_report rep;
    fd_kb *kb = bench_kb_open("bench_orders", kbdir, &cfg, dir, sizeof dir, &rep);
    fd_err err;
    fd_assistant *as;
    if (fd_assistant_open(&cfg, NULL, kb, &as, &err))
        bench_die("bench_orders", "assistant", &err);
    char *qs[512];
    size_t nq = bench_questions("bench_orders", kbdir, qs, 512);
    double *ot = malloc((size_t)rounds * N_SEED * sizeof *ot);
    double *kt = malloc((size_t)rounds * nq * sizeof *kt);
    size_t no = 0, nk = 0, placed = 0;
    fd_arena *a = fd_arena_new(0);
    for (int r = 0; r < rounds; r++) {
        char sid[40];
        snprintf(sid, sizeof sid, "bench-%d", r);
        for (size_t i = 0; i < N_SEED; i++) {
            fd_arena_reset(a);
            fd_turn_in in = {.message = seed[i], .len = strlen(seed[i]), .session_id = sid};
            fd_reply rp;
            uint64_t s = fd_time_ns();
            if (fd_assistant_turn(as, kb, &in, NULL, a, &rp, &err))
                bench_die("bench_orders", "order turn", &err);
            ot[no++] = (double)(fd_time_ns() - s) / 1e6;
            placed += i + 1 == N_SEED && rp.order_json && strstr(rp.order_json, "\"HP-");
        }
        for (size_t i = 0; i < nq; i++) {
            fd_arena_reset(a);
            fd_turn_in in = {.message = qs[i], .len = strlen(qs[i])};
            fd_reply rp;
            uint64_t s = fd_time_ns();
            if (fd_assistant_turn(as, kb, &in, NULL, a, &rp, &err))
                bench_die("bench_orders", "knowledge turn", &err);
            kt[nk++] = (double)(fd_time_ns() - s) / 1e6;
        }
    }
    json_t *out = json_pack("{s:s, s:i, s:i, s:o, s:o}", "bench", "orders", "rounds", rounds,
                            "orders_placed", (int)placed, "order_turn_ms", pcts(ot, no),
                            "knowledge_turn_ms", pcts(kt, nk));
    if (fake)
        json_object_set_new(out, "outbox", outbox_bench(&cfg, kb, fake, n_inv));
    char *s = json_dumps(out, JSON_INDENT(2));
    puts(s);
    free(s);
    json_decref(out);
    fd_assistant_close(as);
    fd_kb_close(kb);
    fd_arena_free(a);
    bench_rmdir("bench_orders", dir);
    return 0;
}
