/* desk.c: what the operator console keeps and reads beyond the handoffs
 * themselves (convo.c): internal notes on a conversation, the live queue
 * with each conversation's waiting counts, and search over handed-off
 * conversations. Written once in the SQL both engines read. */
#include "store_int.h"

#include <ctype.h>
#include <string.h>

/* ---- internal notes -------------------------------------------------------- */

int fd_store_note_add(fd_store *st, const fd_note_row *n, int64_t *id, fd_err *err)
{
    if (!n->session_id || !n->session_id[0] || !n->text || !n->text[0])
        return fd_err_set_field(err, FD_EINVAL, "text", "a note needs a conversation and a text");
    store_stmt *s;
    int code = store_prep(st,
                          "INSERT INTO handoff_notes (session_id, handoff_id, author, text, "
                          "created_at) VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
                          &s, err, "adding a note");
    if (code)
        return code;
    store_bind_str(s, 1, n->session_id);
    stmt_bind_i64(s, 2, n->handoff_id);
    store_bind_str(s, 3, n->author);
    store_bind_str(s, 4, n->text);
    stmt_bind_dbl(s, 5, n->created_at > 0 ? n->created_at : fd_time_wall());
    int rc = stmt_step(s);
    if (rc == SQLITE_ROW) {
        if (id)
            *id = stmt_col_i64(s, 0);
        rc = stmt_step(s);
    }
    /* A conversation deleted since its handoff opened: the foreign key
     * refuses the note (FD_ECONFLICT), nothing is kept without its owner. */
    if (rc != SQLITE_DONE)
        code = store_fail(st, rc, err, "adding a note");
    stmt_finalize(s);
    return code;
}

int fd_store_notes_each(fd_store *st, const char *session_id,
                        int (*cb)(void *ctx, const fd_note_row *n), void *ctx, fd_err *err)
{
    store_stmt *s;
    int code = store_prep(st,
                          "SELECT id, session_id, handoff_id, author, text, created_at "
                          "FROM handoff_notes WHERE session_id = ?1 ORDER BY id",
                          &s, err, "reading notes");
    if (code)
        return code;
    store_bind_str(s, 1, session_id);
    int rc;
    while ((rc = stmt_step(s)) == SQLITE_ROW) {
        fd_note_row n = {.id = stmt_col_i64(s, 0),
                         .session_id = store_col_str(s, 1),
                         .handoff_id = stmt_col_i64(s, 2),
                         .author = store_col_str(s, 3),
                         .text = store_col_str(s, 4),
                         .created_at = stmt_col_dbl(s, 5)};
        int stop = cb(ctx, &n);
        if (stop) {
            stmt_finalize(s);
            return stop;
        }
    }
    if (rc != SQLITE_DONE)
        code = store_fail(st, rc, err, "reading notes");
    stmt_finalize(s);
    return code;
}

/* ---- the live queue ----------------------------------------------------------- */

#define HANDOFF_COLS                                                                               \
    "h.id, h.session_id, h.tier, h.reason, h.summary, h.status, h.operator, h.created_at, "        \
    "h.updated_at"

/* The customer's messages since the handoff opened (the one that opened it
 * included: the handoff row is written first, in the same transaction);
 * "unanswered" are those after the conversation's last operator message. */
#define CUSTOMER_SINCE_OPEN                                                                        \
    "FROM turns t WHERE t.session_id = h.session_id AND t.role = 'user' AND "                      \
    "t.created_at >= h.created_at"
#define UNANSWERED                                                                                 \
    CUSTOMER_SINCE_OPEN " AND t.seq > coalesce((SELECT max(o.seq) FROM turns o WHERE "             \
                        "o.session_id = h.session_id AND o.role = 'operator'), 0)"

int fd_store_queue_each(fd_store *st, double resolved_since, int64_t limit,
                        int (*cb)(void *ctx, const fd_queue_row *q), void *ctx, fd_err *err)
{
    /* Open and claimed handoffs come through the (status, id) index, the
     * recently resolved through (updated_at): a poll every second stays
     * cheap however many resolved handoffs pile up. */
    store_stmt *s;
    int code = store_prep(
        st,
        "SELECT " HANDOFF_COLS ", (SELECT count(*) " CUSTOMER_SINCE_OPEN "), "
        "(SELECT count(*) " UNANSWERED "), (SELECT min(t.created_at) " UNANSWERED "), "
        "(SELECT max(t.created_at) " CUSTOMER_SINCE_OPEN "), "
        "(SELECT count(*) FROM handoff_notes n WHERE n.session_id = h.session_id), "
        "(SELECT max(n.created_at) FROM handoff_notes n WHERE n.session_id = h.session_id) "
        "FROM handoffs h WHERE h.status IN ('open', 'claimed') "
        "OR (h.status = 'resolved' AND h.updated_at > ?1) ORDER BY h.id DESC LIMIT ?2",
        &s, err, "reading the queue");
    if (code)
        return code;
    stmt_bind_dbl(s, 1, resolved_since);
    stmt_bind_i64(s, 2, limit > 0 ? limit : 1000);
    int rc;
    while ((rc = stmt_step(s)) == SQLITE_ROW) {
        fd_queue_row q;
        char ticket[32];
        store_handoff_from_row(s, &q.h, ticket, sizeof ticket);
        q.n_customer = stmt_col_i64(s, 9);
        q.n_unanswered = stmt_col_i64(s, 10);
        q.waiting_since = stmt_col_dbl(s, 11);
        q.last_customer_at = stmt_col_dbl(s, 12);
        q.n_notes = stmt_col_i64(s, 13);
        double last_note = stmt_col_dbl(s, 14);
        q.changed_at = q.h.updated_at;
        if (q.last_customer_at > q.changed_at)
            q.changed_at = q.last_customer_at;
        if (last_note > q.changed_at)
            q.changed_at = last_note;
        int stop = cb(ctx, &q);
        if (stop) {
            stmt_finalize(s);
            return stop;
        }
    }
    if (rc != SQLITE_DONE)
        code = store_fail(st, rc, err, "reading the queue");
    stmt_finalize(s);
    return code;
}

/* ---- search ---------------------------------------------------------------------- */

/* A ticket as customers are given it ("HD-000011", any case) or its
 * number alone: the id, else 0. */
static int64_t ticket_id(const char *q)
{
    if ((q[0] == 'H' || q[0] == 'h') && (q[1] == 'D' || q[1] == 'd') && q[2] == '-')
        q += 3;
    int64_t id = 0;
    size_t n = 0;
    for (; q[n]; n++) {
        if (!isdigit((unsigned char)q[n]) || n >= 15)
            return 0;
        id = id * 10 + (q[n] - '0');
    }
    return n ? id : 0;
}

/* "%q%" for LIKE ... ESCAPE '!', ASCII lower-cased as SQLite's lower()
 * folds: %, _ and ! in the query match themselves. */
static int like_pattern(fd_arena *a, const char *q, const char **out, fd_err *err)
{
    size_t n = strlen(q);
    char *p = fd_arena_alloc(a, 2 * n + 3);
    if (!p)
        return fd_err_set(err, FD_ENOMEM, "store: no memory");
    size_t k = 0;
    p[k++] = '%';
    for (size_t i = 0; i < n; i++) {
        char c = q[i];
        if (c == '%' || c == '_' || c == '!')
            p[k++] = '!';
        p[k++] = (char)tolower((unsigned char)c);
    }
    p[k++] = '%';
    p[k] = '\0';
    *out = p;
    return FD_OK;
}

/* A phone number as typed ("+65 9123-4567"): its digits as a LIKE
 * pattern, so any way the customer wrote it matches; "" when q is not
 * one (letters in it, or fewer than 5 digits). */
static int phone_pattern(fd_arena *a, const char *q, const char **out, fd_err *err)
{
    *out = "";
    size_t digits = 0;
    for (const char *c = q; *c; c++) {
        if (isdigit((unsigned char)*c))
            digits++;
        else if (!strchr(" +-().", *c))
            return FD_OK;
    }
    if (digits < 5)
        return FD_OK;
    char *p = fd_arena_alloc(a, digits + 3);
    if (!p)
        return fd_err_set(err, FD_ENOMEM, "store: no memory");
    size_t k = 0;
    p[k++] = '%';
    for (const char *c = q; *c; c++)
        if (isdigit((unsigned char)*c))
            p[k++] = *c;
    p[k++] = '%';
    p[k] = '\0';
    *out = p;
    return FD_OK;
}

/* Separators a phone number is written with, dropped before matching. */
#define DIGITS_OF(col)                                                                             \
    "replace(replace(replace(replace(replace(replace(" col ", ' ', ''), '-', ''), '.', ''), "      \
    "'(', ''), ')', ''), '+', '')"
#define CUSTOMER_MATCH                                                                             \
    "t.session_id = h.session_id AND t.role = 'user' AND (lower(t.text) LIKE ?1 ESCAPE '!' OR "    \
    "(?3 <> '' AND " DIGITS_OF("t.text") " LIKE ?3))"

int fd_store_handoffs_search(fd_store *st, const char *q, int64_t limit,
                             int (*cb)(void *ctx, const fd_handoff_row *h, const char *snippet),
                             void *ctx, fd_err *err)
{
    if (!q || !q[0])
        return fd_err_set_field(err, FD_EINVAL, "q", "an empty search");
    fd_arena *a = fd_arena_new(0);
    if (!a)
        return fd_err_set(err, FD_ENOMEM, "store: no memory");
    const char *like = NULL, *phone = NULL;
    int code = like_pattern(a, q, &like, err);
    if (!code)
        code = phone_pattern(a, q, &phone, err);
    store_stmt *s = NULL;
    /* What the customer wrote, the contact details the session remembered
     * (its slots), or the ticket: only handed-off conversations, the ones
     * operators may read. */
    if (!code)
        code =
            store_prep(st,
                       "SELECT " HANDOFF_COLS ", (SELECT t.text FROM turns t WHERE " CUSTOMER_MATCH
                       " ORDER BY t.seq LIMIT 1) FROM handoffs h "
                       "JOIN sessions s ON s.id = h.session_id "
                       "WHERE h.id = ?2 OR lower(s.slots) LIKE ?1 ESCAPE '!' "
                       "OR (?3 <> '' AND " DIGITS_OF(
                           "s.slots") " LIKE ?3) "
                                      "OR EXISTS (SELECT 1 FROM turns t WHERE " CUSTOMER_MATCH ") "
                                      "ORDER BY h.id DESC LIMIT ?4",
                       &s, err, "searching conversations");
    if (code) {
        fd_arena_free(a);
        return code;
    }
    store_bind_str(s, 1, like);
    stmt_bind_i64(s, 2, ticket_id(q));
    store_bind_str(s, 3, phone);
    stmt_bind_i64(s, 4, limit > 0 ? limit : 20);
    int rc;
    while ((rc = stmt_step(s)) == SQLITE_ROW) {
        fd_handoff_row h;
        char ticket[32];
        store_handoff_from_row(s, &h, ticket, sizeof ticket);
        int stop = cb(ctx, &h, store_col_str(s, 9));
        if (stop) {
            stmt_finalize(s);
            fd_arena_free(a);
            return stop;
        }
    }
    if (rc != SQLITE_DONE)
        code = store_fail(st, rc, err, "searching conversations");
    stmt_finalize(s);
    fd_arena_free(a);
    return code;
}

/* ---- customers' ratings ------------------------------------------------------------ */

int fd_store_ratings_each(fd_store *st, int (*cb)(void *ctx, const fd_rating_row *r), void *ctx,
                          fd_err *err)
{
    /* The rating's handoff is the conversation's latest one opened before
     * it: the person the customer just had. The partial index on kind
     * 'rating' keeps this off the one-event-per-turn table's bulk. */
    store_stmt *s;
    int code = store_prep(
        st,
        "SELECT e.id, e.at, e.session_id, e.data, coalesce(h.id, 0), coalesce(h.operator, ''), "
        "coalesce(a.display_name, '') FROM analytics_events e "
        "LEFT JOIN handoffs h ON h.id = (SELECT max(x.id) FROM handoffs x WHERE "
        "x.session_id = e.session_id AND x.created_at <= e.at) "
        "LEFT JOIN agents a ON a.name = h.operator "
        "WHERE e.kind = 'rating' ORDER BY e.id DESC",
        &s, err, "reading ratings");
    if (code)
        return code;
    int rc;
    while ((rc = stmt_step(s)) == SQLITE_ROW) {
        fd_rating_row r = {.id = stmt_col_i64(s, 0),
                           .at = stmt_col_dbl(s, 1),
                           .session_id = store_col_str(s, 2),
                           .data = store_col_str(s, 3),
                           .handoff_id = stmt_col_i64(s, 4),
                           .operator_ = store_col_str(s, 5),
                           .agent_display_name = store_col_str(s, 6)};
        int stop = cb(ctx, &r);
        if (stop) {
            stmt_finalize(s);
            return stop;
        }
    }
    if (rc != SQLITE_DONE)
        code = store_fail(st, rc, err, "reading ratings");
    stmt_finalize(s);
    return code;
}
