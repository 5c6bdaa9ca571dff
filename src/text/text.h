/* text/text.h: UTF-8 validation, normalization, tokenizing, stemming,
 * stopwords and language guessing for English and French.
 *
 * Threads: the free functions are thread-safe. An fd_analyzer holds Snowball
 *          stemmers, which are not: use one analyzer per thread.
 * Memory:  results live in the caller's arena.
 * Errors:  FD_EUTF8 (invalid input, with the byte offset in the message),
 *          FD_ENOMEM / FD_ETOOBIG (arena), FD_EINVAL. */
#ifndef FD_TEXT_H
#define FD_TEXT_H

#include "core.h"

typedef enum fd_lang { FD_LANG_UNKNOWN = 0, FD_LANG_EN, FD_LANG_FR, FD__NLANGS } fd_lang;

const char *fd_lang_code(fd_lang lang); /* "en", "fr", "" */
fd_lang fd_lang_parse(const char *code); /* "en"/"english" -> FD_LANG_EN; else UNKNOWN */

/* Returns 1 when p[0..len) is well-formed UTF-8 (no overlongs, no
 * surrogates, nothing above U+10FFFF); else 0 and *bad_at (may be NULL) is
 * the byte offset of the first bad sequence. NUL bytes count as invalid. */
int fd_utf8_valid(const char *p, size_t len, size_t *bad_at);

/* NFKC, case folding and accent stripping ("Crème" -> "creme"), for
 * matching. Output is valid UTF-8 in the arena. FD_EUTF8 on bad input. */
int fd_text_fold(fd_str in, fd_arena *a, fd_str *out, fd_err *err) FD_MUST_USE;
/* 1 when folded text holds w as whole words ("cancel" in "pls cancel it",
 * not in "cancellation"); w may span words ("go ahead"). ASCII boundaries. */
int fd_text_has_word(fd_str folded, const char *w);

/* A set of the words of a language, from plain word lists (one word a
 * line; Debian's /usr/share/dict). Lookups fold case and Latin accents.
 * Threads: load on one thread; fd_wordlist_has from any afterwards. */
typedef struct fd_wordlist fd_wordlist;
int fd_wordlist_new(fd_wordlist **out, fd_err *err) FD_MUST_USE;
/* Adds every word of the file; FD_ENOTFOUND if it cannot be opened. */
int fd_wordlist_load(fd_wordlist *wl, const char *path, fd_err *err) FD_MUST_USE;
int fd_wordlist_has(const fd_wordlist *wl, const char *w, size_t n); /* NULL wl: 0 */
size_t fd_wordlist_size(const fd_wordlist *wl);
void fd_wordlist_free(fd_wordlist *wl); /* NULL is fine */

/* Synonyms from the packaged thesauri, read in place (mmap): WordNet 3.0
 * for English (wordnet_dir: /usr/share/wordnet), mythes for French
 * (mythes_fr: the path without .idx/.dat). A missing file leaves that
 * language without synonyms; never an error. */
typedef struct fd_thesaurus fd_thesaurus;
int fd_thesaurus_open(const char *wordnet_dir, const char *mythes_fr, fd_thesaurus **out,
                      fd_err *err) FD_MUST_USE;
int fd_thesaurus_has(const fd_thesaurus *th, fd_lang lang);
/* Calls cb with each synonym of the lowercase word w (multiword ones with
 * spaces) from its first max_senses senses, most common first, until cb
 * returns nonzero. */
void fd_thesaurus_each(const fd_thesaurus *th, fd_lang lang, const char *w, size_t n,
                       int max_senses, int (*cb)(void *ctx, const char *syn, size_t len),
                       void *ctx);
void fd_thesaurus_free(fd_thesaurus *th); /* NULL is fine */

typedef enum fd_tok_kind {
    FD_TOK_WORD,    /* letters (and inner apostrophes/hyphens: "l'emballage", "take-away") */
    FD_TOK_NUMBER,  /* 12, 1.20, 1,000 */
    FD_TOK_MEASURE, /* number with unit: 12-inch, 12", 500ml, 16oz, 3kg */
    FD_TOK_MONEY,   /* S$1.20, $5, 12.50 SGD, 10€ */
    FD_TOK_RANGE,   /* 3-5 (as in "3-5 days") */
    FD_TOK_CODE,    /* letters and digits mixed: PB-1203, A4, INV-2024-001 */
    FD_TOK_EMAIL,   /* a@b.com */
} fd_tok_kind;

typedef struct fd_token {
    fd_str norm;    /* folded form, in the arena ("12inch", "pb-1203", "s$1.20") */
    uint32_t off;   /* byte offset of the token in the input */
    uint32_t len;   /* byte length in the input */
    fd_tok_kind kind;
} fd_token;

typedef struct fd_tokens {
    fd_token *v;
    size_t n;
} fd_tokens;

/* Splits text into tokens (punctuation and spaces dropped), keeping the
 * things customers type whole (see fd_tok_kind). FD_EUTF8 on bad input.
 * French elisions give the word alone ("l'emballage" -> "emballage", its
 * off/len cover "emballage"); other apostrophes stay ("don't"). Norms put
 * the currency first ("10 €" -> "€10") and spell units one way ("12"",
 * "12in" -> "12inch"); "1,000" -> "1000", "1,20" -> "1.20". */
int fd_text_tokenize(fd_str in, fd_arena *a, fd_tokens *out, fd_err *err) FD_MUST_USE;

/* 0 for FD_LANG_UNKNOWN (the analyzer uses English's list for it). */
int fd_text_is_stopword(fd_lang lang, fd_str folded_word);

/* Best guess among en/fr from stopword and character evidence; UNKNOWN
 * when the text has too little evidence (e.g. "PB-1203"). */
fd_lang fd_text_guess_lang(fd_str text);

/* 1 when phrase occurs in text on word boundaries ("sue" is not in
 * "issue"). Both are expected folded (fd_text_fold); bytes >= 0x80 count as
 * letters. */
int fd_text_has_phrase(fd_str text, const char *phrase);

/* ---- analyzer: text -> index terms ------------------------------------ */

typedef struct fd_analyzer fd_analyzer;

/* An index term and where it came from, for highlighting. */
typedef struct fd_term {
    fd_str term;  /* in the arena */
    uint32_t off; /* byte offset of the source token in the input */
    uint32_t len;
} fd_term;

typedef struct fd_terms {
    fd_term *v;
    size_t n;
} fd_terms;

int fd_analyzer_new(fd_analyzer **out, fd_err *err) FD_MUST_USE;
void fd_analyzer_free(fd_analyzer *an); /* NULL is fine */

/* Tokenize, drop stopwords of lang, stem words with lang's Snowball stemmer
 * (UNKNOWN: English stopwords and stemmer). A plain word or code gives one
 * term; compound tokens give the whole token plus its parts ("12-inch" ->
 * "12inch", "12", "inch"; "s$1.20" -> "s$1.20", "1.20"; "3-5" -> "3-5",
 * "3", "5"); hyphenated words and codes also give the joined form
 * ("PB-1203" -> "pb-1203", "pb1203", "pb", "1203"; "take-away" ->
 * "take-away", "takeaway", "take", "away") so every spelling matches.
 * Word parts are stemmed and dropped when stopwords. Terms are in token
 * order; each carries its token's off/len. Stems are cached per analyzer. */
int fd_analyzer_terms(fd_analyzer *an, fd_str text, fd_lang lang, fd_arena *a, fd_terms *out,
                      fd_err *err) FD_MUST_USE;

/* Stems one folded word (for tests and callers that built their own). */
int fd_analyzer_stem(fd_analyzer *an, fd_lang lang, fd_str word, fd_arena *a, fd_str *out,
                     fd_err *err) FD_MUST_USE;

#endif
