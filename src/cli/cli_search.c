/* cli_search.c: `frontdesk search`: one query, or an interactive prompt
 * when no query is given (what `make run` opens). */
#include "cli_int.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct search_args {
    fd_search_opts opts;
    const char *query; /* NULL: interactive */
    char joined[8192]; /* the query words joined by spaces */
} search_args;

static int parse_args(cli_ctx *c, search_args *s)
{
    static const struct option opts[] = {{"k", required_argument, NULL, 'k'},
                                         {"mode", required_argument, NULL, 'm'},
                                         {"tag", required_argument, NULL, 't'},
                                         {"lang", required_argument, NULL, 'l'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    memset(s, 0, sizeof *s);
    s->opts.k = (size_t)c->cfg.search_k;
    if (fd_search_mode_parse(c->cfg.search_mode, &s->opts.mode) != FD_OK)
        s->opts.mode = FD_SEARCH_HYBRID;
    int ch;
    char *end;
    while ((ch = getopt_long(c->argc, c->argv, "k:m:t:l:jh", opts, NULL)) != -1) {
        switch (ch) {
        case 'k':
            s->opts.k = (size_t)strtoul(optarg, &end, 10);
            if (*end || s->opts.k < 1 || s->opts.k > 1000) {
                fprintf(stderr, "frontdesk: --k must be a number from 1 to 1000\n");
                return EXIT_USAGE;
            }
            break;
        case 'm':
            if (fd_search_mode_parse(optarg, &s->opts.mode) != FD_OK) {
                fprintf(stderr, "frontdesk: --mode must be bm25, dense or hybrid\n");
                return EXIT_USAGE;
            }
            break;
        case 't':
            s->opts.tag = optarg;
            break;
        case 'l':
            s->opts.lang = fd_lang_parse(optarg);
            if (s->opts.lang == FD_LANG_UNKNOWN) {
                fprintf(stderr, "frontdesk: --lang must be en or fr\n");
                return EXIT_USAGE;
            }
            break;
        case 'j':
            c->json = 1;
            break;
        default:
            return cli_usage("search");
        }
    }
    /* The rest of the line is the query: no quoting needed. */
    char *joined = s->joined;
    size_t n = 0;
    for (int i = optind; i < c->argc; i++) {
        int w = snprintf(joined + n, sizeof s->joined - n, "%s%s", n ? " " : "", c->argv[i]);
        if (w < 0 || (size_t)w >= sizeof s->joined - n) {
            fprintf(stderr, "frontdesk: query too long\n");
            return EXIT_USAGE;
        }
        n += (size_t)w;
    }
    /* An explicit empty argument is an (invalid) query, not the prompt. */
    s->query = optind < c->argc ? joined : NULL;
    return 0;
}

static int print_json(const fd_result *r, size_t n)
{
    fd_buf b;
    fd_buf_init(&b, 0);
    int rc = fd_buf_printf(&b, "{\"results\":[");
    for (size_t i = 0; i < n && !rc; i++) {
        const char *names[] = {"document", "title", "section", "snippet"};
        const char *vals[] = {r[i].doc_key, r[i].title, r[i].section,
                              r[i].snippet ? r[i].snippet : ""};
        rc = fd_buf_printf(&b, "%s{", i ? "," : "");
        for (int f = 0; f < 4 && !rc; f++) {
            rc = fd_buf_printf(&b, "%s\"%s\":", f ? "," : "", names[f]);
            if (!rc)
                rc = fd_buf_json_str(&b, vals[f], strlen(vals[f]));
        }
        if (!rc)
            rc = fd_buf_printf(&b, ",\"chunk\":%lld,\"score\":%.6g}", (long long)r[i].chunk_id,
                               (double)r[i].score);
    }
    if (!rc)
        rc = fd_buf_printf(&b, "]}\n");
    if (!rc)
        fputs(b.p, stdout);
    fd_buf_free(&b);
    return rc;
}

static void print_text(const fd_result *r, size_t n, int tty)
{
    if (n == 0) {
        printf("no results\n");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        printf("%s%zu. %s%s", tty ? "\033[1m" : "", i + 1, r[i].title, tty ? "\033[0m" : "");
        /* The heading path usually starts with the title (the H1): say it once. */
        const char *sec = r[i].section;
        size_t tl = strlen(r[i].title);
        if (tl && strncmp(sec, r[i].title, tl) == 0)
            sec += sec[tl] == '\0' ? tl : strncmp(sec + tl, " > ", 3) == 0 ? tl + 3 : 0;
        if (sec[0])
            printf(" > %s", sec);
        printf("  (%.3f, %s)\n   %s\n", (double)r[i].score, r[i].doc_key,
               r[i].snippet ? r[i].snippet : "");
    }
}

static int run_query(cli_ctx *c, fd_kb *kb, search_args *s, const char *q, fd_arena *a, int tty)
{
    fd_result *res = NULL;
    size_t n = 0;
    fd_err err = {0};
    fd_arena_reset(a);
    if (fd_kb_search(kb, fd_str_c(q), &s->opts, a, &res, &n, &err) != FD_OK)
        return cli_fail(c, &err);
    if (c->json)
        return print_json(res, n) ? 1 : 0;
    print_text(res, n, tty);
    return 0;
}

static int interactive(cli_ctx *c, fd_kb *kb, search_args *s, fd_arena *a)
{
    int tty = isatty(0) && isatty(1);
    s->opts.hl_ansi = tty;
    fd_kb_stats st;
    fd_err err = {0};
    if (fd_kb_stats_get(kb, &st, &err) == FD_OK)
        fprintf(stderr,
                "frontdesk search: %lld documents, %lld chunks (%s mode). Type a question; an "
                "empty line or Ctrl-D quits.\n",
                (long long)st.n_docs, (long long)st.n_chunks, fd_search_mode_name(s->opts.mode));
    char *line = NULL;
    size_t cap = 0;
    for (;;) {
        if (tty)
            fputs("search> ", stdout);
        fflush(stdout);
        ssize_t len = getline(&line, &cap, stdin);
        if (len <= 0)
            break;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (len == 0)
            break;
        run_query(c, kb, s, line, a, tty); /* errors are printed; keep prompting */
    }
    free(line);
    return 0;
}

int cli_cmd_search(cli_ctx *c)
{
    search_args s;
    int rc = parse_args(c, &s);
    if (rc)
        return rc;
    fd_kb *kb = NULL;
    rc = cli_open_kb(c, &kb);
    if (rc)
        return rc;
    fd_arena *a = fd_arena_new(0);
    if (!a) {
        fd_kb_close(kb);
        fprintf(stderr, "frontdesk: out of memory\n");
        return 1;
    }
    if (s.query) {
        s.opts.hl_ansi = isatty(1) && !c->json;
        rc = run_query(c, kb, &s, s.query, a, isatty(1));
    } else {
        rc = interactive(c, kb, &s, a);
    }
    fd_arena_free(a);
    fd_kb_close(kb);
    return rc;
}
