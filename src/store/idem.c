/* idem.c: Idempotency-Key on POST /v1/chat. A client that did not get its
 * answer (a timeout, a dropped connection) sends the same request with the
 * same key and gets the first answer again, not a second turn. */
#include "store_int.h"

#include <string.h>

#define WHAT "idempotency keys"

static int claim(fd_store *st, const char *principal, const char *key, const char *hash,
                 double ttl_s, fd_arena *a, fd_idem_state *state, const char **response,
                 fd_err *err)
{
    store_stmt *s;
    double now = fd_time_wall();
    int rc = store_prep(st, "DELETE FROM idempotency WHERE created_at < ?1", &s, err, WHAT);
    if (rc)
        return rc;
    stmt_bind_dbl(s, 1, now - ttl_s);
    rc = store_run(st, s, err, WHAT);
    if (!rc)
        rc =
            store_prep(st,
                       "SELECT body_hash, done, response FROM idempotency WHERE principal = ?1 AND "
                       "key = ?2",
                       &s, err, WHAT);
    if (rc)
        return rc;
    store_bind_str(s, 1, principal);
    store_bind_str(s, 2, key);
    int step = stmt_step(s);
    if (step == SQLITE_ROW) {
        if (strcmp(store_col_str(s, 0), hash) != 0) {
            *state = FD_IDEM_MISMATCH;
        } else if (!stmt_col_int(s, 1)) {
            *state = FD_IDEM_RUNNING;
        } else {
            *state = FD_IDEM_REPLAY;
            *response = store_col_str(s, 2);
            rc = store_arena_copy(a, response, err);
        }
        stmt_finalize(s);
        return rc;
    }
    stmt_finalize(s);
    if (step != SQLITE_DONE)
        return store_fail(st, step, err, "idempotency keys");
    rc = store_prep(
        st, "INSERT INTO idempotency(principal, key, body_hash, created_at) VALUES (?1,?2,?3,?4)",
        &s, err, WHAT);
    if (rc)
        return rc;
    store_bind_str(s, 1, principal);
    store_bind_str(s, 2, key);
    store_bind_str(s, 3, hash);
    stmt_bind_dbl(s, 4, now);
    *state = FD_IDEM_NEW;
    return store_run(st, s, err, WHAT);
}

int fd_store_idem_begin(fd_store *st, const char *principal, const char *key, const char *body_hash,
                        double ttl_s, fd_arena *a, fd_idem_state *state, const char **response,
                        fd_err *err)
{
    *response = NULL;
    int rc = fd_store_begin(st, err);
    if (rc)
        return rc;
    rc = claim(st, principal, key, body_hash, ttl_s, a, state, response, err);
    if (rc) {
        fd_store_rollback(st);
        return rc;
    }
    return fd_store_commit(st, err);
}

int fd_store_idem_finish(fd_store *st, const char *principal, const char *key, const char *response,
                         fd_err *err)
{
    store_stmt *s;
    int rc = store_prep(
        st, "UPDATE idempotency SET done = 1, response = ?3 WHERE principal = ?1 AND key = ?2", &s,
        err, WHAT);
    if (rc)
        return rc;
    store_bind_str(s, 1, principal);
    store_bind_str(s, 2, key);
    store_bind_str(s, 3, response);
    return store_run(st, s, err, WHAT);
}

int fd_store_idem_abort(fd_store *st, const char *principal, const char *key, fd_err *err)
{
    store_stmt *s;
    int rc =
        store_prep(st, "DELETE FROM idempotency WHERE principal = ?1 AND key = ?2 AND done = 0", &s,
                   err, WHAT);
    if (rc)
        return rc;
    store_bind_str(s, 1, principal);
    store_bind_str(s, 2, key);
    return store_run(st, s, err, WHAT);
}
