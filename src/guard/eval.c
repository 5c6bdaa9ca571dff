/* eval.c: the labelled-set format and honest numbers on it. The embedded
 * training set is scored by 5-fold cross-validation (each fold judged by a
 * classifier that never saw it); any other file by the full model. */
#include "guard_int.h"

#include <stdlib.h>
#include <string.h>

#define FOLDS 5

void fd_gd_set_free(fd_gd_set *s)
{
    if (!s)
        return;
    FD_FREE(s->v);
    s->n = 0;
}

static int parse_label(const char *p, size_t n, fd_guard_kind *k)
{
    if (n == 6 && !memcmp(p, "benign", 6)) {
        *k = FD_GUARD_NONE;
        return 1;
    }
    if (n < 8 || memcmp(p, "attack:", 7))
        return 0;
    for (int i = FD_GUARD_UNICODE; i < FD__NGUARD; i++) {
        const char *name = fd_guard_kind_name((fd_guard_kind)i);
        if (strlen(name) == n - 7 && !memcmp(p + 7, name, n - 7)) {
            *k = (fd_guard_kind)i;
            return 1;
        }
    }
    return 0;
}

int fd_gd_parse(const char *p, size_t len, fd_gd_set *out, fd_err *err)
{
    out->v = NULL;
    out->n = 0;
    size_t lines = 1;
    for (size_t i = 0; i < len; i++)
        lines += p[i] == '\n';
    out->v = fd_malloc(lines * sizeof *out->v);
    if (!out->v)
        return fd_err_set(err, FD_ENOMEM, "guard: out of memory reading the labelled set");
    size_t line = 0;
    for (size_t i = 0; i < len;) {
        size_t e = i;
        while (e < len && p[e] != '\n')
            e++;
        line++;
        size_t end = e > i && p[e - 1] == '\r' ? e - 1 : e;
        const char *s = p + i;
        size_t n = end - i;
        i = e + 1;
        if (!n || s[0] == '#')
            continue;
        const char *t1 = memchr(s, '\t', n);
        const char *t2 = t1 ? memchr(t1 + 1, '\t', (size_t)(s + n - t1 - 1)) : NULL;
        fd_gd_example *ex = &out->v[out->n];
        if (!t2 || !parse_label(s, (size_t)(t1 - s), &ex->kind)) {
            fd_gd_set_free(out);
            return fd_err_set(err, FD_EFORMAT,
                              "guard: line %zu: want attack:<kind>|benign, "
                              "TAB, en|fr, TAB, text",
                              line);
        }
        size_t ll = (size_t)(t2 - t1 - 1);
        ex->lang = ll == 2 && !memcmp(t1 + 1, "fr", 2)   ? FD_LANG_FR
                   : ll == 2 && !memcmp(t1 + 1, "en", 2) ? FD_LANG_EN
                                                         : FD_LANG_UNKNOWN;
        ex->text = (fd_str){t2 + 1, (size_t)(s + n - t2 - 1)};
        if (!ex->text.len || ex->lang == FD_LANG_UNKNOWN) {
            fd_gd_set_free(out);
            return fd_err_set(err, FD_EFORMAT,
                              "guard: line %zu: empty text or language not "
                              "en/fr",
                              line);
        }
        out->n++;
    }
    return FD_OK;
}

typedef struct tally {
    size_t att[FD__NLANGS], att_hit[FD__NLANGS];
    size_t ben[FD__NLANGS], ben_hit[FD__NLANGS];
    size_t kind_ok;
} tally;

/* Scores examples with fold[i] == f (f < 0: all) and times each check. */
static int score(const fd_guard *g, const fd_gd_set *set, const unsigned char *fold, int f,
                 fd_arena *a, tally *t, double *us, size_t *n_us, fd_err *err)
{
    for (size_t i = 0; i < set->n; i++) {
        if (f >= 0 && fold[i] != f)
            continue;
        const fd_gd_example *ex = &set->v[i];
        fd_guard_verdict v;
        fd_arena_reset(a);
        uint64_t t0 = fd_time_ns();
        int rc = fd_guard_check(g, ex->text, a, &v, err);
        uint64_t t1 = fd_time_ns();
        if (rc)
            return rc;
        us[(*n_us)++] = (double)(t1 - t0) / 1000.0;
        if (ex->kind != FD_GUARD_NONE) {
            t->att[ex->lang]++;
            t->att_hit[ex->lang] += v.flagged != 0;
            t->kind_ok += v.flagged && v.kind == ex->kind;
        } else {
            t->ben[ex->lang]++;
            t->ben_hit[ex->lang] += v.flagged != 0;
        }
    }
    return FD_OK;
}

static double ratio(size_t a, size_t b)
{
    return b ? (double)a / (double)b : 0.0;
}

static void summarize(const tally *t, double *us, size_t n_us, fd_guard_eval *o)
{
    size_t att = t->att[FD_LANG_EN] + t->att[FD_LANG_FR];
    size_t tp = t->att_hit[FD_LANG_EN] + t->att_hit[FD_LANG_FR];
    size_t ben = t->ben[FD_LANG_EN] + t->ben[FD_LANG_FR];
    size_t fp = t->ben_hit[FD_LANG_EN] + t->ben_hit[FD_LANG_FR];
    o->n_attack = att;
    o->n_benign = ben;
    o->tp = tp;
    o->fp = fp;
    o->precision = ratio(tp, tp + fp);
    o->recall = ratio(tp, att);
    o->benign_flag_rate = ratio(fp, ben);
    o->recall_en = ratio(t->att_hit[FD_LANG_EN], t->att[FD_LANG_EN]);
    o->recall_fr = ratio(t->att_hit[FD_LANG_FR], t->att[FD_LANG_FR]);
    o->benign_flag_rate_en = ratio(t->ben_hit[FD_LANG_EN], t->ben[FD_LANG_EN]);
    o->benign_flag_rate_fr = ratio(t->ben_hit[FD_LANG_FR], t->ben[FD_LANG_FR]);
    o->precision_en =
        ratio(t->att_hit[FD_LANG_EN], t->att_hit[FD_LANG_EN] + t->ben_hit[FD_LANG_EN]);
    o->precision_fr =
        ratio(t->att_hit[FD_LANG_FR], t->att_hit[FD_LANG_FR] + t->ben_hit[FD_LANG_FR]);
    o->kind_accuracy = ratio(t->kind_ok, tp);
    if (n_us) {
        qsort(us, n_us, sizeof *us, fd_cmp_double);
        size_t k = (n_us * 99 + 99) / 100; /* nearest rank */
        o->p99_us = us[(k ? k : 1) - 1];
        o->p50_us = us[(n_us - 1) / 2];
    }
}

int fd_guard_evaluate(const char *path, const fd_guard_opts *opts, fd_guard_eval *out, fd_err *err)
{
    memset(out, 0, sizeof *out);
    char *file = NULL;
    size_t len = 0;
    int rc = FD_OK;
    if (path) {
        rc = fd_file_read(path, 64u << 20, &file, &len, err);
        if (rc)
            return rc;
    }
    /* The embedded set (NULL path, or a file with the same bytes) must be
     * cross-validated: scoring it with a model trained on it would only
     * measure memory. */
    int cv = !path || (len == fd_guard_data_len && !memcmp(file, fd_guard_data, len));
    const char *text = cv ? (const char *)fd_guard_data : file;
    size_t text_len = cv ? fd_guard_data_len : len;
    fd_gd_set set = {0}, train = {0};
    unsigned char *fold = NULL;
    double *us = NULL;
    fd_guard *g = NULL;
    fd_arena *a = fd_arena_new(0);
    tally t;
    memset(&t, 0, sizeof t);
    if (!a) {
        rc = fd_err_set(err, FD_ENOMEM, "guard: out of memory");
        goto out;
    }
    rc = fd_gd_parse(text, text_len, &set, err);
    if (!rc && !cv)
        rc = fd_gd_parse((const char *)fd_guard_data, fd_guard_data_len, &train, err);
    if (rc)
        goto out;
    fold = fd_malloc(set.n + 1);
    us = fd_malloc((set.n + 1) * sizeof *us);
    if (!fold || !us) {
        rc = fd_err_set(err, FD_ENOMEM, "guard: out of memory");
        goto out;
    }
    size_t n_us = 0;
    if (cv) {
        /* Round-robin folds: the file is grouped by kind, so every fold gets
         * its share of each kind and language. */
        for (size_t i = 0; i < set.n; i++)
            fold[i] = (unsigned char)(i % FOLDS);
        for (int f = 0; f < FOLDS && !rc; f++) {
            unsigned char *skip = fold; /* skip[i] != 0 when fold[i] == f */
            unsigned char *mask = fd_malloc(set.n + 1);
            if (!mask) {
                rc = fd_err_set(err, FD_ENOMEM, "guard: out of memory");
                break;
            }
            for (size_t i = 0; i < set.n; i++)
                mask[i] = skip[i] == f;
            uint64_t t0 = fd_time_ns();
            rc = fd_gd_build(opts, &set, mask, &g, err);
            out->build_ms += (double)(fd_time_ns() - t0) / 1e6 / FOLDS;
            fd_free(mask);
            if (!rc)
                rc = score(g, &set, fold, f, a, &t, us, &n_us, err);
            fd_guard_free(g);
            g = NULL;
        }
        out->folds = FOLDS;
    } else {
        uint64_t b0 = fd_time_ns();
        rc = fd_gd_build(opts, &train, NULL, &g, err);
        out->build_ms = (double)(fd_time_ns() - b0) / 1e6;
        if (!rc)
            rc = score(g, &set, NULL, -1, a, &t, us, &n_us, err);
    }
    if (!rc)
        summarize(&t, us, n_us, out);
out:
    fd_guard_free(g);
    fd_arena_free(a);
    fd_free(us);
    fd_free(fold);
    fd_gd_set_free(&set);
    fd_gd_set_free(&train);
    fd_free(file);
    return rc;
}
