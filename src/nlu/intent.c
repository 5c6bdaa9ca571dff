/* intent.c: the trained intent model: lifetime, labels, threshold, and
 * classification (featurize, one sparse row times the weight matrix,
 * softmax with the fitted temperature, out-of-scope decision). */
#include "nlu_int.h"

#include <math.h>

static const char *const default_oos[] = {FD_INTENT_OOS, "out_of_scope"};

int fd_nlu_is_oos_label(const fd_intent_train_opts *opts, const char *label)
{
    const char *const *v = default_oos;
    size_t n = sizeof default_oos / sizeof default_oos[0];
    if (opts && opts->oos_labels) {
        v = opts->oos_labels;
        n = opts->n_oos_labels;
    }
    for (size_t i = 0; i < n; i++)
        if (v[i] && !strcmp(v[i], label))
            return 1;
    return 0;
}

int fd_nlu_model_alloc(size_t n_labels, fd_intent_model **out)
{
    fd_intent_model *m = fd_calloc(1, sizeof *m);
    if (!m)
        return FD_ENOMEM;
    m->n_labels = n_labels;
    m->labels = fd_calloc(n_labels, sizeof *m->labels);
    m->is_oos = fd_calloc(n_labels, 1);
    m->temp = 1.0;
    if (!m->labels || !m->is_oos) {
        fd_intent_model_free(m);
        return FD_ENOMEM;
    }
    *out = m;
    return FD_OK;
}

void fd_intent_model_free(fd_intent_model *m)
{
    if (!m)
        return;
    for (size_t i = 0; m->labels && i < m->n_labels; i++)
        fd_free(m->labels[i]);
    fd_free(m->labels);
    fd_free(m->is_oos);
    fd_nlu_vocab_free(&m->vocab);
    fd_free(m->idf);
    fd_free(m->w);
    fd_free(m);
}

void fd_intent_set_threshold(fd_intent_model *m, double t)
{
    m->threshold = isfinite(t) ? (t < 0 ? 0 : t > 1 ? 1 : t) : 0;
}

double fd_intent_threshold(const fd_intent_model *m)
{
    return m->threshold;
}

size_t fd_intent_n_labels(const fd_intent_model *m)
{
    return m->n_labels;
}

const char *fd_intent_label(const fd_intent_model *m, size_t i)
{
    return i < m->n_labels ? m->labels[i] : NULL;
}

void fd_nlu_softmax(double *s, size_t n, double temp)
{
    double mx = -INFINITY, z = 0;
    for (size_t i = 0; i < n; i++)
        mx = s[i] > mx ? s[i] : mx;
    for (size_t i = 0; i < n; i++) {
        s[i] = exp((s[i] - mx) / temp);
        z += s[i];
    }
    for (size_t i = 0; i < n; i++)
        s[i] /= z;
}

int fd_nlu_intent_scores(const fd_intent_model *m, fd_str text, fd_arena *a, double *p, fd_err *err)
{
    fd_nlu_raw *raw;
    size_t n_raw;
    int rc = fd_nlu_featurize(&m->cfg, text, a, &raw, &n_raw, err);
    if (rc)
        return rc;
    uint32_t *idx = fd_arena_alloc(a, (n_raw + 1) * sizeof *idx);
    float *val = fd_arena_alloc(a, (n_raw + 1) * sizeof *val);
    if (!idx || !val)
        return fd_err_set(err, fd_arena_full(a) ? FD_ETOOBIG : FD_ENOMEM, "intent: no memory");
    size_t k =
        fd_nlu_vectorize(&m->vocab, m->idf, &m->cfg, (uint32_t)m->vocab.n, raw, n_raw, idx, val);
    size_t nl = m->n_labels;
    for (size_t j = 0; j < nl; j++)
        p[j] = 0;
    for (size_t i = 0; i < k; i++) {
        const float *row = m->w + (size_t)idx[i] * nl; /* feature-major: one contiguous row */
        double v = val[i];
        for (size_t j = 0; j < nl; j++)
            p[j] += v * row[j];
    }
    fd_nlu_softmax(p, nl, m->temp);
    return FD_OK;
}

int fd_intent_classify(const fd_intent_model *m, fd_str text, fd_arena *a, fd_intent_result *out,
                       fd_err *err)
{
    memset(out, 0, sizeof *out);
    size_t i = 0;
    while (i < text.len &&
           (text.p[i] == ' ' || text.p[i] == '\t' || text.p[i] == '\n' || text.p[i] == '\r'))
        i++;
    if (i == text.len)
        return fd_err_set(err, FD_EINVAL, "intent: empty text");
    double *p = fd_arena_alloc(a, m->n_labels * sizeof *p);
    if (!p)
        return fd_err_set(err, fd_arena_full(a) ? FD_ETOOBIG : FD_ENOMEM, "intent: no memory");
    int rc = fd_nlu_intent_scores(m, text, a, p, err);
    if (rc)
        return rc;
    size_t nl = m->n_labels, best = 0, second = nl > 1 ? 1 : 0;
    if (nl > 1 && p[1] > p[0]) {
        best = 1;
        second = 0;
    }
    for (size_t j = 2; j < nl; j++) {
        if (p[j] > p[best]) {
            second = best;
            best = j;
        } else if (p[j] > p[second]) {
            second = j;
        }
    }
    /* The out-of-scope score: with out-of-scope labels, the odds of the best
     * in-scope label against them, p_in / (p_in + p_oos): a message torn
     * between two close in-scope labels is not out of scope, only one the
     * out-of-scope class competes for. On CLINC150's val it separates
     * out-of-scope rows better than the top probability (AUROC 0.964 vs
     * 0.935) and turns 0.55 out-of-scope recall at 0.930 in-scope accuracy
     * into 0.66 at 0.929. Without such labels: the top probability. */
    double p_in = -1, p_oos = 0;
    int has_oos = 0;
    for (size_t j = 0; j < nl; j++) {
        has_oos |= m->is_oos[j];
        if (m->is_oos[j])
            p_oos += p[j];
        else if (p[j] > p_in)
            p_in = p[j];
    }
    out->in_scope = !has_oos ? p[best] : p_in <= 0 ? 0 : p_in / (p_in + p_oos);
    out->top_label = m->labels[best];
    out->confidence = p[best];
    if (nl > 1) {
        out->second = m->labels[second];
        out->second_confidence = p[second];
    }
    out->oos = m->is_oos[best] || out->in_scope < m->threshold;
    out->label = out->oos ? FD_INTENT_OOS : m->labels[best];
    return FD_OK;
}
