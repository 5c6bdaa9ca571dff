/* cli_serve.c: `frontdesk serve [--port N] [--bind ADDR]`: runs the HTTP
 * service until SIGTERM or SIGINT (drain, exit 0); SIGHUP reloads the
 * index and the assistant's files without dropping connections. */
#include "cli_int.h"

#include "http.h"

#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cli_cmd_serve(cli_ctx *c)
{
    static const struct option opts[] = {{"port", required_argument, NULL, 'p'},
                                         {"bind", required_argument, NULL, 'b'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int ch;
    fd_err err = {0};
    while ((ch = getopt_long(c->argc, c->argv, "p:b:h", opts, NULL)) != -1) {
        if (ch == 'p') {
            if (fd_config_set(&c->cfg, "server.port", optarg, &err) != FD_OK)
                return cli_fail(c, &err);
        } else if (ch == 'b') {
            if (fd_config_set(&c->cfg, "server.bind", optarg, &err) != FD_OK)
                return cli_fail(c, &err);
        } else {
            return cli_usage("serve");
        }
    }
    /* Signals are taken by this thread only: block them before any worker
     * thread exists, so every thread inherits the mask. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* Before the server's threads exist: each takes an arena at its first
     * allocation. */
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int arenas = fd_mem_limit_arenas(c->cfg.server_malloc_arenas > 0 ? c->cfg.server_malloc_arenas
                                     : cores > 0                     ? (int)cores
                                                                     : 1);
    /* 256 KB: the assistant's word lists, models and tables are larger and
     * are freed at every reload; a request's arena blocks are smaller. */
    int mmapped = fd_mem_fix_mmap_threshold((size_t)256 << 10);
    FD_LOG(c->log, FD_LOG_DEBUG, "serve",
           "heap arenas at most %d (0: the C library's default); blocks of 256 KB and more "
           "mmapped: %s",
           arenas, mmapped ? "yes" : "the C library's default");
    fd_server *srv = NULL;
    if (fd_server_start(&c->cfg, c->log, &srv, &err) != FD_OK)
        return cli_fail(c, &err);
    printf("frontdesk serving %s on http://%s:%d\n", c->cfg.data_dir, c->cfg.server_bind,
           fd_server_port(srv));
    fflush(stdout);
    for (;;) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            if (fd_server_reload(srv, &err) != FD_OK)
                FD_LOG(c->log, FD_LOG_ERROR, "serve", "reload failed: %s", err.msg);
            continue;
        }
        FD_LOG(c->log, FD_LOG_INFO, "serve", "%s: draining (up to %d ms)",
               sig == SIGTERM ? "SIGTERM" : "SIGINT", c->cfg.server_drain_ms);
        break;
    }
    int left = fd_server_stop(srv, c->cfg.server_drain_ms);
    fd_server_free(srv);
    return left ? 1 : 0;
}
