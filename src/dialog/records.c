/* records.c: what the dialog keeps in the cache and reads back: a
 * knowledge step's reply (the exact and semantic layers) and the passages
 * retrieval found (the retrieval layer).
 *
 * With Redis configured, a value read back comes from outside the process
 * (one store shared by every replica, reachable by whoever reaches it), so
 * each decoder checks what it reads: lengths, NUL-terminated strings that
 * are UTF-8, counts in range, finite scores. A value that fails is a miss
 * and the step runs again; it is never trusted. A passage that was not
 * UTF-8 would otherwise reach the composer, which refuses it and fails the
 * customer's turn with "passage is not UTF-8" (fuzz_cache). */
#include "dialog_int.h"

#include <math.h>
#include <string.h>

/* Counts past these are a damaged value, not a big one. */
#define MAX_CITES 64
#define MAX_PASSAGES_REC 100000

static int text_ok(const char *s)
{
    return s && fd_utf8_valid(s, strlen(s), NULL);
}

/* An optional string: absent, or UTF-8. */
static int opt_text_ok(const char *s)
{
    return !s || text_ok(s);
}

int dialog_reply_encode(const fd_reply *r, fd_cache_rec *rec)
{
    int rc = fd_cache_rec_str(rec, r->answer);
    if (!rc)
        rc = fd_cache_rec_int(rec, r->answered);
    if (!rc)
        rc = fd_cache_rec_str(rec, r->validation);
    if (!rc)
        rc = fd_cache_rec_int(rec, r->grounded);
    if (!rc)
        rc = fd_cache_rec_int(rec, (int64_t)r->n_citations);
    for (size_t i = 0; i < r->n_citations && !rc; i++) {
        rc = fd_cache_rec_str(rec, r->citations[i].document);
        if (!rc)
            rc = fd_cache_rec_str(rec, r->citations[i].title);
        if (!rc)
            rc = fd_cache_rec_str(rec, r->citations[i].section);
    }
    return rc;
}

int dialog_reply_decode(const void *val, size_t vlen, fd_arena *a, dialog_cached_reply *out)
{
    memset(out, 0, sizeof *out);
    fd_cache_reader rd;
    fd_cache_reader_init(&rd, val, vlen);
    int64_t answered = 0, grounded = 0, n = 0;
    fd_cache_read_str(&rd, &out->answer);
    fd_cache_read_int(&rd, &answered);
    fd_cache_read_str(&rd, &out->validation);
    fd_cache_read_int(&rd, &grounded);
    fd_cache_read_int(&rd, &n);
    if (rd.bad || !text_ok(out->answer) || !opt_text_ok(out->validation) || n < 0 ||
        n > MAX_CITES || (answered != 0 && answered != 1) || (grounded != 0 && grounded != 1))
        return 0;
    fd_reply_cite *c = n ? fd_arena_calloc(a, (size_t)n, sizeof *c) : NULL;
    if (n && !c)
        return 0;
    for (int64_t i = 0; i < n && !rd.bad; i++) {
        fd_cache_read_str(&rd, &c[i].document);
        fd_cache_read_str(&rd, &c[i].title);
        fd_cache_read_str(&rd, &c[i].section);
        if (!rd.bad &&
            (!text_ok(c[i].document) || !opt_text_ok(c[i].title) || !opt_text_ok(c[i].section)))
            rd.bad = 1;
    }
    if (rd.bad)
        return 0;
    out->answered = (int)answered;
    out->grounded = (int)grounded;
    out->cites = c;
    out->n_cites = (size_t)n;
    return 1;
}

int dialog_passages_encode(const fd_passage *p, size_t n, size_t n_pass, fd_cache_rec *rec)
{
    int rc = fd_cache_rec_int(rec, (int64_t)n);
    if (!rc)
        rc = fd_cache_rec_int(rec, (int64_t)n_pass);
    for (size_t i = 0; i < n && !rc; i++) {
        rc = fd_cache_rec_str(rec, p[i].doc_key);
        if (!rc)
            rc = fd_cache_rec_str(rec, p[i].title);
        if (!rc)
            rc = fd_cache_rec_str(rec, p[i].section);
        if (!rc)
            rc = fd_cache_rec_str(rec, p[i].text);
        if (!rc)
            rc = fd_cache_rec_dbl(rec, p[i].score);
        if (!rc)
            rc = fd_cache_rec_int(rec, p[i].lang);
    }
    return rc;
}

int dialog_passages_decode(const void *val, size_t vlen, size_t max_pass, fd_arena *a,
                           fd_passage **out, size_t *n_out, size_t *n_pass_out)
{
    fd_cache_reader rd;
    fd_cache_reader_init(&rd, val, vlen);
    int64_t n = 0, n_pass = 0;
    fd_cache_read_int(&rd, &n);
    fd_cache_read_int(&rd, &n_pass);
    /* Each passage takes at least 32 bytes: a count past that is damage. */
    if (rd.bad || n < 0 || n > MAX_PASSAGES_REC || (uint64_t)n > vlen / 32 || n_pass < 0 ||
        (size_t)n_pass > max_pass || n_pass > n)
        return 0;
    fd_passage *p = fd_arena_calloc(a, (size_t)n + 1, sizeof *p);
    if (!p)
        return 0;
    for (int64_t i = 0; i < n && !rd.bad; i++) {
        double score = 0;
        int64_t lang = 0;
        fd_cache_read_str(&rd, &p[i].doc_key);
        fd_cache_read_str(&rd, &p[i].title);
        fd_cache_read_str(&rd, &p[i].section);
        fd_cache_read_str(&rd, &p[i].text);
        fd_cache_read_dbl(&rd, &score);
        fd_cache_read_int(&rd, &lang);
        if (rd.bad || !text_ok(p[i].doc_key) || !text_ok(p[i].text) || !opt_text_ok(p[i].title) ||
            !opt_text_ok(p[i].section) || !isfinite(score) || score < 0 || score > 1e30 ||
            lang < 0 || lang >= FD__NLANGS) {
            rd.bad = 1;
            break;
        }
        p[i].score = (float)score;
        p[i].lang = (int)lang;
    }
    if (rd.bad)
        return 0;
    *out = p;
    *n_out = (size_t)n;
    *n_pass_out = (size_t)n_pass;
    return 1;
}
