/* agents.c: rows of the agents and agent_sessions tables: people who sign
 * in to the operator console. Policy (password hashing, token format,
 * expiry) lives in auth/; these functions only read and write rows, by
 * value like keys.c, so the verify path of every console request
 * allocates nothing. */
#include "store_int.h"

#include <string.h>

#define AGENT_COLS                                                                                 \
    "a.id, a.name, a.display_name, a.pw_hash, a.created_at, a.disabled_at, "                       \
    "a.last_login_at"

static void copy_col(char *dst, size_t size, store_stmt *s, int col)
{
    const char *t = store_col_str(s, col);
    size_t n = strlen(t);
    if (n >= size)
        n = size - 1;
    memcpy(dst, t, n);
    dst[n] = '\0';
}

/* The agent's columns from col on, in AGENT_COLS' order. */
static void read_agent(store_stmt *s, int col, fd_agent_row *a)
{
    memset(a, 0, sizeof *a);
    a->id = stmt_col_i64(s, col);
    copy_col(a->name, sizeof a->name, s, col + 1);
    copy_col(a->display_name, sizeof a->display_name, s, col + 2);
    copy_col(a->pw_hash, sizeof a->pw_hash, s, col + 3);
    a->created_at = stmt_col_dbl(s, col + 4);
    a->disabled_at = stmt_col_dbl(s, col + 5);
    a->last_login_at = stmt_col_dbl(s, col + 6);
}

int fd_store_agent_add(fd_store *st, const fd_agent_row *a, int64_t *id, fd_err *err)
{
    if (!a->name[0] || strnlen(a->name, sizeof a->name) >= sizeof a->name)
        return fd_err_set_field(err, FD_EINVAL, "name", "store: bad agent name");
    if (!a->pw_hash[0] || strnlen(a->pw_hash, sizeof a->pw_hash) >= sizeof a->pw_hash)
        return fd_err_set_field(err, FD_EINVAL, "password", "store: bad password hash");
    store_stmt *s;
    int code = store_prep(st,
                          "INSERT INTO agents (name, display_name, pw_hash, created_at) "
                          "VALUES (?1, ?2, ?3, ?4) RETURNING id",
                          &s, err, "adding an agent");
    if (code)
        return code;
    store_bind_str(s, 1, a->name);
    store_bind_str(s, 2, a->display_name);
    store_bind_str(s, 3, a->pw_hash);
    stmt_bind_dbl(s, 4, a->created_at > 0 ? a->created_at : fd_time_wall());
    int rc = stmt_step(s);
    if (rc == SQLITE_ROW) {
        if (id)
            *id = stmt_col_i64(s, 0);
        rc = stmt_step(s);
    }
    /* A duplicate name is the UNIQUE constraint: FD_ECONFLICT. */
    if (rc != SQLITE_DONE)
        code = store_fail(st, rc, err, "adding an agent");
    stmt_finalize(s);
    if (code == FD_ECONFLICT)
        fd_err_set_field(err, FD_ECONFLICT, "name", "an agent named '%s' exists", a->name);
    return code;
}

int fd_store_agent_get(fd_store *st, const char *name, fd_agent_row *out, fd_err *err)
{
    store_stmt *s;
    int code = store_prep(st, "SELECT " AGENT_COLS " FROM agents a WHERE a.name = ?1", &s, err,
                          "reading an agent");
    if (code)
        return code;
    store_bind_str(s, 1, name);
    int rc = stmt_step(s);
    if (rc == SQLITE_ROW)
        read_agent(s, 0, out);
    else if (rc == SQLITE_DONE)
        code = fd_err_set(err, FD_ENOTFOUND, "no agent named '%s'", name);
    else
        code = store_fail(st, rc, err, "reading an agent");
    stmt_finalize(s);
    return code;
}

int fd_store_agents_each(fd_store *st, int (*cb)(void *ctx, const fd_agent_row *a), void *ctx,
                         fd_err *err)
{
    store_stmt *s;
    int code = store_prep(st, "SELECT " AGENT_COLS " FROM agents a ORDER BY a.name", &s, err,
                          "listing agents");
    if (code)
        return code;
    int rc;
    while ((rc = stmt_step(s)) == SQLITE_ROW) {
        fd_agent_row a;
        read_agent(s, 0, &a);
        int stop = cb(ctx, &a);
        if (stop) {
            stmt_finalize(s);
            return stop;
        }
    }
    if (rc != SQLITE_DONE)
        code = store_fail(st, rc, err, "listing agents");
    stmt_finalize(s);
    return code;
}

/* Runs an UPDATE or DELETE bound by the caller; FD_ENOTFOUND when it
 * changed no row and missing is set. */
static int run_change(fd_store *st, store_stmt *s, const char *missing, int64_t *n, fd_err *err,
                      const char *what)
{
    int rc = stmt_step(s);
    int64_t changed = store_changes(st);
    int code = rc == SQLITE_DONE ? FD_OK : store_fail(st, rc, err, what);
    stmt_finalize(s);
    if (n)
        *n = code ? 0 : changed;
    if (!code && !changed && missing)
        code = fd_err_set(err, FD_ENOTFOUND, "%s", missing);
    return code;
}

int fd_store_agent_update(fd_store *st, const char *name, const char *pw_hash,
                          const char *display_name, double disabled_at, fd_err *err)
{
    if (pw_hash && (!pw_hash[0] || strlen(pw_hash) >= sizeof((fd_agent_row *)0)->pw_hash))
        return fd_err_set_field(err, FD_EINVAL, "password", "store: bad password hash");
    store_stmt *s;
    /* disabled_at < 0 keeps the column: one statement for every change. */
    int code = store_prep(st,
                          "UPDATE agents SET pw_hash = coalesce(?2, pw_hash), "
                          "display_name = coalesce(?3, display_name), "
                          "disabled_at = CASE WHEN ?4 < 0 THEN disabled_at ELSE ?4 END "
                          "WHERE name = ?1",
                          &s, err, "updating an agent");
    if (code)
        return code;
    store_bind_str(s, 1, name);
    if (pw_hash)
        store_bind_str(s, 2, pw_hash);
    if (display_name)
        store_bind_str(s, 3, display_name);
    stmt_bind_dbl(s, 4, disabled_at);
    char missing[128];
    snprintf(missing, sizeof missing, "no agent named '%.64s'", name);
    return run_change(st, s, missing, NULL, err, "updating an agent");
}

int fd_store_agent_touch_login(fd_store *st, int64_t id, double at, fd_err *err)
{
    store_stmt *s;
    int code = store_prep(st, "UPDATE agents SET last_login_at = ?2 WHERE id = ?1", &s, err,
                          "recording a sign-in");
    if (code)
        return code;
    stmt_bind_i64(s, 1, id);
    stmt_bind_dbl(s, 2, at);
    return run_change(st, s, NULL, NULL, err, "recording a sign-in");
}

/* ---- sign-in sessions -------------------------------------------------------- */

int fd_store_agent_session_add(fd_store *st, const fd_agent_session_row *r, int64_t *id,
                               fd_err *err)
{
    if (strlen(r->token_hash) != 64)
        return fd_err_set_field(err, FD_EINVAL, "token", "store: token hash must be 64 hex digits");
    store_stmt *s;
    int code = store_prep(st,
                          "INSERT INTO agent_sessions (agent_id, token_hash, prefix, created_at, "
                          "expires_at) VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
                          &s, err, "adding a sign-in session");
    if (code)
        return code;
    stmt_bind_i64(s, 1, r->agent_id);
    store_bind_str(s, 2, r->token_hash);
    store_bind_str(s, 3, r->prefix);
    stmt_bind_dbl(s, 4, r->created_at > 0 ? r->created_at : fd_time_wall());
    stmt_bind_dbl(s, 5, r->expires_at);
    int rc = stmt_step(s);
    if (rc == SQLITE_ROW) {
        if (id)
            *id = stmt_col_i64(s, 0);
        rc = stmt_step(s);
    }
    /* An agent deleted meanwhile: the foreign key refuses (FD_ECONFLICT). */
    if (rc != SQLITE_DONE)
        code = store_fail(st, rc, err, "adding a sign-in session");
    stmt_finalize(s);
    return code;
}

int fd_store_agent_session_get(fd_store *st, const char *token_hash, fd_agent_session_row *out,
                               fd_agent_row *agent, fd_err *err)
{
    store_stmt *s;
    int code = store_prep(st,
                          "SELECT x.id, x.agent_id, x.token_hash, x.prefix, x.created_at, "
                          "x.expires_at, x.revoked_at, " AGENT_COLS " FROM agent_sessions x "
                          "JOIN agents a ON a.id = x.agent_id WHERE x.token_hash = ?1",
                          &s, err, "reading a sign-in session");
    if (code)
        return code;
    store_bind_str(s, 1, token_hash);
    int rc = stmt_step(s);
    if (rc == SQLITE_ROW) {
        memset(out, 0, sizeof *out);
        out->id = stmt_col_i64(s, 0);
        out->agent_id = stmt_col_i64(s, 1);
        copy_col(out->token_hash, sizeof out->token_hash, s, 2);
        copy_col(out->prefix, sizeof out->prefix, s, 3);
        out->created_at = stmt_col_dbl(s, 4);
        out->expires_at = stmt_col_dbl(s, 5);
        out->revoked_at = stmt_col_dbl(s, 6);
        read_agent(s, 7, agent);
    } else if (rc == SQLITE_DONE) {
        code = fd_err_set(err, FD_ENOTFOUND, "no such sign-in session");
    } else {
        code = store_fail(st, rc, err, "reading a sign-in session");
    }
    stmt_finalize(s);
    return code;
}

int fd_store_agent_session_revoke(fd_store *st, const char *token_hash, double at, fd_err *err)
{
    store_stmt *s;
    /* The first revocation time is kept: a second sign-out changes nothing. */
    int code = store_prep(st,
                          "UPDATE agent_sessions SET revoked_at = CASE WHEN revoked_at > 0 THEN "
                          "revoked_at ELSE ?2 END WHERE token_hash = ?1",
                          &s, err, "ending a sign-in session");
    if (code)
        return code;
    store_bind_str(s, 1, token_hash);
    stmt_bind_dbl(s, 2, at);
    return run_change(st, s, "no such sign-in session", NULL, err, "ending a sign-in session");
}

int fd_store_agent_sessions_end(fd_store *st, int64_t agent_id, double at, double purge_before,
                                int64_t *n_ended, fd_err *err)
{
    store_stmt *s;
    int code = FD_OK;
    if (at > 0) {
        code = store_prep(st,
                          "UPDATE agent_sessions SET revoked_at = ?2 WHERE agent_id = ?1 AND "
                          "revoked_at = 0 AND expires_at > ?2",
                          &s, err, "ending sign-in sessions");
        if (code)
            return code;
        stmt_bind_i64(s, 1, agent_id);
        stmt_bind_dbl(s, 2, at);
        code = run_change(st, s, NULL, n_ended, err, "ending sign-in sessions");
    } else if (n_ended) {
        *n_ended = 0;
    }
    if (!code && purge_before > 0) {
        /* Sessions long over are of no use: the table stays the size of
         * the sessions that may still be presented. */
        code = store_prep(st,
                          "DELETE FROM agent_sessions WHERE agent_id = ?1 AND (expires_at < ?2 "
                          "OR (revoked_at > 0 AND revoked_at < ?2))",
                          &s, err, "purging sign-in sessions");
        if (code)
            return code;
        stmt_bind_i64(s, 1, agent_id);
        stmt_bind_dbl(s, 2, purge_before);
        code = run_change(st, s, NULL, NULL, err, "purging sign-in sessions");
    }
    return code;
}
