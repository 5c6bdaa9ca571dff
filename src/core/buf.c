/* buf.c: growable byte buffer with a hard cap (curl's dynbuf), plus the
 * small file helpers that use it. */
#include "core.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_MAX ((size_t)1 << 30)

void fd_buf_init(fd_buf *b, size_t max)
{
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max ? max : DEFAULT_MAX;
}

static int buf_reserve(fd_buf *b, size_t extra)
{
    if (extra > b->max || b->len + extra > b->max)
        return FD_ETOOBIG;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return FD_OK;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    if (cap > b->max + 1)
        cap = b->max + 1;
    char *p = fd_realloc(b->p, cap);
    if (!p)
        return FD_ENOMEM;
    b->p = p;
    b->cap = cap;
    return FD_OK;
}

int fd_buf_append(fd_buf *b, const void *p, size_t n)
{
    int rc = buf_reserve(b, n);
    if (rc)
        return rc;
    if (n)
        memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = '\0';
    return FD_OK;
}

int fd_buf_putc(fd_buf *b, char c)
{
    return fd_buf_append(b, &c, 1);
}

int fd_buf_vprintf(fd_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return FD_EINVAL;
    int rc = buf_reserve(b, (size_t)n);
    if (rc)
        return rc;
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return FD_OK;
}

int fd_buf_printf(fd_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = fd_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

/* Length of the well-formed UTF-8 sequence at p (lead byte >= 0x80), 0 if
 * it is not one: overlong forms, surrogates and code points past U+10FFFF
 * are ill-formed too (RFC 3629). */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    unsigned char c = p[0], lo = 0x80, hi = 0xbf;
    size_t k;
    if (c >= 0xc2 && c <= 0xdf) {
        k = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        k = 3;
        lo = c == 0xe0 ? 0xa0 : lo;
        hi = c == 0xed ? 0x9f : hi;
    } else if (c >= 0xf0 && c <= 0xf4) {
        k = 4;
        lo = c == 0xf0 ? 0x90 : lo;
        hi = c == 0xf4 ? 0x8f : hi;
    } else {
        return 0;
    }
    if (n < k || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t j = 2; j < k; j++)
        if (p[j] < 0x80 || p[j] > 0xbf)
            return 0;
    return k;
}

int fd_buf_minor(fd_buf *b, int64_t minor)
{
    /* unsigned: INT64_MIN has no positive twin */
    uint64_t a = minor < 0 ? (uint64_t)0 - (uint64_t)minor : (uint64_t)minor;
    return fd_buf_printf(b, "%s%llu.%02llu", minor < 0 ? "-" : "", (unsigned long long)(a / 100),
                         (unsigned long long)(a % 100));
}

int fd_buf_json_str(fd_buf *b, const char *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    int rc = fd_buf_putc(b, '"');
    size_t start = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c >= 0x80) {
            /* Ill-formed bytes (a path id, an upstream's text) become U+FFFD:
             * JSON must be UTF-8, and strict parsers reject the whole body. */
            size_t k = utf8_len((const unsigned char *)p + i, n - i);
            if (k) {
                i += k - 1;
                continue;
            }
        } else if (c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&') {
            /* '<' '>' '&' escaped too: the JSON may land inside HTML. */
            continue;
        }
        rc = fd_buf_append(b, p + start, i - start);
        if (rc)
            break;
        char esc[7] = {'\\', 0};
        switch (c) {
        case '"':
            esc[1] = '"';
            break;
        case '\\':
            esc[1] = '\\';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        default:
            esc[1] = 'u';
            esc[2] = c >= 0x80 ? 'f' : '0';
            esc[3] = c >= 0x80 ? 'f' : '0';
            esc[4] = c >= 0x80 ? 'f' : hex[c >> 4];
            esc[5] = c >= 0x80 ? 'd' : hex[c & 15];
        }
        rc = fd_buf_append(b, esc, esc[1] == 'u' ? 6 : 2);
        start = i + 1;
    }
    if (!rc)
        rc = fd_buf_append(b, p + start, n - start);
    if (!rc)
        rc = fd_buf_putc(b, '"');
    return rc;
}

char *fd_buf_take(fd_buf *b)
{
    char *p = b->p;
    if (!p)
        p = fd_strndup("", 0);
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
    return p;
}

void fd_buf_reset(fd_buf *b)
{
    b->len = 0;
    if (b->p)
        b->p[0] = '\0';
}

void fd_buf_free(fd_buf *b)
{
    FD_FREE(b->p);
    b->len = 0;
    b->cap = 0;
}

int fd_file_read(const char *path, size_t max, char **out, size_t *len, fd_err *err)
{
    *out = NULL;
    *len = 0;
    if (!max)
        max = DEFAULT_MAX;
    FILE *f = fopen(path, "rb");
    if (!f)
        return fd_err_set(err, errno == ENOENT ? FD_ENOTFOUND : FD_EIO, "%s: %s", path,
                          strerror(errno));
    fd_buf b;
    fd_buf_init(&b, max);
    char tmp[65536];
    int rc = FD_OK;
    for (;;) {
        size_t n = fread(tmp, 1, sizeof tmp, f);
        if (n) {
            rc = fd_buf_append(&b, tmp, n);
            if (rc) {
                fd_err_set(err, rc, "%s: %s", path,
                           rc == FD_ETOOBIG ? "file is larger than the limit" : "out of memory");
                break;
            }
        }
        if (n < sizeof tmp) {
            if (ferror(f))
                rc = fd_err_set(err, FD_EIO, "%s: read error: %s", path, strerror(errno));
            break;
        }
    }
    fclose(f);
    if (rc) {
        fd_buf_free(&b);
        return rc;
    }
    *len = b.len;
    *out = fd_buf_take(&b);
    return *out ? FD_OK : fd_err_set(err, FD_ENOMEM, "out of memory");
}

int fd_mkdirs(const char *path, fd_err *err)
{
    char tmp[1024];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof tmp)
        return fd_err_set(err, FD_EINVAL, "bad directory path");
    memcpy(tmp, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (tmp[i] != '/' && tmp[i] != '\0')
            continue;
        char c = tmp[i];
        tmp[i] = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
            return fd_err_set(err, FD_EIO, "cannot create %s: %s", tmp, strerror(errno));
        tmp[i] = c;
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return fd_err_set(err, FD_EIO, "%s is not a directory", path);
    return FD_OK;
}

int fd_file_write_atomic(const char *path, const void *p, size_t len, fd_err *err)
{
    char tmp[4200];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= sizeof tmp)
        return fd_err_set(err, FD_EINVAL, "path too long: %s", path);
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return fd_err_set(err, FD_EIO, "cannot create %s: %s", tmp, strerror(errno));
    int rc = FD_OK;
    if (fwrite(p, 1, len, f) != len || fflush(f) || fsync(fileno(f)))
        rc = fd_err_set(err, FD_EIO, "cannot write %s: %s", tmp, strerror(errno));
    if (fclose(f) && !rc)
        rc = fd_err_set(err, FD_EIO, "cannot write %s: %s", tmp, strerror(errno));
    if (!rc && rename(tmp, path))
        rc = fd_err_set(err, FD_EIO, "cannot rename to %s: %s", path, strerror(errno));
    if (rc)
        unlink(tmp);
    return rc;
}
