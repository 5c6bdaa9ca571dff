/* replay.c: realistic, repeated customer traffic against `frontdesk serve`,
 * to measure the answer caches: `gen` writes deterministic multi-turn
 * sessions from a question bank, `run` replays them with U concurrent users
 * and prints one JSON object (latency, hits per cache layer, LLM calls,
 * cost, wrong hits found by re-asking without the cache, RSS over time). */
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>
#include <time.h>

static const char usage_text[] =
    "usage:\n"
    "  replay gen --bank questions.tsv --seed N --users U --requests R\n"
    "             [--order-share 0.08] [--complaint-share 0.05] [--followup-share 0.15]\n"
    "             [--typo-share 0.30] > traffic.jsonl\n"
    "  replay run --url http://127.0.0.1:PORT --key KEY --users U [--requests R]\n"
    "             [--duration S] [--timeout S] [--verify] [--fake-url URL]\n"
    "             [--server-pid PID] [--soak-sample S] [--no-metrics] traffic.jsonl\n"
    "\n"
    "gen: U sessions (\"users\") with R messages in all, one JSON line per message:\n"
    "  {\"user\",\"turn\",\"kind\":\"question|order|complaint|followup\",\"qid\",\"para\",\n"
    "   \"perturb\",\"message\"}. Questions follow a Zipf law (s = 1.1) over the bank's\n"
    "  question ids in a fixed shuffled order, each asked through a random paraphrase,\n"
    "  then perturbed: a typo in ~30% of messages (adjacent swap, dropped or doubled\n"
    "  letter), casing (lower, UPPER, Title), a moved clause, trailing punctuation.\n"
    "  The same arguments always give the same file.\n"
    "\n"
    "run: U users at once (libcurl multi, one keep-alive connection each) POST\n"
    "  /v1/chat; each user sends a session's turns in order, the next after the\n"
    "  previous reply, with the session_id of its first reply, then takes the next\n"
    "  session of the file. With --requests R the file is sent once, exactly (R\n"
    "  at most its size); with --duration S alone (a soak), or R above its size, it\n"
    "  starts again from the top, as new sessions. Stops after R requests or S\n"
    "  seconds, whichever comes first (at least one is needed); replies in flight\n"
    "  are waited for.\n"
    "  --timeout S      per-request limit (default 60)\n"
    "  --verify         re-ask every exact, semantic and evidence hit's message with\n"
    "                   Cache-Control: no-cache in a new session; a hit is wrong when\n"
    "                   the fresh reply cites another document set or states other\n"
    "                   facts (tokens with digits in the answer)\n"
    "  --fake-url URL   the fake LLM: its /_stats call counts before and after\n"
    "  --server-pid PID with --soak-sample S: the server's VmRSS every S seconds, and\n"
    "                   rss_flat_pct; always: its VmHWM at the end\n"
    "  --no-metrics     do not read the server's /metrics after the run\n"
    "  Prints one JSON object on stdout; progress and problems go to stderr.\n"
    "  Exit status: 0, 1 on a setup error, 2 on a usage error, 3 when every\n"
    "  request failed (the JSON is printed all the same). Ctrl-C stops starting\n"
    "  requests and prints what was measured; SIGTERM exits at once.\n";

/* ---- small helpers -------------------------------------------------------------- */

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("replay: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static void usage_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("replay: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs("\n\n", stderr);
    fputs(usage_text, stderr);
    va_end(ap);
    exit(2);
}

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        die("out of memory (%zu bytes)", n);
    return q;
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(xrealloc(NULL, n), s, n);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A growable string; p is always NUL-terminated once anything was added. */
typedef struct sbuf {
    char *p;
    size_t len, cap;
} sbuf;

static void sb_add(sbuf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = xrealloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_adds(sbuf *b, const char *s)
{
    sb_add(b, s, strlen(s));
}

static double arg_num(const char *opt, const char *v, double lo, double hi)
{
    char *end;
    errno = 0;
    double d = v ? strtod(v, &end) : 0;
    if (!v || errno || end == v || *end || d < lo || d > hi)
        usage_die("%s wants a number from %g to %g, got '%s'", opt, lo, hi, v ? v : "");
    return d;
}

/* A JSON number rounded to `digits` decimals (keeps the output readable). */
static json_t *jnum(double v, int digits)
{
    double m = pow(10, digits);
    return isfinite(v) ? json_real(round(v * m) / m) : json_null();
}

/* ---- random numbers: splitmix64, fixed so a seed means the same file everywhere -- */

typedef struct rng {
    uint64_t s;
} rng;

static uint64_t rng_next(rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double rng_unit(rng *r) /* [0, 1) */
{
    return (double)(rng_next(r) >> 11) / 9007199254740992.0;
}

static size_t rng_below(rng *r, size_t n)
{
    return n ? (size_t)(rng_unit(r) * (double)n) : 0;
}

/* ---- the question bank (questions.tsv) ------------------------------------------ */

typedef struct bline {
    char *kind, *id, *intent, *topic, *text;
} bline;

typedef struct question {
    const char *id, *topic;
    size_t first, n; /* paraphrases: lines[first .. first+n) */
} question;

typedef struct bank {
    bline *v;
    size_t n;
    question *q;
    size_t n_q;
} bank;

static void bank_load(const char *path, bank *b)
{
    FILE *f = fopen(path, "r");
    if (!f)
        die("cannot open the bank %s: %s", path, strerror(errno));
    memset(b, 0, sizeof *b);
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int ln = 0;
    while ((len = getline(&line, &cap, f)) >= 0) {
        ln++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (len == 0 || line[0] == '#')
            continue;
        char *col[5];
        int n = 0;
        char *p = line;
        while (n < 5) {
            col[n++] = p;
            char *tab = strchr(p, '\t');
            if (!tab)
                break;
            *tab = '\0';
            p = tab + 1;
        }
        if (n != 5 || strchr(col[4], '\t') || !col[4][0])
            die("%s:%d: want 5 TAB-separated columns (kind id intent topic text)", path, ln);
        const char *k = col[0];
        if (strcmp(k, "question") && strcmp(k, "order") && strcmp(k, "complaint") &&
            strcmp(k, "followup") && strcmp(k, "slot"))
            die("%s:%d: unknown kind '%s'", path, ln, k);
        b->v = xrealloc(b->v, (b->n + 1) * sizeof *b->v);
        b->v[b->n++] = (bline){xstrdup(col[0]), xstrdup(col[1]), xstrdup(col[2]), xstrdup(col[3]),
                               xstrdup(col[4])};
    }
    free(line);
    if (ferror(f))
        die("reading %s: %s", path, strerror(errno));
    fclose(f);
    /* Questions: a question id's paraphrases must be adjacent. */
    for (size_t i = 0; i < b->n; i++) {
        if (strcmp(b->v[i].kind, "question"))
            continue;
        question *last = b->n_q ? &b->q[b->n_q - 1] : NULL;
        if (last && !strcmp(last->id, b->v[i].id) && last->first + last->n == i) {
            last->n++;
            continue;
        }
        for (size_t j = 0; j < b->n_q; j++)
            if (!strcmp(b->q[j].id, b->v[i].id))
                die("%s: the paraphrases of question '%s' are not on adjacent lines", path,
                    b->v[i].id);
        b->q = xrealloc(b->q, (b->n_q + 1) * sizeof *b->q);
        b->q[b->n_q++] = (question){b->v[i].id, b->v[i].topic, i, 1};
    }
    if (b->n_q == 0)
        die("%s: no question lines", path);
}

static void bank_free(bank *b)
{
    for (size_t i = 0; i < b->n; i++) {
        free(b->v[i].kind);
        free(b->v[i].id);
        free(b->v[i].intent);
        free(b->v[i].topic);
        free(b->v[i].text);
    }
    free(b->v);
    free(b->q);
}

/* A random line of a kind (and id, when given); NULL when there is none. */
static const bline *bank_pick(const bank *b, const char *kind, const char *id, rng *r)
{
    size_t n = 0;
    for (size_t i = 0; i < b->n; i++)
        n += !strcmp(b->v[i].kind, kind) && (!id || !strcmp(b->v[i].id, id));
    if (n == 0)
        return NULL;
    size_t k = rng_below(r, n);
    for (size_t i = 0; i < b->n; i++)
        if (!strcmp(b->v[i].kind, kind) && (!id || !strcmp(b->v[i].id, id)) && k-- == 0)
            return &b->v[i];
    return NULL;
}

/* Fills {name} fields from the slot lines of that name. */
static void fill_slots(const bank *b, const char *text, rng *r, sbuf *out)
{
    const char *p = text;
    while (*p) {
        const char *open = strchr(p, '{');
        const char *close = open ? strchr(open, '}') : NULL;
        if (!open || !close) {
            sb_adds(out, p);
            break;
        }
        sb_add(out, p, (size_t)(open - p));
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)(close - open - 1), open + 1);
        const bline *s = bank_pick(b, "slot", name, r);
        if (!s)
            die("the bank has no slot lines for {%s} (used in: %s)", name, text);
        sb_adds(out, s->text);
        p = close + 1;
    }
}

/* ---- perturbations: what customers do to a question ------------------------------ */

static int is_word_char(int c)
{
    return isalpha(c) || c == '\'';
}

/* One typo in a word of >= 4 ASCII letters, never touching digits, so a
 * typo never changes a number (that would be another question). */
static const char *add_typo(char *s, rng *r)
{
    size_t starts[64], lens[64], n = 0, len = strlen(s);
    for (size_t i = 0; i < len && n < 64;) {
        if (!isalpha((unsigned char)s[i])) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < len && is_word_char((unsigned char)s[j]))
            j++;
        int alnum_next = j < len && isdigit((unsigned char)s[j]);
        int alnum_prev = i > 0 && isdigit((unsigned char)s[i - 1]);
        if (j - i >= 4 && !alnum_next && !alnum_prev) {
            starts[n] = i;
            lens[n++] = j - i;
        }
        i = j;
    }
    if (n == 0)
        return NULL;
    size_t w = rng_below(r, n), st = starts[w], wl = lens[w];
    int op = (int)rng_below(r, 3);
    if (op == 0) { /* swap two adjacent letters, not the first */
        size_t k = st + 1 + rng_below(r, wl - 2);
        if (s[k] == s[k + 1])
            op = 1;
        else {
            char c = s[k];
            s[k] = s[k + 1];
            s[k + 1] = c;
            return "swap";
        }
    }
    if (op == 1) { /* drop a letter, not the first */
        size_t k = st + 1 + rng_below(r, wl - 1);
        memmove(s + k, s + k + 1, len - k);
        return "drop";
    }
    size_t k = st + rng_below(r, wl); /* double a letter: s has room for one more */
    memmove(s + k + 1, s + k, len - k + 1);
    return "double";
}

static const char *prepositions[] = {"for", "to", "on", "in", "with", "at", NULL};

/* Moves a clause: "A, B" -> "B, A"; else a trailing "for/to/on ... " phrase
 * of at most 5 words goes to the front ("for new customers, what are ..."). */
static int move_clause(sbuf *out, const char *s)
{
    const char *comma = strstr(s, ", ");
    if (comma && comma > s && comma[2]) {
        sb_adds(out, comma + 2);
        sb_adds(out, ", ");
        sb_add(out, s, (size_t)(comma - s));
        return 1;
    }
    /* word starts */
    size_t ws[64], n = 0, len = strlen(s);
    for (size_t i = 0; i < len && n < 64; i++)
        if (s[i] != ' ' && (i == 0 || s[i - 1] == ' '))
            ws[n++] = i;
    for (size_t w = n > 5 ? n - 5 : 2; w + 1 < n; w++) {
        if (w < 3)
            continue;
        for (int k = 0; prepositions[k]; k++) {
            size_t pl = strlen(prepositions[k]);
            if (strncasecmp(s + ws[w], prepositions[k], pl) == 0 && s[ws[w] + pl] == ' ') {
                sb_adds(out, s + ws[w]);
                sb_adds(out, ", ");
                sb_add(out, s, ws[w] - 1);
                return 1;
            }
        }
    }
    return 0;
}

/* Customer-style text: question perturbations (clause, typo, casing,
 * punctuation) on a copy; names of what was done go to *applied. */
static char *perturb(const char *text, int allow_clause, double typo_share, rng *r, json_t *applied)
{
    sbuf b = {0};
    size_t n = strlen(text);
    while (n && strchr("?.!", text[n - 1]))
        n--;
    sb_add(&b, text, n);
    if (allow_clause && rng_unit(r) < 0.25) {
        sbuf m = {0};
        if (move_clause(&m, b.p)) {
            /* The moved-to-front part starts the sentence; the old start no longer. */
            if (m.p[0] && islower((unsigned char)m.p[0]) && isupper((unsigned char)b.p[0]))
                m.p[0] = (char)toupper((unsigned char)m.p[0]);
            char *old = strstr(m.p, ", ");
            if (old && isupper((unsigned char)old[2]) && old[3] != ' ' &&
                !isupper((unsigned char)old[3]))
                old[2] = (char)tolower((unsigned char)old[2]);
            free(b.p);
            b = m;
            json_array_append_new(applied, json_string("clause"));
        } else {
            free(m.p);
        }
    }
    if (rng_unit(r) < typo_share) {
        sb_add(&b, " ", 1); /* room for a doubled letter */
        b.p[--b.len] = '\0';
        const char *t = add_typo(b.p, r);
        b.len = strlen(b.p);
        if (t)
            json_array_append_new(applied, json_string(t));
    }
    double c = rng_unit(r);
    if (c < 0.30) {
        for (size_t i = 0; i < b.len; i++)
            b.p[i] = (char)tolower((unsigned char)b.p[i]);
        json_array_append_new(applied, json_string("lower"));
    } else if (c < 0.35) {
        for (size_t i = 0; i < b.len; i++)
            b.p[i] = (char)toupper((unsigned char)b.p[i]);
        json_array_append_new(applied, json_string("upper"));
    } else if (c < 0.42) {
        for (size_t i = 0; i < b.len; i++)
            if (i == 0 || b.p[i - 1] == ' ')
                b.p[i] = (char)toupper((unsigned char)b.p[i]);
        json_array_append_new(applied, json_string("title"));
    }
    /* Trailing punctuation: a question keeps or drops its "?" (or doubles
     * it); a statement ends in nothing, ".", or "!". */
    static const char *q_ends[] = {"?", "", "??", " ?", "."};
    static const double q_cum[] = {0.50, 0.82, 0.92, 0.97, 1.0};
    static const char *s_ends[] = {"", ".", "!", "!!"};
    static const double s_cum[] = {0.50, 0.80, 0.95, 1.0};
    int had_q = text[0] && text[strlen(text) - 1] == '?';
    const char **ends = had_q ? q_ends : s_ends;
    const double *cum = had_q ? q_cum : s_cum;
    double e = rng_unit(r);
    size_t k = 0;
    while (cum[k] < 1.0 && e >= cum[k])
        k++;
    const char *orig_end =
        had_q ? "?" : (text[0] && strchr(".!", text[strlen(text) - 1]) ? "." : "");
    if (strcmp(ends[k], orig_end))
        json_array_append_new(applied, json_string("punct"));
    sb_adds(&b, ends[k]);
    return b.p;
}

/* ---- gen -------------------------------------------------------------------------- */

typedef struct gen_opts {
    const char *bank;
    uint64_t seed;
    long users, requests;
    double order_share, complaint_share, followup_share, typo_share;
} gen_opts;

static int cmd_gen(int argc, char **argv)
{
    gen_opts o = {NULL, 1, 0, 0, 0.08, 0.05, 0.15, 0.30};
    int have_seed = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage_text, stdout);
            return 0;
        }
        if (!v)
            usage_die("gen: %s needs a value", a);
        i++;
        if (!strcmp(a, "--bank"))
            o.bank = v;
        else if (!strcmp(a, "--seed")) {
            o.seed = (uint64_t)arg_num(a, v, 0, 9e15);
            have_seed = 1;
        } else if (!strcmp(a, "--users"))
            o.users = (long)arg_num(a, v, 1, 1e6);
        else if (!strcmp(a, "--requests"))
            o.requests = (long)arg_num(a, v, 1, 1e8);
        else if (!strcmp(a, "--order-share"))
            o.order_share = arg_num(a, v, 0, 1);
        else if (!strcmp(a, "--complaint-share"))
            o.complaint_share = arg_num(a, v, 0, 1);
        else if (!strcmp(a, "--followup-share"))
            o.followup_share = arg_num(a, v, 0, 0.9);
        else if (!strcmp(a, "--typo-share"))
            o.typo_share = arg_num(a, v, 0, 1);
        else
            usage_die("gen: unknown option %s", a);
    }
    if (!o.bank || !have_seed || !o.users || !o.requests)
        usage_die("gen needs --bank, --seed, --users and --requests");
    if (o.order_share + o.complaint_share + o.followup_share > 0.9)
        usage_die("gen: the order, complaint and follow-up shares add up to more than 0.9");
    bank b;
    bank_load(o.bank, &b);
    if (o.users > o.requests)
        o.users = o.requests;

    /* Popularity: a fixed shuffle (independent of --seed, so every seed has
     * the same popular questions), then Zipf s = 1.1 over the ranks. */
    size_t nq = b.n_q, *order = xrealloc(NULL, nq * sizeof *order);
    for (size_t i = 0; i < nq; i++)
        order[i] = i;
    rng fixed = {0x5eed5eedULL};
    for (size_t i = nq - 1; i > 0; i--) {
        size_t j = rng_below(&fixed, i + 1), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    double *cdf = xrealloc(NULL, nq * sizeof *cdf), sum = 0;
    for (size_t i = 0; i < nq; i++)
        cdf[i] = (sum += 1.0 / pow((double)(i + 1), 1.1));
    for (size_t i = 0; i < nq; i++)
        cdf[i] /= sum;

    /* Session lengths: around R/U (half to 1.5 times), adjusted to sum to R. */
    rng r = {o.seed * 0x2545f4914f6cdd1dULL + 1};
    long *len = xrealloc(NULL, (size_t)o.users * sizeof *len), total = 0;
    double mean = (double)o.requests / (double)o.users;
    long lo = (long)fmax(1, round(mean * 0.5)), hi = (long)fmax(1, round(mean * 1.5));
    for (long u = 0; u < o.users; u++)
        total += len[u] = lo + (long)rng_below(&r, (size_t)(hi - lo + 1));
    while (total > o.requests) {
        long u = (long)rng_below(&r, (size_t)o.users);
        if (len[u] > 1)
            len[u]--, total--;
    }
    while (total < o.requests)
        len[rng_below(&r, (size_t)o.users)]++, total++;

    /* Turn 0 cannot be a follow-up, so later turns get a higher share; orders
     * and complaints share the rest so that all three come out as asked. */
    double later = (double)(o.requests - o.users) / (double)o.requests;
    double pf = later > 0 ? fmin(0.95, o.followup_share / later) : 0;
    double rest = 1 - o.followup_share;
    double po = o.order_share / rest, pc = o.complaint_share / rest;

    for (long u = 0; u < o.users; u++) {
        const char *prev_topic = "-";
        for (long t = 0; t < len[u]; t++) {
            json_t *applied = json_array();
            const char *kind, *qid, *topic = "-";
            long para = -1;
            sbuf msg = {0};
            char *text = NULL;
            if (t > 0 && rng_unit(&r) < pf) {
                kind = "followup";
                const bline *f = bank_pick(&b, "followup", prev_topic, &r);
                if (!f)
                    f = bank_pick(&b, "followup", "any", &r);
                if (!f)
                    die("the bank has no followup lines for '%s' or 'any'", prev_topic);
                fill_slots(&b, f->text, &r, &msg);
                qid = f->id;
                topic = prev_topic;
                text = perturb(msg.p, 0, o.typo_share, &r, applied);
            } else {
                double k = rng_unit(&r);
                if (k < po + pc) {
                    kind = k < po ? "order" : "complaint";
                    const bline *l = bank_pick(&b, kind, NULL, &r);
                    if (!l)
                        die("the bank has no %s lines (set --%s-share 0)", kind, kind);
                    fill_slots(&b, l->text, &r, &msg);
                    qid = l->id;
                    topic = l->topic;
                    text = perturb(msg.p, 0, o.typo_share, &r, applied);
                } else {
                    kind = "question";
                    double z = rng_unit(&r);
                    size_t rank = 0;
                    while (rank + 1 < nq && z >= cdf[rank])
                        rank++;
                    const question *q = &b.q[order[rank]];
                    para = (long)rng_below(&r, q->n);
                    qid = q->id;
                    topic = q->topic;
                    text = perturb(b.v[q->first + (size_t)para].text, 1, o.typo_share, &r, applied);
                }
            }
            json_t *j = json_pack("{s:I,s:I,s:s,s:s,s:I,s:o,s:s}", "user", (json_int_t)u, "turn",
                                  (json_int_t)t, "kind", kind, "qid", qid, "para", (json_int_t)para,
                                  "perturb", applied, "message", text);
            char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
            if (!s)
                die("out of memory");
            puts(s);
            free(s);
            json_decref(j);
            free(text);
            free(msg.p);
            prev_topic = topic;
        }
    }
    if (fflush(stdout) || ferror(stdout))
        die("writing the traffic: %s", strerror(errno));
    free(order);
    free(cdf);
    free(len);
    bank_free(&b);
    return 0;
}

/* ---- run: traffic ------------------------------------------------------------------ */

typedef enum kind { K_QUESTION, K_ORDER, K_COMPLAINT, K_FOLLOWUP, K_N } kind;
static const char *kind_names[K_N] = {"question", "order", "complaint", "followup"};

/* What the exact or semantic cache answered for a message: the cited
 * documents and the facts, and how many hits gave exactly that. Kept per
 * distinct answer, not per request, so a long soak stays small. */
typedef struct variant {
    char *docs, *facts;
    int layer; /* of the first such hit */
    size_t hits;
} variant;

typedef struct msg {
    char *text;
    kind k;
    long user, turn;
    int typo; /* gen put a typo in it ("perturb" holds swap, drop or double) */
    variant *v;
    size_t n_v;
} msg;

typedef struct session {
    size_t first, n; /* msgs[first .. first+n) */
} session;

typedef struct traffic {
    msg *m;
    size_t n;
    session *s;
    size_t n_s;
} traffic;

static void traffic_load(const char *path, traffic *tr)
{
    FILE *f = fopen(path, "r");
    if (!f)
        die("cannot open the traffic file %s: %s", path, strerror(errno));
    memset(tr, 0, sizeof *tr);
    char *line = NULL;
    size_t cap = 0;
    int ln = 0;
    while (getline(&line, &cap, f) >= 0) {
        ln++;
        if (line[strspn(line, " \t\r\n")] == '\0')
            continue;
        json_error_t je;
        json_t *j = json_loads(line, 0, &je);
        const char *text = json_string_value(json_object_get(j, "message"));
        const char *k = json_string_value(json_object_get(j, "kind"));
        json_t *u = json_object_get(j, "user"), *t = json_object_get(j, "turn");
        if (!j)
            die("%s:%d: not JSON: %s", path, ln, je.text);
        if (!text || !k || !json_is_integer(u) || !json_is_integer(t))
            die("%s:%d: want {\"user\":int,\"turn\":int,\"kind\":str,\"message\":str}", path, ln);
        int ki = 0;
        while (ki < K_N && strcmp(k, kind_names[ki]))
            ki++;
        if (ki == K_N)
            die("%s:%d: unknown kind '%s'", path, ln, k);
        tr->m = xrealloc(tr->m, (tr->n + 1) * sizeof *tr->m);
        int typo = 0;
        json_t *pv = json_object_get(j, "perturb");
        for (size_t i = 0; i < json_array_size(pv); i++) {
            const char *ps = json_string_value(json_array_get(pv, i));
            typo |= ps && (!strcmp(ps, "swap") || !strcmp(ps, "drop") || !strcmp(ps, "double"));
        }
        tr->m[tr->n++] = (msg){
            xstrdup(text), (kind)ki, (long)json_integer_value(u), (long)json_integer_value(t), typo,
            NULL,          0};
        json_decref(j);
    }
    free(line);
    fclose(f);
    if (tr->n == 0)
        die("%s: no messages", path);
    /* Sessions: runs of one user's lines, which gen writes in turn order. */
    for (size_t i = 0; i < tr->n; i++) {
        if (i > 0 && tr->m[i].user == tr->m[i - 1].user) {
            if (tr->m[i].turn <= tr->m[i - 1].turn)
                die("%s: user %ld's turns are out of order", path, tr->m[i].user);
            tr->s[tr->n_s - 1].n++;
            continue;
        }
        tr->s = xrealloc(tr->s, (tr->n_s + 1) * sizeof *tr->s);
        tr->s[tr->n_s++] = (session){i, 1};
    }
}

static void traffic_free(traffic *tr)
{
    for (size_t i = 0; i < tr->n; i++) {
        for (size_t k = 0; k < tr->m[i].n_v; k++) {
            free(tr->m[i].v[k].docs);
            free(tr->m[i].v[k].facts);
        }
        free(tr->m[i].v);
        free(tr->m[i].text);
    }
    free(tr->m);
    free(tr->s);
}

/* ---- run: what each reply said ---------------------------------------------------- */

enum { C_NONE, C_EXACT, C_SEMANTIC, C_EVIDENCE, C_RETRIEVAL, C_LLM, C_OTHER, C_N };
static const char *cache_names[C_N] = {"none",      "exact", "semantic", "evidence",
                                       "retrieval", "llm",   "other"};

typedef struct rec {
    const msg *m;
    double ms;
    int status; /* HTTP status; 0: transport error, -1: a 2xx that is not a JSON object */
    int cached; /* C_* */
    int degraded, llm_called, answered, first_turn, cached_missing;
    double cost;
    const char *route; /* interned */
} rec;

static const char *intern(const char *s)
{
    static char *v[64];
    static int n;
    if (!s)
        s = "(none)";
    for (int i = 0; i < n; i++)
        if (!strcmp(v[i], s))
            return v[i];
    if (n == 64)
        return "(other)";
    return v[n++] = xstrdup(s);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted, de-duplicated, joined by sep; frees v and its strings. */
static char *join_set(char **v, size_t n, const char *sep)
{
    qsort(v, n, sizeof *v, cmp_str);
    sbuf b = {0};
    sb_adds(&b, "");
    for (size_t i = 0; i < n; i++) {
        if (i && !strcmp(v[i], v[i - 1]))
            continue;
        if (b.len)
            sb_adds(&b, sep);
        sb_adds(&b, v[i]);
    }
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
    return b.p;
}

static char *docs_of(json_t *reply)
{
    json_t *c = json_object_get(reply, "citations");
    size_t n = json_array_size(c), k = 0;
    char **v = xrealloc(NULL, (n + 1) * sizeof *v);
    for (size_t i = 0; i < n; i++) {
        const char *d = json_string_value(json_object_get(json_array_get(c, i), "document"));
        if (d)
            v[k++] = xstrdup(d);
    }
    return join_set(v, k, "\n");
}

/* The facts of an answer: its tokens that hold a digit ("S$250", "9:00",
 * "1.5%", "HP-240517"), lower-cased, edge punctuation stripped. */
static char *facts_of(const char *answer)
{
    size_t k = 0, cap = 16;
    char **v = xrealloc(NULL, cap * sizeof *v);
    const char *p = answer ? answer : "";
    while (*p) {
        while (*p && isspace((unsigned char)*p))
            p++;
        const char *s = p;
        while (*p && !isspace((unsigned char)*p))
            p++;
        const char *e = p;
        while (s < e && strchr(",.;:!?()[]\"'*", *s))
            s++;
        while (e > s && strchr(",.;:!?()[]\"'*", e[-1]))
            e--;
        int digit = 0;
        for (const char *q = s; q < e; q++)
            digit |= isdigit((unsigned char)*q) != 0;
        if (!digit)
            continue;
        if (k == cap)
            v = xrealloc(v, (cap *= 2) * sizeof *v);
        char *t = xrealloc(NULL, (size_t)(e - s) + 1);
        for (size_t i = 0; i < (size_t)(e - s); i++)
            t[i] = (char)tolower((unsigned char)s[i]);
        t[e - s] = '\0';
        v[k++] = t;
    }
    return join_set(v, k, " ");
}

/* ---- run: the HTTP side (libcurl multi, one easy handle per user) ---------------- */

typedef struct user {
    CURL *h;
    struct curl_slist *hdr;
    sbuf resp;
    char *body;
    double t0;
    size_t sess, turn;    /* the session it is in, and the next turn */
    char session_id[160]; /* from the session's first reply */
    long job;             /* verify: the job index */
} user;

typedef struct run_opts {
    const char *url, *key, *traffic, *fake_url;
    long users, requests, server_pid;
    double duration, timeout, soak_sample;
    int verify, metrics;
} run_opts;

static volatile sig_atomic_t interrupted;

/* SIGINT: start no more requests, wait for the ones in flight, print what
 * was measured; a second one exits at once. SIGTERM exits at once (the
 * caller is stopping everything, the server included). */
static void on_signal(int sig)
{
    if (sig == SIGTERM || interrupted)
        _exit(sig == SIGTERM ? 143 : 130);
    interrupted = 1;
}

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
    user *u = ud;
    if (u->resp.len + size * n > (64u << 20))
        return 0; /* a reply over 64 MB is broken: fail the transfer */
    sb_add(&u->resp, p, size * n);
    return size * n;
}

static void user_init(user *u, const run_opts *o, int nocache)
{
    memset(u, 0, sizeof *u);
    u->h = curl_easy_init();
    if (!u->h)
        die("curl_easy_init failed");
    char auth[512];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", o->key);
    u->hdr = curl_slist_append(u->hdr, "Content-Type: application/json");
    u->hdr = curl_slist_append(u->hdr, auth);
    u->hdr = curl_slist_append(u->hdr, "Expect:");
    if (nocache)
        u->hdr = curl_slist_append(u->hdr, "Cache-Control: no-cache");
    char url[1024];
    snprintf(url, sizeof url, "%s/v1/chat", o->url);
    curl_easy_setopt(u->h, CURLOPT_URL, url);
    curl_easy_setopt(u->h, CURLOPT_HTTPHEADER, u->hdr);
    curl_easy_setopt(u->h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(u->h, CURLOPT_WRITEDATA, u);
    curl_easy_setopt(u->h, CURLOPT_PRIVATE, u);
    curl_easy_setopt(u->h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(u->h, CURLOPT_TIMEOUT_MS, (long)(o->timeout * 1000));
    curl_easy_setopt(u->h, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(u->h, CURLOPT_TCP_NODELAY, 1L);
}

static void user_send(CURLM *m, user *u, const char *text, const char *session_id)
{
    json_t *j = json_pack("{s:s}", "message", text);
    if (session_id && session_id[0])
        json_object_set_new(j, "session_id", json_string(session_id));
    free(u->body);
    u->body = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (!u->body)
        die("out of memory");
    curl_easy_setopt(u->h, CURLOPT_POSTFIELDS, u->body);
    curl_easy_setopt(u->h, CURLOPT_POSTFIELDSIZE, (long)strlen(u->body));
    u->resp.len = 0;
    if (u->resp.p)
        u->resp.p[0] = '\0';
    u->t0 = now_s();
    CURLMcode mc = curl_multi_add_handle(m, u->h);
    if (mc != CURLM_OK)
        die("curl_multi_add_handle: %s", curl_multi_strerror(mc));
}

/* Reads a finished transfer into r; returns the parsed reply (NULL on error). */
static json_t *user_done(user *u, CURLcode res, rec *r, char *err, size_t errlen)
{
    r->ms = (now_s() - u->t0) * 1000;
    long st = 0;
    curl_easy_getinfo(u->h, CURLINFO_RESPONSE_CODE, &st);
    r->status = res == CURLE_OK ? (int)st : 0;
    r->route = intern(NULL);
    if (res != CURLE_OK) {
        snprintf(err, errlen, "transport: %s", curl_easy_strerror(res));
        return NULL;
    }
    json_t *j = json_loadb(u->resp.p ? u->resp.p : "", u->resp.len, 0, NULL);
    if (st < 200 || st > 299) {
        const char *m = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
        snprintf(err, errlen, "HTTP %ld: %.200s", st, m ? m : (u->resp.p ? u->resp.p : ""));
        json_decref(j);
        return NULL;
    }
    if (!json_is_object(j)) {
        snprintf(err, errlen, "HTTP %ld with a body that is not a JSON object", st);
        r->status = -1;
        json_decref(j);
        return NULL;
    }
    json_t *c = json_object_get(j, "cached");
    r->cached_missing = c == NULL;
    r->cached = C_NONE;
    if (json_is_string(c)) {
        r->cached = C_OTHER;
        for (int i = C_EXACT; i < C_OTHER; i++)
            if (!strcmp(json_string_value(c), cache_names[i]))
                r->cached = i;
    }
    json_t *llm = json_object_get(j, "llm");
    r->llm_called = json_is_true(json_object_get(llm, "called"));
    r->cost = json_number_value(json_object_get(llm, "cost_usd"));
    r->degraded = json_is_true(json_object_get(j, "degraded"));
    r->answered = json_is_true(json_object_get(j, "answered"));
    r->route = intern(json_string_value(json_object_get(j, "route")));
    return j;
}

/* ---- run: numbers ------------------------------------------------------------------- */

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* {mean, p50, p95, p99, max} of v (sorted in place); nearest-rank percentiles. */
static json_t *latency_json(double *v, size_t n)
{
    if (n == 0)
        return json_pack("{s:n,s:n,s:n,s:n,s:n}", "mean", "p50", "p95", "p99", "max");
    qsort(v, n, sizeof *v, cmp_dbl);
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += v[i];
#define PCT(p) v[(size_t)fmin((double)n - 1, ceil((p) / 100.0 * (double)n) - 1)]
    return json_pack("{s:o,s:o,s:o,s:o,s:o}", "mean", jnum(sum / (double)n, 2), "p50",
                     jnum(PCT(50), 2), "p95", jnum(PCT(95), 2), "p99", jnum(PCT(99), 2), "max",
                     jnum(v[n - 1], 2));
#undef PCT
}

static long proc_kb(long pid, const char *field)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%ld/status", pid);
    FILE *f = fopen(path, "r");
    long v = -1;
    size_t fl = strlen(field);
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, field, fl) && line[fl] == ':')
            v = strtol(line + fl + 1, NULL, 10);
    if (f)
        fclose(f);
    return v;
}

/* GET url into *out (a JSON document or text); 0 on a 2xx. */
static int http_get(const char *url, sbuf *out)
{
    CURL *h = curl_easy_init();
    if (!h)
        return -1;
    user u = {0};
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &u);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
    CURLcode res = curl_easy_perform(h);
    long st = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &st);
    curl_easy_cleanup(h);
    *out = u.resp;
    if (!out->p)
        sb_adds(out, "");
    return res == CURLE_OK && st >= 200 && st <= 299 ? 0 : -1;
}

static json_t *fake_stats(const char *fake_url)
{
    char url[1024];
    snprintf(url, sizeof url, "%s/_stats", fake_url);
    sbuf b = {0};
    json_t *j = http_get(url, &b) ? NULL : json_loads(b.p, 0, NULL);
    free(b.p);
    if (!j)
        fprintf(stderr, "replay: cannot read %s (the fake LLM's counters)\n", url);
    return j;
}

/* The cache and LLM-queue series of /metrics, as {"exact":{"hit":n,...},...}
 * and {"length":n,"wait_seconds_sum":s,"wait_seconds_count":n}. */
static json_t *server_metrics(const char *base)
{
    char url[1024];
    snprintf(url, sizeof url, "%s/metrics", base);
    sbuf b = {0};
    if (http_get(url, &b)) {
        fprintf(stderr, "replay: cannot read %s\n", url);
        free(b.p);
        return json_null();
    }
    json_t *cache = json_object(), *queue = json_object();
    for (char *line = strtok(b.p, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '#')
            continue;
        char *sp = strrchr(line, ' ');
        if (!sp)
            continue;
        double v = strtod(sp + 1, NULL);
        *sp = '\0';
        char layer[32] = "", result[32] = "";
        const char *l = strstr(line, "layer=\""), *r = strstr(line, "result=\"");
        if (l)
            sscanf(l + 7, "%31[^\"]", layer);
        if (r)
            sscanf(r + 8, "%31[^\"]", result);
        const char *field = NULL;
        if (!strncmp(line, "frontdesk_cache_requests_total{", 31) && layer[0] && result[0])
            field = result;
        else if (!strncmp(line, "frontdesk_cache_evictions_total{", 32) && layer[0])
            field = "evictions";
        else if (!strncmp(line, "frontdesk_cache_bytes{", 22) && layer[0])
            field = "bytes";
        if (field) {
            json_t *o = json_object_get(cache, layer);
            if (!o)
                json_object_set_new(cache, layer, o = json_object());
            json_object_set_new(o, field, jnum(v, 6));
        } else if (!strcmp(line, "frontdesk_llm_queue_length")) {
            json_object_set_new(queue, "length", jnum(v, 6));
        } else if (!strcmp(line, "frontdesk_llm_queue_wait_seconds_sum")) {
            json_object_set_new(queue, "wait_seconds_sum", jnum(v, 6));
        } else if (!strcmp(line, "frontdesk_llm_queue_wait_seconds_count")) {
            json_object_set_new(queue, "wait_seconds_count", jnum(v, 6));
        } else if (!strcmp(line, "frontdesk_llm_inflight")) {
            json_object_set_new(queue, "inflight", jnum(v, 6));
        }
    }
    free(b.p);
    return json_pack("{s:o,s:o}", "cache", cache, "llm_queue", queue);
}

/* ---- run: the numbers ----------------------------------------------------------- */

typedef struct dvec {
    double *v;
    size_t n, cap;
} dvec;

static void dv_add(dvec *d, double x)
{
    if (d->n == d->cap)
        d->v = xrealloc(d->v, (d->cap = d->cap ? d->cap * 2 : 1024) * sizeof *d->v);
    d->v[d->n++] = x;
}

typedef struct stats {
    size_t n, ok, hits[C_N], qhits[C_N], kinds[K_N], qn, q1n, q1hit, qln, qlhit, qtn, qthit,
        llm_calls, degraded, answered, cached_missing;
    struct {
        size_t n, hits, llm;
        double ms;
    } bk[K_N]; /* per kind, over the successful replies */
    double cost;
    dvec lat, lat_hit, lat_miss;
    json_t *routes, *err_kinds;
    char first_err[512];
} stats;

static void count(json_t *o, const char *key)
{
    json_t *c = json_object_get(o, key);
    json_object_set_new(o, key, json_integer(c ? json_integer_value(c) + 1 : 1));
}

static void stats_add(stats *st, const rec *r, const char *err)
{
    st->n++;
    st->kinds[r->m->k]++;
    dv_add(&st->lat, r->ms);
    if (r->status < 200 || r->status > 299) {
        char k[32];
        if (r->status > 0)
            snprintf(k, sizeof k, "http_%d", r->status);
        else
            snprintf(k, sizeof k, "%s", r->status ? "bad_reply" : "transport");
        count(st->err_kinds, k);
        if (!st->first_err[0])
            snprintf(st->first_err, sizeof st->first_err, "%s", err);
        return;
    }
    int hit = r->cached != C_NONE;
    st->ok++;
    st->hits[r->cached]++;
    dv_add(hit ? &st->lat_hit : &st->lat_miss, r->ms);
    st->llm_calls += r->llm_called;
    st->degraded += r->degraded;
    st->answered += r->answered;
    st->cached_missing += r->cached_missing;
    st->cost += r->cost;
    count(st->routes, r->route);
    st->bk[r->m->k].n++;
    st->bk[r->m->k].hits += hit;
    st->bk[r->m->k].llm += r->llm_called;
    st->bk[r->m->k].ms += r->ms;
    if (r->m->k != K_QUESTION)
        return;
    st->qn++;
    st->qhits[r->cached]++;
    if (r->first_turn)
        st->q1n++, st->q1hit += hit;
    else
        st->qln++, st->qlhit += hit;
    if (r->m->typo)
        st->qtn++, st->qthit += hit;
}

static json_t *rate(size_t num, size_t den)
{
    return den ? jnum((double)num / (double)den, 4) : json_null();
}

static void stats_json(stats *st, double wall, json_t *out)
{
    json_object_set_new(out, "requests", json_integer((json_int_t)st->n));
    json_object_set_new(out, "errors", json_integer((json_int_t)(st->n - st->ok)));
    json_object_set_new(out, "errors_by_kind", json_incref(st->err_kinds));
    json_object_set_new(out, "first_error",
                        st->first_err[0] ? json_string(st->first_err) : json_null());
    json_object_set_new(out, "duration_s", jnum(wall, 3));
    json_object_set_new(out, "req_per_s", jnum(wall > 0 ? (double)st->n / wall : 0, 2));
    json_object_set_new(out, "latency_ms", latency_json(st->lat.v, st->lat.n));
    json_object_set_new(out, "latency_ms_hit", latency_json(st->lat_hit.v, st->lat_hit.n));
    json_object_set_new(out, "latency_ms_miss", latency_json(st->lat_miss.v, st->lat_miss.n));
    json_t *jk = json_object(), *jh = json_object(), *jq = json_object(), *jb = json_object();
    for (int k = 0; k < K_N; k++) {
        json_object_set_new(jk, kind_names[k], json_integer((json_int_t)st->kinds[k]));
        json_object_set_new(
            jb, kind_names[k],
            json_pack("{s:I,s:I,s:I,s:o}", "replies", (json_int_t)st->bk[k].n, "hits",
                      (json_int_t)st->bk[k].hits, "llm_calls", (json_int_t)st->bk[k].llm, "mean_ms",
                      st->bk[k].n ? jnum(st->bk[k].ms / (double)st->bk[k].n, 2) : json_null()));
    }
    for (int c = C_EXACT; c < C_N; c++) {
        json_object_set_new(jh, cache_names[c], json_integer((json_int_t)st->hits[c]));
        json_object_set_new(jq, cache_names[c], json_integer((json_int_t)st->qhits[c]));
    }
    size_t qhit = st->qn - st->qhits[C_NONE];
    json_object_set_new(out, "kinds", jk);
    json_object_set_new(out, "hits", jh);
    json_object_set_new(out, "hit_rate", rate(st->ok - st->hits[C_NONE], st->ok));
    json_object_set_new(out, "questions", json_integer((json_int_t)st->qn));
    json_object_set_new(out, "question_hits", jq);
    json_object_set_new(out, "question_hit_rate", rate(qhit, st->qn));
    /* Answered without the model: exact, semantic, evidence and LLM-response hits. */
    json_object_set_new(
        out, "question_answer_hit_rate",
        rate(st->qhits[C_EXACT] + st->qhits[C_SEMANTIC] + st->qhits[C_EVIDENCE] + st->qhits[C_LLM],
             st->qn));
    json_object_set_new(out, "question_hit_rate_first_turn", rate(st->q1hit, st->q1n));
    json_object_set_new(out, "question_hit_rate_later_turns", rate(st->qlhit, st->qln));
    json_object_set_new(out, "question_hit_rate_with_typo", rate(st->qthit, st->qtn));
    json_object_set_new(out, "question_hit_rate_without_typo",
                        rate(qhit - st->qthit, st->qn - st->qtn));
    json_object_set_new(out, "by_kind", jb);
    json_object_set_new(out, "routes", json_incref(st->routes));
    json_object_set_new(out, "answered", json_integer((json_int_t)st->answered));
    json_object_set_new(out, "degraded", json_integer((json_int_t)st->degraded));
    json_object_set_new(out, "degraded_rate", rate(st->degraded, st->ok));
    json_object_set_new(out, "llm_calls", json_integer((json_int_t)st->llm_calls));
    json_object_set_new(out, "llm_calls_per_message", rate(st->llm_calls, st->ok));
}

/* Remembers what an exact or semantic hit answered, for --verify. */
static void note_hit(msg *m, int layer, json_t *reply)
{
    char *docs = docs_of(reply);
    char *facts = facts_of(json_string_value(json_object_get(reply, "answer")));
    for (size_t i = 0; i < m->n_v; i++)
        if (!strcmp(m->v[i].docs, docs) && !strcmp(m->v[i].facts, facts)) {
            m->v[i].hits++;
            free(docs);
            free(facts);
            return;
        }
    m->v = xrealloc(m->v, (m->n_v + 1) * sizeof *m->v);
    m->v[m->n_v++] = (variant){docs, facts, layer, 1};
}

/* ---- run: verification ------------------------------------------------------------ */

typedef struct vjob {
    const char *text; /* one distinct message text that had exact or semantic hits */
    char *docs, *facts;
    int ok;
} vjob;

static int cmp_vjob(const void *a, const void *b)
{
    return strcmp(((const vjob *)a)->text, ((const vjob *)b)->text);
}

/* Asks every distinct hit message again, Cache-Control: no-cache, each in a
 * new session, and compares every remembered cache answer with the fresh one. */
static json_t *verify(const run_opts *o, traffic *tr)
{
    vjob *jobs = NULL;
    size_t n_jobs = 0, n_hits = 0;
    for (size_t i = 0; i < tr->n; i++) {
        if (!tr->m[i].n_v)
            continue;
        for (size_t k = 0; k < tr->m[i].n_v; k++)
            n_hits += tr->m[i].v[k].hits;
        jobs = xrealloc(jobs, (n_jobs + 1) * sizeof *jobs);
        jobs[n_jobs++] = (vjob){tr->m[i].text, NULL, NULL, 0};
    }
    qsort(jobs, n_jobs, sizeof *jobs, cmp_vjob);
    size_t w = 0;
    for (size_t i = 0; i < n_jobs; i++)
        if (w == 0 || strcmp(jobs[w - 1].text, jobs[i].text))
            jobs[w++] = jobs[i];
    n_jobs = w;
    fprintf(stderr, "replay: verify: re-asking %zu distinct messages of %zu hits (no-cache)\n",
            n_jobs, n_hits);

    double t0 = now_s();
    size_t next = 0, active = 0, errors = 0, degraded = 0;
    /* Below the server's default llm.max_inflight (64), so that re-asks are
     * not answered degraded for want of an LLM slot. */
    long n_users = o->users < 48 ? o->users : 48;
    CURLM *m = curl_multi_init();
    if (!m)
        die("curl_multi_init failed");
    user *us = xrealloc(NULL, (size_t)n_users * sizeof *us);
    for (long i = 0; i < n_users; i++) {
        user_init(&us[i], o, 1);
        if (next < n_jobs && !interrupted) {
            us[i].job = (long)next;
            user_send(m, &us[i], jobs[next++].text, NULL);
            active++;
        }
    }
    while (active > 0) {
        int running;
        curl_multi_perform(m, &running);
        CURLMsg *cm;
        int q;
        while ((cm = curl_multi_info_read(m, &q))) {
            if (cm->msg != CURLMSG_DONE)
                continue;
            char *priv = NULL;
            curl_easy_getinfo(cm->easy_handle, CURLINFO_PRIVATE, &priv);
            user *u = (user *)priv;
            CURLcode res = cm->data.result;
            curl_multi_remove_handle(m, u->h);
            active--;
            rec r = {0};
            char err[512] = "";
            json_t *j = user_done(u, res, &r, err, sizeof err);
            vjob *jb = &jobs[u->job];
            if (j) {
                jb->docs = docs_of(j);
                jb->facts = facts_of(json_string_value(json_object_get(j, "answer")));
                jb->ok = 1;
                degraded += r.degraded;
                json_decref(j);
            } else if (errors++ < 3) {
                fprintf(stderr, "replay: verify: %s\n", err);
            }
            if (next < n_jobs && !interrupted) {
                u->job = (long)next;
                user_send(m, u, jobs[next++].text, NULL);
                active++;
            }
        }
        if (active > 0)
            curl_multi_poll(m, NULL, 0, 100, NULL);
    }
    for (long i = 0; i < n_users; i++) {
        curl_easy_cleanup(us[i].h);
        curl_slist_free_all(us[i].hdr);
        free(us[i].body);
        free(us[i].resp.p);
    }
    free(us);
    curl_multi_cleanup(m);

    size_t checked = 0, wrong = 0, wrong_docs = 0, wrong_facts = 0;
    size_t l_checked[C_N] = {0}, l_wrong[C_N] = {0};
    json_t *samples = json_array();
    for (size_t i = 0; i < tr->n; i++) {
        const msg *mm = &tr->m[i];
        vjob key = {mm->text, NULL, NULL, 0};
        vjob *jb = mm->n_v ? bsearch(&key, jobs, n_jobs, sizeof *jobs, cmp_vjob) : NULL;
        if (!jb || !jb->ok)
            continue;
        for (size_t k = 0; k < mm->n_v; k++) {
            const variant *v = &mm->v[k];
            int dd = strcmp(v->docs, jb->docs) != 0, df = strcmp(v->facts, jb->facts) != 0;
            checked += v->hits;
            l_checked[v->layer] += v->hits;
            l_wrong[v->layer] += (dd || df) ? v->hits : 0;
            wrong_docs += dd ? v->hits : 0;
            wrong_facts += df ? v->hits : 0;
            if (!dd && !df)
                continue;
            wrong += v->hits;
            if (json_array_size(samples) < 10)
                json_array_append_new(
                    samples, json_pack("{s:s,s:s,s:I,s:s,s:s,s:s,s:s}", "message", mm->text,
                                       "layer", cache_names[v->layer], "hits", (json_int_t)v->hits,
                                       "cached_docs", v->docs, "fresh_docs", jb->docs,
                                       "cached_facts", v->facts, "fresh_facts", jb->facts));
        }
    }
    for (size_t i = 0; i < n_jobs; i++) {
        free(jobs[i].docs);
        free(jobs[i].facts);
    }
    free(jobs);
    /* Per cache layer: a layer that lends answers to neighbours (semantic,
     * evidence) is judged apart from the exact one, whose "wrong" hits are
     * the same words answered differently (the LLM's own variation). */
    json_t *by_layer = json_object();
    for (int l = C_EXACT; l < C_N; l++)
        if (l_checked[l])
            json_object_set_new(by_layer, cache_names[l],
                                json_pack("{s:I,s:I}", "checked", (json_int_t)l_checked[l], "wrong",
                                          (json_int_t)l_wrong[l]));
    return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o,s:o,s:o}", "hits", (json_int_t)n_hits,
                     "distinct_messages", (json_int_t)n_jobs, "checked_hits", (json_int_t)checked,
                     "errors", (json_int_t)errors, "fresh_degraded", (json_int_t)degraded,
                     "wrong_hits", (json_int_t)wrong, "wrong_docs", (json_int_t)wrong_docs,
                     "wrong_facts", (json_int_t)wrong_facts, "seconds", jnum(now_s() - t0, 2),
                     "wrong_by_layer", by_layer, "wrong_samples", samples);
}

/* ---- run: the replay itself ------------------------------------------------------- */

/* Puts the file's next session into u (a new session: no session id yet);
 * 0 when the file was sent and is not to be cycled. */
static int take_session(user *u, size_t *next, size_t n_s, int cycle, size_t *passes,
                        size_t *sessions)
{
    if (*next == n_s && !cycle)
        return 0;
    if (*next == n_s)
        *next = 0;
    u->sess = (*next)++;
    u->turn = 0;
    u->session_id[0] = '\0';
    *passes += u->sess == 0;
    (*sessions)++;
    return 1;
}

/* Deviation after warm-up: the first 10% of the samples are warm-up; the
 * rest's largest distance from their own mean, in % of that mean. */
static double rss_flat_pct(const double *kb, size_t n)
{
    size_t w = (size_t)ceil((double)n * 0.1);
    if (n < 3 || w >= n)
        return NAN;
    double sum = 0, dev = 0;
    for (size_t i = w; i < n; i++)
        sum += kb[i];
    double mean = sum / (double)(n - w);
    for (size_t i = w; i < n; i++)
        dev = fmax(dev, fabs(kb[i] - mean));
    return mean > 0 ? dev / mean * 100 : NAN;
}

static int cmd_run(int argc, char **argv)
{
    run_opts o = {0};
    o.timeout = 60;
    o.metrics = 1;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage_text, stdout);
            return 0;
        }
        if (!strcmp(a, "--verify")) {
            o.verify = 1;
            continue;
        }
        if (!strcmp(a, "--no-metrics")) {
            o.metrics = 0;
            continue;
        }
        if (a[0] != '-' || a[1] != '-') {
            if (o.traffic)
                usage_die("run: one traffic file only ('%s' and '%s')", o.traffic, a);
            o.traffic = a;
            continue;
        }
        if (!v)
            usage_die("run: %s needs a value", a);
        i++;
        if (!strcmp(a, "--url"))
            o.url = v;
        else if (!strcmp(a, "--key"))
            o.key = v;
        else if (!strcmp(a, "--users"))
            o.users = (long)arg_num(a, v, 1, 100000);
        else if (!strcmp(a, "--requests"))
            o.requests = (long)arg_num(a, v, 1, 1e9);
        else if (!strcmp(a, "--duration"))
            o.duration = arg_num(a, v, 0.1, 1e7);
        else if (!strcmp(a, "--timeout"))
            o.timeout = arg_num(a, v, 0.1, 3600);
        else if (!strcmp(a, "--fake-url"))
            o.fake_url = v;
        else if (!strcmp(a, "--server-pid"))
            o.server_pid = (long)arg_num(a, v, 1, 1e9);
        else if (!strcmp(a, "--soak-sample"))
            o.soak_sample = arg_num(a, v, 0.05, 3600);
        else
            usage_die("run: unknown option %s", a);
    }
    if (!o.url || !o.key || !o.users || !o.traffic)
        usage_die("run needs --url, --key, --users and a traffic file");
    if (!o.requests && !o.duration)
        usage_die("run needs --requests or --duration (or both)");
    if (o.soak_sample && !o.server_pid)
        usage_die("run: --soak-sample needs --server-pid");
    if (o.server_pid && proc_kb(o.server_pid, "VmRSS") < 0)
        die("no readable /proc/%ld/status: is --server-pid the server?", o.server_pid);
    traffic tr;
    traffic_load(o.traffic, &tr);

    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);

    json_t *fake0 = o.fake_url ? fake_stats(o.fake_url) : NULL;
    stats st = {0};
    st.routes = json_object();
    st.err_kinds = json_object();
    size_t next_sess = 0, passes = 0, sessions = 0, active = 0;
    dvec rss_t = {0}, rss_kb = {0};

    CURLM *m = curl_multi_init();
    if (!m)
        die("curl_multi_init failed");
    /* One easy handle per user keeps one keep-alive connection per user. */
    user *us = xrealloc(NULL, (size_t)o.users * sizeof *us);
    double t0 = now_s(), next_sample = t0, last_progress = t0;
    long issued = 0;
    /* Sessions start again from the top only in a soak (--duration without
     * --requests) or when more requests are asked for than the file holds;
     * otherwise the file is replayed once, exactly, so runs with caches on
     * and off send the same messages (users whose session ends late in the
     * run just leave). With both, --duration is a time limit. */
    int cycle = !o.requests || (size_t)o.requests > tr.n;
#define CAN_START()                                                                                \
    (!interrupted && (!o.requests || issued < o.requests) &&                                       \
     (!o.duration || now_s() - t0 < o.duration))
#define TAKE_SESSION(u) take_session(u, &next_sess, tr.n_s, cycle, &passes, &sessions)
    for (long i = 0; i < o.users; i++) {
        user_init(&us[i], &o, 0);
        if (!CAN_START() || !TAKE_SESSION(&us[i]))
            continue;
        user_send(m, &us[i], tr.m[tr.s[us[i].sess].first].text, NULL);
        issued++;
        active++;
    }
    fprintf(stderr, "replay: %ld users, %zu sessions (%zu messages) in the traffic file\n", o.users,
            tr.n_s, tr.n);
    if (!cycle && (size_t)o.users > tr.n_s)
        fprintf(stderr, "replay: only %zu sessions for %ld users: %ld users stay idle\n", tr.n_s,
                o.users, o.users - (long)tr.n_s);
    while (active > 0) {
        int running;
        CURLMcode mc = curl_multi_perform(m, &running);
        if (mc != CURLM_OK)
            die("curl_multi_perform: %s", curl_multi_strerror(mc));
        CURLMsg *cm;
        int q;
        while ((cm = curl_multi_info_read(m, &q))) {
            if (cm->msg != CURLMSG_DONE)
                continue;
            char *priv = NULL;
            curl_easy_getinfo(cm->easy_handle, CURLINFO_PRIVATE, &priv);
            user *u = (user *)priv;
            CURLcode res = cm->data.result;
            curl_multi_remove_handle(m, u->h);
            active--;
            const session *s = &tr.s[u->sess];
            msg *mg = &tr.m[s->first + u->turn];
            rec r = {0};
            r.m = mg;
            r.first_turn = u->turn == 0;
            char err[512] = "";
            json_t *j = user_done(u, res, &r, err, sizeof err);
            if (j) {
                const char *sid = json_string_value(json_object_get(j, "session_id"));
                if (u->turn == 0 && sid)
                    snprintf(u->session_id, sizeof u->session_id, "%s", sid);
                if (o.verify &&
                    (r.cached == C_EXACT || r.cached == C_SEMANTIC || r.cached == C_EVIDENCE))
                    note_hit(mg, r.cached, j);
                json_decref(j);
            }
            stats_add(&st, &r, err);
            /* Next: this session's next turn, else a new session. */
            if (!CAN_START())
                continue;
            u->turn++;
            if (u->turn >= s->n && !TAKE_SESSION(u))
                continue; /* the file was sent once: this user is done */
            user_send(m, u, tr.m[tr.s[u->sess].first + u->turn].text, u->session_id);
            issued++;
            active++;
        }
        double now = now_s();
        if (o.soak_sample && now >= next_sample) {
            dv_add(&rss_t, now - t0);
            dv_add(&rss_kb, (double)proc_kb(o.server_pid, "VmRSS"));
            next_sample += o.soak_sample;
        }
        if (now - last_progress >= 10) {
            fprintf(stderr, "replay: %.0f s, %zu replies, %zu in flight\n", now - t0, st.n, active);
            last_progress = now;
        }
        if (active > 0) {
            double wait = o.soak_sample ? fmax(0, next_sample - now) * 1000 : 100;
            curl_multi_poll(m, NULL, 0, (int)fmin(100, wait), NULL);
        }
    }
#undef CAN_START
#undef TAKE_SESSION
    double wall = now_s() - t0;
    for (long i = 0; i < o.users; i++) {
        curl_easy_cleanup(us[i].h);
        curl_slist_free_all(us[i].hdr);
        free(us[i].body);
        free(us[i].resp.p);
    }
    free(us);
    curl_multi_cleanup(m);

    /* Everything the server says about itself is read before verification,
     * whose no-cache requests would add to the counters. */
    json_t *fake1 = o.fake_url ? fake_stats(o.fake_url) : NULL;
    json_t *metrics = o.metrics ? server_metrics(o.url) : NULL;
    long hwm = o.server_pid ? proc_kb(o.server_pid, "VmHWM") : -1;

    if (st.cached_missing)
        fprintf(stderr,
                "replay: %zu replies had no \"cached\" field (a server from before the caches?)\n",
                st.cached_missing);
    if (st.n > st.ok)
        fprintf(stderr, "replay: %zu of %zu requests failed; the first: %s\n", st.n - st.ok, st.n,
                st.first_err);

    json_t *out = json_object();
    stats_json(&st, wall, out);
    json_object_set_new(out, "users", json_integer(o.users));
    json_object_set_new(out, "sessions", json_integer((json_int_t)sessions));
    json_object_set_new(out, "traffic_passes", json_integer((json_int_t)passes));
    json_object_set_new(out, "interrupted", json_boolean(interrupted));
    if (o.fake_url) {
        json_t *f = json_null();
        if (fake0 && fake1) {
            json_int_t dr = json_integer_value(json_object_get(fake1, "requests")) -
                            json_integer_value(json_object_get(fake0, "requests"));
            json_int_t dc = json_integer_value(json_object_get(fake1, "completions")) -
                            json_integer_value(json_object_get(fake0, "completions"));
            f = json_pack("{s:I,s:I,s:o}", "requests", dr, "completions", dc,
                          "requests_per_message", rate((size_t)dr, st.n));
        }
        json_object_set_new(out, "fake_llm", f);
    }
    json_object_set_new(out, "cost_usd_total", jnum(st.cost, 6));
    json_object_set_new(out, "cost_per_1000_requests",
                        st.ok ? jnum(st.cost / (double)st.ok * 1000, 6) : json_null());
    if (metrics)
        json_object_set_new(out, "server_metrics", metrics);
    if (o.server_pid)
        json_object_set_new(out, "server_peak_rss_kb", hwm >= 0 ? json_integer(hwm) : json_null());
    if (o.soak_sample) {
        json_t *series = json_array();
        for (size_t i = 0; i < rss_kb.n; i++)
            json_array_append_new(series,
                                  json_pack("[o,o]", jnum(rss_t.v[i], 2), jnum(rss_kb.v[i], 0)));
        json_object_set_new(out, "rss_sample_s", jnum(o.soak_sample, 3));
        json_object_set_new(out, "rss_kb_series", series);
        json_object_set_new(out, "rss_flat_pct", jnum(rss_flat_pct(rss_kb.v, rss_kb.n), 2));
    }
    if (o.verify)
        json_object_set_new(out, "verify", verify(&o, &tr));

    char *js = json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12));
    if (!js)
        die("out of memory");
    puts(js);
    free(js);
    json_decref(out);
    json_decref(fake0);
    json_decref(fake1);
    json_decref(st.routes);
    json_decref(st.err_kinds);
    free(st.lat.v);
    free(st.lat_hit.v);
    free(st.lat_miss.v);
    free(rss_t.v);
    free(rss_kb.v);
    traffic_free(&tr);
    if (fflush(stdout))
        return 1;
    return st.n > 0 && st.ok == 0 ? 3 : 0; /* nothing worked: say so to scripts too */
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
        !strcmp(argv[1], "help")) {
        fputs(usage_text, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "gen"))
        return cmd_gen(argc - 2, argv + 2);
    if (!strcmp(argv[1], "run")) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT))
            die("curl_global_init failed");
        int rc = cmd_run(argc - 2, argv + 2);
        curl_global_cleanup();
        return rc;
    }
    usage_die("unknown command '%s' (gen or run)", argv[1]);
    return 2;
}
