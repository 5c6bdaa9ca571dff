/* cli.c: global options, dispatch and help for the frontdesk command. */
#include "cli_int.h"
#include "store.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int cmd_config(cli_ctx *c);
static int cmd_version(cli_ctx *c);
static int cmd_help(cli_ctx *c);

static const cli_cmd commands[] = {
    {"ingest", cli_cmd_ingest, "ingest [--json] PATH...",
     "load files and folders (.md .txt .html .csv .jsonl .pdf .docx) into the knowledge base"},
    {"rm", cli_cmd_rm, "rm [--json] DOC...", "delete documents by key (or all of a source file)"},
    {"docs", cli_cmd_docs, "docs [--json]", "list the documents in the knowledge base"},
    {"search", cli_cmd_search,
     "search [--k N] [--mode bm25|dense|hybrid] [--tag T] [--lang en|fr] [--json] [QUERY]",
     "search the knowledge base; with no QUERY, an interactive prompt"},
    {"ask", cli_cmd_ask, "ask [--session ID] [--user U] [--json] [--trace] QUESTION",
     "ask the assistant one question (the same pipeline as POST /v1/chat)"},
    {"serve", cli_cmd_serve, "serve [--port N] [--bind ADDR]",
     "run the HTTP API (SIGTERM drains and exits, SIGHUP reloads)"},
    {"chat", cli_cmd_chat, "chat [--session ID]",
     "talk with the assistant in the terminal (streamed, the session persists)"},
    {"eval", cli_cmd_eval,
     "eval retrieval --corpus F --queries F --qrels F [--mode M] [--split all|dev|test] [--json]\n"
     "       frontdesk eval intent --train F --test F [--val F] [--json]\n"
     "       frontdesk eval answers --cases F [--json]\n"
     "       frontdesk eval answers --kb DIR [--cases F] [--dialogs F] [--kb DIR ...] [--failures] "
     "[--oracle]\n"
     "                [--dump-features F] [--dump-sentences F] [--json]\n"
     "       frontdesk eval guard --set F [--json]\n"
     "       frontdesk eval generate --kb DIR --out NEWDIR [--seed N] [--leave-out F] [--json]",
     "measure retrieval, intent classification, answers or the guard on labelled data; "
     "generate a question set from any KB"},
    {"keys", cli_cmd_keys,
     "keys create --scope S[,S] [--name N] [--ttl-days D] [--json]\n"
     "       frontdesk keys list [--json]\n"
     "       frontdesk keys revoke [--json] ID|PREFIX\n"
     "       frontdesk keys rotate [--overlap-hours H] [--json] ID|PREFIX",
     "API keys for the HTTP service (scopes: chat, ingest, operator, orders, admin); a new key is "
     "shown once"},
    {"agents", cli_cmd_agents,
     "agents add [--display-name D] [--json] NAME\n"
     "       frontdesk agents list [--json]\n"
     "       frontdesk agents disable [--json] NAME\n"
     "       frontdesk agents enable [--json] NAME\n"
     "       frontdesk agents passwd [--json] NAME",
     "people who sign in to the operator console; a password is read from the terminal (typed "
     "twice) or from stdin's first line, never from the command line"},
    {"report", cli_cmd_report,
     "report costs [--since 7d|24h|YYYY-MM-DD] [--by day|key|model|session] [--json]",
     "what the LLM cost: tokens and USD per day, API key, model or session, with the share "
     "of messages answered from cache and the cost per 1,000 requests"},
    {"reindex", cli_cmd_reindex, "reindex", "rebuild the index snapshot from the store"},
    {"export", cli_cmd_export, "export --user U [--out FILE]",
     "every conversation of one end user, as JSON (GDPR access; written to the audit log)"},
    {"erase", cli_cmd_erase, "erase --user U [--json]",
     "erase one end user's conversations, events and handoffs (GDPR erasure; audited)"},
    {"audit", cli_cmd_audit, "audit [--json]",
     "the audit log: keys, uploads, deletes, exports, erasures"},
    {"orders", cli_cmd_orders,
     "orders list [--status S] [--limit N] [--json]\n"
     "       frontdesk orders show [--json] ORDER-ID",
     "orders taken in chat: list them, or one with its lines"},
    {"outbox", cli_cmd_outbox,
     "outbox list [--state pending|retry|delivered|dead|dropped] [--json]\n"
     "       frontdesk outbox retry ID | drop ID | deliver",
     "invoices waiting for the accounting system: see them, retry or drop one, deliver now"},
    {"accounting", cli_cmd_accounting,
     "accounting connect --code CODE [--redirect-uri URI]\n"
     "       frontdesk accounting status [--json]",
     "connect to the accounting system (OAuth2 code exchange), or show the connection"},
    {"retention", cli_cmd_retention, "retention [--json]",
     "apply retention.* now (the server does it at start and hourly)"},
    {"backup", cli_cmd_backup, "backup FILE",
     "an online, consistent copy of the store (0600, checked; never overwrites)"},
    {"restore", cli_cmd_restore, "restore FILE",
     "replace the store with a backup (checked first; older schemas migrated) and reindex"},
    {"migrate", cli_cmd_migrate, "migrate [--dry-run] [--json]",
     "bring the store's schema to this version (every open does it too); --dry-run lists what "
     "would run"},
    {"copy-store", cli_cmd_copy_store, "copy-store --to URL|FILE [--json]",
     "copy the whole store into an empty one (SQLite -> PostgreSQL to scale out), in one "
     "transaction"},
    {"stats", cli_cmd_stats, "stats [--json]", "knowledge-base version, sizes, index facts"},
    {"config", cmd_config, "config [sample]",
     "print the effective configuration, or a commented sample frontdesk.toml"},
    {"version", cmd_version, "version", "print the version"},
    {"completion", cli_cmd_completion, "completion bash|zsh",
     "a shell completion script: source <(frontdesk completion bash)"},
    {"help", cmd_help, "help [COMMAND]", "this help"},
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

const cli_cmd *cli_commands(size_t *n)
{
    *n = N_COMMANDS;
    return commands;
}

static void print_help(FILE *out)
{
    fprintf(out,
            "frontdesk %s: a customer-service assistant that answers from your own documents.\n\n"
            "usage: frontdesk [--data DIR] [--config FILE] [--set KEY=VALUE]... [--log-level L]\n"
            "                 COMMAND [ARGS]\n\ncommands:\n",
            FD_VERSION);
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].help);
    fprintf(out,
            "\nglobal options:\n"
            "  --data DIR        where the store and index live (FRONTDESK_DATA_DIR, default "
            "./var)\n"
            "  --config FILE     frontdesk.toml or .json (default: ./frontdesk.toml if present)\n"
            "  --set KEY=VALUE   override one configuration key (see 'frontdesk config sample')\n"
            "  --log-level L     debug, info, warn, error or off\n\n"
            "'frontdesk help COMMAND' shows a command's usage.\n");
}

int cli_usage(const char *name)
{
    for (size_t i = 0; i < N_COMMANDS; i++) {
        if (strcmp(commands[i].name, name) == 0) {
            fprintf(stderr, "usage: frontdesk %s\n  %s\n", commands[i].usage, commands[i].help);
            return EXIT_USAGE;
        }
    }
    print_help(stderr);
    return EXIT_USAGE;
}

void cli_reset_getopt(void)
{
    optind = 0; /* glibc: 0 also resets its internal state */
    opterr = 1;
}

int cli_print_json_str(const char *s)
{
    fd_buf b;
    fd_buf_init(&b, 0);
    int rc = fd_buf_json_str(&b, s, strlen(s));
    if (!rc)
        fputs(b.p, stdout);
    fd_buf_free(&b);
    return rc;
}

int cli_fail(cli_ctx *c, const fd_err *err)
{
    return cli_fail_code(c, fd_code_name(err->code), err);
}

int cli_fail_code(cli_ctx *c, const char *code, const fd_err *err)
{
    if (c->json) {
        fd_buf b;
        fd_buf_init(&b, 4096);
        int rc = fd_buf_printf(&b, "{\"error\":{\"code\":\"%s\",\"message\":", code);
        if (!rc)
            rc = fd_buf_json_str(&b, err->msg, strlen(err->msg));
        if (!rc && err->field[0]) {
            rc = fd_buf_printf(&b, ",\"field\":");
            if (!rc)
                rc = fd_buf_json_str(&b, err->field, strlen(err->field));
        }
        if (!rc)
            rc = fd_buf_printf(&b, "}}\n");
        fputs(rc ? "{\"error\":{\"code\":\"internal\",\"message\":\"\"}}\n" : b.p, stderr);
        fd_buf_free(&b);
    } else {
        fprintf(stderr, "frontdesk: %s\n", err->msg[0] ? err->msg : code);
    }
    return 1;
}

/* A command that reads the knowledge base, run on a data folder that holds
 * none, is almost always a mistyped --data: said so, rather than an empty
 * store created there and "0 documents" answered (issue 14). ingest and
 * restore make a knowledge base; with store.url the store is elsewhere. */
static int kb_missing(const cli_ctx *c, fd_err *err)
{
    const char *cmd = c->argc > 0 ? c->argv[0] : "";
    if (c->cfg.store_url[0] || strcmp(cmd, "ingest") == 0 || strcmp(cmd, "restore") == 0)
        return 0;
    char path[600];
    fd_config_store_path(&c->cfg, path, sizeof path);
    struct stat st;
    if (stat(path, &st) == 0)
        return 0;
    fd_err_set(err, FD_ENOTFOUND,
               "no knowledge base in %s (%s does not exist): load documents with 'frontdesk "
               "ingest PATH' first, or check --data / FRONTDESK_DATA_DIR",
               c->cfg.data_dir, path);
    return 1;
}

int cli_open_kb(cli_ctx *c, fd_kb **kb)
{
    fd_err err = {0};
    if (kb_missing(c, &err) || fd_kb_open(&c->cfg, c->log, kb, &err) != FD_OK)
        return cli_fail(c, &err);
    return 0;
}

static int cmd_config(cli_ctx *c)
{
    if (c->argc > 1 && strcmp(c->argv[1], "sample") == 0)
        fd_config_write_sample(stdout);
    else
        fd_config_dump(&c->cfg, stdout);
    return 0;
}

static int cmd_version(cli_ctx *c)
{
    (void)c;
#ifdef FD_TESTING
    /* Tests look for this to know the fault points are compiled in. */
    printf("frontdesk %s (testing build)\n", FD_VERSION);
#else
    printf("frontdesk %s\n", FD_VERSION);
#endif
    return 0;
}

static int cmd_help(cli_ctx *c)
{
    if (c->argc > 1) {
        cli_usage(c->argv[1]);
        return 0;
    }
    print_help(stdout);
    return 0;
}

/* Global options come before the command; "--set k=v" may repeat. */
static int parse_globals(int argc, char **argv, cli_ctx *c, int *first)
{
    const char *config_path = NULL, *data = NULL, *level = NULL;
    const char *sets[64];
    int n_sets = 0, i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            print_help(stdout);
            exit(0);
        } else if (!strcmp(a, "--version")) {
            printf("frontdesk %s\n", FD_VERSION);
            exit(0);
        } else if (!v) {
            fprintf(stderr, "frontdesk: %s needs a value\n", a);
            return EXIT_USAGE;
        } else if (!strcmp(a, "--data")) {
            data = v;
        } else if (!strcmp(a, "--config")) {
            config_path = v;
        } else if (!strcmp(a, "--log-level")) {
            level = v;
        } else if (!strcmp(a, "--set") && n_sets < 64) {
            sets[n_sets++] = v;
        } else {
            fprintf(stderr, "frontdesk: unknown option %s\n", a);
            print_help(stderr);
            return EXIT_USAGE;
        }
        i++;
    }
    *first = i;
    fd_err err = {0};
    int rc = fd_config_load(&c->cfg, config_path, &err);
    if (!rc && data)
        rc = fd_config_set(&c->cfg, "data_dir", data, &err);
    if (!rc && level)
        rc = fd_config_set(&c->cfg, "log.level", level, &err);
    for (int s = 0; s < n_sets && !rc; s++) {
        char key[128];
        const char *eq = strchr(sets[s], '=');
        if (!eq || (size_t)(eq - sets[s]) >= sizeof key) {
            rc = fd_err_set(&err, FD_EINVAL, "--set wants KEY=VALUE, not '%s'", sets[s]);
            break;
        }
        memcpy(key, sets[s], (size_t)(eq - sets[s]));
        key[eq - sets[s]] = '\0';
        rc = fd_config_set(&c->cfg, key, eq + 1, &err);
    }
    if (rc) {
        fprintf(stderr, "frontdesk: %s\n", err.msg);
        return EXIT_USAGE;
    }
    return 0;
}

/* "--help" or "-h" among a command's arguments, before any "--". */
static int wants_help(const cli_ctx *c)
{
    for (int i = 1; i < c->argc; i++) {
        if (!strcmp(c->argv[i], "--"))
            return 0;
        if (!strcmp(c->argv[i], "--help") || !strcmp(c->argv[i], "-h"))
            return 1;
    }
    return 0;
}

int fd_cli_main(int argc, char **argv)
{
    fd_store_library_init(); /* before any thread or any other SQLite use */
    cli_ctx c;
    memset(&c, 0, sizeof c);
    int first = 1;
    int rc = parse_globals(argc, argv, &c, &first);
    if (rc)
        return rc;
    if (first >= argc) {
        print_help(stderr);
        return EXIT_USAGE;
    }
    fd_log_level level = FD_LOG_INFO;
    if (fd_log_level_parse(c.cfg.log_level, &level) != FD_OK)
        level = FD_LOG_INFO;
    c.log = fd_log_new(level, strcmp(c.cfg.log_format, "json") == 0, stderr);
    if (!c.log) {
        fprintf(stderr, "frontdesk: out of memory\n");
        return 1;
    }
    c.argc = argc - first;
    c.argv = argv + first;
    const cli_cmd *cmd = NULL;
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(commands[i].name, c.argv[0]) == 0)
            cmd = &commands[i];
    if (!cmd) {
        fprintf(stderr, "frontdesk: unknown command '%s'\n", c.argv[0]);
        print_help(stderr);
        rc = EXIT_USAGE;
    } else if (wants_help(&c)) {
        /* asked for: the usage on stdout, exit 0, and nothing run (before,
         * `reindex --help` reindexed and `keys --help` was "unknown") */
        printf("usage: frontdesk %s\n  %s\n", cmd->usage, cmd->help);
        rc = 0;
    } else {
        cli_reset_getopt();
        rc = cmd->run(&c);
    }
    fd_log_free(c.log);
    return rc;
}
