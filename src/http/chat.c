/* chat.c: a chat message through the assistant, without a thread ever
 * waiting on the LLM.
 *
 * The pipeline runs in the handler (fd_assistant_turn_begin). Templates,
 * extractive answers and refusals are complete there and answered at once.
 * When the turn needs the LLM, its request goes to the one client driven by
 * the event-loop thread below, and the connection is suspended:
 *
 *   POST /v1/chat         suspended until the call ends; on_done resumes it,
 *                         MHD calls the handler again, which finishes the
 *                         turn (validation, routing, store) and answers.
 *   POST /v1/chat/stream  the SSE response is queued at once; its reader
 *                         suspends when it has nothing to send; every token
 *                         resumes it, the reader feeds the turn's gate (only
 *                         validated sentences become `token` events) and
 *                         finishes the turn when the call has ended.
 *
 * The loop thread only moves bytes and flags under each chat's mutex; the
 * pipeline work stays on the server threads, each with its own kb handle.
 * A request is reference-counted (MHD's and the call's), so a client that
 * disconnects mid-stream cancels its call on the loop and frees everything
 * once both are done with it. */
#include "http_int.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef enum chat_phase {
    CHAT_IDLE,      /* no LLM call */
    CHAT_WAITING,   /* the call is in flight */
    CHAT_ENDED,     /* the call ended: res holds its outcome */
    CHAT_FINISHED,  /* the turn is complete */
    CHAT_ABORTED,   /* shut down before the call ended */
    CHAT_COMMITTING /* suspended until its turn's commit (no LLM call) */
} chat_phase;

typedef struct chat_state {
    pthread_mutex_t mu;
    request *r;
    const chat_format *fmt;
    assistant_ref *as;
    fd_turn *turn; /* pending turn; worker threads only */
    fd_reply rep;
    fd_turn_sink sink;
    /* under mu */
    chat_phase phase;
    int suspended;
    struct llm_flight *flight; /* the LLM call it waits on, until done or dropped */
    fd_buf raw;                /* LLM text not yet fed to the turn */
    fd_buf out;                /* stream bytes not yet sent */
    size_t out_off;
    fd_buf sent;   /* a stream under an Idempotency-Key: every byte sent, to keep for a retry */
    int sent_lost; /* sent outgrew its cap: nothing is kept */
    int eof;
    uint64_t last_write; /* ns: when the reader last sent bytes */
    fd_llm_result res;   /* the call's outcome, copied */
    char res_error[512];
    int committed; /* under mu: the committer is done with the turn */
    fd_err err;    /* the turn's, which the committer may fill */
    /* s->pending, under s->pend_mu */
    struct chat_state *prev, *next;
    int listed;
} chat_state;

/* ---- metrics ------------------------------------------------------------------ */

static void observe_reply(fd_server *s, const fd_reply *rep)
{
    server_metrics *m = &s->m;
    fd_metric_observe(m->stage, rep->ms_guard / 1e3, "guard");
    fd_metric_observe(m->stage, rep->ms_nlu / 1e3, "nlu");
    if (rep->ms_retrieve > 0)
        fd_metric_observe(m->stage, rep->ms_retrieve / 1e3, "retrieve");
    if (rep->ms_answer > 0)
        fd_metric_observe(m->stage, rep->ms_answer / 1e3, "answer");
    if (rep->ms_validate > 0)
        fd_metric_observe(m->stage, rep->ms_validate / 1e3, "validate");
    if (rep->llm_called)
        fd_metric_observe(m->stage, rep->ms_llm / 1e3, "llm");
    fd_metric_observe(m->stage, rep->ms_total / 1e3, "total");
    fd_metric_add(m->validation, 1, rep->validation ? rep->validation : "skipped");
    if (rep->escalation_tier)
        fd_metric_add(m->escalations, 1, rep->escalation_tier);
    /* A new handoff, or a customer writing to a person: the operators'
     * queues here hear it now rather than at the next tick (other
     * replicas' at theirs, a second at most). */
    if ((rep->escalation_ticket || (rep->route && strcmp(rep->route, "human") == 0)) &&
        rep->session_id)
        http_events_wake(s, rep->session_id);
    /* an order was just confirmed: its invoice need not wait for the poll */
    if (rep->order_json && strstr(rep->order_json, "\"status\":\"confirmed\""))
        fd_outbox_kick(s->outbox);
    if (rep->guard_flagged)
        fd_metric_add(m->guard_flagged, 1, rep->guard_kind);
    if (rep->llm_called) {
        fd_metric_add(m->llm_calls, 1, rep->degraded ? "failed" : "ok");
        fd_metric_add(m->llm_tokens, (double)rep->prompt_tokens, "prompt");
        fd_metric_add(m->llm_tokens, (double)rep->completion_tokens, "completion");
        fd_metric_add(m->llm_cost, rep->cost_usd);
    } else if (rep->degraded) {
        fd_metric_add(m->llm_calls, 1, "refused");
    }
}

/* ---- the pending list and the cancel queue (s->pend_mu) ----------------------- */

static void list_add(fd_server *s, chat_state *c)
{
    pthread_mutex_lock(&s->pend_mu);
    c->prev = NULL;
    c->next = s->pending;
    if (s->pending)
        s->pending->prev = c;
    s->pending = c;
    c->listed = 1;
    pthread_mutex_unlock(&s->pend_mu);
}

static void list_remove(fd_server *s, chat_state *c)
{
    pthread_mutex_lock(&s->pend_mu);
    if (c->listed) {
        if (c->prev)
            c->prev->next = c->next;
        else
            s->pending = c->next;
        if (c->next)
            c->next->prev = c->prev;
        c->prev = c->next = NULL;
        c->listed = 0;
    }
    pthread_mutex_unlock(&s->pend_mu);
}

/* ---- the turn's sink: streamed text becomes the format's events --------------- */

static void sink_text(void *ctx, const char *p, size_t n)
{
    chat_state *c = ctx;
    pthread_mutex_lock(&c->mu);
    if (c->fmt->text(c->r, &c->out, p, n)) {
        fd_metric_add(c->r->srv->m.errors, 1, "stream_buffer_full");
        FD_LOG(c->r->srv->log, FD_LOG_ERROR, "http", "stream buffer full (id=%s)", c->r->id);
    }
    pthread_mutex_unlock(&c->mu);
}

static void sink_reset(void *ctx)
{
    chat_state *c = ctx;
    pthread_mutex_lock(&c->mu);
    if (c->fmt->reset)
        (void)c->fmt->reset(c->r, &c->out);
    pthread_mutex_unlock(&c->mu);
}

/* ---- LLM callbacks: on the loop thread ---------------------------------------- */

static void resume_locked(chat_state *c)
{
    if (c->suspended) {
        c->suspended = 0;
        MHD_resume_connection(c->r->con);
    }
}

/* ---- single-flight: one LLM call for identical prompts in flight ------------ */

/* An LLM call and the chats waiting on it. The first subscriber submitted
 * it and pays for it; a chat whose prompt is byte-identical (a burst of the
 * same question in new sessions) joins instead of calling again, gets what
 * streamed so far replayed, and the rest as it comes. A flight whose
 * subscribers all left cancels its call. Under s->flight_mu; subscribers'
 * fields under their own mu, taken after it. */
typedef struct llm_flight {
    struct llm_flight *next;
    fd_server *s;
    uint64_t hash;
    fd_buf key;
    fd_llm_call *call;
    fd_buf text; /* everything streamed so far, for late joiners */
    chat_state **subs;
    size_t n_subs, cap_subs;
} llm_flight;

/* What makes two calls the same: every message and the sampling settings
 * (the model is the client's, one per server). */
static int flight_key(const fd_llm_request *req, fd_buf *k)
{
    int rc = fd_buf_printf(k, "%d/%.6g/%zu", req->max_tokens, req->temperature, req->n_msgs);
    for (size_t i = 0; i < req->n_msgs && !rc; i++) {
        const char *role = req->msgs[i].role ? req->msgs[i].role : "";
        const char *content = req->msgs[i].content ? req->msgs[i].content : "";
        rc = fd_buf_printf(k, "|%zu:%s|%zu:", strlen(role), role, strlen(content));
        if (!rc)
            rc = fd_buf_append(k, content, strlen(content));
    }
    return rc;
}

static llm_flight *flight_find(fd_server *s, const fd_buf *k, uint64_t h)
{
    for (llm_flight *f = s->flights; f; f = f->next)
        if (f->hash == h && f->key.len == k->len && memcmp(f->key.p, k->p, k->len) == 0)
            return f;
    return NULL;
}

static int flight_join(llm_flight *f, chat_state *c)
{
    if (f->n_subs == f->cap_subs) {
        size_t cap = f->cap_subs ? 2 * f->cap_subs : 4;
        chat_state **v = fd_realloc(f->subs, cap * sizeof *v);
        if (!v)
            return FD_ENOMEM;
        f->subs = v;
        f->cap_subs = cap;
    }
    f->subs[f->n_subs++] = c;
    return FD_OK;
}

static void flight_unlink(fd_server *s, llm_flight *f)
{
    for (llm_flight **pp = &s->flights; *pp; pp = &(*pp)->next)
        if (*pp == f) {
            *pp = f->next;
            return;
        }
}

static void flight_free(llm_flight *f)
{
    fd_buf_free(&f->key);
    fd_buf_free(&f->text);
    fd_free(f->subs);
    fd_free(f);
}

/* ---- LLM callbacks: on the loop thread ---------------------------------------- */

static void on_token(void *ctx, const char *p, size_t n)
{
    llm_flight *f = ctx;
    pthread_mutex_lock(&f->s->flight_mu);
    if (fd_buf_append(&f->text, p, n))
        fd_metric_add(f->s->m.errors, 1, "stream_buffer_full");
    for (size_t i = 0; i < f->n_subs; i++) {
        chat_state *c = f->subs[i];
        pthread_mutex_lock(&c->mu);
        if (fd_buf_append(&c->raw, p, n) == FD_OK && c->fmt->stream)
            resume_locked(c);
        pthread_mutex_unlock(&c->mu);
    }
    pthread_mutex_unlock(&f->s->flight_mu);
}

static void on_done(void *ctx, const fd_llm_result *res)
{
    llm_flight *f = ctx;
    fd_server *s = f->s;
    pthread_mutex_lock(&s->flight_mu);
    flight_unlink(s, f); /* no one joins from here on */
    pthread_mutex_unlock(&s->flight_mu);
    if (res->attempts > 0 || res->queue_ms > 0)
        fd_metric_observe(s->m.llm_queue_wait, res->queue_ms / 1e3);
    for (size_t i = 0; i < f->n_subs; i++) {
        chat_state *c = f->subs[i];
        request *r = c->r;
        pthread_mutex_lock(&c->mu);
        c->res = *res;
        snprintf(c->res_error, sizeof c->res_error, "%s", res->error ? res->error : "");
        c->res.error = c->res_error;
        c->res.text = NULL; /* the turn has the text from the stream */
        c->res.finish_reason = "";
        if (i > 0) {
            /* Shared: the first subscriber's call, cost and tokens. */
            c->res.shared = 1;
            c->res.attempts = 0;
            c->res.prompt_tokens = c->res.completion_tokens = 0;
            c->res.cost_usd = 0;
            fd_metric_add(s->m.llm_shared, 1);
        }
        c->flight = NULL;
        c->phase = CHAT_ENDED;
        resume_locked(c);
        pthread_mutex_unlock(&c->mu);
        list_remove(s, c);
        http_request_release(r); /* the call's reference */
    }
    flight_free(f);
}

/* Submits the turn's LLM request, or joins an identical one in flight.
 * The caller holds the call's reference on c->r and listed c; on success
 * c waits (suspended unless it streams). */
static int llm_start(fd_server *s, chat_state *c, fd_err *err)
{
    const fd_llm_request *req = fd_turn_llm_request(c->turn);
    llm_flight *f = fd_calloc(1, sizeof *f);
    if (!f)
        return fd_err_set(err, FD_ENOMEM, "out of memory");
    f->s = s;
    fd_buf_init(&f->key, 0);
    fd_buf_init(&f->text, 1 << 20);
    if (flight_key(req, &f->key)) {
        flight_free(f);
        return fd_err_set(err, FD_ENOMEM, "out of memory");
    }
    f->hash = fd_hash64(f->key.p, f->key.len, 0);
    int share = s->cfg->cache_enabled;
    pthread_mutex_lock(&s->flight_mu);
    llm_flight *same = share ? flight_find(s, &f->key, f->hash) : NULL;
    int rc;
    if (same) {
        rc = flight_join(same, c);
        if (rc)
            fd_err_set(err, rc, "out of memory");
    } else {
        rc = flight_join(f, c);
        if (!rc) {
            fd_llm_callbacks cb = {on_token, on_done, f};
            rc = fd_llm_submit(s->llm, req, &cb, &f->call, err);
        } else {
            fd_err_set(err, rc, "out of memory");
        }
    }
    if (!rc) {
        llm_flight *mine = same ? same : f;
        if (!same) {
            f->next = s->flights;
            s->flights = f;
        }
        pthread_mutex_lock(&c->mu);
        c->flight = mine;
        c->phase = CHAT_WAITING;
        if (same && same->text.len && fd_buf_append(&c->raw, same->text.p, same->text.len))
            fd_metric_add(s->m.errors, 1, "stream_buffer_full");
        if (!c->fmt->stream) {
            MHD_suspend_connection(c->r->con);
            c->suspended = 1;
        }
        pthread_mutex_unlock(&c->mu);
    }
    pthread_mutex_unlock(&s->flight_mu);
    if (same || rc)
        flight_free(f);
    return rc;
}

/* ---- answering ----------------------------------------------------------------- */

enum MHD_Result http_chat_error(request *r, const fd_err *err)
{
    if (err->code == FD_ETOOBIG && strcmp(err->field, "message") == 0)
        return http_send_error(r, 422, "message_too_long", err->msg, "message");
    if (err->code == FD_EUTF8)
        return http_send_error(r, 400, "invalid_utf8", err->msg, err->field);
    if (err->code == FD_EINVAL)
        return http_send_error(r, 422, "invalid_field", err->msg, err->field);
    return http_send_err(r, err);
}

/* The reply is complete: the whole body, or the whole stream at once. */
static enum MHD_Result respond(request *r)
{
    chat_state *c = r->chat;
    observe_reply(r->srv, &c->rep);
    if (c->fmt->stream) {
        pthread_mutex_lock(&c->mu);
        int rc = c->fmt->reply(r, &c->out, &c->rep);
        pthread_mutex_unlock(&c->mu);
        if (rc)
            return http_send_error(r, 500, "internal", "out of memory", NULL);
        fd_buf whole = {.p = c->out.p + c->out_off, .len = c->out.len - c->out_off};
        http_idem_keep(r, &whole); /* the whole stream, before it is sent */
        return http_send(r, 200, "text/event-stream", c->out.p + c->out_off,
                         c->out.len - c->out_off);
    }
    fd_buf b;
    fd_buf_init(&b, 0);
    int rc = c->fmt->reply(r, &b, &c->rep);
    if (!rc)
        http_idem_keep(r, &b); /* before it is sent: a retry finds it */
    enum MHD_Result res = rc ? http_send_error(r, 500, "internal", "out of memory", NULL)
                             : http_send_json(r, 200, &b);
    fd_buf_free(&b);
    return res;
}

/* Feeds what the LLM sent since the last call (worker thread). */
static void feed_raw(chat_state *c, fd_kb *kb)
{
    pthread_mutex_lock(&c->mu);
    fd_buf raw = c->raw;
    fd_buf_init(&c->raw, 1 << 20);
    pthread_mutex_unlock(&c->mu);
    if (raw.len)
        fd_turn_feed(c->turn, kb, raw.p, raw.len);
    fd_buf_free(&raw);
}

static int finish_turn(chat_state *c, fd_kb *kb, fd_err *err)
{
    feed_raw(c, kb);
    fd_turn *t = c->turn;
    c->turn = NULL;
    return fd_turn_finish(t, kb, &c->res, 0, err);
}

/* The stream's reader (a server thread): sends what is ready, feeds new LLM
 * text to the turn, finishes it once the call ended, else parks the
 * connection until the loop has more. */
static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    chat_state *c = cls;
    request *r = c->r;
    for (;;) {
        pthread_mutex_lock(&c->mu);
        if (c->out_off < c->out.len) {
            size_t n = c->out.len - c->out_off;
            if (n > max)
                n = max;
            memcpy(buf, c->out.p + c->out_off, n);
            /* Kept whole for a retry; past the buffer's cap it is not
             * kept at all (fd_buf fails), and a retry runs the turn again. */
            if (r->idem == 1 && !c->sent_lost && fd_buf_append(&c->sent, c->out.p + c->out_off, n))
                c->sent_lost = 1;
            c->out_off += n;
            if (c->out_off == c->out.len)
                c->out_off = c->out.len = 0;
            c->last_write = fd_time_ns();
            pthread_mutex_unlock(&c->mu);
            return (ssize_t)n;
        }
        if (c->eof) {
            pthread_mutex_unlock(&c->mu);
            return MHD_CONTENT_READER_END_OF_STREAM;
        }
        if (c->phase == CHAT_ABORTED) {
            pthread_mutex_unlock(&c->mu);
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
        int ended = c->phase == CHAT_ENDED;
        if (!ended && c->raw.len == 0) {
            MHD_suspend_connection(r->con);
            c->suspended = 1;
            pthread_mutex_unlock(&c->mu);
            return 0;
        }
        pthread_mutex_unlock(&c->mu);
        fd_kb *kb = http_kb_get(r->srv);
        if (!ended) {
            feed_raw(c, kb);
            /* Text held back by the gate sends nothing, and only a write
             * tells a client that left from one that waits: a comment line
             * now and then, so a disconnect cancels the call early. */
            pthread_mutex_lock(&c->mu);
            if (c->out.len == c->out_off && fd_time_ns() - c->last_write > 250000000ull)
                if (fd_buf_printf(&c->out, ":\n\n"))
                    c->out.len = c->out_off; /* full: the next event will tell */
            pthread_mutex_unlock(&c->mu);
        } else {
            fd_err err = {0};
            int rc = finish_turn(c, kb, &err);
            if (!rc)
                observe_reply(r->srv, &c->rep);
            pthread_mutex_lock(&c->mu);
            if (rc) {
                FD_LOG(r->srv->log, FD_LOG_ERROR, "http", "chat stream failed: %s (id=%s)", err.msg,
                       r->id);
                (void)c->fmt->fail(r, &c->out, fd_code_name(rc), err.msg);
            } else if (c->fmt->reply(r, &c->out, &c->rep)) {
                (void)c->fmt->fail(r, &c->out, "internal", "out of memory");
            }
            c->eof = 1;
            c->phase = CHAT_FINISHED;
            /* What was sent and what is left is the whole stream: kept for
             * a retry with the same Idempotency-Key before the end goes out. */
            int keep = !rc && r->idem == 1 && !c->sent_lost &&
                       !fd_buf_append(&c->sent, c->out.p + c->out_off, c->out.len - c->out_off);
            pthread_mutex_unlock(&c->mu);
            if (keep)
                http_idem_keep(r, &c->sent);
        }
        http_kb_put(r->srv, kb);
    }
}

static enum MHD_Result queue_stream(request *r)
{
    struct MHD_Response *resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, stream_read, r->chat, NULL);
    if (!resp)
        return MHD_NO;
    return http_queue_response(r, 200, "text/event-stream", resp);
}

static chat_state *chat_new(request *r, const chat_format *fmt)
{
    chat_state *c = fd_calloc(1, sizeof *c);
    if (!c)
        return NULL;
    pthread_mutex_init(&c->mu, NULL);
    c->r = r;
    c->fmt = fmt;
    fd_buf_init(&c->raw, 1 << 20);
    fd_buf_init(&c->out, 4 << 20);
    fd_buf_init(&c->sent, 4 << 20);
    c->sink = (fd_turn_sink){sink_text, sink_reset, c};
    return c;
}

void http_chat_free(chat_state *c)
{
    if (!c)
        return;
    /* The client left before the turn finished. */
    if (fd_turn_locked(c->turn)) {
        fd_kb *kb = http_kb_get(c->r->srv);
        fd_turn_abandon(c->turn, kb);
        http_kb_put(c->r->srv, kb);
    } else {
        fd_turn_abandon(c->turn, NULL);
    }
    if (c->as)
        http_assistant_put(c->as);
    fd_buf_free(&c->raw);
    fd_buf_free(&c->out);
    fd_buf_free(&c->sent);
    pthread_mutex_destroy(&c->mu);
    fd_free(c);
}

/* ---- the commit without a thread waiting ------------------------------------- */

/* A JSON chat (no LLM call) used to hold its request thread in
 * dialog_commit until its batch committed: with 4 threads a batch held at
 * most 4 turns (1.4 on average) and nearly every turn paid a whole SQLite
 * commit (issue 13). Now its turn's commit is queued, the connection
 * suspended and the thread goes on to the next request; a batch holds one
 * turn per waiting connection. The committer's callback resumes it, and
 * the handler, called again, sends the reply: never before the commit,
 * and a failed commit is answered as the blocking path answered it. As
 * writer.c does for uploads.
 *
 * A turn answered through the LLM queues its commit the same way once the
 * call is over (fd_turn_finish_queued).
 *
 * Kept on the blocking path: streams (their bytes go out before the end)
 * and orders (persist.c). On PostgreSQL the conversation's lease (turn.c)
 * is dropped by the committer once the batch is over (commit.c,
 * unlock_queued), not at the resume: only the MHD worker that owns a
 * suspended connection can resume it, and a second message of the same
 * conversation waiting on that worker for the lease would otherwise wait
 * until store.busy_timeout_ms (a review's finding). */

/* Registers a chat about to queue its commit; 0 once the drain began. */
static int commit_enter(fd_server *s)
{
    pthread_mutex_lock(&s->commit_mu);
    int ok = !s->commit_closed;
    if (ok)
        s->n_committing++;
    pthread_mutex_unlock(&s->commit_mu);
    return ok;
}

static void commit_leave(fd_server *s)
{
    pthread_mutex_lock(&s->commit_mu);
    if (--s->n_committing == 0)
        pthread_cond_broadcast(&s->commit_cv);
    pthread_mutex_unlock(&s->commit_mu);
}

int http_chat_commits_close(fd_server *s)
{
    pthread_mutex_lock(&s->commit_mu);
    s->commit_closed = 1;
    int n = s->n_committing;
    while (s->n_committing > 0)
        pthread_cond_wait(&s->commit_cv, &s->commit_mu);
    pthread_mutex_unlock(&s->commit_mu);
    return n;
}

/* On the committer's thread: the turn is committed (or failed). */
static void commit_done(void *ctx)
{
    chat_state *c = ctx;
    fd_server *s = c->r->srv;
    pthread_mutex_lock(&c->mu);
    c->committed = 1;
    resume_locked(c);
    /* Once mu is let go the handler may answer and free c: not touched
     * after this. */
    pthread_mutex_unlock(&c->mu);
    commit_leave(s);
}

/* The commit is over: the reply's last fields, then the reply. */
static enum MHD_Result commit_respond(request *r)
{
    chat_state *c = r->chat;
    fd_turn *t = c->turn;
    c->turn = NULL;
    fd_kb *kb = fd_turn_locked(t) ? http_kb_get(r->srv) : NULL;
    int rc = fd_turn_committed(t, kb);
    if (kb)
        http_kb_put(r->srv, kb);
    pthread_mutex_lock(&c->mu);
    c->phase = CHAT_FINISHED;
    pthread_mutex_unlock(&c->mu);
    return rc ? c->fmt->error(r, &c->err) : respond(r);
}

/* The turn's commit is queued: the connection waits for it, suspended,
 * unless it is already over. */
static enum MHD_Result commit_wait(request *r)
{
    chat_state *c = r->chat;
    pthread_mutex_lock(&c->mu);
    if (c->committed) { /* already: answered now, nothing to resume */
        pthread_mutex_unlock(&c->mu);
        return commit_respond(r);
    }
    c->phase = CHAT_COMMITTING;
    /* Under mu, which commit_done takes to resume it. */
    MHD_suspend_connection(r->con);
    c->suspended = 1;
    pthread_mutex_unlock(&c->mu);
    return MHD_YES;
}

enum MHD_Result http_chat(request *r, const fd_turn_in *in, const chat_format *fmt)
{
    fd_server *s = r->srv;
    chat_state *c = chat_new(r, fmt);
    if (!c)
        return http_send_error(r, 500, "internal", "out of memory", NULL);
    r->chat = c;
    if (fmt->stream && fmt->open && fmt->open(r, &c->out))
        return http_send_error(r, 500, "internal", "out of memory", NULL);
    c->as = http_assistant_get(s);
    fd_turn_in tin = *in;
    int queued = !fmt->stream && s->committer && commit_enter(s);
    if (queued) {
        tin.on_commit = commit_done;
        tin.on_commit_ctx = c;
    }
    fd_kb *kb = http_kb_get(s);
    fd_err *err = &c->err;
    int rc = fd_assistant_turn_begin(c->as->as, kb, &tin, fmt->stream ? &c->sink : NULL, r->a,
                                     &c->rep, &c->turn, err);
    if (!rc && fd_turn_committing(c->turn)) {
        http_kb_put(s, kb);
        return commit_wait(r);
    }
    if (queued)
        commit_leave(s); /* nothing was queued: an error, or the LLM path */
    if (rc || !c->turn) {
        http_kb_put(s, kb);
        return rc ? fmt->error(r, err) : respond(r);
    }
    FD_LOG(s->log, FD_LOG_DEBUG, "http", "LLM turn holds %zu arena bytes, %zu allocated (id=%s)",
           fd_arena_used(r->a), fd_alloc_bytes(), r->id);
    /* The LLM path: listed before submit, so a drain can find it. */
    list_add(s, c);
    atomic_fetch_add(&r->refs, 1); /* the call's reference */
    fd_err lerr = {0};
    int src = llm_start(s, c, &lerr);
    if (src) {
        /* Refused at once (circuit open, too many calls): the extractive
         * answer, degraded, on this thread. */
        list_remove(s, c);
        atomic_fetch_sub(&r->refs, 1);
        fd_turn *t = c->turn;
        c->turn = NULL;
        rc = fd_turn_finish(t, kb, NULL, src, &lerr);
        http_kb_put(s, kb);
        return rc ? fmt->error(r, &lerr) : respond(r);
    }
    http_kb_put(s, kb);
    return fmt->stream ? queue_stream(r) : MHD_YES;
}

enum MHD_Result http_chat_resumed(request *r)
{
    chat_state *c = r->chat;
    pthread_mutex_lock(&c->mu);
    chat_phase phase = c->phase;
    int committed = c->committed;
    pthread_mutex_unlock(&c->mu);
    if (phase == CHAT_COMMITTING)
        return committed ? commit_respond(r) : MHD_YES; /* else a spurious wake */
    if (phase == CHAT_ABORTED)
        return http_send_error(r, 503, "unavailable", "server is shutting down", NULL);
    if (phase != CHAT_ENDED) /* not ours to wake yet: keep waiting */
        return MHD_YES;
    fd_server *s = r->srv;
    fd_kb *kb = http_kb_get(s);
    if (!c->fmt->stream && s->committer && commit_enter(s)) {
        /* The commit queued, as a turn without the LLM queues it (above). */
        feed_raw(c, kb);
        fd_turn *t = c->turn;
        int rc = fd_turn_finish_queued(t, kb, &c->res, commit_done, c, &c->err);
        if (!rc && fd_turn_committing(t)) {
            http_kb_put(s, kb);
            return commit_wait(r);
        }
        commit_leave(s); /* nothing queued: an order, an error */
        c->turn = NULL;
        http_kb_put(s, kb);
        pthread_mutex_lock(&c->mu);
        c->phase = CHAT_FINISHED;
        pthread_mutex_unlock(&c->mu);
        return rc ? c->fmt->error(r, &c->err) : respond(r);
    }
    fd_err err = {0};
    int rc = finish_turn(c, kb, &err);
    http_kb_put(r->srv, kb);
    pthread_mutex_lock(&c->mu);
    c->phase = CHAT_FINISHED;
    pthread_mutex_unlock(&c->mu);
    return rc ? c->fmt->error(r, &err) : respond(r);
}

void http_chat_gone(request *r)
{
    chat_state *c = r->chat;
    if (!c)
        return;
    fd_server *s = r->srv;
    pthread_mutex_lock(&c->mu);
    int pending = c->flight != NULL;
    pthread_mutex_unlock(&c->mu);
    if (!pending)
        return;
    pthread_mutex_lock(&s->pend_mu);
    if (s->n_cancels == s->cap_cancels) {
        size_t cap = s->cap_cancels ? 2 * s->cap_cancels : 64;
        chat_state **v = fd_realloc(s->cancels, cap * sizeof *v);
        if (!v) {
            /* The call runs to its deadline; its reference frees the request. */
            pthread_mutex_unlock(&s->pend_mu);
            fd_metric_add(s->m.errors, 1, "no_memory");
            FD_LOG(s->log, FD_LOG_ERROR, "http", "out of memory queueing a cancel (id=%s)", r->id);
            return;
        }
        s->cancels = v;
        s->cap_cancels = cap;
    }
    atomic_fetch_add(&r->refs, 1); /* the queue's reference */
    s->cancels[s->n_cancels++] = c;
    pthread_mutex_unlock(&s->pend_mu);
    fd_llm_wakeup(s->llm);
}

/* ---- the event loop ------------------------------------------------------------- */

/* Takes the call away from a chat (loop thread); the call's reference is
 * released here when there was one. */
static void drop_call(fd_server *s, chat_state *c, int abort)
{
    pthread_mutex_lock(&s->flight_mu);
    pthread_mutex_lock(&c->mu);
    llm_flight *f = c->flight;
    c->flight = NULL;
    if (abort && c->phase == CHAT_WAITING) {
        c->phase = CHAT_ABORTED;
        resume_locked(c);
    }
    pthread_mutex_unlock(&c->mu);
    int last = 0;
    if (f) {
        for (size_t i = 0; i < f->n_subs; i++)
            if (f->subs[i] == c) {
                memmove(f->subs + i, f->subs + i + 1, (f->n_subs - i - 1) * sizeof *f->subs);
                f->n_subs--;
                break;
            }
        /* The others still want the answer; nobody left: stop the call. */
        last = f->n_subs == 0;
        if (last)
            flight_unlink(s, f);
    }
    pthread_mutex_unlock(&s->flight_mu);
    if (last) {
        fd_llm_cancel(s->llm, f->call);
        flight_free(f);
    }
    if (f) {
        list_remove(s, c);
        http_request_release(c->r);
    }
}

static void run_cancels(fd_server *s)
{
    pthread_mutex_lock(&s->pend_mu);
    chat_state **v = s->cancels;
    size_t n = s->n_cancels;
    s->cancels = NULL;
    s->n_cancels = s->cap_cancels = 0;
    pthread_mutex_unlock(&s->pend_mu);
    for (size_t i = 0; i < n; i++) {
        request *r = v[i]->r;
        drop_call(s, v[i], 0);
        http_request_release(r); /* the queue's reference */
    }
    fd_free(v);
}

static void abort_pending(fd_server *s)
{
    for (;;) {
        pthread_mutex_lock(&s->pend_mu);
        chat_state *c = s->pending;
        if (c)
            atomic_fetch_add(&c->r->refs, 1);
        pthread_mutex_unlock(&s->pend_mu);
        if (!c)
            return;
        request *r = c->r;
        drop_call(s, c, 1);
        list_remove(s, c); /* listed without a call: submit was refused */
        http_request_release(r);
    }
}

static void *loop_main(void *arg)
{
    fd_server *s = arg;
    while (!atomic_load(&s->loop_stop)) {
        fd_llm_run(s->llm, 1000);
        run_cancels(s);
        if (atomic_load(&s->abort_all))
            abort_pending(s);
    }
    run_cancels(s);
    abort_pending(s);
    return NULL;
}

int http_loop_start(fd_server *s, fd_err *err)
{
    if (!s->llm)
        return FD_OK;
    if (pthread_create(&s->loop, NULL, loop_main, s) != 0)
        return fd_err_set(err, FD_ENOMEM, "cannot start the LLM event loop thread");
    s->loop_running = 1;
    return FD_OK;
}

void http_loop_abort(fd_server *s)
{
    if (!s->loop_running)
        return;
    atomic_store(&s->abort_all, 1);
    fd_llm_wakeup(s->llm);
    /* The loop empties the list; wait for it, bounded. */
    for (int i = 0; i < 2000; i++) {
        pthread_mutex_lock(&s->pend_mu);
        int empty = s->pending == NULL;
        pthread_mutex_unlock(&s->pend_mu);
        if (empty)
            return;
        usleep(1000);
    }
}

void http_loop_stop(fd_server *s)
{
    if (s->loop_running) {
        atomic_store(&s->loop_stop, 1);
        fd_llm_wakeup(s->llm);
        pthread_join(s->loop, NULL);
        s->loop_running = 0;
    }
    fd_free(s->cancels);
    s->cancels = NULL;
}

/* ---- formats: the API's JSON and SSE -------------------------------------------- */

/* The pipeline's object plus the transport's fields. */
int http_reply_object(request *r, fd_buf *out, const fd_reply *rep)
{
    int rc = fd_reply_json(rep, out);
    if (!rc && out->len && out->p[out->len - 1] == '}') {
        out->len--;
        rc = fd_buf_printf(out, ",\"request_id\":\"%s\"}", r->id);
    }
    return rc;
}

static int sse_text(request *r, fd_buf *out, const char *p, size_t n)
{
    (void)r;
    int rc = fd_buf_printf(out, "event: token\ndata: {\"text\":");
    rc = rc ? rc : fd_buf_json_str(out, p, n);
    return rc ? rc : fd_buf_printf(out, "}\n\n");
}

static int sse_reset(request *r, fd_buf *out)
{
    (void)r;
    return fd_buf_printf(out, "event: reset\ndata: {}\n\n");
}

static int sse_reply(request *r, fd_buf *out, const fd_reply *rep)
{
    int rc = fd_buf_printf(out, "event: citations\ndata: {\"citations\":");
    rc = rc ? rc : fd_reply_cites_json(rep, out);
    rc = rc ? rc : fd_buf_printf(out, "}\n\nevent: done\ndata: ");
    rc = rc ? rc : http_reply_object(r, out, rep);
    return rc ? rc : fd_buf_printf(out, "\n\n");
}

static int sse_fail(request *r, fd_buf *out, const char *code, const char *msg)
{
    int rc = fd_buf_printf(out, "event: error\ndata: {\"error\":{\"code\":");
    rc = rc ? rc : fd_buf_json_str(out, code, strlen(code));
    rc = rc ? rc : fd_buf_printf(out, ",\"message\":");
    rc = rc ? rc : fd_buf_json_str(out, msg, strlen(msg));
    return rc ? rc : fd_buf_printf(out, ",\"request_id\":\"%s\"}}\n\n", r->id);
}

const chat_format http_chat_json = {
    .stream = 0, .reply = http_reply_object, .error = http_chat_error};

const chat_format http_chat_sse = {.stream = 1,
                                   .text = sse_text,
                                   .reset = sse_reset,
                                   .reply = sse_reply,
                                   .fail = sse_fail,
                                   .error = http_chat_error};
