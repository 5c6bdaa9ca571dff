/* documents.c: POST /v1/documents and DELETE /v1/documents/{id}. An upload
 * is kept under <data_dir>/uploads/<id> and ingested as `frontdesk ingest`
 * would, keyed exactly by the id the client chose; then the server reloads. */
#include "http_int.h"

#include "ingest.h"
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DELETE_ID_MAX 1000

/* Its fields (http_upload, parse.c) point into the request's body or query,
 * or into u.j, which lives until the answer. */
typedef http_upload upload;

typedef struct parse_count {
    fd_arena *a;
    size_t n;
} parse_count;

static int count_doc(void *ctx, const fd_doc *doc)
{
    (void)doc;
    parse_count *c = ctx;
    c->n++;
    fd_arena_reset(c->a); /* the loaders allow it: one document's worth at a time */
    return 0;
}

/* Parses the content as ingest will, before anything is written: a bad
 * upload is a 422 that leaves the store and the old version alone, and a
 * CSV with bad rows is refused whole rather than half taken. */
static int upload_parse(request *r, const upload *u, enum MHD_Result *res)
{
    parse_count c = {fd_arena_new((size_t)256 << 20), 0};
    if (!c.a) {
        *res = http_send_error(r, 500, "internal", "out of memory", NULL);
        return 0;
    }
    size_t n_bad = 0;
    fd_err err = {0};
    int rc = fd_ingest_parse(u->id, u->fmt, u->p, u->len, c.a, count_doc, &c, &n_bad, &err);
    fd_arena_free(c.a);
    if (rc == FD_ENOMEM || rc == FD_ETOOBIG || rc == FD_EIO) {
        *res = http_send_err(r, &err);
        return 0;
    }
    if (rc == FD_EUTF8) {
        *res = http_send_error(r, 400, "invalid_utf8", err.msg, "content");
        return 0;
    }
    if (!rc && n_bad)
        rc = FD_EINVAL; /* err holds the first bad row */
    if (!rc && c.n == 0)
        rc = fd_err_set(&err, FD_EINVAL, "%s: no documents (a CSV needs data rows)", u->id);
    if (rc) {
        *res = http_send_error(r, 422, "invalid_document", err.msg, "content");
        return 0;
    }
    return 1;
}

/* ---- files ------------------------------------------------------------------- */

/* <data_dir>/uploads[/<rest>] into out; 0 when it does not fit. */
static int upload_path(const fd_server *s, const char *rest, char *out, size_t size)
{
    int n =
        snprintf(out, size, "%s/uploads%s%s", s->cfg->data_dir, rest ? "/" : "", rest ? rest : "");
    return n > 0 && (size_t)n < size;
}

/* Creates the folders above path (mkdir -p of its dirname). */
static int mkdirs_above(const char *path, fd_err *err)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    return fd_mkdirs(dir, err);
}

/* FD_ECONFLICT when keeping the file at uploads/<id> would need a folder
 * where a file is, or a file where a folder is ("a" vs "a/b.md"). */
static int check_place(const fd_server *s, const char *id, fd_err *err)
{
    char path[1024];
    struct stat st;
    for (const char *slash = strchr(id, '/'); slash; slash = strchr(slash + 1, '/')) {
        char prefix[HTTP_UPLOAD_ID_MAX + 1];
        snprintf(prefix, sizeof prefix, "%.*s", (int)(slash - id), id);
        if (upload_path(s, prefix, path, sizeof path) && stat(path, &st) == 0 &&
            !S_ISDIR(st.st_mode))
            return fd_err_set_field(err, FD_ECONFLICT, "id",
                                    "id '%s' would nest under the document '%s'", id, prefix);
    }
    if (upload_path(s, id, path, sizeof path) && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return fd_err_set_field(err, FD_ECONFLICT, "id",
                                "id '%s' is a folder of uploaded documents", id);
    return FD_OK;
}

/* Writes the whole content to a new 0600 file and syncs it. */
static int write_file(const char *path, const char *p, size_t len, fd_err *err)
{
    int rc = mkdirs_above(path, err);
    if (rc)
        return rc;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return fd_err_set(err, FD_EIO, "cannot create %s: %s", path, strerror(errno));
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            rc = fd_err_set(err, FD_EIO, "cannot write %s: %s", path,
                            w < 0 ? strerror(errno) : "no progress");
            break;
        }
        p += w;
        len -= (size_t)w;
    }
    /* Synced before the rename that publishes it, so a crash cannot leave
     * the final name pointing at a partial file. */
    if (!rc && fsync(fd) != 0)
        rc = fd_err_set(err, FD_EIO, "cannot sync %s: %s", path, strerror(errno));
    close(fd);
    if (rc)
        unlink(path);
    return rc;
}

/* Removes the folders above path that are now empty, up to (not
 * including) the root_len first bytes; path is clobbered. */
static void prune_dirs(char *path, size_t root_len)
{
    for (char *slash = strrchr(path, '/'); slash && (size_t)(slash - path) > root_len;
         slash = strrchr(path, '/')) {
        *slash = '\0';
        if (rmdir(path) != 0)
            break; /* not empty: other documents live there */
    }
}

/* Removes uploads/<id> and the folders it leaves empty (best effort: the
 * index, not this copy, is what answers). */
static void remove_copy(fd_server *s, const char *id)
{
    char path[1024], root[1024];
    if (!upload_path(s, id, path, sizeof path) || !upload_path(s, NULL, root, sizeof root))
        return;
    if (unlink(path) != 0 && errno != ENOENT)
        FD_LOG(s->log, FD_LOG_WARN, "http", "cannot remove %s: %s", path, strerror(errno));
    prune_dirs(path, strlen(root));
}

/* ---- POST /v1/documents --------------------------------------------------------- */

typedef struct skip_note {
    fd_err first;
    size_t n;
} skip_note;

static void on_skip(void *ctx, const char *path, const fd_err *why)
{
    (void)path;
    skip_note *k = ctx;
    if (k->n++ == 0)
        k->first = *why;
}

/* What the id now holds: documents, chunks, the first title. */
typedef struct stored {
    size_t n_docs;
    int64_t n_chunks;
    const char *title;
    int64_t kb_version;
} stored;

static int collect_key(void *ctx, const char *key)
{
    return fd_buf_append(ctx, key, strlen(key) + 1);
}

static int describe(fd_kb *kb, const char *id, fd_arena *a, stored *out, fd_err *err)
{
    fd_store *st = fd_kb_store(kb);
    fd_buf keys;
    fd_buf_init(&keys, 0);
    fd_arena *tmp = fd_arena_new((size_t)1 << 20);
    int rc = tmp ? fd_store_docs_by_source(st, id, collect_key, &keys, err)
                 : fd_err_set(err, FD_ENOMEM, "out of memory");
    memset(out, 0, sizeof *out);
    out->title = id;
    for (size_t off = 0; !rc && off < keys.len; off += strlen(keys.p + off) + 1) {
        fd_doc_row row;
        fd_arena_reset(tmp);
        rc = fd_store_doc_get(st, keys.p + off, tmp, &row, err);
        if (rc)
            break;
        out->n_chunks += row.n_chunks;
        if (out->n_docs++ == 0)
            out->title = fd_arena_strndup(a, row.title, strlen(row.title));
        if (!out->title)
            rc = fd_err_set(err, FD_ENOMEM, "out of memory");
    }
    if (!rc && out->n_docs > 1)
        out->title = id; /* a CSV: its rows have titles of their own */
    if (!rc)
        rc = fd_kb_version(kb, &out->kb_version, err);
    fd_arena_free(tmp);
    fd_buf_free(&keys);
    return rc;
}

typedef struct outcome {
    int status; /* 0: success, else the HTTP status to send err with */
    int replaced;
    stored st;
} outcome;

/* Staged copy -> ingest -> published copy -> reload, under the write lock. */
static int store_upload(request *r, const upload *u, outcome *o, fd_err *err)
{
    fd_server *s = r->srv;
    char root[1024], staged[1024], final[1024];
    /* The staging folder mirrors uploads/, so its prefix is the key root and
     * the key is exactly the id. Hidden: a folder ingest never walks into it. */
    int n = snprintf(root, sizeof root, "%s/uploads/.staging/", s->cfg->data_dir);
    if (n <= 0 || (size_t)n >= sizeof root ||
        snprintf(staged, sizeof staged, "%s%s", root, u->id) >= (int)sizeof staged ||
        !upload_path(s, u->id, final, sizeof final)) {
        o->status = 422;
        return fd_err_set_field(err, FD_EINVAL, "id", "id too long for the data folder");
    }
    int rc = check_place(s, u->id, err);
    if (rc) {
        o->status = 409;
        return rc;
    }
    /* Private before fd_mkdirs makes it 0755: the ids are customer data. */
    char top[1024];
    if (upload_path(s, NULL, top, sizeof top) && mkdir(top, 0700) != 0 && errno != EEXIST)
        FD_LOG(s->log, FD_LOG_WARN, "http", "cannot create %s: %s", top, strerror(errno));
    rc = write_file(staged, u->p, u->len, err);
    if (rc) {
        o->status = 503;
        return rc;
    }
    skip_note skips = {0};
    fd_kb_ingest_opts opts = {.on_skip = on_skip,
                              .ctx = &skips,
                              .key_root = root,
                              .format = u->fmt,
                              .tag = u->tag,
                              .title = u->title};
    fd_kb_ingest_report rep;
    const char *paths[] = {staged};
    fd_kb *kb = http_kb_get(s);
    int64_t before = fd_kb_loaded_version(kb);
    rc = fd_kb_ingest(kb, paths, 1, &opts, &rep, err);
    if (!rc && rep.files == 0) {
        /* Parsed fine a moment ago: only a read failure gets here. */
        *err = skips.first;
        rc = err->code ? err->code : fd_err_set(err, FD_EIO, "%s: not ingested", u->id);
    }
    /* An earlier upload may have committed its document and then failed
     * to write the index (it answered 503): its retry finds the document
     * unchanged, and must still bring the index up to the store, or the
     * document stays unsearchable until a reload (issue 17 item 6). */
    if (!rc)
        rc = fd_kb_refresh(kb, err);
    int stale = fd_kb_loaded_version(kb) != before;
    if (!rc)
        rc = describe(kb, u->id, r->a, &o->st, err);
    http_kb_put(s, kb);
    if (rc) {
        unlink(staged);
        prune_dirs(staged, strlen(root) - 1);
        o->status = rc == FD_ENOMEM ? 500 : 503;
        return rc;
    }
    o->replaced = rep.changed || rep.unchanged || rep.removed;
    fd_err ferr;
    rc = mkdirs_above(final, &ferr);
    if (!rc && rename(staged, final) != 0)
        rc = fd_err_set(&ferr, FD_EIO, "rename to %s: %s", final, strerror(errno));
    if (rc) {
        unlink(staged);
        FD_LOG(s->log, FD_LOG_WARN, "http", "upload %s indexed, but its copy was not kept: %s",
               u->id, ferr.msg);
    }
    prune_dirs(staged, strlen(root) - 1);
    if (rep.added || rep.changed || rep.removed || stale) {
        fd_err rerr;
        if (http_reload_locked(s, &rerr) != FD_OK)
            FD_LOG(s->log, FD_LOG_ERROR, "http", "reload after upload %s: %s", u->id, rerr.msg);
    }
    return FD_OK;
}

/* An upload between its checks (request thread) and its answer (after
 * the writer ran it: writer.c). The upload's fields point into the
 * request's body or j, which live until the answer. */
typedef struct upload_job {
    upload u; /* u.j: the JSON body, freed at the answer */
    outcome o;
    int answered;
} upload_job;

static void upload_drop(void *arg)
{
    upload_job *uj = arg;
    json_decref(uj->u.j);
    uj->u.j = NULL;
}

/* Administrative writes go to the audit log; a failed audit write is
 * logged and counted, not a reason to refuse a write already made. */
static void audit(request *r, const char *action, const char *target, const char *detail)
{
    fd_kb *kb = http_kb_get(r->srv);
    fd_err err = {0};
    if (fd_store_audit_add(fd_kb_store(kb), http_key_label(r), action, target, detail, &err)) {
        fd_metric_add(r->srv->m.errors, 1, "audit_log");
        FD_LOG(r->srv->log, FD_LOG_ERROR, "http", "audit log: %s", err.msg);
    }
    http_kb_put(r->srv, kb);
}

static int upload_run(request *r, void *arg, fd_err *err)
{
    upload_job *uj = arg;
    int rc = store_upload(r, &uj->u, &uj->o, err);
    if (!rc)
        audit(r, uj->o.replaced ? "document.replace" : "document.add", uj->u.id, "");
    return rc;
}

static enum MHD_Result upload_respond(request *r, void *arg, int rc, const fd_err *err_in)
{
    upload_job *uj = arg;
    const upload *u = &uj->u;
    const outcome *o = &uj->o;
    fd_err err = *err_in;
    enum MHD_Result res;
    uj->answered = 1;
    if (rc) {
        json_decref(uj->u.j);
        if (o->status == 422)
            return http_send_error(r, 422, "invalid_field", err.msg, err.field);
        if (o->status == 409)
            return http_send_error(r, 409, "conflict", err.msg, err.field);
        if (o->status == 503 && err.code != FD_EIO && err.code != FD_EUNAVAIL)
            err.code = FD_EUNAVAIL; /* the store refused: worth a retry */
        return http_send_err(r, &err);
    }
    FD_LOG(r->srv->log, FD_LOG_INFO, "http", "document %s %s: %zu docs, %lld chunks, version %lld",
           u->id, o->replaced ? "replaced" : "added", o->st.n_docs, (long long)o->st.n_chunks,
           (long long)o->st.kb_version);
    fd_buf b;
    fd_buf_init(&b, 0);
    int brc = fd_buf_printf(&b, "{\"id\":");
    brc = brc ? brc : fd_buf_json_str(&b, u->id, strlen(u->id));
    brc = brc ? brc : fd_buf_printf(&b, ",\"title\":");
    brc = brc ? brc : fd_buf_json_str(&b, o->st.title, strlen(o->st.title));
    brc = brc ? brc
              : fd_buf_printf(&b,
                              ",\"documents\":%zu,\"chunks\":%lld,\"kb_version\":%lld,"
                              "\"replaced\":%s}",
                              o->st.n_docs, (long long)o->st.n_chunks, (long long)o->st.kb_version,
                              o->replaced ? "true" : "false");
    /* 201 for a new id, 200 when it replaced what the id held. */
    res = brc ? http_send_error(r, 500, "internal", "out of memory", NULL)
              : http_send_json(r, o->replaced ? 200 : 201, &b);
    fd_buf_free(&b);
    json_decref(uj->u.j); /* u's strings pointed into it */
    return res;
}

enum MHD_Result http_post_document(request *r)
{
    enum MHD_Result res;
    if (!http_auth(r, FD_SCOPE_INGEST, &res))
        return res;
    if (r->body_too_big)
        return http_send_413(r);
    upload u;
    http_perr pe;
    int rc = http_content_type_is(r, "application/json")
                 ? http_parse_upload_json(r->body.p, r->body.len, r->a, &u, &pe)
                 : http_parse_upload_raw(
                       MHD_lookup_connection_value(r->con, MHD_HEADER_KIND, "Content-Type"),
                       MHD_lookup_connection_value(r->con, MHD_GET_ARGUMENT_KIND, "id"),
                       MHD_lookup_connection_value(r->con, MHD_GET_ARGUMENT_KIND, "tag"),
                       MHD_lookup_connection_value(r->con, MHD_GET_ARGUMENT_KIND, "title"),
                       r->body.p, r->body.len, &u, &pe);
    rc = rc ? rc : http_upload_check(&u, &pe);
    if (rc) {
        json_decref(u.j);
        return http_send_perr(r, &pe);
    }
    if (!upload_parse(r, &u, &res)) {
        json_decref(u.j);
        return res;
    }
    upload_job *uj = fd_arena_calloc(r->a, 1, sizeof *uj);
    if (!uj) {
        json_decref(u.j);
        return http_send_error(r, 500, "internal", "out of memory", NULL);
    }
    uj->u = u;
    res = http_writer_submit(r, upload_run, upload_respond, upload_drop, uj);
    if (!r->job && !uj->answered)
        json_decref(uj->u.j); /* refused before queueing (shutting down) */
    return res;
}

/* ---- DELETE /v1/documents/{id} ---------------------------------------------------- */

typedef struct delete_job {
    const char *id;
    size_t n_removed;
    int64_t version;
} delete_job;

static int delete_run(request *r, void *arg, fd_err *err)
{
    delete_job *dj = arg;
    fd_server *s = r->srv;
    fd_kb *kb = http_kb_get(s);
    int rc = fd_kb_remove(kb, dj->id, &dj->n_removed, err);
    if (!rc)
        rc = fd_kb_version(kb, &dj->version, err);
    http_kb_put(s, kb);
    if (!rc) {
        audit(r, "document.delete", dj->id, "");
        if (!http_upload_id_problem(dj->id))
            remove_copy(s, dj->id);
        fd_err rerr;
        if (http_reload_locked(s, &rerr) != FD_OK)
            FD_LOG(s->log, FD_LOG_ERROR, "http", "reload after delete %s: %s", dj->id, rerr.msg);
    }
    return rc;
}

static enum MHD_Result delete_respond(request *r, void *arg, int rc, const fd_err *err)
{
    delete_job *dj = arg;
    if (rc == FD_ENOTFOUND) {
        char msg[160];
        snprintf(msg, sizeof msg, "no document '%.100s'", dj->id);
        return http_send_error(r, 404, "not_found", msg, "id");
    }
    if (rc)
        return http_send_err(r, err);
    fd_buf b;
    fd_buf_init(&b, 0);
    int brc = fd_buf_printf(&b, "{\"deleted\":true,\"id\":");
    brc = brc ? brc : fd_buf_json_str(&b, dj->id, strlen(dj->id));
    brc = brc ? brc
              : fd_buf_printf(&b, ",\"documents\":%zu,\"kb_version\":%lld}", dj->n_removed,
                              (long long)dj->version);
    enum MHD_Result res = brc ? http_send_error(r, 500, "internal", "out of memory", NULL)
                              : http_send_json(r, 200, &b);
    fd_buf_free(&b);
    return res;
}

enum MHD_Result http_document_route(request *r, const char *id)
{
    enum MHD_Result res;
    if (!id[0])
        return http_send_error(r, 404, "not_found", "no such endpoint", NULL);
    if (strcmp(r->method, "DELETE") != 0)
        return http_send_405(r, "DELETE");
    if (!http_auth(r, FD_SCOPE_INGEST, &res))
        return res;
    /* Any stored key may go (CLI-ingested ones and CSV rows "file#sku"
     * too); only ids safe as paths name an uploaded copy to remove. */
    size_t n = strlen(id);
    if (n > DELETE_ID_MAX || !fd_utf8_valid(id, n, NULL))
        return http_send_error(r, 422, "invalid_field", "id must be 1..1000 bytes of UTF-8", "id");
    delete_job *dj = fd_arena_calloc(r->a, 1, sizeof *dj);
    if (dj)
        dj->id = fd_arena_strndup(r->a, id, n);
    if (!dj || !dj->id)
        return http_send_error(r, 500, "internal", "out of memory", NULL);
    return http_writer_submit(r, delete_run, delete_respond, NULL, dj);
}

static int rm_staged(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    if (ftw->level > 0)
        remove(path);
    return 0;
}

void http_documents_clean_staging(fd_server *s)
{
    char dir[1024];
    int n = snprintf(dir, sizeof dir, "%s/uploads/.staging", s->cfg->data_dir);
    struct stat st;
    if (n <= 0 || (size_t)n >= sizeof dir || stat(dir, &st) != 0)
        return;
    if (nftw(dir, rm_staged, 16, FTW_DEPTH | FTW_PHYS) != 0)
        FD_LOG(s->log, FD_LOG_WARN, "http", "cannot clean %s: %s", dir, strerror(errno));
}
