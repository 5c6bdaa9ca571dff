/* test_desk.c: what the operator console keeps and reads: internal notes,
 * the live queue's counts and window, search over handed-off conversations,
 * customers' ratings with their handoffs. */
#include "store_test.h"

#include <stdlib.h>

typedef store_fixture fixture;

static void turn(fixture *f, const char *sid, const char *role, const char *text, double at)
{
    fd_err err = {0};
    fd_turn_row t = {.role = role, .text = text, .created_at = at};
    int64_t seq;
    if (fd_store_turn_add(f->st, sid, &t, &seq, &err) != FD_OK)
        fail_msg("turn_add: %s", err.msg);
}

/* A session whose customer said first, then asked for a person: the
 * handoff opens (now) before the message that asked is stored. */
static int64_t handed_off(fixture *f, const char *sid, const char *first, const char *slots)
{
    fd_err err = {0};
    fd_session_row s = {.id = sid, .owner = "key:1", .slots = slots};
    assert_int_equal(fd_store_session_put(f->st, &s, &err), FD_OK);
    turn(f, sid, "user", first, 100);
    turn(f, sid, "assistant", "an answer", 100);
    fd_handoff_row h = {.session_id = sid, .tier = "agent", .reason = "asked", .summary = "sum"};
    int64_t id = 0;
    char ticket[16];
    assert_int_equal(fd_store_handoff_add(f->st, &h, &id, ticket, sizeof ticket, &err), FD_OK);
    turn(f, sid, "user", "a person please", 0);
    return id;
}

typedef struct notes {
    int n;
    char text[4][64];
    int64_t handoff[4];
} notes;

static int on_note(void *ctx, const fd_note_row *n)
{
    notes *ns = ctx;
    if (ns->n < 4) {
        snprintf(ns->text[ns->n], sizeof ns->text[0], "%s:%s", n->author, n->text);
        ns->handoff[ns->n] = n->handoff_id;
    }
    ns->n++;
    return 0;
}

static void test_notes(void **state)
{
    fixture *f = *state;
    fd_err err = {0};
    int64_t h = handed_off(f, "s1", "hello", "{}");
    fd_note_row n = {.session_id = "s1", .handoff_id = h, .author = "ana", .text = "VIP customer"};
    int64_t id = 0;
    assert_int_equal(fd_store_note_add(f->st, &n, &id, &err), FD_OK);
    assert_true(id > 0);
    n.author = "bob";
    n.text = "called them back";
    assert_int_equal(fd_store_note_add(f->st, &n, NULL, &err), FD_OK);
    notes got = {0};
    assert_int_equal(fd_store_notes_each(f->st, "s1", on_note, &got, &err), FD_OK);
    assert_int_equal(got.n, 2);
    assert_string_equal(got.text[0], "ana:VIP customer"); /* oldest first */
    assert_string_equal(got.text[1], "bob:called them back");
    assert_int_equal(got.handoff[0], h);
    /* No note without a text, nor on a conversation that does not exist. */
    n.text = "";
    assert_int_equal(fd_store_note_add(f->st, &n, NULL, &err), FD_EINVAL);
    n.text = "x";
    n.session_id = "gone";
    assert_int_equal(fd_store_note_add(f->st, &n, NULL, &err), FD_ECONFLICT);
    /* Notes are never part of the conversation's turns... */
    assert_int_equal(query_i64(f->st, "SELECT count(*) FROM turns WHERE text LIKE '%VIP%'"), 0);
    /* ...and go with it when it is deleted (or erased), and so do its
     * handoff and its events (a rating's comment quotes the customer). */
    assert_int_equal(fd_store_event_add(f->st, "s1", 0, "rating", "{\"score\":1}", &err), FD_OK);
    assert_true(query_i64(f->st, "SELECT count(*) FROM analytics_events WHERE session_id = 's1'") >
                0);
    assert_int_equal(fd_store_session_delete(f->st, "s1", &err), FD_OK);
    assert_int_equal(
        query_i64(f->st, "SELECT count(*) FROM analytics_events WHERE session_id = 's1'"), 0);
    assert_int_equal(query_i64(f->st, "SELECT count(*) FROM handoffs WHERE session_id = 's1'"), 0);
    got.n = 0;
    assert_int_equal(fd_store_notes_each(f->st, "s1", on_note, &got, &err), FD_OK);
    assert_int_equal(got.n, 0);
    assert_int_equal(query_i64(f->st, "SELECT count(*) FROM handoff_notes"), 0);
}

typedef struct queue {
    int n;
    fd_queue_row rows[4];
} queue;

static int on_queue(void *ctx, const fd_queue_row *q)
{
    queue *qs = ctx;
    if (qs->n < 4)
        qs->rows[qs->n] = *q; /* strings not kept: only numbers are read */
    qs->n++;
    return 0;
}

static void test_queue(void **state)
{
    fixture *f = *state;
    fd_err err = {0};
    double t0 = fd_time_wall();
    int64_t h1 = handed_off(f, "q1", "hello", "{}");
    int64_t h2 = handed_off(f, "q2", "hi", "{}");
    queue q = {0};
    assert_int_equal(fd_store_queue_each(f->st, 0, 0, on_queue, &q, &err), FD_OK);
    assert_int_equal(q.n, 2);
    assert_int_equal(q.rows[0].h.id, h2); /* newest first */
    /* Only the message that asked counts: the one before the handoff was
     * the bot's to answer. */
    assert_int_equal(q.rows[1].n_customer, 1);
    assert_int_equal(q.rows[1].n_unanswered, 1);
    assert_true(q.rows[1].waiting_since >= t0);
    assert_true(q.rows[1].last_customer_at >= t0);
    /* q1: two more messages, an operator reply, one more message. */
    turn(f, "q1", "user", "anyone?", 0);
    double before_reply = fd_time_wall();
    turn(f, "q1", "operator", "here", 0);
    turn(f, "q1", "user", "thanks", 0);
    fd_note_row n = {.session_id = "q1", .handoff_id = h1, .author = "ana", .text = "note"};
    assert_int_equal(fd_store_note_add(f->st, &n, NULL, &err), FD_OK);
    q.n = 0;
    assert_int_equal(fd_store_queue_each(f->st, 0, 0, on_queue, &q, &err), FD_OK);
    assert_int_equal(q.rows[1].h.id, h1);
    assert_int_equal(q.rows[1].n_customer, 3);
    assert_int_equal(q.rows[1].n_unanswered, 1); /* only what came after the reply */
    assert_true(q.rows[1].waiting_since >= before_reply);
    assert_int_equal(q.rows[1].n_notes, 1);
    assert_true(q.rows[1].changed_at >= q.rows[1].last_customer_at);
    /* Resolved: out of the queue, but for a window given by the caller. */
    assert_int_equal(fd_store_handoff_set_status(f->st, h2, NULL, "resolved", NULL, &err), FD_OK);
    q.n = 0;
    assert_int_equal(fd_store_queue_each(f->st, fd_time_wall() + 60, 0, on_queue, &q, &err), FD_OK);
    assert_int_equal(q.n, 1);
    assert_int_equal(q.rows[0].h.id, h1);
    q.n = 0;
    assert_int_equal(fd_store_queue_each(f->st, t0 - 1, 0, on_queue, &q, &err), FD_OK);
    assert_int_equal(q.n, 2);
    /* The limit keeps the newest. */
    q.n = 0;
    assert_int_equal(fd_store_queue_each(f->st, t0 - 1, 1, on_queue, &q, &err), FD_OK);
    assert_int_equal(q.n, 1);
    assert_int_equal(q.rows[0].h.id, h2);
}

typedef struct found {
    int n;
    int64_t ids[8];
    char snippet[8][64];
} found;

static int on_found(void *ctx, const fd_handoff_row *h, const char *snippet)
{
    found *fs = ctx;
    if (fs->n < 8) {
        fs->ids[fs->n] = h->id;
        snprintf(fs->snippet[fs->n], sizeof fs->snippet[0], "%s", snippet);
    }
    fs->n++;
    return 0;
}

static found search(fixture *f, const char *q, int64_t limit)
{
    found fs = {0};
    fd_err err = {0};
    if (fd_store_handoffs_search(f->st, q, limit, on_found, &fs, &err) != FD_OK)
        fail_msg("search %s: %s", q, err.msg);
    return fs;
}

static void test_search(void **state)
{
    fixture *f = *state;
    fd_err err = {0};
    int64_t a = handed_off(f, "c1", "My boxes arrived CRUSHED, order HP-100007", "{}");
    int64_t b = handed_off(f, "c2", "call me on +65 9123-4567 about 100% kraft",
                           "{\"email\":\"jo@example.com\"}");
    /* a conversation never handed off is not the operators' to read */
    fd_session_row s = {.id = "c3", .owner = "key:1"};
    assert_int_equal(fd_store_session_put(f->st, &s, &err), FD_OK);
    turn(f, "c3", "user", "crushed boxes again", 0);
    /* nor is what the bot said */
    turn(f, "c1", "assistant", "sorry about the kraft", 0);

    found r = search(f, "crushed", 0);
    assert_int_equal(r.n, 1); /* any case; not c3's */
    assert_int_equal(r.ids[0], a);
    assert_string_equal(r.snippet[0], "My boxes arrived CRUSHED, order HP-100007");
    r = search(f, "kraft", 0);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.ids[0], b);
    r = search(f, "91234567", 0); /* a phone, however it was written */
    assert_int_equal(r.n, 1);
    assert_int_equal(r.ids[0], b);
    r = search(f, "9123 4567", 0);
    assert_int_equal(r.n, 1);
    r = search(f, "JO@example.com", 0); /* kept in the session's slots */
    assert_int_equal(r.n, 1);
    assert_int_equal(r.ids[0], b);
    assert_string_equal(r.snippet[0], "");
    char ticket[16];
    snprintf(ticket, sizeof ticket, "hd-%06lld", (long long)a);
    r = search(f, ticket, 0);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.ids[0], a);
    /* LIKE's wildcards in the query match themselves only. */
    r = search(f, "100%", 0);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.ids[0], b);
    r = search(f, "_", 0);
    assert_int_equal(r.n, 0);
    r = search(f, "a person", 0);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.ids[0], b); /* newest first */
    r = search(f, "a person", 1);
    assert_int_equal(r.n, 1);
    r = search(f, "nothing like it", 0);
    assert_int_equal(r.n, 0);
    found none = {0};
    assert_int_equal(fd_store_handoffs_search(f->st, "", 5, on_found, &none, &err), FD_EINVAL);
}

typedef struct ratings {
    int n;
    char row[4][160];
} ratings;

static int on_rating(void *ctx, const fd_rating_row *r)
{
    ratings *rs = ctx;
    if (rs->n < 4)
        snprintf(rs->row[rs->n], sizeof rs->row[0], "%s|%s|%lld|%s|%s", r->session_id, r->data,
                 (long long)r->handoff_id, r->operator_, r->agent_display_name);
    rs->n++;
    return 0;
}

/* Ratings newest first, each with the conversation's latest handoff
 * opened before it and, for an agent, the display name; other events and
 * conversations no person had are told apart. */
static void test_ratings(void **state)
{
    fixture *f = *state;
    fd_err err = {0};
    int64_t h1 = handed_off(f, "s-a", "my boxes are wet", "{}");
    fd_agent_row alice;
    memset(&alice, 0, sizeof alice);
    snprintf(alice.name, sizeof alice.name, "alice");
    snprintf(alice.display_name, sizeof alice.display_name, "Alice M.");
    snprintf(alice.pw_hash, sizeof alice.pw_hash, "$argon2id$x");
    assert_int_equal(fd_store_agent_add(f->st, &alice, NULL, &err), FD_OK);
    assert_int_equal(fd_store_handoff_set_status(f->st, h1, "open", "claimed", "alice", &err),
                     FD_OK);
    assert_int_equal(fd_store_event_add(f->st, "s-a", 0, "turn", "{\"intent\":\"x\"}", &err),
                     FD_OK);
    assert_int_equal(fd_store_event_add(f->st, "s-a", 0, "rating", "{\"score\":4}", &err), FD_OK);
    fd_session_row s = {.id = "s-b", .owner = "key:1"};
    assert_int_equal(fd_store_session_put(f->st, &s, &err), FD_OK);
    assert_int_equal(
        fd_store_event_add(f->st, "s-b", 0, "rating", "{\"score\":2,\"comment\":\"slow\"}", &err),
        FD_OK);
    ratings rs = {0};
    assert_int_equal(fd_store_ratings_each(f->st, on_rating, &rs, &err), FD_OK);
    assert_int_equal(rs.n, 2);
    assert_string_equal(rs.row[0], "s-b|{\"score\":2,\"comment\":\"slow\"}|0||");
    char want[160];
    snprintf(want, sizeof want, "s-a|{\"score\":4}|%lld|alice|Alice M.", (long long)h1);
    assert_string_equal(rs.row[1], want);
    /* A key's name is no agent: no display name. */
    assert_int_equal(fd_store_handoff_set_status(f->st, h1, NULL, "claimed", "ops-key", &err),
                     FD_OK);
    memset(&rs, 0, sizeof rs);
    assert_int_equal(fd_store_ratings_each(f->st, on_rating, &rs, &err), FD_OK);
    snprintf(want, sizeof want, "s-a|{\"score\":4}|%lld|ops-key|", (long long)h1);
    assert_string_equal(rs.row[1], want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        STORE_TEST(test_notes),
        STORE_TEST(test_queue),
        STORE_TEST(test_search),
        STORE_TEST(test_ratings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
