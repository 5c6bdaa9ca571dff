/* test_keys.c: the api_keys rows: add, lookups by hash, id and prefix,
 * listing, revoke, rotate and the throttled touch; migration 3 onto a
 * version-2 database. */
#include "store_test.h"
#include "store_int.h"

#include <stdlib.h>

typedef store_fixture fixture;

static fd_key_row make_row(const char *secret, const char *prefix, const char *name)
{
    fd_key_row k;
    memset(&k, 0, sizeof k);
    fd_sha256_hex(secret, strlen(secret), k.hash);
    snprintf(k.prefix, sizeof k.prefix, "%s", prefix);
    snprintf(k.name, sizeof k.name, "%s", name);
    k.scopes = 3;
    k.created_at = 100;
    k.expires_at = 200;
    return k;
}

static void test_add_and_get(void **state)
{
    fixture *f = *state;
    fd_err err = {0};
    fd_key_row a = make_row("secret-a", "fdk_AAAAAAAA", "alpha"), got;
    int64_t id = 0;
    assert_int_equal(fd_store_key_add(f->st, &a, &id, &err), FD_OK);
    assert_true(id > 0);
    assert_int_equal(fd_store_key_by_hash(f->st, a.hash, &got, &err), FD_OK);
    assert_int_equal(got.id, id);
    assert_string_equal(got.prefix, "fdk_AAAAAAAA");
    assert_string_equal(got.name, "alpha");
    assert_int_equal(got.scopes, 3);
    assert_true(got.created_at == 100 && got.expires_at == 200);
    assert_true(got.revoked_at == 0 && got.rotated_to == 0 && got.valid_until == 0);
    assert_int_equal(fd_store_key_by_id(f->st, id, &got, &err), FD_OK);
    assert_string_equal(got.hash, a.hash);

    char other[65];
    fd_sha256_hex("nope", 4, other);
    assert_int_equal(fd_store_key_by_hash(f->st, other, &got, &err), FD_ENOTFOUND);
    assert_int_equal(fd_store_key_by_id(f->st, id + 100, &got, &err), FD_ENOTFOUND);
    /* Bound parameters: quotes are data, not SQL. */
    assert_int_equal(fd_store_key_by_hash(f->st, "' OR '1'='1", &got, &err), FD_ENOTFOUND);

    /* Hash is unique; prefix is not. */
    fd_key_row dup = make_row("secret-a", "fdk_BBBBBBBB", "dup");
    assert_int_equal(fd_store_key_add(f->st, &dup, NULL, &err), FD_ECONFLICT);
    fd_key_row twin = make_row("secret-b", "fdk_AAAAAAAA", "twin");
    int64_t id2 = 0;
    assert_int_equal(fd_store_key_add(f->st, &twin, &id2, &err), FD_OK);
    int n = -1;
    assert_int_equal(fd_store_key_by_prefix(f->st, "fdk_AAAAAAAA", &got, &n, &err), FD_OK);
    assert_int_equal(n, 2);
    assert_int_equal(got.id, id); /* the oldest */
    assert_int_equal(fd_store_key_by_prefix(f->st, "fdk_CCCCCCCC", &got, &n, &err), FD_ENOTFOUND);
    assert_int_equal(n, 0);

    /* Bad rows never reach SQLite. */
    fd_key_row bad = make_row("x", "fdk_DDDDDDDD", "bad");
    strcpy(bad.hash, "not-hex");
    assert_int_equal(fd_store_key_add(f->st, &bad, NULL, &err), FD_EINVAL);
    bad = make_row("x", "", "bad");
    assert_int_equal(fd_store_key_add(f->st, &bad, NULL, &err), FD_EINVAL);
    bad = make_row("x", "fdk_DDDDDDDD", "bad");
    bad.hash[3] = 'A'; /* upper-case hex is not what fd_sha256_hex writes */
    assert_int_equal(fd_store_key_add(f->st, &bad, NULL, &err), FD_EINVAL);
}

static int collect(void *ctx, const fd_key_row *k)
{
    int64_t *ids = ctx;
    ids[++ids[0]] = k->id;
    return 0;
}

static void test_each_revoke_rotate_touch(void **state)
{
    fixture *f = *state;
    fd_err err = {0};
    int64_t a = 0, b = 0;
    fd_key_row ra = make_row("a", "fdk_AAAAAAAA", "a"), rb = make_row("b", "fdk_BBBBBBBB", "b");
    assert_int_equal(fd_store_key_add(f->st, &ra, &a, &err), FD_OK);
    assert_int_equal(fd_store_key_add(f->st, &rb, &b, &err), FD_OK);
    int64_t ids[8] = {0};
    assert_int_equal(fd_store_keys_each(f->st, collect, ids, &err), FD_OK);
    assert_int_equal(ids[0], 2);
    assert_int_equal(ids[1], a);
    assert_int_equal(ids[2], b);

    fd_key_row got;
    assert_int_equal(fd_store_key_revoke(f->st, a, 500, &err), FD_OK);
    assert_int_equal(fd_store_key_revoke(f->st, a, 900, &err), FD_OK);
    assert_int_equal(fd_store_key_by_id(f->st, a, &got, &err), FD_OK);
    assert_true(got.revoked_at == 500); /* the first revocation stands */
    assert_int_equal(fd_store_key_revoke(f->st, 4242, 1, &err), FD_ENOTFOUND);

    assert_int_equal(fd_store_key_rotate(f->st, a, b, 1000, &err), FD_ECONFLICT); /* revoked */
    fd_key_row rc = make_row("c", "fdk_CCCCCCCC", "c");
    int64_t c = 0;
    assert_int_equal(fd_store_key_add(f->st, &rc, &c, &err), FD_OK);
    assert_int_equal(fd_store_key_rotate(f->st, b, c, 1000, &err), FD_OK);
    assert_int_equal(fd_store_key_by_id(f->st, b, &got, &err), FD_OK);
    assert_int_equal(got.rotated_to, c);
    assert_true(got.valid_until == 1000);
    assert_int_equal(fd_store_key_rotate(f->st, b, c, 2000, &err), FD_ECONFLICT);
    assert_non_null(strstr(err.msg, "already rotated"));
    assert_int_equal(fd_store_key_rotate(f->st, 4242, c, 2000, &err), FD_ENOTFOUND);

    int written = -1;
    assert_int_equal(fd_store_key_touch(f->st, c, 1000, 940, &written, &err), FD_OK);
    assert_int_equal(written, 1);
    assert_int_equal(fd_store_key_touch(f->st, c, 1030, 970, &written, &err), FD_OK);
    assert_int_equal(written, 0); /* 1000 > 970: written less than a minute ago */
    assert_int_equal(fd_store_key_touch(f->st, c, 1060, 1000, &written, &err), FD_OK);
    assert_int_equal(written, 1);
    assert_int_equal(fd_store_key_by_id(f->st, c, &got, &err), FD_OK);
    assert_true(got.last_used_at == 1060);
}

/* A database at schema version 2 gains api_keys on open, data intact. */
static void test_migrates_from_v2(void **state)
{
    fixture *f = *state;
    fd_err err = {0};
    assert_int_equal(fd_store_schema_version(f->st), fd_store_schema_latest());
    assert_int_equal(fd_store_begin(f->st, &err), FD_OK);
    put_doc(f->st, "kept.md", "kept.md", 2);
    assert_int_equal(fd_store_commit(f->st, &err), FD_OK);
    fd_store_close(f->st);
    f->st = NULL;

    schema_back_to(
        f->path,
        "DROP INDEX analytics_ratings; DROP TABLE attachments; DROP TABLE agent_sessions; DROP "
        "TABLE agents; DROP TABLE handoff_notes; DROP INDEX handoffs_updated; DROP TABLE "
        "kb_snapshot_parts; DROP TABLE kb_snapshots; DROP TABLE convo_locks; DROP INDEX "
        "turns_opening; DROP TABLE idempotency; DROP TABLE accounting_tokens; DROP TABLE outbox; "
        "DROP TABLE order_history; DROP TABLE order_lines; DROP TABLE orders; "
        "DROP INDEX sessions_user; DROP TABLE audit_log; ALTER TABLE sessions DROP COLUMN owner; "
        "DROP TABLE api_keys; DROP TABLE costs; "
        "",
        2);

    assert_int_equal(fd_store_open(f->path, &f->st, &err), FD_OK);
    assert_int_equal(fd_store_schema_version(f->st), fd_store_schema_latest());
    counts(f->st, 1, 2);
    fd_key_row k = make_row("z", "fdk_ZZZZZZZZ", "z");
    assert_int_equal(fd_store_key_add(f->st, &k, NULL, &err), FD_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        STORE_TEST(test_add_and_get),
        STORE_TEST(test_each_revoke_rotate_touch),
        STORE_TEST(test_migrates_from_v2),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
