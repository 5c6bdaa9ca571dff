/* test_convo.c: assets, sessions, turns, handoffs and analytics events. */
#include "store_test.h"

#include <stdlib.h>

typedef store_fixture fixture;

static void test_assets(void **state)
{
    fixture *f = *state;
    fd_err err;
    int changed = -1;
    assert_int_equal(fd_store_asset_put(f->st, "tone.md", "x", 1, "a/tone.md", 1, &changed, &err),
                     FD_EINVAL); /* outside a transaction */
    assert_int_equal(fd_store_begin(f->st, &err), FD_OK);
    assert_int_equal(
        fd_store_asset_put(f->st, "tone.md", "be kind", 7, "a/tone.md", 1, &changed, &err), FD_OK);
    assert_int_equal(changed, 1);
    assert_int_equal(
        fd_store_asset_put(f->st, "tone.md", "be kind", 7, "a/tone.md", 2, &changed, &err), FD_OK);
    assert_int_equal(changed, 0);
    assert_int_equal(fd_store_commit(f->st, &err), FD_OK);
    fd_asset_row r;
    assert_int_equal(fd_store_asset_get(f->st, "tone.md", f->a, &r, &err), FD_OK);
    assert_string_equal(r.content, "be kind");
    assert_int_equal(r.len, 7);
    assert_int_equal(strlen(r.hash), 64);
    assert_int_equal(fd_store_asset_get(f->st, "nope", f->a, &r, &err), FD_ENOTFOUND);
}

typedef struct seen {
    int n;
    int64_t last_seq;
    char text[4][64];
} seen;

static int on_turn(void *ctx, const fd_turn_row *t)
{
    seen *s = ctx;
    if (s->n < 4)
        snprintf(s->text[s->n], sizeof s->text[0], "%s:%s", t->role, t->text);
    s->n++;
    s->last_seq = t->seq;
    return 0;
}

static void test_sessions_and_turns(void **state)
{
    fixture *f = *state;
    fd_err err;
    fd_session_row s = {.id = "s1",
                        .user = "u",
                        .lang = "en",
                        .slots = "{\"outlet\":\"Tampines\"}",
                        .owner = "key:7"};
    assert_int_equal(fd_store_session_put(f->st, &s, &err), FD_OK);
    fd_turn_row t = {.role = "user", .text = "hi <b>", .intent = "greeting"};
    int64_t seq = 0;
    assert_int_equal(fd_store_turn_add(f->st, "s1", &t, &seq, &err), FD_OK);
    assert_int_equal(seq, 1);
    t.role = "assistant";
    t.text = "hello";
    assert_int_equal(fd_store_turn_add(f->st, "s1", &t, &seq, &err), FD_OK);
    assert_int_equal(seq, 2);
    /* A turn for a session that does not exist violates the foreign key. */
    assert_int_equal(fd_store_turn_add(f->st, "ghost", &t, &seq, &err), FD_ECONFLICT);
    seen sn = {0};
    assert_int_equal(fd_store_turns_each(f->st, "s1", 0, on_turn, &sn, &err), FD_OK);
    assert_int_equal(sn.n, 2);
    assert_string_equal(sn.text[0], "user:hi <b>");
    memset(&sn, 0, sizeof sn);
    assert_int_equal(fd_store_turns_each(f->st, "s1", 1, on_turn, &sn, &err), FD_OK);
    assert_int_equal(sn.n, 1);
    assert_int_equal(sn.last_seq, 2);
    s.n_turns = 2;
    s.state = "waiting";
    s.unresolved = 1;
    s.owner = "key:8"; /* ownership is set on insert and never changes */
    assert_int_equal(fd_store_session_put(f->st, &s, &err), FD_OK);
    fd_session_row got;
    assert_int_equal(fd_store_session_get(f->st, "s1", f->a, &got, &err), FD_OK);
    assert_string_equal(got.owner, "key:7");
    assert_int_equal(got.has_handoff, 0);
    assert_string_equal(got.state, "waiting");
    assert_string_equal(got.slots, "{\"outlet\":\"Tampines\"}");
    assert_int_equal(got.n_turns, 2);
    assert_int_equal(got.unresolved, 1);
    assert_true(got.created_at > 0 && got.updated_at >= got.created_at);
    assert_int_equal(fd_store_session_delete(f->st, "s1", &err), FD_OK);
    assert_int_equal(fd_store_session_get(f->st, "s1", f->a, &got, &err), FD_ENOTFOUND);
    assert_int_equal(fd_store_session_delete(f->st, "s1", &err), FD_ENOTFOUND);
    memset(&sn, 0, sizeof sn);
    assert_int_equal(fd_store_turns_each(f->st, "s1", 0, on_turn, &sn, &err), FD_OK);
    assert_int_equal(sn.n, 0); /* turns went with their session */
    s.id = "";
    assert_int_equal(fd_store_session_put(f->st, &s, &err), FD_EINVAL);
}

/* The events of test_turn_write, in order: "seq:data". */
typedef struct tw_events {
    int n;
    char got[4][64];
} tw_events;

static int on_tw_event(void *ctx, const char *kind, const char *sid, int64_t seq, const char *data)
{
    tw_events *e = ctx;
    assert_string_equal(kind, "turn");
    assert_string_equal(sid, "s2");
    if (e->n < 4)
        snprintf(e->got[e->n], sizeof e->got[0], "%lld:%s", (long long)seq, data);
    e->n++;
    return 0;
}

static int on_total(void *ctx, const fd_cost_sum *sum)
{
    *(fd_cost_sum *)ctx = *sum;
    return 0;
}

/* A message's rows at once (one statement on PostgreSQL), as the separate
 * writes would leave them; a failure keeps none of them. */
static void test_turn_write(void **state)
{
    fixture *f = *state;
    fd_err err = {0};
    fd_session_row s = {.id = "s2", .user = "u", .lang = "fr", .n_turns = 2, .owner = "key:7"};
    fd_turn_row u = {.role = "user", .text = "bonjour 'à' tous", .intent = "greeting"};
    fd_turn_row a = {.role = "assistant", .text = "bonjour", .meta = "{\"answered\":true}"};
    fd_cost_row c = {.request_id = "r1",
                     .session_id = "s2",
                     .key = "7",
                     .route = "smalltalk",
                     .prompt_tokens = 3,
                     .completion_tokens = 4,
                     .cost_usd = 0.25};
    fd_turn_write w = {.session_id = "s2",
                       .session = &s,
                       .user = &u,
                       .assistant = &a,
                       .event_data = "{\"route\":\"smalltalk\"}",
                       .cost = &c};
    int64_t seq = -1;
    assert_int_equal(fd_store_begin(f->st, &err), FD_OK);
    assert_int_equal(fd_store_turn_write(f->st, &w, &seq, &err), FD_OK);
    assert_int_equal(seq, 2);
    /* The session already written, no assistant turn (a message for a
     * person): seq and the event's turn_seq are 0. */
    fd_turn_write w2 = {.session_id = "s2", .user = &u, .event_data = "", .cost = &c};
    if (fd_store_turn_write(f->st, &w2, &seq, &err) != FD_OK)
        fail_msg("turn_write: %s", err.msg);
    assert_int_equal(seq, 0);
    assert_int_equal(fd_store_commit(f->st, &err), FD_OK);

    fd_session_row got;
    assert_int_equal(fd_store_session_get(f->st, "s2", f->a, &got, &err), FD_OK);
    assert_string_equal(got.lang, "fr");
    assert_string_equal(got.slots, "{}");
    assert_string_equal(got.state, "bot");
    assert_string_equal(got.owner, "key:7");
    assert_int_equal(got.n_turns, 2);
    seen sn = {0};
    assert_int_equal(fd_store_turns_each(f->st, "s2", 0, on_turn, &sn, &err), FD_OK);
    assert_int_equal(sn.n, 3);
    assert_string_equal(sn.text[0], "user:bonjour 'à' tous");
    assert_string_equal(sn.text[1], "assistant:bonjour");
    assert_int_equal(sn.last_seq, 3);
    tw_events ev = {0};
    assert_int_equal(fd_store_events_each(f->st, on_tw_event, &ev, &err), FD_OK);
    assert_int_equal(ev.n, 2);
    assert_string_equal(ev.got[0], "2:{\"route\":\"smalltalk\"}");
    assert_string_equal(ev.got[1], "0:{}");
    fd_cost_sum sum = {0};
    assert_int_equal(fd_store_costs_each(f->st, 0, "total", on_total, &sum, &err), FD_OK);
    assert_int_equal(sum.requests, 2);
    assert_int_equal(sum.prompt_tokens, 6);
    assert_true(sum.cost_usd > 0.499 && sum.cost_usd < 0.501);

    /* A session that does not exist: the foreign key fails the turn, and
     * nothing of the message is kept (rolled back as a turn would be). */
    fd_turn_write ghost = w2;
    ghost.session_id = "ghost";
    assert_int_equal(fd_store_begin(f->st, &err), FD_OK);
    assert_int_equal(fd_store_turn_write(f->st, &ghost, &seq, &err), FD_ECONFLICT);
    fd_store_rollback(f->st);
    memset(&ev, 0, sizeof ev);
    assert_int_equal(fd_store_events_each(f->st, on_tw_event, &ev, &err), FD_OK);
    assert_int_equal(ev.n, 2);
    assert_int_equal(fd_store_costs_each(f->st, 0, "total", on_total, &sum, &err), FD_OK);
    assert_int_equal(sum.requests, 2);

    /* With writes deferred (the committer's connection), the session's
     * upsert waits and goes out with the turn's statement, which then
     * travels with its values written in (PostgreSQL). */
    fd_store_defer_writes(f->st, 1);
    fd_session_row s3 = {.id = "s3", .lang = "en"};
    fd_turn_write w3 = {.session_id = "s3", .user = &u, .assistant = &a, .cost = &c};
    assert_int_equal(fd_store_begin(f->st, &err), FD_OK);
    assert_int_equal(fd_store_session_put(f->st, &s3, &err), FD_OK);
    assert_int_equal(fd_store_turn_write(f->st, &w3, &seq, &err), FD_OK);
    assert_int_equal(seq, 2);
    assert_int_equal(fd_store_commit(f->st, &err), FD_OK);
    fd_store_defer_writes(f->st, 0);
    memset(&sn, 0, sizeof sn);
    assert_int_equal(fd_store_turns_each(f->st, "s3", 0, on_turn, &sn, &err), FD_OK);
    assert_int_equal(sn.n, 2);
    assert_string_equal(sn.text[0], "user:bonjour 'à' tous");

    s.id = "";
    w.session_id = "";
    assert_int_equal(fd_store_turn_write(f->st, &w, &seq, &err), FD_EINVAL);
}

static int count_open(void *ctx, const fd_handoff_row *h)
{
    (*(int *)ctx)++;
    assert_string_equal(h->status, "open");
    assert_true(strncmp(h->ticket, "HD-", 3) == 0);
    return 0;
}

/* OpenAI clients' history: a session found by its first message and first
 * reply, for its owner only, the most recent when two opened alike. */
static void open_session(fixture *f, const char *id, const char *owner, const char *q,
                         const char *a, double at)
{
    fd_err err = {0};
    fd_session_row s = {.id = id,
                        .user = "",
                        .lang = "en",
                        .slots = "{}",
                        .owner = owner,
                        .created_at = at,
                        .updated_at = at};
    assert_int_equal(fd_store_session_put(f->st, &s, &err), FD_OK);
    int64_t seq = 0;
    fd_turn_row t = {.role = "user", .text = q};
    assert_int_equal(fd_store_turn_add(f->st, id, &t, &seq, &err), FD_OK);
    t.role = "assistant";
    t.text = a;
    assert_int_equal(fd_store_turn_add(f->st, id, &t, &seq, &err), FD_OK);
}

static void test_session_by_opening(void **state)
{
    fixture *f = *state;
    fd_err err = {0};
    char id[65];
    open_session(f, "old", "key:1", "delivery to sentosa?", "S$25 per delivery.", 100);
    open_session(f, "new", "key:1", "delivery to sentosa?", "S$25 per delivery.", 200);
    open_session(f, "other", "key:2", "delivery to sentosa?", "S$25 per delivery.", 300);
    assert_int_equal(fd_store_session_by_opening(f->st, "key:1", "delivery to sentosa?",
                                                 "S$25 per delivery.", id, &err),
                     FD_OK);
    assert_string_equal(id, "new"); /* the most recent of this owner's, not key:2's */
    assert_int_equal(fd_store_session_by_opening(f->st, "key:3", "delivery to sentosa?",
                                                 "S$25 per delivery.", id, &err),
                     FD_ENOTFOUND);
    assert_int_equal(fd_store_session_by_opening(f->st, "key:1", "delivery to sentosa?",
                                                 "S$26 per delivery.", id, &err),
                     FD_ENOTFOUND);
    /* the second message of a session is not its opening */
    assert_int_equal(fd_store_session_by_opening(f->st, "key:1", "S$25 per delivery.",
                                                 "delivery to sentosa?", id, &err),
                     FD_ENOTFOUND);
}

static void test_handoffs(void **state)
{
    fixture *f = *state;
    fd_err err;
    fd_handoff_row h = {.session_id = "s9", .tier = "agent", .reason = "asked", .summary = "sum"};
    int64_t id;
    char ticket[16];
    fd_session_row s9 = {.id = "s9", .owner = "key:1"};
    assert_int_equal(fd_store_session_put(f->st, &s9, &err), FD_OK);
    assert_int_equal(fd_store_handoff_add(f->st, &h, &id, ticket, sizeof ticket, &err), FD_OK);
    assert_string_equal(ticket, "HD-000001");
    /* Operators read a session once it was handed off. */
    fd_session_row sr;
    assert_int_equal(fd_store_session_get(f->st, "s9", f->a, &sr, &err), FD_OK);
    assert_int_equal(sr.has_handoff, 1);
    int n = 0;
    assert_int_equal(fd_store_handoffs_each(f->st, "open", count_open, &n, &err), FD_OK);
    assert_int_equal(n, 1);
    assert_int_equal(fd_store_handoff_set_status(f->st, id, "open", "claimed", "ana", &err), FD_OK);
    /* A second claim conflicts; a missing handoff is not found. */
    assert_int_equal(fd_store_handoff_set_status(f->st, id, "open", "claimed", "bob", &err),
                     FD_ECONFLICT);
    assert_int_equal(fd_store_handoff_set_status(f->st, 999, NULL, "resolved", NULL, &err),
                     FD_ENOTFOUND);
    fd_handoff_row got;
    assert_int_equal(fd_store_handoff_get(f->st, id, f->a, &got, &err), FD_OK);
    assert_string_equal(got.status, "claimed");
    assert_string_equal(got.operator_, "ana");
    assert_string_equal(got.ticket, "HD-000001");
    n = 0;
    assert_int_equal(fd_store_handoffs_each(f->st, "open", count_open, &n, &err), FD_OK);
    assert_int_equal(n, 0);
}

static int on_event(void *ctx, const char *kind, const char *sid, int64_t seq, const char *data)
{
    int *n = ctx;
    assert_string_equal(kind, "turn");
    assert_string_equal(sid, "s1");
    assert_int_equal(seq, 2);
    assert_string_equal(data, "{\"route\":\"knowledge\"}");
    (*n)++;
    return 0;
}

static void test_events(void **state)
{
    fixture *f = *state;
    fd_err err;
    assert_int_equal(fd_store_event_add(f->st, "s1", 2, "turn", "{\"route\":\"knowledge\"}", &err),
                     FD_OK);
    int n = 0;
    assert_int_equal(fd_store_events_each(f->st, on_event, &n, &err), FD_OK);
    assert_int_equal(n, 1);
}

/* Retention and erasure on either engine: a time cutoff deletes what is
 * older (bound as a number: PostgreSQL would not compare text with a
 * DOUBLE PRECISION column), a user's erasure takes all their sessions. */
static void test_retention_and_erasure(void **state)
{
    fixture *f = *state;
    fd_err err = {0};
    fd_session_row a = {.id = "old", .user = "ann", .lang = "en", .slots = "{}", .owner = ""};
    fd_session_row b = {.id = "new", .user = "bob", .lang = "en", .slots = "{}", .owner = ""};
    assert_int_equal(fd_store_session_put(f->st, &a, &err), FD_OK);
    assert_int_equal(fd_store_session_put(f->st, &b, &err), FD_OK);
    fd_turn_row t = {.role = "user", .text = "hi"};
    int64_t seq;
    assert_int_equal(fd_store_turn_add(f->st, "old", &t, &seq, &err), FD_OK);
    assert_int_equal(fd_store_turn_add(f->st, "new", &t, &seq, &err), FD_OK);
    /* Nothing is older than an hour ago. */
    fd_retention_counts n;
    double now = fd_time_wall();
    assert_int_equal(fd_store_retention(f->st, now - 3600, now - 3600, now - 3600, &n, &err),
                     FD_OK);
    assert_int_equal(n.sessions, 0);
    int64_t erased = 0;
    assert_int_equal(fd_store_user_erase(f->st, "ann", &erased, &err), FD_OK);
    assert_int_equal(erased, 1);
    assert_int_equal(query_i64(f->st, "SELECT count(*) FROM turns"), 1);
    /* Everything is older than an hour from now. */
    assert_int_equal(fd_store_retention(f->st, now + 3600, now + 3600, now + 3600, &n, &err),
                     FD_OK);
    assert_int_equal(n.sessions, 1);
    assert_int_equal(query_i64(f->st, "SELECT count(*) FROM sessions"), 0);
    assert_int_equal(query_i64(f->st, "SELECT count(*) FROM turns"), 0);
}

/* Conversation locks (replicas on one store): a lock is its holder's until
 * dropped; fd_store_convo_unlock_many drops a group commit's batch of them
 * (up to 64) in statements of 20 pairs, each only if its holder still has
 * it. 45 locks: three statements, the last partial; with one statement for
 * all, PostgreSQL's parameter cap refused it and none was dropped. */
static void test_convo_locks(void **state)
{
    fixture *f = *state;
    fd_err err = {0};
    enum { N = 45, WRONG = 7 };
    char sid[N][16], holder[N][16];
    const char *sids[N], *holders[N];
    for (int i = 0; i < N; i++) {
        snprintf(sid[i], sizeof sid[i], "c%d", i);
        snprintf(holder[i], sizeof holder[i], "h%d", i);
        assert_int_equal(fd_store_convo_lock(f->st, sid[i], holder[i], 60, 0, &err), FD_OK);
        sids[i] = sid[i];
        holders[i] = i == WRONG ? "not-the-holder" : holder[i];
    }
    assert_int_equal(fd_store_convo_lock(f->st, "c0", "other", 60, 0, &err), FD_EUNAVAIL);
    assert_int_equal(fd_store_convo_lock(f->st, "c44", "other", 60, 0, &err), FD_EUNAVAIL);
    fd_store_convo_unlock_many(f->st, sids, holders, N);
    for (int i = 0; i < N; i++) {
        char other[16];
        snprintf(other, sizeof other, "x%d", i);
        int rc = fd_store_convo_lock(f->st, sid[i], other, 60, 0, &err);
        if (i == WRONG)
            assert_int_equal(rc, FD_EUNAVAIL); /* not dropped by one who did not hold it */
        else
            assert_int_equal(rc, FD_OK);
    }
    fd_store_convo_unlock_many(f->st, sids, holders, 0); /* nothing: fine */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        STORE_TEST(test_assets),
        STORE_TEST(test_sessions_and_turns),
        STORE_TEST(test_turn_write),
        STORE_TEST(test_session_by_opening),
        STORE_TEST(test_handoffs),
        STORE_TEST(test_events),
        STORE_TEST(test_retention_and_erasure),
        STORE_TEST(test_convo_locks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
