/* facts.c: the checkable facts in a sentence (prices, percentages, times,
 * durations, dates, weekdays, product codes, bare numbers), normalized so
 * that "S$18.00" = "$18" = "18 S$", "seven days" = "7 days", "9am" =
 * "9:00 am" = "09:00" and "15 h 00" = "3:00 pm". An answer may only state
 * facts its sources state: this is where invented numbers are caught. */
#include "answer_int.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>

typedef struct scanner {
    fd_str t;
    fd_arena *a;
    ans_claims out;
    size_t cap;
} scanner;

static int lc(int c)
{
    return tolower((unsigned char)c);
}

static int is_digit_at(fd_str t, size_t i)
{
    return i < t.len && isdigit((unsigned char)t.p[i]);
}

static int is_alpha_at(fd_str t, size_t i)
{
    return i < t.len && (isalpha((unsigned char)t.p[i]) || (unsigned char)t.p[i] >= 0x80);
}

/* Spaces, including the no-break spaces French typography puts before
 * units and currencies ("18 S$", "15 %"). Returns bytes skipped. */
static size_t skip_space(fd_str t, size_t i)
{
    size_t j = i;
    for (;;) {
        if (j < t.len && (t.p[j] == ' ' || t.p[j] == '\t'))
            j++;
        else if (j + 1 < t.len && (unsigned char)t.p[j] == 0xc2 &&
                 (unsigned char)t.p[j + 1] == 0xa0)
            j += 2;
        else if (j + 2 < t.len && !memcmp(t.p + j, "\xe2\x80\xaf", 3))
            j += 3;
        else
            return j - i;
    }
}

/* Case-insensitive ASCII prefix match of w at i, ending on a word boundary
 * when `word` is set. Returns the bytes matched or 0. */
static size_t match(fd_str t, size_t i, const char *w, int word)
{
    /* The first letter first: scan_word tries ~70 words at every word. */
    if (i >= t.len || lc(t.p[i]) != w[0])
        return 0;
    size_t n = strlen(w);
    if (i + n > t.len)
        return 0;
    for (size_t k = 0; k < n; k++)
        if (lc(t.p[i + k]) != w[k])
            return 0;
    if (word && is_alpha_at(t, i + n))
        return 0;
    return n;
}

static size_t match_any(fd_str t, size_t i, const char *const *v, size_t nv, size_t *which)
{
    for (size_t k = 0; k < nv; k++) {
        size_t m = match(t, i, v[k], 1);
        if (m) {
            if (which)
                *which = k;
            return m;
        }
    }
    return 0;
}

static int add(scanner *sc, ans_claim_kind kind, double v, ans_unit unit, size_t b, size_t e)
{
    if (sc->out.n == sc->cap) {
        size_t cap = sc->cap ? sc->cap * 2 : 16;
        ans_claim *nv = fd_arena_alloc(sc->a, cap * sizeof *nv);
        if (!nv)
            return -1;
        if (sc->out.n)
            memcpy(nv, sc->out.v, sc->out.n * sizeof *nv);
        sc->out.v = nv;
        sc->cap = cap;
    }
    ans_claim *c = &sc->out.v[sc->out.n++];
    memset(c, 0, sizeof *c);
    c->kind = kind;
    c->value = v;
    c->unit = unit;
    c->off = (uint32_t)b;
    c->len = (uint32_t)(e - b);
    return 0;
}

/* "1,000.50", "1,20" (French decimal), "18.00". Sets *end. */
static double parse_number(fd_str t, size_t i, size_t *end)
{
    char buf[64];
    size_t n = 0, j = i;
    /* One decimal point at most. Ask the flag, not buf: buf is terminated
     * only when the number ends, and its bytes past n are whatever earlier
     * calls left on the stack. */
    int dot = 0;
    while (j < t.len && n < sizeof buf - 1) {
        char c = t.p[j];
        if (isdigit((unsigned char)c)) {
            buf[n++] = c;
            j++;
            continue;
        }
        size_t k = j + 1;
        while (is_digit_at(t, k))
            k++;
        if (k == j + 1)
            break; /* no digit after the separator: punctuation */
        if (c == ',' && k - j - 1 == 3) {
            j++; /* thousands */
            continue;
        }
        if ((c == '.' || c == ',') && !dot) {
            buf[n++] = '.';
            dot = 1;
            j++;
            continue;
        }
        break;
    }
    buf[n] = 0;
    *end = j;
    return strtod(buf, NULL);
}

static const char *const months_en[] = {"january",   "february", "march",    "april",
                                        "may",       "june",     "july",     "august",
                                        "september", "october",  "november", "december"};
static const char *const months_fr[] = {"janvier",   "fevrier", "mars",     "avril",
                                        "mai",       "juin",    "juillet",  "aout",
                                        "septembre", "octobre", "novembre", "decembre"};
static const char *const weekdays[] = {"monday",   "tuesday",  "wednesday", "thursday", "friday",
                                       "saturday", "sunday",   "lundi",     "mardi",    "mercredi",
                                       "jeudi",    "vendredi", "samedi",    "dimanche"};

static size_t month_at(fd_str t, size_t i, int *m)
{
    size_t k, n = match_any(t, i, months_en, 12, &k);
    if (!n)
        n = match_any(t, i, months_fr, 12, &k);
    if (n)
        *m = (int)k + 1;
    return n;
}

/* The unit after a count: "days", "working days", "jours ouvrés", "hrs". */
static size_t unit_at(fd_str t, size_t i, ans_unit *u)
{
    static const struct {
        const char *w;
        ans_unit u;
    } units[] = {
        {"working days", UNIT_WORKDAY},
        {"working day", UNIT_WORKDAY},
        {"business days", UNIT_WORKDAY},
        {"business day", UNIT_WORKDAY},
        {"working hours", UNIT_WORKHOUR},
        {"working hour", UNIT_WORKHOUR},
        {"jours ouvres", UNIT_WORKDAY},
        {"jours ouvr\xc3\xa9s", UNIT_WORKDAY},
        {"jour ouvre", UNIT_WORKDAY},
        {"jour ouvr\xc3\xa9", UNIT_WORKDAY},
        {"heures ouvrees", UNIT_WORKHOUR},
        {"heures ouvr\xc3\xa9"
         "es",
         UNIT_WORKHOUR},
        {"days", UNIT_DAY},
        {"day", UNIT_DAY},
        {"jours", UNIT_DAY},
        {"jour", UNIT_DAY},
        {"hours", UNIT_HOUR},
        {"hour", UNIT_HOUR},
        {"hrs", UNIT_HOUR},
        {"hr", UNIT_HOUR},
        {"heures", UNIT_HOUR},
        {"heure", UNIT_HOUR},
        {"minutes", UNIT_MINUTE},
        {"minute", UNIT_MINUTE},
        {"mins", UNIT_MINUTE},
        {"min", UNIT_MINUTE},
        {"weeks", UNIT_WEEK},
        {"week", UNIT_WEEK},
        {"semaines", UNIT_WEEK},
        {"semaine", UNIT_WEEK},
        {"months", UNIT_MONTH},
        {"month", UNIT_MONTH},
        {"mois", UNIT_MONTH},
        {"years", UNIT_YEAR},
        {"year", UNIT_YEAR},
        {"ans", UNIT_YEAR},
        {"an", UNIT_YEAR},
        {"annees", UNIT_YEAR},
        {"ann\xc3\xa9"
         "es",
         UNIT_YEAR},
    };
    for (size_t k = 0; k < sizeof units / sizeof *units; k++) {
        size_t n = match(t, i, units[k].w, 1);
        if (n) {
            *u = units[k].u;
            return n;
        }
    }
    return 0;
}

/* "9:00 am", "9am", "9 a.m.", "15:00", "15 h 00", "15h": sets *minutes. */
static size_t time_after(fd_str t, size_t i, double h, int *minutes)
{
    size_t j = i, mm = 0;
    if (j + 2 < t.len && t.p[j] == ':' && is_digit_at(t, j + 1) && is_digit_at(t, j + 2)) {
        mm = (size_t)((t.p[j + 1] - '0') * 10 + (t.p[j + 2] - '0'));
        j += 3;
    } else {
        size_t s = skip_space(t, j);
        if (j + s < t.len && lc(t.p[j + s]) == 'h' && !is_alpha_at(t, j + s + 1) && h <= 24) {
            j += s + 1; /* French "15 h 00", "15h" */
            size_t s2 = skip_space(t, j);
            if (is_digit_at(t, j + s2) && is_digit_at(t, j + s2 + 1)) {
                mm = (size_t)((t.p[j + s2] - '0') * 10 + (t.p[j + s2 + 1] - '0'));
                j += s2 + 2;
            }
            *minutes = (int)(h * 60 + (double)mm);
            return j - i;
        }
    }
    size_t s = skip_space(t, j), n;
    int pm = -1;
    if ((n = match(t, j + s, "am", 1)) || (n = match(t, j + s, "a.m.", 0)))
        pm = 0;
    else if ((n = match(t, j + s, "pm", 1)) || (n = match(t, j + s, "p.m.", 0)))
        pm = 1;
    if (pm < 0 && j == i)
        return 0; /* a bare number is not a time */
    if (pm >= 0) {
        if (h < 1 || h > 12)
            return 0;
        if (h == 12)
            h = 0;
        h += pm ? 12 : 0;
        j += s + n;
    } else if (h > 24 || mm > 59) {
        return 0;
    }
    *minutes = (int)(h * 60 + (double)mm);
    return j - i;
}

static int currency_before(fd_str t, size_t i)
{
    size_t j = i;
    while (j > 0 && t.p[j - 1] == ' ')
        j--;
    if (j >= 1 && t.p[j - 1] == '$')
        return 1;
    if (j >= 3 && !memcmp(t.p + j - 3, "\xe2\x82\xac", 3))
        return 1;
    if (j >= 2 && !memcmp(t.p + j - 2, "\xc2\xa3", 2)) /* £: a UK shop's prices */
        return 1;
    if (j >= 3 && (match(t, j - 3, "sgd", 0) || match(t, j - 3, "usd", 0) ||
                   match(t, j - 3, "gbp", 0) || match(t, j - 3, "eur", 0)))
        return j < 4 || !is_alpha_at(t, j - 4);
    return 0;
}

/* "unit_price_sgd: 21.00", "fee: 25": a catalogue field naming a price. */
static int price_field_before(fd_str t, size_t i)
{
    size_t j = i;
    while (j > 0 && t.p[j - 1] == ' ')
        j--;
    if (j == 0 || t.p[j - 1] != ':')
        return 0;
    size_t k = j - 1;
    while (k > 0 && (isalnum((unsigned char)t.p[k - 1]) || t.p[k - 1] == '_'))
        k--;
    for (size_t x = k; x + 3 <= j; x++)
        if (match(t, x, "price", 0) || match(t, x, "sgd", 0) || match(t, x, "fee", 0) ||
            match(t, x, "cost", 0) || match(t, x, "gbp", 0) || match(t, x, "eur", 0) ||
            match(t, x, "usd", 0))
            return 1;
    return 0;
}

static size_t currency_after(fd_str t, size_t i)
{
    static const char *const words[] = {"dollars", "dollar", "sgd",   "usd", "euros",
                                        "euro",    "pounds", "pound", "gbp", "eur"};
    size_t s = skip_space(t, i), n;
    if ((n = match(t, i + s, "s$", 0)) || (n = match(t, i + s, "$", 0)) ||
        (n = match(t, i + s, "\xe2\x82\xac", 0)) || (n = match(t, i + s, "\xc2\xa3", 0)))
        return s + n;
    n = match_any(t, i + s, words, sizeof words / sizeof *words, NULL);
    return n ? s + n : 0;
}

static size_t percent_after(fd_str t, size_t i)
{
    size_t s = skip_space(t, i), n;
    if (i + s < t.len && t.p[i + s] == '%')
        return s + 1;
    if ((n = match(t, i + s, "per cent", 1)) || (n = match(t, i + s, "percent", 1)) ||
        (n = match(t, i + s, "pour cent", 1)))
        return s + n;
    return 0;
}

/* What follows number v at [b, e): decide its kind and record it. */
static int classify(scanner *sc, size_t b, size_t e, double v)
{
    fd_str t = sc->t;
    size_t n, s = skip_space(t, e);
    int mins, m;
    ans_unit u;
    if (currency_before(t, b) || price_field_before(t, b))
        return add(sc, CLAIM_MONEY, v, UNIT_NONE, b, e);
    if ((n = currency_after(t, e)))
        return add(sc, CLAIM_MONEY, v, UNIT_NONE, b, e + n);
    if ((n = percent_after(t, e)))
        return add(sc, CLAIM_PERCENT, v, UNIT_NONE, b, e + n);
    if ((n = time_after(t, e, v, &mins)))
        return add(sc, CLAIM_TIME, mins, UNIT_NONE, b, e + n);
    size_t h = e < t.len && t.p[e] == '-' ? 1 : s; /* "7-day window" */
    if ((n = unit_at(t, e + h, &u)))
        return add(sc, CLAIM_DURATION, v, u, b, e + h + n);
    if (v >= 1 && v <= 31 && (n = month_at(t, e + s, &m)))
        return add(sc, CLAIM_DATE, m * 100 + v, UNIT_NONE, b, e + s + n);
    return add(sc, CLAIM_NUMBER, v, UNIT_NONE, b, e);
}

/* A run of letters, digits and hyphens that starts with a letter and
 * holds a digit is a code ("PB-1201", "CUP-P12", "A4"). One that starts
 * with digits is a number with a unit ("12oz", "9am", "7-day", "17h00"),
 * which classify() reads; codes that start with a digit are rare. */
static size_t code_run(fd_str t, size_t i, int *is_code)
{
    size_t j = i;
    int digit = 0;
    while (j < t.len && (isalnum((unsigned char)t.p[j]) || t.p[j] == '-' || t.p[j] == '_')) {
        if (isdigit((unsigned char)t.p[j]))
            digit = 1;
        j++;
    }
    while (j > i && (t.p[j - 1] == '-' || t.p[j - 1] == '_'))
        j--;
    *is_code = digit && isalpha((unsigned char)t.p[i]);
    return j - i;
}

static int add_code(scanner *sc, size_t b, size_t e)
{
    char *p = fd_arena_alloc(sc->a, e - b + 1);
    if (!p)
        return -1;
    size_t n = 0;
    for (size_t k = b; k < e; k++)
        if (isalnum((unsigned char)sc->t.p[k]))
            p[n++] = (char)lc(sc->t.p[k]);
    p[n] = 0;
    if (add(sc, CLAIM_CODE, 0, UNIT_NONE, b, e))
        return -1;
    sc->out.v[sc->out.n - 1].code = (fd_str){p, n};
    return 0;
}

static const char *const number_words[] = {
    "one",    "two",    "three",   "four",   "five",   "six", "seven", "eight",  "nine",  "ten",
    "eleven", "twelve", "fifteen", "twenty", "thirty", "un",  "une",   "deux",   "trois", "quatre",
    "cinq",   "six",    "sept",    "huit",   "neuf",   "dix", "douze", "quinze", "vingt", "trente"};
static const double number_values[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 15, 20, 30,
                                       1, 1, 2, 3, 4, 5, 6, 7, 8, 9,  10, 12, 15, 20, 30};

/* Words: spelled counts before a unit ("seven days"), weekdays, month
 * names before a day ("January 5"), noon and midnight. */
static int scan_word(scanner *sc, size_t i, size_t *next)
{
    fd_str t = sc->t;
    size_t e = i, k, n;
    while (is_alpha_at(t, e))
        e++;
    *next = e;
    ans_unit u;
    int m;
    if ((n = match_any(t, i, number_words, sizeof number_words / sizeof *number_words, &k))) {
        size_t s = skip_space(t, i + n), h = t.p[i + n] == '-' ? 1 : s;
        size_t un = unit_at(t, i + n + h, &u);
        if (!un)
            return 0; /* "one of these", "une commande": not a count of anything */
        *next = i + n + h + un;
        return add(sc, CLAIM_DURATION, number_values[k], u, i, *next);
    }
    for (k = 0; k < 14; k++) {
        /* "Tuesday", "Tuesdays", "mardis" */
        n = match(t, i, weekdays[k], 0);
        if (n && (!is_alpha_at(t, i + n) || (lc(t.p[i + n]) == 's' && !is_alpha_at(t, i + n + 1))))
            return add(sc, CLAIM_WEEKDAY, (double)(k % 7 + 1), UNIT_NONE, i, e);
    }
    if (match(t, i, "noon", 1) || match(t, i, "midday", 1) || match(t, i, "midi", 1))
        return add(sc, CLAIM_TIME, 720, UNIT_NONE, i, e);
    if (match(t, i, "midnight", 1) || match(t, i, "minuit", 1))
        return add(sc, CLAIM_TIME, 0, UNIT_NONE, i, e);
    if ((n = month_at(t, i, &m))) {
        size_t s = skip_space(t, i + n);
        if (s && is_digit_at(t, i + n + s)) {
            size_t ne;
            double d = parse_number(t, i + n + s, &ne);
            if (d >= 1 && d <= 31 && !is_digit_at(t, ne) && (ne >= t.len || t.p[ne] != ':')) {
                *next = ne;
                return add(sc, CLAIM_DATE, m * 100 + d, UNIT_NONE, i, ne);
            }
        }
    }
    return 0;
}

static int scan_at(scanner *sc, size_t i, size_t *next)
{
    fd_str t = sc->t;
    int is_code;
    size_t run = code_run(t, i, &is_code);
    if (is_code) {
        *next = i + run;
        return add_code(sc, i, i + run);
    }
    if (!isdigit((unsigned char)t.p[i]))
        return scan_word(sc, i, next);
    size_t e;
    double v = parse_number(t, i, &e);
    *next = e;
    /* ordinals and measures: "2nd", "12oz", "500ml" are plain numbers */
    if (is_alpha_at(t, e) && !match(t, e, "am", 1) && !match(t, e, "pm", 1) &&
        !(lc(t.p[e]) == 'h' && (is_digit_at(t, e + 1) || !is_alpha_at(t, e + 1)))) {
        while (is_alpha_at(t, *next))
            (*next)++;
        return add(sc, CLAIM_NUMBER, v, UNIT_NONE, i, e);
    }
    int rc = classify(sc, i, e, v);
    if (!rc && sc->out.n)
        *next = sc->out.v[sc->out.n - 1].off + sc->out.v[sc->out.n - 1].len;
    return rc;
}

int ans_claims_scan(fd_str text, fd_arena *a, ans_claims *out, fd_err *err)
{
    scanner sc = {text, a, {NULL, 0}, 0};
    size_t i = 0;
    while (i < text.len) {
        unsigned char c = (unsigned char)text.p[i];
        int starts = isalnum(c) && (i == 0 || !isalnum((unsigned char)text.p[i - 1]));
        /* inside "foo-12": the code scan started at "foo" already */
        if (starts && i > 0 && text.p[i - 1] == '-' && i > 1 &&
            isalnum((unsigned char)text.p[i - 2]) && !isdigit(c))
            starts = 0;
        if (!starts) {
            i++;
            continue;
        }
        size_t next = i + 1;
        if (scan_at(&sc, i, &next))
            return ans_oom(a, err);
        i = next > i ? next : i + 1;
    }
    *out = sc.out;
    return FD_OK;
}

static int same(double x, double y)
{
    return fabs(x - y) < 0.005;
}

/* Days a duration covers, for "2 weeks" = "14 days"; 0 if not in days. */
static double in_days(const ans_claim *c)
{
    if (c->unit == UNIT_DAY)
        return c->value;
    if (c->unit == UNIT_WEEK)
        return c->value * 7;
    return 0;
}

static int duration_ok(const ans_claim *c, const ans_claim *s)
{
    if (!same(c->value, s->value))
        return in_days(c) > 0 && same(in_days(c), in_days(s));
    if (c->unit == s->unit)
        return 1;
    /* "2 days" paraphrasing "2 working days" drops a detail but states no
     * new fact; "2 working days" from "2 days" would. */
    return (c->unit == UNIT_DAY && s->unit == UNIT_WORKDAY) ||
           (c->unit == UNIT_HOUR && s->unit == UNIT_WORKHOUR);
}

int ans_claim_supported(const ans_claim *c, const ans_claims *src)
{
    for (size_t i = 0; i < src->n; i++) {
        const ans_claim *s = &src->v[i];
        if (c->kind == CLAIM_CODE || s->kind == CLAIM_CODE) {
            if (c->kind == s->kind && fd_str_eq(c->code, s->code))
                return 1;
            continue;
        }
        if (c->kind == CLAIM_NUMBER) {
            if (s->kind != CLAIM_TIME && s->kind != CLAIM_DATE && s->kind != CLAIM_WEEKDAY &&
                same(c->value, s->value))
                return 1;
            continue;
        }
        if (c->kind != s->kind)
            continue;
        if (c->kind == CLAIM_DURATION) {
            if (duration_ok(c, s))
                return 1;
        } else if (same(c->value, s->value)) {
            return 1;
        }
    }
    return 0;
}
