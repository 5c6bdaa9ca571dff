/* test_order.c: orders taken in conversation (src/dialog/order.c) over the
 * example knowledge base, one table row per behaviour: the customer's
 * messages, then what must come of them (the placed order's lines, outlet,
 * delivery date and window; or no order, and whether a person was handed
 * the conversation). The conversations happen on Wednesday 9 December 2026
 * at 10:00, as in eval/orders. */
#include "kb_fixture.h"

#include "dialog.h"
#include "kb.h"
#include "store.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct fixture {
    char *dir;
    fd_config cfg;
    fd_kb *kb;
    fd_assistant *as;
} fixture;

static int setup(void **state)
{
    fixture *f = fd_calloc(1, sizeof *f);
    f->dir = fd_test_tmpdir();
    fd_config_defaults(&f->cfg);
    snprintf(f->cfg.dialog_now, sizeof f->cfg.dialog_now, "2026-12-09T10:00");
    f->cfg.answer_wordlists[0] = '\0';
    f->kb = fd_test_kb(f->dir, &f->cfg, NULL, 0); /* the example KB */
    fd_err err = {0};
    if (fd_assistant_open(&f->cfg, NULL, f->kb, &f->as, &err))
        fail_msg("assistant: %s", err.msg);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    fd_assistant_close(f->as);
    fd_kb_close(f->kb);
    fd_test_rmrf(f->dir);
    fd_free(f->dir);
    fd_free(f);
    return 0;
}

typedef struct convo {
    const char *name;
    const char *turns[10];
    /* the placed order; lines as "CODE:qty" sorted by code, comma-joined;
     * outlet as the reply's "C1001/Pasir Ris"; NULL lines: no order */
    const char *lines, *outlet, *date, *window;
    int handoff; /* a person was handed the conversation */
} convo;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "CODE:qty,..." of an order's JSON, sorted. */
static void lines_of(json_t *o, char *out, size_t cap)
{
    char *v[16];
    size_t n = 0, i;
    json_t *l;
    json_array_foreach(json_object_get(o, "lines"), i, l)
    {
        if (n == 16)
            break;
        char buf[96];
        snprintf(buf, sizeof buf, "%s:%lld", json_string_value(json_object_get(l, "code")),
                 (long long)json_integer_value(json_object_get(l, "qty")));
        v[n++] = strdup(buf);
    }
    qsort(v, n, sizeof *v, cmp_str);
    out[0] = '\0';
    for (i = 0; i < n; i++) {
        snprintf(out + strlen(out), cap - strlen(out), "%s%s", i ? "," : "", v[i]);
        free(v[i]);
    }
}

static int run(fixture *f, const convo *c, int idx)
{
    char sid[64], log[8192] = "";
    snprintf(sid, sizeof sid, "order-%d", idx);
    json_t *placed = NULL;
    int handoff = 0;
    for (int k = 0; k < 10 && c->turns[k]; k++) {
        fd_arena *a = fd_arena_new(0);
        fd_turn_in in = {.message = c->turns[k], .len = strlen(c->turns[k]), .session_id = sid};
        fd_reply r;
        fd_err err = {0};
        if (fd_assistant_turn(f->as, f->kb, &in, NULL, a, &r, &err))
            fail_msg("%s: turn %d: %s", c->name, k, err.msg);
        snprintf(log + strlen(log), sizeof log - strlen(log), "\n  > %s\n    %s", c->turns[k],
                 r.answer ? r.answer : "(none)");
        handoff |= r.escalation_tier != NULL;
        json_t *o = r.order_json ? json_loads(r.order_json, 0, NULL) : NULL;
        if (o && json_is_string(json_object_get(o, "id"))) {
            json_decref(placed);
            placed = o;
        } else {
            json_decref(o);
        }
        fd_arena_free(a);
    }
    int ok = 1;
    char why[1024] = "";
    if (!c->lines) {
        ok = !placed;
        if (!ok)
            snprintf(why, sizeof why, "an order was placed");
    } else if (!placed) {
        ok = 0;
        snprintf(why, sizeof why, "no order placed");
    } else {
        char got[512];
        lines_of(placed, got, sizeof got);
        const char *outlet = json_string_value(json_object_get(placed, "outlet"));
        const char *date = json_string_value(json_object_get(placed, "delivery_date"));
        const char *win = json_string_value(json_object_get(placed, "delivery_window"));
        ok = strcmp(got, c->lines) == 0 && outlet && strcmp(outlet, c->outlet) == 0 && date &&
             strcmp(date, c->date) == 0 && win && strcmp(win, c->window ? c->window : "") == 0;
        if (!ok)
            snprintf(why, sizeof why, "placed %s for %s on %s %s", got, outlet ? outlet : "?",
                     date ? date : "?", win ? win : "?");
    }
    if (ok && c->handoff != handoff) {
        ok = 0;
        snprintf(why, sizeof why, c->handoff ? "no hand-over" : "an unexpected hand-over");
    }
    json_decref(placed);
    if (!ok)
        print_error("%s: %s%s\n", c->name, why, log);
    return ok;
}

static const convo basics[] = {
    {"the seed conversation",
     {"I want to order 100 12-inch pizza boxes", "the kraft ones",
      "My outlet is Canadian Pizza Pasir Ris", "Deliver on Tuesday morning", "yes"},
     "PB-1201:100",
     "C1001/Pasir Ris",
     "2026-12-15",
     "morning",
     0},
    {"packs of a code, one customer site",
     {"I need 2 packs of PB-1202", "kopi corner", "friday", "yes"},
     "PB-1202:100",
     "C1002",
     "2026-12-11",
     "",
     0},
    {"a change of quantity at the summary",
     {"3 packs of PB-1201 please", "Canadian Pizza Tampines", "thursday afternoon",
      "make it 200 instead", "yes"},
     "PB-1201:200",
     "C1001/Tampines",
     "2026-12-10",
     "afternoon",
     0},
    {"cancelled before confirming", {"kopi corner, 4 packs LID-H90B", "monday", "cancel"}, NULL},
    {"an unknown outlet goes to a person",
     {"I want to order 200 PB-1201", "Burger Palace Orchard"},
     NULL,
     NULL,
     NULL,
     NULL,
     1},
};

/* The guard reads a message alone: "confirm" may look like a forced
 * promise to it, but as the reply to our summary it is the confirmation. */
static const convo confirmations[] = {
    {"'ok can' (Singapore chat for yes) to the summary",
     {"kopi corner, 20 packs of CUP-P12", "thursday morning", "ok can"},
     "CUP-P12:1000",
     "C1002",
     "2026-12-10",
     "morning",
     0},
    {"a bare 'confirm' to the summary",
     {"kopi corner, 2 packs of CUP-P12", "thursday morning", "confirm"},
     "CUP-P12:100",
     "C1002",
     "2026-12-10",
     "morning",
     0},
    {"'correct, confirm' to the summary",
     {"kopi corner, 2 packs of CUP-P12", "thursday morning", "correct, confirm"},
     "CUP-P12:100",
     "C1002",
     "2026-12-10",
     "morning",
     0},
    {"'yes confirmed' to the summary",
     {"kopi corner, 2 packs of CUP-P12", "thursday morning", "yes confirmed"},
     "CUP-P12:100",
     "C1002",
     "2026-12-10",
     "morning",
     0},
    {"'oui, je confirme' to the summary",
     {"Kopi Corner, 2 paquets de CUP-P12", "jeudi matin", "oui, je confirme"},
     "CUP-P12:100",
     "C1002",
     "2026-12-10",
     "morning",
     0},
    {"'confirm' with no summary shown places nothing", {"confirm"}, NULL},
    {"a confirmation, then a clause that says what the order is for: placed (dev5)",
     {"green bowl salads: 6 pkt CON-K750, 6 pkt LID-K500, monday morning",
      "ok all good, its for our bazaar. thank you"},
     "CON-K750:300,LID-K500:300",
     "C1004",
     "2026-12-14",
     "morning",
     0},
    {"'ok, but ...' to the summary is a change, not a yes: nothing placed",
     {"kopi corner: 8 pkt CUP-P12, 4 pkt LID-H90W, friday", "ok, but the lids in black"},
     NULL},
    {"a chat particle closing the yes ('ok confirm leh', which the guard took for code) "
     "places the order (dev7)",
     {"kopi corner, 3 pkt CUP-P12", "monday afternoon", "ok confirm leh"},
     "CUP-P12:150",
     "C1002",
     "2026-12-14",
     "afternoon",
     0},
    {"'nvm' dropping a question asked, beside a strong yes, places the order (dev7)",
     {"kopi corner, 3 pkt CUP-P12, monday afternoon", "what are your payment terms?",
      "nvm that, just send it, confirmed"},
     "CUP-P12:150",
     "C1002",
     "2026-12-14",
     "afternoon",
     0},
    {"'ok nvm' alone to the summary places nothing (dev7)",
     {"kopi corner, 3 pkt CUP-P12, monday afternoon", "ok nvm"},
     NULL},
};

/* commerce.toml: Saturday delivers (mornings only) but is no working day. */
static const convo days[] = {
    {"a time with no end ('after 3pm') is the window it falls in (dev7)",
     {"kopi corner, 3 pkt CUP-P12", "tuesday after 3pm", "yes"},
     "CUP-P12:150",
     "C1002",
     "2026-12-15",
     "afternoon",
     0},
    {"a span of hours in the morning window is the morning",
     {"kopi corner, 20 packs of CUP-P12", "friday from 10am to 12", "yes"},
     "CUP-P12:1000",
     "C1002",
     "2026-12-11",
     "morning",
     0},
    {"a span of hours without am or pm: '2-5' is in the afternoon",
     {"kopi corner, 20 packs of CUP-P12", "monday 2-5 slot", "yes"},
     "CUP-P12:1000",
     "C1002",
     "2026-12-14",
     "afternoon",
     0},
    {"a span of sizes is no window: '12-16 oz' sleeves",
     {"kopi corner, 20 packs of CUP-S01 for 12-16 oz cups", "monday", "yes"},
     "CUP-S01:2000",
     "C1002",
     "2026-12-14",
     "",
     0},
    {"a public holiday ([delivery] holidays) is no delivery day; the next date said is taken",
     {"kopi corner, 20 packs of CUP-P12", "25 dec morning", "ah christmas. then 24 dec morning",
      "yes"},
     "CUP-P12:1000",
     "C1002",
     "2026-12-24",
     "morning",
     0},
    {"Christmas Eve is a working day like any other, afternoon included (not configured as a "
     "holiday)",
     {"kopi corner, 20 packs of CUP-P12", "24 dec afternoon", "yes"},
     "CUP-P12:1000",
     "C1002",
     "2026-12-24",
     "afternoon",
     0},
    {"a public holiday cannot be confirmed",
     {"kopi corner, 20 packs of CUP-P12", "25 dec morning", "yes"},
     NULL,
     NULL,
     NULL,
     NULL,
     0},
    {"of two days said, the one we deliver on: 'no sunday ah. then monday'",
     {"kopi corner, 20 packs of CUP-P12", "sunday", "oh no sunday ah. then monday", "yes"},
     "CUP-P12:1000",
     "C1002",
     "2026-12-14",
     "",
     0},
    {"a Saturday morning",
     {"kopi corner, 2 packs of CUP-P12", "sat morning", "yes"},
     "CUP-P12:100",
     "C1002",
     "2026-12-12",
     "morning",
     0},
    {"Saturday afternoon is not offered: the window is asked again",
     {"kopi corner, 2 packs of CUP-P12", "saturday afternoon", "morning then", "yes"},
     "CUP-P12:100",
     "C1002",
     "2026-12-12",
     "morning",
     0},
    {"a Saturday chosen after an afternoon keeps no afternoon",
     {"kopi corner, 2 packs of CUP-P12", "friday afternoon", "actually saturday", "yes"},
     "CUP-P12:100",
     "C1002",
     "2026-12-12",
     "",
     0},
    {"a question about Saturdays chooses no date; 'ok friday then' changes, not confirms",
     {"kopi corner, 2 packs of CUP-P12", "do you deliver on saturday?", "saturday",
      "ok friday morning then", "yes"},
     "CUP-P12:100",
     "C1002",
     "2026-12-11",
     "morning",
     0},
    {"'any time is fine' at the summary: no window",
     {"kopi corner, 2 packs of CUP-P12", "monday morning", "actually any time is fine", "yes"},
     "CUP-P12:100",
     "C1002",
     "2026-12-14",
     "",
     0},
    {"no Sunday; then a weekday",
     {"kopi corner, 2 packs of CUP-P12", "sunday morning?", "ok monday then", "yes"},
     "CUP-P12:100",
     "C1002",
     "2026-12-14",
     "morning",
     0},
};

/* How customers write quantities. */
static const convo quantities[] = {
    {"a bare number before a count of packs is the product's size, not its count (dev7)",
     {"kopi corner: PLA flat lid 95 6pkt, tuesday", "yes"},
     "LID-L95:600",
     "C1002",
     "2026-12-15",
     "",
     0},
    {"a number of days in a question mid-order is no new count (dev7)",
     {"kopi corner: 4 pkt CUP-P12, monday morning", "is your lead time 2 days?", "yes"},
     "CUP-P12:200",
     "C1002",
     "2026-12-14",
     "morning",
     0},
    {"'&' joins two counted lines",
     {"kopi corner: 20 pkt CUP-P16 & 8 pkt LID-H90B, friday morning", "yes"},
     "CUP-P16:1000,LID-H90B:800",
     "C1002",
     "2026-12-11",
     "morning",
     0},
    {"' n ' after a count joins two lines though no digit follows it",
     {"kopi corner: PP fork 10 pkt n black PP knife 10 pkt, friday morning", "yes"},
     "CUT-PF:1000,CUT-PK:1000",
     "C1002",
     "2026-12-11",
     "morning",
     0},
    {"'hot & fresh' stays a print's name",
     {"kopi corner: 3 pkt 14 inch printed hot & fresh box, friday morning", "yes"},
     "PB-1403:150",
     "C1002",
     "2026-12-11",
     "morning",
     0},
    {"a count glued to its noun: 1000pcs",
     {"pls send 1000pcs 12oz single wall paper cups", "kopi corner", "2moro morning", "yes"},
     "CUP-P12:1000",
     "C1002",
     "2026-12-10",
     "morning",
     0},
    {"thousands with a comma, in a sentence of an email",
     {"Good morning. For Kopi Corner we need 2,000 pieces of the PP rectangular container 650ml "
      "with lid. Delivery on Friday please.",
      "yes"},
     "CON-PP650:2000",
     "C1002",
     "2026-12-11",
     "",
     0},
    {"a numbered list: the item numbers are no quantities",
     {"Kopi Corner order:\n1) PB-1201 - 2 packs\n2) LID-H90B - 300 pcs\n3) CUP-P16 x4\n4) PP "
      "rectangular container 500ml - 3 packs",
      "monday afternoon", "yes"},
     "CON-PP500:150,CUP-P16:200,LID-H90B:300,PB-1201:100",
     "C1002",
     "2026-12-14",
     "afternoon",
     0},
    {"'x1.' ends a sentence, it is no decimal",
     {"pb-1201 x2, pizza saver x1. kopi corner, friday", "yes"},
     "PB-1201:100,PB-SAV01:1000",
     "C1002",
     "2026-12-11",
     "",
     0},
    {"20pk: packs",
     {"CUP-P12 20pk for kopi corner", "thursday", "yes"},
     "CUP-P12:1000",
     "C1002",
     "2026-12-10",
     "",
     0},
    /* dev3 (issue 15): a count of packs before a counted part */
    {"'3 pkt of the pp 2 compartment container' is 3 packs, not 2",
     {"kopi corner: 3 pkt of the pp 2 compartment container with lid", "thursday", "yes"},
     "CON-PP2C:150",
     "C1002",
     "2026-12-10",
     "",
     0},
    /* dev3 (issue 15): the line keeps the units delivered, whole packs */
    {"120 boxes in packs of 50 are 150 delivered",
     {"kopi corner, 120 pcs of PB-1201", "thursday", "yes"},
     "PB-1201:150",
     "C1002",
     "2026-12-10",
     "",
     0},
    {"pieces below a pack's size are pieces, not packs",
     {"kopi corner: 2 packs PB-1201 and 300 pcs pizza savers", "thursday", "yes"},
     "PB-1201:100,PB-SAV01:1000",
     "C1002",
     "2026-12-10",
     "",
     0},
    {"'make the boxes 300 pcs instead' changes the boxes, not the last line",
     {"kopi corner: 2 packs PB-1201 and 1 pack pizza savers", "make the boxes 300 pcs instead",
      "thursday", "yes"},
     "PB-1201:300,PB-SAV01:1000",
     "C1002",
     "2026-12-10",
     "",
     0},
    {"'the lids for them': the lid made for the cup in the order",
     {"kopi corner here. need 500pcs 12oz single wall cups + 500 of the white sip lids for them",
      "thursday afternoon", "yes"},
     "CUP-P12:500,LID-H90W:500",
     "C1002",
     "2026-12-10",
     "afternoon",
     0},
    {"'make it N packs X, and add M packs Y': X set to N, Y added",
     {"green bowl salads: 4 packs 500ml kraft bowls, tuesday morning",
      "make it 6 packs bowls and add 6 packs lids for them", "yes"},
     "CON-K500:300,LID-K500:300",
     "C1004",
     "2026-12-15",
     "morning",
     0},
    {"'make the straws 4 pkt only': the order's straw, not the one 'for cold drinks only'",
     {"kopi corner: 10 packs kraft paper straw 6mm unwrapped, 10 packs CUP-T16, friday",
      "make the straws 4 pkt only", "yes"},
     "CUP-T16:500,STR-P6K:1000",
     "C1002",
     "2026-12-11",
     "",
     0},
    {"a count and words of ordering only ('just give me 8 pkt') pass the guard: the new "
     "quantity (dev4, issue 15)",
     {"kopi corner: 4 packs PB-1202", "hmm just give me 8 pkt", "friday", "yes"},
     "PB-1202:400",
     "C1002",
     "2026-12-11",
     "",
     0},
    {"products, quantities and a delivery day asked as a question are an order (dev4)",
     {"canadian pizza tampines, 14 inch white box 3 pkt, thu morning ok?", "yes"},
     "PB-1402:150",
     "C1001/Tampines",
     "2026-12-10",
     "morning",
     0},
    {"'the cups' of an order of cups, cup lids and cup sleeves are the cups, the head of "
     "their name (dev5)",
     {"kopi corner: 6 pkt CUP-P12, 3 pkt LID-H90W, 2 pkt CUP-S01, friday",
      "cups 8 pkt pls, sleeves 3 pkt", "yes"},
     "CUP-P12:400,CUP-S01:300,LID-H90W:300",
     "C1002",
     "2026-12-11",
     "",
     0},
    {"'same amount' repeats the line before's count in pieces: a lid for each cup (dev5)",
     {"kopi corner: 6 pkt CUP-P16 + the white lids for them, same amount, friday", "yes"},
     "CUP-P16:300,LID-H90W:300",
     "C1002",
     "2026-12-11",
     "",
     0},
    {"words between commas that narrow the product, then its count alone (dev5)",
     {"green bowl salads. kraft bag with flat handle, large, 3 pkt, monday", "yes"},
     "BAG-FL:150",
     "C1004",
     "2026-12-14",
     "",
     0},
    {"'which one?' answered with a count in pieces and a line removed in the same message "
     "(dev5)",
     {"kopi corner: 6 pkt 8oz paper hot cup + sleeves small 2 pkt, friday morning",
      "the double wall ones, 150pcs. and pls drop the sleeves", "yes"},
     "CUP-D08:150",
     "C1002",
     "2026-12-11",
     "morning",
     0},
    {"two lines removed in one clause, 'and' between them (dev5)",
     {"kopi corner: 4 pkt CUP-P12, 2 pkt LID-H90W, 2 pkt CUP-S01, 1 pkt CUT-STR, friday",
      "pls take out the sleeves and stirrers, thanks", "yes"},
     "CUP-P12:200,LID-H90W:200",
     "C1002",
     "2026-12-11",
     "",
     0},
    {"' n ' for 'and' between two lines (dev5)",
     {"green bowl salads: 4 packs of CON-K750 n 3 packs of LID-K500, friday", "yes"},
     "CON-K750:200,LID-K500:150",
     "C1004",
     "2026-12-11",
     "",
     0},
    {"' n ' inside a print's name ('hot n fresh') is no join; before a count it is",
     {"canadian pizza tampines: 14 inch hot n fresh box x4 n 2 pkt 14in liner, thursday", "yes"},
     "PB-1403:200,PB-LIN14:1000",
     "C1001/Tampines",
     "2026-12-10",
     "",
     0},
};

/* Who the order is for. */
static const convo customers[] = {
    {"a company not on file, introduced in a message before the order, goes to a person",
     {"good morning, this is Sunrise Bakehouse in Bishan", "we need 6 pkt CON-CK01 for friday"},
     NULL,
     NULL,
     NULL,
     NULL,
     1},
    {"a site not on file, given as who the customer is before the order, goes to a person",
     {"canadian pizza, yishun outlet", "8 pkt PB-1001, monday morning"},
     NULL,
     NULL,
     NULL,
     NULL,
     1},
    {"a known customer introduced before the order is no stranger",
     {"hello, this is Green Bowl Salads", "12 pkt CON-K750 for friday morning", "yes"},
     "CON-K750:600",
     "C1004",
     "2026-12-11",
     "morning",
     0},
    {"an unknown shop at a site we serve is no outlet of ours: a person takes it (issue 15)",
     {"10 pkt 16oz double wall cups pls", "kopi kaki tampines", "fri morning", "yes"},
     NULL,
     NULL,
     NULL,
     NULL,
     1},
    {"the outlet asked for, answered with a word the intent model takes for a request for a "
     "person ('new staff here'): the answer, not a hand-over (dev3, issue 15)",
     {"canadian pizza, 6 pkt 18 inch kraft box", "sorry i mean pasir ris, new staff here",
      "fri aft", "yes"},
     "PB-1801:300",
     "C1001/Pasir Ris",
     "2026-12-11",
     "afternoon",
     0},
    {"a known customer's distinctive word and a site, with a typo",
     {"10 pkt 16oz double wall cups for canadain tampines", "fri morning", "yes"},
     "CUP-D16:250",
     "C1001/Tampines",
     "2026-12-11",
     "morning",
     0},
    {"a name shortened from its end",
     {"Hi, Green Bowl here - 3 packs of CUP-P12 please", "friday", "yes"},
     "CUP-P12:150",
     "C1004",
     "2026-12-11",
     "",
     0},
    {"the account id",
     {"acct c1002: 2 packs PB-1201", "friday", "yes"},
     "PB-1201:100",
     "C1002",
     "2026-12-11",
     "",
     0},
    {"the company named in a greeting before the order",
     {"hi kopi corner here", "need 4 packs of LID-H90W", "thursday afternoon", "yes"},
     "LID-H90W:400",
     "C1002",
     "2026-12-10",
     "afternoon",
     0},
    {"the company named with a question before the order",
     {"hi, green bowl salads. what is your minimum order?", "ok then 10 packs of CON-K500",
      "monday", "yes"},
     "CON-K500:500",
     "C1004",
     "2026-12-14",
     "",
     0},
    {"the outlet changed at the summary: 'tampines, not pasir ris'",
     {"canadian pizza pasir ris, 6 packs PB-1403", "thurs morning",
      "sorry this is for our tampines outlet not pasir ris", "yes"},
     "PB-1403:300",
     "C1001/Tampines",
     "2026-12-10",
     "morning",
     0},
    {"a 'yes' is no outlet's name",
     {"2 packs of PB-1201", "yes", "kopi corner", "friday", "yes"},
     "PB-1201:100",
     "C1002",
     "2026-12-11",
     "",
     0},
    {"'this is urgent' introduces nobody",
     {"hi this is urgent, need 2 packs of PB-1201", "kopi corner", "friday", "yes"},
     "PB-1201:100",
     "C1002",
     "2026-12-11",
     "",
     0},
    {"a company we do not know, introduced with the order, goes to a person",
     {"hi this is Wong's Dim Sum at Bugis, new customer. need 10 packs of CUP-P12",
      "thursday morning", "yes confirm"},
     NULL,
     NULL,
     NULL,
     NULL,
     1},
    {"a company we do not know, in an email, goes to a person",
     {"Hello, we're Sunrise Bakery in Katong. Please send 2 packs of CON-CK02 on Friday "
      "morning.",
      "yes"},
     NULL,
     NULL,
     NULL,
     NULL,
     1},
    {"'new customer here', no name: a person, and the order is no longer asked about",
     {"hello, new customer here - we are a small bakery. need 3 packs 6 inch cake boxes", "friday",
      "yes"},
     NULL,
     NULL,
     NULL,
     NULL,
     1},
    {"'my name is X from Y': Y, unknown, goes to a person",
     {"Good morning, my name is Ana from Casa Tapas. We would like 4 packs of PB-1202 for "
      "next Monday."},
     NULL,
     NULL,
     NULL,
     NULL,
     1},
    {"a name like a customer's ('kopi kaki' is not Kopi Corner) introduced with 'here'",
     {"kopi kaki bishan here. 6 pkt 12oz single wall cups pls", "friday morning", "yes"},
     NULL,
     NULL,
     NULL,
     NULL,
     1},
    {"custom printing ('with our logo') is the design desk's: a person, no order",
     {"kopi corner: 3000 12oz double wall cups with our logo on them", "thursday", "yes"},
     NULL,
     NULL,
     NULL,
     NULL,
     1},
    {"'i'm from X', X unknown: a person takes the order (dev4, issue 15)",
     {"hello, i'm from Mei Ling Dumplings. 4 packs PB-1202 please", "friday", "yes"},
     NULL,
     NULL,
     NULL,
     NULL,
     1},
    {"a site the customer does not have ('our ang mo kio outlet'), then no outlet of its "
     "own when asked: a person (dev4, issue 15)",
     {"lotus noodle house, our ang mo kio outlet: 5 packs PB-1201", "thursday morning", "yes"},
     NULL,
     NULL,
     NULL,
     NULL,
     1},
    {"'outlet at X', X not the customer's: asked which, then a person",
     {"canadian pizza, outlet at jurong west. 2 packs PB-1001", "monday", "yes"},
     NULL,
     NULL,
     NULL,
     NULL,
     1},
    {"a site not on file, corrected to one of the customer's when asked: the order goes on",
     {"canadian pizza bishan branch, 3 packs PB-1401", "oh sorry, pasir ris", "friday", "yes"},
     "PB-1401:150",
     "C1001/Pasir Ris",
     "2026-12-11",
     "",
     0},
};

/* Which products: paraphrases, materials, colours, lines, changes. */
static const convo products[] = {
    {"a size and a count with 'x' between them after a line: that line's product (dev7)",
     {"green bowl salads: kraft bowl 500ml x 4 pkt, 750ml x 2 pkt, monday morning", "yes"},
     "CON-K500:200,CON-K750:100",
     "C1004",
     "2026-12-14",
     "morning",
     0},
    {"a code written with a space for its dash (dev7)",
     {"kopi corner: 5 pkt cup P12, monday morning", "yes"},
     "CUP-P12:250",
     "C1002",
     "2026-12-14",
     "morning",
     0},
    {"a word of the catalog is no typo of another: 'the liner' of an order is the liner, not "
     "the foil-lined bag (dev7)",
     {"canadian pizza tampines: 10 pkt PB-1401, 1 pkt 14in liner, monday morning",
      "make it 3 pkt liner", "yes"},
     "PB-1401:500,PB-LIN14:1500",
     "C1001/Tampines",
     "2026-12-14",
     "morning",
     0},
    {"a number besides the count narrows tied products: 'white lid 80' is the 80 mm one (dev7)",
     {"kopi corner: 2 pkt white lid 80, monday morning", "yes"},
     "LID-H80W:200",
     "C1002",
     "2026-12-14",
     "morning",
     0},
    {"people served, as numbers the description holds: the box for 3-4 pax (dev7)",
     {"canadian pizza tampines: kraft pizza box for 3-4 pax, 5 pkt, monday morning", "yes"},
     "PB-1401:250",
     "C1001/Tampines",
     "2026-12-14",
     "morning",
     0},
    {"a superlative about something else picks no size: 'for our largest event' (review of dev7's "
     "rule)",
     {"kopi corner: 10 pkt paper hot cup single wall for our largest event, monday morning", "yes"},
     NULL,
     NULL,
     NULL,
     NULL,
     0}, /* it asks which cup; a bare "yes" answers nothing */
    {"'the smallest' of products tied but for their size (dev7)",
     {"kopi corner: 2 pkt of the smallest ripple cup, monday morning", "yes"},
     "CUP-R08:50",
     "C1002",
     "2026-12-14",
     "morning",
     0},
    {"a size and a count alone after a line: the same product in that size",
     {"kopi corner: paper hot cup single wall 8oz 10 pkt, 16 oz 6 pkt, friday morning", "yes"},
     "CUP-P08:500,CUP-P16:300",
     "C1002",
     "2026-12-11",
     "morning",
     0},
    {"a size swapped on 'the container' with a container and its lid: the container",
     {"kopi corner: PP round container 12oz 10 pkt + LID-R115 10 pkt, friday morning",
      "pls change the container to 16oz", "yes"},
     "CON-R16:500,LID-R115:500",
     "C1002",
     "2026-12-11",
     "morning",
     0},
    {"a quantity alone after a question about one product: that product (dev4, issue 15)",
     {"kopi corner here. 12oz black ripple cups, how many in a pack?", "ok we take 6 pkt", "friday",
      "yes"},
     "CUP-R12:150",
     "C1002",
     "2026-12-11",
     "",
     0},
    {"'the white one' after the kraft box: the white box of its size, not the printed one "
     "(dev4, issue 15)",
     {"kopi corner, 5 packs PB-1201", "the white one", "friday", "yes"},
     "PB-1202:250",
     "C1002",
     "2026-12-11",
     "",
     0},
    {"'the compostable ones' after the PET cup: the PLA cup of its size",
     {"green bowl: 6 pkt PET clear cold cup 12oz", "the compostable ones", "friday morning", "yes"},
     "CUP-L12:300",
     "C1004",
     "2026-12-11",
     "morning",
     0},
    {"a product asked about, then ordered by fewer words: the size of the question decides "
     "(dev3, issue 15)",
     {"how much for the 8oz single wall cups?", "ok we take single wall, 20 pkt", "kopi corner",
      "friday morning", "yes"},
     "CUP-P08:1000",
     "C1002",
     "2026-12-11",
     "morning",
     0},
    {"a new line while 'which one?' waits is a line, not the answer; the question stays",
     {"kopi corner, 20 pkt single wall cups", "also 10 pkt of the small sleeves for them", "12oz",
      "friday morning", "yes"},
     "CUP-P12:1000,CUP-S02:1000",
     "C1002",
     "2026-12-11",
     "morning",
     0},
    {"an earlier line's size does not decide the next product: asked",
     {"kopi corner, 20 pkt 8oz double wall cups", "also 10 pkt single wall cups", "12oz",
      "friday morning", "yes"},
     "CUP-D08:500,CUP-P12:500",
     "C1002",
     "2026-12-11",
     "morning",
     0},
    {"the white box, not the printed one that is white only in its material",
     {"kopi corner: 5 packs 10 inch white pizza box", "friday", "yes"},
     "PB-1002:250",
     "C1002",
     "2026-12-11",
     "",
     0},
    {"'cpla forks' are the forks, not the kit that holds one",
     {"kopi corner, 5 packs cpla forks", "friday", "yes"},
     "CUT-CF:500",
     "C1002",
     "2026-12-11",
     "",
     0},
    {"French: '1 pli', plural adjectives",
     {"Bonjour, ici Kopi Corner. 4 paquets de serviettes blanches 1 pli", "vendredi", "oui"},
     "NAP-1P:2000",
     "C1002",
     "2026-12-11",
     "",
     0},
    {"'container with lid - 10 packs': what follows 'with' describes it",
     {"Kopi Corner:\n1) PP 2-compartment container with lid - 10 packs\n2) bamboo chopsticks "
      "individually wrapped - 1000 pairs",
      "thursday", "yes"},
     "CON-PP2C:500,CUT-CH:1000",
     "C1002",
     "2026-12-10",
     "",
     0},
    {"'with' between two quantities: two lines",
     {"kopi corner: 10 packs CUP-P12 with 5 packs LID-H90W", "thursday", "yes"},
     "CUP-P12:500,LID-H90W:500",
     "C1002",
     "2026-12-10",
     "",
     0},
    {"a line's quantity changed by a word that fits it as well as anything",
     {"Green Bowl Salads. 10 paquets de bols kraft 500 ml et 10 paquets de couvercles PP 150 mm "
      "pour bols kraft",
      "mardi matin", "en fait, mettez 15 paquets de bols et 15 paquets de couvercles",
      "oui, je confirme"},
     "CON-K500:750,LID-K500:750",
     "C1004",
     "2026-12-15",
     "morning",
     0},
    {"'12 inch liners' added to an order of 12 inch boxes is a new line",
     {"kopi corner: 6 packs 12 inch kraft pizza box", "friday", "add 2 packs of the 12 inch liners",
      "yes"},
     "PB-1201:300,PB-LIN12:1000",
     "C1002",
     "2026-12-11",
     "",
     0},
    {"a colour swapped at the summary: the same lid in black",
     {"kopi corner: 10 packs CUP-P16 + 5 packs white 90mm lids", "tuesday afternoon",
      "change the lids to black pls", "ok"},
     "CUP-P16:500,LID-H90B:500",
     "C1002",
     "2026-12-15",
     "afternoon",
     0},
    {"'wooden spoons' is the plain wooden spoon, not the tasting spoon; a line removed",
     {"green bowl salads: 1000 wooden forks, 1000 wooden spoons", "tuesday am", "remove the spoons",
      "yes"},
     "CUT-WF:1000",
     "C1004",
     "2026-12-15",
     "morning",
     0},
    {"'cartons' counts packs of cups, it names no box",
     {"kopi corner: 2 cartons of the black ripple cups 12oz", "thursday afternoon",
      "make it 4 cartons", "yes"},
     "CUP-R12:100",
     "C1002",
     "2026-12-10",
     "afternoon",
     0},
    /* 200 units, one pack of 1000 delivered (not 200 packs) */
    {"a bare count before the product's own word counts units: 200 pizza savers",
     {"kopi corner need 200 pizza savers", "friday", "yes"},
     "PB-SAV01:1000",
     "C1002",
     "2026-12-11",
     "",
     0},
    {"'4 cup' carriers: the count said apart from its noun",
     {"kopi corner: 5 packs cup carriers 4 cup", "thursday", "yes"},
     "TRY-CC4:500",
     "C1002",
     "2026-12-10",
     "",
     0},
    {"'instead' with a window changes the window, not a product",
     {"green bowl here. 6 packs kraft lunch box large", "mon",
      "can deliver in the morning instead?", "yes"},
     "CON-KL02:300",
     "C1004",
     "2026-12-14",
     "morning",
     0},
    {"'make it 10 packs and deliver friday instead': the line's quantity and the date",
     {"lotus noodle jurong east. 8 packs kraft noodle box 26oz", "thursday morning",
      "sorry, make it 10 packs and deliver friday instead", "yes"},
     "CON-KB02:500",
     "C1003/Jurong East",
     "2026-12-11",
     "morning",
     0},
    {"a correction at the summary: 'no wait, 16oz'",
     {"kopi corner. 10 packs 12oz single wall cups", "thursday morning", "no wait, 16oz", "yes"},
     "CUP-P16:500",
     "C1002",
     "2026-12-10",
     "morning",
     0},
    {"French: 'gobelets simple paroi', 'couvercles blancs'",
     {"Bonjour, c'est Kopi Corner. Nous voudrions 500 gobelets carton 8oz simple paroi et 500 "
      "couvercles blancs 80mm, livraison lundi matin.",
      "oui, c'est correct"},
     "CUP-P08:500,LID-H80W:500",
     "C1002",
     "2026-12-14",
     "morning",
     0},
    {"'lids for them': the lid whose size range (500-1000 ml) holds the order's bowl",
     {"green bowl salads: 8 packs 1000ml kraft bowls + 8 packs lids for them", "friday", "yes"},
     "CON-K1000:400,LID-K500:400",
     "C1004",
     "2026-12-11",
     "",
     0},
    {"'sleeves for 12oz cups' are the sleeve that fits 12-16 oz, not a 12oz cup",
     {"kopi corner: 500 kraft sleeves for 12oz cups", "friday", "yes"},
     "CUP-S01:500",
     "C1002",
     "2026-12-11",
     "",
     0},
    {"a question about cancelling keeps the order",
     {"kopi corner. 10 packs CUP-P12", "if i need to cancel later, until when can i cancel free?",
      "monday morning pls", "yes"},
     "CUP-P12:500",
     "C1002",
     "2026-12-14",
     "morning",
     0},
};

/* dev8's rules (eval/README.md, "Tuned on dev8"), in other words than its
 * conversations: the facts of an order before its products, a line
 * replaced by another product, a removal and an addition in one message,
 * another outlet of the customer, and a few words. */
static const convo told_first[] = {
    {"the delivery day and window before the company and the products",
     {"hello", "we'd need a delivery next tuesday, afternoon", "this is green bowl salads",
      "8 packs CON-K500", "yes"},
     "CON-K500:400",
     "C1004",
     "2026-12-15",
     "afternoon",
     0},
    {"a day asked about with 'can you send', then the company, then the products",
     {"could you send on friday morning?", "kopi corner", "6 packs CUP-P12", "confirm"},
     "CUP-P12:300",
     "C1002",
     "2026-12-11",
     "morning",
     0},
    {"a window the day lacks asked first, then the one it has",
     {"lotus noodle house bedok", "deliver saturday afternoon can?", "then saturday morning",
      "4 packs CON-KB02", "yes"},
     "CON-KB02:200",
     "C1003/Bedok",
     "2026-12-12",
     "morning",
     0},
    {"the customer of several outlets kept until its outlet comes, turns later",
     {"hi, canadian pizza here", "12 packs PB-1001", "can deliver on sunday?",
      "ok monday afternoon then", "tampines", "yes"},
     "PB-1001:600",
     "C1001/Tampines",
     "2026-12-14",
     "afternoon",
     0},
    {"a weekday with the day of the month: the date, not the next weekday",
     {"kopi corner: 10 packs CUP-P12", "tues 22nd morning", "yes"},
     "CUP-P12:500",
     "C1002",
     "2026-12-22",
     "morning",
     0},
    {"'replace A with B': the line swapped for another product, its pieces kept",
     {"green bowl: 5 packs CUT-CS, 10 packs CON-K500, friday morning",
      "please replace the CPLA spoons with wooden spoons", "yes"},
     "CON-K500:500,CUT-WS:500",
     "C1004",
     "2026-12-11",
     "morning",
     0},
    {"'replace A with B, N packs': the new line takes the count said with it",
     {"kopi corner: 10 packs CUP-T16, 10 packs LID-F95, friday morning",
      "replace the flat lids with dome lids, 6 packs", "yes"},
     "CUP-T16:500,LID-D95:600",
     "C1002",
     "2026-12-11",
     "morning",
     0},
    {"'A should be B': the line swapped for the product named by its code",
     {"kopi corner: 20 packs CUP-P12, 5 packs LID-H90W, thursday afternoon",
      "sorry the cups should be CUP-D12 not those", "yes"},
     "CUP-D12:1000,LID-H90W:500",
     "C1002",
     "2026-12-10",
     "afternoon",
     0},
    {"'switch A for B, same pcs': a swap, not a line added",
     {"kopi corner, 10 packs CUP-P12 + 5 packs LID-H90W, friday morning",
      "switch the single wall cups for the 12oz double wall, same 500 pcs", "yes"},
     "CUP-D12:500,LID-H90W:500",
     "C1002",
     "2026-12-11",
     "morning",
     0},
    {"a line removed and another added in one message",
     {"kopi corner: 10 packs CUP-T16, 10 packs LID-F95, friday afternoon",
      "drop the flat lids. add 10 packs dome lids", "yes"},
     "CUP-T16:500,LID-D95:1000",
     "C1002",
     "2026-12-11",
     "afternoon",
     0},
    {"another outlet of the customer at the summary: the outlet changed, no hand-over",
     {"lotus noodle house bedok: 8 packs CON-KB02, monday morning",
      "oh wait, can send to jurong east instead, not bedok", "yes"},
     "CON-KB02:400",
     "C1003/Jurong East",
     "2026-12-14",
     "morning",
     0},
    {"'afternoon!' opening the message greets; the window is the one asked for",
     {"afternoon! green bowl here, 4 packs CON-K500 for tmr morning", "yes"},
     "CON-K500:200",
     "C1004",
     "2026-12-10",
     "morning",
     0},
    {"a code of letters only, in capitals without its dash",
     {"kopi corner: 3 packs CUTCF, friday", "yes"},
     "CUT-CF:300",
     "C1002",
     "2026-12-11",
     "",
     0},
    {"a word cut short by its last letter",
     {"kopi corner: 5 packs whit hot cup lids 90mm, friday", "yes"},
     "LID-H90W:500",
     "C1002",
     "2026-12-11",
     "",
     0},
};

static void run_table(void **state, const convo *v, size_t n, int base)
{
    int bad = 0;
    for (size_t i = 0; i < n; i++)
        bad += !run(*state, &v[i], base + (int)i);
    if (bad)
        fail_msg("%d of %zu conversations went wrong", bad, n);
}

static void test_basics(void **state)
{
    run_table(state, basics, sizeof basics / sizeof *basics, 0);
}

static void test_confirmations(void **state)
{
    run_table(state, confirmations, sizeof confirmations / sizeof *confirmations, 100);
}

static void test_days(void **state)
{
    run_table(state, days, sizeof days / sizeof *days, 200);
}

static void test_quantities(void **state)
{
    run_table(state, quantities, sizeof quantities / sizeof *quantities, 300);
}

static void test_customers(void **state)
{
    run_table(state, customers, sizeof customers / sizeof *customers, 400);
}

static void test_products(void **state)
{
    run_table(state, products, sizeof products / sizeof *products, 500);
}

static void test_told_first(void **state)
{
    run_table(state, told_first, sizeof told_first / sizeof *told_first, 600);
}

/* dev3 (issue 15): "mon morning" (Monday, to a bot asking for the
 * outlet) was read as French ("mon" is "my") and answered in French; a
 * message this short keeps the conversation's language. */
/* An order under the KB's min_order (S$80 before GST) is said to be, with
 * what to do, at the summary; once it is reached, the note goes. */
static void test_minimum_order(void **state)
{
    fixture *f = *state;
    static const struct {
        const char *say;
        int under;
    } turns[] = {{"green bowl salads: 2 packs 1000ml kraft bowls, friday morning", 1},
                 {"make it 8 packs", 0}};
    for (size_t k = 0; k < sizeof turns / sizeof *turns; k++) {
        fd_arena *a = fd_arena_new(0);
        fd_turn_in in = {
            .message = turns[k].say, .len = strlen(turns[k].say), .session_id = "minimum"};
        fd_reply r;
        fd_err err = {0};
        assert_int_equal(fd_assistant_turn(f->as, f->kb, &in, NULL, a, &r, &err), FD_OK);
        const char *ans = r.answer ? r.answer : "";
        int said = strstr(ans, "under our minimum order value of S$80.00") != NULL &&
                   strstr(ans, "S$21.80 before GST") != NULL;
        if (turns[k].under ? !said : strstr(ans, "minimum") != NULL)
            fail_msg("turn %zu '%s': %s", k, turns[k].say, ans);
        fd_arena_free(a);
    }
}

/* A weekday alone asked about is a question for the policy pages; one day
 * in particular, or a day with its window, begins an order (dev8's "can
 * deliver this fri?" against the example KB's "can deliver on sunday?"). */
static void test_day_asked_or_told(void **state)
{
    fixture *f = *state;
    static const struct {
        const char *say;
        const char *route;
    } cases[] = {
        {"saturday delivery got or not", "knowledge"}, {"can u deliver on sundays?", "knowledge"},
        {"you deliver on saturday?", "knowledge"},     {"can deliver this thursday?", "order"},
        {"can deliver thu afternoon?", "order"},       {"delivery tmr possible?", "order"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        char sid[32];
        snprintf(sid, sizeof sid, "day%zu", k);
        fd_arena *a = fd_arena_new(0);
        fd_turn_in in = {.message = cases[k].say, .len = strlen(cases[k].say), .session_id = sid};
        fd_reply r;
        fd_err err = {0};
        assert_int_equal(fd_assistant_turn(f->as, f->kb, &in, NULL, a, &r, &err), FD_OK);
        if (!r.route || strcmp(r.route, cases[k].route) != 0)
            fail_msg("'%s': route %s, want %s: %s", cases[k].say, r.route ? r.route : "?",
                     cases[k].route, r.answer ? r.answer : "");
        fd_arena_free(a);
    }
}

/* The question after a bare count names the product the count went to:
 * the customer sees what was understood before the summary. */
static void test_count_named(void **state)
{
    fixture *f = *state;
    static const char *const turns[] = {"green bowl salads here, how much is the pp rectangular "
                                        "container 750ml?",
                                        "ok just give me 10 pkt lah"};
    const char *ans = "";
    fd_arena *a = NULL;
    for (size_t k = 0; k < sizeof turns / sizeof *turns; k++) {
        fd_arena_free(a);
        a = fd_arena_new(0);
        fd_turn_in in = {.message = turns[k], .len = strlen(turns[k]), .session_id = "count-named"};
        fd_reply r;
        fd_err err = {0};
        assert_int_equal(fd_assistant_turn(f->as, f->kb, &in, NULL, a, &r, &err), FD_OK);
        ans = r.answer ? r.answer : "";
    }
    if (!strstr(ans, "Noted: 500 × PP rectangular container 750ml") || !strstr(ans, "CON-PP750") ||
        !strstr(ans, "delivery date"))
        fail_msg("the date question does not name the line: %s", ans);
    fd_arena_free(a);
}

/* dev5 (issue 15): an order of codes whose only other words are "mon 14
 * dec afternoon" is English by its delivery words, from the first turn. */
static void test_language_kept(void **state)
{
    fixture *f = *state;
    static const struct {
        const char *sid, *say;
    } turns[] = {
        {"lang-kept", "Hi, this is Lotus noodle. We need 20 pkt 16oz noodle box please"},
        {"lang-kept", "mon morning"},
        {"lang-kept", "ok"},
        {"lang-first", "green bowl: CON-K750 300pcs, mon 14 dec afternoon"},
    };
    for (size_t k = 0; k < sizeof turns / sizeof *turns; k++) {
        fd_arena *a = fd_arena_new(0);
        fd_turn_in in = {
            .message = turns[k].say, .len = strlen(turns[k].say), .session_id = turns[k].sid};
        fd_reply r;
        fd_err err = {0};
        assert_int_equal(fd_assistant_turn(f->as, f->kb, &in, NULL, a, &r, &err), FD_OK);
        if (!r.language || strcmp(r.language, "en") != 0)
            fail_msg("turn %zu '%s' answered in %s: %s", k, turns[k].say,
                     r.language ? r.language : "?", r.answer ? r.answer : "");
        fd_arena_free(a);
    }
}

/* One message to an assistant whose clock says now; the reply's order id
 * into id (when it has one), whether a person took over into *handoff. */
static void say_at(fixture *f, const char *now, const char *sid, const char *msg, char *id,
                   size_t cap, int *handoff, char *answer, size_t acap)
{
    fd_config cfg = f->cfg;
    snprintf(cfg.dialog_now, sizeof cfg.dialog_now, "%s", now);
    fd_assistant *as;
    fd_err err = {0};
    if (fd_assistant_open(&cfg, NULL, f->kb, &as, &err))
        fail_msg("assistant: %s", err.msg);
    fd_arena *a = fd_arena_new(0);
    fd_turn_in in = {.message = msg, .len = strlen(msg), .session_id = sid};
    fd_reply r;
    if (fd_assistant_turn(as, f->kb, &in, NULL, a, &r, &err))
        fail_msg("'%s': %s", msg, err.msg);
    *handoff = r.escalation_tier != NULL;
    snprintf(answer, acap, "%s", r.answer ? r.answer : "");
    json_t *o = r.order_json ? json_loads(r.order_json, 0, NULL) : NULL;
    if (id && o && json_is_string(json_object_get(o, "id")))
        snprintf(id, cap, "%s", json_string_value(json_object_get(o, "id")));
    json_decref(o);
    fd_arena_free(a);
    fd_assistant_close(as);
}

/* The free cancellation ends at cancel_until (17:00) on the working day
 * before delivery, counted as the lead time counts working days: for
 * Monday 28 December 2026, after Christmas Day (a Friday holiday) and a
 * Saturday that is no working day, that is Thursday 24th. Before issue
 * 15's fix the holiday counted as the working day before, so the order
 * could be cancelled free on Christmas Day itself. */
static void test_cancel_after_holiday(void **state)
{
    fixture *f = *state;
    static const struct {
        const char *sid, *cancel_at;
        int free;
    } cases[] = {{"cancel-xmas", "2026-12-25T10:00", 0}, {"cancel-eve", "2026-12-24T16:00", 1}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char id[32] = "", ans[2048];
        int h;
        const char *order[] = {"kopi corner, 20 packs of CUP-P12", "28 dec morning", "yes"};
        for (size_t k = 0; k < 3; k++)
            say_at(f, "2026-12-21T10:00", cases[i].sid, order[k], id, sizeof id, &h, ans,
                   sizeof ans);
        if (!id[0])
            fail_msg("%s: no order placed: %s", cases[i].sid, ans);
        char msg[64];
        snprintf(msg, sizeof msg, "cancel order %s", id);
        say_at(f, cases[i].cancel_at, cases[i].sid, msg, NULL, 0, &h, ans, sizeof ans);
        int cancelled = strstr(ans, "is cancelled, free of charge") != NULL;
        if (cancelled != cases[i].free || h == cases[i].free)
            fail_msg("%s at %s: %s", id, cases[i].cancel_at, ans);
    }
}

/* Half days ([delivery.half_days] in the example): Christmas Eve's
 * afternoon is offered, cut short at the 15:00 close, and the summary says
 * so before the customer confirms; the eve of Chinese New Year (Friday 5
 * February 2027, closing at 12:00) has no afternoon: the customer is told
 * the day's windows and the order waits for one. */
static void test_half_days(void **state)
{
    fixture *f = *state;
    /* each step: when, session, the message, what the reply must hold
     * (NULL: an order must have been placed) */
    static const struct {
        const char *now, *sid, *msg, *want;
    } steps[] = {
        {"2026-12-21T10:00", "half-xmas", "kopi corner, 20 packs of CUP-P12", ""},
        {"2026-12-21T10:00", "half-xmas", "24 dec afternoon",
         "afternoon (until 15:00: we close early that day)"},
        {"2026-12-21T10:00", "half-xmas", "yes", NULL},
        {"2027-02-01T10:00", "half-cny", "kopi corner, 20 packs of CUP-P12", ""},
        {"2027-02-01T10:00", "half-cny", "friday 5 feb afternoon",
         "we close at 12:00 and deliver only in the morning (9:00–12:00)"},
        /* the morning (9:00-13:00) is cut short too */
        {"2027-02-01T10:00", "half-cny", "ok morning then",
         "morning (until 12:00: we close early that day)"},
        {"2027-02-01T10:00", "half-cny", "yes", NULL},
    };
    for (size_t i = 0; i < sizeof steps / sizeof *steps; i++) {
        char id[32] = "", ans[2048];
        int h;
        say_at(f, steps[i].now, steps[i].sid, steps[i].msg, id, sizeof id, &h, ans, sizeof ans);
        if (steps[i].want ? !strstr(ans, steps[i].want) : !id[0])
            fail_msg("%s '%s': %s (want %s)", steps[i].sid, steps[i].msg, ans,
                     steps[i].want ? steps[i].want : "an order placed");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basics),
        cmocka_unit_test(test_confirmations),
        cmocka_unit_test(test_days),
        cmocka_unit_test(test_quantities),
        cmocka_unit_test(test_customers),
        cmocka_unit_test(test_products),
        cmocka_unit_test(test_count_named),
        cmocka_unit_test(test_day_asked_or_told),
        cmocka_unit_test(test_language_kept),
        cmocka_unit_test(test_minimum_order),
        cmocka_unit_test(test_cancel_after_holiday),
        cmocka_unit_test(test_half_days),
        cmocka_unit_test(test_told_first),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
