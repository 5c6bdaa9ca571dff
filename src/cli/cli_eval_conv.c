/* cli_eval_conv.c: evaluations of the conversation engine:
 *   eval intent  --train F --test F [--val F]   (label<TAB>text files)
 *   eval answers --cases F                      (JSONL cases, current KB)
 *   eval guard   --set F                        (label<TAB>lang<TAB>text) */
#include "cli_int.h"

#include "dialog.h"
#include "guard.h"
#include "nlu.h"
#include "text.h"

#include <ctype.h>
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- eval intent ---------------------------------------------------------- */

static void on_train_progress(void *ctx, double done)
{
    (void)ctx;
    fprintf(stderr, "\rtraining... %3.0f%%", done * 100);
    if (done >= 1)
        fputc('\n', stderr);
}

int cli_eval_intent(cli_ctx *c)
{
    static const struct option opts[] = {
        {"train", required_argument, NULL, 't'}, {"test", required_argument, NULL, 'e'},
        {"val", required_argument, NULL, 'v'},   {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0}};
    const char *train = NULL, *test = NULL, *val = NULL;
    int ch;
    while ((ch = getopt_long(c->argc, c->argv, "t:e:v:jh", opts, NULL)) != -1) {
        if (ch == 't')
            train = optarg;
        else if (ch == 'e')
            test = optarg;
        else if (ch == 'v')
            val = optarg;
        else if (ch == 'j')
            c->json = 1;
        else
            return cli_usage("eval");
    }
    if (!train || !test) {
        fprintf(stderr, "frontdesk: eval intent needs --train and --test\n");
        return cli_usage("eval");
    }
    fd_intent_set tr = {0}, te = {0}, va = {0};
    fd_err err = {0};
    int rc = fd_intent_set_load(train, &tr, &err);
    if (!rc)
        rc = fd_intent_set_load(test, &te, &err);
    if (!rc && val)
        rc = fd_intent_set_load(val, &va, &err);
    fd_intent_eval ev;
    fd_intent_train_opts to = {0};
    if (!c->json && isatty(2))
        to.on_progress = on_train_progress;
    if (!rc)
        rc = fd_intent_evaluate(&tr, val ? &va : NULL, &te, &to, &ev, &err);
    if (!rc) {
        char oos[32] = "null";
        if (ev.oos_recall >= 0)
            snprintf(oos, sizeof oos, "%.4f", ev.oos_recall);
        if (c->json)
            printf(
                "{\"accuracy\":%.4f,\"macro_f1\":%.4f,\"oos_recall\":%s,\"in_scope_accuracy\":%.4f,"
                "\"train_s\":%.3f,\"p99_us\":%.1f,\"p50_us\":%.1f,\"threshold\":%.4f,"
                "\"n_train\":%zu,\"n_test\":%zu,\"labels\":%zu,\"train_peak_rss_mb\":%.1f}\n",
                ev.accuracy, ev.macro_f1, oos, ev.in_scope_accuracy, ev.train_s, ev.p99_us,
                ev.p50_us, ev.threshold, ev.n_train, ev.n_test, ev.n_labels,
                (double)ev.train_peak_rss / 1048576.0);
        else
            printf("intent classification: %zu train, %zu test, %zu labels\n"
                   "  accuracy          %.4f\n  macro F1          %.4f\n"
                   "  in-scope accuracy %.4f\n  oos recall        %s%.4f\n"
                   "  threshold         %.4f\n  training          %.2f s (peak RSS %.0f MB)\n"
                   "  one message       p50 %.1f us, p99 %.1f us\n",
                   ev.n_train, ev.n_test, ev.n_labels, ev.accuracy, ev.macro_f1,
                   ev.in_scope_accuracy, ev.oos_recall < 0 ? "(no oos rows) " : "",
                   ev.oos_recall < 0 ? 0 : ev.oos_recall, ev.threshold, ev.train_s,
                   (double)ev.train_peak_rss / 1048576.0, ev.p50_us, ev.p99_us);
    }
    fd_intent_set_free(&tr);
    fd_intent_set_free(&te);
    fd_intent_set_free(&va);
    return rc ? cli_fail(c, &err) : 0;
}

/* ---- eval guard ------------------------------------------------------------ */

int cli_eval_guard(cli_ctx *c)
{
    static const struct option opts[] = {{"set", required_argument, NULL, 's'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *set = NULL;
    int ch;
    while ((ch = getopt_long(c->argc, c->argv, "s:jh", opts, NULL)) != -1) {
        if (ch == 's')
            set = optarg;
        else if (ch == 'j')
            c->json = 1;
        else
            return cli_usage("eval");
    }
    if (!set) {
        fprintf(stderr, "frontdesk: eval guard needs --set FILE (label<TAB>lang<TAB>text)\n");
        return cli_usage("eval");
    }
    fd_guard_opts go = {.max_chars = (size_t)c->cfg.guard_max_chars,
                        .threshold = c->cfg.guard_threshold};
    fd_guard_eval ev;
    fd_err err = {0};
    if (fd_guard_evaluate(set, &go, &ev, &err) != FD_OK)
        return cli_fail(c, &err);
    if (c->json)
        printf("{\"attacks\":%zu,\"benign\":%zu,\"precision\":%.4f,\"recall\":%.4f,"
               "\"benign_flag_rate\":%.4f,\"recall_en\":%.4f,\"recall_fr\":%.4f,"
               "\"benign_flag_rate_en\":%.4f,\"benign_flag_rate_fr\":%.4f,\"p99_us\":%.1f}\n",
               ev.n_attack, ev.n_benign, ev.precision, ev.recall, ev.benign_flag_rate, ev.recall_en,
               ev.recall_fr, ev.benign_flag_rate_en, ev.benign_flag_rate_fr, ev.p99_us);
    else
        printf("guard: %zu attacks, %zu benign\n  precision %.4f\n  recall    %.4f (en %.4f, fr "
               "%.4f)\n  benign flagged %.4f (en %.4f, fr %.4f)\n  p99 %.1f us per message\n",
               ev.n_attack, ev.n_benign, ev.precision, ev.recall, ev.recall_en, ev.recall_fr,
               ev.benign_flag_rate, ev.benign_flag_rate_en, ev.benign_flag_rate_fr, ev.p99_us);
    return 0;
}

/* ---- eval answers ---------------------------------------------------------- */

typedef struct answers_tally {
    size_t n, answerable, unanswerable, correct, declined_unanswerable, answered_unanswerable;
    size_t false_declines, wrong_source, missing_fact, escalated, llm_calls, llm_blocked, degraded;
    double *lat_ms;
    json_t *failures;
} answers_tally;

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

static void add_failure(answers_tally *t, const char *q, const char *why, const fd_reply *r)
{
    if (json_array_size(t->failures) >= 200)
        return;
    json_t *f = json_pack("{s:s, s:s, s:s, s:s, s:s}", "question", q, "why", why, "answer",
                          r->answer ? r->answer : "", "route", r->route ? r->route : "", "cited",
                          r->n_citations ? r->citations[0].document : "");
    if (f)
        json_array_append_new(t->failures, f);
}

static void score_case(answers_tally *t, fd_arena *a, json_t *cs, const fd_reply *r)
{
    const char *q = json_string_value(json_object_get(cs, "question"));
    int answerable = json_is_true(json_object_get(cs, "answerable"));
    const char *source = json_string_value(json_object_get(cs, "source"));
    json_t *expect = json_object_get(cs, "expect_any");
    t->n++;
    t->escalated += r->escalation_tier != NULL;
    t->llm_calls += r->llm_called != 0;
    t->degraded += r->degraded != 0;
    if (r->llm_called && r->validation && strcmp(r->validation, "ok") != 0 &&
        strcmp(r->validation, "skipped") != 0)
        t->llm_blocked++;
    int answered = r->answered && strcmp(r->route, "knowledge") == 0 ? 1 : r->answered;
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
    int fact = json_array_size(expect) == 0;
    size_t i;
    json_t *e;
    json_array_foreach(expect, i, e) fact |= contains_folded(a, r->answer, json_string_value(e));
    int cited = !source || !source[0];
    for (size_t k = 0; k < r->n_citations && !cited; k++)
        cited = ends_with(r->citations[k].document, source);
    if (fact && cited) {
        t->correct++;
    } else if (!cited) {
        t->wrong_source++;
        add_failure(t, q, "source not cited", r);
    } else {
        t->missing_fact++;
        add_failure(t, q, "expected fact missing", r);
    }
}

static int run_cases(cli_ctx *c, const char *path, answers_tally *t, fd_err *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return fd_err_set_field(err, FD_ENOTFOUND, "cases", "%s: cannot open", path);
    fd_kb *kb = NULL;
    fd_assistant *as = NULL;
    fd_arena *a = fd_arena_new(0);
    int rc =
        a ? fd_kb_open(&c->cfg, c->log, &kb, err) : fd_err_set(err, FD_ENOMEM, "out of memory");
    if (!rc)
        rc = fd_assistant_open(&c->cfg, c->log, kb, &as, err);
    char *line = NULL;
    size_t cap = 0, lineno = 0, lat_cap = 0;
    int tty = isatty(2) && !c->json;
    while (!rc && getline(&line, &cap, f) > 0) {
        lineno++;
        if (line[strspn(line, " \t\r\n")] == '\0')
            continue;
        json_error_t je;
        json_t *cs = json_loads(line, 0, &je);
        const char *q = json_string_value(json_object_get(cs, "question"));
        if (!q || !json_is_boolean(json_object_get(cs, "answerable"))) {
            json_decref(cs);
            rc = fd_err_set(err, FD_EFORMAT,
                            "%s:%zu: expected {\"question\":…,\"answerable\":true|false,…}", path,
                            lineno);
            break;
        }
        fd_arena_reset(a);
        fd_turn_in in = {.message = q, .len = strlen(q), .ephemeral = 1};
        fd_reply r;
        uint64_t t0 = fd_time_ns();
        rc = fd_assistant_turn(as, kb, &in, NULL, a, &r, err);
        double ms = (double)(fd_time_ns() - t0) / 1e6;
        if (!rc) {
            if (t->n == lat_cap) {
                lat_cap = lat_cap ? lat_cap * 2 : 256;
                double *v = fd_realloc(t->lat_ms, lat_cap * sizeof *v);
                if (!v)
                    rc = fd_err_set(err, FD_ENOMEM, "out of memory");
                else
                    t->lat_ms = v;
            }
            if (!rc) {
                t->lat_ms[t->n] = ms;
                score_case(t, a, cs, &r);
            }
        }
        json_decref(cs);
        if (tty)
            fprintf(stderr, "\r%zu cases", t->n);
    }
    if (tty)
        fputc('\n', stderr);
    free(line);
    fclose(f);
    fd_assistant_close(as);
    fd_kb_close(kb);
    fd_arena_free(a);
    return rc;
}

int cli_eval_answers(cli_ctx *c)
{
    static const struct option opts[] = {{"cases", required_argument, NULL, 'c'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *cases = NULL;
    int ch;
    while ((ch = getopt_long(c->argc, c->argv, "c:jh", opts, NULL)) != -1) {
        if (ch == 'c')
            cases = optarg;
        else if (ch == 'j')
            c->json = 1;
        else
            return cli_usage("eval");
    }
    if (!cases) {
        fprintf(stderr, "frontdesk: eval answers needs --cases FILE\n");
        return cli_usage("eval");
    }
    answers_tally t = {0};
    t.failures = json_array();
    fd_err err = {0};
    int rc = run_cases(c, cases, &t, &err);
    if (rc) {
        fd_free(t.lat_ms);
        json_decref(t.failures);
        return cli_fail(c, &err);
    }
    double p50 = 0, p99 = 0;
    if (t.n) {
        qsort(t.lat_ms, t.n, sizeof *t.lat_ms, fd_cmp_double);
        p50 = t.lat_ms[t.n / 2];
        p99 = t.lat_ms[(size_t)((double)(t.n - 1) * 0.99)];
    }
    double acc = t.answerable ? (double)t.correct / (double)t.answerable : 0;
    double decl = t.unanswerable ? (double)t.declined_unanswerable / (double)t.unanswerable : 0;
    double hall = t.n ? (double)t.answered_unanswerable / (double)t.n : 0;
    if (c->json) {
        json_t *o = json_pack(
            "{s:I, s:I, s:I, s:f, s:f, s:f, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:f, s:O}",
            "cases", (json_int_t)t.n, "answerable", (json_int_t)t.answerable, "unanswerable",
            (json_int_t)t.unanswerable, "accuracy", acc, "decline_rate", decl, "hallucination_rate",
            hall, "correct", (json_int_t)t.correct, "false_declines", (json_int_t)t.false_declines,
            "wrong_source", (json_int_t)t.wrong_source, "missing_fact", (json_int_t)t.missing_fact,
            "escalated", (json_int_t)t.escalated, "llm_calls", (json_int_t)t.llm_calls,
            "llm_blocked", (json_int_t)t.llm_blocked, "degraded", (json_int_t)t.degraded, "p50_ms",
            p50, "p99_ms", p99, "failures", t.failures);
        char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
        if (s)
            printf("%s\n", s);
        free(s);
        json_decref(o);
    } else {
        printf("answers: %zu cases (%zu answerable, %zu unanswerable)\n"
               "  accuracy (answerable)   %.4f  (%zu correct, %zu declined, %zu wrong source, %zu "
               "missing fact)\n"
               "  declined (unanswerable) %.4f\n  hallucination rate      %.4f\n"
               "  escalated %zu, LLM calls %zu (blocked by validation %zu, degraded %zu)\n"
               "  time per message: p50 %.2f ms, p99 %.2f ms\n",
               t.n, t.answerable, t.unanswerable, acc, t.correct, t.false_declines, t.wrong_source,
               t.missing_fact, decl, hall, t.escalated, t.llm_calls, t.llm_blocked, t.degraded, p50,
               p99);
        size_t i;
        json_t *f;
        json_array_foreach(t.failures, i, f)
            printf("  - %s: %s\n      -> %.160s\n", json_string_value(json_object_get(f, "why")),
                   json_string_value(json_object_get(f, "question")),
                   json_string_value(json_object_get(f, "answer")));
    }
    fd_free(t.lat_ms);
    json_decref(t.failures);
    return 0;
}
