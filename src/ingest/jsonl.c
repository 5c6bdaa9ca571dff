/* jsonl.c: one document per line of a BEIR-style corpus
 * ({"_id": "...", "title": "...", "text": "..."}). The key is the _id
 * itself, so evaluation maps results back to the benchmark's ids; a line
 * that is not such an object is skipped and counted. */
#include "ingest_int.h"

#include <jansson.h>
#include <string.h>

typedef struct jl {
    const ing_src *s;
    size_t n_good;
} jl;

static void bad_line(jl *j, size_t line, const char *why)
{
    if (*j->s->n_bad == 0)
        fd_err_set(j->s->err, FD_EINVAL, "%s: line %zu: %s", j->s->path, line, why);
    (*j->s->n_bad)++;
}

/* A string member, "" when absent; NULL when present but not a string. */
static const char *str_member(json_t *obj, const char *name, size_t *len)
{
    json_t *v = json_object_get(obj, name);
    *len = 0;
    if (!v)
        return "";
    if (!json_is_string(v))
        return NULL;
    *len = json_string_length(v);
    return json_string_value(v);
}

static int emit(jl *j, json_t *obj, size_t line)
{
    const ing_src *s = j->s;
    size_t id_n, title_n, text_n;
    char num[32];
    const char *id = str_member(obj, "_id", &id_n);
    json_t *idv = json_object_get(obj, "_id");
    if (!id && json_is_integer(idv)) {
        id_n = (size_t)snprintf(num, sizeof num, "%lld", (long long)json_integer_value(idv));
        id = num;
    }
    const char *title = str_member(obj, "title", &title_n);
    const char *body = str_member(obj, "text", &text_n);
    if (!id || !title || !body) {
        bad_line(j, line, "_id, title and text must be strings");
        return FD_OK;
    }
    ing_doc d;
    ing_init(&d, s->a);
    ing_plain(&d, body, text_n);
    fd_doc doc = {.tag = "", .source = s->path};
    int rc = ing_finish(&d, &doc);
    ing_free(&d);
    if (!rc && doc.n_sections == 0 && title_n == 0) {
        bad_line(j, line, "no title and no text");
        return FD_OK;
    }
    if (!rc)
        doc.title = ing_collapse(s->a, title, title_n, &rc);
    if (!rc && id_n)
        doc.key = ing_strndup(s->a, id, id_n, &rc);
    else if (!rc)
        doc.key = fd_arena_printf(s->a, "%s#%zu", s->path, line);
    if (!rc && !doc.key)
        rc = fd_arena_full(s->a) ? FD_ETOOBIG : FD_ENOMEM;
    if (rc)
        return ing_fail(s->err, rc, s->path);
    j->n_good++;
    return s->cb(s->ctx, &doc);
}

static int one_line(jl *j, const char *p, size_t n, size_t line)
{
    json_error_t jerr;
    /* Input is already valid UTF-8 without NULs; jansson re-checks the
     * escapes (\u0000 is refused by default). */
    json_t *obj = json_loadb(p, n, JSON_REJECT_DUPLICATES, &jerr);
    if (!obj) {
        bad_line(j, line, jerr.text);
        return FD_OK;
    }
    int rc = FD_OK;
    if (json_is_object(obj))
        rc = emit(j, obj, line);
    else
        bad_line(j, line, "not a JSON object");
    json_decref(obj);
    return rc;
}

int ing_load_jsonl(const ing_src *s)
{
    jl j = {.s = s};
    size_t pos = 0, line = 0;
    while (pos < s->len) {
        const char *p = s->p + pos;
        const char *nl = memchr(p, '\n', s->len - pos);
        size_t n = nl ? (size_t)(nl - p) : s->len - pos;
        pos += n + 1;
        line++;
        size_t b = 0;
        while (b < n && ing_is_ws((unsigned char)p[b]))
            b++;
        if (b == n)
            continue;
        int rc = one_line(&j, p, n, line);
        if (rc)
            return rc;
    }
    if (j.n_good == 0 && *s->n_bad > 0)
        return FD_EINVAL; /* err already names the first bad line */
    return FD_OK;
}
