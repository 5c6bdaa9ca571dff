/* outbox.c: rows that must reach another system (invoices for the
 * accounting API), written with the order that needs them and delivered by
 * a worker (src/outbox/) that records each attempt here. The order's
 * status follows its invoice: delivered -> invoiced, dead -> failed. */
#include "store_int.h"

#include <string.h>

static const char *const states[] = {"pending", "retry", "delivered", "dead", "dropped"};

#define ROW_COLS                                                                                   \
    "o.id, o.kind, o.order_id, coalesce(d.ref, ''), o.idem_key, o.payload, o.state, o.attempts, "  \
    "o.next_at, o.last_error, o.external_id, o.created_at, o.updated_at"
#define ROW_FROM " FROM outbox o LEFT JOIN orders d ON d.id = o.order_id "

static void from_row(store_stmt *s, fd_outbox_row *r)
{
    r->id = stmt_col_i64(s, 0);
    r->kind = store_col_str(s, 1);
    r->order_id = stmt_col_i64(s, 2);
    r->order_ref = store_col_str(s, 3);
    r->idem_key = store_col_str(s, 4);
    r->payload = store_col_str(s, 5);
    r->state = store_col_str(s, 6);
    r->attempts = stmt_col_int(s, 7);
    r->next_at = stmt_col_dbl(s, 8);
    r->last_error = store_col_str(s, 9);
    r->external_id = store_col_str(s, 10);
    r->created_at = stmt_col_dbl(s, 11);
    r->updated_at = stmt_col_dbl(s, 12);
}

int fd_store_outbox_add(fd_store *st, const char *kind, int64_t order_id, const char *idem_key,
                        const char *payload, fd_err *err)
{
    store_stmt *s;
    /* A duplicate key is answered FD_ECONFLICT without failing the
     * statement: on PostgreSQL a failed statement would end the caller's
     * transaction, and "said already" is an answer, not an error. */
    int rc =
        store_prep(st,
                   "INSERT INTO outbox(kind, order_id, idem_key, payload, created_at, updated_at) "
                   "VALUES (?1, ?2, ?3, ?4, ?5, ?5) ON CONFLICT(idem_key) DO NOTHING",
                   &s, err, "queueing an outbox row");
    if (rc)
        return rc;
    store_bind_str(s, 1, kind);
    stmt_bind_i64(s, 2, order_id);
    store_bind_str(s, 3, idem_key);
    store_bind_str(s, 4, payload);
    stmt_bind_dbl(s, 5, fd_time_wall());
    rc = store_run(st, s, err, "queueing an outbox row");
    if (!rc && store_changes(st) == 0)
        rc =
            fd_err_set(err, FD_ECONFLICT, "queueing an outbox row: %s is queued already", idem_key);
    return rc;
}

int fd_store_outbox_due(fd_store *st, const char *kind, double now, int limit, fd_arena *a,
                        fd_outbox_row **out, size_t *n, fd_err *err)
{
    *out = NULL;
    *n = 0;
    store_stmt *s;
    int rc = store_prep(st,
                        "SELECT " ROW_COLS ROW_FROM
                        "WHERE o.state IN ('pending', 'retry') AND o.next_at <= ?1 AND o.kind = ?3 "
                        "ORDER BY o.id LIMIT ?2",
                        &s, err, "reading the outbox");
    if (rc)
        return rc;
    stmt_bind_dbl(s, 1, now);
    stmt_bind_int(s, 2, limit > 0 ? limit : 1);
    store_bind_str(s, 3, kind);
    fd_outbox_row *v = fd_arena_calloc(a, (size_t)(limit > 0 ? limit : 1), sizeof *v);
    if (!v) {
        stmt_finalize(s);
        return fd_err_set(err, FD_ENOMEM, "out of memory");
    }
    int step;
    while ((step = stmt_step(s)) == SQLITE_ROW && !rc) {
        fd_outbox_row *r = &v[(*n)++];
        from_row(s, r);
        const char **strs[] = {&r->kind,  &r->order_ref,  &r->idem_key,   &r->payload,
                               &r->state, &r->last_error, &r->external_id};
        for (size_t i = 0; i < sizeof strs / sizeof *strs && !rc; i++)
            rc = store_arena_copy(a, strs[i], err);
    }
    if (!rc && step != SQLITE_DONE)
        rc = store_fail(st, step, err, "reading the outbox");
    stmt_finalize(s);
    *out = v;
    return rc;
}

int fd_store_outbox_each(fd_store *st, const char *state,
                         int (*cb)(void *ctx, const fd_outbox_row *r), void *ctx, fd_err *err)
{
    store_stmt *s;
    int rc = store_prep(
        st, "SELECT " ROW_COLS ROW_FROM "WHERE ?1 = '' OR o.state = ?1 ORDER BY o.id DESC", &s, err,
        "reading the outbox");
    if (rc)
        return rc;
    store_bind_str(s, 1, state ? state : "");
    int step;
    while ((step = stmt_step(s)) == SQLITE_ROW) {
        fd_outbox_row r;
        from_row(s, &r);
        if (cb(ctx, &r))
            break;
    }
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        rc = store_fail(st, step, err, "reading the outbox");
    stmt_finalize(s);
    return rc;
}

/* The order follows its invoice, with a history row. */
static int order_follows(fd_store *st, int64_t id, const char *status, const char *note,
                         fd_err *err)
{
    store_stmt *s;
    int rc = store_prep(st, "SELECT order_id FROM outbox WHERE id = ?1 AND kind = 'invoice'", &s,
                        err, "reading the outbox");
    if (rc)
        return rc;
    stmt_bind_i64(s, 1, id);
    int step = stmt_step(s);
    int64_t order = step == SQLITE_ROW ? stmt_col_i64(s, 0) : 0;
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        rc = store_fail(st, step, err, "reading the outbox");
    stmt_finalize(s);
    int moved;
    /* a cancelled order stays cancelled whatever its invoice does */
    return rc || !order ? rc : store_order_move(st, order, status, note, 1, &moved, err);
}

int fd_store_outbox_update(fd_store *st, int64_t id, const char *state, int attempts,
                           double next_at, const char *error, const char *external_id, fd_err *err)
{
    store_stmt *s;
    int rc =
        store_prep(st,
                   "UPDATE outbox SET state = ?1, attempts = ?2, next_at = ?3, last_error = ?4, "
                   "external_id = CASE WHEN ?5 = '' THEN external_id ELSE ?5 END, updated_at = ?6 "
                   "WHERE id = ?7",
                   &s, err, "updating the outbox");
    if (rc)
        return rc;
    store_bind_str(s, 1, state);
    stmt_bind_int(s, 2, attempts);
    stmt_bind_dbl(s, 3, next_at);
    store_bind_str(s, 4, error ? error : "");
    store_bind_str(s, 5, external_id ? external_id : "");
    stmt_bind_dbl(s, 6, fd_time_wall());
    stmt_bind_i64(s, 7, id);
    rc = store_run(st, s, err, "updating the outbox");
    if (!rc && store_changes(st) == 0)
        rc = fd_err_set(err, FD_ENOTFOUND, "no outbox row %lld", (long long)id);
    if (!rc && strcmp(state, "delivered") == 0)
        rc = order_follows(st, id, "invoiced",
                           external_id && external_id[0] ? external_id : "invoice delivered", err);
    if (!rc && strcmp(state, "dead") == 0)
        rc = order_follows(st, id, "failed", error ? error : "invoice not delivered", err);
    return rc;
}

static int move(fd_store *st, int64_t id, const char *to, fd_err *err)
{
    store_stmt *s;
    int rc =
        store_prep(st, "SELECT state FROM outbox WHERE id = ?1", &s, err, "reading the outbox");
    if (rc)
        return rc;
    stmt_bind_i64(s, 1, id);
    int step = stmt_step(s);
    if (step == SQLITE_DONE)
        rc = fd_err_set(err, FD_ENOTFOUND, "no outbox row %lld", (long long)id);
    else if (step != SQLITE_ROW)
        rc = store_fail(st, step, err, "reading the outbox");
    else if (strcmp(store_col_str(s, 0), "delivered") == 0 ||
             strcmp(store_col_str(s, 0), "dropped") == 0)
        rc = fd_err_set(err, FD_ECONFLICT, "outbox row %lld is %s already", (long long)id,
                        store_col_str(s, 0));
    stmt_finalize(s);
    if (rc)
        return rc;
    int retry = strcmp(to, "pending") == 0;
    rc = store_prep(st,
                    retry ? "UPDATE outbox SET state = 'pending', attempts = 0, next_at = 0, "
                            "updated_at = ?1 WHERE id = ?2"
                          : "UPDATE outbox SET state = 'dropped', updated_at = ?1 WHERE id = ?2",
                    &s, err, "updating the outbox");
    if (rc)
        return rc;
    stmt_bind_dbl(s, 1, fd_time_wall());
    stmt_bind_i64(s, 2, id);
    return store_run(st, s, err, "updating the outbox");
}

int fd_store_outbox_retry(fd_store *st, int64_t id, fd_err *err)
{
    return move(st, id, "pending", err);
}

int fd_store_outbox_drop(fd_store *st, int64_t id, fd_err *err)
{
    return move(st, id, "dropped", err);
}

int fd_store_outbox_counts(fd_store *st, int64_t counts[5], fd_err *err)
{
    memset(counts, 0, 5 * sizeof *counts);
    store_stmt *s;
    int rc = store_prep(st, "SELECT state, count(*) FROM outbox GROUP BY state", &s, err,
                        "counting the outbox");
    if (rc)
        return rc;
    int step;
    while ((step = stmt_step(s)) == SQLITE_ROW)
        for (int i = 0; i < 5; i++)
            if (strcmp(store_col_str(s, 0), states[i]) == 0)
                counts[i] = stmt_col_i64(s, 1);
    if (step != SQLITE_DONE)
        rc = store_fail(st, step, err, "counting the outbox");
    stmt_finalize(s);
    return rc;
}

int fd_store_acct_token_get(fd_store *st, fd_arena *a, const void **blob, size_t *len,
                            int64_t *generation, fd_err *err)
{
    store_stmt *s;
    int rc = store_prep(st, "SELECT refresh_enc, generation FROM accounting_tokens WHERE id = 1",
                        &s, err, "reading the accounting token");
    if (rc)
        return rc;
    int step = stmt_step(s);
    if (step == SQLITE_ROW) {
        size_t n = (size_t)stmt_col_bytes(s, 0);
        void *p = fd_arena_alloc(a, n + 1);
        if (!p) {
            rc = fd_err_set(err, FD_ENOMEM, "out of memory");
        } else {
            if (n)
                memcpy(p, stmt_col_blob(s, 0), n);
            *blob = p;
            *len = n;
            *generation = stmt_col_i64(s, 1);
        }
    } else if (step == SQLITE_DONE) {
        rc = fd_err_set(err, FD_ENOTFOUND, "not connected to the accounting system");
    } else {
        rc = store_fail(st, step, err, "reading the accounting token");
    }
    stmt_finalize(s);
    return rc;
}

int fd_store_acct_token_put(fd_store *st, const void *blob, size_t len, fd_err *err)
{
    store_stmt *s;
    int rc = store_prep(st,
                        "INSERT INTO accounting_tokens(id, refresh_enc, generation, updated_at) "
                        "VALUES (1, ?1, 1, ?2) ON CONFLICT(id) DO UPDATE SET refresh_enc = ?1, "
                        "generation = generation + 1, updated_at = ?2",
                        &s, err, "storing the accounting token");
    if (rc)
        return rc;
    stmt_bind_blob(s, 1, blob, len);
    stmt_bind_dbl(s, 2, fd_time_wall());
    return store_run(st, s, err, "storing the accounting token");
}
