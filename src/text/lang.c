/* lang.c: language codes and an en/fr guess from evidence a short message
 * still carries: stopwords, French accents and elisions, English
 * contractions, a few greeting and shop words. No arena, no allocation. */
#include "text_int.h"

/* Only the start of a long text is read: evidence saturates quickly, and
 * guessing must stay cheap on a whole document. */
#define GUESS_MAX_BYTES 4096
#define WORD_MAX 32

const char *fd_lang_code(fd_lang lang)
{
    switch (lang) {
    case FD_LANG_EN:
        return "en";
    case FD_LANG_FR:
        return "fr";
    default:
        return "";
    }
}

fd_lang fd_lang_parse(const char *code)
{
    if (!code)
        return FD_LANG_UNKNOWN;
    if (!strcmp(code, "en") || !strcmp(code, "english"))
        return FD_LANG_EN;
    if (!strcmp(code, "fr") || !strcmp(code, "french") || !strcmp(code, "francais"))
        return FD_LANG_FR;
    return FD_LANG_UNKNOWN;
}

typedef struct score {
    int en, fr;
} score;

static int is_ascii_letter(unsigned char c)
{
    return ((unsigned)(c | 0x20) - 'a') < 26u;
}

/* é, è, ç... in either case, and œ: French, or at least not English. */
static int has_french_letter(const unsigned char *p, size_t n)
{
    static const char c3[] = "\x80\x82\x87\x88\x89\x8a\x8b\x8e\x8f\x94\x99\x9b\x9c"
                             "\xa0\xa2\xa7\xa8\xa9\xaa\xab\xae\xaf\xb4\xb9\xbb\xbc\xbf";
    for (size_t i = 0; i + 1 < n; i++) {
        if (p[i] == 0xC3 && memchr(c3, p[i + 1], sizeof c3 - 1))
            return 1;
        if (p[i] == 0xC5 && (p[i + 1] == 0x92 || p[i + 1] == 0x93))
            return 1;
    }
    return 0;
}

/* Scores one folded word (no apostrophe left in it). Single letters say
 * little ("s" of "S$1", "a" in both languages); elisions count apart. */
static void score_word(const char *w, size_t n, score *sc)
{
    if (n < 2)
        return;
    sc->en += fd_tx_stopword(FD_LANG_EN, w, n) + fd_tx_hint(FD_LANG_EN, w, n);
    sc->fr += fd_tx_stopword(FD_LANG_FR, w, n) + fd_tx_hint(FD_LANG_FR, w, n);
}

/* Folds the word at p[0..n) into w; 0 when it is too long to bother. */
static size_t fold_word(const unsigned char *p, size_t n, char w[WORD_MAX])
{
    if (n > WORD_MAX)
        return 0;
    int ascii = 1;
    for (size_t i = 0; i < n; i++) {
        ascii &= p[i] < 0x80;
        w[i] = (char)fd_tx_lc(p[i]);
    }
    if (ascii)
        return n;
    fd_tx_scratch sc;
    const char *f;
    size_t fn;
    if (fd_tx_fold_utf8((const char *)p, n, &sc, NULL, &f, &fn) || fn > WORD_MAX)
        return 0;
    memcpy(w, f, fn);
    return fn;
}

/* The 's, n't, 're, 'll, 've, 'm, 'd of English contractions. */
static int is_english_tail(const char *p, size_t n)
{
    static const char *const tails[] = {"s", "t", "re", "ll", "ve", "m", "d"};
    for (size_t k = 0; k < sizeof tails / sizeof tails[0]; k++)
        if (strlen(tails[k]) == n && !memcmp(tails[k], p, n))
            return 1;
    return 0;
}

/* "l'emballage": French elision; "don't", "customer's": English. */
static void score_apostrophe(const char *w, size_t n, score *sc)
{
    const char *q = memchr(w, '\'', n);
    size_t pre = (size_t)(q - w);
    size_t post = n - pre - 1;
    if (fd_tx_is_elision((const unsigned char *)w, pre)) {
        sc->fr++;
        score_word(q + 1, post, sc);
        return;
    }
    if (is_english_tail(q + 1, post) || fd_tx_stopword(FD_LANG_EN, w, n))
        sc->en++;
    score_word(w, pre, sc);
}

static void score_span(const unsigned char *p, size_t n, score *sc)
{
    char w[WORD_MAX];
    if (has_french_letter(p, n))
        sc->fr++;
    size_t wn = fold_word(p, n, w);
    if (!wn)
        return;
    if (memchr(w, '\'', wn))
        score_apostrophe(w, wn, sc);
    else
        score_word(w, wn, sc);
}

fd_lang fd_text_guess_lang(fd_str text)
{
    if (!text.p)
        return FD_LANG_UNKNOWN;
    size_t len = text.len;
    if (len > GUESS_MAX_BYTES) {
        len = GUESS_MAX_BYTES;
        while (len > 0 && ((unsigned char)text.p[len] & 0xC0) == 0x80)
            len--; /* cut on a character boundary */
    }
    if (!fd_utf8_valid(text.p, len, NULL))
        return FD_LANG_UNKNOWN;
    const unsigned char *s = (const unsigned char *)text.p;
    score sc = {0, 0};
    size_t i = 0;
    while (i < len) {
        unsigned n, m;
        if (s[i] >= '0' && s[i] <= '9') {
            while (i < len && (is_ascii_letter(s[i]) || (s[i] >= '0' && s[i] <= '9')))
                i++; /* "500ml": a measure, not an English or French word */
            continue;
        }
        if (s[i] < 0x80 && !is_ascii_letter(s[i])) {
            i++; /* spaces and punctuation: most of what is skipped */
            continue;
        }
        fd_tx_cls c = fd_tx_class(s, len, i, &n);
        if (c != TX_ALPHA) {
            i += n;
            continue;
        }
        size_t b = i;
        int digits = 0; /* "500ml", "A4": codes, not words of a language */
        for (;;) {
            if (i < len && is_ascii_letter(s[i])) {
                i++;
                continue;
            }
            c = fd_tx_class(s, len, i, &n);
            digits |= c == TX_DIGIT;
            if (c == TX_ALPHA || c == TX_MARK || c == TX_DIGIT)
                i += n;
            else if (c == TX_APOS && fd_tx_class(s, len, i + n, &m) == TX_ALPHA)
                i += n;
            else
                break;
        }
        if (!digits)
            score_span(s + b, i - b, &sc);
    }
    if (sc.en == sc.fr)
        return FD_LANG_UNKNOWN; /* no evidence, or as much for both */
    return sc.en > sc.fr ? FD_LANG_EN : FD_LANG_FR;
}
