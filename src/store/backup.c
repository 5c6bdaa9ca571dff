/* backup.c: an online, consistent copy of the store, and putting one back
 * (issue 17: data care). SQLite's backup API copies page by page while the
 * server keeps running (WAL readers and the writer are not blocked for
 * long; a write during the copy restarts it, as the API does). The copy is
 * checked (integrity_check) before it is reported good, and created 0600:
 * it holds the customers' conversations. Restore checks the file first
 * (a SQLite database, intact, of a schema this build knows) and then copies
 * it over the store in one step: nothing is half restored. */
#include "store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* integrity_check and user_version of an open database. */
static int check_db(sqlite3 *db, const char *path, int *version, fd_err *err)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &s, NULL);
    const char *verdict = NULL;
    if (rc == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
        verdict = (const char *)sqlite3_column_text(s, 0);
    int ok = verdict && strcmp(verdict, "ok") == 0;
    char first[160];
    snprintf(first, sizeof first, "%s", verdict ? verdict : sqlite3_errmsg(db));
    sqlite3_finalize(s);
    if (!ok)
        return fd_err_set(err, FD_EFORMAT, "%s is not an intact frontdesk store: %s", path, first);
    *version = -1;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        *version = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    return FD_OK;
}

/* Copies src into dst with the backup API, all pages in one step. */
static int copy_db(sqlite3 *dst, sqlite3 *src, fd_err *err, const char *what)
{
    sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
    if (!b)
        return fd_err_set(err, FD_EIO, "%s: %s", what, sqlite3_errmsg(dst));
    int rc;
    do {
        rc = sqlite3_backup_step(b, -1);
        if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
            sqlite3_sleep(50);
    } while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
    int frc = sqlite3_backup_finish(b);
    if (rc != SQLITE_DONE || frc != SQLITE_OK)
        return fd_err_set(err, rc == SQLITE_FULL ? FD_EIO : FD_EIO, "%s: %s", what,
                          sqlite3_errstr(rc != SQLITE_DONE ? rc : frc));
    return FD_OK;
}

/* PostgreSQL has its own online backups, consistent and incremental
 * (pg_dump, pg_basebackup, WAL archiving): frontdesk does not copy one. */
static int pg_refuses(fd_store *st, const char *what, fd_err *err)
{
    if (st->engine != STORE_PG)
        return FD_OK;
    return fd_err_set(err, FD_EINVAL,
                      "the store is on PostgreSQL (store.url): %s it with PostgreSQL's tools "
                      "(pg_dump / pg_restore, or pg_basebackup)",
                      what);
}

int fd_store_backup(fd_store *st, const char *path, fd_err *err)
{
    int prc = pg_refuses(st, "back up", err);
    if (prc)
        return prc;
    /* A new file only: a backup never overwrites one. */
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return fd_err_set(err, errno == EEXIST ? FD_ECONFLICT : FD_EIO, "%s: %s", path,
                          errno == EEXIST ? "already exists (a backup never overwrites)"
                                          : strerror(errno));
    close(fd);
    sqlite3 *dst = NULL;
    int rc = sqlite3_open_v2(path, &dst, SQLITE_OPEN_READWRITE, NULL);
    int code = rc == SQLITE_OK ? copy_db(dst, st->db, err, "backup")
                               : fd_err_set(err, FD_EIO, "%s: %s", path, sqlite3_errstr(rc));
    int version;
    if (!code)
        code = check_db(dst, path, &version, err);
    sqlite3_close_v2(dst);
    if (code)
        unlink(path); /* no half a backup left to be trusted */
    return code;
}

int fd_store_restore(fd_store *st, const char *path, fd_err *err)
{
    int prc = pg_refuses(st, "restore", err);
    if (prc)
        return prc;
    struct stat sb;
    if (stat(path, &sb) != 0)
        return fd_err_set(err, FD_ENOTFOUND, "%s: %s", path, strerror(errno));
    sqlite3 *src = NULL;
    int rc = sqlite3_open_v2(path, &src, SQLITE_OPEN_READONLY, NULL);
    if (rc != SQLITE_OK) {
        sqlite3_close_v2(src);
        return fd_err_set(err, FD_EFORMAT, "%s: %s", path, sqlite3_errstr(rc));
    }
    int version = -1;
    int code = check_db(src, path, &version, err);
    if (!code && (version < 1 || version > fd_store_schema_latest()))
        code = fd_err_set(err, FD_EFORMAT, "%s has schema version %d; this build reads 1 to %d",
                          path, version, fd_store_schema_latest());
    if (!code)
        code = copy_db(st->db, src, err, "restore");
    sqlite3_close_v2(src);
    /* An older backup is brought to this build's schema. */
    if (!code)
        code = store_migrate(st, err);
    return code;
}
