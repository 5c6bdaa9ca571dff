/* events.c: live Server-Sent Events streams, and the customer's one: GET
 * /v1/sessions/{id}/events, an SSE stream of the operator's messages
 * (`message`), the session's state changes (`state`: bot, waiting, human)
 * and the agent typing (`typing`).
 *
 * The store is the source of truth, so an operator replying through another
 * replica reaches the customer too: each stream re-reads what it shows when
 * the ticker wakes it (every second, or at once when this process stored an
 * operator message or, with a PostgreSQL store, another replica announced
 * one: a NOTIFY heard by the listener server.c starts) and parks again. The
 * machinery (subscribers, ticker, suspend and resume, heartbeats) serves
 * any stream through http_stream_open: the operators' queue (queue.c) is
 * the other one. Session events carry `id: <seq>`, so a browser
 * EventSource that reconnects sends Last-Event-ID and misses nothing;
 * `typing` carries no id (it is not a turn to resume after). */
#include "http_int.h"

#include "store.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HEARTBEAT_NS (15ull * 1000000000ull)

struct event_sub {
    pthread_mutex_t mu;
    request *r;
    char sid[72]; /* the conversation it follows; "" for all of them */
    const http_stream_ops *ops;
    void *state; /* the ops' own, touched only by the reader (one at a time) */
    /* under mu */
    int due;       /* re-read the store at the next read */
    int suspended; /* parked by the reader */
    int closing;   /* the server is draining, or the stream said it ends */
    fd_buf out;
    size_t off;
    uint64_t last_write;
    /* s->subs, under s->subs_mu */
    struct event_sub *prev, *next;
};

/* ---- the customer's stream: one session ------------------------------------------- */

typedef struct session_stream {
    char sid[72];
    int64_t last_seq;
    char state[16];
    unsigned typing_gen; /* the agent's typing last told */
} session_stream;

typedef struct poll_ctx {
    session_stream *ss;
    fd_buf *out;
    int rc;
} poll_ctx;

static int on_turn(void *ctx, const fd_turn_row *t)
{
    poll_ctx *p = ctx;
    if (t->seq > p->ss->last_seq)
        p->ss->last_seq = t->seq;
    if (strcmp(t->role, "operator") != 0)
        return 0;
    int rc = fd_buf_printf(
        p->out,
        "id: %lld\nevent: message\ndata: {\"role\":\"operator\",\"text\":", (long long)t->seq);
    rc = rc ? rc : fd_buf_json_str(p->out, t->text, strlen(t->text));
    /* The agent's display name, when a signed-in agent wrote it. */
    json_t *meta = t->meta[0] ? json_loads(t->meta, 0, NULL) : NULL;
    const char *agent = json_string_value(json_object_get(meta, "agent"));
    if (!rc && agent) {
        rc = fd_buf_printf(p->out, ",\"agent\":");
        rc = rc ? rc : fd_buf_json_str(p->out, agent, strlen(agent));
    }
    json_decref(meta);
    rc = rc ? rc : fd_buf_printf(p->out, ",\"seq\":%lld}\n\n", (long long)t->seq);
    p->rc = rc;
    return rc ? 1 : 0;
}

/* The agent's typing for sid: its generation, and whether it still runs. */
static unsigned typing_now(fd_server *s, const char *sid, int *live)
{
    unsigned gen = 0;
    *live = 0;
    uint64_t now = fd_time_ns();
    pthread_mutex_lock(&s->typing_mu);
    for (size_t i = 0; i < HTTP_TYPING_SLOTS; i++)
        if (s->typing[i].sid[0] && strcmp(s->typing[i].sid, sid) == 0) {
            gen = s->typing[i].gen;
            *live = s->typing[i].until_ns > now;
            break;
        }
    pthread_mutex_unlock(&s->typing_mu);
    return gen;
}

/* New operator turns, a state change and the agent's typing since the
 * last read, as events. */
static int session_poll(request *r, void *state, fd_buf *ev)
{
    session_stream *ss = state;
    fd_server *s = r->srv;
    fd_arena *a = fd_arena_new(1 << 20);
    fd_kb *kb = http_kb_get(s);
    fd_store *st = fd_kb_store(kb);
    fd_session_row row;
    fd_err err = {0};
    poll_ctx p = {ss, ev, 0};
    int rc = a ? fd_store_session_get(st, ss->sid, a, &row, &err)
               : fd_err_set(&err, FD_ENOMEM, "out of memory");
    if (!rc)
        rc = fd_store_turns_each(st, ss->sid, ss->last_seq, on_turn, &p, &err);
    http_kb_put(s, kb);
    int end = 0;
    if (rc == FD_OK && strcmp(row.state, ss->state) != 0) {
        snprintf(ss->state, sizeof ss->state, "%s", row.state);
        if (fd_buf_printf(ev, "event: state\ndata: {\"state\":\"%s\"}\n\n", ss->state))
            p.rc = FD_ENOMEM;
    }
    if (rc == FD_OK) {
        /* After the turns: a reply stored since the typing began ends it
         * (http_events_typing(.., 0)), so it is not announced again. */
        int live;
        unsigned gen = typing_now(s, ss->sid, &live);
        if (gen != ss->typing_gen) {
            ss->typing_gen = gen;
            if (live &&
                fd_buf_printf(ev, "event: typing\ndata: {\"typing\":true,\"ttl_ms\":%d}\n\n",
                              HTTP_TYPING_TTL_MS))
                p.rc = FD_ENOMEM;
        }
    }
    if (rc == FD_ENOTFOUND) {
        /* Deleted meanwhile: say so and end the stream. */
        if (fd_buf_printf(ev, "event: state\ndata: {\"state\":\"deleted\"}\n\n") == FD_OK)
            end = 1;
    } else if (rc == 1) {
        rc = fd_err_set(&err, FD_ENOMEM, "out of memory rendering events");
    }
    if (rc && rc != FD_ENOTFOUND) {
        fd_metric_add(s->m.errors, 1, "session_events_store");
        FD_LOG(s->log, FD_LOG_WARN, "http", "session events: %s (id=%s)", err.msg, r->id);
    }
    fd_arena_free(a);
    return end;
}

static void session_free(void *state)
{
    fd_free(state);
}

static const http_stream_ops session_ops = {session_poll, session_free};

/* ---- any stream ------------------------------------------------------------------------ */

/* Runs the stream's poll outside its lock (it reads the store) and queues
 * what it said. */
static void poll_stream(event_sub *b)
{
    fd_server *s = b->r->srv;
    fd_buf ev;
    fd_buf_init(&ev, 1 << 20);
    int end = b->ops->poll(b->r, b->state, &ev);
    pthread_mutex_lock(&b->mu);
    if (end)
        b->closing = 1;
    if (ev.len && fd_buf_append(&b->out, ev.p, ev.len)) {
        fd_metric_add(s->m.errors, 1, "stream_buffer_full");
        FD_LOG(s->log, FD_LOG_ERROR, "http", "event stream: buffer full (id=%s)", b->r->id);
    }
    pthread_mutex_unlock(&b->mu);
    fd_buf_free(&ev);
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
            poll_stream(b);
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

/* Wakes the streams of session sid (every stream for NULL) to re-read;
 * streams of every conversation (the queue) wake for any. */
static void wake_streams(fd_server *s, const char *sid, int closing)
{
    pthread_mutex_lock(&s->subs_mu);
    for (event_sub *b = s->subs; b; b = b->next) {
        if (sid && b->sid[0] && strcmp(b->sid, sid) != 0)
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
    b->ops->free(b->state);
    fd_buf_free(&b->out);
    pthread_mutex_destroy(&b->mu);
    fd_free(b);
    r->sub = NULL;
}

enum MHD_Result http_stream_open(request *r, const char *sid, const http_stream_ops *ops,
                                 void *state)
{
    fd_server *s = r->srv;
    event_sub *b = fd_calloc(1, sizeof *b);
    if (!b) {
        ops->free(state);
        return http_send_error(r, 500, "internal", "out of memory", NULL);
    }
    pthread_mutex_init(&b->mu, NULL);
    b->r = r;
    snprintf(b->sid, sizeof b->sid, "%s", sid);
    b->ops = ops;
    b->state = state;
    /* The first read tells what is so now. */
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

enum MHD_Result http_session_events(request *r, const char *sid)
{
    enum MHD_Result res;
    if (!http_auth_either(r, FD_SCOPE_CHAT, FD_SCOPE_OPERATOR, &res))
        return res;
    if (strlen(sid) >= sizeof((session_stream *)0)->sid)
        return http_send_error(r, 404, "not_found", "no such session", NULL);
    /* Where to start: after Last-Event-ID (a reconnect), ?after=, or now. */
    const char *from = MHD_lookup_connection_value(r->con, MHD_HEADER_KIND, "Last-Event-ID");
    if (!from)
        from = MHD_lookup_connection_value(r->con, MHD_GET_ARGUMENT_KIND, "after");
    int64_t after;
    http_perr pe;
    if (http_parse_session_after(from, &after, &pe))
        return http_send_perr(r, &pe);
    fd_session_row row;
    if (!http_session_access(r, sid, 1, &row, &res))
        return res;
    session_stream *ss = fd_calloc(1, sizeof *ss);
    if (!ss)
        return http_send_error(r, 500, "internal", "out of memory", NULL);
    snprintf(ss->sid, sizeof ss->sid, "%s", sid);
    ss->last_seq = after >= 0 ? after : row.n_turns;
    /* A typing that began before the stream opened is not news to tell. */
    int live;
    ss->typing_gen = typing_now(r->srv, sid, &live);
    if (live)
        ss->typing_gen--; /* ...unless it still runs: the page was reloaded mid-typing */
    return http_stream_open(r, sid, &session_ops, ss);
}

/* ---- the agent's typing ---------------------------------------------------------------- */

/* Records it here: the slot of sid, else a free or expired one, else the
 * one that ends first (a full table forgets the stalest indicator, never
 * a reply). */
static void typing_set(fd_server *s, const char *sid, int on)
{
    uint64_t now = fd_time_ns();
    pthread_mutex_lock(&s->typing_mu);
    size_t pick = HTTP_TYPING_SLOTS;
    for (size_t i = 0; i < HTTP_TYPING_SLOTS && pick == HTTP_TYPING_SLOTS; i++)
        if (strcmp(s->typing[i].sid, sid) == 0)
            pick = i;
    if (pick == HTTP_TYPING_SLOTS && on) {
        pick = 0;
        for (size_t i = 0; i < HTTP_TYPING_SLOTS; i++) {
            if (!s->typing[i].sid[0] || s->typing[i].until_ns <= now) {
                pick = i;
                break;
            }
            if (s->typing[i].until_ns < s->typing[pick].until_ns)
                pick = i;
        }
        snprintf(s->typing[pick].sid, sizeof s->typing[pick].sid, "%s", sid);
    }
    if (pick < HTTP_TYPING_SLOTS) {
        s->typing[pick].gen++;
        s->typing[pick].until_ns = on ? now + (uint64_t)HTTP_TYPING_TTL_MS * 1000000ull : 0;
    }
    pthread_mutex_unlock(&s->typing_mu);
}

void http_events_typing(fd_server *s, const char *sid, int on)
{
    if (!sid || !sid[0] || strlen(sid) >= sizeof s->typing[0].sid)
        return;
    typing_set(s, sid, on);
    if (on)
        wake_streams(s, sid, 0);
    if (!on || !s->cfg->store_url[0])
        return;
    /* The customer's stream may be on another replica; a lost notice
     * costs only the indicator, never a message. */
    fd_kb *kb = http_kb_get(s);
    fd_err err = {0};
    if (fd_store_notify(fd_kb_store(kb), FD_NOTE_TYPING, sid, &err) != FD_OK) {
        fd_metric_add(s->m.errors, 1, "notify");
        FD_LOG(s->log, FD_LOG_DEBUG, "http", "NOTIFY: %s", err.msg);
    }
    http_kb_put(s, kb);
}

void http_events_typing_heard(fd_server *s, const char *sid)
{
    if (!sid || !sid[0] || strlen(sid) >= sizeof s->typing[0].sid)
        return;
    typing_set(s, sid, 1);
    wake_streams(s, sid, 0);
}
