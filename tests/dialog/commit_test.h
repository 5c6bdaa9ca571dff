/* commit_test.h: the fixture the group-commit tests share (test_commit.c,
 * test_commit_batch.c): a one-page knowledge base, an assistant and a
 * committer on it. Header-only; two programs because each arms its own
 * fault point (FRONTDESK_FAULTS is read once a process). */
#ifndef FD_COMMIT_TEST_H
#define FD_COMMIT_TEST_H

#include "support.h"

#include "dialog.h"
#include "kb.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct fixture {
    char *dir;
    fd_config cfg;
    fd_kb *kb;
    fd_assistant *as;
    fd_committer *c;
} fixture;

static inline int setup(void **state)
{
    fixture *f = fd_calloc(1, sizeof *f);
    f->dir = fd_test_tmpdir();
    char docs[600];
    snprintf(docs, sizeof docs, "%s/docs", f->dir);
    assert_int_equal(fd_mkdirs(docs, NULL), FD_OK);
    static const char md[] =
        "# Delivery\n\n## Days\n\nWe deliver Monday to Saturday, 8 am to 6 pm.\n";
    fd_free(fd_test_write(docs, "delivery.md", md, sizeof md - 1));
    fd_config_defaults(&f->cfg);
    snprintf(f->cfg.data_dir, sizeof f->cfg.data_dir, "%s/var", f->dir);
    f->cfg.answer_wordlists[0] = '\0';
    fd_err err = {0};
    assert_int_equal(fd_kb_open(&f->cfg, NULL, &f->kb, &err), FD_OK);
    const char *paths[] = {docs};
    fd_kb_ingest_report rep;
    fd_kb_ingest_opts o = {0};
    assert_int_equal(fd_kb_ingest(f->kb, paths, 1, &o, &rep, &err), FD_OK);
    assert_int_equal(fd_assistant_open(&f->cfg, NULL, f->kb, &f->as, &err), FD_OK);
    assert_int_equal(fd_committer_start(&f->cfg, NULL, &f->c, &err), FD_OK);
    fd_assistant_use_committer(f->as, f->c);
    *state = f;
    return 0;
}

static inline int teardown(void **state)
{
    fixture *f = *state;
    fd_committer_stop(f->c);
    fd_assistant_close(f->as);
    fd_kb_close(f->kb);
    fd_test_rmrf(f->dir);
    fd_free(f->dir);
    fd_free(f);
    return 0;
}

/* fd_store_turns_each callback: counts the rows. */
static inline int count_turn(void *ctx, const fd_turn_row *t)
{
    (void)t;
    (*(int *)ctx)++;
    return 0;
}

#endif
