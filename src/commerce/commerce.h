/* commerce/commerce.h: what a knowledge base sells and to whom — the
 * catalog (products.csv), the customers and their outlets (customers.csv),
 * and the rules of commerce.toml (currency, tax, order ids, delivery days,
 * cut-off, lead time, windows, hand-over threshold) — and the arithmetic of
 * a quote. The conversation that takes an order is dialog/order.c; orders
 * are kept by the store.
 *
 * Money is in minor units (cents) as int64: no float ever holds a price.
 *
 * Threads: load on one thread; afterwards every function is read-only and
 *          may be called from any thread.
 * Memory:  the catalog owns its strings; results live in the caller's arena.
 * Errors:  FD_EFORMAT (a file the catalog cannot use, message names file,
 *          line and column), FD_EUTF8, FD_ENOMEM. */
#ifndef FD_COMMERCE_H
#define FD_COMMERCE_H

#include "core.h"

typedef struct fd_product {
    const char *code, *name, *category, *size, *variant, *description;
    int64_t pack_size;  /* units in one pack, >= 1 */
    int64_t pack_price; /* minor units per pack, before tax */
    int64_t stock;      /* packs in stock; -1: not tracked */
} fd_product;

typedef struct fd_outlet {
    const char *customer_id; /* the customer's account */
    const char *customer;    /* "Canadian Pizza" */
    const char *outlet;      /* "Pasir Ris" ("" when the customer has one site) */
    const char *address;
    const char *contact_id; /* the accounting system's contact ("" if none) */
    int payment_days;       /* invoice due after this many days */
} fd_outlet;

typedef struct fd_window {
    char name[16]; /* "morning" */
    int from_min, to_min;
} fd_window;

/* [orders] volume_discounts = [[1000, 3], ...]: from this value of goods
 * (minor units, before tax), this share off the whole of them. */
typedef struct fd_discount_tier {
    int64_t from;
    int permille; /* 3% -> 30 */
} fd_discount_tier;

/* commerce.toml; every field has a default so a KB with only products.csv
 * can take orders. */
typedef struct fd_commerce_rules {
    char currency[8];    /* [catalog] currency = "SGD" */
    char money[8];       /* money_sign = "S$" */
    char tax_name[16];   /* tax_name = "GST" */
    int tax_permille;    /* tax_rate = 0.09 -> 90 (tenths of a percent) */
    char id_prefix[8];   /* [orders] id_prefix = "HP" */
    int64_t review_over; /* review_over = 5000 (major units; 0: never) -> minor */
    int64_t min_order;   /* min_order = 80: minimum value for delivery, before tax
                            (major units; 0: none) -> minor */
    unsigned days_mask;  /* [delivery] days = ["mon".."fri"]: bit 0 Monday */
    unsigned work_mask;  /* working_days (default: days): the cut-off, the lead
                            time and the cancellation deadline count these; a
                            delivery day that is not one ("sat") is reached
                            only from the working day before it */
    int cutoff_min;      /* cutoff = "15:00": later orders take a day more */
    int lead_days;       /* lead_days = 1: working days from the order */
    fd_window windows[4];
    size_t n_windows;
    /* [delivery.day_windows] sat = ["morning"]: per weekday (0 Monday) a mask
     * of windows (bit i: windows[i]) that day offers; 0: all of them */
    unsigned day_windows[7];
    int cancel_before_min; /* cancel_until = "17:00": the working day before delivery */
    /* [delivery] holidays = ["2026-12-25", ...]: public holidays, days since
     * 1970-01-01, sorted: no delivery, not working days */
    int64_t holidays[64];
    size_t n_holidays;
    /* [delivery.half_days] "2026-12-24" = "15:00": days the company closes
     * early. Deliveries end at the close (a window starting at or after it
     * is not offered, one running past it is cut short), and so does the
     * day's order cut-off. Sorted by day. */
    int64_t half_days[32];
    int half_close_min[32];
    size_t n_half_days;
    /* What a quote adds and takes off besides the goods (volume-discounts.md
     * and delivery-fees.md in the example); all 0 by default. */
    fd_discount_tier discounts[8]; /* sorted by from */
    size_t n_discounts;
    int64_t delivery_fee; /* [delivery] fee = 18 -> minor units */
    int64_t free_from;    /* free_from = 250: no fee from this value of goods
                             after the discount (0: the fee always applies) */
    int64_t surcharge[7]; /* [delivery.surcharges] sat = 25: per weekday */
} fd_commerce_rules;

typedef struct fd_catalog fd_catalog; /* opaque */

/* products.csv (required), commerce.toml and customers.csv (both may be
 * NULL). Columns of products.csv are found by name ([catalog.columns] in
 * commerce.toml maps ours to yours: code, name, category, size, variant,
 * pack_size, price, stock, description); rows that cannot be read are
 * skipped and counted in *n_skipped (may be NULL), the first reason in err
 * even on FD_OK. */
int fd_catalog_load(const char *products, size_t products_len, const char *toml, size_t toml_len,
                    const char *customers, size_t customers_len, fd_catalog **out,
                    size_t *n_skipped, fd_err *err) FD_MUST_USE;
void fd_catalog_free(fd_catalog *c); /* NULL is fine */

const fd_commerce_rules *fd_catalog_rules(const fd_catalog *c);
size_t fd_catalog_n_products(const fd_catalog *c);
const fd_product *fd_catalog_product(const fd_catalog *c, size_t i);
const fd_product *fd_catalog_by_code(const fd_catalog *c, const char *code); /* NULL: none */
size_t fd_catalog_n_outlets(const fd_catalog *c);
const fd_outlet *fd_catalog_outlet(const fd_catalog *c, size_t i);

/* ---- resolving customers' words ------------------------------------------ */

#define FD_MATCH_MAX 6
typedef struct fd_product_match {
    const fd_product *v[FD_MATCH_MAX]; /* best first */
    double score[FD_MATCH_MAX];
    size_t n;
    int exact;     /* a product code was named */
    int ambiguous; /* more than one fits as well: ask, do not guess */
    size_t n_tied; /* the first n_tied fit as well (1 when not ambiguous) */
} fd_product_match;

/* The products text names ("12 inch kraft pizza box", "12in kraft",
 * "PB-1201", typos at distance 1 in words of 5 letters or more). Within
 * only (n_only > 0), choose among those products ("the white ones" after
 * a size was named). A size after "for" or "fit" is what the product goes
 * with: "lids that fit the 32oz" are lids made for it (fd_catalog_fits),
 * not the 32 oz container. n == 0: nothing fits. */
int fd_catalog_match(const fd_catalog *c, fd_str text, const fd_product *const *only, size_t n_only,
                     fd_arena *a, fd_product_match *out, fd_err *err) FD_MUST_USE;

/* The product text asks for instead of from ("change the lids to black":
 * the black lid of the same size), of from's category: every word of text
 * that from lacks and some product of the category has must be in it, and
 * of those products the one that keeps most of from's words wins. n == 0: text asks for nothing
 * new; ambiguous: several fit as well. */
int fd_catalog_variant(const fd_catalog *c, const fd_product *from, fd_str text, fd_arena *a,
                       fd_product_match *out, fd_err *err) FD_MUST_USE;

/* 1 when p is made for target, by the catalog's own words: p's
 * description names target's code ("Lid for CON-R32") or a size of
 * target, alone or in a range ("for kraft bowls 500-1000 ml" fits the 750
 * ml bowl), or p's size is a range holding it ("fits 12-16 oz"). The
 * arena holds scratch. */
int fd_catalog_fits(const fd_catalog *c, const fd_product *p, const fd_product *target,
                    fd_arena *a);

/* The products whose name, size or description hold every number of
 * nums ("the lid 90": the 90 mm lids; "for 5-6 pax": the box that
 * "serves 5 to 6 people"), into out (c's product count long at least);
 * their count. */
size_t fd_catalog_holding(const fd_catalog *c, const double *nums, size_t n_nums, fd_arena *a,
                          const fd_product **out);

/* The outlet text names ("Canadian Pizza Pasir Ris", "canadian pasir
 * ris"), or NULL; *ambiguous when several fit as well. A customer is named
 * by its whole name, its account id, its name shortened to two words or
 * more, or its distinctive words with a site; a site alone ("pasir ris")
 * names an outlet only of the customer known (its id; NULL or "": none). */
const fd_outlet *fd_catalog_match_outlet(const fd_catalog *c, fd_str text, const char *known,
                                         fd_arena *a, int *ambiguous);

/* ---- quotes ---------------------------------------------------------------- */

typedef struct fd_quote_line {
    const fd_product *p;
    int64_t qty;   /* units asked for */
    int64_t packs; /* rounded up to whole packs */
    int64_t total; /* packs * pack_price */
} fd_quote_line;

/* Minor units. subtotal = goods - discount + delivery + surcharge, the
 * amount before tax; tax on it (delivery-fees.md: "GST is added to
 * delivery fees and surcharges, as it is to goods"). */
typedef struct fd_quote {
    int64_t goods;         /* the lines' totals */
    int64_t discount;      /* the volume discount taken off the goods */
    int discount_permille; /* its rate (0: none) */
    int64_t delivery;      /* the delivery fee (0: free) */
    int64_t surcharge;     /* the delivery day's surcharge */
    int64_t subtotal, tax, total;
} fd_quote;

/* Packs for qty units (qty <= 0: one pack), and the line's total. */
fd_quote_line fd_quote_line_make(const fd_product *p, int64_t qty);
/* The quote of the lines delivered on day (days since 1970-01-01; -1: no
 * day chosen yet, so no day's surcharge): the volume discount on the whole
 * goods, the delivery fee under free_from (counted after the discount),
 * the day's surcharge, then tax rounded half up to the minor unit. */
fd_quote fd_quote_sum(const fd_commerce_rules *r, const fd_quote_line *v, size_t n, int64_t day);
/* "S$1,234.50" into buf. */
const char *fd_money_fmt(const fd_commerce_rules *r, int64_t minor, char *buf, size_t cap);

/* ---- delivery dates -------------------------------------------------------- */

/* Days since 1970-01-01 of a civil date and back; weekday 0 = Monday. */
int64_t fd_days_from_civil(int y, int m, int d);
void fd_civil_from_days(int64_t days, int *y, int *m, int *d);
int fd_weekday(int64_t days);

/* The first day a new order can be delivered, for an order placed at
 * local time now_days + now_min. */
int64_t fd_delivery_earliest(const fd_commerce_rules *r, int64_t now_days, int now_min);
/* 0 when day is a delivery day on or after the earliest; else a reason
 * code: 1 not a delivery day, 2 too soon, 3 a public holiday. */
int fd_delivery_check(const fd_commerce_rules *r, int64_t day, int64_t now_days, int now_min);
/* The window named in text ("morning", "matin", "pm"), or the one a span
 * of hours falls in ("9-1 slot"), or NULL. */
const fd_window *fd_delivery_window(const fd_commerce_rules *r, fd_str folded);
/* The window a span of hours in text falls in: "9-1 slot", "between 1pm
 * and 5pm", "10am to 12", "13:00-18:00" (hours 1 to 6 without am or pm are
 * the afternoon's); its bytes [*from, *to) (either may be NULL). Not a span
 * of sizes or counts ("12-16 oz", "10-12 pkt"): the word after it is none
 * but of time or politeness. NULL when none. */
const fd_window *fd_delivery_span(const fd_commerce_rules *r, fd_str text, size_t *from,
                                  size_t *to);
/* The day until whose cancel_before_min an order delivered on day can be
 * cancelled free: the working day before it, public holidays and days off
 * skipped as the cut-off and the lead time skip them (a Monday delivery
 * after a Friday holiday: Thursday, the day its order had to be in by). */
int64_t fd_cancel_deadline(const fd_commerce_rules *r, int64_t day);
/* 1 when the window (NULL: none chosen, any time) is offered on day. */
int fd_delivery_window_ok(const fd_commerce_rules *r, int64_t day, const fd_window *w);
/* The minute the company closes on day when it is a half day
 * ([delivery.half_days]); -1 on a full day. */
int fd_delivery_close_min(const fd_commerce_rules *r, int64_t day);

#endif
