/* attachments.c: the images customers send to the person handling their
 * conversation. A row per image, its bytes in the row (a cap of a few MB,
 * set by the caller), gone with the session (ON DELETE CASCADE): erasure
 * and retention take them with everything else of the conversation. */
#include "store_int.h"

#include <string.h>

int fd_store_attachment_add(fd_store *st, const fd_attachment_row *a, int64_t *id, fd_err *err)
{
    if (!a->session_id || !a->session_id[0] || !a->type || !a->type[0] || !a->data || !a->len)
        return fd_err_set(err, FD_EINVAL, "store: an attachment needs a session, a type and bytes");
    char hash[65];
    fd_sha256_hex(a->data, a->len, hash);
    store_stmt *s;
    int code =
        store_prep(st,
                   "INSERT INTO attachments (session_id, turn_seq, type, bytes, sha256, data, "
                   "created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id",
                   &s, err, "adding an attachment");
    if (code)
        return code;
    store_bind_str(s, 1, a->session_id);
    stmt_bind_i64(s, 2, a->turn_seq);
    store_bind_str(s, 3, a->type);
    stmt_bind_i64(s, 4, (int64_t)a->len);
    store_bind_str(s, 5, hash);
    stmt_bind_blob(s, 6, a->data, a->len);
    stmt_bind_dbl(s, 7, a->created_at > 0 ? a->created_at : fd_time_wall());
    int rc = stmt_step(s);
    if (rc == SQLITE_ROW) {
        if (id)
            *id = stmt_col_i64(s, 0);
        rc = stmt_step(s);
    }
    /* A session deleted meanwhile: the foreign key refuses (FD_ECONFLICT). */
    if (rc != SQLITE_DONE)
        code = store_fail(st, rc, err, "adding an attachment");
    stmt_finalize(s);
    return code;
}

int fd_store_attachment_set_turn(fd_store *st, int64_t id, int64_t turn_seq, fd_err *err)
{
    store_stmt *s;
    int code = store_prep(st, "UPDATE attachments SET turn_seq = ?2 WHERE id = ?1", &s, err,
                          "linking an attachment");
    if (code)
        return code;
    stmt_bind_i64(s, 1, id);
    stmt_bind_i64(s, 2, turn_seq);
    int rc = stmt_step(s);
    int64_t changed = store_changes(st);
    if (rc != SQLITE_DONE)
        code = store_fail(st, rc, err, "linking an attachment");
    else if (!changed)
        code = fd_err_set(err, FD_ENOTFOUND, "no attachment %lld", (long long)id);
    stmt_finalize(s);
    return code;
}

int fd_store_attachment_get(fd_store *st, const char *session_id, int64_t id, fd_arena *a,
                            fd_attachment_row *out, fd_err *err)
{
    store_stmt *s;
    /* By session and id together: an id guessed from another conversation
     * is not found, whoever asks. */
    int code = store_prep(st,
                          "SELECT id, session_id, turn_seq, type, sha256, created_at, data "
                          "FROM attachments WHERE session_id = ?1 AND id = ?2",
                          &s, err, "reading an attachment");
    if (code)
        return code;
    store_bind_str(s, 1, session_id);
    stmt_bind_i64(s, 2, id);
    int rc = stmt_step(s);
    if (rc == SQLITE_ROW) {
        memset(out, 0, sizeof *out);
        out->id = stmt_col_i64(s, 0);
        out->session_id = store_col_str(s, 1);
        out->turn_seq = stmt_col_i64(s, 2);
        out->type = store_col_str(s, 3);
        out->sha256 = store_col_str(s, 4);
        out->created_at = stmt_col_dbl(s, 5);
        const void *blob = stmt_col_blob(s, 6);
        size_t n = (size_t)stmt_col_bytes(s, 6);
        void *p = n ? fd_arena_alloc(a, n) : NULL;
        if (n && !p)
            code = fd_err_set(err, FD_ENOMEM, "store: no memory for an attachment");
        else if (!blob && n)
            code = fd_err_set(err, FD_ENOMEM, "store: no memory for an attachment");
        if (!code) {
            if (n)
                memcpy(p, blob, n);
            out->data = p;
            out->len = n;
            code = store_arena_copy(a, &out->session_id, err);
        }
        if (!code)
            code = store_arena_copy(a, &out->type, err);
        if (!code)
            code = store_arena_copy(a, &out->sha256, err);
    } else if (rc == SQLITE_DONE) {
        code = fd_err_set(err, FD_ENOTFOUND, "no such attachment");
    } else {
        code = store_fail(st, rc, err, "reading an attachment");
    }
    stmt_finalize(s);
    return code;
}
