/* assistant.c: the assistant's shared, read-mostly parts, loaded from the
 * knowledge base: tone guide, escalation rules, the intent model (trained
 * from intents.tsv and cached on disk, keyed by the examples' hash), the
 * guard and the LLM client. */
#include "dialog_int.h"
#include "templates_int.h"

#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

/* 32 hex digits: the milliseconds since the epoch (48 bits, as UUIDv7 has
 * them), then 80 random bits. In time order, a new conversation's rows
 * land at the right edge of the sessions' key index and of the turns'
 * (session_id, seq) index instead of on a random page of each: fewer pages
 * a commit writes (a turn wrote ~10, bench/RESULTS.md). 80 random bits
 * keep an id unguessable, and another key's id reads as 404 anyway (issue
 * 17); what an id tells its holder is when the conversation began. */
void dialog_new_session_id(char out[33])
{
    uint64_t ms = (uint64_t)(fd_time_wall() * 1000.0);
    for (int i = 0; i < 12; i++)
        out[i] = "0123456789abcdef"[(ms >> (44 - 4 * i)) & 0xf];
    unsigned char b[10];
    size_t got = 0;
    while (got < sizeof b) {
        ssize_t n = getrandom(b + got, sizeof b - got, 0);
        if (n <= 0) {
            /* getrandom cannot fail on Linux >= 3.17 once seeded; fall back
             * to time-derived bits rather than abort a conversation. */
            uint64_t t = fd_hash64(&got, sizeof got, fd_time_ns());
            memcpy(b, &t, sizeof t);
            t = fd_hash64(&t, sizeof t, (uint64_t)getpid());
            memcpy(b + 8, &t, sizeof b - 8);
            break;
        }
        got += (size_t)n;
    }
    for (int i = 0; i < 10; i++) {
        out[12 + 2 * i] = "0123456789abcdef"[b[i] >> 4];
        out[13 + 2 * i] = "0123456789abcdef"[b[i] & 0xf];
    }
    out[32] = '\0';
}

int dialog_session_id_ok(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return 0;
    }
    return 1;
}

/* Splits intents.tsv text (label<TAB>text lines) in place. */
static int parse_examples(char *text, fd_intent_example **out, size_t *n, fd_err *err)
{
    size_t cap = 64, m = 0;
    fd_intent_example *v = fd_malloc(cap * sizeof *v);
    if (!v)
        return fd_err_set(err, FD_ENOMEM, "out of memory");
    int line = 0;
    for (char *p = text; p && *p;) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        line++;
        size_t len = strlen(p);
        if (len && p[len - 1] == '\r')
            p[--len] = '\0';
        if (len && p[0] != '#') {
            char *tab = strchr(p, '\t');
            if (!tab || tab == p || !tab[1]) {
                fd_free(v);
                return fd_err_set(err, FD_EFORMAT, "intents.tsv:%d: expected label<TAB>text", line);
            }
            *tab = '\0';
            if (m == cap) {
                cap *= 2;
                fd_intent_example *nv = fd_realloc(v, cap * sizeof *v);
                if (!nv) {
                    fd_free(v);
                    return fd_err_set(err, FD_ENOMEM, "out of memory");
                }
                v = nv;
            }
            v[m].label = p;
            v[m].text = tab + 1;
            m++;
        }
        p = nl ? nl + 1 : NULL;
    }
    *out = v;
    *n = m;
    return FD_OK;
}

static int read_small(const char *path, char *buf, size_t size)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, size - 1, f);
    fclose(f);
    buf[n] = '\0';
    return 0;
}

/* Loads the cached model when its recorded examples hash matches, else
 * trains from the stored intents.tsv and caches it. */
static int load_intents(fd_assistant *as, fd_kb *kb, int *retrained, fd_err *err)
{
    if (retrained)
        *retrained = 0;
    fd_arena *a = fd_arena_new(0);
    if (!a)
        return fd_err_set(err, FD_ENOMEM, "out of memory");
    const char *text;
    size_t len;
    char hash[65];
    int rc = fd_kb_asset(kb, "intents.tsv", a, &text, &len, hash, err);
    if (rc == FD_ENOTFOUND) {
        fd_arena_free(a);
        fd_err_clear(err);
        return FD_OK; /* no examples: every message goes to knowledge answers */
    }
    if (!rc && as->intents && strcmp(hash, as->intents_hash) == 0) {
        fd_arena_free(a);
        return FD_OK;
    }
    char hash_path[700], seen[80] = "";
    snprintf(hash_path, sizeof hash_path, "%s.sha256", as->model_path);
    fd_intent_model *m = NULL;
    if (!rc && read_small(hash_path, seen, sizeof seen) == 0 && strncmp(seen, hash, 64) == 0) {
        fd_err e2;
        if (fd_intent_load(as->model_path, &m, &e2) != FD_OK) {
            FD_LOG(as->log, FD_LOG_WARN, "dialog", "intent model %s unusable (%s); retraining",
                   as->model_path, e2.msg);
            m = NULL;
        }
    }
    if (!rc && !m) {
        fd_intent_example *ex = NULL;
        size_t n = 0;
        uint64_t t0 = fd_time_ns();
        rc = parse_examples((char *)text, &ex, &n, err);
        if (!rc)
            rc = fd_intent_train(ex, n, NULL, &m, err);
        fd_free(ex);
        if (!rc) {
            FD_LOG(as->log, FD_LOG_INFO, "dialog", "intent model trained on %zu examples in %.2f s",
                   n, (double)(fd_time_ns() - t0) / 1e9);
            fd_err e2;
            if (fd_intent_save(m, as->model_path, &e2) != FD_OK ||
                fd_file_write_atomic(hash_path, hash, strlen(hash), &e2) != FD_OK)
                FD_LOG(as->log, FD_LOG_WARN, "dialog", "cannot cache intent model at %s: %s",
                       as->model_path, e2.msg);
            if (retrained)
                *retrained = 1;
        }
    }
    if (!rc) {
        fd_intent_model_free(as->intents);
        as->intents = m;
        memcpy(as->intents_hash, hash, sizeof hash);
    }
    fd_arena_free(a);
    return rc;
}

/* Ordering in chat is on when the knowledge base has a commerce.toml and
 * a products.csv. A catalog that cannot be read leaves it off with the
 * reason in the log: answers go on, orders go to people. */
static void load_catalog(fd_assistant *as, fd_kb *kb, fd_arena *a)
{
    const char *rules, *products, *customers = NULL;
    size_t rl, pl, cl = 0;
    fd_err err;
    if (fd_kb_asset(kb, "commerce.toml", a, &rules, &rl, NULL, &err) != FD_OK)
        return;
    if (fd_kb_asset(kb, "products.csv", a, &products, &pl, NULL, &err) != FD_OK) {
        FD_LOG(as->log, FD_LOG_WARN, "commerce",
               "commerce.toml but no products.csv: ordering in chat is off");
        return;
    }
    if (fd_kb_asset(kb, "customers.csv", a, &customers, &cl, NULL, &err) != FD_OK)
        customers = NULL;
    size_t skipped = 0;
    if (fd_catalog_load(products, pl, rules, rl, customers, cl, &as->catalog, &skipped, &err)) {
        FD_LOG(as->log, FD_LOG_ERROR, "commerce", "ordering in chat is off: %s", err.msg);
        return;
    }
    if (skipped)
        FD_LOG(as->log, FD_LOG_WARN, "commerce", "%zu catalog rows skipped; first: %s", skipped,
               err.msg);
    FD_LOG(as->log, FD_LOG_INFO, "commerce", "catalog: %zu products, %zu outlets",
           fd_catalog_n_products(as->catalog), fd_catalog_n_outlets(as->catalog));
}

static int load_assets(fd_assistant *as, fd_kb *kb, fd_err *err)
{
    fd_arena *a = fd_arena_new(0);
    if (!a)
        return fd_err_set(err, FD_ENOMEM, "out of memory");
    const char *text = NULL;
    size_t len = 0;
    int rc = fd_kb_asset(kb, "tone.md", a, &text, &len, NULL, err);
    if (!rc) {
        as->tone = fd_strndup(text, len);
        /* "# Harbour Pack Supplies - tone of voice" -> the company's name. */
        if (strncmp(text, "# ", 2) == 0) {
            size_t n = strcspn(text + 2, "\n");
            const char *dash = strstr(text + 2, " - ");
            if (dash && (size_t)(dash - text - 2) < n)
                n = (size_t)(dash - text - 2);
            as->company = fd_strndup(text + 2, n);
        }
    }
    if (rc == FD_ENOTFOUND)
        rc = FD_OK;
    int json = 0;
    text = NULL;
    if (!rc) {
        rc = fd_kb_asset(kb, "escalation.toml", a, &text, &len, NULL, err);
        if (rc == FD_ENOTFOUND) {
            json = 1;
            rc = fd_kb_asset(kb, "escalation.json", a, &text, &len, NULL, err);
        }
        if (rc == FD_ENOTFOUND) {
            /* No rules of the company's: a person when the customer asks
             * for one, still (issue 14: "can I talk to a real person" got
             * "I don't have that information"). */
            static const char builtin[] = "[tiers]\nnames = [\"bot\", \"agent\"]\n"
                                          "default = \"bot\"\n"
                                          "[rules.human_request]\ntier = \"agent\"\n"
                                          "priority = 1\nintents = [\"human_handoff\"]\n"
                                          "reason = \"Customer asked for a person\"\n";
            text = builtin;
            len = sizeof builtin - 1;
            json = 0;
            rc = FD_OK;
        }
    }
    if (!rc)
        rc = esc_rules_load(&as->rules, text, len, json, as->cfg->dialog_tz_offset_min, err);
    if (!rc)
        load_catalog(as, kb, a);
    fd_arena_free(a);
    return rc;
}

/* The word lists of assistants opened one from another (fd_assistant_reopen):
 * loaded by the first, freed by the last to close. */
struct wordsets {
    atomic_int refs;
    fd_wordlist *w[FD__NLANGS];
};

static void wordsets_put(struct wordsets *ws)
{
    if (!ws || atomic_fetch_sub(&ws->refs, 1) != 1)
        return;
    for (int l = 0; l < FD__NLANGS; l++)
        fd_wordlist_free(ws->w[l]);
    fd_free(ws);
}

/* The word lists that tell a typo from a real word the KB does not use,
 * one set per language ("fr=/usr/share/dict/french"; no prefix: English).
 * A missing list is a warning, not a failure: without any, the assistant
 * only expands chat spellings and corrects nothing. */
static int load_wordlists(fd_assistant *as, fd_err *err)
{
    const char *p = as->cfg->answer_wordlists;
    if (!as->cfg->answer_normalize)
        return FD_OK;
    as->wordsets = fd_calloc(1, sizeof *as->wordsets);
    if (!as->wordsets)
        return fd_err_set(err, FD_ENOMEM, "out of memory");
    atomic_init(&as->wordsets->refs, 1);
    int rc = FD_OK;
    while (!rc && *p) {
        size_t n = strcspn(p, ":");
        char path[512];
        snprintf(path, sizeof path, "%.*s", (int)n, p);
        p += n + (p[n] == ':');
        char *eq = strchr(path, '=');
        fd_lang l = FD_LANG_EN;
        if (eq) {
            *eq = '\0';
            l = fd_lang_parse(path);
            if (l == FD_LANG_UNKNOWN) {
                FD_LOG(as->log, FD_LOG_WARN, "dialog", "answer.wordlists: unknown language '%s'",
                       path);
                continue;
            }
        }
        const char *file = eq ? eq + 1 : path;
        if (!file[0])
            continue;
        if (!as->words[l])
            rc = fd_wordlist_new(&as->words[l], err);
        fd_err e2 = {0};
        if (!rc && fd_wordlist_load(as->words[l], file, &e2) != FD_OK)
            FD_LOG(as->log, FD_LOG_WARN, "dialog", "%s (typo correction uses the others)", e2.msg);
    }
    size_t total = 0;
    for (int l = 0; l < FD__NLANGS; l++) {
        as->wordsets->w[l] = as->words[l];
        total += fd_wordlist_size(as->words[l]);
    }
    if (!rc && total == 0 && as->cfg->answer_wordlists[0])
        FD_LOG(as->log, FD_LOG_WARN, "dialog",
               "no word list loaded (answer.wordlists): typos will not be corrected");
    return rc;
}

/* dialog.now, "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM" local time, checked here
 * so that a typo fails at start instead of silently meaning the clock. */
static int parse_now(const fd_config *cfg, double *out, fd_err *err)
{
    *out = 0;
    const char *v = cfg->dialog_now;
    if (!v[0])
        return FD_OK;
    int y, mo, d, h = 0, mi = 0, end = 0, n = sscanf(v, "%4d-%2d-%2d%n", &y, &mo, &d, &end);
    if (n == 3 && v[end] == 'T') {
        int e2 = 0;
        n = sscanf(v + end, "T%2d:%2d%n", &h, &mi, &e2) == 2 ? 3 : 0;
        end += e2;
    }
    if (n != 3 || v[end] || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 ||
        mi > 59 || y < 1970 || y > 9999)
        return fd_err_set_field(err, FD_EINVAL, "dialog.now",
                                "dialog.now must be local \"YYYY-MM-DD\" or \"YYYY-MM-DDTHH:MM\": "
                                "'%s'",
                                v);
    *out = (double)(fd_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60) -
           cfg->dialog_tz_offset_min * 60.0;
    return FD_OK;
}

double dialog_now(const fd_assistant *as)
{
    return as->fixed_now ? as->fixed_now : fd_time_wall();
}

/* The guard's trained classifier beside the intent model: every process
 * after the first skips the training (~0.1 s of its start). */
static void guard_cache_path(const fd_config *cfg, char *out, size_t n)
{
    snprintf(out, n, "%s/guard.model", cfg->data_dir);
}

int fd_assistant_prepare(const fd_config *cfg, fd_err *err)
{
    int rc = fd_mkdirs(cfg->data_dir, err);
    if (rc)
        return rc;
    char path[sizeof((fd_assistant *)0)->model_path];
    guard_cache_path(cfg, path, sizeof path);
    /* A restarted replica has one: the open loads it (and trains again only
     * if it is stale). Loading it here too cost a restart ~0.1 s. */
    if (access(path, F_OK) == 0)
        return FD_OK;
    fd_guard_opts gopts = {.max_chars = (size_t)cfg->guard_max_chars,
                           .threshold = cfg->guard_threshold};
    fd_guard *g = NULL;
    int cached = 0;
    fd_err ecache = {0};
    rc = fd_guard_new_cached(&gopts, path, &cached, &ecache, &g, err);
    fd_guard_free(g);
    /* Not saved (a read-only data dir): the open trains it again, as it
     * would have without this call. */
    return rc;
}

/* The answer memo (passages' sentences, terms and facts kept between
 * messages; see answer.h), one for all the threads that use the assistant.
 * The example KB (482 chunks) needs 5.4 MB to hold the analysis of every
 * passage a message can meet: at 4 MB the memo filled and started afresh
 * every ~70 messages of bench_dialog (77% of lookups hit; 96% at 8 MB and
 * above). 16 MB leaves room for a KB three times as large; the arena grows
 * only as it is used, so a small KB costs what it needs. Past it the memo
 * starts a new generation. */
#define ANSWER_MEMO_BYTES ((size_t)16 << 20)

static int open_with(const fd_config *cfg, fd_log *log, fd_kb *kb, fd_llm *llm, int own,
                     struct wordsets *lent, fd_assistant **out, fd_err *err)
{
    fd_assistant *as = fd_calloc(1, sizeof *as);
    if (!as)
        return fd_err_set(err, FD_ENOMEM, "out of memory");
    as->cfg = cfg;
    as->log = log;
    int rc = parse_now(cfg, &as->fixed_now, err);
    if (rc) {
        fd_free(as);
        return rc;
    }
    snprintf(as->model_path, sizeof as->model_path, "%s/intent.model", cfg->data_dir);
    fd_guard_opts gopts = {.max_chars = (size_t)cfg->guard_max_chars,
                           .threshold = cfg->guard_threshold};
    char guard_cache[sizeof as->model_path];
    guard_cache_path(cfg, guard_cache, sizeof guard_cache);
    int cached = 0;
    fd_err ecache = {0};
    rc = fd_guard_new_cached(&gopts, guard_cache, &cached, &ecache, &as->guard, err);
    if (!rc && cached != FD_GUARD_LOADED && ecache.msg[0])
        FD_LOG(as->log, FD_LOG_DEBUG, "dialog", "guard classifier trained (%s)", ecache.msg);
    if (!rc)
        rc = load_assets(as, kb, err);
    if (!rc)
        rc = load_intents(as, kb, &as->trained_at_open, err);
    if (!rc && lent) {
        atomic_fetch_add(&lent->refs, 1);
        as->wordsets = lent;
        for (int l = 0; l < FD__NLANGS; l++)
            as->words[l] = lent->w[l];
    } else if (!rc) {
        rc = load_wordlists(as, err);
    }
    if (!rc) {
        fd_err merr = {0};
        if (fd_answer_memo_new(ANSWER_MEMO_BYTES, &as->memo, &merr) != FD_OK)
            FD_LOG(log, FD_LOG_WARN, "dialog", "no answer memo (%s): passages analyzed anew",
                   merr.msg);
    }
    if (!rc && cfg->answer_normalize)
        rc = fd_thesaurus_open(cfg->answer_wordnet, cfg->answer_thesaurus_fr, &as->thesaurus, err);
    if (!rc && !own) {
        as->llm = llm;
    } else if (!rc && cfg->llm_base_url[0]) {
        as->own_llm = 1;
        rc = fd_llm_new(cfg, log, &as->llm, err);
        if (!rc)
            FD_LOG(log, FD_LOG_INFO, "dialog", "LLM: %s at %s", fd_llm_model(as->llm),
                   cfg->llm_base_url);
    }
    if (rc) {
        fd_assistant_close(as);
        return rc;
    }
    *out = as;
    return FD_OK;
}

int fd_assistant_open(const fd_config *cfg, fd_log *log, fd_kb *kb, fd_assistant **out, fd_err *err)
{
    return open_with(cfg, log, kb, NULL, 1, NULL, out, err);
}

int fd_assistant_open_llm(const fd_config *cfg, fd_log *log, fd_kb *kb, fd_llm *llm,
                          fd_assistant **out, fd_err *err)
{
    return open_with(cfg, log, kb, llm, 0, NULL, out, err);
}

int fd_assistant_reopen(const fd_assistant *prev, fd_kb *kb, fd_assistant **out, fd_err *err)
{
    /* An LLM client prev opened itself dies with prev: the new one opens
     * its own; a borrowed one (the server's) is lent on. */
    return open_with(prev->cfg, prev->log, kb, prev->own_llm ? NULL : prev->llm, prev->own_llm,
                     prev->wordsets, out, err);
}

int fd_assistant_refresh(fd_assistant *as, fd_kb *kb, int *retrained, fd_err *err)
{
    esc_rules_free(&as->rules);
    FD_FREE(as->tone);
    FD_FREE(as->company);
    fd_catalog_free(as->catalog);
    as->catalog = NULL;
    int rc = load_assets(as, kb, err);
    if (!rc)
        rc = load_intents(as, kb, retrained, err);
    return rc;
}

int fd_assistant_trained_at_open(const fd_assistant *as)
{
    return as->trained_at_open;
}

int fd_assistant_llm_stats(const fd_assistant *as, struct fd_llm_stats *out)
{
    if (!as->llm)
        return 0;
    fd_llm_stats_get(as->llm, out);
    return 1;
}

void fd_assistant_use_committer(fd_assistant *as, fd_committer *c)
{
    as->committer = c;
}

void fd_assistant_use_cache(fd_assistant *as, fd_cache *cache)
{
    as->cache = cache;
}

int fd_assistant_has_llm(const fd_assistant *as)
{
    return as->llm != NULL;
}

void fd_assistant_close(fd_assistant *as)
{
    if (!as)
        return;
    fd_guard_free(as->guard);
    fd_intent_model_free(as->intents);
    esc_rules_free(&as->rules);
    fd_catalog_free(as->catalog);
    fd_free(as->tone);
    fd_free(as->company);
    if (as->wordsets)
        wordsets_put(as->wordsets);
    else /* a failed load before its owner existed */
        for (int l = 0; l < FD__NLANGS; l++)
            fd_wordlist_free(as->words[l]);
    fd_thesaurus_free(as->thesaurus);
    fd_answer_memo_free(as->memo);
    if (as->own_llm)
        fd_llm_free(as->llm);
    fd_free(as);
}

const char *fd_assistant_company(const fd_assistant *as)
{
    return as && as->company && *as->company ? as->company : NULL;
}

void fd_assistant_welcome(const fd_assistant *as, fd_lang lang, char *out, size_t size)
{
    const char *company = fd_assistant_company(as);
    const char *t = dialog_template(company ? "greeting" : "greeting_anon", lang);
    if (company)
        snprintf(out, size, t, company);
    else
        snprintf(out, size, "%s", t);
}
