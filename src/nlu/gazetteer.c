/* gazetteer.c: known names (outlets, customers) found in messages despite
 * case, accents, typos and the legal suffix nobody types: "tiong bahru
 * bakery" finds "Tiong Bahru Bakery Pte Ltd". A name's distinctive tokens
 * are its tokens before the first legal/generic word; a message matches
 * when it holds all of them in order, each equal after folding or within
 * Damerau-Levenshtein distance 1 when both sides have >= 5 characters
 * (shorter words are too easily another word at distance 1). */
#include "nlu_int.h"

#include <stdlib.h>

#define NAME_MAX_TOKENS 12

typedef struct gname {
    fd_entity_kind kind;
    char *name;   /* as added; the entity's norm */
    char **tok;   /* folded tokens */
    size_t n_tok; /* all tokens */
    size_t n_key; /* distinctive prefix, >= 1 */
} gname;

struct fd_gazetteer {
    gname *v;
    size_t n, cap;
};

int fd_gazetteer_new(fd_gazetteer **out, fd_err *err)
{
    *out = fd_calloc(1, sizeof **out);
    return *out ? FD_OK : fd_err_set(err, FD_ENOMEM, "gazetteer: out of memory");
}

static void gname_free(gname *g)
{
    for (size_t i = 0; g->tok && i < g->n_tok; i++)
        fd_free(g->tok[i]);
    fd_free(g->tok);
    fd_free(g->name);
}

void fd_gazetteer_free(fd_gazetteer *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->n; i++)
        gname_free(&g->v[i]);
    fd_free(g->v);
    fd_free(g);
}

static int generic_word(const char *w)
{
    static const char *const list[] = {"pte",  "ltd",     "limited", "llp",     "llc",  "inc", "co",
                                       "corp", "company", "sdn",     "bhd",     "sarl", "sas", "sa",
                                       "gmbh", "plc",     "pvt",     "private", NULL};
    for (size_t i = 0; list[i]; i++)
        if (!strcmp(w, list[i]))
            return 1;
    return 0;
}

static int fill(gname *g, const char *name, fd_arena *a, fd_err *err)
{
    fd_tokens t;
    int rc = fd_text_tokenize(fd_str_c(name), a, &t, err);
    if (rc)
        return rc == FD_EUTF8 ? fd_err_set(err, FD_EINVAL, "gazetteer: name is not UTF-8") : rc;
    if (!t.n)
        return fd_err_set(err, FD_EINVAL, "gazetteer: name has no words: '%s'", name);
    size_t n = t.n < NAME_MAX_TOKENS ? t.n : NAME_MAX_TOKENS;
    g->name = fd_strdup(name);
    g->tok = fd_calloc(n, sizeof *g->tok);
    if (!g->name || !g->tok)
        return fd_err_set(err, FD_ENOMEM, "gazetteer: out of memory");
    g->n_tok = n;
    for (size_t i = 0; i < n; i++) {
        g->tok[i] = fd_strndup(t.v[i].norm.p, t.v[i].norm.len);
        if (!g->tok[i])
            return fd_err_set(err, FD_ENOMEM, "gazetteer: out of memory");
    }
    g->n_key = 0;
    while (g->n_key < n && !generic_word(g->tok[g->n_key]))
        g->n_key++;
    if (!g->n_key)
        g->n_key = n; /* "Co Pte Ltd": nothing distinctive, match it whole */
    return FD_OK;
}

int fd_gazetteer_add(fd_gazetteer *g, fd_entity_kind kind, const char *name, fd_err *err)
{
    if (!name || !*name || (unsigned)kind >= FD__NENT)
        return fd_err_set(err, FD_EINVAL, "gazetteer: empty name or bad kind");
    if (g->n == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 16;
        gname *v = fd_realloc(g->v, cap * sizeof *v);
        if (!v)
            return fd_err_set(err, FD_ENOMEM, "gazetteer: out of memory");
        g->v = v;
        g->cap = cap;
    }
    fd_arena *a = fd_arena_new(0);
    if (!a)
        return fd_err_set(err, FD_ENOMEM, "gazetteer: out of memory");
    gname *e = &g->v[g->n];
    memset(e, 0, sizeof *e);
    e->kind = kind;
    int rc = fill(e, name, a, err);
    fd_arena_free(a);
    if (rc) {
        gname_free(e);
        return rc;
    }
    g->n++;
    return FD_OK;
}

int fd_nlu_osa_distance(const char *a, size_t na, const char *b, size_t nb, int cap)
{
    if ((na > nb ? na - nb : nb - na) > (size_t)cap)
        return cap + 1;
    if (na > 63 || nb > 63)
        return na == nb && !memcmp(a, b, na) ? 0 : cap + 1;
    int d[64][64];
    for (size_t i = 0; i <= na; i++)
        d[i][0] = (int)i;
    for (size_t j = 0; j <= nb; j++)
        d[0][j] = (int)j;
    for (size_t i = 1; i <= na; i++) {
        int row_min = cap + 1;
        for (size_t j = 1; j <= nb; j++) {
            int cost = a[i - 1] != b[j - 1];
            int v = d[i - 1][j] + 1;
            v = d[i][j - 1] + 1 < v ? d[i][j - 1] + 1 : v;
            v = d[i - 1][j - 1] + cost < v ? d[i - 1][j - 1] + cost : v;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1; /* transposition: "bakrey" */
            d[i][j] = v;
            row_min = v < row_min ? v : row_min;
        }
        if (row_min > cap)
            return cap + 1;
    }
    return d[na][nb] <= cap ? d[na][nb] : cap + 1;
}

static int token_match(fd_str m, const char *w)
{
    size_t n = strlen(w);
    if (m.len == n && !memcmp(m.p, w, n))
        return 1;
    return m.len >= 5 && n >= 5 && fd_nlu_osa_distance(m.p, m.len, w, n, 1) <= 1;
}

/* Tokens matched by name g starting at message token i (0: none). */
static size_t match_at(const gname *g, const fd_tokens *t, size_t i)
{
    if (i + g->n_key > t->n)
        return 0;
    for (size_t k = 0; k < g->n_key; k++)
        if (!token_match(t->v[i + k].norm, g->tok[k]))
            return 0;
    size_t n = g->n_key;
    while (n < g->n_tok && i + n < t->n && token_match(t->v[i + n].norm, g->tok[n]))
        n++; /* the suffix, when typed, belongs to the name */
    return n;
}

int fd_nlu_gazetteer_match(const fd_gazetteer *g, const fd_tokens *t, fd_nlu_ents *e)
{
    for (size_t i = 0; i < t->n; i++) {
        size_t best = 0, best_n = 0;
        for (size_t k = 0; k < g->n; k++) {
            size_t n = match_at(&g->v[k], t, i);
            if (n > best_n) { /* the longest name wins: "ABC Cafe Orchard" over "ABC Cafe" */
                best_n = n;
                best = k;
            }
        }
        if (!best_n)
            continue;
        const fd_token *a = &t->v[i], *b = &t->v[i + best_n - 1];
        if (fd_nlu_ents_push(e, g->v[best].kind,
                             fd_arena_strndup(e->a, g->v[best].name, strlen(g->v[best].name)), 0,
                             a->off, (size_t)b->off + b->len - a->off))
            return FD_ENOMEM;
        i += best_n - 1;
    }
    return FD_OK;
}
