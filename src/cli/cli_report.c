/* cli_report.c: `frontdesk report costs`, the cost ledger summed. */
#include "cli_int.h"

#include "store.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* --since: "7d", "24h", "30m" ago, or a UTC date "YYYY-MM-DD". */
static int parse_since(const char *s, double now, double *out)
{
    char *end = NULL;
    double n = strtod(s, &end);
    if (end != s && end && end[0] && !end[1] && n >= 0) {
        double unit = end[0] == 'd' ? 86400 : end[0] == 'h' ? 3600 : end[0] == 'm' ? 60 : 0;
        if (unit > 0) {
            *out = now - n * unit;
            return 0;
        }
    }
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *rest = strptime(s, "%Y-%m-%d", &tm);
    if (!rest || *rest)
        return -1;
    *out = (double)timegm(&tm);
    return 0;
}

typedef struct report_ctx {
    fd_buf *b;
    int json;
    int n;
    int rc;
} report_ctx;

static double per_1000(const fd_cost_sum *s)
{
    return s->requests ? s->cost_usd * 1000.0 / (double)s->requests : 0;
}

static int put_sum_json(fd_buf *b, const fd_cost_sum *s)
{
    int rc = fd_buf_printf(b, "{\"group\":");
    if (!rc)
        rc = fd_buf_json_str(b, s->group, strlen(s->group));
    if (!rc)
        rc = fd_buf_printf(b,
                           ",\"requests\":%lld,\"llm_calls\":%lld,\"cached\":%lld,"
                           "\"prompt_tokens\":%lld,\"completion_tokens\":%lld,\"cost_usd\":%.6f,"
                           "\"cost_per_1000_requests\":%.6f}",
                           (long long)s->requests, (long long)s->llm_calls, (long long)s->cached,
                           (long long)s->prompt_tokens, (long long)s->completion_tokens,
                           s->cost_usd, per_1000(s));
    return rc;
}

static int on_sum(void *ctx, const fd_cost_sum *s)
{
    report_ctx *r = ctx;
    if (r->json) {
        r->rc = (r->n ? fd_buf_putc(r->b, ',') : 0) || put_sum_json(r->b, s);
    } else {
        r->rc = fd_buf_printf(r->b, "%-34.34s %9lld %9lld %9lld %11lld %11lld %12.6f %10.4f\n",
                              s->group[0] ? s->group : "(none)", (long long)s->requests,
                              (long long)s->llm_calls, (long long)s->cached,
                              (long long)s->prompt_tokens, (long long)s->completion_tokens,
                              s->cost_usd, per_1000(s));
    }
    r->n++;
    return r->rc;
}

static int report_costs(cli_ctx *c)
{
    static const struct option opts[] = {{"since", required_argument, NULL, 's'},
                                         {"by", required_argument, NULL, 'b'},
                                         {"json", no_argument, NULL, 'j'},
                                         {NULL, 0, NULL, 0}};
    double now = fd_time_wall(), since = 0;
    const char *since_arg = NULL, *by = "day";
    cli_reset_getopt();
    int o;
    while ((o = getopt_long(c->argc, c->argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 's':
            since_arg = optarg;
            break;
        case 'b':
            by = optarg;
            break;
        case 'j':
            c->json = 1;
            break;
        default:
            return cli_usage("report");
        }
    }
    if (optind != c->argc)
        return cli_usage("report");
    fd_err err = {0};
    if (since_arg && parse_since(since_arg, now, &since)) {
        fd_err_set_field(&err, FD_EINVAL, "since",
                         "--since must be like 7d, 24h, 30m or YYYY-MM-DD, not '%s'", since_arg);
        cli_fail(c, &err);
        return EXIT_USAGE;
    }
    static const char *const groups[] = {"day", "key", "model", "session"};
    int by_ok = 0;
    for (size_t i = 0; i < 4; i++)
        by_ok |= strcmp(by, groups[i]) == 0;
    if (!by_ok) {
        fd_err_set_field(&err, FD_EINVAL, "by", "--by must be day, key, model or session, not '%s'",
                         by);
        cli_fail(c, &err);
        return EXIT_USAGE;
    }
    fd_store *st;
    int rc = cli_open_store(c, &st);
    if (rc)
        return rc;
    fd_buf b;
    fd_buf_init(&b, 0);
    report_ctx r = {&b, c->json, 0, 0};
    if (c->json) {
        rc = fd_buf_printf(&b, "{\"since\":%.3f,\"total\":", since);
        r.n = 0;
        fd_cost_sum zero = {.group = ""};
        if (!rc)
            rc = fd_store_costs_each(st, since, "total", on_sum, &r, &err);
        if (!rc && r.n == 0)
            rc = put_sum_json(&b, &zero); /* an empty ledger still has a total */
        for (size_t i = 0; i < 3 && !rc && !r.rc; i++) {
            rc = fd_buf_printf(&b, ",\"by_%s\":[", groups[i]);
            r.n = 0;
            if (!rc)
                rc = fd_store_costs_each(st, since, groups[i], on_sum, &r, &err);
            if (!rc)
                rc = fd_buf_putc(&b, ']');
        }
        if (!rc && strcmp(by, "session") == 0) {
            rc = fd_buf_printf(&b, ",\"by_session\":[");
            r.n = 0;
            if (!rc)
                rc = fd_store_costs_each(st, since, "session", on_sum, &r, &err);
            if (!rc)
                rc = fd_buf_putc(&b, ']');
        }
        if (!rc)
            rc = fd_buf_printf(&b, "}\n");
    } else {
        rc = fd_buf_printf(&b, "%-34s %9s %9s %9s %11s %11s %12s %10s\n", by, "requests",
                           "llm_calls", "cached", "prompt_tok", "complet_tok", "cost_usd",
                           "usd/1000");
        if (!rc)
            rc = fd_store_costs_each(st, since, by, on_sum, &r, &err);
        if (!rc && !r.rc) {
            size_t before = (size_t)r.n;
            rc = fd_buf_printf(&b, "%s\n", "-- total");
            if (!rc)
                rc = fd_store_costs_each(st, since, "total", on_sum, &r, &err);
            if (!rc && (size_t)r.n == before)
                rc = fd_buf_printf(&b, "(no messages%s)\n", since_arg ? " in that period" : "");
        }
    }
    fd_store_close(st);
    if (rc && err.code) {
        fd_buf_free(&b);
        return cli_fail(c, &err);
    }
    if (rc || r.rc) {
        fd_buf_free(&b);
        fd_err_set(&err, FD_ENOMEM, "out of memory");
        return cli_fail(c, &err);
    }
    fwrite(b.p, 1, b.len, stdout);
    fd_buf_free(&b);
    return 0;
}

int cli_cmd_report(cli_ctx *c)
{
    if (c->argc < 2 || strcmp(c->argv[1], "costs") != 0) {
        if (c->argc >= 2)
            fprintf(stderr, "frontdesk: unknown report '%s' (there is: costs)\n", c->argv[1]);
        return cli_usage("report");
    }
    c->argc--;
    c->argv++;
    return report_costs(c);
}
