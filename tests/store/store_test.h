/* store_test.h: helpers shared by the store tests (a temp database with
 * documents and chunks). Header-only: each test file is its own program. */
#ifndef FD_STORE_TEST_H
#define FD_STORE_TEST_H

#include "support.h"
#include "store.h"

#include <stdio.h>
#include <string.h>

/* Writes one doc with n chunks "<key> chunk <i>" in its own transaction
 * unless the caller already opened one. */
static inline int64_t put_doc(fd_store *st, const char *key, const char *source, int n)
{
    fd_err err = {0};
    fd_doc_row d = {.key = key,
                    .title = key,
                    .source = source,
                    .tag = "faq",
                    .lang = "en",
                    .hash = "h",
                    .n_chunks = n,
                    .kb_version = 1};
    int64_t id = 0;
    assert_int_equal(fd_store_doc_put(st, &d, &id, &err), FD_OK);
    for (int i = 0; i < n; i++) {
        char text[128];
        snprintf(text, sizeof text, "%s chunk %d", key, i);
        assert_int_equal(fd_store_chunk_add(st, id, i, "Sec", text, &err), FD_OK);
    }
    return id;
}

static inline void counts(fd_store *st, int64_t want_docs, int64_t want_chunks)
{
    fd_err err = {0};
    int64_t nd = -1, nc = -1;
    assert_int_equal(fd_store_counts(st, &nd, &nc, &err), FD_OK);
    assert_int_equal(nd, want_docs);
    assert_int_equal(nc, want_chunks);
}

static inline char *db_path(const char *dir)
{
    size_t n = strlen(dir) + 16;
    char *p = fd_malloc(n);
    assert_non_null(p);
    snprintf(p, n, "%s/fd.db", dir);
    return p;
}

#endif
