/* entities.c: the things a packaging customer types that a reply needs:
 * quantities, sizes, money, order ids, product codes, emails and phones
 * (dates and times are in dates.c, outlet names in gazetteer.c). Rules run
 * over fd_text_tokenize's tokens, which already keep "12-inch", "S$250" and
 * "PB-1203" whole; phones are scanned in the raw text because the tokenizer
 * splits "+65 6812 4470" into three numbers.
 *
 * Order id vs product code (the rule customers and staff both follow):
 *  - order id: "HP-" and exactly 6 digits ("HP-240517"; "hp240517" too),
 *    normalized upper case with the dash;
 *  - product code: 1-4 letters, a dash, then 1-8 letters/digits with at
 *    least one digit ("CUP-P12", "PB-1203"), upper-cased; the HP prefix is
 *    reserved for orders, so "HP-2405" is neither. */
#include "nlu_int.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>

int fd_nlu_ents_push(fd_nlu_ents *e, fd_entity_kind kind, const char *norm, double value,
                     size_t off, size_t len)
{
    if (!norm)
        return FD_ENOMEM;
    if (e->n == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 8;
        fd_entity *v = fd_arena_alloc(e->a, cap * sizeof *v);
        if (!v)
            return FD_ENOMEM;
        if (e->n)
            memcpy(v, e->v, e->n * sizeof *v);
        e->v = v;
        e->cap = cap;
    }
    e->v[e->n++] = (fd_entity){kind, norm, value, (uint32_t)off, (uint32_t)len};
    return FD_OK;
}

const char *fd_entity_kind_name(fd_entity_kind k)
{
    static const char *const names[FD__NENT] = {"quantity", "size",    "money", "date",  "time",
                                                "order_id", "product", "email", "phone", "outlet"};
    return (unsigned)k < FD__NENT ? names[k] : "";
}

static int tok_is(const fd_token *t, const char *s)
{
    return fd_str_eq_c(t->norm, s);
}

static int in_list(fd_str w, const char *const *list)
{
    for (; *list; list++)
        if (fd_str_eq_c(w, *list))
            return 1;
    return 0;
}

double fd_nlu_num(const char *p, size_t len, size_t *n)
{
    double v = 0, scale = 1;
    size_t i = 0;
    while (i < len && isdigit((unsigned char)p[i]))
        v = v * 10 + (p[i++] - '0');
    if (i && i + 1 < len && p[i] == '.' && isdigit((unsigned char)p[i + 1])) {
        for (i++; i < len && isdigit((unsigned char)p[i]); i++)
            v += (p[i] - '0') * (scale /= 10);
    }
    if (n)
        *n = i;
    return v;
}

/* ---- numbers in words ------------------------------------------------------ */

static const struct {
    const char *w;
    int v;
} number_words[] = {
    {"zero", 0},      {"one", 1},        {"two", 2},        {"three", 3},     {"four", 4},
    {"five", 5},      {"six", 6},        {"seven", 7},      {"eight", 8},     {"nine", 9},
    {"ten", 10},      {"eleven", 11},    {"twelve", 12},    {"thirteen", 13}, {"fourteen", 14},
    {"fifteen", 15},  {"sixteen", 16},   {"seventeen", 17}, {"eighteen", 18}, {"nineteen", 19},
    {"twenty", 20},   {"thirty", 30},    {"forty", 40},     {"fifty", 50},    {"sixty", 60},
    {"seventy", 70},  {"eighty", 80},    {"ninety", 90},    {"hundred", 100}, {"thousand", 1000},
    {"dozen", 12},    {"un", 1},         {"une", 1},        {"deux", 2},      {"trois", 3},
    {"quatre", 4},    {"cinq", 5},       {"sept", 7},       {"huit", 8},      {"neuf", 9},
    {"dix", 10},      {"onze", 11},      {"douze", 12},     {"treize", 13},   {"quatorze", 14},
    {"quinze", 15},   {"seize", 16},     {"vingt", 20},     {"vingts", 20},   {"trente", 30},
    {"quarante", 40}, {"cinquante", 50}, {"soixante", 60},  {"cent", 100},    {"cents", 100},
    {"mille", 1000},  {"douzaine", 12},
};

int fd_nlu_number_word(fd_str w)
{
    for (size_t i = 0; i < sizeof number_words / sizeof number_words[0]; i++)
        if (fd_str_eq_c(w, number_words[i].w))
            return number_words[i].v;
    return -1;
}

/* Folds one number word (or "twenty-five", "vingt-cinq") into the running
 * total: "two hundred fifty" = (2 * 100 + 50). 0 when w is not one. */
static int add_number_word(fd_str w, double *total, double *cur)
{
    size_t i = 0;
    int any = 0;
    while (i < w.len) {
        size_t j = i;
        while (j < w.len && w.p[j] != '-')
            j++;
        int v = fd_nlu_number_word((fd_str){w.p + i, j - i});
        if (v < 0)
            return 0;
        if (v == 100)
            *cur = (*cur ? *cur : 1) * 100;
        else if (v == 1000) {
            *total += (*cur ? *cur : 1) * 1000;
            *cur = 0;
        } else if (v == 12 && (w.p[i] == 'd')) /* dozen, douzaine */
            *cur = (*cur ? *cur : 1) * 12;
        else
            *cur += v;
        any = 1;
        i = j + 1;
    }
    return any;
}

/* A number at token i (digits, or a run of number words with "and"/"et"
 * inside): its value and the index after it; 0 when there is none. */
static int number_at(const fd_tokens *t, size_t i, const uint8_t *used, double *value, size_t *end)
{
    if (used[i])
        return 0;
    if (t->v[i].kind == FD_TOK_NUMBER) {
        *value = fd_nlu_num(t->v[i].norm.p, t->v[i].norm.len, NULL);
        *end = i + 1;
        return 1;
    }
    double total = 0, cur = 0;
    size_t j = i;
    while (j < t->n && !used[j] && t->v[j].kind == FD_TOK_WORD) {
        if (add_number_word(t->v[j].norm, &total, &cur))
            j++;
        else if (j > i && j + 1 < t->n && (tok_is(&t->v[j], "and") || tok_is(&t->v[j], "et")) &&
                 fd_nlu_number_word(t->v[j + 1].norm) >= 0)
            j++;
        else
            break;
    }
    if (j == i)
        return 0;
    *value = total + cur;
    *end = j;
    return 1;
}

/* ---- quantities and sizes ---------------------------------------------------- */

static const char *const count_nouns[] = {
    "box", "boxes", "carton", "cartons", "case", "cases", "pack", "packs", "packet", "packets",
    "pc", "pcs", "piece", "pieces", "unit", "units", "cup", "cups", "lid", "lids", "bag", "bags",
    "roll", "rolls", "sleeve", "sleeves", "tray", "trays", "bottle", "bottles", "container",
    "containers", "pallet", "pallets", "bundle", "bundles", "bowls", "bowl", "straws", "pieces",
    "boite", "boites", "pieces", "sachet", "sachets", "gobelet", "gobelets", "couvercle",
    "couvercles", "paquet", "paquets", "rouleau", "rouleaux", "palette", "palettes", "unites",
    "sac", "sacs", "bouteille", "bouteilles", "barquette", "barquettes",
    /* the trade's short forms: "10 pkt flat lid" is ten packs, not ten lids */
    "pkt", "pkts", "pk", "pks", "ctn", "ctns", NULL};

/* Spelled units after a number ("12 inch", "8 x 8 inch") -> canonical. */
static const char *unit_of(fd_str w)
{
    static const char *const inch[] = {"inch", "inches", "in", NULL};
    static const char *const oz[] = {"oz", "ounce", "ounces", NULL};
    static const char *const ml[] = {"ml", "millilitre", "milliliter", "millilitres", NULL};
    static const char *const l[] = {"l", "litre", "liter", "litres", "liters", NULL};
    static const char *const cm[] = {"cm", "centimetre", "centimeter", "centimetres", NULL};
    static const char *const mm[] = {"mm", NULL};
    static const char *const g[] = {"g", "gram", "grams", "gramme", "grammes", NULL};
    static const char *const kg[] = {"kg", "kilo", "kilos", NULL};
    return in_list(w, inch) ? "inch"
           : in_list(w, oz) ? "oz"
           : in_list(w, ml) ? "ml"
           : in_list(w, l)  ? "l"
           : in_list(w, cm) ? "cm"
           : in_list(w, mm) ? "mm"
           : in_list(w, g)  ? "g"
           : in_list(w, kg) ? "kg"
                            : NULL;
}

static int push_tok(fd_nlu_ents *e, fd_entity_kind k, const char *norm, double v,
                    const fd_tokens *t, size_t i, size_t j)
{
    size_t off = t->v[i].off, end = t->v[j - 1].off + t->v[j - 1].len;
    return fd_nlu_ents_push(e, k, norm, v, off, end - off);
}

/* "12 inch", "8 x 8 inch", "8 by 8 inch": numbers and a spelled unit. */
static int spelled_size(const fd_tokens *t, size_t i, uint8_t *used, fd_nlu_ents *e)
{
    if (t->v[i].kind != FD_TOK_NUMBER || used[i] || i + 1 >= t->n)
        return 0;
    size_t j = i + 1;
    fd_str second = {0};
    if (j + 2 < t->n && (tok_is(&t->v[j], "x") || tok_is(&t->v[j], "by")) &&
        t->v[j + 1].kind == FD_TOK_NUMBER) {
        second = t->v[j + 1].norm;
        j += 2;
    }
    const char *u = unit_of(t->v[j].norm);
    if (!u || t->v[j].kind != FD_TOK_WORD)
        return 0;
    const char *norm =
        second.len ? fd_arena_printf(e->a, "%.*sx%.*s%s", (int)t->v[i].norm.len, t->v[i].norm.p,
                                     (int)second.len, second.p, u)
                   : fd_arena_printf(e->a, "%.*s%s", (int)t->v[i].norm.len, t->v[i].norm.p, u);
    for (size_t k = i; k <= j; k++)
        used[k] = 1;
    double v = fd_nlu_num(t->v[i].norm.p, t->v[i].norm.len, NULL);
    return push_tok(e, FD_ENT_SIZE, norm, v, t, i, j + 1) ? -1 : 1;
}

/* A number, at most two describing tokens, then a count noun:
 * "200 boxes", "two hundred kraft boxes", "deux cents boîtes". */
static int quantity(const fd_tokens *t, size_t i, uint8_t *used, fd_nlu_ents *e)
{
    double v;
    size_t j;
    if (!number_at(t, i, used, &v, &j))
        return 0;
    for (size_t gap = 0; j < t->n && gap <= 2; gap++, j++) {
        if (in_list(t->v[j].norm, count_nouns)) {
            const char *norm =
                fd_arena_printf(e->a, "%g %.*s", v, (int)t->v[j].norm.len, t->v[j].norm.p);
            for (size_t k = i; k <= j; k++)
                used[k] = 1;
            return push_tok(e, FD_ENT_QUANTITY, norm, v, t, i, j + 1) ? -1 : 1;
        }
        if (t->v[j].kind != FD_TOK_WORD && t->v[j].kind != FD_TOK_MEASURE)
            break;
        if (fd_nlu_number_word(t->v[j].norm) >= 0)
            break;
    }
    return 0;
}

/* ---- codes, money, emails ------------------------------------------------------ */

static int all_digits(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)p[i]))
            return 0;
    return n > 0;
}

static char *upper_dup(fd_arena *a, const char *p, size_t n)
{
    char *s = fd_arena_strndup(a, p, n);
    for (size_t i = 0; s && i < n; i++)
        s[i] = (char)toupper((unsigned char)s[i]);
    return s;
}

/* CODE token -> order id, product code, size ("12x10cm") or nothing. */
static int code_entity(const fd_token *tk, fd_nlu_ents *e)
{
    const char *p = tk->norm.p;
    size_t n = tk->norm.len;
    if (n >= 8 && p[0] == 'h' && p[1] == 'p') {
        size_t d = p[2] == '-' ? 3 : 2;
        if (n - d == 6 && all_digits(p + d, 6)) {
            char *norm = fd_arena_printf(e->a, "HP-%.6s", p + d);
            return fd_nlu_ents_push(e, FD_ENT_ORDER_ID, norm, 0, tk->off, tk->len);
        }
    }
    if (isdigit((unsigned char)p[0])) { /* 12x10cm */
        size_t a, b;
        double v = fd_nlu_num(p, n, &a);
        if (a + 1 < n && p[a] == 'x' && isdigit((unsigned char)p[a + 1])) {
            fd_nlu_num(p + a + 1, n - a - 1, &b);
            size_t u = a + 1 + b;
            if (u == n || unit_of((fd_str){p + u, n - u}))
                return fd_nlu_ents_push(e, FD_ENT_SIZE, fd_arena_strndup(e->a, p, n), v, tk->off,
                                        tk->len);
        }
        return FD_OK;
    }
    size_t i = 0;
    while (i < n && isalpha((unsigned char)p[i]))
        i++;
    if (i < 1 || i > 4 || i >= n || p[i] != '-' || (i == 2 && p[0] == 'h' && p[1] == 'p'))
        return FD_OK;
    size_t rest = n - i - 1, digits = 0;
    if (rest < 1 || rest > 8)
        return FD_OK;
    for (size_t k = i + 1; k < n; k++) {
        if (!isalnum((unsigned char)p[k]))
            return FD_OK;
        digits += isdigit((unsigned char)p[k]) != 0;
    }
    if (!digits)
        return FD_OK;
    return fd_nlu_ents_push(e, FD_ENT_PRODUCT, upper_dup(e->a, p, n), 0, tk->off, tk->len);
}

static double amount_of(fd_str norm)
{
    size_t i = 0;
    while (i < norm.len && !isdigit((unsigned char)norm.p[i]))
        i++;
    return i < norm.len ? fd_nlu_num(norm.p + i, norm.len - i, NULL) : 0;
}

static int token_entity(const fd_token *tk, fd_nlu_ents *e)
{
    switch (tk->kind) {
    case FD_TOK_EMAIL:
        return fd_nlu_ents_push(e, FD_ENT_EMAIL, fd_arena_strndup(e->a, tk->norm.p, tk->norm.len),
                                0, tk->off, tk->len);
    case FD_TOK_MONEY:
        return fd_nlu_ents_push(e, FD_ENT_MONEY, fd_arena_strndup(e->a, tk->norm.p, tk->norm.len),
                                amount_of(tk->norm), tk->off, tk->len);
    case FD_TOK_MEASURE:
        if (tk->norm.len && tk->norm.p[tk->norm.len - 1] == '%')
            return FD_OK; /* a discount, not a size */
        return fd_nlu_ents_push(e, FD_ENT_SIZE, fd_arena_strndup(e->a, tk->norm.p, tk->norm.len),
                                amount_of(tk->norm), tk->off, tk->len);
    case FD_TOK_CODE:
        return code_entity(tk, e);
    default:
        return FD_OK;
    }
}

/* ---- phones ------------------------------------------------------------------- */

/* Singapore numbers: optional +65 (or 65 and a space), 8 digits starting
 * with 6, 8 or 9, optionally split 4+4 by a space or dash, and no digit or
 * letter glued on either side. *len is the span; digits are the local 8. */
static int phone_at(const char *s, size_t n, size_t i, size_t *len, char digits[9])
{
    size_t j = i;
    if (s[j] == '+') {
        if (j + 3 > n || s[j + 1] != '6' || s[j + 2] != '5')
            return 0;
        j += 3;
        if (j < n && (s[j] == ' ' || s[j] == '-'))
            j++;
    } else if (j + 3 < n && s[j] == '6' && s[j + 1] == '5' && s[j + 2] == ' ') {
        size_t k;
        char d[9];
        if (phone_at(s, n, j + 3, &k, d)) {
            memcpy(digits, d, 9);
            *len = j + 3 + k - i;
            return 1;
        }
        return 0;
    }
    int k = 0;
    while (j < n && k < 8) {
        if (isdigit((unsigned char)s[j]))
            digits[k++] = s[j++];
        else if (k == 4 && (s[j] == ' ' || s[j] == '-') && j + 1 < n &&
                 isdigit((unsigned char)s[j + 1]))
            j++;
        else
            break;
    }
    digits[8] = 0;
    if (k != 8 || (digits[0] != '6' && digits[0] != '8' && digits[0] != '9'))
        return 0;
    if (j < n && (isalnum((unsigned char)s[j]) || s[j] == '-'))
        return 0;
    *len = j - i;
    return 1;
}

static int phones(fd_str text, const fd_tokens *t, uint8_t *used, fd_nlu_ents *e)
{
    const char *s = text.p;
    for (size_t i = 0; i < text.len; i++) {
        if (i > 0 && (isalnum((unsigned char)s[i - 1]) || s[i - 1] == '+' || s[i - 1] == '-'))
            continue;
        if (s[i] != '+' && !isdigit((unsigned char)s[i]))
            continue;
        size_t len;
        char d[9];
        if (!phone_at(s, text.len, i, &len, d))
            continue;
        if (fd_nlu_ents_push(e, FD_ENT_PHONE, fd_arena_strndup(e->a, d, 8), 0, i, len))
            return FD_ENOMEM;
        for (size_t k = 0; k < t->n; k++)
            if (t->v[k].off >= i && t->v[k].off < i + len)
                used[k] = 1;
        i += len;
    }
    return FD_OK;
}

/* ---- driver ----------------------------------------------------------------- */

static int cmp_ent(const void *a, const void *b)
{
    const fd_entity *x = a, *y = b;
    if (x->off != y->off)
        return x->off < y->off ? -1 : 1;
    return (x->kind > y->kind) - (x->kind < y->kind);
}

static int collect(fd_str text, const fd_tokens *t, uint8_t *used, const fd_nlu_ctx *ctx,
                   fd_nlu_ents *e)
{
    int rc = phones(text, t, used, e);
    for (size_t i = 0; !rc && i < t->n; i++) {
        if (used[i] || t->v[i].kind == FD_TOK_WORD || t->v[i].kind == FD_TOK_NUMBER)
            continue;
        size_t before = e->n;
        rc = token_entity(&t->v[i], e);
        used[i] = e->n > before;
    }
    if (!rc)
        rc = fd_nlu_dates(text, t, used, ctx, e);
    for (size_t i = 0; !rc && i < t->n; i++) {
        int r = spelled_size(t, i, used, e);
        if (!r)
            r = quantity(t, i, used, e);
        rc = r < 0 ? FD_ENOMEM : FD_OK;
    }
    if (!rc && ctx && ctx->names)
        rc = fd_nlu_gazetteer_match(ctx->names, t, e);
    return rc;
}

int fd_nlu_entities(fd_str text, const fd_nlu_ctx *ctx, fd_arena *a, fd_entities *out, fd_err *err)
{
    out->v = NULL;
    out->n = 0;
    fd_tokens t;
    fd_err terr = {0};
    int rc = fd_text_tokenize(text, a, &t, &terr);
    if (rc == FD_EUTF8 || rc == FD_EINVAL)
        return FD_OK; /* odd text has no entities */
    if (rc)
        return fd_err_set(err, rc, "entities: %s", terr.msg);
    uint8_t *used = fd_arena_calloc(a, t.n + 1, 1);
    fd_nlu_ents e = {a, NULL, 0, 0};
    rc = used ? collect(text, &t, used, ctx, &e) : FD_ENOMEM;
    if (rc)
        return fd_err_set(err, fd_arena_full(a) ? FD_ETOOBIG : FD_ENOMEM,
                          "entities: out of memory");
    if (e.n > 1)
        qsort(e.v, e.n, sizeof *e.v, cmp_ent);
    out->v = e.v;
    out->n = e.n;
    return FD_OK;
}
