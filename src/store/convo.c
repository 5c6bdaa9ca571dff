/* convo.c: what the conversation engine keeps in the store: knowledge-base
 * assets (tone, escalation rules, intent examples), sessions and their
 * turns, handoffs to people, and analytics events. Same conventions as
 * docs.c: prepared statements from sqlite.c, rows borrowed for callbacks,
 * copied into the caller's arena by the _get functions. */
#include "store_int.h"

#include <string.h>
#include <time.h>

static int copy_all(fd_arena *a, const char **const *strs, size_t n, fd_err *err)
{
    int code = FD_OK;
    for (size_t i = 0; !code && i < n; i++)
        code = store_arena_copy(a, strs[i], err);
    return code;
}

/* ---- assets -------------------------------------------------------------- */

int fd_store_asset_put(fd_store *st, const char *name, const char *content, size_t len,
                       const char *source, int64_t kb_version, int *changed, fd_err *err)
{
    if (store_autocommit(st))
        return fd_err_set(err, FD_EINVAL, "store: asset_put outside a transaction");
    char hash[65];
    fd_sha256_hex(content, len, hash);
    if (changed) {
        fd_arena *a = fd_arena_new(0);
        if (!a)
            return fd_err_set(err, FD_ENOMEM, "store: no memory");
        fd_asset_row old;
        fd_err e2;
        int rc = fd_store_asset_get(st, name, a, &old, &e2);
        *changed = rc != FD_OK || strcmp(old.hash, hash) != 0;
        fd_arena_free(a);
        if (rc && rc != FD_ENOTFOUND) {
            *err = e2;
            return rc;
        }
    }
    store_stmt *s;
    int owned;
    int code = store_acquire(st, STMT_ASSET_PUT, &s, &owned, err);
    if (code)
        return code;
    store_bind_str(s, 1, name);
    stmt_bind_blob(s, 2, content, len);
    store_bind_str(s, 3, hash);
    store_bind_str(s, 4, source);
    stmt_bind_i64(s, 5, kb_version);
    stmt_bind_dbl(s, 6, fd_time_wall());
    int rc = stmt_step(s);
    if (rc != SQLITE_DONE)
        code = store_fail(st, rc, err, "writing asset");
    store_release(s, owned);
    return code;
}

int fd_store_asset_get(fd_store *st, const char *name, fd_arena *a, fd_asset_row *out, fd_err *err)
{
    store_stmt *s;
    int owned;
    int code = store_acquire(st, STMT_ASSET_GET, &s, &owned, err);
    if (code)
        return code;
    store_bind_str(s, 1, name);
    int rc = stmt_step(s);
    if (rc == SQLITE_ROW) {
        out->name = store_col_str(s, 0);
        const void *blob = stmt_col_blob(s, 1);
        out->len = (size_t)stmt_col_bytes(s, 1);
        char *c = fd_arena_alloc(a, out->len + 1);
        if (!c) {
            code = fd_err_set(err, fd_arena_full(a) ? FD_ETOOBIG : FD_ENOMEM,
                              "store: arena full reading asset %s", name);
        } else {
            if (out->len)
                memcpy(c, blob, out->len);
            c[out->len] = '\0';
            out->content = c;
            out->hash = store_col_str(s, 2);
            out->source = store_col_str(s, 3);
            out->kb_version = stmt_col_i64(s, 4);
            const char **const strs[] = {&out->name, &out->hash, &out->source};
            code = copy_all(a, strs, 3, err);
        }
    } else if (rc == SQLITE_DONE) {
        code = fd_err_set(err, FD_ENOTFOUND, "no asset %s", name);
    } else {
        code = store_fail(st, rc, err, "reading asset");
    }
    store_release(s, owned);
    return code;
}

/* ---- sessions ------------------------------------------------------------ */

int fd_store_session_by_opening(fd_store *st, const char *owner, const char *user1,
                                const char *assistant1, char out[65], fd_err *err)
{
    store_stmt *s = NULL;
    int code = store_prep(st,
                          "SELECT t1.session_id FROM turns t1 "
                          "JOIN turns t2 ON t2.session_id = t1.session_id AND t2.seq = 2 "
                          "JOIN sessions s ON s.id = t1.session_id "
                          "WHERE t1.seq = 1 AND t1.text = ?1 AND t2.text = ?2 AND s.owner = ?3 "
                          "ORDER BY s.updated_at DESC LIMIT 1",
                          &s, err, "finding a conversation by its opening");
    if (code)
        return code;
    store_bind_str(s, 1, user1);
    store_bind_str(s, 2, assistant1);
    store_bind_str(s, 3, owner);
    int rc = stmt_step(s);
    if (rc == SQLITE_ROW)
        snprintf(out, 65, "%s", store_col_str(s, 0));
    else if (rc == SQLITE_DONE)
        code = fd_err_set(err, FD_ENOTFOUND, "no conversation opened that way");
    else
        code = store_fail(st, rc, err, "finding a conversation by its opening");
    stmt_finalize(s);
    return code;
}

int fd_store_session_get(fd_store *st, const char *id, fd_arena *a, fd_session_row *out,
                         fd_err *err)
{
    store_stmt *s;
    int owned;
    int code = store_acquire(st, STMT_SESSION_GET, &s, &owned, err);
    if (code)
        return code;
    store_bind_str(s, 1, id);
    int rc = stmt_step(s);
    if (rc == SQLITE_ROW) {
        out->id = store_col_str(s, 0);
        out->user = store_col_str(s, 1);
        out->lang = store_col_str(s, 2);
        out->slots = store_col_str(s, 3);
        out->state = store_col_str(s, 4);
        out->n_turns = stmt_col_i64(s, 5);
        out->unresolved = stmt_col_int(s, 6);
        out->created_at = stmt_col_dbl(s, 7);
        out->updated_at = stmt_col_dbl(s, 8);
        out->owner = store_col_str(s, 9);
        out->has_handoff = stmt_col_int(s, 10);
        const char **const strs[] = {&out->id,    &out->user,  &out->lang,
                                     &out->slots, &out->state, &out->owner};
        code = copy_all(a, strs, 6, err);
    } else if (rc == SQLITE_DONE) {
        code = fd_err_set(err, FD_ENOTFOUND, "no session %s", id);
    } else {
        code = store_fail(st, rc, err, "reading session");
    }
    store_release(s, owned);
    return code;
}

/* Parameters 1-10 of STMT_SESSION_PUT (and of the turn write). */
static void bind_session(store_stmt *s, const fd_session_row *r)
{
    double now = fd_time_wall();
    store_bind_str(s, 1, r->id);
    store_bind_str(s, 2, r->user);
    store_bind_str(s, 3, r->lang);
    store_bind_str(s, 4, r->slots && r->slots[0] ? r->slots : "{}");
    store_bind_str(s, 5, r->state && r->state[0] ? r->state : "bot");
    stmt_bind_i64(s, 6, r->n_turns);
    stmt_bind_int(s, 7, r->unresolved);
    stmt_bind_dbl(s, 8, r->created_at > 0 ? r->created_at : now);
    stmt_bind_dbl(s, 9, now);
    store_bind_str(s, 10, r->owner ? r->owner : "");
}

int fd_store_session_put(fd_store *st, const fd_session_row *r, fd_err *err)
{
    if (!r->id || !r->id[0])
        return fd_err_set_field(err, FD_EINVAL, "session_id", "empty session id");
    store_stmt *s;
    int owned;
    int code = store_acquire(st, STMT_SESSION_PUT, &s, &owned, err);
    if (code)
        return code;
    bind_session(s, r);
    int rc = stmt_step(s);
    if (rc != SQLITE_DONE)
        code = store_fail(st, rc, err, "writing session");
    store_release(s, owned);
    return code;
}

static int delete_session_row(fd_store *st, const char *id, fd_err *err)
{
    store_stmt *s;
    int owned;
    int code = store_acquire(st, STMT_SESSION_DELETE, &s, &owned, err);
    if (code)
        return code;
    store_bind_str(s, 1, id);
    int rc = stmt_step(s);
    if (rc != SQLITE_DONE)
        code = store_fail(st, rc, err, "deleting session");
    else if (store_changes(st) == 0)
        code = fd_err_set(err, FD_ENOTFOUND, "no session %s", id);
    store_release(s, owned);
    return code;
}

/* The session and everything that quotes it, in one transaction: its
 * turns, notes and attachments go with it (ON DELETE CASCADE), its
 * analytics events (a rating's comment) and handoffs (their summary
 * quotes the customer) are deleted too, and the cost ledger keeps its
 * amounts without the session, as fd_store_user_erase does for a user. */
int fd_store_session_delete(fd_store *st, const char *id, fd_err *err)
{
    static const char *const sql[] = {
        "DELETE FROM analytics_events WHERE session_id = ?1",
        "DELETE FROM handoffs WHERE session_id = ?1",
        "UPDATE costs SET session_id = '' WHERE session_id = ?1",
    };
    int code = fd_store_begin(st, err);
    if (code)
        return code;
    for (size_t i = 0; !code && i < sizeof sql / sizeof *sql; i++) {
        store_stmt *s = NULL;
        int rc = store_stmt_prepare(st, sql[i], &s);
        if (rc == SQLITE_OK) {
            store_bind_str(s, 1, id);
            rc = stmt_step(s);
        }
        if (rc != SQLITE_DONE)
            code = store_fail(st, rc, err, "deleting a session's events and handoffs");
        stmt_finalize(s);
    }
    if (!code)
        code = delete_session_row(st, id, err);
    if (!code)
        code = fd_store_commit(st, err);
    else
        fd_store_rollback(st); /* all of it or none */
    return code;
}

/* ---- turns --------------------------------------------------------------- */

/* A turn's role, text, intent, route, meta and created_at as parameters
 * base+1 to base+6. */
static void bind_turn(store_stmt *s, int base, const fd_turn_row *t)
{
    store_bind_str(s, base + 1, t->role);
    store_bind_str(s, base + 2, t->text);
    store_bind_str(s, base + 3, t->intent);
    store_bind_str(s, base + 4, t->route);
    store_bind_str(s, base + 5, t->meta && t->meta[0] ? t->meta : "{}");
    stmt_bind_dbl(s, base + 6, t->created_at > 0 ? t->created_at : fd_time_wall());
}

/* A failed turn write: a seq another writer took first (the unique index
 * turns_session_seq) is told apart from other conflicts, so the caller
 * runs the transaction again instead of failing the customer's turn. */
static int turn_fail(fd_store *st, int rc, fd_err *err, const char *what)
{
    if ((rc & 0xff) == SQLITE_CONSTRAINT && strstr(store_errmsg(st), "turns_session_seq"))
        return fd_err_set_field(err, FD_ECONFLICT, "seq",
                                "%s: another writer numbered this conversation's turn "
                                "first; run it again",
                                what);
    return store_fail(st, rc, err, what);
}

/* The conversation's last seq (0: no turn yet). SQLite, in a write
 * transaction: no other writer can number a turn until it ends. */
static int turn_last(fd_store *st, const char *session_id, int64_t *last, fd_err *err)
{
    store_stmt *s;
    int owned;
    int code = store_acquire(st, STMT_TURN_LAST, &s, &owned, err);
    if (code)
        return code;
    store_bind_str(s, 1, session_id);
    int rc = stmt_step(s);
    if (rc == SQLITE_ROW)
        *last = stmt_col_i64(s, 0);
    else
        code = store_fail(st, rc, err, "reading a conversation's last turn");
    store_release(s, owned);
    return code;
}

/* Turn t as number seq (SQLite, in a write transaction). The unique index
 * turns_session_seq stays the last word, as with STMT_TURN_ADD. */
static int turn_put(fd_store *st, const char *session_id, const fd_turn_row *t, int64_t seq,
                    fd_err *err)
{
    store_stmt *s;
    int owned;
    int code = store_acquire(st, STMT_TURN_PUT, &s, &owned, err);
    if (code)
        return code;
    store_bind_str(s, 1, session_id);
    bind_turn(s, 1, t);
    stmt_bind_i64(s, 8, seq);
    int rc = stmt_step(s);
    if (rc != SQLITE_DONE)
        code = turn_fail(st, rc, err, "adding turn");
    store_release(s, owned);
    return code;
}

/* SQLite inside a transaction: the seq read once, then plain inserts
 * (STMT_TURN_PUT says why). Elsewhere (PostgreSQL, or SQLite outside a
 * transaction, where the read and the insert would be two transactions)
 * one statement reads and inserts. */
static int turn_split(fd_store *st)
{
    /* holding the write lock, not merely inside a transaction: a deferred
     * one would read a seq another writer may take first */
    return st->engine == STORE_SQLITE && sqlite3_txn_state(st->db, "main") == SQLITE_TXN_WRITE;
}

int fd_store_turn_add(fd_store *st, const char *session_id, const fd_turn_row *t, int64_t *seq,
                      fd_err *err)
{
    int code = store_turns_lock(st, session_id, err);
    if (code)
        return code;
    if (turn_split(st)) {
        int64_t last = 0;
        code = turn_last(st, session_id, &last, err);
        if (!code)
            code = turn_put(st, session_id, t, last + 1, err);
        if (!code && seq)
            *seq = last + 1;
        return code;
    }
    store_stmt *s;
    int owned;
    code = store_acquire(st, STMT_TURN_ADD, &s, &owned, err);
    if (code)
        return code;
    store_bind_str(s, 1, session_id);
    bind_turn(s, 1, t);
    int rc = stmt_step(s);
    if (rc == SQLITE_ROW) {
        if (seq)
            *seq = stmt_col_i64(s, 0);
        rc = stmt_step(s);
    }
    if (rc != SQLITE_DONE)
        code = turn_fail(st, rc, err, "adding turn");
    store_release(s, owned);
    return code;
}

/* PostgreSQL: a message's rows as one statement (data-modifying CTEs,
 * which SQLite lacks). Measured under load (bench/RESULTS.md, issue 16),
 * each statement cost PostgreSQL more in parsing, planning and protocol
 * than in writing its row; this one is prepared once per connection and
 * answers in one round trip. The turns' foreign key to the session is
 * checked at the end of the statement, after the upsert. Parameters:
 * 1-10 the session (STMT_SESSION_PUT's), 11-16 and 17-22 the two turns,
 * 23 1 when there is an assistant turn, 24-25 the event, 26-37 the cost
 * row (STMT_COST_ADD's). */
#define TW_SESSION                                                                                 \
    "s AS (INSERT INTO sessions (id, user, lang, slots, state, n_turns, unresolved, "              \
    "created_at, updated_at, owner) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) "             \
    "ON CONFLICT(id) DO UPDATE SET user = excluded.user, lang = excluded.lang, "                   \
    "slots = excluded.slots, state = excluded.state, n_turns = excluded.n_turns, "                 \
    "unresolved = excluded.unresolved, updated_at = excluded.updated_at), "
#define TW_ROWS                                                                                    \
    "m AS (SELECT coalesce(max(seq), 0) AS last FROM turns WHERE session_id = ?1), "               \
    "t AS (INSERT INTO turns (session_id, seq, role, text, intent, route, meta, created_at) "      \
    "SELECT ?1, last + 1, ?11, ?12, ?13, ?14, ?15, ?16 FROM m UNION ALL "                          \
    "SELECT ?1, last + 2, ?17, ?18, ?19, ?20, ?21, ?22 FROM m WHERE ?23 = 1 RETURNING seq), "      \
    "e AS (INSERT INTO analytics_events (at, kind, session_id, turn_seq, data) "                   \
    "SELECT ?24, 'turn', ?1, CASE WHEN ?23 = 1 THEN max(seq) ELSE 0 END, ?25 FROM t), "            \
    "c AS (INSERT INTO costs (at, day, request_id, session_id, key, model, route, cached, "        \
    "llm_called, prompt_tokens, completion_tokens, cost_usd) "                                     \
    "VALUES (?26, ?27, ?28, ?29, ?30, ?31, ?32, ?33, ?34, ?35, ?36, ?37)) "                        \
    "SELECT CASE WHEN ?23 = 1 THEN max(seq) ELSE 0 END FROM t"

static int turn_write_pg(fd_store *st, const fd_turn_write *w, int64_t *seq, fd_err *err)
{
    /* Inside a batch (fd_store_begin_turns): the conversation's lock before
     * the statement's snapshot reads its last seq. */
    int code = store_turns_lock(st, w->session_id, err);
    if (code)
        return code;
    store_stmt *s;
    code = store_prep(st, w->session ? "WITH " TW_SESSION TW_ROWS : "WITH " TW_ROWS, &s, err,
                      "storing a turn");
    if (code)
        return code;
    if (w->session)
        bind_session(s, w->session);
    store_bind_str(s, 1, w->session_id);
    bind_turn(s, 10, w->user);
    /* Without one, the user's again: the UNION needs its types, and
     * ?23 = 0 leaves the row out. */
    bind_turn(s, 16, w->assistant ? w->assistant : w->user);
    stmt_bind_int(s, 23, w->assistant != NULL);
    stmt_bind_dbl(s, 24, fd_time_wall());
    store_bind_str(s, 25, w->event_data && w->event_data[0] ? w->event_data : "{}");
    char day[16];
    store_cost_bind(s, 25, w->cost, day);
    int rc = stmt_step(s);
    if (rc == SQLITE_ROW) {
        if (seq)
            *seq = stmt_col_i64(s, 0);
        rc = stmt_step(s);
    }
    if (rc != SQLITE_DONE)
        code = turn_fail(st, rc, err, "storing a turn");
    stmt_finalize(s);
    return code;
}

int fd_store_turn_write(fd_store *st, const fd_turn_write *w, int64_t *seq, fd_err *err)
{
    if (seq)
        *seq = 0;
    if (w->session && (!w->session->id || !w->session->id[0]))
        return fd_err_set_field(err, FD_EINVAL, "session_id", "empty session id");
    /* A lost race for the seq, as PostgreSQL reports one (tests of the
     * committer's retry, on either engine): nothing written. */
    if (FD_FAULT("store.turn_seq"))
        return fd_err_set_field(err, FD_ECONFLICT, "seq",
                                "storing a turn: injected fault store.turn_seq");
    if (st->engine == STORE_PG)
        return turn_write_pg(st, w, seq, err);
    int64_t aseq = 0;
    int code = w->session ? fd_store_session_put(st, w->session, err) : FD_OK;
    if (!code && turn_split(st)) {
        int64_t last = 0;
        code = turn_last(st, w->session_id, &last, err);
        if (!code)
            code = turn_put(st, w->session_id, w->user, last + 1, err);
        if (!code && w->assistant) {
            aseq = last + 2;
            code = turn_put(st, w->session_id, w->assistant, aseq, err);
        }
    } else {
        if (!code)
            code = fd_store_turn_add(st, w->session_id, w->user, NULL, err);
        if (!code && w->assistant)
            code = fd_store_turn_add(st, w->session_id, w->assistant, &aseq, err);
    }
    if (!code)
        code = fd_store_event_add(st, w->session_id, aseq, "turn", w->event_data, err);
    if (!code)
        code = fd_store_cost_add(st, w->cost, err);
    if (!code && seq)
        *seq = aseq;
    return code;
}

int fd_store_turns_each(fd_store *st, const char *session_id, int64_t after_seq,
                        int (*cb)(void *ctx, const fd_turn_row *t), void *ctx, fd_err *err)
{
    store_stmt *s;
    int owned;
    int code = store_acquire(st, STMT_TURNS_EACH, &s, &owned, err);
    if (code)
        return code;
    store_bind_str(s, 1, session_id);
    stmt_bind_i64(s, 2, after_seq);
    int rc;
    while ((rc = stmt_step(s)) == SQLITE_ROW) {
        fd_turn_row t = {
            .seq = stmt_col_i64(s, 0),
            .role = store_col_str(s, 1),
            .text = store_col_str(s, 2),
            .intent = store_col_str(s, 3),
            .route = store_col_str(s, 4),
            .meta = store_col_str(s, 5),
            .created_at = stmt_col_dbl(s, 6),
        };
        int stop = cb(ctx, &t);
        if (stop) {
            store_release(s, owned);
            return stop;
        }
    }
    if (rc != SQLITE_DONE)
        code = store_fail(st, rc, err, "reading turns");
    store_release(s, owned);
    return code;
}

/* ---- handoffs ------------------------------------------------------------ */

void store_handoff_from_row(store_stmt *s, fd_handoff_row *h, char *ticket, size_t ticket_size)
{
    h->id = stmt_col_i64(s, 0);
    h->session_id = store_col_str(s, 1);
    h->tier = store_col_str(s, 2);
    h->reason = store_col_str(s, 3);
    h->summary = store_col_str(s, 4);
    h->status = store_col_str(s, 5);
    h->operator_ = store_col_str(s, 6);
    h->created_at = stmt_col_dbl(s, 7);
    h->updated_at = stmt_col_dbl(s, 8);
    snprintf(ticket, ticket_size, "HD-%06lld", (long long)h->id);
    h->ticket = ticket;
}

int fd_store_handoff_add(fd_store *st, const fd_handoff_row *h, int64_t *id, char *ticket,
                         size_t ticket_size, fd_err *err)
{
    store_stmt *s;
    int owned;
    int code = store_acquire(st, STMT_HANDOFF_ADD, &s, &owned, err);
    if (code)
        return code;
    store_bind_str(s, 1, h->session_id);
    store_bind_str(s, 2, h->tier);
    store_bind_str(s, 3, h->reason);
    store_bind_str(s, 4, h->summary);
    stmt_bind_dbl(s, 5, fd_time_wall());
    int rc = stmt_step(s);
    if (rc != SQLITE_DONE) {
        code = store_fail(st, rc, err, "creating handoff");
    } else {
        int64_t nid = store_last_id(st);
        if (nid <= 0)
            code = store_fail(st, SQLITE_ERROR, err, "creating handoff");
        if (id)
            *id = nid;
        if (ticket && nid > 0)
            snprintf(ticket, ticket_size, "HD-%06lld", (long long)nid);
    }
    store_release(s, owned);
    return code;
}

int fd_store_handoff_get(fd_store *st, int64_t id, fd_arena *a, fd_handoff_row *out, fd_err *err)
{
    store_stmt *s;
    int owned;
    int code = store_acquire(st, STMT_HANDOFF_GET, &s, &owned, err);
    if (code)
        return code;
    stmt_bind_i64(s, 1, id);
    int rc = stmt_step(s);
    if (rc == SQLITE_ROW) {
        char ticket[32];
        store_handoff_from_row(s, out, ticket, sizeof ticket);
        const char **const strs[] = {&out->session_id, &out->tier,      &out->reason, &out->summary,
                                     &out->status,     &out->operator_, &out->ticket};
        code = copy_all(a, strs, 7, err);
    } else if (rc == SQLITE_DONE) {
        code = fd_err_set(err, FD_ENOTFOUND, "no handoff %lld", (long long)id);
    } else {
        code = store_fail(st, rc, err, "reading handoff");
    }
    store_release(s, owned);
    return code;
}

int fd_store_handoffs_each(fd_store *st, const char *status,
                           int (*cb)(void *ctx, const fd_handoff_row *h), void *ctx, fd_err *err)
{
    store_stmt *s;
    int owned;
    int code = store_acquire(st, STMT_HANDOFFS_EACH, &s, &owned, err);
    if (code)
        return code;
    store_bind_str(s, 1, status ? status : "");
    int rc;
    while ((rc = stmt_step(s)) == SQLITE_ROW) {
        fd_handoff_row h;
        char ticket[32];
        store_handoff_from_row(s, &h, ticket, sizeof ticket);
        int stop = cb(ctx, &h);
        if (stop) {
            store_release(s, owned);
            return stop;
        }
    }
    if (rc != SQLITE_DONE)
        code = store_fail(st, rc, err, "listing handoffs");
    store_release(s, owned);
    return code;
}

int fd_store_handoff_set_status(fd_store *st, int64_t id, const char *from_status,
                                const char *status, const char *operator_, fd_err *err)
{
    store_stmt *s;
    int owned;
    int code = store_acquire(st, STMT_HANDOFF_STATUS, &s, &owned, err);
    if (code)
        return code;
    stmt_bind_i64(s, 1, id);
    store_bind_str(s, 2, status);
    if (operator_)
        store_bind_str(s, 3, operator_);
    stmt_bind_dbl(s, 4, fd_time_wall());
    if (from_status)
        store_bind_str(s, 5, from_status);
    int rc = stmt_step(s);
    int changed = store_changes(st);
    if (rc != SQLITE_DONE)
        code = store_fail(st, rc, err, "updating handoff");
    store_release(s, owned);
    if (code || changed)
        return code;
    /* Nothing changed: tell a missing handoff from one in another state. */
    fd_arena *a = fd_arena_new(0);
    if (!a)
        return fd_err_set(err, FD_ENOMEM, "store: no memory");
    fd_handoff_row h;
    code = fd_store_handoff_get(st, id, a, &h, err);
    if (!code)
        code = fd_err_set(err, FD_ECONFLICT, "handoff %lld is %s, not %s", (long long)id, h.status,
                          from_status ? from_status : "?");
    fd_arena_free(a);
    return code;
}

/* ---- analytics ----------------------------------------------------------- */

int fd_store_event_add(fd_store *st, const char *session_id, int64_t turn_seq, const char *kind,
                       const char *data, fd_err *err)
{
    store_stmt *s;
    int owned;
    int code = store_acquire(st, STMT_EVENT_ADD, &s, &owned, err);
    if (code)
        return code;
    stmt_bind_dbl(s, 1, fd_time_wall());
    store_bind_str(s, 2, kind);
    store_bind_str(s, 3, session_id);
    stmt_bind_i64(s, 4, turn_seq);
    store_bind_str(s, 5, data && data[0] ? data : "{}");
    int rc = stmt_step(s);
    if (rc != SQLITE_DONE)
        code = store_fail(st, rc, err, "adding event");
    store_release(s, owned);
    return code;
}

int fd_store_events_each(fd_store *st,
                         int (*cb)(void *ctx, const char *kind, const char *session_id,
                                   int64_t turn_seq, const char *data),
                         void *ctx, fd_err *err)
{
    store_stmt *s;
    int owned;
    int code = store_acquire(st, STMT_EVENTS_EACH, &s, &owned, err);
    if (code)
        return code;
    int rc;
    while ((rc = stmt_step(s)) == SQLITE_ROW) {
        int stop = cb(ctx, store_col_str(s, 0), store_col_str(s, 1), stmt_col_i64(s, 2),
                      store_col_str(s, 3));
        if (stop) {
            store_release(s, owned);
            return stop;
        }
    }
    if (rc != SQLITE_DONE)
        code = store_fail(st, rc, err, "reading events");
    store_release(s, owned);
    return code;
}

/* ---- conversation locks --------------------------------------------------- */

int fd_store_convo_lock(fd_store *st, const char *session_id, const char *holder, double lease_s,
                        int wait_ms, fd_err *err)
{
    if (!store_autocommit(st))
        return fd_err_set(err, FD_EINVAL, "store: convo_lock inside a transaction");
    /* Taken when free or expired; an upsert is atomic on both engines. */
    static const char sql[] =
        "INSERT INTO convo_locks (session_id, holder, expires_at) VALUES (?1, ?2, ?3) "
        "ON CONFLICT(session_id) DO UPDATE SET holder = excluded.holder, "
        "expires_at = excluded.expires_at WHERE convo_locks.expires_at < ?4 "
        /* our own, when the answer to the first try was lost */
        "OR convo_locks.holder = excluded.holder";
    store_stmt *s;
    int rc = store_prep(st, sql, &s, err, "locking a conversation");
    if (rc)
        return rc;
    uint64_t t0 = fd_time_ns();
    int pause_ms = 2;
    for (;;) {
        double now = fd_time_wall();
        store_bind_str(s, 1, session_id);
        store_bind_str(s, 2, holder);
        stmt_bind_dbl(s, 3, now + lease_s);
        stmt_bind_dbl(s, 4, now);
        int step = stmt_step(s);
        stmt_reset(s);
        if (step != SQLITE_DONE && step != SQLITE_BUSY) {
            rc = store_fail(st, step, err, "locking a conversation");
            break;
        }
        if (step == SQLITE_DONE && store_changes(st) == 1)
            break;
        if ((fd_time_ns() - t0) / 1000000 >= (uint64_t)wait_ms) {
            rc = fd_err_set(err, FD_EUNAVAIL,
                            "another message of this conversation is still being answered; "
                            "retry shortly");
            break;
        }
        struct timespec ts = {0, (long)pause_ms * 1000000L};
        nanosleep(&ts, NULL);
        if (pause_ms < 25)
            pause_ms *= 2;
    }
    stmt_finalize(s);
    return rc;
}

void fd_store_convo_unlock(fd_store *st, const char *session_id, const char *holder)
{
    store_stmt *s;
    fd_err err;
    if (store_prep(st, "DELETE FROM convo_locks WHERE session_id = ?1 AND holder = ?2", &s, &err,
                   "unlocking a conversation"))
        return; /* the lease runs out by itself */
    store_bind_str(s, 1, session_id);
    store_bind_str(s, 2, holder);
    /* Deleting by holder is safe to repeat: once more after a failure (a
     * connection a restarted server dropped), or the conversation would
     * stay locked for the rest of the lease. */
    if (stmt_step(s) != SQLITE_DONE) {
        stmt_reset(s);
        (void)stmt_step(s);
    }
    stmt_finalize(s);
}

void fd_store_convo_unlock_many(fd_store *st, const char *const *session_ids,
                                const char *const *holders, size_t n)
{
    /* (session_id, holder) pairs as row values: both engines take them.
     * UNLOCK_PAIRS pairs a statement: two parameters each, within the
     * PostgreSQL engine's cap (PG_MAX_PARAMS, 40, pg.c); a statement with
     * more fails to prepare. */
    enum { UNLOCK_PAIRS = 20 };
    static const char head[] = "DELETE FROM convo_locks WHERE (session_id, holder) IN (VALUES ";
    char sql[sizeof head + UNLOCK_PAIRS * sizeof ", (?40, ?40)" + 2];
    for (size_t at = 0; at < n; at += UNLOCK_PAIRS) {
        size_t k = n - at < UNLOCK_PAIRS ? n - at : UNLOCK_PAIRS;
        size_t len = (size_t)snprintf(sql, sizeof sql, "%s", head);
        for (size_t i = 0; i < k; i++)
            len += (size_t)snprintf(sql + len, sizeof sql - len, "%s(?%zu, ?%zu)", i ? ", " : "",
                                    2 * i + 1, 2 * i + 2);
        snprintf(sql + len, sizeof sql - len, ")");
        store_stmt *s;
        fd_err err;
        if (store_prep(st, sql, &s, &err, "unlocking conversations"))
            continue; /* these leases run out by themselves; the next may go */
        for (size_t i = 0; i < k; i++) {
            store_bind_str(s, (int)(2 * i + 1), session_ids[at + i]);
            store_bind_str(s, (int)(2 * i + 2), holders[at + i]);
        }
        /* Safe to repeat, as fd_store_convo_unlock says. */
        if (stmt_step(s) != SQLITE_DONE) {
            stmt_reset(s);
            (void)stmt_step(s);
        }
        stmt_finalize(s);
    }
}
