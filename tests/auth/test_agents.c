/* test_agents.c: agents' accounts and sign-in (auth/agents.c): name,
 * display-name and password rules; an argon2id hash and never the
 * password in the store; sign-in refusals all FD_ENOTFOUND; a token that
 * verifies until it expires, is signed out, or its agent is disabled or
 * given a new password; and no token in the database file. */
#include "auth_test.h"

#include <stdlib.h>

static void test_rules(void **state)
{
    fixture *f = *state;
    static const struct {
        const char *name;
        int ok;
    } names[] = {
        {"alice", 1},  {"a", 1},  {"ana.m_2-x", 1}, {"9lives", 1}, {"", 0},       {"Alice", 0},
        {".alice", 0}, {"-a", 0}, {"al ice", 0},    {"al/ice", 0}, {"élodie", 0}, {NULL, 0},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        assert_int_equal(fd_agent_name_ok(names[i].name), names[i].ok);
    char longname[80];
    memset(longname, 'a', sizeof longname - 1);
    longname[FD_AGENT_NAME_MAX] = '\0';
    assert_true(fd_agent_name_ok(longname));
    longname[FD_AGENT_NAME_MAX] = 'a';
    longname[FD_AGENT_NAME_MAX + 1] = '\0';
    assert_false(fd_agent_name_ok(longname));

    fd_err err = {0};
    fd_agent_info a;
    assert_int_equal(fd_agents_create(f->st, "Bad Name", "", "long enough", &a, &err), FD_EINVAL);
    assert_string_equal(err.field, "name");
    assert_int_equal(fd_agents_create(f->st, "ana", "", "short", &a, &err), FD_EINVAL);
    assert_string_equal(err.field, "password");
    assert_int_equal(fd_agents_create(f->st, "ana", "", NULL, &a, &err), FD_EINVAL);
    assert_int_equal(fd_agents_create(f->st, "ana", "tab\there", "long enough", &a, &err),
                     FD_EINVAL);
    assert_string_equal(err.field, "display_name");
    assert_int_equal(fd_agents_create(f->st, "ana", "bad \xC3(", "long enough", &a, &err),
                     FD_EINVAL);
    assert_int_equal(fd_agents_create(f->st, "ana", "\xC0\xAF", "long enough", &a, &err),
                     FD_EINVAL);
    /* A display name in another script is fine; none means the name. */
    assert_int_equal(fd_agents_create(f->st, "ana", "Ана Élodie", "long enough", &a, &err), FD_OK);
    assert_string_equal(a.display_name, "Ана Élodie");
    assert_int_equal(fd_agents_create(f->st, "bo", NULL, "long enough", &a, &err), FD_OK);
    assert_string_equal(a.display_name, "bo");
    assert_int_equal(fd_agents_create(f->st, "bo", NULL, "long enough", &a, &err), FD_ECONFLICT);

    /* The store has libsodium's argon2id string, not the password. */
    fd_agent_row row;
    assert_int_equal(fd_store_agent_get(f->st, "ana", &row, &err), FD_OK);
    assert_memory_equal(row.pw_hash, "$argon2id$", 10);
    assert_null(strstr(row.pw_hash, "long enough"));
}

static void test_login_verify_logout(void **state)
{
    fixture *f = *state;
    fd_err err = {0};
    fd_agent_info a, v;
    assert_int_equal(fd_agents_create(f->st, "alice", "Alice", "correct horse", &a, &err), FD_OK);
    char token[FD_AGENT_TOKEN_LEN + 1];
    double now = 1e9;

    /* Every refusal is FD_ENOTFOUND, with the reason for the log. */
    assert_int_equal(fd_agents_login(f->st, "alice", "wrong horse", 3600, now, token, &v, &err),
                     FD_ENOTFOUND);
    assert_non_null(strstr(err.msg, "wrong password"));
    assert_string_equal(token, "");
    assert_int_equal(fd_agents_login(f->st, "nobody", "correct horse", 3600, now, token, &v, &err),
                     FD_ENOTFOUND);
    assert_int_equal(fd_agents_login(f->st, "Bad Name", "x", 3600, now, token, &v, &err),
                     FD_ENOTFOUND);
    assert_int_equal(fd_agents_login(f->st, "alice", NULL, 3600, now, token, &v, &err),
                     FD_ENOTFOUND);
    assert_int_equal(fd_agents_login(f->st, "alice", "correct horse", 0, now, token, &v, &err),
                     FD_EINVAL);

    assert_int_equal(fd_agents_login(f->st, "alice", "correct horse", 3600, now, token, &v, &err),
                     FD_OK);
    assert_int_equal(strlen(token), FD_AGENT_TOKEN_LEN);
    assert_true(fd_agent_token_shaped(token));
    assert_memory_equal(v.prefix, token, FD_KEY_PREFIX_LEN);
    assert_true(v.expires_at == now + 3600);
    assert_true(v.session_id > 0);
    assert_true(v.last_login_at == now);

    memset(&v, 0, sizeof v);
    assert_int_equal(fd_agents_verify(f->st, token, now + 10, &v, &err), FD_OK);
    assert_string_equal(v.name, "alice");
    assert_string_equal(v.display_name, "Alice");
    /* Expiry is at expires_at exactly. */
    assert_int_equal(fd_agents_verify(f->st, token, now + 3600, &v, &err), FD_ENOTFOUND);
    assert_non_null(strstr(err.msg, "expired"));
    assert_int_equal(v.id, 0); /* zeroed on refusal */

    /* Malformed tokens: too short, too long, another alphabet, a key. */
    char bad[FD_AGENT_TOKEN_LEN + 2];
    snprintf(bad, sizeof bad, "%s", token);
    bad[FD_AGENT_TOKEN_LEN - 1] = '\0';
    assert_int_equal(fd_agents_verify(f->st, bad, now, &v, &err), FD_ENOTFOUND);
    snprintf(bad, sizeof bad, "%sA", token);
    assert_int_equal(fd_agents_verify(f->st, bad, now, &v, &err), FD_ENOTFOUND);
    snprintf(bad, sizeof bad, "%s", token);
    bad[10] = '+';
    assert_int_equal(fd_agents_verify(f->st, bad, now, &v, &err), FD_ENOTFOUND);
    assert_int_equal(fd_agents_verify(f->st, NULL, now, &v, &err), FD_ENOTFOUND);
    assert_false(fd_agent_token_shaped("fdk_abc"));

    /* Two sessions; signing one out leaves the other. */
    char second[FD_AGENT_TOKEN_LEN + 1];
    assert_int_equal(
        fd_agents_login(f->st, "alice", "correct horse", 3600, now, second, NULL, &err), FD_OK);
    assert_string_not_equal(token, second);
    assert_int_equal(fd_agents_logout(f->st, token, now + 20, &err), FD_OK);
    assert_int_equal(fd_agents_logout(f->st, token, now + 30, &err), FD_OK);
    assert_int_equal(fd_agents_verify(f->st, token, now + 40, &v, &err), FD_ENOTFOUND);
    assert_non_null(strstr(err.msg, "signed out"));
    assert_int_equal(fd_agents_verify(f->st, second, now + 40, &v, &err), FD_OK);
    assert_int_equal(fd_agents_logout(f->st, "fda_short", now, &err), FD_ENOTFOUND);

    /* No token, no password in the database file or its WAL. */
    for (int w = 0; w < 2; w++) {
        char path[640];
        snprintf(path, sizeof path, "%s%s", f->path, w ? "-wal" : "");
        FILE *fp = fopen(path, "rb");
        if (!fp)
            continue;
        static char buf[4 << 20];
        size_t n = fread(buf, 1, sizeof buf, fp);
        fclose(fp);
        assert_null(memmem(buf, n, second + 4, FD_AGENT_TOKEN_LEN - 4));
        assert_null(memmem(buf, n, "correct horse", 13));
    }
}

static void test_disable_and_passwd_end_sessions(void **state)
{
    fixture *f = *state;
    fd_err err = {0};
    fd_agent_info a, v;
    char token[FD_AGENT_TOKEN_LEN + 1];
    double now = fd_time_wall();
    assert_int_equal(fd_agents_create(f->st, "bob", "Bob", "first password", &a, &err), FD_OK);
    assert_int_equal(fd_agents_login(f->st, "bob", "first password", 3600, now, token, &v, &err),
                     FD_OK);

    assert_int_equal(fd_agents_set_disabled(f->st, "bob", 1, &a, &err), FD_OK);
    assert_true(a.disabled_at > 0);
    double first = a.disabled_at;
    assert_int_equal(fd_agents_verify(f->st, token, now + 1, &v, &err), FD_ENOTFOUND);
    assert_int_equal(fd_agents_login(f->st, "bob", "first password", 3600, now, token, &v, &err),
                     FD_ENOTFOUND);
    assert_non_null(strstr(err.msg, "disabled"));
    /* Disabling again keeps the first time. */
    assert_int_equal(fd_agents_set_disabled(f->st, "bob", 1, &a, &err), FD_OK);
    assert_true(a.disabled_at == first);
    assert_int_equal(fd_agents_set_disabled(f->st, "bob", 0, &a, &err), FD_OK);
    assert_true(a.disabled_at == 0);
    /* Enabled again, the old session stays ended. */
    fd_agent_row row;
    assert_int_equal(fd_store_agent_get(f->st, "bob", &row, &err), FD_OK);
    assert_int_equal(fd_agents_login(f->st, "bob", "first password", 3600, now, token, &v, &err),
                     FD_OK);

    assert_int_equal(fd_agents_set_password(f->st, "bob", "short", &a, &err), FD_EINVAL);
    assert_int_equal(fd_agents_set_password(f->st, "nobody", "second password", &a, &err),
                     FD_ENOTFOUND);
    assert_int_equal(fd_agents_set_password(f->st, "bob", "second password", &a, &err), FD_OK);
    assert_int_equal(fd_agents_verify(f->st, token, now + 1, &v, &err), FD_ENOTFOUND);
    assert_int_equal(fd_agents_login(f->st, "bob", "first password", 3600, now, token, &v, &err),
                     FD_ENOTFOUND);
    assert_int_equal(fd_agents_login(f->st, "bob", "second password", 3600, now, token, &v, &err),
                     FD_OK);
    assert_int_equal(fd_agents_set_disabled(f->st, "nobody", 1, &a, &err), FD_ENOTFOUND);

    assert_int_equal(fd_agents_get(f->st, "bob", &a, &err), FD_OK);
    assert_string_equal(a.display_name, "Bob");
    assert_int_equal(fd_agents_get(f->st, "nobody", &a, &err), FD_ENOTFOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_login_verify_logout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disable_and_passwd_end_sessions, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
