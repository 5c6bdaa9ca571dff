/* stmt.c: one statement interface over both engines (store_int.h). The
 * SQLite side is a thin wrapper; the PostgreSQL side lives in pg.c. Codes
 * stay in SQLite's vocabulary on both, so every caller and store_fail
 * handle one set. */
#include "store_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* PostgreSQL type oids for the binds (pg_type.h is a server header). */
enum { OID_BYTEA = 17, OID_INT8 = 20, OID_TEXT = 25, OID_FLOAT8 = 701 };

struct store_stmt {
    fd_store *st;
    sqlite3_stmt *lite;
    store_pg_stmt *pg;
};

int store_stmt_prepare(fd_store *st, const char *sql, store_stmt **out)
{
    *out = NULL;
    store_stmt *s = fd_calloc(1, sizeof *s);
    if (!s)
        return SQLITE_NOMEM;
    s->st = st;
    int rc = st->engine == STORE_PG ? pg_stmt_prepare(st, sql, &s->pg)
                                    : sqlite3_prepare_v2(st->db, sql, -1, &s->lite, NULL);
    if (rc != SQLITE_OK) {
        stmt_finalize(s);
        return rc;
    }
    *out = s;
    return SQLITE_OK;
}

void stmt_blob_results(store_stmt *s)
{
    if (s->pg)
        pg_stmt_binary_results(s->pg);
}

int stmt_step(store_stmt *s)
{
    return s->pg ? pg_stmt_step(s->pg) : sqlite3_step(s->lite);
}

void stmt_reset(store_stmt *s)
{
    if (s->pg)
        pg_stmt_reset(s->pg);
    else
        sqlite3_reset(s->lite);
}

void stmt_clear_bindings(store_stmt *s)
{
    if (s->pg)
        pg_stmt_clear_bindings(s->pg);
    else
        sqlite3_clear_bindings(s->lite);
}

void stmt_finalize(store_stmt *s)
{
    if (!s)
        return;
    if (s->pg)
        pg_stmt_finalize(s->pg);
    sqlite3_finalize(s->lite);
    fd_free(s);
}

int stmt_busy(store_stmt *s)
{
    return s->pg ? pg_stmt_busy(s->pg) : sqlite3_stmt_busy(s->lite);
}

void stmt_bind_i64(store_stmt *s, int i, int64_t v)
{
    if (!s->pg) {
        sqlite3_bind_int64(s->lite, i, v);
        return;
    }
    char buf[32];
    snprintf(buf, sizeof buf, "%" PRId64, v);
    pg_stmt_bind_num(s->pg, i, OID_INT8, buf);
}

void stmt_bind_int(store_stmt *s, int i, int v)
{
    stmt_bind_i64(s, i, v);
}

void stmt_bind_dbl(store_stmt *s, int i, double v)
{
    if (!s->pg) {
        sqlite3_bind_double(s->lite, i, v);
        return;
    }
    char buf[32];
    snprintf(buf, sizeof buf, "%.17g", v); /* round-trips every double */
    pg_stmt_bind_num(s->pg, i, OID_FLOAT8, buf);
}

void stmt_bind_text(store_stmt *s, int i, const char *p)
{
    if (s->pg)
        pg_stmt_bind(s->pg, i, OID_TEXT, p, 0, 0);
    else
        sqlite3_bind_text(s->lite, i, p, -1, SQLITE_STATIC);
}

void stmt_bind_blob(store_stmt *s, int i, const void *p, size_t n)
{
    if (s->pg)
        pg_stmt_bind(s->pg, i, OID_BYTEA, p, (int)n, 1);
    else
        sqlite3_bind_blob64(s->lite, i, p, n, SQLITE_STATIC);
}

void stmt_bind_null(store_stmt *s, int i, store_type t)
{
    if (!s->pg) {
        sqlite3_bind_null(s->lite, i);
        return;
    }
    unsigned oid = t == STORE_T_INT    ? OID_INT8
                   : t == STORE_T_REAL ? OID_FLOAT8
                   : t == STORE_T_BLOB ? OID_BYTEA
                                       : OID_TEXT;
    pg_stmt_bind(s->pg, i, oid, NULL, 0, 0);
}

int stmt_col_null(store_stmt *s, int i)
{
    if (!s->pg)
        return sqlite3_column_type(s->lite, i) == SQLITE_NULL;
    return pg_stmt_col_text(s->pg, i) == NULL;
}

int64_t stmt_col_i64(store_stmt *s, int i)
{
    if (!s->pg)
        return sqlite3_column_int64(s->lite, i);
    const char *t = pg_stmt_col_text(s->pg, i);
    if (!t)
        return 0;
    /* EXISTS and comparisons come back as booleans on PostgreSQL. */
    if (t[0] == 't' && !t[1])
        return 1;
    if (t[0] == 'f' && !t[1])
        return 0;
    if (strpbrk(t, ".eE"))
        return (int64_t)strtod(t, NULL); /* a REAL column read as an integer */
    return strtoll(t, NULL, 10);
}

int stmt_col_int(store_stmt *s, int i)
{
    return (int)stmt_col_i64(s, i);
}

double stmt_col_dbl(store_stmt *s, int i)
{
    if (!s->pg)
        return sqlite3_column_double(s->lite, i);
    const char *t = pg_stmt_col_text(s->pg, i);
    return t ? strtod(t, NULL) : 0.0;
}

const char *stmt_col_text(store_stmt *s, int i)
{
    return s->pg ? pg_stmt_col_text(s->pg, i) : (const char *)sqlite3_column_text(s->lite, i);
}

const void *stmt_col_blob(store_stmt *s, int i)
{
    int n;
    return s->pg ? pg_stmt_col_blob(s->pg, i, &n) : sqlite3_column_blob(s->lite, i);
}

int stmt_col_bytes(store_stmt *s, int i)
{
    int n = 0;
    if (!s->pg)
        return sqlite3_column_bytes(s->lite, i);
    pg_stmt_col_blob(s->pg, i, &n);
    return n;
}

int store_exec(fd_store *st, const char *sql)
{
    return st->engine == STORE_PG ? pg_exec(st, sql) : sqlite3_exec(st->db, sql, NULL, NULL, NULL);
}

int store_autocommit(fd_store *st)
{
    return st->engine == STORE_PG ? pg_autocommit(st) : sqlite3_get_autocommit(st->db);
}

int64_t store_changes(fd_store *st)
{
    return st->engine == STORE_PG ? pg_changes(st) : sqlite3_changes(st->db);
}

int64_t store_last_id(fd_store *st)
{
    return st->engine == STORE_PG ? pg_last_id(st) : sqlite3_last_insert_rowid(st->db);
}

const char *store_errmsg(fd_store *st)
{
    return st->engine == STORE_PG ? pg_errmsg(st) : sqlite3_errmsg(st->db);
}

void store_lock_wait(fd_store *st, int ms)
{
    if (st->engine == STORE_PG)
        pg_lock_wait(st, ms);
    else
        sqlite3_busy_timeout(st->db, ms);
}
