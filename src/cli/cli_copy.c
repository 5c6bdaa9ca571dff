/* cli_copy.c: frontdesk copy-store --to URL [--json]
 * Copies the configured store (data_dir/frontdesk.db, or store.url) into
 * another, empty one: the way from one machine's SQLite file to the
 * PostgreSQL that replicas share (issue 16), or back to a local file to
 * look into. The destination is migrated to this frontdesk's schema first;
 * the copy is one transaction (store/copy.c), so it is all there or not
 * at all. A destination file this command created is removed again when
 * the copy fails. */
#include "cli_int.h"

#include "store.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct copy_report {
    cli_ctx *c;
    int n;
    int64_t rows;
    char *json; /* the tables as JSON objects, for --json */
    size_t len, cap;
} copy_report;

static void on_table(void *ctx, const char *table, int64_t rows)
{
    copy_report *r = ctx;
    r->n++;
    r->rows += rows;
    if (!r->c->json) {
        fprintf(stderr, "copied %8lld rows of %s\n", (long long)rows, table);
        return;
    }
    char item[160];
    int k = snprintf(item, sizeof item, "%s{\"table\":\"%s\",\"rows\":%lld}", r->n > 1 ? "," : "",
                     table, (long long)rows);
    if (k <= 0 || (size_t)k >= sizeof item)
        return;
    if (r->len + (size_t)k + 1 > r->cap) {
        size_t cap = (r->cap ? r->cap * 2 : 1024) + (size_t)k;
        char *p = fd_realloc(r->json, cap);
        if (!p)
            return;
        r->json = p;
        r->cap = cap;
    }
    memcpy(r->json + r->len, item, (size_t)k + 1);
    r->len += (size_t)k;
}

static int is_url(const char *s)
{
    return strstr(s, "://") != NULL;
}

/* A SQLite file and its WAL companions, removed. */
static void remove_db(const char *path)
{
    char p[700];
    unlink(path);
    snprintf(p, sizeof p, "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", path);
    unlink(p);
}

int cli_cmd_copy_store(cli_ctx *c)
{
    static const struct option opts[] = {
        {"to", required_argument, NULL, 't'}, {"json", no_argument, NULL, 'j'}, {0, 0, 0, 0}};
    const char *to = NULL;
    int o;
    cli_reset_getopt();
    while ((o = getopt_long(c->argc, c->argv, "", opts, NULL)) != -1) {
        if (o == 't')
            to = optarg;
        else if (o == 'j')
            c->json = 1;
        else
            return cli_usage("copy-store");
    }
    if (optind != c->argc || !to || !*to)
        return cli_usage("copy-store");
    char from[600], from_shown[600], to_shown[600];
    fd_config_store_path(&c->cfg, from, sizeof from);
    fd_config_store_shown(&c->cfg, from_shown, sizeof from_shown);
    fd_url_shown(to, to_shown, sizeof to_shown);
    fd_err err = {0};
    struct stat sb;
    if (!is_url(from) && stat(from, &sb) != 0) {
        fd_err_set(&err, FD_ENOTFOUND, "no store at %s to copy (data_dir or store.url)",
                   from_shown);
        return cli_fail(c, &err);
    }
    if (strcmp(from, to) == 0) {
        fd_err_set(&err, FD_EINVAL, "copy-store: --to is the store itself (%s)", to_shown);
        return cli_fail(c, &err);
    }
    int created = !is_url(to) && stat(to, &sb) != 0;
    fd_store *src = NULL, *dst = NULL;
    if (fd_store_open(from, &src, &err) != FD_OK)
        return cli_fail(c, &err);
    if (fd_store_open(to, &dst, &err) != FD_OK) {
        fd_store_close(src);
        if (created)
            remove_db(to);
        return cli_fail(c, &err);
    }
    fd_store_set_busy_timeout(src, c->cfg.store_busy_timeout_ms);
    fd_store_set_busy_timeout(dst, c->cfg.store_busy_timeout_ms);
    copy_report r = {.c = c};
    double t0 = fd_time_wall();
    int rc = fd_store_copy(src, dst, on_table, &r, &err);
    fd_store_close(src);
    fd_store_close(dst);
    if (rc != FD_OK) {
        fd_free(r.json);
        if (created)
            remove_db(to);
        return cli_fail(c, &err);
    }
    double secs = fd_time_wall() - t0;
    if (c->json) {
        fputs("{\"from\":", stdout);
        if (cli_print_json_str(from_shown))
            fputs("\"\"", stdout);
        fputs(",\"to\":", stdout);
        if (cli_print_json_str(to_shown))
            fputs("\"\"", stdout);
        printf(",\"tables\":[%s],\"rows\":%lld,\"seconds\":%.3f}\n", r.json ? r.json : "",
               (long long)r.rows, secs);
    } else {
        printf("copied %lld rows in %d tables from %s to %s in %.1f s\n", (long long)r.rows, r.n,
               from_shown, to_shown, secs);
        printf("next: point the servers at it (store.url = \"%s\", or FRONTDESK_STORE_URL)\n",
               to_shown);
    }
    fd_free(r.json);
    return 0;
}
