/* cli_keys.c: API keys from the terminal: keys create, list, revoke,
 * rotate. A secret is printed once, at creation or rotation; list never
 * shows one (the store has only hashes). Works on the store (store.url, or <data_dir>/frontdesk.db)
 * directly: no index is loaded. */
#include "cli_int.h"

#include "auth.h"

#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_OVERLAP_HOURS 24.0

int cli_open_store(cli_ctx *c, fd_store **st)
{
    char path[600];
    fd_config_store_path(&c->cfg, path, sizeof path);
    fd_err err = {0};
    if (fd_mkdirs(c->cfg.data_dir, &err) != FD_OK || fd_store_open(path, st, &err) != FD_OK)
        return cli_fail(c, &err);
    fd_store_set_busy_timeout(*st, c->cfg.store_busy_timeout_ms);
    return 0;
}

/* A bad option value: the error (JSON with the field under --json), the
 * usage, exit 2. */
static int bad_value(cli_ctx *c, const char *field, const char *fmt, const char *value)
{
    fd_err err = {0};
    fd_err_set_field(&err, FD_EINVAL, field, fmt, value);
    cli_fail(c, &err);
    if (!c->json)
        cli_usage("keys");
    return EXIT_USAGE;
}

/* A non-negative finite number, all of s. */
static int parse_nonneg(const char *s, double *out)
{
    char *end = NULL;
    double v = strtod(s, &end);
    if (!*s || *end || !isfinite(v) || v < 0)
        return -1;
    *out = v;
    return 0;
}

static int put_time(fd_buf *b, const char *name, double t)
{
    if (t > 0)
        return fd_buf_printf(b, ",\"%s\":%.3f", name, t);
    return fd_buf_printf(b, ",\"%s\":null", name);
}

static int put_scopes(fd_buf *b, unsigned scopes)
{
    static const char *const names[] = {"chat", "ingest", "operator", "admin"};
    int rc = fd_buf_printf(b, ",\"scopes\":[");
    int n = 0;
    for (int i = 0; i < 4 && !rc; i++)
        if (scopes & (1u << i))
            rc = fd_buf_printf(b, "%s\"%s\"", n++ ? "," : "", names[i]);
    return rc ? rc : fd_buf_putc(b, ']');
}

static const char *status_of(const fd_key_info *k, double now)
{
    if (k->revoked_at > 0)
        return "revoked";
    if (k->expires_at > 0 && now >= k->expires_at)
        return "expired";
    if (k->valid_until > 0)
        return now >= k->valid_until ? "retired" : "rotating";
    return "active";
}

/* One key as a JSON object; key (the secret) only when given. */
static int put_key_json(fd_buf *b, const fd_key_info *k, const char *key, double now)
{
    int rc = fd_buf_printf(b, "{\"id\":%lld", (long long)k->id);
    if (!rc && key) {
        rc = fd_buf_printf(b, ",\"key\":");
        if (!rc)
            rc = fd_buf_json_str(b, key, strlen(key));
    }
    if (!rc)
        rc = fd_buf_printf(b, ",\"prefix\":");
    if (!rc)
        rc = fd_buf_json_str(b, k->prefix, strlen(k->prefix));
    if (!rc)
        rc = fd_buf_printf(b, ",\"name\":");
    if (!rc)
        rc = fd_buf_json_str(b, k->name, strlen(k->name));
    if (!rc)
        rc = put_scopes(b, k->scopes);
    if (!rc)
        rc = fd_buf_printf(b, ",\"status\":\"%s\"", status_of(k, now));
    if (!rc)
        rc = put_time(b, "created_at", k->created_at);
    if (!rc)
        rc = put_time(b, "expires_at", k->expires_at);
    if (!rc)
        rc = put_time(b, "revoked_at", k->revoked_at);
    if (!rc)
        rc = put_time(b, "valid_until", k->valid_until);
    if (!rc)
        rc = put_time(b, "last_used_at", k->last_used_at);
    if (!rc)
        rc = k->rotated_to ? fd_buf_printf(b, ",\"rotated_to\":%lld", (long long)k->rotated_to)
                           : fd_buf_printf(b, ",\"rotated_to\":null");
    return rc ? rc : fd_buf_putc(b, '}');
}

static void fmt_time(double t, char *buf, size_t size)
{
    if (t <= 0) {
        snprintf(buf, size, "-");
        return;
    }
    time_t s = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&s, &tm) || !strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(buf, size, "%.0f", t);
}

/* Prints a new secret: JSON on stdout, or the key alone on stdout with its
 * description on stderr (so `key=$(frontdesk keys create ...)` works). The
 * buffer holding the secret is wiped. */
static int print_new_key(cli_ctx *c, const fd_key_info *k, char *key, const char *what)
{
    int rc = 0;
    if (c->json) {
        fd_buf b;
        fd_buf_init(&b, 8192);
        if (put_key_json(&b, k, key, fd_time_wall()) != FD_OK || fd_buf_putc(&b, '\n') != FD_OK) {
            fd_err err = {0};
            fd_err_set(&err, FD_ENOMEM, "out of memory");
            rc = cli_fail(c, &err);
        } else {
            fputs(b.p, stdout);
        }
        if (b.p)
            explicit_bzero(b.p, b.cap);
        fd_buf_free(&b);
    } else {
        char scopes[64], exp[32];
        fd_scopes_format(k->scopes, scopes, sizeof scopes);
        fmt_time(k->expires_at, exp, sizeof exp);
        fprintf(stderr,
                "%s key %lld (%s), scopes %s, expires %s. The key is shown only this once:\n", what,
                (long long)k->id, k->prefix, scopes, k->expires_at > 0 ? exp : "never");
        printf("%s\n", key);
    }
    fflush(stdout);
    explicit_bzero(key, FD_KEY_LEN + 1);
    return rc;
}

static int keys_create(cli_ctx *c)
{
    static const struct option opts[] = {
        {"scope", required_argument, NULL, 's'},    {"name", required_argument, NULL, 'n'},
        {"ttl-days", required_argument, NULL, 't'}, {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0}};
    const char *scope = NULL, *name = "", *ttl = NULL;
    int ch;
    while ((ch = getopt_long(c->argc, c->argv, "s:n:t:jh", opts, NULL)) != -1) {
        if (ch == 's')
            scope = optarg;
        else if (ch == 'n')
            name = optarg;
        else if (ch == 't')
            ttl = optarg;
        else if (ch == 'j')
            c->json = 1;
        else
            return cli_usage("keys");
    }
    if (!scope || optind < c->argc)
        return cli_usage("keys");
    unsigned scopes = 0;
    fd_err err = {0};
    if (fd_scopes_parse(scope, &scopes, &err) != FD_OK)
        return bad_value(c, "scope", "%s", err.msg);
    double days = 0;
    if (ttl && parse_nonneg(ttl, &days) != 0)
        return bad_value(c, "ttl_days", "--ttl-days wants a number of days >= 0, not '%s'", ttl);
    if (strlen(name) >= sizeof((fd_key_info){0}).name)
        return bad_value(c, "name", "--name is too long (at most 63 bytes): '%.40s...'", name);
    fd_store *st = NULL;
    int rc = cli_open_store(c, &st);
    if (rc)
        return rc;
    char key[FD_KEY_LEN + 1];
    fd_key_info info;
    rc = fd_keys_create(st, name, scopes, days * 86400.0, key, &info, &err);
    if (!rc)
        rc = fd_store_audit_add(st, "cli", "key.create", info.prefix, info.name, &err);
    fd_store_close(st);
    if (rc)
        return cli_fail(c, &err);
    return print_new_key(c, &info, key, "created");
}

typedef struct list_out {
    int json;
    size_t n;
    double now;
    fd_buf b;
} list_out;

static int list_one(void *ctx, const fd_key_info *k)
{
    list_out *o = ctx;
    if (o->json) {
        int rc = o->n ? fd_buf_putc(&o->b, ',') : FD_OK;
        o->n++;
        return rc ? rc : put_key_json(&o->b, k, NULL, o->now);
    }
    char scopes[64], created[32], expires[32], used[32];
    fd_scopes_format(k->scopes, scopes, sizeof scopes);
    fmt_time(k->created_at, created, sizeof created);
    fmt_time(k->expires_at, expires, sizeof expires);
    fmt_time(k->last_used_at, used, sizeof used);
    if (!o->n)
        printf("%-5s %-12s %-9s %-22s %-20s %-20s %-20s %s\n", "ID", "PREFIX", "STATUS", "SCOPES",
               "CREATED", "EXPIRES", "LAST USED", "NAME");
    o->n++;
    printf("%-5lld %-12s %-9s %-22s %-20s %-20s %-20s %s\n", (long long)k->id, k->prefix,
           status_of(k, o->now), scopes, created, expires, used, k->name);
    return 0;
}

static int keys_list(cli_ctx *c)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    int ch;
    while ((ch = getopt_long(c->argc, c->argv, "jh", opts, NULL)) != -1) {
        if (ch == 'j')
            c->json = 1;
        else
            return cli_usage("keys");
    }
    if (optind < c->argc)
        return cli_usage("keys");
    fd_store *st = NULL;
    int rc = cli_open_store(c, &st);
    if (rc)
        return rc;
    list_out o = {c->json, 0, fd_time_wall(), {0}};
    fd_buf_init(&o.b, 0);
    fd_err err = {0};
    if (c->json)
        rc = fd_buf_printf(&o.b, "{\"keys\":[");
    if (!rc)
        rc = fd_keys_list(st, list_one, &o, &err);
    if (!rc && c->json)
        rc = fd_buf_printf(&o.b, "]}\n");
    fd_store_close(st);
    if (rc) {
        if (!err.code)
            fd_err_set(&err, rc, "listing keys: %s", fd_code_name(rc));
        fd_buf_free(&o.b);
        return cli_fail(c, &err);
    }
    if (c->json)
        fputs(o.b.p, stdout);
    else if (!o.n)
        printf("no API keys (create one with 'frontdesk keys create --scope chat')\n");
    fd_buf_free(&o.b);
    return 0;
}

/* "[--json] [--overlap-hours H] ID|PREFIX" for revoke and rotate. */
static int parse_target(cli_ctx *c, int with_overlap, const char **target, double *overlap_h)
{
    static const struct option opts[] = {{"overlap-hours", required_argument, NULL, 'o'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *overlap = NULL;
    int ch;
    while ((ch = getopt_long(c->argc, c->argv, "o:jh", opts, NULL)) != -1) {
        if (ch == 'j')
            c->json = 1;
        else if (ch == 'o' && with_overlap)
            overlap = optarg;
        else
            return cli_usage("keys");
    }
    if (optind != c->argc - 1)
        return cli_usage("keys");
    *target = c->argv[optind];
    if (overlap && parse_nonneg(overlap, overlap_h) != 0)
        return bad_value(c, "overlap_hours", "--overlap-hours wants hours >= 0, not '%s'", overlap);
    return 0;
}

static int keys_revoke(cli_ctx *c)
{
    const char *target = NULL;
    int rc = parse_target(c, 0, &target, NULL);
    if (rc)
        return rc;
    fd_store *st = NULL;
    rc = cli_open_store(c, &st);
    if (rc)
        return rc;
    fd_err err = {0};
    rc = fd_keys_revoke(st, target, &err);
    if (!rc)
        rc = fd_store_audit_add(st, "cli", "key.revoke", target, "", &err);
    fd_store_close(st);
    if (rc)
        return cli_fail(c, &err);
    if (c->json) {
        fd_buf b;
        fd_buf_init(&b, 4096);
        if (fd_buf_printf(&b, "{\"revoked\":") == FD_OK &&
            fd_buf_json_str(&b, target, strlen(target)) == FD_OK &&
            fd_buf_printf(&b, "}\n") == FD_OK)
            fputs(b.p, stdout);
        fd_buf_free(&b);
    } else {
        printf("revoked %s\n", target);
    }
    return 0;
}

typedef struct find_pred {
    int64_t successor;
    fd_key_info old;
} find_pred;

static int find_predecessor(void *ctx, const fd_key_info *k)
{
    find_pred *f = ctx;
    if (k->rotated_to == f->successor) {
        f->old = *k;
        return 1;
    }
    return 0;
}

static int keys_rotate(cli_ctx *c)
{
    const char *target = NULL;
    double hours = DEFAULT_OVERLAP_HOURS;
    int rc = parse_target(c, 1, &target, &hours);
    if (rc)
        return rc;
    fd_store *st = NULL;
    rc = cli_open_store(c, &st);
    if (rc)
        return rc;
    char key[FD_KEY_LEN + 1];
    fd_key_info info;
    memset(&info, 0, sizeof info);
    fd_err err = {0};
    rc = fd_keys_rotate(st, target, hours * 3600.0, key, &info, &err);
    if (!rc)
        rc = fd_store_audit_add(st, "cli", "key.rotate", target, info.prefix, &err);
    find_pred f;
    memset(&f, 0, sizeof f);
    f.successor = info.id;
    fd_err lerr = {0};
    if (!rc && fd_keys_list(st, find_predecessor, &f, &lerr) != 1)
        f.old.id = 0; /* only for the message */
    fd_store_close(st);
    if (rc)
        return cli_fail(c, &err);
    if (!c->json && f.old.id) {
        char until[32];
        fmt_time(f.old.valid_until, until, sizeof until);
        fprintf(stderr, "key %lld (%s) stays valid until %s\n", (long long)f.old.id, f.old.prefix,
                until);
    }
    return print_new_key(c, &info, key, "rotated: new");
}

int cli_cmd_keys(cli_ctx *c)
{
    if (c->argc < 2)
        return cli_usage("keys");
    static const struct {
        const char *name;
        int (*run)(cli_ctx *c);
    } subs[] = {
        {"create", keys_create},
        {"list", keys_list},
        {"revoke", keys_revoke},
        {"rotate", keys_rotate},
    };
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
        if (strcmp(c->argv[1], subs[i].name) == 0) {
            c->argc--; /* the subcommand becomes argv[0] for getopt */
            c->argv++;
            return subs[i].run(c);
        }
    }
    fprintf(stderr, "frontdesk: unknown keys command '%s'\n", c->argv[1]);
    return cli_usage("keys");
}
