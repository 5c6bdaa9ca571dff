/* queue.c: GET /v1/handoffs/events, the operators' live queue: an SSE
 * stream of handoff changes (opened, claimed, message from the customer,
 * replied, note, resolved, removed) on the machinery of events.c, woken
 * by the ticker and by any conversation's poke.
 *
 * Each event carries the handoff's whole state (its counts included), so
 * a client that applies them in any order, twice, or after a gap, ends
 * where the server is. The first poll sends every open and claimed
 * handoff ("handoff", or "opened" when it came after the client's
 * Last-Event-ID), then a `sync` event; later polls send what changed and
 * a `sync`. Only `sync` has an id: the poll's time in milliseconds, so a
 * reconnect resumes after the last complete batch: what changed in
 * between (the resolved too) comes again, and what opened meanwhile is
 * "opened", so the console notifies it. */
#include "http_int.h"

#include <stdlib.h>
#include <string.h>

/* The open and claimed handoffs a stream follows at most (newest first). */
#define QUEUE_LIMIT 1000
/* A change stamped this long before it committed (a transaction that
 * took its time, a replica's clock behind) is still seen: resolved
 * handoffs are read from this long before the last poll. */
#define OVERLAP_S 5.0

typedef struct seen_handoff {
    int64_t id;
    char status[12];
    int64_t n_customer, n_unanswered, n_notes;
    uint64_t operator_hash;
} seen_handoff;

typedef struct queue_stream {
    double since;              /* the client's Last-Event-ID (unix s); 0: none */
    double last_poll;          /* 0 before the first */
    seen_handoff *seen, *next; /* by id, newest first */
    size_t n_seen, n_next, cap;
} queue_stream;

typedef struct poll_ctx {
    request *r;
    queue_stream *q;
    fd_buf *ev;
    int rc;
} poll_ctx;

static int by_id_desc(const void *a, const void *b)
{
    const seen_handoff *x = a, *y = b;
    return x->id > y->id ? -1 : x->id < y->id;
}

static int opt_time(fd_buf *b, const char *name, double t)
{
    return t > 0 ? fd_buf_printf(b, ",\"%s\":%.3f", name, t)
                 : fd_buf_printf(b, ",\"%s\":null", name);
}

static int event(fd_buf *ev, const char *kind, const fd_queue_row *q)
{
    int rc = fd_buf_printf(ev, "event: %s\ndata: {", kind);
    rc = rc ? rc : http_handoff_fields(ev, &q->h);
    rc = rc ? rc
            : fd_buf_printf(ev, ",\"customer_messages\":%lld,\"unanswered\":%lld,\"notes\":%lld",
                            (long long)q->n_customer, (long long)q->n_unanswered,
                            (long long)q->n_notes);
    rc = rc ? rc : opt_time(ev, "waiting_since", q->n_unanswered ? q->waiting_since : 0);
    rc = rc ? rc : opt_time(ev, "last_customer_at", q->last_customer_at);
    rc = rc ? rc : fd_buf_printf(ev, ",\"changed_at\":%.3f}\n\n", q->changed_at);
    return rc;
}

/* What changed in a handoff the stream has told before; NULL: nothing. */
static const char *change(const seen_handoff *old, const seen_handoff *now)
{
    if (strcmp(old->status, now->status) != 0)
        return strcmp(now->status, "open") == 0 ? "opened" : now->status;
    if (now->n_customer > old->n_customer)
        return "message";
    if (now->n_unanswered < old->n_unanswered)
        return "replied";
    if (now->n_notes != old->n_notes)
        return "note";
    if (now->operator_hash != old->operator_hash)
        return "claimed";
    return NULL;
}

static int on_row(void *ctx, const fd_queue_row *row)
{
    poll_ctx *p = ctx;
    queue_stream *q = p->q;
    if (q->n_next == q->cap) {
        size_t cap = q->cap ? 2 * q->cap : 64;
        seen_handoff *a = fd_realloc(q->seen, cap * sizeof *a);
        if (a)
            q->seen = a;
        seen_handoff *b = a ? fd_realloc(q->next, cap * sizeof *b) : NULL;
        if (!b) {
            p->rc = FD_ENOMEM;
            return 1;
        }
        q->next = b;
        q->cap = cap;
    }
    seen_handoff *now = &q->next[q->n_next++];
    *now =
        (seen_handoff){.id = row->h.id,
                       .n_customer = row->n_customer,
                       .n_unanswered = row->n_unanswered,
                       .n_notes = row->n_notes,
                       .operator_hash = fd_hash64(row->h.operator_, strlen(row->h.operator_), 0)};
    snprintf(now->status, sizeof now->status, "%s", row->h.status);
    const seen_handoff *old =
        q->n_seen ? bsearch(now, q->seen, q->n_seen, sizeof *now, by_id_desc) : NULL;
    const char *kind;
    if (old)
        kind = change(old, now);
    else if (q->last_poll == 0 && !(q->since > 0 && row->h.created_at > q->since - OVERLAP_S))
        kind = strcmp(now->status, "resolved") == 0 ? "resolved" : "handoff";
    else if (strcmp(now->status, "resolved") == 0)
        kind = NULL; /* never told open to this client: not its queue's to drop */
    else
        kind = strcmp(now->status, "open") == 0 ? "opened" : now->status;
    if (kind && event(p->ev, kind, row)) {
        p->rc = FD_ENOMEM;
        return 1;
    }
    return 0;
}

static int queue_poll(request *r, void *state, fd_buf *ev)
{
    queue_stream *q = state;
    fd_server *s = r->srv;
    double now = fd_time_wall();
    /* Resolved handoffs: those resolved since the last poll (the first:
     * since the client's last event, or none for a new client). */
    double resolved_since = q->last_poll ? q->last_poll - OVERLAP_S
                            : q->since   ? q->since - OVERLAP_S
                                         : now + 1e9;
    size_t mark = ev->len;
    poll_ctx p = {r, q, ev, 0};
    q->n_next = 0;
    fd_err err = {0};
    fd_kb *kb = http_kb_get(s);
    int rc = fd_store_queue_each(fd_kb_store(kb), resolved_since, QUEUE_LIMIT, on_row, &p, &err);
    http_kb_put(s, kb);
    if (rc || p.rc) {
        /* Nothing told from a half-read queue: the next poll tries again. */
        ev->len = mark;
        if (!rc || rc == 1)
            fd_err_set(&err, FD_ENOMEM, "out of memory reading the queue");
        fd_metric_add(s->m.errors, 1, "queue_events_store");
        FD_LOG(s->log, FD_LOG_WARN, "http", "queue events: %s (id=%s)", err.msg, r->id);
        return 0;
    }
    /* Open or claimed before and gone now: resolved out of the window,
     * or erased with its conversation. */
    for (size_t i = 0, j = 0; i < q->n_seen; i++) {
        while (j < q->n_next && q->next[j].id > q->seen[i].id)
            j++;
        if ((j < q->n_next && q->next[j].id == q->seen[i].id) ||
            strcmp(q->seen[i].status, "resolved") == 0)
            continue;
        if (fd_buf_printf(ev, "event: removed\ndata: {\"id\":%lld}\n\n", (long long)q->seen[i].id))
            return 0;
    }
    seen_handoff *t = q->seen;
    q->seen = q->next;
    q->next = t;
    q->n_seen = q->n_next;
    int first = q->last_poll == 0;
    q->last_poll = now;
    if ((first || ev->len > mark) &&
        fd_buf_printf(ev, "id: %lld\nevent: sync\ndata: {\"at\":%.3f,\"handoffs\":%zu}\n\n",
                      (long long)(now * 1000), now, q->n_seen))
        ev->len = mark;
    return 0;
}

static void queue_free(void *state)
{
    queue_stream *q = state;
    if (!q)
        return;
    fd_free(q->seen);
    fd_free(q->next);
    fd_free(q);
}

static const http_stream_ops queue_ops = {queue_poll, queue_free};

enum MHD_Result http_queue_events(request *r)
{
    enum MHD_Result res;
    if (!http_auth(r, FD_SCOPE_OPERATOR, &res))
        return res;
    /* Where the client was: Last-Event-ID (a reconnect) or ?after=, in
     * milliseconds since the epoch as `sync` events give it. */
    const char *from = MHD_lookup_connection_value(r->con, MHD_HEADER_KIND, "Last-Event-ID");
    if (!from)
        from = MHD_lookup_connection_value(r->con, MHD_GET_ARGUMENT_KIND, "after");
    double since;
    http_perr pe;
    if (http_parse_queue_after(from, &since, &pe))
        return http_send_perr(r, &pe);
    queue_stream *q = fd_calloc(1, sizeof *q);
    if (!q)
        return http_send_error(r, 500, "internal", "out of memory", NULL);
    q->since = since;
    return http_stream_open(r, "", &queue_ops, q);
}
