/* session.c: what a conversation remembers between messages: slots (the
 * outlet, the place, the last product, size, quantity, date and order id
 * the customer mentioned) and the rewriting of follow-ups ("and the
 * 10-inch?", "what time do you close there?") into a standalone query
 * against the previous question and the slots. */
#include "dialog_int.h"

#include "session_int.h"

#include <ctype.h>
#include <jansson.h>
#include <string.h>

static const char *const slot_names[N_SLOTS] = {"outlet", "place",    "product", "size", "quantity",
                                                "date",   "order_id", "email",   "phone"};

const char *session_slot_name(int i)
{
    return slot_names[i];
}

int session_slots_parse(const char *json, session_slots *s)
{
    memset(s, 0, sizeof *s);
    json_t *j = json ? json_loads(json, 0, NULL) : NULL;
    if (!j)
        return 0;
    for (int i = 0; i < N_SLOTS; i++) {
        const char *v = json_string_value(json_object_get(j, slot_names[i]));
        if (v)
            snprintf(s->v[i], sizeof s->v[i], "%s", v);
    }
    const char *q = json_string_value(json_object_get(j, "last_question"));
    if (q)
        snprintf(s->last_question, sizeof s->last_question, "%s", q);
    s->offered = json_is_true(json_object_get(j, "offered"));
    json_t *o = json_object_get(j, "order");
    if (json_is_object(o)) {
        char *txt = json_dumps(o, JSON_COMPACT);
        order_draft_parse(txt, &s->order);
        free(txt);
    }
    json_decref(j);
    return 1;
}

int session_slots_json(const session_slots *s, fd_buf *b)
{
    int rc = fd_buf_putc(b, '{');
    int first = 1;
    for (int i = 0; i < N_SLOTS && !rc; i++) {
        if (!s->v[i][0])
            continue;
        rc = fd_buf_printf(b, "%s\"%s\":", first ? "" : ",", slot_names[i]);
        if (!rc)
            rc = fd_buf_json_str(b, s->v[i], strlen(s->v[i]));
        first = 0;
    }
    if (!rc && s->last_question[0]) {
        rc = fd_buf_printf(b, "%s\"last_question\":", first ? "" : ",");
        if (!rc)
            rc = fd_buf_json_str(b, s->last_question, strlen(s->last_question));
        if (!rc && s->offered)
            rc = fd_buf_printf(b, ",\"offered\":true");
    }
    if (!rc && (s->order.n || s->order.n_pend || s->order.customer_id[0] || s->order.date[0] ||
                s->order.asked[0] || s->order.last_order[0])) {
        rc = fd_buf_printf(b, "%s\"order\":", first && !s->last_question[0] ? "" : ",");
        if (!rc)
            rc = order_draft_json(&s->order, b);
    }
    if (!rc)
        rc = fd_buf_putc(b, '}');
    return rc;
}

static void set_slot(session_slots *s, int slot, const char *p, size_t n)
{
    while (n && (p[n - 1] == '.' || p[n - 1] == ',' || p[n - 1] == '?' || p[n - 1] == '!'))
        n--;
    if (n == 0)
        return;
    if (n >= sizeof s->v[slot])
        n = sizeof s->v[slot] - 1;
    memcpy(s->v[slot], p, n);
    s->v[slot][n] = '\0';
}

/* Words that end a name being read after "outlet at ..." or "to ...". */
static int name_stop(fd_str w)
{
    static const char *const stop[] = {
        "and",       "but",       "on",       "at",     "in",       "for",    "by",     "the",
        "a",         "an",        "is",       "are",    "was",      "we",     "i",      "you",
        "please",    "tomorrow",  "today",    "next",   "this",     "before", "after",  "monday",
        "tuesday",   "wednesday", "thursday", "friday", "saturday", "sunday", "with",   "can",
        "could",     "do",        "does",     "how",    "what",     "when",   "will",   "would",
        "et",        "le",        "la",       "les",    "pour",     "avec",   "demain", "morning",
        "afternoon", "evening",   "there",    "here",   NULL};
    for (int i = 0; stop[i]; i++)
        if (fd_str_eq_c(w, stop[i]))
            return 1;
    return 0;
}

/* Reads up to 3 name words from token i of toks; the span in the original
 * text goes to *p and *n. 0 if there is no name there. */
static int read_name(fd_str text, const fd_tokens *toks, size_t i, const char **p, size_t *n)
{
    size_t j = i;
    while (j < toks->n && j < i + 3 && toks->v[j].kind == FD_TOK_WORD &&
           !name_stop(toks->v[j].norm))
        j++;
    if (j == i)
        return 0;
    *p = text.p + toks->v[i].off;
    *n = (size_t)(toks->v[j - 1].off + toks->v[j - 1].len - toks->v[i].off);
    return 1;
}

/* Place and outlet phrases: "our outlet at/in X", "X outlet", "deliver to
 * X", "livrer à X", "notre magasin à X". Folded tokens, original spans. */
static void scan_places(fd_str text, const fd_tokens *t, session_slots *s)
{
    for (size_t i = 0; i + 1 < t->n; i++) {
        fd_str w = t->v[i].norm;
        const char *p;
        size_t n;
        int outlet_word = fd_str_eq_c(w, "outlet") || fd_str_eq_c(w, "branch") ||
                          fd_str_eq_c(w, "shop") || fd_str_eq_c(w, "store") ||
                          fd_str_eq_c(w, "restaurant") || fd_str_eq_c(w, "cafe") ||
                          fd_str_eq_c(w, "magasin") || fd_str_eq_c(w, "boutique");
        if (outlet_word) {
            size_t k = i + 1;
            if (k < t->n && fd_str_eq_c(t->v[k].norm, "is"))
                k++;
            if (k < t->n &&
                (fd_str_eq_c(t->v[k].norm, "at") || fd_str_eq_c(t->v[k].norm, "in") ||
                 fd_str_eq_c(t->v[k].norm, "a") || fd_str_eq_c(t->v[k].norm, "called") ||
                 fd_str_eq_c(t->v[k].norm, "named")) &&
                read_name(text, t, k + 1, &p, &n)) {
                set_slot(s, SLOT_OUTLET, p, n);
                set_slot(s, SLOT_PLACE, p, n);
            }
            continue;
        }
        int to = fd_str_eq_c(w, "to") || fd_str_eq_c(w, "a");
        if (to && i > 0) {
            fd_str prev = t->v[i - 1].norm;
            int motion = (prev.len >= 5 && memcmp(prev.p, "deliv", 5) == 0) ||
                         (prev.len >= 4 && memcmp(prev.p, "livr", 4) == 0) ||
                         fd_str_eq_c(prev, "ship") || fd_str_eq_c(prev, "send");
            if (motion && read_name(text, t, i + 1, &p, &n))
                set_slot(s, SLOT_PLACE, p, n);
        }
    }
}

static int slot_of_entity(fd_entity_kind k)
{
    switch (k) {
    case FD_ENT_OUTLET:
        return SLOT_OUTLET;
    case FD_ENT_PRODUCT:
        return SLOT_PRODUCT;
    case FD_ENT_SIZE:
        return SLOT_SIZE;
    case FD_ENT_QUANTITY:
        return SLOT_QUANTITY;
    case FD_ENT_DATE:
        return SLOT_DATE;
    case FD_ENT_ORDER_ID:
        return SLOT_ORDER_ID;
    case FD_ENT_EMAIL:
        return SLOT_EMAIL;
    case FD_ENT_PHONE:
        return SLOT_PHONE;
    default:
        return -1;
    }
}

int session_update_slots(session_slots *s, fd_str text, const fd_entities *ents, fd_arena *a)
{
    for (size_t i = 0; i < ents->n; i++) {
        int slot = slot_of_entity(ents->v[i].kind);
        if (slot < 0)
            continue;
        const fd_entity *e = &ents->v[i];
        if (slot == SLOT_OUTLET || slot == SLOT_PRODUCT)
            set_slot(s, slot, text.p + e->off, e->len);
        else
            set_slot(s, slot, e->norm, strlen(e->norm));
    }
    fd_tokens toks;
    if (fd_text_tokenize(text, a, &toks, NULL) == FD_OK)
        scan_places(text, &toks, s);
    return 0;
}

/* ---- follow-ups ---------------------------------------------------------- */

static const char *const lead_ins[] = {
    "and what about ", "and how about ", "what about ", "how about ", "and for ",
    "and the ",        "and ",           "same for ",   "also ",      "et pour ",
    "et le ",          "et la ",         "et les ",     "et ",        NULL};

static int has_word(const fd_tokens *t, const char *w)
{
    for (size_t i = 0; i < t->n; i++)
        if (fd_str_eq_c(t->v[i].norm, w))
            return (int)i + 1;
    return 0;
}

/* A message leans on the previous one when it opens with a lead-in or
 * points back ("there", "it", "that one") and is short. */
static int is_follow_up(fd_str folded, const fd_tokens *t)
{
    if (t->n == 0 || t->n > 8)
        return 0;
    for (int i = 0; lead_ins[i]; i++) {
        size_t n = strlen(lead_ins[i]);
        if (folded.len > n && memcmp(folded.p, lead_ins[i], n) == 0)
            return 1;
    }
    static const char *const deictic[] = {"there", "it",     "that", "those", "them",
                                          "same",  "la-bas", "ca",   NULL};
    for (int i = 0; deictic[i]; i++)
        if (has_word(t, deictic[i]))
            return 1;
    return 0;
}

/* Replaces in prev the first entity of each kind the message also names
 * ("12-inch" -> "10-inch"); returns 1 if anything was replaced. */
static int substitute(fd_buf *out, fd_str prev, const fd_entities *pe, fd_str msg,
                      const fd_entities *me)
{
    size_t at = 0;
    int replaced = 0;
    for (size_t i = 0; i < pe->n; i++) {
        const fd_entity *old = &pe->v[i];
        const fd_entity *with = NULL;
        for (size_t j = 0; j < me->n && !with; j++)
            if (me->v[j].kind == old->kind)
                with = &me->v[j];
        if (!with || old->off < at)
            continue;
        if (fd_buf_append(out, prev.p + at, old->off - at) ||
            fd_buf_append(out, msg.p + with->off, with->len))
            return -1;
        at = old->off + old->len;
        replaced = 1;
    }
    if (fd_buf_append(out, prev.p + at, prev.len - at))
        return -1;
    return replaced;
}

int session_rewrite(const session_slots *s, fd_str msg, fd_str folded, const fd_entities *ents,
                    const fd_nlu_ctx *nctx, fd_arena *a, fd_str *query)
{
    *query = msg;
    fd_tokens toks;
    if (fd_text_tokenize(folded, a, &toks, NULL) != FD_OK)
        return 0;
    fd_buf b;
    fd_buf_init(&b, 8192);
    int rewritten = 0;
    if (s->v[SLOT_PLACE][0] && has_word(&toks, "there")) {
        /* "what time do you close there?" -> "... close at Tampines?" */
        const char *p = msg.p;
        size_t n = msg.len;
        for (size_t i = 0; i + 5 <= n; i++) {
            if (strncasecmp(p + i, "there", 5) == 0 &&
                (i == 0 || !isalpha((unsigned char)p[i - 1])) &&
                (i + 5 == n || !isalpha((unsigned char)p[i + 5]))) {
                if (fd_buf_append(&b, p, i) || fd_buf_printf(&b, "in %s", s->v[SLOT_PLACE]) ||
                    fd_buf_append(&b, p + i + 5, n - i - 5))
                    goto out;
                rewritten = 1;
                break;
            }
        }
    } else if (s->last_question[0] && is_follow_up(folded, &toks)) {
        fd_str prev = fd_str_c(s->last_question);
        fd_entities pe;
        int r = 0;
        if (ents->n && fd_nlu_entities(prev, nctx, a, &pe, NULL) == FD_OK && pe.n)
            r = substitute(&b, prev, &pe, msg, ents);
        if (r < 0)
            goto out;
        if (r == 0) {
            fd_buf_reset(&b);
            if (fd_buf_printf(&b, "%s ", s->last_question) || fd_buf_append(&b, msg.p, msg.len))
                goto out;
        }
        rewritten = r == 0 ? SESSION_PASTED : 1;
    }
    if (rewritten && b.len) {
        char *q = fd_arena_strndup(a, b.p, b.len);
        if (q)
            *query = (fd_str){q, b.len};
        else
            rewritten = 0;
    }
out:
    fd_buf_free(&b);
    return rewritten;
}
