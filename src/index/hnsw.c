/* hnsw.c: HNSW graph (Malkov & Yashunin 2016) over normalized vectors:
 * a deterministic build from float vectors, and a filtered beam search over
 * the serialized graph that reports when exact search must take over. */
#include "dense_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- build --------------------------------------------------------------- */

typedef struct builder {
    const float *v;
    uint32_t n, m, m0, ef;
    int dim;
    uint32_t *l0;   /* n x (1 + m0) */
    uint8_t *level; /* per node */
    uint32_t **up;  /* per node: level x (1 + m), NULL at level 0 */
    uint32_t entry, max_level;
    uint32_t *visit; /* visit[i] == gen: seen in this search */
    uint32_t gen;
    fd_hit_heap cand, res;
    fd_hit *tmp;   /* ef + m0 + 1: sorted beam, or a list being pruned */
    uint32_t *sel; /* m0 + 1 */
    uint64_t rng;
} builder;

/* splitmix64: tiny, seedable, and the same on every platform (rand() is not). */
static uint64_t next_u64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Level ~ floor(-ln(U) / ln(m)): each level holds ~1/m of the one below. */
static uint32_t random_level(builder *b)
{
    double u = ((double)(next_u64(&b->rng) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
    double l = -log(u) / log((double)b->m);
    return l >= DENSE_MAX_LEVEL ? DENSE_MAX_LEVEL : (uint32_t)l;
}

static const float *vec(const builder *b, uint32_t i)
{
    return b->v + (size_t)i * (size_t)b->dim;
}

static uint32_t *links(builder *b, uint32_t node, uint32_t layer)
{
    if (layer == 0)
        return b->l0 + (size_t)node * (1 + b->m0);
    return b->up[node] + (size_t)(layer - 1) * (1 + b->m);
}

static int heap_reserve(fd_hit_heap *h, size_t need)
{
    if (need <= h->cap)
        return FD_OK;
    size_t cap = h->cap ? h->cap * 2 : 256;
    while (cap < need)
        cap *= 2;
    fd_hit *v = fd_realloc(h->v, cap * sizeof *v);
    if (!v)
        return FD_ENOMEM;
    h->v = v;
    h->cap = cap;
    return FD_OK;
}

static void new_generation(builder *b)
{
    if (++b->gen == 0) { /* wrapped: old marks would look current */
        memset(b->visit, 0, (size_t)b->n * sizeof *b->visit);
        b->gen = 1;
    }
}

/* Beam search on one layer from ep; leaves the best ef in b->res. */
static int search_layer(builder *b, const float *q, fd_hit ep, uint32_t layer)
{
    new_generation(b);
    b->cand.n = 0;
    b->res.n = 0;
    b->visit[ep.doc] = b->gen;
    fd_hit_heap_push(&b->cand, ep);
    fd_hit_heap_offer(&b->res, ep);
    while (b->cand.n) {
        fd_hit c = fd_hit_heap_pop(&b->cand);
        if (b->res.n == b->res.cap && c.score < b->res.v[0].score)
            break;
        const uint32_t *lst = links(b, c.doc, layer);
        for (uint32_t j = 1; j <= lst[0]; j++) {
            uint32_t nb = lst[j];
            if (b->visit[nb] == b->gen)
                continue;
            b->visit[nb] = b->gen;
            fd_hit x = {nb, fd_dot_f32(q, vec(b, nb), b->dim)};
            if (b->res.n < b->res.cap || fd_hit_better(x, b->res.v[0])) {
                if (heap_reserve(&b->cand, b->cand.n + 1))
                    return FD_ENOMEM;
                fd_hit_heap_push(&b->cand, x);
                fd_hit_heap_offer(&b->res, x);
            }
        }
    }
    return FD_OK;
}

/* The paper's heuristic (alg. 4): keep a candidate only if it is closer to
 * the base than to every neighbor kept so far. It spreads links across
 * clusters, which is what keeps recall high on clustered data. cand is
 * sorted best first; returns how many ids went to b->sel. */
static uint32_t select_neighbors(builder *b, const fd_hit *cand, uint32_t nc, uint32_t max)
{
    uint32_t ns = 0;
    for (uint32_t i = 0; i < nc && ns < max; i++) {
        const float *e = vec(b, cand[i].doc);
        int keep = 1;
        for (uint32_t j = 0; j < ns && keep; j++)
            keep = fd_dot_f32(e, vec(b, b->sel[j]), b->dim) <= cand[i].score;
        if (keep)
            b->sel[ns++] = cand[i].doc;
    }
    return ns;
}

static int cmp_hit(const void *pa, const void *pb)
{
    fd_hit a = *(const fd_hit *)pa, c = *(const fd_hit *)pb;
    return fd_hit_better(a, c) ? -1 : fd_hit_better(c, a) ? 1 : 0;
}

/* Adds the back link node -> from; a full list is re-pruned with the same
 * heuristic, so lists never exceed their cap. */
static void add_link(builder *b, uint32_t node, uint32_t from, uint32_t layer)
{
    uint32_t cap = layer ? b->m : b->m0;
    uint32_t *lst = links(b, node, layer);
    if (lst[0] < cap) {
        lst[1 + lst[0]++] = from;
        return;
    }
    const float *base = vec(b, node);
    for (uint32_t j = 0; j < cap; j++)
        b->tmp[j] = (fd_hit){lst[1 + j], fd_dot_f32(base, vec(b, lst[1 + j]), b->dim)};
    b->tmp[cap] = (fd_hit){from, fd_dot_f32(base, vec(b, from), b->dim)};
    qsort(b->tmp, cap + 1, sizeof *b->tmp, cmp_hit);
    lst[0] = select_neighbors(b, b->tmp, cap + 1, cap);
    memcpy(lst + 1, b->sel, lst[0] * sizeof *lst);
}

static fd_hit greedy(builder *b, const float *q, fd_hit ep, uint32_t layer)
{
    for (int moved = 1; moved;) {
        moved = 0;
        const uint32_t *lst = links(b, ep.doc, layer);
        for (uint32_t j = 1; j <= lst[0]; j++) {
            fd_hit x = {lst[j], fd_dot_f32(q, vec(b, lst[j]), b->dim)};
            if (fd_hit_better(x, ep)) {
                ep = x;
                moved = 1;
            }
        }
    }
    return ep;
}

static int insert(builder *b, uint32_t i)
{
    uint32_t lv = random_level(b);
    b->level[i] = (uint8_t)lv;
    if (lv) {
        b->up[i] = fd_calloc((size_t)lv * (1 + b->m), sizeof(uint32_t));
        if (!b->up[i])
            return FD_ENOMEM;
    }
    if (i == 0) {
        b->entry = 0;
        b->max_level = lv;
        return FD_OK;
    }
    const float *q = vec(b, i);
    fd_hit ep = {b->entry, fd_dot_f32(q, vec(b, b->entry), b->dim)};
    for (uint32_t l = b->max_level; l > lv; l--)
        ep = greedy(b, q, ep, l);
    for (uint32_t l = lv < b->max_level ? lv : b->max_level;; l--) {
        if (search_layer(b, q, ep, l))
            return FD_ENOMEM;
        uint32_t nres = (uint32_t)b->res.n;
        while (b->res.n) /* worst pops first: fill from the back */
            b->tmp[b->res.n - 1] = fd_hit_heap_pop(&b->res);
        ep = b->tmp[0];
        uint32_t *lst = links(b, i, l);
        lst[0] = select_neighbors(b, b->tmp, nres, b->m);
        memcpy(lst + 1, b->sel, lst[0] * sizeof *lst);
        for (uint32_t j = 0; j < lst[0]; j++)
            add_link(b, lst[1 + j], i, l);
        if (l == 0)
            break;
    }
    if (lv > b->max_level) {
        b->entry = i;
        b->max_level = lv;
    }
    return FD_OK;
}

static void builder_free(builder *b)
{
    if (b->up)
        for (uint32_t i = 0; i < b->n; i++)
            fd_free(b->up[i]);
    fd_free(b->up);
    fd_free(b->l0);
    fd_free(b->level);
    fd_free(b->visit);
    fd_free(b->cand.v);
    fd_free(b->res.v);
    fd_free(b->tmp);
    fd_free(b->sel);
}

static int builder_init(builder *b, const float *v, uint32_t n, int dim, uint32_t m, uint32_t ef)
{
    memset(b, 0, sizeof *b);
    b->v = v;
    b->n = n;
    b->dim = dim;
    b->m = m;
    b->m0 = 2 * m;
    b->ef = ef < m ? m : ef;
    b->rng = 0x5EEDF00DCAFEull; /* fixed: same vectors, same graph */
    b->l0 = fd_calloc((size_t)n * (1 + b->m0), sizeof *b->l0);
    b->level = fd_calloc(n ? n : 1, 1);
    b->up = fd_calloc(n ? n : 1, sizeof *b->up);
    b->visit = fd_calloc(n ? n : 1, sizeof *b->visit);
    b->res.v = fd_malloc(b->ef * sizeof *b->res.v);
    b->res.cap = b->ef;
    b->cand.best_on_top = 1;
    b->tmp = fd_malloc((b->ef + b->m0 + 1) * sizeof *b->tmp);
    b->sel = fd_malloc((b->m0 + 1) * sizeof *b->sel);
    if ((n && !b->l0) || !b->level || !b->up || !b->visit || !b->res.v || !b->tmp || !b->sel ||
        heap_reserve(&b->cand, b->ef + b->m0))
        return FD_ENOMEM;
    return FD_OK;
}

/* Moves the per-node upper lists into the serialized tables. */
static int flatten(builder *b, fd_hnsw_graph *g)
{
    for (uint32_t i = 0; i < b->n; i++) {
        g->n_upper += b->level[i] > 0;
        g->n_slots += b->level[i];
    }
    g->upper = fd_malloc((g->n_upper ? g->n_upper : 1) * 3 * sizeof *g->upper);
    g->links = fd_malloc((g->n_slots ? g->n_slots : 1) * (1 + (size_t)b->m) * sizeof *g->links);
    if (!g->upper || !g->links)
        return FD_ENOMEM;
    uint32_t u = 0, slot = 0;
    for (uint32_t i = 0; i < b->n; i++) {
        if (!b->level[i])
            continue;
        g->upper[3 * u] = i;
        g->upper[3 * u + 1] = b->level[i];
        g->upper[3 * u + 2] = slot;
        memcpy(g->links + (size_t)slot * (1 + b->m), b->up[i],
               (size_t)b->level[i] * (1 + b->m) * sizeof *g->links);
        slot += b->level[i];
        u++;
    }
    return FD_OK;
}

int fd_hnsw_build(const float *vecs, uint32_t n, int dim, uint32_t m, uint32_t ef_build,
                  fd_hnsw_graph *g, fd_err *err)
{
    memset(g, 0, sizeof *g);
    builder b;
    int rc = builder_init(&b, vecs, n, dim, m, ef_build);
    for (uint32_t i = 0; i < n && !rc; i++)
        rc = insert(&b, i);
    if (!rc) {
        g->n = n;
        g->m = m;
        g->max_level = b.max_level;
        g->entry = b.entry;
        rc = flatten(&b, g);
    }
    if (!rc) {
        g->l0 = b.l0; /* handed over */
        b.l0 = NULL;
    }
    builder_free(&b);
    if (rc) {
        fd_hnsw_graph_free(g);
        return fd_err_set(err, rc, "hnsw: building over %u vectors", n);
    }
    return FD_OK;
}

void fd_hnsw_graph_free(fd_hnsw_graph *g)
{
    FD_FREE(g->l0);
    FD_FREE(g->upper);
    FD_FREE(g->links);
}

/* ---- search over serialized bytes ------------------------------------------ */

/* Neighbor list of node at layer (count first), or NULL. Corrupt bytes
 * must not crash: callers clamp the count and skip ids >= n. */
static const uint32_t *graph_links(const fd_dense *d, uint32_t node, uint32_t layer)
{
    if (layer == 0)
        return d->l0 + (size_t)node * (1 + 2 * d->m);
    size_t lo = 0, hi = d->n_upper;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (d->upper[3 * mid] < node)
            lo = mid + 1;
        else
            hi = mid;
    }
    const uint32_t *u = d->upper + 3 * lo;
    if (lo == d->n_upper || u[0] != node || u[1] < layer)
        return NULL;
    return d->links + (size_t)(u[2] + layer - 1) * (1 + d->m);
}

static uint32_t list_len(const fd_dense *d, const uint32_t *lst, uint32_t layer)
{
    uint32_t cap = layer ? d->m : 2 * d->m;
    return !lst ? 0 : lst[0] < cap ? lst[0] : cap;
}

typedef struct query {
    const fd_dense *d;
    const float *q;
    fd_allow allow;
    fd_arena *a;
    uint8_t *seen; /* bitset over docs */
    fd_hit_heap cand, beam, top;
} query;

static int cand_push(query *s, fd_hit x)
{
    if (s->cand.n == s->cand.cap) { /* rare: the arena keeps the old copy */
        size_t cap = s->cand.cap * 2;
        fd_hit *v = fd_arena_alloc(s->a, cap * sizeof *v);
        if (!v)
            return FD_ENOMEM;
        memcpy(v, s->cand.v, s->cand.n * sizeof *v);
        s->cand.v = v;
        s->cand.cap = cap;
    }
    fd_hit_heap_push(&s->cand, x);
    return FD_OK;
}

static int visit(query *s, uint32_t node)
{
    fd_hit x = {node, fd_dense_sim(s->d, s->q, node)};
    s->seen[node >> 3] |= (uint8_t)(1u << (node & 7));
    if (s->beam.n == s->beam.cap && !fd_hit_better(x, s->beam.v[0]))
        return FD_OK;
    /* Disallowed docs still steer the beam; they just are not returned. */
    fd_hit_heap_offer(&s->beam, x);
    if (fd_allowed(s->allow, node))
        fd_hit_heap_offer(&s->top, x);
    return cand_push(s, x);
}

static int search_base(query *s, uint32_t ep)
{
    int rc = visit(s, ep);
    while (!rc && s->cand.n) {
        fd_hit c = fd_hit_heap_pop(&s->cand);
        if (s->beam.n == s->beam.cap && c.score < s->beam.v[0].score)
            break;
        const uint32_t *lst = graph_links(s->d, c.doc, 0);
        uint32_t cnt = list_len(s->d, lst, 0);
        for (uint32_t j = 1; j <= cnt && !rc; j++) {
            uint32_t nb = lst[j];
            if (nb < s->d->n && !(s->seen[nb >> 3] >> (nb & 7) & 1))
                rc = visit(s, nb);
        }
    }
    return rc;
}

static uint32_t descend(const fd_dense *d, const float *q)
{
    uint32_t ep = d->entry;
    float best = fd_dense_sim(d, q, ep);
    for (uint32_t l = d->max_level; l > 0; l--) {
        for (int moved = 1; moved;) {
            moved = 0;
            const uint32_t *lst = graph_links(d, ep, l);
            uint32_t cnt = list_len(d, lst, l);
            for (uint32_t j = 1; j <= cnt; j++) {
                if (lst[j] >= d->n)
                    continue;
                float s = fd_dense_sim(d, q, lst[j]);
                if (s > best || (s == best && lst[j] < ep)) {
                    best = s;
                    ep = lst[j];
                    moved = 1;
                }
            }
        }
    }
    return ep;
}

static size_t count_allowed(const fd_dense *d, fd_allow allow)
{
    if (!allow)
        return d->n;
    size_t c = 0;
    for (uint32_t i = 0; i < d->n; i++)
        c += fd_allowed(allow, i);
    return c;
}

static void *heap_mem(fd_arena *a, fd_hit_heap *h, size_t cap, int best_on_top)
{
    h->n = 0;
    h->cap = cap;
    h->best_on_top = best_on_top;
    h->v = fd_arena_alloc(a, cap * sizeof *h->v);
    return h->v;
}

int fd_hnsw_search(const fd_dense *d, const float *q, size_t k, size_t ef, fd_allow allow,
                   fd_arena *a, fd_hits *out, fd_err *err)
{
    query s = {d, q, allow, a, NULL, {0}, {0}, {0}};
    s.seen = fd_arena_calloc(a, ((size_t)d->n + 7) / 8, 1);
    if (!s.seen || !heap_mem(a, &s.cand, 2 * ef + 4 * (size_t)d->m, 1) ||
        !heap_mem(a, &s.beam, ef, 0) || !heap_mem(a, &s.top, k, 0) ||
        search_base(&s, descend(d, q)))
        return fd_err_set(err, fd_arena_full(a) ? FD_ETOOBIG : FD_ENOMEM, "hnsw: search");
    /* A selective filter can leave the beam with few allowed docs; exact
     * search is then both correct and cheap (it skips disallowed rows). */
    if (s.top.n < k && s.top.n < count_allowed(d, allow))
        return FD_ENOTFOUND;
    return fd_hit_heap_drain(&s.top, a, out, err);
}
