/* thesaurus.c: synonyms from the packaged thesauri, read in place.
 *
 * English: Princeton WordNet 3.0 (Debian's wordnet-base). Each index.<pos>
 * file is sorted by lemma, and a synset's offset is its byte offset in
 * data.<pos>, so a lookup is a binary search in the mapped index and a
 * read at an offset: nothing is loaded at start. Inflected forms reach
 * their lemma by WordNet's own suffix rules ("refunds" -> "refund").
 * French: the LibreOffice thesaurus (mythes-fr, thes_fr.idx/.dat), the same
 * way: a sorted word|offset index and meanings at that offset.
 *
 * Both are noisy (WordNet's rarer senses, mythes' loose "synonyms"): the
 * caller only takes the first senses and only synonyms its knowledge base
 * uses (answer/normalize.c). */
#include "text_int.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct mapped {
    const char *p;
    size_t len;
} mapped;

enum { WN_NOUN, WN_VERB, WN_ADJ, WN_ADV, WN__N };
static const char *const wn_pos[WN__N] = {"noun", "verb", "adj", "adv"};

struct fd_thesaurus {
    mapped wn_index[WN__N], wn_data[WN__N];
    mapped fr_index, fr_data;
};

static void map_file(const char *path, mapped *m)
{
    m->p = NULL;
    m->len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    struct stat st;
    if (fstat(fd, &st) == 0 && st.st_size > 0) {
        void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p != MAP_FAILED) {
            m->p = p;
            m->len = (size_t)st.st_size;
        }
    }
    close(fd);
}

static void unmap(mapped *m)
{
    if (m->p)
        munmap((void *)m->p, m->len);
    m->p = NULL;
}

int fd_thesaurus_open(const char *wordnet_dir, const char *mythes_fr, fd_thesaurus **out,
                      fd_err *err)
{
    fd_thesaurus *th = fd_calloc(1, sizeof *th);
    if (!th)
        return fd_err_set(err, FD_ENOMEM, "thesaurus: out of memory");
    char path[1024];
    for (int i = 0; wordnet_dir && wordnet_dir[0] && i < WN__N; i++) {
        snprintf(path, sizeof path, "%s/index.%s", wordnet_dir, wn_pos[i]);
        map_file(path, &th->wn_index[i]);
        snprintf(path, sizeof path, "%s/data.%s", wordnet_dir, wn_pos[i]);
        map_file(path, &th->wn_data[i]);
    }
    if (mythes_fr && mythes_fr[0]) {
        snprintf(path, sizeof path, "%s.idx", mythes_fr);
        map_file(path, &th->fr_index);
        snprintf(path, sizeof path, "%s.dat", mythes_fr);
        map_file(path, &th->fr_data);
    }
    *out = th;
    return FD_OK;
}

int fd_thesaurus_has(const fd_thesaurus *th, fd_lang lang)
{
    if (!th)
        return 0;
    if (lang == FD_LANG_FR)
        return th->fr_index.p && th->fr_data.p;
    return th->wn_index[WN_NOUN].p && th->wn_data[WN_NOUN].p;
}

void fd_thesaurus_free(fd_thesaurus *th)
{
    if (!th)
        return;
    for (int i = 0; i < WN__N; i++) {
        unmap(&th->wn_index[i]);
        unmap(&th->wn_data[i]);
    }
    unmap(&th->fr_index);
    unmap(&th->fr_data);
    fd_free(th);
}

/* ---- a sorted line file: the line whose key (up to sep) is word ---------- */

static const char *line_start(const mapped *m, size_t at)
{
    while (at > 0 && m->p[at - 1] != '\n')
        at--;
    return m->p + at;
}

/* Compares the key of the line at l (ended by sep) with w[0..n). */
static int key_cmp(const char *l, const char *end, char sep, const char *w, size_t n)
{
    size_t i = 0;
    for (; l + i < end && l[i] != sep && l[i] != '\n'; i++) {
        if (i == n)
            return 1;
        unsigned char a = (unsigned char)l[i], b = (unsigned char)w[i];
        if (a != b)
            return a < b ? -1 : 1;
    }
    return i == n ? 0 : -1;
}

static const char *find_line(const mapped *m, size_t from, char sep, const char *w, size_t n)
{
    if (!m->p || from >= m->len)
        return NULL;
    const char *end = m->p + m->len;
    size_t lo = from, hi = m->len;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *l = line_start(m, mid);
        if ((size_t)(l - m->p) < from)
            l = m->p + from;
        int c = key_cmp(l, end, sep, w, n);
        if (c == 0)
            return l;
        if (c < 0) {
            const char *nl = memchr(l, '\n', (size_t)(end - l));
            if (!nl)
                return NULL;
            lo = (size_t)(nl + 1 - m->p);
        } else {
            hi = (size_t)(l - m->p);
        }
    }
    return NULL;
}

/* ---- English: WordNet ------------------------------------------------------ */

typedef int (*syn_cb)(void *ctx, const char *syn, size_t len);

/* The lemmas of the synset at offset in data (spaces for '_'), but w. */
static int wn_synset(const mapped *data, size_t off, const char *w, size_t n, syn_cb cb, void *ctx)
{
    if (off >= data->len)
        return 0;
    const char *p = data->p + off, *end = data->p + data->len;
    unsigned long o, lex;
    char type;
    unsigned cnt;
    int used = 0;
    if (sscanf(p, "%lu %lu %c %x%n", &o, &lex, &type, &cnt, &used) != 4 || o != off)
        return 0;
    p += used;
    for (unsigned i = 0; i < cnt && p < end; i++) {
        while (p < end && *p == ' ')
            p++;
        const char *s = p;
        while (p < end && *p != ' ' && *p != '\n')
            p++;
        size_t len = (size_t)(p - s);
        char lemma[64];
        if (len && len < sizeof lemma) {
            for (size_t k = 0; k < len; k++)
                lemma[k] =
                    s[k] == '_' ? ' ' : (char)(s[k] | (s[k] >= 'A' && s[k] <= 'Z' ? 0x20 : 0));
            /* adjectives may carry a marker: "big(a)" */
            char *par = memchr(lemma, '(', len);
            if (par)
                len = (size_t)(par - lemma);
            if (!(len == n && memcmp(lemma, w, n) == 0) && cb(ctx, lemma, len))
                return 1;
        }
        while (p < end && *p == ' ')
            p++;
        while (p < end && *p != ' ' && *p != '\n') /* lex_id */
            p++;
    }
    return 0;
}

/* The first max_senses synsets of lemma w in one part of speech. */
static int wn_lemma(const fd_thesaurus *th, int pos, const char *w, size_t n, int max_senses,
                    syn_cb cb, void *ctx)
{
    const mapped *ix = &th->wn_index[pos];
    const char *l = find_line(ix, 0, ' ', w, n);
    if (!l)
        return 0;
    const char *end = memchr(l, '\n', (size_t)(ix->p + ix->len - l));
    if (!end)
        end = ix->p + ix->len;
    /* lemma pos synset_cnt p_cnt [ptr...] sense_cnt tagsense_cnt offsets... */
    char line[4096];
    size_t len = (size_t)(end - l) < sizeof line - 1 ? (size_t)(end - l) : sizeof line - 1;
    memcpy(line, l, len);
    line[len] = '\0';
    char *save = NULL, *tok = strtok_r(line, " ", &save);
    int field = 0, synsets = 0, ptrs = 0, seen = 0;
    while (tok) {
        field++;
        if (field == 3)
            synsets = atoi(tok);
        else if (field == 4)
            ptrs = atoi(tok);
        else if (field > 6 + ptrs && seen < synsets && seen < max_senses) {
            seen++;
            if (wn_synset(&th->wn_data[pos], strtoul(tok, NULL, 10), w, n, cb, ctx))
                return 1;
        }
        tok = strtok_r(NULL, " ", &save);
    }
    return 0;
}

/* WordNet's detachment rules (morphy), per part of speech. */
static const struct {
    int pos;
    const char *suffix, *ending;
} morphy[] = {
    {WN_NOUN, "s", ""},      {WN_NOUN, "ses", "s"},   {WN_NOUN, "xes", "x"},
    {WN_NOUN, "zes", "z"},   {WN_NOUN, "ches", "ch"}, {WN_NOUN, "shes", "sh"},
    {WN_NOUN, "men", "man"}, {WN_NOUN, "ies", "y"},   {WN_VERB, "s", ""},
    {WN_VERB, "ies", "y"},   {WN_VERB, "es", "e"},    {WN_VERB, "es", ""},
    {WN_VERB, "ed", "e"},    {WN_VERB, "ed", ""},     {WN_VERB, "ing", "e"},
    {WN_VERB, "ing", ""},    {WN_ADJ, "er", ""},      {WN_ADJ, "est", ""},
    {WN_ADJ, "er", "e"},     {WN_ADJ, "est", "e"},
};

static int wn_each(const fd_thesaurus *th, const char *w, size_t n, int max_senses, syn_cb cb,
                   void *ctx)
{
    for (int pos = 0; pos < WN__N; pos++)
        if (th->wn_index[pos].p && wn_lemma(th, pos, w, n, max_senses, cb, ctx))
            return 1;
    for (size_t i = 0; i < sizeof morphy / sizeof *morphy; i++) {
        size_t sl = strlen(morphy[i].suffix), el = strlen(morphy[i].ending);
        if (n <= sl || memcmp(w + n - sl, morphy[i].suffix, sl) != 0 || n - sl + el >= 64)
            continue;
        char base[64];
        memcpy(base, w, n - sl);
        memcpy(base + n - sl, morphy[i].ending, el);
        if (th->wn_index[morphy[i].pos].p &&
            wn_lemma(th, morphy[i].pos, base, n - sl + el, max_senses, cb, ctx))
            return 1;
    }
    return 0;
}

/* ---- French: mythes --------------------------------------------------------- */

static int fr_each(const fd_thesaurus *th, const char *w, size_t n, int max_senses, syn_cb cb,
                   void *ctx)
{
    const mapped *ix = &th->fr_index, *dat = &th->fr_data;
    /* Two header lines: the encoding and the count. */
    const char *body = ix->p;
    for (int i = 0; i < 2 && body; i++) {
        body = memchr(body, '\n', (size_t)(ix->p + ix->len - body));
        body = body ? body + 1 : NULL;
    }
    if (!body)
        return 0;
    const char *l = find_line(ix, (size_t)(body - ix->p), '|', w, n);
    if (!l)
        return 0;
    size_t off = strtoul(l + n + 1, NULL, 10);
    if (off >= dat->len)
        return 0;
    const char *p = dat->p + off, *end = dat->p + dat->len;
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    if (!nl)
        return 0;
    int meanings =
        atoi(memchr(p, '|', (size_t)(nl - p)) ? (char *)memchr(p, '|', (size_t)(nl - p)) + 1 : "0");
    p = nl + 1;
    for (int m = 0; m < meanings && m < max_senses && p < end; m++) {
        nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            nl = end;
        const char *s = memchr(p, '|', (size_t)(nl - p)); /* past "(Nom)" */
        while (s && s < nl) {
            const char *e = memchr(s + 1, '|', (size_t)(nl - s - 1));
            if (!e)
                e = nl;
            size_t len = (size_t)(e - s - 1);
            if (len && !(len == n && memcmp(s + 1, w, n) == 0) && cb(ctx, s + 1, len))
                return 1;
            s = e < nl ? e : NULL;
        }
        p = nl + 1;
    }
    return 0;
}

void fd_thesaurus_each(const fd_thesaurus *th, fd_lang lang, const char *w, size_t n,
                       int max_senses, int (*cb)(void *ctx, const char *syn, size_t len), void *ctx)
{
    if (!th || !n || n >= 64)
        return;
    if (lang == FD_LANG_FR)
        fr_each(th, w, n, max_senses, cb, ctx);
    else
        wn_each(th, w, n, max_senses, cb, ctx);
}
