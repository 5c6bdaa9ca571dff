/* bm25_search.c: exact top-k by block-max MaxScore over doc windows (the
 * scheme of Lucene's MaxScoreBulkScorer): per window, terms whose summed
 * bounds cannot beat the k-th score only get probed for other terms' docs. */
#include "bm25_int.h"

/* Docs per window. Bounds are recomputed per window from the block table, so
 * smaller windows bound tighter but cost more bookkeeping; the scratch is
 * WIN doubles + WIN bits (~33 KB, from the caller's arena). */
#define WIN 4096u
#define WIN_FIRST 256u /* see bm25_topk */

typedef struct topk {
    const fd_bm25 *ix;
    bm25_cursor *cur;
    size_t n_cur;
    bm25_cursor **ord; /* by window bound, ascending */
    double *cum;       /* cum[i]: sum of the bounds of ord[0..i) */
    size_t n_ne;       /* ord[0..n_ne) are non-essential in this window */
    double total;      /* sum of all window bounds */
    double *acc;       /* essential terms' partial scores, by doc - lo */
    uint64_t *seen;    /* docs with an acc entry */
    uint32_t lo, hi;   /* window [lo, hi) */
    fd_allow allow;
    fd_hit *heap; /* min-heap: root is the worst of the best k */
    size_t n_heap, k;
    float theta; /* a new doc must score above this: heap root, or 0 */
} topk;

/* ---- heap ------------------------------------------------------------------ */

/* Worse: lower score, or same score and higher doc (ties go to lower docs). */
static int worse(fd_hit a, fd_hit b)
{
    return a.score < b.score || (a.score == b.score && a.doc > b.doc);
}

static void sift_down(fd_hit *v, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        if (l < n && worse(v[l], v[m]))
            m = l;
        if (l + 1 < n && worse(v[l + 1], v[m]))
            m = l + 1;
        if (m == i)
            return;
        fd_hit t = v[i];
        v[i] = v[m];
        v[m] = t;
        i = m;
    }
}

/* Docs arrive in increasing order, so a newcomer tied with the root is the
 * worse of the two: strictly above theta is the only way in. */
static void offer(topk *r, uint32_t doc, float score)
{
    if (!(score > r->theta))
        return;
    fd_hit h = {.doc = doc, .score = score};
    if (r->n_heap < r->k) {
        size_t i = r->n_heap++;
        r->heap[i] = h;
        while (i > 0 && worse(r->heap[i], r->heap[(i - 1) / 2])) {
            fd_hit t = r->heap[i];
            r->heap[i] = r->heap[(i - 1) / 2];
            r->heap[(i - 1) / 2] = t;
            i = (i - 1) / 2;
        }
    } else {
        r->heap[0] = h;
        sift_down(r->heap, r->n_heap, 0);
    }
    if (r->n_heap == r->k)
        r->theta = r->heap[0].score;
}

/* A partial sum plus bounds cannot make it: the float it rounds to is at
 * most theta (rounding is monotone, so the real score's float is too). */
static int hopeless(const topk *r, double upper)
{
    return (float)upper <= r->theta;
}

/* ---- window bounds and partition ------------------------------------------- */

/* w * the largest block bound among c's blocks that overlap [lo, hi). */
static double window_bound(const topk *r, bm25_cursor *c)
{
    if (!bm25_cursor_skip(c, r->lo) || bm25_cursor_block_start(c) >= r->hi)
        return 0;
    float m = 0;
    for (uint32_t j = c->bi; j < c->n_blocks; j++) {
        m = c->blk[j].max_score > m ? c->blk[j].max_score : m;
        if (c->blk[j].last_doc >= r->hi - 1)
            break;
    }
    return c->w * (double)m;
}

/* Bounds every term over the window and splits essential from not; returns
 * 0 when no term has a posting in it. */
static int partition(topk *r)
{
    r->total = 0;
    for (size_t i = 0; i < r->n_cur; i++) {
        bm25_cursor *c = &r->cur[i];
        c->wmax = window_bound(r, c);
        r->total += c->wmax;
        size_t j = i; /* insertion sort: queries have a handful of terms */
        while (j > 0 && r->ord[j - 1]->wmax > c->wmax) {
            r->ord[j] = r->ord[j - 1];
            j--;
        }
        r->ord[j] = c;
    }
    size_t ne = 0;
    r->cum[0] = 0;
    while (ne < r->n_cur && hopeless(r, r->cum[ne] + r->ord[ne]->wmax)) {
        r->cum[ne + 1] = r->cum[ne] + r->ord[ne]->wmax;
        ne++;
    }
    r->n_ne = ne;
    return r->total > 0;
}

/* Where the next window may start when this one holds no posting at all. */
static uint32_t next_start(const topk *r)
{
    uint32_t next = r->ix->n_docs;
    for (size_t i = 0; i < r->n_cur; i++) {
        const bm25_cursor *c = &r->cur[i];
        if (c->bi < c->n_blocks && bm25_cursor_block_start(c) < next)
            next = bm25_cursor_block_start(c);
    }
    return next > r->hi ? next : r->hi;
}

/* ---- essential terms: accumulate the window -------------------------------- */

static void add_postings(topk *r, bm25_cursor *c)
{
    const bm25_params *prm = &r->ix->prm;
    while (c->pos < c->n && c->docs[c->pos] < r->lo)
        c->pos++;
    for (; c->pos < c->n && c->docs[c->pos] < r->hi; c->pos++) {
        uint32_t d = c->docs[c->pos], i = d - r->lo;
        float kd = bm25_kd(prm, bm25_dl(r->ix, d));
        r->acc[i] += c->w * (double)bm25_contrib(prm, c->idf, bm25_cursor_tf_at(c, c->pos), kd);
        r->seen[i >> 6] |= 1ull << (i & 63);
    }
}

static int accumulate(topk *r, bm25_cursor *c)
{
    double others = r->total - c->wmax;
    while (c->bi < c->n_blocks && bm25_cursor_block_start(c) < r->hi) {
        const bm25_block *b = &c->blk[c->bi];
        /* Block-max skip: even with every other term at its window bound, no
         * doc of this block can beat theta, so it is not decoded. A doc
         * also reached through another term then lacks this term's share,
         * but its real score is hopeless too, so the heap never sees it. */
        if (!hopeless(r, c->w * (double)b->max_score + others)) {
            if (c->loaded != c->bi) {
                int rc = bm25_cursor_load(r->ix, c);
                if (rc)
                    return rc;
            }
            add_postings(r, c);
            if (c->pos < c->n)
                break; /* the rest of the block is in later windows */
        } else if (b->last_doc >= r->hi) {
            break;
        }
        c->bi++;
    }
    return FD_OK;
}

/* ---- candidates: complete with non-essential terms ------------------------- */

/* Adds c's share of doc d to *s, or says the doc cannot make it (1). */
static int probe(topk *r, bm25_cursor *c, uint32_t d, float *kd, double *s, double rest)
{
    if (!bm25_cursor_skip(c, d) || bm25_cursor_block_start(c) > d)
        return 0;
    if (hopeless(r, *s + c->w * (double)c->blk[c->bi].max_score + rest))
        return 1;
    if (c->loaded != c->bi) {
        int rc = bm25_cursor_load(r->ix, c);
        if (rc)
            return -rc;
    }
    /* Candidates come in doc order, so scan on from the last position; the
     * block's last doc is >= d, so the scan needs no bound check. */
    uint32_t i = c->pos;
    while (c->docs[i] < d)
        i++;
    c->pos = i;
    if (c->docs[i] == d) {
        if (*kd < 0)
            *kd = bm25_kd(&r->ix->prm, bm25_dl(r->ix, d));
        *s += c->w * (double)bm25_contrib(&r->ix->prm, c->idf, bm25_cursor_tf_at(c, i), *kd);
    }
    return 0;
}

static int evaluate(topk *r, uint32_t d, double s)
{
    if (r->allow && !(r->allow[d >> 3] >> (d & 7) & 1))
        return FD_OK;
    float kd = -1; /* computed on the first hit */
    /* Largest bound first: the sum closes in on the real score fastest. */
    for (size_t i = r->n_ne; i-- > 0;) {
        if (hopeless(r, s + r->cum[i + 1]))
            return FD_OK;
        int rc = probe(r, r->ord[i], d, &kd, &s, r->cum[i]);
        if (rc)
            return rc > 0 ? FD_OK : -rc;
    }
    offer(r, d, (float)s);
    return FD_OK;
}

/* One essential term (the usual case once theta has grown): its postings
 * go straight to evaluation, no accumulator round trip. */
static int window_single(topk *r, bm25_cursor *c)
{
    const bm25_params *prm = &r->ix->prm;
    double rest = r->cum[r->n_ne];
    double others = r->total - c->wmax;
    while (c->bi < c->n_blocks && bm25_cursor_block_start(c) < r->hi) {
        const bm25_block *b = &c->blk[c->bi];
        if (hopeless(r, c->w * (double)b->max_score + others)) {
            if (b->last_doc >= r->hi)
                break;
            c->bi++;
            continue;
        }
        if (c->loaded != c->bi) {
            int rc = bm25_cursor_load(r->ix, c);
            if (rc)
                return rc;
        }
        while (c->pos < c->n && c->docs[c->pos] < r->lo)
            c->pos++;
        for (; c->pos < c->n && c->docs[c->pos] < r->hi; c->pos++) {
            uint32_t d = c->docs[c->pos];
            float kd = bm25_kd(prm, bm25_dl(r->ix, d));
            double s = c->w * (double)bm25_contrib(prm, c->idf, bm25_cursor_tf_at(c, c->pos), kd);
            if (hopeless(r, s + rest))
                continue;
            int rc = evaluate(r, d, s);
            if (rc)
                return rc;
        }
        if (c->pos < c->n)
            break;
        c->bi++;
    }
    return FD_OK;
}

static int window(topk *r)
{
    if (r->n_ne + 1 == r->n_cur)
        return window_single(r, r->ord[r->n_ne]);
    for (size_t i = r->n_ne; i < r->n_cur; i++) {
        int rc = accumulate(r, r->ord[i]);
        if (rc)
            return rc;
    }
    uint32_t words = (r->hi - r->lo + 63) / 64;
    int rc = FD_OK;
    for (uint32_t wd = 0; wd < words; wd++) {
        uint64_t m = r->seen[wd];
        r->seen[wd] = 0;
        while (m) {
            uint32_t i = wd * 64 + (uint32_t)__builtin_ctzll(m);
            m &= m - 1;
            if (!rc)
                rc = evaluate(r, r->lo + i, r->acc[i]);
            r->acc[i] = 0; /* keep clearing after an error: scratch stays clean */
        }
    }
    return rc;
}

int bm25_topk(const fd_bm25 *ix, bm25_cursor *cur, size_t n_cur, size_t k, fd_allow allow,
              fd_arena *a, fd_hits *out, fd_err *err)
{
    topk r = {.ix = ix, .cur = cur, .n_cur = n_cur, .allow = allow, .k = k};
    r.ord = fd_arena_alloc(a, n_cur * sizeof *r.ord);
    r.cum = fd_arena_alloc(a, (n_cur + 1) * sizeof *r.cum);
    r.acc = fd_arena_calloc(a, WIN, sizeof *r.acc);
    r.seen = fd_arena_calloc(a, WIN / 64, sizeof *r.seen);
    r.heap = fd_arena_alloc(a, k * sizeof *r.heap);
    if (!r.ord || !r.cum || !r.acc || !r.seen || !r.heap)
        return fd_err_set(err, fd_arena_full(a) ? FD_ETOOBIG : FD_ENOMEM,
                          "bm25 search: out of arena memory");
    int rc = FD_OK;
    /* Windows start small and double: the first ones run with theta = 0,
     * where every term is essential and every posting is accumulated. */
    uint64_t win = WIN_FIRST;
    for (uint64_t lo = 0; lo < ix->n_docs && !rc; win = win < WIN ? 2 * win : WIN) {
        r.lo = (uint32_t)lo;
        r.hi = lo + win < ix->n_docs ? (uint32_t)(lo + win) : ix->n_docs;
        if (!partition(&r)) {
            lo = next_start(&r);
            continue;
        }
        if (r.n_ne < r.n_cur)
            rc = window(&r);
        lo = r.hi;
    }
    if (rc)
        return fd_err_set(err, rc, "bm25: corrupt posting block");
    out->v = r.heap;
    out->n = r.n_heap;
    return FD_OK;
}
