/* util.c: time, hashing, process memory and fault points. */
#include "core.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

uint64_t fd_time_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t fd_thread_cpu_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

double fd_time_wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* FNV-1a with a final avalanche (splitmix64): fast, good enough for hash
 * tables and feature hashing; not for anything adversarial. */
uint64_t fd_hash64(const void *p, size_t len, uint64_t seed)
{
    const unsigned char *s = p;
    uint64_t h = 0xcbf29ce484222325ull ^ seed;
    for (size_t i = 0; i < len; i++) {
        h ^= s[i];
        h *= 0x100000001b3ull;
    }
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebull;
    h ^= h >> 31;
    return h;
}

void fd_sha256_hex(const void *p, size_t len, char out[65])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[32];
    unsigned int n = 0;
    EVP_Digest(p, len, md, &n, EVP_sha256(), NULL);
    for (unsigned i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
}

size_t fd_rss_peak(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return (size_t)ru.ru_maxrss * 1024;
}

size_t fd_rss_now(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return 0;
    unsigned long size = 0, rss = 0;
    int n = fscanf(f, "%lu %lu", &size, &rss);
    fclose(f);
    return n == 2 ? (size_t)rss * 4096 : 0;
}

#ifdef FD_TESTING
#include <stdatomic.h>
/* Parsed on first use from FRONTDESK_FAULTS; hit counts are per name. */
#define MAX_FAULTS 16
static struct {
    char name[48];
    long at; /* 0 = every hit */
    atomic_long hits;
} faults[MAX_FAULTS];
static int n_faults = -1;

static void faults_parse(void)
{
    n_faults = 0;
    const char *env = getenv("FRONTDESK_FAULTS");
    if (!env)
        return;
    char tmp[512];
    snprintf(tmp, sizeof tmp, "%s", env);
    char *save = NULL;
    for (char *tok = strtok_r(tmp, ",", &save); tok && n_faults < MAX_FAULTS;
         tok = strtok_r(NULL, ",", &save)) {
        char *colon = strchr(tok, ':');
        long at = 0;
        if (colon) {
            *colon = '\0';
            at = strtol(colon + 1, NULL, 10);
        }
        snprintf(faults[n_faults].name, sizeof faults[n_faults].name, "%s", tok);
        faults[n_faults].at = at;
        n_faults++;
    }
}

int fd_fault_hit(const char *name)
{
    if (n_faults < 0)
        faults_parse();
    for (int i = 0; i < n_faults; i++) {
        if (strcmp(faults[i].name, name) != 0)
            continue;
        long hit = atomic_fetch_add(&faults[i].hits, 1) + 1;
        return faults[i].at == 0 || hit == faults[i].at;
    }
    return 0;
}
#endif

int fd_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}
