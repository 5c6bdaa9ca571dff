/* rec.c: cache keys and values as length-prefixed fields. A key starts
 * with the kb version (8 bytes, little-endian) so fd_cache_purge can tell
 * old entries without knowing the layers' formats. */
#include "cache.h"

#include <string.h>

#define NULL_LEN 0xffffffffu

static int put_u32(fd_buf *b, uint32_t v)
{
    unsigned char x[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    return fd_buf_append(b, x, 4);
}

static int put_u64(fd_buf *b, uint64_t v)
{
    unsigned char x[8];
    for (int i = 0; i < 8; i++)
        x[i] = (unsigned char)(v >> (8 * i));
    return fd_buf_append(b, x, 8);
}

int fd_cache_key_init(fd_cache_key *k, int64_t kb_version)
{
    fd_buf_init(&k->b, 1 << 20);
    return put_u64(&k->b, (uint64_t)kb_version);
}

int fd_cache_key_add(fd_cache_key *k, const void *p, size_t n)
{
    if (n >= NULL_LEN)
        return FD_ETOOBIG;
    int rc = put_u32(&k->b, (uint32_t)n);
    return rc ? rc : fd_buf_append(&k->b, p, n);
}

int fd_cache_key_add_str(fd_cache_key *k, const char *s)
{
    return fd_cache_key_add(k, s ? s : "", s ? strlen(s) : 0);
}

void fd_cache_key_free(fd_cache_key *k)
{
    fd_buf_free(&k->b);
}

void fd_cache_rec_init(fd_cache_rec *r)
{
    fd_buf_init(&r->b, 16 << 20);
}

int fd_cache_rec_str(fd_cache_rec *r, const char *s)
{
    if (!s)
        return put_u32(&r->b, NULL_LEN);
    size_t n = strlen(s);
    if (n >= NULL_LEN)
        return FD_ETOOBIG;
    int rc = put_u32(&r->b, (uint32_t)n);
    if (!rc)
        rc = fd_buf_append(&r->b, s, n + 1); /* with its NUL: readers point into the record */
    return rc;
}

int fd_cache_rec_int(fd_cache_rec *r, int64_t v)
{
    return put_u64(&r->b, (uint64_t)v);
}

int fd_cache_rec_dbl(fd_cache_rec *r, double v)
{
    uint64_t u;
    memcpy(&u, &v, 8);
    return put_u64(&r->b, u);
}

void fd_cache_rec_free(fd_cache_rec *r)
{
    fd_buf_free(&r->b);
}

void fd_cache_reader_init(fd_cache_reader *rd, const void *p, size_t n)
{
    rd->p = p;
    rd->n = n;
    rd->off = 0;
    rd->bad = 0;
}

static int get_u32(fd_cache_reader *rd, uint32_t *v)
{
    if (rd->bad || rd->n - rd->off < 4)
        return rd->bad = 1;
    const unsigned char *x = rd->p + rd->off;
    *v = (uint32_t)x[0] | (uint32_t)x[1] << 8 | (uint32_t)x[2] << 16 | (uint32_t)x[3] << 24;
    rd->off += 4;
    return 0;
}

static int get_u64(fd_cache_reader *rd, uint64_t *v)
{
    if (rd->bad || rd->n - rd->off < 8)
        return rd->bad = 1;
    uint64_t u = 0;
    for (int i = 7; i >= 0; i--)
        u = u << 8 | rd->p[rd->off + (size_t)i];
    *v = u;
    rd->off += 8;
    return 0;
}

int fd_cache_read_str(fd_cache_reader *rd, const char **s)
{
    uint32_t n;
    *s = NULL;
    if (get_u32(rd, &n))
        return 1;
    if (n == NULL_LEN)
        return 0;
    if (rd->n - rd->off < (size_t)n + 1 || rd->p[rd->off + n] != 0)
        return rd->bad = 1;
    *s = (const char *)rd->p + rd->off;
    rd->off += (size_t)n + 1;
    return 0;
}

int fd_cache_read_int(fd_cache_reader *rd, int64_t *v)
{
    uint64_t u = 0;
    int rc = get_u64(rd, &u);
    *v = (int64_t)u;
    return rc;
}

int fd_cache_read_dbl(fd_cache_reader *rd, double *v)
{
    uint64_t u = 0;
    int rc = get_u64(rd, &u);
    memcpy(v, &u, 8);
    return rc;
}
