/* scopes.c: the names of key scopes and what each allows. */
#include "auth_int.h"

#include <string.h>

static const struct {
    const char *name;
    unsigned bit;
} scope_names[] = {
    {"chat", FD_SCOPE_CHAT},
    {"ingest", FD_SCOPE_INGEST},
    {"operator", FD_SCOPE_OPERATOR},
    {"admin", FD_SCOPE_ADMIN},
    {"orders", FD_SCOPE_ORDERS},
};
#define N_SCOPES (sizeof scope_names / sizeof scope_names[0])

static int is_space(char c)
{
    return c == ' ' || c == '\t';
}

int fd_scopes_parse(const char *s, unsigned *out, fd_err *err)
{
    *out = 0;
    if (!s)
        return fd_err_set_field(err, FD_EINVAL, "scope", "no scope given");
    unsigned bits = 0;
    const char *p = s;
    for (;;) {
        const char *end = strchr(p, ',');
        if (!end)
            end = p + strlen(p);
        const char *a = p, *b = end;
        while (a < b && is_space(*a))
            a++;
        while (b > a && is_space(b[-1]))
            b--;
        if (b > a) {
            size_t n = (size_t)(b - a);
            unsigned bit = 0;
            for (size_t i = 0; i < N_SCOPES && !bit; i++)
                if (strlen(scope_names[i].name) == n && memcmp(scope_names[i].name, a, n) == 0)
                    bit = scope_names[i].bit;
            if (!bit)
                return fd_err_set_field(err, FD_EINVAL, "scope",
                                        "unknown scope '%.*s' (known: chat, ingest, operator, "
                                        "admin)",
                                        n > 40 ? 40 : (int)n, a);
            bits |= bit;
        }
        if (!*end)
            break;
        p = end + 1;
    }
    if (!bits)
        return fd_err_set_field(err, FD_EINVAL, "scope",
                                "no scope given (chat, ingest, operator, admin)");
    *out = bits;
    return FD_OK;
}

void fd_scopes_format(unsigned scopes, char *buf, size_t size)
{
    if (!size)
        return;
    buf[0] = '\0';
    size_t len = 0;
    for (size_t i = 0; i < N_SCOPES; i++) {
        if (!(scopes & scope_names[i].bit))
            continue;
        int n = snprintf(buf + len, size - len, "%s%s", len ? "," : "", scope_names[i].name);
        if (n < 0 || (size_t)n >= size - len) {
            /* Never leave half a name: cut back to the last whole one. */
            buf[len] = '\0';
            return;
        }
        len += (size_t)n;
    }
}

int fd_scopes_allow(unsigned have, unsigned need)
{
    if (have & FD_SCOPE_ADMIN)
        return 1;
    return (have & need) == need;
}
