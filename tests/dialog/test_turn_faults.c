/* test_turn_faults.c: a chat turn with the n-th allocation failing, for
 * every n until a turn needs no more (issue 17: SQLite's fault simulator
 * for our request path). Each attempt ends in FD_OK or an out-of-memory
 * code with a message, never a crash (ASan/UBSan watch), never a leak
 * (LeakSanitizer at exit), and never half a turn stored: the session holds
 * both turns of every exchange or neither. */
#include "kb_fixture.h"

#include "dialog.h"
#include "kb.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct fixture {
    char *dir;
    fd_config cfg;
    fd_kb *kb;
    fd_assistant *as;
} fixture;

static int setup(void **state)
{
    fixture *f = fd_calloc(1, sizeof *f);
    f->dir = fd_test_tmpdir();
    static const fd_test_file docs[] = {
        {"delivery.md",
         "# Delivery\n\n## Fees\n\nDelivery to Sentosa costs S$18. Orders of S$250 and above "
         "ship free.\n\n## Days\n\nWe deliver Monday to Saturday, 8 am to 6 pm. We are closed on "
         "public holidays.\n"},
        {"products.csv", "code,name,price\nPB-1201,12-inch pizza box,0.45\n"}};
    fd_config_defaults(&f->cfg);
    f->cfg.answer_wordlists[0] = '\0'; /* no word lists: the test stays self-contained */
    f->kb = fd_test_kb(f->dir, &f->cfg, docs, 2);
    fd_err err = {0};
    assert_int_equal(fd_assistant_open(&f->cfg, NULL, f->kb, &f->as, &err), FD_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    fd_assistant_close(f->as);
    fd_kb_close(f->kb);
    fd_test_rmrf(f->dir);
    fd_free(f->dir);
    fd_free(f);
    return 0;
}

static int count_turn(void *ctx, const fd_turn_row *t)
{
    (void)t;
    (*(int *)ctx)++;
    return 0;
}

static int stored_turns(fixture *f, const char *sid)
{
    int n = 0;
    assert_int_equal(fd_store_turns_each(fd_kb_store(f->kb), sid, 0, count_turn, &n, NULL), FD_OK);
    return n;
}

/* One message, every allocation failure point in turn. */
static void every_failure_point(fixture *f, const char *sid, const char *msg)
{
    long k = 0;
    int rc;
    int before = stored_turns(f, sid);
    do {
        fd_arena *a = fd_arena_new(0);
        fd_turn_in in = {.message = msg, .len = strlen(msg), .session_id = sid, .no_cache = 1};
        fd_reply r;
        fd_err err = {0};
        fd_alloc_fail_at(++k);
        rc = a ? fd_assistant_turn(f->as, f->kb, &in, NULL, a, &r, &err) : FD_ENOMEM;
        fd_alloc_fail_at(0);
        if (rc != FD_OK) {
            if (rc != FD_ENOMEM && rc != FD_ETOOBIG)
                fail_msg("failure point %ld: %s (%d), not an out-of-memory error", k, err.msg, rc);
            if (a && !err.msg[0])
                fail_msg("failure point %ld: an error without a message", k);
        }
        int now = stored_turns(f, sid);
        if ((now - before) % 2 != 0)
            fail_msg("failure point %ld: half an exchange stored (%d turns)", k, now - before);
        before = now;
        fd_arena_free(a);
    } while (fd_alloc_failures() > 0 && k < 20000);
    assert_int_equal(rc, FD_OK);
    print_message("  '%s': %ld failure points, each answered or refused cleanly\n", msg, k - 1);
}

static void test_turn_alloc_failures(void **state)
{
    fixture *f = *state;
    every_failure_point(f, "fault-s1", "How much is delivery to Sentosa?");
    every_failure_point(f, "fault-s1", "and on public holidays?"); /* a follow-up, slots */
    every_failure_point(f, "fault-s2", "hello");                   /* a template */
    every_failure_point(f, "fault-s3", "I want to talk to a real person now"); /* escalation */
}

/* ---- an order taken over four turns, each with every failure point ----- */

static int setup_orders(void **state)
{
    fixture *f = fd_calloc(1, sizeof *f);
    f->dir = fd_test_tmpdir();
    fd_config_defaults(&f->cfg);
    snprintf(f->cfg.dialog_now, sizeof f->cfg.dialog_now, "2026-12-09T10:00"); /* a Wednesday */
    f->cfg.answer_wordlists[0] = '\0';
    f->kb = fd_test_kb(f->dir, &f->cfg, NULL, 0); /* the example KB */
    fd_err err = {0};
    assert_int_equal(fd_assistant_open(&f->cfg, NULL, f->kb, &f->as, &err), FD_OK);
    *state = f;
    return 0;
}

static int count_order(void *ctx, const fd_order_row *o)
{
    (void)o;
    (*(int *)ctx)++;
    return 0;
}

static int orders_of(fixture *f)
{
    int n = 0;
    assert_int_equal(
        fd_store_orders_each(fd_kb_store(f->kb), NULL, NULL, 100, count_order, &n, NULL), FD_OK);
    return n;
}

/* The seed conversation of issue 15: after every message has met each of
 * its failure points and then gone through, exactly one order exists: a
 * failed "yes" never placed half an order, and its retry placed it once. */
static void test_order_alloc_failures(void **state)
{
    fixture *f = *state;
    static const char *const turns[] = {"I want to order 100 12-inch kraft pizza boxes",
                                        "Canadian Pizza Pasir Ris", "Friday morning", "yes"};
    for (size_t i = 0; i < sizeof turns / sizeof *turns; i++) {
        every_failure_point(f, "fault-order", turns[i]);
        if (i + 1 < sizeof turns / sizeof *turns)
            assert_int_equal(orders_of(f), 0);
    }
    assert_int_equal(orders_of(f), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_turn_alloc_failures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_order_alloc_failures, setup_orders, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
