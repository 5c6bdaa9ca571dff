/* dates.c: dates and times in words (en + fr), resolved against ctx->now
 * in the shop's time zone, so "tomorrow" typed at 23:30 in Singapore is
 * the Singapore tomorrow. Dates come out as YYYY-MM-DD, clock times as
 * HH:MM, parts of the day as "morning" / "afternoon" / "evening".
 *
 * Rules (documented here because customers rely on them):
 *  - "Tuesday", "this Tuesday", "mardi": the first Tuesday from today on
 *    (today counts); "next Tuesday", "mardi prochain": the first Tuesday
 *    after today (said on a Tuesday: a week later);
 *  - "25/12", "25 Dec", "December 25", "le 25 décembre": day first for
 *    slashes (Singapore and France), and without a year the first such day
 *    from today on (in late December "5 Jan" is next year). */
#include "nlu_int.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>

/* ---- civil calendar (H. Hinnant's algorithms, proleptic Gregorian) ------- */

static long days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(long z, fd_nlu_day *out)
{
    z += 719468;
    long era = (z >= 0 ? z : z - 146096) / 146097;
    long doe = z - era * 146097;
    long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long mp = (5 * doy + 2) / 153;
    out->d = (int)(doy - (153 * mp + 2) / 5 + 1);
    out->m = (int)(mp < 10 ? mp + 3 : mp - 9);
    out->y = (int)(yoe + era * 400 + (out->m <= 2));
    /* 1970-01-01 was a Thursday: day 0 is wday 3 with Monday = 0 */
    out->wday = (int)(((z - 719468) % 7 + 7 + 3) % 7);
}

void fd_nlu_today(const fd_nlu_ctx *ctx, fd_nlu_day *out)
{
    double now = ctx && ctx->now > 0 ? ctx->now : fd_time_wall();
    double local = now + (ctx ? ctx->tz_offset_min : 0) * 60.0;
    civil_from_days((long)floor(local / 86400.0), out);
}

void fd_nlu_day_add(const fd_nlu_day *d, int n, fd_nlu_day *out)
{
    civil_from_days(days_from_civil(d->y, d->m, d->d) + n, out);
}

static int days_in_month(int y, int m)
{
    static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 ? 28 + leap : dm[m - 1];
}

/* ---- words ---------------------------------------------------------------- */

static int word_index(fd_str w, const char *const *list)
{
    for (int i = 0; list[i]; i++)
        if (fd_str_eq_c(w, list[i]))
            return i;
    return -1;
}

static int weekday_of(fd_str w)
{
    static const char *const names[] = {"monday",   "tuesday",  "wednesday", "thursday", "friday",
                                        "saturday", "sunday",   "lundi",     "mardi",    "mercredi",
                                        "jeudi",    "vendredi", "samedi",    "dimanche", "tues",
                                        "thurs",    "weds",     "mon",       "tue",      "wed",
                                        "thu",      "thur",     "fri",       "sat",      NULL};
    /* chat abbreviations ("thu morning"); not "sun", a word first */
    static const int extra[] = {1, 3, 2, 0, 1, 2, 3, 3, 4, 5};
    int i = word_index(w, names);
    return i < 0 ? -1 : i < 14 ? i % 7 : extra[i - 14];
}

static int month_of(fd_str w)
{
    static const char *const names[] = {
        "january", "february",  "march",    "april",    "may",      "june",    "july",
        "august",  "september", "october",  "november", "december", "janvier", "fevrier",
        "mars",    "avril",     "mai",      "juin",     "juillet",  "aout",    "septembre",
        "octobre", "novembre",  "decembre", "jan",      "feb",      "mar",     "apr",
        "jun",     "jul",       "aug",      "sep",      "sept",     "oct",     "nov",
        "dec",     "janv",      "fev",      "avr",      "juil",     NULL};
    static const int abbr[] = {1, 2, 3, 4, 6, 7, 8, 9, 9, 10, 11, 12, 1, 2, 4, 7};
    int i = word_index(w, names);
    return i < 0 ? -1 : i < 24 ? i % 12 + 1 : abbr[i - 24];
}

/* Day of month from "25", "25th", "1st", "1er": 1..31 or -1. */
static int day_number(const fd_token *t)
{
    if (t->kind != FD_TOK_NUMBER && t->kind != FD_TOK_CODE)
        return -1;
    const char *p = t->norm.p;
    size_t n = t->norm.len, i = 0;
    int v = 0;
    while (i < n && i < 2 && isdigit((unsigned char)p[i]))
        v = v * 10 + (p[i++] - '0');
    if (i == 0 || v < 1 || v > 31)
        return -1;
    fd_str rest = {p + i, n - i};
    if (rest.len && !fd_str_eq_c(rest, "st") && !fd_str_eq_c(rest, "nd") &&
        !fd_str_eq_c(rest, "rd") && !fd_str_eq_c(rest, "th") && !fd_str_eq_c(rest, "er"))
        return -1;
    return v;
}

static int year_number(const fd_token *t)
{
    if (t->kind != FD_TOK_NUMBER || t->norm.len != 4)
        return -1;
    int y = (int)fd_nlu_num(t->norm.p, t->norm.len, NULL);
    return y >= 2000 && y <= 2100 ? y : -1;
}

/* Two tokens joined by exactly one sep character in the text. */
static int joined(fd_str text, const fd_token *a, const fd_token *b, char sep)
{
    size_t end = (size_t)a->off + a->len;
    return b->off == end + 1 && end < text.len && text.p[end] == sep;
}

/* ---- dates ------------------------------------------------------------------ */

typedef struct found {
    size_t end; /* token index after the match */
    int y, m, d;
} found;

static int set_day(const fd_nlu_day *today, int delta, found *f, size_t end)
{
    fd_nlu_day d;
    fd_nlu_day_add(today, delta, &d);
    *f = (found){end, d.y, d.m, d.d};
    return 1;
}

/* m/d without a year: this year unless that day has passed. */
static int set_md(const fd_nlu_day *today, int y, int m, int d, found *f, size_t end)
{
    if (m < 1 || m > 12 || d < 1)
        return 0;
    if (y < 0) {
        y = today->y;
        if (m < today->m || (m == today->m && d < today->d))
            y++;
    }
    if (d > days_in_month(y, m))
        return 0;
    *f = (found){end, y, m, d};
    return 1;
}

static int relative_day(const fd_tokens *t, size_t i, const fd_nlu_day *today, found *f)
{
    static const char *const w0[] = {"today", "aujourd'hui", "tonight", NULL};
    static const char *const w1[] = {"tomorrow", "tmr",    "tmrw",    "tmw",    "2moro",
                                     "2morrow",  "tomoro", "tmorrow", "demain", NULL};
    static const char *const wm[] = {"yesterday", "hier", NULL};
    fd_str w = t->v[i].norm;
    if (i + 2 < t->n && fd_str_eq_c(w, "day") && fd_str_eq_c(t->v[i + 1].norm, "after") &&
        fd_str_eq_c(t->v[i + 2].norm, "tomorrow"))
        return set_day(today, 2, f, i + 3);
    if (fd_str_eq_c(w, "apres-demain"))
        return set_day(today, 2, f, i + 1);
    if (word_index(w, w0) >= 0)
        return set_day(today, 0, f, i + 1);
    if (word_index(w, w1) >= 0)
        return set_day(today, 1, f, i + 1);
    if (word_index(w, wm) >= 0)
        return set_day(today, -1, f, i + 1);
    /* in 3 days, in two weeks, dans 3 jours */
    if (i + 2 < t->n && (fd_str_eq_c(w, "in") || fd_str_eq_c(w, "dans"))) {
        static const char *const days[] = {"day", "days", "jour", "jours", NULL};
        static const char *const weeks[] = {"week", "weeks", "semaine", "semaines", NULL};
        const fd_token *n = &t->v[i + 1];
        int v = n->kind == FD_TOK_NUMBER && n->norm.len <= 3
                    ? (int)fd_nlu_num(n->norm.p, n->norm.len, NULL)
                    : fd_nlu_number_word(n->norm);
        int unit = word_index(t->v[i + 2].norm, days) >= 0    ? 1
                   : word_index(t->v[i + 2].norm, weeks) >= 0 ? 7
                                                              : 0;
        if (v >= 0 && v <= 366 && unit)
            return set_day(today, v * unit, f, i + 3);
    }
    return 0;
}

static int weekday_date(const fd_tokens *t, size_t i, const fd_nlu_day *today, found *f)
{
    static const char *const next[] = {"next", "coming", NULL};
    static const char *const this_[] = {"this", "ce", NULL};
    int strict = 0;
    size_t j = i;
    if (word_index(t->v[j].norm, next) >= 0 && j + 1 < t->n)
        strict = 1, j++;
    else if (word_index(t->v[j].norm, this_) >= 0 && j + 1 < t->n)
        j++;
    int wd = weekday_of(t->v[j].norm);
    if (wd < 0)
        return 0;
    j++;
    if (j < t->n &&
        (fd_str_eq_c(t->v[j].norm, "prochain") || fd_str_eq_c(t->v[j].norm, "prochaine"))) {
        strict = 1;
        j++;
    }
    /* "thurs 17th", "fri 1st": the day of the month names the week (the
     * next 17th, this month or the next); a bare number may be a count
     * ("fri 10 pkt"), only one written as an ordinal counts (dev8) */
    int dn = j < t->n ? day_number(&t->v[j]) : -1;
    if (dn > 0 && t->v[j].norm.len > 0 &&
        !isdigit((unsigned char)t->v[j].norm.p[t->v[j].norm.len - 1])) {
        int y = today->y, m = today->m;
        if (dn < today->d && ++m > 12)
            m = 1, y++;
        if (dn <= days_in_month(y, m)) {
            *f = (found){j + 1, y, m, dn};
            return 1;
        }
    }
    int delta = (wd - today->wday + 7) % 7;
    if (strict && delta == 0)
        delta = 7;
    return set_day(today, delta, f, j);
}

static int calendar_date(fd_str text, const fd_tokens *t, size_t i, const fd_nlu_day *today,
                         found *f)
{
    const fd_token *a = &t->v[i];
    size_t n = t->n;
    /* 2024-12-25 */
    if (a->kind == FD_TOK_CODE && a->norm.len == 10 && a->norm.p[4] == '-' && a->norm.p[7] == '-')
        return set_md(today, (int)fd_nlu_num(a->norm.p, 4, NULL),
                      (int)fd_nlu_num(a->norm.p + 5, 2, NULL),
                      (int)fd_nlu_num(a->norm.p + 8, 2, NULL), f, i + 1);
    int d = day_number(a);
    /* 25/12, 25/12/2024 */
    if (d > 0 && a->kind == FD_TOK_NUMBER && i + 1 < n && t->v[i + 1].kind == FD_TOK_NUMBER &&
        joined(text, a, &t->v[i + 1], '/')) {
        const fd_token *mt = &t->v[i + 1];
        int m = mt->norm.len <= 2 ? (int)fd_nlu_num(mt->norm.p, mt->norm.len, NULL) : 0, y = -1;
        size_t end = i + 2;
        if (end < n && joined(text, &t->v[i + 1], &t->v[end], '/') &&
            (y = year_number(&t->v[end])) > 0)
            end++;
        return set_md(today, y, m, d, f, end);
    }
    /* 25 Dec [2024], 25th of December */
    if (d > 0 && i + 1 < n) {
        size_t j = i + 1;
        if (fd_str_eq_c(t->v[j].norm, "of") && j + 1 < n)
            j++;
        int m = month_of(t->v[j].norm);
        if (m > 0) {
            int y = j + 1 < n ? year_number(&t->v[j + 1]) : -1;
            return set_md(today, y, m, d, f, j + 1 + (y > 0));
        }
    }
    /* December 25 [2024] */
    int m = month_of(a->norm);
    if (m > 0 && a->kind == FD_TOK_WORD && i + 1 < n && (d = day_number(&t->v[i + 1])) > 0) {
        int y = i + 2 < n ? year_number(&t->v[i + 2]) : -1;
        return set_md(today, y, m, d, f, i + 2 + (y > 0));
    }
    return 0;
}

/* ---- times ------------------------------------------------------------------ */

static const char *part_of_day(const fd_tokens *t, size_t i)
{
    static const char *const morning[] = {"morning", "matin", "matinee", NULL};
    static const char *const afternoon[] = {"afternoon", "apres-midi", "aprem", "arvo", NULL};
    static const char *const evening[] = {"evening", "tonight", "soir", "soiree", NULL};
    static const char *const noon[] = {"noon", "midday", "midi", NULL};
    static const char *const midnight[] = {"midnight", "minuit", NULL};
    fd_str w = t->v[i].norm;
    /* "good morning" greets, it does not schedule */
    if (i > 0 && (fd_str_eq_c(t->v[i - 1].norm, "good") || fd_str_eq_c(t->v[i - 1].norm, "bon")))
        return NULL;
    return word_index(w, morning) >= 0     ? "morning"
           : word_index(w, afternoon) >= 0 ? "afternoon"
           : word_index(w, evening) >= 0   ? "evening"
           : word_index(w, noon) >= 0      ? "12:00"
           : word_index(w, midnight) >= 0  ? "00:00"
                                           : NULL;
}

/* "3pm", "11am", "3:30pm", "15h30", "15h" in one token: 1 and h/min. */
static int clock_token(fd_str s, int *h, int *mi, int *ampm)
{
    size_t i = 0;
    *h = *mi = 0;
    *ampm = 0;
    while (i < s.len && i < 2 && isdigit((unsigned char)s.p[i]))
        *h = *h * 10 + (s.p[i++] - '0');
    if (!i || i == s.len)
        return 0;
    fd_str rest = {s.p + i, s.len - i};
    if (rest.p[0] == 'h') { /* 15h, 15h30 */
        if (rest.len == 1)
            return 1;
        if (rest.len == 3 && isdigit((unsigned char)rest.p[1]) &&
            isdigit((unsigned char)rest.p[2])) {
            *mi = (int)fd_nlu_num(rest.p + 1, 2, NULL);
            return 1;
        }
        return 0;
    }
    if (fd_str_eq_c(rest, "am") || fd_str_eq_c(rest, "pm")) {
        *ampm = rest.p[0] == 'a' ? 1 : 2;
        return 1;
    }
    return 0;
}

static int apply_ampm(int *h, int ampm)
{
    if (ampm && (*h < 1 || *h > 12))
        return 0;
    if (ampm == 2 && *h < 12)
        *h += 12;
    if (ampm == 1 && *h == 12)
        *h = 0;
    return 1;
}

static int ampm_word(const fd_token *t)
{
    return fd_str_eq_c(t->norm, "am") ? 1 : fd_str_eq_c(t->norm, "pm") ? 2 : 0;
}

/* A clock time starting at token i: *end and HH:MM into buf. */
static int clock_time(fd_str text, const fd_tokens *t, size_t i, size_t *end, int *h, int *mi)
{
    const fd_token *a = &t->v[i];
    int ampm = 0;
    if (a->kind == FD_TOK_CODE && clock_token(a->norm, h, mi, &ampm)) {
        *end = i + 1;
    } else if (a->kind == FD_TOK_NUMBER && a->norm.len <= 2) {
        *h = (int)fd_nlu_num(a->norm.p, a->norm.len, NULL);
        *mi = 0;
        *end = i + 1;
        if (i + 1 < t->n && t->v[i + 1].kind == FD_TOK_NUMBER && t->v[i + 1].norm.len == 2 &&
            joined(text, a, &t->v[i + 1], ':')) {
            *mi = (int)fd_nlu_num(t->v[i + 1].norm.p, 2, NULL);
            *end = i + 2;
        } else if (!(i + 1 < t->n && ampm_word(&t->v[i + 1]))) {
            return 0; /* a bare number is not a time */
        }
        if (*end < t->n && (ampm = ampm_word(&t->v[*end])))
            ++*end;
    } else {
        return 0;
    }
    return apply_ampm(h, ampm) && *h <= 23 && *mi <= 59;
}

/* ---- driver ----------------------------------------------------------------- */

static int take(uint8_t *used, size_t i, size_t end)
{
    for (size_t k = i; k < end; k++)
        if (used[k])
            return 0;
    for (size_t k = i; k < end; k++)
        used[k] = 1;
    return 1;
}

static int push_span(fd_nlu_ents *e, fd_entity_kind k, const char *norm, const fd_tokens *t,
                     size_t i, size_t end)
{
    size_t off = t->v[i].off, stop = t->v[end - 1].off + t->v[end - 1].len;
    return fd_nlu_ents_push(e, k, norm, 0, off, stop - off);
}

int fd_nlu_dates(fd_str text, const fd_tokens *t, uint8_t *used, const fd_nlu_ctx *ctx,
                 fd_nlu_ents *e)
{
    fd_nlu_day today;
    fd_nlu_today(ctx, &today);
    for (size_t i = 0; i < t->n; i++) {
        if (used[i])
            continue;
        found f;
        int h, mi;
        size_t end;
        const char *part;
        if ((relative_day(t, i, &today, &f) || weekday_date(t, i, &today, &f) ||
             calendar_date(text, t, i, &today, &f)) &&
            take(used, i, f.end)) {
            char *norm = fd_arena_printf(e->a, "%04d-%02d-%02d", f.y, f.m, f.d);
            if (push_span(e, FD_ENT_DATE, norm, t, i, f.end))
                return FD_ENOMEM;
            /* "tonight" is a day and a part of it */
            if (fd_str_eq_c(t->v[i].norm, "tonight") &&
                push_span(e, FD_ENT_TIME, "evening", t, i, i + 1))
                return FD_ENOMEM;
            i = f.end - 1;
        } else if (clock_time(text, t, i, &end, &h, &mi) && take(used, i, end)) {
            if (push_span(e, FD_ENT_TIME, fd_arena_printf(e->a, "%02d:%02d", h, mi), t, i, end))
                return FD_ENOMEM;
            i = end - 1;
        } else if ((part = part_of_day(t, i)) && take(used, i, i + 1)) {
            if (push_span(e, FD_ENT_TIME, part, t, i, i + 1))
                return FD_ENOMEM;
        }
    }
    return FD_OK;
}
