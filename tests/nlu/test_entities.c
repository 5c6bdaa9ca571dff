/* test_entities.c: fd_nlu_entities (src/nlu/entities.c, dates.c,
 * gazetteer.c): every kind with positive and negative examples, dates
 * relative to a fixed now and time zone, fuzzy outlet names. */
#include "support.h"
#include "nlu_int.h"

/* Thursday 2024-06-13 08:00 in Singapore (00:00 UTC). */
#define NOW 1718236800.0
#define SG 480

typedef struct want {
    fd_entity_kind kind;
    const char *src; /* the message bytes at off/len */
    const char *norm;
} want;

typedef struct ent_case {
    const char *in;
    want w[6]; /* ends at src == NULL */
} ent_case;

#define Q FD_ENT_QUANTITY
#define S FD_ENT_SIZE
#define M FD_ENT_MONEY
#define D FD_ENT_DATE
#define T FD_ENT_TIME
#define O FD_ENT_ORDER_ID
#define P FD_ENT_PRODUCT
#define E FD_ENT_EMAIL
#define F FD_ENT_PHONE
#define L FD_ENT_OUTLET

static const ent_case cases[] = {
    /* quantities */
    {"I need 200 boxes", {{Q, "200 boxes", "200 boxes"}}},
    {"5 cartons please", {{Q, "5 cartons", "5 cartons"}}},
    {"two hundred kraft boxes", {{Q, "two hundred kraft boxes", "200 boxes"}}},
    {"twenty-five lids and one thousand cups",
     {{Q, "twenty-five lids", "25 lids"}, {Q, "one thousand cups", "1000 cups"}}},
    {"deux cents boîtes", {{Q, "deux cents boîtes", "200 boites"}}},
    /* a short pack word before the product's noun counts packs */
    {"10 pkt flat lid w straw slot", {{Q, "10 pkt", "10 pkt"}}},
    {"2 ctn kraft bowls", {{Q, "2 ctn", "2 ctn"}}},
    {"I have 200 reasons", {{0}}}, /* no count noun */
    {"the one I ordered", {{0}}},
    /* sizes */
    {"12-inch pizza box", {{S, "12-inch", "12inch"}}},
    {"10-inch box", {{S, "10-inch", "10inch"}}},
    {"12\" box", {{S, "12\"", "12inch"}}},
    {"16oz cups and 500ml bowls", {{S, "16oz", "16oz"}, {S, "500ml", "500ml"}}},
    {"8 x 8 inch tray", {{S, "8 x 8 inch", "8x8inch"}}},
    {"12 inch box", {{S, "12 inch", "12inch"}}},
    {"50% off", {{0}}},
    /* money */
    {"S$250 total", {{M, "S$250", "s$250"}}},
    {"only $5", {{M, "$5", "$5"}}},
    {"12.50 SGD each", {{M, "12.50 SGD", "sgd12.50"}}},
    /* order ids and product codes */
    {"where is my order HP-240517", {{O, "HP-240517", "HP-240517"}}},
    {"order hp240517 pls", {{O, "hp240517", "HP-240517"}}},
    {"ignore my previous order", {{0}}},
    {"HP-2405 is short", {{0}}}, /* HP is reserved for orders: neither */
    {"CUP-P12 and PB-1203", {{P, "CUP-P12", "CUP-P12"}, {P, "PB-1203", "PB-1203"}}},
    {"lid-h90w", {{P, "lid-h90w", "LID-H90W"}}},
    {"covid-19 rules", {{0}}}, /* five letters: not a code */
    {"take-away", {{0}}},
    /* emails and phones */
    {"mail Sales@Harbour-Pack.com.sg",
     {{E, "Sales@Harbour-Pack.com.sg", "sales@harbour-pack.com.sg"}}},
    {"call +65 6812 4470", {{F, "+65 6812 4470", "68124470"}}},
    {"or 9123 4567 or 91234567", {{F, "9123 4567", "91234567"}, {F, "91234567", "91234567"}}},
    {"65 8123-4567", {{F, "65 8123-4567", "81234567"}}},
    {"1234 5678", {{0}}}, /* not 6/8/9 */
    {"912345678", {{0}}}, /* nine digits */
    {"invoice 61234567890", {{0}}},
    /* dates */
    {"today", {{D, "today", "2024-06-13"}}},
    {"tomorrow morning", {{D, "tomorrow", "2024-06-14"}, {T, "morning", "morning"}}},
    {"2moro morning", {{D, "2moro", "2024-06-14"}, {T, "morning", "morning"}}},
    {"tmw", {{D, "tmw", "2024-06-14"}}},
    {"day after tomorrow", {{D, "day after tomorrow", "2024-06-15"}}},
    {"après-demain", {{D, "après-demain", "2024-06-15"}}},
    {"Tuesday", {{D, "Tuesday", "2024-06-18"}}},
    {"next Tuesday", {{D, "next Tuesday", "2024-06-18"}}},
    {"this Thursday", {{D, "this Thursday", "2024-06-13"}}}, /* today counts */
    {"next Thursday", {{D, "next Thursday", "2024-06-20"}}},
    {"this Friday", {{D, "this Friday", "2024-06-14"}}},
    {"mardi prochain", {{D, "mardi prochain", "2024-06-18"}}},
    {"25/12", {{D, "25/12", "2024-12-25"}}},
    {"1/6", {{D, "1/6", "2025-06-01"}}}, /* passed: next year */
    {"25 Dec", {{D, "25 Dec", "2024-12-25"}}},
    {"December 25", {{D, "December 25", "2024-12-25"}}},
    {"25th of December 2025", {{D, "25th of December 2025", "2025-12-25"}}},
    {"le 25 décembre", {{D, "25 décembre", "2024-12-25"}}},
    {"in 3 days", {{D, "in 3 days", "2024-06-16"}}},
    {"dans deux semaines", {{D, "dans deux semaines", "2024-06-27"}}},
    {"demain", {{D, "demain", "2024-06-14"}}},
    {"31/02", {{0}}},
    {"in 3 boxes", {{Q, "3 boxes", "3 boxes"}}},
    /* times */
    {"3pm", {{T, "3pm", "15:00"}}},
    {"at 3:30 pm", {{T, "3:30 pm", "15:30"}}},
    {"15:30", {{T, "15:30", "15:30"}}},
    {"noon", {{T, "noon", "12:00"}}},
    {"12am", {{T, "12am", "00:00"}}},
    {"l'après-midi ou le matin", {{T, "après-midi", "afternoon"}, {T, "matin", "morning"}}},
    {"vers 15h30", {{T, "15h30", "15:30"}}},
    {"good morning", {{0}}},
    {"25:99", {{0}}},
    {"13pm", {{0}}},
    /* odd text */
    {"", {{0}}},
    {"caf\xc3", {{0}}},
};

static void check(const fd_nlu_ctx *ctx, fd_arena *a, const ent_case *c)
{
    fd_entities out;
    fd_err err = {0};
    int rc = fd_nlu_entities(fd_str_c(c->in), ctx, a, &out, &err);
    if (rc)
        fail_msg("'%s': rc %d (%s)", c->in, rc, err.msg);
    size_t n = 0;
    while (n < 6 && c->w[n].src)
        n++;
    if (out.n != n) {
        for (size_t i = 0; i < out.n; i++)
            print_message("  got %s '%.*s' -> %s\n", fd_entity_kind_name(out.v[i].kind),
                          (int)out.v[i].len, c->in + out.v[i].off, out.v[i].norm);
        fail_msg("'%s': %zu entities, want %zu", c->in, out.n, n);
    }
    for (size_t i = 0; i < n; i++) {
        const fd_entity *g = &out.v[i];
        fd_str src = {c->in + g->off, g->len};
        if (g->kind != c->w[i].kind || !fd_str_eq_c(src, c->w[i].src) ||
            strcmp(g->norm, c->w[i].norm))
            fail_msg("'%s' #%zu: got %s '%.*s' -> %s, want %s '%s' -> %s", c->in, i,
                     fd_entity_kind_name(g->kind), (int)src.len, src.p, g->norm,
                     fd_entity_kind_name(c->w[i].kind), c->w[i].src, c->w[i].norm);
    }
}

static void test_table(void **state)
{
    (void)state;
    fd_nlu_ctx ctx = {NOW, SG, FD_LANG_UNKNOWN, NULL};
    fd_arena *a = fd_arena_new(0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check(&ctx, a, &cases[i]);
    fd_arena_free(a);
}

static void test_values(void **state)
{
    (void)state;
    fd_nlu_ctx ctx = {NOW, SG, FD_LANG_UNKNOWN, NULL};
    fd_arena *a = fd_arena_new(0);
    fd_entities out;
    fd_err err;
    assert_int_equal(fd_nlu_entities(fd_str_c("two hundred and fifty boxes for S$1,250.50"), &ctx,
                                     a, &out, &err),
                     FD_OK);
    assert_int_equal(out.n, 2);
    assert_true(out.v[0].value == 250);
    assert_true(out.v[1].value == 1250.5);
    fd_arena_free(a);
}

static void test_time_zone(void **state)
{
    (void)state;
    fd_arena *a = fd_arena_new(0);
    fd_entities out;
    fd_err err;
    /* 20:00 UTC Thursday is 04:00 Friday in Singapore */
    fd_nlu_ctx sg = {NOW + 20 * 3600, SG, FD_LANG_UNKNOWN, NULL};
    fd_nlu_ctx utc = {NOW + 20 * 3600, 0, FD_LANG_UNKNOWN, NULL};
    assert_int_equal(fd_nlu_entities(fd_str_c("tomorrow"), &sg, a, &out, &err), FD_OK);
    assert_string_equal(out.v[0].norm, "2024-06-15");
    assert_int_equal(fd_nlu_entities(fd_str_c("tomorrow"), &utc, a, &out, &err), FD_OK);
    assert_string_equal(out.v[0].norm, "2024-06-14");
    /* year and month ends */
    fd_nlu_day d = {2024, 12, 31, 1}, n;
    fd_nlu_day_add(&d, 1, &n);
    assert_true(n.y == 2025 && n.m == 1 && n.d == 1 && n.wday == 2);
    d = (fd_nlu_day){2024, 2, 28, 2};
    fd_nlu_day_add(&d, 1, &n);
    assert_true(n.m == 2 && n.d == 29);
    fd_arena_free(a);
}

static void test_outlets(void **state)
{
    (void)state;
    fd_gazetteer *g;
    fd_err err;
    assert_int_equal(fd_gazetteer_new(&g, &err), FD_OK);
    assert_int_equal(fd_gazetteer_add(g, FD_ENT_OUTLET, "Tiong Bahru Bakery Pte Ltd", &err), FD_OK);
    assert_int_equal(fd_gazetteer_add(g, FD_ENT_OUTLET, "Café Crème Orchard", &err), FD_OK);
    assert_int_equal(fd_gazetteer_add(g, FD_ENT_OUTLET, "Café Crème", &err), FD_OK);
    assert_int_equal(fd_gazetteer_add(g, FD_ENT_OUTLET, "Kopi Hub", &err), FD_OK);
    assert_int_equal(fd_gazetteer_add(g, FD_ENT_OUTLET, "", &err), FD_EINVAL);
    assert_int_equal(fd_gazetteer_add(g, FD_ENT_OUTLET, "!!!", &err), FD_EINVAL);
    fd_nlu_ctx ctx = {NOW, SG, FD_LANG_UNKNOWN, g};
    fd_arena *a = fd_arena_new(0);
    static const struct {
        const char *in, *src, *norm;
    } ok[] = {
        {"this is tiong bahru bakery", "tiong bahru bakery", "Tiong Bahru Bakery Pte Ltd"},
        {"TIONG BAHRU BAKERY PTE LTD here", "TIONG BAHRU BAKERY PTE LTD",
         "Tiong Bahru Bakery Pte Ltd"},
        {"tiong bahru bakrey", "tiong bahru bakrey", "Tiong Bahru Bakery Pte Ltd"}, /* swap */
        {"cafe creme orchad", "cafe creme orchad", "Café Crème Orchard"},           /* longest */
        {"from café crème", "café crème", "Café Crème"},
        {"kopi hub", "kopi hub", "Kopi Hub"},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        fd_entities out;
        assert_int_equal(fd_nlu_entities(fd_str_c(ok[i].in), &ctx, a, &out, &err), FD_OK);
        if (out.n != 1)
            fail_msg("'%s': %zu entities", ok[i].in, out.n);
        assert_int_equal(out.v[0].kind, FD_ENT_OUTLET);
        assert_true(fd_str_eq_c((fd_str){ok[i].in + out.v[0].off, out.v[0].len}, ok[i].src));
        assert_string_equal(out.v[0].norm, ok[i].norm);
    }
    static const char *const none[] = {"tiong bahru", "kopi hut", "kopi", "bakery tiong bahru",
                                       "tiong bahru bxkrey"};
    for (size_t i = 0; i < sizeof none / sizeof none[0]; i++) {
        fd_entities out;
        assert_int_equal(fd_nlu_entities(fd_str_c(none[i]), &ctx, a, &out, &err), FD_OK);
        if (out.n)
            fail_msg("'%s' matched %s", none[i], out.v[0].norm);
    }
    assert_int_equal(fd_nlu_osa_distance("bakery", 6, "bakrey", 6, 1), 1);
    assert_int_equal(fd_nlu_osa_distance("bakery", 6, "bxkrey", 6, 1), 2);
    assert_int_equal(fd_nlu_osa_distance("abc", 3, "abc", 3, 1), 0);
    fd_arena_free(a);
    fd_gazetteer_free(g);
}

static void test_kind_names(void **state)
{
    (void)state;
    assert_string_equal(fd_entity_kind_name(FD_ENT_QUANTITY), "quantity");
    assert_string_equal(fd_entity_kind_name(FD_ENT_OUTLET), "outlet");
    assert_string_equal(fd_entity_kind_name(FD__NENT), "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),      cmocka_unit_test(test_values),
        cmocka_unit_test(test_time_zone),  cmocka_unit_test(test_outlets),
        cmocka_unit_test(test_kind_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
