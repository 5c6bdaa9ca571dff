/* test_costs.c: the cost ledger: rows in, sums by day, key, model,
 * session and in total, the since filter, an unknown group refused, and
 * migration 4 onto a version-3 database. */
#include "store_test.h"
#include "store_int.h"

#include <stdlib.h>

typedef store_fixture fixture;

typedef struct sums {
    fd_cost_sum v[8];
    char groups[8][64];
    int n;
} sums;

static int collect(void *ctx, const fd_cost_sum *s)
{
    sums *out = ctx;
    if (out->n == 8)
        return 1;
    out->v[out->n] = *s;
    snprintf(out->groups[out->n], sizeof out->groups[0], "%s", s->group);
    out->v[out->n].group = out->groups[out->n];
    out->n++;
    return 0;
}

static void add(fd_store *st, double at, const char *key, const char *model, const char *cached,
                int called, int64_t in, int64_t out, double usd)
{
    fd_err err = {0};
    fd_cost_row r = {.at = at,
                     .request_id = "r",
                     .session_id = key,
                     .key = key,
                     .model = model,
                     .route = "knowledge",
                     .cached = cached,
                     .llm_called = called,
                     .prompt_tokens = in,
                     .completion_tokens = out,
                     .cost_usd = usd};
    assert_int_equal(fd_store_cost_add(st, &r, &err), FD_OK);
}

static void test_sums(void **state)
{
    fixture *f = *state;
    fd_err err = {0};
    double day1 = 1767225600; /* 2026-01-01T00:00:00Z */
    double day2 = day1 + 86400 + 3600;
    add(f->st, day1 + 10, "keyA", "gpt-4o-mini", NULL, 1, 1000, 200, 0.00027);
    add(f->st, day1 + 20, "keyA", "", "exact", 0, 0, 0, 0);
    add(f->st, day2, "keyB", "gpt-4o-mini", NULL, 1, 2000, 400, 0.00054);
    add(f->st, day2 + 5, "keyB", "", "semantic", 0, 0, 0, 0);

    sums s = {0};
    assert_int_equal(fd_store_costs_each(f->st, 0, "total", collect, &s, &err), FD_OK);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.v[0].requests, 4);
    assert_int_equal(s.v[0].llm_calls, 2);
    assert_int_equal(s.v[0].cached, 2);
    assert_int_equal(s.v[0].prompt_tokens, 3000);
    assert_int_equal(s.v[0].completion_tokens, 600);
    assert_true(s.v[0].cost_usd > 0.00080 && s.v[0].cost_usd < 0.00082);

    memset(&s, 0, sizeof s);
    assert_int_equal(fd_store_costs_each(f->st, 0, "day", collect, &s, &err), FD_OK);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.v[0].group, "2026-01-01"); /* days in order, UTC */
    assert_string_equal(s.v[1].group, "2026-01-02");
    assert_int_equal(s.v[1].requests, 2);

    memset(&s, 0, sizeof s);
    assert_int_equal(fd_store_costs_each(f->st, 0, "key", collect, &s, &err), FD_OK);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.v[0].group, "keyB"); /* the costliest first */

    memset(&s, 0, sizeof s);
    assert_int_equal(fd_store_costs_each(f->st, day2 - 1, "model", collect, &s, &err), FD_OK);
    assert_int_equal(s.n, 2); /* "gpt-4o-mini" and "" (no LLM) since day 2 */
    assert_string_equal(s.v[0].group, "gpt-4o-mini");
    assert_int_equal(s.v[0].requests, 1);

    memset(&s, 0, sizeof s);
    assert_int_equal(fd_store_costs_each(f->st, day2 + 86400, "total", collect, &s, &err), FD_OK);
    assert_true(s.n == 0 || s.v[0].requests == 0); /* nothing that late */

    assert_int_equal(fd_store_costs_each(f->st, 0, "day; DROP TABLE costs", collect, &s, &err),
                     FD_EINVAL);
    assert_string_equal(err.field, "group");
    memset(&s, 0, sizeof s);
    assert_int_equal(fd_store_costs_each(f->st, 0, "total", collect, &s, &err), FD_OK);
    assert_int_equal(s.v[0].requests, 4); /* still there */
}

/* A database at schema version 3 gains the ledger on open, data intact. */
static void test_migrates_from_v3(void **state)
{
    fixture *f = *state;
    fd_err err = {0};
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
        "DROP TABLE costs",
        3);
    assert_int_equal(fd_store_open(f->path, &f->st, &err), FD_OK);
    assert_int_equal(fd_store_schema_version(f->st), fd_store_schema_latest());
    counts(f->st, 1, 2);
    add(f->st, 0, "k", "", NULL, 0, 0, 0, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        STORE_TEST(test_sums),
        STORE_TEST(test_migrates_from_v3),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
