/* kb_fixture.h: a test's knowledge base, made from a few files or from the
 * example KB, for the tests of modules that link the kb (test_reopen,
 * test_turn_faults, test_order, the group-commit tests). Header-only:
 * fd_testsupport links fd_core alone. */
#ifndef FD_TEST_KB_FIXTURE_H
#define FD_TEST_KB_FIXTURE_H

#include "support.h"

#include "kb.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct fd_test_file {
    const char *name, *text;
} fd_test_file;

/* Opens a kb in DIR/var (cfg's other fields as the caller set them) and
 * ingests the n files, written into DIR/docs; with n == 0, the example KB
 * (examples/packaging-supplier under $FD_SOURCE_DIR). Fails the test on
 * any error. */
static inline fd_kb *fd_test_kb(const char *dir, fd_config *cfg, const fd_test_file *files,
                                size_t n)
{
    char src[1024];
    if (n) {
        snprintf(src, sizeof src, "%s/docs", dir);
        assert_int_equal(fd_mkdirs(src, NULL), FD_OK);
        for (size_t i = 0; i < n; i++)
            fd_free(fd_test_write(src, files[i].name, files[i].text, strlen(files[i].text)));
    } else {
        const char *root = getenv("FD_SOURCE_DIR");
        snprintf(src, sizeof src, "%s/examples/packaging-supplier", root ? root : ".");
    }
    snprintf(cfg->data_dir, sizeof cfg->data_dir, "%s/var", dir);
    fd_err err = {0};
    fd_kb *kb = NULL;
    if (fd_kb_open(cfg, NULL, &kb, &err))
        fail_msg("kb open: %s", err.msg);
    const char *paths[] = {src};
    fd_kb_ingest_report rep;
    fd_kb_ingest_opts o = {0};
    if (fd_kb_ingest(kb, paths, 1, &o, &rep, &err))
        fail_msg("ingest %s: %s", src, err.msg);
    return kb;
}

#endif
