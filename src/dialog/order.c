/* order.c: taking an order in conversation. The draft lives in the
 * session's slots (product lines, outlet, delivery date and window), so it
 * holds across turns and questions in between; each message may add to it
 * or change it ("make it 300 instead", "add 50 lids", "actually deliver
 * Friday"), and once it is whole the customer sees a summary and must say
 * yes. The confirmed order is written by persist.c in the turn's
 * transaction, keyed by the draft's idempotency key, so a message sent
 * twice never makes two orders. Every number in a summary comes from the
 * catalog; nothing here needs an LLM. */
#include "turn_int.h"

#include "outbox.h"

#include "templates_int.h"

#include <ctype.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- the draft in the session's slots ------------------------------------ */

static const char *js(json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));
    return v ? v : "";
}

int order_draft_parse(const char *json, order_draft *d)
{
    memset(d, 0, sizeof *d);
    json_t *j = json && json[0] ? json_loads(json, 0, NULL) : NULL;
    if (!j)
        return 0;
    snprintf(d->key, sizeof d->key, "%s", js(j, "key"));
    json_t *lines = json_object_get(j, "lines"), *e;
    size_t i;
    json_array_foreach(lines, i, e)
    {
        if (d->n == ORDER_MAX_LINES)
            break;
        const char *code = json_string_value(json_array_get(e, 0));
        json_int_t q = json_integer_value(json_array_get(e, 1));
        if (code && q > 0) {
            snprintf(d->lines[d->n].code, sizeof d->lines[d->n].code, "%s", code);
            d->lines[d->n++].qty = q;
        }
    }
    json_t *pend = json_object_get(j, "pending");
    d->pend_qty = json_integer_value(json_object_get(pend, "qty"));
    snprintf(d->pend_words, sizeof d->pend_words, "%s", js(pend, "words"));
    d->pend_more = json_is_true(json_object_get(pend, "more"));
    json_array_foreach(json_object_get(pend, "codes"), i, e)
    {
        if (d->n_pend < FD_MATCH_MAX && json_string_value(e))
            snprintf(d->pend[d->n_pend++], sizeof d->pend[0], "%s", json_string_value(e));
    }
    const struct {
        const char *k;
        char *dst;
        size_t cap;
    } strs[] = {{"customer_id", d->customer_id, sizeof d->customer_id},
                {"outlet", d->outlet, sizeof d->outlet},
                {"date", d->date, sizeof d->date},
                {"window", d->window, sizeof d->window},
                {"asked", d->asked, sizeof d->asked},
                {"named", d->named, sizeof d->named},
                {"last_order", d->last_order, sizeof d->last_order}};
    for (size_t k = 0; k < sizeof strs / sizeof *strs; k++)
        snprintf(strs[k].dst, strs[k].cap, "%s", js(j, strs[k].k));
    d->confirming = json_is_true(json_object_get(j, "confirming"));
    json_decref(j);
    return 1;
}

static int active(const order_draft *d)
{
    return d->n || d->n_pend || d->customer_id[0] || d->named[0] || d->date[0] || d->asked[0];
}

int order_draft_json(const order_draft *d, fd_buf *b)
{
    if (!active(d) && !d->last_order[0])
        return fd_buf_printf(b, "null");
    int rc = fd_buf_printf(b, "{\"key\":");
    rc = rc ? rc : fd_buf_json_str(b, d->key, strlen(d->key));
    rc = rc ? rc : fd_buf_printf(b, ",\"lines\":[");
    for (size_t i = 0; i < d->n && !rc; i++) {
        rc = fd_buf_printf(b, "%s[", i ? "," : "");
        rc = rc ? rc : fd_buf_json_str(b, d->lines[i].code, strlen(d->lines[i].code));
        rc = rc ? rc : fd_buf_printf(b, ",%lld]", (long long)d->lines[i].qty);
    }
    rc = rc ? rc
            : fd_buf_printf(b, "],\"pending\":{\"qty\":%lld,\"codes\":[", (long long)d->pend_qty);
    for (size_t i = 0; i < d->n_pend && !rc; i++) {
        rc = i ? fd_buf_putc(b, ',') : FD_OK;
        rc = rc ? rc : fd_buf_json_str(b, d->pend[i], strlen(d->pend[i]));
    }
    rc = rc ? rc : fd_buf_printf(b, "],\"words\":");
    rc = rc ? rc : fd_buf_json_str(b, d->pend_words, strlen(d->pend_words));
    rc = rc ? rc : fd_buf_printf(b, ",\"more\":%s}", d->pend_more ? "true" : "false");
    const char *keys[] = {"customer_id", "outlet", "date",      "window",
                          "asked",       "named",  "last_order"};
    const char *vals[] = {d->customer_id, d->outlet, d->date,      d->window,
                          d->asked,       d->named,  d->last_order};
    for (int k = 0; k < 7 && !rc; k++) {
        rc = fd_buf_printf(b, ",\"%s\":", keys[k]);
        rc = rc ? rc : fd_buf_json_str(b, vals[k], strlen(vals[k]));
    }
    return rc ? rc : fd_buf_printf(b, ",\"confirming\":%s}", d->confirming ? "true" : "false");
}

/* ---- words ------------------------------------------------------------------ */

static int any_word(fd_str f, const char *const *w)
{
    for (; *w; w++)
        if (fd_text_has_word(f, *w))
            return 1;
    return 0;
}

static size_t n_words(fd_str f)
{
    size_t n = 0;
    int in = 0;
    for (size_t i = 0; i < f.len; i++) {
        int w = isalnum((unsigned char)f.p[i]) || (unsigned char)f.p[i] >= 0x80;
        n += w && !in;
        in = w;
    }
    return n;
}

static const char *const yes_words[] = {
    "yes",      "yep", "yeah",     "y",       "ok",     "okay",     "confirm", "sure", "place",
    "go ahead", "oui", "d'accord", "daccord", "valide", "confirme", "correct", NULL};
static const char *const no_words[] = {"no", "nope", "non", "not yet", "wait", NULL};

/* A whole reply to the summary, nothing else in it: "yes confirm", "ok go
 * ahead", "correct, please proceed", "oui, je confirme". */
static const char *const confirm_keys[] = {
    "yes", "yep", "yeah", "yup", "ya", "y", "ok", "okay", "k", "sure", "confirm", "confirmed",
    "confirming", "correct", "proceed", "ahead", "oui", "ouais", "confirme", "confirmer", "valide",
    "valider", "daccord", "accord",
    /* Singapore chat: "can" alone is yes ("can", "ok can lah") */
    "can", NULL};
static const char *const confirm_fill[] = {
    "please", "pls", "plz", "thanks", "thank", "thx", "ty", "you", "that", "thats", "is", "it",
    "its", "s", "all", "good", "fine", "great", "right", "go", "the", "order", "lah", "la", "can",
    "i", "we", "do", "so", "and", "just", "perfect", "looks", "place", "je", "c", "est", "bon",
    "vous", "plait", "il", "merci", "tout", "parfait", "d", "allez", "y", "la", "commande",
    /* dev7: Singapore chat's closing particles ("ok confirm lor") and "just
     * send" */
    "lor", "leh", "ah", "send",
    /* dev7: "nvm" (never mind) drops a question asked before ("ok nvm just
     * send, confirm"); beside a strong yes only, see only_confirm */
    "nvm", NULL};
/* The confirmation words too weak to outweigh "nvm": "ok nvm" may drop
 * the order as well as the question. */
static const char *const weak_keys[] = {"ok", "okay", "k", "y", "ya", "can", NULL};

static int in_words(const char *const *list, const char *w, size_t n)
{
    for (; *list; list++)
        if (strlen(*list) == n && memcmp(*list, w, n) == 0)
            return 1;
    return 0;
}

/* 1 when every word of f is a confirmation or a filler, and one at least
 * a confirmation ("yes please", not "please"). */
static int only_confirm(fd_str f)
{
    int any = 0, strong = 0, nvm = 0;
    for (size_t i = 0; i < f.len;) {
        unsigned char c = (unsigned char)f.p[i];
        if (isdigit(c))
            return 0; /* "yes 500 more" changes the order */
        if (!isalpha(c) && c < 0x80) {
            i++;
            continue;
        }
        size_t b = i;
        while (i < f.len && (isalpha((unsigned char)f.p[i]) || (unsigned char)f.p[i] >= 0x80))
            i++;
        if (in_words(confirm_keys, f.p + b, i - b)) {
            any = 1;
            strong |= !in_words(weak_keys, f.p + b, i - b);
        } else if (!in_words(confirm_fill, f.p + b, i - b)) {
            return 0;
        }
        nvm |= i - b == 3 && memcmp(f.p + b, "nvm", 3) == 0;
    }
    return any && (!nvm || strong);
}
static const char *const cancel_words[] = {"cancel",    "annule",     "annuler",
                                           "forget it", "never mind", "nevermind",
                                           "scrap",     "abandon",    NULL};
static const char *const order_words[] = {
    "order",   "buy",       "want",     "need",     "get",  "like",    "take",   "send",
    "deliver", "commander", "commande", "voudrais", "veux", "acheter", "livrer", NULL};
static const char *const more_words[] = {"add",  "more",   "another", "extra", "also",
                                         "plus", "ajoute", "ajouter", NULL};
static const char *const pack_units[] = {"pack",  "packs",  "carton",  "cartons", "case",
                                         "cases", "paquet", "paquets", "pk",      "pks",
                                         "pkt",   "pkts",   "ctn",     "ctns",    NULL};
/* a number of these is a time, no count of goods (dev7: "30 days") */
static const char *const time_units[] = {
    "day",     "days",     "week", "weeks", "month", "months", "year",    "years", "hour",
    "hours",   "hr",       "hrs",  "min",   "mins",  "minute", "minutes", "jour",  "jours",
    "semaine", "semaines", "mois", "ans",   "heure", "heures", NULL};
/* a count glued to a number ("1000pcs"): units */
static const char *const unit_words[] = {"pcs",   "pc",   "pce",   "pces", "pieces", "piece",
                                         "units", "unit", "pairs", "pair", NULL};

/* 1 when a pack word ("packs", "ctn") starts at s. */
static int pack_word_at(const char *s)
{
    for (size_t k = 0; pack_units[k]; k++) {
        size_t n = strlen(pack_units[k]);
        if (strncmp(s, pack_units[k], n) == 0 && !isalnum((unsigned char)s[n]))
            return 1;
    }
    return 0;
}

static const char *L(const turn *t, const char *en, const char *fr)
{
    return t->lang == FD_LANG_FR ? fr : en;
}

/* ---- the reply -------------------------------------------------------------- */

static int add_line(order_draft *d, const char *code, int64_t qty, int more)
{
    for (size_t i = 0; i < d->n; i++)
        if (strcmp(d->lines[i].code, code) == 0) {
            d->lines[i].qty = more ? d->lines[i].qty + qty : qty;
            return 0;
        }
    if (d->n == ORDER_MAX_LINES)
        return -1;
    snprintf(d->lines[d->n].code, sizeof d->lines[0].code, "%s", code);
    d->lines[d->n++].qty = qty;
    return 0;
}

static const fd_window *window_named(const fd_commerce_rules *r, const char *name);
static int list_outlets(const fd_catalog *c, const char *customer_id, fd_buf *note);
static int64_t iso_days(const char *iso);

static const char *const en_weekday[] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                         "Friday", "Saturday", "Sunday"};

/* Weekday 0 (Monday) to 6 in the conversation's language (an invoice's
 * lines are always in English, en_weekday). */
static const char *weekday_name(const turn *t, int wd)
{
    static const char *const fr[] = {"lundi",    "mardi",  "mercredi", "jeudi",
                                     "vendredi", "samedi", "dimanche"};
    return t->lang == FD_LANG_FR ? fr[wd] : en_weekday[wd];
}

static void date_words(const turn *t, const char *iso, char *out, size_t cap)
{
    static const char *const en_mon[] = {"January",   "February", "March",    "April",
                                         "May",       "June",     "July",     "August",
                                         "September", "October",  "November", "December"},
                             *const fr_mon[] = {"janvier",   "février", "mars",     "avril",
                                                "mai",       "juin",    "juillet",  "août",
                                                "septembre", "octobre", "novembre", "décembre"};
    int y, m, d;
    if (sscanf(iso, "%d-%d-%d", &y, &m, &d) != 3 || m < 1 || m > 12) {
        snprintf(out, cap, "%s", iso);
        return;
    }
    int wd = fd_weekday(fd_days_from_civil(y, m, d));
    if (t->lang == FD_LANG_FR)
        snprintf(out, cap, "%s %d %s %d", weekday_name(t, wd), d, fr_mon[m - 1], y);
    else
        snprintf(out, cap, "%s %d %s %d", weekday_name(t, wd), d, en_mon[m - 1], y);
}

static void local_now(const turn *t, int64_t *days, int *min)
{
    double now = t->nctx.now > 0 ? t->nctx.now : fd_time_wall();
    int64_t secs = (int64_t)now + (int64_t)t->as->cfg->dialog_tz_offset_min * 60;
    *days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
    *min = (int)((secs - *days * 86400) / 60);
}

static const fd_outlet *draft_outlet(const fd_catalog *c, const order_draft *d)
{
    for (size_t i = 0; i < fd_catalog_n_outlets(c); i++) {
        const fd_outlet *o = fd_catalog_outlet(c, i);
        if (strcmp(o->customer_id, d->customer_id) == 0 && strcmp(o->outlet, d->outlet) == 0)
            return o;
    }
    return NULL;
}

/* The quote of the draft's lines, in the arena; NULL when a code left the
 * catalog since (a reload). */
static fd_quote_line *quote_lines(turn *t, const order_draft *d, fd_quote *q)
{
    const fd_catalog *c = t->as->catalog;
    fd_quote_line *v = fd_arena_calloc(t->a, d->n + 1, sizeof *v);
    if (!v)
        return NULL;
    for (size_t i = 0; i < d->n; i++) {
        const fd_product *p = fd_catalog_by_code(c, d->lines[i].code);
        if (!p)
            return NULL;
        v[i] = fd_quote_line_make(p, d->lines[i].qty);
    }
    *q = fd_quote_sum(fd_catalog_rules(c), v, d->n, d->date[0] ? iso_days(d->date) : -1);
    return v;
}

static int line_text(turn *t, fd_buf *b, const fd_quote_line *l)
{
    const fd_commerce_rules *r = fd_catalog_rules(t->as->catalog);
    char unit[32], tot[32];
    fd_money_fmt(r, l->p->pack_price, unit, sizeof unit);
    fd_money_fmt(r, l->total, tot, sizeof tot);
    int rc = fd_buf_printf(b, "\n- %lld × %s (%s): %lld %s %lld", (long long)l->qty, l->p->name,
                           l->p->code, (long long)l->packs,
                           L(t, l->packs == 1 ? "pack of" : "packs of", "paquet(s) de"),
                           (long long)l->p->pack_size);
    if (!rc && l->packs * l->p->pack_size != l->qty)
        rc = fd_buf_printf(b, L(t, " (rounded up to %lld)", " (arrondi à %lld)"),
                           (long long)(l->packs * l->p->pack_size));
    rc = rc ? rc : fd_buf_printf(b, L(t, " at %s = %s", " à %s = %s"), unit, tot);
    /* stock from the catalog, when it is kept there: said, not hidden */
    if (!rc && l->p->stock >= 0 && l->packs > l->p->stock)
        rc = l->p->stock == 0 ? fd_buf_printf(b, "%s",
                                              L(t, " (out of stock: on backorder)",
                                                " (en rupture : en commande)"))
                              : fd_buf_printf(b,
                                              L(t, " (%lld packs in stock: the rest on backorder)",
                                                " (%lld paquets en stock : le reste en commande)"),
                                              (long long)l->p->stock);
    return rc;
}

/* What the quote adds to and takes off the goods, one line each as the
 * invoice shows them (volume-discounts.md: "a separate line on the order
 * confirmation and the tax invoice"): the discount, the delivery fee or
 * that delivery is free, the day's surcharge. */
/* 30 -> "3%", 25 -> "2.5%" (dot: the decimal mark) */
static void percent_text(int permille, const char *dot, char *out, size_t cap)
{
    if (permille % 10)
        snprintf(out, cap, "%d%s%d%%", permille / 10, dot, permille % 10);
    else
        snprintf(out, cap, "%d%%", permille / 10);
}

static int extras_text(turn *t, fd_buf *b, const fd_quote *q, const char *date)
{
    const fd_commerce_rules *r = fd_catalog_rules(t->as->catalog);
    char m[32];
    int rc = FD_OK;
    if (q->discount > 0) {
        char pct[16];
        percent_text(q->discount_permille, L(t, ".", ","), pct, sizeof pct);
        fd_money_fmt(r, -q->discount, m, sizeof m);
        rc = fd_buf_printf(b, L(t, "\n- Volume discount %s: %s", "\n- Remise volume %s : %s"), pct,
                           m);
    }
    if (!rc && q->delivery > 0) {
        fd_money_fmt(r, q->delivery, m, sizeof m);
        rc = fd_buf_printf(b, L(t, "\n- Delivery: %s", "\n- Livraison : %s"), m);
        if (!rc && r->free_from > 0) {
            char f[32];
            fd_money_fmt(r, r->free_from, f, sizeof f);
            rc = fd_buf_printf(b, L(t, " (free from %s)", " (offerte dès %s)"), f);
        }
    } else if (!rc && r->delivery_fee > 0) {
        rc = fd_buf_printf(b, "%s", L(t, "\n- Delivery: free", "\n- Livraison : offerte"));
    }
    int64_t day = iso_days(date);
    if (!rc && q->surcharge > 0 && day >= 0) {
        fd_money_fmt(r, q->surcharge, m, sizeof m);
        int wd = fd_weekday(day);
        rc = fd_buf_printf(
            b, L(t, "\n- %s delivery surcharge: %s", "\n- Supplément livraison du %s : %s"),
            weekday_name(t, wd), m);
    }
    return rc;
}

static int totals_text(turn *t, fd_buf *b, const fd_quote *q, const char *date)
{
    const fd_commerce_rules *r = fd_catalog_rules(t->as->catalog);
    char s[32], x[32], tot[32];
    int rc = extras_text(t, b, q, date);
    if (rc)
        return rc;
    fd_money_fmt(r, q->subtotal, s, sizeof s);
    fd_money_fmt(r, q->tax, x, sizeof x);
    fd_money_fmt(r, q->total, tot, sizeof tot);
    char rate[16];
    if (r->tax_permille % 10)
        snprintf(rate, sizeof rate, "%d%s%d", r->tax_permille / 10, L(t, ".", ","),
                 r->tax_permille % 10);
    else
        snprintf(rate, sizeof rate, "%d", r->tax_permille / 10);
    return fd_buf_printf(
        b, L(t, "\nSubtotal %s, %s %s%% %s, total %s.", "\nSous-total %s, %s %s %% %s, total %s."),
        s, r->tax_name, rate, x, tot);
}

/* The order as the reply's "order" object. */
/* The units a line delivers and invoices: whole packs ("120 boxes" in
 * packs of 50 are 150, as the summary says). */
static int64_t delivered(const fd_quote_line *l)
{
    return l->p->pack_size > 0 ? l->packs * l->p->pack_size : l->qty;
}

static int order_json(turn *t, const order_draft *d, const char *ref, const char *status,
                      const fd_quote_line *v, const fd_quote *q)
{
    const fd_commerce_rules *r = fd_catalog_rules(t->as->catalog);
    fd_buf b;
    fd_buf_init(&b, 1 << 16);
    int rc = fd_buf_printf(&b, "{\"id\":");
    rc = rc ? rc : ref ? fd_buf_json_str(&b, ref, strlen(ref)) : fd_buf_printf(&b, "null");
    rc = rc ? rc : fd_buf_printf(&b, ",\"status\":\"%s\",\"currency\":", status);
    rc = rc ? rc : fd_buf_json_str(&b, r->currency, strlen(r->currency));
    rc = rc ? rc : fd_buf_printf(&b, ",\"lines\":[");
    for (size_t i = 0; v && i < d->n && !rc; i++) {
        rc = fd_buf_printf(&b, "%s{\"code\":", i ? "," : "");
        rc = rc ? rc : fd_buf_json_str(&b, v[i].p->code, strlen(v[i].p->code));
        rc = rc ? rc : fd_buf_printf(&b, ",\"name\":");
        rc = rc ? rc : fd_buf_json_str(&b, v[i].p->name, strlen(v[i].p->name));
        /* "requested": what the customer asked, when packs rounded it up */
        if (!rc && delivered(&v[i]) != v[i].qty)
            rc = fd_buf_printf(&b, ",\"requested\":%lld", (long long)v[i].qty);
        rc = rc ? rc
                : fd_buf_printf(&b,
                                ",\"qty\":%lld,\"packs\":%lld,\"pack_size\":%lld,\"pack_price\":",
                                (long long)delivered(&v[i]), (long long)v[i].packs,
                                (long long)v[i].p->pack_size);
        rc = rc ? rc : fd_buf_minor(&b, v[i].p->pack_price);
        rc = rc ? rc : fd_buf_printf(&b, ",\"total\":");
        rc = rc ? rc : fd_buf_minor(&b, v[i].total);
        rc = rc ? rc : fd_buf_putc(&b, '}');
    }
    /* goods - discount + delivery_fee + surcharge = subtotal (before tax) */
    static const char *const keys[] = {"goods",    "discount", "delivery_fee", "surcharge",
                                       "subtotal", "tax",      "total"};
    const int64_t vals[] = {q->goods,    q->discount, q->delivery, q->surcharge,
                            q->subtotal, q->tax,      q->total};
    rc = rc ? rc : fd_buf_putc(&b, ']');
    for (size_t i = 0; i < sizeof keys / sizeof *keys && !rc; i++) {
        rc = fd_buf_printf(&b, ",\"%s\":", keys[i]);
        rc = rc ? rc : fd_buf_minor(&b, vals[i]);
    }
    rc = rc ? rc : fd_buf_printf(&b, ",\"outlet\":");
    char outlet[200];
    snprintf(outlet, sizeof outlet, "%s%s%s", d->customer_id[0] ? d->customer_id : "",
             d->outlet[0] ? "/" : "", d->outlet);
    rc = rc ? rc : fd_buf_json_str(&b, outlet, strlen(outlet));
    rc = rc ? rc : fd_buf_printf(&b, ",\"delivery_date\":");
    rc = rc ? rc : fd_buf_json_str(&b, d->date, strlen(d->date));
    rc = rc ? rc : fd_buf_printf(&b, ",\"delivery_window\":");
    rc = rc ? rc : fd_buf_json_str(&b, d->window, strlen(d->window));
    rc = rc ? rc : fd_buf_putc(&b, '}');
    if (!rc)
        t->r->order_json = fd_arena_strndup(t->a, b.p, b.len);
    fd_buf_free(&b);
    return rc || !t->r->order_json ? turn_oom(t) : FD_OK;
}

static int say(turn *t, fd_buf *b)
{
    char *s = fd_arena_strndup(t->a, b->p ? b->p : "", b->len);
    fd_buf_free(b);
    if (!s)
        return turn_oom(t);
    t->r->answer = s;
    t->r->answered = 1;
    t->r->route = "order";
    return FD_OK;
}

/* What the draft still lacks, asked; or the summary to confirm. */
static int next_step(turn *t, order_draft *d, fd_buf *b, int noted)
{
    const fd_catalog *c = t->as->catalog;
    const fd_commerce_rules *r = fd_catalog_rules(c);
    int rc = FD_OK;
    if (d->n_pend) {
        snprintf(d->asked, sizeof d->asked, "product");
        rc = fd_buf_printf(b, "%s",
                           d->pend_more ? L(t, "Several products fit, for example ",
                                            "Plusieurs produits correspondent, par exemple ")
                                        : L(t, "Which one do you mean: ", "Lequel voulez-vous : "));
        for (size_t i = 0; i < d->n_pend && !rc; i++) {
            const fd_product *p = fd_catalog_by_code(c, d->pend[i]);
            rc = fd_buf_printf(b, "%s%s (%s)",
                               i == 0               ? ""
                               : i + 1 == d->n_pend ? L(t, " or ", " ou ")
                                                    : ", ",
                               p ? p->name : d->pend[i], d->pend[i]);
        }
        if (!rc && d->pend_more)
            return fd_buf_printf(
                b, "%s",
                L(t, ". Which one do you mean? You can also give the product code.",
                  ". Lequel voulez-vous ? Vous pouvez aussi donner le code produit."));
        return rc ? rc : fd_buf_printf(b, "?");
    }
    if (!d->n) {
        /* the facts of an order given before its products ("can deliver
         * fri afternoon?", "kopi corner"): kept, said back, then the
         * products asked for; which outlet first, when the note asks it */
        if (noted && d->named[0] && !d->customer_id[0]) {
            snprintf(d->asked, sizeof d->asked, "outlet");
            return rc;
        }
        snprintf(d->asked, sizeof d->asked, "items");
        const fd_outlet *o = d->customer_id[0] ? draft_outlet(c, d) : NULL;
        if (d->date[0] || o) {
            char words[64] = "";
            if (d->date[0])
                date_words(t, d->date, words, sizeof words);
            rc = fd_buf_printf(b, "%s", L(t, "Noted: ", "C'est noté : "));
            if (!rc && o)
                rc = fd_buf_printf(b, "%s%s%s%s", o->customer, o->outlet[0] ? ", " : "", o->outlet,
                                   d->date[0] ? "; " : "");
            if (!rc && d->date[0])
                rc = fd_buf_printf(b, L(t, "delivery on %s%s%s", "livraison le %s%s%s"), words,
                                   d->window[0] ? ", " : "", d->window);
            rc = rc ? rc : fd_buf_printf(b, ". ");
        }
        const char *ask = L(
            t, "What would you like to order? Give me the products (name or code) and quantities.",
            "Que souhaitez-vous commander ? Donnez-moi les produits (nom ou code) et les "
            "quantités.");
        return rc ? rc : fd_buf_printf(b, "%s", ask);
    }
    fd_quote q;
    fd_quote_line *v = quote_lines(t, d, &q);
    if (!v)
        return fd_buf_printf(b, "%s",
                             L(t,
                               "A product of this order is no longer in our catalog; please tell "
                               "me what to order instead.",
                               "Un produit de cette commande n'est plus au catalogue ; dites-moi "
                               "quoi commander à la place."));
    rc = order_json(t, d, NULL, "draft", v, &q);
    if (!d->customer_id[0]) {
        snprintf(d->asked, sizeof d->asked, "outlet");
        if (noted)
            return rc; /* the note already asks which outlet */
        if (d->named[0]) {
            /* the customer is known, not which of its outlets */
            const fd_outlet *o = NULL;
            for (size_t i = 0; i < fd_catalog_n_outlets(c) && !o; i++)
                if (strcmp(fd_catalog_outlet(c, i)->customer_id, d->named) == 0)
                    o = fd_catalog_outlet(c, i);
            rc = rc ? rc
                    : fd_buf_printf(b, L(t, "%s has several outlets: ", "%s a plusieurs sites : "),
                                    o ? o->customer : d->named);
            rc = rc ? rc : list_outlets(c, d->named, b);
            return rc ? rc
                      : fd_buf_printf(b, "%s",
                                      L(t, ". Which one is this order for?",
                                        ". Pour lequel est cette commande ?"));
        }
        return rc ? rc
                  : fd_buf_printf(
                        b, "%s",
                        L(t,
                          "Which outlet is this order for? Give me your company and outlet name.",
                          "Pour quel établissement est cette commande ? Donnez-moi le nom de la "
                          "société et du site."));
    }
    if (!d->date[0]) {
        int64_t days;
        int min;
        local_now(t, &days, &min);
        int y, m, dd;
        fd_civil_from_days(fd_delivery_earliest(r, days, min), &y, &m, &dd);
        char iso[16], words[64];
        snprintf(iso, sizeof iso, "%04d-%02d-%02d", y, m, dd);
        date_words(t, iso, words, sizeof words);
        snprintf(d->asked, sizeof d->asked, "date");
        /* What was understood, before the next question: a bare "10 pkt"
         * or "the pla one" otherwise showed its product only in the
         * summary, two turns later. */
        for (size_t i = 0; i < d->n && !rc; i++)
            rc = fd_buf_printf(b, "%s%lld × %s (%s)", i ? ", " : L(t, "Noted: ", "C'est noté : "),
                               (long long)delivered(&v[i]), v[i].p->name, v[i].p->code);
        rc = rc ? rc : fd_buf_printf(b, "%s", d->n ? ". " : "");
        rc = rc ? rc
                : fd_buf_printf(b,
                                L(t, "Which delivery date would you like? The earliest is %s.",
                                  "Pour quelle date de livraison ? Au plus tôt le %s."),
                                words);
        for (size_t i = 0; i < r->n_windows && !rc; i++)
            rc = fd_buf_printf(
                b, "%s%s (%d:%02d–%d:%02d)", i == 0 ? L(t, " Windows: ", " Créneaux : ") : ", ",
                r->windows[i].name, r->windows[i].from_min / 60, r->windows[i].from_min % 60,
                r->windows[i].to_min / 60, r->windows[i].to_min % 60);
        /* a delivery day with fewer windows ("Saturday: morning only") */
        for (int wd = 0; wd < 7 && !rc; wd++)
            if (r->day_windows[wd] && ((r->days_mask >> wd) & 1u)) {
                rc = fd_buf_printf(b, "; %s:", weekday_name(t, wd));
                for (size_t i = 0; i < r->n_windows && !rc; i++)
                    if ((r->day_windows[wd] >> i) & 1u)
                        rc = fd_buf_printf(b, " %s", r->windows[i].name);
                rc = rc ? rc : fd_buf_printf(b, "%s", L(t, " only", " seulement"));
            }
        return rc ? rc : fd_buf_putc(b, '.');
    }
    const fd_outlet *o = draft_outlet(c, d);
    char words[64];
    date_words(t, d->date, words, sizeof words);
    rc = rc ? rc : fd_buf_printf(b, "%s", L(t, "Here is your order:", "Voici votre commande :"));
    for (size_t i = 0; i < d->n && !rc; i++)
        rc = line_text(t, b, &v[i]);
    rc = rc ? rc : totals_text(t, b, &q, d->date);
    rc = rc ? rc
            : fd_buf_printf(
                  b, L(t, "\nDeliver to %s%s%s%s%s%s on %s", "\nLivraison à %s%s%s%s%s%s le %s"),
                  o ? o->customer : d->customer_id, o && o->outlet[0] ? ", " : "",
                  o ? o->outlet : "", o && o->address[0] ? " (" : "", o ? o->address : "",
                  o && o->address[0] ? ")" : "", words);
    if (!rc && d->window[0]) {
        rc = fd_buf_printf(b, ", %s", d->window);
        /* a half day cuts the window short: said before the customer
         * confirms (Christmas Eve's afternoon ends at 15:00) */
        const fd_window *w = window_named(r, d->window);
        int close = fd_delivery_close_min(r, iso_days(d->date));
        if (!rc && w && close >= 0 && w->to_min > close)
            rc = fd_buf_printf(b,
                               L(t, " (until %d:%02d: we close early that day)",
                                 " (jusqu'à %d:%02d : nous fermons plus tôt ce jour-là)"),
                               close / 60, close % 60);
    }
    if (!rc && r->min_order > 0 && q.goods < r->min_order) {
        /* under the minimum for delivery: said, with what to do about it,
         * before the customer confirms (never a silent order) */
        char have[32], need[32];
        fd_money_fmt(r, q.goods, have, sizeof have);
        fd_money_fmt(r, r->min_order, need, sizeof need);
        rc = fd_buf_printf(b,
                           L(t,
                             ".\nThis order comes to %s before %s, under our minimum order value "
                             "of %s for delivery: add products or packs to reach it",
                             ".\nCette commande fait %s hors %s, sous notre minimum de commande "
                             "de %s pour une livraison : ajoutez des produits ou des paquets pour "
                             "l'atteindre"),
                           have, r->tax_name, need);
    }
    rc = rc ? rc
            : fd_buf_printf(
                  b, "%s",
                  L(t,
                    ".\nShall I place this order? Reply yes to confirm, or tell me what to change.",
                    ".\nJe passe la commande ? Répondez oui pour confirmer, ou dites-moi quoi "
                    "changer."));
    d->confirming = 1;
    d->asked[0] = '\0';
    return rc;
}

/* ---- confirmation ----------------------------------------------------------- */

static int invoice_json(turn *t, const order_draft *d, const fd_outlet *o, const fd_quote_line *v,
                        const fd_quote *q, fd_buf *b)
{
    const fd_commerce_rules *r = fd_catalog_rules(t->as->catalog);
    int64_t days;
    int min;
    local_now(t, &days, &min);
    int y, m, dd, yd, md, ddd;
    fd_civil_from_days(days, &y, &m, &dd);
    fd_civil_from_days(days + (o ? o->payment_days : 30), &yd, &md, &ddd);
    int rc = fd_buf_printf(b, "{\"type\":\"ACCREC\",\"contact_id\":");
    rc = rc ? rc : fd_buf_json_str(b, o ? o->contact_id : "", o ? strlen(o->contact_id) : 0);
    rc = rc ? rc : fd_buf_printf(b, ",\"customer_id\":");
    rc = rc ? rc : fd_buf_json_str(b, d->customer_id, strlen(d->customer_id));
    rc = rc ? rc : fd_buf_printf(b, ",\"customer\":");
    rc = rc ? rc : fd_buf_json_str(b, o ? o->customer : "", o ? strlen(o->customer) : 0);
    rc =
        rc ? rc
           : fd_buf_printf(
                 b, ",\"date\":\"%04d-%02d-%02d\",\"due_date\":\"%04d-%02d-%02d\",\"currency\":", y,
                 m, dd, yd, md, ddd);
    rc = rc ? rc : fd_buf_json_str(b, r->currency, strlen(r->currency));
    rc = rc ? rc
            : fd_buf_printf(b, ",\"tax_rate\":%d.%d,\"lines\":[", r->tax_permille / 10,
                            r->tax_permille % 10);
    for (size_t i = 0; i < d->n && !rc; i++) {
        rc = fd_buf_printf(b, "%s{\"code\":", i ? "," : "");
        rc = rc ? rc : fd_buf_json_str(b, v[i].p->code, strlen(v[i].p->code));
        rc = rc ? rc : fd_buf_printf(b, ",\"description\":");
        rc = rc ? rc : fd_buf_json_str(b, v[i].p->name, strlen(v[i].p->name));
        rc = rc ? rc
                : fd_buf_printf(b, ",\"quantity\":%lld,\"unit_amount\":", (long long)v[i].packs);
        rc = rc ? rc : fd_buf_minor(b, v[i].p->pack_price);
        rc = rc ? rc : fd_buf_putc(b, '}');
    }
    /* the discount and the fees as lines of their own, as the confirmation
     * shows them (the invoice's total is the quote's) */
    char what[64], when[48];
    char pct[16];
    percent_text(q->discount_permille, ".", pct, sizeof pct);
    snprintf(what, sizeof what, "Volume discount %s", pct);
    int64_t day = iso_days(d->date);
    snprintf(when, sizeof when, "%s delivery surcharge",
             day >= 0 ? en_weekday[fd_weekday(day)] : "Delivery day");
    const struct {
        const char *description;
        int64_t amount;
    } extra[] = {{what, -q->discount}, {"Delivery fee", q->delivery}, {when, q->surcharge}};
    for (size_t i = 0; i < sizeof extra / sizeof *extra && !rc; i++) {
        if (!extra[i].amount)
            continue;
        rc = fd_buf_printf(b, ",{\"code\":null,\"description\":");
        rc = rc ? rc : fd_buf_json_str(b, extra[i].description, strlen(extra[i].description));
        rc = rc ? rc : fd_buf_printf(b, ",\"quantity\":1,\"unit_amount\":");
        rc = rc ? rc : fd_buf_minor(b, extra[i].amount);
        rc = rc ? rc : fd_buf_putc(b, '}');
    }
    return rc ? rc
              : fd_buf_printf(b, "],\"subtotal\":%lld,\"tax\":%lld,\"total\":%lld}",
                              (long long)q->subtotal, (long long)q->tax, (long long)q->total);
}

/* The confirmed order to write with the turn (persist.c calls
 * dialog_order_store); the reply's words wait for its id. */
static int confirm(turn *t, order_draft *d)
{
    const fd_catalog *c = t->as->catalog;
    fd_quote q;
    fd_quote_line *v = quote_lines(t, d, &q);
    const fd_outlet *o = draft_outlet(c, d);
    if (!v || !o) {
        d->confirming = 0;
        fd_buf b;
        fd_buf_init(&b, 1 << 16);
        int rc = next_step(t, d, &b, 0);
        return rc ? (fd_buf_free(&b), turn_oom(t)) : say(t, &b);
    }
    order_pending *op = fd_arena_calloc(t->a, 1, sizeof *op);
    fd_order_line_row *lines = fd_arena_calloc(t->a, d->n + 1, sizeof *lines);
    if (!op || !lines)
        return turn_oom(t);
    /* The line keeps what is delivered and invoiced (a pick list reading
     * 120 would short the customer of the 150 confirmed). */
    for (size_t i = 0; i < d->n; i++)
        lines[i] =
            (fd_order_line_row){v[i].p->code,      v[i].p->name,       delivered(&v[i]), v[i].packs,
                                v[i].p->pack_size, v[i].p->pack_price, v[i].total};
    /* An order the company wants a person to check first ("review_over",
     * or an escalation rule on order value) is kept, and handed over. */
    const fd_commerce_rules *r = fd_catalog_rules(c);
    esc_input ein = {.folded = t->folded,
                     .intent = "order_new",
                     .confidence = 1,
                     .sentiment = 0,
                     .order_value = (double)q.goods / 100.0};
    const esc_rule *rule = esc_rules_match(&t->as->rules, &ein);
    if (rule && rule->order_value_over < 0)
        rule = NULL; /* only a rule about order value applies here */
    int review = (r->review_over > 0 && q.goods >= r->review_over) || rule;
    char *key = fd_arena_printf(t->a, "%s:%s", t->sess.id, d->key);
    if (!key)
        return turn_oom(t);
    op->row =
        (fd_order_row){.idem_key = key,
                       .session_id = t->sess.id,
                       .owner = t->sess.owner,
                       .customer_id = o->customer_id,
                       .customer = o->customer,
                       .outlet = o->outlet,
                       .address = o->address,
                       .delivery_date = fd_arena_strndup(t->a, d->date, strlen(d->date)),
                       .delivery_window = fd_arena_strndup(t->a, d->window, strlen(d->window)),
                       .currency = r->currency,
                       .status = review ? "review" : "confirmed",
                       .goods = q.goods,
                       .discount = q.discount,
                       .delivery_fee = q.delivery,
                       .surcharge = q.surcharge,
                       .subtotal = q.subtotal,
                       .tax = q.tax,
                       .total = q.total,
                       .lines = lines,
                       .n_lines = d->n};
    op->prefix = r->id_prefix;
    fd_buf inv;
    fd_buf_init(&inv, 1 << 20);
    int rc = review ? FD_OK : invoice_json(t, d, o, v, &q, &inv);
    op->invoice = rc || review ? NULL : fd_arena_strndup(t->a, inv.p, inv.len);
    fd_buf_free(&inv);
    if (rc || (!review && !op->invoice) || !op->row.delivery_date || !op->row.delivery_window)
        return turn_oom(t);
    op->draft = *d;
    op->v = v;
    op->q = q;
    t->order = op;
    if (review) {
        static const esc_rule review_rule = {.tier = "supervisor",
                                             .reason = "Order above the amount a person confirms"};
        dialog_escalate(t, rule ? rule : &review_rule);
    }
    /* the draft is done: a "yes" sent again finds last_order */
    memset(d, 0, sizeof *d);
    if (!t->r->answer)
        t->r->answer = L(t, "Placing your order.", "Je passe votre commande.");
    t->r->route = "order";
    t->r->answered = 1;
    return FD_OK;
}

int dialog_order_store(turn *t, fd_store *st)
{
    order_pending *op = t->order;
    int64_t id;
    char ref[32];
    fd_order_row had;
    int rc = fd_store_order_by_idem(st, op->row.idem_key, t->a, &had, t->err);
    if (rc == FD_OK) {
        snprintf(ref, sizeof ref, "%s", had.ref); /* this confirmation already made it */
        op->row.status = had.status;
    } else if (rc == FD_ENOTFOUND) {
        fd_err_clear(t->err);
        rc =
            fd_store_order_add(st, &op->row, op->prefix, op->invoice, &id, ref, sizeof ref, t->err);
        if (!rc) {
            /* the company's systems hear of it in the same transaction */
            fd_order_row o = op->row;
            o.ref = ref;
            fd_buf ev;
            fd_buf_init(&ev, 1 << 20);
            rc = fd_order_json(&o, &ev)
                     ? fd_err_set(t->err, FD_ENOMEM, "out of memory")
                     : fd_outbox_event(t->as->cfg, st, "order.created", ref, ev.p, t->err);
            fd_buf_free(&ev);
        }
    }
    if (rc)
        return rc;
    snprintf(op->ref, sizeof op->ref, "%s", ref);
    snprintf(t->slots.order.last_order, sizeof t->slots.order.last_order, "%s", ref);
    /* the words, now that the order has its id */
    fd_buf b;
    fd_buf_init(&b, 1 << 16);
    int review = strcmp(op->row.status, "review") == 0;
    char words[64];
    date_words(t, op->draft.date, words, sizeof words);
    rc = fd_buf_printf(
        &b,
        review ? L(t,
                   "Your order %s is recorded (total %s). Orders of this size are checked by our "
                   "team before we confirm them.",
                   "Votre commande %s est enregistrée (total %s). Les commandes de ce montant sont "
                   "vérifiées par notre équipe avant confirmation.")
               : L(t,
                   "Your order %s is placed: total %s, delivery on %s. You will receive the "
                   "invoice by email.",
                   "Votre commande %s est passée : total %s, livraison le %s. Vous recevrez la "
                   "facture par e-mail."),
        ref, fd_money_fmt(fd_catalog_rules(t->as->catalog), op->q.total, (char[32]){0}, 32), words);
    if (!rc && t->r->escalation_tier && t->r->answer)
        rc = fd_buf_printf(&b, " %s", t->r->answer);
    if (!rc) {
        rc = say(t, &b);
    } else {
        fd_buf_free(&b);
        rc = turn_oom(t); /* with its message: the caller reports it */
    }
    if (!rc)
        rc = order_json(t, &op->draft, ref, op->row.status, op->v, &op->q);
    return rc;
}

/* ---- status and cancellation of a placed order ------------------------------ */

static int order_ref(const turn *t, char *out, size_t cap)
{
    for (size_t i = 0; i < t->ents.n; i++)
        if (t->ents.v[i].kind == FD_ENT_ORDER_ID && t->ents.v[i].norm) {
            snprintf(out, cap, "%s", t->ents.v[i].norm);
            return 1;
        }
    return 0;
}

static int placed_order(turn *t, const char *ref, int cancel)
{
    fd_store *st = fd_kb_store(t->kb);
    fd_order_row o;
    fd_err e;
    int rc = fd_store_order_get(st, ref, t->a, &o, &e);
    fd_buf b;
    fd_buf_init(&b, 1 << 16);
    /* another customer's order does not exist, as sessions do not */
    if (rc == FD_ENOTFOUND || (rc == FD_OK && strcmp(o.owner, t->sess.owner) != 0)) {
        rc = fd_buf_printf(&b,
                           L(t,
                             "I can't find an order %s for you. Please check the number (%s- "
                             "followed by 6 digits).",
                             "Je ne trouve pas de commande %s pour vous. Vérifiez le numéro (%s- "
                             "suivi de 6 chiffres)."),
                           ref, fd_catalog_rules(t->as->catalog)->id_prefix);
        return rc ? (fd_buf_free(&b), turn_oom(t)) : say(t, &b);
    }
    if (rc) {
        fd_buf_free(&b);
        return fd_err_set(t->err, rc, "%s", e.msg);
    }
    char words[64];
    date_words(t, o.delivery_date, words, sizeof words);
    if (cancel && (strcmp(o.status, "confirmed") == 0 || strcmp(o.status, "review") == 0)) {
        /* free until cancel_until on the working day before delivery */
        const fd_commerce_rules *r = fd_catalog_rules(t->as->catalog);
        int y, m, d;
        int64_t days;
        int min;
        local_now(t, &days, &min);
        int ok = sscanf(o.delivery_date, "%d-%d-%d", &y, &m, &d) == 3;
        int64_t before = ok ? fd_cancel_deadline(r, fd_days_from_civil(y, m, d)) : 0;
        if (ok && (days < before || (days == before && min < r->cancel_before_min))) {
            t->order_cancel = fd_arena_strndup(t->a, o.ref, strlen(o.ref));
            rc = fd_buf_printf(&b,
                               L(t, "Order %s is cancelled, free of charge.",
                                 "La commande %s est annulée, sans frais."),
                               o.ref);
        } else {
            rc = fd_buf_printf(
                &b,
                L(t,
                  "Order %s can no longer be cancelled in chat: the free cancellation window has "
                  "passed. A member of our team will help you.",
                  "La commande %s ne peut plus être annulée dans le chat : le délai d'annulation "
                  "gratuite est passé. Un membre de notre équipe va vous aider."),
                o.ref);
            static const esc_rule late = {.tier = "agent",
                                          .reason = "Cancellation after the free window"};
            if (!rc)
                dialog_escalate(t, &late);
        }
    } else {
        rc = fd_buf_printf(
            &b,
            L(t, "Order %s is %s: %zu line(s), total %s, delivery on %s%s%s.",
              "La commande %s est %s : %zu ligne(s), total %s, livraison le %s%s%s."),
            o.ref, o.status, o.n_lines,
            fd_money_fmt(fd_catalog_rules(t->as->catalog), o.total, (char[32]){0}, 32), words,
            o.delivery_window[0] ? ", " : "", o.delivery_window);
    }
    return rc ? (fd_buf_free(&b), turn_oom(t)) : say(t, &b);
}

/* ---- one message -------------------------------------------------------------- */

/* A product named ambiguously: the candidates, and the words that named
 * it (after the quantity) so that a later choice ("the 90mm black ones")
 * is read with them. */
static void set_pending(order_draft *d, const fd_product_match *m, fd_str seg)
{
    d->n_pend = 0;
    for (size_t k = 0; k < m->n_tied && k < FD_MATCH_MAX; k++)
        snprintf(d->pend[d->n_pend++], sizeof d->pend[0], "%s", m->v[k]->code);
    d->pend_more = m->n_tied >= FD_MATCH_MAX;
    snprintf(d->pend_words, sizeof d->pend_words, "%.*s", (int)(seg.len > 63 ? 63 : seg.len),
             seg.p);
}

/* ---- lines: one segment of the message per product ---------------------------- */

#define MAX_SEGS 16

typedef struct seg {
    fd_str s;           /* in t->msg */
    int with;           /* joined to the one before by "with" ("container with lid") */
    int64_t qty;        /* 0: none */
    int packs;          /* qty counts packs */
    int times;          /* written "x10" or "10x" */
    fd_str unit;        /* in t->msg: the pack word of the quantity ("cartons"), no product's */
    const char *after;  /* in t->msg: just after the quantity */
    int same_as;        /* 1 + the segment whose quantity "same qty" repeats */
    int pieces;         /* qty counts pieces, whatever the pack */
    const char *qty_at; /* in t->msg: where the quantity's digits start */
    fd_product_match m;
} seg;

static int lower_eq(fd_str a, const char *w)
{
    size_t n = strlen(w);
    if (a.len != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (tolower((unsigned char)a.p[i]) != w[i])
            return 0;
    return 1;
}

static int is_pack_word(fd_str w)
{
    for (size_t k = 0; pack_units[k]; k++)
        if (lower_eq(w, pack_units[k]))
            return 1;
    return 0;
}

static int is_unit_word(fd_str w)
{
    for (size_t k = 0; unit_words[k]; k++)
        if (lower_eq(w, unit_words[k]))
            return 1;
    return 0;
}

/* The quantity of a segment: a quantity entity inside it ("10 packs",
 * "300 boxes"), else a bare count ("200 PB-1201", "pb-1201 x4", "4x") that
 * is not a size ("12-inch", "16oz", "12 oz"). */
static void seg_qty(const turn *t, seg *g)
{
    size_t lo = (size_t)(g->s.p - t->msg.p), hi = lo + g->s.len;
    /* "1) ..." or "2. ..." opening a list item numbers it: no quantity
     * ("2) PP rectangular container" is not two containers) */
    size_t mk = 0;
    while (mk < g->s.len && isspace((unsigned char)g->s.p[mk]))
        mk++;
    size_t md = mk;
    while (md < g->s.len && isdigit((unsigned char)g->s.p[md]))
        md++;
    size_t skip = 0; /* bytes of the segment before its quantity may start */
    if (md > mk && md < g->s.len &&
        (g->s.p[md] == ')' || (g->s.p[md] == '.' && md + 1 < g->s.len && g->s.p[md + 1] == ' ')))
        skip = md + 1;
    static const char *const size_units[] = {
        "inch",   "inches", "in", "oz",  "ml",  "mm",          "cm",           "l", "ounce",
        "ounces", "pouces", "cl", "ply", "pli", "compartment", "compartments", NULL};
    /* Of the counts in the segment, one of packs first, then one of
     * anything but a size or a counted part: "350 pkt of the pp 2
     * compartment container" is 350 packs, not 2. */
    const fd_entity *best = NULL;
    int best_rank = -1;
    for (size_t i = 0; i < t->ents.n; i++) {
        const fd_entity *e = &t->ents.v[i];
        if (e->kind != FD_ENT_QUANTITY || e->off < lo + skip || e->off >= hi || e->value <= 0 ||
            e->value > 1e7)
            continue;
        fd_str norm = fd_str_c(e->norm ? e->norm : "");
        /* its own words too: "2 compartment container" counts compartments */
        fd_str said = {t->msg.p + e->off, e->len};
        int rank = any_word(norm, pack_units)                                 ? 2
                   : any_word(norm, size_units) || any_word(said, size_units) ? 0
                                                                              : 1;
        if (rank > best_rank) {
            best = e;
            best_rank = rank;
        }
    }
    if (best && best_rank > 0) { /* a size alone: the scan below skips sizes */
        g->qty = (int64_t)best->value;
        g->qty_at = t->msg.p + best->off;
        g->packs = best_rank == 2;
        g->after = t->msg.p + best->off + best->len;
        if (g->packs) {
            const char *u = g->after;
            while (u > t->msg.p + best->off && isalpha((unsigned char)u[-1]))
                u--;
            g->unit = (fd_str){u, (size_t)(g->after - u)};
        }
        return;
    }
    const char *p = g->s.p;
    size_t n = g->s.len;
    seg bare = {0}; /* the first bare count, while one with a unit may follow */
    /* "friday 10am to 12": hours of delivery, no count */
    size_t sp0 = 0, sp1 = 0;
    fd_delivery_span(fd_catalog_rules(t->as->catalog), g->s, &sp0, &sp1);
    for (size_t i = 0; i < n; i++) {
        if (i >= sp0 && i < sp1)
            continue;
        /* digits of a phone number, a date, an amount or an order id */
        size_t at = lo + i;
        int inside = 0;
        for (size_t k = 0; k < t->ents.n && !inside; k++)
            inside = t->ents.v[k].kind != FD_ENT_QUANTITY && t->ents.v[k].kind != FD_ENT_SIZE &&
                     at >= t->ents.v[k].off && at < (size_t)t->ents.v[k].off + t->ents.v[k].len;
        if (inside)
            continue;
        int times = i && tolower((unsigned char)p[i - 1]) == 'x' &&
                    (i < 2 || !isalnum((unsigned char)p[i - 2]));
        if (!isdigit((unsigned char)p[i]) ||
            (i && !times && (isalnum((unsigned char)p[i - 1]) || p[i - 1] == '-')))
            continue;
        size_t j = i;
        while (j < n && isdigit((unsigned char)p[j]))
            j++;
        if (i < skip)
            continue; /* the list item's number */
        /* "2,000": thousands (a comma before exactly three digits) */
        long long v = strtoll(p + i, NULL, 10);
        while (j + 3 < n && p[j] == ',' && isdigit((unsigned char)p[j + 1]) &&
               isdigit((unsigned char)p[j + 2]) && isdigit((unsigned char)p[j + 3]) &&
               (j + 4 == n || !isdigit((unsigned char)p[j + 4])) && v < 10000000) {
            v = v * 1000 + strtoll(p + j + 1, NULL, 10);
            j += 4;
        }
        int x_after = j < n && tolower((unsigned char)p[j]) == 'x' &&
                      (j + 1 == n || !isalnum((unsigned char)p[j + 1]));
        /* "1000pcs", "20pk": a count glued to its noun */
        fd_str glued = {p + j, 0};
        while (j + glued.len < n && isalpha((unsigned char)glued.p[glued.len]))
            glued.len++;
        int glued_count = glued.len && (is_pack_word(glued) || is_unit_word(glued));
        if (!x_after && !glued_count && j < n &&
            (isalpha((unsigned char)p[j]) || p[j] == '-' || p[j] == '"' ||
             (p[j] == '.' && j + 1 < n && isdigit((unsigned char)p[j + 1])) || p[j] == ':' ||
             p[j] == '/'))
            continue; /* 12-inch, 16oz, 12", 3.5, 10:30, 25/12 */
        if (glued_count) {
            if (v <= 0 || v > 10000000)
                continue;
            g->qty = v;
            g->qty_at = p + i;
            g->packs = is_pack_word(glued);
            g->unit = g->packs ? glued : (fd_str){0};
            g->after = glued.p + glued.len;
            return;
        }
        size_t w = j + (size_t)x_after;
        while (w < n && p[w] == ' ')
            w++;
        fd_str next = {p + w, 0};
        while (w + next.len < n && isalpha((unsigned char)next.p[next.len]))
            next.len++;
        int unit = 0;
        for (int k = 0; size_units[k] && !unit; k++)
            unit = lower_eq(next, size_units[k]);
        if (unit && !x_after && !times)
            continue;
        /* "30 days", "2 weeks": a time, no count of goods (dev7: "our
         * payment terms still 30 days right?") */
        int time = 0;
        for (size_t k = 0; time_units[k] && !time; k++)
            time = lower_eq(next, time_units[k]);
        if (time && !x_after && !times)
            continue;
        if (v <= 0 || v > 10000000)
            continue;
        seg c = *g;
        c.qty = v;
        c.qty_at = p + i;
        c.packs = is_pack_word(next);
        c.unit = c.packs ? next : (fd_str){0};
        c.times = x_after || times;
        c.after = p + j + (size_t)x_after;
        /* a count of packs or pieces, or written "x10", is the count; a
         * bare number before it names a size ("PET salad box 750 10pkt",
         * dev7), so it is kept only when no such count follows */
        if (c.times || c.packs || is_unit_word(next)) {
            *g = c;
            return;
        }
        if (!bare.qty)
            bare = c;
    }
    if (bare.qty)
        *g = bare;
}

/* 1 when the word at p (up to end) holds a digit. */
static int digit_word(const char *p, const char *end)
{
    for (; p < end && !isspace((unsigned char)*p) && *p != ','; p++)
        if (isdigit((unsigned char)*p))
            return 1;
    return 0;
}

/* 1 when the word that ends just before p[i] (spaces skipped) is a
 * count ("10pkt", "300") or a unit of one ("pkt", "pcs"). */
static int count_word_before(const char *p, size_t i)
{
    while (i > 0 && isspace((unsigned char)p[i - 1]))
        i--;
    size_t e = i;
    while (i > 0 && isalnum((unsigned char)p[i - 1]))
        i--;
    fd_str w = {p + i, e - i};
    return w.len && (digit_word(w.p, w.p + w.len) || is_pack_word(w) || is_unit_word(w));
}

static int split_segments(const turn *t, seg *v, int max)
{
    /* " n " and " & ": chat shorthand for "and" ("12 pkt cups n 6 pkt
     * lids", "cups 10 pkt & lids 4 pkt"), but only before a word with a
     * digit (a count, a code, a size) or after a count: "hot n fresh",
     * "hot & fresh" is the name of a print */
    static const char *const joins[] = {" and ", " et ",   " plus ", " n ",
                                        " & ",   " with ", " avec ", NULL};
    int with = 0;
    const char *p = t->msg.p;
    size_t n = t->msg.len, start = 0;
    int k = 0;
    for (size_t i = 0; i <= n && k < max; i++) {
        size_t skip = 0;
        if (i == n || p[i] == ';' || p[i] == '\n' || p[i] == '+')
            skip = 1;
        /* a comma, but not the one of "2,000" */
        if (i < n && p[i] == ',' &&
            !(i > 0 && isdigit((unsigned char)p[i - 1]) && i + 1 < n &&
              isdigit((unsigned char)p[i + 1])))
            skip = 1;
        /* a sentence's end: "pizza saver x1. canadian pizza tampines" */
        if (i < n && (p[i] == '.' || p[i] == '!' || p[i] == '?') && i + 1 < n &&
            isspace((unsigned char)p[i + 1]))
            skip = 1;
        int wj = 0;
        for (int j = 0; !skip && joins[j]; j++) {
            size_t l = strlen(joins[j]);
            if (i + l <= n && strncasecmp(p + i, joins[j], l) == 0 &&
                ((j != 3 && j != 4) || digit_word(p + i + l, p + n) || count_word_before(p, i))) {
                skip = l;
                wj = j >= 5; /* " with ", " avec " */
            }
        }
        if (!skip)
            continue;
        if (i > start)
            v[k++] = (seg){.s = {p + start, i - start}, .with = with};
        with = wj;
        start = i + skip;
        i = start - 1;
    }
    return k;
}

/* Fewer than a pack, with no unit word the product's name uses: packs.
 * "pb-1201 x10" (packs of 50) means ten packs, "nitrile gloves 2 boxes"
 * two boxes of a hundred; but "20 cups" of cups sold by 25 means twenty
 * cups (rounded up to a pack, and the summary says so). */
static int counts_packs(const turn *t, const seg *g, const fd_product *p)
{
    if (g->packs || g->pieces || g->qty >= p->pack_size || p->pack_size <= 1)
        return 0;
    size_t lo = (size_t)(g->s.p - t->msg.p), hi = lo + g->s.len;
    for (size_t i = 0; i < t->ents.n; i++) {
        const fd_entity *e = &t->ents.v[i];
        if (e->kind != FD_ENT_QUANTITY || e->off < lo || e->off >= hi || !e->norm)
            continue;
        const char *u = strchr(e->norm, ' ');
        if (!u)
            return 1; /* a bare number */
        u++;
        /* "300 pcs", "50 units": pieces said as pieces are never packs */
        for (size_t k = 0; unit_words[k]; k++)
            if (strcmp(u, unit_words[k]) == 0)
                return 0;
        size_t n = strlen(u);
        while (n > 3 && (u[n - 1] == 's' || u[n - 1] == 'e'))
            n--; /* boxes -> box, cups -> cup */
        char name[256];
        snprintf(name, sizeof name, "%s %s", p->name, p->category);
        for (char *c = name; *c; c++)
            *c = (char)tolower((unsigned char)*c);
        return !memmem(name, strlen(name), u, n);
    }
    if (g->times || !g->after)
        return 1; /* "x10", "10x" */
    /* a bare count before the product's own words ("200 pizza savers") counts
     * those; before others, or none ("pb-1201 10"), packs */
    char name[256];
    snprintf(name, sizeof name, " %s %s ", p->name, p->category);
    for (char *c = name; *c; c++)
        *c = isalnum((unsigned char)*c) ? (char)tolower((unsigned char)*c) : ' ';
    const char *w = g->after, *end = g->s.p + g->s.len;
    for (int k = 0; k < 3 && w < end; k++) {
        while (w < end && !isalnum((unsigned char)*w))
            w++;
        const char *b = w;
        while (w < end && isalpha((unsigned char)*w))
            w++;
        size_t n = (size_t)(w - b);
        if (n && b < end && isdigit((unsigned char)*b))
            break;
        while (n > 3 && (b[n - 1] == 's' || b[n - 1] == 'S'))
            n--; /* savers -> saver */
        char word[40];
        if (n < 3 || n + 3 > sizeof word)
            continue;
        word[0] = ' ';
        for (size_t i = 0; i < n; i++)
            word[i + 1] = (char)tolower((unsigned char)b[i]);
        word[n + 1] = '\0';
        if (strstr(name, word))
            return 0;
    }
    return 1;
}

/* The numbers of a segment that are neither its count nor a size, code,
 * date or time: "black lid 90", "the box for our 5-6 pax pizza". */
static size_t bare_numbers(const turn *t, const seg *g, double *out, size_t cap)
{
    const char *p = g->s.p;
    size_t n = g->s.len, k = 0, lo = (size_t)(p - t->msg.p);
    size_t sp0 = 0, sp1 = 0; /* "friday 2-5": hours of delivery */
    fd_delivery_span(fd_catalog_rules(t->as->catalog), g->s, &sp0, &sp1);
    for (size_t i = 0; i < n && k < cap; i++) {
        if (!isdigit((unsigned char)p[i]) || (i && isdigit((unsigned char)p[i - 1])) ||
            (i >= sp0 && i < sp1))
            continue;
        /* after a letter, a dot or a dash not of a range: a code or a decimal */
        if (i && (isalpha((unsigned char)p[i - 1]) || strchr("._/:$", p[i - 1]) ||
                  (p[i - 1] == '-' && (i < 2 || !isdigit((unsigned char)p[i - 2])))))
            continue;
        size_t j = i;
        while (j < n && isdigit((unsigned char)p[j]))
            j++;
        if (j < n && (isalnum((unsigned char)p[j]) || strchr(".,:/\"'", p[j]) ||
                      (p[j] == '-' && !(j + 1 < n && isdigit((unsigned char)p[j + 1])))))
            continue; /* 12oz, 10pkt, 3.5, 10:30, 12-inch */
        if (p + i == g->qty_at)
            continue;
        size_t w = j;
        while (w < n && p[w] == ' ')
            w++;
        fd_str next = {p + w, 0};
        while (w + next.len < n && isalpha((unsigned char)next.p[next.len]))
            next.len++;
        if (is_pack_word(next) || is_unit_word(next) || lower_eq(next, "x"))
            continue; /* a count */
        int inside = 0;
        for (size_t e = 0; e < t->ents.n && !inside; e++)
            inside = t->ents.v[e].kind != FD_ENT_QUANTITY && t->ents.v[e].kind != FD_ENT_SIZE &&
                     lo + i >= t->ents.v[e].off &&
                     lo + i < (size_t)t->ents.v[e].off + t->ents.v[e].len;
        if (!inside)
            out[k++] = (double)strtoll(p + i, NULL, 10);
    }
    return k;
}

/* Products tied on their words, and a number in the segment besides its
 * count: the ones whose name, size or description hold it ("3 pkt black
 * lid 90" is the 90 mm black lid, not the 80 mm; "the brown box for our
 * 5-6 pax pizza" the box that serves 5 to 6; dev7). -1 on error. */
static int by_numbers(turn *t, seg *g, fd_str words)
{
    double nums[8];
    size_t n = bare_numbers(t, g, nums, 8);
    if (!n)
        return 0;
    const fd_catalog *c = t->as->catalog;
    const fd_product **only = fd_arena_alloc(t->a, (fd_catalog_n_products(c) + 1) * sizeof *only);
    if (!only)
        return -1;
    size_t n_only = fd_catalog_holding(c, nums, n, t->a, only);
    if (!n_only)
        return 0;
    fd_product_match m;
    if (fd_catalog_match(c, words, only, n_only, t->a, &m, t->err))
        return -1;
    int among = 0;
    for (size_t k = 0; m.n && k < g->m.n_tied && !among; k++)
        among = g->m.v[k] == m.v[0];
    if (among && m.n_tied < g->m.n_tied)
        g->m = m;
    return 0;
}

/* The leading size of p ("32 oz (960 ml)": 32 and "oz"); 0 when its size
 * column starts with no number and unit ("fits 12-16 oz", "M"). */
static int size_of(const fd_product *p, double *v, char *unit, size_t cap)
{
    const char *s = p->size ? p->size : "";
    char *end;
    *v = strtod(s, &end);
    if (end == s || *v <= 0)
        return 0;
    while (*end == ' ' || *end == '-')
        end++;
    size_t n = 0;
    while (isalpha((unsigned char)end[n]) && n + 1 < cap) {
        unit[n] = (char)tolower((unsigned char)end[n]);
        n++;
    }
    unit[n] = '\0';
    return n > 0;
}

static void match_only(fd_product_match *m, const fd_product *p);

/* Products tied that differ in size, and a superlative: "the biggest
 * clear round soup tub" is the largest of them (dev7), "the smallest" the
 * least. Only when every candidate was kept and all have a size in one
 * unit. */
/* A superlative that picks a product: the segment's first words, or after
 * a determiner ("the biggest tub", "biggest tub pls", "le plus grand"),
 * not "our largest order" or "un plus grand" (a comparative). */
static int picks_extreme(fd_str f, const char *const *w)
{
    static const char *const det[] = {"the", "le", "la", "les", "that", "those", NULL};
    for (; *w; w++) {
        const char *p = f.p, *end = f.p + f.len;
        size_t n = strlen(*w);
        while ((p = memmem(p, (size_t)(end - p), *w, n)) != NULL) {
            size_t at = (size_t)(p - f.p);
            int whole = (at == 0 || !isalnum((unsigned char)f.p[at - 1])) &&
                        (at + n == f.len || !isalnum((unsigned char)f.p[at + n]));
            size_t e = at;
            while (e > 0 && !isalnum((unsigned char)f.p[e - 1]))
                e--;
            size_t b = e;
            while (b > 0 && isalnum((unsigned char)f.p[b - 1]))
                b--;
            int ok = e == 0;
            for (size_t d = 0; det[d] && !ok; d++)
                ok = strlen(det[d]) == e - b && memcmp(f.p + b, det[d], e - b) == 0;
            if (whole && ok)
                return 1;
            p += n;
        }
    }
    return 0;
}

static void by_extreme(turn *t, seg *g)
{
    static const char *const big[] = {"biggest", "largest", "plus grand", "plus grande", NULL};
    static const char *const small[] = {"smallest", "plus petit", "plus petite", NULL};
    fd_str f;
    if (g->m.n_tied < 2 || g->m.n_tied >= FD_MATCH_MAX || fd_text_fold(g->s, t->a, &f, NULL))
        return;
    int dir = picks_extreme(f, big) ? 1 : picks_extreme(f, small) ? -1 : 0;
    if (!dir)
        return;
    char unit0[16] = "", unit[16];
    const fd_product *best = NULL;
    double bv = 0;
    int ties = 0;
    for (size_t k = 0; k < g->m.n_tied; k++) {
        double v;
        if (!size_of(g->m.v[k], &v, unit, sizeof unit) || (k && strcmp(unit, unit0) != 0))
            return;
        if (!k)
            snprintf(unit0, sizeof unit0, "%s", unit);
        if (!best || (dir > 0 ? v > bv : v < bv)) {
            best = g->m.v[k];
            bv = v;
            ties = 0;
        } else if (v == bv) {
            ties++;
        }
    }
    if (best && !ties)
        match_only(&g->m, best);
}

/* The match narrowed to p alone. */
static void match_only(fd_product_match *m, const fd_product *p)
{
    m->v[0] = p;
    m->n = 1;
    m->n_tied = 1;
    m->ambiguous = 0;
}

static int name_has_word(const char *name, fd_str folded);

/* Of the first `upto` products of m, the one whose own name holds a word
 * of the message; NULL when none or several do. */
static const fd_product *by_own_name(const fd_product_match *m, size_t upto, fd_str words)
{
    const fd_product *p = NULL;
    size_t hits = 0;
    for (size_t j = 0; j < upto && j < m->n; j++)
        if (name_has_word(m->v[j]->name, words)) {
            p = m->v[j];
            hits++;
        }
    return hits == 1 ? p : NULL;
}

/* 1 when one product is made for the other, by the catalog's own words:
 * the lid's description names the container's code ("Lid for CON-R24"),
 * or the cup's size ("Sip lid for 12 oz ... cups"), or the cup's
 * description holds the lid's size ("90 mm rim"). */
static int made_for(const fd_product *a, const fd_product *b)
{
    if (a == b)
        return 0;
    if (a->description && b->code && *b->code && strstr(a->description, b->code))
        return 1;
    if (a->description && b->size && strlen(b->size) >= 3 && strstr(a->description, b->size))
        return 1;
    return b->description && a->size && strlen(a->size) >= 3 && strstr(b->description, a->size);
}

/* "500 cups + 500 of the white sip lids for them", "10 packs of the lids
 * that fit": of the products that fit the words as well (every lid), the
 * one made for a product already in the order, when exactly one is. The
 * whole catalog is looked at, not only the few best of the match: "lids"
 * ties seventeen. Returns nonzero out of memory. */
static int fit_order(turn *t, const order_draft *d, fd_product_match *m, fd_str words)
{
    const fd_catalog *c = t->as->catalog;
    size_t n_all = fd_catalog_n_products(c), k = 0;
    const fd_product **fit = fd_arena_alloc(t->a, (n_all + 1) * sizeof *fit);
    if (!fit)
        return -1;
    for (size_t j = 0; j < n_all; j++) {
        const fd_product *p = fd_catalog_product(c, j);
        int any = 0;
        for (size_t i = 0; i < d->n && !any; i++) {
            const fd_product *q = fd_catalog_by_code(c, d->lines[i].code);
            any = q && (made_for(p, q) || fd_catalog_fits(c, p, q, t->a));
        }
        if (any)
            fit[k++] = p;
    }
    if (!k)
        return 0;
    fd_product_match md;
    if (fd_catalog_match(c, words, fit, k, t->a, &md, t->err))
        return -1;
    /* as good a fit for the words as the best of the whole catalog */
    if (md.n && !md.ambiguous && md.score[0] >= m->score[0] * 0.999 - 1e-3)
        match_only(m, md.v[0]);
    return 0;
}

/* 1 when an earlier message asked about products: a question ("how much
 * for the 8oz single wall cups?"), not a line of the order. */
static int asked_before(const char *text)
{
    static const char *const q[] = {"how", "what", "which", "do", "does", "can", "is", "are", NULL};
    if (strchr(text, '?'))
        return 1;
    for (const char *const *w = q; *w; w++) {
        size_t n = strlen(*w);
        if (strncasecmp(text, *w, n) == 0 && !isalnum((unsigned char)text[n]))
            return 1;
    }
    return 0;
}

/* "how much for the 8oz single wall cups?", "and the double wall 8oz?",
 * then "ok we take single wall, 20 pkt": of the products the words fit as
 * well, the one that the customer's latest question about products
 * narrows to alone (the issue's "the white ones" after a size was named).
 * Only among those tied and only when the earlier words decide, so what is
 * said now is never overridden; an earlier order line is no such context
 * ("8oz double wall" ordered does not make the next cups 8oz). Returns
 * nonzero out of memory. */
static int fit_earlier(turn *t, fd_product_match *m, fd_str words)
{
    const fd_catalog *c = t->as->catalog;
    if (m->n_tied < 2 || m->n_tied >= FD_MATCH_MAX)
        return 0;
    fd_product_match base;
    if (fd_catalog_match(c, words, m->v, m->n_tied, t->a, &base, t->err))
        return -1;
    if (base.n && !base.ambiguous)
        return 0; /* decided without the earlier words: not theirs to decide */
    size_t seen = 0;
    for (size_t i = t->n_history; i-- > 0 && seen < 3;) {
        const fd_prompt_turn *h = &t->history[i];
        if (!h->role || strcmp(h->role, "user") != 0 || !h->text)
            continue;
        seen++;
        if (!asked_before(h->text))
            continue;
        char *both = fd_arena_printf(t->a, "%.*s %s", (int)words.len, words.p, h->text);
        fd_product_match md;
        if (!both || fd_catalog_match(c, fd_str_c(both), m->v, m->n_tied, t->a, &md, t->err))
            return -1;
        if (md.n && !md.ambiguous) {
            match_only(m, md.v[0]);
            return 0;
        }
    }
    return 0;
}

/* The product the customer's last message asked about ("pp rectangular
 * container 750ml, 1 ctn how many pkt ah?"), for a quantity that names
 * none ("ok just give me 10 pkt"): of that message's clauses, the one that
 * names products, the clause naming the customer ("green bowl salads
 * here") left out. 1 with *m and *words (in the history's text), 0 when no
 * question or not one clause, -1 out of memory. */
static int asked_product(turn *t, fd_product_match *m, fd_str *words)
{
    const fd_catalog *c = t->as->catalog;
    for (size_t i = t->n_history; i-- > 0;) {
        const fd_prompt_turn *h = &t->history[i];
        if (!h->role || strcmp(h->role, "user") != 0 || !h->text)
            continue;
        if (!asked_before(h->text))
            return 0; /* only the last message: an older one is no context */
        int found = 0;
        for (const char *p = h->text; *p;) {
            size_t n = strcspn(p, ",.;!?\n");
            fd_str cl = {p, n};
            p += n + (p[n] != 0);
            int amb;
            fd_product_match cm;
            if (n_words(cl) == 0 || fd_catalog_match_outlet(c, cl, NULL, t->a, &amb))
                continue;
            if (fd_catalog_match(c, cl, NULL, 0, t->a, &cm, t->err))
                return -1;
            if (!cm.n)
                continue;
            if (found++)
                return 0; /* two products asked about: which is not said */
            *m = cm;
            *words = cl;
        }
        return found == 1;
    }
    return 0;
}

/* 1 when a word of the message (any case; 3+ letters, a plural "s" or "es"
 * dropped) is a word of the product's name. */
static int name_has_word(const char *name, fd_str folded)
{
    size_t i = 0;
    while (i < folded.len) {
        while (i < folded.len && !isalpha((unsigned char)folded.p[i]))
            i++;
        size_t b = i;
        while (i < folded.len && isalpha((unsigned char)folded.p[i]))
            i++;
        size_t n = i - b;
        if (n > 3 && tolower((unsigned char)folded.p[b + n - 1]) == 's')
            n--;
        if (n > 3 && tolower((unsigned char)folded.p[b + n - 1]) == 'e' &&
            tolower((unsigned char)folded.p[b + n - 2]) == 'x')
            n--; /* boxes -> box */
        if (n < 3)
            continue;
        for (const char *q = name; *q; q++) {
            if (q != name && isalnum((unsigned char)q[-1]))
                continue;
            size_t j = 0;
            while (j < n && q[j] &&
                   tolower((unsigned char)q[j]) == tolower((unsigned char)folded.p[b + j]))
                j++;
            if (j == n && !isalpha((unsigned char)q[n]) && (n > 3 || q[n] == 0 || q[n] == ' '))
                return 1;
            if (j == n && q[n] == 'e' && q[n + 1] == 's' && !isalpha((unsigned char)q[n + 2]))
                return 1;
            if (j == n && q[n] == 's' && !isalpha((unsigned char)q[n + 1]))
                return 1;
        }
    }
    return 0;
}

/* 1 when a word of the message (as name_has_word reads it) is the head
 * of the product's name, the thing it is: the word ends the name or comes
 * before a size, a count or a word that only describes ("Paper hot cup
 * 16oz", "Kraft twisted handle bag medium"). Before another noun it names
 * a part or a fit ("Cup sleeve kraft", "Hot cup lid"): "the cups" of an
 * order of cups, lids and sleeves are the cups. */
static int head_of_name(const char *name, fd_str words)
{
    static const char *const describe[] = {
        "single",       "double",  "wall",  "white",  "black",    "kraft",
        "blue",         "clear",   "small", "medium", "large",    "wrapped",
        "unwrapped",    "printed", "round", "hinged", "recycled", "compostable",
        "individually", "with",    "for",   NULL};
    const char *q = name;
    while (*q) {
        while (*q && !isalpha((unsigned char)*q))
            q++;
        const char *b = q;
        while (*q && isalpha((unsigned char)*q))
            q++;
        if (q == b)
            break;
        char w[48];
        size_t n = (size_t)(q - b) < sizeof w - 1 ? (size_t)(q - b) : sizeof w - 1;
        memcpy(w, b, n);
        w[n] = '\0';
        if (!name_has_word(w, words))
            continue;
        const char *x = q;
        while (*x == ' ')
            x++;
        size_t xn = 0;
        while (isalpha((unsigned char)x[xn]))
            xn++;
        if (!xn || *x == '\0' || isdigit((unsigned char)*x))
            return 1;
        for (size_t k = 0; describe[k]; k++)
            if (strlen(describe[k]) == xn && strncasecmp(x, describe[k], xn) == 0)
                return 1;
    }
    return 0;
}

/* Of the first `upto` products of m, the one whose name has a word of the
 * message as its head (head_of_name); NULL when none or several do. */
static const fd_product *by_head(const fd_product_match *m, size_t upto, fd_str words)
{
    const fd_product *p = NULL;
    size_t hits = 0;
    for (size_t j = 0; j < upto && j < m->n; j++)
        if (head_of_name(m->v[j]->name, words)) {
            p = m->v[j];
            hits++;
        }
    return hits == 1 ? p : NULL;
}

/* Words that fit a line of the order as well as anything in the catalog
 * mean that line ("mettez 15 paquets de bols" when the order has one
 * bowl); each segment a line of its own, so one that fits two lines takes
 * the one no other segment took ("15 bols et 15 couvercles": the bowl and
 * the bowl lid). Returns nonzero out of memory. */
static int lines_of_order(turn *t, const order_draft *d, seg *v, int n, const char *bl)
{
    const fd_catalog *c = t->as->catalog;
    const fd_product *mine[ORDER_MAX_LINES];
    size_t k = 0;
    for (size_t j = 0; j < d->n; j++)
        if ((mine[k] = fd_catalog_by_code(c, d->lines[j].code)))
            k++;
    fd_product_match md[MAX_SEGS];
    int use[MAX_SEGS] = {0};
    for (int i = 0; i < n; i++) {
        seg *g = &v[i];
        if (!g->qty || !g->m.n || g->m.exact)
            continue;
        if (fd_catalog_match(c, (fd_str){bl + (g->s.p - t->msg.p), g->s.len}, mine, k, t->a, &md[i],
                             t->err))
            return -1;
        if (!md[i].n || md[i].score[0] < g->m.score[0] * 0.999 - 1e-3)
            continue;
        /* "make the boxes 300 pcs": of the order's pizza box and pizza
         * saver (both "pizza boxes" by category), the one whose own name
         * says "box" */
        fd_str gw = {bl + (g->s.p - t->msg.p), g->s.len};
        const fd_product *by_name = md[i].n > 1 ? by_own_name(&md[i], md[i].n, gw) : NULL;
        if (!by_name && md[i].n > 1) {
            /* of those tied, the one the words are the head of */
            size_t nt = 1;
            while (nt < md[i].n && md[i].score[nt] >= md[i].score[0] * 0.999 - 1e-3)
                nt++;
            by_name = by_head(&md[i], nt, gw);
        }
        if (by_name) {
            match_only(&md[i], by_name);
            use[i] = 1;
            continue;
        }
        /* among the order's lines, an equal share is a tie whatever the
         * cover ("bowl" is as much the bowl as the bowl's lid) */
        md[i].n_tied = 1;
        while (md[i].n_tied < md[i].n && md[i].score[md[i].n_tied] >= md[i].score[0] * 0.999 - 1e-3)
            md[i].n_tied++;
        md[i].ambiguous = md[i].n_tied > 1;
        use[i] = md[i].ambiguous ? 2 : 1;
    }
    for (int i = 0; i < n; i++) {
        if (use[i] != 2)
            continue;
        const fd_product *left = NULL;
        size_t n_left = 0;
        for (size_t j = 0; j < md[i].n_tied && j < md[i].n; j++) {
            int taken = 0;
            for (int o = 0; o < n && !taken; o++)
                taken = o != i && use[o] == 1 && md[o].v[0] == md[i].v[j];
            if (!taken) {
                left = md[i].v[j];
                n_left++;
            }
        }
        if (n_left == 1) {
            match_only(&md[i], left);
            use[i] = 1;
        }
    }
    for (int i = 0; i < n; i++)
        if (use[i] == 1)
            v[i].m = md[i];
    return 0;
}

/* Lines named in the message, one per segment ("10 packs 16oz cups, 3
 * packs lids and 1 pack stirrers"); a product and its quantity split by a
 * comma ("PET salad box 750ml, 10 packs") are one line. Returns how many
 * were understood (added, changed or waiting for a choice). */
/* 1 + the index of the one line of the order whose product the words
 * name (matched among the order's products only), 0 when none or several
 * do, -1 out of memory. */
static int named_line(turn *t, const order_draft *d, fd_str words)
{
    const fd_catalog *c = t->as->catalog;
    const fd_product *mine[ORDER_MAX_LINES];
    size_t k = 0;
    for (size_t j = 0; j < d->n; j++)
        if ((mine[k] = fd_catalog_by_code(c, d->lines[j].code)))
            k++;
    fd_product_match m;
    if (k < 2)
        return 0;
    if (fd_catalog_match(c, words, mine, k, t->a, &m, t->err))
        return -1;
    /* tied on the category ("boxes": the pizza box and the pizza saver
     * are both "pizza boxes"): the one whose own name holds a word */
    const fd_product *p = !m.n ? NULL : m.ambiguous ? by_own_name(&m, m.n_tied, t->folded) : m.v[0];
    if (!p && m.n && m.ambiguous)
        p = by_head(&m, m.n_tied, words);
    for (size_t j = 0; p && j < d->n; j++)
        if (strcmp(d->lines[j].code, p->code) == 0)
            return (int)j + 1;
    return 0;
}

/* "make it 5 packs bowls, and add 5 pkt lids for them": in a message that
 * also sets a quantity ("make it", "change", "only"), a word of adding
 * ("add", "more") belongs to its own segment, so the bowls are set to 5
 * packs, not 5 packs more; otherwise it counts for every line. */
static int seg_more(const turn *t, const seg *g, int more)
{
    static const char *const set_words[] = {"make",   "change", "instead", "only",
                                            "mettez", "plutot", NULL};
    if (!more || !any_word(t->folded, set_words))
        return more;
    for (size_t i = 0; i < g->s.len;) {
        while (i < g->s.len && !isalpha((unsigned char)g->s.p[i]))
            i++;
        size_t b = i;
        while (i < g->s.len && isalpha((unsigned char)g->s.p[i]))
            i++;
        for (size_t k = 0; more_words[k]; k++)
            if (i > b && lower_eq((fd_str){g->s.p + b, i - b}, more_words[k]))
                return 1;
    }
    return 0;
}

/* 1 when the segment says its quantity is the one before: "same qty",
 * "the same amount", "same number of packs", or "same" alone. */
static int same_qty(fd_str s)
{
    static const char *const what[] = {"qty",   "quantity", "quantities", "amount", "number",
                                       "count", "pkt",      "packs",      "pcs",    NULL};
    const char *p = s.p, *end = s.p + s.len;
    int same = 0, words = 0;
    for (const char *q = p; q < end;) {
        while (q < end && !isalpha((unsigned char)*q))
            q++;
        const char *b = q;
        while (q < end && isalpha((unsigned char)*q))
            q++;
        if (q == b)
            break;
        words++;
        fd_str w = {b, (size_t)(q - b)};
        if (same) {
            for (size_t k = 0; what[k]; k++)
                if (lower_eq(w, what[k]))
                    return 1;
            same = lower_eq(w, "the") || lower_eq(w, "of") ? same : 0;
        }
        if (lower_eq(w, "same"))
            same = 1;
    }
    return same && words == 1;
}

/* 1 when s is only a size and a count ("1000ml 10 pkt", "16 oz x5"): a
 * product named by its size alone, after another of the same kind. */
static int size_and_count(fd_str s)
{
    static const char *const sizes[] = {"oz", "ml", "l", "inch", "in", "mm", "cm", NULL};
    static const char *const fill[] = {"x", "of", "pls", "please", "also", "and", "for", NULL};
    int size = 0, last_num = 0;
    for (size_t i = 0; i < s.len;) {
        if (!isalnum((unsigned char)s.p[i])) {
            i++;
            continue;
        }
        size_t b = i, dg;
        while (i < s.len && isdigit((unsigned char)s.p[i]))
            i++;
        dg = i;
        while (i < s.len && isalpha((unsigned char)s.p[i]))
            i++;
        fd_str w = {s.p + dg, i - dg};
        int unit = 0;
        for (size_t k = 0; sizes[k] && !unit; k++)
            unit = lower_eq(w, sizes[k]);
        if (unit && (dg > b || last_num))
            size = 1; /* "1000ml", "16 oz" */
        else if (dg > b && (!w.len || is_pack_word(w) || is_unit_word(w) || lower_eq(w, "x")))
            ; /* "10", "10pkt", "5x" */
        else if (!(dg == b && (is_pack_word(w) || is_unit_word(w) || in_words(fill, w.p, w.len))))
            return 0;
        last_num = dg > b && !w.len;
        if (i == b)
            i++; /* a letter or digit of no word: not reached, but never stuck */
    }
    return size;
}

static int read_lines(turn *t, order_draft *d, int *err)
{
    const fd_catalog *c = t->as->catalog;
    int more = any_word(t->folded, more_words), got = 0;
    *err = 0;
    seg v[MAX_SEGS];
    int n = split_segments(t, v, MAX_SEGS), any_qty = 0;
    for (int i = 0; i < n; i++) {
        seg_qty(t, &v[i]);
        if (!v[i].qty && i && same_qty(v[i].s))
            for (int j = i - 1; j >= 0 && !v[i].qty; j--)
                if (v[j].qty) {
                    /* "10 pkt cups, lids same qty": the count before */
                    v[i].qty = v[j].qty;
                    v[i].packs = v[j].packs;
                    v[i].unit = (fd_str){0};
                    v[i].after = NULL;
                    v[i].same_as = j + 1;
                }
        any_qty |= v[i].qty > 0;
    }
    /* no quantity, no line: most messages ("hello", a question) stop here
     * without matching the catalog (it cost 10% of a template turn) */
    if (!any_qty)
        return 0;
    /* products are matched without the pack words of the quantities: "2
     * cartons of ripple cups" names cups, not the boxes "carton" means */
    char *bl = fd_arena_strndup(t->a, t->msg.p, t->msg.len);
    if (!bl) {
        *err = 1;
        return 0;
    }
    for (int i = 0; i < n; i++)
        if (v[i].unit.len)
            memset(bl + (v[i].unit.p - t->msg.p), ' ', v[i].unit.len);
#define MT(x) ((fd_str){bl + ((x).p - t->msg.p), (x).len})
    for (int i = 0; i < n; i++) {
        if (fd_catalog_match(c, MT(v[i].s), NULL, 0, t->a, &v[i].m, t->err)) {
            *err = 1;
            return 0;
        }
    }
    for (int i = 1; i < n; i++) {
        const seg *o = &v[i - 1];
        if (v[i].qty && o->qty && o->m.n && !o->m.ambiguous && size_and_count(v[i].s)) {
            /* "pp container 750ml 30 pkt, 1000ml 10 pkt": the product
             * before in the new size, not whatever else has that size */
            fd_product_match to;
            if (fd_catalog_variant(c, o->m.v[0], MT(v[i].s), t->a, &to, t->err)) {
                *err = 1;
                return 0;
            }
            if (to.n && !to.ambiguous)
                v[i].m = to;
        }
    }
    for (int i = 0; i < n; i++) {
        const seg *o = v[i].same_as ? &v[v[i].same_as - 1] : NULL;
        if (o && o->packs && o->m.n && !o->m.ambiguous) {
            /* as many pieces as the line before: a lid for each cup, even
             * when lids come in packs of 100 and cups of 50 */
            v[i].qty = o->qty * o->m.v[0]->pack_size;
            v[i].packs = 0;
            v[i].pieces = 1;
        }
    }
    for (int i = 0; i + 1 < n; i++) {
        seg *a = &v[i], *b = &v[i + 1];
        if (b->with && !(a->qty && b->qty) && (a->m.n || b->m.n)) {
            /* "container with lid - 10 packs", "cups with lids": what
             * follows "with" describes the product, unless it has its own
             * quantity ("10 packs of cups with 5 packs of lids") */
            fd_product_match both;
            fd_str s = {a->s.p, (size_t)(b->s.p + b->s.len - a->s.p)};
            if (fd_catalog_match(c, MT(s), NULL, 0, t->a, &both, t->err)) {
                *err = 1;
                return 0;
            }
            if (both.n) {
                a->s = s;
                a->m = both;
                if (!a->qty) {
                    a->qty = b->qty;
                    a->packs = b->packs;
                }
                memmove(b, b + 1, (size_t)(n - i - 2) * sizeof *b);
                n--;
                i--;
                continue;
            }
        }
        if (a->qty && a->m.ambiguous && !b->qty && b->m.n) {
            /* "10 cartons of the black ripple cups, 12 oz": the words after
             * the comma finish the product */
            fd_product_match both;
            fd_str s = {a->s.p, (size_t)(b->s.p + b->s.len - a->s.p)};
            if (fd_catalog_match(c, MT(s), NULL, 0, t->a, &both, t->err)) {
                *err = 1;
                return 0;
            }
            if (both.n && both.n_tied < a->m.n_tied) {
                a->m = both;
                a->s = s;
                b->m.n = 0;
            }
            continue;
        }
        if (!a->qty && a->m.n && !b->qty && b->m.n && i + 2 < n && v[i + 2].qty && !v[i + 2].m.n) {
            /* "the paper bag with twisted handle, medium, 2 pkt": words
             * that narrow the product (to one it may have been), then its
             * quantity alone */
            fd_product_match both;
            fd_str s = {a->s.p, (size_t)(b->s.p + b->s.len - a->s.p)};
            if (fd_catalog_match(c, MT(s), NULL, 0, t->a, &both, t->err)) {
                *err = 1;
                return 0;
            }
            int among = 0;
            for (size_t k = 0; both.n && k < a->m.n && !among; k++)
                among = a->m.v[k] == both.v[0];
            if (both.n && (both.n_tied < a->m.n_tied || (!both.ambiguous && among))) {
                a->m = both;
                a->s = s;
                memmove(b, b + 1, (size_t)(n - i - 2) * sizeof *b);
                n--;
                i--;
                continue;
            }
        }
        if ((a->m.n && !a->qty && b->qty && !b->m.n) || (a->qty && !a->m.n && b->m.n && !b->qty)) {
            if (!a->qty) {
                a->qty = b->qty;
                a->packs = b->packs;
                a->pieces = b->pieces;
            } else {
                a->m = b->m;
            }
            b->qty = 0;
            b->m.n = 0;
        }
    }
    if (d->n && lines_of_order(t, d, v, n, bl)) {
        *err = 1;
        return 0;
    }
    for (int i = 0; i < n; i++) {
        seg *g = &v[i];
        if (!g->qty)
            continue;
        if (!g->m.n) {
            /* "make it 14 packs", "add 50 more": the last line */
            int alone = 1; /* no other line in the message */
            for (int o = 0; o < n && alone; o++)
                alone = o == i || (!v[o].qty && !v[o].m.n);
            if (!d->n && !d->n_pend && alone) {
                /* "pp container 750ml, how many pkt in a ctn?" then "ok
                 * just give me 10 pkt": the product asked about */
                fd_product_match am;
                fd_str aw;
                int r = asked_product(t, &am, &aw);
                if (r < 0) {
                    *err = 1;
                    return 0;
                }
                if (r && am.ambiguous) {
                    set_pending(d, &am, aw);
                    d->pend_qty = g->packs ? -g->qty : g->qty;
                    got++;
                } else if (r) {
                    const fd_product *p = am.v[0];
                    add_line(d, p->code, g->packs ? g->qty * p->pack_size : g->qty, 0);
                    got++;
                }
                continue;
            }
            if (d->n && alone) {
                /* "make the boxes 300 pcs instead": the line its words
                 * name when one does, else the last one */
                order_line *l = &d->lines[d->n - 1];
                int named = named_line(t, d, MT(g->s));
                if (named < 0) {
                    *err = 1;
                    return 0;
                }
                if (named > 0)
                    l = &d->lines[named - 1];
                const fd_product *p = fd_catalog_by_code(c, l->code);
                int64_t q = g->packs && p ? g->qty * p->pack_size : g->qty;
                l->qty = seg_more(t, g, more) ? l->qty + q : q;
                got++;
            }
            continue;
        }
        if (g->m.ambiguous && !g->m.exact && by_numbers(t, g, MT(g->s)) < 0) {
            *err = 1;
            return 0;
        }
        if (g->m.ambiguous && !g->m.exact)
            by_extreme(t, g);
        if (g->m.ambiguous && !g->m.exact && d->n && fit_order(t, d, &g->m, MT(g->s))) {
            *err = 1;
            return 0;
        }
        if (g->m.ambiguous && !g->m.exact && fit_earlier(t, &g->m, MT(g->s))) {
            *err = 1;
            return 0;
        }
        if (g->m.ambiguous && !g->m.exact) {
            if (!d->n_pend) {
                set_pending(d, &g->m, g->s);
                d->pend_qty = g->packs ? -g->qty : g->qty; /* negative: packs */
                got++;
            }
            continue;
        }
        const fd_product *p = g->m.v[0];
        int64_t q = g->packs || counts_packs(t, g, p) ? g->qty * p->pack_size : g->qty;
        if (add_line(d, p->code, q, seg_more(t, g, more)) == 0)
            got++;
    }
    return got;
}
#undef MT

/* "the compostable pla one", "the black ones": "the", up to four words,
 * then "one(s)", with no count in the message. A product like one
 * ordered, named by what tells it apart: the customer choosing among its
 * look-alikes after seeing which we took. */
static int the_one(fd_str f)
{
    for (size_t i = 0; i < f.len; i++)
        if (isdigit((unsigned char)f.p[i]))
            return 0;
    for (size_t i = 0; i + 4 <= f.len; i++) {
        if (memcmp(f.p + i, "the ", 4) != 0 || (i && isalnum((unsigned char)f.p[i - 1])))
            continue;
        size_t j = i + 4;
        for (int w = 0; w <= 4 && j < f.len; w++) {
            size_t b = j;
            while (j < f.len && isalpha((unsigned char)f.p[j]))
                j++;
            fd_str x = {f.p + b, j - b};
            if (w > 0 && (lower_eq(x, "one") || lower_eq(x, "ones")))
                return 1;
            if (j == b || j >= f.len || f.p[j] != ' ')
                break;
            j++;
        }
    }
    return 0;
}

/* The first of words w at a word's start in f from `from`; its length in
 * *n. */
static const char *find_words(fd_str f, size_t from, const char *const *w, size_t *n)
{
    const char *best = NULL;
    for (; *w; w++) {
        size_t l = strlen(*w);
        for (size_t i = from; i + l <= f.len; i++) {
            if (memcmp(f.p + i, *w, l) != 0 || (i && isalnum((unsigned char)f.p[i - 1])) ||
                (i + l < f.len && isalnum((unsigned char)f.p[i + l])))
                continue;
            if (!best || f.p + i < best)
                best = f.p + i, *n = l;
            break;
        }
    }
    return best;
}

/* "change the 12oz single wall to the double wall", "replace the paper
 * straws with the plastic ones", "the bowls should be the 1000ml ones not
 * the 750", "kraft lids instead of the clear ones": one line of the order
 * (the words of the old side, among the order's lines) replaced by the
 * product the new side names (the whole catalog; a code, or a variant of
 * the old line), its quantity in pieces kept unless the new side's
 * sentence gives a count with its unit ("same 3 pkt"). Both sides
 * must name one product each; else 0 and the other readers try (dev8). */
static int read_replace(turn *t, order_draft *d, int *err)
{
    static const char *const verbs[] = {"change",  "switch",    "swap",      "replace", "changer",
                                        "changez", "remplacer", "remplacez", NULL};
    static const char *const joins[] = {"to", "with", "for", "by", "into", "par", "pour", NULL};
    static const char *const should[] = {"should be", "shld be",        "should have been",
                                         "must be",   "supposed to be", "devrait etre",
                                         NULL};
    static const char *const instead[] = {"instead of", "rather than", "au lieu de", "au lieu des",
                                          NULL};
    static const char *const stop_new[] = {"not", "pas", "instead", "plutot", NULL};
    const fd_catalog *c = t->as->catalog;
    fd_str f = t->folded;
    *err = 0;
    if (d->n == 0 || f.len != t->msg.len) /* folding moved the offsets */
        return 0;
    size_t nl = 0, ob = 0, oe = 0, nb = 0, ne = 0, n = 0;
    const char *v = find_words(f, 0, verbs, &n), *j;
    if (v && (j = find_words(f, (size_t)(v - f.p) + n, joins, &nl)) != NULL) {
        ob = (size_t)(v - f.p) + n, oe = (size_t)(j - f.p);
        nb = oe + nl, ne = f.len;
    } else if ((j = find_words(f, 0, should, &n)) != NULL) {
        oe = (size_t)(j - f.p), ob = oe;
        while (ob > 0 && !strchr(",.;!?\n", f.p[ob - 1]))
            ob--;
        nb = oe + n, ne = f.len;
    } else if ((j = find_words(f, 0, instead, &n)) != NULL) {
        ne = (size_t)(j - f.p), nb = ne;
        while (nb > 0 && !strchr(",.;!?\n", f.p[nb - 1]))
            nb--;
        ob = ne + n, oe = ob;
        while (oe < f.len && !strchr(",.;!?\n", f.p[oe]))
            oe++;
    } else {
        return 0;
    }
    /* the new side ends with its clause, or where it says what it is not */
    size_t cut = nb;
    while (cut < ne && !strchr(",.;!?\n", f.p[cut]))
        cut++;
    ne = cut;
    const char *x = find_words((fd_str){f.p, ne}, nb, stop_new, &n);
    if (x)
        ne = (size_t)(x - f.p);
    if (oe <= ob || ne <= nb)
        return 0;
    fd_str old_w = {t->msg.p + ob, oe - ob}, new_w = {t->msg.p + nb, ne - nb};
    const fd_product *mine[ORDER_MAX_LINES];
    size_t k = 0;
    for (size_t i = 0; i < d->n; i++)
        if ((mine[k] = fd_catalog_by_code(c, d->lines[i].code)))
            k++;
    fd_product_match m;
    if (fd_catalog_match(c, old_w, mine, k, t->a, &m, t->err)) {
        *err = 1;
        return 0;
    }
    /* "the bowl" with a bowl and a bowl lid: the line whose name has the
     * word as its head, as a swap takes it */
    const fd_product *from = by_head(&m, m.n, old_w);
    if (!from)
        from = !m.n ? NULL : !m.ambiguous ? m.v[0] : by_head(&m, m.n_tied, old_w);
    if (!from)
        return 0;
    /* the new side: a code; else the product like the old line that its
     * words name ("with wooden forks", "to 1000ml"); else the one product
     * they name in the whole catalog */
    fd_product_match to;
    if (fd_catalog_match(c, new_w, NULL, 0, t->a, &to, t->err)) {
        *err = 1;
        return 0;
    }
    const fd_product *p = to.n && to.exact ? to.v[0] : NULL;
    const fd_product *any = to.n && !to.ambiguous ? to.v[0] : NULL;
    if (!p) {
        if (fd_catalog_variant(c, from, new_w, t->a, &to, t->err)) {
            *err = 1;
            return 0;
        }
        p = !to.n ? NULL : !to.ambiguous ? to.v[0] : by_own_name(&to, to.n_tied, new_w);
    }
    if (!p || p == from)
        p = any;
    if (!p || p == from)
        return 0;
    /* a count of the new side's sentence with its pack or unit word ("with
     * wooden forks, 4 pkt"): the new line's; else the old line's pieces */
    int64_t said = 0;
    size_t se = nb;
    while (se < f.len && !strchr(".;!?\n", f.p[se]))
        se++;
    for (size_t i = nb; i < se && !said; i++) {
        if (!isdigit((unsigned char)f.p[i]) || (i > nb && isalnum((unsigned char)f.p[i - 1])))
            continue;
        int64_t num = 0;
        size_t q = i;
        while (q < se && isdigit((unsigned char)f.p[q]) && num < 1000000)
            num = num * 10 + (f.p[q++] - '0');
        if (q < se && isdigit((unsigned char)f.p[q]))
            continue;
        size_t wb = q;
        while (wb < se && f.p[wb] == ' ')
            wb++;
        size_t we = wb;
        while (we < se && isalpha((unsigned char)f.p[we]))
            we++;
        fd_str w = {f.p + wb, we - wb};
        if (num > 0 && w.len && is_pack_word(w))
            said = num * p->pack_size;
        else if (num > 0 && w.len && is_unit_word(w))
            said = num;
        i = q;
    }
    for (size_t i = 0; i < d->n; i++)
        if (strcmp(d->lines[i].code, from->code) == 0) {
            int64_t qty = said ? said : d->lines[i].qty;
            memmove(&d->lines[i], &d->lines[i + 1], (d->n - i - 1) * sizeof *d->lines);
            d->n--;
            add_line(d, p->code, qty, 1);
            return 1;
        }
    return 0;
}

/* "change the lids to black", "the kraft ones instead": a line of the
 * order swapped for the product like it that the new words name (the
 * black lid of the same size), its quantity kept. */
static int read_swap(turn *t, order_draft *d, int *err)
{
    static const char *const cues[] = {"change", "switch", "swap", "instead", "replace", "rather",
                                       "make", "prefer", "plutot", "remplacer", "remplacez",
                                       "changer", "changez", "au lieu",
                                       /* a correction: "no wait, 16oz", "sorry, the black ones" */
                                       "no", "sorry", "actually", "oops", "meant", "mistake",
                                       "wrong", "en fait", "pardon", "non", NULL};
    const fd_catalog *c = t->as->catalog;
    *err = 0;
    if (!d->n || !(any_word(t->folded, cues) || the_one(t->folded)) ||
        fd_delivery_window(fd_catalog_rules(c), t->folded))
        return 0;
    for (size_t i = 0; i < t->ents.n; i++)
        if (t->ents.v[i].kind == FD_ENT_DATE)
            return 0; /* "change to friday": the date */
    const fd_product *mine[ORDER_MAX_LINES];
    size_t k = 0;
    for (size_t j = 0; j < d->n; j++)
        if ((mine[k] = fd_catalog_by_code(c, d->lines[j].code)))
            k++;
    fd_product_match m;
    if (fd_catalog_match(c, t->msg, mine, k, t->a, &m, t->err)) {
        *err = 1;
        return 0;
    }
    const fd_product *from = m.n && !m.ambiguous ? m.v[0] : !m.n && k == 1 ? mine[0] : NULL;
    /* "change the bowl to 1000ml" with a bowl and a bowl lid: the bowl,
     * whose name has the word as its head */
    /* "change the bowl to 1000ml" with a bowl and a bowl lid: the line
     * whose name has a word of the message as its head (the new size
     * fits neither line, so the match may come back empty) */
    if (!from && (m.ambiguous || !m.n)) {
        fd_product_match ours = {.n = k};
        for (size_t j = 0; j < k && j < FD_MATCH_MAX; j++)
            ours.v[j] = mine[j];
        from = m.n ? by_head(&m, m.n_tied, t->folded) : by_head(&ours, k, t->folded);
    }
    if (!from)
        return 0;
    fd_product_match to;
    if (fd_catalog_variant(c, from, t->msg, t->a, &to, t->err)) {
        *err = 1;
        return 0;
    }
    /* "the white one" for the 12-inch kraft box: the white box, not the
     * printed one that is white only in its material */
    const fd_product *p = !to.n           ? NULL
                          : !to.ambiguous ? to.v[0]
                                          : by_own_name(&to, to.n_tied, t->folded);
    if (!p)
        return 0;
    for (size_t i = 0; i < d->n; i++)
        if (strcmp(d->lines[i].code, from->code) == 0) {
            int64_t qty = d->lines[i].qty;
            memmove(&d->lines[i], &d->lines[i + 1], (d->n - i - 1) * sizeof *d->lines);
            d->n--;
            add_line(d, p->code, qty, 1);
            return 1;
        }
    return 0;
}

/* A bare number after "make it" / "instead" / "change": the last line's
 * quantity (the entity finder wants a unit, "make it 300" has none). */
static int read_requantity(turn *t, order_draft *d, int *err)
{
    static const char *const cues[] = {"make it", "instead", "change",     "only",
                                       "plutot",  "mettez",  "finalement", NULL};
    *err = 0;
    if (!d->n || !any_word(t->folded, cues))
        return 0;
    for (size_t i = 0; i < t->folded.len; i++)
        if (isdigit((unsigned char)t->folded.p[i]) &&
            (i == 0 || !isalnum((unsigned char)t->folded.p[i - 1]))) {
            char *end;
            long long v = strtoll(t->folded.p + i, &end, 10);
            if (v <= 0 || v >= 10000000)
                continue;
            /* "change the bowl to 1000ml": a size, no count ("300pcs" is) */
            fd_str glued = {end, 0};
            while (glued.p + glued.len < t->folded.p + t->folded.len &&
                   isalpha((unsigned char)glued.p[glued.len]))
                glued.len++;
            if (glued.len && !is_pack_word(glued) && !is_unit_word(glued))
                continue;
            /* "make the boxes 300 pcs instead": the line named, if one is */
            int named = named_line(t, d, t->msg);
            if (named < 0) {
                *err = 1;
                return 0;
            }
            order_line *l = &d->lines[named > 0 ? named - 1 : (int)d->n - 1];
            /* "make it 6 packs": packs of the line's product */
            const fd_product *p = fd_catalog_by_code(t->as->catalog, l->code);
            while (*end == ' ')
                end++;
            int packs = p && p->pack_size > 1 && pack_word_at(end);
            l->qty = packs ? v * p->pack_size : v;
            return 1;
        }
    return 0;
}

/* "also 10 pkt of the small sleeves for them" while "which cup?" waits:
 * a quantity of its own and one product, not among those shown (the list
 * was whole), is a new line for read_lines, and the question stays. Before
 * issue 15's fix it was read as the answer: the sleeves took the cups'
 * quantity and the cups were dropped. */
static int new_line(turn *t, const order_draft *d, int *err)
{
    int qty = 0;
    for (size_t i = 0; i < t->ents.n && !qty; i++)
        qty = t->ents.v[i].kind == FD_ENT_QUANTITY && t->ents.v[i].value > 0;
    if (!qty)
        return 0;
    fd_product_match alone;
    if (fd_catalog_match(t->as->catalog, t->msg, NULL, 0, t->a, &alone, t->err)) {
        *err = 1;
        return 1;
    }
    if (!alone.n || (alone.ambiguous && !alone.exact))
        return 0;
    for (size_t i = 0; i < d->n_pend; i++)
        if (strcmp(d->pend[i], alone.v[0]->code) == 0)
            return 0;
    return 1;
}

static int read_choice(turn *t, order_draft *d, int *err)
{
    *err = 0;
    if (!d->n_pend)
        return 0;
    const fd_product *only[FD_MATCH_MAX];
    size_t n = 0;
    for (size_t i = 0; i < d->n_pend; i++)
        if ((only[n] = fd_catalog_by_code(t->as->catalog, d->pend[i])))
            n++;
    fd_product_match m = {0};
    /* the list shown was whole: choose in it; else it held examples only,
     * and the answer may name one not shown */
    if (!d->pend_more &&
        (!n || fd_catalog_match(t->as->catalog, t->msg, only, n, t->a, &m, t->err))) {
        *err = n != 0;
        return 0;
    }
    if (!m.n || (m.ambiguous && !m.exact)) {
        if (!d->pend_more && new_line(t, d, err))
            return 0;
        /* not among those shown: the whole catalog, with the words that
         * named the product ("lids" + "the 90mm black ones") */
        char *both = fd_arena_printf(t->a, "%s %.*s", d->pend_words, (int)t->msg.len, t->msg.p);
        if (!both || fd_catalog_match(t->as->catalog, fd_str_c(both), NULL, 0, t->a, &m, t->err)) {
            *err = 1;
            return 0;
        }
        if (!m.n)
            return 0;
        if (m.ambiguous && !m.exact) {
            int same = 1; /* the same candidates again: nothing learned */
            for (size_t k = 0; k < m.n_tied && k < FD_MATCH_MAX && same; k++) {
                size_t j = 0;
                while (j < d->n_pend && strcmp(d->pend[j], m.v[k]->code) != 0)
                    j++;
                same = j < d->n_pend;
            }
            if (same && m.n_tied >= d->n_pend)
                return 0;
            set_pending(d, &m, fd_str_c(d->pend_words)); /* fewer now: ask again */
            return 1;
        }
    }
    int64_t qty = d->pend_qty < 0 ? -d->pend_qty * m.v[0]->pack_size : d->pend_qty;
    /* "the double wall, 250pcs": the answer's own count, said with its
     * unit, replaces the one asked with ("option 2" is no count) */
    seg g = {.s = t->msg};
    seg_qty(t, &g);
    const char *u = g.after;
    while (g.qty && u && u > t->msg.p && isalpha((unsigned char)u[-1]))
        u--;
    fd_str unit = {u, g.after ? (size_t)(g.after - u) : 0};
    if (g.qty && unit.len && (is_pack_word(unit) || is_unit_word(unit)))
        qty = is_pack_word(unit) ? g.qty * m.v[0]->pack_size : g.qty;
    add_line(d, m.v[0]->code, qty, 0);
    d->n_pend = 0;
    d->pend_qty = 0;
    return 1;
}

/* The message with what it rules out blanked, to the end of its clause:
 * "for our tampines outlet not pasir ris", "Tampines, pas Pasir Ris". */
static fd_str without_negated(turn *t)
{
    static const char *const neg[] = {"not",        "instead of", "rather than", "pas",
                                      "au lieu de", "plutot que", "isn't",       "isnt",
                                      "n'est pas",  NULL};
    fd_str f = t->folded;
    if (f.len != t->msg.len || !any_word(f, neg))
        return t->msg; /* folding changed the offsets: the message as it is */
    char *m = fd_arena_strndup(t->a, t->msg.p, t->msg.len);
    if (!m)
        return t->msg;
    for (const char *const *w = neg; *w; w++) {
        size_t n = strlen(*w);
        for (size_t i = 0; i + n <= f.len; i++) {
            if (memcmp(f.p + i, *w, n) != 0 || (i && isalnum((unsigned char)f.p[i - 1])) ||
                (i + n < f.len && isalnum((unsigned char)f.p[i + n])))
                continue;
            size_t j = i;
            while (j < f.len && !strchr(",.;!?\n", f.p[j]) &&
                   !(j > i &&
                     (strncmp(f.p + j, " but ", 5) == 0 || strncmp(f.p + j, " mais ", 6) == 0)))
                m[j++] = ' ';
            i = j;
        }
    }
    return (fd_str){m, t->msg.len};
}

/* The customer the conversation knows: the draft's, else the one the
 * latest earlier message names ("canadian pizza", asked which outlet), so
 * that its site alone answers ("sorry, tampines"); NULL when none is. */
static const char *known_customer(turn *t, const order_draft *d)
{
    if (d->customer_id[0])
        return d->customer_id;
    if (d->named[0])
        return d->named; /* asked which of its outlets, however long ago */
    for (size_t i = t->n_history; i-- > 0;) {
        const fd_prompt_turn *h = &t->history[i];
        if (!h->role || strcmp(h->role, "user") != 0 || !h->text)
            continue;
        int amb;
        const fd_outlet *o =
            fd_catalog_match_outlet(t->as->catalog, fd_str_c(h->text), NULL, t->a, &amb);
        if (o)
            return o->customer_id;
    }
    return NULL;
}

/* 1 when the word w is in the name of a site of o's customer. */
static int site_of(const fd_catalog *c, const fd_outlet *o, fd_str w)
{
    for (size_t i = 0; i < fd_catalog_n_outlets(c); i++) {
        const fd_outlet *x = fd_catalog_outlet(c, i);
        if (strcmp(x->customer_id, o->customer_id) == 0 && name_has_word(x->outlet, w))
            return 1;
    }
    return 0;
}

/* "canadian pizza woodlands branch", "lotus noodle, our outlet at
 * tampines": a site named by a word of place that is none of the sites of
 * o's customer (nor a word of its name). Up to three words before
 * "branch" / "outlet" / "shop" / "store", or after it and "at" / "in";
 * into site. 0 when no site is named, or one of the customer's is. */
static int other_site(const turn *t, fd_str text, const fd_outlet *o, char *site, size_t cap)
{
    static const char *const cue[] = {"branch", "outlet", "shop", "store", "site", NULL};
    static const char *const stop[] = {
        "the",  "our", "my",   "your", "a",     "an",    "this", "that",  "which",  "new",
        "main", "one", "same", "at",   "in",    "to",    "of",   "for",   "from",   "no",
        "any",  "its", "each", "per",  "every", "other", "here", "there", "nobody", NULL};
    enum { MAXW = 96 };
    fd_str w[MAXW];
    size_t n = 0;
    for (size_t i = 0; i < text.len && n < MAXW;) {
        while (i < text.len && !isalnum((unsigned char)text.p[i]))
            i++;
        size_t b = i;
        while (i < text.len && (isalnum((unsigned char)text.p[i]) || text.p[i] == '\''))
            i++;
        if (i > b)
            w[n++] = (fd_str){text.p + b, i - b};
    }
    for (size_t i = 0; i < n; i++) {
        int is_cue = 0;
        for (const char *const *c = cue; *c && !is_cue; c++)
            is_cue = lower_eq(w[i], *c);
        if (!is_cue)
            continue;
        /* the words of the site: before the cue, or after "at" / "in" */
        size_t b = i, e = i;
        if (i + 2 < n && (lower_eq(w[i + 1], "at") || lower_eq(w[i + 1], "in")))
            b = e = i + 2;
        int after = b > i;
        for (size_t k = 0; k < 3; k++) {
            size_t j = after ? e : b - 1;
            if ((after && j >= n) || (!after && b == 0))
                break;
            /* one clause: nothing but spaces between the words */
            const char *g0 = after ? w[j - 1].p + w[j - 1].len : w[j].p + w[j].len;
            const char *g1 = after ? w[j].p : w[j + 1].p;
            int same = 1;
            for (const char *q = g0; q < g1 && same; q++)
                same = *q == ' ';
            int bad = !same && !(after && j == i + 2);
            for (const char *const *x = stop; *x && !bad; x++)
                bad = lower_eq(w[j], *x);
            for (size_t q = 0; q < w[j].len && !bad; q++)
                bad = isdigit((unsigned char)w[j].p[q]);
            if (bad || name_has_word(o->customer, w[j]))
                break;
            if (after)
                e++;
            else
                b--;
        }
        if (!after)
            e = i;
        if (b == e)
            continue;
        for (size_t j = b; j < e; j++)
            if (site_of(t->as->catalog, o, w[j]))
                return 0; /* one of its sites, misspelt or in part */
        snprintf(site, cap, "%.*s", (int)(w[e - 1].p + w[e - 1].len - w[b].p), w[b].p);
        for (char *q = site; *q; q++) /* "Woodlands", as the outlets are written */
            if (q == site || q[-1] == ' ')
                *q = (char)toupper((unsigned char)*q);
        return 1;
    }
    return 0;
}

/* The customer's outlets, comma-separated, onto note. */
static int list_outlets(const fd_catalog *c, const char *customer_id, fd_buf *note)
{
    int rc = FD_OK, first = 1;
    for (size_t i = 0; i < fd_catalog_n_outlets(c) && !rc; i++) {
        const fd_outlet *x = fd_catalog_outlet(c, i);
        if (strcmp(x->customer_id, customer_id) == 0) {
            rc = fd_buf_printf(note, "%s%s", first ? "" : ", ", x->outlet);
            first = 0;
        }
    }
    return rc;
}

/* *other: set when the customer named has several outlets and the text
 * names a site that is none of them (may be NULL). */
static int outlet_in(turn *t, order_draft *d, fd_str text, fd_buf *note, int *other)
{
    int amb;
    const fd_outlet *o =
        fd_catalog_match_outlet(t->as->catalog, text, known_customer(t, d), t->a, &amb);
    if (!o)
        return 0;
    if (amb && strcmp(o->customer_id, d->customer_id) == 0)
        return 0; /* the customer of the draft, whose outlet is known */
    char site[64];
    if (amb && other && other_site(t, text, o, site, sizeof site)) {
        /* "canadian pizza woodlands branch": not on file. Asked once which
         * of its outlets it is ("sorry, tampines"); anything else then goes
         * to a person, who sets a new outlet up (dialog_order) */
        *other = 1;
        int rc = fd_buf_printf(note,
                               L(t, "We have no %s outlet of %s on file; its outlets are ",
                                 "Nous n'avons pas de site %s pour %s ; ses sites sont "),
                               site, o->customer);
        if (!rc)
            rc = list_outlets(t->as->catalog, o->customer_id, note);
        if (!rc)
            rc = fd_buf_printf(note, "%s",
                               L(t,
                                 ". Which one is this order for? For a new outlet, a member of "
                                 "our team sets it up with you. ",
                                 ". Pour lequel est cette commande ? Pour un nouveau site, un "
                                 "membre de notre équipe le crée avec vous. "));
        return rc ? -1 : 1;
    }
    if (amb) {
        /* "canadian pizza": which of its outlets? The customer is kept
         * while the answer comes, however many messages later (dev8) */
        snprintf(d->named, sizeof d->named, "%s", o->customer_id);
        int rc = fd_buf_printf(note, L(t, "%s has several outlets: ", "%s a plusieurs sites : "),
                               o->customer);
        if (!rc)
            rc = list_outlets(t->as->catalog, o->customer_id, note);
        if (!rc)
            rc = fd_buf_printf(note, "%s", L(t, ". Which one? ", ". Lequel ? "));
        return rc ? -1 : 1;
    }
    snprintf(d->customer_id, sizeof d->customer_id, "%s", o->customer_id);
    snprintf(d->outlet, sizeof d->outlet, "%s", o->outlet);
    d->named[0] = '\0';
    return 1;
}

static int read_outlet(turn *t, order_draft *d, fd_buf *note, int *other)
{
    return outlet_in(t, d, without_negated(t), note, other);
}

/* What the last reply asked: which outlet ("site": after a site not on
 * file was named). */
static int asked_outlet(const order_draft *d)
{
    return strcmp(d->asked, "outlet") == 0 || strcmp(d->asked, "site") == 0;
}

int dialog_order_answers(turn *t)
{
    order_draft *d = &t->slots.order;
    if (!t->as->catalog || !active(d) || (!asked_outlet(d) && !d->customer_id[0]))
        return 0;
    int amb;
    const fd_outlet *o = fd_catalog_match_outlet(t->as->catalog, without_negated(t),
                                                 known_customer(t, d), t->a, &amb);
    if (!o || asked_outlet(d))
        return o != NULL;
    /* "send to the other branch instead, not this one": another outlet of
     * the draft's customer is a change of the order, not a request for a
     * person (dev8) */
    return !amb && strcmp(o->customer_id, d->customer_id) == 0 && strcmp(o->outlet, d->outlet) != 0;
}

/* An order begun without naming the customer, who did earlier in the
 * conversation ("hi green bowl here", then the products): the latest of
 * the customer's earlier messages that names one. */
static int outlet_before(turn *t, order_draft *d, fd_buf *note, int *other)
{
    for (size_t i = t->n_history; i-- > 0;) {
        const fd_prompt_turn *h = &t->history[i];
        if (!h->role || strcmp(h->role, "user") != 0 || !h->text)
            continue;
        int r = outlet_in(t, d, fd_str_c(h->text), note, other);
        if (r)
            return r;
    }
    return 0;
}

static const fd_window *window_named(const fd_commerce_rules *r, const char *name)
{
    for (size_t i = 0; name[0] && i < r->n_windows; i++)
        if (strcmp(r->windows[i].name, name) == 0)
            return &r->windows[i];
    return NULL;
}

static int64_t iso_days(const char *iso)
{
    int y, m, d;
    return sscanf(iso, "%d-%d-%d", &y, &m, &d) == 3 ? fd_days_from_civil(y, m, d) : -1;
}

/* "On Saturday we deliver only in the morning (9:00–13:00)." */
static int day_windows_note(turn *t, int64_t day, fd_buf *note)
{
    const fd_commerce_rules *r = fd_catalog_rules(t->as->catalog);
    int wd = fd_weekday(day);
    int close = fd_delivery_close_min(r, day);
    int rc;
    if (close >= 0) {
        /* a half day: "On Friday 5 February we close at 12:00 and deliver
         * only in the morning (9:00–12:00)." */
        char iso[16], words[64];
        int y, m, dd;
        fd_civil_from_days(day, &y, &m, &dd);
        snprintf(iso, sizeof iso, "%04d-%02d-%02d", y, m, dd);
        date_words(t, iso, words, sizeof words);
        rc = fd_buf_printf(note,
                           L(t, "On %s we close at %d:%02d and deliver only in the ",
                             "Le %s, nous fermons à %d:%02d et livrons seulement en créneau "),
                           words, close / 60, close % 60);
    } else {
        rc = fd_buf_printf(
            note,
            L(t, "On %s we deliver only in the ", "Le %s, nous livrons seulement en créneau "),
            weekday_name(t, wd));
    }
    int first = 1;
    for (size_t i = 0; i < r->n_windows && !rc; i++) {
        const fd_window *w = &r->windows[i];
        if (!fd_delivery_window_ok(r, day, w))
            continue;
        int to = close >= 0 && close < w->to_min ? close : w->to_min;
        rc = fd_buf_printf(note, "%s%s (%d:%02d–%d:%02d)", first ? "" : L(t, " or the ", " ou "),
                           w->name, w->from_min / 60, w->from_min % 60, to / 60, to % 60);
        first = 0;
    }
    if (!rc && first) /* closing before the first window: none that day */
        rc = fd_buf_printf(note, "%s", L(t, "(none)", "(aucun)"));
    return rc ? rc : fd_buf_printf(note, ". ");
}

static int is_question(const turn *t);

/* "do you deliver on saturday?", "you all deliver sunday or not?": a
 * question about the days, answered from the policies, not a date chosen
 * ("sat morning ok?", "can deliver friday?" propose one). */
static int asks_days(const turn *t)
{
    static const char *const cue[] = {
        "do you",    "do u",        "does",        "or not",          "you all",     "is there",
        "are there", "livrez-vous", "livrez vous", "est-ce que vous", "vous livrez", NULL};
    return is_question(t) && any_word(t->folded, cue);
}

static int read_date(turn *t, order_draft *d, fd_buf *note)
{
    int got = 0, rc = FD_OK;
    const fd_commerce_rules *r = fd_catalog_rules(t->as->catalog);
    if (asks_days(t))
        return 0;
    const fd_window *w = fd_delivery_window(r, t->folded);
    if (w)
        got = 1;
    /* "any time is fine", "no preference": no window (we deliver all day) */
    static const char *const any[] = {"any time",          "anytime",          "no preference",
                                      "whenever",          "any window",       "all day",
                                      "any time of day",   "n'importe quand",  "peu importe",
                                      "pas de preference", "toute la journee", NULL};
    if (!w && any_word(t->folded, any)) {
        d->window[0] = '\0';
        got = 1;
    }
    /* Of several dates, the last one we deliver on: a customer corrects
     * forward ("oh no sunday ah. then monday morning", "xmas. then wed
     * 23rd"); none, and the first is the one to explain. */
    int64_t days;
    int min;
    local_now(t, &days, &min);
    size_t pick = SIZE_MAX;
    int64_t pick_day = 0;
    int pick_why = 0;
    for (size_t i = 0; i < t->ents.n; i++) {
        const fd_entity *e = &t->ents.v[i];
        int y, m, dd;
        if (e->kind != FD_ENT_DATE || !e->norm || sscanf(e->norm, "%d-%d-%d", &y, &m, &dd) != 3)
            continue;
        int64_t day = fd_days_from_civil(y, m, dd);
        int why = fd_delivery_check(r, day, days, min);
        /* "wednesday" said on a Wednesday, or before the lead time: the
         * next one (the summary names the date, the customer confirms it) */
        int bare_weekday = 1;
        for (uint32_t k = e->off; k < e->off + e->len && k < t->msg.len; k++)
            bare_weekday &= !isdigit((unsigned char)t->msg.p[k]);
        if (why == 2 && bare_weekday) {
            day += 7;
            why = fd_delivery_check(r, day, days, min);
        }
        if (pick == SIZE_MAX || !why) {
            pick = i;
            pick_day = day;
            pick_why = why;
        }
    }
    if (pick != SIZE_MAX) {
        int y, m, dd;
        int64_t day = pick_day;
        int why = pick_why;
        char iso_day[16];
        fd_civil_from_days(day, &y, &m, &dd);
        snprintf(iso_day, sizeof iso_day, "%04d-%02d-%02d", y, m, dd);
        char words[64];
        date_words(t, iso_day, words, sizeof words);
        if (why == 3) {
            rc = fd_buf_printf(note,
                               L(t, "We don't deliver on %s: it is a public holiday. ",
                                 "Nous ne livrons pas le %s : c'est un jour férié. "),
                               words);
        } else if (why == 1) {
            rc = fd_buf_printf(
                note, L(t, "We don't deliver on %s. ", "Nous ne livrons pas le %s. "), words);
        } else if (why == 2) {
            char iso[16], first[64];
            fd_civil_from_days(fd_delivery_earliest(r, days, min), &y, &m, &dd);
            snprintf(iso, sizeof iso, "%04d-%02d-%02d", y, m, dd);
            date_words(t, iso, first, sizeof first);
            rc = fd_buf_printf(note,
                               L(t, "%s is too soon: the earliest delivery is %s. ",
                                 "Le %s est trop tôt : la première livraison possible est le %s. "),
                               words, first);
        } else {
            snprintf(d->date, sizeof d->date, "%s", iso_day);
        }
        got = 1;
    }
    /* the window must be one the day offers ("saturday afternoon": Saturday
     * has mornings only); a new day may rule out the window kept */
    int64_t day = d->date[0] ? iso_days(d->date) : -1;
    const fd_window *keep = w ? w : window_named(r, d->window);
    if (!rc && day >= 0 && keep && !fd_delivery_window_ok(r, day, keep)) {
        rc = day_windows_note(t, day, note);
        d->window[0] = '\0';
    } else if (w) {
        snprintf(d->window, sizeof d->window, "%s", w->name);
    }
    return rc ? -1 : got;
}

/* "drop the forks and the spoons, keep the rest": the clause after the
 * word of removal (to its comma or full stop), split where "and" (or "n",
 * "&", "+", "/") joins what it names, each part one line of the draft. Two lines or more
 * named, one each, are all removed (returns how many); else 0, and the
 * message is read as naming one line. -1 out of memory. */
static int removals(turn *t, order_draft *d, const char *const *rm, const fd_product *const *only,
                    size_t n_only)
{
    const char *p = t->msg.p, *end = p + t->msg.len, *from = NULL;
    for (const char *q = p; q < end && !from; q++) {
        if (q > p && isalnum((unsigned char)q[-1]))
            continue;
        for (size_t k = 0; rm[k] && !from; k++) {
            size_t l = strlen(rm[k]);
            if ((size_t)(end - q) >= l && strncasecmp(q, rm[k], l) == 0 &&
                (q + l == end || !isalnum((unsigned char)q[l])))
                from = q + l;
        }
    }
    if (!from)
        return 0;
    const char *stop = from;
    while (stop < end && !memchr(",.;!?\n", *stop, 6))
        stop++;
    static const char *const joins[] = {" and ", " n ", " & ", " + ", "+", "/", " et ", NULL};
    const char *codes[ORDER_MAX_LINES];
    size_t n_codes = 0;
    int parts = 0;
    for (const char *a = from; a < stop;) {
        const char *b = a, *next = stop;
        for (; b < stop; b++) {
            size_t l = 0;
            for (size_t k = 0; joins[k] && !l; k++)
                if ((size_t)(stop - b) >= strlen(joins[k]) &&
                    strncasecmp(b, joins[k], strlen(joins[k])) == 0)
                    l = strlen(joins[k]);
            if (l) {
                next = b + l;
                break;
            }
        }
        fd_product_match m;
        if (fd_catalog_match(t->as->catalog, (fd_str){a, (size_t)(b - a)}, only, n_only, t->a, &m,
                             t->err))
            return -1;
        parts++;
        const fd_product *pr = !m.n           ? NULL
                               : !m.ambiguous ? m.v[0]
                                              : by_head(&m, m.n_tied, (fd_str){a, (size_t)(b - a)});
        if (!pr)
            return 0; /* a part that names no one line: read as one */
        int seen = 0;
        for (size_t k = 0; k < n_codes; k++)
            seen |= strcmp(codes[k], pr->code) == 0;
        if (!seen && n_codes < ORDER_MAX_LINES)
            codes[n_codes++] = pr->code;
        a = next;
    }
    if (parts < 2 || n_codes < 2)
        return 0;
    int gone = 0;
    for (size_t k = 0; k < n_codes; k++)
        for (size_t i = 0; i < d->n; i++)
            if (strcmp(d->lines[i].code, codes[k]) == 0) {
                memmove(&d->lines[i], &d->lines[i + 1], (d->n - i - 1) * sizeof *d->lines);
                d->n--;
                gone++;
                break;
            }
    return gone;
}

/* "take out the straws": the draft's line the message names, removed. */
static const char *const rm_words[] = {"remove",    "take out",   "drop",    "without", "no need",
                                       "dont need", "don't need", "delete",  "enlever", "enleve",
                                       "retirer",   "retire",     "retirez", "sans",    NULL};

static const char *find_words(fd_str f, size_t from, const char *const *w, size_t *n);

/* The clause of the word of removal: from it to its comma or full stop
 * ("remove the flat lids, we use film. add 1 roll of film"). 0 when none;
 * else [*b, *e) in the folded message. */
static int removal_clause(fd_str f, size_t *b, size_t *e)
{
    size_t n = 0;
    const char *p = find_words(f, 0, rm_words, &n);
    if (!p)
        return 0;
    *b = (size_t)(p - f.p);
    *e = *b + n;
    while (*e < f.len && !strchr(",.;!?\n", f.p[*e]))
        (*e)++;
    return 1;
}

static int read_removal(turn *t, order_draft *d, int *err)
{
    const char *const *rm = rm_words;
    *err = 0;
    if (!d->n || !any_word(t->folded, rm))
        return 0;
    const fd_product *only[ORDER_MAX_LINES];
    size_t n = 0;
    for (size_t i = 0; i < d->n; i++)
        if ((only[n] = fd_catalog_by_code(t->as->catalog, d->lines[i].code)))
            n++;
    int several = removals(t, d, rm, only, n);
    if (several < 0) {
        *err = 1;
        return 0;
    }
    if (several)
        return 1;
    fd_product_match m;
    /* the clause of the removal first: the rest may name other products
     * (what replaces it); then the whole message, as before (dev8) */
    size_t cb, ce;
    if (t->folded.len == t->msg.len && removal_clause(t->folded, &cb, &ce)) {
        if (fd_catalog_match(t->as->catalog, (fd_str){t->msg.p + cb, ce - cb}, only, n, t->a, &m,
                             t->err)) {
            *err = 1;
            return 0;
        }
        for (size_t i = 0; m.n && !m.ambiguous && i < d->n; i++)
            if (strcmp(d->lines[i].code, m.v[0]->code) == 0) {
                memmove(&d->lines[i], &d->lines[i + 1], (d->n - i - 1) * sizeof *d->lines);
                d->n--;
                return 1;
            }
    }
    if (fd_catalog_match(t->as->catalog, t->msg, only, n, t->a, &m, t->err)) {
        *err = 1;
        return 0;
    }
    if (!m.n || m.ambiguous)
        return 0;
    for (size_t i = 0; i < d->n; i++)
        if (strcmp(d->lines[i].code, m.v[0]->code) == 0) {
            memmove(&d->lines[i], &d->lines[i + 1], (d->n - i - 1) * sizeof *d->lines);
            d->n--;
            return 1;
        }
    return 0;
}

/* 1 when f is a count of packs or pieces and words of ordering only ("ok
 * just give me 10 pkt lah", "20pcs pls"): no room in it for an
 * instruction, whatever the guard's classifier makes of "give me". */
static int only_quantity(fd_str f)
{
    static const char *const fill[] = {"ok",     "okay", "just", "give", "me",  "us",     "i",
                                       "we",     "want", "need", "take", "lah", "la",     "leh",
                                       "please", "pls",  "plz",  "then", "can", "make",   "it",
                                       "send",   "ya",   "yes",  "only", "of",  "thanks", "thx",
                                       "and",    "hmm",  "ah",   "eh",   "oh",  NULL};
    int count = 0;
    for (size_t i = 0; i < f.len;) {
        unsigned char c = (unsigned char)f.p[i];
        if (!isalnum(c) && c < 0x80) {
            i++;
            continue;
        }
        size_t b = i;
        while (i < f.len && (isalnum((unsigned char)f.p[i]) || (unsigned char)f.p[i] >= 0x80))
            i++;
        size_t dg = b;
        while (dg < i && isdigit((unsigned char)f.p[dg]))
            dg++;
        fd_str rest = {f.p + dg, i - dg};
        if (dg > b && (!rest.len || is_pack_word(rest) || is_unit_word(rest)))
            count = 1; /* "10", "10pkt" */
        else if (dg > b ||
                 !(is_pack_word(rest) || is_unit_word(rest) || in_words(fill, rest.p, rest.len)))
            return 0;
    }
    return count;
}

int dialog_order_guard_lifts(turn *t)
{
    const order_draft *d = &t->slots.order;
    if (!t->as->catalog)
        return 0;
    fd_str f;
    if (fd_text_fold(t->msg, t->a, &f, NULL))
        return 0;
    return (d->confirming && only_confirm(f)) || only_quantity(f);
}

/* "ok that's correct, it's for our grand opening": a whole confirmation
 * as the first clause, then one that says why or thanks, not what to
 * change: no count, date, window, product, no "no"/"but", no word of
 * changing and none of where to deliver. */
static int yes_then_why(const turn *t)
{
    static const char *const change[] = {
        "but",     "change",  "make",     "add",     "remove",  "instead", "also",
        "except",  "without", "more",     "less",    "only",    "extra",   "swap",
        "replace", "cancel",  "actually", "another", "deliver", "outlet",  "branch",
        "address", "site",    "mais",     "sauf",    "plutot",  "ajoute",  NULL};
    fd_str f = t->folded;
    size_t cut = 0;
    while (cut < f.len && !memchr(",.;!\n", f.p[cut], 5))
        cut++;
    if (cut == f.len || !only_confirm((fd_str){f.p, cut}))
        return 0;
    fd_str rest = {f.p + cut + 1, f.len - cut - 1};
    for (size_t i = 0; i < rest.len; i++)
        if (isdigit((unsigned char)rest.p[i]))
            return 0;
    if (any_word(rest, no_words) || any_word(rest, change) || any_word(rest, more_words) ||
        fd_delivery_window(fd_catalog_rules(t->as->catalog), rest))
        return 0;
    for (size_t i = 0; i < t->ents.n; i++)
        if (t->ents.v[i].kind == FD_ENT_DATE)
            return 0;
    fd_product_match m;
    fd_err e = {0};
    if (fd_catalog_match(t->as->catalog, rest, NULL, 0, t->a, &m, &e) || m.n)
        return 0;
    return 1;
}

/* "yes" to the summary: only confirmation words, or a short message with
 * a yes and no no ("yes that's all for now"). */
static int says_yes(const turn *t)
{
    if (only_confirm(t->folded) || yes_then_why(t))
        return 1;
    if (n_words(t->folded) > 6 || !any_word(t->folded, yes_words) || any_word(t->folded, no_words))
        return 0;
    /* "ok friday morning then", "yes but 300", "yes, but the lids in
     * black": a change, not a yes */
    /* "nvm" (never mind) with a weak yes ("ok nvm") may drop the order as
     * well as a question: no yes (dev7; only_confirm takes it beside a
     * strong one) */
    static const char *const but[] = {"but", "mais", "nvm", NULL};
    if (any_word(t->folded, but))
        return 0;
    for (size_t i = 0; i < t->folded.len; i++)
        if (isdigit((unsigned char)t->folded.p[i]))
            return 0;
    for (size_t i = 0; i < t->ents.n; i++)
        if (t->ents.v[i].kind == FD_ENT_DATE)
            return 0;
    return !fd_delivery_window(fd_catalog_rules(t->as->catalog), t->folded);
}

int dialog_order_first(turn *t)
{
    const order_draft *d = &t->slots.order;
    return t->as->catalog && d->confirming && says_yes(t);
}

static const char *const question_words[] = {"what",     "whats",     "how",    "why",     "when",
                                             "which",    "where",     "do you", "does",    "can i",
                                             "is there", "are there", "is it",  "quel",    "quelle",
                                             "comment",  "pourquoi",  "est-ce", "combien", NULL};

static int is_question(const turn *t)
{
    return memchr(t->folded.p, '?', t->folded.len) != NULL || any_word(t->folded, question_words);
}

/* A question about the rules of buying, not a purchase: "can i buy just 1
 * pack of cups", "which bag fits 3 meal boxes". */
static int asks_policy(const turn *t)
{
    static const char *const cue[] = {"just",      "only",    "minimum",  "min",     "at least",
                                      "fit",       "fits",    "how many", "allowed", "possible",
                                      "seulement", "minimum", NULL};
    return is_question(t) && any_word(t->folded, cue);
}

/* A delivery day or window named: with products and quantities, an order
 * even when a question mark asks whether it can be ("8 pkt clamshells, sat
 * afternoon can?", "thu morning ok?"). Not when question words ask
 * something else ("how much are 10 pkt cups delivered friday?"). */
static int names_delivery(const turn *t)
{
    if (any_word(t->folded, question_words))
        return 0;
    for (size_t i = 0; i < t->ents.n; i++)
        if (t->ents.v[i].kind == FD_ENT_DATE)
            return 1;
    return fd_delivery_window(fd_catalog_rules(t->as->catalog), t->folded) != NULL;
}

/* The facts of an order said before its products, as no question of
 * policy: the customer ("kopi corner", "oh this is canadian pizza btw") or
 * the delivery day with its window or a word of delivering ("can deliver
 * this fri?", "we need a delivery on mon morning"). Not "do you deliver on
 * saturdays?" nor "what time ... friday", nor a day alone ("see you
 * tomorrow"). The order is begun with them (dev8). */
static int before_products(turn *t)
{
    static const char *const deliver[] = {"deliver", "delivery",  "delivered", "send",
                                          "livrer",  "livraison", "livrez",    NULL};
    /* what a question of policy asks about, with or without a question
     * mark ("delivery fee for saturday morning?", "tell me the lead time
     * for delivery on friday"): for the policy pages */
    static const char *const topic[] = {
        "fee",     "fees",   "charge",  "charges", "surcharge", "cost",   "costs",
        "price",   "prices", "rate",    "rates",   "lead time", "cutoff", "cut-off",
        "cut off", "policy", "minimum", "min",     "tell me",   "know",   "explain",
        "frais",   "tarif",  "tarifs",  "prix",    "delai",     NULL};
    if (any_word(t->folded, question_words) || asks_days(t) || any_word(t->folded, topic))
        return 0;
    int amb;
    if (fd_catalog_match_outlet(t->as->catalog, without_negated(t), NULL, t->a, &amb))
        return 1;
    if (!names_delivery(t))
        return 0;
    if (fd_delivery_window(fd_catalog_rules(t->as->catalog), t->folded))
        return 1; /* "can deliver fri morning?" */
    /* A weekday alone is what the policy pages answer ("can deliver on
     * sunday?", "saturday delivery got or not": the example KB's
     * questions); one day in particular is an order's ("can deliver this
     * fri?", "delivery tmr", "on the 17th"). */
    static const char *const one_day[] = {"this",  "next", "coming",   "tmr",    "tmrw", "tomorrow",
                                          "today", "ce",   "prochain", "demain", NULL};
    int particular = any_word(t->folded, one_day);
    for (size_t i = 0; i < t->folded.len && !particular; i++)
        particular = isdigit((unsigned char)t->folded.p[i]);
    return particular && any_word(t->folded, deliver);
}

/* The customer saying who they are: at the start of a sentence, after a
 * greeting ("hi, this is Ah Seng Chicken Rice at Toa Payoh", "Hello,
 * we're Crumbs & Co Bakery", "i'm from Ah Huat Chicken Rice", "ici ..."), or
 * anywhere in so many words
 * ("new customer", "on behalf of X", "my name is Giulia from X"). *who:
 * the words after the cue to the end of the clause, possibly empty. */
static int introduces_in(fd_str f, fd_str msg, fd_str *who)
{
    /* "we are from X" after "we are" is no name ("from" is not_name): its
     * own cue, tried next */
    static const char *const start[] = {"this is", "we are",    "we're",       "i'm from",
                                        "im from", "i am from", "we're from",  "we are from",
                                        "c'est",   "ici",       "nous sommes", NULL};
    static const char *const anywhere[] = {"on behalf of",
                                           "de la part de",
                                           "new customer",
                                           "new client",
                                           "nouveau client",
                                           "nouvelle cliente",
                                           NULL};
    static const char *const hello[] = {
        "hi", "hello", "hey", "dear", "good morning", "good afternoon", "bonjour", "salut", NULL};
    /* what follows a start cue when it is no name: "this is urgent", "we
     * are running out", "this is for tampines" */
    static const char *const not_name[] = {
        "a",      "an",       "the",     "for",   "to",      "about",    "urgent",
        "my",     "our",      "out",     "low",   "running", "looking",  "going",
        "not",    "also",     "ok",      "fine",  "in",      "on",       "at",
        "still",  "very",     "so",      "just",  "from",    "planning", "interested",
        "trying", "pour",     "le",      "la",    "un",      "une",      "pas",
        "bon",    "possible", "correct", "right", "me",      "it",       "what",
        "how",    "why",      "when",    "where", "ready",   "all",      NULL};
    size_t at = SIZE_MAX, len = 0;
    /* "my name is Giulia from Mamma Mia Trattoria": the company after "from" */
    const char *mn = f.len ? memmem(f.p, f.len, "my name is ", 11) : NULL;
    if (at == SIZE_MAX && mn) {
        const char *end = mn;
        while (end < f.p + f.len && !strchr(".!?\n", *end))
            end++;
        const char *fr = memmem(mn, (size_t)(end - mn), " from ", 6);
        if (fr)
            at = (size_t)(fr - f.p) + 1, len = 4;
    }
    for (size_t i = 0; i < f.len && at == SIZE_MAX; i++) {
        size_t j = i;
        for (int pass = 0; pass < 2; pass++) {
            while (j < f.len && (isspace((unsigned char)f.p[j]) || strchr(",!-", f.p[j])))
                j++;
            for (const char *const *h = hello; pass == 0 && *h; h++) {
                size_t n = strlen(*h);
                if (j + n <= f.len && memcmp(f.p + j, *h, n) == 0 &&
                    (j + n == f.len || !isalnum((unsigned char)f.p[j + n]))) {
                    j += n;
                    break;
                }
            }
        }
        for (const char *const *w = start; *w && at == SIZE_MAX; w++) {
            size_t n = strlen(*w);
            if (j + n >= f.len || memcmp(f.p + j, *w, n) != 0 || f.p[j + n] != ' ')
                continue;
            size_t k = j + n + 1, e = k;
            while (e < f.len && isalnum((unsigned char)f.p[e]))
                e++;
            int bad = e == k;
            for (const char *const *x = not_name; *x && !bad; x++)
                bad = strlen(*x) == e - k && memcmp(f.p + k, *x, e - k) == 0;
            if (!bad)
                at = j, len = n;
        }
        /* "kopi kaki yishun here": a name of one to five words, then
         * "here", ending the clause */
        size_t ce = j;
        while (ce < f.len && !strchr(",.;!?\n", f.p[ce]))
            ce++;
        size_t te = ce;
        while (te > j && isspace((unsigned char)f.p[te - 1]))
            te--;
        if (at == SIZE_MAX && te >= j + 6 && memcmp(f.p + te - 5, " here", 5) == 0) {
            static const char *const not_who[] = {"i",   "im",  "i'm",  "we",  "you", "it",
                                                  "its", "is",  "are",  "was", "new", "who",
                                                  "be",  "get", "come", NULL};
            size_t nw = 0, k = j;
            int bad = 0;
            while (k < te - 5 && !bad) {
                while (k < te - 5 && isspace((unsigned char)f.p[k]))
                    k++;
                size_t e = k;
                while (e < te - 5 && !isspace((unsigned char)f.p[e]))
                    e++;
                if (e == k)
                    break;
                nw++;
                for (size_t q = k; q < e && !bad; q++)
                    bad = isdigit((unsigned char)f.p[q]);
                for (const char *const *x = not_name; *x && !bad; x++)
                    bad = strlen(*x) == e - k && memcmp(f.p + k, *x, e - k) == 0;
                for (const char *const *x = not_who; *x && !bad; x++)
                    bad = strlen(*x) == e - k && memcmp(f.p + k, *x, e - k) == 0;
                k = e;
            }
            if (!bad && nw >= 1 && nw <= 5)
                at = j, len = 0;
        }
        while (i < f.len && !strchr(".!?\n", f.p[i]))
            i++; /* on to the next sentence */
    }
    for (const char *const *w = anywhere; *w && at == SIZE_MAX; w++) {
        const char *p = f.len ? memmem(f.p, f.len, *w, strlen(*w)) : NULL;
        if (p && (p == f.p || !isalnum((unsigned char)p[-1]))) {
            at = (size_t)(p - f.p), len = strlen(*w);
            if (w - anywhere >= 2) { /* "new customer": no name follows */
                *who = (fd_str){0};
                return 1;
            }
        }
    }
    if (at == SIZE_MAX)
        return 0;
    size_t b = at + len;
    while (b < f.len && (isspace((unsigned char)f.p[b]) || f.p[b] == ','))
        b++;
    size_t e = b;
    while (e < f.len && !strchr(",.;!?\n()", f.p[e]) && e - b < 80)
        e++;
    while (e > b && isspace((unsigned char)f.p[e - 1]))
        e--;
    if (e >= b + 5 && memcmp(f.p + e - 5, " here", 5) == 0)
        e -= 5; /* "kopi kaki here" */
    /* the customer's own spelling, when folding kept the offsets */
    *who = f.len == msg.len ? (fd_str){msg.p + b, e - b} : (fd_str){f.p + b, e - b};
    return 1;
}

static int introduces(const turn *t, fd_str *who)
{
    return introduces_in(t->folded, t->msg, who);
}

/* "hi this is Mama's Kitchen at Toa Payoh", then the order in a message of
 * its own: the latest earlier message of the customer's that introduces
 * them. */
static int introduced_before(turn *t, fd_str *who)
{
    for (size_t i = t->n_history; i-- > 0;) {
        const fd_prompt_turn *h = &t->history[i];
        if (!h->role || strcmp(h->role, "user") != 0 || !h->text)
            continue;
        fd_str msg = fd_str_c(h->text), f;
        if (fd_text_fold(msg, t->a, &f, NULL))
            return 0;
        if (introduces_in(f, msg, who))
            return 1;
    }
    return 0;
}

/* The order handed to a person: the draft dropped (the conversation holds
 * its lines), b (what we say first; freed here) then the hand-over. */
static int hand_over(turn *t, order_draft *d, const esc_rule *rule, fd_buf *b, int rc)
{
    char last[sizeof d->last_order];
    memcpy(last, d->last_order, sizeof last);
    memset(d, 0, sizeof *d);
    memcpy(d->last_order, last, sizeof last);
    if (rc)
        return fd_buf_free(b), turn_oom(t);
    rc = say(t, b);
    const char *mine = t->r->answer;
    dialog_escalate(t, rule);
    char *s = fd_arena_printf(t->a, "%s%s", mine, t->r->answer);
    if (!s)
        return turn_oom(t);
    t->r->answer = s;
    t->r->route = "order";
    return rc;
}

/* Printing the customer's own logo or design: artwork, a proof and a quote
 * from the design desk, never a stock order taken in chat ("2000 white
 * boxes with our logo printed on top"). */
static int asks_printing(const turn *t)
{
    static const char *const cue[] = {"logo",
                                      "logos",
                                      "custom print",
                                      "custom printed",
                                      "custom printing",
                                      "custom-printed",
                                      "our design",
                                      "our own design",
                                      "our artwork",
                                      "our branding",
                                      "our brand",
                                      "impression personnalisee",
                                      "personnalise",
                                      "personnalises",
                                      "notre design",
                                      NULL};
    return any_word(t->folded, cue);
}

static int custom_printing(turn *t, order_draft *d, fd_buf *b)
{
    static const esc_rule printing = {
        .tier = "agent",
        .reason = "Custom printing order: artwork, proof and quote by the design desk"};
    int rc = fd_buf_printf(b, "%s",
                           L(t,
                             "Custom printing is quoted by our design desk (artwork check, proof "
                             "and minimum quantities), so a member of our team will take this "
                             "order with you. ",
                             "L'impression personnalisée est chiffrée par notre studio (contrôle "
                             "du fichier, épreuve et quantités minimales) : un membre de notre "
                             "équipe va prendre cette commande avec vous. "));
    return hand_over(t, d, &printing, b, rc);
}

/* A customer not in customers.csv: the order goes to a person, who sets
 * the account up; b is the reply being built (freed here). */
static int unknown_customer(turn *t, order_draft *d, fd_str who, fd_buf *b)
{
    static const esc_rule unknown = {.tier = "agent",
                                     .reason = "Order from a customer not in customers.csv"};
    int rc;
    if (who.len)
        rc = fd_buf_printf(b,
                           L(t,
                             "I can't find \"%.*s\" among our customer accounts, so a member "
                             "of our team will take this order with you. ",
                             "Je ne trouve pas « %.*s » parmi nos comptes clients : un membre "
                             "de notre équipe va prendre cette commande avec vous. "),
                           (int)(who.len > 80 ? 80 : who.len), who.p);
    else
        rc = fd_buf_printf(b, "%s",
                           L(t,
                             "I can't find your company among our customer accounts, so a member "
                             "of our team will take this order with you. ",
                             "Je ne trouve pas votre société parmi nos comptes clients : un membre "
                             "de notre équipe va prendre cette commande avec vous. "));
    /* the order is the team's now: the conversation holds its lines */
    return hand_over(t, d, &unknown, b, rc);
}

int dialog_order(turn *t, int *handled)
{
    *handled = 0;
    const fd_catalog *c = t->as->catalog;
    if (!c)
        return FD_OK;
    order_draft *d = &t->slots.order;
    char ref[32];
    /* "until when can i cancel free?", "if i cancel later...": the policy
     * asked about, not this order dropped */
    static const char *const about[] = {
        "if",       "si",  "policy", "politique", "until", "how",     "what",  "when",    "whats",
        "deadline", "fee", "free",   "charge",    "frais", "jusqu'a", "quand", "comment", NULL};
    int cancel = any_word(t->folded, cancel_words) && !any_word(t->folded, about);
    /* a placed order: its status, or its cancellation */
    if (order_ref(t, ref, sizeof ref)) {
        *handled = 1;
        return placed_order(t, ref, cancel);
    }
    int was_active = active(d);
    int new_intent = t->as->intents && t->intent.label && !t->intent.oos &&
                     strcmp(t->intent.label, "order_new") == 0 && t->intent.confidence >= 0.5;
    fd_buf b, note;
    fd_buf_init(&b, 1 << 16);
    fd_buf_init(&note, 1 << 16);
    int rc = FD_OK;
    if (was_active && cancel) {
        *handled = 1;
        memset(d, 0, sizeof *d);
        rc = fd_buf_printf(&b, "%s",
                           L(t, "OK, I've dropped this order; nothing was placed.",
                             "D'accord, j'abandonne cette commande ; rien n'a été passé."));
        fd_buf_free(&note);
        return rc ? (fd_buf_free(&b), turn_oom(t)) : say(t, &b);
    }
    size_t words = n_words(t->folded);
    if (d->confirming && says_yes(t)) {
        *handled = 1;
        fd_buf_free(&b);
        fd_buf_free(&note);
        return confirm(t, d);
    }
    if (was_active && !d->confirming && d->n && !d->n_pend && d->customer_id[0] && d->date[0] &&
        words <= 4 && any_word(t->folded, yes_words) && !any_word(t->folded, no_words)) {
        /* "yes" to a whole draft whose summary was not the last reply: show
         * it again; only a yes to the summary itself places an order */
        *handled = 1;
        fd_buf_free(&note);
        rc = next_step(t, d, &b, 0);
        return rc ? (fd_buf_free(&b), turn_oom(t)) : say(t, &b);
    }
    if (!was_active && d->last_order[0] && words <= 4 && any_word(t->folded, yes_words)) {
        /* the confirmation again (a retry, a double tap): the same order */
        *handled = 1;
        rc = fd_buf_printf(
            &b, L(t, "Your order %s is already placed.", "Votre commande %s est déjà passée."),
            d->last_order);
        fd_buf_free(&note);
        return rc ? (fd_buf_free(&b), turn_oom(t)) : say(t, &b);
    }
    int lerr = 0, got = 0;
    got += read_removal(t, d, &lerr);
    /* "the double wall then, and remove the sleeves": a line removed
     * while "which one?" waits does not leave the question unanswered */
    if (!lerr && (!got || d->n_pend))
        got += read_choice(t, d, &lerr);
    size_t rb, re;
    if (!lerr && got && !d->n_pend && t->folded.len == t->msg.len &&
        removal_clause(t->folded, &rb, &re) && any_word(t->folded, more_words)) {
        /* "remove the flat lids. add 1 roll of film": the lines the rest
         * adds, read with the removal's clause blanked (dev8) */
        char *m = fd_arena_strndup(t->a, t->msg.p, t->msg.len);
        char *f = fd_arena_strndup(t->a, t->folded.p, t->folded.len);
        if (m && f) {
            fd_str keep_m = t->msg, keep_f = t->folded;
            memset(m + rb, ' ', re - rb);
            memset(f + rb, ' ', re - rb);
            t->msg = (fd_str){m, keep_m.len};
            t->folded = (fd_str){f, keep_f.len};
            read_lines(t, d, &lerr);
            t->msg = keep_m;
            t->folded = keep_f;
        }
    }
    if (!lerr && !got)
        got += read_replace(t, d, &lerr);
    if (!lerr && !got)
        got += read_lines(t, d, &lerr);
    if (!lerr && !got)
        got += read_swap(t, d, &lerr);
    if (!lerr && !got)
        got += read_requantity(t, d, &lerr);
    if (lerr) {
        fd_buf_free(&b);
        fd_buf_free(&note);
        return fd_err_set(t->err, FD_ENOMEM, "out of memory");
    }
    /* a new order needs its intent, or products with quantities that are
     * not asked about ("10 pack noodle box 26oz, 5 pack chopsticks"; but
     * "how much are 100 pizza boxes?" is a question); anything else is for
     * the knowledge base */
    int facts = !was_active && !got && before_products(t);
    if (!was_active &&
        ((asks_policy(t) && !facts) ||
         (!new_intent && !facts &&
          !(got && (any_word(t->folded, order_words) || !is_question(t) || names_delivery(t)))))) {
        memset(d, 0, sizeof *d);
        /* keep last_order of a placed one */
        fd_buf_free(&b);
        fd_buf_free(&note);
        return FD_OK;
    }
    if ((got || was_active) && asks_printing(t)) {
        *handled = 1;
        fd_buf_free(&note);
        return custom_printing(t, d, &b);
    }
    if (!was_active && !d->key[0]) {
        char id[33];
        dialog_new_session_id(id);
        snprintf(d->key, sizeof d->key, "%.16s", id);
    }
    int site_asked = strcmp(d->asked, "site") == 0, other = 0, other_before = 0;
    int go = read_outlet(t, d, &note, &other), gd = go < 0 ? 0 : read_date(t, d, &note);
    if (!go && !was_active && !d->customer_id[0]) {
        go = outlet_before(t, d, &note, &other) < 0 ? -1 : 0;
        other_before = other;
    }
    if (go < 0 || gd < 0) {
        fd_buf_free(&b);
        fd_buf_free(&note);
        return turn_oom(t);
    }
    /* a site not on file given as who the customer is, in a message before
     * the order ("lotus noodle, yishun branch", then the products), is no
     * slip in passing to ask about again: as when it is kept to when asked */
    if ((site_asked && !d->customer_id[0] && !other && !is_question(t)) || other_before) {
        /* a site not on file, and no outlet of ours given when asked
         * ("fri morning"): a person sets the new outlet up */
        static const esc_rule unknown_site = {.tier = "agent",
                                              .reason = "Order for an outlet not in customers.csv"};
        *handled = 1;
        fd_buf_free(&note);
        rc = fd_buf_printf(&b, "%s",
                           L(t,
                             "That outlet is not on file with us, so a member of our team will "
                             "take this order with you. ",
                             "Ce site n'est pas enregistré chez nous : un membre de notre équipe "
                             "va prendre cette commande avec vous. "));
        return hand_over(t, d, &unknown_site, &b, rc);
    }
    got += go + gd;
    if (was_active && !got && d->confirming && words <= 4 && any_word(t->folded, no_words)) {
        d->confirming = 0;
        rc = fd_buf_printf(&b, "%s",
                           L(t, "No problem: what would you like to change?",
                             "Pas de problème : que voulez-vous changer ?"));
        *handled = 1;
        fd_buf_free(&note);
        return rc ? (fd_buf_free(&b), turn_oom(t)) : say(t, &b);
    }
    fd_str who = {0};
    if (!d->customer_id[0] && go == 0 && !note.len &&
        (introduces(t, &who) || (!was_active && got && introduced_before(t, &who)))) {
        /* "hi, this is Ah Seng Chicken Rice, new customer": a company we
         * do not know; a person sets the customer up. Also when it said so
         * before the order's first message. */
        *handled = 1;
        fd_buf_free(&note);
        return unknown_customer(t, d, who, &b);
    }
    if (was_active && !got) {
        if (asked_outlet(d) && !is_question(t) && words <= 8 && !only_confirm(t->folded)) {
            /* an outlet we do not know: a person sets the customer up */
            *handled = 1;
            fd_buf_free(&note);
            return unknown_customer(t, d, t->msg, &b);
        }
        /* a question in the middle of an order: answered, the order kept */
        t->order_reminder = 1;
        fd_buf_free(&b);
        fd_buf_free(&note);
        return FD_OK;
    }
    *handled = 1;
    d->confirming = 0;
    size_t noted = note.len;
    rc = note.len ? fd_buf_append(&b, note.p, note.len) : FD_OK;
    fd_buf_free(&note);
    rc = rc ? rc : next_step(t, d, &b, noted > 0);
    if (other && !d->customer_id[0])
        snprintf(d->asked, sizeof d->asked, "site");
    return rc ? (fd_buf_free(&b), turn_oom(t)) : say(t, &b);
}

int dialog_order_reminder(turn *t)
{
    order_draft *d = &t->slots.order;
    if (!t->order_reminder || !t->r->answer || !active(d))
        return FD_OK;
    if (!d->n && !d->n_pend)
        return FD_OK; /* only who or when so far: no order to remind of */
    char *s = fd_arena_printf(
        t->a, "%s\n\n%s", t->r->answer,
        L(t, "(Your order is still open: reply yes to place it, or tell me what to change.)",
          "(Votre commande est toujours en cours : répondez oui pour la passer, ou dites-moi quoi "
          "changer.)"));
    if (!d->confirming)
        s = fd_arena_printf(
            t->a, "%s\n\n%s", t->r->answer,
            L(t, "(Your order is still open; we can carry on with it whenever you like.)",
              "(Votre commande est toujours en cours ; nous pouvons la reprendre quand vous "
              "voulez.)"));
    if (!s)
        return turn_oom(t);
    t->r->answer = s;
    return FD_OK;
}
