/* kb_terms.c: corpus statistics and document views for the answer
 * composer: how many chunks of the whole knowledge base hold a term (the
 * BM25 index already knows), and every chunk of one document, so an answer
 * can come from the part of a page that retrieval ranked lower. */
#include "kb_int.h"

#include <string.h>

uint32_t fd_kb_term_df(const fd_kb *kb, fd_str term)
{
    return kb && kb->ix && term.len ? fd_bm25_df(kb->ix->bm25, term) : 0;
}

uint32_t fd_kb_n_chunks(const fd_kb *kb)
{
    return kb && kb->ix ? kb->ix->meta->n_chunks : 0;
}

int fd_kb_doc_chunks(fd_kb *kb, int64_t chunk_id, size_t max, fd_arena *a, fd_result **out,
                     size_t *n_out, fd_err *err)
{
    *out = NULL;
    *n_out = 0;
    const kb_index *ix = kb->ix;
    if (!ix)
        return fd_err_set(err, FD_ENOTFOUND, "no chunk %lld", (long long)chunk_id);
    uint32_t n = ix->meta->n_chunks, at = n;
    for (uint32_t i = 0; i < n && at == n; i++)
        if (ix->chunks[i].chunk_id == chunk_id)
            at = i;
    if (at == n)
        return fd_err_set(err, FD_ENOTFOUND, "no chunk %lld", (long long)chunk_id);
    /* The build adds chunks in (document, position) order: a document's
     * chunks are one run of the table. */
    uint32_t doc = ix->chunks[at].doc, lo = at, hi = at + 1;
    while (lo > 0 && ix->chunks[lo - 1].doc == doc)
        lo--;
    while (hi < n && ix->chunks[hi].doc == doc)
        hi++;
    if (max && hi - lo > max)
        hi = lo + (uint32_t)max;
    fd_result *res = fd_arena_calloc(a, hi - lo + 1, sizeof *res);
    if (!res)
        return fd_err_set(err, FD_ETOOBIG, "document chunks: out of memory");
    size_t k = 0;
    for (uint32_t i = lo; i < hi; i++) {
        res[k++] = (fd_result){.chunk_id = ix->chunks[i].chunk_id,
                               .doc_key = kb_index_str(ix, ix->doc_str[2 * doc]),
                               .title = kb_index_str(ix, ix->doc_str[2 * doc + 1]),
                               .section = kb_chunk_section(ix, i),
                               .text = kb_chunk_text(ix, i),
                               .snippet = "",
                               .lang = ix->chunks[i].lang};
    }
    *out = res;
    *n_out = k;
    return FD_OK;
}
