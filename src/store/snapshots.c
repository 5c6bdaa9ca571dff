/* snapshots.c: index snapshot files kept in the store, so that replicas on
 * PostgreSQL (each with its own disk) build the index of a knowledge-base
 * version once between them (see store.h). The file goes in parts of
 * PART_BYTES, one row each, in one transaction with the row that lists
 * them, written last: a reader finds all of a snapshot or none. */
#include "store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* A part's size: large enough that a 100 MB snapshot is 25 round trips,
 * small enough that a part (hex-escaped in PostgreSQL's text results, so
 * read as twice its size) costs little memory. */
#define PART_BYTES (4u << 20)

static void hex(const unsigned char *d, unsigned n, char *out)
{
    static const char x[] = "0123456789abcdef";
    for (unsigned i = 0; i < n; i++) {
        out[2 * i] = x[d[i] >> 4];
        out[2 * i + 1] = x[d[i] & 15];
    }
    out[2 * n] = '\0';
}

static int exists(fd_store *st, int64_t version, const char *tag, int *yes, fd_err *err)
{
    store_stmt *s = NULL;
    int rc =
        store_stmt_prepare(st, "SELECT 1 FROM kb_snapshots WHERE kb_version = ?1 AND tag = ?2", &s);
    if (rc == SQLITE_OK) {
        stmt_bind_i64(s, 1, version);
        store_bind_str(s, 2, tag);
        rc = stmt_step(s);
    }
    *yes = rc == SQLITE_ROW;
    int code = rc == SQLITE_ROW || rc == SQLITE_DONE ? FD_OK
                                                     : store_fail(st, rc, err, "reading snapshots");
    stmt_finalize(s);
    return code;
}

/* One write: ?1 version, ?2 tag (NULL: none), ?3 part (< 0: none), ?4 data
 * (NULL: none). */
static int write_row(fd_store *st, const char *sql, int64_t version, const char *tag, int64_t part,
                     const void *blob, size_t blen, fd_err *err, const char *what)
{
    store_stmt *s = NULL;
    int rc = store_stmt_prepare(st, sql, &s);
    if (rc == SQLITE_OK) {
        stmt_bind_i64(s, 1, version);
        if (tag)
            store_bind_str(s, 2, tag);
        if (part >= 0)
            stmt_bind_i64(s, 3, part);
        if (blob)
            stmt_bind_blob(s, 4, blob, blen);
        rc = stmt_step(s);
    }
    int code = rc == SQLITE_DONE ? FD_OK : store_fail(st, rc, err, what);
    stmt_finalize(s);
    return code;
}

/* The parts and the listing row, inside the caller's transaction. */
static int put_parts(fd_store *st, int64_t version, const char *tag, FILE *f, fd_err *err)
{
    unsigned char *buf = fd_malloc(PART_BYTES);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!buf || !md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
        fd_free(buf);
        EVP_MD_CTX_free(md);
        return fd_err_set(err, FD_ENOMEM, "store: no memory for a snapshot part");
    }
    int code = FD_OK;
    int64_t parts = 0, bytes = 0;
    size_t n;
    while (!code && (n = fread(buf, 1, PART_BYTES, f)) > 0) {
        EVP_DigestUpdate(md, buf, n);
        code = write_row(st,
                         "INSERT INTO kb_snapshot_parts (kb_version, tag, part, data) "
                         "VALUES (?1, ?2, ?3, ?4)",
                         version, tag, parts, buf, n, err, "writing a snapshot part");
        parts++;
        bytes += (int64_t)n;
    }
    if (!code && ferror(f))
        code = fd_err_set(err, FD_EIO, "reading the index snapshot: %s", strerror(errno));
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned dl = 0;
    char sum[2 * EVP_MAX_MD_SIZE + 1];
    EVP_DigestFinal_ex(md, d, &dl);
    hex(d, dl, sum);
    EVP_MD_CTX_free(md);
    fd_free(buf);
    if (code)
        return code;
    store_stmt *s = NULL;
    int rc = store_stmt_prepare(st,
                                "INSERT INTO kb_snapshots (kb_version, tag, parts, bytes, sha256, "
                                "created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                                &s);
    if (rc == SQLITE_OK) {
        stmt_bind_i64(s, 1, version);
        store_bind_str(s, 2, tag);
        stmt_bind_i64(s, 3, parts);
        stmt_bind_i64(s, 4, bytes);
        store_bind_str(s, 5, sum);
        stmt_bind_dbl(s, 6, fd_time_wall());
        rc = stmt_step(s);
    }
    code = rc == SQLITE_DONE ? FD_OK : store_fail(st, rc, err, "writing the snapshot's row");
    stmt_finalize(s);
    /* Older versions are of no use to anyone any more. */
    if (!code)
        code = write_row(st, "DELETE FROM kb_snapshot_parts WHERE kb_version < ?1", version, NULL,
                         -1, NULL, 0, err, "dropping old snapshots");
    if (!code)
        code = write_row(st, "DELETE FROM kb_snapshots WHERE kb_version < ?1", version, NULL, -1,
                         NULL, 0, err, "dropping old snapshots");
    return code;
}

int fd_store_snapshot_put(fd_store *st, int64_t kb_version, const char *tag, const char *path,
                          fd_err *err)
{
    if (!st || !tag || !path)
        return fd_err_set(err, FD_EINVAL, "store: snapshot_put: missing argument");
    if (st->engine != STORE_PG)
        return FD_OK; /* the snapshot file beside the store is the shared one */
    int yes = 0;
    int code = exists(st, kb_version, tag, &yes, err);
    if (code || yes)
        return code;
    FILE *f = fopen(path, "rb");
    if (!f)
        return fd_err_set(err, FD_EIO, "cannot read %s: %s", path, strerror(errno));
    code = fd_store_begin(st, err);
    if (!code) {
        code = put_parts(st, kb_version, tag, f, err);
        if (!code)
            code = fd_store_commit(st, err);
        if (code) {
            fd_store_rollback(st);
            /* Another replica put the same version meanwhile: it is there. */
            fd_err e2;
            if (exists(st, kb_version, tag, &yes, &e2) == FD_OK && yes)
                code = FD_OK;
        }
    }
    fclose(f);
    return code;
}

/* Appends part i to out and to the digest; *n its length. */
static int get_part(fd_store *st, int64_t version, const char *tag, int64_t i, FILE *out,
                    EVP_MD_CTX *md, int64_t *n, fd_err *err)
{
    store_stmt *s = NULL;
    int rc = store_stmt_prepare(st,
                                "SELECT data FROM kb_snapshot_parts "
                                "WHERE kb_version = ?1 AND tag = ?2 AND part = ?3",
                                &s);
    if (rc == SQLITE_OK) {
        stmt_blob_results(s);
        stmt_bind_i64(s, 1, version);
        store_bind_str(s, 2, tag);
        stmt_bind_i64(s, 3, i);
        rc = stmt_step(s);
    }
    int code = FD_OK;
    if (rc == SQLITE_ROW) {
        const void *p = stmt_col_blob(s, 0);
        int len = stmt_col_bytes(s, 0);
        *n = len;
        if (len > 0 && (!p || fwrite(p, 1, (size_t)len, out) != (size_t)len))
            code = fd_err_set(err, FD_EIO, "writing the fetched snapshot: %s", strerror(errno));
        else if (len > 0)
            EVP_DigestUpdate(md, p, (size_t)len);
    } else if (rc == SQLITE_DONE) {
        code = fd_err_set(err, FD_ENOTFOUND, "snapshot part %lld is gone", (long long)i);
    } else {
        code = store_fail(st, rc, err, "reading a snapshot part");
    }
    stmt_finalize(s);
    return code;
}

int fd_store_snapshot_get(fd_store *st, int64_t kb_version, const char *tag, const char *path,
                          fd_err *err)
{
    if (!st || !tag || !path)
        return fd_err_set(err, FD_EINVAL, "store: snapshot_get: missing argument");
    if (st->engine != STORE_PG)
        return fd_err_set(err, FD_ENOTFOUND, "snapshots are not kept in a SQLite store");
    store_stmt *s = NULL;
    int rc = store_stmt_prepare(st,
                                "SELECT parts, bytes, sha256 FROM kb_snapshots "
                                "WHERE kb_version = ?1 AND tag = ?2",
                                &s);
    if (rc == SQLITE_OK) {
        stmt_bind_i64(s, 1, kb_version);
        store_bind_str(s, 2, tag);
        rc = stmt_step(s);
    }
    int64_t parts = 0, bytes = 0;
    char sum[2 * EVP_MAX_MD_SIZE + 1] = "";
    int code = FD_OK;
    if (rc == SQLITE_ROW) {
        parts = stmt_col_i64(s, 0);
        bytes = stmt_col_i64(s, 1);
        snprintf(sum, sizeof sum, "%s", store_col_str(s, 2));
    } else if (rc == SQLITE_DONE) {
        code = fd_err_set(err, FD_ENOTFOUND, "no snapshot of version %lld in the store",
                          (long long)kb_version);
    } else {
        code = store_fail(st, rc, err, "reading snapshots");
    }
    stmt_finalize(s);
    if (code)
        return code;
    /* A name of its own: two handles of one replica may fetch at once, and
     * neither may write into the file the other renames into place. */
    char tmp[4200];
    if (snprintf(tmp, sizeof tmp, "%s.fetch.XXXXXX", path) >= (int)sizeof tmp)
        return fd_err_set(err, FD_EINVAL, "snapshot path too long");
    int fd = mkostemp(tmp, O_CLOEXEC);
    FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (!f) {
        if (fd >= 0)
            close(fd);
        return fd_err_set(err, FD_EIO, "cannot write %s: %s", tmp, strerror(errno));
    }
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
        code = fd_err_set(err, FD_ENOMEM, "store: no memory");
    int64_t got = 0;
    for (int64_t i = 0; !code && i < parts; i++) {
        int64_t n = 0;
        code = get_part(st, kb_version, tag, i, f, md, &n, err);
        got += n;
    }
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned dl = 0;
    char have[2 * EVP_MAX_MD_SIZE + 1] = "";
    if (md) {
        EVP_DigestFinal_ex(md, d, &dl);
        hex(d, dl, have);
        EVP_MD_CTX_free(md);
    }
    if (!code && (got != bytes || strcmp(have, sum) != 0))
        code = fd_err_set(err, FD_EIO,
                          "the stored snapshot of version %lld is damaged "
                          "(%lld of %lld bytes, checksum %s)",
                          (long long)kb_version, (long long)got, (long long)bytes,
                          strcmp(have, sum) ? "differs" : "matches");
    if (fflush(f) != 0 || fsync(fileno(f)) != 0)
        code = code ? code : fd_err_set(err, FD_EIO, "writing %s: %s", tmp, strerror(errno));
    fclose(f);
    if (!code && rename(tmp, path) != 0)
        code = fd_err_set(err, FD_EIO, "cannot rename %s: %s", tmp, strerror(errno));
    if (code)
        unlink(tmp);
    return code;
}
