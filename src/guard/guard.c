/* guard.c: the check every message goes through: limits, Unicode cleaning,
 * rules over several de-obfuscated views, the classifier, and one score and
 * kind out of them; plus the polite replies for flagged messages. */
#include "guard_int.h"

#include <string.h>

struct fd_guard {
    fd_guard_opts opts; /* defaults filled in */
    fd_gr_rules *rules;
    fd_gc_model *model;
};

/* A rule this strong flags on its own and benign cues cannot lower it. */
#define STRONG 0.85
#define DEFAULT_THRESHOLD 0.5
/* The classifier alone needs p >= 0.59 to flag: trained on a few hundred
 * messages it is confident about short benign ones it has never seen
 * ("give me the full price list"); cross-validation put the benign flag
 * rate at 3.2% with weight 1 and 1.6% with 0.85 at the same recall. */
#define CLASSIFIER_WEIGHT 0.85

static const char *const kind_names[FD__NGUARD] = {
    "none",         "too_long",       "bad_utf8",    "empty",  "unicode",
    "injection",    "jailbreak",      "prompt_leak", "hidden", "obfuscated",
    "data_request", "forced_promise", "code",
};

const char *fd_guard_kind_name(fd_guard_kind k)
{
    return (unsigned)k < FD__NGUARD ? kind_names[k] : "unknown";
}

/* Replies never repeat the message or say which rule fired: an attacker
 * probing the filter learns nothing, a customer who tripped it by accident
 * is told how to get help. */
static const char *const replies[FD__NGUARD][2] = {
    [FD_GUARD_NONE] = {"How can I help you with your order today?",
                       "Comment puis-je vous aider pour votre commande aujourd'hui ?"},
    [FD_GUARD_TOO_LONG] = {"Sorry, that message is too long for me. Could you send a shorter "
                           "version, or email the details to our team?",
                           "Désolé, ce message est trop long pour moi. Pourriez-vous envoyer une "
                           "version plus courte, ou écrire à notre équipe par e-mail ?"},
    [FD_GUARD_BAD_UTF8] = {"Sorry, I couldn't read that message: it contains characters I can't "
                           "process. Could you type it again?",
                           "Désolé, je n'ai pas pu lire ce message : il contient des caractères "
                           "que je ne sais pas traiter. Pourriez-vous le retaper ?"},
    [FD_GUARD_EMPTY] = {"It looks like your message was empty. What can I help you with?",
                        "Votre message semble vide. Que puis-je faire pour vous ?"},
    [FD_GUARD_UNICODE] = {"Sorry, your message contains hidden or unusual characters I can't "
                          "accept. Could you retype it in plain text?",
                          "Désolé, votre message contient des caractères cachés ou inhabituels "
                          "que je ne peux pas accepter. Pourriez-vous le retaper simplement ?"},
    [FD_GUARD_INJECTION] =
        {"Sorry, I can't change how I work. I'm happy to help with orders, "
         "deliveries, invoices or refunds.",
         "Désolé, je ne peux pas changer ma façon de fonctionner. Je peux "
         "vous aider pour les commandes, livraisons, factures ou remboursements."},
    [FD_GUARD_JAILBREAK] =
        {"Sorry, I can't play that role. I'm Harbour Pack's assistant and I can "
         "help with your orders, deliveries and invoices.",
         "Désolé, je ne peux pas jouer ce rôle. Je suis l'assistant de Harbour "
         "Pack et je peux vous aider pour vos commandes, livraisons et factures."},
    [FD_GUARD_PROMPT_LEAK] = {"Sorry, I can't share my internal setup. Is there something about "
                              "your order or our products I can help with?",
                              "Désolé, je ne peux pas partager ma configuration interne. Puis-je "
                              "vous aider pour une commande ou un produit ?"},
    [FD_GUARD_HIDDEN] = {"I noticed instructions addressed to me inside the pasted text, so I "
                         "won't act on it. Tell me in your own words what you need and I'll help.",
                         "J'ai remarqué des instructions qui me sont adressées dans le texte "
                         "collé, je ne vais donc pas les suivre. Dites-moi ce dont vous avez "
                         "besoin et je vous aiderai."},
    [FD_GUARD_OBFUSCATED] = {"Sorry, I can't act on encoded or disguised instructions. Please "
                             "write your question in plain words.",
                             "Désolé, je ne peux pas suivre des instructions encodées ou "
                             "déguisées. Merci d'écrire votre question simplement."},
    [FD_GUARD_DATA_REQUEST] = {"Sorry, I can't share passwords, keys or other customers' "
                               "information. For your own account, I'm happy to help.",
                               "Désolé, je ne peux pas communiquer de mots de passe, de clés ni "
                               "les informations d'autres clients. Pour votre propre compte, je "
                               "peux vous aider."},
    [FD_GUARD_FORCED_PROMISE] = {"I can't make commitments beyond our published policies. I can "
                                 "explain our delivery, refund and payment terms, or pass your "
                                 "request to our team.",
                                 "Je ne peux pas prendre d'engagement au-delà de nos conditions "
                                 "publiées. Je peux vous expliquer nos conditions de livraison, "
                                 "de remboursement et de paiement, ou transmettre votre demande à "
                                 "notre équipe."},
    [FD_GUARD_CODE] = {"Sorry, I can't process code or commands. If you meant to give an order "
                       "number or product code, please send it on its own.",
                       "Désolé, je ne peux pas traiter du code ou des commandes système. Si "
                       "c'était un numéro de commande ou une référence produit, envoyez-la seule."},
};

const char *fd_guard_reply(fd_guard_kind k, const char *lang)
{
    if ((unsigned)k >= FD__NGUARD)
        k = FD_GUARD_INJECTION;
    int fr = lang && (lang[0] == 'f' || lang[0] == 'F') && (lang[1] == 'r' || lang[1] == 'R');
    return replies[k][fr];
}

/* ---- construction ------------------------------------------------------- */

static void fill_defaults(const fd_guard_opts *in, fd_guard_opts *o)
{
    memset(o, 0, sizeof *o);
    if (in)
        *o = *in;
    if (!o->max_chars)
        o->max_chars = 2000;
    if (!o->max_bytes)
        o->max_bytes = 8 * o->max_chars;
    if (o->threshold <= 0 || o->threshold > 1)
        o->threshold = DEFAULT_THRESHOLD;
}

void fd_guard_free(fd_guard *g)
{
    if (!g)
        return;
    fd_gr_free(g->rules);
    fd_gc_free(g->model);
    fd_free(g);
}

int fd_gd_build(const fd_guard_opts *opts, const fd_gd_set *train, const unsigned char *skip,
                fd_guard **out, fd_err *err)
{
    *out = NULL;
    fd_guard *g = fd_calloc(1, sizeof *g);
    if (!g)
        return fd_err_set(err, FD_ENOMEM, "guard: out of memory");
    fill_defaults(opts, &g->opts);
    int rc = fd_gr_compile(&g->rules, err);
    if (!rc)
        rc = fd_gc_train(train, skip, &g->model, err);
    if (rc) {
        fd_guard_free(g);
        return rc;
    }
    *out = g;
    return FD_OK;
}

int fd_guard_new_cached(const fd_guard_opts *opts, const char *cache_path, int *cached,
                        fd_err *err_cache, fd_guard **out, fd_err *err)
{
    *out = NULL;
    *cached = FD_GUARD_TRAINED;
    if (!cache_path || !*cache_path)
        return fd_guard_new(opts, out, err);
    uint64_t key = fd_gc_cache_key(fd_guard_data, fd_guard_data_len);
    fd_gc_model *m = NULL;
    if (fd_gc_load(cache_path, key, &m, err_cache) == FD_OK) {
        fd_guard *g = fd_calloc(1, sizeof *g);
        if (!g) {
            fd_gc_free(m);
            return fd_err_set(err, FD_ENOMEM, "guard: out of memory");
        }
        fill_defaults(opts, &g->opts);
        g->model = m;
        int rc = fd_gr_compile(&g->rules, err);
        if (rc) {
            fd_guard_free(g);
            return rc;
        }
        *cached = FD_GUARD_LOADED;
        *out = g;
        return FD_OK;
    }
    int rc = fd_guard_new(opts, out, err);
    if (!rc)
        *cached = fd_gc_save((*out)->model, key, cache_path, err_cache) == FD_OK
                      ? FD_GUARD_TRAINED_SAVED
                      : FD_GUARD_TRAINED;
    return rc;
}

int fd_guard_new(const fd_guard_opts *opts, fd_guard **out, fd_err *err)
{
    *out = NULL;
    fd_gd_set set;
    int rc = fd_gd_parse((const char *)fd_guard_data, fd_guard_data_len, &set, err);
    if (rc)
        return rc;
    rc = fd_gd_build(opts, &set, NULL, out, err);
    fd_gd_set_free(&set);
    return rc;
}

/* ---- checking ----------------------------------------------------------- */

static int arena_rc(fd_arena *a, int rc, fd_err *err)
{
    if (rc == FD_ETOOBIG || (rc == FD_ENOMEM && fd_arena_full(a)))
        return fd_err_set(err, FD_ETOOBIG, "guard: arena cap reached");
    return fd_err_set(err, FD_ENOMEM, "guard: out of memory");
}

static void verdict_limit(fd_guard_verdict *v, fd_guard_kind k, const char *rule, fd_str clean)
{
    v->flagged = 1;
    v->kind = k;
    v->score = 0;
    v->rule = rule;
    v->clean = clean;
}

/* Whether the leetspeak pass over wj can find more than the plain pass over
 * w found: only when joining separators changed the words, or a word holds
 * a character that stands for a letter in leet mode. Most messages are
 * neither, and the second pass over every rule is then skipped. */
static int leet_may_differ(const fd_gu_words *w, const fd_gu_words *wj)
{
    if (w->n != wj->n)
        return 1;
    for (size_t i = 0; i < wj->n; i++) {
        fd_str x = wj->v[i];
        if (!fd_str_eq(x, w->v[i]))
            return 1;
        for (size_t k = 0; k < x.len; k++)
            if (x.p[k] && strchr("01345789@$!|", x.p[k])) /* rules.c: leet_eq */
                return 1;
    }
    return 0;
}

/* Rules over one derived text (decoded, reversed, smuggled): folded, split
 * both ways, matched. */
static int match_text(const fd_guard *g, fd_str text, int fold, fd_arena *a, fd_gr_hit *h)
{
    fd_str f = text;
    if (fold) {
        int rc = fd_text_fold(text, a, &f, NULL);
        if (rc == FD_EUTF8)
            return FD_OK; /* decoded bytes that are not text hide nothing readable */
        if (rc)
            return rc;
    }
    fd_gu_words w;
    int rc = fd_gu_split(f, 0, a, &w);
    if (rc)
        return rc;
    fd_gr_match(g->rules, &w, f, 0, h);
    fd_gu_words wj;
    rc = fd_gu_split(f, 1, a, &wj);
    if (!rc && leet_may_differ(&w, &wj))
        fd_gr_match(g->rules, &wj, (fd_str){NULL, 0}, 1, h);
    return rc;
}

static void raise_hit(fd_gr_hit *h, double w, fd_guard_kind k, const char *rule)
{
    if (w > h->w) {
        h->w = w;
        h->kind = k;
        h->rule = rule;
    }
}

static int contains(fd_str s, const char *lit)
{
    size_t n = strlen(lit);
    for (size_t i = 0; i + n <= s.len; i++)
        if (!memcmp(s.p + i, lit, n))
            return 1;
    return 0;
}

/* Everything past the limits: the views, the rules, the classifier. */
static int detect(const fd_guard *g, const fd_gu_clean *c, fd_arena *a, fd_guard_verdict *v)
{
    fd_str folded;
    int rc = fd_text_fold(c->text, a, &folded, NULL);
    if (rc)
        return rc;
    fd_gr_hit hit = {0};
    fd_gu_words w;
    rc = fd_gu_split(folded, 0, a, &w);
    if (rc)
        return rc;
    fd_gr_match(g->rules, &w, folded, 0, &hit);

    /* Leetspeak and separators inside words ("1gn0r3", "r.e.v.e.a.l"). */
    fd_gu_words wj;
    rc = fd_gu_split(folded, 1, a, &wj);
    if (rc)
        return rc;
    fd_gr_hit h2 = {0};
    if (leet_may_differ(&w, &wj))
        fd_gr_match(g->rules, &wj, (fd_str){NULL, 0}, 1, &h2);
    if (h2.w >= 0.6 && h2.w > hit.w + 0.05)
        raise_hit(&hit, h2.w, FD_GUARD_OBFUSCATED, "obfuscated.leet");

    /* Letters spaced out one by one. */
    fd_str blob;
    rc = fd_gu_spaced(&w, a, &blob);
    if (rc)
        return rc;
    if (blob.len && fd_gu_has_keyword(blob))
        raise_hit(&hit, 0.88, FD_GUARD_OBFUSCATED, "obfuscated.spaced");

    /* Reversed text: "read this backwards", or a bidi override showing it
     * the right way round. */
    fd_str rev;
    rc = fd_gu_reverse(folded, a, &rev);
    if (!rc) {
        fd_gr_hit h3 = {0};
        rc = match_text(g, rev, 0, a, &h3);
        if (!rc && h3.w >= 0.8 && h3.w > hit.w)
            raise_hit(&hit, h3.w, c->bidi ? FD_GUARD_UNICODE : FD_GUARD_OBFUSCATED,
                      c->bidi ? "unicode.bidi_reversed" : "obfuscated.reversed");
    }
    if (rc)
        return rc;

    if (contains(folded, "rot13") || contains(folded, "rot 13") || contains(folded, "rot-13")) {
        fd_str rot;
        fd_gr_hit h4 = {0};
        rc = fd_gu_rot13(folded, a, &rot);
        if (!rc)
            rc = match_text(g, rot, 0, a, &h4);
        if (rc)
            return rc;
        if (h4.w >= 0.6)
            raise_hit(&hit, 0.92, FD_GUARD_OBFUSCATED, "obfuscated.rot13");
    }

    /* base64 and hex segments are read case-sensitively, before folding. */
    fd_str dec;
    rc = fd_gu_decode_segments(c->text, a, &dec);
    if (rc)
        return rc;
    if (dec.len) {
        fd_gr_hit h5 = {0};
        rc = match_text(g, dec, 1, a, &h5);
        if (rc)
            return rc;
        if (h5.w >= 0.5)
            raise_hit(&hit, 0.95, FD_GUARD_OBFUSCATED, "obfuscated.encoded_instruction");
        else
            raise_hit(&hit, 0.45, FD_GUARD_OBFUSCATED, "obfuscated.encoded_text");
    }

    /* ASCII smuggled in tag characters has no business in a chat message. */
    if (c->smuggled.len >= 4) {
        fd_gr_hit h6 = {0};
        rc = match_text(g, c->smuggled, 1, a, &h6);
        if (rc)
            return rc;
        if (h6.w >= 0.5 || c->smuggled.len >= 8)
            raise_hit(&hit, 0.95, FD_GUARD_UNICODE, "unicode.tag_smuggling");
    }

    double p = 0;
    fd_guard_kind ckind = FD_GUARD_INJECTION;
    rc = fd_gc_predict(g->model, folded, a, &p, &ckind);
    if (rc)
        return rc;

    /* A word that needed un-hiding and turns out to be an attack word. */
    int disguised = 0;
    if (c->touched.len && (c->n_split || c->n_mixed || c->n_mapped)) {
        fd_str tf;
        rc = fd_text_fold(c->touched, a, &tf, NULL);
        if (rc)
            return rc;
        disguised = fd_gu_has_keyword(tf);
    }

    double r = hit.w;
    double s = 1.0 - (1.0 - r) * (1.0 - CLASSIFIER_WEIGHT * p);
    if (r < STRONG && hit.shield > 0)
        s *= 1.0 - hit.shield;
    if (disguised && (s >= 0.3 || c->n_split || c->n_mixed)) {
        /* the trick itself is the evidence: nobody hides "password" by accident */
        s = s > 0.92 ? s : 0.92;
        hit.kind = FD_GUARD_UNICODE;
        hit.rule = "unicode.disguised_keyword";
        r = 1;
    }
    v->score = s;
    v->flagged = s >= g->opts.threshold;
    if (!v->flagged) {
        v->kind = FD_GUARD_NONE;
        v->rule = NULL;
        return FD_OK;
    }
    v->kind = r >= 0.45 ? hit.kind : ckind;
    v->rule = r >= 0.45 ? hit.rule : "classifier";
    /* a fake "[system]" turn is an injection wherever it sits */
    if (hit.paste && !hit.probe &&
        (v->kind == FD_GUARD_INJECTION || v->kind == FD_GUARD_PROMPT_LEAK ||
         v->kind == FD_GUARD_FORCED_PROMISE || v->kind == FD_GUARD_DATA_REQUEST ||
         v->kind == FD_GUARD_JAILBREAK))
        v->kind = FD_GUARD_HIDDEN; /* the instruction came inside quoted content */
    return FD_OK;
}

int fd_guard_check(const fd_guard *g, fd_str msg, fd_arena *a, fd_guard_verdict *out, fd_err *err)
{
    memset(out, 0, sizeof *out);
    out->clean = msg;
    if (!msg.p)
        msg = (fd_str){"", 0};
    if (msg.len > g->opts.max_bytes) {
        verdict_limit(out, FD_GUARD_TOO_LONG, "limit.bytes", msg);
        return FD_OK;
    }
    if (!fd_utf8_valid(msg.p, msg.len, NULL)) {
        verdict_limit(out, FD_GUARD_BAD_UTF8, "limit.utf8", (fd_str){"", 0});
        return FD_OK;
    }
    if (fd_gu_count_cp(msg) > g->opts.max_chars) {
        verdict_limit(out, FD_GUARD_TOO_LONG, "limit.chars", msg);
        return FD_OK;
    }
    fd_gu_clean c;
    int rc = fd_gu_clean_text(msg, a, &c);
    if (rc)
        return arena_rc(a, rc, err);
    out->clean = c.text;
    out->unicode_changed = c.changed;
    if (fd_gu_blank(c.text)) {
        verdict_limit(out, FD_GUARD_EMPTY, "limit.empty", c.text);
        return FD_OK;
    }
    rc = detect(g, &c, a, out);
    if (rc)
        return arena_rc(a, rc, err);
    return FD_OK;
}
