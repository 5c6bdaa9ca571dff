/* price.c: the per-model price table "model=in/out;..." (USD per million
 * prompt / completion tokens). The whole table is validated on every call,
 * so a typo anywhere fails loudly instead of pricing some models at 0. */
#include "llm_int.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

static const char *trim_end(const char *p, const char *end)
{
    while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' || end[-1] == '\r'))
        end--;
    return end;
}

/* A non-negative finite number filling [p, end) exactly. */
static int parse_price(const char *p, const char *end, double *out)
{
    p = skip_ws(p, end);
    end = trim_end(p, end);
    char tmp[64];
    size_t n = (size_t)(end - p);
    if (!n || n >= sizeof tmp)
        return FD_EINVAL;
    memcpy(tmp, p, n);
    tmp[n] = '\0';
    char *stop;
    errno = 0;
    double v = strtod(tmp, &stop);
    if (errno || *stop || !isfinite(v) || v < 0 || tmp[0] == '+' || tmp[0] == '-')
        return FD_EINVAL;
    *out = v;
    return FD_OK;
}

/* One "model=in/out" entry in [p, end); *hit when it names model. */
static int parse_entry(const char *p, const char *end, const char *model, double *in, double *out,
                       int *hit, fd_err *err)
{
    const char *eq = memchr(p, '=', (size_t)(end - p));
    const char *slash = eq ? memchr(eq, '/', (size_t)(end - eq)) : NULL;
    const char *name = skip_ws(p, end);
    const char *name_end = eq ? trim_end(name, eq) : name;
    if (!eq || !slash || name_end == name)
        return fd_err_set_field(err, FD_EINVAL, "llm.prices",
                                "price entry \"%.*s\" is not model=in/out", (int)(end - p), p);
    double pi, po;
    if (parse_price(eq + 1, slash, &pi) || parse_price(slash + 1, end, &po))
        return fd_err_set_field(err, FD_EINVAL, "llm.prices",
                                "bad price in \"%.*s\": want two numbers >= 0", (int)(end - p), p);
    size_t n = (size_t)(name_end - name);
    if (model && strlen(model) == n && memcmp(model, name, n) == 0) {
        *hit = 1;
        *in = pi;
        *out = po;
    }
    return FD_OK;
}

int fd_llm_price(const char *table, const char *model, int64_t prompt_tokens,
                 int64_t completion_tokens, double *usd, fd_err *err)
{
    *usd = 0;
    if (!table)
        return FD_OK;
    double in = 0, out = 0;
    int hit = 0;
    const char *p = table;
    const char *end = table + strlen(table);
    while (p < end) {
        const char *semi = memchr(p, ';', (size_t)(end - p));
        const char *e = semi ? semi : end;
        int h = 0;
        double pi = 0, po = 0;
        /* Empty entries ("a=1/2;;" or a trailing ';') are tolerated. */
        if (skip_ws(p, e) < e) {
            int rc = parse_entry(p, e, model, &pi, &po, &h, err);
            if (rc)
                return rc;
        }
        if (h && !hit) { /* the first entry for a model wins */
            hit = 1;
            in = pi;
            out = po;
        }
        p = semi ? semi + 1 : end;
    }
    if (prompt_tokens < 0 || completion_tokens < 0)
        return fd_err_set(err, FD_EINVAL, "negative token count");
    *usd = ((double)prompt_tokens * in + (double)completion_tokens * out) / 1e6;
    return FD_OK;
}
