/* docs.c: documents, chunks and knowledge-base versions on the prepared
 * statements of sqlite.c. Rows handed to callbacks point into SQLite's own
 * column buffers, valid until the next step, hence "borrowed for the call". */
#include "store_int.h"

#include <string.h>

#define col_str store_col_str
#define bind_str store_bind_str

static void doc_from_row(store_stmt *s, fd_doc_row *d)
{
    d->id = stmt_col_i64(s, 0);
    d->key = col_str(s, 1);
    d->title = col_str(s, 2);
    d->source = col_str(s, 3);
    d->tag = col_str(s, 4);
    d->lang = col_str(s, 5);
    d->hash = col_str(s, 6);
    d->n_chunks = stmt_col_i64(s, 7);
    d->kb_version = stmt_col_i64(s, 8);
    d->updated_at = stmt_col_dbl(s, 9);
}

static void chunk_from_row(store_stmt *s, fd_chunk_row *c)
{
    c->id = stmt_col_i64(s, 0);
    c->doc_id = stmt_col_i64(s, 1);
    c->ord = stmt_col_int(s, 2);
    c->doc_key = col_str(s, 3);
    c->title = col_str(s, 4);
    c->section = col_str(s, 5);
    c->tag = col_str(s, 6);
    c->lang = col_str(s, 7);
    c->text = col_str(s, 8);
}

int store_arena_copy(fd_arena *a, const char **p, fd_err *err)
{
    char *c = fd_arena_strndup(a, *p, strlen(*p));
    if (!c) {
        int code = fd_arena_full(a) ? FD_ETOOBIG : FD_ENOMEM;
        return fd_err_set(err, code, "store: arena full copying a row");
    }
    *p = c;
    return FD_OK;
}

/* ---- single-row reads ---------------------------------------------------- */

int fd_store_doc_get(fd_store *st, const char *key, fd_arena *a, fd_doc_row *out, fd_err *err)
{
    store_stmt *s;
    int owned;
    int code = store_acquire(st, STMT_DOC_GET, &s, &owned, err);
    if (code)
        return code;
    bind_str(s, 1, key);
    int rc = stmt_step(s);
    if (rc == SQLITE_ROW) {
        doc_from_row(s, out);
        const char **strs[] = {&out->key, &out->title, &out->source,
                               &out->tag, &out->lang,  &out->hash};
        for (size_t i = 0; !code && i < sizeof strs / sizeof strs[0]; i++)
            code = store_arena_copy(a, strs[i], err);
    } else if (rc == SQLITE_DONE) {
        code = fd_err_set(err, FD_ENOTFOUND, "no document %s", key);
    } else {
        code = store_fail(st, rc, err, "reading document");
    }
    store_release(s, owned);
    return code;
}

int fd_store_chunk_get(fd_store *st, int64_t chunk_id, fd_arena *a, fd_chunk_row *out, fd_err *err)
{
    store_stmt *s;
    int owned;
    int code = store_acquire(st, STMT_CHUNK_GET, &s, &owned, err);
    if (code)
        return code;
    stmt_bind_i64(s, 1, chunk_id);
    int rc = stmt_step(s);
    if (rc == SQLITE_ROW) {
        chunk_from_row(s, out);
        const char **strs[] = {&out->doc_key, &out->title, &out->section,
                               &out->tag,     &out->lang,  &out->text};
        for (size_t i = 0; !code && i < sizeof strs / sizeof strs[0]; i++)
            code = store_arena_copy(a, strs[i], err);
    } else if (rc == SQLITE_DONE) {
        code = fd_err_set(err, FD_ENOTFOUND, "no chunk %lld", (long long)chunk_id);
    } else {
        code = store_fail(st, rc, err, "reading chunk");
    }
    store_release(s, owned);
    return code;
}

/* Runs a statement that yields one row of up to two integers. */
static int one_row(fd_store *st, store_stmt *s, int64_t *a, int64_t *b, fd_err *err,
                   const char *what)
{
    int rc = stmt_step(s);
    int code = FD_OK;
    if (rc == SQLITE_ROW) {
        *a = stmt_col_i64(s, 0);
        if (b)
            *b = stmt_col_i64(s, 1);
    } else {
        code = store_fail(st, rc, err, what);
    }
    return code;
}

int fd_store_counts(fd_store *st, int64_t *n_docs, int64_t *n_chunks, fd_err *err)
{
    store_stmt *s;
    int owned;
    int code = store_acquire(st, STMT_COUNTS, &s, &owned, err);
    if (code)
        return code;
    code = one_row(st, s, n_docs, n_chunks, err, "counting");
    store_release(s, owned);
    return code;
}

int fd_store_kb_version(fd_store *st, int64_t *version, fd_err *err)
{
    store_stmt *s;
    int owned;
    int code = store_acquire(st, STMT_KB_VERSION, &s, &owned, err);
    if (code)
        return code;
    code = one_row(st, s, version, NULL, err, "reading kb version");
    store_release(s, owned);
    return code;
}

int fd_store_kb_bump(fd_store *st, const char *note, int64_t *version, fd_err *err)
{
    store_stmt *s;
    int owned;
    int code = store_acquire(st, STMT_KB_BUMP, &s, &owned, err);
    if (code)
        return code;
    stmt_bind_dbl(s, 1, fd_time_wall());
    bind_str(s, 2, note);
    code = one_row(st, s, version, NULL, err, "recording kb version");
    store_release(s, owned);
    /* The other replicas reload at the commit, not at their next poll. */
    if (!code)
        code = fd_store_notify(st, FD_NOTE_KB, NULL, err);
    return code;
}

/* ---- writes -------------------------------------------------------------- */

static int clear_chunks(fd_store *st, int64_t doc_id, fd_err *err)
{
    store_stmt *s;
    int owned;
    int code = store_acquire(st, STMT_DOC_CLEAR_CHUNKS, &s, &owned, err);
    if (code)
        return code;
    stmt_bind_i64(s, 1, doc_id);
    int rc = stmt_step(s);
    if (rc != SQLITE_DONE)
        code = store_fail(st, rc, err, "deleting old chunks");
    store_release(s, owned);
    return code;
}

int fd_store_doc_put(fd_store *st, const fd_doc_row *doc, int64_t *id, fd_err *err)
{
    if (!doc->key || !*doc->key)
        return fd_err_set_field(err, FD_EINVAL, "key", "store: document without a key");
    /* Outside a transaction the upsert and the chunk delete would commit
     * separately, and a crash between them would pair new metadata with
     * old chunks. */
    if (store_autocommit(st) != 0)
        return fd_err_set(err, FD_EINVAL, "store: doc_put outside a transaction");
    store_stmt *s;
    int owned;
    int code = store_acquire(st, STMT_DOC_UPSERT, &s, &owned, err);
    if (code)
        return code;
    const char *strs[] = {doc->key, doc->title, doc->source, doc->tag, doc->lang, doc->hash};
    for (int i = 0; i < 6; i++)
        bind_str(s, i + 1, strs[i]);
    stmt_bind_i64(s, 7, doc->n_chunks);
    stmt_bind_i64(s, 8, doc->kb_version);
    stmt_bind_dbl(s, 9, doc->updated_at > 0 ? doc->updated_at : fd_time_wall());
    int rc = stmt_step(s);
    int64_t doc_id = 0;
    if (rc == SQLITE_ROW)
        doc_id = stmt_col_i64(s, 0);
    else
        code = store_fail(st, rc, err, "writing document");
    store_release(s, owned);
    if (!code)
        code = clear_chunks(st, doc_id, err);
    if (!code && id)
        *id = doc_id;
    return code;
}

int fd_store_chunk_add(fd_store *st, int64_t doc_id, int ord, const char *section, const char *text,
                       fd_err *err)
{
    store_stmt *s;
    int owned;
    int code = store_acquire(st, STMT_CHUNK_ADD, &s, &owned, err);
    if (code)
        return code;
    stmt_bind_i64(s, 1, doc_id);
    stmt_bind_int(s, 2, ord);
    bind_str(s, 3, section);
    bind_str(s, 4, text);
    int rc = stmt_step(s);
    if (rc != SQLITE_DONE)
        code = store_fail(st, rc, err, "writing chunk");
    store_release(s, owned);
    return code;
}

int fd_store_doc_delete(fd_store *st, const char *key, fd_err *err)
{
    store_stmt *s;
    int owned;
    int code = store_acquire(st, STMT_DOC_DELETE, &s, &owned, err);
    if (code)
        return code;
    bind_str(s, 1, key);
    int rc = stmt_step(s);
    if (rc != SQLITE_DONE)
        code = store_fail(st, rc, err, "deleting document");
    else if (store_changes(st) == 0)
        code = fd_err_set(err, FD_ENOTFOUND, "no document %s", key);
    store_release(s, owned);
    return code;
}

/* ---- iteration ----------------------------------------------------------- */

/* Each iterator steps its statement to the end or until the callback
 * returns non-zero, which is passed back; a database error is an fd_code.
 * A callback may call back into the store: store_acquire hands it a fresh
 * statement when the cached one is the one being iterated. */
static int step_end(fd_store *st, int rc, fd_err *err, const char *what)
{
    return rc == SQLITE_DONE ? FD_OK : store_fail(st, rc, err, what);
}

int fd_store_docs_by_source(fd_store *st, const char *source, int (*cb)(void *ctx, const char *key),
                            void *ctx, fd_err *err)
{
    store_stmt *s;
    int owned;
    int code = store_acquire(st, STMT_DOCS_BY_SOURCE, &s, &owned, err);
    if (code)
        return code;
    bind_str(s, 1, source);
    for (;;) {
        int rc = stmt_step(s);
        if (rc != SQLITE_ROW) {
            code = step_end(st, rc, err, "listing documents by source");
            break;
        }
        code = cb(ctx, col_str(s, 0));
        if (code)
            break;
    }
    store_release(s, owned);
    return code;
}

int fd_store_docs_each(fd_store *st, int (*cb)(void *ctx, const fd_doc_row *doc), void *ctx,
                       fd_err *err)
{
    store_stmt *s;
    int owned;
    int code = store_acquire(st, STMT_DOCS_EACH, &s, &owned, err);
    if (code)
        return code;
    for (;;) {
        int rc = stmt_step(s);
        if (rc != SQLITE_ROW) {
            code = step_end(st, rc, err, "listing documents");
            break;
        }
        fd_doc_row d;
        doc_from_row(s, &d);
        code = cb(ctx, &d);
        if (code)
            break;
    }
    store_release(s, owned);
    return code;
}

int fd_store_chunks_each(fd_store *st, int (*cb)(void *ctx, const fd_chunk_row *c), void *ctx,
                         fd_err *err)
{
    store_stmt *s;
    int owned;
    int code = store_acquire(st, STMT_CHUNKS_EACH, &s, &owned, err);
    if (code)
        return code;
    for (;;) {
        int rc = stmt_step(s);
        if (rc != SQLITE_ROW) {
            code = step_end(st, rc, err, "listing chunks");
            break;
        }
        fd_chunk_row c;
        chunk_from_row(s, &c);
        code = cb(ctx, &c);
        if (code)
            break;
    }
    store_release(s, owned);
    return code;
}
