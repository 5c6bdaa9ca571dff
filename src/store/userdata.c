/* userdata.c: a customer's data under their control (issue 17): every
 * session of one end user (the `user` a chat carried, or its JWT subject)
 * for export, and erasure of all of it in one transaction; and the audit
 * log of administrative actions, which no API route can edit. Statements
 * are prepared per call: these are rare, administrative operations. */
#include "store_int.h"

#include <string.h>

/* sql with ?1 = arg (text), or = *num when arg is NULL (a time: bound as
 * a number, which PostgreSQL compares with a DOUBLE PRECISION column and
 * text would not). */
static int exec_bind(fd_store *st, const char *sql, const char *arg, const double *num,
                     int64_t *changes, fd_err *err, const char *what)
{
    store_stmt *s = NULL;
    int rc = store_stmt_prepare(st, sql, &s);
    if (rc == SQLITE_OK) {
        if (arg)
            store_bind_str(s, 1, arg);
        else
            stmt_bind_dbl(s, 1, *num);
        rc = stmt_step(s);
    }
    int code = rc == SQLITE_DONE ? FD_OK : store_fail(st, rc, err, what);
    if (!code && changes)
        *changes = store_changes(st);
    stmt_finalize(s);
    return code;
}

int fd_store_user_sessions(fd_store *st, const char *user,
                           int (*cb)(void *ctx, const fd_session_row *s), void *ctx, fd_err *err)
{
    if (!user || !user[0])
        return fd_err_set_field(err, FD_EINVAL, "user", "a user id is required");
    store_stmt *s = NULL;
    int rc = store_stmt_prepare(st,
                                "SELECT id, user, lang, slots, state, n_turns, created_at, "
                                "updated_at FROM sessions WHERE user = ?1 ORDER BY created_at",
                                &s);
    if (rc != SQLITE_OK)
        return store_fail(st, rc, err, "reading a user's sessions");
    store_bind_str(s, 1, user);
    int code = FD_OK;
    while ((rc = stmt_step(s)) == SQLITE_ROW) {
        fd_session_row r = {0};
        r.id = store_col_str(s, 0);
        r.user = store_col_str(s, 1);
        r.lang = store_col_str(s, 2);
        r.slots = store_col_str(s, 3);
        r.state = store_col_str(s, 4);
        r.n_turns = stmt_col_i64(s, 5);
        r.created_at = stmt_col_dbl(s, 6);
        r.updated_at = stmt_col_dbl(s, 7);
        r.owner = "";
        int stop = cb(ctx, &r);
        if (stop) {
            code = stop;
            break;
        }
    }
    if (!code && rc != SQLITE_DONE)
        code = store_fail(st, rc, err, "reading a user's sessions");
    stmt_finalize(s);
    return code;
}

int fd_store_user_erase(fd_store *st, const char *user, int64_t *n_sessions, fd_err *err)
{
    *n_sessions = 0;
    if (!user || !user[0])
        return fd_err_set_field(err, FD_EINVAL, "user", "a user id is required");
    int rc = fd_store_begin(st, err);
    if (rc)
        return rc;
    /* Everything keyed by the user's sessions first, then the sessions (their
     * turns go with them: ON DELETE CASCADE). The cost ledger keeps its
     * amounts, without the session. */
    static const char *const sql[] = {
        "DELETE FROM analytics_events WHERE session_id IN (SELECT id FROM sessions WHERE user = "
        "?1)",
        "DELETE FROM handoffs WHERE session_id IN (SELECT id FROM sessions WHERE user = ?1)",
        "UPDATE costs SET session_id = '' WHERE session_id IN "
        "(SELECT id FROM sessions WHERE user = ?1)",
    };
    for (size_t i = 0; !rc && i < sizeof sql / sizeof *sql; i++)
        rc = exec_bind(st, sql[i], user, NULL, NULL, err, "erasing a user's data");
    if (!rc)
        rc = exec_bind(st, "DELETE FROM sessions WHERE user = ?1", user, NULL, n_sessions, err,
                       "erasing a user's sessions");
    if (!rc)
        rc = fd_store_commit(st, err);
    if (rc)
        fd_store_rollback(st); /* all of it or none */
    return rc;
}

int fd_store_audit_add(fd_store *st, const char *actor, const char *action, const char *target,
                       const char *detail, fd_err *err)
{
    store_stmt *s = NULL;
    int rc = store_stmt_prepare(st,
                                "INSERT INTO audit_log (at, actor, action, target, detail) "
                                "VALUES (?1, ?2, ?3, ?4, ?5)",
                                &s);
    if (rc == SQLITE_OK) {
        stmt_bind_dbl(s, 1, fd_time_wall());
        store_bind_str(s, 2, actor ? actor : "");
        store_bind_str(s, 3, action);
        store_bind_str(s, 4, target ? target : "");
        store_bind_str(s, 5, detail ? detail : "");
        rc = stmt_step(s);
    }
    int code = rc == SQLITE_DONE ? FD_OK : store_fail(st, rc, err, "writing the audit log");
    stmt_finalize(s);
    return code;
}

int fd_store_audit_each(fd_store *st,
                        int (*cb)(void *ctx, double at, const char *actor, const char *action,
                                  const char *target, const char *detail),
                        void *ctx, fd_err *err)
{
    store_stmt *s = NULL;
    int rc = store_stmt_prepare(
        st, "SELECT at, actor, action, target, detail FROM audit_log ORDER BY id", &s);
    if (rc != SQLITE_OK)
        return store_fail(st, rc, err, "reading the audit log");
    int code = FD_OK;
    while ((rc = stmt_step(s)) == SQLITE_ROW) {
        int stop = cb(ctx, stmt_col_dbl(s, 0), store_col_str(s, 1), store_col_str(s, 2),
                      store_col_str(s, 3), store_col_str(s, 4));
        if (stop) {
            code = stop;
            break;
        }
    }
    if (!code && rc != SQLITE_DONE)
        code = store_fail(st, rc, err, "reading the audit log");
    stmt_finalize(s);
    return code;
}

int fd_store_retention(fd_store *st, double sessions_before, double events_before,
                       double costs_before, fd_retention_counts *out, fd_err *err)
{
    memset(out, 0, sizeof *out);
    int rc = fd_store_begin(st, err);
    if (rc)
        return rc;
    /* Conversations idle since before the cutoff go whole (turns cascade),
     * with what hangs on them; events and cost rows by their own age. */
    if (sessions_before > 0) {
        static const char *const sql[] = {
            "DELETE FROM analytics_events WHERE session_id IN (SELECT id FROM sessions WHERE "
            "updated_at < ?1)",
            "DELETE FROM handoffs WHERE session_id IN (SELECT id FROM sessions WHERE updated_at < "
            "?1)",
        };
        for (size_t i = 0; !rc && i < sizeof sql / sizeof *sql; i++)
            rc = exec_bind(st, sql[i], NULL, &sessions_before, NULL, err, "retention");
        if (!rc)
            rc = exec_bind(st, "DELETE FROM sessions WHERE updated_at < ?1", NULL, &sessions_before,
                           &out->sessions, err, "retention");
    }
    if (!rc && events_before > 0)
        rc = exec_bind(st, "DELETE FROM analytics_events WHERE at < ?1", NULL, &events_before,
                       &out->events, err, "retention");
    if (!rc && costs_before > 0)
        rc = exec_bind(st, "DELETE FROM costs WHERE at < ?1", NULL, &costs_before, &out->costs, err,
                       "retention");
    if (!rc)
        rc = fd_store_commit(st, err);
    if (rc)
        fd_store_rollback(st);
    return rc;
}
