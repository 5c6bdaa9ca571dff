/* memo.c: the last good verification of each API key (auth.h), for when
 * the store is unreachable. Keys are remembered by their SHA-256, never in
 * clear; a small open table, replaced by age when full. */
#include "auth_int.h"

#include <pthread.h>
#include <string.h>

#define MEMO_SLOTS 256 /* distinct keys remembered; each replica sees few */

typedef struct memo_slot {
    char hash[65]; /* "" when empty */
    fd_key_info info;
    double at;
} memo_slot;

struct fd_key_memo {
    pthread_mutex_t mu;
    memo_slot slot[MEMO_SLOTS];
};

fd_key_memo *fd_key_memo_new(void)
{
    fd_key_memo *m = fd_calloc(1, sizeof *m);
    if (m)
        pthread_mutex_init(&m->mu, NULL);
    return m;
}

void fd_key_memo_free(fd_key_memo *m)
{
    if (!m)
        return;
    pthread_mutex_destroy(&m->mu);
    fd_free(m);
}

void fd_key_memo_put(fd_key_memo *m, const char *key, const fd_key_info *info, double now)
{
    if (!m)
        return;
    char h[65];
    fd_sha256_hex(key, strlen(key), h);
    pthread_mutex_lock(&m->mu);
    memo_slot *use = &m->slot[0];
    for (size_t i = 0; i < MEMO_SLOTS; i++) {
        memo_slot *s = &m->slot[i];
        if (strcmp(s->hash, h) == 0) {
            use = s;
            break;
        }
        if (s->at < use->at) /* empty slots have at 0: taken first */
            use = s;
    }
    memcpy(use->hash, h, sizeof h);
    use->info = *info;
    use->at = now;
    pthread_mutex_unlock(&m->mu);
}

int fd_key_memo_get(fd_key_memo *m, const char *key, double now, double max_age_s,
                    fd_key_info *info)
{
    if (!m)
        return 0;
    char h[65];
    fd_sha256_hex(key, strlen(key), h);
    int found = 0;
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < MEMO_SLOTS; i++) {
        memo_slot *s = &m->slot[i];
        if (strcmp(s->hash, h) != 0)
            continue;
        /* now before the entry: the wall clock stepped back; a memo of
         * negative age would let a revoked key in for the whole step */
        if (now >= s->at && now - s->at <= max_age_s &&
            (s->info.expires_at == 0 || now < s->info.expires_at) &&
            (s->info.valid_until == 0 || now < s->info.valid_until)) {
            *info = s->info;
            found = 1;
        }
        break;
    }
    pthread_mutex_unlock(&m->mu);
    return found;
}
