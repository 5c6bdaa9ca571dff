/* test_catalog.c: the example's catalog, customers' words, quotes, dates. */
#include "commerce.h"
#include "support.h"

#include <stdlib.h>

typedef struct fixture {
    fd_catalog *c;
    fd_arena *a;
} fixture;

static char *slurp(const char *name, size_t *len)
{
    const char *src = getenv("FD_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/examples/packaging-supplier/%s", src ? src : ".", name);
    char *p;
    fd_err err;
    if (fd_file_read(path, 1 << 24, &p, len, &err))
        fail_msg("%s: %s", path, err.msg);
    return p;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    size_t np, nt, nc, skipped = 99;
    char *p = slurp("products.csv", &np), *t = slurp("commerce.toml", &nt),
         *c = slurp("customers.csv", &nc);
    fd_err err;
    if (fd_catalog_load(p, np, t, nt, c, nc, &f->c, &skipped, &err))
        fail_msg("load: %s", err.msg);
    assert_int_equal(skipped, 0);
    fd_free(p);
    fd_free(t);
    fd_free(c);
    f->a = fd_arena_new(0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    fd_catalog_free(f->c);
    fd_arena_free(f->a);
    free(f);
    return 0;
}

static fd_product_match match(fixture *f, const char *text)
{
    fd_product_match m;
    fd_err err;
    if (fd_catalog_match(f->c, fd_str_c(text), NULL, 0, f->a, &m, &err))
        fail_msg("match: %s", err.msg);
    return m;
}

static void test_loads_the_example(void **state)
{
    fixture *f = *state;
    assert_int_equal(fd_catalog_n_products(f->c), 169);
    const fd_product *p = fd_catalog_by_code(f->c, "PB-1201");
    assert_non_null(p);
    assert_int_equal(p->pack_size, 50);
    assert_true(p->pack_price > 0);
    const fd_commerce_rules *r = fd_catalog_rules(f->c);
    assert_string_equal(r->id_prefix, "HP");
    assert_int_equal(r->tax_permille, 90);
    assert_int_equal(r->review_over, 500000);
    assert_int_equal(r->min_order, 8000); /* [orders] min_order = 80 */
    assert_int_equal(fd_catalog_n_outlets(f->c), 6);
}

static void test_customers_words(void **state)
{
    fixture *f = *state;
    fd_product_match m = match(f, "12 inch kraft pizza box");
    assert_true(m.n >= 1);
    assert_false(m.ambiguous);
    assert_string_equal(m.v[0]->size, "12-inch");
    assert_non_null(strstr(m.v[0]->variant, "kraft"));

    m = match(f, "12in kraft");
    assert_true(m.n >= 1);
    assert_string_equal(m.v[0]->code, m.n ? match(f, "12 inch kraft pizza box").v[0]->code : "");

    /* a code of letters only, with its dash */
    m = match(f, "CUT-CF x 5");
    assert_true(m.exact);
    assert_string_equal(m.v[0]->code, "CUT-CF");
    assert_true(match(f, "nap-kr").exact);
    m = match(f, "pb1201 please");
    assert_true(m.exact);
    assert_string_equal(m.v[0]->code, "PB-1201");

    /* a typo of five letters or more is still the word */
    m = match(f, "12-inch kraaft pizza boxes");
    assert_string_equal(m.v[0]->code, match(f, "12 inch kraft pizza box").v[0]->code);

    /* kraft and white fit as well: a question, not a guess */
    m = match(f, "100 12-inch pizza boxes");
    assert_true(m.ambiguous);
    for (size_t i = 0; i < 2; i++)
        assert_string_equal(m.v[i]->size, "12-inch");

    /* "the white ones", among those */
    fd_product_match w;
    fd_err err;
    assert_int_equal(fd_catalog_match(f->c, fd_str_c("the white ones"), m.v, m.n, f->a, &w, &err),
                     FD_OK);
    assert_true(w.n >= 1);
    assert_false(w.ambiguous);
    assert_non_null(strstr(w.v[0]->variant, "white"));
    assert_string_equal(w.v[0]->size, "12-inch");

    /* a word of the description only ("brown") refines: the kraft box */
    m = match(f, "12 inch brown pizza boxes");
    assert_false(m.ambiguous);
    assert_string_equal(m.v[0]->code, "PB-1201");
    /* but names nothing alone */
    assert_int_equal(match(f, "plain brown").n, 0);

    /* the example's [catalog.synonyms]: French words for English names */
    m = match(f, "gobelets froids transparents en PET 16 oz");
    assert_true(m.n >= 1);
    assert_false(m.ambiguous);
    assert_string_equal(m.v[0]->code, "CUP-T16");
    /* and trade shorthand: "bbt" is bubble tea */
    m = match(f, "bbt cups 22oz"); /* not the PET cold cup of 22oz */
    assert_false(m.ambiguous);
    assert_string_equal(m.v[0]->code, "CUP-U22");
    /* and a misspelling one letter from another word: "dubble" is double */
    m = match(f, "dubble wall hot cup 8oz");
    assert_true(m.n >= 1);
    assert_false(m.ambiguous);
    assert_string_equal(m.v[0]->code, "CUP-D08");

    /* a size no product has rules every product of that kind out */
    m = match(f, "13-inch pizza box");
    for (size_t i = 0; i < m.n; i++)
        assert_string_not_equal(m.v[i]->category, "pizza boxes");
    assert_int_equal(match(f, "do you have coffee machines").n, 0);

    /* of products that tie, the one whose own name holds the words: white
     * in the plain box's name, only in the printed box's material */
    m = match(f, "10 inch white pizza box");
    assert_false(m.ambiguous);
    assert_string_equal(m.v[0]->code, "PB-1002");
    m = match(f, "cpla forks");
    assert_false(m.ambiguous);
    assert_string_equal(m.v[0]->code, "CUT-CF");
    m = match(f, "white 90mm lids"); /* both in the names: still ambiguous? no, one size */
    assert_false(m.ambiguous);
    assert_string_equal(m.v[0]->code, "LID-H90W");
    assert_true(match(f, "white lids").ambiguous); /* 80mm or 90mm: a question */

    /* counted parts name the product: "1 pli", "2-ply", "3 compartment" */
    m = match(f, "serviettes blanches 1 pli");
    assert_false(m.ambiguous);
    assert_string_equal(m.v[0]->code, "NAP-1P");
    m = match(f, "white napkins 2-ply");
    assert_false(m.ambiguous);
    assert_string_equal(m.v[0]->code, "NAP-2P");
    m = match(f, "PP 3 compartment bento");
    assert_false(m.ambiguous);
    assert_string_equal(m.v[0]->code, "CON-PP3C");
    m = match(f, "cup carriers 4 cup");
    assert_false(m.ambiguous);
    assert_string_equal(m.v[0]->code, "TRY-CC4");
    m = match(f, "2-cup drink carrier bag");
    assert_false(m.ambiguous);
    assert_string_equal(m.v[0]->code, "BAG-C2");
    /* still tied, the plain one: the fewest words of its name left unsaid */
    m = match(f, "wooden spoons");
    assert_false(m.ambiguous);
    assert_string_equal(m.v[0]->code, "CUT-WS");
    assert_true(match(f, "12 inch pizza box").ambiguous); /* kraft or white: asked */
    assert_true(match(f, "paper cups 12oz").ambiguous);   /* single or double wall */

    /* a line swapped: the product of its kind the new words name */
    fd_product_match to;
    assert_int_equal(fd_catalog_variant(f->c, fd_catalog_by_code(f->c, "LID-H90W"),
                                        fd_str_c("change the lids to black pls"), f->a, &to, &err),
                     FD_OK);
    assert_false(to.ambiguous);
    assert_string_equal(to.v[0]->code, "LID-H90B");
    assert_int_equal(fd_catalog_variant(f->c, fd_catalog_by_code(f->c, "CON-KL02"),
                                        fd_str_c("can deliver in the morning instead?"), f->a, &to,
                                        &err),
                     FD_OK);
    assert_int_equal(to.n, 0); /* "deliver" names no container */
    /* the words of ordering name no product (the "delivery label") */
    assert_int_equal(match(f, "deliver friday instead").n, 0);
    assert_int_equal(match(f, "delivery on monday").n, 0);
    m = match(f, "tamper evident delivery labels");
    assert_string_equal(m.v[0]->code, "LBL-TMP");
    m = match(f, "PP 2-compartment container with lid");
    assert_false(m.ambiguous);
    assert_string_equal(m.v[0]->code, "CON-PP2C");
}

/* dev7's matching rules, in other words than dev7's. */
static void test_dev7_words(void **state)
{
    fixture *f = *state;
    fd_product_match m;
    /* a word of the catalog is no typo of another: "single" (wall) is not
     * "singlet" (the bag), so "single bag" names no singlet bag */
    m = match(f, "single bag");
    for (size_t i = 0; i < m.n_tied; i++)
        assert_true(strncmp(m.v[i]->code, "BAG-T", 5) != 0);
    /* a typo no word of the catalog still finds its word */
    m = match(f, "singlte bag large");
    assert_false(m.ambiguous);
    assert_string_equal(m.v[0]->code, "BAG-TL");
    /* a description's "the" names nothing: "the pizza saver" is a saver,
     * and "the" alone weighs nothing for it */
    m = match(f, "the kraft pizza box");
    for (size_t i = 0; i < m.n_tied; i++)
        assert_string_not_equal(m.v[i]->code, "PB-SAV01");
    /* a code with a space for its dash */
    m = match(f, "cup P12 x 10");
    assert_true(m.exact);
    assert_string_equal(m.v[0]->code, "CUP-P12");
    m = match(f, "PB 1401");
    assert_true(m.exact);
    assert_string_equal(m.v[0]->code, "PB-1401");
    assert_false(match(f, "cup 12").exact); /* no code CUP-12 */
    /* "x" is a times sign, no word of the sizes "23 x 38 cm": "kraft bag x
     * 3" ties the kraft bags as "kraft bag" does */
    assert_int_equal(match(f, "kraft sos bag x 3").n_tied, match(f, "kraft sos bag").n_tied);
    /* the products holding numbers: in the size ("90 mm") or the
     * description ("serves 3 to 4 people") */
    const fd_product *held[200];
    double n90[] = {80};
    size_t n = fd_catalog_holding(f->c, n90, 1, f->a, held);
    int h80w = 0, h90w = 0;
    for (size_t i = 0; i < n; i++) {
        h80w |= strcmp(held[i]->code, "LID-H80W") == 0;
        h90w |= strcmp(held[i]->code, "LID-H90W") == 0;
    }
    assert_true(h80w && !h90w);
    double n34[] = {3, 4};
    n = fd_catalog_holding(f->c, n34, 2, f->a, held);
    int p1401 = 0, p1201 = 0;
    for (size_t i = 0; i < n; i++) {
        p1401 |= strcmp(held[i]->code, "PB-1401") == 0;
        p1201 |= strcmp(held[i]->code, "PB-1201") == 0; /* serves 2 to 3 */
    }
    assert_true(p1401 && !p1201);
}

/* Products described by what they go with: the kind named wins over the
 * product of the size, and a size inside a range the catalog gives fits. */
static void test_made_for(void **state)
{
    fixture *f = *state;
    fd_product_match m = match(f, "plus the lids that fit the 32oz, also 10 pkt");
    assert_true(m.n >= 1);
    assert_false(m.ambiguous);
    assert_string_equal(m.v[0]->code, "LID-R150"); /* "Lid for CON-R24 and CON-R32" */
    m = match(f, "300 kraft sleeves for 12oz cups");
    assert_false(m.ambiguous);
    assert_string_equal(m.v[0]->code, "CUP-S01"); /* "fits 12-16 oz" */
    m = match(f, "sleeves for 8oz cups");
    assert_false(m.ambiguous);
    assert_string_equal(m.v[0]->code, "CUP-S02"); /* "fits 8 oz" */
    /* "fit" names no product: not the sleeve whose size "fits 12-16 oz" */
    m = match(f, "10 packs of the lids that fit");
    assert_true(m.n >= 1);
    for (size_t i = 0; i < m.n; i++)
        assert_null(strstr(m.v[i]->name, "sleeve"));
    /* a size no sleeve is made for rules the sleeves out (the carriers
     * "for 8-22 oz cups" may stay) */
    m = match(f, "sleeves for 20oz cups");
    for (size_t i = 0; i < m.n; i++)
        assert_null(strstr(m.v[i]->name, "sleeve"));
    /* without "for" or "fit" a size is the product's own, as before */
    m = match(f, "32oz round soup container");
    assert_false(m.ambiguous);
    assert_string_equal(m.v[0]->code, "CON-R32");

    const fd_catalog *c = f->c;
    assert_true(fd_catalog_fits(c, fd_catalog_by_code(c, "LID-K500"),
                                fd_catalog_by_code(c, "CON-K750"), f->a)); /* 500-1000 ml */
    assert_true(fd_catalog_fits(c, fd_catalog_by_code(c, "LID-K500"),
                                fd_catalog_by_code(c, "CON-K1000"), f->a));
    assert_false(fd_catalog_fits(c, fd_catalog_by_code(c, "LID-K500"),
                                 fd_catalog_by_code(c, "CON-K1300"), f->a));
    assert_true(fd_catalog_fits(c, fd_catalog_by_code(c, "LID-R150"),
                                fd_catalog_by_code(c, "CON-R32"), f->a));
    assert_false(fd_catalog_fits(c, fd_catalog_by_code(c, "LID-R115"),
                                 fd_catalog_by_code(c, "CON-R32"), f->a));
    assert_true(fd_catalog_fits(c, fd_catalog_by_code(c, "CUP-S01"),
                                fd_catalog_by_code(c, "CUP-P12"), f->a));
    assert_false(fd_catalog_fits(c, fd_catalog_by_code(c, "CUP-S02"),
                                 fd_catalog_by_code(c, "CUP-P12"), f->a));
    assert_true(fd_catalog_fits(c, fd_catalog_by_code(c, "LID-F95"),
                                fd_catalog_by_code(c, "CUP-T16"), f->a)); /* 12-22 oz */
    /* a cup of the same size is not made for a container */
    assert_false(fd_catalog_fits(c, fd_catalog_by_code(c, "CUP-P16"),
                                 fd_catalog_by_code(c, "CON-R16"), f->a));
}

static void test_outlets(void **state)
{
    fixture *f = *state;
    int amb;
    const fd_outlet *o = fd_catalog_match_outlet(
        f->c, fd_str_c("My outlet is Canadian Pizza Pasir Ris"), NULL, f->a, &amb);
    assert_non_null(o);
    assert_false(amb);
    assert_string_equal(o->outlet, "Pasir Ris");
    o = fd_catalog_match_outlet(f->c, fd_str_c("canadian pizza"), NULL, f->a, &amb);
    assert_non_null(o);
    assert_true(amb); /* two outlets: which one? */
    o = fd_catalog_match_outlet(f->c, fd_str_c("kopi corner"), NULL, f->a, &amb);
    assert_non_null(o);
    assert_false(amb);
    assert_null(
        fd_catalog_match_outlet(f->c, fd_str_c("100 12-inch pizza boxes"), NULL, f->a, &amb));
    assert_null(fd_catalog_match_outlet(f->c, fd_str_c("Burger Palace Orchard"), NULL, f->a, &amb));
    /* a name shortened from its end, to two words or more */
    o = fd_catalog_match_outlet(f->c, fd_str_c("Hi, Green Bowl here"), NULL, f->a, &amb);
    assert_non_null(o);
    assert_false(amb);
    assert_string_equal(o->customer_id, "C1004");
    o = fd_catalog_match_outlet(f->c, fd_str_c("lotus noodle order"), NULL, f->a, &amb);
    assert_non_null(o);
    assert_true(amb); /* Bedok or Jurong East? */
    assert_string_equal(o->customer_id, "C1003");
    assert_null(fd_catalog_match_outlet(f->c, fd_str_c("lotus here"), NULL, f->a, &amb));
    assert_null(
        fd_catalog_match_outlet(f->c, fd_str_c("10 packs kraft round bowls"), NULL, f->a, &amb));
    /* a site by its initials, among the named customer's outlets */
    o = fd_catalog_match_outlet(f->c, fd_str_c("Lotus noodle JE outlet. 20 pkt"), NULL, f->a, &amb);
    assert_non_null(o);
    assert_false(amb);
    assert_string_equal(o->outlet, "Jurong East");
    o = fd_catalog_match_outlet(f->c, fd_str_c("lotus noodle house, je branch"), NULL, f->a, &amb);
    assert_non_null(o);
    assert_false(amb);
    assert_string_equal(o->outlet, "Jurong East");
    o = fd_catalog_match_outlet(f->c, fd_str_c("Lotus Noodle House: je voudrais 5 paquets"), NULL,
                                f->a, &amb);
    assert_true(amb); /* French "je" names no site */
    assert_null(fd_catalog_match_outlet(f->c, fd_str_c("JE outlet"), NULL, f->a, &amb));
    /* the account id */
    o = fd_catalog_match_outlet(f->c, fd_str_c("acct C1002 pls"), NULL, f->a, &amb);
    assert_non_null(o);
    assert_string_equal(o->customer, "Kopi Corner");
    assert_null(fd_catalog_match_outlet(f->c, fd_str_c("c10020"), NULL, f->a, &amb));
    /* A site names an outlet with the customer's distinctive words (not
     * its trade's: "pizza"), typos allowed, or once the customer is known;
     * a shop we do not know at a site we serve is no outlet (issue 15:
     * "kopi kaki tampines" was Canadian Pizza Tampines). */
    static const struct {
        const char *said, *known, *customer, *outlet;
    } sites[] = {
        {"kopi kaki tampines here", NULL, NULL, NULL},
        {"pizza hut tampines", NULL, NULL, NULL},
        {"deliver to tampines", NULL, NULL, NULL},
        {"sorry i mean tampines", "C1001", "C1001", "Tampines"},
        {"sorry i mean tampines", "C1003", NULL, NULL},
        {"canadian tampines outlet", NULL, "C1001", "Tampines"},
        {"canadain piza tampines", NULL, "C1001", "Tampines"},
        {"Canadian Pizza Tampnes", NULL, "C1001", "Tampines"},
        {"lotus bedok", NULL, "C1003", "Bedok"},
        {"lotus noodle hse jurong east", NULL, "C1003", "Jurong East"},
        {"kopi corner", "C1001", "C1002", ""},
    };
    for (size_t i = 0; i < sizeof sites / sizeof *sites; i++) {
        o = fd_catalog_match_outlet(f->c, fd_str_c(sites[i].said), sites[i].known, f->a, &amb);
        if (!sites[i].customer ? o != NULL
                               : !o || amb || strcmp(o->customer_id, sites[i].customer) != 0 ||
                                     strcmp(o->outlet, sites[i].outlet) != 0)
            fail_msg("'%s' (known %s): %s %s", sites[i].said, sites[i].known ? sites[i].known : "-",
                     o ? o->customer_id : "none", o ? o->outlet : "");
    }
}

static void test_quote(void **state)
{
    fixture *f = *state;
    const fd_product *p = fd_catalog_by_code(f->c, "PB-1201");
    fd_quote_line l = fd_quote_line_make(p, 100);
    assert_int_equal(l.packs, 2);
    l = fd_quote_line_make(p, 101);
    assert_int_equal(l.packs, 3);
    assert_int_equal(l.total, 3 * p->pack_price);
    /* the tax alone: the example's fees and discounts left out */
    fd_commerce_rules r = *fd_catalog_rules(f->c);
    r.delivery_fee = 0;
    r.n_discounts = 0;
    memset(r.surcharge, 0, sizeof r.surcharge);
    fd_quote_line v[] = {{p, 100, 2, 1000}, {p, 50, 1, 1055}};
    fd_quote q = fd_quote_sum(&r, v, 2, -1);
    assert_int_equal(q.subtotal, 2055);
    assert_int_equal(q.tax, 185); /* 184.95 rounded half up */
    assert_int_equal(q.total, 2240);
    char b[32];
    assert_string_equal(fd_money_fmt(&r, 123456789, b, sizeof b), "S$1,234,567.89");
    assert_string_equal(fd_money_fmt(&r, 5, b, sizeof b), "S$0.05");
    /* An absurd quantity (the catalog fuzzer's INT64_MAX) saturates: no
     * overflow for UBSan to stop on, and an amount no one will confirm. */
    l = fd_quote_line_make(p, INT64_MAX);
    assert_true(l.packs > 0);
    assert_int_equal(l.total, INT64_MAX);
    fd_quote_line big[] = {l, l};
    q = fd_quote_sum(&r, big, 2, -1);
    assert_int_equal(q.subtotal, INT64_MAX);
    assert_int_equal(q.total, INT64_MAX);
}

/* The example's volume discounts and delivery fees, against the worked
 * examples of its own pages (volume-discounts.md, delivery-fees.md). */
static void test_quote_extras(void **state)
{
    fixture *f = *state;
    const fd_commerce_rules *r = fd_catalog_rules(f->c);
    const fd_product *p = fd_catalog_by_code(f->c, "PB-1201");
    int64_t wed = fd_days_from_civil(2026, 12, 9), sat = wed + 3;
    static const struct {
        int64_t goods;
        int saturday;
        int64_t discount, delivery, surcharge, subtotal;
    } cases[] = {
        {18000, 0, 0, 1800, 0, 19800},    /* "S$180 order, weekday: S$18" */
        {26000, 0, 0, 0, 0, 26000},       /* "S$260 order: free" */
        {12000, 1, 0, 1800, 2500, 16300}, /* "S$120 on Saturday: S$18 + S$25" */
        {26000, 1, 0, 0, 2500, 28500},    /* surcharged even when free */
        {120000, 0, 3600, 0, 0, 116400},  /* "S$1,200 ... pays S$1,164" */
        {99999, 0, 0, 0, 0, 99999},       /* below the first tier */
        {250000, 0, 12500, 0, 0, 237500}, /* 5% from S$2,500 */
        {500000, 0, 40000, 0, 0, 460000}, /* 8% from S$5,000 */
        {25700, 0, 0, 0, 0, 25700},       /* the fee counted on the goods */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        fd_quote_line l = {p, 1, 1, cases[i].goods};
        fd_quote q = fd_quote_sum(r, &l, 1, cases[i].saturday ? sat : wed);
        if (q.goods != cases[i].goods || q.discount != cases[i].discount ||
            q.delivery != cases[i].delivery || q.surcharge != cases[i].surcharge ||
            q.subtotal != cases[i].subtotal || q.tax != (q.subtotal * 90 + 500) / 1000 ||
            q.total != q.subtotal + q.tax)
            fail_msg("case %zu: goods %lld discount %lld delivery %lld surcharge %lld subtotal "
                     "%lld tax %lld total %lld",
                     i, (long long)q.goods, (long long)q.discount, (long long)q.delivery,
                     (long long)q.surcharge, (long long)q.subtotal, (long long)q.tax,
                     (long long)q.total);
    }
    /* 3% of S$1,200 is said as such */
    fd_quote_line l = {p, 1, 1, 120000};
    assert_int_equal(fd_quote_sum(r, &l, 1, wed).discount_permille, 30);
    /* no day chosen yet: the fee, no day's surcharge */
    l.total = 12000;
    fd_quote q = fd_quote_sum(r, &l, 1, -1);
    assert_int_equal(q.delivery, 1800);
    assert_int_equal(q.surcharge, 0);
}

static void test_delivery_days(void **state)
{
    fixture *f = *state;
    const fd_commerce_rules *r = fd_catalog_rules(f->c);
    int64_t mon = fd_days_from_civil(2026, 12, 7);
    assert_int_equal(fd_weekday(mon), 0);
    int y, m, d;
    fd_civil_from_days(mon, &y, &m, &d);
    assert_true(y == 2026 && m == 12 && d == 7);
    /* Monday 10:00: Tuesday; Monday 16:00 (after the 15:00 cut-off): Wednesday */
    assert_int_equal(fd_delivery_earliest(r, mon, 600), mon + 1);
    assert_int_equal(fd_delivery_earliest(r, mon, 960), mon + 2);
    /* Saturday delivers but is no working day: a Friday order before the
     * cut-off (or Thursday's after it) arrives on Saturday; Friday afternoon,
     * Saturday and Sunday orders count from Monday: Tuesday */
    assert_int_equal(fd_delivery_earliest(r, mon + 4, 600), mon + 5);
    assert_int_equal(fd_delivery_earliest(r, mon + 3, 960), mon + 5);
    assert_int_equal(fd_delivery_earliest(r, mon + 4, 960), mon + 8);
    assert_int_equal(fd_delivery_earliest(r, mon + 5, 600), mon + 8);
    assert_int_equal(fd_delivery_earliest(r, mon + 6, 600), mon + 8);
    assert_int_equal(fd_delivery_check(r, mon + 5, mon, 600), 0); /* Saturday */
    assert_int_equal(fd_delivery_check(r, mon + 6, mon, 600), 1); /* Sunday */
    assert_int_equal(fd_delivery_check(r, mon, mon, 600), 2);     /* today */
    assert_int_equal(fd_delivery_check(r, mon + 1, mon, 600), 0);
    /* [delivery] holidays: Christmas Day, a Friday, is no delivery day and
     * no working day; Christmas Eve's order after the cut-off counts from
     * Monday 28th: Tuesday 29th */
    int64_t xmas = fd_days_from_civil(2026, 12, 25);
    assert_int_equal(fd_delivery_check(r, xmas, mon, 600), 3);
    assert_int_equal(fd_delivery_check(r, xmas - 2, mon, 600), 0);
    assert_int_equal(fd_delivery_earliest(r, xmas - 1, 960), xmas + 4);
    assert_int_equal(fd_delivery_earliest(r, xmas - 2, 600), xmas - 1);
    /* The free cancellation's day is the working day before delivery,
     * holidays skipped as the lead time skips them (issue 15): Saturday
     * 26th and Monday 28th are cancelled by Thursday 24th, the day whose
     * order before the cut-off arrives on the 26th; Tuesday 29th by Monday */
    assert_int_equal(fd_cancel_deadline(r, xmas + 1), xmas - 1);
    assert_int_equal(fd_delivery_earliest(r, xmas - 1, 600), xmas + 1);
    assert_int_equal(fd_cancel_deadline(r, xmas + 3), xmas - 1);
    assert_int_equal(fd_cancel_deadline(r, xmas + 4), xmas + 3);
    assert_int_equal(fd_cancel_deadline(r, mon + 2), mon + 1);
    /* the example's list: a holiday on a Sunday moves to the Monday (Vesak
     * 2026, Chinese New Year's second day 2027) */
    assert_int_equal(fd_delivery_check(r, fd_days_from_civil(2026, 6, 1), mon - 200, 600), 3);
    assert_int_equal(fd_delivery_check(r, fd_days_from_civil(2027, 2, 8), mon, 600), 3);
    assert_int_equal(fd_delivery_check(r, fd_days_from_civil(2027, 2, 9), mon, 600), 0);
    /* Christmas Eve is not a holiday here: a working day, but a half day
     * ([delivery.half_days]): the office closes at 15:00, and the afternoon
     * window (13:00-18:00) is still offered, cut short at the close */
    assert_int_equal(fd_cancel_deadline(r, xmas - 1), xmas - 2);
    assert_true(fd_delivery_window_ok(r, xmas - 1, &r->windows[1]));
    assert_int_equal(fd_delivery_close_min(r, xmas - 1), 15 * 60);
    assert_int_equal(fd_delivery_close_min(r, xmas), -1);
    assert_int_equal(fd_delivery_close_min(r, xmas - 2), -1);
    /* The eve of Chinese New Year 2027 (Friday 5 February) closes at
     * 12:00: mornings only, and the day's cut-off is the close. Before it:
     * Tuesday 9th (Saturday 6th and Monday 8th are holidays); after it,
     * the order counts from Tuesday: Wednesday 10th. */
    int64_t cny_eve = fd_days_from_civil(2027, 2, 5);
    assert_int_equal(fd_delivery_close_min(r, cny_eve), 12 * 60);
    assert_true(fd_delivery_window_ok(r, cny_eve, &r->windows[0]));
    assert_false(fd_delivery_window_ok(r, cny_eve, &r->windows[1]));
    assert_true(fd_delivery_window_ok(r, cny_eve, NULL));
    assert_int_equal(fd_delivery_earliest(r, cny_eve, 11 * 60), cny_eve + 4);
    assert_int_equal(fd_delivery_earliest(r, cny_eve, 13 * 60), cny_eve + 5);
    assert_int_equal(fd_delivery_check(r, cny_eve, cny_eve - 3, 600), 0);
    /* Saturday has the morning window only */
    const fd_window *am = &r->windows[0], *pm = &r->windows[1];
    assert_string_equal(pm->name, "afternoon");
    assert_true(fd_delivery_window_ok(r, mon + 5, am));
    assert_false(fd_delivery_window_ok(r, mon + 5, pm));
    assert_true(fd_delivery_window_ok(r, mon + 5, NULL));
    assert_true(fd_delivery_window_ok(r, mon + 4, pm));
    const fd_window *w = fd_delivery_window(r, fd_str_c("deliver on tuesday morning"));
    assert_non_null(w);
    assert_string_equal(w->name, "morning");
    assert_null(fd_delivery_window(r, fd_str_c("deliver on tuesday")));
    /* a greeting names no window */
    assert_null(fd_delivery_window(r, fd_str_c("good morning, deliver on tuesday")));
    assert_null(fd_delivery_window(r, fd_str_c("bon apres-midi")));
    w = fd_delivery_window(r, fd_str_c("good morning. tuesday afternoon"));
    assert_non_null(w);
    assert_string_equal(w->name, "afternoon");
    /* two named: the one not ruled out, else the first (dev3, issue 15) */
    static const struct {
        const char *said, *want;
    } two[] = {
        {"eh make it afternoon, morning nobody at shop", "afternoon"},
        {"morning cannot, afternoon ok", "afternoon"},
        {"not the morning pls, afternoon", "afternoon"},
        {"afternoon is better than morning", "afternoon"},
        {"morning, or afternoon if you must", "morning"},
        /* chat's short forms (dev3, issue 15) */
        {"tmr aft", "afternoon"},
        {"sat morn pls", "morning"},
        /* a time with no end: the window it falls in (dev7) */
        {"monday after 3pm", "afternoon"},
        {"friday 10am onwards", "morning"},
        /* most of the morning already gone: the afternoon (review of dev7's rule) */
        {"thursday 12pm onwards", "afternoon"},
        {"after 12:30pm", "afternoon"},
        {"from 11am", "afternoon"},
        {"from 9am pls", "morning"},
        {"from 1:30pm please", "afternoon"},
    };
    for (size_t i = 0; i < sizeof two / sizeof *two; i++) {
        w = fd_delivery_window(r, fd_str_c(two[i].said));
        if (!w || strcmp(w->name, two[i].want) != 0)
            fail_msg("'%s': %s, want %s", two[i].said, w ? w->name : "none", two[i].want);
    }
    assert_null(fd_delivery_window(r, fd_str_c("morning not possible")));
    assert_null(fd_delivery_window(r, fd_str_c("deliver after lunch")));
    /* "from" or "after" a bare number may be anything but a time; a time
     * outside every window names none */
    assert_null(fd_delivery_window(r, fd_str_c("from 10 of them")));
    assert_null(fd_delivery_window(r, fd_str_c("after 7pm")));
}

/* A price list exported from a spreadsheet in a French or German locale:
 * ';' between fields, a comma as the decimal mark, spaces or dots between
 * thousands. Before, the file split at every decimal comma and "5,40"
 * read as 540.00. The comma exports keep their meaning ("1,234" is a
 * thousand and more). */
static void test_european_prices(void **state)
{
    (void)state;
    static const struct {
        const char *csv;
        const char *code;
        int64_t want;
    } cases[] = {
        {"code;name;price\nA1;Gobelet;5,40\n", "A1", 540},
        {"code;name;price\nA1;Carton;\"1 234,50 \xE2\x82\xAC\"\n", "A1", 123450},
        {"code;name;price\nA1;Karton;1.234,5\n", "A1", 123450},
        {"code;name;price\nA1;Sac;\"1\xC2\xA0"
         "234,50\"\n",
         "A1", 123450},
        {"code\tname\tprice\nA1\tBox\t12.50\n", "A1", 1250},
        {"code,name,price\nA1,Box,\"1,234\"\n", "A1", 123400},
        {"code,name,price\nA1,Box,\"$1,234.5\"\n", "A1", 123450},
        {"code,name,price\nA1,Box,S$ 12\n", "A1", 1200},
        {"code,name,price\nA1,Box,0.125\n", "A1", 12},
        {"code;name;price\nA1;Paille;0,125\n", "A1", 12},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        fd_catalog *c = NULL;
        fd_err err = {0};
        if (fd_catalog_load(cases[i].csv, strlen(cases[i].csv), NULL, 0, NULL, 0, &c, NULL, &err))
            fail_msg("case %zu: %s", i, err.msg);
        const fd_product *p = fd_catalog_by_code(c, cases[i].code);
        if (!p || p->pack_price != cases[i].want)
            fail_msg("case %zu: %lld, want %lld", i, p ? (long long)p->pack_price : -1LL,
                     (long long)cases[i].want);
        fd_catalog_free(c);
    }
}

/* Each commerce.toml refused (FD_EFORMAT) with an error naming the key. */
static void expect_bad_toml(const char *const *tomls, size_t n, const char *key)
{
    const char *products = "code,name,price\nA1,Thing,1\n";
    for (size_t i = 0; i < n; i++) {
        fd_catalog *c = NULL;
        fd_err err = {0};
        int rc = fd_catalog_load(products, strlen(products), tomls[i], strlen(tomls[i]), NULL, 0,
                                 &c, NULL, &err);
        fd_catalog_free(c);
        if (rc != FD_EFORMAT || !strstr(err.msg, key))
            fail_msg("'%s': %d %s (want an error naming %s)", tomls[i], rc, err.msg, key);
    }
}

static void test_bad_files(void **state)
{
    (void)state;
    fd_catalog *c;
    fd_err err;
    size_t skipped;
    const char *no_price = "code,name\nA1,Thing\n";
    assert_int_equal(fd_catalog_load(no_price, strlen(no_price), NULL, 0, NULL, 0, &c, NULL, &err),
                     FD_EFORMAT);
    assert_non_null(strstr(err.msg, "price"));
    const char *rows = "code,name,price\nA1,Thing,2.50\n,Nameless,1\nA2,Free text,ask us\n"
                       "A1,Again,3\n\"A3,broken\n";
    assert_int_equal(fd_catalog_load(rows, strlen(rows), NULL, 0, NULL, 0, &c, &skipped, &err),
                     FD_OK);
    assert_int_equal(fd_catalog_n_products(c), 1);
    assert_true(skipped >= 3);
    assert_non_null(strstr(err.msg, "products.csv"));
    assert_int_equal(fd_catalog_by_code(c, "a1")->pack_price, 250);
    fd_catalog_free(c);
    const char *toml = "[delivery]\ncutoff = \"25:99\"\n";
    assert_int_equal(
        fd_catalog_load(no_price, strlen(no_price), toml, strlen(toml), NULL, 0, &c, NULL, &err),
        FD_EFORMAT);
    assert_non_null(strstr(err.msg, "cutoff"));
    const char *bad_days[] = {
        "[delivery]\nworking_days = [\"funday\"]\n",
        "[delivery.day_windows]\nsat = [\"evening\"]\n", /* no such window */
        "[delivery.day_windows]\nsat = []\n",
        "[delivery.day_windows]\nxyz = [\"morning\"]\n",
    };
    expect_bad_toml(bad_days, sizeof bad_days / sizeof *bad_days, "delivery.");
    /* [delivery.half_days]: dates as keys, a closing time as the value */
    const char *bad_half[] = {
        "[delivery.half_days]\n\"2026-02-30\" = \"15:00\"\n", /* no such date */
        "[delivery.half_days]\n\"christmas eve\" = \"15:00\"\n",
        "[delivery.half_days]\n\"2026-12-24\" = \"3pm\"\n",
        "[delivery.half_days]\n\"2026-12-24\" = 15\n",
        "[delivery]\nhalf_days = [\"2026-12-24\"]\n",
    };
    expect_bad_toml(bad_half, sizeof bad_half / sizeof *bad_half, "delivery.half_days");
    const char *bad_discounts[] = {
        "[orders]\nvolume_discounts = [1000, 3]\n",
        "[orders]\nvolume_discounts = [[1000]]\n",
        "[orders]\nvolume_discounts = [[1000, 0]]\n",
        "[orders]\nvolume_discounts = [[1000, 100]]\n",
        "[orders]\nvolume_discounts = [[-5, 3]]\n",
        "[orders]\nvolume_discounts = [[2500, 5], [1000, 3]]\n", /* lowest first */
    };
    expect_bad_toml(bad_discounts, sizeof bad_discounts / sizeof *bad_discounts,
                    "orders.volume_discounts");
    /* a window's hours and minutes in range (an hour of 1494771453 overflowed, fuzz_catalog) */
    const char *bad_windows[] = {
        "[delivery]\nwindows = [\"morning 1494771453:00-13:00\"]\n",
        "[delivery]\nwindows = [\"morning 09:75-13:00\"]\n",
        "[delivery]\nwindows = [\"late 20:00-25:00\"]\n",
        "[delivery]\nwindows = [\"early -1:00-13:00\"]\n",
    };
    expect_bad_toml(bad_windows, sizeof bad_windows / sizeof *bad_windows, "delivery.windows");
    const char *bad_fee[] = {"[delivery]\nfee = -1\n", "[delivery]\nfee = \"18\"\n"};
    expect_bad_toml(bad_fee, sizeof bad_fee / sizeof *bad_fee, "delivery.fee");
    const char *bad_free[] = {"[delivery]\nfree_from = \"lots\"\n"};
    expect_bad_toml(bad_free, 1, "delivery.free_from");
    const char *bad_sur[] = {"[delivery.surcharges]\nsaturday = 25\n",
                             "[delivery.surcharges]\nsat = -2\n", "[delivery]\nsurcharges = 25\n"};
    expect_bad_toml(bad_sur, sizeof bad_sur / sizeof *bad_sur, "delivery.surcharges");
    /* a half day closing before its first window has no delivery at all;
     * several are kept sorted whatever their order in the file */
    const char *early = "[delivery]\nwindows = [\"morning 09:00-13:00\"]\n"
                        "[delivery.half_days]\n\"2026-12-31\" = \"15:00\"\n"
                        "\"2026-12-24\" = \"08:30\"\n";
    const char *one_p = "code,name,price\nA1,Thing,1\n";
    assert_int_equal(
        fd_catalog_load(one_p, strlen(one_p), early, strlen(early), NULL, 0, &c, NULL, &err),
        FD_OK);
    int64_t eve = fd_days_from_civil(2026, 12, 24);
    assert_int_equal(fd_delivery_close_min(fd_catalog_rules(c), eve), 8 * 60 + 30);
    assert_int_equal(fd_delivery_close_min(fd_catalog_rules(c), eve + 7), 15 * 60);
    assert_int_equal(fd_delivery_check(fd_catalog_rules(c), eve, eve - 3, 600), 1);
    assert_int_equal(fd_delivery_check(fd_catalog_rules(c), eve + 7, eve - 3, 600), 0);
    fd_catalog_free(c);
    /* without working_days, the delivery days are the working days */
    const char *one = "code,name,price\nA1,Thing,1\n";
    const char *sat = "[delivery]\ndays = [\"mon\", \"sat\"]\n";
    assert_int_equal(fd_catalog_load(one, strlen(one), sat, strlen(sat), NULL, 0, &c, NULL, &err),
                     FD_OK);
    assert_int_equal(fd_catalog_rules(c)->work_mask, fd_catalog_rules(c)->days_mask);
    fd_catalog_free(c);
    const char *only_bad = "code,name,price\n,x,1\n";
    assert_int_equal(fd_catalog_load(only_bad, strlen(only_bad), NULL, 0, NULL, 0, &c, NULL, &err),
                     FD_EFORMAT);
    assert_int_equal(fd_catalog_load("\xff", 1, NULL, 0, NULL, 0, &c, NULL, &err), FD_EUTF8);
}

/* Every allocation failure is a clean error, never a crash or a leak. */
static void test_alloc_failures(void **state)
{
    (void)state;
    const char *p = "code,name,size,price\nPB-1,Pizza box 12-inch kraft,12-inch,2.50\n"
                    "PB-2,Pizza box 12-inch white,12-inch,2.60\n";
    const char *cu = "id,name,outlet\nC1,Canadian Pizza,Pasir Ris\n";
    for (long n = 1; n < 400; n++) {
        fd_catalog *c = NULL;
        fd_err err;
        fd_alloc_fail_at(n);
        int rc = fd_catalog_load(p, strlen(p), NULL, 0, cu, strlen(cu), &c, NULL, &err);
        fd_alloc_fail_at(0);
        if (rc == FD_OK) {
            assert_int_equal(fd_catalog_n_products(c), 2);
            fd_catalog_free(c);
            break;
        }
        assert_int_equal(rc, FD_ENOMEM);
        assert_null(c);
    }
}

/* dev8's words (eval/README.md), in other words than its conversations. */
static void test_dev8_words(void **state)
{
    fixture *f = *state;
    fd_product_match m;
    /* a code of letters only, in capitals without its dash; not in small
     * letters, where it could be a word */
    m = match(f, "4 pkt CUTWS");
    assert_true(m.exact);
    assert_string_equal(m.v[0]->code, "CUT-WS");
    assert_false(match(f, "4 pkt cutws").exact);
    /* a word cut short by its last letter: "blac" is "black" */
    m = match(f, "blac hot cup lid 90mm");
    assert_false(m.ambiguous);
    assert_string_equal(m.v[0]->code, "LID-H90B");
    /* not when the short word is the catalog's own ("lid" is no cut
     * "lids"; "cup" no cut "cups") */
    m = match(f, "hot cup lid 90mm white");
    assert_string_equal(m.v[0]->code, "LID-H90W");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loads_the_example), cmocka_unit_test(test_customers_words),
        cmocka_unit_test(test_outlets),           cmocka_unit_test(test_quote),
        cmocka_unit_test(test_delivery_days),     cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_european_prices),   cmocka_unit_test(test_quote_extras),
        cmocka_unit_test(test_alloc_failures),    cmocka_unit_test(test_made_for),
        cmocka_unit_test(test_dev7_words),        cmocka_unit_test(test_dev8_words),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
