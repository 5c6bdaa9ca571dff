/* migrate.c: the schema as an ordered list of migrations. PRAGMA
 * user_version counts how many have run; open applies the rest, each in its
 * own transaction, so a crash mid-upgrade leaves a consistent older schema.
 * Append new scripts at the end; never edit one that has shipped. */
#include "store_int.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

static const char *const migrations[] = {
    /* 1: documents, their chunks, and knowledge-base versions. */
    "CREATE TABLE documents ("
    "  id INTEGER PRIMARY KEY,"
    "  key TEXT NOT NULL UNIQUE,"
    "  title TEXT NOT NULL DEFAULT '',"
    "  source TEXT NOT NULL DEFAULT '',"
    "  tag TEXT NOT NULL DEFAULT '',"
    "  lang TEXT NOT NULL DEFAULT '',"
    "  hash TEXT NOT NULL DEFAULT '',"
    "  n_chunks INTEGER NOT NULL DEFAULT 0,"
    "  kb_version INTEGER NOT NULL DEFAULT 0,"
    "  updated_at REAL NOT NULL DEFAULT 0"
    ");"
    "CREATE INDEX documents_source ON documents(source);"
    "CREATE TABLE chunks ("
    "  id INTEGER PRIMARY KEY,"
    "  doc_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,"
    "  ord INTEGER NOT NULL,"
    "  section TEXT NOT NULL DEFAULT '',"
    "  text TEXT NOT NULL"
    ");"
    /* Serves the cascade, the per-doc delete and chunks_each's order. */
    "CREATE UNIQUE INDEX chunks_doc_ord ON chunks(doc_id, ord);"
    "CREATE TABLE kb_versions ("
    "  version INTEGER PRIMARY KEY,"
    "  created_at REAL NOT NULL,"
    "  note TEXT NOT NULL DEFAULT ''"
    ");",
    /* 2: the conversation engine: knowledge-base assets, sessions and their
     * turns, handoffs to people, one analytics event per turn. */
    "CREATE TABLE kb_assets ("
    "  name TEXT PRIMARY KEY,"
    "  content BLOB NOT NULL,"
    "  hash TEXT NOT NULL,"
    "  source TEXT NOT NULL DEFAULT '',"
    "  kb_version INTEGER NOT NULL DEFAULT 0,"
    "  updated_at REAL NOT NULL"
    ");"
    "CREATE TABLE sessions ("
    "  id TEXT PRIMARY KEY,"
    "  user TEXT NOT NULL DEFAULT '',"
    "  lang TEXT NOT NULL DEFAULT '',"
    "  slots TEXT NOT NULL DEFAULT '{}',"
    "  state TEXT NOT NULL DEFAULT 'bot',"
    "  n_turns INTEGER NOT NULL DEFAULT 0,"
    "  unresolved INTEGER NOT NULL DEFAULT 0,"
    "  created_at REAL NOT NULL,"
    "  updated_at REAL NOT NULL"
    ");"
    "CREATE TABLE turns ("
    "  id INTEGER PRIMARY KEY,"
    "  session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,"
    "  seq INTEGER NOT NULL,"
    "  role TEXT NOT NULL,"
    "  text TEXT NOT NULL,"
    "  intent TEXT NOT NULL DEFAULT '',"
    "  route TEXT NOT NULL DEFAULT '',"
    "  meta TEXT NOT NULL DEFAULT '{}',"
    "  created_at REAL NOT NULL"
    ");"
    "CREATE UNIQUE INDEX turns_session_seq ON turns(session_id, seq);"
    "CREATE TABLE handoffs ("
    "  id INTEGER PRIMARY KEY,"
    "  session_id TEXT NOT NULL,"
    "  tier TEXT NOT NULL,"
    "  reason TEXT NOT NULL DEFAULT '',"
    "  summary TEXT NOT NULL DEFAULT '',"
    "  status TEXT NOT NULL DEFAULT 'open',"
    "  operator TEXT NOT NULL DEFAULT '',"
    "  created_at REAL NOT NULL,"
    "  updated_at REAL NOT NULL"
    ");"
    "CREATE INDEX handoffs_status ON handoffs(status, id);"
    "CREATE INDEX handoffs_session ON handoffs(session_id);"
    "CREATE TABLE analytics_events ("
    "  id INTEGER PRIMARY KEY,"
    "  at REAL NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  session_id TEXT NOT NULL DEFAULT '',"
    "  turn_seq INTEGER NOT NULL DEFAULT 0,"
    "  data TEXT NOT NULL DEFAULT '{}'"
    ");",
    /* 3: API keys. Only SHA-256(key) is kept (unique: lookups go by hash);
     * the visible prefix is indexed but not unique, since two random keys
     * may share their first 12 characters. valid_until ends the overlap
     * of a rotated key (0: none); times are unix seconds, 0 = never. */
    "CREATE TABLE api_keys ("
    "  id INTEGER PRIMARY KEY,"
    "  prefix TEXT NOT NULL,"
    "  hash TEXT NOT NULL UNIQUE,"
    "  name TEXT NOT NULL DEFAULT '',"
    "  scopes INTEGER NOT NULL,"
    "  created_at REAL NOT NULL,"
    "  expires_at REAL NOT NULL DEFAULT 0,"
    "  revoked_at REAL NOT NULL DEFAULT 0,"
    "  rotated_to INTEGER NOT NULL DEFAULT 0,"
    "  valid_until REAL NOT NULL DEFAULT 0,"
    "  last_used_at REAL NOT NULL DEFAULT 0"
    ");"
    "CREATE INDEX api_keys_prefix ON api_keys(prefix);",
    /* 4: the cost ledger: one row per answered message, cached or not, so
     * cost per request is the ledger's sum over its count. day is the UTC
     * date (grouping without date functions); key is the API key's prefix. */
    "CREATE TABLE costs ("
    "  id INTEGER PRIMARY KEY,"
    "  at REAL NOT NULL,"
    "  day TEXT NOT NULL,"
    "  request_id TEXT NOT NULL DEFAULT '',"
    "  session_id TEXT NOT NULL DEFAULT '',"
    "  key TEXT NOT NULL DEFAULT '',"
    "  model TEXT NOT NULL DEFAULT '',"
    "  route TEXT NOT NULL DEFAULT '',"
    "  cached TEXT NOT NULL DEFAULT '',"
    "  llm_called INTEGER NOT NULL DEFAULT 0,"
    "  prompt_tokens INTEGER NOT NULL DEFAULT 0,"
    "  completion_tokens INTEGER NOT NULL DEFAULT 0,"
    "  cost_usd REAL NOT NULL DEFAULT 0"
    ");"
    "CREATE INDEX costs_at ON costs(at);",
    /* 5: tenancy of conversations. owner is the principal that created the
     * session ("key:<id>", "jwt:<sub>", "visitor:<hash>", or '' when the
     * server needs no key); it is set on insert and never changed. Rows
     * from before this migration keep '': only an open server reaches them. */
    "ALTER TABLE sessions ADD COLUMN owner TEXT NOT NULL DEFAULT '';",
    /* 6: a customer's data under their control: sessions found by end
     * user (export, erasure), and the audit log of administrative actions
     * (keys, uploads, deletes, exports, erasures; no route edits it). */
    "CREATE INDEX sessions_user ON sessions(user);"
    "CREATE TABLE audit_log ("
    "  id INTEGER PRIMARY KEY,"
    "  at REAL NOT NULL,"
    "  actor TEXT NOT NULL DEFAULT '',"
    "  action TEXT NOT NULL,"
    "  target TEXT NOT NULL DEFAULT '',"
    "  detail TEXT NOT NULL DEFAULT ''"
    ");",
    /* 7: orders taken in chat. An order, its lines, its first history row
     * and its invoice's outbox row are written in the transaction of the
     * turn that confirmed it; idem_key (one per confirmation) makes a
     * retried message find the order it already made. ref is the id
     * customers see ("HP-100001"). Money in minor units. */
    "CREATE TABLE orders ("
    "  id INTEGER PRIMARY KEY,"
    "  ref TEXT NOT NULL UNIQUE,"
    "  idem_key TEXT NOT NULL UNIQUE,"
    "  session_id TEXT NOT NULL DEFAULT '',"
    "  owner TEXT NOT NULL DEFAULT '',"
    "  customer_id TEXT NOT NULL DEFAULT '',"
    "  customer TEXT NOT NULL DEFAULT '',"
    "  outlet TEXT NOT NULL DEFAULT '',"
    "  address TEXT NOT NULL DEFAULT '',"
    "  delivery_date TEXT NOT NULL DEFAULT '',"
    "  delivery_window TEXT NOT NULL DEFAULT '',"
    "  currency TEXT NOT NULL DEFAULT '',"
    "  subtotal INTEGER NOT NULL DEFAULT 0,"
    "  tax INTEGER NOT NULL DEFAULT 0,"
    "  total INTEGER NOT NULL DEFAULT 0,"
    "  status TEXT NOT NULL,"
    "  created_at REAL NOT NULL,"
    "  updated_at REAL NOT NULL"
    ");"
    "CREATE INDEX orders_session ON orders(session_id);"
    "CREATE TABLE order_lines ("
    "  order_id INTEGER NOT NULL REFERENCES orders(id) ON DELETE CASCADE,"
    "  line INTEGER NOT NULL,"
    "  code TEXT NOT NULL,"
    "  name TEXT NOT NULL DEFAULT '',"
    "  qty INTEGER NOT NULL,"
    "  packs INTEGER NOT NULL,"
    "  pack_size INTEGER NOT NULL,"
    "  pack_price INTEGER NOT NULL,"
    "  total INTEGER NOT NULL,"
    "  PRIMARY KEY (order_id, line)"
    ");"
    "CREATE TABLE order_history ("
    "  id INTEGER PRIMARY KEY,"
    "  order_id INTEGER NOT NULL REFERENCES orders(id) ON DELETE CASCADE,"
    "  at REAL NOT NULL,"
    "  status TEXT NOT NULL,"
    "  note TEXT NOT NULL DEFAULT ''"
    ");"
    "CREATE TABLE outbox ("
    "  id INTEGER PRIMARY KEY,"
    "  kind TEXT NOT NULL,"
    "  order_id INTEGER NOT NULL DEFAULT 0,"
    "  idem_key TEXT NOT NULL UNIQUE,"
    "  payload TEXT NOT NULL,"
    "  state TEXT NOT NULL DEFAULT 'pending',"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  next_at REAL NOT NULL DEFAULT 0,"
    "  last_error TEXT NOT NULL DEFAULT '',"
    "  created_at REAL NOT NULL,"
    "  updated_at REAL NOT NULL"
    ");"
    "CREATE INDEX outbox_due ON outbox(state, next_at);",
    /* 8: delivery to the accounting system: the id it gave the invoice,
     * and the OAuth2 refresh token (one row; encrypted by the caller,
     * generation counts rotations). */
    "ALTER TABLE outbox ADD COLUMN external_id TEXT NOT NULL DEFAULT '';"
    "CREATE TABLE accounting_tokens ("
    "  id INTEGER PRIMARY KEY CHECK (id = 1),"
    "  refresh_enc BLOB NOT NULL,"
    "  generation INTEGER NOT NULL,"
    "  updated_at REAL NOT NULL"
    ");",
    /* 9: Idempotency-Key on POST /v1/chat: the first response to a key,
     * per principal, replayed to a retry with the same body for a day.
     * done 0: the first request is still running. */
    "CREATE TABLE idempotency ("
    "  principal TEXT NOT NULL,"
    "  key TEXT NOT NULL,"
    "  body_hash TEXT NOT NULL,"
    "  done INTEGER NOT NULL DEFAULT 0,"
    "  response TEXT NOT NULL DEFAULT '',"
    "  created_at REAL NOT NULL,"
    "  PRIMARY KEY (principal, key)"
    ");"
    "CREATE INDEX idempotency_created ON idempotency(created_at);",
    /* 10: a conversation found by how it opened: OpenAI clients send the
     * whole history and no session id, so the first user message and the
     * first reply find the session again (fd_store_session_by_opening).
     * Partial: one entry per session. */
    "CREATE INDEX turns_opening ON turns(text) WHERE seq = 1;",
    /* 11: one message of a conversation answered at a time, across
     * replicas: a lease per conversation being answered (holder, until
     * when), taken before the session is read and dropped once its turn is
     * stored; a replica that dies holding one loses it when it expires. */
    "CREATE TABLE convo_locks ("
    "  session_id TEXT PRIMARY KEY,"
    "  holder TEXT NOT NULL,"
    "  expires_at REAL NOT NULL"
    ");",
    /* 12: index snapshots shared between replicas (snapshots.c): one row
     * per snapshot, its bytes in parts of a few MB (a row each, so no
     * value is larger than a part). */
    "CREATE TABLE kb_snapshots ("
    "  kb_version INTEGER NOT NULL,"
    "  tag TEXT NOT NULL,"
    "  parts INTEGER NOT NULL,"
    "  bytes INTEGER NOT NULL,"
    "  sha256 TEXT NOT NULL,"
    "  created_at REAL NOT NULL,"
    "  PRIMARY KEY (kb_version, tag)"
    ");"
    "CREATE TABLE kb_snapshot_parts ("
    "  kb_version INTEGER NOT NULL,"
    "  tag TEXT NOT NULL,"
    "  part INTEGER NOT NULL,"
    "  data BLOB NOT NULL,"
    "  PRIMARY KEY (kb_version, tag, part)"
    ");",
    /* 13: the operator console: internal notes on a conversation (gone
     * with it), and handoffs by last change, so the live queue's poll
     * finds the recently resolved without scanning all of them. */
    "CREATE TABLE handoff_notes ("
    "  id INTEGER PRIMARY KEY,"
    "  session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,"
    "  handoff_id INTEGER NOT NULL,"
    "  author TEXT NOT NULL DEFAULT '',"
    "  text TEXT NOT NULL,"
    "  created_at REAL NOT NULL"
    ");"
    "CREATE INDEX handoff_notes_session ON handoff_notes(session_id, id);"
    "CREATE INDEX handoffs_updated ON handoffs(updated_at);",
    /* 14: agents with a login (issue 14): accounts with an argon2id
     * password hash (libsodium's string, parameters included), their
     * sign-in sessions (only SHA-256 of the token kept, as for API keys;
     * gone with the agent), the images customers send to a person (gone
     * with the conversation), and the ratings among the analytics events
     * found without reading every turn's event (a partial index). */
    "CREATE TABLE agents ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  display_name TEXT NOT NULL DEFAULT '',"
    "  pw_hash TEXT NOT NULL,"
    "  created_at REAL NOT NULL,"
    "  disabled_at REAL NOT NULL DEFAULT 0,"
    "  last_login_at REAL NOT NULL DEFAULT 0"
    ");"
    "CREATE TABLE agent_sessions ("
    "  id INTEGER PRIMARY KEY,"
    "  agent_id INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,"
    "  token_hash TEXT NOT NULL UNIQUE,"
    "  prefix TEXT NOT NULL,"
    "  created_at REAL NOT NULL,"
    "  expires_at REAL NOT NULL,"
    "  revoked_at REAL NOT NULL DEFAULT 0"
    ");"
    "CREATE INDEX agent_sessions_agent ON agent_sessions(agent_id);"
    "CREATE TABLE attachments ("
    "  id INTEGER PRIMARY KEY,"
    "  session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,"
    "  turn_seq INTEGER NOT NULL DEFAULT 0,"
    "  type TEXT NOT NULL,"
    "  bytes INTEGER NOT NULL,"
    "  sha256 TEXT NOT NULL,"
    "  data BLOB NOT NULL,"
    "  created_at REAL NOT NULL"
    ");"
    "CREATE INDEX attachments_session ON attachments(session_id, id);"
    "CREATE INDEX analytics_ratings ON analytics_events(id) WHERE kind = 'rating';",
    /* 15: nothing on SQLite (snapshots are not kept there); on PostgreSQL
     * the shared index snapshot's parts stored uncompressed, see below. */
    "SELECT 1;",
    /* 16: what an order's total holds besides its lines (issue 15: volume
     * discounts, delivery fees, surcharges); goods = subtotal for the
     * orders taken before, which had nothing else. */
    "ALTER TABLE orders ADD COLUMN goods INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE orders ADD COLUMN discount INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE orders ADD COLUMN delivery_fee INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE orders ADD COLUMN surcharge INTEGER NOT NULL DEFAULT 0;"
    "UPDATE orders SET goods = subtotal;",
};

#define N_MIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))

/* Where PostgreSQL needs other DDL than the translation of the SQLite
 * script (pg.c: types, "user", collation); NULL: the translation.
 * 10: a B-tree entry is limited to a third of a page (~2.7 kB), and a
 * customer's first message may be longer; a hash index has no such limit
 * and the lookup is by equality only. */
static const char *const pg_migrations[] = {
    [9] = "CREATE INDEX turns_opening ON turns USING hash (text) WHERE seq = 1;",
    /* 15: a new replica fetches the whole snapshot before it is ready, and
     * PostgreSQL's pglz decompressing it was most of that fetch: 97 MB of
     * parts (76 MB compressed, a 21% saving) took 0.33 s to send
     * compressed and 0.15 s stored plain; the fetch 0.50 -> 0.30 s
     * (bench/RESULTS.md, "a new replica's start"). Parts written before
     * stay compressed until the next snapshot replaces them. */
    [14] = "ALTER TABLE kb_snapshot_parts ALTER COLUMN data SET STORAGE EXTERNAL;",
};
_Static_assert(sizeof pg_migrations / sizeof pg_migrations[0] <=
                   sizeof migrations / sizeof migrations[0],
               "a PostgreSQL override per migration at most");

/* What each migration adds, for `frontdesk migrate` (same order; a
 * static assert below keeps the two lists the same length). */
static const char *const migration_notes[] = {
    "documents, their chunks, knowledge-base versions",
    "assets, sessions, turns, handoffs, analytics events",
    "API keys",
    "LLM cost ledger",
    "session owners (tenancy of conversations)",
    "sessions by end user (export, erasure), the audit log",
    "orders, order lines and history, the outbox",
    "outbox delivery ids, accounting tokens",
    "idempotency keys",
    "conversations found by their opening (OpenAI clients' history)",
    "conversation locks (one message of a conversation at a time, across replicas)",
    "index snapshots shared between replicas",
    "internal notes on conversations, handoffs by last change (operator console)",
    "agents with a login and their sessions, customers' attachments, ratings found by kind",
    "shared index snapshots stored uncompressed (PostgreSQL; a new replica starts sooner)",
    "orders' goods, volume discount, delivery fee and surcharge beside their totals",
};
_Static_assert(sizeof migration_notes / sizeof migration_notes[0] ==
                   sizeof migrations / sizeof migrations[0],
               "one note per migration");

const char *fd_store_migration_note(int n)
{
    return n >= 1 && n <= N_MIGRATIONS ? migration_notes[n - 1] : "";
}

int fd_store_schema_latest(void)
{
    return N_MIGRATIONS;
}

int fd_store_schema_check(const char *path, int *have, fd_err *err)
{
    *have = 0;
    if (store_is_pg_url(path))
        return store_pg_schema_check(path, have, err);
    struct stat sb;
    if (strncmp(path, "file:", 5) != 0 && stat(path, &sb) != 0) {
        if (errno == ENOENT)
            return FD_OK; /* a new store: every migration pending */
        return fd_err_set(err, FD_EIO, "cannot read %s: %s", path, strerror(errno));
    }
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL);
    sqlite3_stmt *s = NULL;
    /* Another process may be creating or migrating it right now. */
    if (rc == SQLITE_OK)
        sqlite3_busy_timeout(db, STORE_BUSY_TIMEOUT_MS);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        *have = sqlite3_column_int(s, 0);
        rc = SQLITE_OK;
    }
    int code = FD_OK;
    if (rc != SQLITE_OK)
        code = fd_err_set(err, rc == SQLITE_NOTADB ? FD_EFORMAT : FD_EIO,
                          "cannot read the schema version of %s: %s", path,
                          db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    sqlite3_finalize(s);
    sqlite3_close_v2(db);
    return code;
}

static int read_user_version(fd_store *st, int *out, fd_err *err)
{
    if (st->engine == STORE_PG) {
        int rc = store_pg_read_version(st, out);
        return rc == SQLITE_OK ? FD_OK : store_fail(st, rc, err, "reading schema version");
    }
    store_stmt *s = NULL;
    int rc = store_stmt_prepare(st, "PRAGMA user_version", &s);
    if (rc == SQLITE_OK) {
        rc = stmt_step(s);
        if (rc == SQLITE_ROW) {
            *out = stmt_col_int(s, 0);
            rc = SQLITE_OK;
        }
    }
    int code = FD_OK;
    if (rc != SQLITE_OK)
        code = store_fail(st, rc, err, "reading schema version");
    stmt_finalize(s);
    return code;
}

static int exec(fd_store *st, const char *sql, fd_err *err, const char *what)
{
    int rc = store_exec(st, sql);
    return rc == SQLITE_OK ? FD_OK : store_fail(st, rc, err, what);
}

static int too_new(int have, fd_err *err)
{
    return fd_err_set(err, FD_EFORMAT,
                      "database schema version %d is newer than this frontdesk %s "
                      "understands (%d); upgrade frontdesk or use another data_dir",
                      have, FD_VERSION, N_MIGRATIONS);
}

/* One migration: the version is re-read inside the write transaction, so
 * two processes opening a fresh file at once do not both apply it. */
static int migrate_one(fd_store *st, int *version, fd_err *err)
{
    /* PostgreSQL: the migration lock plays BEGIN IMMEDIATE's part, so
     * replicas starting together apply each migration once. */
    int pg = st->engine == STORE_PG;
    int rc = exec(st,
                  pg ? "BEGIN; SELECT pg_advisory_xact_lock(" STORE_PG_MIGRATE_LOCK ")"
                     : "BEGIN IMMEDIATE",
                  err, "starting migration");
    if (rc)
        return rc;
    rc = read_user_version(st, version, err);
    if (!rc && *version > N_MIGRATIONS)
        rc = too_new(*version, err);
    if (!rc && *version < N_MIGRATIONS) {
        char what[64];
        snprintf(what, sizeof what, "migration %d", *version + 1);
        const char *sql = migrations[*version];
        if (pg && *version < (int)(sizeof pg_migrations / sizeof pg_migrations[0]) &&
            pg_migrations[*version])
            sql = pg_migrations[*version];
        rc = exec(st, sql, err, what);
        if (!rc && pg) {
            int v = store_pg_write_version(st, *version + 1);
            rc = v == SQLITE_OK ? FD_OK : store_fail(st, v, err, what);
        } else if (!rc) {
            char pragma[64];
            snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", *version + 1);
            rc = exec(st, pragma, err, what);
        }
        if (!rc)
            rc = exec(st, "COMMIT", err, what);
        if (!rc) {
            (*version)++;
            st->applied++;
        }
    }
    if (rc) {
        store_exec(st, "ROLLBACK");
        return rc;
    }
    if (store_autocommit(st) == 0)
        return exec(st, "COMMIT", err, "ending migration");
    return FD_OK;
}

int store_migrate(fd_store *st, fd_err *err)
{
    int version = 0;
    int rc = read_user_version(st, &version, err);
    if (rc)
        return rc;
    if (version > N_MIGRATIONS)
        return too_new(version, err);
    while (!rc && version < N_MIGRATIONS)
        rc = migrate_one(st, &version, err);
    if (!rc)
        st->user_version = version;
    return rc;
}
