/* kb_search.c: query -> ranked chunks with snippets. Hybrid search scores
 * the union of the BM25 and dense candidates exactly on both signals, then
 * fuses them with a weight (see fusion.c for why not plain RRF). */
#include "kb_int.h"

#include <math.h>
#include <string.h>

/* Candidates taken from each list before fusion: dense is there to add
 * recall, so it needs depth beyond k. */
#define HYBRID_DEPTH 100

int fd_search_mode_parse(const char *s, fd_search_mode *out)
{
    if (strcmp(s, "bm25") == 0)
        *out = FD_SEARCH_BM25;
    else if (strcmp(s, "dense") == 0)
        *out = FD_SEARCH_DENSE;
    else if (strcmp(s, "hybrid") == 0)
        *out = FD_SEARCH_HYBRID;
    else
        return FD_EINVAL;
    return FD_OK;
}

const char *fd_search_mode_name(fd_search_mode m)
{
    return m == FD_SEARCH_BM25 ? "bm25" : m == FD_SEARCH_DENSE ? "dense" : "hybrid";
}

static const uint8_t *build_allow(const kb_index *ix, const fd_search_opts *o, fd_arena *a)
{
    if (!o->tag && o->lang > FD_LANG_UNKNOWN && o->lang < FD__NLANGS && ix->lang_allow[o->lang])
        return ix->lang_allow[o->lang];
    uint32_t n = ix->meta->n_chunks;
    int want_tag = -1;
    if (o->tag) {
        want_tag = 0x10000; /* matches nothing unless found */
        for (uint32_t t = 1; t < ix->meta->n_tags; t++)
            if (strcmp(kb_index_str(ix, ix->tag_str[t]), o->tag) == 0)
                want_tag = (int)t;
    }
    uint8_t *allow = fd_arena_calloc(a, (n + 7) / 8, 1);
    if (!allow)
        return NULL;
    for (uint32_t d = 0; d < n; d++) {
        const kb_chunk *c = &ix->chunks[d];
        if (want_tag >= 0 && c->tag != want_tag)
            continue;
        if (o->lang != FD_LANG_UNKNOWN && c->lang != o->lang)
            continue;
        allow[d >> 3] |= (uint8_t)(1u << (d & 7));
    }
    return allow;
}

static int hybrid(const kb_index *ix, const fd_str *terms, size_t n_terms, const float *qv,
                  size_t k, const fd_config *cfg, fd_allow allow, fd_arena *a, fd_hits *out,
                  fd_err *err)
{
    size_t depth = k > HYBRID_DEPTH ? k : HYBRID_DEPTH;
    fd_hits lex, den;
    int rc = fd_bm25_search(ix->bm25, terms, n_terms, depth, allow, a, &lex, err);
    if (!rc)
        rc = fd_dense_search(ix->dense, qv, depth, 0, allow, a, &den, err);
    if (rc)
        return rc;
    if (strcmp(cfg->fusion, "rrf") == 0)
        return fd_fuse(&lex, &den, FD_FUSE_RRF, 0.5, cfg->rrf_k, k, a, out, err);
    /* Union of candidates, each scored exactly on both signals; a bit per
     * chunk says which are in (a scan of the lexical list per dense hit
     * was 100 x 100 comparisons a query). */
    size_t n = 0, n_chunks = ix->meta->n_chunks;
    uint32_t *docs = fd_arena_alloc(a, (lex.n + den.n + 1) * sizeof *docs);
    uint8_t *in = fd_arena_calloc(a, n_chunks / 8 + 1, 1);
    if (!docs || !in)
        return fd_err_set(err, FD_ETOOBIG, "search: out of memory");
    for (size_t i = 0; i < lex.n + den.n; i++) {
        uint32_t d = i < lex.n ? lex.v[i].doc : den.v[i - lex.n].doc;
        if (d >= n_chunks || in[d >> 3] & (1u << (d & 7)))
            continue;
        in[d >> 3] |= (uint8_t)(1u << (d & 7));
        docs[n++] = d;
    }
    float *bs = fd_arena_alloc(a, (n + 1) * sizeof *bs);
    float *ds = fd_arena_alloc(a, (n + 1) * sizeof *ds);
    fd_hits A = {fd_arena_alloc(a, (n + 1) * sizeof(fd_hit)), n};
    fd_hits B = {fd_arena_alloc(a, (n + 1) * sizeof(fd_hit)), n};
    if (!bs || !ds || !A.v || !B.v)
        return fd_err_set(err, FD_ETOOBIG, "search: out of memory");
    rc = fd_bm25_score_docs(ix->bm25, terms, n_terms, docs, n, bs, err);
    if (rc)
        return rc;
    fd_dense_score_docs(ix->dense, qv, docs, n, ds);
    for (size_t i = 0; i < n; i++) {
        A.v[i].doc = B.v[i].doc = docs[i];
        A.v[i].score = bs[i];
        /* Cosine can be negative; below zero says nothing useful. */
        B.v[i].score = ds[i] > 0 ? ds[i] : 0;
    }
    return fd_fuse(&A, &B, FD_FUSE_WEIGHTED, cfg->dense_weight, cfg->rrf_k, k, a, out, err);
}

/* ---- snippets ------------------------------------------------------------ */

#define SNIPPET_BYTES 240

static int is_query_term(fd_str t, const fd_str *q, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (fd_str_eq(t, q[i]))
            return 1;
    return 0;
}

/* Moves i back to the start of a UTF-8 sequence. */
static size_t utf8_floor(const char *s, size_t i)
{
    while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80)
        i--;
    return i;
}

/* The window of the chunk with the most query-term hits, the hits marked. */
static const char *make_snippet(fd_kb *kb, const char *text, fd_lang lang, const fd_str *q,
                                size_t n_q, int ansi, fd_arena *a)
{
    size_t len = strlen(text);
    fd_terms terms = {0};
    fd_err err;
    /* Stored text was validated on ingest; if analysis still fails (arena
     * cap on a huge chunk) the snippet is just not highlighted. */
    if (fd_analyzer_terms(kb->an, fd_str_c(text), lang, a, &terms, &err) != FD_OK)
        terms.n = 0;
    /* Hits: terms of the text that are query terms (their byte spans). */
    size_t best_start = 0, best_hits = 0;
    for (size_t i = 0; i < terms.n; i++) {
        if (!is_query_term(terms.v[i].term, q, n_q))
            continue;
        size_t hits = 0;
        for (size_t j = i; j < terms.n && terms.v[j].off < terms.v[i].off + SNIPPET_BYTES - 40; j++)
            hits += is_query_term(terms.v[j].term, q, n_q);
        if (hits > best_hits) {
            best_hits = hits;
            best_start = terms.v[i].off;
        }
    }
    size_t start = best_start > 40 ? best_start - 40 : 0;
    while (start > 0 && text[start - 1] != ' ' && best_start - start < 60)
        start--;
    start = utf8_floor(text, start);
    size_t end = start + SNIPPET_BYTES < len ? start + SNIPPET_BYTES : len;
    while (end < len && text[end] != ' ' && end - start < SNIPPET_BYTES + 30)
        end++;
    end = utf8_floor(text, end);

    const char *on = ansi ? "\033[1m" : "**", *off = ansi ? "\033[0m" : "**";
    fd_buf b;
    fd_buf_init(&b, 4096);
    int rc = start > 0 ? fd_buf_append(&b, "...", 3) : FD_OK;
    size_t pos = start;
    for (size_t i = 0; i < terms.n && !rc; i++) {
        const fd_term *t = &terms.v[i];
        if (t->off < pos || t->off + t->len > end || !is_query_term(t->term, q, n_q))
            continue;
        rc = fd_buf_append(&b, text + pos, t->off - pos);
        if (!rc)
            rc = fd_buf_printf(&b, "%s%.*s%s", on, (int)t->len, text + t->off, off);
        pos = t->off + t->len;
    }
    if (!rc)
        rc = fd_buf_append(&b, text + pos, end - pos);
    if (!rc && end < len)
        rc = fd_buf_append(&b, "...", 3);
    /* Newlines inside a snippet would break one-line output. */
    for (size_t i = 0; !rc && i < b.len; i++)
        if (b.p[i] == '\n' || b.p[i] == '\t')
            b.p[i] = ' ';
    const char *s = rc ? "" : fd_arena_strndup(a, b.p ? b.p : "", b.len);
    fd_buf_free(&b);
    return s ? s : "";
}

/* ---- search -------------------------------------------------------------- */

/* Fills res from hits and returns how many were kept in *n_kept. Section
 * and text come from the snapshot (format 2), consistent with the index
 * that found them: a document replaced in the store since still answers
 * from what the snapshot holds until the reload, and the store being away
 * does not stop search. */
static int fill_results(fd_kb *kb, const fd_hits *hits, const fd_search_opts *o, const fd_str *q,
                        size_t n_q, fd_arena *a, fd_result *res, size_t *n_kept)
{
    const kb_index *ix = kb->ix;
    size_t n = 0;
    *n_kept = 0;
    for (size_t i = 0; i < hits->n; i++) {
        const kb_chunk *c = &ix->chunks[hits->v[i].doc];
        fd_result *r = &res[n];
        memset(r, 0, sizeof *r);
        r->chunk_id = c->chunk_id;
        r->score = hits->v[i].score;
        r->lang = c->lang;
        r->doc_key = kb_index_str(ix, ix->doc_str[2 * c->doc]);
        r->title = kb_index_str(ix, ix->doc_str[2 * c->doc + 1]);
        r->section = r->text = r->snippet = "";
        if (o->no_text) {
            n++;
            continue;
        }
        r->section = kb_chunk_section(ix, hits->v[i].doc);
        r->text = kb_chunk_text(ix, hits->v[i].doc);
        if (!o->no_snippet)
            r->snippet = make_snippet(kb, r->text, (fd_lang)c->lang, q, n_q, o->hl_ansi, a);
        n++;
    }
    *n_kept = n;
    return FD_OK;
}

static fd_lang query_lang(const kb_index *ix, fd_str query)
{
    fd_lang l = fd_text_guess_lang(query);
    return l != FD_LANG_UNKNOWN ? l : (fd_lang)ix->meta->dominant_lang;
}

int fd_kb_search(fd_kb *kb, fd_str query, const fd_search_opts *o, fd_arena *a, fd_result **out,
                 size_t *n_out, fd_err *err)
{
    *out = NULL;
    *n_out = 0;
    if (!kb || !a || !o)
        return fd_err_set(err, FD_EINVAL, "search: missing argument");
    if (o->k == 0 || o->k > 1000)
        return fd_err_set_field(err, FD_EINVAL, "k", "k must be between 1 and 1000");
    if (query.len == 0)
        return fd_err_set_field(err, FD_EINVAL, "query", "the query is empty");
    if (!fd_utf8_valid(query.p, query.len, NULL))
        return fd_err_set_field(err, FD_EUTF8, "query", "the query is not valid UTF-8");
    const kb_index *ix = kb->ix;
    if (!ix)
        return FD_OK; /* empty knowledge base */
    fd_terms terms;
    /* A language filter also says how to read the query: stems must match
     * the documents' ("sentosa" stems differently in French). */
    fd_lang lang = o->lang != FD_LANG_UNKNOWN ? o->lang : query_lang(ix, query);
    int rc = fd_analyzer_terms(kb->an, query, lang, a, &terms, err);
    if (rc)
        return rc;
    if (terms.n == 0)
        return fd_err_set_field(
            err, FD_EINVAL, "query",
            "the query has no searchable words (only stopwords or punctuation)");
    fd_str *q = fd_arena_alloc(a, terms.n * sizeof *q);
    if (!q)
        return fd_err_set(err, FD_ETOOBIG, "query too long");
    for (size_t i = 0; i < terms.n; i++)
        q[i] = terms.v[i].term;

    const uint8_t *allow = NULL;
    if (o->tag || o->lang != FD_LANG_UNKNOWN) {
        allow = build_allow(ix, o, a);
        if (!allow)
            return fd_err_set(err, FD_ETOOBIG, "search: out of memory");
    }
    fd_search_mode mode = o->mode;
    float *qv = NULL;
    if (mode != FD_SEARCH_BM25 && ix->embedder) {
        qv = fd_arena_alloc(a, (size_t)fd_embedder_dim(ix->embedder) * sizeof *qv);
        if (!qv)
            return fd_err_set(err, FD_ETOOBIG, "search: out of memory");
        rc = fd_embedder_embed(ix->embedder, q, terms.n, qv, err);
        if (rc == FD_ENOTFOUND)
            qv = NULL; /* no known word: lexical only */
        else if (rc)
            return rc;
    }
    if (!qv)
        mode = FD_SEARCH_BM25; /* no dense index, or nothing to embed */
    fd_hits hits;
    if (mode == FD_SEARCH_BM25)
        rc = fd_bm25_search(ix->bm25, q, terms.n, o->k, allow, a, &hits, err);
    else if (mode == FD_SEARCH_DENSE)
        rc = fd_dense_search(ix->dense, qv, o->k, 0, allow, a, &hits, err);
    else
        rc = hybrid(ix, q, terms.n, qv, o->k, kb->cfg, allow, a, &hits, err);
    if (rc)
        return rc;
    fd_result *res = fd_arena_alloc(a, (hits.n + 1) * sizeof *res);
    if (!res)
        return fd_err_set(err, FD_ETOOBIG, "search: out of memory");
    size_t kept;
    rc = fill_results(kb, &hits, o, q, terms.n, a, res, &kept);
    if (rc)
        return rc;
    *out = res;
    *n_out = kept;
    return FD_OK;
}

int fd_kb_embed_terms(fd_kb *kb, const fd_str *terms, size_t n_terms, fd_arena *a, float **vec,
                      int *dim, fd_err *err)
{
    const kb_index *ix = kb->ix;
    if (!ix || !ix->embedder || n_terms == 0)
        return fd_err_set(err, FD_ENOTFOUND, "no embedder");
    int d = fd_embedder_dim(ix->embedder);
    float *v = fd_arena_alloc(a, (size_t)d * sizeof *v);
    if (!v)
        return fd_err_set(err, FD_ETOOBIG, "out of memory");
    int rc = fd_embedder_embed(ix->embedder, terms, n_terms, v, err);
    if (rc)
        return rc;
    double n2 = 0;
    for (int i = 0; i < d; i++)
        n2 += (double)v[i] * v[i];
    if (n2 <= 0)
        return fd_err_set(err, FD_ENOTFOUND, "no known term");
    float inv = (float)(1 / sqrt(n2));
    for (int i = 0; i < d; i++)
        v[i] *= inv;
    *vec = v;
    *dim = d;
    return FD_OK;
}

int64_t fd_kb_loaded_version(const fd_kb *kb)
{
    return kb->ix ? kb->ix->meta->kb_version : 0;
}
