/* sentiment.c: how the customer feels, from a small en + fr lexicon in the
 * manner of VADER (Hutto & Gilbert 2014): word valences, negation flips,
 * boosters, ALL CAPS and "!!!" amplify, and the sum is squashed to -1..1.
 * Complaint strength is a separate 0..1 signal from complaint cues
 * ("leaking", "never arrived", "refund"), which a polite customer can use
 * with a neutral tone. No allocation: it runs on every message. */
#include "nlu_int.h"

#include <ctype.h>
#include <math.h>

#define WORD_MAX 32
#define NEG_SCOPE 3     /* words a negation reaches */
#define NEG_FLIP -0.74  /* VADER's: "not good" is mildly bad, not "bad" */
#define BOOST 0.293     /* VADER's booster and caps increment */
#define EXCL_STEP 0.292 /* per "!", up to 4 */
#define SQUASH 15.0     /* VADER's normalization constant */

typedef struct lex {
    const char *w;
    float v;         /* valence, about -4..4 */
    float complaint; /* complaint cue weight, 0 if none */
} lex;

/* Folded spellings (accents stripped): "déçu" is "decu". */
static const lex lexicon[] = {
    {"good", 1.9f, 0},
    {"great", 3.1f, 0},
    {"excellent", 3.2f, 0},
    {"amazing", 2.8f, 0},
    {"awesome", 3.1f, 0},
    {"perfect", 2.7f, 0},
    {"love", 3.2f, 0},
    {"loved", 2.9f, 0},
    {"happy", 2.7f, 0},
    {"glad", 2.0f, 0},
    {"pleased", 2.0f, 0},
    {"thanks", 1.9f, 0},
    {"thank", 1.5f, 0},
    {"thx", 1.5f, 0},
    {"appreciate", 2.0f, 0},
    {"appreciated", 2.0f, 0},
    {"helpful", 1.8f, 0},
    {"nice", 1.8f, 0},
    {"wonderful", 2.7f, 0},
    {"fantastic", 2.6f, 0},
    {"satisfied", 1.8f, 0},
    {"recommend", 1.5f, 0},
    {"brilliant", 2.8f, 0},
    {"lovely", 2.8f, 0},
    {"cool", 1.3f, 0},
    {"quick", 1.0f, 0},
    {"fast", 1.0f, 0},
    {"smooth", 1.0f, 0},
    {"superb", 3.0f, 0},
    {"well", 0.0f, 0},
    {"bad", -2.5f, 0.3f},
    {"terrible", -3.0f, 0.5f},
    {"awful", -3.1f, 0.5f},
    {"horrible", -3.0f, 0.5f},
    {"worst", -3.1f, 0.5f},
    {"poor", -2.1f, 0.3f},
    {"disappointed", -2.2f, 0.4f},
    {"disappointing", -2.2f, 0.4f},
    {"unhappy", -2.0f, 0.3f},
    {"angry", -2.3f, 0.5f},
    {"furious", -3.0f, 0.6f},
    {"annoyed", -2.0f, 0.4f},
    {"frustrated", -2.2f, 0.4f},
    {"frustrating", -2.2f, 0.4f},
    {"unacceptable", -2.8f, 0.7f},
    {"ridiculous", -2.0f, 0.5f},
    {"disgusting", -3.0f, 0.7f},
    {"broken", -2.0f, 0.5f},
    {"broke", -1.5f, 0.4f},
    {"damaged", -2.0f, 0.5f},
    {"crushed", -2.0f, 0.5f},
    {"squashed", -1.8f, 0.5f},
    {"dented", -1.5f, 0.4f},
    {"leaking", -1.8f, 0.5f},
    {"leak", -1.5f, 0.4f},
    {"leaks", -1.5f, 0.4f},
    {"leaked", -1.8f, 0.5f},
    {"late", -1.5f, 0.4f},
    {"delayed", -1.5f, 0.4f},
    {"delay", -1.2f, 0.3f},
    {"missing", -1.5f, 0.4f},
    {"wrong", -1.8f, 0.4f},
    {"defective", -2.2f, 0.5f},
    {"faulty", -2.0f, 0.5f},
    {"problem", -1.5f, 0.2f},
    {"problems", -1.5f, 0.3f},
    {"issue", -1.0f, 0.2f},
    {"issues", -1.0f, 0.2f},
    {"complaint", -2.0f, 0.5f},
    {"complain", -1.8f, 0.5f},
    {"refund", -1.0f, 0.5f},
    {"compensation", -1.0f, 0.4f},
    {"useless", -2.5f, 0.5f},
    {"rude", -2.5f, 0.5f},
    {"slow", -1.5f, 0.3f},
    {"dirty", -2.0f, 0.4f},
    {"torn", -1.8f, 0.4f},
    {"soggy", -1.8f, 0.4f},
    {"mouldy", -2.5f, 0.6f},
    {"moldy", -2.5f, 0.6f},
    {"scam", -3.0f, 0.6f},
    {"waste", -2.0f, 0.4f},
    {"hate", -3.0f, 0.5f},
    {"sucks", -2.5f, 0.5f},
    {"again", -0.3f, 0.2f},
    {"joke", -1.5f, 0.3f},
    {"merci", 1.9f, 0},
    {"super", 2.5f, 0},
    {"genial", 3.0f, 0},
    {"parfait", 2.7f, 0},
    {"bien", 1.2f, 0},
    {"content", 2.0f, 0},
    {"contente", 2.0f, 0},
    {"satisfait", 1.8f, 0},
    {"ravi", 2.8f, 0},
    {"ravie", 2.8f, 0},
    {"top", 2.0f, 0},
    {"bravo", 2.5f, 0},
    {"formidable", 2.8f, 0},
    {"rapide", 1.0f, 0},
    {"nul", -2.5f, 0.5f},
    {"nulle", -2.5f, 0.5f},
    {"mauvais", -2.5f, 0.3f},
    {"mauvaise", -2.5f, 0.3f},
    {"inacceptable", -2.8f, 0.7f},
    {"inadmissible", -2.8f, 0.7f},
    {"decu", -2.2f, 0.4f},
    {"decue", -2.2f, 0.4f},
    {"decevant", -2.2f, 0.4f},
    {"casse", -2.0f, 0.5f},
    {"cassee", -2.0f, 0.5f},
    {"casses", -2.0f, 0.5f},
    {"abime", -2.0f, 0.5f},
    {"abimes", -2.0f, 0.5f},
    {"abimee", -2.0f, 0.5f},
    {"ecrase", -2.0f, 0.5f},
    {"ecrases", -2.0f, 0.5f},
    {"retard", -1.5f, 0.4f},
    {"manquant", -1.5f, 0.4f},
    {"honteux", -2.8f, 0.6f},
    {"scandaleux", -3.0f, 0.7f},
    {"furieux", -3.0f, 0.6f},
    {"fache", -2.3f, 0.5f},
    {"degoutant", -3.0f, 0.7f},
    {"remboursement", -1.0f, 0.5f},
    {"probleme", -1.5f, 0.2f},
    {"plainte", -2.0f, 0.5f},
    {"lent", -1.5f, 0.3f},
    {"fuite", -1.5f, 0.4f},
    {"encore", -0.2f, 0.1f},
};

static const char *const negations[] = {
    "not",    "no",     "never",  "cannot", "without", "nothing", "neither", "nor",  "dont",
    "didnt",  "doesnt", "isnt",   "wasnt",  "arent",   "werent",  "cant",    "wont", "hasnt",
    "havent", "pas",    "jamais", "aucun",  "aucune",  "sans",    "ni",      "rien", NULL};

static const char *const boosters[] = {
    "very",       "really",     "so",           "extremely",  "super", "totally",  "absolutely",
    "completely", "incredibly", "truly",        "too",        "tres",  "vraiment", "trop",
    "tellement",  "hyper",      "completement", "absolument", NULL};

/* Things that should have come: "never arrived", "pas reçu". */
static const char *const arrivals[] = {"arrived", "arrive",    "received", "receive", "came",
                                       "come",    "delivered", "recu",     "recue",   "recus",
                                       "livre",   "livree",    "arrivee",  "arrives", NULL};

/* The first byte compared inline: most entries differ there, and a call
 * to strcmp per entry per word was a twelfth of a cached turn (perf). */
static int in(const char *w, const char *const *list)
{
    for (; *list; list++)
        if (w[0] == (*list)[0] && !strcmp(w, *list))
            return 1;
    return 0;
}

static const lex *lookup(const char *w)
{
    for (size_t i = 0; i < sizeof lexicon / sizeof lexicon[0]; i++)
        if (w[0] == lexicon[i].w[0] && !strcmp(w, lexicon[i].w))
            return &lexicon[i];
    return NULL;
}

/* Next word at *i: lower-cased ASCII, Latin-1 accents stripped,
 * apostrophes dropped ("don't" -> "dont"). *caps: all upper case. */
static size_t next_word(const char *s, size_t n, size_t *i, char *w, int *caps, int *stop)
{
    size_t k = 0, upper = 0, letters = 0;
    *stop = 0;
    while (*i < n && !isalpha((unsigned char)s[*i]) && (unsigned char)s[*i] < 0xC0) {
        char c = s[*i];
        *stop |= c == '.' || c == ',' || c == '!' || c == '?' || c == ';' || c == ':';
        ++*i;
    }
    while (*i < n) {
        unsigned char c = (unsigned char)s[*i];
        if (c == 0xC3 && *i + 1 < n) { /* U+00C0..U+00FF: the accented Latin letters */
            static const char base[] = "aaaaaaaceeeeiiiidnooooo/ouuuuyty";
            unsigned char d = (unsigned char)s[*i + 1] & 0x1F;
            if (k < WORD_MAX - 1)
                w[k++] = base[d];
            *i += 2;
            letters++;
        } else if (isalpha(c)) {
            upper += isupper(c) != 0;
            letters++;
            if (k < WORD_MAX - 1)
                w[k++] = (char)tolower(c);
            ++*i;
        } else if (c == '\'' && k && *i + 1 < n && isalpha((unsigned char)s[*i + 1])) {
            ++*i; /* inner apostrophe */
        } else if (c == 0xE2 && *i + 2 < n && (unsigned char)s[*i + 1] == 0x80 &&
                   (unsigned char)s[*i + 2] == 0x99) {
            *i += 3; /* ’ */
        } else {
            break;
        }
    }
    if (!letters && *i < n)
        ++*i; /* a byte we cannot read: skip it */
    w[k] = 0;
    *caps = letters >= 3 && upper == letters;
    return k;
}

fd_sentiment fd_nlu_sentiment(fd_str text, fd_lang lang)
{
    (void)lang; /* the lexicons do not clash; one pass serves both languages */
    double sum = 0, cues = 0;
    int neg_left = 0, boost = 0, caps_seen = 0, arrive_left = 0;
    size_t i = 0, excl = 0;
    for (size_t j = 0; j < text.len; j++)
        excl += text.p[j] == '!';
    while (i < text.len) {
        char w[WORD_MAX];
        int caps, stop;
        if (!next_word(text.p, text.len, &i, w, &caps, &stop))
            continue;
        if (stop)
            neg_left = boost = arrive_left = 0; /* punctuation ends a scope */
        int neg = in(w, negations) || (strlen(w) > 3 && !strcmp(w + strlen(w) - 2, "nt") &&
                                       lookup(w) == NULL && strchr("sdt", w[strlen(w) - 3]));
        if (neg) {
            neg_left = NEG_SCOPE;
            arrive_left = NEG_SCOPE;
            continue;
        }
        if (in(w, boosters)) {
            boost = 1;
            continue;
        }
        if (arrive_left > 0 && in(w, arrivals)) {
            sum -= 2.0; /* "never arrived" is a complaint, not a double negative */
            cues += 0.6;
            neg_left = arrive_left = 0;
            continue;
        }
        const lex *l = lookup(w);
        if (l) {
            double v = l->v;
            if (boost)
                v += v > 0 ? BOOST * 4 : -BOOST * 4;
            if (caps) {
                v += v > 0 ? BOOST * 3 : -BOOST * 3;
                caps_seen = 1;
            }
            if (neg_left > 0)
                v *= NEG_FLIP;
            sum += v;
            if (l->complaint > 0 && neg_left <= 0)
                cues += l->complaint * (caps ? 1.3 : 1.0);
            boost = 0;
        }
        neg_left--;
        arrive_left--;
    }
    if (sum != 0) {
        double e = (double)(excl > 4 ? 4 : excl) * EXCL_STEP;
        sum += sum > 0 ? e : -e;
    }
    fd_sentiment out;
    out.score = sum / sqrt(sum * sum + SQUASH);
    if (cues > 0 || out.score < -0.2) {
        cues += 0.1 * (double)(excl > 3 ? 3 : excl) + (caps_seen ? 0.15 : 0);
        cues += out.score < 0 ? -out.score * 0.5 : 0;
    }
    out.complaint = cues > 0 ? 1.0 - exp(-1.5 * cues) : 0;
    return out;
}
