/* metrics.c: retrieval metrics with trec_eval's definitions (ndcg_cut.10,
 * recall.100, recip_rank cut at 10), used by `frontdesk eval retrieval`.
 * Judgments are kept as one sorted array: (qid, docid) lookups by bsearch. */
#include "kb.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct judgment {
    char *qid;
    char *docid;
    int grade;
} judgment;

struct fd_qrels {
    judgment *v;
    size_t n, cap;
    int sorted;
    size_t n_queries;
};

fd_qrels *fd_qrels_new(void)
{
    return fd_calloc(1, sizeof(fd_qrels));
}

void fd_qrels_free(fd_qrels *q)
{
    if (!q)
        return;
    for (size_t i = 0; i < q->n; i++) {
        fd_free(q->v[i].qid);
        fd_free(q->v[i].docid);
    }
    fd_free(q->v);
    fd_free(q);
}

int fd_qrels_add(fd_qrels *q, const char *qid, const char *docid, int grade, fd_err *err)
{
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 256;
        judgment *v = fd_realloc(q->v, cap * sizeof *v);
        if (!v)
            return fd_err_set(err, FD_ENOMEM, "qrels: out of memory");
        q->v = v;
        q->cap = cap;
    }
    judgment *j = &q->v[q->n];
    j->qid = fd_strdup(qid);
    j->docid = fd_strdup(docid);
    if (!j->qid || !j->docid) {
        fd_free(j->qid);
        fd_free(j->docid);
        return fd_err_set(err, FD_ENOMEM, "qrels: out of memory");
    }
    j->grade = grade;
    q->n++;
    q->sorted = 0;
    return FD_OK;
}

static int judgment_cmp(const void *pa, const void *pb)
{
    const judgment *a = pa, *b = pb;
    int c = strcmp(a->qid, b->qid);
    return c ? c : strcmp(a->docid, b->docid);
}

static void qrels_sort(fd_qrels *q)
{
    if (q->sorted)
        return;
    qsort(q->v, q->n, sizeof *q->v, judgment_cmp);
    q->n_queries = 0;
    for (size_t i = 0; i < q->n; i++)
        if (i == 0 || strcmp(q->v[i].qid, q->v[i - 1].qid) != 0)
            q->n_queries++;
    q->sorted = 1;
}

size_t fd_qrels_n_queries(const fd_qrels *q)
{
    qrels_sort((fd_qrels *)q);
    return q->n_queries;
}

/* TSV: "qid<TAB>docid<TAB>grade" (BEIR) or "qid 0 docid grade" (TREC);
 * a header line starting with "query-id" is skipped. */
int fd_qrels_load(const char *path, fd_qrels **out, fd_err *err)
{
    char *text = NULL;
    size_t len = 0;
    *out = NULL;
    int rc = fd_file_read(path, 0, &text, &len, err);
    if (rc)
        return rc;
    fd_qrels *q = fd_qrels_new();
    if (!q) {
        fd_free(text);
        return fd_err_set(err, FD_ENOMEM, "qrels: out of memory");
    }
    int lineno = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\r\n", &save); line && !rc;
         line = strtok_r(NULL, "\r\n", &save)) {
        lineno++;
        if (strncmp(line, "query-id", 8) == 0 || *line == '\0')
            continue;
        char *f[4];
        int nf = 0;
        char *s2 = NULL;
        for (char *t = strtok_r(line, " \t", &s2); t && nf < 4; t = strtok_r(NULL, " \t", &s2))
            f[nf++] = t;
        if (nf != 3 && nf != 4) {
            rc = fd_err_set(err, FD_EINVAL, "%s:%d: expected 'query-id corpus-id score'", path,
                            lineno);
            break;
        }
        const char *docid = nf == 3 ? f[1] : f[2];
        char *end = NULL;
        long grade = strtol(f[nf - 1], &end, 10);
        if (*end) {
            rc = fd_err_set(err, FD_EINVAL, "%s:%d: score '%s' is not an integer", path, lineno,
                            f[nf - 1]);
            break;
        }
        rc = fd_qrels_add(q, f[0], docid, (int)grade, err);
    }
    fd_free(text);
    if (!rc && q->n == 0)
        rc = fd_err_set(err, FD_EINVAL, "%s: no judgments", path);
    if (rc) {
        fd_qrels_free(q);
        return rc;
    }
    qrels_sort(q);
    *out = q;
    return FD_OK;
}

static int grade_of(const fd_qrels *q, const char *qid, const char *docid)
{
    judgment key = {(char *)qid, (char *)docid, 0};
    const judgment *j = bsearch(&key, q->v, q->n, sizeof key, judgment_cmp);
    return j ? j->grade : 0;
}

static int grade_desc(const void *a, const void *b)
{
    return *(const int *)b - *(const int *)a;
}

int fd_eval_query(const fd_qrels *qc, const char *qid, const char *const *ranked, size_t n,
                  fd_eval_scores *out)
{
    fd_qrels *q = (fd_qrels *)qc;
    qrels_sort(q);
    memset(out, 0, sizeof *out);
    /* The judgments of qid are one run in the sorted array. */
    size_t lo = 0, hi = q->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (strcmp(q->v[mid].qid, qid) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t first = lo, last = lo;
    while (last < q->n && strcmp(q->v[last].qid, qid) == 0)
        last++;
    if (first == last)
        return FD_ENOTFOUND;

    int ideal[10];
    size_t n_ideal = 0, n_rel = 0;
    int grades[64];
    size_t n_grades = 0;
    for (size_t i = first; i < last; i++) {
        if (q->v[i].grade <= 0)
            continue;
        n_rel++;
        if (n_grades < sizeof grades / sizeof grades[0])
            grades[n_grades++] = q->v[i].grade;
    }
    qsort(grades, n_grades, sizeof grades[0], grade_desc);
    for (size_t i = 0; i < n_grades && n_ideal < 10; i++)
        ideal[n_ideal++] = grades[i];

    double dcg = 0, idcg = 0;
    size_t found = 0;
    for (size_t i = 0; i < n && i < 100; i++) {
        int g = grade_of(q, qid, ranked[i]);
        if (g <= 0)
            continue;
        found++;
        if (i < 10) {
            dcg += g / log2((double)i + 2);
            if (out->mrr10 == 0)
                out->mrr10 = 1.0 / (double)(i + 1);
        }
    }
    for (size_t i = 0; i < n_ideal; i++)
        idcg += ideal[i] / log2((double)i + 2);
    out->ndcg10 = idcg > 0 ? dcg / idcg : 0;
    out->recall100 = n_rel ? (double)found / (double)n_rel : 0;
    return FD_OK;
}
