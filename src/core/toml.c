/* toml.c: the TOML subset frontdesk's own files use, parsed into a jansson
 * object: [tables] and [dotted.tables], bare/quoted/dotted keys, basic and
 * literal strings, integers, floats, booleans, and arrays of those (over
 * several lines, trailing comma allowed). Not supported (an error, never a
 * silent misread): inline tables, arrays of tables, multi-line strings,
 * dates. */
#include "core.h"

#include <ctype.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

typedef struct parser {
    const char *p, *end;
    int line;
    int depth; /* arrays open around the value being read */
    fd_err *err;
} parser;

/* Nested arrays recurse: a file of "[[[[..." (fuzz_toml found it) must be
 * refused long before the stack runs out. No real config nests past 2. */
#define MAX_DEPTH 32

static int fail(parser *ps, const char *what)
{
    return fd_err_set(ps->err, FD_EFORMAT, "line %d: %s", ps->line, what);
}

/* Skips spaces, tabs, comments and (when nl) newlines. */
static void skip_ws(parser *ps, int nl)
{
    while (ps->p < ps->end) {
        char c = *ps->p;
        if (c == ' ' || c == '\t' || c == '\r') {
            ps->p++;
        } else if (c == '#') {
            while (ps->p < ps->end && *ps->p != '\n')
                ps->p++;
        } else if (c == '\n' && nl) {
            ps->line++;
            ps->p++;
        } else {
            break;
        }
    }
}

static int put_utf8(fd_buf *b, unsigned cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return fd_buf_append(b, u, n);
}

/* A "basic" or 'literal' string at ps->p into b. */
static int parse_string(parser *ps, fd_buf *b)
{
    char q = *ps->p++;
    fd_buf_reset(b);
    if (ps->p + 1 < ps->end && ps->p[0] == q && ps->p[1] == q)
        return fail(ps, "multi-line strings are not supported");
    while (ps->p < ps->end && *ps->p != q) {
        char c = *ps->p++;
        if (c == '\n')
            return fail(ps, "unterminated string");
        if (c == '\\' && q == '"') {
            if (ps->p >= ps->end)
                return fail(ps, "unterminated string");
            char e = *ps->p++;
            const char *map = "b\bt\tn\nf\fr\r\"\"\\\\";
            const char *m = strchr(map, e);
            if (e == 'u' || e == 'U') {
                int nd = e == 'u' ? 4 : 8;
                if (ps->end - ps->p < nd)
                    return fail(ps, "bad \\u escape");
                char hex[9] = {0};
                memcpy(hex, ps->p, (size_t)nd);
                char *endp;
                unsigned long cp = strtoul(hex, &endp, 16);
                if (*endp || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
                    return fail(ps, "bad \\u escape");
                ps->p += nd;
                if (put_utf8(b, (unsigned)cp))
                    return fd_err_set(ps->err, FD_ENOMEM, "out of memory");
                continue;
            }
            /* e == '\0': strchr finds map's own terminator, and m[1] would
             * read past it. */
            if (e == '\0' || !m || (m - map) % 2)
                return fail(ps, "bad escape in string");
            c = m[1];
        }
        if (fd_buf_putc(b, c))
            return fd_err_set(ps->err, FD_ENOMEM, "out of memory");
    }
    if (ps->p >= ps->end)
        return fail(ps, "unterminated string");
    ps->p++;
    if (fd_buf_putc(b, '\0'))
        return fd_err_set(ps->err, FD_ENOMEM, "out of memory");
    b->len--;
    return FD_OK;
}

static int parse_value(parser *ps, fd_buf *tmp, json_t **out);

static int parse_array(parser *ps, fd_buf *tmp, json_t **out)
{
    if (ps->depth >= MAX_DEPTH)
        return fail(ps, "arrays nested too deep");
    ps->p++; /* [ */
    json_t *arr = json_array();
    if (!arr)
        return fd_err_set(ps->err, FD_ENOMEM, "out of memory");
    for (;;) {
        skip_ws(ps, 1);
        if (ps->p >= ps->end) {
            json_decref(arr);
            return fail(ps, "unterminated array");
        }
        if (*ps->p == ']') {
            ps->p++;
            break;
        }
        json_t *v = NULL;
        ps->depth++;
        int rc = parse_value(ps, tmp, &v);
        ps->depth--;
        if (rc || json_array_append_new(arr, v)) {
            json_decref(arr);
            return rc ? rc : fd_err_set(ps->err, FD_ENOMEM, "out of memory");
        }
        skip_ws(ps, 1);
        if (ps->p < ps->end && *ps->p == ',')
            ps->p++;
        else if (ps->p < ps->end && *ps->p != ']') {
            json_decref(arr);
            return fail(ps, "expected , or ] in array");
        }
    }
    *out = arr;
    return FD_OK;
}

static int parse_value(parser *ps, fd_buf *tmp, json_t **out)
{
    if (ps->p >= ps->end)
        return fail(ps, "missing value");
    char c = *ps->p;
    if (c == '"' || c == '\'') {
        int rc = parse_string(ps, tmp);
        if (rc)
            return rc;
        *out = json_stringn(tmp->p ? tmp->p : "", tmp->len);
        return *out ? FD_OK : fail(ps, "string is not valid UTF-8");
    }
    if (c == '[')
        return parse_array(ps, tmp, out);
    if (c == '{')
        return fail(ps, "inline tables are not supported");
    const char *s = ps->p;
    while (ps->p < ps->end && !strchr(" \t\r\n,]#", *ps->p))
        ps->p++;
    size_t n = (size_t)(ps->p - s);
    char word[64];
    if (n == 0 || n >= sizeof word)
        return fail(ps, "bad value");
    memcpy(word, s, n);
    word[n] = '\0';
    if (strcmp(word, "true") == 0 || strcmp(word, "false") == 0) {
        *out = json_boolean(word[0] == 't');
        return FD_OK;
    }
    /* TOML allows 1_000; strtod does not. */
    char num[64];
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (word[i] != '_')
            num[k++] = word[i];
    num[k] = '\0';
    char *endp;
    if (!strpbrk(num, ".eE")) {
        long long v = strtoll(num, &endp, 10);
        if (*endp == '\0') {
            *out = json_integer(v);
            return FD_OK;
        }
    } else {
        double v = strtod(num, &endp);
        if (*endp == '\0') {
            *out = json_real(v);
            return FD_OK;
        }
    }
    return fail(ps, "bad value (strings need quotes)");
}

/* A key (bare or quoted, possibly dotted) into parts; *n parts. */
static int parse_key(parser *ps, fd_buf *tmp, char parts[][128], int max, int *n, char stop)
{
    *n = 0;
    for (;;) {
        skip_ws(ps, 0);
        if (*n == max)
            return fail(ps, "key nested too deep");
        if (ps->p < ps->end && (*ps->p == '"' || *ps->p == '\'')) {
            int rc = parse_string(ps, tmp);
            if (rc)
                return rc;
            if (tmp->len >= 128)
                return fail(ps, "key too long");
            memcpy(parts[*n], tmp->p ? tmp->p : "", tmp->len);
            parts[*n][tmp->len] = '\0';
        } else {
            const char *s = ps->p;
            while (ps->p < ps->end &&
                   (isalnum((unsigned char)*ps->p) || *ps->p == '_' || *ps->p == '-'))
                ps->p++;
            size_t len = (size_t)(ps->p - s);
            if (len == 0)
                return fail(ps, "expected a key");
            if (len >= 128)
                return fail(ps, "key too long");
            memcpy(parts[*n], s, len);
            parts[*n][len] = '\0';
        }
        (*n)++;
        skip_ws(ps, 0);
        if (ps->p < ps->end && *ps->p == '.') {
            ps->p++;
            continue;
        }
        if (ps->p >= ps->end || *ps->p != stop)
            return fail(ps, stop == '=' ? "expected = after key" : "expected ] after table name");
        ps->p++;
        return FD_OK;
    }
}

/* Walks/creates nested objects for parts[0..n). */
static json_t *descend(parser *ps, json_t *obj, char parts[][128], int n, int *rc)
{
    for (int i = 0; i < n; i++) {
        json_t *next = json_object_get(obj, parts[i]);
        if (!next) {
            next = json_object();
            if (!next || json_object_set_new(obj, parts[i], next)) {
                *rc = fd_err_set(ps->err, FD_ENOMEM, "out of memory");
                return NULL;
            }
        } else if (!json_is_object(next)) {
            *rc = fail(ps, "key is already a value, not a table");
            return NULL;
        }
        obj = next;
    }
    return obj;
}

int fd_toml_parse(const char *text, size_t len, struct json_t **out, fd_err *err)
{
    parser ps = {text, text + len, 1, 0, err};
    json_t *root = json_object();
    if (!root)
        return fd_err_set(err, FD_ENOMEM, "out of memory");
    json_t *table = root;
    fd_buf tmp;
    fd_buf_init(&tmp, 1 << 20);
    char parts[8][128];
    int n, rc = FD_OK;
    while (!rc) {
        skip_ws(&ps, 1);
        if (ps.p >= ps.end)
            break;
        if (*ps.p == '[') {
            ps.p++;
            if (ps.p < ps.end && *ps.p == '[') {
                rc = fail(&ps, "arrays of tables are not supported");
                break;
            }
            rc = parse_key(&ps, &tmp, parts, 8, &n, ']');
            if (!rc && !(table = descend(&ps, root, parts, n, &rc)))
                break;
        } else {
            rc = parse_key(&ps, &tmp, parts, 8, &n, '=');
            if (rc)
                break;
            json_t *obj = descend(&ps, table, parts, n - 1, &rc);
            if (!obj)
                break;
            if (json_object_get(obj, parts[n - 1])) {
                rc = fail(&ps, "duplicate key");
                break;
            }
            skip_ws(&ps, 0);
            json_t *v = NULL;
            rc = parse_value(&ps, &tmp, &v);
            if (!rc && json_object_set_new(obj, parts[n - 1], v))
                rc = fd_err_set(err, FD_ENOMEM, "out of memory");
        }
        if (rc)
            break;
        skip_ws(&ps, 0);
        if (ps.p < ps.end && *ps.p != '\n')
            rc = fail(&ps, "unexpected text after value");
    }
    fd_buf_free(&tmp);
    if (rc) {
        json_decref(root);
        return rc;
    }
    *out = root;
    return FD_OK;
}
