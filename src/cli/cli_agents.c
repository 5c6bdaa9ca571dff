/* cli_agents.c: agents' console accounts from the terminal: agents add,
 * list, disable, enable, passwd. A password is read from the terminal
 * with echo off (typed twice), or as the first line of stdin when it is
 * not a terminal; never from argv, which other users see in ps. Works on
 * the store directly, like cli_keys.c. */
#include "cli_int.h"

#include "auth.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

/* One line from f into buf (size > FD_AGENT_PASSWORD_MAX + 1), without its
 * line end; -1 at end of input or for a line too long. */
static int read_line(FILE *f, char *buf, size_t size)
{
    if (!fgets(buf, (int)size, f))
        return -1;
    size_t n = strlen(buf);
    if (n && buf[n - 1] != '\n' && !feof(f))
        return -1; /* longer than the buffer */
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    return 0;
}

/* The terminal's answer to prompt, echo off. */
static int prompt_hidden(const char *prompt, char *buf, size_t size)
{
    struct termios old, quiet;
    int tty = tcgetattr(STDIN_FILENO, &old) == 0;
    if (tty) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    fputs(prompt, stderr);
    fflush(stderr);
    int rc = read_line(stdin, buf, size);
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
        fputc('\n', stderr);
    }
    return rc;
}

/* The new password of agent name into buf: typed twice at a terminal, or
 * stdin's first line. 0, or the exit code after saying what was wrong. */
static int read_password(cli_ctx *c, const char *name, char *buf, size_t size)
{
    fd_err err = {0};
    if (isatty(STDIN_FILENO)) {
        char again[FD_AGENT_PASSWORD_MAX + 2];
        char prompt[128];
        snprintf(prompt, sizeof prompt, "New password for %s: ", name);
        int rc = prompt_hidden(prompt, buf, size);
        if (!rc)
            rc = prompt_hidden("Repeat it: ", again, sizeof again);
        int same = !rc && strcmp(buf, again) == 0;
        explicit_bzero(again, sizeof again);
        if (rc || !same) {
            fd_err_set_field(&err, FD_EINVAL, "password",
                             rc ? "no password read" : "the two passwords differ");
            return cli_fail(c, &err);
        }
        return 0;
    }
    if (read_line(stdin, buf, size) != 0) {
        fd_err_set_field(&err, FD_EINVAL, "password",
                         "no password on stdin (one line of at most %d bytes)",
                         FD_AGENT_PASSWORD_MAX);
        return cli_fail(c, &err);
    }
    return 0;
}

static void fmt_time(double t, char *out, size_t n)
{
    if (t <= 0) {
        snprintf(out, n, "-");
        return;
    }
    time_t s = (time_t)t;
    struct tm tm;
    gmtime_r(&s, &tm);
    strftime(out, n, "%Y-%m-%d %H:%M", &tm);
}

static int agent_json(fd_buf *b, const fd_agent_info *a)
{
    int rc = fd_buf_printf(b, "{\"name\":");
    rc = rc ? rc : fd_buf_json_str(b, a->name, strlen(a->name));
    rc = rc ? rc : fd_buf_printf(b, ",\"display_name\":");
    rc = rc ? rc : fd_buf_json_str(b, a->display_name, strlen(a->display_name));
    return rc ? rc
              : fd_buf_printf(b,
                              ",\"disabled\":%s,\"created_at\":%.3f,\"disabled_at\":%.3f,"
                              "\"last_login_at\":%.3f}",
                              a->disabled_at > 0 ? "true" : "false", a->created_at, a->disabled_at,
                              a->last_login_at);
}

/* What a command did to one agent: its JSON, or a line. */
static int print_agent(cli_ctx *c, const fd_agent_info *a, const char *done)
{
    if (c->json) {
        fd_buf b;
        fd_buf_init(&b, 4096);
        if (agent_json(&b, a) == FD_OK && fd_buf_putc(&b, '\n') == FD_OK)
            fwrite(b.p, 1, b.len, stdout);
        fd_buf_free(&b);
    } else {
        printf("%s agent %s (%s)\n", done, a->name, a->display_name);
    }
    return 0;
}

/* NAME, the one operand every subcommand but list takes, after its options. */
static const char *operand(cli_ctx *c, const char *sub)
{
    if (optind != c->argc - 1) {
        fprintf(stderr, "frontdesk: agents %s takes one agent NAME\n", sub);
        cli_usage("agents");
        return NULL;
    }
    return c->argv[optind];
}

static int agents_add(cli_ctx *c)
{
    static const struct option opts[] = {{"display-name", required_argument, NULL, 'd'},
                                         {"json", no_argument, NULL, 'j'},
                                         {NULL, 0, NULL, 0}};
    const char *display = "";
    cli_reset_getopt();
    for (int o; (o = getopt_long(c->argc, c->argv, "", opts, NULL)) != -1;) {
        if (o == 'd')
            display = optarg;
        else if (o == 'j')
            c->json = 1;
        else
            return cli_usage("agents");
    }
    const char *name = operand(c, "add");
    if (!name)
        return EXIT_USAGE;
    fd_err err = {0};
    if (!fd_agent_name_ok(name)) {
        fd_err_set_field(&err, FD_EINVAL, "name",
                         "an agent name is 1 to %d lower-case letters, digits, '.', '_' or '-'",
                         FD_AGENT_NAME_MAX);
        return cli_fail(c, &err);
    }
    char pw[FD_AGENT_PASSWORD_MAX + 2];
    int rc = read_password(c, name, pw, sizeof pw);
    if (rc)
        return rc;
    fd_store *st = NULL;
    rc = cli_open_store(c, &st);
    if (rc) {
        explicit_bzero(pw, sizeof pw);
        return rc;
    }
    fd_agent_info a;
    rc = fd_agents_create(st, name, display, pw, &a, &err);
    explicit_bzero(pw, sizeof pw);
    if (!rc)
        rc = fd_store_audit_add(st, "cli", "agent.create", name, "", &err);
    fd_store_close(st);
    return rc ? cli_fail(c, &err) : print_agent(c, &a, "added");
}

typedef struct list_ctx {
    cli_ctx *c;
    fd_buf *b;
    int n, rc;
} list_ctx;

static int list_each(void *ctx, const fd_agent_info *a)
{
    list_ctx *l = ctx;
    if (l->c->json) {
        l->rc = fd_buf_printf(l->b, "%s", l->n ? "," : "");
        l->rc = l->rc ? l->rc : agent_json(l->b, a);
    } else {
        char last[32];
        fmt_time(a->last_login_at, last, sizeof last);
        l->rc = fd_buf_printf(l->b, "%-20s %-28s %-9s %s\n", a->name, a->display_name,
                              a->disabled_at > 0 ? "disabled" : "active", last);
    }
    l->n++;
    return l->rc ? 1 : 0;
}

static int agents_list(cli_ctx *c)
{
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'}, {NULL, 0, NULL, 0}};
    cli_reset_getopt();
    for (int o; (o = getopt_long(c->argc, c->argv, "", opts, NULL)) != -1;) {
        if (o == 'j')
            c->json = 1;
        else
            return cli_usage("agents");
    }
    if (optind != c->argc)
        return cli_usage("agents");
    fd_store *st = NULL;
    int rc = cli_open_store(c, &st);
    if (rc)
        return rc;
    fd_buf b;
    fd_buf_init(&b, 0);
    list_ctx l = {c, &b, 0, 0};
    fd_err err = {0};
    rc = c->json ? fd_buf_printf(&b, "{\"agents\":[")
                 : fd_buf_printf(&b, "%-20s %-28s %-9s %s\n", "NAME", "DISPLAY NAME", "STATUS",
                                 "LAST SIGN-IN (UTC)");
    if (!rc)
        rc = fd_agents_list(st, list_each, &l, &err);
    fd_store_close(st);
    if (!rc && c->json)
        rc = fd_buf_printf(&b, "]}\n");
    if (rc) {
        if (rc == 1 || !err.code) /* a callback's or the buffer's: memory */
            fd_err_set(&err, FD_ENOMEM, "listing agents: out of memory");
        fd_buf_free(&b);
        return cli_fail(c, &err);
    }
    fwrite(b.p, 1, b.len, stdout);
    fd_buf_free(&b);
    return 0;
}

/* disable, enable and passwd: NAME and --json. */
static int agents_change(cli_ctx *c, const char *sub)
{
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'}, {NULL, 0, NULL, 0}};
    cli_reset_getopt();
    for (int o; (o = getopt_long(c->argc, c->argv, "", opts, NULL)) != -1;) {
        if (o == 'j')
            c->json = 1;
        else
            return cli_usage("agents");
    }
    const char *name = operand(c, sub);
    if (!name)
        return EXIT_USAGE;
    int passwd = strcmp(sub, "passwd") == 0;
    char pw[FD_AGENT_PASSWORD_MAX + 2] = "";
    int rc = passwd ? read_password(c, name, pw, sizeof pw) : 0;
    if (rc)
        return rc;
    fd_store *st = NULL;
    rc = cli_open_store(c, &st);
    if (rc) {
        explicit_bzero(pw, sizeof pw);
        return rc;
    }
    fd_err err = {0};
    fd_agent_info a;
    rc = passwd ? fd_agents_set_password(st, name, pw, &a, &err)
                : fd_agents_set_disabled(st, name, strcmp(sub, "disable") == 0, &a, &err);
    explicit_bzero(pw, sizeof pw);
    if (!rc) {
        char what[32];
        snprintf(what, sizeof what, "agent.%s", sub);
        rc = fd_store_audit_add(st, "cli", what, name, "", &err);
    }
    fd_store_close(st);
    if (rc)
        return cli_fail(c, &err);
    return print_agent(c, &a,
                       passwd                        ? "new password for"
                       : strcmp(sub, "disable") == 0 ? "disabled"
                                                     : "enabled");
}

static int agents_disable(cli_ctx *c)
{
    return agents_change(c, "disable");
}

static int agents_enable(cli_ctx *c)
{
    return agents_change(c, "enable");
}

static int agents_passwd(cli_ctx *c)
{
    return agents_change(c, "passwd");
}

int cli_cmd_agents(cli_ctx *c)
{
    if (c->argc < 2)
        return cli_usage("agents");
    static const struct {
        const char *name;
        int (*run)(cli_ctx *c);
    } subs[] = {
        {"add", agents_add},       {"list", agents_list},     {"disable", agents_disable},
        {"enable", agents_enable}, {"passwd", agents_passwd},
    };
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
        if (strcmp(c->argv[1], subs[i].name) == 0) {
            c->argc--; /* the subcommand becomes argv[0] for getopt */
            c->argv++;
            return subs[i].run(c);
        }
    }
    fprintf(stderr, "frontdesk: unknown agents command '%s'\n", c->argv[1]);
    return cli_usage("agents");
}
