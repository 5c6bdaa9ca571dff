/* cli_int.h: shared by the cli's command files. */
#ifndef FD_CLI_INT_H
#define FD_CLI_INT_H

#include "cli.h"
#include "core.h"
#include "kb.h"

#define EXIT_USAGE 2

/* Options every subcommand understands, parsed before the subcommand. */
typedef struct cli_ctx {
    fd_config cfg;
    fd_log *log;
    int json;
    int argc; /* the subcommand's own arguments (argv[0] is its name) */
    char **argv;
} cli_ctx;

typedef struct cli_cmd {
    const char *name;
    int (*run)(cli_ctx *c);
    const char *usage;
    const char *help;
} cli_cmd;

/* Every command, in help order (cli.c): the completion script is made from
 * this table, so it never lags behind the commands. */
const cli_cmd *cli_commands(size_t *n);
int cli_cmd_completion(cli_ctx *c);

/* Prints "frontdesk: <msg>" (or a JSON error with --json) to stderr; returns 1. */
/* s as a JSON string on stdout; nonzero (nothing printed) when out of memory. */
int cli_print_json_str(const char *s);
int cli_fail(cli_ctx *c, const fd_err *err);
/* The same with the error code given: where the HTTP API names an error
 * its own way (message_too_long), the CLI says it the same way. */
int cli_fail_code(cli_ctx *c, const char *code, const fd_err *err);
int cli_usage(const char *name);
int cli_open_kb(cli_ctx *c, fd_kb **kb);
/* The store alone (data_dir/frontdesk.db), migrated; prints the error. */
struct fd_store;
int cli_open_store(cli_ctx *c, struct fd_store **st);
/* getopt_long wrapper state reset between parses. */
void cli_reset_getopt(void);

int cli_cmd_ingest(cli_ctx *c);
int cli_cmd_report(cli_ctx *c);
int cli_cmd_rm(cli_ctx *c);
int cli_cmd_docs(cli_ctx *c);
int cli_cmd_reindex(cli_ctx *c);
int cli_cmd_backup(cli_ctx *c);
int cli_cmd_export(cli_ctx *c);
int cli_cmd_erase(cli_ctx *c);
int cli_cmd_audit(cli_ctx *c);
int cli_cmd_orders(cli_ctx *c);
int cli_cmd_outbox(cli_ctx *c);
int cli_cmd_accounting(cli_ctx *c);
int cli_cmd_retention(cli_ctx *c);
int cli_cmd_restore(cli_ctx *c);
int cli_cmd_stats(cli_ctx *c);
int cli_cmd_migrate(cli_ctx *c);
int cli_cmd_copy_store(cli_ctx *c);
int cli_cmd_search(cli_ctx *c);
int cli_cmd_eval(cli_ctx *c);
int cli_eval_intent(cli_ctx *c);
int cli_eval_answers(cli_ctx *c);
int cli_eval_generate(cli_ctx *c);
/* A fresh directory under $TMPDIR (or /tmp) for a throwaway store, and its removal. */
int cli_tmpdir(char *out, size_t n, fd_err *err) FD_MUST_USE;
void cli_rmtree(const char *dir);
int cli_eval_guard(cli_ctx *c);
int cli_cmd_ask(cli_ctx *c);
int cli_cmd_chat(cli_ctx *c);
int cli_cmd_serve(cli_ctx *c);
int cli_cmd_keys(cli_ctx *c);
int cli_cmd_agents(cli_ctx *c);

#endif
