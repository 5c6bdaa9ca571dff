/* keys.c: rows of the api_keys table. Same conventions as convo.c:
 * prepared statements from sqlite.c, every value bound. Rows come back by
 * value (fixed buffers), so the hot verify path allocates nothing. */
#include "store_int.h"

#include <string.h>

/* Bounded copy that always terminates; longer text is cut (only possible
 * for rows written by something other than fd_store_key_add). */
static void copy_col(char *dst, size_t size, store_stmt *s, int col)
{
    const char *t = store_col_str(s, col);
    size_t n = strlen(t);
    if (n >= size)
        n = size - 1;
    memcpy(dst, t, n);
    dst[n] = '\0';
}

static void read_row(store_stmt *s, fd_key_row *k)
{
    memset(k, 0, sizeof *k);
    k->id = stmt_col_i64(s, 0);
    copy_col(k->prefix, sizeof k->prefix, s, 1);
    copy_col(k->hash, sizeof k->hash, s, 2);
    copy_col(k->name, sizeof k->name, s, 3);
    k->scopes = stmt_col_i64(s, 4);
    k->created_at = stmt_col_dbl(s, 5);
    k->expires_at = stmt_col_dbl(s, 6);
    k->revoked_at = stmt_col_dbl(s, 7);
    k->rotated_to = stmt_col_i64(s, 8);
    k->valid_until = stmt_col_dbl(s, 9);
    k->last_used_at = stmt_col_dbl(s, 10);
}

static int is_hex64(const char *h)
{
    if (!h || strlen(h) != 64)
        return 0;
    for (int i = 0; i < 64; i++)
        if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f')))
            return 0;
    return 1;
}

int fd_store_key_add(fd_store *st, const fd_key_row *k, int64_t *id, fd_err *err)
{
    if (!is_hex64(k->hash))
        return fd_err_set_field(err, FD_EINVAL, "hash", "store: key hash must be 64 hex digits");
    if (strnlen(k->prefix, sizeof k->prefix) >= sizeof k->prefix || !k->prefix[0])
        return fd_err_set_field(err, FD_EINVAL, "prefix", "store: bad key prefix");
    if (strnlen(k->name, sizeof k->name) >= sizeof k->name)
        return fd_err_set_field(err, FD_EINVAL, "name", "store: key name too long");
    store_stmt *s;
    int owned;
    int code = store_acquire(st, STMT_KEY_ADD, &s, &owned, err);
    if (code)
        return code;
    store_bind_str(s, 1, k->prefix);
    store_bind_str(s, 2, k->hash);
    store_bind_str(s, 3, k->name);
    stmt_bind_i64(s, 4, k->scopes);
    stmt_bind_dbl(s, 5, k->created_at > 0 ? k->created_at : fd_time_wall());
    stmt_bind_dbl(s, 6, k->expires_at);
    int rc = stmt_step(s);
    if (rc != SQLITE_DONE)
        code = store_fail(st, rc, err, "adding key");
    else if (id && (*id = store_last_id(st)) <= 0)
        code = store_fail(st, SQLITE_ERROR, err, "adding key");
    store_release(s, owned);
    return code;
}

/* Runs a one-row lookup whose statement has ?1 bound by the caller. */
static int get_one(fd_store *st, store_stmt *s, int owned, fd_key_row *out, fd_err *err,
                   const char *what)
{
    int code = FD_OK;
    int rc = stmt_step(s);
    if (rc == SQLITE_ROW)
        read_row(s, out);
    else if (rc == SQLITE_DONE)
        code = fd_err_set(err, FD_ENOTFOUND, "no such key");
    else
        code = store_fail(st, rc, err, what);
    store_release(s, owned);
    return code;
}

int fd_store_key_by_hash(fd_store *st, const char *hash, fd_key_row *out, fd_err *err)
{
    store_stmt *s;
    int owned;
    int code = store_acquire(st, STMT_KEY_BY_HASH, &s, &owned, err);
    if (code)
        return code;
    store_bind_str(s, 1, hash);
    return get_one(st, s, owned, out, err, "reading key");
}

int fd_store_key_by_id(fd_store *st, int64_t id, fd_key_row *out, fd_err *err)
{
    store_stmt *s;
    int owned;
    int code = store_acquire(st, STMT_KEY_BY_ID, &s, &owned, err);
    if (code)
        return code;
    stmt_bind_i64(s, 1, id);
    return get_one(st, s, owned, out, err, "reading key");
}

int fd_store_key_by_prefix(fd_store *st, const char *prefix, fd_key_row *out, int *n_found,
                           fd_err *err)
{
    *n_found = 0;
    store_stmt *s;
    int owned;
    int code = store_acquire(st, STMT_KEYS_BY_PREFIX, &s, &owned, err);
    if (code)
        return code;
    store_bind_str(s, 1, prefix);
    int rc;
    while ((rc = stmt_step(s)) == SQLITE_ROW) {
        if (*n_found == 0)
            read_row(s, out);
        (*n_found)++;
    }
    if (rc != SQLITE_DONE)
        code = store_fail(st, rc, err, "reading keys");
    else if (*n_found == 0)
        code = fd_err_set(err, FD_ENOTFOUND, "no key with prefix %s", prefix);
    store_release(s, owned);
    return code;
}

int fd_store_keys_each(fd_store *st, int (*cb)(void *ctx, const fd_key_row *k), void *ctx,
                       fd_err *err)
{
    store_stmt *s;
    int owned;
    int code = store_acquire(st, STMT_KEYS_EACH, &s, &owned, err);
    if (code)
        return code;
    int rc;
    while ((rc = stmt_step(s)) == SQLITE_ROW) {
        fd_key_row k;
        read_row(s, &k);
        int stop = cb(ctx, &k);
        if (stop) {
            store_release(s, owned);
            return stop;
        }
    }
    if (rc != SQLITE_DONE)
        code = store_fail(st, rc, err, "listing keys");
    store_release(s, owned);
    return code;
}

/* Runs an UPDATE whose parameters are bound; *changes from SQLite. */
static int run_update(fd_store *st, store_stmt *s, int owned, int *changes, fd_err *err,
                      const char *what)
{
    int code = FD_OK;
    int rc = stmt_step(s);
    if (rc != SQLITE_DONE)
        code = store_fail(st, rc, err, what);
    else
        *changes = store_changes(st);
    store_release(s, owned);
    return code;
}

int fd_store_key_revoke(fd_store *st, int64_t id, double at, fd_err *err)
{
    store_stmt *s;
    int owned, changes = 0;
    int code = store_acquire(st, STMT_KEY_REVOKE, &s, &owned, err);
    if (code)
        return code;
    stmt_bind_i64(s, 1, id);
    stmt_bind_dbl(s, 2, at > 0 ? at : fd_time_wall());
    code = run_update(st, s, owned, &changes, err, "revoking key");
    if (!code && changes == 0)
        code = fd_err_set(err, FD_ENOTFOUND, "no key with id %lld", (long long)id);
    return code;
}

int fd_store_key_rotate(fd_store *st, int64_t id, int64_t successor, double valid_until,
                        fd_err *err)
{
    store_stmt *s;
    int owned, changes = 0;
    int code = store_acquire(st, STMT_KEY_ROTATE, &s, &owned, err);
    if (code)
        return code;
    stmt_bind_i64(s, 1, id);
    stmt_bind_i64(s, 2, successor);
    stmt_bind_dbl(s, 3, valid_until);
    code = run_update(st, s, owned, &changes, err, "rotating key");
    if (code || changes)
        return code;
    /* Nothing changed: tell "absent" from "already rotated or revoked". */
    fd_key_row k;
    code = fd_store_key_by_id(st, id, &k, err);
    if (code == FD_ENOTFOUND)
        return fd_err_set(err, FD_ENOTFOUND, "no key with id %lld", (long long)id);
    if (code)
        return code;
    if (k.revoked_at > 0)
        return fd_err_set(err, FD_ECONFLICT, "key %lld is revoked", (long long)id);
    return fd_err_set(err, FD_ECONFLICT, "key %lld was already rotated (to key %lld)",
                      (long long)id, (long long)k.rotated_to);
}

int fd_store_key_touch(fd_store *st, int64_t id, double at, double not_after, int *written,
                       fd_err *err)
{
    if (written)
        *written = 0;
    store_stmt *s;
    int owned, changes = 0;
    int code = store_acquire(st, STMT_KEY_TOUCH, &s, &owned, err);
    if (code)
        return code;
    stmt_bind_i64(s, 1, id);
    stmt_bind_dbl(s, 2, at);
    stmt_bind_dbl(s, 3, not_after);
    /* Bookkeeping on the request path: never queue behind a writer (an
     * ingest may hold the lock for seconds); the next use will retry. */
    store_lock_wait(st, 0);
    code = run_update(st, s, owned, &changes, err, "touching key");
    store_lock_wait(st, st->busy_timeout_ms);
    if (!code && written)
        *written = changes > 0;
    return code;
}
