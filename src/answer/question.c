/* question.c: reading the customer's question: the words our documents
 * use for theirs (a small general lexicon, for retrieval and for weighing
 * the question's terms), the kind of fact it asks for, and superlatives. */
#include "answer_int.h"

#include <ctype.h>

/* Customer words and the words our documents use for the same thing.
 * Stems on both sides; a small general lexicon, not per-question rules. */
static const struct {
    const char *q, *kb;
} synonyms[] = {
    {"faulti", "defect"},
    {"broken", "damag"},
    {"broken", "defect"},
    {"money", "refund"},
    {"moq", "minimum"},
    {"qti", "quantiti"},
    {"amex", "american"},
    {"upfront", "prepay"},
    {"biggest", "largest"},
    {"cheap", "discount"},
    {"bulk", "volum"},
    {"pay", "payment"},
    {"shop", "outlet"},
    {"store", "outlet"},
    {"late", "overdu"},
    {"complain", "qualiti"},
    {"remboursement", "rembours"},
    {"livr", "livraison"},
    {"min", "minimum"},
    {"1st", "first"},
    {"buyer", "custom"},
    {"deadlin", "cut"},
    {"biggest", "size"},
    {"back", "refund"},
    {"extra", "surcharg"},
    {"saturday", "weekend"},
    {"sunday", "weekend"},
    {"hot", "heat"},
    {"buy", "order"},
    {"1", "one"},
    {"2", "two"},
    {"3", "three"},
    {"complain", "report"},
    {"kid", "child"},
    {"kid", "children"},
    {"kiddi", "child"},
    {"brekki", "breakfast"},
    {"frigo", "refriger"},
};

int fd_answer_expand_query(fd_analyzer *an, fd_str question, fd_lang lang, fd_arena *a, fd_str *out,
                           fd_err *err)
{
    if (!an || !a || !out)
        return fd_err_set(err, FD_EINVAL, "answer: missing argument");
    *out = question;
    ans_bag b;
    int rc = ans_bag_make(an, question, lang, a, &b, err);
    if (rc)
        return rc;
    fd_buf buf;
    fd_buf_init(&buf, 1 << 16);
    rc = fd_buf_append(&buf, question.p, question.len);
    for (size_t k = 0; !rc && k < sizeof synonyms / sizeof *synonyms; k++) {
        fd_str kb = fd_str_c(synonyms[k].kb);
        if (!ans_bag_has(&b, fd_str_c(synonyms[k].q)) || ans_bag_has(&b, kb))
            continue;
        /* The lexicon holds stems: add one only if it reads as itself. */
        ans_bag w;
        rc = ans_bag_make(an, kb, lang, a, &w, err);
        if (!rc && w.n == 1 && fd_str_eq(w.v[0], kb))
            rc = fd_buf_printf(&buf, " %s", synonyms[k].kb);
    }
    if (!rc && buf.len > question.len) {
        char *p = fd_arena_strndup(a, buf.p, buf.len);
        if (!p)
            rc = ans_oom(a, err);
        else
            *out = (fd_str){p, buf.len};
    } else if (rc && rc != FD_ENOMEM && rc != FD_ETOOBIG) {
        rc = FD_OK;
    }
    fd_buf_free(&buf);
    return rc;
}

size_t ans_synonyms(fd_str term, fd_str *alt, size_t max)
{
    size_t n = 0;
    for (size_t k = 0; k < sizeof synonyms / sizeof *synonyms && n < max; k++)
        if (fd_str_eq_c(term, synonyms[k].q))
            alt[n++] = fd_str_c(synonyms[k].kb);
    return n;
}

/* What kind of answer the question asks for, from its folded wording:
 * "how long", "when", "what time" want a time or duration; "how much",
 * "cost" want an amount; "who", "name of" want a name. 0: no cue. */
int ans_answer_cue(fd_str f)
{
    static const struct {
        const char *w;
        int want;
    } cues[] = {
        {"how long", WANT_WHEN},      {"how soon", WANT_WHEN},      {"how quickly", WANT_WHEN},
        {"how many days", WANT_WHEN}, {"when", WANT_WHEN},          {"what time", WANT_WHEN},
        {"which day", WANT_WHEN},     {"what day", WANT_WHEN},      {"deadline", WANT_WHEN},
        {"cut off", WANT_WHEN},       {"cut-off", WANT_WHEN},       {"quel delai", WANT_WHEN},
        {"quand", WANT_WHEN},         {"quelle heure", WANT_WHEN},  {"combien de temps", WANT_WHEN},
        {"hours", WANT_WHEN},         {"open", WANT_WHEN},          {"close", WANT_WHEN},
        {"horaires", WANT_WHEN},      {"ouvert", WANT_WHEN},        {"how much", WANT_MONEY},
        {"cost", WANT_MONEY},         {"price", WANT_MONEY},        {"fee", WANT_MONEY},
        {"charge", WANT_MONEY},       {"discount", WANT_MONEY},     {"combien", WANT_MONEY},
        {"prix", WANT_MONEY},         {"tarif", WANT_MONEY},        {"who", WANT_NAME},
        {"whom", WANT_NAME},          {"whose", WANT_NAME},         {"name of", WANT_NAME},
        {"what brand", WANT_NAME},    {"which brand", WANT_NAME},   {"qui", WANT_NAME},
        {"nom de", WANT_NAME},        {"quelle marque", WANT_NAME},
    };
    int want = 0;
    for (size_t i = 0; i < sizeof cues / sizeof *cues; i++)
        if (fd_text_has_phrase(f, cues[i].w))
            want |= cues[i].want;
    return want;
}

/* A superlative in the folded question: 1 asks for the largest of
 * something ("biggest", "longest"), -1 for the smallest, 0 neither. */
int ans_superlative(fd_str f)
{
    static const struct {
        const char *w;
        int dir;
    } sup[] = {
        {"biggest", 1},          {"largest", 1},    {"longest", 1},        {"highest", 1},
        {"heaviest", 1},         {"tallest", 1},    {"most expensive", 1}, {"smallest", -1},
        {"shortest", -1},        {"lowest", -1},    {"cheapest", -1},      {"lightest", -1},
        {"least expensive", -1}, {"plus grand", 1}, {"plus petit", -1},    {"moins cher", -1},
    };
    for (size_t i = 0; i < sizeof sup / sizeof *sup; i++)
        if (fd_text_has_phrase(f, sup[i].w))
            return sup[i].dir;
    return 0;
}

/* Whether the folded question asks if we offer something ("do you sell
 * coffee machines", "avez-vous des ..."): such a question can only be
 * answered by a document that names the thing, so a rare question word the
 * chosen document never mentions, or a document covering less than half
 * of its words, declines it whatever the other evidence (the one hard rule
 * left beside the answerability model, the old gate kept for these
 * questions: without it the example KB's "do you sell coffee machines" and
 * "dry ice" were answered from the cup size guide). */
int ans_asks_offer(fd_str f)
{
    static const char *const cues[] = {
        "do you sell",   "do you have",   "do you offer",   "do you stock",  "do you carry",
        "do you make",   "do you do",     "do you provide", "do you accept", "do you take",
        "do u sell",     "do u have",     "do u do",        "do u offer",    "u sell",
        "is there a",    "are there any", "can i buy",      "vous vendez",   "vendez vous",
        "vous avez des", "avez vous",     "proposez vous",  "vous proposez", "vous faites",
        "y a t il",      "faites vous",   "do you give",    "do u give",
    };
    for (size_t i = 0; i < sizeof cues / sizeof *cues; i++)
        if (fd_text_has_phrase(f, cues[i]))
            return 1;
    return 0;
}
