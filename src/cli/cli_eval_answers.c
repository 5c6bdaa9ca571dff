/* cli_eval_answers.c: `frontdesk eval answers`, end-to-end answer quality
 * on one or several knowledge bases:
 *
 *   eval answers --cases F                       the current data dir's KB
 *   eval answers --kb DIR [--cases F] [--dialogs F] [--kb DIR ...]
 *
 * Each --kb is ingested into its own temporary store (DIR/docs and the
 * CSV files beside it when DIR/docs exists, else DIR without its case
 * files), so one run can measure several businesses; cases and dialogs
 * default to DIR/cases.jsonl and DIR/dialogs.jsonl. Each set is reported
 * on its own, with a 95% Wilson interval, and "answered wrong" apart from
 * "declined": a wrong answer is worse than an honest decline, and a
 * single accuracy figure hides which one a change traded.
 *
 * Also printed per set: a vocabulary audit (how many questions hold a
 * content word the KB never uses — the measure of how far the questions'
 * wording is from the documents'), and dialog turns scored in session. */
#include "cli_int.h"

#include "answer.h"
#include "dialog.h"
#include "text.h"

#include <dirent.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_SETS 32
#define MAX_FAILURES 200

typedef struct eval_set {
    const char *kb; /* NULL: the current data dir */
    const char *cases, *dialogs;
    char name[128];
} eval_set;

static const char *set_name(const eval_set *s);

typedef struct tally {
    size_t n, answerable, unanswerable, correct, declined_unanswerable, answered_unanswerable;
    size_t correct_by_table; /* correct with a whole table of 3+ rows quoted */
    size_t false_declines, wrong_source, missing_fact, escalated, llm_calls, llm_blocked, degraded;
    size_t llm_no_answer; /* the model said the passages do not answer */
    size_t turns, turns_correct, turns_declined;
    size_t vocab_q, vocab_q_unknown, vocab_terms, vocab_terms_unknown;
    /* Stage by stage: where the answers are lost. */
    size_t st_gold, st_recall3, st_top1, st_oracle_n, st_oracle_ok;
    double *auc_s; /* the decision's evidence score per case */
    char *auc_y;   /* 1: answerable and its source chosen; 0: unanswerable */
    size_t auc_n, auc_cap;
    double *lat_ms;
    size_t lat_cap;
    json_t *failures;
} tally;

/* ---- scoring ---------------------------------------------------------------- */

/* Case-insensitive substring on folded text (accents and case ignored). */
static int contains_folded(fd_arena *a, const char *hay, const char *needle)
{
    fd_str h, n;
    if (fd_text_fold(fd_str_c(hay), a, &h, NULL) || fd_text_fold(fd_str_c(needle), a, &n, NULL))
        return 0;
    if (n.len == 0)
        return 1;
    if (n.len > h.len)
        return 0;
    return memmem(h.p, h.len, n.p, n.len) != NULL;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return m <= n && strcmp(s + n - m, suffix) == 0 && (m == n || s[n - m - 1] == '/');
}

static int any_expected(fd_arena *a, json_t *expect, const char *answer)
{
    if (json_array_size(expect) == 0)
        return 1;
    size_t i;
    json_t *e;
    json_array_foreach(expect, i, e)
    {
        const char *s = json_string_value(e);
        if (s && contains_folded(a, answer ? answer : "", s))
            return 1;
    }
    return 0;
}

static void add_failure(tally *t, const char *q, const char *why, const fd_reply *r)
{
    if (json_array_size(t->failures) >= MAX_FAILURES)
        return;
    json_t *f = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:f}", "question", q, "why", why,
                          "answer", r->answer ? r->answer : "", "route", r->route ? r->route : "",
                          "cited", r->n_citations ? r->citations[0].document : "", "decision",
                          r->decision ? r->decision : "", "decision_doc",
                          r->decision_doc ? r->decision_doc : "", "support", r->support);
    if (f)
        json_array_append_new(t->failures, f);
}

static void score_case(tally *t, fd_arena *a, json_t *cs, const fd_reply *r)
{
    const char *q = json_string_value(json_object_get(cs, "question"));
    int answerable = json_is_true(json_object_get(cs, "answerable"));
    const char *source = json_string_value(json_object_get(cs, "source"));
    t->n++;
    t->escalated += r->escalation_tier != NULL;
    t->llm_calls += r->llm_called != 0;
    t->degraded += r->degraded != 0;
    if (r->llm_called && r->validation && strcmp(r->validation, "no_answer") == 0)
        t->llm_no_answer++;
    else if (r->llm_called && r->validation && strcmp(r->validation, "ok") != 0 &&
             strcmp(r->validation, "skipped") != 0)
        t->llm_blocked++;
    int answered = r->answered;
    if (!answerable) {
        t->unanswerable++;
        if (!answered || (r->escalation_tier && !r->n_citations))
            t->declined_unanswerable++;
        else {
            t->answered_unanswerable++;
            add_failure(t, q, "answered an unanswerable question", r);
        }
        return;
    }
    t->answerable++;
    if (!answered) {
        t->false_declines++;
        add_failure(t, q, "declined", r);
        return;
    }
    int fact = any_expected(a, json_object_get(cs, "expect_any"), r->answer);
    int cited = !source || !source[0];
    for (size_t k = 0; k < r->n_citations && !cited; k++)
        cited = ends_with(r->citations[k].document, source);
    if (fact && cited) {
        t->correct++;
        t->correct_by_table += r->table_rows >= 3;
    } else if (!cited) {
        t->wrong_source++;
        add_failure(t, q, "source not cited", r);
    } else {
        t->missing_fact++;
        add_failure(t, q, "expected fact missing", r);
    }
}

/* Vocabulary audit: the question's content terms (analyzed as the index
 * analyzes them) that no chunk of the KB holds. */
static void audit_vocab(tally *t, fd_kb *kb, fd_arena *a, const char *q)
{
    fd_str s = fd_str_c(q);
    fd_lang lang = fd_text_guess_lang(s);
    fd_terms terms;
    if (fd_analyzer_terms(fd_kb_analyzer(kb), s, lang == FD_LANG_UNKNOWN ? FD_LANG_EN : lang, a,
                          &terms, NULL) != FD_OK ||
        terms.n == 0)
        return;
    size_t unknown = 0;
    for (size_t i = 0; i < terms.n; i++)
        unknown += fd_kb_term_df(kb, terms.v[i].term) == 0;
    t->vocab_q++;
    t->vocab_q_unknown += unknown > 0;
    t->vocab_terms += terms.n;
    t->vocab_terms_unknown += unknown;
}

static int keep_latency(tally *t, double ms, fd_err *err)
{
    if (t->n >= t->lat_cap) {
        size_t cap = t->lat_cap ? t->lat_cap * 2 : 256;
        double *v = fd_realloc(t->lat_ms, cap * sizeof *v);
        if (!v)
            return fd_err_set(err, FD_ENOMEM, "out of memory");
        t->lat_ms = v;
        t->lat_cap = cap;
    }
    t->lat_ms[t->n] = ms;
    return FD_OK;
}

/* ---- running ---------------------------------------------------------------- */

/* Calls fn for each non-blank line of path parsed as a JSON object. */
static int each_json_line(const char *path, int (*fn)(void *ctx, json_t *o, size_t lineno),
                          void *ctx, fd_err *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return fd_err_set_field(err, FD_ENOTFOUND, "cases", "%s: cannot open", path);
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    int rc = FD_OK;
    while (!rc && getline(&line, &cap, f) > 0) {
        lineno++;
        if (line[strspn(line, " \t\r\n")] == '\0')
            continue;
        json_error_t je;
        json_t *o = json_loads(line, 0, &je);
        if (!json_is_object(o))
            rc =
                fd_err_set(err, FD_EFORMAT, "%s:%zu: not a JSON object: %s", path, lineno, je.text);
        else
            rc = fn(ctx, o, lineno);
        json_decref(o);
    }
    free(line);
    fclose(f);
    return rc;
}

static int doc_is(const char *doc, const char *source)
{
    return doc && source && source[0] && ends_with(doc, source);
}

/* Retrieval recall@3 and the ranker's top-1 (for answerable cases whose
 * source was retrieved), and the decision score for the AUC. */
static int stage_case(tally *t, json_t *cs, const fd_reply *r, fd_err *err)
{
    const fd_answer_trace *tr = r->trace;
    if (!tr)
        return FD_OK;
    int answerable = json_is_true(json_object_get(cs, "answerable"));
    const char *source = json_string_value(json_object_get(cs, "source"));
    int gold = -1;
    for (size_t i = 0; answerable && i < tr->n && gold < 0; i++)
        if (doc_is(tr->v[i].doc_key, source))
            gold = (int)i;
    if (gold >= 0) {
        t->st_gold++;
        t->st_recall3 += gold < 3;
        t->st_top1 += tr->chosen == gold;
    }
    if (!answerable || (gold >= 0 && tr->chosen == gold)) {
        if (t->auc_n == t->auc_cap) {
            size_t cap = t->auc_cap ? t->auc_cap * 2 : 256;
            double *s = fd_realloc(t->auc_s, cap * sizeof *s);
            if (s)
                t->auc_s = s;
            char *y = s ? fd_realloc(t->auc_y, cap) : NULL;
            if (!s || !y)
                return fd_err_set(err, FD_ENOMEM, "out of memory");
            t->auc_y = y;
            t->auc_cap = cap;
        }
        t->auc_s[t->auc_n] = r->support;
        t->auc_y[t->auc_n++] = (char)answerable;
    }
    return FD_OK;
}

/* Area under the ROC curve of the decision score: the chance that an
 * answerable case answered from its source scores above an unanswerable
 * one (ties count half). -1 when either side is empty. */
static double auc(const tally *t)
{
    double pairs = 0, wins = 0;
    for (size_t i = 0; i < t->auc_n; i++)
        for (size_t j = 0; j < t->auc_n; j++)
            if (t->auc_y[i] && !t->auc_y[j]) {
                pairs++;
                wins += t->auc_s[i] > t->auc_s[j] ? 1 : t->auc_s[i] == t->auc_s[j] ? 0.5 : 0;
            }
    return pairs ? wins / pairs : -1;
}

typedef struct runner {
    fd_kb *kb;
    fd_assistant *as;
    fd_arena *a;
    tally *t;
    const char *path;
    fd_err *err;
    int tty;
    FILE *dump;      /* --dump-features: one JSON line per case */
    const char *set; /* the set's name, for the dump */
    int oracle;      /* --oracle: each answerable case again from its source */
    FILE *dump_s;    /* --dump-sentences: the source's sentences, one JSON line each */
} runner;

/* One training row: the case, the outcome, every candidate document's
 * evidence and whether it is the case's source (eval/train_answer_model.py). */
static void dump_case(runner *u, json_t *cs, const fd_reply *r)
{
    if (!u->dump || !r->trace)
        return;
    const char *source = json_string_value(json_object_get(cs, "source"));
    json_t *cands = json_array();
    for (size_t i = 0; cands && i < r->trace->n; i++) {
        const fd_answer_cand *k = &r->trace->v[i];
        json_t *f = json_array();
        for (int j = 0; f && j < FD_AF__N; j++)
            json_array_append_new(f, json_real(k->f[j]));
        int gold = source && source[0] && k->doc_key && ends_with(k->doc_key, source);
        json_array_append_new(cands,
                              json_pack("{s:s, s:b, s:o}", "doc", k->doc_key ? k->doc_key : "",
                                        "gold", gold, "f", f ? f : json_array()));
    }
    json_t *row =
        json_pack("{s:s, s:O, s:O, s:b, s:b, s:i, s:s, s:o}", "set", u->set, "id",
                  json_object_get(cs, "id") ? json_object_get(cs, "id") : json_null(), "answerable",
                  json_object_get(cs, "answerable"), "answered", r->answered, "fact",
                  r->answered && any_expected(u->a, json_object_get(cs, "expect_any"), r->answer),
                  "chosen", r->trace->chosen, "decision", r->decision ? r->decision : "", "cands",
                  cands ? cands : json_array());
    /* the question word the chosen document lacks, when that declined it */
    if (row && r->decision_focus)
        json_object_set_new(row, "focus", json_string(r->decision_focus));
    char *s = row ? json_dumps(row, JSON_COMPACT) : NULL;
    if (s)
        fprintf(u->dump, "%s\n", s);
    free(s);
    json_decref(row);
}

/* The picker's training rows (eval/train_picker.py): every sentence of the
 * case's source it scored, its evidence, and whether it holds an expected
 * string; "ok" is whether the answer it gave did. */
static void dump_sentences(runner *u, json_t *cs, const fd_reply *o, int ok)
{
    if (!u->dump_s || !o->trace)
        return;
    json_t *ex = json_object_get(cs, "expect_any");
    for (size_t i = 0; i < o->trace->n_s; i++) {
        const fd_answer_sent *st = &o->trace->s[i];
        json_t *f = json_array();
        for (int j = 0; f && j < FD_SF__N; j++)
            json_array_append_new(f, json_real(st->f[j]));
        json_t *row =
            json_pack("{s:s, s:O, s:i, s:b, s:b, s:s, s:o}", "set", u->set, "id",
                      json_object_get(cs, "id") ? json_object_get(cs, "id") : json_null(), "sent",
                      (int)i, "ok", ok, "label", st->text && any_expected(u->a, ex, st->text),
                      "text", st->text ? st->text : "", "f", f ? f : json_array());
        char *s = row ? json_dumps(row, JSON_COMPACT) : NULL;
        if (s)
            fprintf(u->dump_s, "%s\n", s);
        free(s);
        json_decref(row);
    }
}

static int run_case(void *ctx, json_t *cs, size_t lineno)
{
    runner *u = ctx;
    const char *q = json_string_value(json_object_get(cs, "question"));
    if (!q || !json_is_boolean(json_object_get(cs, "answerable")))
        return fd_err_set(u->err, FD_EFORMAT,
                          "%s:%zu: expected {\"question\":…,\"answerable\":true|false,…}", u->path,
                          lineno);
    fd_arena_reset(u->a);
    audit_vocab(u->t, u->kb, u->a, q);
    fd_turn_in in = {.message = q, .len = strlen(q), .ephemeral = 1, .trace = 1};
    fd_reply r;
    uint64_t t0 = fd_time_ns();
    int rc = fd_assistant_turn(u->as, u->kb, &in, NULL, u->a, &r, u->err);
    double ms = (double)(fd_time_ns() - t0) / 1e6;
    if (!rc)
        rc = keep_latency(u->t, ms, u->err);
    if (!rc) {
        score_case(u->t, u->a, cs, &r);
        dump_case(u, cs, &r);
        rc = stage_case(u->t, cs, &r, u->err);
    }
    const char *source = json_string_value(json_object_get(cs, "source"));
    if (!rc && u->oracle && json_is_true(json_object_get(cs, "answerable")) && source &&
        source[0]) {
        /* The picker alone: the same question answered from its source. */
        fd_turn_in oin = {.message = q,
                          .len = strlen(q),
                          .ephemeral = 1,
                          .oracle_doc = source,
                          .trace = u->dump_s != NULL};
        fd_reply o;
        rc = fd_assistant_turn(u->as, u->kb, &oin, NULL, u->a, &o, u->err);
        if (!rc && o.decision && strcmp(o.decision, "no_document") != 0) {
            int ok = o.answered && any_expected(u->a, json_object_get(cs, "expect_any"), o.answer);
            u->t->st_oracle_n++;
            u->t->st_oracle_ok += ok;
            dump_sentences(u, cs, &o, ok);
        }
    }
    if (u->tty)
        fprintf(stderr, "\r%zu cases", u->t->n);
    return rc;
}

/* One dialog, every turn in one session; turns with expect_any are scored. */
static int run_dialog(void *ctx, json_t *d, size_t lineno)
{
    runner *u = ctx;
    json_t *turns = json_object_get(d, "turns");
    if (!json_is_array(turns))
        return fd_err_set(u->err, FD_EFORMAT, "%s:%zu: expected {\"turns\":[{\"user\":…},…]}",
                          u->path, lineno);
    char sid[80] = "";
    size_t i;
    json_t *turn;
    json_array_foreach(turns, i, turn)
    {
        const char *msg = json_string_value(json_object_get(turn, "user"));
        if (!msg)
            return fd_err_set(u->err, FD_EFORMAT, "%s:%zu: turn %zu has no \"user\" text", u->path,
                              lineno, i + 1);
        fd_arena_reset(u->a);
        fd_turn_in in = {.message = msg, .len = strlen(msg), .session_id = sid[0] ? sid : NULL};
        fd_reply r;
        int rc = fd_assistant_turn(u->as, u->kb, &in, NULL, u->a, &r, u->err);
        if (rc)
            return rc;
        if (r.session_id)
            snprintf(sid, sizeof sid, "%s", r.session_id);
        json_t *expect = json_object_get(turn, "expect_any");
        if (json_array_size(expect) == 0)
            continue;
        u->t->turns++;
        if (!r.answered)
            u->t->turns_declined++;
        if (r.answered && any_expected(u->a, expect, r.answer))
            u->t->turns_correct++;
        else
            add_failure(u->t, msg,
                        r.answered ? "dialog turn: expected fact missing" : "dialog turn: declined",
                        &r);
    }
    return FD_OK;
}

/* The paths to ingest for a KB folder: DIR/docs and the .csv files of DIR
 * (but the special ones, fd_kb_special_file) when docs/ exists (the case files and notes beside
 * them are not the company's documents), else DIR itself. */
static size_t kb_paths(const char *dir, char paths[][1024], size_t max)
{
    char docs[1024];
    snprintf(docs, sizeof docs, "%s/docs", dir);
    struct stat st;
    if (stat(docs, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(paths[0], 1024, "%s", dir);
        return 1;
    }
    size_t n = 0;
    snprintf(paths[n++], 1024, "%s", docs);
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL && n < max) {
        size_t len = strlen(e->d_name);
        /* the KB's own files that are not documents (customers.csv) stay out,
         * as they do when a folder is ingested */
        if (len > 4 && strcmp(e->d_name + len - 4, ".csv") == 0 && !fd_kb_special_file(e->d_name))
            snprintf(paths[n++], 1024, "%s/%s", dir, e->d_name);
    }
    if (d)
        closedir(d);
    return n;
}

static void on_skip(void *ctx, const char *path, const fd_err *why)
{
    (void)ctx;
    fprintf(stderr, "frontdesk: skipped %s: %s\n", path, why->msg);
}

static int run_set(cli_ctx *c, const eval_set *s, tally *t, FILE *dump, FILE *dump_s, int oracle,
                   fd_err *err)
{
    char dir[512] = "";
    fd_config cfg = c->cfg;
    int rc = FD_OK;
    if (s->kb) {
        rc = cli_tmpdir(dir, sizeof dir, err);
        if (!rc)
            rc = fd_config_set(&cfg, "data_dir", dir, err);
    }
    fd_kb *kb = NULL;
    fd_assistant *as = NULL;
    fd_arena *a = fd_arena_new(0);
    if (!rc && !a)
        rc = fd_err_set(err, FD_ENOMEM, "out of memory");
    if (!rc)
        rc = fd_kb_open(&cfg, c->log, &kb, err);
    if (!rc && s->kb) {
        char paths[16][1024];
        const char *pp[16];
        size_t n = kb_paths(s->kb, paths, 16);
        for (size_t i = 0; i < n; i++)
            pp[i] = paths[i];
        fd_kb_ingest_opts io = {.on_skip = on_skip};
        fd_kb_ingest_report rep;
        rc = fd_kb_ingest(kb, pp, n, &io, &rep, err);
    }
    if (!rc)
        rc = fd_assistant_open(&cfg, c->log, kb, &as, err);
    runner u = {kb, as, a, t, NULL, err, isatty(2) && !c->json, dump, set_name(s), oracle, dump_s};
    if (!rc && s->cases) {
        u.path = s->cases;
        rc = each_json_line(s->cases, run_case, &u, err);
        if (u.tty)
            fputc('\n', stderr);
    }
    if (!rc && s->dialogs) {
        u.path = s->dialogs;
        rc = each_json_line(s->dialogs, run_dialog, &u, err);
    }
    fd_assistant_close(as);
    fd_kb_close(kb);
    fd_arena_free(a);
    if (dir[0])
        cli_rmtree(dir);
    return rc;
}

/* ---- reporting ---------------------------------------------------------------- */

/* 95% Wilson score interval of k successes in n. */
static void wilson(size_t k, size_t n, double *lo, double *hi)
{
    if (n == 0) {
        *lo = 0;
        *hi = 1;
        return;
    }
    const double z = 1.959964;
    double p = (double)k / (double)n, nn = (double)n;
    double den = 1 + z * z / nn;
    double mid = (p + z * z / (2 * nn)) / den;
    double half = z * sqrt(p * (1 - p) / nn + z * z / (4 * nn * nn)) / den;
    *lo = mid - half < 0 ? 0 : mid - half;
    *hi = mid + half > 1 ? 1 : mid + half;
}

static double ratio(size_t k, size_t n)
{
    return n ? (double)k / (double)n : 0;
}

static json_t *rate_json(size_t k, size_t n)
{
    double lo, hi;
    wilson(k, n, &lo, &hi);
    return json_pack("{s:f, s:I, s:I, s:[f,f]}", "rate", ratio(k, n), "k", (json_int_t)k, "n",
                     (json_int_t)n, "ci95", lo, hi);
}

static const char *set_name(const eval_set *s)
{
    return s->name;
}

/* The set's name: its folder's (or case file's) last path segment. */
static void name_set(eval_set *s)
{
    const char *p = s->kb ? s->kb : s->cases;
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/')
        n--;
    const char *slash = p + n;
    while (slash > p && slash[-1] != '/')
        slash--;
    snprintf(s->name, sizeof s->name, "%.*s", (int)(p + n - slash), slash);
}

static void percentiles(tally *t, double *p50, double *p99)
{
    *p50 = *p99 = 0;
    if (!t->n)
        return;
    qsort(t->lat_ms, t->n, sizeof *t->lat_ms, fd_cmp_double);
    *p50 = t->lat_ms[t->n / 2];
    *p99 = t->lat_ms[(size_t)((double)(t->n - 1) * 0.99)];
}

static json_t *set_json(const eval_set *s, tally *t)
{
    double p50, p99;
    percentiles(t, &p50, &p99);
    size_t wrong = t->wrong_source + t->missing_fact;
    json_t *o = json_pack(
        "{s:s, s:I, s:I, s:I, s:o, s:o, s:o, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, "
        "s:f, s:f, s:f, s:f, s:O}",
        "set", set_name(s), "cases", (json_int_t)t->n, "answerable", (json_int_t)t->answerable,
        "unanswerable", (json_int_t)t->unanswerable, "correct",
        rate_json(t->correct, t->answerable), "declined_unanswerable",
        rate_json(t->declined_unanswerable, t->unanswerable), "answered_wrong",
        rate_json(wrong + t->answered_unanswerable, t->n), "dialog_turns_correct",
        rate_json(t->turns_correct, t->turns), "false_declines", (json_int_t)t->false_declines,
        "wrong_source", (json_int_t)t->wrong_source, "missing_fact", (json_int_t)t->missing_fact,
        "answered_unanswerable", (json_int_t)t->answered_unanswerable, "escalated",
        (json_int_t)t->escalated, "llm_calls", (json_int_t)t->llm_calls, "llm_blocked",
        (json_int_t)t->llm_blocked, "degraded", (json_int_t)t->degraded, "vocab_questions_unknown",
        ratio(t->vocab_q_unknown, t->vocab_q), "vocab_terms_unknown",
        ratio(t->vocab_terms_unknown, t->vocab_terms), "p50_ms", p50, "p99_ms", p99,
        /* the old single-set keys, kept for scripts that read them */
        "accuracy", ratio(t->correct, t->answerable), "failures", t->failures);
    if (o) {
        json_object_set_new(o, "decline_rate",
                            json_real(ratio(t->declined_unanswerable, t->unanswerable)));
        json_object_set_new(o, "hallucination_rate",
                            json_real(ratio(t->answered_unanswerable, t->n)));
        json_object_set_new(o, "correct_count", json_integer((json_int_t)t->correct));
        json_object_set_new(o, "correct_with_whole_table",
                            json_integer((json_int_t)t->correct_by_table));
        json_object_set_new(o, "llm_no_answer", json_integer((json_int_t)t->llm_no_answer));
        double a_uc = auc(t);
        json_object_set_new(o, "stages",
                            json_pack("{s:o, s:o, s:o, s:o}", "retrieval_recall3_doc",
                                      rate_json(t->st_recall3, t->st_gold), "chosen_when_retrieved",
                                      rate_json(t->st_top1, t->st_gold), "decision_auc",
                                      a_uc < 0 ? json_null() : json_real(a_uc),
                                      "picker_given_source",
                                      rate_json(t->st_oracle_ok, t->st_oracle_n)));
    }
    return o;
}

static void print_rate(const char *label, size_t k, size_t n)
{
    double lo, hi;
    wilson(k, n, &lo, &hi);
    printf("  %-26s %.3f  [%.3f, %.3f]  (%zu/%zu)\n", label, ratio(k, n), lo, hi, k, n);
}

static void print_set(const eval_set *s, tally *t, int show_failures)
{
    double p50, p99;
    percentiles(t, &p50, &p99);
    size_t wrong = t->wrong_source + t->missing_fact;
    printf("%s: %zu cases (%zu answerable, %zu unanswerable)\n", set_name(s), t->n, t->answerable,
           t->unanswerable);
    print_rate("correct and cited", t->correct, t->answerable);
    if (t->correct_by_table)
        printf("    %-24s %zu (a whole table of 3+ rows quoted)\n",
               "of which with a table:", t->correct_by_table);
    printf("  %-26s declined %zu, answered wrong %zu (wrong source %zu, fact missing %zu)\n",
           "  of the answerable:", t->false_declines, wrong, t->wrong_source, t->missing_fact);
    print_rate("unanswerable declined", t->declined_unanswerable, t->unanswerable);
    print_rate("answered wrong (all)", wrong + t->answered_unanswerable, t->n);
    if (t->turns)
        print_rate("dialog turns correct", t->turns_correct, t->turns);
    double a_uc = auc(t);
    printf("  stages: source retrieved in the top 3 documents %zu/%zu, chosen when retrieved "
           "%zu/%zu, decision AUC %.3f",
           t->st_recall3, t->st_gold, t->st_top1, t->st_gold, a_uc < 0 ? 0 : a_uc);
    if (t->st_oracle_n)
        printf(", picker given the source %zu/%zu", t->st_oracle_ok, t->st_oracle_n);
    printf("\n");
    printf("  vocabulary: %.0f%% of questions hold a word the KB never uses (%.0f%% of their "
           "terms)\n",
           100 * ratio(t->vocab_q_unknown, t->vocab_q),
           100 * ratio(t->vocab_terms_unknown, t->vocab_terms));
    printf("  escalated %zu, LLM calls %zu (no answer in the passages %zu, blocked by validation "
           "%zu, degraded %zu)\n"
           "  time per message: p50 %.2f ms, p99 %.2f ms\n",
           t->escalated, t->llm_calls, t->llm_no_answer, t->llm_blocked, t->degraded, p50, p99);
    if (!show_failures)
        return;
    size_t i;
    json_t *f;
    json_array_foreach(t->failures, i, f) printf(
        "  - %s: %s\n      [%s %.2f %s] -> %.160s\n", json_string_value(json_object_get(f, "why")),
        json_string_value(json_object_get(f, "question")),
        json_string_value(json_object_get(f, "decision")),
        json_real_value(json_object_get(f, "support")),
        json_string_value(json_object_get(f, "decision_doc")),
        json_string_value(json_object_get(f, "answer")));
}

static void add_tally(tally *sum, const tally *t)
{
    sum->n += t->n;
    sum->answerable += t->answerable;
    sum->unanswerable += t->unanswerable;
    sum->correct += t->correct;
    sum->correct_by_table += t->correct_by_table;
    sum->declined_unanswerable += t->declined_unanswerable;
    sum->answered_unanswerable += t->answered_unanswerable;
    sum->false_declines += t->false_declines;
    sum->wrong_source += t->wrong_source;
    sum->missing_fact += t->missing_fact;
    sum->turns += t->turns;
    sum->turns_correct += t->turns_correct;
}

static const char *default_file(const char *dir, const char *name, char *buf, size_t n)
{
    snprintf(buf, n, "%s/%s", dir, name);
    return access(buf, R_OK) == 0 ? buf : NULL;
}

int cli_eval_answers(cli_ctx *c)
{
    static const struct option opts[] = {{"kb", required_argument, NULL, 'k'},
                                         {"cases", required_argument, NULL, 'c'},
                                         {"dialogs", required_argument, NULL, 'd'},
                                         {"failures", no_argument, NULL, 'f'},
                                         {"dump-features", required_argument, NULL, 'D'},
                                         {"oracle", no_argument, NULL, 'o'},
                                         {"dump-sentences", required_argument, NULL, 'S'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    eval_set sets[MAX_SETS];
    size_t n = 0;
    int ch, show_failures = 0, any_kb = 0;
    const char *dump_path = NULL, *dump_s_path = NULL;
    int oracle = 0;
    eval_set *cur = NULL;
    while ((ch = getopt_long(c->argc, c->argv, "k:c:d:fD:oS:jh", opts, NULL)) != -1) {
        if (ch == 'k' || ((ch == 'c' || ch == 'd') && !cur)) {
            if (n == MAX_SETS) {
                fprintf(stderr, "frontdesk: eval answers takes at most %d sets\n", MAX_SETS);
                return 2;
            }
            cur = &sets[n++];
            memset(cur, 0, sizeof *cur);
            any_kb |= ch == 'k';
        }
        if (ch == 'k')
            cur->kb = optarg;
        else if (ch == 'c')
            cur->cases = optarg;
        else if (ch == 'd')
            cur->dialogs = optarg;
        else if (ch == 'f')
            show_failures = 1;
        else if (ch == 'D')
            dump_path = optarg;
        else if (ch == 'o')
            oracle = 1;
        else if (ch == 'S')
            dump_s_path = optarg, oracle = 1; /* the sentences of the oracle's run */
        else if (ch == 'j')
            c->json = 1;
        else
            return cli_usage("eval");
    }
    if (n == 0) {
        fprintf(stderr, "frontdesk: eval answers needs --cases FILE or --kb DIR\n");
        return cli_usage("eval");
    }
    static char defaults[MAX_SETS][2][1100];
    for (size_t i = 0; i < n; i++) {
        if (any_kb && !sets[i].kb) {
            fprintf(stderr, "frontdesk: with --kb, every --cases follows its --kb\n");
            return cli_usage("eval");
        }
        if (sets[i].kb && !sets[i].cases && !sets[i].dialogs) {
            sets[i].cases = default_file(sets[i].kb, "cases.jsonl", defaults[i][0], 1100);
            sets[i].dialogs = default_file(sets[i].kb, "dialogs.jsonl", defaults[i][1], 1100);
            if (!sets[i].cases && !sets[i].dialogs) {
                fprintf(stderr, "frontdesk: %s has no cases.jsonl or dialogs.jsonl\n", sets[i].kb);
                return 2;
            }
        }
    }
    for (size_t i = 0; i < n; i++)
        name_set(&sets[i]);
    /* Without --failures the text report lists them only for one set, as before. */
    if (n == 1)
        show_failures = 1;
    json_t *out = json_array();
    tally sum = {0};
    fd_err err = {0};
    int rc = FD_OK;
    FILE *dump = NULL, *dump_s = NULL;
    if (dump_path && !(dump = fopen(dump_path, "w")))
        rc = fd_err_set(&err, FD_EIO, "%s: cannot write", dump_path);
    if (!rc && dump_s_path && !(dump_s = fopen(dump_s_path, "w")))
        rc = fd_err_set(&err, FD_EIO, "%s: cannot write", dump_s_path);
    for (size_t i = 0; i < n && !rc; i++) {
        tally t = {0};
        t.failures = json_array();
        if (!c->json && n > 1)
            fprintf(stderr, "evaluating %s ...\n", set_name(&sets[i]));
        rc = run_set(c, &sets[i], &t, dump, dump_s, oracle, &err);
        if (!rc) {
            add_tally(&sum, &t);
            if (c->json)
                json_array_append_new(out, set_json(&sets[i], &t));
            else
                print_set(&sets[i], &t, show_failures);
        }
        fd_free(t.lat_ms);
        fd_free(t.auc_s);
        fd_free(t.auc_y);
        json_decref(t.failures);
    }
    if (dump && fclose(dump) != 0 && !rc)
        rc = fd_err_set(&err, FD_EIO, "%s: write failed", dump_path);
    if (dump_s && fclose(dump_s) != 0 && !rc)
        rc = fd_err_set(&err, FD_EIO, "%s: write failed", dump_s_path);
    if (rc) {
        json_decref(out);
        return cli_fail(c, &err);
    }
    if (c->json) {
        /* One set: the set's object itself (the format before --kb). */
        json_t *o =
            n == 1 ? json_incref(json_array_get(out, 0))
                   : json_pack("{s:O, s:{s:o, s:o, s:o}}", "sets", out, "total", "correct",
                               rate_json(sum.correct, sum.answerable), "declined_unanswerable",
                               rate_json(sum.declined_unanswerable, sum.unanswerable),
                               "dialog_turns_correct", rate_json(sum.turns_correct, sum.turns));
        char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
        if (s)
            printf("%s\n", s);
        free(s);
        json_decref(o);
    } else if (n > 1) {
        printf("all %zu sets (pooled):\n", n);
        print_rate("correct and cited", sum.correct, sum.answerable);
        if (sum.correct_by_table)
            printf("    %-24s %zu (a whole table of 3+ rows quoted)\n",
                   "of which with a table:", sum.correct_by_table);
        print_rate("unanswerable declined", sum.declined_unanswerable, sum.unanswerable);
        print_rate("answered wrong (all)",
                   sum.wrong_source + sum.missing_fact + sum.answered_unanswerable, sum.n);
        if (sum.turns)
            print_rate("dialog turns correct", sum.turns_correct, sum.turns);
    }
    json_decref(out);
    return 0;
}
