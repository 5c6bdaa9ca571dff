/* sqlite.c: the SQLite engine behind store.h: opening (WAL, pragmas,
 * migrations), the prepared-statement cache, transactions and the mapping
 * from SQLite errors to fd_err. Queries on documents and chunks: docs.c. */
#include "store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DOC_COLS "id, key, title, source, tag, lang, hash, n_chunks, kb_version, updated_at"
#define KEY_SELECT                                                                                 \
    "SELECT id, prefix, hash, name, scopes, created_at, expires_at, revoked_at, rotated_to, "      \
    "valid_until, last_used_at FROM api_keys "
#define CHUNK_SELECT                                                                               \
    "SELECT c.id, c.doc_id, c.ord, d.key, d.title, c.section, d.tag, d.lang, c.text "              \
    "FROM chunks c JOIN documents d ON d.id = c.doc_id "

static const char *const stmt_sql[STMT__N] = {
    [STMT_BEGIN] = "BEGIN IMMEDIATE",
    [STMT_COMMIT] = "COMMIT",
    [STMT_ROLLBACK] = "ROLLBACK",
    /* The committer's savepoint around each turn of a batch that needs
     * them: parsed once, not twice per turn (sqlite3_exec). */
    [STMT_SAVEPOINT] = "SAVEPOINT part",
    [STMT_RELEASE] = "RELEASE part",
    [STMT_ROLLBACK_TO] = "ROLLBACK TO part",
    [STMT_DOC_GET] = "SELECT " DOC_COLS " FROM documents WHERE key = ?1",
    /* An upsert rather than INSERT OR REPLACE: the doc keeps its id, and
     * REPLACE's implicit delete would not be visible to the caller. */
    [STMT_DOC_UPSERT] =
        "INSERT INTO documents (key, title, source, tag, lang, hash, n_chunks, kb_version, "
        "updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) "
        "ON CONFLICT(key) DO UPDATE SET title = excluded.title, source = excluded.source, "
        "tag = excluded.tag, lang = excluded.lang, hash = excluded.hash, "
        "n_chunks = excluded.n_chunks, kb_version = excluded.kb_version, "
        "updated_at = excluded.updated_at RETURNING id",
    [STMT_DOC_CLEAR_CHUNKS] = "DELETE FROM chunks WHERE doc_id = ?1",
    [STMT_DOC_DELETE] = "DELETE FROM documents WHERE key = ?1",
    [STMT_DOCS_BY_SOURCE] = "SELECT key FROM documents WHERE source = ?1 ORDER BY key",
    [STMT_DOCS_EACH] = "SELECT " DOC_COLS " FROM documents ORDER BY key",
    [STMT_CHUNK_ADD] = "INSERT INTO chunks (doc_id, ord, section, text) VALUES (?1, ?2, ?3, ?4)",
    [STMT_CHUNKS_EACH] = CHUNK_SELECT "ORDER BY c.doc_id, c.ord",
    [STMT_CHUNK_GET] = CHUNK_SELECT "WHERE c.id = ?1",
    [STMT_COUNTS] = "SELECT (SELECT count(*) FROM documents), (SELECT count(*) FROM chunks)",
    [STMT_KB_VERSION] = "SELECT coalesce(max(version), 0) FROM kb_versions",
    [STMT_ASSET_GET] =
        "SELECT name, content, hash, source, kb_version FROM kb_assets WHERE name = ?1",
    [STMT_ASSET_PUT] =
        "INSERT INTO kb_assets (name, content, hash, source, kb_version, updated_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(name) DO UPDATE SET "
        "content = excluded.content, hash = excluded.hash, source = excluded.source, "
        "kb_version = excluded.kb_version, updated_at = excluded.updated_at",
    [STMT_SESSION_GET] = "SELECT id, user, lang, slots, state, n_turns, unresolved, created_at, "
                         "updated_at, owner, EXISTS (SELECT 1 FROM handoffs h WHERE "
                         "h.session_id = sessions.id) FROM sessions WHERE id = ?1",
    [STMT_SESSION_PUT] =
        "INSERT INTO sessions (id, user, lang, slots, state, n_turns, unresolved, "
        "created_at, updated_at, owner) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
        "?10) "
        "ON CONFLICT(id) DO UPDATE SET user = excluded.user, lang = excluded.lang, "
        "slots = excluded.slots, state = excluded.state, n_turns = excluded.n_turns, "
        "unresolved = excluded.unresolved, updated_at = excluded.updated_at",
    [STMT_SESSION_DELETE] = "DELETE FROM sessions WHERE id = ?1",
    [STMT_TURN_ADD] =
        "INSERT INTO turns (session_id, seq, role, text, intent, route, meta, created_at) "
        "SELECT ?1, coalesce(max(seq), 0) + 1, ?2, ?3, ?4, ?5, ?6, ?7 FROM turns "
        "WHERE session_id = ?1 RETURNING seq",
    /* SQLite inside a transaction (convo.c turn_put): the last seq read,
     * then a plain insert; STMT_TURN_ADD's INSERT ... SELECT from its own
     * table and its RETURNING each open an ephemeral table (a b-tree and
     * its pager, allocated and freed) per row. Parameters as
     * STMT_TURN_ADD's, the seq as ?8. */
    [STMT_TURN_LAST] = "SELECT coalesce(max(seq), 0) FROM turns WHERE session_id = ?1",
    [STMT_TURN_PUT] =
        "INSERT INTO turns (session_id, seq, role, text, intent, route, meta, created_at) "
        "VALUES (?1, ?8, ?2, ?3, ?4, ?5, ?6, ?7)",
    [STMT_TURNS_EACH] = "SELECT seq, role, text, intent, route, meta, created_at FROM turns "
                        "WHERE session_id = ?1 AND seq > ?2 ORDER BY seq",
    [STMT_HANDOFF_ADD] =
        "INSERT INTO handoffs (session_id, tier, reason, summary, status, operator, "
        "created_at, updated_at) VALUES (?1, ?2, ?3, ?4, 'open', '', ?5, ?5)",
    [STMT_HANDOFF_GET] =
        "SELECT id, session_id, tier, reason, summary, status, operator, created_at, "
        "updated_at FROM handoffs WHERE id = ?1",
    [STMT_HANDOFFS_EACH] = "SELECT id, session_id, tier, reason, summary, status, operator, "
                           "created_at, updated_at FROM handoffs WHERE ?1 = '' OR status = ?1 "
                           "ORDER BY id DESC",
    [STMT_HANDOFF_STATUS] = "UPDATE handoffs SET status = ?2, operator = coalesce(?3, operator), "
                            "updated_at = ?4 WHERE id = ?1 AND (?5 IS NULL OR status = ?5)",
    [STMT_EVENT_ADD] = "INSERT INTO analytics_events (at, kind, session_id, turn_seq, data) "
                       "VALUES (?1, ?2, ?3, ?4, ?5)",
    [STMT_EVENTS_EACH] =
        "SELECT kind, session_id, turn_seq, data FROM analytics_events ORDER BY id",
    [STMT_KB_BUMP] = "INSERT INTO kb_versions (version, created_at, note) "
                     "SELECT coalesce(max(version), 0) + 1, ?1, ?2 FROM kb_versions "
                     "RETURNING version",
    [STMT_KEY_ADD] = "INSERT INTO api_keys (prefix, hash, name, scopes, created_at, expires_at) "
                     "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [STMT_KEY_BY_HASH] = KEY_SELECT "WHERE hash = ?1",
    [STMT_COST_ADD] = "INSERT INTO costs (at, day, request_id, session_id, key, model, route, "
                      "cached, llm_called, prompt_tokens, completion_tokens, cost_usd) "
                      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    [STMT_KEY_BY_ID] = KEY_SELECT "WHERE id = ?1",
    /* Two rows are enough to tell "one" from "ambiguous". */
    [STMT_KEYS_BY_PREFIX] = KEY_SELECT "WHERE prefix = ?1 ORDER BY id LIMIT 2",
    [STMT_KEYS_EACH] = KEY_SELECT "ORDER BY id",
    /* Revoking twice keeps the first time. */
    [STMT_KEY_REVOKE] = "UPDATE api_keys SET revoked_at = CASE WHEN revoked_at = 0 THEN ?2 "
                        "ELSE revoked_at END WHERE id = ?1",
    [STMT_KEY_ROTATE] = "UPDATE api_keys SET rotated_to = ?2, valid_until = ?3 "
                        "WHERE id = ?1 AND rotated_to = 0 AND revoked_at = 0",
    /* The guard makes concurrent verifiers write at most once per interval. */
    [STMT_KEY_TOUCH] = "UPDATE api_keys SET last_used_at = ?2 WHERE id = ?1 AND last_used_at <= ?3",
};

int store_fail(fd_store *st, int rc, fd_err *err, const char *what)
{
    int primary = rc & 0xff;
    const char *msg = st && (st->db || st->pg) ? store_errmsg(st) : sqlite3_errstr(rc);
    /* Busy and locked outlasted the busy wait: another connection holds the
     * write lock (an ingest, a backup). Nothing is wrong with the request,
     * so it is "unavailable, retry" (503), not a conflict the caller caused. */
    /* On PostgreSQL busy also means the server went away: say which, or an
     * operator reading the log hunts for a writer that does not exist. */
    if (primary == SQLITE_BUSY && st && st->pg &&
        (strstr(msg, "connection") || strstr(msg, "unreachable")))
        return fd_err_set(err, FD_EUNAVAIL, "the store is unreachable; retry shortly (%s: %s)",
                          what, msg);
    if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED)
        return fd_err_set(err, FD_EUNAVAIL,
                          "the store is busy (another writer holds its lock); "
                          "retry shortly (%s: %s)",
                          what, msg);
    /* Out of memory: ours (a statement handle, fd_alloc) or SQLite's; the
     * connection's own message would say "not an error" for ours. */
    if (primary == SQLITE_NOMEM)
        return fd_err_set(err, FD_ENOMEM, "%s: out of memory", what);
    /* A constraint means the caller asked for something the data forbids
     * (duplicate ord, missing doc). */
    int code = primary == SQLITE_CONSTRAINT ? FD_ECONFLICT : FD_EIO;
    return fd_err_set(err, code, "%s: %s", what, msg);
}

int store_acquire(fd_store *st, stmt_id id, store_stmt **out, int *owned, fd_err *err)
{
    store_stmt *s = st->stmt[id];
    *owned = 0;
    if (!stmt_busy(s)) {
        *out = s;
        return FD_OK;
    }
    int rc = store_stmt_prepare(st, stmt_sql[id], out);
    if (rc != SQLITE_OK)
        return store_fail(st, rc, err, "preparing statement");
    *owned = 1;
    return FD_OK;
}

void store_release(store_stmt *s, int owned)
{
    if (!s)
        return;
    if (owned) {
        stmt_finalize(s);
        return;
    }
    stmt_reset(s);
    stmt_clear_bindings(s);
}

int store_prep(fd_store *st, const char *sql, store_stmt **s, fd_err *err, const char *what)
{
    int rc = store_stmt_prepare(st, sql, s);
    return rc == SQLITE_OK ? FD_OK : store_fail(st, rc, err, what);
}

int store_run(fd_store *st, store_stmt *s, fd_err *err, const char *what)
{
    int rc = stmt_step(s);
    int code = rc == SQLITE_DONE ? FD_OK : store_fail(st, rc, err, what);
    stmt_finalize(s);
    return code;
}

static int prepare_all(fd_store *st, fd_err *err)
{
    for (int i = 0; i < STMT__N; i++) {
        int rc = store_stmt_prepare(st, stmt_sql[i], &st->stmt[i]);
        if (rc != SQLITE_OK)
            return store_fail(st, rc, err, "preparing statements");
    }
    return FD_OK;
}

/* WAL lets readers (the server) run while ingest writes; NORMAL sync is
 * durable across application crashes and only loses the last commits on
 * power loss, which a re-ingest repairs. */
static int set_pragmas_once(fd_store *st, const char *path, fd_err *err);

/* Two processes opening one new file at once (replicas starting together,
 * `frontdesk migrate` beside a server): switching a fresh file to WAL takes
 * a lock that SQLite reports busy without waiting through the busy
 * handler. Retried here, within the same busy timeout. */
static int set_pragmas(fd_store *st, const char *path, fd_err *err)
{
    int waited = 0;
    for (;;) {
        int rc = set_pragmas_once(st, path, err);
        if (rc != FD_EUNAVAIL || waited >= st->busy_timeout_ms)
            return rc;
        sqlite3_sleep(10);
        waited += 10;
        fd_err_clear(err);
    }
}

static int set_pragmas_once(fd_store *st, const char *path, fd_err *err)
{
    char what[600];
    snprintf(what, sizeof what, "configuring %s", path);
    int rc = sqlite3_exec(st->db,
                          "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; "
                          "PRAGMA journal_size_limit = 4194304",
                          NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return store_fail(st, rc, err, what);
    store_stmt *s = NULL;
    rc = store_stmt_prepare(st, "PRAGMA journal_mode = WAL", &s);
    if (rc == SQLITE_OK)
        rc = stmt_step(s);
    int code = FD_OK;
    if (rc == SQLITE_ROW) {
        const char *mode = (const char *)stmt_col_text(s, 0);
        /* In-memory databases answer "memory": nothing to share anyway. */
        if (!mode || (strcmp(mode, "wal") != 0 && strcmp(mode, "memory") != 0))
            code = fd_err_set(err, FD_EIO, "%s: cannot use WAL journal (got %s)", path,
                              mode ? mode : "nothing");
    } else {
        code = store_fail(st, rc, err, what);
    }
    stmt_finalize(s);
    return code;
}

/* A new store file is created 0600 before SQLite opens it: it holds
 * customers' conversations, and SQLite would create it (and its -wal and
 * -shm, which copy its mode) world-readable under the usual umask. An
 * existing file keeps the mode its owner gave it. URIs are left to SQLite. */
static int create_private(const char *path, fd_err *err)
{
    if (strncmp(path, "file:", 5) == 0 || strcmp(path, ":memory:") == 0)
        return FD_OK;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) {
        close(fd);
        return FD_OK;
    }
    if (errno == EEXIST)
        return FD_OK;
    return fd_err_set(err, FD_EIO, "cannot open database %s: %s", path, strerror(errno));
}

static int open_db(fd_store *st, const char *path, fd_err *err)
{
    int prc = create_private(path, err);
    if (prc)
        return prc;
    /* URI names allow "file:x.db?mode=ro"-style paths for tools and tests. */
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI;
    int rc = sqlite3_open_v2(path, &st->db, flags, NULL);
    if (rc != SQLITE_OK) {
        const char *msg = st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc);
        return fd_err_set(err, FD_EIO, "cannot open database %s: %s", path, msg);
    }
    /* SQLite silently falls back to read-only when the file is not
     * writable; every later write would then fail far from the cause. */
    if (sqlite3_db_readonly(st->db, "main") == 1)
        return fd_err_set(err, FD_EIO, "database %s is read-only (check file permissions)", path);
    sqlite3_busy_timeout(st->db, st->busy_timeout_ms);
    /* The -wal and -shm files outlive the last connection: SQLite would
     * delete them at close and create them at the next open, and on a full
     * disk that creation fails, so neither the server nor a read-only
     * command could start (issue 17 item 7). Kept, they need no new space
     * to read. journal_size_limit (set_pragmas) keeps the kept WAL small. */
    int persist = 1;
    sqlite3_file_control(st->db, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
    return FD_OK;
}

/* SQLite's memory statistics (sqlite3_memory_used, which nothing here
 * reads) take one process-wide mutex around every allocation and free of
 * every connection: the committer's inserts and the request threads'
 * reads queued on it (perf, issue 13). Off before the library starts;
 * should anything have started it already, the call is refused and
 * nothing changes. */
static pthread_once_t lib_once = PTHREAD_ONCE_INIT;

static void lib_configure(void)
{
    (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

void fd_store_library_init(void)
{
    pthread_once(&lib_once, lib_configure);
}

int fd_store_open(const char *path, fd_store **out, fd_err *err)
{
    *out = NULL;
    fd_store_library_init();
    if (!path || !*path)
        return fd_err_set(err, FD_EINVAL, "store: empty database path");
    fd_store *st = fd_calloc(1, sizeof *st);
    if (!st)
        return fd_err_set(err, FD_ENOMEM, "store: out of memory");
    st->busy_timeout_ms = STORE_BUSY_TIMEOUT_MS;
    int rc;
    if (store_is_pg_url(path)) {
        st->engine = STORE_PG;
        rc = store_pg_open(st, path, err);
    } else {
        rc = open_db(st, path, err);
        if (!rc)
            rc = set_pragmas(st, path, err);
    }
    if (!rc)
        rc = store_migrate(st, err);
    if (!rc)
        rc = prepare_all(st, err);
    if (rc) {
        fd_store_close(st);
        return rc;
    }
    *out = st;
    return FD_OK;
}

void fd_store_close(fd_store *st)
{
    if (!st)
        return;
    if (st->db && store_autocommit(st) == 0)
        store_exec(st, "ROLLBACK");
    for (int i = 0; i < STMT__N; i++)
        stmt_finalize(st->stmt[i]);
    sqlite3_close_v2(st->db);
    store_pg_close(st->pg);
    fd_free(st->turn_keys);
    fd_free(st);
}

int fd_store_set_synchronous(fd_store *st, int full, fd_err *err)
{
    /* PostgreSQL's default (synchronous_commit on) is already FULL's
     * guarantee; nothing weaker is offered there. */
    if (st->engine == STORE_PG)
        return FD_OK;
    int rc =
        sqlite3_exec(st->db, full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL",
                     NULL, NULL, NULL);
    return rc == SQLITE_OK ? FD_OK : store_fail(st, rc, err, "setting store.synchronous");
}

void fd_store_set_busy_timeout(fd_store *st, int ms)
{
    st->busy_timeout_ms = ms < 0 ? 0 : ms;
    store_lock_wait(st, st->busy_timeout_ms);
}

int fd_store_open_cfg(const fd_config *cfg, fd_store **out, fd_err *err)
{
    char path[600];
    fd_config_store_path(cfg, path, sizeof path);
    int rc = fd_store_open(path, out, err);
    if (rc)
        return rc;
    fd_store_set_busy_timeout(*out, cfg->store_busy_timeout_ms);
    rc = fd_store_set_synchronous(*out, strcmp(cfg->store_synchronous, "full") == 0, err);
    if (rc) {
        fd_store_close(*out);
        *out = NULL;
    }
    return rc;
}

void fd_store_set_autocheckpoint(fd_store *st, int pages)
{
    if (st->engine != STORE_PG && st->db)
        sqlite3_wal_autocheckpoint(st->db, pages < 0 ? 0 : pages);
}

int fd_store_checkpoint(fd_store *st, int *pages, fd_err *err)
{
    if (pages)
        *pages = 0;
    if (st->engine == STORE_PG)
        return FD_OK;
    int log = 0, done = 0;
    int rc = sqlite3_wal_checkpoint_v2(st->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
    if (pages)
        *pages = log > 0 ? log : 0;
    return rc == SQLITE_OK ? FD_OK : store_fail(st, rc, err, "checkpoint");
}

int fd_store_checkpoint_restart(fd_store *st, int wait_ms, int *pages, fd_err *err)
{
    if (pages)
        *pages = 0;
    if (st->engine == STORE_PG)
        return FD_OK;
    int log = 0, done = 0;
    store_lock_wait(st, wait_ms < 0 ? 0 : wait_ms);
    int rc = sqlite3_wal_checkpoint_v2(st->db, NULL, SQLITE_CHECKPOINT_RESTART, &log, &done);
    store_lock_wait(st, st->busy_timeout_ms);
    if (pages)
        *pages = log > 0 ? log : 0;
    if (rc == SQLITE_BUSY)
        return fd_err_set(err, FD_EUNAVAIL, "checkpoint: the log is still being read");
    return rc == SQLITE_OK ? FD_OK : store_fail(st, rc, err, "checkpoint");
}

int fd_store_schema_version(fd_store *st)
{
    return st->user_version;
}

int fd_store_migrations_applied(fd_store *st)
{
    return st->applied;
}

/* Runs one of the argument-less transaction statements. */
static int run_simple(fd_store *st, stmt_id id, fd_err *err, const char *what)
{
    if (st->engine == STORE_PG) {
        /* Writers take one lock, as SQLite's BEGIN IMMEDIATE does: every
         * read-then-write in a transaction (the next turn's seq, the next
         * KB version, an idempotency claim) stays as serial as on SQLite,
         * across every replica. Taken in the same round trip as BEGIN.
         * Batches of turns take it shared (fd_store_begin_turns). */
        static const char *const pg_sql[] = {
            /* READ COMMITTED whatever the database's default: the snapshot
             * must be taken after the lock is granted, not before. */
            [STMT_BEGIN] = "BEGIN ISOLATION LEVEL READ COMMITTED; "
                           "SELECT pg_advisory_xact_lock(" STORE_PG_WRITE_LOCK ")",
            [STMT_COMMIT] = "COMMIT",
            [STMT_ROLLBACK] = "ROLLBACK",
        };
        int rc = pg_exec(st, pg_sql[id]);
        if (rc == SQLITE_OK)
            return FD_OK;
        int code = store_fail(st, rc, err, what);
        /* BEGIN went through but the lock wait did not: leave no
         * transaction open behind a failed begin. */
        if (id == STMT_BEGIN && !store_autocommit(st))
            pg_exec(st, "ROLLBACK");
        return code;
    }
    store_stmt *s = st->stmt[id];
    int rc = stmt_step(s);
    int code = rc == SQLITE_DONE ? FD_OK : store_fail(st, rc, err, what);
    stmt_reset(s);
    return code;
}

static void turns_tx_end(fd_store *st)
{
    st->turns_tx = 0;
    st->n_turn_keys = 0;
}

int fd_store_begin(fd_store *st, fd_err *err)
{
    if (store_autocommit(st) == 0)
        return fd_err_set(err, FD_EINVAL, "store: transactions do not nest");
    turns_tx_end(st);
    return run_simple(st, STMT_BEGIN, err, "begin");
}

int32_t store_session_key(const char *session_id)
{
    return (int32_t)(uint32_t)fd_hash64(session_id, strlen(session_id), 0x7306003);
}

static int key_cmp(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* Adds key to the transaction's held set (kept sorted, no repeats). */
static int keys_add(fd_store *st, int32_t key)
{
    if (st->n_turn_keys == st->cap_turn_keys) {
        size_t cap = st->cap_turn_keys ? st->cap_turn_keys * 2 : 64;
        int32_t *p = fd_realloc(st->turn_keys, cap * sizeof *p);
        if (!p)
            return FD_ENOMEM;
        st->turn_keys = p;
        st->cap_turn_keys = cap;
    }
    st->turn_keys[st->n_turn_keys++] = key;
    qsort(st->turn_keys, st->n_turn_keys, sizeof *st->turn_keys, key_cmp);
    size_t n = 0;
    for (size_t i = 0; i < st->n_turn_keys; i++)
        if (n == 0 || st->turn_keys[n - 1] != st->turn_keys[i])
            st->turn_keys[n++] = st->turn_keys[i];
    st->n_turn_keys = n;
    return FD_OK;
}

/* Turn batches on PostgreSQL (issue 16). Every other write transaction
 * holds the write lock exclusively from BEGIN to its end, as SQLite's
 * BEGIN IMMEDIATE does, so its read-then-writes (the next KB version, an
 * idempotency claim, an order's number, erasing a user's sessions and
 * everything that names them) see no concurrent writer. A batch of plain
 * turns takes that lock shared instead: it still never overlaps one of
 * those transactions (each waits for the other, in the lock's queue
 * order, so neither starves), only other batches. Among batches:
 *   - analytics events and cost rows are inserts with ids from
 *     sequences: nothing read, nothing to serialize;
 *   - the session row is an upsert: PostgreSQL locks the row, and a
 *     second batch's upsert waits for the first's commit and applies its
 *     values over it (READ COMMITTED), as the later commit would have;
 *     its fields (n_turns, slots, state) were read by the turn under the
 *     conversation's lease (dialog/turn.c), not in this transaction;
 *   - the turns' seq is the session's max(seq) + 1: a read-then-write.
 *     Each batch takes the lock of every conversation it writes before
 *     its first statement reads a seq, so that read (a new snapshot per
 *     statement in READ COMMITTED) sees every turn of the conversation
 *     committed before, and none is in flight. The keys are taken in
 *     ascending order, all in BEGIN's round trip: two batches cannot
 *     each hold a key the other waits for. The unique index
 *     turns_session_seq stays the last word: a writer outside these
 *     locks loses with FD_ECONFLICT "seq", never a duplicate (convo.c).
 * Nothing waits while holding a lock another waits for: an exclusive
 * writer takes its lock first and no conversation lock; a batch takes the
 * shared lock before any key and its keys before any row. The locks are
 * transaction-scoped: a replica that dies mid-batch releases them with
 * its connection. */
int fd_store_begin_turns(fd_store *st, const char *const *session_ids, size_t n, fd_err *err)
{
    if (store_autocommit(st) == 0)
        return fd_err_set(err, FD_EINVAL, "store: transactions do not nest");
    turns_tx_end(st);
    if (st->engine != STORE_PG)
        return run_simple(st, STMT_BEGIN, err, "begin");
    for (size_t i = 0; i < n; i++)
        if (keys_add(st, store_session_key(session_ids[i])))
            return fd_err_set(err, FD_ENOMEM, "store: out of memory");
    /* Three statements whatever the batch's size: BEGIN, the shared lock,
     * then every key in one statement, in ascending order (the aggregate
     * reads the sorted rows one after another; a lock timeout stops it). */
    static const char head[] = "BEGIN ISOLATION LEVEL READ COMMITTED; "
                               "SELECT pg_advisory_xact_lock_shared(" STORE_PG_WRITE_LOCK "); "
                               "SELECT count(pg_advisory_xact_lock(" STORE_PG_SESSION_LOCK ", k)) "
                               "FROM (SELECT unnest('{";
    static const char tail[] = "}'::int4[]) AS k ORDER BY k) AS keys";
    size_t cap = sizeof head + sizeof tail + st->n_turn_keys * 12;
    char *sql = fd_malloc(cap);
    if (!sql) {
        turns_tx_end(st);
        return fd_err_set(err, FD_ENOMEM, "store: out of memory");
    }
    size_t len = (size_t)snprintf(sql, cap, "%s", head);
    for (size_t i = 0; i < st->n_turn_keys; i++)
        len += (size_t)snprintf(sql + len, cap - len, i ? ",%d" : "%d", (int)st->turn_keys[i]);
    snprintf(sql + len, cap - len, "%s", tail);
    int rc = pg_exec(st, sql);
    fd_free(sql);
    if (rc == SQLITE_OK) {
        st->turns_tx = 1;
        return FD_OK;
    }
    turns_tx_end(st);
    int code = store_fail(st, rc, err, "begin");
    if (!store_autocommit(st))
        pg_exec(st, "ROLLBACK");
    return code;
}

int store_turns_lock(fd_store *st, const char *session_id, fd_err *err)
{
    if (st->engine != STORE_PG || !st->turns_tx)
        return FD_OK;
    int32_t key = store_session_key(session_id);
    if (bsearch(&key, st->turn_keys, st->n_turn_keys, sizeof key, key_cmp))
        return FD_OK;
    /* Not named at BEGIN: taken now, after others (a caller's slip; if two
     * batches did so crosswise, PostgreSQL's deadlock check would end one
     * with FD_EUNAVAIL). */
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT pg_advisory_xact_lock(" STORE_PG_SESSION_LOCK ", %d)",
             (int)key);
    int rc = pg_exec(st, sql);
    if (rc != SQLITE_OK)
        return store_fail(st, rc, err, "locking a conversation's turns");
    return keys_add(st, key) ? fd_err_set(err, FD_ENOMEM, "store: out of memory") : FD_OK;
}

int fd_store_commit(fd_store *st, fd_err *err)
{
    if (store_autocommit(st) != 0)
        return fd_err_set(err, FD_EINVAL, "store: commit outside a transaction");
    if (FD_FAULT("store.commit")) {
        fd_store_rollback(st);
        return fd_err_set(err, FD_EIO, "commit: injected fault store.commit");
    }
    turns_tx_end(st);
    int rc = run_simple(st, STMT_COMMIT, err, "commit");
    /* A failed COMMIT can leave the transaction open (SQLITE_BUSY): close
     * it, so the caller never continues inside a half-finished one. */
    if (rc)
        fd_store_rollback(st);
    return rc;
}

/* A savepoint statement: prepared on SQLite; on PostgreSQL sent as is
 * (deferred with the rows, pg.c). */
static int run_part(fd_store *st, stmt_id id, const char *sql)
{
    if (st->engine == STORE_PG)
        return store_exec(st, sql);
    store_stmt *s = st->stmt[id];
    int rc = stmt_step(s);
    stmt_reset(s);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

int fd_store_savepoint(fd_store *st, fd_err *err)
{
    int rc = run_part(st, STMT_SAVEPOINT, "SAVEPOINT part");
    return rc == SQLITE_OK ? FD_OK : store_fail(st, rc, err, "savepoint");
}

int fd_store_release(fd_store *st, fd_err *err)
{
    int rc = run_part(st, STMT_RELEASE, "RELEASE part");
    return rc == SQLITE_OK ? FD_OK : store_fail(st, rc, err, "release savepoint");
}

void fd_store_defer_writes(fd_store *st, int on)
{
    if (st->engine == STORE_PG)
        pg_defer_writes(st, on);
}

void fd_store_rollback_to(fd_store *st)
{
    if (st->engine == STORE_PG) {
        store_exec(st, "ROLLBACK TO part; RELEASE part");
        return;
    }
    if (run_part(st, STMT_ROLLBACK_TO, NULL) == SQLITE_OK)
        run_part(st, STMT_RELEASE, NULL);
}

void fd_store_rollback(fd_store *st)
{
    if (!st)
        return;
    turns_tx_end(st);
    if (store_autocommit(st) != 0)
        return;
    run_simple(st, STMT_ROLLBACK, NULL, "rollback");
}
