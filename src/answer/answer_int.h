/* answer/answer_int.h: private pieces of the answer module, shared by its
 * files and tests: sentence splitting, term bags and overlap, factual claims
 * (numbers, prices, times, durations, dates, codes) and conversational
 * phrases. Everything lives in the caller's arena. */
#ifndef FD_ANSWER_INT_H
#define FD_ANSWER_INT_H

#include "answer.h"

#include <string.h>

/* ---- sentences.c --------------------------------------------------------- */

typedef enum ans_kind {
    ANS_TEXT = 0, /* prose sentence */
    ANS_HEADING,  /* Markdown "# ..." line: context, never an answer */
    ANS_ITEM,     /* "- ..." / "1. ..." list item (or a sentence inside one) */
    ANS_ROW,      /* Markdown table body row */
} ans_kind;

typedef struct ans_sent {
    uint32_t off, len;         /* the sentence in the input, trimmed, marker included */
    uint32_t body;             /* bytes skipped at the start: "- ", "1. ", "| " */
    uint32_t hdr_off, hdr_len; /* ANS_ROW: the table's header row; else 0 */
    uint16_t block;            /* paragraph / list / table number, from 0 */
    uint8_t kind;
    uint8_t level; /* ANS_HEADING: number of '#' */
} ans_sent;

/* Splits text into sentences: blank lines, headings, list items and table
 * rows end a unit; inside one, ". ", "! ", "? " end a sentence unless the
 * word before is an abbreviation ("e.g.", "Pte.", "approx.") or what
 * follows is lower case. "[n]" markers after the full stop stay with the
 * sentence they follow. Table separator rows and front matter are dropped. */
int ans_split(fd_str text, fd_arena *a, ans_sent **out, size_t *n, fd_err *err) FD_MUST_USE;

/* The sentence as plain text: list markers dropped, table rows spelled
 * "cell: header cell, header cell", catalogue fields with a label and the
 * column's unit ("price_gbp: 3.00" -> "Price (GBP): 3.00"). Points into text
 * when nothing changes. */
int ans_sent_text(fd_str text, const ans_sent *s, fd_arena *a, fd_str *out,
                  fd_err *err) FD_MUST_USE;

/* ---- support.c ----------------------------------------------------------- */

/* Distinct index terms of a text, sorted, for membership tests. */
typedef struct ans_bag {
    fd_str *v;
    size_t n;
} ans_bag;

int ans_bag_make(fd_analyzer *an, fd_str text, fd_lang lang, fd_arena *a, ans_bag *out,
                 fd_err *err) FD_MUST_USE;
/* Union of two bags (new bag in the arena). */
int ans_bag_union(const ans_bag *x, const ans_bag *y, fd_arena *a, ans_bag *out,
                  fd_err *err) FD_MUST_USE;
int ans_bag_has(const ans_bag *b, fd_str term);
/* ans_bag_has, or a stem of the same word ("deliv" ~ "deliveri"). */
int ans_bag_has_like(const ans_bag *b, fd_str term);

/* 1 when a term carries no topic: question words, politeness, "price",
 * "get", chat fillers. Such terms neither earn support nor cost it. */
int ans_term_generic(fd_str term);
/* 1 when a term belongs to conversational phrasing ("help", "reply",
 * "person", "anything"): such sentences are not claims. */
int ans_term_chatty(fd_str term);

/* Weighted share of sentence's terms found in src (0..1); terms for which
 * skip() is true are ignored; *n_counted (may be NULL) is how many were not.
 * Numbers are left to the claim checks and skipped here. */
double ans_overlap(const ans_bag *sent, const ans_bag *src, int (*skip)(fd_str), size_t *n_counted);
/* ans_overlap's side that depends on the sentence alone (its counted terms
 * and their weights), made once when one sentence is compared with many:
 * ans_overlap_with(q, src) == ans_overlap(sent, src, skip, NULL), and q.n
 * is its n_counted. */
typedef struct ans_overlap_q {
    const fd_str *t;
    const double *w;
    size_t n;
    double total;
} ans_overlap_q;
int ans_overlap_prepare(const ans_bag *sent, int (*skip)(fd_str), fd_arena *a,
                        ans_overlap_q *out) FD_MUST_USE;
double ans_overlap_with(const ans_overlap_q *q, const ans_bag *src);

/* Polarity of a folded sentence: 1 if it carries a negation ("not", "no",
 * "never", "cannot", "n't", "ne ... pas", "sans"), else 0. */
int ans_negated(fd_str folded);

/* Case-insensitive (folded) substring search: 1 when needle occurs in
 * hay on word boundaries. Both are folded here. */
int ans_folded_contains(fd_str hay, fd_str needle, fd_arena *a);
/* The same on text both already folded (fd_text_fold): a caller matching
 * many phrases against one text folds it once. */
int ans_folded_has(fd_str folded_hay, fd_str folded_needle);

/* ---- facts.c ------------------------------------------------------------- */

typedef enum ans_claim_kind {
    CLAIM_NUMBER = 0, /* a bare number */
    CLAIM_MONEY,      /* S$18, $18, 18 dollars, 18 S$, 12.50 SGD */
    CLAIM_PERCENT,    /* 15%, 15 per cent, 15 pour cent */
    CLAIM_TIME,       /* 9:00 am, 9am, 15 h 00, 15:00, noon: minutes after midnight */
    CLAIM_DURATION,   /* 7 days, seven days, 2 working days, 48 hours, 7-day */
    CLAIM_DATE,       /* 1 January, 12 mars: month * 100 + day */
    CLAIM_CODE,       /* PB-1201, HP-240517: letters and digits, compared folded */
    CLAIM_WEEKDAY,    /* Tuesday, mardi: 1 (Monday) .. 7 */
} ans_claim_kind;

typedef enum ans_unit {
    UNIT_NONE = 0,
    UNIT_MINUTE,
    UNIT_HOUR,
    UNIT_WORKHOUR,
    UNIT_DAY,
    UNIT_WORKDAY,
    UNIT_WEEK,
    UNIT_MONTH,
    UNIT_YEAR,
} ans_unit;

typedef struct ans_claim {
    ans_claim_kind kind;
    ans_unit unit; /* CLAIM_DURATION */
    double value;  /* money in dollars, time in minutes, ... */
    fd_str code;   /* CLAIM_CODE: folded, no hyphens */
    uint32_t off, len;
} ans_claim;

typedef struct ans_claims {
    ans_claim *v;
    size_t n;
} ans_claims;

/* Finds the claims in valid UTF-8 text (English and French spellings). */
int ans_claims_scan(fd_str text, fd_arena *a, ans_claims *out, fd_err *err) FD_MUST_USE;
/* 1 when some claim in src states the same fact as c: same kind and value
 * (money, percent and bare numbers compare by value; a duration in days is
 * supported by the same count of working days, not the reverse). */
int ans_claim_supported(const ans_claim *c, const ans_claims *src);

/* ---- memo.c ---------------------------------------------------------------- */

/* The memo's generation a call works with (memo.c). */
typedef struct ans_memo ans_memo;
/* At the entry of fd_answer_extract and fd_answer_validate, never inside:
 * the generation this call uses, a new one when the current is past its
 * bounds; held until ans_memo_end, so results handed out during the call
 * stay valid until it returns. NULL for m NULL (no memo). */
ans_memo *ans_memo_begin(fd_answer_memo *m);
void ans_memo_end(fd_answer_memo *m, ans_memo *g);
/* ans_bag_make, ans_claims_scan and ans_split through the memo (g NULL:
 * the plain calls). A result from the memo is shared: read it, never
 * change it. */
int ans_memo_bag(ans_memo *g, fd_analyzer *an, fd_str text, fd_lang lang, fd_arena *a, ans_bag *out,
                 fd_err *err) FD_MUST_USE;
int ans_memo_claims(ans_memo *g, fd_str text, fd_arena *a, ans_claims *out,
                    fd_err *err) FD_MUST_USE;
int ans_memo_split(ans_memo *g, fd_str text, fd_arena *a, ans_sent **out, size_t *n,
                   fd_err *err) FD_MUST_USE;
/* ans_negated of the folded text. */
int ans_memo_negated(ans_memo *g, fd_str text, fd_arena *a, int *neg, fd_err *err) FD_MUST_USE;

/* ---- question.c ---------------------------------------------------------- */

/* The words our documents use for a customer's word (index terms, at most
 * max into alt): "faulti" gives "defect". Returns how many. */
size_t ans_synonyms(fd_str term, fd_str *alt, size_t max);

#define WANT_WHEN (1 << CLAIM_TIME | 1 << CLAIM_DURATION | 1 << CLAIM_DATE | 1 << CLAIM_WEEKDAY)
#define WANT_MONEY (1 << CLAIM_MONEY | 1 << CLAIM_PERCENT)
/* Asked for a person or a name: only a sentence naming one answers. */
#define WANT_NAME (1 << 16)

/* What kind of answer the folded question asks for: WANT_WHEN ("how
 * long", "when"), WANT_MONEY ("how much", "cost"), WANT_NAME ("who"),
 * or'ed; 0 when it gives no cue. */
int ans_answer_cue(fd_str folded);
int ans_asks_offer(fd_str folded);
/* A superlative in the folded question: 1 asks for the largest of
 * something ("biggest", "longest"), -1 for the smallest, 0 neither. */
int ans_superlative(fd_str folded);

/* ---- xref.c -------------------------------------------------------------- */

/* The page names a sentence refers to ("see Account management", "voir
 * Livraison"): the capitalised words after the cue, up to the end of the
 * clause. Up to max spans into sent; returns how many. */
size_t ans_xref_spans(fd_str sent, fd_str *out, size_t max);
/* How well a reference's terms name a page's title terms: 0 unless one
 * holds all the other's, else the share of the larger they have in
 * common (1: the same words). */
double ans_xref_names(const ans_bag *ref, const ans_bag *title);

/* ---- extract.c / validate.c helpers -------------------------------------- */

/* Language of a passage: its text's guess, else the doc key's "/fr/". */
fd_lang ans_passage_lang(const fd_passage *p);
/* FD_ETOOBIG when the arena hit its cap, else FD_ENOMEM. */
int ans_oom(fd_arena *a, fd_err *err);

#endif
