/* support.c: how much of one text another covers, in stemmed terms. The
 * composer uses it to weigh sentences against the question and the
 * validator to check that an answer's sentences come from the passages. */
#include "answer_int.h"

#include <ctype.h>
#include <stdlib.h>

/* Stems (English and French Snowball) that say nothing about the topic: a
 * question "how much is X" is about X; "yes, are you open Friday?" (a
 * reply to the bot, then a question) is about Friday. Also the words of
 * the story around a question ("my husband", "roughly", "my boss hasn't
 * decided"): customers tell them, documents never use them, and counted
 * as topic they made the answerability decision read an answerable
 * question as one about something the KB lacks (the development KBs of
 * eval/README.md: 9 of 62 declines of the right document). The French
 * modals and light verbs in every form's stem ("je peux", "il faut", "je
 * dois", "je fais comment", "vous pourriez"), the French question words
 * and chat fillers ("lol") are the same kind: English's "can", "must",
 * "how" were here, French's were not, and a rare "quoi" or "peux" weighed
 * as the topic of half the declined French questions of the development
 * KBs (dev-all 253 -> 266/504 correct, answered wrong 119 -> 123/677).
 * Stems shared with business words stay out: "dev" (devez, devis), "font",
 * "fer", "va" (a VA card), "pu" (PU leather). Kept sorted (byte order) for bsearch. */
static const char *const generic_terms[] = {
    "abl",      "actual",    "ah",      "allez",    "allon",    "alreadi",  "also",    "ani",
    "anyon",    "anyth",     "anyway",  "approxim", "around",   "ask",      "avail",   "bad",
    "beaucoup", "besoin",    "best",    "bientot",  "bonjour",  "boss",     "btw",     "ca",
    "came",     "can",       "charg",   "chos",     "combien",  "come",     "comment", "cost",
    "could",    "cout",      "dad",     "daughter", "detail",   "devon",    "devr",    "devrion",
    "do",       "doe",       "dois",    "doit",     "doivent",  "els",      "environ", "exact",
    "fais",     "faison",    "fait",    "father",   "faudr",    "faut",     "fee",     "femm",
    "fill",     "find",      "folk",    "get",      "give",     "go",       "good",    "got",
    "guy",      "happen",    "hello",   "help",     "hi",       "honest",   "husband", "idk",
    "info",     "inform",    "just",    "keep",     "kind",     "know",     "la",      "lah",
    "laquel",   "leh",       "lequel",  "lesquel",  "let",      "like",     "lol",     "long",
    "look",     "lor",       "make",    "mani",     "may",      "mayb",     "mean",    "merc",
    "mom",      "mother",    "much",    "mum",      "must",     "need",     "normal",  "now",
    "offer",    "ok",        "okay",    "omg",      "ouai",     "oui",      "perhap",  "peut",
    "peux",     "pleas",     "pls",     "plz",      "possibl",  "pourquoi", "pourr",   "pourrion",
    "pouv",     "pouvon",    "price",   "prix",     "probabl",  "provid",   "puis",    "puiss",
    "puissent", "put",       "quand",   "quel",     "question", "quoi",     "r",       "realli",
    "right",    "rough",     "sais",    "sait",     "sav",      "savoir",   "say",     "see",
    "sell",     "shall",     "someth",  "son",      "soon",     "start",    "still",   "stuff",
    "sure",     "take",      "tbh",     "tell",     "thank",    "there",    "thing",   "today",
    "tri",      "truc",      "type",    "typic",    "u",        "ur",       "use",     "usual",
    "vais",     "veuill",    "veulent", "veut",     "veux",     "vont",     "voudr",   "voudrion",
    "voul",     "voulon",    "vrai",    "want",     "wat",      "way",      "what",    "whi",
    "wife",     "will",      "work",    "worth",    "would",    "ye",       "yeah",    "yep",
    "yes",      "yesterday", "yup",
};

/* Stems of conversational phrasing: greetings, offers of more help, the
 * way to reach a person. A sentence made only of these states no fact. */
static const char *const chatty_terms[] = {
    "addit",   "aid",   "aider",  "anyth",   "ask",     "assist", "autr",    "bienvenu",
    "bonjour", "chat",  "chos",   "contact", "els",     "equip",  "feel",    "further",
    "glad",    "great", "happi",  "happy",   "hear",    "hello",  "help",    "hesit",
    "hi",      "hope",  "know",   "let",     "like",    "member", "merc",    "messag",
    "need",    "oui",   "person", "plais",   "plaisir", "pleas",  "pleasur", "question",
    "ravi",    "reach", "repli",  "repondr", "right",   "sorri",  "sure",    "team",
    "thank",   "touch", "volont", "volonti", "welcom",  "will",   "wish",    "wonder",
    "would",   "ye",    "yes",
};

static int cmp_cstr(const void *k, const void *e)
{
    const fd_str *s = k;
    const char *c = *(const char *const *)e;
    size_t n = strlen(c);
    int r = strncmp(s->p, c, s->len < n ? s->len : n);
    if (r)
        return r;
    return s->len < n ? -1 : s->len > n;
}

static int in_list(fd_str t, const char *const *v, size_t n)
{
    return bsearch(&t, v, n, sizeof *v, cmp_cstr) != NULL;
}

int ans_term_generic(fd_str t)
{
    return in_list(t, generic_terms, sizeof generic_terms / sizeof *generic_terms);
}

int ans_term_chatty(fd_str t)
{
    return in_list(t, chatty_terms, sizeof chatty_terms / sizeof *chatty_terms);
}

/* Terms compare as bytes, shorter first on a tie. The first byte is
 * compared inline: most comparisons in a bag search end there, and the
 * call to memcmp was the largest single cost of a turn (14%, perf on
 * bench_dialog). */
static inline int str_cmp(fd_str a, fd_str b)
{
    size_t n = a.len < b.len ? a.len : b.len;
    if (n && a.p[0] != b.p[0])
        return (unsigned char)a.p[0] < (unsigned char)b.p[0] ? -1 : 1;
    int r = n > 1 ? memcmp(a.p + 1, b.p + 1, n - 1) : 0;
    if (r)
        return r;
    return a.len < b.len ? -1 : a.len > b.len;
}

static int cmp_str(const void *x, const void *y)
{
    return str_cmp(*(const fd_str *)x, *(const fd_str *)y);
}

/* Index of the first term >= t (b->n when none). */
static size_t bag_lower(const ans_bag *b, fd_str t)
{
    size_t lo = 0, hi = b->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (str_cmp(b->v[mid], t) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int ans_bag_make(fd_analyzer *an, fd_str text, fd_lang lang, fd_arena *a, ans_bag *out, fd_err *err)
{
    fd_terms tm;
    out->v = NULL;
    out->n = 0;
    int rc = fd_analyzer_terms(an, text, lang, a, &tm, err);
    if (rc)
        return rc;
    if (!tm.n)
        return FD_OK;
    fd_str *v = fd_arena_alloc(a, tm.n * sizeof *v);
    if (!v)
        return ans_oom(a, err);
    for (size_t i = 0; i < tm.n; i++)
        v[i] = tm.v[i].term;
    qsort(v, tm.n, sizeof *v, cmp_str);
    size_t n = 0;
    for (size_t i = 0; i < tm.n; i++)
        if (!n || cmp_str(&v[n - 1], &v[i]))
            v[n++] = v[i];
    out->v = v;
    out->n = n;
    return FD_OK;
}

int ans_bag_union(const ans_bag *x, const ans_bag *y, fd_arena *a, ans_bag *out, fd_err *err)
{
    fd_str *v = fd_arena_alloc(a, (x->n + y->n + 1) * sizeof *v);
    if (!v)
        return ans_oom(a, err);
    size_t i = 0, j = 0, n = 0;
    while (i < x->n || j < y->n) {
        int c = i == x->n ? 1 : j == y->n ? -1 : cmp_str(&x->v[i], &y->v[j]);
        if (c <= 0)
            v[n++] = x->v[i++];
        else
            v[n++] = y->v[j++];
        if (c == 0)
            j++;
    }
    out->v = v;
    out->n = n;
    return FD_OK;
}

int ans_bag_has(const ans_bag *b, fd_str t)
{
    size_t i = bag_lower(b, t);
    return i < b->n && b->v[i].len == t.len && !str_cmp(b->v[i], t);
}

/* Snowball leaves "deliver" as "deliv" but "delivery" as "deliveri", and
 * "complain" / "complaint" apart: a stem that extends another by up to 3
 * letters (4 at least in common) counts as the same word. */
int ans_bag_has_like(const ans_bag *b, fd_str t)
{
    size_t lo = bag_lower(b, t); /* first term >= t */
    if (lo < b->n && b->v[lo].len == t.len && !str_cmp(b->v[lo], t))
        return 1;
    if (t.len < 4)
        return 0;
    for (size_t l = t.len > 7 ? t.len - 3 : 4; l < t.len; l++)
        if (ans_bag_has(b, (fd_str){t.p, l}))
            return 1;
    for (size_t i = lo; i < b->n && b->v[i].len >= t.len && !memcmp(b->v[i].p, t.p, t.len); i++)
        if (b->v[i].len - t.len <= 3)
            return 1;
    return 0;
}

static int has_digit(fd_str t)
{
    for (size_t i = 0; i < t.len; i++)
        if (isdigit((unsigned char)t.p[i]))
            return 1;
    return 0;
}

/* Long terms are rarer and say more; one-letter leftovers say little. */
static double term_weight(fd_str t)
{
    return t.len <= 2 ? 0.5 : 1.0;
}

int ans_overlap_prepare(const ans_bag *sent, int (*skip)(fd_str), fd_arena *a, ans_overlap_q *out)
{
    memset(out, 0, sizeof *out);
    fd_str *t = fd_arena_alloc(a, (sent->n + 1) * sizeof *t);
    double *w = fd_arena_alloc(a, (sent->n + 1) * sizeof *w);
    if (!t || !w)
        return FD_ENOMEM;
    for (size_t i = 0; i < sent->n; i++) {
        if (has_digit(sent->v[i]) || (skip && skip(sent->v[i])))
            continue;
        t[out->n] = sent->v[i];
        w[out->n] = term_weight(sent->v[i]);
        out->total += w[out->n++];
    }
    out->t = t;
    out->w = w;
    return FD_OK;
}

double ans_overlap_with(const ans_overlap_q *q, const ans_bag *src)
{
    double have = 0;
    for (size_t i = 0; i < q->n; i++)
        if (ans_bag_has(src, q->t[i]))
            have += q->w[i];
    return q->total > 0 ? have / q->total : 1.0;
}

double ans_overlap(const ans_bag *sent, const ans_bag *src, int (*skip)(fd_str), size_t *n_counted)
{
    double have = 0, total = 0;
    size_t counted = 0;
    for (size_t i = 0; i < sent->n; i++) {
        fd_str t = sent->v[i];
        if (has_digit(t) || (skip && skip(t)))
            continue; /* numbers are the claim checks' job */
        double w = term_weight(t);
        counted++;
        total += w;
        if (ans_bag_has(src, t))
            have += w;
    }
    if (n_counted)
        *n_counted = counted;
    return total > 0 ? have / total : 1.0;
}

/* Word at i of folded text equals w (ASCII, word boundaries both sides). */
static int word_at(fd_str f, size_t i, const char *w)
{
    size_t n = strlen(w);
    if (i + n > f.len || memcmp(f.p + i, w, n))
        return 0;
    if (i > 0 && isalnum((unsigned char)f.p[i - 1]))
        return 0;
    return i + n == f.len || !isalnum((unsigned char)f.p[i + n]);
}

int ans_negated(fd_str f)
{
    static const char *const neg[] = {"not",     "no",   "never",   "cannot", "none",   "nothing",
                                      "neither", "nor",  "without", "pas",    "jamais", "aucun",
                                      "aucune",  "sans", "ni",      "non"};
    /* Per byte, only what can start there: most bytes start no word of
     * the list (this runs on every sentence of every passage validated). */
    for (size_t i = 0; i < f.len; i++) {
        if (f.p[i] == 'n' && i + 3 <= f.len &&
            (!memcmp(f.p + i, "n't", 3) || !memcmp(f.p + i, "n\xe2\x80\x99t", 3)))
            return 1;
        if (i > 0 && isalnum((unsigned char)f.p[i - 1]))
            continue; /* word_at wants a word's start */
        for (size_t k = 0; k < sizeof neg / sizeof *neg; k++)
            if (neg[k][0] == f.p[i] && word_at(f, i, neg[k]) &&
                !(i + strlen(neg[k]) < f.len && f.p[i + strlen(neg[k])] == '-'))
                return 1; /* "non-defective", "no-show" qualify a noun */
    }
    return 0;
}

int ans_folded_contains(fd_str hay, fd_str needle, fd_arena *a)
{
    fd_str h, nd;
    if (!needle.len)
        return 0;
    if (fd_text_fold(hay, a, &h, NULL) || fd_text_fold(needle, a, &nd, NULL) || !nd.len)
        return 0;
    return ans_folded_has(h, nd);
}

int ans_folded_has(fd_str h, fd_str nd)
{
    if (!nd.len)
        return 0;
    for (size_t i = 0; i + nd.len <= h.len; i++) {
        if (memcmp(h.p + i, nd.p, nd.len))
            continue;
        int left = i == 0 || !isalnum((unsigned char)h.p[i - 1]);
        int right = i + nd.len == h.len || !isalnum((unsigned char)h.p[i + nd.len]);
        if (left && right)
            return 1;
    }
    return 0;
}

int ans_oom(fd_arena *a, fd_err *err)
{
    if (fd_arena_full(a))
        return fd_err_set(err, FD_ETOOBIG, "answer: arena cap reached");
    return fd_err_set(err, FD_ENOMEM, "answer: out of memory");
}

fd_lang ans_passage_lang(const fd_passage *p)
{
    /* known from ingest: guessing per message cost 8% of a turn */
    if (p->lang > FD_LANG_UNKNOWN && p->lang < FD__NLANGS)
        return (fd_lang)p->lang;
    fd_lang l = p->text ? fd_text_guess_lang(fd_str_c(p->text)) : FD_LANG_UNKNOWN;
    if (l != FD_LANG_UNKNOWN)
        return l;
    if (p->doc_key && strstr(p->doc_key, "/fr/"))
        return FD_LANG_FR;
    return FD_LANG_EN;
}
