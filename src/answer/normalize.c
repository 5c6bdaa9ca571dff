/* normalize.c: the customer's spelling brought to the knowledge base's
 * before retrieval and answering (issue 12). Customers type "wat time do u
 * open on saturdys"; the documents say "Saturday". Two steps, word by word:
 *
 * 1. Chat spellings expanded from a fixed table per language ("u" -> "you",
 *    "jai" -> "j'ai"). Only spellings that are not words of the language
 *    themselves, so nothing a document could mean is rewritten.
 * 1a. A word for a span of days gains the days a timetable names them by
 *    ("weekdays" -> "weekdays Monday to Friday"; calendar_lookup).
 * 1b. French elision typed without its apostrophe ("dun" -> "d'un",
 *    "jhabite" -> "j'habite") when what follows the letter is a word.
 * 2. A word that is in no word list of the languages (fd_wordlist: not
 *    "hiring", not "combien") and that the knowledge base never uses
 *    (document frequency 0 after analysis) is replaced by the spelling at one edit (deletion,
 *    transposition, substitution, insertion of a-z) whose analyzed term the
 *    knowledge base uses most. Corrections only ever go toward the KB's own
 *    vocabulary, so a word of another business cannot appear, and a word
 *    the KB lacks with no near neighbour ("husband", "hiring") stays as it
 *    is for the answerability decision to weigh.
 *
 * Why these limits (tuned on the development KBs listed in eval/README.md,
 * never on the held-out ones): words under MIN_FIX_LEN letters have too
 * many neighbours at one edit ("bike" -> "bake", "like") to correct safely;
 * MIN_FIX_DF keeps a correction from landing on a word used once, which is
 * as likely a neighbour by accident as the word meant. */
#include "answer_int.h"

#include <string.h>

#define MIN_FIX_LEN 5
/* Synonyms: only for words of 4 letters or more ("bag", "box" have too
 * many senses), from the first SYN_SENSES senses. */
#define MIN_SYN_LEN 4
#define SYN_SENSES 2
#define MIN_FIX_DF 2
#define MAX_WORD 32

typedef struct chat_word {
    const char *from, *to;
} chat_word;

/* Chat spellings; every "from" is lowercase ASCII and not a word itself. */
static const chat_word chat_en[] = {
    {"u", "you"},
    {"ur", "your"},
    {"r", "are"},
    {"pls", "please"},
    {"plz", "please"},
    {"dont", "don't"},
    {"doesnt", "doesn't"},
    {"cant", "can't"},
    {"wont", "won't"},
    {"didnt", "didn't"},
    {"isnt", "isn't"},
    {"arent", "aren't"},
    {"wasnt", "wasn't"},
    {"werent", "weren't"},
    {"havent", "haven't"},
    {"hasnt", "hasn't"},
    {"hadnt", "hadn't"},
    {"wouldnt", "wouldn't"},
    {"couldnt", "couldn't"},
    {"shouldnt", "shouldn't"},
    {"youre", "you're"},
    {"theyre", "they're"},
    {"wheres", "where's"},
    {"hows", "how's"},
    {"whos", "who's"},
    {"thats", "that's"},
    {"theres", "there's"},
    {"wat", "what"},
    {"wot", "what"},
    {"whats", "what is"},
    {"thx", "thanks"},
    {"im", "I'm"},
    {"ive", "I've"},
    {"hw", "how"},
    {"b4", "before"},
    {"tmrw", "tomorrow"},
    {"tmr", "tomorrow"},
    {"2day", "today"},
    {"msg", "message"},
    {"abt", "about"},
    {"bc", "because"},
    {"cuz", "because"},
    {"coz", "because"},
    {"wanna", "want to"},
    {"gonna", "going to"},
    {"gotta", "have to"},
    {"ppl", "people"},
    {"asap", "as soon as possible"},
    {"yr", "year"},
    {"yrs", "years"},
    {"hrs", "hours"},
    {"mins", "minutes"},
    {"wk", "week"},
    {"wks", "weeks"},
    {"mth", "month"},
    {"mths", "months"},
    {"acct", "account"},
    {"addr", "address"},
    {"appt", "appointment"},
    {"approx", "approximately"},
    {"qty", "quantity"},
};

static const chat_word chat_fr[] = {
    {"jai", "j'ai"},
    {"cest", "c'est"},
    {"jsuis", "je suis"},
    {"chui", "je suis"},
    {"svp", "s'il vous plaît"},
    {"stp", "s'il te plaît"},
    {"vs", "vous"},
    {"pr", "pour"},
    {"ds", "dans"},
    {"bcp", "beaucoup"},
    {"qd", "quand"},
    {"pq", "pourquoi"},
    {"pk", "pourquoi"},
    {"pcq", "parce que"},
    {"tt", "tout"},
    {"ya", "il y a"},
    {"koi", "quoi"},
    {"kel", "quel"},
    {"kelle", "quelle"},
    {"bjr", "bonjour"},
    {"slt", "salut"},
    {"mr", "merci"},
    {"dc", "donc"},
    {"jpeux", "je peux"},
    {"jveux", "je veux"},
    {"jvoudrais", "je voudrais"},
    {"jsais", "je sais"},
    {"ct", "c'était"},
    {"rdv", "rendez-vous"},
    {"qqn", "quelqu'un"},
    {"qqch", "quelque chose"},
    {"auj", "aujourd'hui"},
    {"ajd", "aujourd'hui"},
    {"dispo", "disponible"},
    {"c", "c'est"},
    {"quest", "qu'est"},
    {"nest", "n'est"},
    {"ca", "ça"},
};

/* A word of any language's list. */
static int any_word(const fd_norm_ctx *nc, const char *w, size_t n)
{
    for (int l = 0; nc->words && l < FD__NLANGS; l++)
        if (fd_wordlist_has(nc->words[l], w, n))
            return 1;
    return 0;
}

static int have_words(const fd_norm_ctx *nc)
{
    for (int l = 0; nc->words && l < FD__NLANGS; l++)
        if (fd_wordlist_size(nc->words[l]))
            return 1;
    return 0;
}

static const char *chat_lookup(const char *w, size_t n, fd_lang lang)
{
    const chat_word *t = lang == FD_LANG_FR ? chat_fr : chat_en;
    size_t m =
        lang == FD_LANG_FR ? sizeof chat_fr / sizeof *chat_fr : sizeof chat_en / sizeof *chat_en;
    for (size_t i = 0; i < m; i++)
        if (strlen(t[i].from) == n && memcmp(t[i].from, w, n) == 0)
            return t[i].to;
    return NULL;
}

static int is_word_byte(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch >= 0x80;
}

/* The document frequency of a word's single analyzed term; 0 for a word
 * that analyzes to no term or to several (a stopword, a compound). */
static uint32_t word_df(const fd_norm_ctx *nc, const char *w, size_t n, int *is_term, fd_arena *a)
{
    fd_terms terms;
    *is_term = 0;
    if (fd_analyzer_terms(nc->an, (fd_str){w, n}, nc->lang, a, &terms, NULL) != FD_OK ||
        terms.n == 0)
        return 0;
    *is_term = 1;
    uint32_t best = 0;
    for (size_t i = 0; i < terms.n; i++) {
        uint32_t d = nc->df(nc->ctx, terms.v[i].term);
        best = d > best ? d : best;
    }
    return best;
}

/* Tries cand; keeps it in best when the KB uses it more than the best so far. */
static void consider(const fd_norm_ctx *nc, const char *cand, size_t n, char *best, size_t *best_n,
                     uint32_t *best_df, fd_arena *a)
{
    int is_term;
    uint32_t d = word_df(nc, cand, n, &is_term, a);
    if (d >= MIN_FIX_DF && d > *best_df) {
        *best_df = d;
        memcpy(best, cand, n);
        *best_n = n;
    }
}

/* French elision typed without its apostrophe ("dun", "lautre", "jhabite",
 * "quil"): a non-word whose tail after d/l/j/m/n/s/t/c/qu is a word, or a
 * term of the KB, before a vowel or h. Writes "d'un" into out; 0 if not. */
static size_t elide(const fd_norm_ctx *nc, const char *w, size_t n, char *out, fd_arena *a)
{
    size_t p = n > 3 && w[0] == 'q' && w[1] == 'u' ? 2 : strchr("dljmnstc", w[0]) ? 1 : 0;
    if (!p || n < p + 2 || !strchr("aeiouyh", w[p]))
        return 0;
    int is_term;
    if (!fd_wordlist_has(nc->words[FD_LANG_FR], w + p, n - p) &&
        !(nc->df && word_df(nc, w + p, n - p, &is_term, a) > 0))
        return 0;
    memcpy(out, w, p);
    out[p] = '\'';
    memcpy(out + p + 1, w + p, n - p);
    return n + 1;
}

/* A synonym of the real word w that the KB uses (the most used of the
 * thesaurus' first senses, single words only), or 0. */
typedef struct syn_pick {
    const fd_norm_ctx *nc;
    fd_arena *a;
    char *out;
    size_t n;
    uint32_t df;
} syn_pick;

static int consider_syn(void *ctx, const char *s, size_t n)
{
    syn_pick *sp = ctx;
    if (n > MAX_WORD || memchr(s, ' ', n) || memchr(s, '-', n))
        return 0;
    int is_term;
    uint32_t d = word_df(sp->nc, s, n, &is_term, sp->a);
    if (d >= MIN_FIX_DF && d > sp->df) {
        sp->df = d;
        memcpy(sp->out, s, n);
        sp->n = n;
    }
    return 0;
}

static size_t synonym(const fd_norm_ctx *nc, const char *w, size_t n, char *out, fd_arena *a)
{
    syn_pick sp = {nc, a, out, 0, 0};
    fd_thesaurus_each(nc->thesaurus, nc->lang, w, n, SYN_SENSES, consider_syn, &sp);
    return sp.n;
}

/* The KB's spelling at one edit of w (lowercase ASCII), or 0. */
static size_t correct(const fd_norm_ctx *nc, const char *w, size_t n, char *out, fd_arena *a)
{
    char c[MAX_WORD + 2];
    size_t best_n = 0;
    uint32_t best_df = 0;
    for (size_t i = 0; i < n; i++) { /* deletion */
        memcpy(c, w, i);
        memcpy(c + i, w + i + 1, n - i - 1);
        consider(nc, c, n - 1, out, &best_n, &best_df, a);
    }
    for (size_t i = 0; i + 1 < n; i++) { /* transposition */
        memcpy(c, w, n);
        c[i] = w[i + 1];
        c[i + 1] = w[i];
        if (c[i] != w[i])
            consider(nc, c, n, out, &best_n, &best_df, a);
    }
    for (size_t i = 0; i < n; i++) /* substitution */
        for (char ch = 'a'; ch <= 'z'; ch++) {
            if (ch == w[i])
                continue;
            memcpy(c, w, n);
            c[i] = ch;
            consider(nc, c, n, out, &best_n, &best_df, a);
        }
    for (size_t i = 0; i <= n; i++) /* insertion */
        for (char ch = 'a'; ch <= 'z'; ch++) {
            memcpy(c, w, i);
            c[i] = ch;
            memcpy(c + i + 1, w + i, n - i);
            consider(nc, c, n + 1, out, &best_n, &best_df, a);
        }
    return best_n;
}

/* Words for a span of days, said with the days a timetable names them
 * by: "open on weekdays?" is answered by "Monday to Friday: 8am to 7pm". */
static const chat_word calendar_en[] = {
    {"weekdays", "weekdays Monday to Friday"},
    {"weekday", "weekday Monday to Friday"},
    {"weekends", "weekends Saturday and Sunday"},
    {"weekend", "weekend Saturday and Sunday"},
};
static const chat_word calendar_fr[] = {
    {"weekend", "week-end samedi et dimanche"},
};

static const char *calendar_lookup(const char *w, size_t n, fd_lang lang)
{
    const chat_word *t = lang == FD_LANG_FR ? calendar_fr : calendar_en;
    size_t m = lang == FD_LANG_FR ? sizeof calendar_fr / sizeof *calendar_fr
                                  : sizeof calendar_en / sizeof *calendar_en;
    for (size_t i = 0; i < m; i++)
        if (strlen(t[i].from) == n && memcmp(t[i].from, w, n) == 0)
            return t[i].to;
    return NULL;
}

int fd_answer_normalize_query(const fd_norm_ctx *nc, fd_str q, fd_arena *a, fd_str *out,
                              size_t *n_fixed, fd_err *err)
{
    *out = q;
    if (n_fixed)
        *n_fixed = 0;
    fd_buf b;
    fd_buf_init(&b, 1 << 16);
    size_t changed = 0, i = 0;
    int rc = FD_OK;
    while (i < q.len && !rc) {
        if (!is_word_byte((unsigned char)q.p[i])) {
            rc = fd_buf_append(&b, q.p + i, 1);
            i++;
            continue;
        }
        size_t j = i, ascii = 1, alpha = 1;
        while (j < q.len && is_word_byte((unsigned char)q.p[j])) {
            unsigned char ch = (unsigned char)q.p[j];
            ascii &= ch < 0x80;
            alpha &= (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
            j++;
        }
        size_t n = j - i;
        char low[MAX_WORD + 2];
        const char *rep = NULL;
        size_t rep_n = 0;
        char fixed[MAX_WORD + 2];
        if (ascii && n <= MAX_WORD) {
            for (size_t k = 0; k < n; k++) {
                char ch = q.p[i + k];
                low[k] = ch >= 'A' && ch <= 'Z' ? (char)(ch | 0x20) : ch;
            }
            rep = chat_lookup(low, n, nc->lang);
            if (!rep)
                rep = calendar_lookup(low, n, nc->lang);
            if (rep)
                rep_n = strlen(rep);
            else if (alpha && nc->lang == FD_LANG_FR && nc->words &&
                     fd_wordlist_size(nc->words[FD_LANG_FR]) &&
                     !fd_wordlist_has(nc->words[FD_LANG_FR], low, n) &&
                     (rep_n = elide(nc, low, n, fixed, a)) != 0)
                rep = fixed;
            else if (alpha && nc->df && n >= MIN_SYN_LEN) {
                int is_term;
                if (word_df(nc, low, n, &is_term, a) == 0 && is_term) {
                    int real = any_word(nc, low, n);
                    if (!real && have_words(nc) && n >= MIN_FIX_LEN)
                        rep_n = correct(nc, low, n, fixed, a);
                    else if (real && nc->thesaurus)
                        rep_n = synonym(nc, low, n, fixed, a);
                    rep = rep_n ? fixed : NULL;
                }
            }
        }
        if (rep && !(rep_n == n && memcmp(rep, q.p + i, n) == 0)) {
            rc = fd_buf_append(&b, rep, rep_n);
            changed++;
        } else {
            rc = fd_buf_append(&b, q.p + i, n);
        }
        i = j;
    }
    if (!rc && changed) {
        char *p = fd_arena_strndup(a, b.p, b.len);
        if (!p)
            rc = fd_err_set(err, FD_ENOMEM, "normalize: out of memory");
        else
            *out = (fd_str){p, b.len};
    } else if (rc) {
        rc = fd_err_set(err, FD_ENOMEM, "normalize: out of memory");
    }
    fd_buf_free(&b);
    if (n_fixed)
        *n_fixed = changed;
    return rc;
}
