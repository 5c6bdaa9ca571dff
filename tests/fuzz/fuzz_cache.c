/* fuzz_cache.c: the cache records the dialog reads back (records.c). With
 * Redis configured they come from outside the process. The first byte picks
 * the decoder (even: a reply, odd: retrieval's passages), the rest is the
 * value. What decodes must hold only UTF-8 text and sane numbers (checked
 * here, abort otherwise), and must encode and decode again to the same. */
#include "dialog_int.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void must_text(const char *s, int may_be_null)
{
    if (!s ? !may_be_null : !fd_utf8_valid(s, strlen(s), NULL))
        abort();
}

static void reply(const uint8_t *p, size_t n, fd_arena *a)
{
    dialog_cached_reply c;
    if (!dialog_reply_decode(p, n, a, &c))
        return;
    must_text(c.answer, 0);
    must_text(c.validation, 1);
    for (size_t i = 0; i < c.n_cites; i++) {
        must_text(c.cites[i].document, 0);
        must_text(c.cites[i].title, 1);
        must_text(c.cites[i].section, 1);
    }
    fd_reply r = {.answer = c.answer,
                  .answered = c.answered,
                  .validation = c.validation,
                  .grounded = c.grounded,
                  .citations = c.cites,
                  .n_citations = c.n_cites};
    fd_cache_rec rec;
    fd_cache_rec_init(&rec);
    dialog_cached_reply d;
    if (dialog_reply_encode(&r, &rec) == FD_OK &&
        (!dialog_reply_decode(rec.b.p, rec.b.len, a, &d) || strcmp(d.answer, c.answer) ||
         d.n_cites != c.n_cites))
        abort();
    fd_cache_rec_free(&rec);
}

static void passages(const uint8_t *p, size_t n, fd_arena *a)
{
    fd_passage *v;
    size_t k, n_pass;
    if (!dialog_passages_decode(p, n, 8, a, &v, &k, &n_pass))
        return;
    if (n_pass > k || n_pass > 8)
        abort();
    for (size_t i = 0; i < k; i++) {
        must_text(v[i].doc_key, 0);
        must_text(v[i].text, 0);
        must_text(v[i].title, 1);
        must_text(v[i].section, 1);
        if (!isfinite(v[i].score) || v[i].lang < 0 || v[i].lang >= FD__NLANGS)
            abort();
    }
    fd_cache_rec rec;
    fd_cache_rec_init(&rec);
    fd_passage *w;
    size_t k2, np2;
    if (dialog_passages_encode(v, k, n_pass, &rec) == FD_OK &&
        (!dialog_passages_decode(rec.b.p, rec.b.len, 8, a, &w, &k2, &np2) || k2 != k ||
         np2 != n_pass))
        abort();
    fd_cache_rec_free(&rec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!size)
        return 0;
    fd_arena *a = fd_arena_new(1 << 22);
    if (!a)
        return 0;
    if (data[0] & 1)
        passages(data + 1, size - 1, a);
    else
        reply(data + 1, size - 1, a);
    fd_arena_free(a);
    return 0;
}
