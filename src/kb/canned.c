/* canned.c: the knowledge base's canned.md, the agents' saved replies.
 * Markdown because the people who write them edit Markdown already (the
 * docs beside it); one "## /shortcut Title" heading per reply, its text
 * the lines below. Checked whole at ingest, so a server never meets a
 * file it cannot read. */
#include "kb_int.h"

#include <string.h>

#define SHORTCUT_MAX 32

static int shortcut_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

static const char *trim(const char *p, size_t *n)
{
    while (*n && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) {
        p++;
        (*n)--;
    }
    while (*n && (p[*n - 1] == ' ' || p[*n - 1] == '\t' || p[*n - 1] == '\r' || p[*n - 1] == '\n'))
        (*n)--;
    return p;
}

/* The reply being read: its heading's line, and where its text starts. */
typedef struct pending {
    int line;
    const char *body;
    fd_canned c;
} pending;

static int close_reply(pending *pd, const char *end, fd_arena *a, fd_canned *out, size_t *n,
                       fd_err *err)
{
    size_t len = (size_t)(end - pd->body);
    const char *t = trim(pd->body, &len);
    if (len == 0)
        return fd_err_set(err, FD_EFORMAT, "canned.md:%d: /%s has no text below its heading",
                          pd->line, pd->c.shortcut);
    if (len > FD_CANNED_TEXT_MAX)
        return fd_err_set(err, FD_EFORMAT,
                          "canned.md:%d: /%s is %zu bytes; a reply is at most %d (what an agent "
                          "may send)",
                          pd->line, pd->c.shortcut, len, FD_CANNED_TEXT_MAX);
    pd->c.text = fd_arena_strndup(a, t, len);
    if (!pd->c.text)
        return fd_err_set(err, FD_ENOMEM, "out of memory");
    out[(*n)++] = pd->c;
    return FD_OK;
}

/* "/shortcut Title" after "## ". */
static int heading(const char *p, size_t len, int line, fd_arena *a, pending *pd, fd_err *err)
{
    p = trim(p, &len);
    size_t k = 0;
    if (len < 2 || p[0] != '/')
        return fd_err_set(err, FD_EFORMAT,
                          "canned.md:%d: a reply's heading starts with its shortcut: "
                          "\"## /delivery Delivery fees\"",
                          line);
    while (1 + k < len && shortcut_char(p[1 + k]))
        k++;
    if (k == 0 || k > SHORTCUT_MAX || (1 + k < len && p[1 + k] != ' ' && p[1 + k] != '\t'))
        return fd_err_set(err, FD_EFORMAT,
                          "canned.md:%d: a shortcut is 1 to %d of a-z 0-9 - _ after the slash",
                          line, SHORTCUT_MAX);
    size_t tn = len - 1 - k;
    const char *title = trim(p + 1 + k, &tn);
    pd->line = line;
    pd->c.shortcut = fd_arena_strndup(a, p + 1, k);
    pd->c.title = fd_arena_strndup(a, tn ? title : p + 1, tn ? tn : k);
    if (!pd->c.shortcut || !pd->c.title)
        return fd_err_set(err, FD_ENOMEM, "out of memory");
    return FD_OK;
}

int fd_kb_canned_parse(const char *p, size_t len, fd_arena *a, fd_canned **out, size_t *n,
                       fd_err *err)
{
    *out = NULL;
    *n = 0;
    fd_canned *v = fd_arena_alloc(a, FD_CANNED_MAX * sizeof *v);
    if (!v)
        return fd_err_set(err, FD_ENOMEM, "out of memory");
    pending pd = {0};
    int open = 0, line = 0, rc = FD_OK;
    const char *end = p + len;
    for (const char *s = p; s < end && !rc;) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        const char *e = nl ? nl : end;
        line++;
        if (e - s >= 3 && memcmp(s, "## ", 3) == 0) {
            if (open)
                rc = close_reply(&pd, s, a, v, n, err);
            if (!rc && *n == FD_CANNED_MAX)
                rc = fd_err_set(err, FD_EFORMAT, "canned.md:%d: more than %d replies", line,
                                FD_CANNED_MAX);
            if (!rc)
                rc = heading(s + 3, (size_t)(e - s - 3), line, a, &pd, err);
            for (size_t i = 0; !rc && i < *n; i++)
                if (strcmp(v[i].shortcut, pd.c.shortcut) == 0)
                    rc = fd_err_set(err, FD_EFORMAT, "canned.md:%d: /%s is there twice", line,
                                    pd.c.shortcut);
            open = !rc;
            pd.body = nl ? nl + 1 : end;
        } else if (open && e - s >= 2 && s[0] == '#' && (s[1] == ' ' || s[1] == '#')) {
            /* A "# " or "### " inside a reply would be sent as text: say so. */
            rc = fd_err_set(err, FD_EFORMAT,
                            "canned.md:%d: only \"## /shortcut Title\" headings (one per reply)",
                            line);
        }
        s = nl ? nl + 1 : end;
    }
    if (!rc && open)
        rc = close_reply(&pd, end, a, v, n, err);
    if (rc) {
        *n = 0;
        return rc;
    }
    *out = v;
    return FD_OK;
}
