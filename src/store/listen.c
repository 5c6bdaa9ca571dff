/* listen.c: change notices between replicas sharing a PostgreSQL store
 * (store.h, "change notices"). A notice is a NOTIFY on one of three channels;
 * a listener holds a connection of its own (a LISTENing session must not
 * serve statements: a notice arrives between them) and a thread that waits
 * on its socket and on a pipe that stops it. Losing the connection loses
 * the notices sent meanwhile, so every (re)connection is reported as both
 * kinds: the waiters re-read, as their periodic poll would have. */
#include "store_int.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#define CH_EVENTS "frontdesk_events"
#define CH_KB "frontdesk_kb"
#define CH_TYPING "frontdesk_typing"
/* Between connection attempts while the server is down: notices are only
 * a shortcut (pollers still run), so no need to try harder. */
#define RETRY_MS 1000

struct fd_store_listener {
    char *url;
    void (*cb)(void *ctx, fd_store_note what, const char *about);
    void *ctx;
    int stop_pipe[2];
    pthread_t thread;
    atomic_uint_fast64_t received;
    atomic_int up;                 /* its connection listens now */
    atomic_uint_fast64_t failures; /* failed connects and lost connections */
};

/* Longest payload sent: a session id is far shorter; PostgreSQL's cap is 8000. */
#define ABOUT_MAX 200

int fd_store_notify(fd_store *st, fd_store_note what, const char *about, fd_err *err)
{
    if (st->engine != STORE_PG)
        return FD_OK;
    /* NOTIFY takes a literal, not a parameter: a payload of plain id
     * characters only (a session id is hex), else none (every waiter wakes). */
    char sql[64 + ABOUT_MAX];
    size_t an = about ? strlen(about) : 0;
    int plain = an > 0 && an <= ABOUT_MAX;
    for (size_t i = 0; plain && i < an; i++)
        plain = isalnum((unsigned char)about[i]) || about[i] == '-' || about[i] == '_' ||
                about[i] == '.';
    const char *ch = what == FD_NOTE_KB ? CH_KB : what == FD_NOTE_TYPING ? CH_TYPING : CH_EVENTS;
    snprintf(sql, sizeof sql, "NOTIFY %s%s%.*s%s", ch, plain ? ", '" : "", plain ? (int)an : 0,
             plain ? about : "", plain ? "'" : "");
    int rc = store_exec(st, sql);
    return rc == SQLITE_OK ? FD_OK : store_fail(st, rc, err, "announcing a change (NOTIFY)");
}

/* Waits up to ms for fd to be readable or the stop pipe: 1 stop, 0 else. */
static int wait_for(fd_store_listener *l, int fd, int ms)
{
    struct pollfd p[2] = {{.fd = l->stop_pipe[0], .events = POLLIN}, {.fd = fd, .events = POLLIN}};
    int n = poll(p, fd >= 0 ? 2 : 1, ms);
    return n > 0 && (p[0].revents & POLLIN);
}

static void *listen_main(void *arg)
{
    fd_store_listener *l = arg;
    for (;;) {
        PGconn *c = store_pg_connect(l->url);
        PGresult *res = NULL;
        if (c && PQstatus(c) == CONNECTION_OK)
            res = PQexec(c, "LISTEN " CH_EVENTS "; LISTEN " CH_KB "; LISTEN " CH_TYPING);
        int ok = res && PQresultStatus(res) == PGRES_COMMAND_OK;
        PQclear(res);
        if (!ok) {
            atomic_fetch_add(&l->failures, 1);
            PQfinish(c);
            if (wait_for(l, -1, RETRY_MS))
                return NULL;
            continue;
        }
        atomic_store(&l->up, 1);
        /* Whatever was announced while this connection was not there. */
        l->cb(l->ctx, FD_NOTE_EVENTS, "");
        l->cb(l->ctx, FD_NOTE_KB, "");
        int sock = PQsocket(c);
        for (;;) {
            if (wait_for(l, sock, 5000)) {
                atomic_store(&l->up, 0);
                PQfinish(c);
                return NULL;
            }
            if (!PQconsumeInput(c) || PQstatus(c) != CONNECTION_OK) {
                atomic_store(&l->up, 0);
                atomic_fetch_add(&l->failures, 1);
                break; /* lost: reconnect */
            }
            PGnotify *n;
            while ((n = PQnotifies(c)) != NULL) {
                fd_store_note what = strcmp(n->relname, CH_KB) == 0       ? FD_NOTE_KB
                                     : strcmp(n->relname, CH_TYPING) == 0 ? FD_NOTE_TYPING
                                                                          : FD_NOTE_EVENTS;
                atomic_fetch_add(&l->received, 1);
                l->cb(l->ctx, what, n->extra ? n->extra : "");
                PQfreemem(n);
            }
        }
        PQfinish(c);
        if (wait_for(l, -1, RETRY_MS))
            return NULL;
    }
}

int fd_store_listener_start(const char *url,
                            void (*cb)(void *ctx, fd_store_note what, const char *about), void *ctx,
                            fd_store_listener **out, fd_err *err)
{
    *out = NULL;
    if (!url || !store_is_pg_url(url) || !cb)
        return fd_err_set(err, FD_EINVAL, "store: notices need a PostgreSQL store URL");
    fd_store_listener *l = fd_calloc(1, sizeof *l);
    if (!l || !(l->url = fd_strdup(url))) {
        fd_free(l);
        return fd_err_set(err, FD_ENOMEM, "store: out of memory");
    }
    l->cb = cb;
    l->ctx = ctx;
    if (pipe2(l->stop_pipe, O_CLOEXEC) != 0) {
        int e = errno;
        fd_free(l->url);
        fd_free(l);
        return fd_err_set(err, FD_EIO, "store: pipe: %s", strerror(e));
    }
    if (pthread_create(&l->thread, NULL, listen_main, l) != 0) {
        close(l->stop_pipe[0]);
        close(l->stop_pipe[1]);
        fd_free(l->url);
        fd_free(l);
        return fd_err_set(err, FD_ENOMEM, "store: cannot start the notice listener");
    }
    *out = l;
    return FD_OK;
}

void fd_store_listener_stop(fd_store_listener *l)
{
    if (!l)
        return;
    ssize_t w;
    do
        w = write(l->stop_pipe[1], "x", 1);
    while (w < 0 && errno == EINTR);
    pthread_join(l->thread, NULL);
    close(l->stop_pipe[0]);
    close(l->stop_pipe[1]);
    fd_free(l->url);
    fd_free(l);
}

uint64_t fd_store_listener_received(const fd_store_listener *l)
{
    return l ? (uint64_t)atomic_load(&l->received) : 0;
}

void fd_store_listener_health(const fd_store_listener *l, int *up, uint64_t *failures)
{
    *up = l ? atomic_load(&l->up) : 0;
    *failures = l ? (uint64_t)atomic_load(&l->failures) : 0;
}
