/* rules.c: commerce.toml, money, quotes and delivery dates. Defaults are
 * those of a small supplier (working days Monday to Friday, next working
 * day before a 15:00 cut-off, morning and afternoon windows) so a KB with
 * only a products.csv can take orders; every one is a key of commerce.toml. */
#include "commerce_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int parse_hhmm(const char *s, int *out)
{
    int h, m;
    char end;
    if (!s || sscanf(s, "%d:%d%c", &h, &m, &end) != 2 || h < 0 || h > 24 || m < 0 || m > 59)
        return FD_EINVAL;
    *out = h * 60 + m;
    return FD_OK;
}

static void copy_str(json_t *o, const char *key, char *dst, size_t cap)
{
    json_t *v = json_object_get(o, key);
    if (json_is_string(v))
        snprintf(dst, cap, "%s", json_string_value(v));
}

static int bad(fd_err *err, const char *key, const char *why)
{
    return fd_err_set(err, FD_EFORMAT, "commerce.toml: %s: %s", key, why);
}

static const char *const day_names[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

/* ["mon", "tue"] into a mask (bit 0 Monday). */
static int day_list(json_t *v, const char *key, unsigned *mask, fd_err *err)
{
    if (!json_is_array(v))
        return bad(err, key, "expected a list like [\"mon\", \"tue\"]");
    *mask = 0;
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e)
    {
        const char *s = json_string_value(e);
        int k = 0;
        while (s && k < 7 && strncmp(s, day_names[k], 3) != 0)
            k++;
        if (!s || k == 7)
            return bad(err, key, "days are mon, tue, wed, thu, fri, sat, sun");
        *mask |= 1u << k;
    }
    return FD_OK;
}

/* [delivery.day_windows] sat = ["morning"]: after the windows are known. */
static int load_day_windows(json_t *dw, fd_commerce_rules *r, fd_err *err)
{
    const char *k;
    json_t *v;
    json_object_foreach(dw, k, v)
    {
        int d = 0;
        while (d < 7 && strncmp(k, day_names[d], 3) != 0)
            d++;
        if (d == 7 || !json_is_array(v))
            return bad(err, "delivery.day_windows", "expected day = [\"window\", ...]");
        unsigned m = 0;
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e)
        {
            size_t w = 0;
            while (json_string_value(e) && w < r->n_windows &&
                   strcmp(json_string_value(e), r->windows[w].name) != 0)
                w++;
            if (w >= r->n_windows)
                return bad(err, "delivery.day_windows", "names a window delivery.windows lacks");
            m |= 1u << w;
        }
        if (!m)
            return bad(err, "delivery.day_windows", "a day needs one window at least");
        r->day_windows[d] = m;
    }
    return FD_OK;
}

static int cmp_day(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* "2026-12-25" -> days since 1970-01-01; 1: not such a string, 2: no such
 * date ("2026-02-30"). */
static int parse_date(const char *s, int64_t *day)
{
    int y, m, d;
    char end;
    if (!s || sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &end) != 3 || m < 1 || m > 12 || d < 1 ||
        d > 31 || y < 1970 || y > 9999)
        return 1;
    *day = fd_days_from_civil(y, m, d);
    int yy, mm, dd;
    fd_civil_from_days(*day, &yy, &mm, &dd);
    return yy != y || mm != m || dd != d ? 2 : 0;
}

/* holidays = ["2026-12-25", ...]: whole dates, so that a year's list is
 * the company's to publish (the days move every year). */
static int load_holidays(json_t *v, fd_commerce_rules *r, fd_err *err)
{
    if (!json_is_array(v) || json_array_size(v) > sizeof r->holidays / sizeof *r->holidays)
        return bad(err, "delivery.holidays", "expected up to 64 dates like \"2026-12-25\"");
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e)
    {
        int64_t day;
        int rc = parse_date(json_string_value(e), &day);
        if (rc)
            return bad(err, "delivery.holidays",
                       rc == 2 ? "no such date" : "expected dates like \"2026-12-25\"");
        r->holidays[r->n_holidays++] = day;
    }
    qsort(r->holidays, r->n_holidays, sizeof *r->holidays, cmp_day);
    return FD_OK;
}

/* [delivery.half_days] "2026-12-24" = "15:00": the eves a company closes
 * early on (public-holiday-schedule.md in the example: Christmas Eve and
 * New Year's Eve at 15:00, the eve of Chinese New Year at 12:00). */
static int load_half_days(json_t *v, fd_commerce_rules *r, fd_err *err)
{
    const size_t cap = sizeof r->half_days / sizeof *r->half_days;
    if (!json_is_object(v) || json_object_size(v) > cap)
        return bad(err, "delivery.half_days", "expected up to 32 \"YYYY-MM-DD\" = \"HH:MM\"");
    const char *k;
    json_t *e;
    size_t n = 0;
    json_object_foreach(v, k, e)
    {
        int64_t day;
        int close, rc = parse_date(k, &day);
        if (rc)
            return bad(err, "delivery.half_days",
                       rc == 2 ? "no such date" : "expected dates like \"2026-12-24\" as keys");
        if (parse_hhmm(json_string_value(e), &close) != FD_OK)
            return bad(err, "delivery.half_days", "expected the closing time as \"HH:MM\"");
        /* insertion by day: the lookup is a binary search */
        size_t at = n;
        while (at > 0 && r->half_days[at - 1] > day) {
            r->half_days[at] = r->half_days[at - 1];
            r->half_close_min[at] = r->half_close_min[at - 1];
            at--;
        }
        r->half_days[at] = day;
        r->half_close_min[at] = close;
        n++;
    }
    r->n_half_days = n;
    return FD_OK;
}

/* An amount in the currency's major units ("fee = 18", "12.50") into minor
 * units; FD_EINVAL when it is not a number from 0 to a billion. */
static int amount(json_t *v, int64_t *out)
{
    if (!json_is_number(v) || json_number_value(v) < 0 || json_number_value(v) > 1e9)
        return FD_EINVAL;
    *out = (int64_t)(json_number_value(v) * 100 + 0.5);
    return FD_OK;
}

/* [orders] volume_discounts = [[1000, 3], [2500, 5], [5000, 8]]: from a
 * value of goods before tax, a percentage off (volume-discounts.md). */
static int load_discounts(json_t *v, fd_commerce_rules *r, fd_err *err)
{
    const size_t cap = sizeof r->discounts / sizeof *r->discounts;
    if (!json_is_array(v) || json_array_size(v) > cap)
        return bad(err, "orders.volume_discounts",
                   "expected up to 8 [from, percent] pairs like [[1000, 3], [2500, 5]]");
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e)
    {
        json_t *pct = json_array_get(e, 1);
        fd_discount_tier t;
        if (!json_is_array(e) || json_array_size(e) != 2 ||
            amount(json_array_get(e, 0), &t.from) != FD_OK || !json_is_number(pct) ||
            json_number_value(pct) <= 0 || json_number_value(pct) >= 100)
            return bad(
                err, "orders.volume_discounts",
                "expected [from, percent] pairs like [1000, 3] (percent above 0, below 100)");
        t.permille = (int)(json_number_value(pct) * 10 + 0.5);
        if (i > 0 && t.from <= r->discounts[i - 1].from)
            return bad(err, "orders.volume_discounts", "tiers must go up: the lowest first");
        r->discounts[i] = t;
    }
    r->n_discounts = json_array_size(v);
    return FD_OK;
}

static int load_delivery(json_t *d, fd_commerce_rules *r, fd_err *err)
{
    json_t *v = json_object_get(d, "days");
    if (v && day_list(v, "delivery.days", &r->days_mask, err))
        return FD_EFORMAT;
    r->work_mask = r->days_mask;
    if ((v = json_object_get(d, "working_days")) &&
        day_list(v, "delivery.working_days", &r->work_mask, err))
        return FD_EFORMAT;
    if ((v = json_object_get(d, "cutoff")) &&
        parse_hhmm(json_string_value(v), &r->cutoff_min) != FD_OK)
        return bad(err, "delivery.cutoff", "expected \"HH:MM\"");
    if ((v = json_object_get(d, "cancel_until")) &&
        parse_hhmm(json_string_value(v), &r->cancel_before_min) != FD_OK)
        return bad(err, "delivery.cancel_until", "expected \"HH:MM\"");
    if ((v = json_object_get(d, "lead_days"))) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 60)
            return bad(err, "delivery.lead_days", "expected a whole number of days, 0 to 60");
        r->lead_days = (int)json_integer_value(v);
    }
    if ((v = json_object_get(d, "windows"))) {
        if (!json_is_array(v) || json_array_size(v) > 4)
            return bad(err, "delivery.windows", "expected up to 4 \"name HH:MM-HH:MM\"");
        r->n_windows = 0;
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e)
        {
            fd_window *w = &r->windows[r->n_windows];
            int h1, m1, h2, m2;
            const char *s = json_string_value(e);
            /* Hours and minutes in range before they are multiplied: a
             * huge hour overflowed int (fuzz_catalog). */
            if (!s || sscanf(s, "%15s %d:%d-%d:%d", w->name, &h1, &m1, &h2, &m2) != 5 || h1 < 0 ||
                h1 > 24 || h2 < 0 || h2 > 24 || m1 < 0 || m1 > 59 || m2 < 0 || m2 > 59 ||
                h1 * 60 + m1 >= h2 * 60 + m2 || h2 * 60 + m2 > 24 * 60)
                return bad(err, "delivery.windows", "expected \"morning 09:00-13:00\"");
            w->from_min = h1 * 60 + m1;
            w->to_min = h2 * 60 + m2;
            r->n_windows++;
        }
    }
    if ((v = json_object_get(d, "holidays")) && load_holidays(v, r, err))
        return FD_EFORMAT;
    if ((v = json_object_get(d, "half_days")) && load_half_days(v, r, err))
        return FD_EFORMAT;
    if ((v = json_object_get(d, "fee")) && amount(v, &r->delivery_fee) != FD_OK)
        return bad(err, "delivery.fee", "expected an amount like 18");
    if ((v = json_object_get(d, "free_from")) && amount(v, &r->free_from) != FD_OK)
        return bad(err, "delivery.free_from", "expected an amount like 250");
    json_t *sur = json_object_get(d, "surcharges");
    if (sur && !json_is_object(sur))
        return bad(err, "delivery.surcharges", "expected a table: sat = 25");
    const char *k;
    json_object_foreach(sur, k, v)
    {
        int wd = -1;
        for (int i = 0; i < 7; i++)
            if (strcmp(k, day_names[i]) == 0)
                wd = i;
        if (wd < 0 || amount(v, &r->surcharge[wd]) != FD_OK)
            return bad(err, "delivery.surcharges", "expected a day (mon..sun) = an amount");
    }
    if ((v = json_object_get(d, "day_windows")))
        return load_day_windows(v, r, err);
    return FD_OK;
}

int cm_rules_load(const char *toml, size_t len, fd_commerce_rules *r, char cols[N_COLS][64],
                  fd_err *err)
{
    *r = (fd_commerce_rules){
        .currency = "USD",
        .money = "$",
        .tax_name = "tax",
        .id_prefix = "ORD",
        .days_mask = 0x1f,
        .work_mask = 0x1f,
        .cutoff_min = 15 * 60,
        .lead_days = 1,
        .windows = {{"morning", 9 * 60, 13 * 60}, {"afternoon", 13 * 60, 18 * 60}},
        .n_windows = 2,
        .cancel_before_min = 17 * 60};
    static const char *const defaults[N_COLS] = {"code",       "name",    "category",
                                                 "size",       "variant", "pack_size",
                                                 "unit_price", "stock",   "description"};
    for (int i = 0; i < N_COLS; i++)
        snprintf(cols[i], 64, "%s", defaults[i]);
    if (!toml)
        return FD_OK;
    json_t *root;
    int rc = fd_toml_parse(toml, len, &root, err);
    if (rc)
        return fd_err_set(err, FD_EFORMAT, "commerce.toml: %s", err ? err->msg : "");
    json_t *cat = json_object_get(root, "catalog"), *ord = json_object_get(root, "orders");
    copy_str(cat, "currency", r->currency, sizeof r->currency);
    copy_str(cat, "money_sign", r->money, sizeof r->money);
    copy_str(cat, "tax_name", r->tax_name, sizeof r->tax_name);
    json_t *v = json_object_get(cat, "tax_rate");
    if (v && (!json_is_number(v) || json_number_value(v) < 0 || json_number_value(v) >= 1))
        rc = bad(err, "catalog.tax_rate", "expected a fraction like 0.09");
    else if (v)
        r->tax_permille = (int)(json_number_value(v) * 1000 + 0.5);
    static const char *const keys[N_COLS] = {"code",  "name",    "category",
                                             "size",  "variant", "pack_size",
                                             "price", "stock",   "description"};
    json_t *cmap = json_object_get(cat, "columns");
    for (int i = 0; i < N_COLS && !rc; i++)
        copy_str(cmap, keys[i], cols[i], 64);
    copy_str(ord, "id_prefix", r->id_prefix, sizeof r->id_prefix);
    for (char *p = r->id_prefix; !rc && *p; p++)
        if (!isalnum((unsigned char)*p))
            rc = bad(err, "orders.id_prefix", "letters and digits only");
    if (!rc && (v = json_object_get(ord, "review_over"))) {
        if (!json_is_number(v) || json_number_value(v) < 0)
            rc = bad(err, "orders.review_over", "expected an amount");
        else
            r->review_over = (int64_t)(json_number_value(v) * 100 + 0.5);
    }
    if (!rc && (v = json_object_get(ord, "min_order"))) {
        if (!json_is_number(v) || json_number_value(v) < 0 || json_number_value(v) > 1e9)
            rc = bad(err, "orders.min_order", "expected an amount");
        else
            r->min_order = (int64_t)(json_number_value(v) * 100 + 0.5);
    }
    if (!rc && (v = json_object_get(ord, "volume_discounts")))
        rc = load_discounts(v, r, err);
    json_t *d = json_object_get(root, "delivery");
    if (!rc && d)
        rc = load_delivery(d, r, err);
    json_decref(root);
    return rc;
}

/* A space inside a number, as French and others group thousands:
 * ' ', U+00A0 (no-break) or U+202F (narrow no-break); its length, or 0. */
static size_t group_space(const char *s)
{
    if (*s == ' ')
        return 1;
    if ((unsigned char)s[0] == 0xC2 && (unsigned char)s[1] == 0xA0)
        return 2;
    if ((unsigned char)s[0] == 0xE2 && (unsigned char)s[1] == 0x80 && (unsigned char)s[2] == 0xAF)
        return 3;
    return 0;
}

/* The first amount in s, in minor units. Its marks are read as people
 * write them: "14.50", "$1,234.5", "S$ 12", and the decimal comma of a
 * French or German price list ("22,50 €", "1 234,50", "1.234,50").
 * Of '.' and ',', the last one in the number is the decimal mark when
 * both appear; a lone ',' is one when 1 or 2 digits follow it ("5,40"),
 * a thousands separator otherwise ("1,234"); a lone '.' is the decimal
 * mark unless it repeats ("1.234.567"). Before, "5,40" read as 540.00. */
int cm_parse_money(const char *s, int64_t *out)
{
    while (*s && !isdigit((unsigned char)*s))
        s++;
    if (!*s)
        return FD_EINVAL;
    /* the number's extent: digits, '.', ',' and group spaces between digits */
    const char *end = s, *last_dot = NULL, *last_comma = NULL;
    int n_dots = 0, n_commas = 0;
    for (;;) {
        if (isdigit((unsigned char)*end)) {
            end++;
            continue;
        }
        size_t g = group_space(end);
        char c = *end;
        if (!g && (c == '.' || c == ',') && isdigit((unsigned char)end[1])) {
            if (c == '.')
                last_dot = end, n_dots++;
            else
                last_comma = end, n_commas++;
            end++;
            continue;
        }
        if (g && isdigit((unsigned char)end[g])) {
            end += g;
            continue;
        }
        break;
    }
    const char *dec = NULL;
    if (last_dot && last_comma)
        dec = last_dot > last_comma ? last_dot : last_comma;
    else if (last_comma && n_commas == 1 &&
             (end - last_comma - 1 <= 2 || (last_comma - s == 1 && *s == '0')))
        dec = last_comma; /* "5,40"; "0,125" (no thousands group starts with 0) */
    else if (last_dot && n_dots == 1)
        dec = last_dot;
    int64_t whole = 0, frac = 0;
    int fdigits = 0;
    for (const char *q = s; q < end; q++) {
        if (!isdigit((unsigned char)*q))
            continue;
        if (dec && q > dec) {
            if (fdigits < 2)
                frac = frac * 10 + (*q - '0');
            fdigits++;
        } else {
            if (whole > (int64_t)1e13)
                return FD_EINVAL;
            whole = whole * 10 + (*q - '0');
        }
    }
    if (fdigits == 1)
        frac *= 10;
    *out = whole * 100 + frac;
    return FD_OK;
}

/* Money arithmetic saturates instead of overflowing: a quantity typed as
 * 9223372036854775807 (the catalog fuzzer's) must give an absurd quote,
 * never undefined behaviour. */
static int64_t sat_add(int64_t a, int64_t b)
{
    int64_t r;
    return __builtin_add_overflow(a, b, &r) ? (b > 0 ? INT64_MAX : INT64_MIN) : r;
}

static int64_t sat_mul(int64_t a, int64_t b)
{
    int64_t r;
    return __builtin_mul_overflow(a, b, &r) ? ((a < 0) != (b < 0) ? INT64_MIN : INT64_MAX) : r;
}

fd_quote_line fd_quote_line_make(const fd_product *p, int64_t qty)
{
    fd_quote_line l = {p, qty, 1, 0};
    int64_t pack = p->pack_size > 0 ? p->pack_size : 1;
    if (qty > 0)
        l.packs = qty / pack + (qty % pack != 0); /* rounded up, without qty + pack - 1 */
    l.total = sat_mul(l.packs, p->pack_price);
    return l;
}

fd_quote fd_quote_sum(const fd_commerce_rules *r, const fd_quote_line *v, size_t n, int64_t day)
{
    fd_quote q = {0};
    for (size_t i = 0; i < n; i++)
        q.goods = sat_add(q.goods, v[i].total);
    /* the highest tier reached, on the whole value (volume-discounts.md:
     * "not only the part above the threshold"); rounded half up */
    for (size_t i = r->n_discounts; i-- > 0;)
        if (q.goods >= r->discounts[i].from) {
            q.discount_permille = r->discounts[i].permille;
            q.discount = sat_add(sat_mul(q.goods, q.discount_permille), 500) / 1000;
            break;
        }
    int64_t net = q.goods - q.discount;
    if (r->delivery_fee > 0 && (r->free_from <= 0 || net < r->free_from))
        q.delivery = r->delivery_fee;
    if (day >= 0)
        q.surcharge = r->surcharge[fd_weekday(day)];
    q.subtotal = sat_add(sat_add(net, q.delivery), q.surcharge);
    q.tax = sat_add(sat_mul(q.subtotal, r->tax_permille), 500) / 1000;
    q.total = sat_add(q.subtotal, q.tax);
    return q;
}

const char *fd_money_fmt(const fd_commerce_rules *r, int64_t minor, char *buf, size_t cap)
{
    char digits[32];
    int64_t a = minor < 0 ? -minor : minor;
    int n = snprintf(digits, sizeof digits, "%lld", (long long)(a / 100));
    char grouped[48];
    size_t g = 0;
    for (int i = 0; i < n; i++) {
        if (i && (n - i) % 3 == 0)
            grouped[g++] = ',';
        grouped[g++] = digits[i];
    }
    grouped[g] = '\0';
    snprintf(buf, cap, "%s%s%s.%02lld", minor < 0 ? "-" : "", r->money, grouped,
             (long long)(a % 100));
    return buf;
}

/* ---- dates (Howard Hinnant's civil-days algorithms) ---------------------- */

int64_t fd_days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void fd_civil_from_days(int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

int fd_weekday(int64_t days)
{
    /* 1970-01-01 was a Thursday (3 with Monday 0) */
    int64_t w = (days + 3) % 7;
    return (int)(w < 0 ? w + 7 : w);
}

static int holiday(const fd_commerce_rules *r, int64_t day)
{
    return r->n_holidays &&
           bsearch(&day, r->holidays, r->n_holidays, sizeof *r->holidays, cmp_day) != NULL;
}

static int delivers(const fd_commerce_rules *r, int64_t day)
{
    if (!((r->days_mask >> fd_weekday(day)) & 1u) || holiday(r, day))
        return 0;
    /* a half day closing before its first window has no delivery */
    if (fd_delivery_close_min(r, day) < 0 || r->n_windows == 0)
        return 1;
    for (size_t i = 0; i < r->n_windows; i++)
        if (fd_delivery_window_ok(r, day, &r->windows[i]))
            return 1;
    return 0;
}

static int works(const fd_commerce_rules *r, int64_t day)
{
    return ((r->work_mask >> fd_weekday(day)) & 1u) && !holiday(r, day);
}

int fd_delivery_close_min(const fd_commerce_rules *r, int64_t day)
{
    size_t lo = 0, hi = r->n_half_days;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (r->half_days[mid] < day)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < r->n_half_days && r->half_days[lo] == day ? r->half_close_min[lo] : -1;
}

/* The day's order cut-off: on a half day the office closes with it. */
static int cutoff_on(const fd_commerce_rules *r, int64_t day)
{
    int close = fd_delivery_close_min(r, day);
    return close >= 0 && close < r->cutoff_min ? close : r->cutoff_min;
}

int64_t fd_delivery_earliest(const fd_commerce_rules *r, int64_t now_days, int now_min)
{
    if (!r->days_mask)
        return now_days;
    /* an order after the cut-off or on a day off counts from the next
     * working day; the lead time runs in working days, its last step to the
     * next delivery day (a Friday order before the cut-off: Saturday, when
     * Saturday delivers; after it: Monday's order, Tuesday's delivery) */
    int work = r->work_mask ? 1 : 0;
    int64_t day = now_days;
    if ((work && !works(r, day)) || now_min >= cutoff_on(r, day))
        do
            day++;
        while (work && !works(r, day));
    for (int k = 0; k < r->lead_days; k++) {
        int last = k + 1 == r->lead_days;
        do
            day++;
        while (last ? !delivers(r, day) : work && !works(r, day));
    }
    while (!delivers(r, day))
        day++;
    return day;
}

int fd_delivery_check(const fd_commerce_rules *r, int64_t day, int64_t now_days, int now_min)
{
    if (holiday(r, day))
        return 3;
    if (r->days_mask && !delivers(r, day))
        return 1;
    return day < fd_delivery_earliest(r, now_days, now_min) ? 2 : 0;
}

int64_t fd_cancel_deadline(const fd_commerce_rules *r, int64_t day)
{
    /* Working days only, as fd_delivery_earliest counts them: before
     * issue 15's fix a holiday on a working weekday still counted, so a
     * Monday delivery after Good Friday could be cancelled on the holiday
     * itself. The loop ends: some weekday works and holidays are few. */
    int64_t before = day - 1;
    while (r->work_mask && !works(r, before))
        before--;
    return before;
}

int fd_delivery_window_ok(const fd_commerce_rules *r, int64_t day, const fd_window *w)
{
    unsigned m = r->day_windows[fd_weekday(day)];
    if (w && m && !((m >> (w - r->windows)) & 1u))
        return 0;
    /* a half day: the windows that start before the close (the afternoon
     * on Christmas Eve runs 13:00-15:00; none on the eve of Chinese New
     * Year, closing at 12:00) */
    int close = fd_delivery_close_min(r, day);
    return !w || close < 0 || w->from_min < close;
}

/* The word w in folded, but not as a greeting ("good morning", "bon
 * après-midi"). */
/* Where w is first named in f as a word (not in a greeting: "good
 * morning", "bonne après-midi"); -1 when it is not. */
static long window_at(fd_str f, const char *w)
{
    size_t n = strlen(w);
    for (size_t i = 0; n && i + n <= f.len; i++) {
        if (memcmp(f.p + i, w, n) != 0 || (i > 0 && isalnum((unsigned char)f.p[i - 1])) ||
            (i + n < f.len && isalnum((unsigned char)f.p[i + n])))
            continue;
        if ((i >= 5 && memcmp(f.p + i - 5, "good ", 5) == 0) ||
            (i >= 4 && memcmp(f.p + i - 4, "bon ", 4) == 0) ||
            (i >= 6 && memcmp(f.p + i - 6, "bonne ", 6) == 0))
            continue;
        /* "morning! kopi corner here": the message opened by the word
         * alone, exclaimed, greets as "good morning" does (dev8) */
        size_t lead = 0;
        while (lead < i && isspace((unsigned char)f.p[lead]))
            lead++;
        size_t after = i + n;
        while (after < f.len && f.p[after] == ' ')
            after++;
        if (lead == i && after < f.len && f.p[after] == '!')
            continue;
        return (long)i;
    }
    return -1;
}

/* A window named only to be ruled out: "morning nobody at shop", "not
 * the morning", "morning cannot". Looks at the two words after it and
 * the word before. */
static int ruled_out(fd_str f, size_t at, size_t len)
{
    static const char *const after[] = {"nobody",   "no",     "not",  "cannot", "can't",
                                        "cant",     "closed", "busy", "pas",    "impossible",
                                        "personne", "ferme",  NULL};
    size_t i = at + len;
    int clause = 1; /* "afternoon, morning nobody": the comma ends its clause */
    for (int w = 0; w < 2 && i < f.len && clause; w++) {
        while (i < f.len && !isalnum((unsigned char)f.p[i]) && f.p[i] != '\'' && clause)
            clause = !strchr(",.;!?", f.p[i++]);
        if (!clause)
            break;
        size_t b = i;
        while (i < f.len && (isalnum((unsigned char)f.p[i]) || f.p[i] == '\''))
            i++;
        for (size_t k = 0; after[k]; k++)
            if (i - b == strlen(after[k]) && memcmp(f.p + b, after[k], i - b) == 0)
                return 1;
    }
    size_t e = at;
    while (e > 0 && !isalnum((unsigned char)f.p[e - 1]))
        e--;
    if (e >= 4 && memcmp(f.p + e - 4, " the", 4) == 0)
        e -= 4; /* "not the morning" */
    return (e == 3 || (e > 3 && !isalnum((unsigned char)f.p[e - 4]))) &&
           (memcmp(f.p + e - 3, "not", 3) == 0 || memcmp(f.p + e - 3, "pas", 3) == 0);
}

/* A clock time at f.p[*i]: "9", "9am", "1pm", "13:00", "9.30am"; minutes
 * since midnight, -1 when none. An hour without am or pm from 1 to 6 is in
 * the afternoon: deliveries run in the day, so "1-6" is 13:00-18:00. */
static int clock_at(fd_str f, size_t *i)
{
    size_t k = *i;
    int h = 0, m = 0, nd = 0;
    while (k < f.len && isdigit((unsigned char)f.p[k]) && nd < 3)
        h = h * 10 + (f.p[k++] - '0'), nd++;
    if (!nd || nd > 2 || (k < f.len && isdigit((unsigned char)f.p[k])))
        return -1;
    if (k + 2 < f.len && (f.p[k] == ':' || f.p[k] == '.') && isdigit((unsigned char)f.p[k + 1]) &&
        isdigit((unsigned char)f.p[k + 2])) {
        m = (f.p[k + 1] - '0') * 10 + (f.p[k + 2] - '0');
        k += 3;
    }
    size_t s = k;
    while (s < f.len && f.p[s] == ' ')
        s++;
    int am = s + 1 < f.len && tolower((unsigned char)f.p[s]) == 'a' &&
             tolower((unsigned char)f.p[s + 1]) == 'm',
        pm = s + 1 < f.len && tolower((unsigned char)f.p[s]) == 'p' &&
             tolower((unsigned char)f.p[s + 1]) == 'm';
    if ((am || pm) && (s + 2 == f.len || !isalnum((unsigned char)f.p[s + 2])))
        k = s + 2;
    else
        am = pm = 0;
    if (h > 23 || m > 59 || ((am || pm) && (h < 1 || h > 12)))
        return -1;
    if (pm && h < 12)
        h += 12;
    else if (am && h == 12)
        h = 0;
    else if (!am && !pm && h >= 1 && h <= 6)
        h += 12;
    *i = k;
    return h * 60 + m;
}

/* A time with no end: "2pm onwards", "from 2pm", "after 14:00" (dev7:
 * "thursday 2pm onwards"); the window it falls in, NULL when none. The
 * clock is f.p[at..ck); *k is just past the spaces after it, and past
 * "onwards" when that follows. "from" and "after" count before a time
 * written with am, pm or minutes only: "from 10" may be ten of anything. */
/* How much of a window's start a customer who is there "from" a time may
 * miss and still get that window: an hour, a judgement (no set has a
 * case either side of it), not a tuned number. */
#define OPEN_SPAN_SLACK_MIN 60

static const fd_window *open_span(const fd_commerce_rules *r, fd_str f, size_t at, size_t ck, int a,
                                  size_t *k)
{
    static const char *const onwards[] = {"onwards",   "onward",    "or later",
                                          "and later", "and after", NULL};
    static const char *const before[] = {"from", "after", "aft", "des", "apres", NULL};
    size_t end = 0;
    for (size_t j = 0; onwards[j] && !end; j++) {
        size_t n = strlen(onwards[j]);
        if (*k + n <= f.len && strncasecmp(f.p + *k, onwards[j], n) == 0 &&
            (*k + n == f.len || !isalnum((unsigned char)f.p[*k + n])))
            end = *k + n;
    }
    if (!end) {
        int marked = 0; /* "2pm", "14:00", not "2" */
        for (size_t j = at; j < ck; j++)
            marked |= !isdigit((unsigned char)f.p[j]) && f.p[j] != ' ';
        size_t w = at;
        while (w > 0 && f.p[w - 1] == ' ')
            w--;
        size_t b = w;
        while (b > 0 && isalpha((unsigned char)f.p[b - 1]))
            b--;
        int after = 0;
        for (size_t j = 0; before[j] && !after; j++)
            after = strlen(before[j]) == w - b && strncasecmp(f.p + b, before[j], w - b) == 0;
        /* "from 2pm to 5pm" is a span of its own */
        int ranged = *k < f.len &&
                     (f.p[*k] == '-' || (*k + 2 < f.len && strncasecmp(f.p + *k, "to ", 3) == 0));
        if (!after || !marked || ranged || w == at)
            return NULL;
        end = ck;
    }
    /* The customer is there from a on. The window a falls in when it
     * loses at most its first OPEN_SPAN_SLACK_MIN ("10am onwards": the
     * morning, 9-13); else the earliest window that opens at a or later
     * ("12pm onwards": the afternoon, 13-18, not a morning with one hour
     * left); else the one that keeps most of itself after a ("after 3pm":
     * the afternoon, the only window left at all). */
    const fd_window *best = NULL;
    for (size_t j = 0; j < r->n_windows && !best; j++) {
        const fd_window *w = &r->windows[j];
        if (w->from_min <= a && a < w->to_min && a - w->from_min <= OPEN_SPAN_SLACK_MIN)
            best = w;
    }
    const fd_window *later = NULL;
    for (size_t j = 0; j < r->n_windows; j++)
        if (r->windows[j].from_min >= a && (!later || r->windows[j].from_min < later->from_min))
            later = &r->windows[j];
    if (!best)
        best = later;
    int kept = 0;
    for (size_t j = 0; j < r->n_windows && !best; j++)
        if (r->windows[j].to_min > a && r->windows[j].to_min - a > kept)
            kept = r->windows[j].to_min - a;
    for (size_t j = 0; j < r->n_windows && !best && kept; j++)
        if (r->windows[j].to_min - a == kept)
            best = &r->windows[j];
    if (best)
        *k = end;
    return best;
}

const fd_window *fd_delivery_span(const fd_commerce_rules *r, fd_str f, size_t *from, size_t *to)
{
    static const char *const after[] = {"slot",     "slots", "window", "time", "timing",
                                        "delivery", "pls",   "please", "can",  "ok",
                                        "thanks",   "thx",   "la",     "lah",  NULL};
    for (size_t i = 0; i < f.len; i++) {
        if (!isdigit((unsigned char)f.p[i]) || (i > 0 && isalnum((unsigned char)f.p[i - 1])))
            continue;
        size_t k = i;
        int a = clock_at(f, &k);
        if (a < 0)
            continue;
        size_t ck = k; /* just after the clock time */
        while (k < f.len && f.p[k] == ' ')
            k++;
        const fd_window *open = open_span(r, f, i, ck, a, &k);
        if (open) {
            if (from)
                *from = i;
            if (to)
                *to = k;
            return open;
        }
        if (k < f.len && f.p[k] == '-')
            k++;
        else if (k + 2 < f.len && strncasecmp(f.p + k, "to ", 3) == 0)
            k += 3;
        else if (k + 3 < f.len && strncasecmp(f.p + k, "and ", 4) == 0)
            k += 4;
        else
            continue;
        while (k < f.len && f.p[k] == ' ')
            k++;
        int b = clock_at(f, &k);
        if (b < 0 || b <= a)
            continue;
        size_t w = k;
        while (w < f.len && f.p[w] == ' ')
            w++;
        size_t e = w;
        while (e < f.len && isalnum((unsigned char)f.p[e]))
            e++;
        int ok = e == w;
        for (size_t j = 0; after[j] && !ok; j++)
            ok = strlen(after[j]) == e - w && strncasecmp(f.p + w, after[j], e - w) == 0;
        for (size_t j = 0; ok && j < r->n_windows; j++)
            if (r->windows[j].from_min <= a && b <= r->windows[j].to_min) {
                if (from)
                    *from = i;
                if (to)
                    *to = k;
                return &r->windows[j];
            }
    }
    return NULL;
}

const fd_window *fd_delivery_window(const fd_commerce_rules *r, fd_str folded)
{
    /* the short forms of chat ("tmr aft", "morn") with am and pm */
    static const struct {
        const char *name, *alias[5];
    } syn[] = {{"morning", {"am", "matin", "morning", "mornings", "morn"}},
               {"afternoon", {"pm", "apres-midi", "aprem", "afternoons", "aft"}},
               {"evening", {"soir", "evening", "night", "tonight", NULL}}};
    /* Of the windows named, the first not ruled out: "make it afternoon,
     * morning nobody at shop" is the afternoon. */
    const fd_window *best = NULL;
    long best_at = -1;
    for (size_t i = 0; i < r->n_windows; i++) {
        const char *names[6] = {r->windows[i].name, NULL, NULL, NULL, NULL, NULL};
        for (size_t k = 0; k < sizeof syn / sizeof *syn; k++)
            if (strcmp(syn[k].name, r->windows[i].name) == 0)
                for (int j = 0; j < 5; j++)
                    names[j + 1] = syn[k].alias[j];
        for (int j = 0; j < 6 && names[j]; j++) {
            long at = window_at(folded, names[j]);
            if (at < 0 || ruled_out(folded, (size_t)at, strlen(names[j])))
                continue;
            if (!best || at < best_at) {
                best = &r->windows[i];
                best_at = at;
            }
        }
    }
    return best ? best : fd_delivery_span(r, folded, NULL, NULL);
}
