/* test_commit_split.c: a batch that holds a hand-over among plain turns
 * (commit.c run_batch). The plain turns are written in one transaction
 * and the rest in another; a conversation with turns in both keeps them
 * in the order they queued. Four turns queue behind a held write lock:
 * the first alone, then, in one batch, a request for a person in
 * conversation "o" (a handoff: not plain), a plain question in "o" and a
 * plain question in "p". */
#include "commit_test.h"

typedef struct texts {
    const char *v[4];
    int n;
} texts;

static int collect_user(void *ctx, const fd_turn_row *t)
{
    texts *x = ctx;
    if (strcmp(t->role, "user") == 0 && x->n < 4)
        x->v[x->n++] = fd_strdup(t->text);
    return 0;
}

static void test_handover_among_plain_turns(void **state)
{
    fixture *f = *state;
    queued_turn w[QUEUED_TURNS] = {
        {.f = f, .sid = "first"},
        {.f = f, .sid = "o", .msg = "I want to talk to a real person please"},
        {.f = f, .sid = "o", .msg = "do you deliver on saturdays?"},
        {.f = f, .sid = "p"},
    };
    queue_turns_behind_lock(f, w);
    for (int i = 0; i < QUEUED_TURNS; i++)
        assert_true(w[i].ok);
    /* The test means something only if the second is not a plain turn. */
    assert_string_equal(w[1].route, "escalation");
    assert_string_equal(w[2].route, "knowledge");
    texts o = {0}, p = {0};
    fd_store *st = fd_kb_store(f->kb);
    assert_int_equal(fd_store_turns_each(st, "o", 0, collect_user, &o, NULL), FD_OK);
    assert_int_equal(fd_store_turns_each(st, "p", 0, collect_user, &p, NULL), FD_OK);
    assert_int_equal(o.n, 2);
    assert_string_equal(o.v[0], "I want to talk to a real person please");
    assert_string_equal(o.v[1], "do you deliver on saturdays?");
    assert_int_equal(p.n, 1);
    for (int i = 0; i < o.n; i++)
        fd_free((void *)o.v[i]);
    fd_free((void *)p.v[0]);
    fd_committer_stats cs;
    fd_committer_stats_get(f->c, &cs);
    assert_int_equal(cs.turns, QUEUED_TURNS);
    assert_int_equal(cs.turns_failed, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_handover_among_plain_turns, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
