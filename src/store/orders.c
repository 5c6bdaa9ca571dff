/* orders.c: orders taken in chat, their lines and history, and the outbox
 * row of their invoice. Writes run inside the caller's transaction (the
 * turn that confirmed the order), so a reply never announces an order the
 * store has not kept, and a kept order always has its invoice queued. */
#include "store_int.h"

#include <stdio.h>
#include <string.h>

static int history_add(fd_store *st, int64_t id, const char *status, const char *note, double at,
                       fd_err *err)
{
    store_stmt *s;
    int rc =
        store_prep(st, "INSERT INTO order_history(order_id, at, status, note) VALUES (?1,?2,?3,?4)",
                   &s, err, "adding order history");
    if (rc)
        return rc;
    stmt_bind_i64(s, 1, id);
    stmt_bind_dbl(s, 2, at);
    store_bind_str(s, 3, status);
    store_bind_str(s, 4, note ? note : "");
    return store_run(st, s, err, "adding order history");
}

int fd_store_order_add(fd_store *st, const fd_order_row *o, const char *prefix, const char *invoice,
                       int64_t *id, char *ref, size_t ref_size, fd_err *err)
{
    if (!o->idem_key || !o->idem_key[0] || !o->n_lines)
        return fd_err_set(err, FD_EINVAL, "an order needs an idempotency key and a line");
    double now = fd_time_wall();
    store_stmt *s;
    int rc =
        store_prep(st,
                   "INSERT INTO orders(ref, idem_key, session_id, owner, customer_id, customer, "
                   "outlet, address, delivery_date, delivery_window, currency, subtotal, tax, "
                   "total, status, created_at, updated_at, goods, discount, delivery_fee, "
                   "surcharge) "
                   "VALUES (?2,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?16,?17,?18,"
                   "?19,?20)",
                   &s, err, "adding an order");
    if (rc)
        return rc;
    store_bind_str(s, 2, o->idem_key);
    store_bind_str(s, 3, o->session_id);
    store_bind_str(s, 4, o->owner);
    store_bind_str(s, 5, o->customer_id);
    store_bind_str(s, 6, o->customer);
    store_bind_str(s, 7, o->outlet);
    store_bind_str(s, 8, o->address);
    store_bind_str(s, 9, o->delivery_date);
    store_bind_str(s, 10, o->delivery_window);
    store_bind_str(s, 11, o->currency);
    stmt_bind_i64(s, 12, o->subtotal);
    stmt_bind_i64(s, 13, o->tax);
    stmt_bind_i64(s, 14, o->total);
    store_bind_str(s, 15, o->status && o->status[0] ? o->status : "confirmed");
    stmt_bind_dbl(s, 16, now);
    /* an order made without the breakdown (an API client of this
     * function): its goods are its subtotal */
    stmt_bind_i64(
        s, 17, o->goods || o->discount || o->delivery_fee || o->surcharge ? o->goods : o->subtotal);
    stmt_bind_i64(s, 18, o->discount);
    stmt_bind_i64(s, 19, o->delivery_fee);
    stmt_bind_i64(s, 20, o->surcharge);
    rc = store_run(st, s, err, "adding an order");
    if (rc)
        return rc;
    *id = store_last_id(st);
    if (*id <= 0) /* PostgreSQL: a deferred write failed before lastval() */
        return store_fail(st, SQLITE_ERROR, err, "adding an order");
    snprintf(ref, ref_size, "%s-%06lld", prefix && prefix[0] ? prefix : "ORD",
             (long long)(100000 + *id));
    rc = store_prep(st, "UPDATE orders SET ref = ?1 WHERE id = ?2", &s, err, "naming an order");
    if (rc)
        return rc;
    store_bind_str(s, 1, ref);
    stmt_bind_i64(s, 2, *id);
    rc = store_run(st, s, err, "naming an order");
    for (size_t i = 0; !rc && i < o->n_lines; i++) {
        const fd_order_line_row *l = &o->lines[i];
        rc =
            store_prep(st,
                       "INSERT INTO order_lines(order_id, line, code, name, qty, packs, pack_size, "
                       "pack_price, total) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)",
                       &s, err, "adding an order line");
        if (rc)
            break;
        stmt_bind_i64(s, 1, *id);
        stmt_bind_i64(s, 2, (int64_t)i + 1);
        store_bind_str(s, 3, l->code);
        store_bind_str(s, 4, l->name);
        stmt_bind_i64(s, 5, l->qty);
        stmt_bind_i64(s, 6, l->packs);
        stmt_bind_i64(s, 7, l->pack_size);
        stmt_bind_i64(s, 8, l->pack_price);
        stmt_bind_i64(s, 9, l->total);
        rc = store_run(st, s, err, "adding an order line");
    }
    if (!rc)
        rc = history_add(st, *id, o->status && o->status[0] ? o->status : "confirmed",
                         "taken in chat", now, err);
    if (!rc && invoice) {
        rc = store_prep(
            st,
            "INSERT INTO outbox(kind, order_id, idem_key, payload, created_at, updated_at) "
            "VALUES ('invoice', ?1, ?2, ?3, ?4, ?4)",
            &s, err, "queueing the invoice");
        if (!rc) {
            char key[96];
            snprintf(key, sizeof key, "invoice-%s", ref);
            stmt_bind_i64(s, 1, *id);
            stmt_bind_text(s, 2, key);
            store_bind_str(s, 3, invoice);
            stmt_bind_dbl(s, 4, now);
            rc = store_run(st, s, err, "queueing the invoice");
        }
    }
    return rc;
}

#define ORDER_COLS                                                                                 \
    "id, ref, idem_key, session_id, owner, customer_id, customer, outlet, address, "               \
    "delivery_date, delivery_window, currency, subtotal, tax, total, status, created_at, "         \
    "updated_at, goods, discount, delivery_fee, surcharge"

/* Row to o, strings copied into a (NULL: borrowed until the next step). */
static int order_from_row(store_stmt *s, fd_arena *a, fd_order_row *o, fd_err *err)
{
    memset(o, 0, sizeof *o);
    o->id = stmt_col_i64(s, 0);
    const char **const strs[] = {
        &o->ref,           &o->idem_key,        &o->session_id, &o->owner,
        &o->customer_id,   &o->customer,        &o->outlet,     &o->address,
        &o->delivery_date, &o->delivery_window, &o->currency};
    for (int i = 0; i < 11; i++)
        *strs[i] = store_col_str(s, i + 1);
    o->subtotal = stmt_col_i64(s, 12);
    o->tax = stmt_col_i64(s, 13);
    o->total = stmt_col_i64(s, 14);
    o->status = store_col_str(s, 15);
    o->created_at = stmt_col_dbl(s, 16);
    o->updated_at = stmt_col_dbl(s, 17);
    o->goods = stmt_col_i64(s, 18);
    o->discount = stmt_col_i64(s, 19);
    o->delivery_fee = stmt_col_i64(s, 20);
    o->surcharge = stmt_col_i64(s, 21);
    int rc = FD_OK;
    for (int i = 0; a && !rc && i < 11; i++)
        rc = store_arena_copy(a, strs[i], err);
    if (a && !rc)
        rc = store_arena_copy(a, &o->status, err);
    return rc;
}

static int load_lines(fd_store *st, fd_order_row *o, fd_arena *a, fd_err *err)
{
    store_stmt *s;
    int rc =
        store_prep(st,
                   "SELECT code, name, qty, packs, pack_size, pack_price, total FROM order_lines "
                   "WHERE order_id = ?1 ORDER BY line",
                   &s, err, "reading order lines");
    if (rc)
        return rc;
    stmt_bind_i64(s, 1, o->id);
    size_t cap = 8, n = 0;
    fd_order_line_row *v = fd_arena_calloc(a, cap, sizeof *v);
    int step = SQLITE_DONE;
    while (v && (step = stmt_step(s)) == SQLITE_ROW) {
        if (n == cap) {
            fd_order_line_row *w = fd_arena_calloc(a, cap * 2, sizeof *w);
            if (w)
                memcpy(w, v, n * sizeof *v);
            v = w;
            cap *= 2;
            if (!v)
                break;
        }
        fd_order_line_row *l = &v[n++];
        l->code = store_col_str(s, 0);
        l->name = store_col_str(s, 1);
        l->qty = stmt_col_i64(s, 2);
        l->packs = stmt_col_i64(s, 3);
        l->pack_size = stmt_col_i64(s, 4);
        l->pack_price = stmt_col_i64(s, 5);
        l->total = stmt_col_i64(s, 6);
        if ((rc = store_arena_copy(a, &l->code, err)) || (rc = store_arena_copy(a, &l->name, err)))
            break;
    }
    if (!v)
        rc = fd_err_set(err, FD_ENOMEM, "out of memory");
    else if (!rc && step != SQLITE_DONE)
        rc = store_fail(st, step, err, "reading order lines");
    stmt_finalize(s);
    o->lines = v;
    o->n_lines = n;
    return rc;
}

static int get_one(fd_store *st, const char *sql, const char *arg, fd_arena *a, fd_order_row *out,
                   fd_err *err)
{
    store_stmt *s;
    int rc = store_prep(st, sql, &s, err, "reading an order");
    if (rc)
        return rc;
    store_bind_str(s, 1, arg);
    int step = stmt_step(s);
    if (step == SQLITE_ROW)
        rc = order_from_row(s, a, out, err);
    else if (step == SQLITE_DONE)
        rc = fd_err_set(err, FD_ENOTFOUND, "no such order");
    else
        rc = store_fail(st, step, err, "reading an order");
    stmt_finalize(s);
    return rc ? rc : load_lines(st, out, a, err);
}

int fd_store_order_get(fd_store *st, const char *ref, fd_arena *a, fd_order_row *out, fd_err *err)
{
    return get_one(st, "SELECT " ORDER_COLS " FROM orders WHERE ref = upper(?1)", ref, a, out, err);
}

int fd_store_order_by_idem(fd_store *st, const char *idem_key, fd_arena *a, fd_order_row *out,
                           fd_err *err)
{
    return get_one(st, "SELECT " ORDER_COLS " FROM orders WHERE idem_key = ?1", idem_key, a, out,
                   err);
}

int fd_store_orders_each(fd_store *st, const char *owner, const char *status, int64_t limit,
                         int (*cb)(void *ctx, const fd_order_row *o), void *ctx, fd_err *err)
{
    store_stmt *s;
    int rc = store_prep(st,
                        "SELECT " ORDER_COLS " FROM orders WHERE (?1 IS NULL OR owner = ?1) AND "
                        "(?2 = '' OR status = ?2) ORDER BY id DESC LIMIT ?3",
                        &s, err, "listing orders");
    if (rc)
        return rc;
    if (owner)
        store_bind_str(s, 1, owner);
    store_bind_str(s, 2, status ? status : "");
    stmt_bind_i64(s, 3, limit > 0 ? limit : INT64_MAX); /* no LIMIT -1 on PostgreSQL */
    int step;
    while ((step = stmt_step(s)) == SQLITE_ROW) {
        fd_order_row o;
        (void)order_from_row(s, NULL, &o, NULL);
        if (cb(ctx, &o))
            break;
    }
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        rc = store_fail(st, step, err, "listing orders");
    stmt_finalize(s);
    return rc;
}

int fd_store_order_set_status(fd_store *st, const char *ref, const char *from, const char *status,
                              const char *note, fd_err *err)
{
    store_stmt *s;
    int rc = store_prep(st, "SELECT id, status FROM orders WHERE ref = upper(?1)", &s, err,
                        "reading an order");
    if (rc)
        return rc;
    store_bind_str(s, 1, ref);
    int step = stmt_step(s);
    int64_t id = 0;
    if (step == SQLITE_ROW) {
        id = stmt_col_i64(s, 0);
        if (from && strcmp(store_col_str(s, 1), from) != 0)
            rc = fd_err_set(err, FD_ECONFLICT, "order %s is %s, not %s", ref, store_col_str(s, 1),
                            from);
    } else if (step == SQLITE_DONE) {
        rc = fd_err_set(err, FD_ENOTFOUND, "no such order");
    } else {
        rc = store_fail(st, step, err, "reading an order");
    }
    stmt_finalize(s);
    if (rc)
        return rc;
    int moved;
    return store_order_move(st, id, status, note, 0, &moved, err);
}

int store_order_move(fd_store *st, int64_t id, const char *status, const char *note,
                     int keep_cancelled, int *moved, fd_err *err)
{
    store_stmt *s;
    double now = fd_time_wall();
    *moved = 0;
    int rc =
        store_prep(st,
                   keep_cancelled ? "UPDATE orders SET status = ?1, updated_at = ?2 WHERE "
                                    "id = ?3 AND status <> 'cancelled'"
                                  : "UPDATE orders SET status = ?1, updated_at = ?2 WHERE id = ?3",
                   &s, err, "updating an order");
    if (rc)
        return rc;
    store_bind_str(s, 1, status);
    stmt_bind_dbl(s, 2, now);
    stmt_bind_i64(s, 3, id);
    rc = store_run(st, s, err, "updating an order");
    if (rc || store_changes(st) == 0)
        return rc;
    *moved = 1;
    return history_add(st, id, status, note, now, err);
}
