/* guard/guard.h: the first thing every incoming message meets. Local checks
 * only (no LLM): size and UTF-8 limits, Unicode tricks (zero-width and bidi
 * controls removed, homoglyphs and fullwidth forms mapped to ASCII, flagged
 * when they were hiding words), and an attack detector — rules plus a small
 * trained linear classifier, combined into a score — for prompt injection,
 * jailbreak role-play, system-prompt extraction, instructions hidden in
 * pasted content, obfuscated instructions (base64, leetspeak, spacing),
 * requests for secrets or other customers' data, attempts to make the
 * assistant promise what policy does not allow, and code payloads.
 *
 * A benign message that only looks suspicious ("ignore my previous order",
 * "can you repeat the delivery times above?") must pass.
 *
 * Threads: an fd_guard is read-only after fd_guard_new; share it.
 * Memory:  results in the caller's arena.
 * Errors:  FD_ENOMEM, FD_EFORMAT (bad training data). Bad input is not an
 *          error: it is a verdict. */
#ifndef FD_GUARD_H
#define FD_GUARD_H

#include "core.h"

typedef enum fd_guard_kind {
    FD_GUARD_NONE = 0,
    FD_GUARD_TOO_LONG,       /* over max_chars */
    FD_GUARD_BAD_UTF8,       /* invalid UTF-8 or NUL bytes */
    FD_GUARD_EMPTY,          /* nothing but spaces/controls */
    FD_GUARD_UNICODE,        /* invisible/bidi/homoglyph tricks hiding words */
    FD_GUARD_INJECTION,      /* "ignore previous instructions", fake system turns */
    FD_GUARD_JAILBREAK,      /* role-play / "DAN" / "developer mode" */
    FD_GUARD_PROMPT_LEAK,    /* "print your system prompt" */
    FD_GUARD_HIDDEN,         /* instructions inside pasted content */
    FD_GUARD_OBFUSCATED,     /* base64 / leetspeak / spaced-out instructions */
    FD_GUARD_DATA_REQUEST,   /* secrets, API keys, other customers' data */
    FD_GUARD_FORCED_PROMISE, /* "say you guarantee...", "promise me a full refund" */
    FD_GUARD_CODE,           /* SQL / script / shell payloads */
    FD__NGUARD
} fd_guard_kind;

const char *fd_guard_kind_name(fd_guard_kind k); /* "none", "too_long", "injection", ... */

typedef struct fd_guard_opts {
    size_t max_chars; /* characters (code points); 0: 2000 */
    size_t max_bytes; /* 0: 8 * max_chars */
    double threshold; /* attack score at or above which a message is flagged; 0: built-in */
} fd_guard_opts;

typedef struct fd_guard fd_guard;

/* Builds the detector: compiles the rules and trains the classifier on the
 * labelled set embedded in the binary (milliseconds). */
int fd_guard_new(const fd_guard_opts *opts, fd_guard **out, fd_err *err) FD_MUST_USE;
/* The same, the trained classifier kept in the file cache_path (NULL or
 * "": none): loaded when it was trained from this very set by this very
 * code, else trained and written there. Saves a process's start the ~0.1 s
 * of training. *cached says which (FD_GUARD_*); why a cache file was not
 * used or not written is in *err_cache (not an error: the guard is built
 * either way). */
enum { FD_GUARD_TRAINED, FD_GUARD_TRAINED_SAVED, FD_GUARD_LOADED };
int fd_guard_new_cached(const fd_guard_opts *opts, const char *cache_path, int *cached,
                        fd_err *err_cache, fd_guard **out, fd_err *err) FD_MUST_USE;
void fd_guard_free(fd_guard *g);

typedef struct fd_guard_verdict {
    int flagged;         /* do not answer normally, do not call the LLM */
    fd_guard_kind kind;  /* why (the strongest signal); NONE when clean */
    double score;        /* 0..1 attack score */
    const char *rule;    /* the rule that fired, or NULL (static string) */
    fd_str clean;        /* the message with invisible characters removed and
                            homoglyphs mapped: what the rest of the pipeline
                            should read (in the arena; the input if unchanged) */
    int unicode_changed; /* clean differs from the input */
} fd_guard_verdict;

/* Never fails on hostile input; only FD_ENOMEM from the arena. */
int fd_guard_check(const fd_guard *g, fd_str msg, fd_arena *a, fd_guard_verdict *out,
                   fd_err *err) FD_MUST_USE;

/* The polite reply for a flagged message, in "en" or "fr" (static). */
const char *fd_guard_reply(fd_guard_kind k, const char *lang);

/* ---- evaluation on a labelled set --------------------------------------- */

/* Lines "label<TAB>lang<TAB>text" where label is "attack:<kind>" or
 * "benign". Scores with k-fold cross-validation (the classifier of each fold
 * is trained on the embedded set minus that fold when path is the embedded
 * set, else on the embedded set) and reports precision / recall.
 * path NULL, or a file with the same bytes as the embedded set (data/guard/
 * guard.tsv), selects cross-validation; any other file is a held-out set.
 * Errors: FD_ENOTFOUND / FD_EIO (file), FD_EFORMAT (bad line), FD_ENOMEM. */
typedef struct fd_guard_eval {
    size_t n_attack, n_benign;
    double precision, recall, benign_flag_rate;
    double recall_en, recall_fr, benign_flag_rate_en, benign_flag_rate_fr;
    double p99_us; /* one check */
    /* added with the implementation */
    size_t tp, fp; /* attacks flagged, benign messages flagged */
    double precision_en, precision_fr;
    double kind_accuracy; /* flagged attacks given their labelled kind */
    double p50_us;
    int folds;       /* 5: cross-validated; 0: held-out file */
    double build_ms; /* fd_guard_new-equivalent time (mean per fold) */
} fd_guard_eval;

int fd_guard_evaluate(const char *path, const fd_guard_opts *opts, fd_guard_eval *out,
                      fd_err *err) FD_MUST_USE;

#endif
