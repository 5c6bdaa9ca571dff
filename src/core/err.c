/* err.c: the error convention: a code plus a message in a fixed buffer. */
#include "core.h"

#include <string.h>

static int err_vset(fd_err *err, int code, const char *field, const char *fmt, va_list ap)
{
    if (!err)
        return code;
    err->code = code;
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    snprintf(err->field, sizeof err->field, "%s", field ? field : "");
    return code;
}

int fd_err_set(fd_err *err, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err_vset(err, code, NULL, fmt, ap);
    va_end(ap);
    return code;
}

int fd_err_set_field(fd_err *err, int code, const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err_vset(err, code, field, fmt, ap);
    va_end(ap);
    return code;
}

void fd_err_clear(fd_err *err)
{
    if (err)
        memset(err, 0, sizeof *err);
}

const char *fd_code_name(int code)
{
    static const char *const names[FD__NCODES] = {
        [FD_OK] = "ok",
        [FD_EINVAL] = "invalid",
        [FD_ENOMEM] = "no_memory",
        [FD_ETOOBIG] = "too_big",
        [FD_ENOTFOUND] = "not_found",
        [FD_EIO] = "io",
        [FD_ETIMEOUT] = "timeout",
        [FD_EUPSTREAM] = "upstream",
        [FD_EUNAVAIL] = "unavailable",
        [FD_ECONFLICT] = "conflict",
        [FD_EUTF8] = "invalid_utf8",
        [FD_EFORMAT] = "bad_format",
        [FD_EINTERNAL] = "internal",
    };
    if (code < 0 || code >= FD__NCODES)
        return "unknown";
    return names[code];
}

fd_str fd_str_c(const char *s)
{
    fd_str r = {s ? s : "", s ? strlen(s) : 0};
    return r;
}

int fd_str_eq(fd_str a, fd_str b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

/* One pass that stops at the first difference: word lists are compared a
 * word at a time (dates, entities), and strlen of each entry first was a
 * tenth of a cached turn (perf, issue 13). */
int fd_str_eq_c(fd_str a, const char *s)
{
    size_t i = 0;
    for (; i < a.len; i++)
        if (!s[i] || s[i] != a.p[i])
            return 0;
    return s[i] == '\0';
}
