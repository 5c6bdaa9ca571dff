/* test_store.c: SQLite store: migrations, documents and chunks, kb
 * versions, iteration, error paths, and the 100k-chunk insert budget. */
#include "store_test.h"
#include "store_int.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

typedef store_fixture fixture;

static int pragma_synchronous(fd_store *st)
{
    sqlite3_stmt *q = NULL;
    int v = -1;
    if (sqlite3_prepare_v2(st->db, "PRAGMA synchronous", -1, &q, NULL) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW)
        v = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    return v;
}

/* store.synchronous: NORMAL (1) by default, FULL (2) when asked; the file
 * is created private (0600). */
static void test_synchronous_and_mode(void **state)
{
    fixture *f = *state;
    fd_err err = {0};
    if (pg_mode()) {
        /* PostgreSQL commits durably already: both settings are accepted. */
        assert_int_equal(fd_store_set_synchronous(f->st, 1, &err), FD_OK);
        assert_int_equal(fd_store_set_synchronous(f->st, 0, &err), FD_OK);
        return;
    }
    assert_int_equal(pragma_synchronous(f->st), 1);
    assert_int_equal(fd_store_set_synchronous(f->st, 1, &err), FD_OK);
    assert_int_equal(pragma_synchronous(f->st), 2);
    assert_int_equal(fd_store_set_synchronous(f->st, 0, &err), FD_OK);
    assert_int_equal(pragma_synchronous(f->st), 1);
    struct stat sb;
    assert_int_equal(stat(f->path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
}

static void test_open_migrate_reopen(void **state)
{
    fixture *f = *state;
    fd_err err = {0};
    assert_int_equal(fd_store_schema_version(f->st), fd_store_schema_latest());
    int64_t v = -1;
    assert_int_equal(fd_store_kb_version(f->st, &v, &err), FD_OK);
    assert_int_equal(v, 0);
    counts(f->st, 0, 0);

    assert_int_equal(fd_store_begin(f->st, &err), FD_OK);
    put_doc(f->st, "a.md", "a.md", 2);
    assert_int_equal(fd_store_commit(f->st, &err), FD_OK);
    fd_store_close(f->st);

    /* Reopening finds the schema current and the data in place. */
    f->st = NULL;
    assert_int_equal(fd_store_open(f->path, &f->st, &err), FD_OK);
    assert_int_equal(fd_store_schema_version(f->st), fd_store_schema_latest());
    counts(f->st, 1, 2);

    if (pg_mode())
        return;
    /* WAL mode, as the server relies on readers during ingest. */
    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_prepare_v2(f->st->db, "PRAGMA journal_mode", -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(s, 0), "wal");
    sqlite3_finalize(s);
}

static void test_schema_too_new(void **state)
{
    fixture *f = *state;
    fd_store_close(f->st);
    f->st = NULL;
    schema_back_to(f->path, "", 99);

    fd_err err = {0};
    fd_store *st = NULL;
    assert_int_equal(fd_store_open(f->path, &st, &err), FD_EFORMAT);
    assert_null(st);
    assert_non_null(strstr(err.msg, "newer"));
    assert_non_null(strstr(err.msg, "99"));
}

static void test_doc_put_get_replace_delete(void **state)
{
    fixture *f = *state;
    fd_err err = {0};
    fd_arena *a = fd_arena_new(0);

    assert_int_equal(fd_store_begin(f->st, &err), FD_OK);
    int64_t id = put_doc(f->st, "refunds.md", "kb/refunds.md", 3);
    assert_int_equal(fd_store_commit(f->st, &err), FD_OK);
    counts(f->st, 1, 3);

    fd_doc_row d;
    assert_int_equal(fd_store_doc_get(f->st, "refunds.md", a, &d, &err), FD_OK);
    assert_int_equal(d.id, id);
    assert_string_equal(d.source, "kb/refunds.md");
    assert_string_equal(d.tag, "faq");
    assert_string_equal(d.lang, "en");
    assert_int_equal(d.n_chunks, 3);
    assert_int_equal(d.kb_version, 1);
    assert_true(d.updated_at > 1e9); /* 0 in the row means "now" */

    /* Replacing keeps the id and drops every old chunk. */
    assert_int_equal(fd_store_begin(f->st, &err), FD_OK);
    fd_doc_row nd = {.key = "refunds.md",
                     .title = "Refunds v2",
                     .source = "kb/refunds.md",
                     .hash = "h2",
                     .n_chunks = 1,
                     .kb_version = 2,
                     .updated_at = 1234.5};
    int64_t id2 = 0;
    assert_int_equal(fd_store_doc_put(f->st, &nd, &id2, &err), FD_OK);
    assert_int_equal(id2, id);
    assert_int_equal(fd_store_chunk_add(f->st, id2, 0, "", "new text", &err), FD_OK);
    assert_int_equal(fd_store_commit(f->st, &err), FD_OK);
    counts(f->st, 1, 1);
    assert_int_equal(fd_store_doc_get(f->st, "refunds.md", a, &d, &err), FD_OK);
    assert_string_equal(d.title, "Refunds v2");
    assert_string_equal(d.tag, "");
    assert_int_equal(d.kb_version, 2);
    assert_true(d.updated_at == 1234.5);

    /* Delete cascades to chunks; a second delete is "not found". */
    assert_int_equal(fd_store_doc_delete(f->st, "refunds.md", &err), FD_OK);
    counts(f->st, 0, 0);
    assert_int_equal(fd_store_doc_delete(f->st, "refunds.md", &err), FD_ENOTFOUND);
    assert_int_equal(fd_store_doc_get(f->st, "refunds.md", a, &d, &err), FD_ENOTFOUND);
    fd_arena_free(a);
}

static void test_misuse(void **state)
{
    fixture *f = *state;
    fd_err err = {0};
    fd_doc_row d = {.key = "x"};
    int64_t id;
    assert_int_equal(fd_store_doc_put(f->st, &d, &id, &err), FD_EINVAL);
    assert_int_equal(fd_store_commit(f->st, &err), FD_EINVAL);
    fd_store_rollback(f->st); /* no-op outside a transaction */
    assert_int_equal(fd_store_begin(f->st, &err), FD_OK);
    assert_int_equal(fd_store_begin(f->st, &err), FD_EINVAL);
    d.key = "";
    assert_int_equal(fd_store_doc_put(f->st, &d, &id, &err), FD_EINVAL);
    /* A chunk for a doc that does not exist breaks the foreign key. */
    assert_int_equal(fd_store_chunk_add(f->st, 424242, 0, "", "t", &err), FD_ECONFLICT);
    assert_non_null(strcasestr(err.msg, "FOREIGN KEY"));
    /* A failed statement ends the transaction on PostgreSQL (SQLite undoes
     * the statement alone): callers roll back on any error. One that
     * commits anyway is told nothing was kept, never a silent success. */
    if (pg_mode())
        assert_int_equal(fd_store_commit(f->st, &err), FD_EIO);
    fd_store_rollback(f->st);
    assert_int_equal(fd_store_begin(f->st, &err), FD_OK);
    /* The same ord twice in one doc is a conflict, not a silent duplicate. */
    int64_t doc = put_doc(f->st, "dup", "dup", 1);
    assert_int_equal(fd_store_chunk_add(f->st, doc, 0, "", "again", &err), FD_ECONFLICT);
    fd_store_rollback(f->st);
    counts(f->st, 0, 0);
}

typedef struct seen {
    int n;
    int64_t doc[16];
    int ord[16];
    char text[16][64];
    int stop_at;
} seen;

static int on_chunk(void *ctx, const fd_chunk_row *c)
{
    seen *s = ctx;
    s->doc[s->n] = c->doc_id;
    s->ord[s->n] = c->ord;
    snprintf(s->text[s->n], sizeof s->text[0], "%s|%s|%s|%s", c->doc_key, c->title, c->section,
             c->text);
    s->n++;
    return s->n == s->stop_at ? 77 : 0;
}

static void test_chunks_each_order(void **state)
{
    fixture *f = *state;
    fd_err err = {0};
    assert_int_equal(fd_store_begin(f->st, &err), FD_OK);
    fd_doc_row d = {.key = "b", .title = "B", .source = "s"};
    int64_t b = 0, a = 0;
    assert_int_equal(fd_store_doc_put(f->st, &d, &b, &err), FD_OK);
    /* Inserted out of order; read back by (doc id, ord). */
    assert_int_equal(fd_store_chunk_add(f->st, b, 2, "S", "two", &err), FD_OK);
    assert_int_equal(fd_store_chunk_add(f->st, b, 0, "S", "zero", &err), FD_OK);
    assert_int_equal(fd_store_chunk_add(f->st, b, 1, "S", "one", &err), FD_OK);
    a = put_doc(f->st, "a", "s", 1);
    assert_int_equal(fd_store_commit(f->st, &err), FD_OK);

    seen s = {0};
    assert_int_equal(fd_store_chunks_each(f->st, on_chunk, &s, &err), FD_OK);
    assert_int_equal(s.n, 4);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(s.doc[i], b);
        assert_int_equal(s.ord[i], i);
    }
    assert_string_equal(s.text[0], "b|B|S|zero");
    assert_int_equal(s.doc[3], a);

    /* A callback's non-zero value stops the walk and comes back. */
    seen s2 = {.stop_at = 2};
    assert_int_equal(fd_store_chunks_each(f->st, on_chunk, &s2, &err), 77);
    assert_int_equal(s2.n, 2);

    fd_arena *ar = fd_arena_new(0);
    fd_chunk_row c;
    int64_t first_id = 0;
    first_id = query_i64(f->st, "SELECT id FROM chunks WHERE text='one'");
    assert_int_equal(fd_store_chunk_get(f->st, first_id, ar, &c, &err), FD_OK);
    assert_string_equal(c.text, "one");
    assert_string_equal(c.doc_key, "b");
    assert_int_equal(c.ord, 1);
    assert_int_equal(fd_store_chunk_get(f->st, 999999, ar, &c, &err), FD_ENOTFOUND);
    fd_arena_free(ar);
}

typedef struct nest {
    fd_store *st;
    int outer, inner;
} nest;

static int count_doc(void *ctx, const fd_doc_row *d)
{
    (void)d;
    ((nest *)ctx)->inner++;
    return 0;
}

/* Re-entering the same query from its own callback must not reset it. */
static int nested_doc(void *ctx, const fd_doc_row *d)
{
    nest *n = ctx;
    (void)d;
    n->outer++;
    fd_err err = {0};
    assert_int_equal(fd_store_docs_each(n->st, count_doc, n, &err), FD_OK);
    return 0;
}

static int collect_key(void *ctx, const char *key)
{
    fd_buf *b = ctx;
    assert_int_equal(fd_buf_printf(b, "%s;", key), FD_OK);
    return 0;
}

static void test_iterate_docs(void **state)
{
    fixture *f = *state;
    fd_err err = {0};
    assert_int_equal(fd_store_begin(f->st, &err), FD_OK);
    put_doc(f->st, "p.csv#2", "p.csv", 1);
    put_doc(f->st, "p.csv#1", "p.csv", 1);
    put_doc(f->st, "faq.md", "faq.md", 1);
    assert_int_equal(fd_store_commit(f->st, &err), FD_OK);

    nest n = {.st = f->st};
    assert_int_equal(fd_store_docs_each(f->st, nested_doc, &n, &err), FD_OK);
    assert_int_equal(n.outer, 3);
    assert_int_equal(n.inner, 9);

    fd_buf b;
    fd_buf_init(&b, 0);
    assert_int_equal(fd_store_docs_by_source(f->st, "p.csv", collect_key, &b, &err), FD_OK);
    assert_string_equal(b.p, "p.csv#1;p.csv#2;");
    fd_buf_free(&b);
}

static void test_kb_version(void **state)
{
    fixture *f = *state;
    fd_err err = {0};
    int64_t v = -1;
    assert_int_equal(fd_store_begin(f->st, &err), FD_OK);
    assert_int_equal(fd_store_kb_bump(f->st, "ingest: 3 added", &v, &err), FD_OK);
    assert_int_equal(v, 1);
    assert_int_equal(fd_store_commit(f->st, &err), FD_OK);
    assert_int_equal(fd_store_begin(f->st, &err), FD_OK);
    assert_int_equal(fd_store_kb_bump(f->st, "ingest: 1 changed", &v, &err), FD_OK);
    assert_int_equal(v, 2);
    fd_store_rollback(f->st); /* a rolled-back bump is not a version */
    assert_int_equal(fd_store_kb_version(f->st, &v, &err), FD_OK);
    assert_int_equal(v, 1);
}

static void test_unwritable(void **state)
{
    fixture *f = *state;
    fd_err err = {0};
    fd_store *st = NULL;
    if (pg_mode()) {
        /* A server that is not there: unavailable (retry), not a crash;
         * a database that is not there: the server's word for it. */
        assert_int_equal(fd_store_open("postgresql://frontdesk@127.0.0.1:1/x", &st, &err),
                         FD_EUNAVAIL);
        assert_null(st);
        assert_non_null(strstr(err.msg, "cannot connect to PostgreSQL"));
        /* the URL with its database name replaced; sized for the new
         * name (a strcpy over a shorter one overflowed the copy, under
         * ASan, whenever the test database's name was short) */
        size_t cap = strlen(f->path) + sizeof "/no_such_db";
        char *bad = fd_malloc(cap);
        assert_non_null(bad);
        snprintf(bad, cap, "%.*s/no_such_db", (int)(strrchr(f->path, '/') - f->path), f->path);
        assert_int_equal(fd_store_open(bad, &st, &err), FD_EUNAVAIL);
        assert_non_null(strstr(err.msg, "no_such_db"));
        fd_free(bad);
        return;
    }

    /* A "directory" that is a regular file: fails for root too. */
    size_t n = strlen(f->dir) + 32;
    char *bad = fd_malloc(n);
    snprintf(bad, n, "%s/fd.db/sub/x.db", f->dir);
    assert_int_equal(fd_store_open(bad, &st, &err), FD_EIO);
    assert_null(st);
    assert_non_null(strstr(err.msg, "cannot open database"));
    fd_free(bad);

    /* Read-only: via a URI here, since root ignores file modes. */
    n = strlen(f->path) + 32;
    char *uri = fd_malloc(n);
    snprintf(uri, n, "file:%s?mode=ro", f->path);
    assert_int_equal(fd_store_open(uri, &st, &err), FD_EIO);
    assert_non_null(strstr(err.msg, "read-only"));
    fd_free(uri);

    if (geteuid() != 0) {
        fd_store_close(f->st);
        f->st = NULL;
        assert_int_equal(chmod(f->path, 0444), 0);
        assert_int_equal(fd_store_open(f->path, &st, &err), FD_EIO);
        assert_non_null(strstr(err.msg, "read-only"));
        assert_int_equal(chmod(f->dir, 0555), 0);
        char *p2 = db_path(f->dir);
        p2[strlen(p2) - 4] = 'X';
        assert_int_equal(fd_store_open(p2, &st, &err), FD_EIO);
        fd_free(p2);
        assert_int_equal(chmod(f->dir, 0755), 0);
    }
    assert_int_equal(fd_store_open("", &st, &err), FD_EINVAL);
}

/* Two connections: WAL lets the reader read during a write; a second
 * writer gets FD_EUNAVAIL (retry later) once the busy wait runs out. */
static void test_busy_conflict(void **state)
{
    fixture *f = *state;
    fd_err err = {0};
    fd_store *st2 = NULL;
    assert_int_equal(fd_store_open(f->path, &st2, &err), FD_OK);
    fd_store_set_busy_timeout(st2, 50); /* not the 5 s default: keep the test fast */

    assert_int_equal(fd_store_begin(f->st, &err), FD_OK);
    put_doc(f->st, "w.md", "w.md", 1);
    counts(st2, 0, 0); /* readers see the last commit, unblocked */
    uint64_t t0 = fd_time_ns();
    assert_int_equal(fd_store_begin(st2, &err), FD_EUNAVAIL);
    assert_true(fd_time_ns() - t0 < 2000000000ull); /* the 50 ms wait, not 5 s */
    assert_non_null(strstr(err.msg, "lock"));
    assert_non_null(strstr(err.msg, "busy"));
    assert_int_equal(fd_store_commit(f->st, &err), FD_OK);
    counts(st2, 1, 1);
    assert_int_equal(fd_store_begin(st2, &err), FD_OK);
    fd_store_rollback(st2);
    fd_store_close(st2);
}

static long wal_size(const char *db)
{
    char p[700];
    snprintf(p, sizeof p, "%s-wal", db);
    struct stat sb;
    return stat(p, &sb) == 0 ? (long)sb.st_size : 0;
}

/* A reader always inside a snapshot (steady chat load) keeps PASSIVE
 * checkpoints from ever letting the log start over: the WAL file grew by
 * 5 GB in 30 s of cached chat. RESTART waits for that reader, at most its
 * wait: refused while the reader stays (nothing lost), done once it
 * leaves, and the next commit starts the log over, truncating the file to
 * journal_size_limit (4 MB). */
static void test_checkpoint_restart(void **state)
{
    fixture *f = *state;
    fd_err err = {0};
    if (pg_mode()) {
        int pages = -1;
        assert_int_equal(fd_store_checkpoint_restart(f->st, 50, &pages, &err), FD_OK);
        assert_int_equal(pages, 0);
        return;
    }
    fd_store *rd = NULL, *ck = NULL;
    assert_int_equal(fd_store_open(f->path, &rd, &err), FD_OK);
    assert_int_equal(fd_store_open(f->path, &ck, &err), FD_OK);
    fd_store_set_autocheckpoint(f->st, 0);
    /* ~6 MB of log: past the 4 MB the file is cut back to */
    static char text[2048];
    memset(text, 'x', sizeof text - 1);
    assert_int_equal(fd_store_begin(f->st, &err), FD_OK);
    int64_t doc = put_doc(f->st, "big.md", "big.md", 0);
    for (int i = 0; i < 3000; i++)
        assert_int_equal(fd_store_chunk_add(f->st, doc, i, "S", text, &err), FD_OK);
    assert_int_equal(fd_store_commit(f->st, &err), FD_OK);
    assert_true(wal_size(f->path) > 5L << 20);
    /* the reader's snapshot, held open */
    assert_int_equal(sqlite3_exec(rd->db, "BEGIN; SELECT count(*) FROM chunks;", NULL, NULL, NULL),
                     SQLITE_OK);
    int pages = 0;
    assert_int_equal(fd_store_checkpoint(ck, &pages, &err), FD_OK);
    assert_true(pages > 1000);
    uint64_t t0 = fd_time_ns();
    assert_int_equal(fd_store_checkpoint_restart(ck, 50, &pages, &err), FD_EUNAVAIL);
    assert_true(fd_time_ns() - t0 < 2000000000ull); /* its 50 ms, not the 5 s busy wait */
    assert_non_null(strstr(err.msg, "read"));
    /* a commit now appends: the log cannot start over */
    assert_int_equal(fd_store_begin(f->st, &err), FD_OK);
    assert_int_equal(fd_store_chunk_add(f->st, doc, 5000, "S", "after", &err), FD_OK);
    assert_int_equal(fd_store_commit(f->st, &err), FD_OK);
    assert_true(wal_size(f->path) > 5L << 20);
    assert_int_equal(sqlite3_exec(rd->db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(fd_store_checkpoint_restart(ck, 50, &pages, &err), FD_OK);
    assert_int_equal(fd_store_begin(f->st, &err), FD_OK);
    assert_int_equal(fd_store_chunk_add(f->st, doc, 5001, "S", "restarted", &err), FD_OK);
    assert_int_equal(fd_store_commit(f->st, &err), FD_OK);
    assert_true(wal_size(f->path) <= 4L << 20);
    counts(rd, 1, 3002);
    fd_store_close(ck);
    fd_store_close(rd);
}

/* Deferred writes (group commit): a failed INSERT is reported by its own
 * call (SQLite) or at the latest by its savepoint's release (PostgreSQL);
 * either way it is undone alone and its neighbours are kept. */
static void test_deferred_writes(void **state)
{
    fixture *f = *state;
    fd_err err = {0};
    fd_store_defer_writes(f->st, 1);
    assert_int_equal(fd_store_begin(f->st, &err), FD_OK);
    int64_t doc = put_doc(f->st, "d.md", "d.md", 1);
    assert_int_equal(fd_store_savepoint(f->st, &err), FD_OK);
    int rc = fd_store_chunk_add(f->st, 424242, 0, "", "orphan", &err);
    if (rc == FD_OK)
        rc = fd_store_release(f->st, &err);
    assert_int_equal(rc, FD_ECONFLICT);
    fd_store_rollback_to(f->st);
    assert_int_equal(fd_store_savepoint(f->st, &err), FD_OK);
    assert_int_equal(fd_store_chunk_add(f->st, doc, 1, "", "kept", &err), FD_OK);
    assert_int_equal(fd_store_release(f->st, &err), FD_OK);
    assert_int_equal(fd_store_commit(f->st, &err), FD_OK);
    counts(f->st, 1, 2);
    assert_int_equal(query_i64(f->st, "SELECT count(*) FROM chunks WHERE text = 'orphan'"), 0);
    /* A failure in the last batch before the commit: the commit reports it. */
    assert_int_equal(fd_store_begin(f->st, &err), FD_OK);
    rc = fd_store_chunk_add(f->st, doc, 1, "", "dup ord", &err);
    if (rc == FD_OK)
        rc = fd_store_commit(f->st, &err);
    assert_int_equal(rc, FD_ECONFLICT);
    fd_store_rollback(f->st);
    counts(f->st, 1, 2);
    fd_store_defer_writes(f->st, 0);
}

/* 100k chunks in one transaction, all kept. How long it takes is printed
 * for the eye only: speed is the benchmarks' business (a time limit here
 * failed on a loaded machine, PostgreSQL beside a 100k benchmark and a
 * parallel suite). */
static void test_bulk_insert(void **state)
{
    fixture *f = *state;
    fd_err err = {0};
    static const char text[] =
        "Defective goods may be returned within 30 days of delivery for a full refund or a "
        "replacement; contact support with the order number and a photo of the damage.";
    uint64_t t0 = fd_time_ns();
    assert_int_equal(fd_store_begin(f->st, &err), FD_OK);
    for (int d = 0; d < 10000; d++) {
        char key[32];
        snprintf(key, sizeof key, "doc-%05d", d);
        fd_doc_row row = {.key = key, .title = key, .source = "bulk.jsonl", .n_chunks = 10};
        int64_t id = 0;
        assert_int_equal(fd_store_doc_put(f->st, &row, &id, &err), FD_OK);
        for (int c = 0; c < 10; c++)
            assert_int_equal(fd_store_chunk_add(f->st, id, c, "Returns", text, &err), FD_OK);
    }
    assert_int_equal(fd_store_commit(f->st, &err), FD_OK);
    double secs = (double)(fd_time_ns() - t0) / 1e9;
    fprintf(stderr, "store: 100000 chunks + 10000 docs in one transaction: %.3f s\n", secs);
    counts(f->st, 10000, 100000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        STORE_TEST(test_open_migrate_reopen),
        STORE_TEST(test_synchronous_and_mode),
        STORE_TEST(test_schema_too_new),
        STORE_TEST(test_doc_put_get_replace_delete),
        STORE_TEST(test_misuse),
        STORE_TEST(test_chunks_each_order),
        STORE_TEST(test_iterate_docs),
        STORE_TEST(test_kb_version),
        STORE_TEST(test_unwritable),
        STORE_TEST(test_busy_conflict),
        STORE_TEST(test_checkpoint_restart),
        STORE_TEST(test_deferred_writes),
        STORE_TEST(test_bulk_insert),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
