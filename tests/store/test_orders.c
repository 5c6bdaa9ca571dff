/* test_orders.c: an order with its lines, history and outbox row in one
 * transaction; the same confirmation twice makes one order; a rolled-back
 * turn leaves nothing; status moves with history and a guard. */
#include "store_test.h"
#include "store_int.h"

#include <stdlib.h>

typedef store_fixture fixture;

static const fd_order_line_row lines[] = {
    {"PB-1201", "Pizza box 12-inch kraft", 100, 2, 50, 2150, 4300},
    {"LID-90", "Lid 90 mm", 50, 1, 100, 1200, 1200},
};

static fd_order_row order(const char *idem)
{
    return (fd_order_row){.idem_key = idem,
                          .session_id = "s1",
                          .owner = "key:1",
                          .customer_id = "C1001",
                          .customer = "Canadian Pizza",
                          .outlet = "Pasir Ris",
                          .delivery_date = "2026-12-08",
                          .delivery_window = "morning",
                          .currency = "SGD",
                          .subtotal = 5500,
                          .tax = 495,
                          .total = 5995,
                          .lines = lines,
                          .n_lines = 2};
}

static int64_t count(fixture *f, const char *table)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
    int64_t n = query_i64(f->st, sql);
    return n;
}

static void test_add_get(void **state)
{
    fixture *f = *state;
    fd_err err;
    fd_order_row o = order("s1:k1");
    int64_t id;
    char ref[32];
    assert_int_equal(fd_store_begin(f->st, &err), FD_OK);
    assert_int_equal(fd_store_order_add(f->st, &o, "HP", "{\"x\":1}", &id, ref, sizeof ref, &err),
                     FD_OK);
    assert_int_equal(fd_store_commit(f->st, &err), FD_OK);
    assert_string_equal(ref, "HP-100001");
    fd_order_row g;
    assert_int_equal(fd_store_order_get(f->st, "hp-100001", f->a, &g, &err), FD_OK);
    assert_string_equal(g.status, "confirmed");
    assert_string_equal(g.customer, "Canadian Pizza");
    assert_int_equal(g.total, 5995);
    assert_int_equal(g.n_lines, 2);
    assert_string_equal(g.lines[1].code, "LID-90");
    assert_int_equal(g.lines[0].packs, 2);
    assert_int_equal(count(f, "outbox"), 1);
    assert_int_equal(count(f, "order_history"), 1);

    /* the same confirmation again: a conflict, and the first order found */
    assert_int_equal(fd_store_begin(f->st, &err), FD_OK);
    assert_int_equal(fd_store_order_add(f->st, &o, "HP", "{}", &id, ref, sizeof ref, &err),
                     FD_ECONFLICT);
    fd_store_rollback(f->st);
    assert_int_equal(fd_store_order_by_idem(f->st, "s1:k1", f->a, &g, &err), FD_OK);
    assert_string_equal(g.ref, "HP-100001");
    assert_int_equal(count(f, "orders"), 1);
    assert_int_equal(count(f, "outbox"), 1);
    assert_int_equal(fd_store_order_get(f->st, "HP-999999", f->a, &g, &err), FD_ENOTFOUND);
}

static void test_rollback_leaves_nothing(void **state)
{
    fixture *f = *state;
    fd_err err;
    fd_order_row o = order("s1:k2");
    int64_t id;
    char ref[32];
    assert_int_equal(fd_store_begin(f->st, &err), FD_OK);
    assert_int_equal(fd_store_order_add(f->st, &o, "HP", "{}", &id, ref, sizeof ref, &err), FD_OK);
    fd_store_rollback(f->st);
    assert_int_equal(count(f, "orders"), 0);
    assert_int_equal(count(f, "order_lines"), 0);
    assert_int_equal(count(f, "outbox"), 0);
    o.n_lines = 0;
    assert_int_equal(fd_store_order_add(f->st, &o, "HP", NULL, &id, ref, sizeof ref, &err),
                     FD_EINVAL);
}

static int collect(void *ctx, const fd_order_row *o)
{
    int *n = ctx;
    (*n)++;
    assert_non_null(o->ref);
    return 0;
}

static void test_status_and_list(void **state)
{
    fixture *f = *state;
    fd_err err;
    int64_t id;
    char ref[32];
    const char *keys[] = {"a", "b", "c"};
    for (int i = 0; i < 3; i++) {
        fd_order_row o = order(keys[i]);
        if (i == 2)
            o.owner = "key:2";
        assert_int_equal(fd_store_begin(f->st, &err), FD_OK);
        assert_int_equal(fd_store_order_add(f->st, &o, "HP", NULL, &id, ref, sizeof ref, &err),
                         FD_OK);
        assert_int_equal(fd_store_commit(f->st, &err), FD_OK);
    }
    assert_int_equal(
        fd_store_order_set_status(f->st, ref, "confirmed", "cancelled", "by customer", &err),
        FD_OK);
    assert_int_equal(fd_store_order_set_status(f->st, ref, "confirmed", "cancelled", "again", &err),
                     FD_ECONFLICT);
    assert_int_equal(fd_store_order_set_status(f->st, "HP-1", NULL, "x", NULL, &err), FD_ENOTFOUND);
    int n = 0;
    assert_int_equal(fd_store_orders_each(f->st, NULL, NULL, 0, collect, &n, &err), FD_OK);
    assert_int_equal(n, 3);
    n = 0;
    assert_int_equal(fd_store_orders_each(f->st, "key:1", NULL, 0, collect, &n, &err), FD_OK);
    assert_int_equal(n, 2);
    n = 0;
    assert_int_equal(fd_store_orders_each(f->st, NULL, "cancelled", 0, collect, &n, &err), FD_OK);
    assert_int_equal(n, 1);
    assert_int_equal(count(f, "order_history"), 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        STORE_TEST(test_add_get),
        STORE_TEST(test_rollback_leaves_nothing),
        STORE_TEST(test_status_and_list),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
