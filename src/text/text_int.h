/* text/text_int.h: private helpers shared by the text module's files and its
 * tests: code point classes, the folding core, a small-string pool and the
 * token scanner the analyzer drives without building a token array. */
#ifndef FD_TEXT_INT_H
#define FD_TEXT_INT_H

#include "text.h"

#include <string.h>

/* Character classes the scanner cares about. Everything else separates. */
typedef enum fd_tx_cls {
    TX_OTHER = 0, /* punctuation, space, symbols: separate tokens */
    TX_ALPHA,     /* letters (any script), letter-like numbers (², Ⅻ) */
    TX_MARK,      /* combining mark: continues a token, never starts one */
    TX_DIGIT,     /* decimal digits (any script) */
    TX_IGN,       /* format chars (soft hyphen, ZWJ): joins inside a token */
    TX_APOS,      /* ' and ’ */
    TX_HYPHEN,    /* - and U+2010/U+2011 */
    TX_DASH,      /* en dash: ranges only ("3–5") */
    TX_DOT,       /* . */
    TX_COMMA,     /* , */
    TX_AT,        /* @ */
    TX_CUR,       /* $ € £ ¥ ₹ */
    TX_INCHQ,     /* " ” ″ after a number: inches */
    TX_PCT,       /* % */
    TX_SPACE,     /* ' ', NBSP, narrow NBSP: only matter before a currency */
} fd_tx_cls;

/* Class of the code point at byte i of valid UTF-8 s[0..len); *n is its
 * byte length (0 at the end, where the class is TX_OTHER). */
fd_tx_cls fd_tx_class(const unsigned char *s, size_t len, size_t i, unsigned *n);

/* Carves small strings out of arena blocks: fd_arena_alloc rounds every
 * request up to 16 bytes, and tokens average 6, so one call per token would
 * waste most of the cap. */
typedef struct fd_tx_pool {
    fd_arena *a;
    char *p;
    size_t left;
} fd_tx_pool;

/* NULL when the arena is out of memory or past its cap. */
char *fd_tx_pool_alloc(fd_tx_pool *pl, size_t n);
/* FD_ETOOBIG when the arena hit its cap, else FD_ENOMEM, message set. */
int fd_tx_arena_err(fd_arena *a, fd_err *err);

/* Scratch for one utf8proc pass; big inputs spill into the arena. */
typedef struct fd_tx_scratch {
    int32_t buf[256];
} fd_tx_scratch;

/* Folds valid UTF-8 (NFKC, case fold, marks stripped, punctuation lumped,
 * œ/æ spelled out). *out points into sc or the arena and is valid until sc
 * is used again. FD_ENOMEM/FD_ETOOBIG from the arena only; a NULL arena
 * gives FD_ETOOBIG when the folded text outgrows sc. */
int fd_tx_fold_utf8(const char *p, size_t n, fd_tx_scratch *sc, fd_arena *a, const char **out,
                    size_t *out_len);

/* ASCII lower case, branch-free; bytes outside A-Z pass through. */
static inline unsigned char fd_tx_lc(unsigned char c)
{
    return (unsigned char)(c + (((unsigned)c - 'A') < 26u ? 32 : 0));
}

/* Token scanner over validated input: fd_text_tokenize collects its
 * tokens, the analyzer consumes them one by one. */
typedef struct fd_tx_lexer {
    const unsigned char *s;
    size_t len;
    size_t pos;
    fd_arena *a;
    fd_tx_pool pool;
    fd_tx_scratch sc;
} fd_tx_lexer;

void fd_tx_lexer_init(fd_tx_lexer *lx, fd_str in, fd_arena *a);
/* Next token into *t: 1, or 0 at the end, or -code on arena failure (err
 * set). Norms are never empty. */
int fd_tx_lexer_next(fd_tx_lexer *lx, fd_token *t, fd_err *err);

/* Checks length and UTF-8 before scanning: FD_ETOOBIG past 4 GiB (token
 * offsets are 32-bit), FD_EUTF8 with the offset. */
int fd_tx_check_input(fd_str in, fd_err *err);
/* 1 when w occurs in text with no letter on either side: fd_text_has_word
 * (letters: isalnum) and fd_text_has_phrase (also every byte >= 0x80). */
int fd_tx_has_bounded(fd_str text, const char *w, int high_bytes_are_letters);

/* Stopword lookup on an already folded word, lang EN or FR. */
int fd_tx_stopword(fd_lang lang, const char *p, size_t n);

/* Greeting and shop words that hint at a language (not stopwords). */
int fd_tx_hint(fd_lang lang, const char *p, size_t n);

/* 1 for French elided prefixes (l d j m n s t c qu jusqu lorsqu puisqu
 * quoiqu), ASCII, any case. */
int fd_tx_is_elision(const unsigned char *p, size_t n);

#endif
