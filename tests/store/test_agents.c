/* test_agents.c: the agents and agent_sessions rows (store/agents.c): add
 * and a taken name, lookups, updates of each column alone, sessions with
 * their agent, sign-out keeping the first time, ending and purging an
 * agent's sessions, and sessions gone with their agent. Runs on SQLite and
 * (on_pg.sh) PostgreSQL. */
#include "store_test.h"

typedef store_fixture fixture;

static fd_agent_row agent(const char *name, const char *display)
{
    fd_agent_row a;
    memset(&a, 0, sizeof a);
    snprintf(a.name, sizeof a.name, "%s", name);
    snprintf(a.display_name, sizeof a.display_name, "%s", display);
    snprintf(a.pw_hash, sizeof a.pw_hash, "$argon2id$v=19$m=65536,t=2,p=1$%s", name);
    a.created_at = 100;
    return a;
}

static int count_each(void *ctx, const fd_agent_row *a)
{
    char *names = ctx;
    strcat(names, a->name);
    strcat(names, ";");
    return 0;
}

static void test_add_get_update(void **state)
{
    fixture *f = *state;
    fd_err err = {0};
    fd_agent_row a = agent("alice", "Alice Martin"), got;
    int64_t id = 0;
    assert_int_equal(fd_store_agent_add(f->st, &a, &id, &err), FD_OK);
    assert_true(id > 0);
    fd_agent_row b = agent("bob", "");
    assert_int_equal(fd_store_agent_add(f->st, &b, NULL, &err), FD_OK);
    /* The name is unique; the error names the field. */
    assert_int_equal(fd_store_agent_add(f->st, &a, NULL, &err), FD_ECONFLICT);
    assert_string_equal(err.field, "name");
    fd_agent_row empty = agent("", "x");
    assert_int_equal(fd_store_agent_add(f->st, &empty, NULL, &err), FD_EINVAL);
    fd_agent_row nohash = agent("carol", "");
    nohash.pw_hash[0] = '\0';
    assert_int_equal(fd_store_agent_add(f->st, &nohash, NULL, &err), FD_EINVAL);

    assert_int_equal(fd_store_agent_get(f->st, "alice", &got, &err), FD_OK);
    assert_int_equal(got.id, id);
    assert_string_equal(got.display_name, "Alice Martin");
    assert_string_equal(got.pw_hash, a.pw_hash);
    assert_true(got.created_at == 100 && got.disabled_at == 0 && got.last_login_at == 0);
    assert_int_equal(fd_store_agent_get(f->st, "nobody", &got, &err), FD_ENOTFOUND);
    /* Bound parameters: quotes are data. */
    assert_int_equal(fd_store_agent_get(f->st, "' OR '1'='1", &got, &err), FD_ENOTFOUND);

    char names[64] = "";
    assert_int_equal(fd_store_agents_each(f->st, count_each, names, &err), FD_OK);
    assert_string_equal(names, "alice;bob;");

    /* Each change alone leaves the other columns. */
    assert_int_equal(fd_store_agent_update(f->st, "alice", NULL, NULL, 500, &err), FD_OK);
    assert_int_equal(fd_store_agent_get(f->st, "alice", &got, &err), FD_OK);
    assert_true(got.disabled_at == 500);
    assert_string_equal(got.pw_hash, a.pw_hash);
    assert_int_equal(fd_store_agent_update(f->st, "alice", "$argon2id$new", NULL, -1, &err), FD_OK);
    assert_int_equal(fd_store_agent_get(f->st, "alice", &got, &err), FD_OK);
    assert_true(got.disabled_at == 500);
    assert_string_equal(got.pw_hash, "$argon2id$new");
    assert_string_equal(got.display_name, "Alice Martin");
    assert_int_equal(fd_store_agent_update(f->st, "alice", NULL, "Alice M.", 0, &err), FD_OK);
    assert_int_equal(fd_store_agent_get(f->st, "alice", &got, &err), FD_OK);
    assert_true(got.disabled_at == 0);
    assert_string_equal(got.display_name, "Alice M.");
    assert_int_equal(fd_store_agent_update(f->st, "alice", "", NULL, -1, &err), FD_EINVAL);
    assert_int_equal(fd_store_agent_update(f->st, "nobody", NULL, NULL, 1, &err), FD_ENOTFOUND);
    assert_int_equal(fd_store_agent_touch_login(f->st, id, 700, &err), FD_OK);
    assert_int_equal(fd_store_agent_get(f->st, "alice", &got, &err), FD_OK);
    assert_true(got.last_login_at == 700);
}

static fd_agent_session_row session(int64_t agent_id, const char *token, double created,
                                    double expires)
{
    fd_agent_session_row s;
    memset(&s, 0, sizeof s);
    s.agent_id = agent_id;
    fd_sha256_hex(token, strlen(token), s.token_hash);
    snprintf(s.prefix, sizeof s.prefix, "fda_%.8s", token);
    s.created_at = created;
    s.expires_at = expires;
    return s;
}

static void test_sessions(void **state)
{
    fixture *f = *state;
    fd_err err = {0};
    fd_agent_row a = agent("alice", "Alice"), b = agent("bob", ""), got;
    int64_t ida = 0, idb = 0, sid = 0;
    assert_int_equal(fd_store_agent_add(f->st, &a, &ida, &err), FD_OK);
    assert_int_equal(fd_store_agent_add(f->st, &b, &idb, &err), FD_OK);

    fd_agent_session_row s1 = session(ida, "token-one", 1000, 2000);
    fd_agent_session_row s2 = session(ida, "token-two", 1000, 5000);
    fd_agent_session_row s3 = session(idb, "token-three", 1000, 5000);
    assert_int_equal(fd_store_agent_session_add(f->st, &s1, &sid, &err), FD_OK);
    assert_true(sid > 0);
    assert_int_equal(fd_store_agent_session_add(f->st, &s2, NULL, &err), FD_OK);
    assert_int_equal(fd_store_agent_session_add(f->st, &s3, NULL, &err), FD_OK);
    /* The same hash twice, a missing agent, a hash of the wrong length. */
    assert_int_equal(fd_store_agent_session_add(f->st, &s1, NULL, &err), FD_ECONFLICT);
    fd_agent_session_row orphan = session(ida + idb + 100, "token-four", 1000, 5000);
    assert_int_equal(fd_store_agent_session_add(f->st, &orphan, NULL, &err), FD_ECONFLICT);
    fd_agent_session_row bad = s1;
    bad.token_hash[10] = '\0';
    assert_int_equal(fd_store_agent_session_add(f->st, &bad, NULL, &err), FD_EINVAL);

    fd_agent_session_row row;
    assert_int_equal(fd_store_agent_session_get(f->st, s1.token_hash, &row, &got, &err), FD_OK);
    assert_int_equal(row.id, sid);
    assert_int_equal(row.agent_id, ida);
    assert_true(row.created_at == 1000 && row.expires_at == 2000 && row.revoked_at == 0);
    assert_string_equal(row.prefix, s1.prefix);
    assert_string_equal(got.name, "alice");
    assert_string_equal(got.display_name, "Alice");
    char other[65];
    fd_sha256_hex("nope", 4, other);
    assert_int_equal(fd_store_agent_session_get(f->st, other, &row, &got, &err), FD_ENOTFOUND);

    /* Sign-out keeps the first time. */
    assert_int_equal(fd_store_agent_session_revoke(f->st, s1.token_hash, 1500, &err), FD_OK);
    assert_int_equal(fd_store_agent_session_revoke(f->st, s1.token_hash, 1600, &err), FD_OK);
    assert_int_equal(fd_store_agent_session_get(f->st, s1.token_hash, &row, &got, &err), FD_OK);
    assert_true(row.revoked_at == 1500);
    assert_int_equal(fd_store_agent_session_revoke(f->st, other, 1600, &err), FD_ENOTFOUND);

    /* Ending alice's live sessions: only token-two was live; bob's stays. */
    int64_t n = -1;
    assert_int_equal(fd_store_agent_sessions_end(f->st, ida, 3000, 0, &n, &err), FD_OK);
    assert_int_equal(n, 1);
    assert_int_equal(fd_store_agent_session_get(f->st, s2.token_hash, &row, &got, &err), FD_OK);
    assert_true(row.revoked_at == 3000);
    assert_int_equal(fd_store_agent_session_get(f->st, s3.token_hash, &row, &got, &err), FD_OK);
    assert_true(row.revoked_at == 0);
    /* Purging what ended before 2500: token-one (signed out at 1500) goes,
     * token-two (ended at 3000) stays. */
    assert_int_equal(fd_store_agent_sessions_end(f->st, ida, 0, 2500, &n, &err), FD_OK);
    assert_int_equal(n, 0);
    assert_int_equal(fd_store_agent_session_get(f->st, s1.token_hash, &row, &got, &err),
                     FD_ENOTFOUND);
    assert_int_equal(fd_store_agent_session_get(f->st, s2.token_hash, &row, &got, &err), FD_OK);

    /* An agent's sessions go with it (ON DELETE CASCADE). */
    assert_int_equal(fd_store_begin(f->st, &err), FD_OK);
    assert_int_equal(store_exec(f->st, "DELETE FROM agents WHERE name = 'bob'"), SQLITE_OK);
    assert_int_equal(fd_store_commit(f->st, &err), FD_OK);
    assert_int_equal(fd_store_agent_session_get(f->st, s3.token_hash, &row, &got, &err),
                     FD_ENOTFOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        STORE_TEST(test_add_get_update),
        STORE_TEST(test_sessions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
