/* knowledge.c: answers from the knowledge base. Retrieval (hybrid, in the
 * customer's language first), the extractive composer, and — when an LLM
 * is configured and the knowledge base supports an answer — one streamed
 * LLM call whose sentences are validated as they arrive, so nothing
 * unchecked reaches the customer even while streaming. */
#include "turn_int.h"

#include <string.h>

/* Hits handed to the composer; the first LLM_PASSAGES also go to the LLM. */
#define N_HITS 8
#define LLM_PASSAGES (MAX_PASSAGES < 5 ? MAX_PASSAGES : 5)
/* Documents among the hits seen whole by the composer, and the chunks
 * taken from each: the fact asked for is often in a section of the right
 * page that retrieval ranked below a neighbouring page's. */
#define N_DOC_VIEWS 5
#define MAX_DOC_CHUNKS 16

/* The passages for the composer: the hits (t->pass, best first), then the
 * other chunks of the best documents as context (score 0). */
typedef struct evidence {
    fd_passage *p;
    size_t n;
} evidence;

/* ---- the retrieval cache: the expanded query -> every passage retrieve() found -- */

static int retrieval_key(const turn *t, fd_lang lang, fd_str q, fd_cache_key *k)
{
    int rc = fd_cache_key_init(k, fd_kb_loaded_version(t->kb));
    if (!rc)
        rc = fd_cache_key_add_str(k, fd_lang_code(lang));
    if (!rc)
        rc = fd_cache_key_add_str(k, t->as->cfg->search_mode);
    if (!rc)
        rc = fd_cache_key_add(k, q.p, q.len);
    return rc;
}

static void retrieval_put(turn *t, const fd_cache_key *k, const evidence *ev)
{
    fd_cache_rec rec;
    fd_cache_rec_init(&rec);
    if (dialog_passages_encode(ev->p, ev->n, t->n_pass, &rec) == FD_OK)
        fd_cache_put(t->as->cache, FD_CACHE_RETRIEVAL, k->b.p, k->b.len, rec.b.p, rec.b.len);
    fd_cache_rec_free(&rec);
}

/* 1 when the passages came from the cache (a damaged value is a miss). */
static int retrieval_get(turn *t, const fd_cache_key *k, evidence *ev)
{
    void *val;
    size_t vlen, n, n_pass;
    fd_passage *p;
    if (!fd_cache_get(t->as->cache, FD_CACHE_RETRIEVAL, k->b.p, k->b.len, t->a, &val, &vlen) ||
        !dialog_passages_decode(val, vlen, LLM_PASSAGES, t->a, &p, &n, &n_pass))
        return 0;
    ev->p = p;
    ev->n = n;
    t->n_pass = n_pass;
    for (size_t i = 0; i < t->n_pass; i++)
        t->pass[i] = p[i];
    return 1;
}

static int retrieve_uncached(turn *t, fd_lang lang, fd_str q, evidence *ev);

static int retrieve(turn *t, fd_analyzer *an, fd_lang lang, evidence *ev)
{
    fd_str q = t->query;
    fd_lang ql = lang != FD_LANG_UNKNOWN ? lang : fd_text_guess_lang(t->query);
    fd_err e2;
    if (fd_answer_expand_query(an, t->query, ql ? ql : FD_LANG_EN, t->a, &q, &e2))
        q = t->query; /* retrieval on the customer's words alone */
    int use = !t->in->no_cache && fd_cache_enabled(t->as->cache, FD_CACHE_RETRIEVAL);
    fd_cache_key k;
    memset(&k, 0, sizeof k);
    if (use && retrieval_key(t, lang, q, &k))
        use = 0;
    if (use && retrieval_get(t, &k, ev)) {
        fd_cache_key_free(&k);
        if (!t->r->cached)
            t->r->cached = "retrieval";
        return FD_OK;
    }
    int rc = retrieve_uncached(t, lang, q, ev);
    if (!rc && use)
        retrieval_put(t, &k, ev);
    fd_cache_key_free(&k);
    return rc;
}

static int retrieve_uncached(turn *t, fd_lang lang, fd_str q, evidence *ev)
{
    const fd_config *cfg = t->as->cfg;
    fd_search_opts so = {.k = N_HITS, .lang = lang, .no_snippet = 1};
    if (fd_search_mode_parse(cfg->search_mode, &so.mode) != FD_OK)
        so.mode = FD_SEARCH_HYBRID;
    fd_result *res = NULL;
    size_t n = 0;
    fd_err e2;
    int rc = fd_kb_search(t->kb, q, &so, t->a, &res, &n, &e2);
    t->n_pass = 0;
    ev->n = 0;
    if (rc == FD_EINVAL)
        return FD_OK; /* nothing searchable in the message: no passages */
    if (rc) {
        *t->err = e2;
        return rc;
    }
    ev->p = fd_arena_calloc(t->a, n + N_DOC_VIEWS * MAX_DOC_CHUNKS + 1, sizeof *ev->p);
    if (!ev->p)
        return turn_oom(t);
    for (size_t i = 0; i < n; i++) {
        ev->p[ev->n++] = (fd_passage){.doc_key = res[i].doc_key,
                                      .title = res[i].title,
                                      .section = res[i].section,
                                      .text = res[i].text,
                                      .score = res[i].score > 0 ? res[i].score : 1e-6f,
                                      .lang = res[i].lang};
        if (i < LLM_PASSAGES)
            t->pass[t->n_pass++] = ev->p[i];
    }
    /* The whole of the first few documents hit. */
    size_t views = 0;
    for (size_t i = 0; i < n && views < N_DOC_VIEWS; i++) {
        int seen = 0;
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcmp(res[j].doc_key, res[i].doc_key) == 0;
        if (seen || !res[i].text)
            continue;
        views++;
        fd_result *dc = NULL;
        size_t n_dc = 0;
        int drc = fd_kb_doc_chunks(t->kb, res[i].chunk_id, MAX_DOC_CHUNKS, t->a, &dc, &n_dc, &e2);
        if (drc) {
            /* Gone since the snapshot (another process deleted it), or the
             * store failed: the hits still stand, the answer has less context. */
            if (drc != FD_ENOTFOUND)
                FD_LOG(t->as->log, FD_LOG_WARN, "dialog", "document context unavailable: %s",
                       e2.msg);
            continue;
        }
        for (size_t k = 0; k < n_dc; k++) {
            int hit = 0;
            for (size_t j = 0; j < n && !hit; j++)
                hit = res[j].chunk_id == dc[k].chunk_id;
            if (!hit && dc[k].text)
                ev->p[ev->n++] = (fd_passage){.doc_key = dc[k].doc_key,
                                              .title = dc[k].title,
                                              .section = dc[k].section,
                                              .text = dc[k].text,
                                              .score = 0,
                                              .lang = dc[k].lang};
        }
    }
    return FD_OK;
}

uint32_t dialog_corpus_df(void *ctx, fd_str term)
{
    return fd_kb_term_df(ctx, term);
}

static int set_cites(turn *t, const fd_answer *ans)
{
    fd_reply *r = t->r;
    r->n_citations = 0;
    r->citations = ans->n_cites ? fd_arena_calloc(t->a, ans->n_cites, sizeof *r->citations) : NULL;
    if (ans->n_cites && !r->citations)
        return turn_oom(t);
    for (size_t i = 0; i < ans->n_cites; i++) {
        /* One citation per document: two passages of one page cite it once. */
        int dup = 0;
        for (size_t j = 0; j < r->n_citations && !dup; j++)
            dup = strcmp(r->citations[j].document, ans->cites[i].doc_key) == 0;
        if (dup)
            continue;
        r->citations[r->n_citations++] =
            (fd_reply_cite){ans->cites[i].doc_key, ans->cites[i].title, ans->cites[i].section};
    }
    return FD_OK;
}

static fd_validate_opts validate_opts(const turn *t)
{
    return (fd_validate_opts){.banned = (const char *const *)t->as->rules.banned,
                              .n_banned = t->as->rules.n_banned,
                              .context = t->msg,
                              .lang = t->lang,
                              .memo = t->as->memo};
}

/* ---- the LLM path: stream, gate each sentence, validate the whole ------- */

/* End of the next complete sentence in p[from..len), or 0. A period
 * between digits ("S$1.20") or before a lower-case letter is not an end. */
static size_t sentence_end(const char *p, size_t from, size_t len)
{
    for (size_t i = from; i + 1 < len; i++) {
        char c = p[i];
        if (c == '\n')
            return i + 1;
        if ((c == '.' || c == '?' || c == '!') && p[i + 1] == ' ') {
            /* keep "[1]." together: look past the space for the next word */
            if (i + 2 < len && p[i + 2] >= 'a' && p[i + 2] <= 'z')
                continue;
            return i + 1;
        }
    }
    return 0;
}

/* Streams the part of checked (the validated text of everything received
 * so far) not yet sent; 0 when checked no longer starts with what was sent. */
static int gate_emit(turn *t, const char *checked)
{
    llm_gate *g = &t->gate;
    size_t len = strlen(checked);
    if (len < g->sent || memcmp(checked, g->sent_text.p ? g->sent_text.p : "", g->sent) != 0)
        return 0;
    const fd_turn_sink *s = t->sink;
    if (len > g->sent) {
        if (s && s->on_text)
            s->on_text(s->ctx, checked + g->sent, len - g->sent);
        if (fd_buf_append(&g->sent_text, checked + g->sent, len - g->sent))
            g->failed = 1;
        g->sent = len;
        g->emitted = 1;
    }
    return 1;
}

/* Validates everything received up to end (a sentence can lean on the one
 * before it) and streams the part of the checked text not yet sent. */
static void gate_release(turn *t, size_t end)
{
    llm_gate *g = &t->gate;
    fd_str upto = {g->text.p, end};
    g->scanned = end;
    fd_validate_opts vo = validate_opts(t);
    fd_validation v;
    fd_arena *scratch = fd_arena_new(1 << 20);
    int rc = scratch ? fd_answer_validate(g->an, upto, t->pass, t->n_pass, &vo, scratch, &v, NULL)
                     : FD_ENOMEM;
    /* Not (yet) checkable — a lone "Happy to help." or a claim whose
     * support comes later — or failing: hold it back. Nothing unchecked is
     * sent; the final check over the whole answer decides. */
    if (rc || !v.ok) {
        fd_arena_free(scratch);
        if (rc)
            g->failed = 1;
        return;
    }
    if (!gate_emit(t, v.answer.text))
        g->failed = 1; /* the checked text no longer starts with what was sent */
    else
        g->released = end;
    fd_arena_free(scratch);
}

void dialog_llm_feed(turn *t, fd_kb *kb, const char *p, size_t n)
{
    llm_gate *g = &t->gate;
    g->an = fd_kb_analyzer(kb);
    if (fd_buf_append(&g->text, p, n)) {
        g->failed = 1;
        return;
    }
    if (!t->sink || !t->sink->on_text)
        return; /* nobody reads the stream: the whole is checked at the end */
    size_t end;
    while (!g->failed && (end = sentence_end(g->text.p, g->scanned, g->text.len)) != 0)
        gate_release(t, end);
}

/* Builds the one LLM request (policy, tone, passages, the last exchanges)
 * into the turn; the caller submits it. */
static int prepare_llm(turn *t, const fd_answer *extractive)
{
    fd_prompt_passage pp[MAX_PASSAGES];
    for (size_t i = 0; i < t->n_pass; i++)
        pp[i] =
            (fd_prompt_passage){t->pass[i].title, t->pass[i].section, t->pass[i].text, (int)i + 1};
    fd_buf policy;
    fd_buf_init(&policy, 1 << 16);
    int rc = FD_OK;
    if (t->as->rules.n_banned) {
        rc = fd_buf_printf(&policy, "Never say or imply any of these:");
        for (size_t i = 0; i < t->as->rules.n_banned && !rc; i++)
            rc = fd_buf_printf(&policy, " \"%s\"%s", t->as->rules.banned[i],
                               i + 1 < t->as->rules.n_banned ? ";" : ".");
    }
    size_t hist = t->n_history > 6 ? 6 : t->n_history; /* the last 3 exchanges */
    fd_prompt p = {.company = t->as->company,
                   .tone = t->as->tone,
                   .policy = policy.len ? policy.p : NULL,
                   .language = t->lang == FD_LANG_FR ? "French" : "English",
                   .passages = pp,
                   .n_passages = t->n_pass,
                   .history = t->history + (t->n_history - hist),
                   .n_history = hist,
                   .question = t->rewritten ? t->query.p : t->msg.p};
    char *q = fd_arena_strndup(t->a, p.question, t->rewritten ? t->query.len : t->msg.len);
    p.question = q;
    fd_llm_msg *msgs = NULL;
    size_t n_msgs = 0;
    if (!rc && q)
        rc = fd_prompt_build(&p, t->a, &msgs, &n_msgs, t->err);
    fd_buf_free(&policy);
    if (rc || !q)
        return rc ? rc : turn_oom(t);
    t->llm_req = (fd_llm_request){.msgs = msgs,
                                  .n_msgs = n_msgs,
                                  .temperature = -1,
                                  .traceparent = t->in->traceparent,
                                  .request_id = t->in->request_id};
    t->extractive = *extractive;
    fd_buf_init(&t->gate.text, 1 << 20);
    fd_buf_init(&t->gate.sent_text, 1 << 20);
    t->gate.an = fd_kb_analyzer(t->kb);
    t->llm_pending = 1;
    return FD_OK;
}

/* ---- the LLM cache: the whole prompt -> the validated completion -------------- */

static int llm_key(turn *t)
{
    fd_cache_key k;
    char params[64];
    snprintf(params, sizeof params, "%d/%.3f", t->as->cfg->llm_max_tokens,
             t->as->cfg->llm_temperature);
    int rc = fd_cache_key_init(&k, fd_kb_loaded_version(t->kb));
    if (!rc)
        rc = fd_cache_key_add_str(&k, fd_llm_model(t->as->llm));
    if (!rc)
        rc = fd_cache_key_add_str(&k, params);
    for (size_t i = 0; i < t->llm_req.n_msgs && !rc; i++) {
        rc = fd_cache_key_add_str(&k, t->llm_req.msgs[i].role);
        if (!rc)
            rc = fd_cache_key_add_str(&k, t->llm_req.msgs[i].content);
    }
    void *c = rc ? NULL : fd_arena_alloc(t->a, k.b.len);
    if (c)
        memcpy(c, k.b.p, k.b.len);
    t->llm_key = c;
    t->llm_klen = c ? k.b.len : 0;
    fd_cache_key_free(&k);
    return c ? FD_OK : FD_ENOMEM;
}

/* A completion cached for this very prompt: the turn takes it as if it had
 * streamed, checked by the same validation. 1 when it did. */
static int llm_cached(turn *t)
{
    if (t->in->no_cache || !fd_cache_enabled(t->as->cache, FD_CACHE_LLM) || llm_key(t))
        return 0;
    void *val;
    size_t vlen;
    if (!fd_cache_get(t->as->cache, FD_CACHE_LLM, t->llm_key, t->llm_klen, t->a, &val, &vlen))
        return 0;
    dialog_llm_feed(t, t->kb, val, vlen);
    fd_llm_result res = {.code = FD_OK, .text = val, .text_len = vlen, .finish_reason = "stop"};
    const char *before = t->r->cached;
    t->r->cached = "llm";
    if (dialog_llm_finish(t, &res, FD_OK, NULL) != FD_OK || strcmp(t->r->validation, "ok") != 0)
        t->r->cached = before; /* did not hold up: the reply is the fallback */
    return 1;
}

void dialog_llm_free(turn *t)
{
    fd_buf_free(&t->gate.text);
    fd_buf_free(&t->gate.sent_text);
}

/* The whole reply is the prompt's no-answer marker (quotes, a period or
 * spaces around it allowed). */
static int says_no_answer(const llm_gate *g)
{
    const char *p = g->text.p ? g->text.p : "";
    size_t n = g->text.len, m = strlen(FD_LLM_NO_ANSWER);
    while (n && strchr(" \t\r\n\".'`*", p[n - 1]))
        n--;
    while (n && strchr(" \t\r\n\"'`*", *p)) {
        p++;
        n--;
    }
    return n == m && memcmp(p, FD_LLM_NO_ANSWER, m) == 0;
}

/* The extractive answer checked like any other answer, against the
 * passages it cites (cp, one per citation): a failure is a decline. */
static int check_extractive(turn *t, fd_analyzer *an, fd_answer *ans, const fd_passage *cp)
{
    fd_reply *r = t->r;
    uint64_t t0 = fd_time_ns();
    fd_validate_opts vo = validate_opts(t);
    vo.verbatim = 1;
    fd_validation v;
    int rc = fd_answer_validate(an, fd_str_c(ans->text), cp, ans->n_cites, &vo, t->a, &v, t->err);
    r->ms_validate += turn_ms_since(t0);
    if (rc)
        return rc;
    if (!v.ok) {
        /* the safety net doing its job: a decline, not a failure */
        FD_LOG(t->as->log, FD_LOG_INFO, "dialog",
               "extractive answer failed validation (%s: %s); declining",
               fd_val_reason_name(v.reason), v.detail ? v.detail : "");
        r->validation = fd_val_reason_name(v.reason);
        ans->answered = 0;
        ans->text = fd_answer_decline_text(t->lang);
        ans->n_cites = 0;
        ans->decision = "validation_failed";
    } else {
        r->validation = "ok";
    }
    return FD_OK;
}

int dialog_llm_finish(turn *t, const fd_llm_result *res, int lrc, const char *lmsg)
{
    fd_reply *r = t->r;
    llm_gate *g = &t->gate;
    g->an = fd_kb_analyzer(t->kb);
    t->llm_pending = 0;
    if (res) {
        r->ms_llm = res->total_ms;
        r->llm_called = res->attempts > 0;
        r->prompt_tokens = res->prompt_tokens;
        r->completion_tokens = res->completion_tokens;
        r->cost_usd = res->cost_usd;
    }
    const fd_turn_sink *s = t->sink;
    t->sink_done = 1; /* every path below streams or sends the answer */
    int rc = FD_OK;
    if (lrc) {
        FD_LOG(t->as->log, FD_LOG_WARN, "dialog", "LLM call failed (%s): %s; extractive answer",
               fd_code_name(lrc), lmsg ? lmsg : "");
        r->degraded = 1;
    } else if (says_no_answer(g)) {
        /* The model found no answer in the sections: our own decline (or
         * the composer's answer, checked, when it had one). */
        r->validation = "no_answer";
    } else {
        uint64_t t0 = fd_time_ns();
        fd_validate_opts vo = validate_opts(t);
        fd_validation v;
        rc = fd_answer_validate(g->an, (fd_str){g->text.p ? g->text.p : "", g->text.len}, t->pass,
                                t->n_pass, &vo, t->a, &v, t->err);
        r->ms_validate += turn_ms_since(t0);
        if (rc) {
            dialog_llm_free(t);
            return rc;
        }
        if (v.ok && !g->failed) {
            /* The whole text was just checked: what is left goes out from
             * that check, not from a second one (a whole validation, a
             * third of an LLM turn's checking). */
            if (!gate_emit(t, v.answer.text))
                g->failed = 1;
            else
                g->scanned = g->released = g->text.len;
            if (g->sent != strlen(v.answer.text))
                g->failed = 1;
            if (!g->failed) {
                r->answer = v.answer.text;
                r->answered = 1;
                r->table_rows = 0;
                r->validation = "ok";
                t->sink_answer = r->answer;
                /* Another request's identical call (single-flight): the
                 * answer says more than where the passages came from. */
                if (res && res->shared)
                    r->cached = "shared";
                if (res && res->attempts > 0 && t->llm_key)
                    fd_cache_put(t->as->cache, FD_CACHE_LLM, t->llm_key, t->llm_klen,
                                 g->text.p ? g->text.p : "", g->text.len);
                dialog_llm_free(t);
                rc = set_cites(t, &v.answer);
                if (!rc)
                    dialog_cache_store(t);
                return rc;
            }
        }
        r->validation = v.ok ? "unsupported" : fd_val_reason_name(v.reason);
        FD_LOG(t->as->log, FD_LOG_DEBUG, "dialog", "blocked LLM answer: %.*s",
               (int)(g->text.len > 2000 ? 2000 : g->text.len), g->text.p ? g->text.p : "");
        FD_LOG(t->as->log, FD_LOG_WARN, "dialog",
               "LLM answer blocked by validation (%s: %s); extractive answer sent instead",
               r->validation, v.detail ? v.detail : "");
    }
    int emitted = g->emitted;
    dialog_llm_free(t);
    if (t->ext_unchecked) {
        /* Its check, put off while the LLM might answer. The reply's
         * validation stays the LLM answer's verdict when there was one. */
        const char *said = lrc ? NULL : r->validation;
        t->ext_unchecked = 0;
        rc = check_extractive(t, fd_kb_analyzer(t->kb), &t->extractive, t->ext_cp);
        if (rc) {
            if (emitted && s && s->on_reset)
                s->on_reset(s->ctx); /* nothing streamed stands without its check */
            return rc;
        }
        if (said)
            r->validation = said;
        r->decision = t->extractive.decision;
        if (!t->extractive.answered)
            r->table_rows = 0;
    }
    /* Fallback: the extractive answer, after retracting anything streamed. */
    if (emitted && s && s->on_reset)
        s->on_reset(s->ctx);
    r->answer = t->extractive.text;
    r->answered = t->extractive.answered;
    t->sink_answer = r->answer;
    if (s && s->on_text)
        s->on_text(s->ctx, r->answer, strlen(r->answer));
    rc = set_cites(t, &t->extractive);
    dialog_cache_store(t); /* stores nothing: ends the turn's cache work */
    return rc;
}

/* The LLM is asked when the composer answered, and also when it declined
 * but retrieval found a document that covers part of the question: the
 * model reads whole sections, where the composer's word-coverage test
 * misses answers put in other words. Validation still judges every fact,
 * and the model may say FD_LLM_NO_ANSWER. Below this coverage the
 * documents are about something else: no call, no cost. */
#define LLM_MIN_SUPPORT 0.25

static int llm_may_help(const turn *t, const fd_answer *ans)
{
    return ans->answered ||
           (t->as->cfg->llm_ask_on_decline && ans->doc_key && ans->support >= LLM_MIN_SUPPORT);
}

/* Asked whether or not the extractive answer passes its check: a failed
 * check keeps the document and the support that make it ask on a decline. */
static int llm_asked_anyway(const turn *t, const fd_answer *ans)
{
    return t->as->cfg->llm_ask_on_decline && ans->doc_key && ans->support >= LLM_MIN_SUPPORT;
}

/* The passages the LLM sees (and its answer is validated against): the
 * chosen document's sections first, whole, then the other best hits. */
static void llm_passages(turn *t, const evidence *ev, const char *doc)
{
    size_t n = 0;
    for (size_t i = 0; doc && i < ev->n && n < MAX_PASSAGES - 2; i++)
        if (ev->p[i].doc_key && strcmp(ev->p[i].doc_key, doc) == 0)
            t->pass[n++] = ev->p[i];
    for (size_t i = 0; i < ev->n && n < MAX_PASSAGES; i++)
        if (ev->p[i].score > 0 && !(doc && ev->p[i].doc_key && !strcmp(ev->p[i].doc_key, doc)))
            t->pass[n++] = ev->p[i];
    t->n_pass = n;
}

/* Retrieval and the extractive answer, checked, into *ans (t->a is the
 * scratch arena while this runs). */
static int find_answer(turn *t, fd_answer *ans_out)
{
    fd_reply *r = t->r;
    uint64_t t0 = fd_time_ns();
    /* The kb's own analyzer (same thread), with its warm stem cache: a
     * fresh one per message would rebuild the Snowball stemmers each time. */
    fd_analyzer *an = fd_kb_analyzer(t->kb);
    evidence ev = {0};
    int rc = retrieve(t, an, t->lang, &ev);
    r->ms_retrieve = turn_ms_since(t0);
    fd_answer ans;
    fd_answer_opts ao = {.lang = t->lang,
                         .min_support = t->as->cfg->answer_min_support,
                         .min_confidence = t->as->cfg->answer_min_confidence,
                         .corpus_df = dialog_corpus_df,
                         .corpus_ctx = t->kb,
                         .n_corpus = fd_kb_n_chunks(t->kb),
                         .memo = t->as->memo};
    ao.oracle_doc = t->in->oracle_doc;
    fd_answer_trace *trace = NULL;
    if (t->in->trace) {
        trace = fd_arena_calloc(t->a, 1, sizeof *trace);
        if (!trace)
            return turn_oom(t);
        ao.trace = trace;
    }
    /* An out-of-scope intent needs stronger evidence before we answer. */
    if (t->as->intents && t->intent.oos) {
        double mc = ao.min_confidence > 0 ? ao.min_confidence : FD_ANSWER_MIN_CONFIDENCE;
        ao.min_confidence = mc + (1 - mc) / 3;
    }
    t0 = fd_time_ns();
    if (!rc)
        rc = fd_answer_extract(an, t->query, ev.p, ev.n, &ao, t->a, &ans, t->err);
    if (!rc && !ans.answered && t->lang != FD_LANG_UNKNOWN) {
        /* Nothing in the customer's language: any language beats nothing. */
        uint64_t t1 = fd_time_ns();
        rc = retrieve(t, an, FD_LANG_UNKNOWN, &ev);
        r->ms_retrieve += turn_ms_since(t1);
        if (!rc)
            rc = fd_answer_extract(an, t->query, ev.p, ev.n, &ao, t->a, &ans, t->err);
    }
    if (!rc && !ans.answered && t->alt_query.len) {
        /* A pasted follow-up that found nothing: the message alone. */
        fd_str q0 = t->query;
        t->query = t->alt_query;
        uint64_t t1 = fd_time_ns();
        fd_answer alt;
        rc = retrieve(t, an, t->lang, &ev);
        r->ms_retrieve += turn_ms_since(t1);
        if (!rc)
            rc = fd_answer_extract(an, t->query, ev.p, ev.n, &ao, t->a, &alt, t->err);
        if (!rc && alt.answered) {
            ans = alt;
            t->rewritten = 0; /* a question of its own after all */
        } else {
            t->query = q0;
            if (!rc && t->as->llm) /* the first reading's evidence again, for the LLM */
                rc = retrieve(t, an, t->lang, &ev);
        }
    }
    r->ms_answer = turn_ms_since(t0);
    if (rc)
        return rc;
    if (ans.answered) {
        /* Against the passages it cites: each quoted sentence must be there. */
        fd_passage *cp = fd_arena_calloc(t->a, ans.n_cites + 1, sizeof *cp);
        if (!cp)
            return turn_oom(t);
        for (size_t i = 0; i < ans.n_cites; i++)
            cp[i] = ev.p[ans.cites[i].passage];
        if (t->as->llm && llm_asked_anyway(t, &ans)) {
            /* The LLM answers whatever the check says: the extractive
             * answer is only its fallback, checked if it is ever sent
             * (dialog_llm_finish; a tenth of an LLM turn's CPU saved).
             * Two things follow and are meant: when the LLM answers, the
             * trace's decision is the composer's own ("answered"), not
             * "validation_failed" from a check nobody needed; and the
             * evidence cache keys on the composer's answer before its
             * check, which names the same evidence either way (the answer
             * it may lend is an LLM answer that passed its own check). */
            t->ext_cp = cp;
            t->ext_unchecked = 1;
        } else {
            rc = check_extractive(t, an, &ans, cp);
            if (rc)
                return rc;
        }
    }
    if (t->as->llm && llm_may_help(t, &ans))
        llm_passages(t, &ev, ans.doc_key);
    *ans_out = ans;
    r->trace = trace;
    return rc;
}

static const char *keep_str(fd_arena *a, const char *s, int *oom)
{
    if (!s)
        return NULL;
    char *c = fd_arena_strndup(a, s, strlen(s));
    *oom |= c == NULL;
    return c;
}

/* What outlives the knowledge step, copied out of the scratch arena: the
 * passages the LLM and the validator see, and the extractive answer. */
static int keep_evidence(turn *t, fd_answer *ans)
{
    int oom = 0;
    for (size_t i = 0; i < t->n_pass; i++) {
        fd_passage *p = &t->pass[i];
        p->doc_key = keep_str(t->a, p->doc_key, &oom);
        p->title = keep_str(t->a, p->title, &oom);
        p->section = keep_str(t->a, p->section, &oom);
        p->text = keep_str(t->a, p->text, &oom);
    }
    if (t->ext_unchecked) {
        /* the passages of a check put off until the answer is sent */
        fd_passage *cp = fd_arena_calloc(t->a, ans->n_cites + 1, sizeof *cp);
        oom |= !cp;
        for (size_t i = 0; cp && i < ans->n_cites; i++) {
            cp[i] = t->ext_cp[i];
            cp[i].doc_key = keep_str(t->a, cp[i].doc_key, &oom);
            cp[i].title = keep_str(t->a, cp[i].title, &oom);
            cp[i].section = keep_str(t->a, cp[i].section, &oom);
            cp[i].text = keep_str(t->a, cp[i].text, &oom);
        }
        t->ext_cp = cp;
    }
    ans->text = keep_str(t->a, ans->text, &oom);
    ans->doc_key = keep_str(t->a, ans->doc_key, &oom);
    ans->focus = keep_str(t->a, ans->focus, &oom);
    fd_citation *c = ans->n_cites ? fd_arena_calloc(t->a, ans->n_cites, sizeof *c) : NULL;
    oom |= ans->n_cites && !c;
    for (size_t i = 0; c && i < ans->n_cites; i++) {
        c[i] = ans->cites[i];
        c[i].doc_key = keep_str(t->a, c[i].doc_key, &oom);
        c[i].title = keep_str(t->a, c[i].title, &oom);
        c[i].section = keep_str(t->a, c[i].section, &oom);
    }
    ans->cites = c;
    /* The trace, when asked for, out of the scratch arena too. */
    const fd_answer_trace *src = t->r->trace;
    if (src) {
        fd_answer_trace *tr = fd_arena_calloc(t->a, 1, sizeof *tr);
        fd_answer_cand *v = fd_arena_calloc(t->a, src->n + 1, sizeof *v);
        oom |= !tr || !v;
        for (size_t i = 0; tr && v && i < src->n; i++) {
            v[i] = src->v[i];
            v[i].doc_key = keep_str(t->a, v[i].doc_key, &oom);
        }
        fd_answer_sent *sv = fd_arena_calloc(t->a, src->n_s + 1, sizeof *sv);
        oom |= !sv;
        for (size_t i = 0; sv && i < src->n_s; i++) {
            sv[i] = src->s[i];
            sv[i].text = keep_str(t->a, sv[i].text, &oom);
        }
        if (tr && v && sv) {
            *tr = *src;
            tr->v = v;
            tr->s = sv;
        }
        t->r->trace = tr;
    }
    return oom ? turn_oom(t) : FD_OK;
}

int dialog_knowledge(turn *t)
{
    fd_reply *r = t->r;
    r->route = "knowledge";
    if (dialog_cache_lookup(t))
        return FD_OK;
    /* Retrieval and the composer work through hundreds of KB of passages,
     * tokens and candidates; a turn waiting on the LLM keeps only what it
     * needs, so hundreds of them in flight stay small. */
    fd_arena *keep = t->a;
    fd_arena *scratch = fd_arena_new(0);
    if (!scratch)
        return turn_oom(t);
    t->a = scratch;
    fd_answer ans;
    int rc = find_answer(t, &ans);
    t->a = keep;
    if (!rc)
        rc = keep_evidence(t, &ans);
    fd_arena_free(scratch);
    if (rc) {
        dialog_cache_release(t);
        return rc;
    }
    r->decision = ans.decision;
    r->support = ans.support;
    r->table_rows = ans.answered ? ans.table_rows : 0;
    r->decision_doc = ans.doc_key;
    r->decision_focus = ans.focus;
    if (t->as->llm && llm_may_help(t, &ans) && dialog_cache_evidence(t, &ans)) {
        dialog_cache_release(t); /* an LLM answer made from this evidence */
    } else if (t->as->llm && llm_may_help(t, &ans)) {
        t->llm_used = 1;
        rc = prepare_llm(t, &ans);
        if (!rc)
            (void)llm_cached(t);
        /* Waiting on the LLM (or done): followers of this question answer
         * themselves now, and meet again at the server's LLM single-flight. */
        dialog_cache_release(t);
    } else {
        if (t->as->llm)
            r->validation = "skipped";
        r->answer = ans.text;
        r->answered = ans.answered;
        rc = set_cites(t, &ans);
        if (!rc)
            dialog_cache_store(t);
        else
            dialog_cache_release(t);
    }
    return rc;
}
