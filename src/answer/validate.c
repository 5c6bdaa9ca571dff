/* validate.c: the gate every answer passes (LLM-written or extractive).
 * Each sentence must be backed by a cited passage, each fact must appear in
 * the sources or the customer's words, no banned promise may slip in, and
 * citations must name real passages. Odd text gets a verdict, not an error. */
#include "answer_int.h"

#include <ctype.h>
#include <math.h>

/* Default share of a sentence's content terms the best passage must hold.
 * Paraphrases reword a little; invented claims bring their own words. */
#define MIN_SENTENCE_SUPPORT 0.6

static const char *const reason_names[FD__NVAL] = {"ok",     "unsupported",  "number",
                                                   "banned", "bad_citation", "empty"};

const char *fd_val_reason_name(fd_val_reason r)
{
    return r >= 0 && r < FD__NVAL ? reason_names[r] : "unknown";
}

typedef struct vsrc {
    ans_bag bag; /* the passage's terms, in the answer's language */
    ans_claims claims;
} vsrc;

/* One sentence of a passage: where a claim must be found and the polarity
 * an answer sentence built from it must keep. */
typedef struct vsent {
    ans_bag bag;
    ans_claims claims;
    size_t psg;
    int neg;
} vsent;

/* One token of an answer sentence with its index terms ("Mon-Fri" gives
 * "mon-fri", "monfri", "mon", "fri": one word, matched by any of them). */
typedef struct vtok {
    fd_str t[6];
    size_t n;
    int whole; /* the sources use the whole token: its parts do not count */
    double w;  /* rarer among the source sentences: more telling */
} vtok;

typedef struct validator {
    fd_analyzer *an;
    fd_arena *a;
    fd_err *err;
    const fd_passage *p;
    size_t n;
    vsrc *src;
    ans_claims ctx; /* facts the customer stated */
    vsent *sents;   /* every sentence of every passage */
    size_t n_sents;
    fd_lang lang;
    char *cited; /* per passage: named by some marker */
    int any_marker;
    fd_validation *out;
    double min_support;
    int verbatim;   /* fd_validate_opts.verbatim: no citation markers to read */
    ans_memo *memo; /* the memo's generation for this call; NULL: none */
} validator;

/* Records the first failure; later ones only count. */
static int fail(validator *v, fd_val_reason r, const char *p, size_t len)
{
    if (v->out->ok) {
        v->out->ok = 0;
        v->out->reason = r;
        v->out->detail = fd_arena_strndup(v->a, p, len);
        if (!v->out->detail)
            return ans_oom(v->a, v->err);
    }
    return FD_OK;
}

/* "[2]", "[1, 3]", "[1][2]" at i: sets *end and marks the passages in set
 * (1-based numbers). Returns 0 if no marker, -1 if a number is out of range. */
static int marker_at(fd_str t, size_t i, size_t n, size_t *end, char *set)
{
    if (t.p[i] != '[')
        return 0;
    size_t j = i + 1;
    int any = 0, bad = 0;
    while (j < t.len) {
        while (j < t.len && t.p[j] == ' ')
            j++;
        size_t d = j, num = 0;
        while (j < t.len && isdigit((unsigned char)t.p[j]) && j - d < 6)
            num = num * 10 + (size_t)(t.p[j++] - '0');
        if (j == d)
            return 0;
        any = 1;
        if (num < 1 || num > n)
            bad = 1;
        else if (set)
            set[num - 1] = 1;
        while (j < t.len && t.p[j] == ' ')
            j++;
        if (j < t.len && t.p[j] == ']') {
            *end = j + 1;
            return bad ? -1 : any;
        }
        if (j >= t.len || t.p[j] != ',')
            return 0;
        j++;
    }
    return 0;
}

/* Copies text without its markers (and the space before each). */
static int strip_markers(validator *v, fd_str t, char *set, fd_str *out, int *bad, size_t *bad_at)
{
    char *o = fd_arena_alloc(v->a, t.len + 1);
    if (!o)
        return ans_oom(v->a, v->err);
    size_t n = 0, end;
    for (size_t i = 0; i < t.len;) {
        int m = v->verbatim ? 0 : marker_at(t, i, v->n, &end, set);
        if (m) {
            if (m < 0 && !*bad) {
                *bad = 1;
                *bad_at = i;
            }
            while (n > 0 && o[n - 1] == ' ')
                n--;
            i = end;
            continue;
        }
        o[n++] = t.p[i++];
    }
    o[n] = 0;
    *out = (fd_str){o, n};
    return FD_OK;
}

static int add_sentences(validator *v, size_t i, fd_str text)
{
    ans_sent *ss;
    size_t n;
    int rc = ans_memo_split(v->memo, text, v->a, &ss, &n, v->err);
    if (rc)
        return rc;
    vsent *nv = fd_arena_alloc(v->a, (v->n_sents + n + 1) * sizeof *nv);
    if (!nv)
        return ans_oom(v->a, v->err);
    if (v->n_sents)
        memcpy(nv, v->sents, v->n_sents * sizeof *nv);
    v->sents = nv;
    for (size_t k = 0; !rc && k < n; k++) {
        vsent *vs = &v->sents[v->n_sents++];
        fd_str st;
        memset(vs, 0, sizeof *vs);
        vs->psg = i;
        rc = ans_sent_text(text, &ss[k], v->a, &st, v->err);
        if (!rc)
            rc = ans_memo_bag(v->memo, v->an, st, v->lang, v->a, &vs->bag, v->err);
        if (!rc)
            rc = ans_memo_claims(v->memo, st, v->a, &vs->claims, v->err);
        if (!rc)
            rc = ans_memo_negated(v->memo, st, v->a, &vs->neg, v->err);
    }
    return rc;
}

static int prepare_sources(validator *v, const fd_validate_opts *opts)
{
    v->src = fd_arena_calloc(v->a, v->n + 1, sizeof *v->src);
    if (!v->src)
        return ans_oom(v->a, v->err);
    int rc = FD_OK;
    for (size_t i = 0; !rc && i < v->n; i++) {
        const fd_passage *p = &v->p[i];
        char *all = fd_arena_printf(v->a, "%s\n%s\n%s", p->title ? p->title : "",
                                    p->section ? p->section : "", p->text);
        if (!all)
            return ans_oom(v->a, v->err);
        rc = ans_memo_bag(v->memo, v->an, fd_str_c(all), v->lang, v->a, &v->src[i].bag, v->err);
        if (!rc)
            rc = ans_memo_claims(v->memo, fd_str_c(all), v->a, &v->src[i].claims, v->err);
        if (!rc)
            rc = add_sentences(v, i, fd_str_c(p->text));
    }
    if (!rc && opts && opts->context.len)
        rc = ans_claims_scan(opts->context, v->a, &v->ctx, v->err);
    return rc;
}

/* A banned phrase passes only when a cited passage (any passage if the
 * answer cites none) says it too: "free of charge" quoting the policy. */
static int check_banned(validator *v, fd_str text, const fd_validate_opts *opts)
{
    if (!opts || !opts->n_banned)
        return FD_OK;
    /* The answer folded once, not once per phrase (19 phrases in the
     * example: 5% of a chat turn's CPU, bench/RESULTS.md). */
    fd_str tf;
    if (fd_text_fold(text, v->a, &tf, NULL))
        return ans_oom(v->a, v->err);
    for (size_t b = 0; b < opts->n_banned; b++) {
        fd_str ph = fd_str_c(opts->banned[b]), pf;
        if (fd_text_fold(ph, v->a, &pf, NULL))
            return ans_oom(v->a, v->err);
        if (!ans_folded_has(tf, pf))
            continue;
        int backed = 0;
        for (size_t i = 0; i < v->n && !backed; i++)
            if (!v->any_marker || v->cited[i])
                backed = ans_folded_contains(fd_str_c(v->p[i].text), ph, v->a);
        if (!backed) {
            int rc = fail(v, FD_VAL_BANNED, ph.p, ph.len);
            if (rc)
                return rc;
        }
    }
    return FD_OK;
}

/* Which passages may back a sentence: its own markers, else every cited
 * passage, else all of them. */
static int allowed(const validator *v, const char *own, int own_any, size_t i)
{
    if (own_any)
        return own[i] || v->cited[i];
    return !v->any_marker || v->cited[i];
}

static int skip_chat(fd_str t)
{
    return ans_term_chatty(t) || ans_term_generic(t);
}

static int is_number(fd_str t)
{
    for (size_t i = 0; i < t.len; i++)
        if ((t.p[i] >= '0' && t.p[i] <= '9') || t.p[i] == '$')
            return 1;
    return 0;
}

/* The content tokens of a sentence: numbers (the claim checks' job) and
 * chat words dropped. */
static int tokens(validator *v, fd_str st, vtok **out, size_t *n_out)
{
    fd_terms tm;
    int rc = fd_analyzer_terms(v->an, st, v->lang, v->a, &tm, v->err);
    if (rc)
        return rc;
    vtok *tv = fd_arena_calloc(v->a, tm.n + 1, sizeof *tv);
    if (!tv)
        return ans_oom(v->a, v->err);
    size_t n = 0;
    for (size_t i = 0; i < tm.n;) {
        size_t j = i;
        vtok *t = &tv[n];
        int drop = is_number(tm.v[i].term) || skip_chat(tm.v[i].term);
        for (; j < tm.n && tm.v[j].off == tm.v[i].off; j++)
            if (t->n < 6)
                t->t[t->n++] = tm.v[j].term;
        for (size_t p = 0; !drop && t->n > 1 && p < v->n; p++)
            t->whole |= ans_bag_has_like(&v->src[p].bag, t->t[0]);
        if (!drop)
            n++;
        else
            memset(t, 0, sizeof *t);
        i = j;
    }
    *out = tv;
    *n_out = n;
    return FD_OK;
}

static int tok_in(const vtok *t, const ans_bag *b)
{
    if (t->whole)
        return ans_bag_has_like(b, t->t[0]);
    for (size_t k = 0; k < t->n; k++)
        if (ans_bag_has_like(b, t->t[k]))
            return 1;
    return 0;
}

/* Best-matching source sentence among the allowed passages, by the rarity
 * of the shared tokens; -1 if none shares any, -2 out of memory. */
static long best_sentence(validator *v, vtok *tv, size_t nt, const char *own, int own_any,
                          double *scores)
{
    /* Which source sentences hold each token, looked up once: the rarity
     * and the scores below both read it (looked up twice, these lookups
     * were a twentieth of a chat turn's CPU, bench/RESULTS.md). */
    unsigned char *in = nt && v->n_sents ? fd_arena_alloc(v->a, nt * v->n_sents) : NULL;
    if (nt && v->n_sents && !in)
        return -2;
    for (size_t k = 0; k < nt; k++) {
        size_t df = 0;
        for (size_t j = 0; j < v->n_sents; j++)
            df += in[k * v->n_sents + j] = (unsigned char)tok_in(&tv[k], &v->sents[j].bag);
        tv[k].w = 1.0 / (1.0 + (double)df);
    }
    long best = -1;
    for (size_t j = 0; j < v->n_sents; j++) {
        scores[j] = 0;
        if (!allowed(v, own, own_any, v->sents[j].psg))
            continue;
        for (size_t k = 0; k < nt; k++)
            if (in[k * v->n_sents + j])
                scores[j] += tv[k].w;
        if (scores[j] > 0 && (best < 0 || scores[j] > scores[best]))
            best = (long)j;
    }
    return best;
}

/* A fact must come from the sources the sentence is built on. Found only
 * in a weaker-matching sentence while the best match states another value
 * of the same kind, it is a mix-up: "close at 3:00 pm" (Christmas Eve)
 * said of Chinese New Year Eve (12:00 pm). */
static int claim_bound(const validator *v, const ans_claim *c, const ans_claims *all, long best,
                       const double *scores, const char *own, int own_any)
{
    if (best < 0) {
        /* No word ties the sentence to one source sentence ("Price (GBP):
         * 32.", a catalogue field said alone): no mix-up to fear, so it
         * holds when a passage it may come from states the same fact. */
        for (size_t j = 0; j < v->n_sents; j++)
            if (allowed(v, own, own_any, v->sents[j].psg) &&
                ans_claim_supported(c, &v->sents[j].claims))
                return 1;
        return 0;
    }
    const ans_claims *bc = &v->sents[best].claims;
    if (ans_claim_supported(c, bc))
        return 1;
    double found = -1;
    for (size_t j = 0; j < v->n_sents; j++)
        if (allowed(v, own, own_any, v->sents[j].psg) && scores[j] > found &&
            ans_claim_supported(c, &v->sents[j].claims))
            found = scores[j];
    if (found < 0) {
        /* in a title or section name, or split across lines */
        for (size_t i = 0; i < v->n && found < 0; i++)
            if (allowed(v, own, own_any, i) && ans_claim_supported(c, &v->src[i].claims))
                found = 0;
        if (found < 0)
            return 0;
    }
    if (c->kind == CLAIM_NUMBER || c->kind == CLAIM_CODE || found * 1.2 > scores[best])
        return 1;
    int best_has_kind = 0, agrees = 0;
    for (size_t k = 0; k < bc->n; k++)
        best_has_kind |= bc->v[k].kind == c->kind;
    for (size_t k = 0; k < all->n; k++)
        agrees |= all->v[k].kind == c->kind && ans_claim_supported(&all->v[k], bc);
    return !best_has_kind || agrees;
}

static int claims_ok(validator *v, fd_str st, long best, const double *scores, const char *own,
                     int own_any)
{
    ans_claims cl;
    int rc = ans_claims_scan(st, v->a, &cl, v->err);
    if (rc)
        return rc;
    v->out->n_claims += cl.n;
    for (size_t k = 0; k < cl.n; k++) {
        const ans_claim *c = &cl.v[k];
        if (!ans_claim_supported(c, &v->ctx) && !claim_bound(v, c, &cl, best, scores, own, own_any))
            return fail(v, FD_VAL_NUMBER, st.p + c->off, c->len);
    }
    return FD_OK;
}

/* Does the answer flip the polarity of what it paraphrases? Only when the
 * best match of its own polarity is clearly weaker than one of the other
 * ("We deliver on Sundays" vs "We do not deliver on Sundays"). A leading
 * "No," or "Yes," answers the question and is not part of the claim. */
static int flips_polarity(const validator *v, fd_str folded, const double *scores)
{
    size_t i = 0;
    if (folded.len > 3 && (!memcmp(folded.p, "no,", 3) || !memcmp(folded.p, "no.", 3)))
        i = 3;
    else if (folded.len > 4 && (!memcmp(folded.p, "non,", 4)))
        i = 4;
    if (ans_negated((fd_str){folded.p + i, folded.len - i}))
        return 0; /* saying less than the policy is not a promise */
    /* Compact sentences that match win ties: "We do not deliver on
     * Sundays" over a long one that mentions Sunday in passing. */
    double same = 0, other = 0;
    for (size_t j = 0; j < v->n_sents; j++) {
        double sc = scores[j] / sqrt((double)(v->sents[j].bag.n + 1));
        double *t = v->sents[j].neg ? &other : &same;
        if (sc > *t)
            *t = sc;
    }
    return other > 0 && same < 0.8 * other;
}

/* A capitalized word inside a sentence ("Malaysia", "Amex") names
 * something; a name the sources never mention is an invented claim. */
static int unknown_name(validator *v, fd_str st, const char *own, int own_any, fd_str *name)
{
    size_t i = 0;
    while (i < st.len && !isalpha((unsigned char)st.p[i]))
        i++;
    while (i < st.len && isalpha((unsigned char)st.p[i]))
        i++; /* the first word is capitalized anyway */
    for (; i < st.len; i++) {
        if (!isupper((unsigned char)st.p[i]) || isalnum((unsigned char)st.p[i - 1]))
            continue;
        size_t e = i;
        while (e < st.len && (isalpha((unsigned char)st.p[e]) || st.p[e] == '\''))
            e++;
        if (e - i <= 3 || (i >= 2 && strchr(".!?:", st.p[i - 2])))
            continue;
        ans_bag b;
        if (ans_bag_make(v->an, (fd_str){st.p + i, e - i}, v->lang, v->a, &b, NULL) || !b.n)
            continue; /* a stopword: "I", "We" */
        if (skip_chat(b.v[0]))
            continue;
        int seen = 0;
        for (size_t k = 0; k < v->n && !seen; k++)
            if (allowed(v, own, own_any, k))
                seen = ans_bag_has_like(&v->src[k].bag, b.v[0]);
        if (!seen) {
            *name = (fd_str){st.p + i, e - i};
            return 1;
        }
        i = e;
    }
    return 0;
}

/* Share of the sentence's content tokens found in the best allowed
 * passage; *who is that passage. */
static double passage_support(validator *v, const vtok *tv, size_t nt, const char *own, int own_any,
                              size_t *who)
{
    double best = -1;
    for (size_t i = 0; i < v->n; i++) {
        if (!allowed(v, own, own_any, i))
            continue;
        size_t have = 0;
        for (size_t k = 0; k < nt; k++)
            have += tok_in(&tv[k], &v->src[i].bag);
        double o = nt ? (double)have / (double)nt : 1.0;
        if (o > best) {
            best = o;
            *who = i;
        }
    }
    return best;
}

/* One sentence: conversational (no content tokens, no facts) passes;
 * otherwise an allowed passage must cover its words, a source sentence its
 * facts and its polarity ("we do not deliver on Sundays"). */
static int check_sentence(validator *v, fd_str raw, char *supporters)
{
    char *own = fd_arena_calloc(v->a, v->n + 1, 1);
    double *scores = fd_arena_calloc(v->a, v->n_sents + 1, sizeof *scores);
    fd_str st, name, f;
    int bad = 0, own_any = 0;
    size_t bad_at = 0, nt = 0, who = 0;
    vtok *tv = NULL;
    if (!own || !scores)
        return ans_oom(v->a, v->err);
    int rc = strip_markers(v, raw, own, &st, &bad, &bad_at);
    for (size_t i = 0; i < v->n; i++)
        own_any |= own[i];
    if (rc || !st.len)
        return rc;
    v->out->n_sentences++;
    rc = tokens(v, st, &tv, &nt);
    if (rc)
        return rc;
    long best = best_sentence(v, tv, nt, own, own_any, scores);
    if (best == -2)
        return ans_oom(v->a, v->err);
    rc = claims_ok(v, st, best, scores, own, own_any);
    if (rc || !v->out->ok)
        return rc;
    if (nt == 0) {
        v->out->n_supported++; /* "Happy to help!": no claim to check */
        return FD_OK;
    }
    double sup = passage_support(v, tv, nt, own, own_any, &who);
    if (sup < v->min_support)
        return fail(v, FD_VAL_UNSUPPORTED, st.p, st.len);
    if (unknown_name(v, st, own, own_any, &name))
        return fail(v, FD_VAL_UNSUPPORTED, name.p, name.len);
    rc = fd_text_fold(st, v->a, &f, v->err);
    if (rc)
        return rc;
    if (flips_polarity(v, f, scores))
        return fail(v, FD_VAL_UNSUPPORTED, st.p, st.len);
    v->out->n_supported++;
    supporters[who] = 1;
    return FD_OK;
}

static int set_answer(validator *v, fd_str clean, const char *supporters)
{
    fd_str keep = {"", 0}, red;
    fd_buf kb;
    fd_buf_init(&kb, 0);
    int rc = FD_OK;
    for (size_t i = 0; !rc && i < v->n; i++)
        rc = fd_buf_printf(&kb, "%s\n", v->p[i].text);
    if (rc) {
        fd_buf_free(&kb);
        return fd_err_set(v->err, rc, "validate: sources too big");
    }
    if (kb.len)
        keep = (fd_str){kb.p, kb.len};
    rc = fd_pii_redact(clean, keep, v->a, &red, NULL, v->err);
    fd_buf_free(&kb);
    if (rc)
        return rc;
    fd_answer *ans = &v->out->answer;
    ans->text = red.p;
    ans->answered = 1;
    ans->cites = fd_arena_calloc(v->a, v->n + 1, sizeof *ans->cites);
    if (!ans->cites)
        return ans_oom(v->a, v->err);
    for (size_t i = 0; i < v->n; i++)
        if (v->any_marker ? v->cited[i] : supporters[i])
            ans->cites[ans->n_cites++] =
                (fd_citation){(int)i, v->p[i].doc_key, v->p[i].title, v->p[i].section};
    ans->support =
        v->out->n_sentences ? (double)v->out->n_supported / (double)v->out->n_sentences : 0;
    return FD_OK;
}

static int check_all(validator *v, fd_str text, const fd_validate_opts *opts)
{
    fd_str clean;
    int bad = 0;
    size_t bad_at = 0;
    v->cited = fd_arena_calloc(v->a, v->n + 1, 1);
    if (!v->cited)
        return ans_oom(v->a, v->err);
    int rc = strip_markers(v, text, v->cited, &clean, &bad, &bad_at);
    if (rc)
        return rc;
    for (size_t i = 0; i < v->n; i++)
        v->any_marker |= v->cited[i];
    size_t alnum = 0;
    for (size_t i = 0; i < clean.len; i++)
        alnum += isalnum((unsigned char)clean.p[i]) || (unsigned char)clean.p[i] >= 0x80;
    if (!alnum)
        return fail(v, FD_VAL_EMPTY, "", 0);
    if (bad)
        rc = fail(v, FD_VAL_BAD_CITATION, text.p + bad_at,
                  text.len - bad_at > 8 ? 8 : text.len - bad_at);
    v->lang = opts && opts->lang ? opts->lang : fd_text_guess_lang(clean);
    if (v->lang == FD_LANG_UNKNOWN)
        v->lang = FD_LANG_EN;
    if (!rc)
        rc = prepare_sources(v, opts);
    if (!rc)
        rc = check_banned(v, clean, opts);
    ans_sent *s = NULL;
    size_t n_s = 0;
    char *supporters = fd_arena_calloc(v->a, v->n + 1, 1);
    if (!rc && !supporters)
        rc = ans_oom(v->a, v->err);
    if (!rc)
        rc = ans_split(text, v->a, &s, &n_s, v->err);
    for (size_t k = 0; !rc && k < n_s; k++) {
        fd_str st;
        rc = ans_sent_text(text, &s[k], v->a, &st, v->err);
        if (!rc)
            rc = check_sentence(v, st, supporters);
    }
    if (!rc)
        rc = set_answer(v, clean, supporters);
    return rc;
}

static int validate(fd_analyzer *an, fd_str text, const fd_passage *p, size_t n,
                    const fd_validate_opts *opts, ans_memo *memo, fd_arena *a, fd_validation *out,
                    fd_err *err)
{
    if (!an || !a || !out || (n && !p) || (!text.p && text.len))
        return fd_err_set(err, FD_EINVAL, "validate: missing argument");
    memset(out, 0, sizeof *out); /* ok = 0 until the checks ran */
    size_t bad;
    if (text.len && !fd_utf8_valid(text.p, text.len, &bad))
        return fd_err_set(err, FD_EUTF8, "validate: answer is not UTF-8 (byte %zu)", bad);
    if (opts && opts->context.len && !fd_utf8_valid(opts->context.p, opts->context.len, &bad))
        return fd_err_set(err, FD_EUTF8, "validate: context is not UTF-8 (byte %zu)", bad);
    for (size_t i = 0; i < n; i++)
        if (!p[i].text || !fd_utf8_valid(p[i].text, strlen(p[i].text), &bad))
            return fd_err_set(err, p[i].text ? FD_EUTF8 : FD_EINVAL,
                              "validate: passage %zu is not UTF-8 text", i);
    out->ok = 1;
    validator v = {an,
                   a,
                   err,
                   p,
                   n,
                   NULL,
                   {NULL, 0},
                   NULL,
                   0,
                   FD_LANG_EN,
                   NULL,
                   0,
                   out,
                   opts && opts->min_sentence_support > 0 ? opts->min_sentence_support
                                                          : MIN_SENTENCE_SUPPORT,
                   opts && opts->verbatim,
                   memo};
    if (!text.len) {
        out->answer.text = "";
        return fail(&v, FD_VAL_EMPTY, "", 0);
    }
    int rc = check_all(&v, text, opts);
    if (rc) {
        out->ok = 0;
        out->answer = (fd_answer){0};
    }
    return rc;
}

int fd_answer_validate(fd_analyzer *an, fd_str text, const fd_passage *p, size_t n,
                       const fd_validate_opts *opts, fd_arena *a, fd_validation *out, fd_err *err)
{
    fd_answer_memo *m = opts ? opts->memo : NULL;
    ans_memo *g = ans_memo_begin(m);
    int rc = validate(an, text, p, n, opts, g, a, out, err);
    ans_memo_end(m, g);
    return rc;
}
