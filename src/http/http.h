/* http/http.h: `frontdesk serve`: the HTTP API over libmicrohttpd.
 *
 * A thread pool (server.threads, default one per core) answers requests
 * in the handler: templates, extractive answers, search, sessions and the
 * operator endpoints need no other thread. Each worker borrows a knowledge
 * base handle (its own store connection) from a pool for the request.
 *
 * Signals are the caller's: fd_server_stop drains (stops accepting, lets
 * requests in flight finish up to drain_ms), fd_server_reload re-reads the
 * index snapshot and the assistant's files without dropping connections.
 * Document uploads and deletes (/v1/documents) run one at a time and
 * reload when done; fd_server_reload waits for one in progress.
 *
 * Errors: FD_EIO (cannot bind), FD_EINVAL (bad address), FD_ENOMEM. */
#ifndef FD_HTTP_H
#define FD_HTTP_H

#include "core.h"

typedef struct fd_server fd_server;

/* Opens the knowledge base pool, the assistant and the metrics, and starts
 * listening on cfg->server_bind:server_port (port 0: any free port). cfg
 * must outlive the server. */
int fd_server_start(const fd_config *cfg, fd_log *log, fd_server **out, fd_err *err) FD_MUST_USE;

/* The port actually bound. */
int fd_server_port(const fd_server *s);

/* Reloads the index snapshot and the assistant's files; requests keep
 * flowing (new ones use the new state once it is loaded). */
int fd_server_reload(fd_server *s, fd_err *err) FD_MUST_USE;

/* Stops accepting, waits up to drain_ms for requests in flight, then shuts
 * down. Returns the number of requests still running at the deadline. */
int fd_server_stop(fd_server *s, int drain_ms);

void fd_server_free(fd_server *s); /* after fd_server_stop; NULL is fine */

#endif
