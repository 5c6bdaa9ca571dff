/* arena.c: bump allocator for per-request memory; one reset frees it all.
 * Blocks grow geometrically so a big request costs few mallocs, and the cap
 * turns unbounded input into FD_ETOOBIG instead of unbounded memory. */
#include "core.h"

#include <string.h>

typedef struct block {
    struct block *next;
    size_t size; /* usable bytes after the header */
    size_t used;
    size_t _pad; /* header is 32 bytes: data after it stays 16-aligned */
} block;

struct fd_arena {
    block *head; /* current block, newest first */
    size_t cap;
    size_t total; /* bytes handed out since the last reset */
    int full;
};

#define FIRST_BLOCK 4096
#define ALIGN 16
_Static_assert(sizeof(block) % ALIGN == 0, "arena block header must keep alignment");

static block *block_new(size_t size)
{
    block *b = fd_malloc(sizeof(block) + size);
    if (!b)
        return NULL;
    b->next = NULL;
    b->size = size;
    b->used = 0;
    return b;
}

fd_arena *fd_arena_new(size_t cap)
{
    fd_arena *a = fd_calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->cap = cap ? cap : (size_t)64 << 20;
    a->head = block_new(FIRST_BLOCK);
    if (!a->head) {
        fd_free(a);
        return NULL;
    }
    return a;
}

void fd_arena_free(fd_arena *a)
{
    if (!a)
        return;
    block *b = a->head;
    while (b) {
        block *next = b->next;
        fd_free(b);
        b = next;
    }
    fd_free(a);
}

void *fd_arena_alloc(fd_arena *a, size_t n)
{
    size_t need = (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    if (need < n || a->total + need > a->cap) {
        a->full = 1;
        return NULL;
    }
    block *b = a->head;
    if (b->size - b->used < need) {
        size_t size = b->size * 2;
        if (size < need)
            size = need;
        block *nb = block_new(size);
        if (!nb)
            return NULL;
        nb->next = b;
        a->head = nb;
        b = nb;
    }
    void *p = (char *)(b + 1) + b->used;
    b->used += need;
    a->total += need;
    return p;
}

void *fd_arena_calloc(fd_arena *a, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    void *p = fd_arena_alloc(a, n * size);
    if (p)
        memset(p, 0, n * size);
    return p;
}

char *fd_arena_strndup(fd_arena *a, const char *p, size_t n)
{
    char *s = fd_arena_alloc(a, n + 1);
    if (!s)
        return NULL;
    if (n)
        memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

char *fd_arena_printf(fd_arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *s = fd_arena_alloc(a, (size_t)n + 1);
    if (!s)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

void fd_arena_reset(fd_arena *a)
{
    /* Keep the oldest block (the smallest); the rest go back to malloc so a
     * single huge request does not pin its memory forever. */
    block *b = a->head;
    while (b->next) {
        block *next = b->next;
        fd_free(b);
        b = next;
    }
    b->used = 0;
    a->head = b;
    a->total = 0;
    a->full = 0;
}

size_t fd_arena_used(const fd_arena *a)
{
    return a->total;
}

int fd_arena_full(const fd_arena *a)
{
    return a->full;
}
