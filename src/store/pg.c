/* pg.c: the PostgreSQL engine behind store.h (libpq), chosen by a
 * "postgres://" or "postgresql://" store URL (store.url). The store's SQL
 * is written once; store_pg_translate turns it into PostgreSQL's dialect.
 *
 * Statements are prepared on the server at their first execution and kept
 * per connection, keyed by their text and parameter types (a one-off
 * statement run again reuses its plan). Results come whole (PGresult), so
 * an iterator's callback may run other statements on the same connection.
 *
 * Guarantees as on SQLite: a transaction is all or nothing; writers are
 * serialized by one advisory lock taken with BEGIN (sqlite.c), except that
 * batches of turns take it shared, with their conversations' own locks
 * (fd_store_begin_turns), and migrations by another. A lost connection,
 * a lock wait past store.busy_timeout_ms or a serialization failure is
 * SQLITE_BUSY here, FD_EUNAVAIL to the caller (503, retry); the next
 * statement outside a transaction reconnects. */
#include "store_int.h"

#include <libpq-fe.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PG_MAX_PARAMS 40        /* fd_store_turn_write's 37 */
#define PG_CACHE_SLOTS 512      /* prepared statements kept per connection */
#define PG_RECONNECT_GAP_S 0.25 /* a dead server is not hammered per request */

enum { OID_TEXT = 25 };

typedef struct sbuf {
    char *p;
    size_t n, cap;
    int oom;
} sbuf;

static void put(sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = (b->cap ? b->cap * 2 : 256) + n;
        char *p = fd_realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static void puts_(sbuf *b, const char *s)
{
    put(b, s, strlen(s));
}

typedef struct pg_prepared {
    uint64_t hash; /* of the text and the parameter types; 0: empty slot */
    char *sql;
    unsigned types[PG_MAX_PARAMS];
    int nparams;
    unsigned id; /* server-side name "fd<id>" */
} pg_prepared;

struct store_pg {
    PGconn *conn;
    int in_tx; /* inside a transaction when the connection was last seen */
    int64_t changes;
    int lock_wait_ms; /* lock_timeout in force on the session; -1 unknown */
    double next_reconnect;
    unsigned next_id;
    pg_prepared cache[PG_CACHE_SLOTS];
    int n_cached;
    /* Statements inside a transaction whose answer nobody reads (INSERTs
     * without RETURNING, SAVEPOINT), rendered with their values, sent in
     * front of the next statement that needs one: a turn's rows cost three
     * round trips instead of seven. An error among them ends the
     * transaction there and is reported by that next statement. */
    sbuf deferred;
    int defer_on; /* fd_store_defer_writes */
    /* The connection went away inside a transaction: every statement fails
     * (busy) until the caller's ROLLBACK, so nothing after the loss runs
     * outside the transaction it belonged to. */
    int tx_lost;
    char errmsg[512];
#ifdef FD_TESTING
    atomic_int in_use; /* see pg_enter */
#endif
};

struct store_pg_stmt {
    fd_store *st;
    char *sql;
    int nparams;
    unsigned types[PG_MAX_PARAMS];
    const char *vals[PG_MAX_PARAMS];
    int lens[PG_MAX_PARAMS];
    int fmts[PG_MAX_PARAMS];
    char num[PG_MAX_PARAMS][32];
    PGresult *res;
    int ran, row, nrows;
    int answerless;      /* an INSERT without RETURNING (deferrable) */
    int binary;          /* results in binary format (pg_stmt_binary_results) */
    unsigned char *blob; /* the decoded bytea of (blob_row, blob_col) */
    size_t blob_len;
    int blob_row, blob_col;
};

int store_is_pg_url(const char *path)
{
    return path &&
           (strncmp(path, "postgres://", 11) == 0 || strncmp(path, "postgresql://", 13) == 0);
}

/* ---- translation ----------------------------------------------------------- */

static int is_word(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static int word_is(const char *w, size_t n, const char *kw)
{
    return strlen(kw) == n && strncasecmp(w, kw, n) == 0;
}

/* Whether the text after p starts with "PRIMARY" (the column is the
 * table's integer key: SQLite's rowid alias, a sequence on PostgreSQL). */
static int primary_follows(const char *p)
{
    while (*p == ' ' || *p == '\n' || *p == '\t')
        p++;
    return strncasecmp(p, "PRIMARY", 7) == 0 && !is_word(p[7]);
}

char *store_pg_translate(const char *sql, int *nparams)
{
    sbuf b = {0};
    int seq = 0, maxp = 0;
    /* Per statement: its first two words, whether it defines columns,
     * the parenthesis depth, and what the next word of a column
     * definition is (1: its name, 2: its type). */
    char first[8] = "", second[8] = "";
    int ddl = 0, depth = 0, expect = 0, nwords = 0;
    const char *p = sql;
    put(&b, "", 0);
    while (*p) {
        char c = *p;
        if (c == ';') {
            put(&b, p++, 1);
            first[0] = second[0] = '\0';
            ddl = depth = expect = nwords = 0;
        } else if (c == '\'' || c == '"') {
            const char *q = p + 1;
            while (*q && !(*q == c && q[1] != c)) /* '' and "" escape a quote */
                q += *q == c ? 2 : 1;
            if (*q)
                q++;
            put(&b, p, (size_t)(q - p));
            p = q;
            if (c == '"' && expect == 1)
                expect = 2;
        } else if (c == '?') {
            p++;
            int n = 0;
            while (*p >= '0' && *p <= '9')
                n = n * 10 + (*p++ - '0');
            if (!n)
                n = ++seq;
            if (n > maxp)
                maxp = n;
            char num[16];
            snprintf(num, sizeof num, "$%d", n);
            puts_(&b, num);
        } else if (is_word(c)) {
            const char *w = p;
            while (is_word(*p))
                p++;
            size_t n = (size_t)(p - w);
            if (nwords == 0)
                snprintf(first, sizeof first, "%.*s", (int)(n < 7 ? n : 7), w);
            else if (nwords == 1) {
                snprintf(second, sizeof second, "%.*s", (int)(n < 7 ? n : 7), w);
                ddl = (strcasecmp(first, "create") == 0 && strcasecmp(second, "table") == 0) ||
                      strcasecmp(first, "alter") == 0;
            }
            nwords++;
            const char *out = NULL;
            if (ddl && expect == 2 && depth <= 1) {
                if (word_is(w, n, "integer"))
                    out = primary_follows(p) ? "BIGSERIAL" : "BIGINT";
                else if (word_is(w, n, "real"))
                    out = "DOUBLE PRECISION";
                else if (word_is(w, n, "blob"))
                    out = "BYTEA";
                else if (word_is(w, n, "text"))
                    out = "TEXT COLLATE \"C\"";
                expect = 0;
            } else if (ddl && expect == 1 && depth <= 1) {
                static const char *const constraint[] = {"primary", "unique", "check", "foreign",
                                                         "constraint"};
                expect = 2;
                for (size_t k = 0; k < sizeof constraint / sizeof constraint[0]; k++)
                    if (word_is(w, n, constraint[k]))
                        expect = 0;
            } else if (ddl && word_is(w, n, "column")) {
                expect = 1;
            }
            /* The one reserved word among the store's column names. */
            if (!out && word_is(w, n, "user"))
                out = "\"user\"";
            if (out)
                puts_(&b, out);
            else
                put(&b, w, n);
        } else {
            if (c == '(' && ++depth == 1 && ddl && strcasecmp(first, "create") == 0)
                expect = 1;
            else if (c == ')')
                depth--;
            else if (c == ',' && depth == 1 && ddl)
                expect = 1;
            put(&b, p++, 1);
        }
    }
    if (b.oom) {
        fd_free(b.p);
        return NULL;
    }
    if (nparams)
        *nparams = maxp;
    return b.p;
}

/* ---- connection and errors ------------------------------------------------- */

static void set_msg(store_pg *pg, const char *prefix, const char *msg)
{
    snprintf(pg->errmsg, sizeof pg->errmsg, "%s%s", prefix, msg ? msg : "");
    size_t n = strlen(pg->errmsg);
    while (n && (pg->errmsg[n - 1] == '\n' || pg->errmsg[n - 1] == ' '))
        pg->errmsg[--n] = '\0';
}

/* A failed result in SQLite's vocabulary, its message kept. */
static int fail_code(store_pg *pg, PGresult *res)
{
    if (PQstatus(pg->conn) != CONNECTION_OK) {
        set_msg(pg, "PostgreSQL connection lost: ", PQerrorMessage(pg->conn));
        return SQLITE_BUSY;
    }
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    set_msg(pg, "", res ? PQresultErrorMessage(res) : PQerrorMessage(pg->conn));
    if (!state)
        return SQLITE_ERROR;
    if (strncmp(state, "23", 2) == 0)
        return SQLITE_CONSTRAINT;
    /* Retry-later conditions: serialization failure, deadlock, lock
     * timeout, cancelled, too many connections, shutting down, and the
     * whole connection-exception class. */
    static const char *const busy[] = {"40001", "40P01", "55P03", "57014",
                                       "53300", "57P01", "57P02", "57P03"};
    for (size_t i = 0; i < sizeof busy / sizeof busy[0]; i++)
        if (strcmp(state, busy[i]) == 0)
            return SQLITE_BUSY;
    if (strncmp(state, "08", 2) == 0)
        return SQLITE_BUSY;
    return SQLITE_ERROR;
}

static void cache_clear(store_pg *pg)
{
    for (int i = 0; i < PG_CACHE_SLOTS; i++) {
        fd_free(pg->cache[i].sql);
        pg->cache[i] = (pg_prepared){0};
    }
    pg->n_cached = 0;
}

static void deferred_drop(store_pg *pg)
{
    pg->deferred.n = 0;
    if (pg->deferred.p)
        pg->deferred.p[0] = '\0';
    pg->deferred.oom = 0;
}

static void note_tx(store_pg *pg)
{
    PGTransactionStatusType t = PQtransactionStatus(pg->conn);
    if (t != PQTRANS_UNKNOWN)
        pg->in_tx = t != PQTRANS_IDLE;
}

static int set_lock_wait(store_pg *pg, int ms)
{
    /* lock_timeout 0 means "wait forever" there; SQLite's busy 0 means
     * "fail at once": the nearest is 1 ms. */
    char sql[64];
    snprintf(sql, sizeof sql, "SET lock_timeout = %d", ms > 0 ? ms : 1);
    PGresult *res = PQexec(pg->conn, sql);
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    int rc = ok ? SQLITE_OK : fail_code(pg, res);
    PQclear(res);
    pg->lock_wait_ms = ok ? ms : -1;
    return rc;
}

/* The session's settings, after each (re)connection. */
static int session_setup(fd_store *st)
{
    store_pg *pg = st->pg;
    PGresult *res = PQexec(pg->conn, "SET client_min_messages = warning; SET TIME ZONE 'UTC'");
    int rc = PQresultStatus(res) == PGRES_COMMAND_OK ? SQLITE_OK : fail_code(pg, res);
    PQclear(res);
    if (rc == SQLITE_OK)
        rc = set_lock_wait(pg, st->busy_timeout_ms);
    return rc;
}

static PGconn *connect_url(const char *url)
{
    /* Our defaults first: the URL's own parameters override them. */
    const char *const keys[] = {"connect_timeout", "application_name", "dbname", NULL};
    const char *const vals[] = {"5", "frontdesk", url, NULL};
    return PQconnectdbParams(keys, vals, 1);
}

void *store_pg_connect(const char *url)
{
    return connect_url(url);
}

/* A usable connection, reconnecting outside a transaction; SQLITE_BUSY
 * when there is none. A transaction the connection took with it is over. */
static int ensure_conn(fd_store *st)
{
    store_pg *pg = st->pg;
    if (pg->tx_lost)
        return SQLITE_BUSY; /* errmsg still says why */
    if (PQstatus(pg->conn) == CONNECTION_OK)
        return SQLITE_OK;
    deferred_drop(pg);
    if (pg->in_tx) {
        pg->in_tx = 0;
        pg->tx_lost = 1;
        set_msg(pg, "PostgreSQL connection lost inside a transaction: ", PQerrorMessage(pg->conn));
        return SQLITE_BUSY;
    }
    double now = (double)fd_time_ns() / 1e9;
    if (now < pg->next_reconnect) {
        set_msg(pg, "PostgreSQL unreachable: ", PQerrorMessage(pg->conn));
        return SQLITE_BUSY;
    }
    pg->next_reconnect = now + PG_RECONNECT_GAP_S;
    PQreset(pg->conn);
    cache_clear(pg);
    pg->lock_wait_ms = -1;
    if (PQstatus(pg->conn) != CONNECTION_OK) {
        set_msg(pg, "PostgreSQL unreachable: ", PQerrorMessage(pg->conn));
        return SQLITE_BUSY;
    }
    return session_setup(st);
}

int store_pg_open(fd_store *st, const char *url, fd_err *err)
{
    st->pg = fd_calloc(1, sizeof *st->pg);
    if (!st->pg)
        return fd_err_set(err, FD_ENOMEM, "store: out of memory");
    st->pg->lock_wait_ms = -1;
    st->pg->conn = connect_url(url);
    if (!st->pg->conn)
        return fd_err_set(err, FD_ENOMEM, "store: out of memory connecting to PostgreSQL");
    if (PQstatus(st->pg->conn) != CONNECTION_OK) {
        set_msg(st->pg, "", PQerrorMessage(st->pg->conn));
        /* Unreachable is "retry later", as on any later statement: a
         * replica starting before its database waits and retries. */
        return fd_err_set(err, FD_EUNAVAIL, "cannot connect to PostgreSQL: %s", st->pg->errmsg);
    }
    int rc = session_setup(st);
    return rc == SQLITE_OK ? FD_OK : store_fail(st, rc, err, "setting up the PostgreSQL session");
}

void store_pg_close(store_pg *pg)
{
    if (!pg)
        return;
    cache_clear(pg);
    PQfinish(pg->conn);
    fd_free(pg->deferred.p);
    fd_free(pg);
}

const char *pg_errmsg(fd_store *st)
{
    return st->pg->errmsg;
}

int pg_autocommit(fd_store *st)
{
    note_tx(st->pg);
    return !st->pg->in_tx && !st->pg->tx_lost;
}

int64_t pg_changes(fd_store *st)
{
    return st->pg->changes;
}

void pg_lock_wait(fd_store *st, int ms)
{
    store_pg *pg = st->pg;
    if (pg->lock_wait_ms == ms || PQstatus(pg->conn) != CONNECTION_OK)
        return;
    set_lock_wait(pg, ms); /* a failure leaves it unknown; retried next time */
}

static void note_changes(store_pg *pg, PGresult *res)
{
    const char *n = PQcmdTuples(res);
    pg->changes = n && *n ? strtoll(n, NULL, 10) : 0;
}

/* Whether a statement that failed with the connection may run again on a
 * new one: nothing was done yet (outside a transaction) and running it
 * twice changes nothing (BEGIN, a read, a session setting). A write that
 * lost its connection may have committed: never repeated here. */
static int may_retry(store_pg *pg, int was_in_tx, const char *sql)
{
    if (was_in_tx || PQstatus(pg->conn) == CONNECTION_OK)
        return 0;
    while (*sql == ' ' || *sql == '\n')
        sql++;
    return strncasecmp(sql, "BEGIN", 5) == 0 || strncasecmp(sql, "SELECT", 6) == 0 ||
           strncasecmp(sql, "SET", 3) == 0;
}

/* Whether nobody reads sql's answer: an INSERT that returns nothing, or a
 * SAVEPOINT. Decided once per statement (pg_stmt_prepare). */
static int answerless(const char *sql)
{
    while (*sql == ' ' || *sql == '\n')
        sql++;
    if (strncasecmp(sql, "SAVEPOINT", 9) == 0)
        return 1;
    return strncasecmp(sql, "INSERT", 6) == 0 && !strcasestr(sql, "RETURNING");
}

/* Whether such a statement may wait now: inside a transaction, with
 * fd_store_defer_writes on. */
static int deferrable(store_pg *pg, int is_answerless)
{
    return is_answerless && pg->in_tx && pg->defer_on;
}

/* sql with its $N replaced by literals (text escaped by libpq); NULL when
 * it cannot be (no memory, a bytea value: those run on their own). */
static char *render(store_pg *pg, const char *sql, int n, const unsigned *types,
                    const char *const *vals)
{
    sbuf b = {0};
    put(&b, "", 0);
    for (const char *p = sql; *p;) {
        if (*p == '\'') { /* a literal in the statement itself */
            const char *q = p + 1;
            while (*q && !(*q == '\'' && q[1] != '\''))
                q += *q == '\'' ? 2 : 1;
            if (*q)
                q++;
            put(&b, p, (size_t)(q - p));
            p = q;
            continue;
        }
        if (*p == '$' && p[1] >= '0' && p[1] <= '9') {
            int k = 0;
            p++;
            while (*p >= '0' && *p <= '9')
                k = k * 10 + (*p++ - '0');
            if (k < 1 || k > n || types[k - 1] == 17) {
                b.oom = 1;
                break;
            }
            if (!vals[k - 1]) {
                puts_(&b, "NULL");
                continue;
            }
            char *lit = PQescapeLiteral(pg->conn, vals[k - 1], strlen(vals[k - 1]));
            if (!lit) {
                b.oom = 1;
                break;
            }
            puts_(&b, lit);
            PQfreemem(lit);
            /* Typed as bound, so "?5 IS NULL"-style uses read the same. */
            puts_(&b, types[k - 1] == 20 ? "::int8" : types[k - 1] == 701 ? "::float8" : "::text");
            continue;
        }
        put(&b, p++, 1);
    }
    if (b.oom) {
        fd_free(b.p);
        return NULL;
    }
    return b.p;
}

static int defer(store_pg *pg, const char *rendered)
{
    put(&pg->deferred, rendered, strlen(rendered));
    put(&pg->deferred, "; ", 2);
    return pg->deferred.oom ? SQLITE_NOMEM : SQLITE_OK;
}

/* Runs what was deferred, then sql (rendered), in one round trip; the
 * result is sql's. */
static PGresult *exec_with_deferred(store_pg *pg, const char *sql)
{
    put(&pg->deferred, sql, strlen(sql));
    PGresult *res = pg->deferred.oom ? NULL : PQexec(pg->conn, pg->deferred.p);
    deferred_drop(pg);
    return res;
}

static int exec_one(fd_store *st, const char *sql)
{
    store_pg *pg = st->pg;
    if (pg->tx_lost && strncasecmp(sql, "ROLLBACK", 8) == 0 &&
        strncasecmp(sql, "ROLLBACK TO", 11) != 0) {
        pg->tx_lost = 0; /* the server rolled it back when the connection went */
        return SQLITE_OK;
    }
    int rc = ensure_conn(st);
    if (rc != SQLITE_OK)
        return rc;
    char *t = store_pg_translate(sql, NULL);
    if (!t)
        return SQLITE_NOMEM;
    if (deferrable(pg, answerless(t)) && !pg->deferred.oom) {
        rc = defer(pg, t);
        fd_free(t);
        return rc;
    }
    int was_in_tx = pg->in_tx;
    /* A whole rollback makes what waits moot; anything else (a partial
     * rollback needs its SAVEPOINT sent) goes out with it. */
    if (strncasecmp(t, "ROLLBACK", 8) == 0 && strncasecmp(t, "ROLLBACK TO", 11) != 0)
        deferred_drop(pg);
    PGresult *res = pg->deferred.n ? exec_with_deferred(pg, t) : PQexec(pg->conn, t);
    ExecStatusType s = PQresultStatus(res);
    /* The server restarted since this connection's last statement: libpq
     * learns it only now. Once, on a new connection. */
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK && may_retry(pg, was_in_tx, t)) {
        PQclear(res);
        pg->next_reconnect = 0;
        res = NULL;
        if (ensure_conn(st) == SQLITE_OK)
            res = PQexec(pg->conn, t);
        s = PQresultStatus(res);
    }
    fd_free(t);
    if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK || s == PGRES_EMPTY_QUERY) {
        note_changes(pg, res);
        rc = SQLITE_OK;
        /* A COMMIT of a transaction an error had aborted answers ROLLBACK,
         * successfully: for the caller nothing was kept. */
        if (strcmp(PQcmdStatus(res), "ROLLBACK") == 0 && strcasestr(sql, "COMMIT")) {
            set_msg(pg, "", "the transaction failed earlier and was rolled back");
            rc = SQLITE_ERROR;
        }
    } else {
        rc = fail_code(pg, res);
    }
    PQclear(res);
    note_tx(pg);
    return rc;
}

int64_t pg_last_id(fd_store *st)
{
    store_pg *pg = st->pg;
    PGresult *res = pg->deferred.n ? exec_with_deferred(pg, "SELECT lastval()")
                                   : PQexec(pg->conn, "SELECT lastval()");
    int64_t id = 0;
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
        id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    else
        (void)fail_code(pg, res); /* 0 tells the caller; errmsg says why */
    PQclear(res);
    note_tx(pg);
    return id;
}

/* ---- statements ------------------------------------------------------------ */

int pg_stmt_prepare(fd_store *st, const char *sql, store_pg_stmt **out)
{
    store_pg_stmt *s = fd_calloc(1, sizeof *s);
    if (!s)
        return SQLITE_NOMEM;
    s->st = st;
    s->sql = store_pg_translate(sql, &s->nparams);
    if (!s->sql || s->nparams > PG_MAX_PARAMS) {
        int rc = s->sql ? SQLITE_RANGE : SQLITE_NOMEM;
        set_msg(st->pg, "too many parameters for the PostgreSQL engine: ", sql);
        pg_stmt_finalize(s);
        return rc;
    }
    s->blob_row = -1;
    s->answerless = answerless(s->sql);
    *out = s;
    return SQLITE_OK;
}

static void drop_result(store_pg_stmt *s)
{
    PQclear(s->res);
    s->res = NULL;
    s->ran = s->row = s->nrows = 0;
    if (s->blob)
        PQfreemem(s->blob);
    s->blob = NULL;
    s->blob_row = -1;
}

void pg_stmt_reset(store_pg_stmt *s)
{
    drop_result(s);
}

void pg_stmt_clear_bindings(store_pg_stmt *s)
{
    for (int i = 0; i < PG_MAX_PARAMS; i++) {
        s->vals[i] = NULL;
        s->lens[i] = s->fmts[i] = 0;
        s->types[i] = 0;
    }
}

void pg_stmt_finalize(store_pg_stmt *s)
{
    if (!s)
        return;
    drop_result(s);
    fd_free(s->sql);
    fd_free(s);
}

int pg_stmt_busy(store_pg_stmt *s)
{
    return s->ran && s->row < s->nrows;
}

void pg_stmt_bind(store_pg_stmt *s, int i, unsigned type, const char *val, int len, int binary)
{
    if (i < 1 || i > s->nparams)
        return; /* as SQLite: SQLITE_RANGE, which no caller checks */
    s->types[i - 1] = type;
    s->vals[i - 1] = val;
    s->lens[i - 1] = len;
    s->fmts[i - 1] = binary;
}

void pg_stmt_bind_num(store_pg_stmt *s, int i, unsigned type, const char *fmt_val)
{
    if (i < 1 || i > s->nparams)
        return;
    snprintf(s->num[i - 1], sizeof s->num[i - 1], "%s", fmt_val);
    pg_stmt_bind(s, i, type, s->num[i - 1], 0, 0);
}

static uint64_t stmt_hash(const store_pg_stmt *s, const unsigned *types)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (const char *p = s->sql; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    for (int i = 0; i < s->nparams; i++)
        h = (h ^ types[i]) * 1099511628211ULL;
    return h ? h : 1;
}

/* The server-side name of s's statement with these types, prepared on
 * this connection if it was not yet; NULL (name[0] == 0) when the cache
 * is full: the caller runs it unnamed. */
static int prepared_name(store_pg *pg, store_pg_stmt *s, const unsigned *types, char name[16])
{
    name[0] = '\0';
    uint64_t h = stmt_hash(s, types);
    size_t slot = h % PG_CACHE_SLOTS;
    for (int probe = 0; probe < PG_CACHE_SLOTS; probe++, slot = (slot + 1) % PG_CACHE_SLOTS) {
        pg_prepared *e = &pg->cache[slot];
        if (!e->hash)
            break;
        if (e->hash == h && e->nparams == s->nparams && strcmp(e->sql, s->sql) == 0 &&
            memcmp(e->types, types, sizeof e->types[0] * (size_t)s->nparams) == 0) {
            snprintf(name, 16, "fd%u", e->id);
            return SQLITE_OK;
        }
    }
    /* Kept at most three quarters full, so probes stay short. */
    if (pg->n_cached >= PG_CACHE_SLOTS * 3 / 4 || pg->cache[slot].hash)
        return SQLITE_OK;
    char *copy = fd_strdup(s->sql);
    if (!copy)
        return SQLITE_NOMEM;
    unsigned id = ++pg->next_id;
    char nm[16];
    snprintf(nm, sizeof nm, "fd%u", id);
    PGresult *res = PQprepare(pg->conn, nm, s->sql, s->nparams, (const Oid *)types);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        int rc = fail_code(pg, res);
        PQclear(res);
        fd_free(copy);
        return rc;
    }
    PQclear(res);
    pg_prepared *e = &pg->cache[slot];
    e->hash = h;
    e->sql = copy;
    e->nparams = s->nparams;
    memcpy(e->types, types, sizeof e->types[0] * (size_t)s->nparams);
    e->id = id;
    pg->n_cached++;
    memcpy(name, nm, sizeof nm);
    return SQLITE_OK;
}

static int step_one(store_pg_stmt *s)
{
    if (s->ran) {
        if (s->row + 1 < s->nrows) {
            s->row++;
            return SQLITE_ROW;
        }
        s->row = s->nrows;
        return SQLITE_DONE;
    }
    store_pg *pg = s->st->pg;
    int rc = ensure_conn(s->st);
    if (rc != SQLITE_OK)
        return rc;
    /* An unbound parameter is a NULL of type text (SQLite's NULL): an
     * untyped one would leave the server unable to infer "?5 IS NULL". */
    unsigned types[PG_MAX_PARAMS];
    for (int i = 0; i < s->nparams; i++)
        types[i] = s->types[i] ? s->types[i] : OID_TEXT;
    int was_in_tx = pg->in_tx;
    PGresult *res = NULL;
    int may_wait = deferrable(pg, s->answerless);
    if (pg->deferred.n || may_wait) {
        char *r = render(pg, s->sql, s->nparams, types, s->vals);
        if (r && may_wait && defer(pg, r) == SQLITE_OK) {
            fd_free(r);
            pg->changes = 1; /* an INSERT without RETURNING: one row, or a later error */
            s->ran = 1;
            s->nrows = s->row = 0;
            return SQLITE_DONE;
        }
        if (r) {
            res = exec_with_deferred(pg, r);
            fd_free(r);
        } else {
            /* Cannot be rendered (a bytea): what waits goes first alone. */
            res = exec_with_deferred(pg, "SELECT 1");
            ExecStatusType st0 = PQresultStatus(res);
            if (st0 != PGRES_TUPLES_OK) {
                rc = fail_code(pg, res);
                PQclear(res);
                note_tx(pg);
                return rc;
            }
            PQclear(res);
            res = NULL;
        }
    }
    char name[16] = "";
    if (!res) {
        rc = prepared_name(pg, s, types, name);
        if (rc != SQLITE_OK && may_retry(pg, was_in_tx, s->sql)) {
            /* The first use on a connection the server dropped. */
            pg->next_reconnect = 0;
            rc = ensure_conn(s->st);
            if (rc == SQLITE_OK)
                rc = prepared_name(pg, s, types, name);
        }
        if (rc != SQLITE_OK) {
            note_tx(pg);
            return rc;
        }
        res = name[0]
                  ? PQexecPrepared(pg->conn, name, s->nparams, s->vals, s->lens, s->fmts, s->binary)
                  : PQexecParams(pg->conn, s->sql, s->nparams, (const Oid *)types, s->vals, s->lens,
                                 s->fmts, s->binary);
    }
    ExecStatusType status = PQresultStatus(res);
    if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK &&
        may_retry(pg, was_in_tx, s->sql)) {
        /* As in pg_exec: a read on a connection the server dropped. */
        PQclear(res);
        pg->next_reconnect = 0;
        res = NULL;
        if (ensure_conn(s->st) == SQLITE_OK && prepared_name(pg, s, types, name) == SQLITE_OK)
            res = name[0] ? PQexecPrepared(pg->conn, name, s->nparams, s->vals, s->lens, s->fmts,
                                           s->binary)
                          : PQexecParams(pg->conn, s->sql, s->nparams, (const Oid *)types, s->vals,
                                         s->lens, s->fmts, s->binary);
        status = PQresultStatus(res);
    }
    note_tx(pg);
    if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
        rc = fail_code(pg, res);
        PQclear(res);
        return rc;
    }
    note_changes(pg, res);
    s->res = res;
    s->ran = 1;
    s->row = 0;
    s->nrows = status == PGRES_TUPLES_OK ? PQntuples(res) : 0;
    return s->nrows > 0 ? SQLITE_ROW : SQLITE_DONE;
}

/* A connection is one protocol stream: two threads on it at once leave it
 * out of step for good ("prepared statement already exists", then "message
 * type 0x5a arrived from server while idle" on every call). Each handle
 * belongs to one thread at a time (the server's pool lends them out); the
 * test builds check it, so a handle used unborrowed fails the suite at the
 * spot instead of hanging a replica now and then (it did, at start: the
 * writer's version check beside the assistant's open). */
#ifdef FD_TESTING
static void pg_enter(store_pg *pg)
{
    if (atomic_exchange(&pg->in_use, 1)) {
        fprintf(stderr, "store: a PostgreSQL connection used by two threads at once\n");
        abort();
    }
}
static void pg_leave(store_pg *pg)
{
    atomic_store(&pg->in_use, 0);
}
#else
#define pg_enter(pg) ((void)(pg))
#define pg_leave(pg) ((void)(pg))
#endif

int pg_exec(fd_store *st, const char *sql)
{
    store_pg *pg = st->pg;
    pg_enter(pg);
    int rc = exec_one(st, sql);
    pg_leave(pg);
    return rc;
}

int pg_stmt_step(store_pg_stmt *s)
{
    store_pg *pg = s->st->pg;
    pg_enter(pg);
    int rc = step_one(s);
    pg_leave(pg);
    return rc;
}

const char *pg_stmt_col_text(store_pg_stmt *s, int i)
{
    if (!s->res || s->row >= s->nrows || i < 0 || i >= PQnfields(s->res) ||
        PQgetisnull(s->res, s->row, i))
        return NULL;
    return PQgetvalue(s->res, s->row, i);
}

void pg_stmt_binary_results(store_pg_stmt *s)
{
    s->binary = 1;
}

const void *pg_stmt_col_blob(store_pg_stmt *s, int i, int *len)
{
    *len = 0;
    const char *t = pg_stmt_col_text(s, i);
    if (!t)
        return NULL;
    /* bytea arrives hex-escaped in text results; text columns as they are,
     * and anything in binary results. */
    if (PQftype(s->res, i) != 17 || s->binary) {
        *len = PQgetlength(s->res, s->row, i);
        return t;
    }
    if (s->blob_row != s->row || s->blob_col != i) {
        if (s->blob)
            PQfreemem(s->blob);
        s->blob = PQunescapeBytea((const unsigned char *)t, &s->blob_len);
        s->blob_row = s->blob ? s->row : -1;
        s->blob_col = i;
    }
    if (!s->blob)
        return NULL;
    *len = (int)s->blob_len;
    return s->blob;
}

/* ---- schema version -------------------------------------------------------- */

static int read_version(PGconn *conn, int *out, store_pg *pg)
{
    *out = 0;
    /* pg_class scanned, not to_regclass(): a name lookup may answer from
     * this backend's catalog cache, which still says "no such table" after
     * another replica's migration committed while this one waited for the
     * migration lock (seen: three concurrent `migrate` each creating
     * "documents"). A scan reads the statement's fresh snapshot. */
    PGresult *res = PQexec(conn, "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE "
                                 "c.relname = 'frontdesk_schema' AND c.relkind = 'r' AND "
                                 "pg_catalog.pg_table_is_visible(c.oid))");
    int rc = SQLITE_OK;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        rc = pg ? fail_code(pg, res) : SQLITE_ERROR;
    } else if (strcmp(PQgetvalue(res, 0, 0), "t") == 0) {
        PQclear(res);
        res = PQexec(conn, "SELECT coalesce(max(version), 0) FROM frontdesk_schema");
        if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
            *out = atoi(PQgetvalue(res, 0, 0));
        else
            rc = pg ? fail_code(pg, res) : SQLITE_ERROR;
    }
    PQclear(res);
    return rc;
}

int store_pg_read_version(fd_store *st, int *out)
{
    int rc = ensure_conn(st);
    if (rc == SQLITE_OK)
        rc = read_version(st->pg->conn, out, st->pg);
    note_tx(st->pg);
    return rc;
}

int store_pg_write_version(fd_store *st, int version)
{
    char sql[160];
    snprintf(sql, sizeof sql,
             "CREATE TABLE IF NOT EXISTS frontdesk_schema (version INTEGER NOT NULL); "
             "DELETE FROM frontdesk_schema; INSERT INTO frontdesk_schema VALUES (%d)",
             version);
    return pg_exec(st, sql);
}

int store_pg_schema_check(const char *url, int *have, fd_err *err)
{
    *have = 0;
    PGconn *conn = connect_url(url);
    if (!conn)
        return fd_err_set(err, FD_ENOMEM, "out of memory connecting to PostgreSQL");
    int code = FD_OK;
    if (PQstatus(conn) != CONNECTION_OK) {
        code = fd_err_set(err, FD_EIO, "cannot connect to PostgreSQL: %s", PQerrorMessage(conn));
    } else if (read_version(conn, have, NULL) != SQLITE_OK) {
        code = fd_err_set(err, FD_EIO, "cannot read the schema version: %s", PQerrorMessage(conn));
    }
    PQfinish(conn);
    /* libpq's messages end in a newline. */
    size_t n = strlen(err->msg);
    while (code && n && err->msg[n - 1] == '\n')
        err->msg[--n] = '\0';
    return code;
}

void pg_defer_writes(fd_store *st, int on)
{
    st->pg->defer_on = on;
}
