/* bench_kb.h: what the pipeline benches share (header-only: each bench is
 * its own program): a knowledge base ingested into a temp dir, the
 * case file's questions, percentiles, and a fatal error. */
#ifndef FD_BENCH_KB_H
#define FD_BENCH_KB_H

#include "kb.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void bench_die(const char *bench, const char *what, const fd_err *err)
{
    fprintf(stderr, "%s: %s: %s\n", bench, what, err ? err->msg : "");
    exit(1);
}

/* p in [0,1] of v, sorted ascending. */
static double bench_pct(const double *v, size_t n, double p)
{
    return n ? v[(size_t)((double)(n - 1) * p)] : 0;
}

/* Defaults without an LLM, data_dir = a new temp dir (written to dir, at
 * least 64 bytes), kbdir ingested. */
static fd_kb *bench_kb_open(const char *bench, const char *kbdir, fd_config *cfg, char *dir,
                            size_t dir_size, fd_kb_ingest_report *rep)
{
    snprintf(dir, dir_size, "/tmp/fd-%s.XXXXXX", bench);
    if (!mkdtemp(dir))
        bench_die(bench, "mkdtemp", NULL);
    fd_config_defaults(cfg);
    snprintf(cfg->data_dir, sizeof cfg->data_dir, "%s", dir);
    cfg->llm_base_url[0] = '\0';
    fd_err err;
    fd_kb *kb;
    if (fd_kb_open(cfg, NULL, &kb, &err))
        bench_die(bench, "open", &err);
    const char *paths[] = {kbdir};
    if (fd_kb_ingest(kb, paths, 1, NULL, rep, &err))
        bench_die(bench, "ingest", &err);
    return kb;
}

/* The "question" of every case in kbdir/cases.jsonl (strdup'd), at most max. */
static size_t bench_questions(const char *bench, const char *kbdir, char **qs, size_t max)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/cases.jsonl", kbdir);
    FILE *f = fopen(path, "r");
    if (!f)
        bench_die(bench, "no cases.jsonl", NULL);
    size_t nq = 0;
    char *line = NULL;
    size_t cap = 0;
    while (nq < max && getline(&line, &cap, f) > 0) {
        json_t *j = json_loads(line, 0, NULL);
        const char *q = json_string_value(json_object_get(j, "question"));
        if (q)
            qs[nq++] = strdup(q);
        json_decref(j);
    }
    free(line);
    fclose(f);
    if (!nq)
        bench_die(bench, "no questions in cases.jsonl", NULL);
    return nq;
}

static void bench_rmdir(const char *bench, const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "%s: could not remove %s\n", bench, dir);
}

#endif
