/* cli_eval_generate.c: frontdesk eval generate --kb DIR --out OUT
 *     [--seed N] [--leave-out F] [--json]
 *
 * A synthetic evaluation set for any knowledge-base folder (issue 12), so a
 * company can measure answers on its own documents before its customers
 * do, and CI can on KBs nobody wrote questions for. From every Markdown or
 * text section that states a fact (an amount, a number, a time, "free"):
 *   - a heading question, typed casually ("whats the deal with delivery
 *     fees?"), expecting one of the section's facts;
 *   - a cloze question: the fact's sentence with the fact taken out, one
 *     word typo'd in every other question;
 *   - leave-section-out negatives: a share F of the sections (default 0.25)
 *     is cut out of OUT's copy of the documents, and their questions become
 *     unanswerable, near misses beside sections that stay;
 *   - two-turn dialogs: the heading question, then a follow-up on the
 *     section's next fact that no longer names the topic.
 * OUT gets docs/ (the edited copy), the KB's other files, cases.jsonl and
 * dialogs.jsonl in eval answers' format: `frontdesk eval answers --kb OUT`.
 * HTML and CSV documents are copied unchanged and yield no questions. The
 * same seed gives the same set. OUT must not exist: nothing is overwritten. */
#include "cli_int.h"
#include "text.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_FACTS 4

typedef struct section {
    size_t first, end; /* lines [first, end): the heading and its text, to the next heading */
    size_t cut_end;    /* end of what leaving it out removes (next heading of its level or above) */
    int level;         /* 1..6; 0: text before any heading */
    char heading[160];
    char facts[MAX_FACTS][64];
    int n_facts;
    char fact_sentence[2][400]; /* the first two sentences holding a fact */
    char sentence_fact[2][64];  /* the fact each of them holds */
    int n_sentences;
    int left_out;
} section;

typedef struct gen {
    uint64_t rng;
    double leave_out;
    json_t *cases, *dialogs;
    size_t n_answerable, n_unanswerable, n_sections, n_left_out, n_docs, n_copied;
} gen;

static uint64_t next_rand(gen *g)
{
    /* xorshift64*: reproducible across machines for one seed */
    g->rng ^= g->rng >> 12;
    g->rng ^= g->rng << 25;
    g->rng ^= g->rng >> 27;
    return g->rng * 2685821657736338717ull;
}

static size_t pick(gen *g, size_t n)
{
    return n ? (size_t)(next_rand(g) % n) : 0;
}

/* A word that states a fact: holds a digit or a currency sign, or is "free". */
static int is_fact_word(const char *w, size_t n)
{
    if (n == 4 && strncmp(w, "free", 4) == 0)
        return 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)w[i];
        if ((c >= '0' && c <= '9') || c == '$' || (c == 0xC2 && i + 1 < n && w[i + 1] == (char)0xA3) ||
            (c == 0xE2 && i + 2 < n && w[i + 1] == (char)0x82 && w[i + 2] == (char)0xAC))
            return 1; /* digit, $, £ (C2 A3), € (E2 82 AC) */
    }
    return 0;
}

static int all_digits(const char *w, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((w[i] < '0' || w[i] > '9') && w[i] != '.' && w[i] != ',')
            return 0;
    return n > 0;
}

/* The first fact in sentence s: the fact word without trailing punctuation,
 * with the next word when it is a bare number ("24 hours", "3 days").
 * Returns its start in s and fills fact; -1 when none. */
static long find_fact(const char *s, char *fact, size_t cap, size_t *span)
{
    size_t i = 0, n = strlen(s);
    while (i < n) {
        while (i < n && s[i] == ' ')
            i++;
        size_t b = i;
        while (i < n && s[i] != ' ')
            i++;
        size_t e = i;
        while (e > b && strchr(".,;:!?)*\"'", s[e - 1]))
            e--;
        while (b < e && strchr("(*\"'", s[b]))
            b++;
        if (e > b && is_fact_word(s + b, e - b)) {
            size_t fe = e;
            if (all_digits(s + b, e - b)) {
                size_t j = i;
                while (j < n && s[j] == ' ')
                    j++;
                size_t k = j;
                while (k < n && s[k] >= 'a' && s[k] <= 'z')
                    k++;
                /* a unit after a bare number ("24 hours"), not a small word
                 * of the sentence ("2009 in Jurong") */
                static const char *const small = " in on at to of or and the a an for by with from per is are was ";
                char w[16];
                if (k > j && k - j < sizeof w - 2) {
                    snprintf(w, sizeof w, " %.*s ", (int)(k - j), s + j);
                    if (!strstr(small, w))
                        fe = k;
                }
            }
            size_t len = fe - b < cap - 1 ? fe - b : cap - 1;
            memcpy(fact, s + b, len);
            fact[len] = '\0';
            *span = fe - b;
            return (long)b;
        }
    }
    return -1;
}

static void lower_ascii(char *s)
{
    for (; *s; s++)
        if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s - 'A' + 'a');
}

/* One typo the way people make them: two neighbouring letters swapped in
 * a word of 6+ ASCII letters (the first letter kept). */
static void typo(gen *g, char *s)
{
    size_t starts[64], n = 0, len = strlen(s);
    for (size_t i = 0; i < len && n < 64; i++) {
        if ((i == 0 || s[i - 1] == ' ')) {
            size_t k = i;
            while (k < len && s[k] >= 'a' && s[k] <= 'z')
                k++;
            if (k - i >= 6 && (k == len || s[k] == ' ' || s[k] == '?'))
                starts[n++] = i;
        }
    }
    if (!n)
        return;
    size_t w = starts[pick(g, n)], k = 1 + pick(g, 3);
    char t = s[w + k];
    s[w + k] = s[w + k + 1];
    s[w + k + 1] = t;
}

/* Markdown sections: a '#' line starts one; text before the first heading
 * is a section of level 0 (never left out). */
static size_t split_sections(char **lines, size_t n_lines, section *sec, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < n_lines && n < max; i++) {
        int level = 0;
        while (lines[i][level] == '#')
            level++;
        int heading = level > 0 && level <= 6 && lines[i][level] == ' ';
        if (!heading && !(i == 0))
            continue;
        section *s = &sec[n++];
        memset(s, 0, sizeof *s);
        s->first = i;
        s->level = heading ? level : 0;
        if (heading)
            snprintf(s->heading, sizeof s->heading, "%s", lines[i] + level + 1);
    }
    for (size_t k = 0; k < n; k++) {
        sec[k].end = k + 1 < n ? sec[k + 1].first : n_lines;
        sec[k].cut_end = n_lines;
        for (size_t j = k + 1; j < n; j++)
            if (sec[j].level && sec[j].level <= sec[k].level) {
                sec[k].cut_end = sec[j].first;
                break;
            }
    }
    return n;
}

/* Facts and fact sentences of one section's text. */
static void read_facts(section *s, char **lines)
{
    for (size_t i = s->first + (s->level ? 1 : 0); i < s->end; i++) {
        char *line = lines[i];
        while (*line == ' ' || *line == '-' || *line == '*' || *line == '|' || *line == '>')
            line++;
        /* sentences: split after ". " */
        char *p = line;
        while (*p) {
            char *q = strstr(p, ". ");
            size_t len = q ? (size_t)(q - p) + 1 : strlen(p);
            char sent[400];
            snprintf(sent, sizeof sent, "%.*s", (int)(len < sizeof sent - 1 ? len : sizeof sent - 1), p);
            char fact[64];
            size_t span;
            if (strlen(sent) >= 12 && find_fact(sent, fact, sizeof fact, &span) >= 0) {
                int dup = 0;
                for (int f = 0; f < s->n_facts; f++)
                    dup |= strcmp(s->facts[f], fact) == 0;
                if (!dup && s->n_facts < MAX_FACTS)
                    snprintf(s->facts[s->n_facts++], 64, "%s", fact);
                if (s->n_sentences < 2) {
                    snprintf(s->fact_sentence[s->n_sentences], 400, "%s", sent);
                    snprintf(s->sentence_fact[s->n_sentences], 64, "%s", fact);
                    s->n_sentences++;
                }
            }
            p += len;
            while (*p == ' ')
                p++;
        }
    }
}

/* How customers ask about a topic, per language of the document. */
static const char *const HEADING_EN[] = {
    "%s?", "what about %s", "whats the deal with %s?", "info on %s pls", "can u tell me about %s",
    "question about %s",
};
static const char *const HEADING_FR[] = {
    "%s ?", "c'est quoi %s", "infos sur %s svp", "j'ai une question sur %s", "et pour %s ?",
    "vous pouvez m'expliquer %s",
};
#define N_FORMS (sizeof HEADING_EN / sizeof HEADING_EN[0])
_Static_assert(sizeof HEADING_FR / sizeof HEADING_FR[0] == N_FORMS, "as many forms in each language");

static void heading_question(gen *g, const section *s, int fr, char *out, size_t cap)
{
    char h[160];
    snprintf(h, sizeof h, "%s", s->heading);
    lower_ascii(h);
    snprintf(out, cap, (fr ? HEADING_FR : HEADING_EN)[pick(g, N_FORMS)], h);
}

/* The sentence without its fact, as a question: "Delivery to Sentosa costs ?" */
static void cloze_question(gen *g, const char *sent, int with_typo, char *out, size_t cap)
{
    char fact[64];
    size_t span = 0;
    long at = find_fact(sent, fact, sizeof fact, &span);
    char q[420];
    if (at < 0)
        snprintf(q, sizeof q, "%s", sent);
    else
        snprintf(q, sizeof q, "%.*s%s", (int)at, sent, sent + at + span);
    /* the gap the fact left: one space; Markdown emphasis is not typed */
    size_t n = 0;
    for (size_t i = 0; q[i]; i++)
        if (!(q[i] == ' ' && (n == 0 || q[n - 1] == ' ')) && q[i] != '*' && q[i] != '`')
            q[n++] = q[i];
    q[n] = '\0';
    while (n && strchr(" .:;,", q[n - 1]))
        q[--n] = '\0';
    lower_ascii(q);
    if (with_typo)
        typo(g, q);
    snprintf(out, cap, "%s?", q);
}

static json_t *expect_of(const section *s)
{
    json_t *a = json_array();
    for (int f = 0; f < s->n_facts; f++)
        json_array_append_new(a, json_string(s->facts[f]));
    return a;
}

static void add_case(gen *g, const char *doc, const section *s, const char *q, json_t *expect)
{
    json_t *o = json_object();
    char id[64];
    snprintf(id, sizeof id, "gen-%zu", json_array_size(g->cases) + 1);
    json_object_set_new(o, "id", json_string(id));
    json_object_set_new(o, "question", json_string(q));
    json_object_set_new(o, "answerable", json_boolean(!s->left_out));
    if (!s->left_out) {
        json_object_set_new(o, "expect_any", expect);
        json_object_set_new(o, "source", json_string(doc));
        g->n_answerable++;
    } else {
        json_decref(expect);
        json_object_set_new(o, "left_out_section", json_string(s->heading));
        json_object_set_new(o, "left_out_of", json_string(doc));
        g->n_unanswerable++;
    }
    json_array_append_new(g->cases, o);
}

static int write_lines(const char *path, char **lines, size_t n, const section *sec, size_t n_sec,
                       fd_err *err)
{
    FILE *f = fopen(path, "wx");
    if (!f)
        return fd_err_set(err, FD_EIO, "cannot create %s: %s", path, strerror(errno));
    for (size_t i = 0; i < n; i++) {
        int cut = 0;
        for (size_t k = 0; k < n_sec && !cut; k++)
            cut = sec[k].left_out && i >= sec[k].first && i < sec[k].cut_end;
        if (!cut)
            fprintf(f, "%s\n", lines[i]);
    }
    return fclose(f) == 0 ? FD_OK : fd_err_set(err, FD_EIO, "cannot write %s", path);
}

static int copy_file(const char *from, const char *to, fd_err *err)
{
    char *p = NULL;
    size_t n = 0;
    int rc = fd_file_read(from, (size_t)1 << 30, &p, &n, err);
    if (rc)
        return rc;
    FILE *f = fopen(to, "wx");
    if (!f) {
        fd_free(p);
        return fd_err_set(err, FD_EIO, "cannot create %s: %s", to, strerror(errno));
    }
    size_t w = fwrite(p, 1, n, f);
    fd_free(p);
    if (fclose(f) != 0 || w != n)
        return fd_err_set(err, FD_EIO, "cannot write %s", to);
    return FD_OK;
}

static int ends_with(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && strcmp(s + n - m, suf) == 0;
}

/* One document: sections, left-out choice, questions, the edited copy. */
static int one_doc(gen *g, const char *path, const char *name, const char *out_path, fd_err *err)
{
    if (!ends_with(name, ".md") && !ends_with(name, ".txt")) {
        g->n_copied++;
        return copy_file(path, out_path, err);
    }
    char *text = NULL;
    size_t len = 0;
    int rc = fd_file_read(path, (size_t)64 << 20, &text, &len, err);
    if (rc)
        return rc;
    size_t max_lines = 1;
    for (size_t i = 0; i < len; i++)
        max_lines += text[i] == '\n';
    /* a section per line at most: nothing is cut short, however long */
    char **lines = fd_calloc(max_lines, sizeof *lines);
    section *sec = fd_calloc(max_lines, sizeof *sec);
    if (!lines || !sec) {
        fd_free(lines);
        fd_free(sec);
        fd_free(text);
        return fd_err_set(err, FD_ENOMEM, "out of memory");
    }
    /* the document's language picks the question forms (before the text
     * is cut into lines) */
    int fr = fd_text_guess_lang((fd_str){text, len}) == FD_LANG_FR;
    size_t n_lines = 0;
    /* every line, blank ones too: the copy must differ only by what is cut */
    for (char *l = text; l && *l && n_lines < max_lines;) {
        char *nl = strchr(l, '\n');
        if (nl)
            *nl = '\0';
        lines[n_lines++] = l;
        l = nl ? nl + 1 : NULL;
    }
    size_t n_sec = split_sections(lines, n_lines, sec, max_lines);
    for (size_t k = 0; k < n_sec; k++) {
        read_facts(&sec[k], lines);
        /* a section with a heading and a fact may be left out: a near miss */
        if (sec[k].level >= 2 && sec[k].n_facts && sec[k].heading[0] &&
            (double)(next_rand(g) >> 11) / 9007199254740992.0 < g->leave_out)
            sec[k].left_out = 1;
    }
    /* a sub-section inside a left-out one goes with it */
    for (size_t k = 0; k < n_sec; k++)
        for (size_t j = 0; j < n_sec; j++)
            if (sec[j].left_out && sec[k].first > sec[j].first && sec[k].first < sec[j].cut_end)
                sec[k].left_out = 1;
    for (size_t k = 0; k < n_sec; k++) {
        section *s = &sec[k];
        if (!s->n_facts)
            continue;
        g->n_sections++;
        g->n_left_out += s->left_out;
        char q[480];
        if (s->heading[0]) {
            heading_question(g, s, fr, q, sizeof q);
            add_case(g, name, s, q, expect_of(s));
        }
        cloze_question(g, s->fact_sentence[0], json_array_size(g->cases) % 2 == 0, q, sizeof q);
        json_t *one = json_array();
        json_array_append_new(one, json_string(s->sentence_fact[0]));
        add_case(g, name, s, q, one);
        if (s->heading[0] && s->n_sentences == 2 && !s->left_out) {
            /* turn 2 no longer names the topic: only the session knows it */
            json_t *turns = json_array(), *t1 = json_object(), *t2 = json_object();
            heading_question(g, s, fr, q, sizeof q);
            json_object_set_new(t1, "user", json_string(q));
            json_object_set_new(t1, "expect_any", expect_of(s));
            char c2[480], q2[500];
            cloze_question(g, s->fact_sentence[1], 0, c2, sizeof c2);
            snprintf(q2, sizeof q2, "%s %s", fr ? "et" : "and", c2);
            json_t *e2 = json_array();
            json_array_append_new(e2, json_string(s->sentence_fact[1]));
            json_object_set_new(t2, "user", json_string(q2));
            json_object_set_new(t2, "expect_any", e2);
            json_array_append_new(turns, t1);
            json_array_append_new(turns, t2);
            json_t *d = json_object();
            char id[64];
            snprintf(id, sizeof id, "gen-d%zu", json_array_size(g->dialogs) + 1);
            json_object_set_new(d, "id", json_string(id));
            json_object_set_new(d, "turns", turns);
            json_array_append_new(g->dialogs, d);
        }
    }
    rc = write_lines(out_path, lines, n_lines, sec, n_sec, err);
    g->n_docs++;
    fd_free(lines);
    fd_free(sec);
    fd_free(text);
    return rc;
}

/* Every file of src into dst: docs/ with its sub-folders (rel is the path
 * below docs/, which cases cite), or (csv_only) the files beside docs/. */
static int each_doc(gen *g, const char *src, const char *dst, const char *rel, int csv_only,
                    fd_err *err)
{
    DIR *d = opendir(src);
    if (!d)
        return fd_err_set(err, FD_EIO, "cannot read %s: %s", src, strerror(errno));
    char *names[4096];
    size_t n = 0;
    int rc = FD_OK;
    struct dirent *e;
    while (!rc && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        /* beside docs/: every file of the KB (CSVs, commerce.toml,
         * escalation.toml...) but the case files themselves */
        if (csv_only && ends_with(e->d_name, ".jsonl"))
            continue;
        /* a file left out would silently shrink the copy: refuse instead */
        if (n == sizeof names / sizeof names[0])
            rc = fd_err_set(err, FD_ETOOBIG, "%s has more than %zu files", src,
                            sizeof names / sizeof names[0]);
        else if (!(names[n] = strdup(e->d_name)))
            rc = fd_err_set(err, FD_ENOMEM, "out of memory");
        else
            n++;
    }
    closedir(d);
    /* directory order differs between machines; the seed must not */
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            char *t = names[j];
            names[j] = names[j - 1];
            names[j - 1] = t;
        }
    for (size_t i = 0; i < n; i++) {
        char from[1200], to[1200], sub[600];
        snprintf(from, sizeof from, "%s/%s", src, names[i]);
        snprintf(to, sizeof to, "%s/%s", dst, names[i]);
        snprintf(sub, sizeof sub, "%s%s%s", rel, rel[0] ? "/" : "", names[i]);
        struct stat st;
        if (!rc && stat(from, &st) == 0) {
            if (S_ISREG(st.st_mode))
                rc = csv_only ? copy_file(from, to, err) : one_doc(g, from, sub, to, err);
            else if (S_ISDIR(st.st_mode) && !csv_only) {
                rc = fd_mkdirs(to, err);
                if (!rc)
                    rc = each_doc(g, from, to, sub, 0, err);
            }
        }
        free(names[i]);
    }
    return rc;
}

static int write_jsonl(const char *path, json_t *arr, fd_err *err)
{
    FILE *f = fopen(path, "wx");
    if (!f)
        return fd_err_set(err, FD_EIO, "cannot create %s: %s", path, strerror(errno));
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        char *s = json_dumps(v, JSON_COMPACT | JSON_ENSURE_ASCII);
        if (s)
            fprintf(f, "%s\n", s);
        free(s);
    }
    return fclose(f) == 0 ? FD_OK : fd_err_set(err, FD_EIO, "cannot write %s", path);
}

int cli_eval_generate(cli_ctx *c)
{
    static const struct option opts[] = {{"kb", required_argument, NULL, 'k'},
                                         {"out", required_argument, NULL, 'o'},
                                         {"seed", required_argument, NULL, 's'},
                                         {"leave-out", required_argument, NULL, 'l'},
                                         {"json", no_argument, NULL, 'j'},
                                         {0, 0, 0, 0}};
    const char *kb = NULL, *out = NULL, *seed_s = "1", *leave_s = "0.25";
    int o;
    fd_err err = {0};
    cli_reset_getopt();
    while ((o = getopt_long(c->argc, c->argv, "", opts, NULL)) != -1) {
        if (o == 'k')
            kb = optarg;
        else if (o == 'o')
            out = optarg;
        else if (o == 'j')
            c->json = 1;
        else if (o == 's')
            seed_s = optarg;
        else if (o == 'l')
            leave_s = optarg;
        else
            return cli_usage("eval");
    }
    if (!kb || !out || optind != c->argc)
        return cli_usage("eval");
    /* values checked once every option is read, so --json anywhere counts */
    char *end = NULL;
    errno = 0;
    unsigned long long seed = strtoull(seed_s, &end, 10);
    if (errno || !*seed_s || *end || *seed_s == '-') {
        fd_err_set_field(&err, FD_EINVAL, "seed", "--seed must be a whole number: %s", seed_s);
        return cli_fail(c, &err);
    }
    double leave = strtod(leave_s, &end);
    if (!*leave_s || *end || !(leave >= 0 && leave <= 0.9)) {
        fd_err_set_field(&err, FD_EINVAL, "leave-out", "--leave-out must be a share from 0 to 0.9: %s",
                         leave_s);
        return cli_fail(c, &err);
    }
    struct stat st;
    if (stat(out, &st) == 0) {
        fd_err_set_field(&err, FD_ECONFLICT, "out",
                         "%s already exists: give a new folder (nothing is overwritten)", out);
        return cli_fail(c, &err);
    }
    char docs[1100], out_docs[1100];
    snprintf(docs, sizeof docs, "%s/docs", kb);
    int has_docs = stat(docs, &st) == 0 && S_ISDIR(st.st_mode);
    if (!has_docs) {
        if (stat(kb, &st) != 0 || !S_ISDIR(st.st_mode)) {
            fd_err_set_field(&err, FD_ENOTFOUND, "kb", "%s is not a folder", kb);
            return cli_fail(c, &err);
        }
        snprintf(docs, sizeof docs, "%s", kb);
    }
    snprintf(out_docs, sizeof out_docs, "%s/docs", out);
    gen g = {.rng = seed * 0x9E3779B97F4A7C15ull + 1, .leave_out = leave};
    g.cases = json_array();
    g.dialogs = json_array();
    int rc = g.cases && g.dialogs ? fd_mkdirs(out_docs, &err) : fd_err_set(&err, FD_ENOMEM, "out of memory");
    if (!rc)
        rc = each_doc(&g, docs, out_docs, "", 0, &err);
    if (!rc && has_docs)
        rc = each_doc(&g, kb, out, "", 1, &err);
    char path[1200];
    if (!rc) {
        snprintf(path, sizeof path, "%s/cases.jsonl", out);
        rc = write_jsonl(path, g.cases, &err);
    }
    if (!rc) {
        snprintf(path, sizeof path, "%s/dialogs.jsonl", out);
        rc = write_jsonl(path, g.dialogs, &err);
    }
    size_t n_dialogs = json_array_size(g.dialogs);
    json_decref(g.cases);
    json_decref(g.dialogs);
    if (rc) {
        cli_rmtree(out); /* no half-written set left behind */
        return cli_fail(c, &err);
    }
    if (!g.n_answerable && !g.n_unanswerable) {
        cli_rmtree(out);
        fd_err_set(&err, FD_EINVAL,
                   "no question could be made: %s has no Markdown or text section stating a fact "
                   "(an amount, a number, a time, 'free')",
                   kb);
        return cli_fail(c, &err);
    }
    if (c->json) {
        fputs("{\"out\":", stdout);
        if (cli_print_json_str(out))
            fputs("\"\"", stdout);
        printf(",\"documents\":%zu,\"copied\":%zu,\"sections_with_facts\":%zu,"
               "\"left_out\":%zu,\"answerable\":%zu,\"unanswerable\":%zu,\"dialogs\":%zu}\n",
               g.n_docs, g.n_copied, g.n_sections, g.n_left_out, g.n_answerable,
               g.n_unanswerable, n_dialogs);
    } else
        printf("wrote %s: %zu questions (%zu answerable, %zu unanswerable: %zu of %zu sections "
               "left out of the copy), %zu dialogs, from %zu documents (%zu other files copied "
               "unchanged)\nrun it: frontdesk eval answers --kb %s\n",
               out, g.n_answerable + g.n_unanswerable, g.n_answerable, g.n_unanswerable,
               g.n_left_out, g.n_sections, n_dialogs, g.n_docs, g.n_copied, out);
    return 0;
}
