/* classifier.c: a small softmax regression (benign + one class per attack
 * kind) over hashed word 1-2-grams and char 3-5-grams of folded text. It
 * generalizes the rules to phrasings nobody wrote a pattern for; trained
 * from the set embedded in the binary, so the model is never a file to ship.
 * Training takes ~0.1 s of CPU, a third of a process's start: the trained
 * weights may be kept in a cache file (fd_gc_save / fd_gc_load), valid only
 * for the set and the code that made them (CACHE_KEY_SALT below). */
#include "guard_int.h"

#include "sort.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* 2^16 buckets: a few thousand distinct n-grams in the set collide rarely,
 * and K * 2^16 floats (2.8 MB) stays small. */
#define BITS 16
#define DIM (1u << BITS)
#define K FD__NGUARD /* class index = kind; only NONE and attack kinds are used */
/* Chosen by 5-fold cross-validation on the embedded set (6-14 epochs and
 * rates 0.5-2 differ by under 1 point of recall). */
#define EPOCHS 14
#define LR 2.0
#define MAX_FEATS 8192
#define TEXT_MAX (4096 + 3)
/* Part of every cache file's key, with the training set's hash: bump it
 * whenever features(), the training loop or the constants above change,
 * so that no process ever loads weights made another way. */
#define CACHE_KEY_SALT "gc-1 bits=16 epochs=14 lr=2.0"
#define CACHE_MAGIC "FDGUARD1"

struct fd_gc_model {
    float *w; /* DIM * K, row per feature */
    float b[K];
    unsigned char used[K]; /* classes present in training */
};

void fd_gc_free(fd_gc_model *m)
{
    if (!m)
        return;
    fd_free(m->w);
    fd_free(m);
}

static int wchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c >= 0x80;
}

/* Feature ids sorted ascending (core/sort.h: an inline quicksort, not
 * glibc's qsort through a callback); repeats are merged right after. */
#define ID_KEY(x) (x)
FD_SORT_DEFINE(sort_ids, uint32_t, ID_KEY)

/* Features: word unigrams and bigrams (seed 1, 2) and char 3-5-grams over
 * the text with non-word runs squeezed to one space (seeds 3-5). The text
 * is cut at 4 KiB: long pastes keep their n-gram mix, and the cost stays
 * bounded. t holds TEXT_MAX bytes, v MAX_FEATS entries. */
static size_t features(fd_str f, char *t, uint32_t *v)
{
    size_t len = f.len < 4096 ? f.len : 4096;
    size_t tl = 0;
    t[tl++] = ' ';
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)f.p[i];
        if (wchar(c))
            t[tl++] = (char)c;
        else if (t[tl - 1] != ' ')
            t[tl++] = ' ';
    }
    if (t[tl - 1] != ' ')
        t[tl++] = ' ';
    size_t k = 0;
    for (size_t g = 3; g <= 5; g++)
        for (size_t i = 0; i + g <= tl && k < MAX_FEATS; i++)
            v[k++] = (uint32_t)(fd_hash64(t + i, g, g) & (DIM - 1));
    size_t prev_b = 0, prev_e = 0;
    for (size_t i = 0; i < tl && k + 2 <= MAX_FEATS;) {
        if (t[i] == ' ') {
            i++;
            continue;
        }
        size_t b = i;
        while (i < tl && t[i] != ' ')
            i++;
        v[k++] = (uint32_t)(fd_hash64(t + b, i - b, 1) & (DIM - 1));
        if (prev_e)
            v[k++] = (uint32_t)(fd_hash64(t + prev_b, i - prev_b, 2) & (DIM - 1));
        prev_b = b;
        prev_e = i;
    }
    sort_ids(v, k);
    size_t u = 0;
    for (size_t i = 0; i < k; i++)
        if (!u || v[u - 1] != v[i])
            v[u++] = v[i];
    return u;
}

int fd_gc_features(fd_str f, fd_arena *a, uint32_t **idx, size_t *n)
{
    char *t = fd_arena_alloc(a, TEXT_MAX);
    uint32_t *v = fd_arena_alloc(a, MAX_FEATS * sizeof *v);
    if (!t || !v)
        return fd_arena_full(a) ? FD_ETOOBIG : FD_ENOMEM;
    *n = features(f, t, v);
    *idx = v;
    return FD_OK;
}

static void softmax_scores(const fd_gc_model *m, const uint32_t *x, size_t n, double *p)
{
    double z[K], scale = n ? 1.0 / sqrt((double)n) : 0.0, max = -1e30;
    for (int c = 0; c < K; c++)
        z[c] = m->b[c];
    for (size_t i = 0; i < n; i++) {
        const float *row = m->w + (size_t)x[i] * K;
        for (int c = 0; c < K; c++)
            z[c] += row[c] * scale;
    }
    for (int c = 0; c < K; c++)
        if (m->used[c] && z[c] > max)
            max = z[c];
    double sum = 0;
    for (int c = 0; c < K; c++) {
        p[c] = m->used[c] ? exp(z[c] - max) : 0.0;
        sum += p[c];
    }
    for (int c = 0; c < K; c++)
        p[c] /= sum;
}

/* Attack classes trained apart would split the benign-vs-attack evidence;
 * the unicode class is folded into the kind its cleaned text shows. */
static int class_of(fd_guard_kind k)
{
    return k == FD_GUARD_UNICODE ? FD_GUARD_INJECTION : (int)k;
}

int fd_gc_train(const fd_gd_set *set, const unsigned char *skip, fd_gc_model **out, fd_err *err)
{
    *out = NULL;
    int rc = FD_OK;
    fd_gc_model *m = fd_calloc(1, sizeof *m);
    fd_arena *a = fd_arena_new(0);
    size_t *off = fd_malloc((set->n + 1) * sizeof *off);
    size_t *order = fd_malloc((set->n + 1) * sizeof *order);
    uint32_t *all = NULL;
    /* One feature buffer for all examples: an arena block per example would
     * make hundreds of allocations at startup. */
    char *tbuf = fd_malloc(TEXT_MAX);
    uint32_t *x = fd_malloc(MAX_FEATS * sizeof *x);
    if (!m || !a || !off || !order || !tbuf || !x)
        goto oom;
    m->w = fd_calloc((size_t)DIM * K, sizeof *m->w);
    if (!m->w)
        goto oom;
    /* Features once per example, into one flat array, then SGD epochs. */
    size_t cap = 1 << 16, used = 0, n_train = 0;
    all = fd_malloc(cap * sizeof *all);
    if (!all)
        goto oom;
    for (size_t i = 0; i < set->n; i++) {
        off[i] = used;
        if (skip && skip[i])
            continue;
        fd_arena_reset(a);
        fd_str folded;
        size_t nx = 0;
        rc = fd_text_fold(set->v[i].text, a, &folded, err);
        if (!rc)
            nx = features(folded, tbuf, x);
        if (rc == FD_EUTF8) {
            rc = fd_err_set(err, FD_EFORMAT, "guard: training example %zu is not UTF-8", i);
            goto oom;
        }
        if (rc)
            goto oom;
        if (used + nx > cap) {
            while (used + nx > cap)
                cap *= 2;
            uint32_t *g = fd_realloc(all, cap * sizeof *all);
            if (!g)
                goto oom;
            all = g;
        }
        memcpy(all + used, x, nx * sizeof *x);
        used += nx;
        order[n_train++] = i;
        m->used[class_of(set->v[i].kind)] = 1;
    }
    off[set->n] = used;
    m->used[FD_GUARD_NONE] = 1;
    /* Balanced classes: benign examples together weigh as much as attacks
     * together, so adding everyday customer messages (which make benign
     * outnumber attacks 8:3) teaches the model what ordinary talk looks
     * like without moving its attack threshold. */
    size_t n_benign = 0;
    for (size_t s = 0; s < n_train; s++)
        n_benign += set->v[order[s]].kind == FD_GUARD_NONE;
    double w_benign =
        n_benign && n_benign < n_train ? (double)(n_train - n_benign) / (double)n_benign : 1.0;
    uint64_t rng = 0x9E3779B97F4A7C15ull; /* fixed: the same set gives the same model */
    double p[K];
    for (int ep = 0; ep < EPOCHS; ep++) {
        for (size_t i = n_train; i > 1; i--) {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            size_t j = (size_t)(rng % i);
            size_t t = order[i - 1];
            order[i - 1] = order[j];
            order[j] = t;
        }
        double lr = LR / (1.0 + 0.3 * ep);
        for (size_t s = 0; s < n_train; s++) {
            size_t e = order[s];
            const uint32_t *xe = all + off[e];
            size_t nx = off[e + 1] - off[e]; /* skipped examples add nothing */
            softmax_scores(m, xe, nx, p);
            int y = class_of(set->v[e].kind);
            double scale = nx ? 1.0 / sqrt((double)nx) : 0.0;
            double cw = y == FD_GUARD_NONE ? w_benign : 1.0;
            for (int c = 0; c < K; c++) {
                if (!m->used[c])
                    continue;
                double g = cw * ((c == y ? 1.0 : 0.0) - p[c]);
                m->b[c] += (float)(lr * 0.1 * g);
                double step = lr * g * scale;
                for (size_t i = 0; i < nx; i++)
                    m->w[(size_t)xe[i] * K + c] += (float)step;
            }
        }
    }
    fd_free(all);
    fd_free(off);
    fd_free(order);
    fd_free(tbuf);
    fd_free(x);
    fd_arena_free(a);
    *out = m;
    return FD_OK;
oom:
    fd_free(tbuf);
    fd_free(x);
    fd_free(all);
    fd_free(off);
    fd_free(order);
    fd_arena_free(a);
    fd_gc_free(m);
    if (rc && rc != FD_ENOMEM && rc != FD_ETOOBIG)
        return rc;
    return fd_err_set(err, FD_ENOMEM, "guard: out of memory training the classifier");
}

int fd_gc_predict(const fd_gc_model *m, fd_str folded, fd_arena *a, double *p_attack,
                  fd_guard_kind *kind)
{
    uint32_t *x;
    size_t n;
    int rc = fd_gc_features(folded, a, &x, &n);
    if (rc)
        return rc;
    double p[K];
    softmax_scores(m, x, n, p);
    int best = 0;
    double best_p = -1;
    for (int c = 1; c < K; c++) {
        if (p[c] > best_p) {
            best_p = p[c];
            best = c;
        }
    }
    *p_attack = 1.0 - p[FD_GUARD_NONE];
    *kind = best ? (fd_guard_kind)best : FD_GUARD_INJECTION;
    return FD_OK;
}

/* ---- the cache file ---------------------------------------------------------
 * "FDGUARD1", u32 K, u32 DIM, u64 key, then b[K] (f32), used[K] (u8),
 * w[DIM * K] (f32), then u64 fd_hash64 of everything before it. Native
 * byte order: the file is a cache for this machine's processes, not an
 * exchange format (another machine's file fails the key or the check and
 * is retrained over). */

uint64_t fd_gc_cache_key(const void *set_bytes, size_t len)
{
    uint64_t salt = fd_hash64(CACHE_KEY_SALT, sizeof CACHE_KEY_SALT - 1, 0);
    return fd_hash64(set_bytes, len, salt);
}

#define HEAD_LEN (8 + 4 + 4 + 8)
#define BODY_LEN (sizeof(float) * K + K + sizeof(float) * (size_t)DIM * K)

int fd_gc_save(const fd_gc_model *m, uint64_t key, const char *path, fd_err *err)
{
    size_t len = HEAD_LEN + BODY_LEN + 8;
    unsigned char *b = fd_malloc(len);
    if (!b)
        return fd_err_set(err, FD_ENOMEM, "guard: out of memory");
    uint32_t k = K, dim = DIM;
    size_t at = 0;
    memcpy(b + at, CACHE_MAGIC, 8);
    at += 8;
    memcpy(b + at, &k, 4);
    at += 4;
    memcpy(b + at, &dim, 4);
    at += 4;
    memcpy(b + at, &key, 8);
    at += 8;
    memcpy(b + at, m->b, sizeof(float) * K);
    at += sizeof(float) * K;
    memcpy(b + at, m->used, K);
    at += K;
    memcpy(b + at, m->w, sizeof(float) * (size_t)DIM * K);
    at += sizeof(float) * (size_t)DIM * K;
    uint64_t h = fd_hash64(b, at, 0);
    memcpy(b + at, &h, 8);
    int rc = fd_file_write_atomic(path, b, len, err);
    fd_free(b);
    return rc;
}

int fd_gc_load(const char *path, uint64_t key, fd_gc_model **out, fd_err *err)
{
    *out = NULL;
    char *b = NULL;
    size_t len = 0, want = HEAD_LEN + BODY_LEN + 8;
    int rc = fd_file_read(path, want + 1, &b, &len, err);
    if (rc)
        return rc;
    uint32_t k = 0, dim = 0;
    uint64_t fkey = 0, h = 0;
    if (len == want) {
        memcpy(&k, b + 8, 4);
        memcpy(&dim, b + 12, 4);
        memcpy(&fkey, b + 16, 8);
        memcpy(&h, b + want - 8, 8);
    }
    if (len != want || memcmp(b, CACHE_MAGIC, 8) != 0 || k != K || dim != DIM)
        rc = fd_err_set(err, FD_EFORMAT, "guard: %s is not a classifier cache of this build", path);
    else if (fkey != key)
        rc = fd_err_set(err, FD_EFORMAT, "guard: %s was trained from another set or by other code",
                        path);
    else if (fd_hash64(b, want - 8, 0) != h)
        rc = fd_err_set(err, FD_EFORMAT, "guard: %s is damaged (checksum)", path);
    fd_gc_model *m = NULL;
    if (!rc) {
        m = fd_calloc(1, sizeof *m);
        if (m)
            m->w = fd_malloc(sizeof(float) * (size_t)DIM * K);
        if (!m || !m->w)
            rc = fd_err_set(err, FD_ENOMEM, "guard: out of memory");
    }
    if (!rc) {
        size_t at = HEAD_LEN;
        memcpy(m->b, b + at, sizeof(float) * K);
        at += sizeof(float) * K;
        memcpy(m->used, b + at, K);
        at += K;
        memcpy(m->w, b + at, sizeof(float) * (size_t)DIM * K);
        *out = m;
        m = NULL;
    }
    fd_gc_free(m);
    fd_free(b);
    return rc;
}
