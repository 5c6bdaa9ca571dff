/* match.c: customers' words against product and outlet names. A token
 * weighs log(1 + N / df) over the catalog, so "kraft" (a few products)
 * says more than "box" (dozens); a product wins on the weight of the
 * words it shares with the message, and two that share as much are a
 * question for the customer ("kraft or white?"), never a guess. */
#include "commerce_int.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int is_unit(fd_str w, const char **canon)
{
    static const struct {
        const char *w, *c;
    } units[] = {{"inch", "inch"},
                 {"inches", "inch"},
                 {"in", "inch"},
                 {"\"", "inch"},
                 {"oz", "oz"},
                 {"ml", "ml"},
                 {"l", "l"},
                 {"cm", "cm"},
                 {"mm", "mm"},
                 {"g", "g"},
                 {"kg", "kg"},
                 {"pouces", "inch"},
                 {"pouce", "inch"},
                 {"ounce", "oz"},
                 {"ounces", "oz"},
                 {"cl", "cl"},
                 /* counted parts of a product: "2-ply", "1 pli", "3-compartment"
                  * name different products, never a quantity */
                 {"ply", "ply"},
                 {"pli", "ply"},
                 {"plis", "ply"},
                 {"compartment", "compartment"},
                 {"compartments", "compartment"},
                 {"compartiment", "compartment"},
                 {"compartiments", "compartment"}};
    for (size_t i = 0; i < sizeof units / sizeof *units; i++)
        if (w.len == strlen(units[i].w) && memcmp(w.p, units[i].w, w.len) == 0) {
            *canon = units[i].c;
            return 1;
        }
    return 0;
}

static fd_str singular(fd_str w)
{
    if (w.len > 4 && w.p[w.len - 2] == 'e' && w.p[w.len - 1] == 's' &&
        (w.p[w.len - 3] == 'x' || w.p[w.len - 3] == 'z' ||
         (w.p[w.len - 3] == 'h' && (w.p[w.len - 4] == 'c' || w.p[w.len - 4] == 's'))))
        return (fd_str){w.p, w.len - 2};
    if (w.len > 3 && w.p[w.len - 1] == 's' && w.p[w.len - 2] != 's' && w.p[w.len - 2] != 'u')
        return (fd_str){w.p, w.len - 1};
    return w;
}

static int all_digits(fd_str w)
{
    for (size_t i = 0; i < w.len; i++)
        if (!isdigit((unsigned char)w.p[i]) && w.p[i] != '.')
            return 0;
    return w.len > 0;
}

/* Splits folded text into words and the '"' mark; numbers with a unit
 * after them (or glued: "12in", "16oz") become one token. */
int cm_tokenize(fd_str text, fd_arena *a, cm_tokens *out, fd_err *err)
{
    fd_str f;
    int rc = fd_text_fold(text, a, &f, err);
    if (rc)
        return rc;
    out->v = fd_arena_alloc(a, (f.len + 1) * sizeof *out->v);
    out->n = 0;
    if (!out->v)
        return fd_err_set(err, FD_ENOMEM, "out of memory");
    fd_str raw[256];
    size_t n_raw = 0;
    for (size_t i = 0; i < f.len && n_raw < 256;) {
        unsigned char c = (unsigned char)f.p[i];
        if (c == '"') {
            raw[n_raw++] = (fd_str){f.p + i, 1};
            i++;
        } else if (isalnum(c) || c >= 0x80) {
            size_t j = i;
            /* "12in" and "16oz": digits then letters split in two */
            if (isdigit(c)) {
                while (j < f.len && (isdigit((unsigned char)f.p[j]) || f.p[j] == '.'))
                    j++;
                if (j < f.len && isalpha((unsigned char)f.p[j])) {
                    raw[n_raw++] = (fd_str){f.p + i, j - i};
                    i = j;
                    continue;
                }
            }
            while (j < f.len && (isalnum((unsigned char)f.p[j]) || (unsigned char)f.p[j] >= 0x80))
                j++;
            raw[n_raw++] = (fd_str){f.p + i, j - i};
            i = j;
        } else {
            i++;
        }
    }
    for (size_t i = 0; i < n_raw; i++) {
        const char *unit;
        if (all_digits(raw[i]) && i + 1 < n_raw && is_unit(raw[i + 1], &unit)) {
            char *t = fd_arena_printf(a, "%.*s%s", (int)raw[i].len, raw[i].p, unit);
            if (!t)
                return fd_err_set(err, FD_ENOMEM, "out of memory");
            out->v[out->n++] = fd_str_c(t);
            i++;
            continue;
        }
        if (raw[i].len == 1 && raw[i].p[0] == '"')
            continue;
        /* "x" alone is a times sign ("500ml x 6 pkt", "170 x 120 mm"): no
         * word of a product (dev7: it made "500ml x 6" one of the
         * containers measured "x" by "x") */
        if (raw[i].len == 1 && raw[i].p[0] == 'x')
            continue;
        /* "4-cup": a count joined to its noun names a kind ("4cup"), as a
         * size does; "4 cup" in a message meets it in shared() */
        if (all_digits(raw[i]) && i + 1 < n_raw && raw[i + 1].p == raw[i].p + raw[i].len + 1 &&
            raw[i].p[raw[i].len] == '-' && isalpha((unsigned char)raw[i + 1].p[0])) {
            fd_str w = singular(raw[i + 1]);
            char *t = fd_arena_printf(a, "%.*s%.*s", (int)raw[i].len, raw[i].p, (int)w.len, w.p);
            if (!t)
                return fd_err_set(err, FD_ENOMEM, "out of memory");
            out->v[out->n++] = fd_str_c(t);
            i++;
            continue;
        }
        out->v[out->n++] = singular(raw[i]);
    }
    return FD_OK;
}

static int cmp_cstr(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

int cm_item_make(fd_str text, fd_arena *a, cm_item *out, fd_err *err)
{
    memset(out, 0, sizeof *out);
    cm_tokens t;
    int rc = cm_tokenize(text, a, &t, err);
    if (rc)
        return rc;
    out->tok = fd_calloc(t.n + 1, sizeof *out->tok);
    if (!out->tok)
        return fd_err_set(err, FD_ENOMEM, "out of memory");
    for (size_t i = 0; i < t.n; i++) {
        char *s = fd_strndup(t.v[i].p, t.v[i].len);
        if (!s) {
            cm_item_free(out);
            return fd_err_set(err, FD_ENOMEM, "out of memory");
        }
        out->tok[out->n_tok++] = s;
    }
    qsort(out->tok, out->n_tok, sizeof *out->tok, cmp_cstr);
    size_t n = 0;
    for (size_t i = 0; i < out->n_tok; i++) {
        if (n && strcmp(out->tok[n - 1], out->tok[i]) == 0) {
            fd_free(out->tok[i]);
            continue;
        }
        out->tok[n++] = out->tok[i];
    }
    out->n_tok = n;
    return FD_OK;
}

void cm_item_free(cm_item *it)
{
    if (!it)
        return;
    for (size_t i = 0; it->tok && i < it->n_tok; i++)
        fd_free(it->tok[i]);
    FD_FREE(it->tok);
    it->n_tok = 0;
}

int cm_weigh(const cm_item *items, size_t n, char ***tok_out, double **w_out, size_t *n_out,
             fd_err *err)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += items[i].n_tok;
    char **all = fd_calloc(total + 1, sizeof *all);
    if (!all)
        return fd_err_set(err, FD_ENOMEM, "out of memory");
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < items[i].n_tok; j++)
            all[k++] = items[i].tok[j];
    qsort(all, k, sizeof *all, cmp_cstr);
    char **tok = fd_calloc(k + 1, sizeof *tok);
    double *w = fd_calloc(k + 1, sizeof *w);
    if (!tok || !w) {
        fd_free(all);
        fd_free(tok);
        fd_free(w);
        return fd_err_set(err, FD_ENOMEM, "out of memory");
    }
    size_t m = 0;
    for (size_t i = 0; i < k;) {
        size_t j = i;
        while (j < k && strcmp(all[j], all[i]) == 0)
            j++;
        tok[m] = all[i]; /* borrowed from the items, which outlive this */
        w[m++] = log(1.0 + (double)n / (double)(j - i));
        i = j;
    }
    fd_free(all);
    *tok_out = tok;
    *w_out = w;
    *n_out = m;
    return FD_OK;
}

double cm_weight(char *const *tok, const double *w, size_t n_w, const char *t)
{
    size_t lo = 0, hi = n_w;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(tok[mid], t);
        if (!c)
            return w[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

int cm_token_eq(fd_str m, const char *t)
{
    size_t n = strlen(t);
    if (m.len == n && memcmp(m.p, t, n) == 0)
        return 1;
    return m.len >= 5 && n >= 5 && !isdigit((unsigned char)m.p[0]) &&
           fd_nlu_osa_distance(m.p, m.len, t, n, 1) <= 1;
}

/* 1 when the message's word is itself a word of the vocabulary tok. */
static int known_word(char *const *tok, size_t n_w, fd_str m)
{
    size_t lo = 0, hi = n_w;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        size_t n = strlen(tok[mid]);
        int c = strncmp(tok[mid], m.p, n < m.len ? n : m.len);
        if (!c)
            c = n < m.len ? -1 : n > m.len ? 1 : 0;
        if (!c)
            return 1;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

/* The message's word m is the item's t: as it is, or with a typo
 * (cm_token_eq) when m is no word of the vocabulary itself. A word the
 * catalog knows means that word: "black" is not a typo of "blank", nor
 * "liner" of "lined" (dev7). */
static int token_is(fd_str m, const char *t, char *const *tok, size_t n_w)
{
    size_t n = strlen(t);
    if (m.len == n && memcmp(m.p, t, n) == 0)
        return 1;
    if (known_word(tok, n_w, m))
        return 0;
    /* a word cut short by its last letter ("kraf" for "kraft"; dev8):
     * the typo of a word of typo length, the message's one letter shorter */
    if (m.len + 1 == n && n >= 5 && memcmp(m.p, t, m.len) == 0 && isalpha((unsigned char)t[n - 1]))
        return 1;
    return cm_token_eq(m, t);
}

/* "4" then "cup" in the message for the item's "4cup" ("cup carrier 4
 * cup"): the count said apart from its noun. */
static int split_count(const cm_tokens *msg, const char *t)
{
    if (!isdigit((unsigned char)t[0]))
        return 0;
    size_t n = strlen(t);
    for (size_t i = 0; i + 1 < msg->n; i++) {
        fd_str a = msg->v[i], b = msg->v[i + 1];
        if (all_digits(a) && a.len + b.len == n && memcmp(t, a.p, a.len) == 0 &&
            memcmp(t + a.len, b.p, b.len) == 0 && isalpha((unsigned char)b.p[0]))
            return 1;
    }
    return 0;
}

/* Weight of the item's tokens that the message names. */
static double shared(const cm_tokens *msg, const cm_item *it, char *const *tok, const double *w,
                     size_t n_w)
{
    double s = 0;
    for (size_t j = 0; j < it->n_tok; j++) {
        int hit = split_count(msg, it->tok[j]);
        for (size_t i = 0; i < msg->n && !hit; i++)
            /* a bare number is a quantity ("50 lids"), not the "50" of a
             * "50 x 25 mm" label */
            hit = !all_digits(msg->v[i]) && token_is(msg->v[i], it->tok[j], tok, n_w);
        if (hit)
            s += cm_weight(tok, w, n_w, it->tok[j]);
    }
    return s;
}

/* Description words ("plain brown kraft pizza box") the name lacks: they
 * refine ("brown" for kraft) but name nothing alone, so they count half
 * (DESC_WEIGHT) and only for a product the message names otherwise. */
#define DESC_WEIGHT 0.5

static double shared_extra(const cm_tokens *msg, const cm_item *desc, const cm_item *main,
                           char *const *tok, const double *w, size_t n_w)
{
    double s = 0;
    for (size_t j = 0; j < desc->n_tok; j++) {
        if (bsearch(&desc->tok[j], main->tok, main->n_tok, sizeof *main->tok, cmp_cstr))
            continue;
        /* "the", "for", "with" of a description name nothing: "the brown
         * box" is no pizza saver that "keeps the lid off" (dev7) */
        fd_str dw = fd_str_c(desc->tok[j]);
        if (fd_text_is_stopword(FD_LANG_EN, dw) || fd_text_is_stopword(FD_LANG_FR, dw))
            continue;
        for (size_t i = 0; i < msg->n; i++)
            if (!all_digits(msg->v[i]) && token_is(msg->v[i], desc->tok[j], tok, n_w)) {
                s += cm_weight(tok, w, n_w, desc->tok[j]);
                break;
            }
    }
    return s;
}

/* A size the message gives that the product lacks rules the product out:
 * "12-inch" never means the 10-inch box. */
static int size_conflict(const cm_tokens *msg, const cm_item *it, const unsigned char *skip)
{
    for (size_t i = 0; i < msg->n; i++) {
        fd_str m = msg->v[i];
        if (skip[i] || !m.len || !isdigit((unsigned char)m.p[0]) || all_digits(m))
            continue;
        int found = 0;
        for (size_t j = 0; j < it->n_tok && !found; j++)
            found = cm_token_eq(m, it->tok[j]);
        if (!found)
            return 1;
    }
    return 0;
}

static int is_code_like(fd_str w)
{
    int digit = 0, alpha = 0;
    for (size_t i = 0; i < w.len; i++) {
        digit |= isdigit((unsigned char)w.p[i]) != 0;
        alpha |= isalpha((unsigned char)w.p[i]) != 0;
    }
    return digit && alpha;
}

/* The product whose code, without case and punctuation, is w. */
static const fd_product *code_is(const fd_catalog *c, const char *w)
{
    char norm[64];
    for (size_t k = 0; k < c->n_products; k++) {
        const char *code = c->products[k].code;
        size_t m = 0;
        for (; *code && m < sizeof norm - 1; code++)
            if (*code != '-' && *code != ' ')
                norm[m++] = (char)tolower((unsigned char)*code);
        norm[m] = '\0';
        if (m && strcmp(norm, w) == 0)
            return &c->products[k];
    }
    return NULL;
}

/* A product code in the text, compared without case and punctuation
 * ("pb-1201", "PB1201"), or written with a space for its dash ("lid
 * K500", "PB 1203"; dev7): letters, then a word with a digit. */
static const fd_product *code_in(const fd_catalog *c, fd_str text)
{
    char msgw[64], prev[64] = "";
    size_t n_prev = 0;
    for (size_t i = 0; i < text.len;) {
        while (i < text.len && !isalnum((unsigned char)text.p[i]))
            i++;
        int spaced = i > 0 && text.p[i - 1] == ' ' && (i < 2 || text.p[i - 2] != ' ');
        size_t j = i, n = 0;
        int dash = 0, digit = 0, upper = 1;
        while (j < text.len && (isalnum((unsigned char)text.p[j]) || text.p[j] == '-') &&
               n < sizeof msgw - 1) {
            if (text.p[j] != '-') {
                digit |= isdigit((unsigned char)text.p[j]) != 0;
                upper &= !islower((unsigned char)text.p[j]);
                msgw[n++] = (char)tolower((unsigned char)text.p[j]);
            } else {
                dash |= n > 0 && j + 1 < text.len && isalnum((unsigned char)text.p[j + 1]);
            }
            j++;
        }
        msgw[n] = '\0';
        /* a code of letters only ("CUT-CF", "NAP-KR") counts written with
         * its dash, or in capitals as codes are ("CUTSTR"; dev8): "cutcf"
         * alone could be a word */
        const fd_product *p = NULL;
        if (n >= 3 && (is_code_like((fd_str){msgw, n}) || dash || upper))
            p = code_is(c, msgw);
        if (!p && n && digit && spaced && n_prev && n_prev + n < sizeof msgw) {
            char both[64 * 2];
            snprintf(both, sizeof both, "%s%s", prev, msgw);
            p = code_is(c, both);
        }
        if (p)
            return p;
        /* the letters of a code's first part, for the word after it */
        n_prev = 0;
        if (n && !digit && !dash && n < 8) {
            memcpy(prev, msgw, n + 1);
            n_prev = n;
        }
        i = j > i ? j : i + 1;
    }
    return NULL;
}

/* The catalog's words for the customer's ("gobelet" -> "cup"), added to
 * the message's tokens. */
/* The words of ordering itself name no product: "deliver friday instead"
 * is not the "delivery label", "order" no product. */
static void drop_order_talk(cm_tokens *msg)
{
    /* nor do the words that limit a quantity: "make the straws 5 pkt only"
     * is not the straw "for cold drinks only" */
    static const char *const talk[] = {"deliver", "delivery",  "delivered", "livraison",
                                       "livrer",  "order",     "commande",  "only",
                                       "just",    "seulement", NULL};
    size_t k = 0;
    for (size_t i = 0; i < msg->n; i++) {
        int drop = 0;
        for (const char *const *w = talk; *w && !drop; w++)
            drop = fd_str_eq_c(msg->v[i], *w);
        if (!drop)
            msg->v[k++] = msg->v[i];
    }
    msg->n = k;
}

static int expand_synonyms(const fd_catalog *c, cm_tokens *msg, fd_arena *a, fd_err *err)
{
    drop_order_talk(msg);
    if (!c->n_syn)
        return FD_OK;
    size_t extra = 0;
    for (size_t i = 0; i < msg->n; i++)
        for (size_t k = 0; k < c->n_syn; k++)
            if (fd_str_eq_c(msg->v[i], c->syn_from[k]))
                extra += 8;
    if (!extra)
        return FD_OK;
    fd_str *v = fd_arena_alloc(a, (msg->n + extra) * sizeof *v);
    if (!v)
        return fd_err_set(err, FD_ENOMEM, "out of memory");
    memcpy(v, msg->v, msg->n * sizeof *v);
    size_t n = msg->n;
    for (size_t i = 0; i < msg->n; i++)
        for (size_t k = 0; k < c->n_syn; k++) {
            if (!fd_str_eq_c(msg->v[i], c->syn_from[k]))
                continue;
            const char *p = c->syn_to[k];
            for (int w = 0; *p && w < 8; w++) {
                size_t l = strcspn(p, " ");
                v[n++] = (fd_str){p, l};
                p += l + (p[l] == ' ');
            }
        }
    msg->v = v;
    msg->n = n;
    return FD_OK;
}

/* ---- what a product is made for ---------------------------------------------- */

/* "32oz" -> 32 and "oz"; 0 when the token is no number with a unit. */
static int size_parts(fd_str t, double *v, fd_str *unit)
{
    char buf[32];
    size_t i = 0;
    while (i < t.len && (isdigit((unsigned char)t.p[i]) || t.p[i] == '.'))
        i++;
    if (!i || i == t.len || i >= sizeof buf || !isalpha((unsigned char)t.p[i]))
        return 0;
    memcpy(buf, t.p, i);
    buf[i] = '\0';
    *v = strtod(buf, NULL);
    *unit = (fd_str){t.p + i, t.len - i};
    return 1;
}

static double number_of(fd_str t)
{
    char buf[32];
    size_t n = t.len < sizeof buf - 1 ? t.len : sizeof buf - 1;
    memcpy(buf, t.p, n);
    buf[n] = '\0';
    return strtod(buf, NULL);
}

/* 1 when text holds the size sz in a range ("500-1000 ml", "fits 12-16
 * oz", "cold cups 12-22 oz": a bare number then a number with sz's unit),
 * or, when whole is set, names it as it is ("for 12 oz and 16 oz cups").
 * With need_for, only after "for" or "fit": "480 ml white hot cup" is the
 * cup's own size, "lid for 12 oz cups" what the lid goes on. */
static int text_fits(const char *text, fd_str sz, int whole, int need_for, fd_arena *a)
{
    double v, lo, hi;
    fd_str u, ub;
    cm_tokens t;
    if (!text || !*text || !size_parts(sz, &v, &u) || cm_tokenize(fd_str_c(text), a, &t, NULL))
        return 0;
    int after = !need_for;
    for (size_t i = 0; i < t.n; i++) {
        after |= fd_str_eq_c(t.v[i], "for") || fd_str_eq_c(t.v[i], "fit");
        if (!after)
            continue;
        if (whole && fd_str_eq(t.v[i], sz))
            return 1;
        if (i + 1 < t.n && all_digits(t.v[i]) && size_parts(t.v[i + 1], &hi, &ub) &&
            fd_str_eq(ub, u)) {
            lo = number_of(t.v[i]);
            if (lo < hi && v >= lo && v <= hi)
                return 1;
        }
    }
    return 0;
}

/* 1 when text names code as a whole word ("Lid for CON-R24 and CON-R32"
 * names CON-R32, not CON-R3). */
static int names_code(const char *text, const char *code)
{
    size_t n = strlen(code);
    if (!text || !n)
        return 0;
    for (const char *q = strstr(text, code); q; q = strstr(q + 1, code))
        if ((q == text || !isalnum((unsigned char)q[-1])) && !isalnum((unsigned char)q[n]))
            return 1;
    return 0;
}

/* 1 when the token is, as it is, one of the item's. */
static int item_holds(const cm_item *it, fd_str w)
{
    for (size_t j = 0; j < it->n_tok; j++)
        if (fd_str_eq_c(w, it->tok[j]))
            return 1;
    return 0;
}

/* 1 when product k is made for things of size sz by the catalog's own
 * words: its description names the size or a range holding it, its size
 * column a range ("fits 12-16 oz") or a size it fits ("fits 8 oz"), or its
 * description names the code of a product of that size ("Lid for CON-R32",
 * the 32 oz container). */
static int fits_size(const fd_catalog *c, size_t k, fd_str sz, fd_arena *a)
{
    const fd_product *p = &c->products[k];
    fd_str fit = fd_str_c("fit");
    if (text_fits(p->description, sz, 1, 1, a) ||
        text_fits(p->size, sz, item_holds(&c->ptok[2 * k], fit), 0, a))
        return 1;
    for (size_t q = 0; q < c->n_products; q++)
        if (q != k && names_code(p->description, c->products[q].code) &&
            item_holds(&c->ptok[2 * q], sz))
            return 1;
    return 0;
}

int fd_catalog_fits(const fd_catalog *c, const fd_product *p, const fd_product *target, fd_arena *a)
{
    size_t k = (size_t)(p - c->products);
    if (k >= c->n_products || p == target)
        return 0;
    if (names_code(p->description, target->code))
        return 1;
    cm_tokens t;
    if (!target->size || cm_tokenize(fd_str_c(target->size), a, &t, NULL))
        return 0;
    for (size_t i = 0; i < t.n; i++) {
        double v;
        fd_str u;
        if (size_parts(t.v[i], &v, &u) && fits_size(c, k, t.v[i], a))
            return 1;
    }
    return 0;
}

/* 1 when text has the number v: alone ("serves 5 to 6") or with a unit
 * ("90 mm", "12oz"). */
static int text_has_number(const char *text, double v, fd_arena *a)
{
    cm_tokens t;
    if (!text || !*text || cm_tokenize(fd_str_c(text), a, &t, NULL))
        return 0;
    for (size_t i = 0; i < t.n; i++) {
        double x;
        fd_str u;
        if ((all_digits(t.v[i]) && number_of(t.v[i]) == v) ||
            (size_parts(t.v[i], &x, &u) && x == v))
            return 1;
    }
    return 0;
}

size_t fd_catalog_holding(const fd_catalog *c, const double *nums, size_t n_nums, fd_arena *a,
                          const fd_product **out)
{
    size_t n = 0;
    for (size_t k = 0; n_nums && k < c->n_products; k++) {
        const fd_product *p = &c->products[k];
        size_t i = 0;
        while (i < n_nums &&
               (text_has_number(p->name, nums[i], a) || text_has_number(p->size, nums[i], a) ||
                text_has_number(p->description, nums[i], a)))
            i++;
        if (i == n_nums)
            out[n++] = p;
    }
    return n;
}

/* The sizes a message gives for what its product goes with: "lids that
 * fit the 32oz", "sleeves for 12oz cups" (after "fit" or "for"). The word
 * "fit" itself is dropped: it names no product (it is only in a sleeve's
 * size, "fits 12-16 oz"). Marks each such token in fit[] (msg->n long). */
static void fit_sizes(cm_tokens *msg, unsigned char *fit)
{
    static const char *const marks[] = {"fit", "for", "pour", NULL};
    int after = 0;
    size_t k = 0;
    for (size_t i = 0; i < msg->n; i++) {
        int mark = 0;
        for (const char *const *w = marks; *w && !mark; w++)
            mark = fd_str_eq_c(msg->v[i], *w);
        if (mark) {
            after = 1;
            if (fd_str_eq_c(msg->v[i], "fit"))
                continue;
        }
        double v;
        fd_str u;
        fit[k] = after && size_parts(msg->v[i], &v, &u);
        msg->v[k++] = msg->v[i];
    }
    msg->n = k;
}

/* Keeps the FD_MATCH_MAX best, best first, with each one's cover and the
 * weight its own name (not its size, material or category) shares. */
static void keep(fd_product_match *out, double *cover, double *named, const fd_product *p, double s,
                 double cv, double nm)
{
    size_t at = out->n;
    if (at == FD_MATCH_MAX) {
        if (s <= out->score[at - 1])
            return;
        at--;
    } else {
        out->n++;
    }
    while (at > 0 && out->score[at - 1] < s) {
        out->v[at] = out->v[at - 1];
        out->score[at] = out->score[at - 1];
        cover[at] = cover[at - 1];
        named[at] = named[at - 1];
        at--;
    }
    out->v[at] = p;
    out->score[at] = s;
    cover[at] = cv;
    named[at] = nm;
}

/* Two products tie when they share as much with the message and neither
 * is a clearly closer fit (most of its own name said). */
#define TIE_SHARE 0.999
#define TIE_COVER 0.85

int fd_catalog_match(const fd_catalog *c, fd_str text, const fd_product *const *only, size_t n_only,
                     fd_arena *a, fd_product_match *out, fd_err *err)
{
    memset(out, 0, sizeof *out);
    const fd_product *byc = code_in(c, text);
    if (byc) {
        out->v[0] = byc;
        out->score[0] = 1e9;
        out->n = 1;
        out->n_tied = 1;
        out->exact = 1;
        return FD_OK;
    }
    cm_tokens msg;
    int rc = cm_tokenize(text, a, &msg, err);
    if (!rc)
        rc = expand_synonyms(c, &msg, a, err);
    if (rc)
        return rc;
    unsigned char *fit = fd_arena_alloc(a, msg.n + 1);
    if (!fit)
        return fd_err_set(err, FD_ENOMEM, "out of memory");
    fit_sizes(&msg, fit);
    double cover[FD_MATCH_MAX] = {0}, named[FD_MATCH_MAX] = {0};
    for (size_t k = 0; k < c->n_products; k++) {
        const fd_product *p = &c->products[k];
        if (n_only) {
            size_t i = 0;
            while (i < n_only && only[i] != p)
                i++;
            if (i == n_only)
                continue;
        }
        const cm_item *it = &c->ptok[2 * k];
        if (size_conflict(&msg, it, fit))
            continue;
        /* a size the product goes with ("lids that fit the 32oz"): one it
         * lacks counts as said when the catalog says it is made for that
         * size, and rules it out otherwise; so the product named ("lids")
         * wins over the product of that size (the 32 oz container) */
        double fs = 0;
        int off = 0;
        for (size_t i = 0; i < msg.n && !off; i++) {
            if (!fit[i] || item_holds(it, msg.v[i]))
                continue;
            if (!fits_size(c, k, msg.v[i], a)) {
                off = 1;
                continue;
            }
            char tk[32];
            size_t tl = msg.v[i].len < sizeof tk - 1 ? msg.v[i].len : sizeof tk - 1;
            memcpy(tk, msg.v[i].p, tl);
            tk[tl] = '\0';
            fs += cm_weight(c->pw_tok, c->pw, c->n_pw, tk);
        }
        if (off)
            continue;
        double s = shared(&msg, it, c->pw_tok, c->pw, c->n_pw);
        if (s <= 0)
            continue;
        s += fs;
        s += DESC_WEIGHT * shared_extra(&msg, &c->ptok[2 * k + 1], it, c->pw_tok, c->pw, c->n_pw);
        /* the share of its own name said breaks ties: "white" means the
         * plain white box more than the printed white one */
        double cv = it->total > 0 ? s / it->total : 0;
        keep(out, cover, named, p, s + 1e-3 * cv, cv,
             shared(&msg, &c->ntok[k], c->pw_tok, c->pw, c->n_pw));
    }
    /* Among the few products just shown (n_only), the one whose own name
     * the words cover most is meant ("white": the plain white box, not the
     * printed one); named from the whole catalog, an equal share is a
     * question ("lids": which of seventeen?). */
    out->n_tied = out->n ? 1 : 0;
    while (out->n_tied < out->n && out->score[out->n_tied] >= out->score[0] * TIE_SHARE - 1e-3 &&
           (!n_only || cover[out->n_tied] >= cover[0] * TIE_COVER))
        out->n_tied++;
    /* Of those that tie, the ones whose own name holds more of the words
     * are meant: "10 inch white pizza box" is the white box, not the printed
     * one that is white only in its material; "cpla forks" the fork, not the
     * kit whose contents list a fork. When every candidate was kept. */
    if (out->n_tied > 1 && out->n_tied < FD_MATCH_MAX) {
        double top = 0;
        for (size_t i = 0; i < out->n_tied; i++)
            top = named[i] > top ? named[i] : top;
        size_t k = 0;
        for (size_t i = 0; i < out->n_tied; i++)
            if (named[i] >= top - 1e-9) {
                const fd_product *pv = out->v[i];
                double sv = out->score[i];
                memmove(&out->v[k + 1], &out->v[k], (i - k) * sizeof *out->v);
                memmove(&out->score[k + 1], &out->score[k], (i - k) * sizeof *out->score);
                out->v[k] = pv;
                out->score[k] = sv;
                k++;
            }
        out->n_tied = k;
    }
    /* Still tied: the one product whose name the words leave the fewest
     * words of (sizes aside) is the plain one meant ("wooden spoons": the
     * wooden spoon, not the wooden tasting spoon); two or more such, and
     * the customer is asked among all. */
    if (out->n_tied > 1 && out->n_tied < FD_MATCH_MAX) {
        size_t best = 0, n_best = 0, least = SIZE_MAX;
        for (size_t i = 0; i < out->n_tied; i++) {
            const cm_item *nt = &c->ntok[out->v[i] - c->products];
            size_t left = 0;
            for (size_t j = 0; j < nt->n_tok; j++) {
                if (isdigit((unsigned char)nt->tok[j][0]))
                    continue;
                int said = 0;
                for (size_t m = 0; m < msg.n && !said; m++)
                    said = cm_token_eq(msg.v[m], nt->tok[j]);
                left += !said;
            }
            if (left < least) {
                least = left;
                best = i;
                n_best = 1;
            } else if (left == least) {
                n_best++;
            }
        }
        if (n_best == 1) {
            const fd_product *pv = out->v[best];
            double sv = out->score[best];
            memmove(&out->v[1], &out->v[0], best * sizeof *out->v);
            memmove(&out->score[1], &out->score[0], best * sizeof *out->score);
            out->v[0] = pv;
            out->score[0] = sv;
            out->n_tied = 1;
        }
    }
    out->ambiguous = out->n_tied > 1;
    return FD_OK;
}

/* The first two words or more of a name of three or more, in a row in the
 * message: "Green Bowl" for Green Bowl Salads, "Lotus Noodle" for Lotus
 * Noodle House (a name is shortened from its end, never to one word:
 * "pizza" or "lotus" alone name nothing). */
static int names_prefix(const cm_tokens *msg, const char *name, fd_arena *a)
{
    cm_tokens nt;
    if (cm_tokenize(fd_str_c(name), a, &nt, NULL) || nt.n < 3)
        return 0;
    for (size_t i = 0; i + 1 < msg->n; i++) {
        size_t k = 0;
        while (k < nt.n && i + k < msg->n && fd_str_eq(msg->v[i + k], nt.v[k]))
            k++;
        if (k >= 2)
            return 1;
    }
    return 0;
}

/* The customer's account id as a word of the message ("acct C1002"). */
static int names_account(const cm_tokens *msg, const char *id)
{
    size_t n = strlen(id);
    for (size_t i = 0; n && i < msg->n; i++) {
        size_t j = 0;
        while (j < n && j < msg->v[i].len &&
               tolower((unsigned char)msg->v[i].p[j]) == tolower((unsigned char)id[j]))
            j++;
        if (j == n && msg->v[i].len == n && is_code_like(msg->v[i]))
            return 1;
    }
    return 0;
}

/* The site named by its initials in text: "JE" for Jurong East. Two
 * letters say little ("je" is French for "I"), so they count written in
 * capitals, or before a word for a site ("je outlet", "je branch"). */
static int names_initials(fd_str text, const char *site)
{
    char ini[8];
    size_t n = 0;
    for (const char *q = site; *q; q++)
        if (isalpha((unsigned char)*q) && (q == site || !isalnum((unsigned char)q[-1]))) {
            if (n == sizeof ini - 1)
                return 0;
            ini[n++] = (char)tolower((unsigned char)*q);
        } else if (!isalpha((unsigned char)*q) && *q != ' ') {
            return 0;
        }
    if (n < 2)
        return 0;
    static const char *const sites[] = {"outlet", "branch", "site", "store", "shop", NULL};
    for (size_t i = 0; i + n <= text.len; i++) {
        if ((i && isalnum((unsigned char)text.p[i - 1])) ||
            (i + n < text.len && isalnum((unsigned char)text.p[i + n])))
            continue;
        size_t j = 0, caps = 0;
        while (j < n && tolower((unsigned char)text.p[i + j]) == ini[j]) {
            caps += isupper((unsigned char)text.p[i + j]) != 0;
            j++;
        }
        if (j < n)
            continue;
        if (caps == n)
            return 1;
        size_t w = i + n;
        while (w < text.len && text.p[w] == ' ')
            w++;
        for (const char *const *s = sites; *s; s++) {
            size_t l = strlen(*s);
            if (w + l <= text.len && strncasecmp(text.p + w, *s, l) == 0 &&
                (w + l == text.len || !isalpha((unsigned char)text.p[w + l])))
                return 1;
        }
    }
    return 0;
}

/* 1 when a word of a customer's name tells the business from others: it
 * is no word of the catalog ("pizza", "noodle", "bowl" name the trade) nor
 * of a site ("tampines" names a place, where any business may be). */
static int distinctive(const fd_catalog *c, const char *tok)
{
    if (cm_weight(c->pw_tok, c->pw, c->n_pw, tok) > 0)
        return 0;
    for (size_t k = 0; k < c->n_outlets; k++) {
        const cm_item *site = &c->otok[2 * k + 1];
        for (size_t j = 0; j < site->n_tok; j++)
            if (strcmp(site->tok[j], tok) == 0)
                return 0;
    }
    return 1;
}

/* The share of the weight of the customer's distinctive words that msg
 * names (typos as cm_token_eq allows them); 0 when the name has none. */
static double brand_share(const fd_catalog *c, const cm_tokens *msg, const cm_item *cu)
{
    double all = 0, said = 0;
    for (size_t j = 0; j < cu->n_tok; j++) {
        if (!distinctive(c, cu->tok[j]))
            continue;
        double w = cm_weight(c->ow_tok, c->ow, c->n_ow, cu->tok[j]);
        all += w;
        for (size_t i = 0; i < msg->n; i++)
            if (cm_token_eq(msg->v[i], cu->tok[j])) {
                said += w;
                break;
            }
    }
    return all > 0 ? said / all : 0;
}

/* A site named in full names its outlet only with half the weight of its
 * customer's distinctive words or more ("canadain tampines", "lotus
 * bedok"), or when the conversation already knows the customer. Before
 * issue 15 the site alone was enough, so "kopi kaki tampines", an unknown
 * shop, became Canadian Pizza Tampines. Half, not all: "lotus bedok" is
 * Lotus Noodle House Bedok. Checked on eval/orders dev, dev2 and dev3
 * (their outlets, unknown shops and typos), never on the held-out set. */
#define BRAND_SHARE 0.5

const fd_outlet *fd_catalog_match_outlet(const fd_catalog *c, fd_str text, const char *known,
                                         fd_arena *a, int *ambiguous)
{
    *ambiguous = 0;
    cm_tokens msg;
    if (!c->n_outlets || cm_tokenize(text, a, &msg, NULL))
        return NULL;
    const fd_outlet *best = NULL;
    double bs = 0, second = 0;
    for (size_t k = 0; k < c->n_outlets; k++) {
        const cm_item *cu = &c->otok[2 * k], *site = &c->otok[2 * k + 1];
        double sc = shared(&msg, cu, c->ow_tok, c->ow, c->n_ow);
        double ss = site->n_tok ? shared(&msg, site, c->ow_tok, c->ow, c->n_ow) : 0;
        /* the whole name of the customer or of the site: "pizza" alone is
         * not an outlet, "canadian pizza" is (which of its two, we ask); or
         * the account, or the name shortened ("green bowl") */
        if (names_account(&msg, c->outlets[k].customer_id))
            sc = cu->total;
        else if (cu->total > 0 && sc < cu->total - 1e-9 &&
                 names_prefix(&msg, c->outlets[k].customer, a))
            sc = cu->total;
        int named = cu->total > 0 && sc >= cu->total - 1e-9;
        int place = site->total > 0 && ss >= site->total - 1e-9;
        if (place && !named)
            place = (known && strcmp(known, c->outlets[k].customer_id) == 0) ||
                    brand_share(c, &msg, cu) >= BRAND_SHARE;
        if (!named && !place)
            continue;
        /* the customer named, its site by initials ("Lotus noodle JE") */
        if (cu->total > 0 && sc >= cu->total - 1e-9 && ss < site->total - 1e-9 &&
            names_initials(text, c->outlets[k].outlet))
            ss = site->total;
        double s = sc + ss;
        if (s > bs) {
            second = bs;
            bs = s;
            best = &c->outlets[k];
        } else if (s > second) {
            second = s;
        }
    }
    if (best && second >= bs * TIE_SHARE)
        *ambiguous = 1;
    return best;
}

/* 1 when the token is, as it is, a word of a product of the category
 * (typos aside: "deliver" is not "delivery"). */
static int in_some_name(const fd_catalog *c, const char *category, fd_str w)
{
    for (size_t k = 0; k < c->n_products; k++) {
        const cm_item *it = &c->ptok[2 * k];
        if (strcmp(c->products[k].category, category) != 0)
            continue;
        for (size_t j = 0; j < it->n_tok; j++)
            if (fd_str_eq_c(w, it->tok[j]))
                return 1;
    }
    return 0;
}

static int item_has(const cm_item *it, fd_str w)
{
    for (size_t j = 0; j < it->n_tok; j++)
        if (cm_token_eq(w, it->tok[j]))
            return 1;
    return 0;
}

int fd_catalog_variant(const fd_catalog *c, const fd_product *from, fd_str text, fd_arena *a,
                       fd_product_match *out, fd_err *err)
{
    memset(out, 0, sizeof *out);
    size_t fk = (size_t)(from - c->products);
    if (fk >= c->n_products)
        return FD_OK;
    cm_tokens msg;
    int rc = cm_tokenize(text, a, &msg, err);
    if (!rc)
        rc = expand_synonyms(c, &msg, a, err);
    if (rc)
        return rc;
    const cm_item *old = &c->ptok[2 * fk];
    /* the words the product lacks, that name some product ("black") */
    fd_str *nw = fd_arena_alloc(a, (msg.n + 1) * sizeof *nw);
    if (!nw)
        return fd_err_set(err, FD_ENOMEM, "out of memory");
    size_t n_new = 0;
    for (size_t i = 0; i < msg.n; i++)
        if (!all_digits(msg.v[i]) && !item_has(old, msg.v[i]) &&
            in_some_name(c, from->category, msg.v[i]))
            nw[n_new++] = msg.v[i];
    if (!n_new)
        return FD_OK;
    double cover[FD_MATCH_MAX] = {0}, named[FD_MATCH_MAX] = {0};
    for (size_t k = 0; k < c->n_products; k++) {
        const cm_item *it = &c->ptok[2 * k];
        if (k == fk || strcmp(c->products[k].category, from->category) != 0)
            continue; /* a lid for a lid */
        size_t i = 0;
        while (i < n_new && item_has(it, nw[i]))
            i++;
        if (i < n_new)
            continue;
        /* closest to the product it replaces: most of its words kept */
        double s = 0;
        for (size_t j = 0; j < old->n_tok; j++)
            if (bsearch(&old->tok[j], it->tok, it->n_tok, sizeof *it->tok, cmp_cstr))
                s += cm_weight(c->pw_tok, c->pw, c->n_pw, old->tok[j]);
        if (s > 0)
            keep(out, cover, named, &c->products[k], s, 0, 0);
    }
    out->n_tied = out->n ? 1 : 0;
    while (out->n_tied < out->n && out->score[out->n_tied] >= out->score[0] - 1e-9)
        out->n_tied++;
    out->ambiguous = out->n_tied > 1;
    return FD_OK;
}
