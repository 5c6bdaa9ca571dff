/* nlu/nlu_int.h: private to the nlu module and its tests: hashed text
 * features, the feature vocabulary, the intent model's layout, and the
 * helpers entities.c / dates.c share. */
#ifndef FD_NLU_INT_H
#define FD_NLU_INT_H

#include "nlu.h"

#include <string.h>

/* ---- features (features.c) ---------------------------------------------- */

/* Feature settings; saved in the model so a model always featurizes text
 * the way it was trained. */
typedef struct fd_nlu_fcfg {
    uint8_t word_n;  /* word n-grams 1..word_n (1 or 2) */
    uint8_t char_lo; /* char n-grams char_lo..char_hi inside " word " */
    uint8_t char_hi; /* 0: no char n-grams */
    uint8_t min_df;  /* features in fewer training texts are dropped */
    float char_w;    /* share of the squared norm given to char n-grams */
} fd_nlu_fcfg;

void fd_nlu_fcfg_default(fd_nlu_fcfg *c);

/* One distinct feature of one text: its 64-bit hash and raw count. grp is
 * 0 for word n-grams, 1 for char n-grams (each group is L2-normalized on
 * its own so long texts do not drown the word features in char grams). */
typedef struct fd_nlu_raw {
    uint64_t h;
    float tf;
    uint32_t grp;
} fd_nlu_raw;

/* Distinct features of text, sorted by hash, in the arena. FD_EUTF8 on bad
 * input; an empty text gives n = 0. */
int fd_nlu_featurize(const fd_nlu_fcfg *cfg, fd_str text, fd_arena *a, fd_nlu_raw **out, size_t *n,
                     fd_err *err);

/* Feature hash -> dense id, open addressing (ids are 0..n-1). */
typedef struct fd_nlu_vocab {
    uint64_t *keys;  /* [n]: hash of feature id */
    uint32_t *slots; /* [cap]: id + 1, 0 empty; cap a power of two */
    size_t n, cap, keys_cap;
} fd_nlu_vocab;

/* id or -1. */
long fd_nlu_vocab_find(const fd_nlu_vocab *v, uint64_t h);
/* Finds or inserts; *id set; *added 1 when new. FD_ENOMEM. */
int fd_nlu_vocab_add(fd_nlu_vocab *v, uint64_t h, uint32_t *id, int *added);
void fd_nlu_vocab_free(fd_nlu_vocab *v);

/* Weights raw features into idx/val (room for n_raw + 1): known features
 * only, (1 + log tf) * idf, each group L2-normalized and scaled by its
 * share, then the bias feature (id bias_id, value 1). Returns the count. */
size_t fd_nlu_vectorize(const fd_nlu_vocab *v, const float *idf, const fd_nlu_fcfg *cfg,
                        uint32_t bias_id, const fd_nlu_raw *raw, size_t n_raw, uint32_t *idx,
                        float *val);

/* ---- intent model (intent.c, intent_io.c) ------------------------------- */

struct fd_intent_model {
    fd_nlu_fcfg cfg;
    size_t n_labels;
    char **labels;      /* [n_labels], fd_malloc'd strings */
    uint8_t *is_oos;    /* [n_labels]: an out-of-scope label */
    fd_nlu_vocab vocab; /* n features; the bias is id vocab.n */
    float *idf;         /* [vocab.n] */
    float *w;           /* [(vocab.n + 1) * n_labels], feature-major: one row per feature */
    double temp;        /* softmax temperature fitted on held-out scores, > 0 */
    double threshold;   /* out-of-scope threshold on the top probability */
};

/* An empty model with n_labels labels (names still NULL); FD_ENOMEM. */
int fd_nlu_model_alloc(size_t n_labels, fd_intent_model **out);

/* Probabilities of every label for text into p[n_labels] (caller's array);
 * the building block of classify and of threshold/temperature fitting. */
int fd_nlu_intent_scores(const fd_intent_model *m, fd_str text, fd_arena *a, double *scores,
                         fd_err *err);
/* softmax(scores / temp) in place. */
void fd_nlu_softmax(double *s, size_t n, double temp);

/* 1 when label is one of opts' out-of-scope labels (or the defaults). */
int fd_nlu_is_oos_label(const fd_intent_train_opts *opts, const char *label);

/* ---- entities helpers (entities.c, dates.c, gazetteer.c) ---------------- */

/* Growable entity list in the arena. */
typedef struct fd_nlu_ents {
    fd_arena *a;
    fd_entity *v;
    size_t n, cap;
} fd_nlu_ents;

int fd_nlu_ents_push(fd_nlu_ents *e, fd_entity_kind kind, const char *norm, double value,
                     size_t off, size_t len);

/* Local calendar date of ctx (now + tz offset). */
typedef struct fd_nlu_day {
    int y, m, d; /* civil date */
    int wday;    /* 0 = Monday .. 6 = Sunday */
} fd_nlu_day;

void fd_nlu_today(const fd_nlu_ctx *ctx, fd_nlu_day *out);
/* The date n days after *d. */
void fd_nlu_day_add(const fd_nlu_day *d, int n, fd_nlu_day *out);

/* Dates and times in the tokens not yet used by another entity; marks the
 * tokens it takes and appends to e. FD_ENOMEM only. */
int fd_nlu_dates(fd_str text, const fd_tokens *toks, uint8_t *used, const fd_nlu_ctx *ctx,
                 fd_nlu_ents *e);

/* Leading decimal number of s ("12.5x10cm" -> 12.5); token norms are not
 * NUL-terminated, so no strtod. *n (may be NULL) is the bytes used. */
double fd_nlu_num(const char *p, size_t len, size_t *n);

/* Number words ("two", "deux", "twenty", "hundred", "cents"): value or -1. */
int fd_nlu_number_word(fd_str w);

/* Outlet names in toks; appends to e. */
int fd_nlu_gazetteer_match(const fd_gazetteer *g, const fd_tokens *toks, fd_nlu_ents *e);


#endif
