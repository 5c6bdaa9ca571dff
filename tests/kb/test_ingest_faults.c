/* test_ingest_faults.c: an ingest (what `frontdesk ingest` and an upload
 * run: read, chunk, store, build and map the index) with the n-th
 * allocation failing, for every n until one needs no more (issue 17). Each
 * attempt ends in FD_OK or an out-of-memory error with a message, never a
 * crash or a leak (ASan/LSan). A failure before the commit changes nothing;
 * one after it (building the index) says the documents are stored, and the
 * next run, the same files, brings the index up to date. Search finds the
 * old text throughout, and the new text at the end. */
#include "support.h"

#include "kb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct seen {
    int n, has_old, has_new;
} seen;

static int each_doc(void *ctx, const fd_kb_doc *d)
{
    seen *s = ctx;
    s->n++;
    s->has_old |= strstr(d->key, "delivery.md") != NULL;
    s->has_new |= strstr(d->key, "returns.md") != NULL;
    return 0;
}

static int finds(fd_kb *kb, const char *q, const char *want)
{
    fd_arena *a = fd_arena_new(0);
    fd_result *r = NULL;
    size_t n = 0;
    fd_err err;
    fd_search_opts so = {.mode = FD_SEARCH_HYBRID, .k = 3};
    int ok = fd_kb_search(kb, fd_str_c(q), &so, a, &r, &n, &err) == FD_OK && n > 0 &&
             strstr(r[0].text, want) != NULL;
    if (!ok && getenv("DEBUG_FINDS")) {
        fprintf(stderr, "  search: n=%zu err=%s\n", n, err.msg);
    }
    if (!ok && getenv("DEBUG_FINDS"))
        for (size_t i = 0; i < n; i++)
            fprintf(stderr, "  %s: %s\n", r[i].doc_key, r[i].text);
    fd_arena_free(a);
    return ok;
}

static void test_ingest_alloc_failures(void **state)
{
    (void)state;
    char *dir = fd_test_tmpdir();
    char docs[600], more[600];
    snprintf(docs, sizeof docs, "%s/docs", dir);
    snprintf(more, sizeof more, "%s/more", dir);
    assert_int_equal(fd_mkdirs(docs, NULL), FD_OK);
    assert_int_equal(fd_mkdirs(more, NULL), FD_OK);
    static const char md[] = "# Delivery\n\n## Fees\n\nDelivery to Sentosa costs S$18.\n";
    static const char md2[] = "# Returns\n\n## Window\n\nUnopened cartons come back within 14 days."
                              "\n\n## Refunds\n\nRefunds reach your card in 5 working days.\n";
    static const char csv[] =
        "code,name,price\nPB-1201,12-inch pizza box,0.45\nCUP-08,8 oz cup,0.1\n";
    fd_free(fd_test_write(docs, "delivery.md", md, sizeof md - 1));
    fd_free(fd_test_write(more, "returns.md", md2, sizeof md2 - 1));
    fd_free(fd_test_write(more, "products.csv", csv, sizeof csv - 1));

    fd_config cfg;
    fd_config_defaults(&cfg);
    snprintf(cfg.data_dir, sizeof cfg.data_dir, "%s/var", dir);
    fd_kb *kb = NULL;
    fd_err err = {0};
    assert_int_equal(fd_kb_open(&cfg, NULL, &kb, &err), FD_OK);
    const char *first[] = {docs};
    fd_kb_ingest_report rep;
    fd_kb_ingest_opts o = {0};
    assert_int_equal(fd_kb_ingest(kb, first, 1, &o, &rep, &err), FD_OK);
    assert_true(finds(kb, "Sentosa delivery", "S$18"));
    { /* no options: a clear refusal, not a crash */
        fd_arena *a = fd_arena_new(0);
        fd_result *r;
        size_t n;
        assert_int_equal(fd_kb_search(kb, fd_str_c("delivery"), NULL, a, &r, &n, &err), FD_EINVAL);
        fd_arena_free(a);
    }

    const char *second[] = {more};
    long k = 0, after_commit = 0;
    int rc;
    do {
        fd_err e = {0};
        fd_alloc_fail_at(++k);
        rc = fd_kb_ingest(kb, second, 1, &o, &rep, &e);
        fd_alloc_fail_at(0);
        seen s = {0};
        assert_int_equal(fd_kb_docs_each(kb, each_doc, &s, NULL), FD_OK);
        if (rc != FD_OK) {
            if (rc != FD_ENOMEM && rc != FD_ETOOBIG)
                fail_msg("failure point %ld: %s (%d), not an out-of-memory error", k, e.msg, rc);
            if (!e.msg[0])
                fail_msg("failure point %ld: an error without a message", k);
            /* Nothing changed; or, failing after the commit (building the
             * index), the documents are stored and the error says so. */
            int stored = s.n == 4 && s.has_old && s.has_new;
            if (!(s.n == 1 && s.has_old) && !(stored && strstr(e.msg, "documents are stored")))
                fail_msg("failure point %ld: a failed ingest left %d documents (%s)", k, s.n,
                         e.msg);
            after_commit += stored;
            if (!finds(kb, "Sentosa delivery", "S$18"))
                fail_msg("failure point %ld: search lost the old text", k);
        }
    } while (fd_alloc_failures() > 0 && k < 200000);
    assert_int_equal(rc, FD_OK);
    print_message("  ingest: %ld failure points, each refused cleanly (%ld after the commit, "
                  "finished by the next run)\n",
                  k - 1, after_commit);
    seen s = {0};
    assert_int_equal(fd_kb_docs_each(kb, each_doc, &s, NULL), FD_OK);
    assert_true(s.has_old && s.has_new);
    fd_kb_stats st;
    assert_int_equal(fd_kb_stats_get(kb, &st, NULL), FD_OK);
    if (getenv("DEBUG_FINDS"))
        fprintf(stderr, "  store version %lld, index version %lld, %lld chunks\n",
                (long long)st.kb_version, (long long)fd_kb_loaded_version(kb),
                (long long)st.n_chunks);
    assert_true(finds(kb, "refund card working days", "5 working days"));
    fd_kb_close(kb);
    fd_test_rmrf(dir);
    fd_free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_ingest_alloc_failures)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
