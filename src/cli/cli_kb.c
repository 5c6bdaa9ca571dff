/* cli_kb.c: commands that change or describe the knowledge base: ingest,
 * rm, docs, reindex, stats. */
#include "cli_int.h"

#include "dialog.h"
#include "store.h"

#include <getopt.h>
#include <stdio.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

/* Parses "[--json]" and positional args; returns the index of the first positional. */
static int parse_json_flag(cli_ctx *c, int *first)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    int ch;
    while ((ch = getopt_long(c->argc, c->argv, "jh", opts, NULL)) != -1) {
        if (ch == 'j')
            c->json = 1;
        else
            return cli_usage(c->argv[0]);
    }
    *first = optind;
    return 0;
}

/* The common start of a knowledge-base command: "[--json] ARGS...", at
 * least one ARG when need_args, then the kb opened. Non-zero: exit status. */
static int open_for(cli_ctx *c, const char *name, int need_args, int *first, fd_kb **kb)
{
    int rc = parse_json_flag(c, first);
    if (rc)
        return rc;
    if (need_args && *first >= c->argc)
        return cli_usage(name);
    return cli_open_kb(c, kb);
}

typedef struct progress {
    int tty;
    int json;
    size_t n_skipped;
} progress;

static void on_progress(void *ctx, size_t done, size_t total, const char *path)
{
    progress *p = ctx;
    if (!p->tty)
        return;
    int width = 30, fill = total ? (int)(width * done / total) : width;
    const char *name = strrchr(path, '/');
    name = name ? name + 1 : path;
    fprintf(stderr, "\r\033[K[%.*s%*s] %zu/%zu %.40s", fill,
            "==============================", width - fill, "", done, total, name);
    if (done == total)
        fputc('\n', stderr);
}

static void on_skip(void *ctx, const char *path, const fd_err *why)
{
    progress *p = ctx;
    p->n_skipped++;
    if (p->tty)
        fprintf(stderr, "\r\033[K");
    if (strcmp(why->field, "rows") == 0) /* the file went in, less its bad rows */
        fprintf(stderr, "frontdesk: warning: %s: %s\n", path, why->msg);
    else
        fprintf(stderr, "frontdesk: warning: skipped %s: %s\n", path, why->msg);
}

int cli_cmd_ingest(cli_ctx *c)
{
    int first = 0;
    fd_kb *kb = NULL;
    int rc = open_for(c, "ingest", 1, &first, &kb);
    if (rc)
        return rc;
    progress p = {isatty(2) && !c->json, c->json, 0};
    fd_kb_ingest_opts opts = {on_progress, on_skip, &p};
    fd_kb_ingest_report rep;
    fd_err err = {0};
    rc = fd_kb_ingest(kb, (const char *const *)c->argv + first, (size_t)(c->argc - first), &opts,
                      &rep, &err);
    /* New intent examples retrain the classifier now, not at the first
     * message; the assistant caches the model beside the store. */
    int retrained = 0;
    if (!rc && rep.assets_changed) {
        fd_assistant *as = NULL;
        rc = fd_assistant_open(&c->cfg, c->log, kb, &as, &err);
        retrained = !rc && fd_assistant_trained_at_open(as);
        fd_assistant_close(as);
    }
    fd_kb_close(kb);
    if (rc)
        return cli_fail(c, &err);
    if (c->json) {
        printf("{\"files\":%zu,\"added\":%zu,\"changed\":%zu,\"unchanged\":%zu,\"removed\":%zu,"
               "\"chunks\":%zu,\"skipped\":%zu,\"assets\":%zu,\"assets_changed\":%zu,"
               "\"kb_version\":%lld,\"seconds\":%.3f}\n",
               rep.files, rep.added, rep.changed, rep.unchanged, rep.removed, rep.chunks,
               rep.skipped, rep.assets, rep.assets_changed, (long long)rep.kb_version, rep.seconds);
    } else {
        printf("ingested %zu files: %zu documents added, %zu changed, %zu unchanged, %zu removed; "
               "%zu chunks written; %zu skipped; knowledge base version %lld (%.2f s)\n",
               rep.files, rep.added, rep.changed, rep.unchanged, rep.removed, rep.chunks,
               rep.skipped, (long long)rep.kb_version, rep.seconds);
        if (rep.assets_changed)
            printf("%zu assistant file(s) updated (tone, escalation rules, intent examples)%s\n",
                   rep.assets_changed, retrained ? "; intent model retrained" : "");
    }
    return 0;
}

typedef struct suffix_match {
    const char *typed;
    char found[1024]; /* the one source the path names */
    int n;            /* distinct sources it could name */
} suffix_match;

static int match_source(void *ctx, const fd_doc_row *doc)
{
    suffix_match *m = ctx;
    size_t tn = strlen(m->typed), sn = doc->source ? strlen(doc->source) : 0;
    if (!sn || sn > tn || strcmp(m->typed + tn - sn, doc->source) != 0 ||
        (sn < tn && m->typed[tn - sn - 1] != '/') || strcmp(m->found, doc->source) == 0)
        return 0;
    m->n++;
    snprintf(m->found, sizeof m->found, "%s", doc->source);
    return 0;
}

/* A file's path as the user types it ("./kb/hours.txt", "/srv/kb/hours.txt")
 * names the source stored as "kb/hours.txt" (keys are a folder's name and
 * the path inside it): the one source the path ends with, else NULL. */
static const char *source_for_path(fd_kb *kb, const char *typed, suffix_match *m)
{
    memset(m, 0, sizeof *m);
    m->typed = typed;
    fd_err err;
    if (fd_store_docs_each(fd_kb_store(kb), match_source, m, &err) != FD_OK || m->n != 1)
        return NULL;
    return m->found;
}

int cli_cmd_rm(cli_ctx *c)
{
    int first = 0;
    fd_kb *kb = NULL;
    int rc = open_for(c, "rm", 1, &first, &kb);
    if (rc)
        return rc;
    size_t total = 0;
    for (int i = first; i < c->argc && !rc; i++) {
        size_t n = 0;
        fd_err err = {0};
        int r = fd_kb_remove(kb, c->argv[i], &n, &err);
        suffix_match m;
        const char *src = r == FD_ENOTFOUND ? source_for_path(kb, c->argv[i], &m) : NULL;
        if (src)
            r = fd_kb_remove(kb, src, &n, &err);
        if (r != FD_OK) {
            if (err.code == FD_ENOTFOUND)
                fd_err_set_field(&err, FD_ENOTFOUND, "document",
                                 "no document or source '%s' (see 'frontdesk docs')", c->argv[i]);
            rc = cli_fail(c, &err);
        }
        total += n;
    }
    fd_kb_close(kb);
    if (!rc) {
        if (c->json)
            printf("{\"removed\":%zu}\n", total);
        else
            printf("removed %zu document%s\n", total, total == 1 ? "" : "s");
    }
    return rc;
}

typedef struct docs_out {
    int json;
    size_t n;
    fd_buf b;
} docs_out;

static int print_doc(void *ctx, const fd_kb_doc *d)
{
    docs_out *o = ctx;
    if (!o->json) {
        printf("%-40s %-8s %-3s %4lld chunks  %s\n", d->key, d->tag, d->lang,
               (long long)d->n_chunks, d->title);
        o->n++;
        return 0;
    }
    int rc = o->n ? fd_buf_putc(&o->b, ',') : FD_OK;
    o->n++;
    const char *names[] = {"key", "title", "source", "tag", "lang"};
    const char *vals[] = {d->key, d->title, d->source, d->tag, d->lang};
    for (int i = 0; i < 5 && !rc; i++) {
        rc = fd_buf_printf(&o->b, "%s\"%s\":", i ? "," : "{", names[i]);
        if (!rc)
            rc = fd_buf_json_str(&o->b, vals[i], strlen(vals[i]));
    }
    if (!rc)
        rc = fd_buf_printf(&o->b, ",\"chunks\":%lld,\"kb_version\":%lld}", (long long)d->n_chunks,
                           (long long)d->kb_version);
    return rc;
}

int cli_cmd_docs(cli_ctx *c)
{
    int first = 0;
    fd_kb *kb = NULL;
    int rc = open_for(c, "docs", 0, &first, &kb);
    if (rc)
        return rc;
    docs_out o = {c->json, 0, {0}};
    fd_buf_init(&o.b, 0);
    fd_err err = {0};
    rc = fd_kb_docs_each(kb, print_doc, &o, &err);
    fd_kb_close(kb);
    if (rc) {
        fd_buf_free(&o.b);
        if (!err.msg[0])
            fd_err_set(&err, rc, "listing documents failed");
        return cli_fail(c, &err);
    }
    if (c->json)
        printf("{\"documents\":[%s]}\n", o.b.p ? o.b.p : "");
    else
        printf("%zu document%s\n", o.n, o.n == 1 ? "" : "s");
    fd_buf_free(&o.b);
    return 0;
}

int cli_cmd_reindex(cli_ctx *c)
{
    fd_kb *kb = NULL;
    int rc = cli_open_kb(c, &kb);
    if (rc)
        return rc;
    fd_err err = {0};
    uint64_t t0 = fd_time_ns();
    rc = fd_kb_reindex(kb, &err);
    fd_kb_close(kb);
    if (rc)
        return cli_fail(c, &err);
    printf("reindexed in %.2f s\n", (double)(fd_time_ns() - t0) / 1e9);
    return 0;
}

int cli_cmd_stats(cli_ctx *c)
{
    int first = 0;
    fd_kb *kb = NULL;
    int rc = open_for(c, "stats", 0, &first, &kb);
    if (rc)
        return rc;
    fd_kb_stats s;
    fd_err err = {0};
    rc = fd_kb_stats_get(kb, &s, &err);
    fd_kb_close(kb);
    if (rc)
        return cli_fail(c, &err);
    if (c->json)
        printf("{\"kb_version\":%lld,\"documents\":%lld,\"chunks\":%lld,\"snapshot_bytes\":%zu,"
               "\"dense_dim\":%d,\"hnsw\":%s}\n",
               (long long)s.kb_version, (long long)s.n_docs, (long long)s.n_chunks,
               s.snapshot_bytes, s.dense_dim, s.hnsw ? "true" : "false");
    else
        printf("knowledge base version %lld: %lld documents, %lld chunks; index %.1f MB, dense "
               "%d-d%s\n",
               (long long)s.kb_version, (long long)s.n_docs, (long long)s.n_chunks,
               (double)s.snapshot_bytes / 1e6, s.dense_dim, s.hnsw ? " with HNSW" : "");
    return 0;
}

/* ---- backup and restore ----------------------------------------------------- */

/* backup FILE, restore FILE: the one argument, and the knowledge base. */
static int file_and_kb(cli_ctx *c, const char *cmd, fd_kb **kb)
{
    if (c->argc != 2 || c->argv[1][0] == '-')
        return cli_usage(cmd);
    return cli_open_kb(c, kb);
}

int cli_cmd_backup(cli_ctx *c)
{
    fd_kb *kb = NULL;
    int rc = file_and_kb(c, "backup", &kb);
    if (rc)
        return rc;
    fd_err err = {0};
    uint64_t t0 = fd_time_ns();
    rc = fd_store_backup(fd_kb_store(kb), c->argv[1], &err);
    fd_kb_close(kb);
    if (rc)
        return cli_fail(c, &err);
    struct stat sb;
    long long size = stat(c->argv[1], &sb) == 0 ? (long long)sb.st_size : -1;
    if (c->json)
        printf("{\"backup\":\"%s\",\"bytes\":%lld,\"seconds\":%.3f}\n", c->argv[1], size,
               (double)(fd_time_ns() - t0) / 1e9);
    else
        printf("backed up to %s (%lld bytes, integrity checked) in %.2f s\n", c->argv[1], size,
               (double)(fd_time_ns() - t0) / 1e9);
    return 0;
}

int cli_cmd_restore(cli_ctx *c)
{
    fd_kb *kb = NULL;
    int rc = file_and_kb(c, "restore", &kb);
    if (rc)
        return rc;
    fd_err err = {0};
    rc = fd_store_restore(fd_kb_store(kb), c->argv[1], &err);
    /* The index is rebuilt from what was restored. */
    if (!rc)
        rc = fd_kb_reindex(kb, &err);
    fd_kb_close(kb);
    if (rc)
        return cli_fail(c, &err);
    printf("restored %s into %s and rebuilt the index; a server running on this data dir "
           "picks it up on SIGHUP or restart\n",
           c->argv[1], c->cfg.data_dir);
    return 0;
}
