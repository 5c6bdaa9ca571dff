/* store/store_int.h: private to src/store/ and its tests: the fd_store
 * struct, the prepared-statement table and the error mapping. */
#ifndef FD_STORE_INT_H
#define FD_STORE_INT_H

#include "store.h"

#include <sqlite3.h>

/* Hot statements, prepared once at open and finalized at close: ingest
 * runs doc_put/chunk_add tens of thousands of times per transaction, and
 * re-preparing each time would cost more than the insert itself. */
typedef enum stmt_id {
    STMT_BEGIN,
    STMT_COMMIT,
    STMT_ROLLBACK,
    STMT_DOC_GET,
    STMT_DOC_UPSERT,
    STMT_DOC_CLEAR_CHUNKS,
    STMT_DOC_DELETE,
    STMT_DOCS_BY_SOURCE,
    STMT_DOCS_EACH,
    STMT_CHUNK_ADD,
    STMT_CHUNKS_EACH,
    STMT_CHUNK_GET,
    STMT_COUNTS,
    STMT_KB_VERSION,
    STMT_KB_BUMP,
    STMT_ASSET_GET,
    STMT_ASSET_PUT,
    STMT_SESSION_GET,
    STMT_SESSION_PUT,
    STMT_SESSION_DELETE,
    STMT_TURN_ADD,
    STMT_TURNS_EACH,
    STMT_HANDOFF_ADD,
    STMT_HANDOFF_GET,
    STMT_HANDOFFS_EACH,
    STMT_HANDOFF_STATUS,
    STMT_EVENT_ADD,
    STMT_EVENTS_EACH,
    STMT_KEY_ADD,
    STMT_KEY_BY_HASH,
    STMT_KEY_BY_ID,
    STMT_KEYS_BY_PREFIX,
    STMT_KEYS_EACH,
    STMT_KEY_REVOKE,
    STMT_KEY_ROTATE,
    STMT_KEY_TOUCH,
    STMT_COST_ADD,
    STMT__N
} stmt_id;

/* Default wait for another connection's lock before FD_EUNAVAIL: long
 * enough to ride out an ingest commit, short enough that a request still
 * answers. store.busy_timeout_ms overrides it (fd_store_set_busy_timeout). */
#define STORE_BUSY_TIMEOUT_MS 5000

struct fd_store {
    sqlite3 *db;
    int busy_timeout_ms; /* current busy wait; key_touch restores it */
    int user_version;    /* schema version after migration */
    int applied;         /* migrations this connection applied at open */
    sqlite3_stmt *stmt[STMT__N];
};

/* Applies the missing migrations, one transaction each. */
int store_migrate(fd_store *st, fd_err *err);

/* Sets err from SQLite's state after rc failed: BUSY/LOCKED ->
 * FD_EUNAVAIL, CONSTRAINT -> FD_ECONFLICT, anything else FD_EIO; returns
 * the code. */
int store_fail(fd_store *st, int rc, fd_err *err, const char *what);

/* A statement ready to bind: the cached one, or a fresh one when the cached
 * one is mid-iteration (a callback re-entering the store). *owned says
 * whether store_release must finalize it. */
int store_acquire(fd_store *st, stmt_id id, sqlite3_stmt **out, int *owned, fd_err *err);
void store_release(sqlite3_stmt *s, int owned);

/* Column text, "" for NULL. */
static inline const char *store_col_str(sqlite3_stmt *s, int i)
{
    const char *t = (const char *)sqlite3_column_text(s, i);
    return t ? t : "";
}

/* STATIC: the caller's strings outlive the statement's execution. */
static inline void store_bind_str(sqlite3_stmt *s, int i, const char *p)
{
    sqlite3_bind_text(s, i, p ? p : "", -1, SQLITE_STATIC);
}

/* A one-off statement (not in the hot table): prepared, or err says what
 * failed; store_run steps it to completion and finalizes it. */
int store_prep(fd_store *st, const char *sql, sqlite3_stmt **s, fd_err *err, const char *what);
int store_run(fd_store *st, sqlite3_stmt *s, fd_err *err, const char *what);

/* Moves order id to status with a history row (orders.c); a cancelled
 * order stays cancelled when keep_cancelled. *moved: whether it did. */
int store_order_move(fd_store *st, int64_t id, const char *status, const char *note,
                     int keep_cancelled, int *moved, fd_err *err);

/* Copies *p into the arena in place; 0 or the arena's failure code. */
int store_arena_copy(fd_arena *a, const char **p, fd_err *err);

#endif
