/* cli_migrate.c: frontdesk migrate [--dry-run] [--json]
 * Every open migrates the store forward by itself; this command is for the
 * operator who wants to see and run that step on its own, before starting
 * a new version (a deploy's pre-start hook, a maintenance window). Two
 * processes migrating at once are safe: each migration re-reads the
 * version inside its write transaction (store/migrate.c). */
#include "cli_int.h"

#include "store.h"

#include <getopt.h>
#include <string.h>

static void print_pending(cli_ctx *c, int have, int latest)
{
    if (c->json) {
        printf("\"pending\":[");
        for (int n = have + 1; n <= latest; n++) {
            printf("%s{\"version\":%d,\"adds\":", n > have + 1 ? "," : "", n);
            if (cli_print_json_str(fd_store_migration_note(n)))
                fputs("\"\"", stdout);
            putchar('}');
        }
        printf("]");
        return;
    }
    for (int n = have + 1; n <= latest; n++)
        printf("  %d  %s\n", n, fd_store_migration_note(n));
}

int cli_cmd_migrate(cli_ctx *c)
{
    static const struct option opts[] = {
        {"dry-run", no_argument, NULL, 'n'}, {"json", no_argument, NULL, 'j'}, {0, 0, 0, 0}};
    int dry = 0, o;
    cli_reset_getopt();
    while ((o = getopt_long(c->argc, c->argv, "", opts, NULL)) != -1) {
        if (o == 'n')
            dry = 1;
        else if (o == 'j')
            c->json = 1;
        else
            return cli_usage("migrate");
    }
    if (optind != c->argc)
        return cli_usage("migrate");
    char path[600], shown[600];
    fd_config_store_path(&c->cfg, path, sizeof path);
    fd_config_store_shown(&c->cfg, shown, sizeof shown);
    fd_err err = {0};
    int have = 0, latest = fd_store_schema_latest();
    if (fd_store_schema_check(path, &have, &err) != FD_OK)
        return cli_fail(c, &err);
    if (have > latest) {
        fd_err_set(&err, FD_EFORMAT,
                   "%s has schema version %d, newer than this frontdesk %s knows (%d): "
                   "upgrade frontdesk, or use another data_dir",
                   shown, have, FD_VERSION, latest);
        return cli_fail(c, &err);
    }
    int now = have, applied = 0;
    if (!dry && have < latest) {
        fd_store *st = NULL;
        if (cli_open_store(c, &st))
            return 1;
        now = fd_store_schema_version(st);
        applied = fd_store_migrations_applied(st);
        fd_store_close(st);
    }
    if (c->json) {
        fputs("{\"store\":", stdout);
        if (cli_print_json_str(shown))
            fputs("\"\"", stdout);
        printf(",\"version\":%d,\"latest\":%d,\"dry_run\":%s,", have, latest,
               dry ? "true" : "false");
        print_pending(c, have, latest);
        printf(",\"applied\":%d,\"now\":%d}\n", applied, now);
        return 0;
    }
    printf("store %s: schema version %d; this frontdesk %s applies up to %d\n", shown, have,
           FD_VERSION, latest);
    if (have == latest) {
        printf("up to date: nothing to do\n");
        return 0;
    }
    printf("%s:\n", dry ? "would apply" : "pending");
    print_pending(c, have, latest);
    if (dry)
        printf("dry run: nothing changed\n");
    else
        printf("applied %d (another process applied %d); now at version %d\n", applied,
               now - have - applied, now);
    return 0;
}
