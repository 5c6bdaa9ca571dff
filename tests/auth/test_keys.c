/* test_keys.c: scopes, key format, create/verify, expiry, revocation,
 * rotation overlap, last_used_at throttling, and that no secret reaches
 * the database file. */
#include "auth_test.h"

#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>

static void test_scopes(void **state)
{
    (void)state;
    fd_err err = {0};
    unsigned s = 99;
    assert_int_equal(fd_scopes_parse("chat,operator", &s, &err), FD_OK);
    assert_int_equal(s, FD_SCOPE_CHAT | FD_SCOPE_OPERATOR);
    assert_int_equal(fd_scopes_parse(" ingest , chat ,", &s, &err), FD_OK);
    assert_int_equal(s, FD_SCOPE_CHAT | FD_SCOPE_INGEST);
    assert_int_equal(fd_scopes_parse("chat,wizard", &s, &err), FD_EINVAL);
    assert_int_equal(s, 0);
    assert_string_equal(err.field, "scope");
    assert_non_null(strstr(err.msg, "'wizard'"));
    assert_int_equal(fd_scopes_parse("", &s, &err), FD_EINVAL);
    assert_int_equal(fd_scopes_parse(",,", &s, &err), FD_EINVAL);
    assert_int_equal(fd_scopes_parse("chatx", &s, &err), FD_EINVAL);
    assert_int_equal(fd_scopes_parse("cha", &s, &err), FD_EINVAL);
    assert_int_equal(fd_scopes_parse(NULL, &s, &err), FD_EINVAL);

    char buf[64];
    fd_scopes_format(FD_SCOPE_OPERATOR | FD_SCOPE_CHAT, buf, sizeof buf);
    assert_string_equal(buf, "chat,operator");
    fd_scopes_format(0, buf, sizeof buf);
    assert_string_equal(buf, "");
    fd_scopes_format(FD_SCOPE_CHAT | FD_SCOPE_INGEST, buf, 8); /* "chat,ingest" cut whole */
    assert_string_equal(buf, "chat");

    assert_true(fd_scopes_allow(FD_SCOPE_ADMIN, FD_SCOPE_INGEST | FD_SCOPE_OPERATOR));
    assert_true(fd_scopes_allow(FD_SCOPE_CHAT | FD_SCOPE_INGEST, FD_SCOPE_CHAT));
    assert_false(fd_scopes_allow(FD_SCOPE_CHAT, FD_SCOPE_INGEST));
    assert_false(fd_scopes_allow(FD_SCOPE_CHAT, FD_SCOPE_CHAT | FD_SCOPE_OPERATOR));
    assert_false(fd_scopes_allow(FD_SCOPE_OPERATOR, FD_SCOPE_ADMIN));
}

static void test_base64url(void **state)
{
    (void)state;
    char out[64];
    /* RFC 4648 test vectors, unpadded, URL alphabet. */
    assert_int_equal(auth_base64url((const unsigned char *)"f", 1, out), 2);
    assert_string_equal(out, "Zg");
    auth_base64url((const unsigned char *)"fo", 2, out);
    assert_string_equal(out, "Zm8");
    auth_base64url((const unsigned char *)"foobar", 6, out);
    assert_string_equal(out, "Zm9vYmFy");
    const unsigned char hi[] = {0xfb, 0xff, 0xbf};
    auth_base64url(hi, 3, out);
    assert_string_equal(out, "-_-_");
    unsigned char raw[32];
    memset(raw, 0xff, sizeof raw);
    assert_int_equal(auth_base64url(raw, 32, out), 43);
}

static void test_create_and_verify(void **state)
{
    fixture *f = *state;
    fd_err err = {0};
    char key[FD_KEY_LEN + 1], key2[FD_KEY_LEN + 1];
    fd_key_info info, got;
    assert_int_equal(fd_keys_create(f->st, "web widget", FD_SCOPE_CHAT, 0, key, &info, &err),
                     FD_OK);
    assert_int_equal(strlen(key), FD_KEY_LEN);
    assert_true(auth_key_wellformed(key));
    assert_memory_equal(key, "fdk_", 4);
    assert_int_equal(strlen(info.prefix), FD_KEY_PREFIX_LEN);
    assert_memory_equal(info.prefix, key, FD_KEY_PREFIX_LEN);
    assert_string_equal(info.name, "web widget");
    assert_int_equal(info.scopes, FD_SCOPE_CHAT);
    assert_true(info.id > 0);
    assert_true(info.expires_at == 0);

    assert_int_equal(fd_keys_create(f->st, NULL, FD_SCOPE_ADMIN, 0, key2, NULL, &err), FD_OK);
    assert_string_not_equal(key, key2); /* 256 random bits */

    double now = fd_time_wall();
    assert_int_equal(fd_keys_verify(f->st, key, now, &got, &err), FD_OK);
    assert_int_equal(got.id, info.id);
    assert_int_equal(got.scopes, FD_SCOPE_CHAT);
    assert_true(got.last_used_at == now);

    /* Every refusal is FD_ENOTFOUND; only the message differs. */
    char bad[FD_KEY_LEN + 2];
    memcpy(bad, key, sizeof key);
    bad[FD_KEY_LEN - 1] = bad[FD_KEY_LEN - 1] == 'A' ? 'B' : 'A'; /* same prefix, other key */
    assert_int_equal(fd_keys_verify(f->st, bad, now, &got, &err), FD_ENOTFOUND);
    assert_non_null(strstr(err.msg, "unknown"));
    assert_int_equal(got.id, 0); /* nothing leaks on refusal */
    char upper[FD_KEY_LEN + 1];
    memcpy(upper, key, sizeof key);
    memcpy(upper, "FDK_", 4);
    const char *malformed[] = {"", "fdk_", "fdk_short", "Bearer x", upper, NULL};
    for (int i = 0; malformed[i]; i++) {
        assert_int_equal(fd_keys_verify(f->st, malformed[i], now, &got, &err), FD_ENOTFOUND);
        assert_non_null(strstr(err.msg, "malformed"));
    }
    assert_int_equal(fd_keys_verify(f->st, NULL, now, &got, &err), FD_ENOTFOUND);
    memcpy(bad, key, sizeof key);
    bad[10] = '+'; /* not base64url */
    assert_int_equal(fd_keys_verify(f->st, bad, now, &got, &err), FD_ENOTFOUND);
    memcpy(bad, key, sizeof key);
    bad[FD_KEY_LEN] = 'x'; /* one character too many */
    bad[FD_KEY_LEN + 1] = '\0';
    assert_int_equal(fd_keys_verify(f->st, bad, now, &got, &err), FD_ENOTFOUND);

    /* Bad arguments to create. */
    assert_int_equal(fd_keys_create(f->st, "x", 0, 0, key2, NULL, &err), FD_EINVAL);
    assert_string_equal(err.field, "scopes");
    assert_int_equal(fd_keys_create(f->st, "x", 1u << 7, 0, key2, NULL, &err), FD_EINVAL);
    assert_int_equal(fd_keys_create(f->st, "x", FD_SCOPE_CHAT, -1, key2, NULL, &err), FD_EINVAL);
    assert_string_equal(err.field, "ttl");
    assert_int_equal(fd_keys_create(f->st, "x", FD_SCOPE_CHAT, NAN, key2, NULL, &err), FD_EINVAL);
    char longname[80];
    memset(longname, 'n', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    assert_int_equal(fd_keys_create(f->st, longname, FD_SCOPE_CHAT, 0, key2, NULL, &err),
                     FD_EINVAL);
    assert_string_equal(err.field, "name");
}

static void test_expiry(void **state)
{
    fixture *f = *state;
    fd_err err = {0};
    char key[FD_KEY_LEN + 1];
    fd_key_info info;
    double t0 = fd_time_wall();
    assert_int_equal(fd_keys_create(f->st, "temp", FD_SCOPE_INGEST, 3600, key, &info, &err), FD_OK);
    assert_true(info.expires_at >= t0 + 3600 && info.expires_at < t0 + 3700);
    assert_int_equal(fd_keys_verify(f->st, key, info.expires_at - 1, NULL, &err), FD_OK);
    assert_int_equal(fd_keys_verify(f->st, key, info.expires_at, NULL, &err), FD_ENOTFOUND);
    assert_non_null(strstr(err.msg, "expired"));
    assert_non_null(strstr(err.msg, info.prefix)); /* the log can say which key */
}

static void test_revoke(void **state)
{
    fixture *f = *state;
    fd_err err = {0};
    char a[FD_KEY_LEN + 1], b[FD_KEY_LEN + 1];
    fd_key_info ia, ib;
    assert_int_equal(fd_keys_create(f->st, "a", FD_SCOPE_CHAT, 0, a, &ia, &err), FD_OK);
    assert_int_equal(fd_keys_create(f->st, "b", FD_SCOPE_CHAT, 0, b, &ib, &err), FD_OK);
    double now = fd_time_wall();

    char id[32];
    snprintf(id, sizeof id, "%lld", (long long)ia.id);
    assert_int_equal(fd_keys_revoke(f->st, id, &err), FD_OK);
    assert_int_equal(fd_keys_verify(f->st, a, now, NULL, &err), FD_ENOTFOUND);
    assert_non_null(strstr(err.msg, "revoked"));
    assert_int_equal(fd_keys_revoke(f->st, id, &err), FD_OK); /* idempotent */
    assert_int_equal(fd_keys_verify(f->st, b, now, NULL, &err), FD_OK);

    assert_int_equal(fd_keys_revoke(f->st, ib.prefix, &err), FD_OK);
    assert_int_equal(fd_keys_verify(f->st, b, now, NULL, &err), FD_ENOTFOUND);

    assert_int_equal(fd_keys_revoke(f->st, "999999", &err), FD_ENOTFOUND);
    assert_int_equal(fd_keys_revoke(f->st, "fdk_ZZZZZZZZ", &err), FD_ENOTFOUND);
    assert_int_equal(fd_keys_revoke(f->st, "fdk_x", &err), FD_EINVAL);
    assert_int_equal(fd_keys_revoke(f->st, "'; DROP TABLE api_keys; --", &err), FD_EINVAL);
    assert_int_equal(fd_keys_revoke(f->st, "", &err), FD_EINVAL);
    assert_int_equal(fd_keys_revoke(f->st, "99999999999999999999999", &err), FD_EINVAL);

    /* A whole key revokes itself (a leaked key found in a log). */
    char c[FD_KEY_LEN + 1];
    assert_int_equal(fd_keys_create(f->st, "c", FD_SCOPE_CHAT, 0, c, NULL, &err), FD_OK);
    assert_int_equal(fd_keys_revoke(f->st, c, &err), FD_OK);
    assert_int_equal(fd_keys_verify(f->st, c, now, NULL, &err), FD_ENOTFOUND);
}

/* Two keys sharing a prefix (forced through the store) make the prefix
 * ambiguous for revoke, while verification by hash is unaffected. */
static void test_prefix_collision(void **state)
{
    fixture *f = *state;
    fd_err err = {0};
    char key[FD_KEY_LEN + 1];
    fd_key_info info;
    assert_int_equal(fd_keys_create(f->st, "real", FD_SCOPE_CHAT, 0, key, &info, &err), FD_OK);
    fd_key_row twin;
    memset(&twin, 0, sizeof twin);
    memcpy(twin.prefix, info.prefix, sizeof info.prefix);
    fd_sha256_hex("another secret", 14, twin.hash);
    twin.scopes = FD_SCOPE_CHAT;
    assert_int_equal(fd_store_key_add(f->st, &twin, NULL, &err), FD_OK);
    assert_int_equal(fd_keys_revoke(f->st, info.prefix, &err), FD_ECONFLICT);
    assert_string_equal(err.field, "key");
    assert_int_equal(fd_keys_verify(f->st, key, fd_time_wall(), NULL, &err), FD_OK);
}

static void test_rotate(void **state)
{
    fixture *f = *state;
    fd_err err = {0};
    char old[FD_KEY_LEN + 1], fresh[FD_KEY_LEN + 1];
    fd_key_info io, in, got;
    assert_int_equal(
        fd_keys_create(f->st, "pos", FD_SCOPE_CHAT | FD_SCOPE_INGEST, 86400, old, &io, &err),
        FD_OK);
    double t = fd_time_wall();
    assert_int_equal(fd_keys_rotate(f->st, io.prefix, 3600, fresh, &in, &err), FD_OK);
    assert_true(auth_key_wellformed(fresh));
    assert_string_not_equal(old, fresh);
    assert_true(in.id != io.id);
    assert_string_equal(in.name, "pos");
    assert_int_equal(in.scopes, FD_SCOPE_CHAT | FD_SCOPE_INGEST);
    /* Same lifetime, counted from the rotation. */
    assert_true(in.expires_at >= t + 86400 - 1 && in.expires_at <= fd_time_wall() + 86400 + 1);

    /* Old key: valid inside the overlap, refused after; successor recorded. */
    assert_int_equal(fd_keys_verify(f->st, old, t + 3000, &got, &err), FD_OK);
    assert_int_equal(got.rotated_to, in.id);
    assert_true(got.valid_until >= t + 3600 && got.valid_until < t + 3700);
    assert_int_equal(fd_keys_verify(f->st, old, got.valid_until, NULL, &err), FD_ENOTFOUND);
    assert_non_null(strstr(err.msg, "rotated"));
    assert_int_equal(fd_keys_verify(f->st, fresh, t + 7200, &got, &err), FD_OK);
    assert_int_equal(got.id, in.id);

    /* No second successor for the same key; revoked keys do not rotate. */
    char again[FD_KEY_LEN + 1];
    assert_int_equal(fd_keys_rotate(f->st, io.prefix, 60, again, NULL, &err), FD_ECONFLICT);
    assert_int_equal(again[0], '\0');
    assert_int_equal(fd_keys_revoke(f->st, in.prefix, &err), FD_OK);
    assert_int_equal(fd_keys_rotate(f->st, in.prefix, 60, again, NULL, &err), FD_ECONFLICT);
    assert_int_equal(fd_keys_rotate(f->st, "4242", 60, again, NULL, &err), FD_ENOTFOUND);
    assert_int_equal(fd_keys_rotate(f->st, io.prefix, -1, again, NULL, &err), FD_EINVAL);

    /* Overlap 0: the old key stops at once. */
    char k3[FD_KEY_LEN + 1], k4[FD_KEY_LEN + 1];
    fd_key_info i3;
    assert_int_equal(fd_keys_create(f->st, "three", FD_SCOPE_CHAT, 0, k3, &i3, &err), FD_OK);
    char id[32];
    snprintf(id, sizeof id, "%lld", (long long)i3.id);
    assert_int_equal(fd_keys_rotate(f->st, id, 0, k4, &in, &err), FD_OK);
    assert_true(in.expires_at == 0);
    assert_int_equal(fd_keys_verify(f->st, k3, fd_time_wall(), NULL, &err), FD_ENOTFOUND);
    assert_int_equal(fd_keys_verify(f->st, k4, fd_time_wall(), NULL, &err), FD_OK);
}

static int count_key(void *ctx, const fd_key_info *k)
{
    int *n = ctx;
    (*n)++;
    assert_int_equal(strlen(k->prefix), FD_KEY_PREFIX_LEN);
    return 0;
}

static int stop_at_first(void *ctx, const fd_key_info *k)
{
    (void)k;
    (*(int *)ctx)++;
    return 7;
}

/* last_used_at: written on first use, then at most once a minute. */
static void test_last_used_throttled(void **state)
{
    fixture *f = *state;
    fd_err err = {0};
    char key[FD_KEY_LEN + 1];
    fd_key_info info, got;
    assert_int_equal(fd_keys_create(f->st, "busy", FD_SCOPE_CHAT, 0, key, &info, &err), FD_OK);
    assert_true(info.last_used_at == 0);
    double t = fd_time_wall();
    assert_int_equal(fd_keys_verify(f->st, key, t, &got, &err), FD_OK);
    assert_true(got.last_used_at == t);
    for (int i = 1; i < 50; i++) {
        assert_int_equal(fd_keys_verify(f->st, key, t + i, &got, &err), FD_OK);
        assert_true(got.last_used_at == t); /* not rewritten inside the minute */
    }
    assert_int_equal(fd_keys_verify(f->st, key, t + 60, &got, &err), FD_OK);
    assert_true(got.last_used_at == t + 60);
    fd_key_row row;
    assert_int_equal(fd_store_key_by_id(f->st, info.id, &row, &err), FD_OK);
    assert_true(row.last_used_at == t + 60);

    int n = 0;
    assert_int_equal(fd_keys_list(f->st, count_key, &n, &err), FD_OK);
    assert_int_equal(n, 1);
    n = 0;
    assert_int_equal(fd_keys_list(f->st, stop_at_first, &n, &err), 7);
    assert_int_equal(n, 1);
}

/* A writer holding the database (an ingest) neither fails nor stalls a
 * verification whose last_used_at update is due: the update is skipped. */
static void test_verify_under_busy_writer(void **state)
{
    fixture *f = *state;
    fd_err err = {0};
    char key[FD_KEY_LEN + 1];
    fd_key_info got;
    assert_int_equal(fd_keys_create(f->st, "w", FD_SCOPE_CHAT, 0, key, NULL, &err), FD_OK);
    sqlite3 *other = NULL;
    assert_int_equal(sqlite3_open(f->path, &other), SQLITE_OK);
    assert_int_equal(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    uint64_t t0 = fd_time_ns();
    assert_int_equal(fd_keys_verify(f->st, key, fd_time_wall(), &got, &err), FD_OK);
    assert_true(fd_time_ns() - t0 < 1000000000ull); /* not the 5 s busy wait */
    assert_true(got.last_used_at == 0);             /* skipped, not faked */
    assert_int_equal(sqlite3_exec(other, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(other);
    double now = fd_time_wall();
    assert_int_equal(fd_keys_verify(f->st, key, now, &got, &err), FD_OK);
    assert_true(got.last_used_at == now);
}

/* The database file holds the hash, never the key. */
static void test_secret_not_stored(void **state)
{
    fixture *f = *state;
    fd_err err = {0};
    char key[FD_KEY_LEN + 1], fresh[FD_KEY_LEN + 1];
    fd_key_info info;
    assert_int_equal(fd_keys_create(f->st, "s", FD_SCOPE_CHAT, 0, key, &info, &err), FD_OK);
    assert_int_equal(fd_keys_rotate(f->st, info.prefix, 60, fresh, NULL, &err), FD_OK);
    assert_int_equal(fd_keys_verify(f->st, key, fd_time_wall(), NULL, &err), FD_OK);
    fd_store_close(f->st); /* checkpoint the WAL into the file */
    f->st = NULL;
    char hash[65];
    fd_sha256_hex(key, FD_KEY_LEN, hash);
    int seen_hash = 0;
    const char *files[] = {"auth.db", "auth.db-wal"};
    for (int i = 0; i < 2; i++) {
        char p[700];
        snprintf(p, sizeof p, "%s/%s", f->dir, files[i]);
        char *data = NULL;
        size_t len = 0;
        if (fd_file_read(p, 0, &data, &len, &err) != FD_OK)
            continue;
        assert_null(memmem(data, len, key + 4, FD_KEY_LEN - 4));
        assert_null(memmem(data, len, fresh + 4, FD_KEY_LEN - 4));
        seen_hash |= memmem(data, len, hash, 64) != NULL;
        fd_free(data);
    }
    assert_true(seen_hash); /* the search would have found it */
    assert_int_equal(fd_store_open(f->path, &f->st, &err), FD_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scopes),
        cmocka_unit_test(test_base64url),
        cmocka_unit_test_setup_teardown(test_create_and_verify, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_revoke, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prefix_collision, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_last_used_throttled, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_under_busy_writer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_secret_not_stored, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
