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
    STMT_SAVEPOINT,
    STMT_RELEASE,
    STMT_ROLLBACK_TO,
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
    STMT_TURN_LAST,
    STMT_TURN_PUT,
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

/* Which database is behind the handle: the path decides at open
 * ("postgres://" or "postgresql://": PostgreSQL, anything else a SQLite
 * file). */
typedef enum store_engine { STORE_SQLITE, STORE_PG } store_engine;

typedef struct store_pg store_pg; /* pg.c */

/* A statement of either engine. The store's queries are written once, in
 * the SQL both engines read (?N parameters, ON CONFLICT upserts,
 * RETURNING); pg.c translates the few differences. Return codes keep
 * SQLite's vocabulary (SQLITE_ROW, SQLITE_DONE, SQLITE_BUSY,
 * SQLITE_CONSTRAINT, ...) on both engines, so store_fail maps them once. */
typedef struct store_stmt store_stmt;

struct fd_store {
    store_engine engine;
    sqlite3 *db;         /* STORE_SQLITE */
    store_pg *pg;        /* STORE_PG */
    int busy_timeout_ms; /* current busy wait; key_touch restores it */
    int user_version;    /* schema version after migration */
    int applied;         /* migrations this connection applied at open */
    store_stmt *stmt[STMT__N];
    /* PostgreSQL, inside fd_store_begin_turns: the conversation locks this
     * transaction holds (store_session_key), sorted; turns_tx says whether
     * the transaction is one of those (0 outside one, and in any other). */
    int turns_tx;
    int32_t *turn_keys;
    size_t n_turn_keys, cap_turn_keys;
};

/* Prepares sql on st's engine (SQLite: now; PostgreSQL: translated now,
 * prepared on the server at its first execution, once per connection). */
int store_stmt_prepare(fd_store *st, const char *sql, store_stmt **out);
int stmt_step(store_stmt *s);
void stmt_reset(store_stmt *s);
void stmt_clear_bindings(store_stmt *s);
void stmt_finalize(store_stmt *s); /* NULL is fine */
int stmt_busy(store_stmt *s);      /* mid-iteration: rows not yet stepped past */
/* Binds, 1-based as in SQL. Strings and blobs are borrowed until the
 * statement is reset: the caller's memory outlives its execution. */
void stmt_bind_i64(store_stmt *s, int i, int64_t v);
void stmt_bind_int(store_stmt *s, int i, int v);
void stmt_bind_dbl(store_stmt *s, int i, double v);
void stmt_bind_text(store_stmt *s, int i, const char *p);
void stmt_bind_blob(store_stmt *s, int i, const void *p, size_t n);
/* The store's column types (copy.c reads them from the catalogs). */
typedef enum store_type { STORE_T_INT, STORE_T_REAL, STORE_T_TEXT, STORE_T_BLOB } store_type;
/* A NULL of type t: PostgreSQL types every parameter, and a NULL of type
 * text (an unbound one) is refused by a BIGINT column. */
void stmt_bind_null(store_stmt *s, int i, store_type t);
/* 1 when column i of the current row is SQL NULL. */
int stmt_col_null(store_stmt *s, int i);
/* Columns of the current row, 0-based. text: NULL for SQL NULL. */
int64_t stmt_col_i64(store_stmt *s, int i);
int stmt_col_int(store_stmt *s, int i);
double stmt_col_dbl(store_stmt *s, int i);
const char *stmt_col_text(store_stmt *s, int i);
const void *stmt_col_blob(store_stmt *s, int i);
/* A handoff row from columns id, session_id, tier, reason, summary, status,
 * operator, created_at, updated_at (in that order); ticket gets "HD-…". */
struct fd_handoff_row;
void store_handoff_from_row(store_stmt *s, struct fd_handoff_row *h, char *ticket,
                            size_t ticket_size);
int stmt_col_bytes(store_stmt *s, int i);
/* A statement that selects blobs only: read them without text encoding
 * (PostgreSQL; nothing to do on SQLite). Before the first step. */
void stmt_blob_results(store_stmt *s);

/* Runs one or more statements without results; SQLITE_OK or an error. */
int store_exec(fd_store *st, const char *sql);
/* 1 outside a transaction. */
int store_autocommit(fd_store *st);
/* Rows changed by the last INSERT/UPDATE/DELETE. */
int64_t store_changes(fd_store *st);
/* The id the last INSERT gave its row (an INTEGER PRIMARY KEY). */
int64_t store_last_id(fd_store *st);
/* What the engine said about the last failure. */
const char *store_errmsg(fd_store *st);

/* How long the next statements wait for a lock before SQLITE_BUSY,
 * without changing st->busy_timeout_ms (key_touch: never queue). */
void store_lock_wait(fd_store *st, int ms);

/* ---- PostgreSQL (pg.c) --------------------------------------------------- */

/* The PostgreSQL side of a store_stmt. */
typedef struct store_pg_stmt store_pg_stmt;
int pg_stmt_prepare(fd_store *st, const char *sql, store_pg_stmt **out);
int pg_stmt_step(store_pg_stmt *s);
void pg_stmt_reset(store_pg_stmt *s);
void pg_stmt_clear_bindings(store_pg_stmt *s);
void pg_stmt_finalize(store_pg_stmt *s);
int pg_stmt_busy(store_pg_stmt *s);
void pg_stmt_bind(store_pg_stmt *s, int i, unsigned type, const char *val, int len, int binary);
void pg_stmt_bind_num(store_pg_stmt *s, int i, unsigned type, const char *fmt_val);
const char *pg_stmt_col_text(store_pg_stmt *s, int i);
const void *pg_stmt_col_blob(store_pg_stmt *s, int i, int *len);
/* Results in PostgreSQL's binary format: for a statement whose columns are
 * all blobs (bytea arrives as its bytes, not hex-escaped text at twice the
 * size). */
void pg_stmt_binary_results(store_pg_stmt *s);
int pg_exec(fd_store *st, const char *sql);
int pg_autocommit(fd_store *st);
int64_t pg_changes(fd_store *st);
int64_t pg_last_id(fd_store *st);
const char *pg_errmsg(fd_store *st);
void pg_lock_wait(fd_store *st, int ms);
void pg_defer_writes(fd_store *st, int on);

/* Advisory lock keys: every write transaction (exclusive; a batch of turns
 * takes it shared, fd_store_begin_turns), and the migrations. */
#define STORE_PG_WRITE_LOCK "7306001"
#define STORE_PG_MIGRATE_LOCK "7306002"
/* One conversation's turns: the two-key form (class, store_session_key),
 * a key space apart from the one-key locks above. */
#define STORE_PG_SESSION_LOCK "7306003"

/* The key of session id's lock: a hash, so two conversations may share a
 * key (they then wait for each other, nothing worse). */
int32_t store_session_key(const char *session_id);
/* Inside fd_store_begin_turns on PostgreSQL: takes session_id's lock
 * unless the transaction already holds it. Elsewhere nothing to do. */
int store_turns_lock(fd_store *st, const char *session_id, fd_err *err);

int store_is_pg_url(const char *path);
int store_pg_open(fd_store *st, const char *url, fd_err *err);
/* A new libpq connection (PGconn *) to url with the store's defaults,
 * for listen.c's own connection; NULL when out of memory. */
void *store_pg_connect(const char *url);
void store_pg_close(store_pg *pg);
int store_pg_schema_check(const char *url, int *have, fd_err *err);
/* The schema version of the open database, and setting it (inside the
 * migration's transaction). */
int store_pg_read_version(fd_store *st, int *out);
int store_pg_write_version(fd_store *st, int version);
/* SQLite DDL and queries in PostgreSQL's dialect: ?N -> $N, the column
 * "user" quoted, and in CREATE/ALTER TABLE the column types (INTEGER ->
 * BIGINT, INTEGER PRIMARY KEY -> BIGSERIAL, REAL -> DOUBLE PRECISION,
 * BLOB -> BYTEA, TEXT -> TEXT COLLATE "C" so text sorts as SQLite sorts
 * it). A malloc'd string (NULL: no memory); *nparams the highest $N. */
char *store_pg_translate(const char *sql, int *nparams);

/* Applies the missing migrations, one transaction each. */
int store_migrate(fd_store *st, fd_err *err);

/* Sets err from the engine's state after rc failed: BUSY/LOCKED (and on
 * PostgreSQL a lost connection, a lock timeout, a serialization failure)
 * -> FD_EUNAVAIL, CONSTRAINT -> FD_ECONFLICT, anything else FD_EIO;
 * returns the code. */
int store_fail(fd_store *st, int rc, fd_err *err, const char *what);

/* A statement ready to bind: the cached one, or a fresh one when the cached
 * one is mid-iteration (a callback re-entering the store). *owned says
 * whether store_release must finalize it. */
int store_acquire(fd_store *st, stmt_id id, store_stmt **out, int *owned, fd_err *err);
void store_release(store_stmt *s, int owned);

/* Column text, "" for NULL. */
static inline const char *store_col_str(store_stmt *s, int i)
{
    const char *t = stmt_col_text(s, i);
    return t ? t : "";
}

/* The caller's strings outlive the statement's execution. */
static inline void store_bind_str(store_stmt *s, int i, const char *p)
{
    stmt_bind_text(s, i, p ? p : "");
}

/* A one-off statement (not in the hot table): prepared, or err says what
 * failed; store_run steps it to completion and finalizes it. */
int store_prep(fd_store *st, const char *sql, store_stmt **s, fd_err *err, const char *what);
int store_run(fd_store *st, store_stmt *s, fd_err *err, const char *what);

/* Moves order id to status with a history row (orders.c); a cancelled
 * order stays cancelled when keep_cancelled. *moved: whether it did. */
int store_order_move(fd_store *st, int64_t id, const char *status, const char *note,
                     int keep_cancelled, int *moved, fd_err *err);

/* Binds a cost row as STMT_COST_ADD's 12 parameters, from base+1 on; day
 * (the row's UTC date) is written there and must outlive the execution. */
void store_cost_bind(store_stmt *s, int base, const struct fd_cost_row *row, char day[16]);

/* Copies *p into the arena in place; 0 or the arena's failure code. */
int store_arena_copy(fd_arena *a, const char **p, fd_err *err);

#endif
