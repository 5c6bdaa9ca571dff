/* intent_io.c: intent model files and labelled data sets. A model file is
 * magic, version, payload length, payload, then a 64-bit hash of all that:
 * any flipped byte or truncation is FD_EFORMAT before a field is trusted,
 * and every field is range-checked after, so a corrupt file never reaches
 * the classifier. Written to a temp file and renamed: readers see the old
 * model or the new one, never half of one. */
#include "nlu_int.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

#define MAGIC "FDINTENT"
/* 2: the threshold applies to the in-scope odds (fd_intent_result.in_scope)
 * and the weights are the SVM + softmax regression mix; a version 1 file
 * would be read with the wrong threshold meaning, so it is refused. */
#define VERSION 2
#define HDR_LEN 24 /* magic 8, version 4, flags 4, payload length 8 */
#define SUM_SEED 0x6e6c75696e74656eull
#define LABEL_MAX 256
#define FILE_MAX ((size_t)2 << 30)

/* ---- little-endian writer ---------------------------------------------- */

static int put(fd_buf *b, uint64_t v, int n)
{
    unsigned char x[8];
    for (int i = 0; i < n; i++)
        x[i] = (unsigned char)(v >> (8 * i));
    return fd_buf_append(b, x, (size_t)n);
}

static int put_f32(fd_buf *b, float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return put(b, u, 4);
}

static int put_f64(fd_buf *b, double f)
{
    uint64_t u;
    memcpy(&u, &f, 8);
    return put(b, u, 8);
}

static int encode(const fd_intent_model *m, fd_buf *b)
{
    size_t nf = m->vocab.n, nw = (nf + 1) * m->n_labels;
    int rc = fd_buf_append(b, MAGIC, 8);
    rc = rc ? rc : put(b, VERSION, 4);
    rc = rc ? rc : put(b, 0, 4);
    rc = rc ? rc : put(b, 0, 8); /* payload length, patched below */
    rc = rc ? rc : put(b, m->cfg.word_n, 1);
    rc = rc ? rc : put(b, m->cfg.char_lo, 1);
    rc = rc ? rc : put(b, m->cfg.char_hi, 1);
    rc = rc ? rc : put(b, m->cfg.min_df, 1);
    rc = rc ? rc : put_f32(b, m->cfg.char_w);
    rc = rc ? rc : put_f64(b, m->temp);
    rc = rc ? rc : put_f64(b, m->threshold);
    rc = rc ? rc : put(b, m->n_labels, 4);
    rc = rc ? rc : put(b, nf, 4);
    for (size_t i = 0; !rc && i < m->n_labels; i++) {
        size_t len = strlen(m->labels[i]);
        rc = put(b, m->is_oos[i], 1);
        rc = rc ? rc : put(b, len, 4);
        rc = rc ? rc : fd_buf_append(b, m->labels[i], len);
    }
    for (size_t i = 0; !rc && i < nf; i++)
        rc = put(b, m->vocab.keys[i], 8);
    for (size_t i = 0; !rc && i < nf; i++)
        rc = put_f32(b, m->idf[i]);
    for (size_t i = 0; !rc && i < nw; i++)
        rc = put_f32(b, m->w[i]);
    if (rc)
        return rc;
    uint64_t plen = b->len - HDR_LEN;
    for (int i = 0; i < 8; i++)
        b->p[16 + i] = (char)(plen >> (8 * i));
    return put(b, fd_hash64(b->p, b->len, SUM_SEED), 8);
}

int fd_intent_save(const fd_intent_model *m, const char *path, fd_err *err)
{
    fd_buf b;
    fd_buf_init(&b, FILE_MAX);
    int rc = encode(m, &b);
    if (rc) {
        fd_buf_free(&b);
        return fd_err_set(err, rc, "intent: cannot encode the model (%s)", fd_code_name(rc));
    }
    rc = FD_FAULT("nlu.save")
             ? fd_err_set(err, FD_EIO, "intent: cannot write %s: injected fault", path)
             : fd_file_write_atomic(path, b.p, b.len, err);
    fd_buf_free(&b);
    return rc;
}

/* ---- reader -------------------------------------------------------------- */

typedef struct rd {
    const unsigned char *p;
    size_t len, at;
    int bad; /* read past the end */
} rd;

static uint64_t get(rd *r, int n)
{
    if (r->len - r->at < (size_t)n) {
        r->bad = 1;
        return 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v |= (uint64_t)r->p[r->at + (size_t)i] << (8 * i);
    r->at += (size_t)n;
    return v;
}

static float get_f32(rd *r)
{
    uint32_t u = (uint32_t)get(r, 4);
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static double get_f64(rd *r)
{
    uint64_t u = get(r, 8);
    double f;
    memcpy(&f, &u, 8);
    return f;
}

static int bad(fd_err *err, const char *path, const char *what)
{
    return fd_err_set(err, FD_EFORMAT, "intent: %s: corrupt model (%s)", path, what);
}

static int decode_labels(rd *r, fd_intent_model *m, const char *path, fd_err *err)
{
    for (size_t i = 0; i < m->n_labels; i++) {
        uint64_t oos = get(r, 1), len = get(r, 4);
        if (r->bad || oos > 1 || len == 0 || len > LABEL_MAX || r->len - r->at < len)
            return bad(err, path, "label");
        const char *s = (const char *)r->p + r->at;
        if (!fd_utf8_valid(s, len, NULL))
            return bad(err, path, "label text");
        m->is_oos[i] = (uint8_t)oos;
        m->labels[i] = fd_strndup(s, len);
        if (!m->labels[i])
            return fd_err_set(err, FD_ENOMEM, "intent: out of memory");
        r->at += len;
        if (i > 0 && strcmp(m->labels[i - 1], m->labels[i]) >= 0)
            return bad(err, path, "label order");
    }
    return FD_OK;
}

static int decode_arrays(rd *r, fd_intent_model *m, size_t nf, const char *path, fd_err *err)
{
    size_t nw = (nf + 1) * m->n_labels;
    /* sizes first, so a huge count in a corrupt file allocates nothing */
    if ((r->len - r->at) / 4 < nf * 3 + nw || r->len - r->at != nf * 12 + nw * 4)
        return bad(err, path, "array sizes");
    m->idf = fd_malloc((nf + 1) * sizeof *m->idf);
    m->w = fd_malloc(nw * sizeof *m->w);
    if (!m->idf || !m->w)
        return fd_err_set(err, FD_ENOMEM, "intent: out of memory");
    for (size_t i = 0; i < nf; i++) {
        uint32_t id;
        int added;
        if (fd_nlu_vocab_add(&m->vocab, get(r, 8), &id, &added))
            return fd_err_set(err, FD_ENOMEM, "intent: out of memory");
        if (!added)
            return bad(err, path, "duplicate feature");
    }
    for (size_t i = 0; i < nf; i++) {
        m->idf[i] = get_f32(r);
        if (!isfinite(m->idf[i]) || m->idf[i] < 0)
            return bad(err, path, "idf");
    }
    for (size_t i = 0; i < nw; i++) {
        m->w[i] = get_f32(r);
        if (!isfinite(m->w[i]))
            return bad(err, path, "weight");
    }
    return r->bad ? bad(err, path, "truncated") : FD_OK;
}

static int decode(rd *r, const char *path, fd_intent_model **out, fd_err *err)
{
    if (r->len < HDR_LEN + 8 || memcmp(r->p, MAGIC, 8))
        return bad(err, path, "not an intent model");
    r->at = 8;
    uint64_t version = get(r, 4), flags = get(r, 4), plen = get(r, 8);
    if (version != VERSION)
        return fd_err_set(err, FD_EFORMAT,
                          "intent: %s: model format version %u, this build reads version %d "
                          "only: retrain the model",
                          path, (unsigned)version, VERSION);
    if (flags || plen != r->len - HDR_LEN - 8)
        return bad(err, path, "length");
    uint64_t sum = 0;
    for (int i = 0; i < 8; i++)
        sum |= (uint64_t)r->p[r->len - 8 + (size_t)i] << (8 * i);
    if (sum != fd_hash64(r->p, r->len - 8, SUM_SEED))
        return bad(err, path, "checksum");
    r->len -= 8;
    fd_nlu_fcfg cfg;
    cfg.word_n = (uint8_t)get(r, 1);
    cfg.char_lo = (uint8_t)get(r, 1);
    cfg.char_hi = (uint8_t)get(r, 1);
    cfg.min_df = (uint8_t)get(r, 1);
    cfg.char_w = get_f32(r);
    double temp = get_f64(r), thr = get_f64(r);
    uint64_t nl = get(r, 4), nf = get(r, 4);
    if (r->bad || cfg.word_n < 1 || cfg.word_n > 2 || cfg.char_hi > 8 ||
        (cfg.char_hi && (cfg.char_lo < 1 || cfg.char_lo > cfg.char_hi)) ||
        !(cfg.char_w >= 0 && cfg.char_w <= 1))
        return bad(err, path, "features");
    if (!(temp > 0 && temp < 1e6) || !(thr >= 0 && thr <= 1))
        return bad(err, path, "calibration");
    if (nl < 2 || nl > r->len / 5 || nf >= UINT32_MAX - 1)
        return bad(err, path, "counts");
    fd_intent_model *m = NULL;
    if (fd_nlu_model_alloc((size_t)nl, &m))
        return fd_err_set(err, FD_ENOMEM, "intent: out of memory");
    m->cfg = cfg;
    m->temp = temp;
    m->threshold = thr;
    int rc = decode_labels(r, m, path, err);
    if (!rc)
        rc = decode_arrays(r, m, (size_t)nf, path, err);
    if (rc) {
        fd_intent_model_free(m);
        return rc;
    }
    *out = m;
    return FD_OK;
}

int fd_intent_load(const char *path, fd_intent_model **out, fd_err *err)
{
    *out = NULL;
    char *p;
    size_t len;
    int rc = fd_file_read(path, FILE_MAX, &p, &len, err);
    if (rc)
        return rc == FD_ETOOBIG ? bad(err, path, "too big") : rc;
    rd r = {(const unsigned char *)p, len, 0, 0};
    rc = decode(&r, path, out, err);
    fd_free(p);
    return rc;
}

/* ---- data sets ------------------------------------------------------------ */

void fd_intent_set_free(fd_intent_set *s)
{
    if (!s)
        return;
    FD_FREE(s->v);
    FD_FREE(s->mem_);
    s->n = 0;
}

/* Splits the line at the first tab, NUL-terminating both halves in place. */
static int parse_line(char *p, size_t len, const char *path, size_t line, fd_intent_example *ex,
                      fd_err *err)
{
    if (len && p[len - 1] == '\r')
        p[--len] = 0;
    size_t bad_at;
    if (!fd_utf8_valid(p, len, &bad_at))
        return fd_err_set(err, FD_EFORMAT, "%s:%zu: invalid UTF-8 at byte %zu", path, line,
                          bad_at + 1);
    char *tab = memchr(p, '\t', len);
    if (!tab)
        return fd_err_set(err, FD_EFORMAT, "%s:%zu: no tab between label and text", path, line);
    *tab = 0;
    char *text = tab + 1;
    while (*text == ' ' || *text == '\t')
        text++;
    if (tab == p || !*text)
        return fd_err_set(err, FD_EFORMAT, "%s:%zu: empty %s", path, line,
                          tab == p ? "label" : "text");
    ex->label = p;
    ex->text = text;
    return FD_OK;
}

int fd_intent_set_load(const char *path, fd_intent_set *out, fd_err *err)
{
    memset(out, 0, sizeof *out);
    char *p;
    size_t len;
    int rc = fd_file_read(path, 0, &p, &len, err);
    if (rc)
        return rc;
    size_t lines = 1;
    for (size_t i = 0; i < len; i++)
        lines += p[i] == '\n';
    out->mem_ = p;
    out->v = fd_malloc(lines * sizeof *out->v);
    if (!out->v) {
        fd_intent_set_free(out);
        return fd_err_set(err, FD_ENOMEM, "%s: out of memory", path);
    }
    size_t line = 0;
    for (size_t at = 0; !rc && at < len;) {
        char *s = p + at;
        char *nl = memchr(s, '\n', len - at);
        size_t n = nl ? (size_t)(nl - s) : len - at;
        at += n + 1;
        line++;
        if (nl)
            *nl = 0;
        if (n == 0 || (n == 1 && s[0] == '\r') || s[0] == '#')
            continue;
        rc = parse_line(s, n, path, line, &out->v[out->n], err);
        if (!rc)
            out->n++;
    }
    if (rc)
        fd_intent_set_free(out);
    return rc;
}
