/* alloc.c: counted allocation with a failure hook for tests (Redis zmalloc,
 * SQLite's faultsim). A size header in front of each block lets fd_free keep
 * the live-byte count exact without malloc_usable_size. */
#include "core.h"

#ifdef __GLIBC__
#include <limits.h>
#include <malloc.h>
#endif

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* 16 bytes keep the user pointer aligned for any scalar or SSE type. */
#define HDR 16

static atomic_size_t live_bytes;
static atomic_long fail_countdown; /* 0: disarmed; 1: next fails */
static atomic_long fail_total;

static int should_fail(void)
{
    long n = atomic_load(&fail_countdown);
    if (n <= 0)
        return 0;
    if (n == 1) {
        atomic_fetch_add(&fail_total, 1);
        return 1; /* stays at 1: every later allocation fails too */
    }
    atomic_fetch_sub(&fail_countdown, 1);
    return 0;
}

void fd_alloc_fail_at(long n)
{
    if (n > 0)
        atomic_store(&fail_total, 0);
    atomic_store(&fail_countdown, n);
}

long fd_alloc_failures(void)
{
    return atomic_load(&fail_total);
}

size_t fd_alloc_bytes(void)
{
    return atomic_load(&live_bytes);
}

void fd_mem_trim(void)
{
#ifdef __GLIBC__
    malloc_trim(0);
#endif
}

int fd_heap_stats_now(fd_heap_stats *out)
{
    *out = (fd_heap_stats){0};
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
    struct mallinfo2 mi = mallinfo2();
    out->in_use = mi.uordblks + mi.hblkhd;
    out->free = mi.fordblks;
    out->mmapped = mi.hblkhd;
    return FD_OK;
#else
    return FD_EUNAVAIL;
#endif
}

int fd_mem_limit_arenas(int n)
{
#ifdef __GLIBC__
    const char *env = getenv("MALLOC_ARENA_MAX");
    if (env && *env) {
        int v = atoi(env);
        return v > 0 ? v : 0; /* glibc ignores what is not a positive count */
    }
    const char *tun = getenv("GLIBC_TUNABLES");
    if (tun && strstr(tun, "glibc.malloc.arena_max"))
        return 0; /* set there: left as it is */
    if (n > 0 && mallopt(M_ARENA_MAX, n) == 1)
        return n;
#else
    (void)n;
#endif
    return 0;
}

int fd_mem_fix_mmap_threshold(size_t bytes)
{
#ifdef __GLIBC__
    const char *env = getenv("MALLOC_MMAP_THRESHOLD_");
    const char *tun = getenv("GLIBC_TUNABLES");
    if ((env && *env) || (tun && strstr(tun, "glibc.malloc.mmap_threshold")) || bytes > INT_MAX)
        return 0;
    return mallopt(M_MMAP_THRESHOLD, (int)bytes) == 1;
#else
    (void)bytes;
    return 0;
#endif
}

void *fd_malloc(size_t n)
{
    if (n > SIZE_MAX - HDR || should_fail())
        return NULL;
    unsigned char *p = malloc(n + HDR);
    if (!p)
        return NULL;
    memcpy(p, &n, sizeof n);
    atomic_fetch_add(&live_bytes, n);
    return p + HDR;
}

void *fd_calloc(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    void *p = fd_malloc(n * size);
    if (p)
        memset(p, 0, n * size);
    return p;
}

void *fd_realloc(void *ptr, size_t n)
{
    if (!ptr)
        return fd_malloc(n);
    if (n > SIZE_MAX - HDR || should_fail())
        return NULL;
    unsigned char *base = (unsigned char *)ptr - HDR;
    size_t old;
    memcpy(&old, base, sizeof old);
    unsigned char *p = realloc(base, n + HDR);
    if (!p)
        return NULL;
    memcpy(p, &n, sizeof n);
    atomic_fetch_sub(&live_bytes, old);
    atomic_fetch_add(&live_bytes, n);
    return p + HDR;
}

void fd_free(void *ptr)
{
    if (!ptr)
        return;
    unsigned char *base = (unsigned char *)ptr - HDR;
    size_t old;
    memcpy(&old, base, sizeof old);
    atomic_fetch_sub(&live_bytes, old);
    free(base);
}

char *fd_strndup(const char *s, size_t n)
{
    char *p = fd_malloc(n + 1);
    if (!p)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *fd_strdup(const char *s)
{
    return fd_strndup(s, strlen(s));
}
