/* events.c: GET /v1/sessions/{id}/events, the customer's live line to a
 * person: an SSE stream of the operator's messages (`message`) and the
 * session's state changes (`state`: bot, waiting, human).
 *
 * The store is the source of truth, so an operator replying through another
 * replica reaches the customer too: each stream re-reads its session when
 * the ticker wakes it (every second, or at once when this process stored an
 * operator message or, with a PostgreSQL store, another replica announced
 * one: a NOTIFY heard by the listener server.c starts) and parks again. Events carry `id: <seq>`,
 * so a browser EventSource that reconnects sends Last-Event-ID and misses nothing. */
#include "http_int.h"

#include "store.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HEARTBEAT_NS (15ull * 1000000000ull)

struct event_sub {
    pthread_mutex_t mu;
    request *r;
    char sid[72];
    /* under mu */
    int64_t last_seq;
    char state[16];
    int due;       /* re-read the store at the next read */
    int suspended; /* parked by the reader */
    int closing;   /* the server is draining */
    fd_buf out;
    size_t off;
    uint64_t last_write;
    /* s->subs, under s->subs_mu */
    struct event_sub *prev, *next;
};

typedef struct poll_ctx {
    event_sub *b;
    fd_buf *out;
    int rc;
} poll_ctx;

static int on_turn(void *ctx, const fd_turn_row *t)
{
    poll_ctx *p = ctx;
    if (t->seq > p->b->last_seq)
        p->b->last_seq = t->seq;
    if (strcmp(t->role, "operator") != 0)
        return 0;
    int rc = fd_buf_printf(
        p->out,
        "id: %lld\nevent: message\ndata: {\"role\":\"operator\",\"text\":", (long long)t->seq);
    rc = rc ? rc : fd_buf_json_str(p->out, t->text, strlen(t->text));
    rc = rc ? rc : fd_buf_printf(p->out, ",\"seq\":%lld}\n\n", (long long)t->seq);
    p->rc = rc;
    return rc ? 1 : 0;
}

/* New operator turns and a state change since the last read, as events. */
static void poll_store(event_sub *b)
{
    fd_server *s = b->r->srv;
    fd_buf ev;
    fd_buf_init(&ev, 1 << 20);
    fd_arena *a = fd_arena_new(1 << 20);
    fd_kb *kb = http_kb_get(s);
    fd_store *st = fd_kb_store(kb);
    fd_session_row row;
    fd_err err = {0};
    poll_ctx p = {b, &ev, 0};
    int rc = a ? fd_store_session_get(st, b->sid, a, &row, &err)
               : fd_err_set(&err, FD_ENOMEM, "out of memory");
    if (!rc)
        rc = fd_store_turns_each(st, b->sid, b->last_seq, on_turn, &p, &err);
    http_kb_put(s, kb);
    pthread_mutex_lock(&b->mu);
    if (rc == FD_OK && strcmp(row.state, b->state) != 0) {
        snprintf(b->state, sizeof b->state, "%s", row.state);
        if (fd_buf_printf(&ev, "event: state\ndata: {\"state\":\"%s\"}\n\n", b->state))
            p.rc = FD_ENOMEM;
    }
    if (rc == FD_ENOTFOUND) {
        /* Deleted meanwhile: say so and end the stream. */
        if (fd_buf_printf(&ev, "event: state\ndata: {\"state\":\"deleted\"}\n\n") == FD_OK)
            b->closing = 1;
    } else if (rc == 1) {
        rc = fd_err_set(&err, FD_ENOMEM, "out of memory rendering events");
    }
    if (rc && rc != FD_ENOTFOUND) {
        fd_metric_add(s->m.errors, 1, "session_events_store");
        FD_LOG(s->log, FD_LOG_WARN, "http", "session events: %s (id=%s)", err.msg, b->r->id);
    }
    if (ev.len && fd_buf_append(&b->out, ev.p, ev.len)) {
        fd_metric_add(s->m.errors, 1, "stream_buffer_full");
        FD_LOG(s->log, FD_LOG_ERROR, "http", "session events: buffer full (id=%s)", b->r->id);
    }
    pthread_mutex_unlock(&b->mu);
    fd_buf_free(&ev);
    fd_arena_free(a);
}

static ssize_t events_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    event_sub *b = cls;
    for (;;) {
        pthread_mutex_lock(&b->mu);
        if (b->off < b->out.len) {
            size_t n = b->out.len - b->off;
            if (n > max)
                n = max;
            memcpy(buf, b->out.p + b->off, n);
            b->off += n;
            if (b->off == b->out.len)
                b->off = b->out.len = 0;
            b->last_write = fd_time_ns();
            pthread_mutex_unlock(&b->mu);
            return (ssize_t)n;
        }
        if (b->closing) {
            pthread_mutex_unlock(&b->mu);
            return MHD_CONTENT_READER_END_OF_STREAM;
        }
        if (b->due) {
            b->due = 0;
            pthread_mutex_unlock(&b->mu);
            poll_store(b);
            pthread_mutex_lock(&b->mu);
            /* A comment now and then keeps proxies from closing an idle
             * stream and tells us when the client has gone. */
            if (b->out.len == b->off && fd_time_ns() - b->last_write > HEARTBEAT_NS &&
                fd_buf_printf(&b->out, ":\n\n"))
                b->out.len = b->off;
            pthread_mutex_unlock(&b->mu);
            continue;
        }
        MHD_suspend_connection(b->r->con);
        b->suspended = 1;
        pthread_mutex_unlock(&b->mu);
        return 0;
    }
}

/* ---- subscribers and the ticker ------------------------------------------------ */

/* Wakes the streams of session sid (every stream for NULL) to re-read. */
static void wake_streams(fd_server *s, const char *sid, int closing)
{
    pthread_mutex_lock(&s->subs_mu);
    for (event_sub *b = s->subs; b; b = b->next) {
        if (sid && strcmp(b->sid, sid) != 0)
            continue; /* b->sid is set before b is listed, never changed */
        pthread_mutex_lock(&b->mu);
        b->due = 1;
        if (closing)
            b->closing = 1;
        if (b->suspended) {
            b->suspended = 0;
            MHD_resume_connection(b->r->con);
        }
        pthread_mutex_unlock(&b->mu);
    }
    pthread_mutex_unlock(&s->subs_mu);
}

static void *ticker_main(void *arg)
{
    fd_server *s = arg;
    pthread_mutex_lock(&s->tick_mu);
    while (!s->tick_stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        if (!s->tick_poked)
            pthread_cond_timedwait(&s->tick_cv, &s->tick_mu, &ts);
        s->tick_poked = 0;
        if (s->tick_stop)
            break;
        pthread_mutex_unlock(&s->tick_mu);
        wake_streams(s, NULL, 0);
        pthread_mutex_lock(&s->tick_mu);
    }
    pthread_mutex_unlock(&s->tick_mu);
    return NULL;
}

int http_events_start(fd_server *s, fd_err *err)
{
    if (pthread_create(&s->ticker, NULL, ticker_main, s) != 0)
        return fd_err_set(err, FD_ENOMEM, "cannot start the session events thread");
    s->ticker_running = 1;
    return FD_OK;
}

void http_events_wake(fd_server *s, const char *sid)
{
    if (sid && *sid) {
        wake_streams(s, sid, 0); /* only that conversation's streams re-read */
        return;
    }
    pthread_mutex_lock(&s->tick_mu);
    s->tick_poked = 1;
    pthread_cond_signal(&s->tick_cv);
    pthread_mutex_unlock(&s->tick_mu);
}

void http_events_poke(fd_server *s, const char *sid)
{
    http_events_wake(s, sid);
    if (!s->cfg->store_url[0])
        return;
    /* The customer's stream may be on another replica. A failed notice
     * costs that stream its next poll (a second), not the reply. */
    fd_kb *kb = http_kb_get(s);
    fd_err err = {0};
    if (fd_store_notify(fd_kb_store(kb), FD_NOTE_EVENTS, sid, &err) != FD_OK) {
        fd_metric_add(s->m.errors, 1, "notify");
        FD_LOG(s->log, FD_LOG_DEBUG, "http", "NOTIFY: %s", err.msg);
    }
    http_kb_put(s, kb);
}

void http_events_close(fd_server *s)
{
    wake_streams(s, NULL, 1);
}

void http_events_stop(fd_server *s)
{
    if (!s->ticker_running)
        return;
    pthread_mutex_lock(&s->tick_mu);
    s->tick_stop = 1;
    pthread_cond_signal(&s->tick_cv);
    pthread_mutex_unlock(&s->tick_mu);
    pthread_join(s->ticker, NULL);
    s->ticker_running = 0;
}

void http_events_gone(request *r)
{
    event_sub *b = r->sub;
    if (!b)
        return;
    fd_server *s = r->srv;
    pthread_mutex_lock(&s->subs_mu);
    if (b->prev)
        b->prev->next = b->next;
    else
        s->subs = b->next;
    if (b->next)
        b->next->prev = b->prev;
    pthread_mutex_unlock(&s->subs_mu);
    fd_buf_free(&b->out);
    pthread_mutex_destroy(&b->mu);
    fd_free(b);
    r->sub = NULL;
}

enum MHD_Result http_session_events(request *r, const char *sid)
{
    fd_server *s = r->srv;
    enum MHD_Result res;
    if (!http_auth_either(r, FD_SCOPE_CHAT, FD_SCOPE_OPERATOR, &res))
        return res;
    if (strlen(sid) >= sizeof r->sub->sid)
        return http_send_error(r, 404, "not_found", "no such session", NULL);
    /* Where to start: after Last-Event-ID (a reconnect), ?after=, or now. */
    const char *from = MHD_lookup_connection_value(r->con, MHD_HEADER_KIND, "Last-Event-ID");
    if (!from)
        from = MHD_lookup_connection_value(r->con, MHD_GET_ARGUMENT_KIND, "after");
    int64_t after = -1;
    if (from) {
        char *end;
        long long v = strtoll(from, &end, 10);
        if (*end || v < 0)
            return http_send_error(r, 422, "invalid_field", "after must be a turn number >= 0",
                                   "after");
        after = v;
    }
    fd_session_row row;
    if (!http_session_access(r, sid, 1, &row, &res))
        return res;
    event_sub *b = fd_calloc(1, sizeof *b);
    if (!b)
        return http_send_error(r, 500, "internal", "out of memory", NULL);
    pthread_mutex_init(&b->mu, NULL);
    b->r = r;
    snprintf(b->sid, sizeof b->sid, "%s", sid);
    b->last_seq = after >= 0 ? after : row.n_turns;
    /* The first read sends the state as it is now. */
    b->due = 1;
    b->last_write = fd_time_ns();
    fd_buf_init(&b->out, 1 << 20);
    r->sub = b;
    pthread_mutex_lock(&s->subs_mu);
    b->next = s->subs;
    if (s->subs)
        s->subs->prev = b;
    s->subs = b;
    pthread_mutex_unlock(&s->subs_mu);
    struct MHD_Response *resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, events_read, b, NULL);
    if (!resp)
        return MHD_NO;
    return http_queue_response(r, 200, "text/event-stream", resp);
}
