/* store_test.h: helpers shared by the store tests (a temp database with
 * documents and chunks). Header-only: each test file is its own program. */
#ifndef FD_STORE_TEST_H
#define FD_STORE_TEST_H

#include "support.h"
#include "store.h"
#include "store_int.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Writes one doc with n chunks "<key> chunk <i>" in its own transaction
 * unless the caller already opened one. */
static inline int64_t put_doc(fd_store *st, const char *key, const char *source, int n)
{
    fd_err err = {0};
    fd_doc_row d = {.key = key,
                    .title = key,
                    .source = source,
                    .tag = "faq",
                    .lang = "en",
                    .hash = "h",
                    .n_chunks = n,
                    .kb_version = 1};
    int64_t id = 0;
    assert_int_equal(fd_store_doc_put(st, &d, &id, &err), FD_OK);
    for (int i = 0; i < n; i++) {
        char text[128];
        snprintf(text, sizeof text, "%s chunk %d", key, i);
        assert_int_equal(fd_store_chunk_add(st, id, i, "Sec", text, &err), FD_OK);
    }
    return id;
}

static inline void counts(fd_store *st, int64_t want_docs, int64_t want_chunks)
{
    fd_err err = {0};
    int64_t nd = -1, nc = -1;
    if (fd_store_counts(st, &nd, &nc, &err) != FD_OK)
        fail_msg("counts: %s", err.msg);
    assert_int_equal(nd, want_docs);
    assert_int_equal(nc, want_chunks);
}

/* The store suite runs twice: on SQLite files, and (tests/store/on_pg.sh)
 * on a PostgreSQL server whose admin URL is in FD_TEST_PG_URL. Then each
 * db_path is a new empty database, and tests of SQLite's files skip. */
static inline int pg_mode(void)
{
    const char *u = getenv("FD_TEST_PG_URL");
    return u && *u;
}

static inline char *pg_new_db(void)
{
    static int n;
    const char *admin = getenv("FD_TEST_PG_URL");
    PGconn *c = PQconnectdb(admin);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    char name[64], sql[128];
    snprintf(name, sizeof name, "fdt_%d_%d", (int)getpid(), ++n);
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", name);
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        fail_msg("%s", PQresultErrorMessage(r));
    PQclear(r);
    PQfinish(c);
    /* The admin URL ends in "/postgres": the same server, the new name. */
    const char *slash = strrchr(admin, '/');
    size_t len = (size_t)(slash - admin) + 1 + strlen(name) + 1;
    char *p = fd_malloc(len);
    assert_non_null(p);
    snprintf(p, len, "%.*s/%s", (int)(slash - admin), admin, name);
    return p;
}

static inline char *db_path(const char *dir)
{
    if (pg_mode())
        return pg_new_db();
    size_t n = strlen(dir) + 16;
    char *p = fd_malloc(n);
    assert_non_null(p);
    snprintf(p, n, "%s/fd.db", dir);
    return p;
}

/* The fixture most store tests share: a temp dir, a new store in it (a
 * SQLite file, or a new PostgreSQL database in pg_mode), its path, and an
 * arena. */
typedef struct store_fixture {
    char *dir;
    char path[600];
    fd_store *st;
    fd_arena *a;
} store_fixture;

static inline int store_fixture_setup(void **state)
{
    store_fixture *f = fd_calloc(1, sizeof *f);
    assert_non_null(f);
    f->dir = fd_test_tmpdir();
    char *p = db_path(f->dir);
    snprintf(f->path, sizeof f->path, "%s", p);
    fd_free(p);
    fd_err err = {0};
    if (fd_store_open(f->path, &f->st, &err) != FD_OK) {
        fprintf(stderr, "open %s: %s\n", f->path, err.msg);
        return -1;
    }
    f->a = fd_arena_new(0);
    assert_non_null(f->a);
    *state = f;
    return 0;
}

static inline int store_fixture_teardown(void **state)
{
    store_fixture *f = *state;
    fd_store_close(f->st);
    fd_arena_free(f->a);
    fd_test_rmrf(f->dir);
    fd_free(f->dir);
    fd_free(f);
    return 0;
}

/* A test run on a fresh store_fixture. */
#define STORE_TEST(t)                                                                              \
    cmocka_unit_test_setup_teardown(t, store_fixture_setup, store_fixture_teardown)

/* One integer from a query, on either engine. */
static inline int64_t query_i64(fd_store *st, const char *sql)
{
    store_stmt *s = NULL;
    assert_int_equal(store_stmt_prepare(st, sql, &s), SQLITE_OK);
    assert_int_equal(stmt_step(s), SQLITE_ROW);
    int64_t n = stmt_col_i64(s, 0);
    stmt_finalize(s);
    return n;
}

/* Takes the closed store at path back to an older schema version (to test
 * the migrations from it): drop_sql undoes the later migrations. */
static inline void schema_back_to(const char *path, const char *drop_sql, int version)
{
    fd_store *st = NULL;
    fd_err err = {0};
    assert_int_equal(fd_store_open(path, &st, &err), FD_OK);
    if (store_exec(st, drop_sql) != SQLITE_OK)
        fail_msg("%s", store_errmsg(st));
    if (pg_mode()) {
        assert_int_equal(store_pg_write_version(st, version), SQLITE_OK);
    } else {
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA user_version = %d", version);
        assert_int_equal(store_exec(st, sql), SQLITE_OK);
    }
    fd_store_close(st);
}

#endif
