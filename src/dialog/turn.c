/* turn.c: one customer message through the pipeline (see dialog.h). The
 * steps are small functions over one `turn` record so each reads on its
 * own; the order is the contract: nothing reaches retrieval or the LLM
 * before the guard, nothing leaves before validation, and the turn is
 * stored in one transaction with its analytics event. */
#include "dialog_int.h"

#include "session_int.h"
#include "templates_int.h"
#include "turn_int.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- input, guard, session ---------------------------------------------- */

#define DIALOG_USER_MAX 256 /* bytes of an end-user id ("user", a JWT subject) */

static int check_input(turn *t)
{
    const fd_turn_in *in = t->in;
    if (!in->message || in->len == 0)
        return fd_err_set_field(t->err, FD_EINVAL, "message", "message is empty");
    size_t bad;
    if (!fd_utf8_valid(in->message, in->len, &bad))
        return fd_err_set_field(t->err, FD_EUTF8, "message",
                                "message is not valid UTF-8 (byte %zu)", bad);
    size_t chars = 0;
    for (size_t i = 0; i < in->len; i++)
        chars += ((unsigned char)in->message[i] & 0xC0) != 0x80;
    if (chars > (size_t)t->as->cfg->guard_max_chars)
        return fd_err_set_field(t->err, FD_ETOOBIG, "message",
                                "message is %zu characters; the limit is %d", chars,
                                t->as->cfg->guard_max_chars);
    if (in->session_id && in->session_id[0] && !dialog_session_id_ok(in->session_id))
        return fd_err_set_field(t->err, FD_EINVAL, "session_id",
                                "session_id must be 1-64 letters, digits, '-' or '_'");
    /* An end-user id, not a document: bounded (PostgreSQL's index on it
     * refuses entries over ~2.7 kB, SQLite's would just grow). */
    if (in->user && strlen(in->user) > DIALOG_USER_MAX)
        return fd_err_set_field(t->err, FD_EINVAL, "user", "user must be at most %d bytes",
                                DIALOG_USER_MAX);
    return FD_OK;
}

static int load_session(turn *t)
{
    fd_store *st = fd_kb_store(t->kb);
    const char *id = t->in->session_id;
    if (id && id[0]) {
        int rc = fd_store_session_get(st, id, t->a, &t->sess, t->err);
        if (rc == FD_OK && strcmp(t->sess.owner, t->in->owner ? t->in->owner : "") != 0)
            return fd_err_set_field(t->err, FD_ENOTFOUND, "session_id", "no such session");
        if (rc == FD_OK) {
            session_slots_parse(t->sess.slots, &t->slots);
            return FD_OK;
        }
        if (rc != FD_ENOTFOUND)
            return rc;
        fd_err_clear(t->err);
    } else {
        char *nid = fd_arena_alloc(t->a, 33);
        if (!nid)
            return turn_oom(t);
        dialog_new_session_id(nid);
        id = nid;
    }
    memset(&t->sess, 0, sizeof t->sess);
    t->sess.id = fd_arena_strndup(t->a, id, strlen(id));
    t->sess.user = t->in->user ? t->in->user : "";
    t->sess.owner = t->in->owner ? t->in->owner : "";
    t->sess.lang = "";
    t->sess.state = "bot";
    t->new_session = 1;
    memset(&t->slots, 0, sizeof t->slots);
    return t->sess.id ? FD_OK : turn_oom(t);
}

/* Replicas sharing a PostgreSQL store answer one message of a
 * conversation at a time (issue 16): the lock is taken before the session
 * is read and dropped once the turn is stored, so the next message sees
 * this one's turn and slots. Its lease outlasts the longest wait for an
 * LLM slot, the call and the commit wait (llm.queue_timeout_ms +
 * llm.total_timeout_ms + store.busy_timeout_ms; the call's deadline starts
 * once it has a slot) by DIALOG_LOCK_MARGIN_S, after which a replica
 * that died holding it no longer blocks the conversation; a message waits
 * store.busy_timeout_ms for it, then gets 503 (retry). One SQLite file
 * has one server, whose turns of a conversation do not overlap in
 * practice (one customer, one browser tab): no lock there. */
#define DIALOG_LOCK_MARGIN_S 10.0

static int lock_convo(turn *t)
{
    const fd_config *cfg = t->as->cfg;
    const char *id = t->in->session_id;
    if (!cfg->store_url[0] || !id || !id[0] || t->in->ephemeral)
        return FD_OK;
    char holder[33];
    dialog_new_session_id(holder);
    /* The LLM call, then the commit, which may queue behind another
     * writer's lock for up to store.busy_timeout_ms. */
    double lease =
        ((double)cfg->llm_queue_timeout_ms + cfg->llm_total_ms + cfg->store_busy_timeout_ms) /
            1000.0 +
        DIALOG_LOCK_MARGIN_S;
    int rc = fd_store_convo_lock(fd_kb_store(t->kb), id, holder, lease, cfg->store_busy_timeout_ms,
                                 t->err);
    if (rc)
        return rc;
    memcpy(t->lock_holder, holder, sizeof holder);
    snprintf(t->lock_sid, sizeof t->lock_sid, "%s", id);
    return FD_OK;
}

/* kb: a handle of the calling thread (the store is not shared). */
static void unlock_convo(turn *t, fd_kb *kb)
{
    if (!t->lock_holder[0])
        return;
    fd_store_convo_unlock(fd_kb_store(kb), t->lock_sid, t->lock_holder);
    t->lock_holder[0] = '\0';
}

static int collect_turn(void *ctx, const fd_turn_row *row)
{
    turn *t = ctx;
    if (strcmp(row->role, "user") != 0 && strcmp(row->role, "assistant") != 0 &&
        strcmp(row->role, "operator") != 0)
        return 0;
    if (t->n_history == MAX_HISTORY) {
        memmove(t->history, t->history + 1, (MAX_HISTORY - 1) * sizeof *t->history);
        t->n_history--;
    }
    fd_prompt_turn *h = &t->history[t->n_history];
    h->role = strcmp(row->role, "user") == 0 ? "user" : "assistant";
    h->text = fd_arena_strndup(t->a, row->text, strlen(row->text));
    if (!h->text)
        return -1;
    t->n_history++;
    return 0;
}

/* The last few turns (dialog.history_turns exchanges), oldest first. */
static int load_history(turn *t)
{
    if (t->new_session)
        return FD_OK;
    int64_t keep = 2 * (int64_t)t->as->cfg->dialog_history_turns;
    int64_t after = t->sess.n_turns > keep ? t->sess.n_turns - keep : 0;
    int rc = fd_store_turns_each(fd_kb_store(t->kb), t->sess.id, after, collect_turn, t, t->err);
    return rc < 0 ? turn_oom(t) : rc;
}

/* ---- understanding ------------------------------------------------------- */

/* Words of SHORT_MSG or fewer say too little to change a conversation's
 * language: "mon morning" (Monday, in English) read as French ("mon" is
 * "my") and the order flow answered an English customer in French. */
#define SHORT_MSG 3

static size_t count_words(fd_str m)
{
    size_t n = 0;
    for (size_t i = 0; i < m.len; i++)
        n += isalpha((unsigned char)m.p[i]) && (i == 0 || !isalpha((unsigned char)m.p[i - 1]));
    return n;
}

static fd_lang pick_lang(turn *t)
{
    fd_lang g = fd_text_guess_lang(t->msg);
    fd_lang s = fd_lang_parse(t->sess.lang);
    if (s != FD_LANG_UNKNOWN && g != s && count_words(t->msg) <= SHORT_MSG)
        return s;
    if (g != FD_LANG_UNKNOWN)
        return g;
    return s != FD_LANG_UNKNOWN ? s : FD_LANG_EN;
}

static void builtin_intent(turn *t);

/* A follow-up pasted onto the question before ("... can i pay for it
 * monthly") is also tried alone when the pasted question finds no answer
 * (t->alt_query). The other way round (a message read alone tried pasted)
 * was measured and left out: on the dev KBs it answered 3 more of 66
 * unanswerable questions asked second in a conversation and no more
 * follow-ups. */
static int alt_reading(turn *t, const fd_norm_ctx *nc)
{
    t->alt_query = (fd_str){NULL, 0};
    if (t->rewritten != SESSION_PASTED)
        return FD_OK;
    fd_str q = t->msg, nq;
    if (t->as->cfg->answer_normalize &&
        fd_answer_normalize_query(nc, q, t->a, &nq, NULL, NULL) == FD_OK)
        q = nq;
    t->alt_query = q;
    return FD_OK;
}

static int understand(turn *t)
{
    uint64_t t0 = fd_time_ns();
    t->lang = pick_lang(t);
    t->nctx.now = dialog_now(t->as);
    t->nctx.tz_offset_min = t->as->cfg->dialog_tz_offset_min;
    t->nctx.lang = t->lang;
    int rc = fd_text_fold(t->msg, t->a, &t->folded, t->err);
    if (!rc && t->as->intents)
        rc = fd_intent_classify(t->as->intents, t->msg, t->a, &t->intent, t->err);
    else if (!rc)
        builtin_intent(t);
    if (!rc)
        rc = fd_nlu_entities(t->msg, &t->nctx, t->a, &t->ents, t->err);
    if (!rc) {
        t->senti = fd_nlu_sentiment(t->msg, t->lang);
        session_update_slots(&t->slots, t->msg, &t->ents, t->a);
        t->query = t->msg;
        t->rewritten =
            session_rewrite(&t->slots, t->msg, t->folded, &t->ents, &t->nctx, t->a, &t->query);
        /* The KB's spelling for retrieval and the answer; the stored turn
         * keeps the customer's own words. A failure leaves them as typed. */
        fd_norm_ctx nc = {fd_kb_analyzer(t->kb), t->lang,         dialog_corpus_df, t->kb,
                          t->as->words,          t->as->thesaurus};
        fd_str nq;
        if (t->as->cfg->answer_normalize &&
            fd_answer_normalize_query(&nc, t->query, t->a, &nq, NULL, NULL) == FD_OK)
            t->query = nq;
        rc = alt_reading(t, &nc);
    }
    t->r->ms_nlu = turn_ms_since(t0);
    return rc;
}

static const char *intent_label(const turn *t)
{
    return (t->as->intents || t->builtin_intent) && t->intent.label ? t->intent.label : "";
}

static int intent_is(const turn *t, const char *label)
{
    return (t->as->intents || t->builtin_intent) && t->intent.label && !t->intent.oos &&
           strcmp(t->intent.label, label) == 0 && t->intent.confidence >= 0.5;
}

/* ---- a KB without intents.tsv: small talk and "a person, please" ---------- */

/* Words that make up a whole greeting, thanks or goodbye (folded: no case,
 * no accents): at least one key word, nothing but key and filler words.
 * And phrases asking for a person. Deliberately narrow: a KB with only
 * documents must still greet, thank and hand over (issue 14), but a
 * question must never be taken for small talk. */
static const char *const GREET_KEYS[] = {"hi",      "hello",     "hey",     "hiya",    "howdy",
                                         "morning", "afternoon", "evening", "bonjour", "salut",
                                         "coucou",  "bonsoir",   "hallo",   NULL};
static const char *const GREET_FILL[] = {"good", "there", "everyone", "all", "team",
                                         "tout", "le",    "monde",    NULL};
static const char *const THANK_KEYS[] = {"thanks", "thank", "thx", "ty", "cheers", "merci", NULL};
static const char *const THANK_FILL[] = {"you",   "a",    "lot",  "so",       "much",    "very",
                                         "great", "ok",   "okay", "perfect",  "parfait", "super",
                                         "many",  "bien", "tres", "beaucoup", NULL};
static const char *const BYE_KEYS[] = {"bye", "goodbye", "cya", "revoir", "ciao", NULL};
static const char *const BYE_FILL[] = {
    "see",  "you",  "later", "au",   "bonne", "journee", "soiree", "a",  "plus", "have",
    "nice", "good", "day",   "take", "care",  "thanks",  "merci",  "ok", NULL};
static const char *const PERSON[] = {"real person",
                                     "a human",
                                     "human agent",
                                     "speak to someone",
                                     "talk to someone",
                                     "speak to a person",
                                     "talk to a person",
                                     "speak to an agent",
                                     "talk to an agent",
                                     "live agent",
                                     "customer service agent",
                                     "speak to a human",
                                     "talk to a human",
                                     "an operator",
                                     "speak with someone",
                                     "talk with someone",
                                     "parler a quelqu'un",
                                     "parler a quelqu un",
                                     "un conseiller",
                                     "une conseillere",
                                     "un humain",
                                     "une vraie personne",
                                     "parler a une personne",
                                     "un agent",
                                     NULL};

/* A whole "yes" or "no" to the decline's offer to pass the question on:
 * "yes please", "ok go ahead", "oui merci", "no thanks", "non ça ira". */
static const char *const YES_KEYS[] = {"yes",    "yeah",       "yep", "yup", "ok",  "okay",
                                       "sure",   "please",     "pls", "plz", "oui", "ouais",
                                       "accord", "volontiers", "yea", "ya",  NULL};
static const char *const YES_FILL[] = {
    "thanks", "thank", "you",  "that",    "would",      "be",     "great", "a",       "go",
    "ahead",  "do",    "it",   "pass",    "on",         "send",   "to",    "your",    "the",
    "team",   "them",  "fine", "good",    "nice",       "lovely", "merci", "s",       "il",
    "vous",   "plait", "te",   "d",       "bien",       "sur",    "avec",  "plaisir", "transmettez",
    "allez",  "y",     "cool", "perfect", "parfait",    "super",  "id",    "i",       "like",
    "love",   "ll",    "take", "that'd",  "appreciate", NULL};
static const char *const NO_KEYS[] = {"no", "nope", "nah", "non", NULL};
static const char *const NO_FILL[] = {"thanks", "thank",   "you",     "it",   "s",   "its", "fine",
                                      "ok",     "okay",    "merci",   "ca",   "va",  "ira", "that",
                                      "all",    "right",   "good",    "need", "i",   "don", "t",
                                      "dont",   "worries", "problem", "c",    "est", "bon", "pas",
                                      "la",     "peine",   "besoin",  NULL};

static int in_list(const char *const *list, const char *w, size_t n)
{
    for (; *list; list++)
        if (strlen(*list) == n && memcmp(*list, w, n) == 0)
            return 1;
    return 0;
}

static int is_letter(char c)
{
    return (c >= 'a' && c <= 'z') || (unsigned char)c >= 0x80;
}

static int only_words(fd_str f, const char *const *keys, const char *const *fill)
{
    int any = 0;
    size_t i = 0;
    for (;;) {
        while (i < f.len && !is_letter(f.p[i])) {
            if (f.p[i] >= '0' && f.p[i] <= '9')
                return 0; /* "hi 500 boxes" is not a greeting */
            i++;
        }
        size_t b = i;
        while (i < f.len && is_letter(f.p[i]))
            i++;
        if (i == b)
            return any;
        if (in_list(keys, f.p + b, i - b))
            any = 1;
        else if (!in_list(fill, f.p + b, i - b))
            return 0;
    }
}

static int has_phrase(fd_str f, const char *const *list)
{
    for (; *list; list++)
        if (fd_text_has_word(f, *list))
            return 1;
    return 0;
}

static void builtin_intent(turn *t)
{
    const char *label = NULL;
    if (has_phrase(t->folded, PERSON))
        label = "human_handoff";
    else if (memchr(t->folded.p, '?', t->folded.len))
        label = NULL; /* a question is never small talk */
    else if (only_words(t->folded, GREET_KEYS, GREET_FILL))
        label = "greeting";
    else if (only_words(t->folded, THANK_KEYS, THANK_FILL))
        label = "thanks";
    else if (only_words(t->folded, BYE_KEYS, BYE_FILL))
        label = "goodbye";
    if (!label)
        return;
    t->builtin_intent = 1;
    t->intent.label = label;
    t->intent.confidence = 1.0;
    t->intent.oos = 0;
}

/* S$ value of an order named in the message: an amount, or a quantity
 * times a unit price both given ("500 boxes at S$12"). */
static double order_value(const turn *t)
{
    double money = 0, qty = 0;
    for (size_t i = 0; i < t->ents.n; i++) {
        if (t->ents.v[i].kind == FD_ENT_MONEY && t->ents.v[i].value > money)
            money = t->ents.v[i].value;
        if (t->ents.v[i].kind == FD_ENT_QUANTITY && t->ents.v[i].value > qty)
            qty = t->ents.v[i].value;
    }
    if (money > 0 && qty > 0 && money < 1000)
        return money * qty;
    return money;
}

/* ---- routes -------------------------------------------------------------- */

static int set_text(turn *t, const char *fmt, const char *arg)
{
    char *s = arg ? fd_arena_printf(t->a, fmt, arg) : fd_arena_strndup(t->a, fmt, strlen(fmt));
    if (!s)
        return turn_oom(t);
    t->r->answer = s;
    return FD_OK;
}

int dialog_escalate(turn *t, const esc_rule *rule)
{
    fd_reply *r = t->r;
    r->route = "escalation";
    r->answered = 1;
    r->escalation_tier = rule->tier;
    r->escalation_reason = rule->reason;
    r->escalation_online = esc_staffed(&t->as->rules, dialog_now(t->as));
    t->rule = rule;
    const char *msg = esc_holding_message(&t->as->rules, rule->tier, dialog_now(t->as));
    if (!msg)
        msg = dialog_template("handoff", t->lang);
    t->sess.state = "waiting";
    return set_text(t, msg, NULL);
}

static int route_template(turn *t, const char *key)
{
    t->r->route = "template";
    t->r->answered = 1;
    const char *tmpl = dialog_template(key, t->lang);
    if (!t->as->company && strstr(tmpl, "%s")) {
        char anon[64];
        snprintf(anon, sizeof anon, "%s_anon", key);
        const char *a = dialog_template(anon, t->lang);
        if (a)
            return set_text(t, a, NULL);
    }
    return set_text(t, tmpl, strstr(tmpl, "%s") ? (t->as->company ? t->as->company : "us") : NULL);
}

/* Greetings, thanks and goodbyes get a template only when that is all the
 * message says: "hi, do you deliver on Sunday?" is a question. */
static int pure_smalltalk(const turn *t)
{
    size_t words = 0;
    int in_word = 0;
    for (size_t i = 0; i < t->folded.len; i++) {
        int w = t->folded.p[i] != ' ';
        words += w && !in_word;
        in_word = w;
    }
    return words <= 5 && !memchr(t->folded.p, '?', t->folded.len);
}

/* Out of hours the holding message asks for a name and a phone number;
 * the customer's answer is kept with the conversation (the team reads it
 * with the handoff) and thanked, not taken for a new question (issue 14:
 * it used to open a second ticket). */
static int contact_left(turn *t)
{
    if (strcmp(t->sess.state, "waiting") != 0)
        return 0;
    const char *how = NULL;
    for (size_t i = 0; i < t->ents.n && !how; i++)
        if ((t->ents.v[i].kind == FD_ENT_PHONE || t->ents.v[i].kind == FD_ENT_EMAIL) &&
            t->ents.v[i].norm)
            how = t->ents.v[i].norm;
    if (!how)
        return 0;
    t->r->route = "template";
    t->r->answered = 1;
    char *s = fd_arena_printf(
        t->a,
        t->lang == FD_LANG_FR
            ? "Merci, c'est noté : un membre de notre équipe vous contactera au %s dès que "
              "possible."
            : "Thank you, that's noted: a member of our team will contact you at %s as soon as "
              "they can.",
        how);
    if (!s)
        return -1;
    t->r->answer = s;
    return 1;
}

/* "yes please" to the decline's offer ("I can pass your question to a
 * member of our team if you'd like"): the conversation goes to a person,
 * with the unanswered question as the hand-over's reason; "no thanks" gets
 * a plain acknowledgement. Before issue 14's fix the offer was words only:
 * "yes" was taken for a new question and declined again. The tier is that
 * of the company's rule for a customer asking for a person, else "agent".
 * Returns 1 handled, 0 not an answer to the offer, -1 out of memory. */
static int offer_answered(turn *t)
{
    if (!t->slots.offered || strcmp(t->sess.state, "bot") != 0 ||
        memchr(t->folded.p, '?', t->folded.len))
        return 0;
    int yes = only_words(t->folded, YES_KEYS, YES_FILL);
    int no = !yes && only_words(t->folded, NO_KEYS, NO_FILL);
    if (!yes && !no)
        return 0;
    if (no)
        return route_template(t, "offer_declined") ? -1 : 1;
    esc_input ein = {.folded = t->folded, .intent = "human_handoff", .confidence = 1.0};
    const esc_rule *base = esc_rules_match(&t->as->rules, &ein);
    esc_rule *rule = fd_arena_calloc(t->a, 1, sizeof *rule);
    if (!rule)
        return -1;
    rule->name = fd_arena_printf(t->a, "declined_question");
    rule->tier = base ? base->tier : fd_arena_printf(t->a, "agent");
    rule->reason = fd_arena_printf(t->a,
                                   "Customer asked to pass on a question the assistant "
                                   "could not answer: \"%s\"",
                                   t->slots.last_question);
    if (!rule->name || !rule->tier || !rule->reason)
        return -1;
    return dialog_escalate(t, rule) ? -1 : 1;
}

int dialog_route(turn *t)
{
    esc_input ein = {.folded = t->folded,
                     /* the model's guess yields to an answer to the
                      * order's question; a person asked for in so many
                      * words (builtin_intent) does not */
                     .intent =
                         !t->builtin_intent && dialog_order_answers(t) ? NULL : intent_label(t),
                     .confidence = t->intent.confidence,
                     .sentiment = t->senti.score,
                     .order_value = order_value(t),
                     .unresolved = 0};
    const esc_rule *rule = dialog_order_first(t) ? NULL : esc_rules_match(&t->as->rules, &ein);
    if (rule && !rule->answer_first)
        return dialog_escalate(t, rule);
    int cl = contact_left(t);
    if (cl)
        return cl < 0 ? turn_oom(t) : FD_OK;
    int oa = rule ? 0 : offer_answered(t);
    if (oa)
        return oa < 0 ? turn_oom(t) : FD_OK;
    if (!rule) {
        /* before small talk: "no" to an order's summary is not goodbye */
        int handled;
        int rc = dialog_order(t, &handled);
        if (rc || handled)
            return rc;
    }
    static const char *const smalltalk[] = {"greeting", "thanks", "goodbye"};
    for (int i = 0; i < 3 && !rule; i++)
        if (intent_is(t, smalltalk[i]) && pure_smalltalk(t))
            return route_template(t, smalltalk[i]);
    t->route_after = 1;
    t->answer_first = rule;
    t->order_value = ein.order_value;
    return dialog_knowledge(t);
}

int dialog_route_after(turn *t)
{
    fd_reply *r = t->r;
    int rc;
    if (!t->route_after)
        return FD_OK;
    t->route_after = 0;
    const esc_rule *rule = t->answer_first;
    if (rule) {
        /* A rule that lets us answer first: what the documents say, then
         * the hand-over ("can you waive the fee?" -> the fee policy, and a
         * person who can decide). */
        const char *said = r->answered ? r->answer : NULL;
        int answered = r->answered;
        rc = dialog_escalate(t, rule);
        if (!rc && said) {
            char *s = fd_arena_printf(t->a, "%s\n\n%s", said, r->answer);
            if (!s)
                return turn_oom(t);
            r->answer = s;
        }
        if (!answered)
            r->n_citations = 0;
        return rc;
    }
    if (t->order_reminder) {
        rc = dialog_order_reminder(t);
        if (rc)
            return rc;
    }
    if (!r->answered && t->as->catalog && intent_is(t, "order_status")) {
        /* no policy page answered it: it is about an order of theirs */
        const char *prefix = fd_catalog_rules(t->as->catalog)->id_prefix;
        r->route = "order";
        r->answered = 1;
        return set_text(
            t,
            t->lang == FD_LANG_FR
                ? "Donnez-moi le numéro de commande (%s- suivi de 6 chiffres) et je vérifie."
                : "Please give me the order number (%s- followed by 6 digits) and I'll "
                  "check it.",
            prefix);
    }
    if (!r->answered && !t->as->catalog &&
        (intent_is(t, "order_new") || intent_is(t, "order_status"))) {
        /* Until commerce exists, and when no policy page answers it: say
         * plainly what chat cannot do yet. */
        r->route = "order";
        r->answered = 1;
        return set_text(
            t, dialog_template(intent_is(t, "order_new") ? "order_new" : "order_status", t->lang),
            NULL);
    }
    if (!r->answered) {
        esc_input ein = {.folded = t->folded,
                         .intent = intent_label(t),
                         .confidence = t->intent.confidence,
                         .sentiment = t->senti.score,
                         .order_value = t->order_value,
                         .unresolved = t->sess.unresolved + 1};
        rule = esc_rules_match(&t->as->rules, &ein);
        if (rule && rule->unresolved_turns) {
            const char *decline = r->answer;
            rc = dialog_escalate(t, rule);
            char *s = rc ? NULL : fd_arena_printf(t->a, "%s %s", decline, r->answer);
            if (!rc && !s)
                return turn_oom(t);
            if (s)
                r->answer = s;
            return rc;
        }
    }
    return FD_OK;
}

/* ---- the whole turn ------------------------------------------------------ */

/* The guard's verdict depends on the message's bytes and the threshold
 * only, and it is the costliest step of a message answered from cache:
 * repeated messages reuse it. */
static int guard_key(const turn *t, fd_cache_key *k)
{
    char th[32];
    snprintf(th, sizeof th, "%.6g/%d", t->as->cfg->guard_threshold, t->as->cfg->guard_max_chars);
    int rc = fd_cache_key_init(k, fd_kb_loaded_version(t->kb));
    if (!rc)
        rc = fd_cache_key_add_str(k, th);
    if (!rc)
        rc = fd_cache_key_add(k, t->in->message, t->in->len);
    return rc;
}

static int guard_cached(turn *t, const fd_cache_key *k, fd_guard_verdict *v)
{
    void *val;
    size_t vlen;
    if (!fd_cache_get(t->as->cache, FD_CACHE_GUARD, k->b.p, k->b.len, t->a, &val, &vlen))
        return 0;
    fd_cache_reader rd;
    fd_cache_reader_init(&rd, val, vlen);
    int64_t flagged, kind;
    double score;
    const char *clean;
    fd_cache_read_int(&rd, &flagged);
    fd_cache_read_int(&rd, &kind);
    fd_cache_read_dbl(&rd, &score);
    fd_cache_read_str(&rd, &clean);
    if (rd.bad || !clean)
        return 0;
    memset(v, 0, sizeof *v);
    v->flagged = (int)flagged;
    v->kind = (fd_guard_kind)kind;
    v->score = score;
    v->clean = (fd_str){clean, strlen(clean)};
    return 1;
}

static void guard_store(turn *t, const fd_cache_key *k, const fd_guard_verdict *v)
{
    fd_cache_rec rec;
    fd_cache_rec_init(&rec);
    char *clean = fd_arena_strndup(t->a, v->clean.p ? v->clean.p : "", v->clean.len);
    if (clean && !fd_cache_rec_int(&rec, v->flagged) && !fd_cache_rec_int(&rec, v->kind) &&
        !fd_cache_rec_dbl(&rec, v->score) && !fd_cache_rec_str(&rec, clean))
        fd_cache_put(t->as->cache, FD_CACHE_GUARD, k->b.p, k->b.len, rec.b.p, rec.b.len);
    fd_cache_rec_free(&rec);
}

static int guard_step(turn *t)
{
    uint64_t t0 = fd_time_ns();
    fd_guard_verdict v;
    fd_cache_key k;
    int use = !t->in->no_cache && fd_cache_enabled(t->as->cache, FD_CACHE_GUARD) &&
              memchr(t->in->message, 0, t->in->len) == NULL;
    if (use && guard_key(t, &k)) {
        fd_cache_key_free(&k);
        use = 0;
    }
    int rc = FD_OK;
    if (!use || !guard_cached(t, &k, &v)) {
        rc = fd_guard_check(t->as->guard, (fd_str){t->in->message, t->in->len}, t->a, &v, t->err);
        if (!rc && use)
            guard_store(t, &k, &v);
    }
    if (use)
        fd_cache_key_free(&k);
    t->r->ms_guard = turn_ms_since(t0);
    if (rc)
        return rc;
    t->msg = v.clean;
    t->r->guard_flagged = v.flagged;
    t->r->guard_kind = fd_guard_kind_name(v.kind);
    t->guard_kind = v.kind;
    t->r->guard_score = v.score;
    return FD_OK;
}

/* The caller's strings, copied: a pending turn outlives the caller's
 * request buffers. */
static int copy_in(turn *t, const fd_turn_in *in)
{
    fd_turn_in *c = &t->in_copy;
    *c = *in;
    c->message = in->message ? fd_arena_strndup(t->a, in->message, in->len) : NULL;
#define DUP(f) c->f = in->f ? fd_arena_strndup(t->a, in->f, strlen(in->f)) : NULL
    DUP(session_id);
    DUP(user);
    DUP(request_id);
    DUP(traceparent);
    DUP(owner);
    DUP(oracle_doc);
#undef DUP
    if ((in->message && !c->message) || (in->session_id && !c->session_id) ||
        (in->user && !c->user) || (in->request_id && !c->request_id) ||
        (in->traceparent && !c->traceparent) || (in->owner && !c->owner))
        return turn_oom(t);
    t->in = c;
    return FD_OK;
}

/* The reply's last fields, the rest of the answer to the sink, the store. */
static int complete(turn *t)
{
    fd_reply *out = t->r;
    const fd_turn_sink *sink = t->sink;
    int rc = dialog_route_after(t);
    if (rc)
        return rc;
    out->language = fd_lang_code(t->lang);
    out->intent = intent_label(t);
    out->confidence = t->intent.confidence;
    out->sentiment = t->senti.score;
    out->query = fd_arena_strndup(t->a, t->query.p ? t->query.p : "", t->query.len);
    int stored = 0;
    if (t->order && !t->in->ephemeral) {
        /* An order's words name its id: stored first, then said. */
        rc = dialog_persist(t);
        if (rc)
            return rc;
        stored = 1;
    } else if (t->order) {
        out->answer = "(evaluation: the order would be placed now)";
    }
    if (sink && sink->on_text && out->answer) {
        if (!t->sink_done) {
            sink->on_text(sink->ctx, out->answer, strlen(out->answer));
        } else if (t->sink_answer && out->answer != t->sink_answer) {
            /* Routing added to what streamed (an answer-first hand-over). */
            size_t n = strlen(t->sink_answer);
            if (strncmp(out->answer, t->sink_answer, n) == 0 && out->answer[n])
                sink->on_text(sink->ctx, out->answer + n, strlen(out->answer + n));
        }
    }
    rc = t->in->ephemeral || stored ? FD_OK : dialog_persist(t);
    if (t->committing)
        return FD_OK; /* the rest once committed: fd_turn_committed */
    if (t->in->ephemeral && t->rule)
        out->escalation_ticket = "";
    out->ms_total = turn_ms_since(t->t0);
    return rc;
}

int fd_assistant_turn_begin(fd_assistant *as, fd_kb *kb, const fd_turn_in *in,
                            const fd_turn_sink *sink, fd_arena *a, fd_reply *out, fd_turn **pending,
                            fd_err *err)
{
    memset(out, 0, sizeof *out);
    *pending = NULL;
    turn *t = fd_arena_calloc(a, 1, sizeof *t);
    if (!t)
        return fd_err_set(err, FD_ENOMEM, "out of memory");
    t->as = as;
    t->kb = kb;
    t->sink = sink;
    t->a = a;
    t->r = out;
    t->err = err;
    t->t0 = fd_time_ns();
    out->validation = "skipped";
    out->source_url = as->cfg->answer_source_url[0] ? as->cfg->answer_source_url : NULL;
    out->grounded = 1;
    out->intent = "";
    out->route = "knowledge";
    int rc = copy_in(t, in);
    if (!rc)
        rc = check_input(t);
    if (!rc)
        rc = guard_step(t);
    if (!rc)
        rc = lock_convo(t);
    if (!rc)
        rc = load_session(t);
    if (!rc)
        rc = load_history(t);
    if (rc) {
        unlock_convo(t, kb);
        return rc;
    }
    out->session_id = t->sess.id;
    if (out->guard_flagged && t->guard_kind != FD_GUARD_UNICODE && dialog_order_guard_lifts(t)) {
        out->guard_flagged = 0;
        out->guard_kind = fd_guard_kind_name(FD_GUARD_NONE);
        t->guard_kind = FD_GUARD_NONE;
    }
    if (out->guard_flagged) {
        t->lang = pick_lang(t);
        out->route = "guard";
        out->answer = fd_guard_reply(t->guard_kind, fd_lang_code(t->lang));
    } else if (strcmp(t->sess.state, "human") == 0) {
        /* An operator has this conversation: the bot stays silent. */
        t->lang = pick_lang(t);
        out->route = "human";
        rc = set_text(t, dialog_template("human_silent", t->lang), "a member of our team");
    } else {
        rc = understand(t);
        if (!rc)
            rc = dialog_route(t);
    }
    if (rc) {
        dialog_llm_free(t);
        unlock_convo(t, kb);
        return rc;
    }
    if (t->llm_pending) {
        *pending = t;
        return FD_OK;
    }
    rc = complete(t);
    if (!rc && t->committing) {
        /* The conversation's lock is held until the turn is committed (the
         * committer drops it: commit.c, unlock_queued). */
        *pending = t;
        return FD_OK;
    }
    unlock_convo(t, kb);
    return rc;
}

int fd_turn_committing(const fd_turn *t)
{
    return t && t->committing;
}

int fd_turn_committed(fd_turn *t, fd_kb *kb)
{
    int rc = dialog_persist_finish(t);
    t->r->ms_total = turn_ms_since(t->t0);
    if (kb)
        unlock_convo(t, kb);
    return rc;
}

const fd_llm_request *fd_turn_llm_request(const fd_turn *t)
{
    return &t->llm_req;
}

void fd_turn_feed(fd_turn *t, fd_kb *kb, const char *p, size_t n)
{
    dialog_llm_feed(t, kb, p, n);
}

static int finish(fd_turn *t, fd_kb *kb, const fd_llm_result *res, int submit_rc,
                  void (*on_commit)(void *), void *on_commit_ctx, fd_err *err)
{
    t->kb = kb;
    t->err = err;
    /* NULL: its commit is waited for here (see fd_turn_in.on_commit). */
    t->in_copy.on_commit = on_commit;
    t->in_copy.on_commit_ctx = on_commit_ctx;
    int lrc = submit_rc ? submit_rc : res ? res->code : FD_EUNAVAIL;
    const char *lmsg = submit_rc ? err->msg : res ? res->error : "no result";
    char saved[sizeof err->msg];
    snprintf(saved, sizeof saved, "%s", lmsg ? lmsg : "");
    fd_err_clear(err);
    int rc = dialog_llm_finish(t, submit_rc ? NULL : res, lrc, saved);
    if (!rc)
        rc = complete(t);
    if (!rc && t->committing)
        return FD_OK; /* the committer drops the lock (commit.c, unlock_queued) */
    unlock_convo(t, kb);
    return rc;
}

int fd_turn_finish(fd_turn *t, fd_kb *kb, const fd_llm_result *res, int submit_rc, fd_err *err)
{
    return finish(t, kb, res, submit_rc, NULL, NULL, err);
}

int fd_turn_finish_queued(fd_turn *t, fd_kb *kb, const fd_llm_result *res,
                          void (*on_commit)(void *ctx), void *ctx, fd_err *err)
{
    return finish(t, kb, res, 0, on_commit, ctx, err);
}

int fd_turn_locked(const fd_turn *t)
{
    return t && t->lock_holder[0];
}

void fd_turn_abandon(fd_turn *t, fd_kb *kb)
{
    if (!t)
        return;
    dialog_llm_free(t);
    if (kb)
        unlock_convo(t, kb);
}

typedef struct feed_ctx {
    fd_turn *t;
    fd_kb *kb;
} feed_ctx;

static void feed(void *ctx, const char *p, size_t n)
{
    feed_ctx *f = ctx;
    fd_turn_feed(f->t, f->kb, p, n);
}

int fd_assistant_turn(fd_assistant *as, fd_kb *kb, const fd_turn_in *in, const fd_turn_sink *sink,
                      fd_arena *a, fd_reply *out, fd_err *err)
{
    fd_turn *t;
    int rc = fd_assistant_turn_begin(as, kb, in, sink, a, out, &t, err);
    if (rc || !t)
        return rc;
    fd_llm_result res;
    feed_ctx f = {t, kb};
    int lrc = fd_llm_complete(as->llm, fd_turn_llm_request(t), feed, &f, &res, err);
    /* A call that could not start (circuit open, cap) counts as not made. */
    return fd_turn_finish(t, kb, lrc == FD_EUNAVAIL && res.attempts == 0 ? NULL : &res,
                          lrc == FD_EUNAVAIL && res.attempts == 0 ? lrc : 0, err);
}
