/* cli_eval.c: `frontdesk eval retrieval`: builds an index of a BEIR-format
 * corpus in a temporary directory, runs every judged query and prints
 * nDCG@10, Recall@100 and MRR@10 (trec_eval definitions, kb/metrics.c). */
#include "cli_int.h"

#include <ftw.h>
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct eval_args {
    const char *corpus, *queries, *qrels;
    fd_search_mode mode;
    int split; /* 0 all, 1 dev (even positions), 2 test (odd positions) */
    int chunk_words;
} eval_args;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int cli_tmpdir(char *out, size_t n, fd_err *err)
{
    const char *base = getenv("TMPDIR");
    snprintf(out, n, "%s/frontdesk-eval.XXXXXX", base ? base : "/tmp");
    if (!mkdtemp(out))
        return fd_err_set(err, FD_EIO, "cannot create a temporary directory in %s",
                          base ? base : "/tmp");
    return FD_OK;
}

void cli_rmtree(const char *dir)
{
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int parse_args(cli_ctx *c, eval_args *e)
{
    static const struct option opts[] = {{"corpus", required_argument, NULL, 'c'},
                                         {"queries", required_argument, NULL, 'q'},
                                         {"qrels", required_argument, NULL, 'r'},
                                         {"mode", required_argument, NULL, 'm'},
                                         {"split", required_argument, NULL, 's'},
                                         {"chunk-words", required_argument, NULL, 'w'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    memset(e, 0, sizeof *e);
    e->mode = FD_SEARCH_BM25;
    e->chunk_words = 1000; /* BEIR docs are indexed whole ("flat") */
    int ch;
    while ((ch = getopt_long(c->argc, c->argv, "c:q:r:m:s:w:jh", opts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            e->corpus = optarg;
            break;
        case 'q':
            e->queries = optarg;
            break;
        case 'r':
            e->qrels = optarg;
            break;
        case 'm':
            if (fd_search_mode_parse(optarg, &e->mode) != FD_OK) {
                fprintf(stderr, "frontdesk: --mode must be bm25, dense or hybrid\n");
                return EXIT_USAGE;
            }
            break;
        case 's':
            e->split = !strcmp(optarg, "dev") ? 1 : !strcmp(optarg, "test") ? 2 : 0;
            if (e->split == 0 && strcmp(optarg, "all") != 0) {
                fprintf(stderr, "frontdesk: --split must be all, dev or test\n");
                return EXIT_USAGE;
            }
            break;
        case 'w':
            e->chunk_words = atoi(optarg);
            break;
        case 'j':
            c->json = 1;
            break;
        default:
            return cli_usage("eval");
        }
    }
    if (!e->corpus || !e->queries || !e->qrels) {
        fprintf(stderr, "frontdesk: eval retrieval needs --corpus, --queries and --qrels\n");
        return cli_usage("eval");
    }
    return 0;
}

typedef struct run_totals {
    double ndcg, recall, mrr;
    size_t n;
    double *lat_ms;
} run_totals;

/* Distinct doc keys in rank order (a doc's best chunk decides its rank). */
static size_t docs_of(const fd_result *r, size_t n, const char **out)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        size_t j = 0;
        while (j < m && strcmp(out[j], r[i].doc_key) != 0)
            j++;
        if (j == m)
            out[m++] = r[i].doc_key;
    }
    return m;
}

static int run_queries(fd_kb *kb, const eval_args *e, const fd_qrels *qrels, run_totals *t,
                       fd_err *err)
{
    json_error_t je;
    FILE *f = fopen(e->queries, "r");
    if (!f)
        return fd_err_set(err, FD_ENOTFOUND, "%s: cannot open", e->queries);
    fd_arena *a = fd_arena_new(0);
    char *line = NULL;
    size_t cap = 0;
    int rc = a ? FD_OK : fd_err_set(err, FD_ENOMEM, "out of memory");
    size_t pos = 0, lineno = 0;
    fd_search_opts so = {e->mode, 100, NULL, FD_LANG_UNKNOWN, 1, 0, 0};
    while (!rc && getline(&line, &cap, f) > 0) {
        lineno++;
        json_t *q = json_loads(line, 0, &je);
        const char *qid = json_string_value(json_object_get(q, "_id"));
        const char *text = json_string_value(json_object_get(q, "text"));
        if (!qid || !text) {
            rc = fd_err_set(err, FD_EINVAL, "%s:%zu: expected {\"_id\":…,\"text\":…}", e->queries,
                            lineno);
            json_decref(q);
            break;
        }
        fd_eval_scores s;
        size_t p = pos++;
        int in_split = e->split == 0 || (int)(p % 2) == e->split - 1;
        if (in_split && fd_eval_query(qrels, qid, NULL, 0, &s) == FD_OK) {
            fd_arena_reset(a);
            fd_result *res = NULL;
            size_t n = 0;
            fd_err qerr = {0};
            uint64_t t0 = fd_time_ns();
            int src = fd_kb_search(kb, fd_str_c(text), &so, a, &res, &n, &qerr);
            t->lat_ms[t->n] = (double)(fd_time_ns() - t0) / 1e6;
            if (src && src != FD_EINVAL) {
                *err = qerr;
                rc = src;
            }
            const char **ranked = fd_arena_alloc(a, (n + 1) * sizeof *ranked);
            size_t m = ranked ? docs_of(res, n, ranked) : 0;
            if (!rc && fd_eval_query(qrels, qid, ranked, m, &s) == FD_OK) {
                t->ndcg += s.ndcg10;
                t->recall += s.recall100;
                t->mrr += s.mrr10;
                t->n++;
            }
        }
        json_decref(q);
    }
    free(line);
    fclose(f);
    fd_arena_free(a);
    return rc;
}

static void on_skip(void *ctx, const char *path, const fd_err *why)
{
    (void)ctx;
    fprintf(stderr, "frontdesk: warning: skipped in %s: %s\n", path, why->msg);
}

static int evaluate(cli_ctx *c, const eval_args *e, const char *dir)
{
    fd_config cfg = c->cfg;
    fd_err err = {0};
    char words[16];
    snprintf(words, sizeof words, "%d", e->chunk_words);
    int rc = fd_config_set(&cfg, "data_dir", dir, &err);
    if (!rc)
        rc = fd_config_set(&cfg, "chunk.max_words", words, &err);
    fd_qrels *qrels = NULL;
    if (!rc)
        rc = fd_qrels_load(e->qrels, &qrels, &err);
    fd_kb *kb = NULL;
    if (!rc)
        rc = fd_kb_open(&cfg, c->log, &kb, &err);
    fd_kb_ingest_report rep;
    if (!rc) {
        if (!c->json)
            fprintf(stderr, "indexing %s ...\n", e->corpus);
        fd_kb_ingest_opts io = {NULL, on_skip, NULL};
        rc = fd_kb_ingest(kb, &e->corpus, 1, &io, &rep, &err);
    }
    run_totals t = {0};
    if (!rc) {
        t.lat_ms = fd_calloc(fd_qrels_n_queries(qrels) + 1, sizeof *t.lat_ms);
        rc = t.lat_ms ? run_queries(kb, e, qrels, &t, &err)
                      : fd_err_set(&err, FD_ENOMEM, "out of memory");
    }
    if (!rc && t.n == 0)
        rc =
            fd_err_set(&err, FD_EINVAL, "no query of %s has judgments in %s", e->queries, e->qrels);
    if (!rc) {
        qsort(t.lat_ms, t.n, sizeof *t.lat_ms, fd_cmp_double);
        double n = (double)t.n;
        double p50 = t.lat_ms[t.n / 2], p99 = t.lat_ms[(size_t)(0.99 * (n - 1))];
        const char *mode = fd_search_mode_name(e->mode);
        if (c->json)
            printf("{\"ndcg@10\":%.4f,\"recall@100\":%.4f,\"mrr@10\":%.4f,\"queries\":%zu,"
                   "\"mode\":\"%s\",\"documents\":%zu,\"chunks\":%zu,\"index_s\":%.3f,"
                   "\"query_p50_ms\":%.3f,\"query_p99_ms\":%.3f}\n",
                   t.ndcg / n, t.recall / n, t.mrr / n, t.n, mode, rep.added, rep.chunks,
                   rep.seconds, p50, p99);
        else
            printf("mode %s, %zu queries, %zu documents (%zu chunks, indexed in %.2f s)\n"
                   "  nDCG@10    %.4f\n  Recall@100 %.4f\n  MRR@10     %.4f\n"
                   "  query p50 %.3f ms, p99 %.3f ms\n",
                   mode, t.n, rep.added, rep.chunks, rep.seconds, t.ndcg / n, t.recall / n,
                   t.mrr / n, p50, p99);
    }
    fd_free(t.lat_ms);
    fd_kb_close(kb);
    fd_qrels_free(qrels);
    return rc ? cli_fail(c, &err) : 0;
}

int cli_cmd_eval(cli_ctx *c)
{
    if (c->argc < 2) {
        fprintf(stderr, "frontdesk: eval needs a kind: retrieval, intent, answers, guard or generate\n");
        return cli_usage("eval");
    }
    c->argc--;
    c->argv++;
    if (strcmp(c->argv[0], "intent") == 0)
        return cli_eval_intent(c);
    if (strcmp(c->argv[0], "answers") == 0)
        return cli_eval_answers(c);
    if (strcmp(c->argv[0], "guard") == 0)
        return cli_eval_guard(c);
    if (strcmp(c->argv[0], "generate") == 0)
        return cli_eval_generate(c);
    if (strcmp(c->argv[0], "retrieval") != 0) {
        fprintf(stderr, "frontdesk: unknown eval kind '%s' (retrieval, intent, answers, guard, generate)\n",
                c->argv[0]);
        return cli_usage("eval");
    }
    eval_args e;
    int rc = parse_args(c, &e);
    if (rc)
        return rc;
    char dir[512];
    fd_err err;
    if (cli_tmpdir(dir, sizeof dir, &err))
        return cli_fail(c, &err);
    rc = evaluate(c, &e, dir);
    cli_rmtree(dir);
    return rc;
}
