/* dense.c: the dense-vector section: serialization (float32 or int8 with a
 * per-vector scale), a zero-copy view over the bytes, and exact top-k
 * search by a full scan. The HNSW graph lives in hnsw.c. */
#include "dense_int.h"

#include <math.h>
#include <string.h>

#define ALIGN 64

static size_t round_up(size_t x, size_t to)
{
    return (x + to - 1) / to * to;
}

static uint32_t row_stride(uint32_t dim)
{
    return (uint32_t)round_up(dim, DENSE_LANES);
}

/* ---- hit heap ------------------------------------------------------------ */

static int before(const fd_hit_heap *h, fd_hit a, fd_hit b)
{
    return h->best_on_top ? fd_hit_better(a, b) : fd_hit_better(b, a);
}

static void sift_down(fd_hit_heap *h, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, top = i;
        if (l < h->n && before(h, h->v[l], h->v[top]))
            top = l;
        if (l + 1 < h->n && before(h, h->v[l + 1], h->v[top]))
            top = l + 1;
        if (top == i)
            return;
        fd_hit t = h->v[i];
        h->v[i] = h->v[top];
        h->v[top] = t;
        i = top;
    }
}

void fd_hit_heap_push(fd_hit_heap *h, fd_hit x)
{
    size_t i = h->n++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!before(h, x, h->v[p]))
            break;
        h->v[i] = h->v[p];
        i = p;
    }
    h->v[i] = x;
}

fd_hit fd_hit_heap_pop(fd_hit_heap *h)
{
    fd_hit top = h->v[0];
    h->v[0] = h->v[--h->n];
    sift_down(h, 0);
    return top;
}

void fd_hit_heap_offer(fd_hit_heap *h, fd_hit x)
{
    if (h->n < h->cap) {
        fd_hit_heap_push(h, x);
    } else if (h->cap && fd_hit_better(x, h->v[0])) {
        h->v[0] = x;
        sift_down(h, 0);
    }
}

int fd_hit_heap_drain(fd_hit_heap *h, fd_arena *a, fd_hits *out, fd_err *err)
{
    size_t n = h->n;
    fd_hit *v = fd_arena_alloc(a, (n ? n : 1) * sizeof *v);
    if (!v)
        return fd_err_set(err, fd_arena_full(a) ? FD_ETOOBIG : FD_ENOMEM, "dense: hits");
    /* The worst pops first, so fill from the back. */
    while (h->n)
        v[h->n - 1] = fd_hit_heap_pop(h);
    out->v = v;
    out->n = n;
    return FD_OK;
}

/* ---- write --------------------------------------------------------------- */

static int pad_to(fd_buf *out, size_t start, size_t align)
{
    static const char zeros[ALIGN];
    size_t want = round_up(out->len - start, align) - (out->len - start);
    return fd_buf_append(out, zeros, want);
}

static int write_float_rows(const float *vecs, size_t n, uint32_t dim, fd_buf *out)
{
    static const float zeros[DENSE_LANES];
    size_t padf = row_stride(dim) - dim;
    int rc = FD_OK;
    for (size_t i = 0; i < n && !rc; i++) {
        rc = fd_buf_append(out, vecs + i * dim, dim * sizeof(float));
        if (!rc)
            rc = fd_buf_append(out, zeros, padf * sizeof(float));
    }
    return rc;
}

/* Symmetric quantization, scale = max|x| / 127: no zero point to store,
 * and cosine needs no offset correction. A zero vector gets scale 0. */
static float quantize_row(const float *x, uint32_t dim, int8_t *code)
{
    float mx = 0;
    for (uint32_t j = 0; j < dim; j++)
        mx = fmaxf(mx, fabsf(x[j]));
    float scale = mx / 127.0f;
    float inv = mx > 0 ? 127.0f / mx : 0;
    for (uint32_t j = 0; j < dim; j++)
        code[j] = (int8_t)lrintf(fminf(127.0f, fmaxf(-127.0f, x[j] * inv)));
    return scale;
}

static int write_int8_rows(const float *vecs, size_t n, uint32_t dim, size_t start, fd_buf *out)
{
    uint32_t stride = row_stride(dim);
    int8_t *code = fd_calloc(stride, 1);
    if (!code)
        return FD_ENOMEM;
    int rc = FD_OK;
    for (size_t i = 0; i < n && !rc; i++) {
        float scale = quantize_row(vecs + i * dim, dim, code);
        rc = fd_buf_append(out, &scale, sizeof scale);
    }
    if (!rc)
        rc = pad_to(out, start, ALIGN);
    for (size_t i = 0; i < n && !rc; i++) {
        quantize_row(vecs + i * dim, dim, code);
        rc = fd_buf_append(out, code, stride);
    }
    fd_free(code);
    return rc;
}

static int write_graph(const fd_hnsw_graph *g, size_t start, fd_buf *out)
{
    int rc = pad_to(out, start, ALIGN);
    if (!rc)
        rc = fd_buf_append(out, g->l0, (size_t)g->n * (1 + 2 * g->m) * sizeof(uint32_t));
    if (!rc)
        rc = pad_to(out, start, ALIGN);
    if (!rc)
        rc = fd_buf_append(out, g->upper, (size_t)g->n_upper * 3 * sizeof(uint32_t));
    if (!rc)
        rc = pad_to(out, start, ALIGN);
    if (!rc)
        rc = fd_buf_append(out, g->links, (size_t)g->n_slots * (1 + g->m) * sizeof(uint32_t));
    return rc;
}

static void fill_header(dense_hdr *h, size_t n, int dim, const fd_dense_params *pp,
                        const fd_hnsw_graph *g)
{
    memset(h, 0, sizeof *h);
    memcpy(h->magic, DENSE_MAGIC, 8);
    h->version = DENSE_VERSION;
    h->n = (uint32_t)n;
    h->dim = (uint32_t)dim;
    h->flags = (pp->quantize ? DENSE_F_QUANT : 0) | (pp->hnsw ? DENSE_F_HNSW : 0);
    if (pp->hnsw) {
        h->m = g->m;
        h->ef_build = (uint32_t)pp->hnsw_ef_build;
        h->ef_search = (uint32_t)pp->hnsw_ef_search;
        h->max_level = g->max_level;
        h->entry = g->entry;
        h->n_upper = g->n_upper;
        h->n_slots = g->n_slots;
    }
}

int fd_dense_write(const float *vecs, size_t n, int dim, const fd_dense_params *params, fd_buf *out,
                   fd_err *err)
{
    fd_dense_params pp = {0};
    if (params)
        pp = *params;
    if (dim < 1 || dim > DENSE_MAX_DIM || n >= UINT32_MAX || (n && !vecs) || !out)
        return fd_err_set(err, FD_EINVAL, "dense: bad n %zu or dim %d", n, dim);
    pp.hnsw_m = pp.hnsw_m > 0 ? pp.hnsw_m : 16;
    pp.hnsw_ef_build = pp.hnsw_ef_build > 0 ? pp.hnsw_ef_build : 100;
    pp.hnsw_ef_search = pp.hnsw_ef_search > 0 ? pp.hnsw_ef_search : 64;
    if (pp.hnsw_m < 2 || pp.hnsw_m > 256 || pp.hnsw_ef_search > DENSE_MAX_EF ||
        pp.hnsw_ef_build > DENSE_MAX_EF)
        return fd_err_set(err, FD_EINVAL, "dense: hnsw_m %d not in 2..256 or ef above %d",
                          pp.hnsw_m, DENSE_MAX_EF);

    fd_hnsw_graph g = {0};
    if (pp.hnsw) {
        int rc = fd_hnsw_build(vecs, (uint32_t)n, dim, (uint32_t)pp.hnsw_m,
                               (uint32_t)pp.hnsw_ef_build, &g, err);
        if (rc)
            return rc;
    }
    size_t start = out->len;
    dense_hdr h;
    fill_header(&h, n, dim, &pp, &g);
    int rc = fd_buf_append(out, &h, sizeof h);
    if (!rc && pp.quantize)
        rc = write_int8_rows(vecs, n, (uint32_t)dim, start, out);
    else if (!rc)
        rc = write_float_rows(vecs, n, (uint32_t)dim, out);
    if (!rc && pp.hnsw)
        rc = write_graph(&g, start, out);
    fd_hnsw_graph_free(&g);
    if (rc) {
        out->len = start; /* never leave half a section behind */
        if (out->p)
            out->p[start] = '\0';
        return fd_err_set(err, rc, "dense: writing %zu vectors", n);
    }
    return FD_OK;
}

/* ---- open ---------------------------------------------------------------- */

/* Lays the arrays out as write() did; returns the end offset, or 0 when a
 * header field is out of range. Sizes are bounded (n < 2^32, stride <=
 * 2^16, m <= 256) so size_t arithmetic cannot overflow on 64-bit. */
static size_t layout(const dense_hdr *h, const unsigned char *p, fd_dense *d)
{
    size_t off = sizeof *h;
    size_t rows = (size_t)h->n * d->stride;
    if (d->quantized) {
        d->scale = (const float *)(p + off);
        off = round_up(off + h->n * sizeof(float), ALIGN);
        d->vq = (const int8_t *)(p + off);
        off += rows;
    } else {
        d->vf = (const float *)(p + off);
        off += rows * sizeof(float);
    }
    if (!d->has_hnsw)
        return off;
    if (h->m < 2 || h->m > 256 || h->max_level > DENSE_MAX_LEVEL || h->n_upper > h->n ||
        (h->n && h->entry >= h->n) || h->n_slots > (size_t)h->n_upper * DENSE_MAX_LEVEL)
        return 0;
    off = round_up(off, ALIGN);
    d->l0 = (const uint32_t *)(p + off);
    off = round_up(off + (size_t)h->n * (1 + 2 * h->m) * 4, ALIGN);
    d->upper = (const uint32_t *)(p + off);
    off = round_up(off + (size_t)h->n_upper * 12, ALIGN);
    d->links = (const uint32_t *)(p + off);
    return off + (size_t)h->n_slots * (1 + h->m) * 4;
}

/* The upper table is tiny (about n/m rows) and binary-searched, so it is
 * checked in full here; layer-0 lists are bounds-checked as they are read. */
static int check_upper(const fd_dense *d)
{
    for (uint32_t i = 0; i < d->n_upper; i++) {
        const uint32_t *u = d->upper + 3 * (size_t)i;
        if (u[0] >= d->n || (i && u[0] <= u[-3]) || u[1] < 1 || u[1] > d->max_level ||
            (size_t)u[2] + u[1] > d->n_slots)
            return 0;
    }
    return 1;
}

int fd_dense_open(const void *p, size_t len, fd_dense **out, fd_err *err)
{
    *out = NULL;
    dense_hdr h;
    if (!p || len < sizeof h)
        return fd_err_set(err, FD_EFORMAT, "dense: section too short (%zu bytes)", len);
    if ((uintptr_t)p % 4)
        return fd_err_set(err, FD_EINVAL, "dense: bytes not 4-byte aligned");
    memcpy(&h, p, sizeof h);
    if (memcmp(h.magic, DENSE_MAGIC, 8) || h.version != DENSE_VERSION)
        return fd_err_set(err, FD_EFORMAT, "dense: bad magic or version");
    if (h.dim < 1 || h.dim > DENSE_MAX_DIM || (h.flags & ~(DENSE_F_QUANT | DENSE_F_HNSW)) ||
        h.ef_search > DENSE_MAX_EF)
        return fd_err_set(err, FD_EFORMAT, "dense: bad dim %u, flags %u or ef %u", h.dim, h.flags,
                          h.ef_search);
    fd_dense v = {0};
    v.n = h.n;
    v.dim = (int)h.dim;
    v.stride = row_stride(h.dim);
    v.quantized = !!(h.flags & DENSE_F_QUANT);
    v.has_hnsw = !!(h.flags & DENSE_F_HNSW);
    v.m = h.m;
    v.ef_search = h.ef_search ? h.ef_search : 64;
    v.max_level = h.max_level;
    v.entry = h.entry;
    v.n_upper = h.n_upper;
    v.n_slots = h.n_slots;
    size_t end = layout(&h, p, &v);
    if (!end || end != len)
        return fd_err_set(err, FD_EFORMAT, "dense: size %zu does not match header", len);
    if (v.has_hnsw && !check_upper(&v))
        return fd_err_set(err, FD_EFORMAT, "dense: corrupt hnsw upper layers");
    fd_dense *d = fd_malloc(sizeof *d);
    if (!d)
        return fd_err_set(err, FD_ENOMEM, "dense: open");
    *d = v;
    *out = d;
    return FD_OK;
}

void fd_dense_free(fd_dense *d)
{
    fd_free(d);
}

int fd_dense_dim(const fd_dense *d)
{
    return d->dim;
}

uint32_t fd_dense_n(const fd_dense *d)
{
    return d->n;
}

int fd_dense_has_hnsw(const fd_dense *d)
{
    return d->has_hnsw;
}

/* ---- search -------------------------------------------------------------- */

/* Two loops rather than fd_dense_sim() so each inner kernel is inlined
 * without a per-vector branch. */
static void scan_f32(const fd_dense *d, const float *q, fd_allow allow, fd_hit_heap *h)
{
    for (uint32_t i = 0; i < d->n; i++) {
        if (!fd_allowed(allow, i))
            continue;
        fd_hit x = {i, fd_dot_f32(q, d->vf + (size_t)i * d->stride, d->dim)};
        fd_hit_heap_offer(h, x);
    }
}

/* Float query x int8 codes. Quantizing the query too (int8 x int8, int32
 * sums) measured the same here within noise (baseline SSE2 has no 8-bit
 * multiply: both widen) with the same recall against float (0.988 vs
 * 0.989 top-10 overlap, 10k x 128 clustered), so the query is never
 * rounded and HNSW and score_docs share one kernel. */
static void scan_i8(const fd_dense *d, const float *q, fd_allow allow, fd_hit_heap *h)
{
    for (uint32_t i = 0; i < d->n; i++) {
        if (!fd_allowed(allow, i))
            continue;
        float s = fd_dot_f32_i8(q, d->vq + (size_t)i * d->stride, d->dim);
        fd_hit x = {i, d->scale[i] * s};
        fd_hit_heap_offer(h, x);
    }
}

static int exact_search(const fd_dense *d, const float *q, size_t k, fd_allow allow, fd_arena *a,
                        fd_hits *out, fd_err *err)
{
    fd_hit_heap h = {0};
    h.cap = k;
    h.v = fd_arena_alloc(a, k * sizeof *h.v);
    if (!h.v)
        return fd_err_set(err, fd_arena_full(a) ? FD_ETOOBIG : FD_ENOMEM, "dense: heap");
    if (d->quantized)
        scan_i8(d, q, allow, &h);
    else
        scan_f32(d, q, allow, &h);
    return fd_hit_heap_drain(&h, a, out, err);
}

int fd_dense_search(const fd_dense *d, const float *q, size_t k, int exact, fd_allow allow,
                    fd_arena *a, fd_hits *out, fd_err *err)
{
    out->v = NULL;
    out->n = 0;
    if (!d || !q || !a)
        return fd_err_set(err, FD_EINVAL, "dense: search without index, query or arena");
    if (k > d->n)
        k = d->n;
    if (k == 0)
        return FD_OK;
    if (!exact && d->has_hnsw) {
        size_t ef = d->ef_search > k ? d->ef_search : k;
        ef = ef < d->n ? ef : d->n; /* a wider beam than the graph is pointless */
        int rc = fd_hnsw_search(d, q, k, ef, allow, a, out, err);
        if (rc != FD_ENOTFOUND)
            return rc;
        fd_err_clear(err);
    }
    return exact_search(d, q, k, allow, a, out, err);
}

void fd_dense_score_docs(const fd_dense *d, const float *q, const uint32_t *docs, size_t n,
                         float *scores)
{
    for (size_t i = 0; i < n; i++)
        scores[i] = docs[i] < d->n ? fd_dense_sim(d, q, docs[i]) : 0.0f;
}
