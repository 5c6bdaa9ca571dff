/* cli_data.c: a customer's data under their control (GDPR access and
 * erasure), from the terminal:
 *   frontdesk export --user U [--out FILE]   every session of U with its turns, as JSON
 *   frontdesk erase --user U                 all of it gone, in one transaction
 *   frontdesk audit [--json]                 the audit log of administrative actions
 * Exports and erasures are themselves written to the audit log. */
#include "cli_int.h"

#include "dialog.h"
#include "store.h"

#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int parse_user(cli_ctx *c, const char *cmd, const char **user, const char **out)
{
    static const struct option opts[] = {{"user", required_argument, NULL, 'u'},
                                         {"out", required_argument, NULL, 'o'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int ch;
    *user = NULL;
    if (out)
        *out = NULL;
    while ((ch = getopt_long(c->argc, c->argv, "u:o:jh", opts, NULL)) != -1) {
        if (ch == 'u')
            *user = optarg;
        else if (ch == 'j')
            c->json = 1;
        else if (ch == 'o' && out)
            *out = optarg;
        else
            return cli_usage(cmd);
    }
    if (!*user || !(*user)[0]) {
        fprintf(stderr, "frontdesk: %s needs --user U (the user id the chats carried)\n", cmd);
        return cli_usage(cmd);
    }
    return 0;
}

int cli_cmd_export(cli_ctx *c)
{
    const char *user, *out;
    int rc = parse_user(c, "export", &user, &out);
    if (rc)
        return rc;
    fd_kb *kb = NULL;
    rc = cli_open_kb(c, &kb);
    if (rc)
        return rc;
    fd_buf b;
    fd_buf_init(&b, 0);
    fd_err err = {0};
    int n = 0;
    rc = fd_dialog_user_export_json(kb, user, &b, &n, &err);
    if (!rc) {
        char detail[64];
        snprintf(detail, sizeof detail, "%d sessions", n);
        rc = fd_store_audit_add(fd_kb_store(kb), "cli", "user.export", user, detail, &err);
    }
    fd_kb_close(kb);
    if (!rc && out) {
        /* A customer's data: private, and never over another file. */
        int fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0 || write(fd, b.p, b.len) != (ssize_t)b.len)
            rc = fd_err_set(&err, FD_EIO, "%s: cannot write (it must not exist yet)", out);
        if (fd >= 0)
            close(fd);
    } else if (!rc) {
        printf("%s\n", b.p);
    }
    fd_buf_free(&b);
    if (rc)
        return cli_fail(c, &err);
    if (out)
        fprintf(stderr, "exported %d sessions of %s to %s\n", n, user, out);
    return 0;
}

int cli_cmd_erase(cli_ctx *c)
{
    const char *user;
    int rc = parse_user(c, "erase", &user, NULL);
    if (rc)
        return rc;
    fd_kb *kb = NULL;
    rc = cli_open_kb(c, &kb);
    if (rc)
        return rc;
    fd_err err = {0};
    int64_t n = 0;
    rc = fd_store_user_erase(fd_kb_store(kb), user, &n, &err);
    if (!rc) {
        char detail[64];
        snprintf(detail, sizeof detail, "%lld sessions", (long long)n);
        rc = fd_store_audit_add(fd_kb_store(kb), "cli", "user.erase", user, detail, &err);
    }
    fd_kb_close(kb);
    if (rc)
        return cli_fail(c, &err);
    if (c->json)
        printf("{\"user\":\"%s\",\"erased_sessions\":%lld}\n", user, (long long)n);
    else
        printf("erased %lld sessions of %s (turns, events, handoffs with them); a running "
               "server's in-memory caches clear on SIGHUP\n",
               (long long)n, user);
    return 0;
}

static int print_audit(void *ctx, double at, const char *actor, const char *action,
                       const char *target, const char *detail)
{
    cli_ctx *c = ctx;
    if (c->json) {
        fd_buf b;
        fd_buf_init(&b, 0);
        int rc = fd_buf_printf(&b, "{\"at\":%.3f,\"actor\":", at);
        rc = rc ? rc : fd_buf_json_str(&b, actor, strlen(actor));
        rc = rc ? rc : fd_buf_printf(&b, ",\"action\":");
        rc = rc ? rc : fd_buf_json_str(&b, action, strlen(action));
        rc = rc ? rc : fd_buf_printf(&b, ",\"target\":");
        rc = rc ? rc : fd_buf_json_str(&b, target, strlen(target));
        rc = rc ? rc : fd_buf_printf(&b, ",\"detail\":");
        rc = rc ? rc : fd_buf_json_str(&b, detail, strlen(detail));
        if (!rc && !fd_buf_putc(&b, '}'))
            printf("%s\n", b.p);
        fd_buf_free(&b);
    } else {
        char when[32];
        time_t t = (time_t)at;
        struct tm tm;
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
        printf("%s  %-12s %-16s %s%s%s\n", when, actor, action, target, detail[0] ? "  " : "",
               detail);
    }
    return 0;
}

/* Commands whose only option is --json: 0, or the usage's exit code. */
static int json_only(cli_ctx *c, const char *cmd)
{
    for (int i = 1; i < c->argc; i++) {
        if (strcmp(c->argv[i], "--json") != 0)
            return cli_usage(cmd);
        c->json = 1;
    }
    return 0;
}

int cli_cmd_audit(cli_ctx *c)
{
    int urc = json_only(c, "audit");
    if (urc)
        return urc;
    fd_kb *kb = NULL;
    int rc = cli_open_kb(c, &kb);
    if (rc)
        return rc;
    fd_err err = {0};
    rc = fd_store_audit_each(fd_kb_store(kb), print_audit, c, &err);
    fd_kb_close(kb);
    return rc ? cli_fail(c, &err) : 0;
}

int cli_cmd_retention(cli_ctx *c)
{
    int urc = json_only(c, "retention");
    if (urc)
        return urc;
    const fd_config *cfg = &c->cfg;
    if (!cfg->retention_turns_days && !cfg->retention_events_days && !cfg->retention_costs_days) {
        fprintf(stderr, "frontdesk: no retention configured (retention.turns_days, "
                        "retention.events_days, retention.costs_days are 0): nothing deleted\n");
        return 0;
    }
    fd_kb *kb = NULL;
    int rc = cli_open_kb(c, &kb);
    if (rc)
        return rc;
    fd_retention_counts n;
    fd_err err = {0};
    rc = fd_kb_apply_retention(kb, &n, &err);
    fd_kb_close(kb);
    if (rc)
        return cli_fail(c, &err);
    if (c->json)
        printf("{\"sessions\":%lld,\"events\":%lld,\"costs\":%lld}\n", (long long)n.sessions,
               (long long)n.events, (long long)n.costs);
    else
        printf("deleted %lld conversations, %lld analytics events, %lld cost rows\n",
               (long long)n.sessions, (long long)n.events, (long long)n.costs);
    return 0;
}
