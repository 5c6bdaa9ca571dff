/* commerce_int.h: the catalog's private parts (catalog.c, match.c, rules.c). */
#ifndef FD_COMMERCE_INT_H
#define FD_COMMERCE_INT_H

#include "commerce.h"
#include "ingest.h"
#include "nlu.h"
#include "text.h"

#include <jansson.h>

/* A word as matching sees it: folded, a plural "s"/"es" dropped, a number
 * glued to its unit ("12 inch", "12-inch", "12in", 12" -> "12inch"). */
typedef struct cm_tokens {
    fd_str *v;
    size_t n;
} cm_tokens;

typedef struct cm_item {
    char **tok; /* distinct, fd_malloc'd */
    size_t n_tok;
    double total; /* sum of the tokens' weights */
} cm_item;

struct fd_catalog {
    fd_commerce_rules rules;
    fd_product *products;
    size_t n_products;
    cm_item *ptok; /* per product two: name, size, variant, category [2k]; description [2k+1] */
    cm_item *ntok; /* per product its name's words alone (not weighed: weights are ptok's) */
    fd_outlet *outlets;
    size_t n_outlets;
    cm_item *otok; /* per outlet two: its customer's name [2k], its site's [2k+1] */
    /* weights: log(1 + N / df) of each distinct token, sorted for bsearch */
    char **pw_tok, **ow_tok;
    double *pw, *ow;
    size_t n_pw, n_ow;
    /* [catalog.synonyms]: a customer's word -> the catalog's words
     * ("gobelet" -> "cup", "brown" -> "kraft"), as matching tokens */
    char **syn_from, **syn_to;
    size_t n_syn;
    char **strings; /* everything else the catalog owns */
    size_t n_strings, cap_strings;
};

/* Splits text into matching tokens in the arena. */
int cm_tokenize(fd_str text, fd_arena *a, cm_tokens *out, fd_err *err);
/* Builds an item's distinct tokens from text; returns FD_OK or FD_ENOMEM. */
int cm_item_make(fd_str text, fd_arena *a, cm_item *out, fd_err *err);
void cm_item_free(cm_item *it);
/* Weights of every token of items (n), into the sorted arrays. */
int cm_weigh(const cm_item *items, size_t n, char ***tok, double **w, size_t *n_w, fd_err *err);
double cm_weight(char *const *tok, const double *w, size_t n_w, const char *t);
/* 1 when a message token names an item token (same, or one edit apart in
 * words of five letters or more). */
int cm_token_eq(fd_str m, const char *t);

/* commerce.toml into r (defaults first); the column names in cols. */
enum {
    COL_CODE,
    COL_NAME,
    COL_CATEGORY,
    COL_SIZE,
    COL_VARIANT,
    COL_PACK,
    COL_PRICE,
    COL_STOCK,
    COL_DESC,
    N_COLS
};
int cm_rules_load(const char *toml, size_t len, fd_commerce_rules *r, char cols[N_COLS][64],
                  fd_err *err);
/* [catalog.synonyms] of commerce.toml into c (strings kept by c). */
int cm_synonyms_load(fd_catalog *c, const char *toml, size_t len, fd_arena *a, fd_err *err);
/* "14.50", "$1,234.5", "S$ 12", "22,50 €", "1 234,50" -> minor units; 0 on
 * success. */
int cm_parse_money(const char *s, int64_t *out);

#endif
