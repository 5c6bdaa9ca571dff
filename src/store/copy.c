/* copy.c: every row of one store into another, whatever the two engines
 * (issue 16: a company that outgrows one machine moves its SQLite store to
 * PostgreSQL, keys, conversations, orders and documents with it; the
 * reverse gives a local copy of a shared store to look into).
 *
 * The tables and their columns come from the source's own catalog, so a
 * table a later migration adds is copied without touching this file; both
 * stores must be at the same schema version (each is migrated when it is
 * opened). Tables go in the order they were created, which is an order
 * where every row's parent is already there (a migration can only
 * reference a table that exists). Rows keep their ids; on PostgreSQL the
 * id sequences are then moved past the largest.
 *
 * All or nothing: the destination must be empty, and the whole copy is one
 * transaction on it; the source is read in one read transaction (a
 * consistent snapshot while a server keeps writing to it). */
#include "store_int.h"

#include <string.h>

#define COPY_MAX_TABLES 64
#define COPY_MAX_COLS 32 /* PG_MAX_PARAMS: one parameter a column */
#define COPY_NAME_MAX 64

typedef struct copy_table {
    char name[COPY_NAME_MAX];
    char col[COPY_MAX_COLS][COPY_NAME_MAX];
    store_type type[COPY_MAX_COLS];
    int n_cols;
    int has_id; /* an "id" column: an INTEGER PRIMARY KEY (BIGSERIAL on PostgreSQL) */
} copy_table;

/* Names are the schema's own (letters, digits, underscores): anything else
 * is refused rather than spliced into SQL. */
static int plain_name(const char *s)
{
    if (!s || !*s || strlen(s) >= COPY_NAME_MAX)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_'))
            return 0;
    return 1;
}

/* The store's type of a declared column type (SQLite's affinity rules;
 * PostgreSQL's information_schema names). */
static store_type type_of(const char *decl)
{
    char t[40];
    size_t n = 0;
    for (; decl && decl[n] && n + 1 < sizeof t; n++)
        t[n] = (char)(decl[n] >= 'a' && decl[n] <= 'z' ? decl[n] - 32 : decl[n]);
    t[n] = 0;
    if (strstr(t, "INT"))
        return STORE_T_INT;
    if (strstr(t, "BLOB") || strstr(t, "BYTEA"))
        return STORE_T_BLOB;
    if (strstr(t, "REAL") || strstr(t, "DOUB") || strstr(t, "FLOA"))
        return STORE_T_REAL;
    return STORE_T_TEXT;
}

/* The source's tables, in creation order, with their columns. */
static int list_tables(fd_store *st, copy_table *t, int *n, fd_err *err)
{
    const char *sql =
        st->engine == STORE_PG
            ? "SELECT c.relname FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace "
              "WHERE s.nspname = current_schema() AND c.relkind = 'r' "
              "AND c.relname <> 'frontdesk_schema' ORDER BY c.oid"
            : "SELECT name FROM sqlite_master WHERE type = 'table' "
              "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY rowid";
    store_stmt *s;
    int rc = store_stmt_prepare(st, sql, &s);
    if (rc != SQLITE_OK)
        return store_fail(st, rc, err, "copy: list tables");
    *n = 0;
    while ((rc = stmt_step(s)) == SQLITE_ROW) {
        const char *name = stmt_col_text(s, 0);
        if (*n == COPY_MAX_TABLES || !plain_name(name)) {
            stmt_finalize(s);
            return fd_err_set(err, FD_EFORMAT, "copy: table %s cannot be copied (%s)",
                              name ? name : "?",
                              *n == COPY_MAX_TABLES ? "too many tables" : "unexpected name");
        }
        memset(&t[*n], 0, sizeof t[*n]);
        snprintf(t[*n].name, sizeof t[*n].name, "%s", name);
        (*n)++;
    }
    stmt_finalize(s);
    if (rc != SQLITE_DONE)
        return store_fail(st, rc, err, "copy: list tables");
    for (int i = 0; i < *n; i++) {
        char q[256];
        if (st->engine == STORE_PG)
            snprintf(q, sizeof q,
                     "SELECT column_name, data_type FROM information_schema.columns "
                     "WHERE table_schema = current_schema() AND table_name = '%s' "
                     "ORDER BY ordinal_position",
                     t[i].name);
        else
            snprintf(q, sizeof q, "SELECT name, type FROM pragma_table_info('%s') ORDER BY cid",
                     t[i].name);
        rc = store_stmt_prepare(st, q, &s);
        if (rc != SQLITE_OK)
            return store_fail(st, rc, err, "copy: list columns");
        while ((rc = stmt_step(s)) == SQLITE_ROW) {
            const char *c = stmt_col_text(s, 0);
            if (t[i].n_cols == COPY_MAX_COLS || !plain_name(c)) {
                stmt_finalize(s);
                return fd_err_set(err, FD_EFORMAT, "copy: column %s.%s cannot be copied", t[i].name,
                                  c ? c : "?");
            }
            snprintf(t[i].col[t[i].n_cols], COPY_NAME_MAX, "%s", c);
            t[i].type[t[i].n_cols] = type_of(stmt_col_text(s, 1));
            t[i].has_id |= strcmp(c, "id") == 0 && t[i].type[t[i].n_cols] == STORE_T_INT;
            t[i].n_cols++;
        }
        stmt_finalize(s);
        if (rc != SQLITE_DONE)
            return store_fail(st, rc, err, "copy: list columns");
    }
    return FD_OK;
}

/* FD_ECONFLICT when the destination holds any row of any of the tables. */
static int dst_empty(fd_store *dst, const copy_table *t, int n, fd_err *err)
{
    for (int i = 0; i < n; i++) {
        char q[128];
        snprintf(q, sizeof q, "SELECT EXISTS (SELECT 1 FROM %s)", t[i].name);
        store_stmt *s;
        int rc = store_stmt_prepare(dst, q, &s);
        if (rc != SQLITE_OK)
            return store_fail(dst, rc, err, "copy: check the destination");
        rc = stmt_step(s);
        int any = rc == SQLITE_ROW && stmt_col_int(s, 0) != 0;
        stmt_finalize(s);
        if (rc != SQLITE_ROW)
            return fd_err_set(err, FD_EFORMAT,
                              "copy: the destination has no table %s: is it a frontdesk store "
                              "of the same version?",
                              t[i].name);
        if (any)
            return fd_err_set(err, FD_ECONFLICT,
                              "copy: the destination already holds data (table %s): copy into "
                              "an empty store",
                              t[i].name);
    }
    return FD_OK;
}

/* The rows of one table, read on src and inserted on dst. */
static int copy_rows(fd_store *src, fd_store *dst, const copy_table *t, int64_t *rows, fd_err *err)
{
    char sel[4096], ins[4096];
    size_t a = (size_t)snprintf(sel, sizeof sel, "SELECT ");
    size_t b = (size_t)snprintf(ins, sizeof ins, "INSERT INTO %s (", t->name);
    for (int c = 0; c < t->n_cols; c++) {
        a += (size_t)snprintf(sel + a, sizeof sel - a, "%s%s", c ? ", " : "", t->col[c]);
        b += (size_t)snprintf(ins + b, sizeof ins - b, "%s%s", c ? ", " : "", t->col[c]);
    }
    a += (size_t)snprintf(sel + a, sizeof sel - a, " FROM %s%s", t->name,
                          t->has_id ? " ORDER BY id" : "");
    b += (size_t)snprintf(ins + b, sizeof ins - b, ") VALUES (");
    for (int c = 0; c < t->n_cols; c++)
        b += (size_t)snprintf(ins + b, sizeof ins - b, "%s?%d", c ? ", " : "", c + 1);
    b += (size_t)snprintf(ins + b, sizeof ins - b, ")");
    if (a >= sizeof sel || b >= sizeof ins)
        return fd_err_set(err, FD_EFORMAT, "copy: table %s has too many columns", t->name);
    store_stmt *r, *w;
    int rc = store_stmt_prepare(src, sel, &r);
    if (rc != SQLITE_OK)
        return store_fail(src, rc, err, "copy: read");
    rc = store_stmt_prepare(dst, ins, &w);
    if (rc != SQLITE_OK) {
        stmt_finalize(r);
        return store_fail(dst, rc, err, "copy: write");
    }
    *rows = 0;
    int wrc = SQLITE_DONE;
    while ((rc = stmt_step(r)) == SQLITE_ROW) {
        for (int c = 0; c < t->n_cols; c++) {
            int i = c + 1;
            if (stmt_col_null(r, c))
                stmt_bind_null(w, i, t->type[c]);
            else if (t->type[c] == STORE_T_INT)
                stmt_bind_i64(w, i, stmt_col_i64(r, c));
            else if (t->type[c] == STORE_T_REAL)
                stmt_bind_dbl(w, i, stmt_col_dbl(r, c));
            else if (t->type[c] == STORE_T_BLOB) {
                /* An empty blob reads as NULL bytes: bound as such it would be a NULL. */
                const void *p = stmt_col_blob(r, c);
                stmt_bind_blob(w, i, p ? p : "", p ? (size_t)stmt_col_bytes(r, c) : 0);
            } else
                stmt_bind_text(w, i, stmt_col_text(r, c));
        }
        wrc = stmt_step(w);
        stmt_reset(w);
        stmt_clear_bindings(w);
        if (wrc != SQLITE_DONE)
            break;
        (*rows)++;
    }
    stmt_finalize(r);
    stmt_finalize(w);
    if (wrc != SQLITE_DONE)
        return store_fail(dst, wrc, err, "copy: write");
    if (rc != SQLITE_DONE)
        return store_fail(src, rc, err, "copy: read");
    return FD_OK;
}

/* PostgreSQL: the id sequence past the largest id copied, so the next
 * insert does not collide with a copied row. */
static int move_sequence(fd_store *dst, const copy_table *t, fd_err *err)
{
    if (dst->engine != STORE_PG || !t->has_id)
        return FD_OK;
    char q[512];
    snprintf(q, sizeof q,
             "SELECT setval(pg_get_serial_sequence('%s', 'id'), "
             "COALESCE((SELECT MAX(id) FROM %s), 0) + 1, false) "
             "WHERE pg_get_serial_sequence('%s', 'id') IS NOT NULL",
             t->name, t->name, t->name);
    store_stmt *s;
    int rc = store_stmt_prepare(dst, q, &s);
    if (rc == SQLITE_OK) {
        while ((rc = stmt_step(s)) == SQLITE_ROW)
            ;
        stmt_finalize(s);
    }
    return rc == SQLITE_DONE || rc == SQLITE_OK ? FD_OK
                                                : store_fail(dst, rc, err, "copy: sequence");
}

int fd_store_copy(fd_store *src, fd_store *dst, fd_store_copy_cb cb, void *ctx, fd_err *err)
{
    if (!src || !dst || src == dst)
        return fd_err_set(err, FD_EINVAL, "copy: two distinct stores are needed");
    if (src->user_version != dst->user_version)
        return fd_err_set(err, FD_EFORMAT,
                          "copy: the stores are at schema versions %d and %d: run frontdesk "
                          "migrate on the older one first",
                          src->user_version, dst->user_version);
    copy_table *t = fd_calloc(COPY_MAX_TABLES, sizeof *t);
    if (!t)
        return fd_err_set(err, FD_ENOMEM, "out of memory");
    int n = 0;
    /* One snapshot of the source for the whole copy. */
    const char *read_tx =
        src->engine == STORE_PG ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" : "BEGIN";
    int rc = store_exec(src, read_tx) == SQLITE_OK
                 ? FD_OK
                 : store_fail(src, SQLITE_ERROR, err, "copy: read");
    int src_tx = rc == FD_OK;
    if (!rc)
        rc = list_tables(src, t, &n, err);
    if (!rc)
        rc = fd_store_begin(dst, err);
    int dst_tx = rc == FD_OK;
    if (!rc)
        rc = dst_empty(dst, t, n, err);
    /* PostgreSQL: the inserts travel in batches, not a round trip each;
     * a failure is reported by a later statement, at the latest the commit. */
    fd_store_defer_writes(dst, 1);
    for (int i = 0; !rc && i < n; i++) {
        int64_t rows = 0;
        rc = copy_rows(src, dst, &t[i], &rows, err);
        if (!rc)
            rc = move_sequence(dst, &t[i], err);
        if (!rc && cb)
            cb(ctx, t[i].name, rows);
    }
    if (!rc)
        rc = fd_store_commit(dst, err); /* rolls back by itself when it fails */
    else if (dst_tx)
        fd_store_rollback(dst);
    fd_store_defer_writes(dst, 0);
    if (src_tx)
        (void)store_exec(src, "COMMIT");
    fd_free(t);
    return rc;
}
