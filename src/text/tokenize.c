/* tokenize.c: splits text into words, numbers, measures, money, ranges,
 * codes and emails, keeping whole what customers type whole ("12-inch",
 * "S$1.20", "PB-1203", "l'emballage" -> "emballage"). Token offsets point
 * into the original input, for highlighting; norms live in the arena. */
#include "text_int.h"

/* Byte span [b, e) of the input. */
typedef struct span {
    size_t b, e;
} span;

/* What one scan found; the norm is built from these pieces afterwards. */
typedef struct scan {
    fd_tok_kind kind;
    span tok;         /* the token in the input */
    span text;        /* WORD/CODE/EMAIL: what gets folded; else the number */
    span num2;        /* RANGE: the second number */
    const char *pre;  /* MONEY: currency written before the number... */
    size_t pre_n;     /* ...as source bytes, ASCII letters lower-cased */
    const char *unit; /* MEASURE: canonical unit, a literal */
} scan;

/* Result of scanning letters, digits and inner joiners. */
typedef struct run {
    size_t end;
    size_t apos;     /* first inner apostrophe, or SIZE_MAX */
    unsigned apos_n; /* its byte length (' or ’) */
    int has_alpha, has_digit;
} run;

static fd_tx_cls cls_at(const fd_tx_lexer *lx, size_t i, unsigned *n)
{
    return fd_tx_class(lx->s, lx->len, i, n);
}

static int is_alnum(fd_tx_cls c)
{
    return c == TX_ALPHA || c == TX_DIGIT || c == TX_MARK;
}

static int is_ascii_alpha(unsigned char c)
{
    return ((unsigned)(c | 0x20) - 'a') < 26u;
}

static int digit_at(const fd_tx_lexer *lx, size_t i)
{
    unsigned n;
    return cls_at(lx, i, &n) == TX_DIGIT;
}

/* True when nothing word-like continues at i, so a unit or currency code
 * that ends here is not the start of a longer word ("12mlx", "12-inch-x"). */
static int ends_token(const fd_tx_lexer *lx, size_t i)
{
    unsigned n;
    fd_tx_cls c = cls_at(lx, i, &n);
    if (is_alnum(c))
        return 0;
    if (c == TX_HYPHEN || c == TX_APOS) {
        unsigned m;
        return !is_alnum(cls_at(lx, i + n, &m));
    }
    return 1;
}

/* Digits with "1,000" grouping and one decimal part ("1.20", "1,20").
 * A comma before exactly 3 digits groups thousands; any other comma before
 * digits is a French decimal, unless a list follows ("10,12,14"). */
static size_t scan_number(const fd_tx_lexer *lx, size_t i)
{
    unsigned n;
    size_t j = i;
    /* Inside "10,12,14" after its first item: commas separate, no decimal. */
    int in_list = i >= 2 && lx->s[i - 1] == ',' && lx->s[i - 2] >= '0' && lx->s[i - 2] <= '9';
    while (cls_at(lx, j, &n) == TX_DIGIT)
        j += n;
    for (;;) {
        fd_tx_cls c = cls_at(lx, j, &n);
        if (c != TX_COMMA && c != TX_DOT)
            return j;
        size_t k = j + n;
        unsigned m;
        int nd = 0;
        while (cls_at(lx, k, &m) == TX_DIGIT) {
            k += m;
            nd++;
        }
        if (nd == 0)
            return j;
        if (c == TX_COMMA && nd == 3) {
            j = k; /* thousands group: more may follow */
            continue;
        }
        if (c == TX_COMMA &&
            (in_list || (cls_at(lx, k, &m) == TX_COMMA && cls_at(lx, k + m, &m) == TX_DIGIT)))
            return j; /* "10,12,14" is a list, not 10.12 */
        return k;     /* decimal part ends the number */
    }
}

/* Letters, digits and marks, joined by inner apostrophes ("l'emballage"),
 * hyphens ("take-away", "PB-1203"), format characters (soft hyphen) and,
 * in codes, dots between digits ("v2.0"). */
static void scan_run(const fd_tx_lexer *lx, size_t i, run *r)
{
    memset(r, 0, sizeof *r);
    r->apos = SIZE_MAX;
    size_t j = i;
    fd_tx_cls prev = TX_OTHER;
    for (;;) {
        unsigned n, m;
        fd_tx_cls c = cls_at(lx, j, &n);
        if (c == TX_ALPHA || c == TX_MARK) {
            r->has_alpha = 1;
        } else if (c == TX_DIGIT) {
            r->has_digit = 1;
        } else {
            fd_tx_cls next = cls_at(lx, j + n, &m);
            int joins = 0;
            if (c == TX_APOS)
                joins = prev == TX_ALPHA && next == TX_ALPHA;
            else if (c == TX_HYPHEN || c == TX_IGN)
                joins = is_alnum(prev) && is_alnum(next);
            else if (c == TX_DOT)
                joins = prev == TX_DIGIT && next == TX_DIGIT && r->has_alpha;
            if (!joins)
                break;
            if (c == TX_APOS && r->apos == SIZE_MAX) {
                r->apos = j;
                r->apos_n = n;
            }
            c = TX_OTHER;
        }
        prev = c == TX_MARK ? TX_ALPHA : c;
        j += n;
    }
    r->end = j;
}

static const char *unit_canon(const unsigned char *p, size_t n)
{
    static const struct {
        const char *alias, *canon;
    } units[] = {
        {"in", "inch"},
        {"inch", "inch"},
        {"inches", "inch"},
        {"ft", "ft"},
        {"mm", "mm"},
        {"cm", "cm"},
        {"m", "m"},
        {"km", "km"},
        {"ml", "ml"},
        {"cl", "cl"},
        {"l", "l"},
        {"ltr", "l"},
        {"oz", "oz"},
        {"g", "g"},
        {"gr", "g"},
        {"mg", "mg"},
        {"kg", "kg"},
        {"lb", "lb"},
        {"lbs", "lb"},
        {"gsm", "gsm"},
        {"mic", "micron"},
        {"micron", "micron"},
        {"microns", "micron"},
        {"pcs", "pcs"},
        {"pc", "pcs"},
        {"ply", "ply"},
        {"pack", "pack"},
        {"pk", "pack"},
    };
    char w[8];
    if (n == 0 || n >= sizeof w)
        return NULL;
    for (size_t i = 0; i < n; i++)
        w[i] = (char)fd_tx_lc(p[i]);
    for (size_t k = 0; k < sizeof units / sizeof units[0]; k++)
        if (strlen(units[k].alias) == n && !memcmp(units[k].alias, w, n))
            return units[k].canon;
    return NULL;
}

static int is_currency_code(const unsigned char *p)
{
    static const char codes[][4] = {"sgd", "usd", "eur", "gbp", "aud", "myr", "hkd",
                                    "cad", "nzd", "jpy", "cny", "chf", "inr"};
    char w[3] = {(char)fd_tx_lc(p[0]), (char)fd_tx_lc(p[1]), (char)fd_tx_lc(p[2])};
    for (size_t k = 0; k < sizeof codes / sizeof codes[0]; k++)
        if (!memcmp(codes[k], w, 3))
            return 1;
    return 0;
}

/* End of a run of ASCII letters at i. */
static size_t ascii_letters(const fd_tx_lexer *lx, size_t i, size_t max)
{
    size_t k = i;
    while (k < lx->len && k - i < max && is_ascii_alpha(lx->s[k]))
        k++;
    return k;
}

/* Money written with letters first: "S$1.20", "US$5", "SGD 12.50", "EUR10". */
static int scan_money_letters(const fd_tx_lexer *lx, size_t i, scan *sc)
{
    size_t k = ascii_letters(lx, i, 4);
    size_t nl = k - i;
    unsigned n;
    size_t at;
    if (nl >= 1 && nl <= 3 && k < lx->len && lx->s[k] == '$' && cls_at(lx, k + 1, &n) == TX_DIGIT) {
        at = k + 1;
    } else if (nl == 3 && is_currency_code(lx->s + i)) {
        at = k < lx->len && lx->s[k] == ' ' ? k + 1 : k;
        if (cls_at(lx, at, &n) != TX_DIGIT)
            return 0;
    } else {
        return 0;
    }
    size_t ne = scan_number(lx, at);
    if (!ends_token(lx, ne))
        return 0;
    sc->kind = FD_TOK_MONEY;
    sc->tok = (span){i, ne};
    sc->text = (span){at, ne};
    sc->pre = (const char *)lx->s + i;
    sc->pre_n = lx->s[k] == '$' ? nl + 1 : nl;
    return 1;
}

static void scan_alpha(const fd_tx_lexer *lx, size_t i, scan *sc)
{
    if (is_ascii_alpha(lx->s[i]) && scan_money_letters(lx, i, sc))
        return;
    run r;
    scan_run(lx, i, &r);
    size_t b = i;
    /* French elision: "l'emballage" indexes as "emballage"; the article is
     * a stopword anyway. "don't", "aujourd'hui" stay whole. */
    if (r.apos != SIZE_MAX && fd_tx_is_elision(lx->s + i, r.apos - i))
        b = r.apos + r.apos_n;
    sc->kind = r.has_digit ? FD_TOK_CODE : FD_TOK_WORD;
    sc->tok = (span){b, r.end};
    sc->text = sc->tok;
}

/* Code fallback for a digit start ("2-day", "12x10cm", "2024-001-A"). */
static void scan_code_or_number(const fd_tx_lexer *lx, size_t i, size_t ne, scan *sc)
{
    run r;
    scan_run(lx, i, &r);
    if (r.end <= ne) { /* "1,000abc": the number reads further */
        sc->kind = FD_TOK_NUMBER;
        sc->tok = (span){i, ne};
    } else {
        sc->kind = FD_TOK_CODE;
        sc->tok = (span){i, r.end};
    }
    sc->text = sc->tok;
}

static void set_number(scan *sc, fd_tok_kind kind, size_t i, size_t ne, size_t end)
{
    sc->kind = kind;
    sc->tok = (span){i, end};
    sc->text = (span){i, ne};
}

/* After a number, at j: "12-inch", "12inch", "12in", "3-5", "12.50SGD". */
static int scan_number_suffix(const fd_tx_lexer *lx, size_t i, size_t ne, size_t j, scan *sc)
{
    unsigned n;
    fd_tx_cls c = cls_at(lx, j, &n);
    if (c == TX_DIGIT) { /* after a hyphen or dash: a range */
        size_t ne2 = scan_number(lx, j);
        if (!ends_token(lx, ne2))
            return 0;
        set_number(sc, FD_TOK_RANGE, i, ne, ne2);
        sc->num2 = (span){j, ne2};
        return 1;
    }
    if (c != TX_ALPHA)
        return 0;
    size_t k = ascii_letters(lx, j, 8);
    if (!ends_token(lx, k))
        return 0;
    const char *unit = unit_canon(lx->s + j, k - j);
    if (unit) {
        set_number(sc, FD_TOK_MEASURE, i, ne, k);
        sc->unit = unit;
        return 1;
    }
    if (k - j == 3 && is_currency_code(lx->s + j) && lx->s[ne] != '-') {
        set_number(sc, FD_TOK_MONEY, i, ne, k);
        sc->pre = (const char *)lx->s + j;
        sc->pre_n = 3;
        return 1;
    }
    return 0;
}

/* A number and what follows it decides the kind. */
static void scan_digit(const fd_tx_lexer *lx, size_t i, scan *sc)
{
    size_t ne = scan_number(lx, i);
    unsigned n, m;
    fd_tx_cls c = cls_at(lx, ne, &n);
    switch (c) {
    case TX_HYPHEN:
    case TX_DASH:
        if (scan_number_suffix(lx, i, ne, ne + n, sc))
            return;
        break;
    case TX_ALPHA:
        if (scan_number_suffix(lx, i, ne, ne, sc))
            return;
        break;
    case TX_INCHQ: /* 12" and 12” mean the same as 12-inch */
        set_number(sc, FD_TOK_MEASURE, i, ne, ne + n);
        sc->unit = "inch";
        return;
    case TX_PCT:
        set_number(sc, FD_TOK_MEASURE, i, ne, ne + n);
        sc->unit = "%";
        return;
    case TX_CUR: /* 10€ */
        set_number(sc, FD_TOK_MONEY, i, ne, ne + n);
        sc->pre = (const char *)lx->s + ne;
        sc->pre_n = n;
        return;
    case TX_SPACE: /* "10 €", "12.50 SGD": one space, as French and invoices write */
        if (cls_at(lx, ne + n, &m) == TX_CUR && !digit_at(lx, ne + n + m)) {
            set_number(sc, FD_TOK_MONEY, i, ne, ne + n + m);
            sc->pre = (const char *)lx->s + ne + n;
            sc->pre_n = m;
            return;
        }
        if (ascii_letters(lx, ne + n, 4) == ne + n + 3 && is_currency_code(lx->s + ne + n) &&
            ends_token(lx, ne + n + 3)) {
            set_number(sc, FD_TOK_MONEY, i, ne, ne + n + 3);
            sc->pre = (const char *)lx->s + ne + n;
            sc->pre_n = 3;
            return;
        }
        break;
    default:
        break;
    }
    if (c == TX_ALPHA || c == TX_DIGIT || c == TX_MARK || c == TX_HYPHEN || c == TX_IGN)
        scan_code_or_number(lx, i, ne, sc);
    else
        set_number(sc, FD_TOK_NUMBER, i, ne, ne);
}

static int is_ascii_alnum(unsigned char c)
{
    return is_ascii_alpha(c) || (c >= '0' && c <= '9');
}

static int is_email_punct(unsigned char c, const char *set)
{
    return c && strchr(set, c); /* strchr finds the terminator for c == 0 */
}

/* One domain label at k: letters, digits, inner hyphens. Returns its end. */
static size_t scan_label(const fd_tx_lexer *lx, size_t k, int *alpha)
{
    size_t b = k;
    *alpha = 1;
    while (k < lx->len && (is_ascii_alnum(lx->s[k]) || (lx->s[k] == '-' && k > b))) {
        *alpha &= is_ascii_alpha(lx->s[k]);
        k++;
    }
    while (k > b && lx->s[k - 1] == '-')
        k--;
    return k;
}

/* "sales@acme.com": ASCII local part, '@', two or more dot-separated
 * labels, a final label of 2+ letters. Returns the end, or 0. */
static size_t scan_email(const fd_tx_lexer *lx, size_t i)
{
    const unsigned char *s = lx->s;
    size_t j = i;
    while (j < lx->len && (is_ascii_alnum(s[j]) || is_email_punct(s[j], "._%+-")))
        j++;
    if (j == i || j >= lx->len || s[j] != '@' || s[j - 1] == '.')
        return 0;
    size_t end = 0;
    int labels = 0;
    size_t k = j + 1;
    for (;;) {
        int alpha;
        size_t lb = k;
        k = scan_label(lx, k, &alpha);
        if (k == lb)
            break;
        labels++;
        if (labels >= 2 && alpha && k - lb >= 2)
            end = k;
        if (k + 1 >= lx->len || s[k] != '.' || !is_ascii_alnum(s[k + 1]))
            break;
        k++;
    }
    return end;
}

/* Where the next token may start: a letter, a digit, or a currency sign
 * before a digit ("$5", "€10"). */
static size_t skip_to_start(const fd_tx_lexer *lx, size_t i)
{
    while (i < lx->len) {
        unsigned n, m;
        fd_tx_cls c = cls_at(lx, i, &n);
        if (c == TX_ALPHA || c == TX_DIGIT)
            return i;
        if (c == TX_CUR && cls_at(lx, i + n, &m) == TX_DIGIT)
            return i;
        i += n;
    }
    return i;
}

static void scan_token(const fd_tx_lexer *lx, size_t i, scan *sc)
{
    unsigned n;
    memset(sc, 0, sizeof *sc);
    fd_tx_cls c = cls_at(lx, i, &n);
    if (c == TX_CUR) {
        size_t ne = scan_number(lx, i + n);
        sc->kind = FD_TOK_MONEY;
        sc->tok = (span){i, ne};
        sc->text = (span){i + n, ne};
        sc->pre = (const char *)lx->s + i;
        sc->pre_n = n;
        return;
    }
    if (c == TX_DIGIT)
        scan_digit(lx, i, sc);
    else
        scan_alpha(lx, i, sc);
    /* Cheap trigger: only a token stopped by an e-mail character is retried. */
    size_t e = sc->tok.e;
    if (e < lx->len && is_email_punct(lx->s[e], "@._+%-") && lx->s[i] < 0x80) {
        size_t ee = scan_email(lx, i);
        if (ee >= e) {
            sc->kind = FD_TOK_EMAIL;
            sc->tok = (span){i, ee};
            sc->text = sc->tok;
        }
    }
}

/* ---- norms ------------------------------------------------------------ */

/* A folded source span: a view of ASCII input (lower-cased when copied) or
 * a folded copy already in the pool. */
typedef struct piece {
    const char *p;
    size_t n;
    int ascii;
} piece;

static int span_ascii(const unsigned char *p, size_t n)
{
    unsigned char acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc < 0x80;
}

static int fold_piece(fd_tx_lexer *lx, span sp, piece *out)
{
    const char *p = (const char *)lx->s + sp.b;
    size_t n = sp.e - sp.b;
    *out = (piece){p, n, 1};
    if (span_ascii(lx->s + sp.b, n))
        return FD_OK;
    const char *f;
    size_t fn;
    int rc = fd_tx_fold_utf8(p, n, &lx->sc, lx->a, &f, &fn);
    if (rc)
        return rc;
    *out = (piece){"", 0, 0};
    if (fn == 0)
        return FD_OK;
    char *d = fd_tx_pool_alloc(&lx->pool, fn);
    if (!d)
        return fd_arena_full(lx->a) ? FD_ETOOBIG : FD_ENOMEM;
    memcpy(d, f, fn);
    *out = (piece){d, fn, 0};
    return FD_OK;
}

static size_t put_lower(char *d, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        d[i] = (char)fd_tx_lc((unsigned char)p[i]);
    return n;
}

static int is_digit_byte(char c)
{
    return c >= '0' && c <= '9';
}

/* The scan_number rules again, on folded text: a comma before exactly 3
 * digits groups thousands and goes; any other comma is a decimal point. */
static size_t put_number(char *d, const char *p, size_t n)
{
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c == ',') {
            size_t k = i + 1;
            while (k < n && is_digit_byte(p[k]))
                k++;
            if (k - i - 1 == 3)
                continue;
            c = '.';
        }
        d[w++] = c;
    }
    return w;
}

/* WORD, CODE, EMAIL: the folded text itself. */
static int norm_text(fd_tx_lexer *lx, const scan *sc, fd_str *out)
{
    piece pc;
    int rc = fold_piece(lx, sc->text, &pc);
    if (rc || !pc.ascii || pc.n == 0) {
        *out = (fd_str){pc.p, pc.n};
        return rc;
    }
    char *d = fd_tx_pool_alloc(&lx->pool, pc.n);
    if (!d)
        return fd_arena_full(lx->a) ? FD_ETOOBIG : FD_ENOMEM;
    *out = (fd_str){d, put_lower(d, pc.p, pc.n)};
    return FD_OK;
}

/* Numbers and what carries them: "s$1.20", "€10", "12inch", "3-5". The
 * currency goes first whatever side it was written on, so "10€", "10 €"
 * and "€10" are one term. */
static int norm_number(fd_tx_lexer *lx, const scan *sc, fd_str *out)
{
    piece a, b = {"", 0, 1};
    int rc = fold_piece(lx, sc->text, &a);
    if (!rc && sc->kind == FD_TOK_RANGE)
        rc = fold_piece(lx, sc->num2, &b);
    if (rc)
        return rc;
    size_t unit_n = sc->unit ? strlen(sc->unit) : 0;
    size_t max = sc->pre_n + a.n + 1 + b.n + unit_n;
    char *d = fd_tx_pool_alloc(&lx->pool, max);
    if (!d)
        return fd_arena_full(lx->a) ? FD_ETOOBIG : FD_ENOMEM;
    size_t w = put_lower(d, sc->pre, sc->pre_n);
    w += put_number(d + w, a.p, a.n);
    if (sc->kind == FD_TOK_RANGE) {
        d[w++] = '-';
        w += put_number(d + w, b.p, b.n);
    }
    memcpy(d + w, sc->unit ? sc->unit : "", unit_n);
    w += unit_n;
    *out = (fd_str){d, w};
    return FD_OK;
}

/* ---- the scanner's API -------------------------------------------------- */

void fd_tx_lexer_init(fd_tx_lexer *lx, fd_str in, fd_arena *a)
{
    lx->s = (const unsigned char *)in.p;
    lx->len = in.p ? in.len : 0;
    lx->pos = 0;
    lx->a = a;
    lx->pool = (fd_tx_pool){a, NULL, 0};
}

static int fail(fd_tx_lexer *lx, int rc, size_t at, fd_err *err)
{
    if (rc == FD_ENOMEM || rc == FD_ETOOBIG)
        return fd_tx_arena_err(lx->a, err);
    return fd_err_set(err, rc, "text: cannot fold the token at byte %zu", at);
}

int fd_tx_lexer_next(fd_tx_lexer *lx, fd_token *t, fd_err *err)
{
    for (;;) {
        size_t i = skip_to_start(lx, lx->pos);
        if (i >= lx->len) {
            lx->pos = lx->len;
            return 0;
        }
        scan sc;
        scan_token(lx, i, &sc);
        lx->pos = sc.tok.e > i ? sc.tok.e : i + 1; /* always moves on */
        int rc;
        if (sc.kind == FD_TOK_WORD || sc.kind == FD_TOK_CODE || sc.kind == FD_TOK_EMAIL)
            rc = norm_text(lx, &sc, &t->norm);
        else
            rc = norm_number(lx, &sc, &t->norm);
        if (rc)
            return -fail(lx, rc, i, err);
        if (t->norm.len == 0)
            continue; /* only marks or ignorables: nothing to match */
        t->off = (uint32_t)sc.tok.b;
        t->len = (uint32_t)(sc.tok.e - sc.tok.b);
        t->kind = sc.kind;
        return 1;
    }
}

int fd_text_tokenize(fd_str in, fd_arena *a, fd_tokens *out, fd_err *err)
{
    out->v = NULL;
    out->n = 0;
    int rc = fd_tx_check_input(in, err);
    if (rc)
        return rc;
    fd_tx_lexer lx;
    fd_tx_lexer_init(&lx, in, a);
    fd_token *v = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        fd_token t;
        int r = fd_tx_lexer_next(&lx, &t, err);
        if (r < 0)
            return -r;
        if (r == 0)
            break;
        if (n == cap) {
            /* ~6 bytes a token in prose; doubling covers the rest. */
            size_t ncap = cap ? cap * 2 : in.len / 6 + 8;
            fd_token *nv = fd_arena_alloc(a, ncap * sizeof *nv);
            if (!nv)
                return fd_tx_arena_err(a, err);
            if (n)
                memcpy(nv, v, n * sizeof *nv);
            v = nv;
            cap = ncap;
        }
        v[n++] = t;
    }
    out->v = v;
    out->n = n;
    return FD_OK;
}
