/* nlu/nlu.h: understanding one customer message locally: intent (a linear
 * classifier trained in C from labelled examples, with an out-of-scope
 * threshold), entities (quantities, sizes, dates and times in words, order
 * ids, product codes, emails, phones, money, outlet names by fuzzy match),
 * sentiment / complaint strength, and language.
 *
 * Threads: a trained fd_intent_model is read-only and shared by threads;
 *          classification needs only the caller's arena.
 * Memory:  results live in the caller's arena; models are freed with
 *          fd_intent_model_free.
 * Errors:  FD_EINVAL (bad examples or options), FD_EFORMAT (model file),
 *          FD_EIO, FD_ENOMEM, FD_EUTF8. */
#ifndef FD_NLU_H
#define FD_NLU_H

#include "core.h"
#include "text.h"

/* ---- intent classifier --------------------------------------------------- */

/* The out-of-scope label used by data files (CLINC150 "oos") and by the
 * classifier when the best score is under the threshold. */
#define FD_INTENT_OOS "oos"

typedef struct fd_intent_example {
    const char *label;
    const char *text;
} fd_intent_example;

/* A labelled data set (label<TAB>text lines), owned by the caller. */
typedef struct fd_intent_set {
    fd_intent_example *v;
    size_t n;
    void *mem_; /* private: the file's bytes */
} fd_intent_set;

/* Loads label<TAB>text lines (blank lines and lines starting with '#'
 * skipped). A line without a tab, an empty label or text, or bad UTF-8 is
 * FD_EFORMAT naming the line. */
int fd_intent_set_load(const char *path, fd_intent_set *out, fd_err *err) FD_MUST_USE;
void fd_intent_set_free(fd_intent_set *s);

typedef struct fd_intent_train_opts {
    int epochs;          /* 0: default */
    double c;            /* regularization strength; 0: default */
    int threads;         /* 0: number of cores */
    /* Labels that mean "out of scope" in the training data (e.g. "oos",
     * "out_of_scope"); they are trained as a class of their own and also
     * reported as out of scope. NULL: {"oos", "out_of_scope"}. */
    const char *const *oos_labels;
    size_t n_oos_labels;
    /* Called now and then with the fraction done; may be NULL. */
    void (*on_progress)(void *ctx, double done);
    void *ctx;
} fd_intent_train_opts;

typedef struct fd_intent_model fd_intent_model;

int fd_intent_train(const fd_intent_example *ex, size_t n, const fd_intent_train_opts *opts,
                    fd_intent_model **out, fd_err *err) FD_MUST_USE;
void fd_intent_model_free(fd_intent_model *m); /* NULL is fine */

/* Out-of-scope threshold on fd_intent_result.in_scope: below it the result
 * is FD_INTENT_OOS. Saved with the model; 0 (the default) leaves only the
 * out-of-scope labels to claim messages. */
void fd_intent_set_threshold(fd_intent_model *m, double t);
double fd_intent_threshold(const fd_intent_model *m);

/* Atomic write (temp file + rename); load validates the format. */
int fd_intent_save(const fd_intent_model *m, const char *path, fd_err *err) FD_MUST_USE;
int fd_intent_load(const char *path, fd_intent_model **out, fd_err *err) FD_MUST_USE;

size_t fd_intent_n_labels(const fd_intent_model *m);
const char *fd_intent_label(const fd_intent_model *m, size_t i);

typedef struct fd_intent_result {
    const char *label;   /* model-owned; FD_INTENT_OOS when out of scope */
    double confidence;   /* calibrated probability of the top label, 0..1 */
    int oos;             /* in_scope under the threshold, or an out-of-scope label won */
    const char *top_label; /* best in-scope or oos label before the threshold */
    const char *second;  /* runner-up label (model-owned), NULL if none */
    double second_confidence;
    /* The score the threshold applies to, 0..1. A model trained with
     * out-of-scope labels: p(best in-scope label) / (that + p(out of
     * scope)), the odds of the best in-scope label against out of scope.
     * Otherwise: confidence. */
    double in_scope;
} fd_intent_result;

/* Thread-safe; a uses at most a few KB. Empty text is FD_EINVAL. */
int fd_intent_classify(const fd_intent_model *m, fd_str text, fd_arena *a, fd_intent_result *out,
                       fd_err *err) FD_MUST_USE;

/* ---- evaluation (eval intent) ------------------------------------------- */

typedef struct fd_intent_eval {
    double accuracy;          /* over all test rows, oos counted as a class */
    double macro_f1;          /* over in-scope labels */
    double oos_recall;        /* oos test rows predicted oos; -1 if none */
    double in_scope_accuracy; /* in-scope test rows predicted exactly */
    double threshold;         /* the out-of-scope threshold used */
    double train_s;           /* training wall time (model fit only) */
    double p50_us, p99_us;    /* one classification, single thread */
    size_t n_train, n_test, n_labels;
    size_t train_peak_rss;    /* bytes, peak of the process after training */
} fd_intent_eval;

/* Trains on train, chooses the out-of-scope threshold (on val if given,
 * else — when train holds out-of-scope rows — on a stratified 10% of train
 * held out, then retrains on all of train; with no out-of-scope data the
 * threshold is 0) and scores test. The threshold maximizes accuracy on
 * the validation rows with out-of-scope counted as a class of its own
 * (CLINC150's protocol). */
int fd_intent_evaluate(const fd_intent_set *train, const fd_intent_set *val,
                       const fd_intent_set *test, const fd_intent_train_opts *opts,
                       fd_intent_eval *out, fd_err *err) FD_MUST_USE;

/* ---- entities ----------------------------------------------------------- */

typedef enum fd_entity_kind {
    FD_ENT_QUANTITY, /* "200 boxes", "5 cartons", "two hundred" -> value */
    FD_ENT_SIZE,     /* "12-inch", "12\"", "16oz", "500ml" -> norm "12inch" */
    FD_ENT_MONEY,    /* "S$250" -> value 250, norm "s$250" */
    FD_ENT_DATE,     /* "tomorrow", "Tuesday", "25/12", "25 Dec" -> norm YYYY-MM-DD */
    FD_ENT_TIME,     /* "morning", "3pm", "15:30" -> norm HH:MM or "morning" */
    FD_ENT_ORDER_ID, /* "HP-240517" */
    FD_ENT_PRODUCT,  /* a product code "CUP-P12", "PB-1203" */
    FD_ENT_EMAIL,
    FD_ENT_PHONE,    /* "+65 6812 4470", "9123 4567" -> digits only */
    FD_ENT_OUTLET,   /* a known outlet/customer name, fuzzy matched */
    FD__NENT
} fd_entity_kind;

const char *fd_entity_kind_name(fd_entity_kind k); /* "quantity", "size", ... */

typedef struct fd_entity {
    fd_entity_kind kind;
    const char *norm; /* normalized value, in the arena */
    double value;     /* numeric kinds: the number; else 0 */
    uint32_t off, len; /* bytes in the message */
} fd_entity;

typedef struct fd_entities {
    fd_entity *v;
    size_t n;
} fd_entities;

/* Known names to match fuzzily (outlets, customers); may be empty. */
typedef struct fd_gazetteer fd_gazetteer;
int fd_gazetteer_new(fd_gazetteer **out, fd_err *err) FD_MUST_USE;
void fd_gazetteer_free(fd_gazetteer *g);
int fd_gazetteer_add(fd_gazetteer *g, fd_entity_kind kind, const char *name, fd_err *err) FD_MUST_USE;

typedef struct fd_nlu_ctx {
    double now;               /* unix seconds "today" is relative to; 0: now */
    int tz_offset_min;        /* local time zone offset from UTC (SG: 480) */
    fd_lang lang;             /* message language, UNKNOWN: guess */
    const fd_gazetteer *names; /* may be NULL */
} fd_nlu_ctx;

/* Entities in message order. Never fails on odd text (no entities). */
int fd_nlu_entities(fd_str text, const fd_nlu_ctx *ctx, fd_arena *a, fd_entities *out,
                    fd_err *err) FD_MUST_USE;

/* ---- sentiment ---------------------------------------------------------- */

typedef struct fd_sentiment {
    double score;     /* -1 (very negative) .. +1 (very positive) */
    double complaint; /* 0..1: strength of complaint / anger */
} fd_sentiment;

/* Lexicon-based (en + fr), handles negation ("not happy") and intensifiers
 * ("very", "!!!", ALL CAPS). */
fd_sentiment fd_nlu_sentiment(fd_str text, fd_lang lang);

/* ---- spelling ------------------------------------------------------------ */

/* Damerau-Levenshtein (optimal string alignment) distance, capped: returns
 * cap + 1 as soon as the distance must exceed cap. */
int fd_nlu_osa_distance(const char *a, size_t na, const char *b, size_t nb, int cap);

#endif
