/* cli/cli.h: the frontdesk command line: subcommands for people at a
 * terminal that mirror the service (ingest, rm, docs, search, eval ...). */
#ifndef FD_CLI_H
#define FD_CLI_H

/* Runs one command line; returns the process exit status (0 ok, 1 failure,
 * 2 usage error). */
int fd_cli_main(int argc, char **argv);

#endif
