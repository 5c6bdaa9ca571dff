/* cached.c: the knowledge step through the answer caches (src/cache).
 *
 * What is cached is the knowledge step's outcome — answer, citations,
 * validation — never the turn: guard, understanding, escalation rules,
 * routing and storage run for every message, so a cached answer still
 * escalates an angry customer and is still written to the session.
 *
 * Shared only when the answer cannot depend on the person: the question
 * was not rewritten from the session's slots, it names no order, account,
 * contact or outlet, its intent is not a personal one, and (on the LLM
 * path) no earlier turns were in the prompt. Every key starts with the kb
 * version the answer was computed from.
 *
 *   exact     lang | llm? | normalized message
 *   semantic  lang | llm? | intent | key entities | negation | distinctive
 *             words (rare in the corpus, known to the index), then the
 *             closest embedding within that bucket. "10-inch" and "12-inch"
 *             differ in entities, a product by its distinctive words, "not"
 *             by polarity: they land in different buckets and never meet.
 *   evidence  (LLM path) the semantic bucket (but the intent: see
 *             evidence_key), the kind of fact asked and
 *             the extractive answer: its document, the sections it cites,
 *             the sentences it quotes. A neighbour in the bucket is
 *             confirmed by the KB's own answer reading the same (issue 13:
 *             "by the same retrieval result rather than identical words")
 *             instead of by the embeddings' cosine; "how long" and "how
 *             much" quoting one sentence stay apart by the kind of fact.
 *             Stored even when earlier turns were in the prompt: the
 *             question stands alone (never rewritten, never personal) and
 *             the evidence is the same. Measured by bench/replay
 *             (bench/RESULTS.md): the answer hit rate 36% -> 43% and LLM
 *             calls 0.61 -> 0.55 a message, its hits judged "wrong" by the
 *             strict check as often as the semantic layer's (32% vs 28%).
 *             Without the bucket (the extractive answer alone) it lent
 *             twice as many answers, half of them "wrong": not kept.
 *   llm       the whole prompt -> the validated completion (knowledge.c)
 *   retrieval the expanded query -> passages (knowledge.c) */
#include "turn_int.h"

#include <stdlib.h>
#include <string.h>

/* Intents whose answers are about the customer's own business. */
static const char *const personal_intents[] = {"account",      "order_new", "order_status",
                                               "order_cancel", "invoice",   "complaint",
                                               "human_handoff"};

static int personal(const turn *t)
{
    for (size_t i = 0; i < t->ents.n; i++) {
        fd_entity_kind k = t->ents.v[i].kind;
        if (k == FD_ENT_ORDER_ID || k == FD_ENT_EMAIL || k == FD_ENT_PHONE || k == FD_ENT_OUTLET)
            return 1;
    }
    const char *label = t->as->intents && t->intent.label ? t->intent.label : "";
    for (size_t i = 0; i < sizeof personal_intents / sizeof *personal_intents; i++)
        if (strcmp(label, personal_intents[i]) == 0)
            return 1;
    return 0;
}

int dialog_cacheable(const turn *t)
{
    return t->as->cache && !t->in->no_cache && !t->rewritten && !personal(t);
}

static int is_digit_c(char c)
{
    return c >= '0' && c <= '9';
}

/* "12 inch", "12-inch", "12inch", "12INCH": one spelling of a size. */
static int unit_at(const char *p, size_t n)
{
    static const char *const units[] = {"inch", "inches", "in", "oz", "ml", "mm",
                                        "cm",   "kg",     "g",  "l",  NULL};
    for (int i = 0; units[i]; i++) {
        size_t m = strlen(units[i]);
        if (n >= m && memcmp(p, units[i], m) == 0 &&
            (n == m || !((p[m] >= 'a' && p[m] <= 'z') || is_digit_c(p[m]))))
            return 1;
    }
    return 0;
}

/* Folded text with punctuation runs as one space and no trailing
 * punctuation: "Do you deliver on Sundays?!" and "do you deliver on
 * sundays" are one question. Characters that carry meaning inside tokens
 * ("S$1.20", "50%", "25/12", "3-5") are kept; a hyphen inside a word goes
 * ("e-bike" is "ebike", "12-inch" is "12inch") and so does the space
 * between a number and its unit ("12 inch"): the same question, however
 * spelled, is one key (issue 13: "12INCH" and "ebike" missed). */
static fd_str normalize(const turn *t)
{
    const char *p = t->folded.p;
    size_t n = t->folded.len;
    char *out = fd_arena_alloc(t->a, n + 1);
    if (!out)
        return (fd_str){NULL, 0};
    size_t o = 0;
    int space = 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '-' && o && i + 1 < n && !(is_digit_c(out[o - 1]) && is_digit_c(p[i + 1])) &&
            out[o - 1] != ' ' && p[i + 1] != ' ')
            continue; /* joined: e-bike, 12-inch */
        if (c == ' ' && o && is_digit_c(out[o - 1]) && unit_at(p + i + 1, n - i - 1))
            continue; /* 12 inch */
        int keep = c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                   ((c == '$' || c == '.' || c == '-' || c == '/' || c == '%' || c == '\'') &&
                    i + 1 < n && p[i + 1] != ' ' && !space);
        if (keep) {
            out[o++] = (char)c;
            space = 0;
        } else if (!space) {
            out[o++] = ' ';
            space = 1;
        }
    }
    while (o && (out[o - 1] == ' ' || out[o - 1] == '.'))
        o--;
    out[o] = 0;
    return (fd_str){out, o};
}

static int key_common(const turn *t, fd_cache_key *k, const char *layer)
{
    int rc = fd_cache_key_init(k, fd_kb_loaded_version(t->kb));
    if (!rc)
        rc = fd_cache_key_add_str(k, layer);
    if (!rc)
        rc = fd_cache_key_add_str(k, fd_lang_code(t->lang));
    if (!rc)
        rc = fd_cache_key_add_str(k, t->as->llm ? "llm" : "extractive");
    return rc;
}

static int exact_key(const turn *t, fd_cache_key *k)
{
    fd_str norm = normalize(t);
    if (!norm.p)
        return FD_ENOMEM;
    int rc = key_common(t, k, "x");
    return rc ? rc : fd_cache_key_add(k, norm.p, norm.len);
}

/* ---- the semantic bucket ------------------------------------------------------ */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Words that turn a question around. Stopword lists drop most of them, so
 * they are looked for in the folded text. */
static int negated(const turn *t)
{
    static const char *const neg[] = {"not",    "no",      "never",  "without", "cannot", "nor",
                                      "don't",  "doesn't", "isn't",  "aren't",  "can't",  "won't",
                                      "didn't", "dont",    "doesnt", "isnt",    "cant",   "wont",
                                      "ne",     "pas",     "jamais", "sans",    "n't",    "aucun"};
    const char *p = t->folded.p;
    size_t n = t->folded.len, i = 0;
    while (i < n) {
        while (i < n && !((p[i] >= 'a' && p[i] <= 'z') || p[i] == '\''))
            i++;
        size_t s = i;
        while (i < n && ((p[i] >= 'a' && p[i] <= 'z') || p[i] == '\''))
            i++;
        size_t len = i - s;
        for (size_t k = 0; len && k < sizeof neg / sizeof *neg; k++)
            if (strlen(neg[k]) == len && memcmp(p + s, neg[k], len) == 0)
                return 1;
        if (len > 3 && memcmp(p + i - 3, "n't", 3) == 0)
            return 1;
    }
    return 0;
}

/* The message's key entities, in order of kind then value ("10-inch" and
 * "12-inch" are two questions). */
static int add_entities(turn *t, fd_cache_key *k)
{
    const char **ents = fd_arena_calloc(t->a, t->ents.n + 1, sizeof *ents);
    if (!ents)
        return FD_ENOMEM;
    size_t n_ents = 0;
    for (size_t i = 0; i < t->ents.n; i++) {
        const fd_entity *e = &t->ents.v[i];
        char *s = fd_arena_printf(t->a, "%s=%s/%.6g", fd_entity_kind_name(e->kind),
                                  e->norm ? e->norm : "", e->value);
        if (!s)
            return FD_ENOMEM;
        ents[n_ents++] = s;
    }
    qsort(ents, n_ents, sizeof *ents, cmp_str);
    int rc = FD_OK;
    for (size_t i = 0; i < n_ents && !rc; i++)
        rc = fd_cache_key_add_str(k, ents[i]);
    return rc;
}

static const char *intent_key(const turn *t)
{
    return t->as->intents && t->intent.label && !t->intent.oos ? t->intent.label : "oos";
}

/* The bucket key and the embedding; FD_ENOTFOUND when the message has no
 * word the embedder knows (no semantic layer for it). */
static int semantic_key(turn *t, fd_cache_key *k, float **vec, int *dim)
{
    fd_analyzer *an = fd_kb_analyzer(t->kb);
    fd_terms terms;
    fd_err e2;
    int rc = fd_analyzer_terms(an, t->query, t->lang, t->a, &terms, &e2);
    if (rc)
        return rc;
    fd_str *tv = fd_arena_calloc(t->a, terms.n + 1, sizeof *tv);
    const char **rare = fd_arena_calloc(t->a, terms.n + 1, sizeof *rare);
    if (!tv || !rare)
        return FD_ENOMEM;
    /* Distinctive: in at most 1 in 20 chunks (and at least one). */
    uint32_t n_chunks = fd_kb_n_chunks(t->kb);
    size_t n_rare = 0;
    for (size_t i = 0; i < terms.n; i++) {
        tv[i] = terms.v[i].term;
        uint32_t df = fd_kb_term_df(t->kb, tv[i]);
        if (df > 0 && (uint64_t)df * 20 <= n_chunks + 19) {
            char *w = fd_arena_strndup(t->a, tv[i].p, tv[i].len);
            if (!w)
                return FD_ENOMEM;
            rare[n_rare++] = w;
        }
    }
    rc = fd_kb_embed_terms(t->kb, tv, terms.n, t->a, vec, dim, &e2);
    if (rc)
        return rc;
    qsort(rare, n_rare, sizeof *rare, cmp_str);
    rc = key_common(t, k, "s");
    if (!rc)
        rc = fd_cache_key_add_str(k, intent_key(t));
    if (!rc)
        rc = add_entities(t, k);
    if (!rc)
        rc = fd_cache_key_add_str(k, negated(t) ? "neg" : "pos");
    fd_buf joined;
    fd_buf_init(&joined, 1 << 16);
    for (size_t i = 0; i < n_rare && !rc; i++)
        if (i == 0 || strcmp(rare[i], rare[i - 1]) != 0) {
            rc = fd_cache_key_add_str(k, rare[i]);
            if (!rc)
                rc = fd_buf_printf(&joined, "%s|", rare[i]);
        }
    if (!rc) {
        t->sem_rare = fd_arena_strndup(t->a, joined.p ? joined.p : "", joined.len);
        rc = t->sem_rare ? FD_OK : FD_ENOMEM;
    }
    fd_buf_free(&joined);
    return rc;
}

/* ---- the value: the knowledge step's outcome --------------------------------- */

/* Fills the reply from a cached value; 0 when it is damaged (see
 * dialog_reply_decode), or a decline and only an answer will do (a miss,
 * the reply untouched). */
static int decode(turn *t, const void *val, size_t vlen, int need_answer)
{
    dialog_cached_reply c;
    if (!dialog_reply_decode(val, vlen, t->a, &c) || (need_answer && !c.answered))
        return 0;
    /* The strings point into val, which lives in the turn's arena. */
    fd_reply *r = t->r;
    r->answer = c.answer;
    r->answered = c.answered;
    r->validation = c.validation ? c.validation : "skipped";
    r->grounded = c.grounded;
    r->citations = c.cites;
    r->n_citations = c.n_cites;
    return 1;
}

/* ---- lookups and stores --------------------------------------------------------- */

/* A key's bytes moved to the turn's arena (the turn may wait on the LLM). */
static int keep_key(turn *t, fd_cache_key *k, const void **p, size_t *n)
{
    void *c = fd_arena_alloc(t->a, k->b.len ? k->b.len : 1);
    if (c)
        memcpy(c, k->b.p, k->b.len);
    *p = c;
    *n = k->b.len;
    fd_cache_key_free(k);
    return c ? FD_OK : FD_ENOMEM;
}

/* The semantic key and vector, computed once per turn. */
static int sem_prepare(turn *t)
{
    if (t->sem_done)
        return t->sem_key != NULL;
    t->sem_done = 1;
    fd_cache_key sk;
    memset(&sk, 0, sizeof sk);
    float *vec;
    int dim;
    int rc = semantic_key(t, &sk, &vec, &dim);
    if (rc == FD_OK)
        rc = keep_key(t, &sk, &t->sem_key, &t->sem_klen);
    else
        fd_cache_key_free(&sk);
    if (rc) {
        t->sem_key = NULL;
        return 0;
    }
    t->sem_vec = vec;
    t->sem_dim = dim;
    return 1;
}

/* Exact, then semantic. 1 when the reply is filled from the cache. */
static int lookup(turn *t)
{
    fd_cache *c = t->as->cache;
    void *val;
    size_t vlen;
    if (fd_cache_get(c, FD_CACHE_EXACT, t->x_key, t->x_klen, t->a, &val, &vlen) &&
        decode(t, val, vlen, 0)) {
        t->r->cached = "exact";
        return 1;
    }
    if (!fd_cache_enabled(c, FD_CACHE_SEMANTIC) || !sem_prepare(t))
        return 0;
    double sim = 0;
    if (fd_cache_sem_get(c, t->sem_key, t->sem_klen, t->sem_vec, t->sem_dim, t->a, &val, &vlen,
                         &sim) &&
        decode(t, val, vlen, 1)) {
        t->r->cached = "semantic";
        t->r->cache_similarity = sim;
        /* Known from now on under these very words too. */
        fd_cache_put(c, FD_CACHE_EXACT, t->x_key, t->x_klen, val, vlen);
        return 1;
    }
    return 0;
}

int dialog_cache_lookup(turn *t)
{
    t->cache_on = dialog_cacheable(t);
    if (!t->cache_on)
        return 0;
    fd_cache_key xk;
    memset(&xk, 0, sizeof xk);
    if (exact_key(t, &xk) || keep_key(t, &xk, &t->x_key, &t->x_klen)) {
        fd_cache_key_free(&xk);
        t->cache_on = 0;
        return 0;
    }
    if (lookup(t)) {
        t->cache_on = 0; /* nothing to store */
        return 1;
    }
    fd_cache *c = t->as->cache;
    int wait = t->as->cfg->cache_flight_wait_ms;
    if (wait > 0 && fd_cache_enabled(c, FD_CACHE_EXACT)) {
        /* The same question being answered right now: wait for it. */
        int f = fd_cache_flight_begin(c, FD_CACHE_EXACT, t->x_key, t->x_klen, wait);
        if (f == FD_CACHE_LEAD)
            t->flight = 1;
        else if (lookup(t)) {
            t->cache_on = 0;
            return 1;
        }
    }
    return 0;
}

/* ---- the evidence layer (see the top of the file) ---------------------------------- */

/* The semantic bucket but its intent (entities, polarity, distinctive
 * words), the kind of fact asked and the extractive answer. The intent
 * stays out: a typo moves the classifier ("whats the minimun order for a
 * delivery" reads as "delivery", 0.40) where the evidence does not move.
 * FD_ENOTFOUND when the message has no semantic key. */
static int evidence_key(turn *t, const fd_answer *ans, fd_cache_key *k)
{
    if (!sem_prepare(t))
        return FD_ENOTFOUND;
    int rc = key_common(t, k, "e");
    if (!rc)
        rc = add_entities(t, k);
    if (!rc)
        rc = fd_cache_key_add_str(k, negated(t) ? "neg" : "pos");
    if (!rc)
        rc = fd_cache_key_add_str(k, t->sem_rare);
    char asks[16];
    snprintf(asks, sizeof asks, "%x", ans->asks);
    if (!rc)
        rc = fd_cache_key_add_str(k, asks);
    if (!rc)
        rc = fd_cache_key_add_str(k, ans->doc_key ? ans->doc_key : "");
    for (size_t i = 0; i < ans->n_cites && !rc; i++) {
        rc = fd_cache_key_add_str(k, ans->cites[i].doc_key ? ans->cites[i].doc_key : "");
        if (!rc)
            rc = fd_cache_key_add_str(k, ans->cites[i].section ? ans->cites[i].section : "");
    }
    if (!rc)
        rc = fd_cache_key_add_str(k, ans->text ? ans->text : "");
    return rc;
}

int dialog_cache_evidence(turn *t, const fd_answer *extractive)
{
    fd_cache *c = t->as->cache;
    if (!t->cache_on || !extractive->answered || !fd_cache_enabled(c, FD_CACHE_SEMANTIC))
        return 0;
    fd_cache_key k;
    memset(&k, 0, sizeof k);
    if (evidence_key(t, extractive, &k) || keep_key(t, &k, &t->ev_key, &t->ev_klen)) {
        fd_cache_key_free(&k);
        t->ev_key = NULL;
        return 0;
    }
    void *val;
    size_t vlen;
    if (!fd_cache_get(c, FD_CACHE_SEMANTIC, t->ev_key, t->ev_klen, t->a, &val, &vlen) ||
        !decode(t, val, vlen, 1))
        return 0;
    t->r->cached = "evidence";
    /* Known from now on under these very words too. */
    fd_cache_put(c, FD_CACHE_EXACT, t->x_key, t->x_klen, val, vlen);
    t->cache_on = 0;
    return 1;
}

void dialog_cache_release(turn *t)
{
    if (t->flight) {
        t->flight = 0;
        fd_cache_flight_end(t->as->cache, FD_CACHE_EXACT, t->x_key, t->x_klen);
    }
}

void dialog_cache_store(turn *t)
{
    const fd_reply *r = t->r;
    /* An answer the LLM shaped with earlier turns in the prompt is this
     * conversation's; a degraded or blocked one should be tried again. */
    int ok = t->cache_on && r->answer && !r->degraded &&
             (!t->llm_used || (strcmp(r->validation, "ok") == 0 && t->n_history == 0));
    if (ok) {
        fd_cache_rec rec;
        fd_cache_rec_init(&rec);
        if (dialog_reply_encode(t->r, &rec) == FD_OK) {
            fd_cache *c = t->as->cache;
            fd_cache_put(c, FD_CACHE_EXACT, t->x_key, t->x_klen, rec.b.p, rec.b.len);
            /* A decline is about these very words (a typo can be why the
             * sources were not found): never lent to a neighbour. */
            if (r->answered && fd_cache_enabled(c, FD_CACHE_SEMANTIC) && sem_prepare(t))
                fd_cache_sem_put(c, t->sem_key, t->sem_klen, t->sem_vec, t->sem_dim, rec.b.p,
                                 rec.b.len);
        }
        fd_cache_rec_free(&rec);
    }
    /* The LLM's answer under its evidence, earlier turns in the prompt or
     * not (see the top of this file). */
    if (t->cache_on && t->ev_key && t->llm_used && r->answered && !r->degraded &&
        strcmp(r->validation, "ok") == 0) {
        fd_cache_rec rec;
        fd_cache_rec_init(&rec);
        if (dialog_reply_encode(t->r, &rec) == FD_OK)
            fd_cache_put(t->as->cache, FD_CACHE_SEMANTIC, t->ev_key, t->ev_klen, rec.b.p,
                         rec.b.len);
        fd_cache_rec_free(&rec);
    }
    t->cache_on = 0;
    dialog_cache_release(t);
}
