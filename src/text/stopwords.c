/* stopwords.c: English and French stopwords (the Snowball lists), stored
 * folded (accents stripped, as fd_text_fold leaves them) in sorted 16-byte
 * slots, and the language-hint words, looked up by binary search: ~8 short compares, no set-up, no
 * heap. */
#include "text_int.h"

/* A slot is a NUL-padded word; 16 bytes so a compare never leaves it. */
typedef char slot[16];

static const slot en_words[] = {
    "a",          "about",   "above",     "after",   "again",    "against",    "all",    "am",
    "an",         "and",     "any",       "are",     "aren't",   "as",         "at",     "be",
    "because",    "been",    "before",    "being",   "below",    "between",    "both",   "but",
    "by",         "can't",   "cannot",    "could",   "couldn't", "did",        "didn't", "do",
    "does",       "doesn't", "doing",     "don't",   "down",     "during",     "each",   "few",
    "for",        "from",    "further",   "had",     "hadn't",   "has",        "hasn't", "have",
    "haven't",    "having",  "he",        "he'd",    "he'll",    "he's",       "her",    "here",
    "here's",     "hers",    "herself",   "him",     "himself",  "his",        "how",    "how's",
    "i",          "i'd",     "i'll",      "i'm",     "i've",     "if",         "in",     "into",
    "is",         "isn't",   "it",        "it's",    "its",      "itself",     "let's",  "me",
    "more",       "most",    "mustn't",   "my",      "myself",   "no",         "nor",    "not",
    "of",         "off",     "on",        "once",    "only",     "or",         "other",  "ought",
    "our",        "ours",    "ourselves", "out",     "over",     "own",        "same",   "shan't",
    "she",        "she'd",   "she'll",    "she's",   "should",   "shouldn't",  "so",     "some",
    "such",       "than",    "that",      "that's",  "the",      "their",      "theirs", "them",
    "themselves", "then",    "there",     "there's", "these",    "they",       "they'd", "they'll",
    "they're",    "they've", "this",      "those",   "through",  "to",         "too",    "under",
    "until",      "up",      "very",      "was",     "wasn't",   "we",         "we'd",   "we'll",
    "we're",      "we've",   "were",      "weren't", "what",     "what's",     "when",   "when's",
    "where",      "where's", "which",     "while",   "who",      "who's",      "whom",   "why",
    "why's",      "with",    "won't",     "would",   "wouldn't", "you",        "you'd",  "you'll",
    "you're",     "you've",  "your",      "yours",   "yourself", "yourselves",
};

static const slot fr_words[] = {
    "a",       "ai",      "aie",      "aient",   "aies",     "ait",     "as",       "au",
    "aura",    "aurai",   "auraient", "aurais",  "aurait",   "auras",   "aurez",    "auriez",
    "aurions", "aurons",  "auront",   "aux",     "avaient",  "avais",   "avait",    "avec",
    "avez",    "aviez",   "avions",   "avons",   "ayant",    "ayez",    "ayons",    "c",
    "ce",      "ceci",    "cela",     "ces",     "cet",      "cette",   "d",        "dans",
    "de",      "des",     "du",       "elle",    "en",       "es",      "est",      "et",
    "etaient", "etais",   "etait",    "etant",   "ete",      "etee",    "etees",    "etes",
    "etiez",   "etions",  "eu",       "eue",     "eues",     "eumes",   "eurent",   "eus",
    "eusse",   "eussent", "eusses",   "eussiez", "eussions", "eut",     "eutes",    "eux",
    "fumes",   "furent",  "fus",      "fusse",   "fussent",  "fusses",  "fussiez",  "fussions",
    "fut",     "futes",   "ici",      "il",      "ils",      "j",       "je",       "l",
    "la",      "le",      "les",      "leur",    "leurs",    "lui",     "m",        "ma",
    "mais",    "me",      "meme",     "mes",     "moi",      "mon",     "n",        "ne",
    "nos",     "notre",   "nous",     "on",      "ont",      "ou",      "par",      "pas",
    "pour",    "qu",      "que",      "quel",    "quelle",   "quelles", "quels",    "qui",
    "s",       "sa",      "sans",     "se",      "sera",     "serai",   "seraient", "serais",
    "serait",  "seras",   "serez",    "seriez",  "serions",  "serons",  "seront",   "ses",
    "soi",     "soient",  "sois",     "soit",    "sommes",   "son",     "sont",     "soyez",
    "soyons",  "suis",    "sur",      "t",       "ta",       "te",      "tes",      "toi",
    "ton",     "tu",      "un",       "une",     "vos",      "votre",   "vous",     "y",
};

/* Words that are not stopwords but tell which language a customer writes
 * in (greetings, shop words); only the language guess uses them. The
 * delivery words of an order typed in chat ("morning", "tmr", "pls") came
 * with dev5 (issue 15): an order of codes ending "mon 14 dec morning" was
 * French by its "mon" ("my") alone. */
static const slot en_hints[] = {"afternoon", "bye",  "delivery", "hello", "hi",
                                "morning",   "much", "need",     "ok",    "order",
                                "please",    "pls",  "price",    "thank", "thanks",
                                "thx",       "tmr",  "tomorrow", "want",  "yes"};

static const slot fr_hints[] = {"aussi",   "avoir",    "besoin",   "bonjour",   "bonsoir",
                                "combien", "commande", "comment",  "livraison", "merci",
                                "non",     "oui",      "pourquoi", "prix",      "quand",
                                "salut",   "svp",      "voudrais"};

/* memcmp order, with a word that is a prefix of the slot sorting first:
 * the same byte order the lists were sorted in. */
static int cmp_slot(const char *p, size_t n, const char *s)
{
    int c = memcmp(p, s, n); /* s is zero-padded to 16 > n bytes */
    if (c)
        return c;
    return s[n] ? -1 : 0;
}

static int find(const slot *v, size_t nv, const char *p, size_t n)
{
    size_t lo = 0;
    size_t hi = nv;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cmp_slot(p, n, v[mid]);
        if (c == 0)
            return 1;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return 0;
}

int fd_tx_stopword(fd_lang lang, const char *p, size_t n)
{
    if (n == 0 || n >= sizeof(slot))
        return 0;
    if (lang == FD_LANG_FR)
        return find(fr_words, sizeof fr_words / sizeof fr_words[0], p, n);
    return find(en_words, sizeof en_words / sizeof en_words[0], p, n);
}

int fd_tx_hint(fd_lang lang, const char *p, size_t n)
{
    if (n == 0 || n >= sizeof(slot))
        return 0;
    if (lang == FD_LANG_FR)
        return find(fr_hints, sizeof fr_hints / sizeof fr_hints[0], p, n);
    return find(en_hints, sizeof en_hints / sizeof en_hints[0], p, n);
}

int fd_text_is_stopword(fd_lang lang, fd_str folded_word)
{
    if (lang != FD_LANG_EN && lang != FD_LANG_FR)
        return 0;
    if (!folded_word.p)
        return 0;
    return fd_tx_stopword(lang, folded_word.p, folded_word.len);
}
