/* sse.c: incremental Server-Sent-Events parser. Network reads split the
 * stream anywhere (inside "data:", between CR and LF), so all state lives in
 * the struct and every byte split must give the same events. */
#include "llm_int.h"

#include <string.h>

#define SSE_DEFAULT_MAX ((size_t)1 << 20)

void fd_llm_sse_init(fd_llm_sse *s, size_t max)
{
    if (!max)
        max = SSE_DEFAULT_MAX;
    fd_buf_init(&s->line, max);
    fd_buf_init(&s->data, max);
    s->n_data = 0;
    s->skip_lf = 0;
    s->started = 0;
}

void fd_llm_sse_reset(fd_llm_sse *s)
{
    s->line.len = 0;
    s->data.len = 0;
    s->n_data = 0;
    s->skip_lf = 0;
    s->started = 0;
}

void fd_llm_sse_free(fd_llm_sse *s)
{
    fd_buf_free(&s->line);
    fd_buf_free(&s->data);
}

/* An empty line ends the event. Per the spec an event whose data buffer was
 * never written is not dispatched, and the last "\n" of the data is dropped
 * (it was appended after each data line). */
static int dispatch(fd_llm_sse *s, fd_llm_sse_cb cb, void *ctx)
{
    int rc = FD_OK;
    if (s->n_data) {
        size_t n = s->data.len;
        if (n && s->data.p[n - 1] == '\n')
            n--;
        rc = cb(ctx, n ? s->data.p : "", n);
    }
    s->data.len = 0;
    s->n_data = 0;
    return rc;
}

static int process_line(fd_llm_sse *s, const char *p, size_t n, fd_llm_sse_cb cb, void *ctx)
{
    if (n == 0)
        return dispatch(s, cb, ctx);
    if (p[0] == ':')
        return FD_OK; /* comment, often a keep-alive */
    const char *colon = memchr(p, ':', n);
    size_t name_len = colon ? (size_t)(colon - p) : n;
    if (name_len != 4 || memcmp(p, "data", 4) != 0)
        return FD_OK; /* event, id, retry and unknown fields: not needed here */
    const char *v = colon ? colon + 1 : p + n;
    size_t vn = (size_t)(p + n - v);
    if (vn && v[0] == ' ') {
        v++;
        vn--;
    }
    int rc = fd_buf_append(&s->data, v, vn);
    if (!rc)
        rc = fd_buf_putc(&s->data, '\n');
    if (!rc)
        s->n_data++;
    return rc;
}

/* Ends the line held in s->line plus the tail [p, p+n) without copying the
 * common case (a whole line inside one read). */
static int end_line(fd_llm_sse *s, const char *p, size_t n, fd_llm_sse_cb cb, void *ctx)
{
    if (!s->line.len)
        return process_line(s, p, n, cb, ctx);
    int rc = fd_buf_append(&s->line, p, n);
    if (rc)
        return rc;
    rc = process_line(s, s->line.p, s->line.len, cb, ctx);
    s->line.len = 0;
    return rc;
}

int fd_llm_sse_feed(fd_llm_sse *s, const char *p, size_t n, fd_llm_sse_cb cb, void *ctx)
{
    const char *end = p + n;
    if (!s->started) {
        /* The UTF-8 BOM may itself arrive split: wait for three bytes. */
        static const char bom[] = "\xEF\xBB\xBF";
        size_t have = s->line.len;
        size_t take = n < 3 - have ? n : 3 - have;
        if (memcmp(bom, s->line.p ? s->line.p : "", have) == 0 &&
            memcmp(bom + have, p, take) == 0) {
            if (have + take < 3)
                return fd_buf_append(&s->line, p, take);
            s->line.len = 0;
            p += take;
        }
        s->started = 1;
    }
    while (p < end) {
        if (s->skip_lf) {
            s->skip_lf = 0;
            if (*p == '\n') {
                p++;
                continue;
            }
        }
        const char *q = p;
        while (q < end && *q != '\n' && *q != '\r')
            q++;
        if (q == end)
            return fd_buf_append(&s->line, p, (size_t)(end - p));
        if (*q == '\r')
            s->skip_lf = 1;
        int rc = end_line(s, p, (size_t)(q - p), cb, ctx);
        if (rc)
            return rc;
        p = q + 1;
    }
    return FD_OK;
}
