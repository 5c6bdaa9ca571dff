/* answer/answer.h: answers built from retrieved passages, and the checks
 * every answer passes before it leaves.
 *
 * - fd_answer_extract: the no-LLM composer. Splits the top passages into
 *   sentences, scores each against the question (stemmed term overlap
 *   weighted by rarity, entity and number matches, passage rank), picks the
 *   best one to three sentences (adjacent context kept when a sentence
 *   leans on the previous one), cites their passages, and declines —
 *   answered = 0, an honest "I don't know, shall I pass you to a person?"
 *   in the customer's language — when no passage supports the question
 *   (too few of the question's key terms covered). Never writes a fact of
 *   its own: every sentence comes verbatim from a passage. Passages with
 *   score <= 0 are context, not hits: the rest of a retrieved document
 *   (its other chunks), so the answer can come from the best part of the
 *   best page; they never make a document win on retrieval.
 * - fd_answer_validate: the gate for any answer (LLM or extractive). Each
 *   sentence must be supported by a cited (or, failing markers, some)
 *   passage; every number, price, date and duration must appear in the
 *   passages or the customer's own words; no banned promise unless a cited
 *   passage says it; conversational phrases ("happy to help", "you can
 *   reply here to reach a person") are not claims and pass.
 * - fd_pii_redact: emails, phone and card numbers not in the sources.
 *
 * Threads: pure functions; an fd_analyzer per thread.
 * Memory:  everything in the caller's arena.
 * Errors:  FD_ENOMEM / FD_ETOOBIG (arena), FD_EUTF8, FD_EINVAL. */
#ifndef FD_ANSWER_H
#define FD_ANSWER_H

#include "core.h"
#include "text.h"

/* A retrieved passage (the shape of kb.h's fd_result, without kb). */
typedef struct fd_passage {
    const char *doc_key, *title, *section, *text;
    float score;
    int lang; /* fd_lang when known (the index decided it at ingest); 0: guessed from text */
} fd_passage;

typedef struct fd_citation {
    int passage; /* index into the passages given */
    const char *doc_key, *title, *section;
} fd_citation;

typedef struct fd_answer {
    const char *text; /* plain text, no citation markers */
    int answered;     /* 0: declined for lack of support */
    fd_citation *cites;
    size_t n_cites;
    double support; /* 0..1: how well the best evidence covers the question */
    /* The decision, for traces: "answered", or why not ("no_document",
     * "low_support", "focus_missing", "no_sentence", "no_name"). Static. */
    const char *decision;
    const char *focus;   /* focus_missing: the question word the document lacks */
    const char *doc_key; /* the document chosen, answered or not; NULL if none */
    /* Rows of the largest table said whole (a short table reads as one;
     * see TABLE_ROWS in extract.c), 0 if none: evaluation flags answers
     * that are right only because they quote a whole table. */
    size_t table_rows;
    /* What kind of fact the question asks for (a price, a time, a name,
     * the largest of something), as opaque bits, set when answered: equal
     * bits, the same kind of question. The answer cache keyed by the
     * evidence keys by it too (dialog/cached.c): "how much" and "how long"
     * may quote the same sentence and still want different answers. */
    unsigned asks;
} fd_answer;

/* The evidence for one candidate document, as the composer weighed it
 * (see extract.c, choose_doc): a decision trace for `ask --trace`, and the
 * rows `eval answers --dump-features` writes to train the weights on. */
enum {
    FD_AF_RET,     /* retrieval: its chunks' scores relative to the best, rank-decayed */
    FD_AF_TITLE,   /* share of the question's weight its title covers (0 for a record) */
    FD_AF_HEAD,    /* the same for its best section heading, squared (0 for a record) */
    FD_AF_PART,    /* the best single chunk's coverage */
    FD_AF_COV,     /* the whole document's coverage ("support") */
    FD_AF_RECORD,  /* 1: a catalogue row (no section) */
    FD_AF_FIRST,   /* 1 / (1 + rank of its first retrieved chunk) */
    FD_AF_FOCUS,   /* 1: a rare question word it never mentions */
    FD_AF_SHARE,   /* its retrieval score over all candidates' */
    FD_AF_UNKNOWN, /* share of the question's weight on words the KB never uses */
    FD_AF_FACT,    /* 1: it states the kind of fact asked for (price, time...); 0.5: none asked */
    FD_AF__N
};
extern const char *const fd_answer_feature_names[FD_AF__N];
typedef struct fd_answer_cand {
    const char *doc_key;
    double f[FD_AF__N];
    double score; /* the weighted sum it was ranked by */
} fd_answer_cand;
/* The evidence for one sentence of the chosen document, as the picker
 * weighed it (see extract.c, sent_features): the rows `eval answers
 * --dump-sentences` writes to train the picker's weights on. */
enum {
    FD_SF_COV,     /* share of the question's weight the sentence covers */
    FD_SF_CTX,     /* the same for its page title and section path */
    FD_SF_SEC,     /* the same for its own section heading */
    FD_SF_SECLEAD, /* FD_SF_SEC when it is its section's first sentence, else 0 */
    FD_SF_FACT,    /* 1: it states a fact (price, time, duration...) */
    FD_SF_FOCUS,   /* 1: it holds the question's rarest word */
    FD_SF_CUE,     /* 1: it (or the list it announces) states the kind of fact asked for */
    FD_SF_EXTREME, /* 1: the row at the end of its table a superlative asks for */
    FD_SF_RANK,    /* 1 / (1 + retrieval rank of its passage) */
    FD_SF_MISS,    /* 1: a kind of fact is asked for and it states none of that kind */
    FD_SF_ITEM,    /* 1: a list item or a table row */
    FD_SF_LEN,     /* its length in bytes over 200, at most 1 */
    FD_SF_LEADIN,  /* 1: it ends with ':' and announces a list */
    FD_SF_AFTERQ,  /* 1: the sentence before it is a question (an FAQ's answer) */
    FD_SF_LEAD,    /* 1: its section's first sentence */
    FD_SF__N
};
extern const char *const fd_answer_sent_feature_names[FD_SF__N];
typedef struct fd_answer_sent {
    const char *text; /* in the arena */
    double f[FD_SF__N];
    double score;
} fd_answer_sent;
typedef struct fd_answer_trace {
    fd_answer_cand *v; /* in the arena, one per candidate document */
    size_t n;
    int chosen;        /* index into v, -1 if none */
    double confidence; /* the answerability model's probability for the chosen one */
    fd_answer_sent *s; /* the chosen document's sentences the picker scored */
    size_t n_s;
} fd_answer_trace;

/* What the composer and the validator make of passages' texts (their
 * sentences, terms and facts), kept between messages: the same passages
 * come back message after message, and analyzing them again was half of a
 * turn's CPU. Keyed by the texts themselves, so never stale. One may serve
 * every thread at once (calls with it from many threads are safe; free it
 * once none runs); `bytes` bounds it (past it, the next call that uses it
 * starts a new generation, and the old one goes once no call holds it).
 * Nothing from it ever reaches a caller: answers and verdicts are in the
 * caller's arena. */
typedef struct fd_answer_memo fd_answer_memo;
int fd_answer_memo_new(size_t bytes, fd_answer_memo **out, fd_err *err) FD_MUST_USE;
void fd_answer_memo_free(fd_answer_memo *m);
typedef struct fd_answer_memo_counts {
    uint64_t hits, misses; /* lookups found, and made (and kept) */
    uint64_t generations;  /* started, the first included */
} fd_answer_memo_counts;
void fd_answer_memo_stats(const fd_answer_memo *m, fd_answer_memo_counts *out);

typedef struct fd_answer_opts {
    fd_lang lang;       /* language of the reply */
    double min_support; /* the chosen document's coverage below this: decline (0: 0.3) */
    /* The answerability gate's probability below this: decline (0: the
     * default below, tuned on the development KBs; see extract.c). */
    double min_confidence;
    size_t max_sentences; /* 0: 3 */
    /* Corpus statistics (optional): in how many of the knowledge base's
     * n_corpus chunks an analyzed term occurs. With them a question word
     * weighs by its rarity in the whole knowledge base (a word it never
     * uses, "hiring", weighs the most and is never covered); without them,
     * by its rarity among the passages given. */
    uint32_t (*corpus_df)(void *ctx, fd_str term);
    void *corpus_ctx;
    uint32_t n_corpus;
    fd_answer_trace *trace; /* NULL, or filled with every candidate's evidence */
    /* Evaluation only: answer from the retrieved document whose key ends
     * with this, skipping the ranking and the answerability decision (the
     * sentence picker measured alone); not retrieved: "no_document". */
    const char *oracle_doc;
    fd_answer_memo *memo; /* NULL: every passage analyzed anew */
} fd_answer_opts;

/* At 0.55, leave-one-KB-out on the development KBs, 87% of unanswerable
 * questions are declined (the target is 85%); 0.5 answers 15 more of 203
 * answerable ones right, 4 more wrong and declines 56 of 68 unanswerable. */
#define FD_ANSWER_MIN_CONFIDENCE 0.55
/* A floor under the model: a document covering less than this share of the
 * question's weight is not answered from, whatever its margin (the model is
 * linear and its training data held few such cases). Leave-one-KB-out on the
 * development KBs at 0.55: 0.3 gives 1 fewer right, 3 fewer wrong answers
 * and 2 more unanswerable questions declined than no floor. */
#define FD_ANSWER_MIN_SUPPORT 0.3

int fd_answer_extract(fd_analyzer *an, fd_str question, const fd_passage *p, size_t n,
                      const fd_answer_opts *opts, fd_arena *a, fd_answer *out,
                      fd_err *err) FD_MUST_USE;

/* The question for retrieval: its text plus, for customer words the
 * documents put differently ("moq", "amex", "faulty"), the documents' word
 * (as an index term), so the passages that use it can be found at all.
 * *out is question itself when nothing is added. */
int fd_answer_expand_query(fd_analyzer *an, fd_str question, fd_lang lang, fd_arena *a, fd_str *out,
                           fd_err *err) FD_MUST_USE;

/* Customer spelling brought to the knowledge base's (normalize.c): chat
 * spellings expanded ("u" -> "you", "jai" -> "j'ai"), and a word of at
 * least 5 letters the KB never uses replaced by its most used spelling at
 * one edit ("saturdys" -> "saturdays"). *out is q itself when nothing
 * changed, else lives in a; *n_fixed (may be NULL) counts changed words. */
typedef struct fd_norm_ctx {
    fd_analyzer *an;
    fd_lang lang;
    uint32_t (*df)(void *ctx, fd_str term); /* NULL: chat spellings only */
    void *ctx;
    /* Real words per language (index fd_lang), never corrected; all NULL:
     * no corrections. */
    fd_wordlist *const *words;
    const fd_thesaurus *thesaurus; /* synonyms for real words the KB lacks; may be NULL */
} fd_norm_ctx;
int fd_answer_normalize_query(const fd_norm_ctx *nc, fd_str q, fd_arena *a, fd_str *out,
                              size_t *n_fixed, fd_err *err) FD_MUST_USE;

/* The decline text in a language ("en"/"fr" via fd_lang; static). */
const char *fd_answer_decline_text(fd_lang lang);

/* ---- validation ---------------------------------------------------------- */

typedef enum fd_val_reason {
    FD_VAL_OK = 0,
    FD_VAL_UNSUPPORTED,  /* a sentence no passage supports */
    FD_VAL_NUMBER,       /* a number/price/date/duration not in the sources */
    FD_VAL_BANNED,       /* a banned promise */
    FD_VAL_BAD_CITATION, /* [n] naming no passage */
    FD_VAL_EMPTY,
    FD__NVAL
} fd_val_reason;
const char *fd_val_reason_name(fd_val_reason r); /* "ok", "unsupported", "number", ... */

typedef struct fd_validate_opts {
    const char *const *banned; /* banned promise phrases (folded match) */
    size_t n_banned;
    fd_str context; /* the customer's words: numbers they said may be repeated */
    fd_lang lang;
    double min_sentence_support; /* 0: built-in */
    /* The text quotes the passages word for word (the extractive composer):
     * a "[14]" in it is the document's own footnote, not a citation marker. */
    int verbatim;
    fd_answer_memo *memo; /* NULL: every passage analyzed anew */
} fd_validate_opts;

typedef struct fd_validation {
    int ok;
    fd_val_reason reason; /* first failure */
    const char *detail;   /* the offending sentence / number / phrase (arena) */
    size_t n_sentences, n_supported, n_claims;
    fd_answer answer; /* the text without [n] markers, PII redacted, and
                         the passages it cites (from markers, else from
                         the passages that support its sentences) */
} fd_validation;

/* Checks text (which may carry [n] markers, 1-based into p) against the
 * passages. Never fails on odd text: failures are verdicts. */
int fd_answer_validate(fd_analyzer *an, fd_str text, const fd_passage *p, size_t n,
                       const fd_validate_opts *opts, fd_arena *a, fd_validation *out,
                       fd_err *err) FD_MUST_USE;

/* Replaces emails, phone numbers and card-like digit runs that do not occur
 * in keep (the sources; may be empty) with "[redacted]". *n_redacted may be
 * NULL. */
int fd_pii_redact(fd_str text, fd_str keep, fd_arena *a, fd_str *out, size_t *n_redacted,
                  fd_err *err) FD_MUST_USE;

#endif
