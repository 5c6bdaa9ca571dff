/* test_attachments.c: customers' images in the store (store/attachments.c):
 * bytes back as they went in (a 2 MB one too, which PostgreSQL sends as
 * hex text), found only through their own session, linked to their turn,
 * refused for a session that is gone, and erased with the session by
 * delete, a user's erasure and retention. SQLite and (on_pg.sh) PostgreSQL. */
#include "store_test.h"

typedef store_fixture fixture;

static void session(fixture *f, const char *id, const char *user, double updated)
{
    fd_err err = {0};
    fd_session_row s = {.id = id, .owner = "key:1", .user = user, .updated_at = updated};
    assert_int_equal(fd_store_session_put(f->st, &s, &err), FD_OK);
}

static int64_t add(fixture *f, const char *sid, const void *p, size_t n)
{
    fd_err err = {0};
    fd_attachment_row a = {.session_id = sid, .type = "image/png", .data = p, .len = n};
    int64_t id = 0;
    assert_int_equal(fd_store_attachment_add(f->st, &a, &id, &err), FD_OK);
    assert_true(id > 0);
    return id;
}

static int64_t count(fixture *f)
{
    store_stmt *s;
    fd_err err = {0};
    assert_int_equal(store_prep(f->st, "SELECT count(*) FROM attachments", &s, &err, "count"),
                     FD_OK);
    assert_int_equal(stmt_step(s), SQLITE_ROW);
    int64_t n = stmt_col_i64(s, 0);
    stmt_finalize(s);
    return n;
}

static void test_add_get(void **state)
{
    fixture *f = *state;
    fd_err err = {0};
    session(f, "s1", "u1", 0);
    session(f, "s2", "u2", 0);
    /* Every byte value, NULs included. */
    unsigned char small[512];
    for (size_t i = 0; i < sizeof small; i++)
        small[i] = (unsigned char)i;
    int64_t id = add(f, "s1", small, sizeof small);
    fd_attachment_row got;
    assert_int_equal(fd_store_attachment_get(f->st, "s1", id, f->a, &got, &err), FD_OK);
    assert_int_equal(got.len, sizeof small);
    assert_memory_equal(got.data, small, sizeof small);
    assert_string_equal(got.type, "image/png");
    assert_string_equal(got.session_id, "s1");
    char hex[65];
    fd_sha256_hex(small, sizeof small, hex);
    assert_string_equal(got.sha256, hex);
    assert_true(got.created_at > 0 && got.turn_seq == 0);
    /* Linked to its turn. */
    assert_int_equal(fd_store_attachment_set_turn(f->st, id, 7, &err), FD_OK);
    assert_int_equal(fd_store_attachment_get(f->st, "s1", id, f->a, &got, &err), FD_OK);
    assert_int_equal(got.turn_seq, 7);
    assert_int_equal(fd_store_attachment_set_turn(f->st, id + 100, 7, &err), FD_ENOTFOUND);
    /* Only through its own session. */
    assert_int_equal(fd_store_attachment_get(f->st, "s2", id, f->a, &got, &err), FD_ENOTFOUND);
    assert_int_equal(fd_store_attachment_get(f->st, "s1", id + 100, f->a, &got, &err),
                     FD_ENOTFOUND);
    /* A session that does not exist; nothing to store. */
    fd_attachment_row orphan = {.session_id = "gone", .type = "image/png", .data = small, .len = 4};
    assert_int_equal(fd_store_attachment_add(f->st, &orphan, NULL, &err), FD_ECONFLICT);
    fd_attachment_row empty = {.session_id = "s1", .type = "image/png", .data = small, .len = 0};
    assert_int_equal(fd_store_attachment_add(f->st, &empty, NULL, &err), FD_EINVAL);

    /* 2 MB, the default cap: PostgreSQL's text results carry it as hex. */
    size_t n = (size_t)2 << 20;
    unsigned char *big = malloc(n);
    for (size_t i = 0; i < n; i++)
        big[i] = (unsigned char)(i * 31 + (i >> 11));
    int64_t bid = add(f, "s2", big, n);
    assert_int_equal(fd_store_attachment_get(f->st, "s2", bid, f->a, &got, &err), FD_OK);
    assert_int_equal(got.len, n);
    assert_memory_equal(got.data, big, n);
    free(big);
}

static void test_erased_with_the_session(void **state)
{
    fixture *f = *state;
    fd_err err = {0};
    double now = fd_time_wall();
    session(f, "del", "u1", 0);
    session(f, "erase", "u2", 0);
    session(f, "old", "u3", 1000);
    session(f, "kept", "u4", 0);
    /* Idle since long ago: session_put stamps updated_at itself. */
    assert_int_equal(store_exec(f->st, "UPDATE sessions SET updated_at = 1000 WHERE id = 'old'"),
                     SQLITE_OK);
    add(f, "del", "\x89PNG", 4);
    add(f, "erase", "\x89PNG", 4);
    add(f, "old", "\x89PNG", 4);
    int64_t kept = add(f, "kept", "\x89PNG", 4);
    assert_int_equal(count(f), 4);
    assert_int_equal(fd_store_session_delete(f->st, "del", &err), FD_OK);
    assert_int_equal(count(f), 3);
    int64_t n = 0;
    assert_int_equal(fd_store_user_erase(f->st, "u2", &n, &err), FD_OK);
    assert_int_equal(n, 1);
    assert_int_equal(count(f), 2);
    fd_retention_counts rc;
    assert_int_equal(fd_store_retention(f->st, now - 86400, 0, 0, &rc, &err), FD_OK);
    assert_int_equal(count(f), 1);
    fd_attachment_row got;
    assert_int_equal(fd_store_attachment_get(f->st, "kept", kept, f->a, &got, &err), FD_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        STORE_TEST(test_add_get),
        STORE_TEST(test_erased_with_the_session),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
