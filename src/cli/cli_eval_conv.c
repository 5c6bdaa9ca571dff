/* cli_eval_conv.c: evaluations of the conversation engine:
 *   eval intent  --train F --test F [--val F]   (label<TAB>text files)
 *   (eval answers is in cli_eval_answers.c)
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
