/* redis.c: Redis, shared by replicas, behind a small connection pool.
 *
 * Redis is a help, never a dependency: when a command fails the pool marks
 * Redis down for cache.redis_retry_ms and every caller goes local at once
 * (no timeout per request while it is down). The first command after that
 * reconnects; success counts a recovery. Connections made before a failure
 * are dropped rather than reused, so a restarted server is not met with
 * dead sockets. */
#include "cache_int.h"

#include <hiredis/hiredis.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#define POOL 8

typedef struct slot {
    redisContext *ctx;
    uint64_t gen; /* the pool generation it was made in */
    int busy;
} slot;

struct cache_redis {
    char host[256];
    int port, db;
    int timeout_ms, retry_ms;
    fd_log *log;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    slot s[POOL];
    uint64_t gen;        /* bumped by every failure */
    uint64_t down_until; /* fd_time_ns(); 0: up */
    int was_down;
    uint64_t errors, recoveries;
};

static int parse_url(cache_redis *r, const char *url, fd_err *err)
{
    const char *p = url;
    if (strncmp(p, "redis://", 8) != 0)
        return fd_err_set_field(err, FD_EINVAL, "cache.redis_url",
                                "cache.redis_url must look like redis://host:port[/db], not '%s'",
                                url);
    p += 8;
    const char *at = strchr(p, '@');
    if (at)
        return fd_err_set_field(err, FD_EINVAL, "cache.redis_url",
                                "cache.redis_url: passwords are not supported yet");
    size_t hl = strcspn(p, ":/");
    if (hl == 0 || hl >= sizeof r->host)
        return fd_err_set_field(err, FD_EINVAL, "cache.redis_url", "cache.redis_url: bad host");
    memcpy(r->host, p, hl);
    r->host[hl] = 0;
    p += hl;
    r->port = 6379;
    if (*p == ':') {
        char *end;
        long port = strtol(p + 1, &end, 10);
        if (end == p + 1 || port <= 0 || port > 65535)
            return fd_err_set_field(err, FD_EINVAL, "cache.redis_url", "cache.redis_url: bad port");
        r->port = (int)port;
        p = end;
    }
    if (*p == '/' && p[1]) {
        char *end;
        long db = strtol(p + 1, &end, 10);
        if (*end || db < 0 || db > 1000)
            return fd_err_set_field(err, FD_EINVAL, "cache.redis_url", "cache.redis_url: bad db");
        r->db = (int)db;
    } else if (*p && strcmp(p, "/") != 0) {
        return fd_err_set_field(err, FD_EINVAL, "cache.redis_url",
                                "cache.redis_url: unexpected '%s'", p);
    }
    return FD_OK;
}

int cache_redis_new(const char *url, int timeout_ms, int retry_ms, fd_log *log, cache_redis **out,
                    fd_err *err)
{
    cache_redis *r = fd_calloc(1, sizeof *r);
    if (!r)
        return fd_err_set(err, FD_ENOMEM, "out of memory");
    int rc = parse_url(r, url, err);
    if (rc) {
        fd_free(r);
        return rc;
    }
    r->timeout_ms = timeout_ms > 0 ? timeout_ms : 100;
    r->retry_ms = retry_ms > 0 ? retry_ms : 1000;
    r->log = log;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    *out = r;
    return FD_OK;
}

void cache_redis_free(cache_redis *r)
{
    if (!r)
        return;
    for (int i = 0; i < POOL; i++)
        if (r->s[i].ctx)
            redisFree(r->s[i].ctx);
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    fd_free(r);
}

static struct timeval tv_ms(int ms)
{
    return (struct timeval){ms / 1000, (ms % 1000) * 1000};
}

static redisContext *connect_one(cache_redis *r)
{
    redisContext *ctx = redisConnectWithTimeout(r->host, r->port, tv_ms(r->timeout_ms));
    if (!ctx)
        return NULL;
    if (ctx->err || redisSetTimeout(ctx, tv_ms(r->timeout_ms)) != REDIS_OK) {
        redisFree(ctx);
        return NULL;
    }
    if (r->db) {
        redisReply *rep = redisCommand(ctx, "SELECT %d", r->db);
        int ok = rep && rep->type == REDIS_REPLY_STATUS;
        if (rep)
            freeReplyObject(rep);
        if (!ok) {
            redisFree(ctx);
            return NULL;
        }
    }
    return ctx;
}

/* A connection for one command, or NULL: Redis is down (or just failed). */
static slot *borrow(cache_redis *r)
{
    pthread_mutex_lock(&r->mu);
    if (r->down_until && fd_time_ns() < r->down_until) {
        pthread_mutex_unlock(&r->mu);
        return NULL;
    }
    slot *sl = NULL;
    for (;;) {
        for (int i = 0; i < POOL && !sl; i++)
            if (!r->s[i].busy)
                sl = &r->s[i];
        if (sl)
            break;
        pthread_cond_wait(&r->cv, &r->mu);
    }
    sl->busy = 1;
    uint64_t gen = r->gen;
    redisContext *stale = sl->ctx && sl->gen != gen ? sl->ctx : NULL;
    if (stale)
        sl->ctx = NULL;
    pthread_mutex_unlock(&r->mu);
    if (stale)
        redisFree(stale);
    if (!sl->ctx) {
        sl->ctx = connect_one(r);
        sl->gen = gen;
    }
    return sl;
}

static void fail_locked(cache_redis *r, const char *why)
{
    r->errors++;
    r->gen++;
    if (!r->was_down)
        FD_LOG(r->log, FD_LOG_WARN, "cache",
               "Redis %s:%d unavailable (%s): local cache and limits until it answers", r->host,
               r->port, why);
    r->was_down = 1;
    r->down_until = fd_time_ns() + (uint64_t)r->retry_ms * 1000000ull;
}

/* Gives the connection back; ok 0 marks Redis down and drops it. */
static void give_back(cache_redis *r, slot *sl, int ok, const char *why)
{
    redisContext *dead = NULL;
    pthread_mutex_lock(&r->mu);
    if (!ok) {
        dead = sl->ctx;
        sl->ctx = NULL;
        fail_locked(r, why);
    } else if (r->was_down && sl->gen == r->gen) {
        /* Only a connection made since the failure proves Redis is back: an
         * older one may have finished its command just before it failed. */
        r->was_down = 0;
        r->down_until = 0;
        r->recoveries++;
        FD_LOG(r->log, FD_LOG_INFO, "cache", "Redis %s:%d is back: shared cache and limits again",
               r->host, r->port);
    }
    sl->busy = 0;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
    if (dead)
        redisFree(dead);
}

/* One command: the reply, or NULL with Redis marked down. */
static redisReply *command(cache_redis *r, int argc, const char **argv, const size_t *lens)
{
    slot *sl = borrow(r);
    if (!sl)
        return NULL;
    if (!sl->ctx) {
        give_back(r, sl, 0, "cannot connect");
        return NULL;
    }
    redisReply *rep = redisCommandArgv(sl->ctx, argc, argv, lens);
    if (!rep || sl->ctx->err) {
        char why[128];
        snprintf(why, sizeof why, "%s", sl->ctx->errstr[0] ? sl->ctx->errstr : "no reply");
        if (rep)
            freeReplyObject(rep);
        give_back(r, sl, 0, why);
        return NULL;
    }
    if (rep->type == REDIS_REPLY_ERROR) {
        /* The server answered: up, but this command failed (counted). */
        FD_LOG(r->log, FD_LOG_WARN, "cache", "Redis error: %.*s", (int)rep->len, rep->str);
        pthread_mutex_lock(&r->mu);
        r->errors++;
        pthread_mutex_unlock(&r->mu);
        freeReplyObject(rep);
        give_back(r, sl, 1, NULL);
        return NULL;
    }
    give_back(r, sl, 1, NULL);
    return rep;
}

int cache_redis_get(cache_redis *r, const void *key, size_t klen, fd_arena *a, void **val,
                    size_t *vlen)
{
    const char *argv[] = {"GET", key};
    size_t lens[] = {3, klen};
    redisReply *rep = command(r, 2, argv, lens);
    if (!rep)
        return -1;
    int rc = 0;
    if (rep->type == REDIS_REPLY_STRING) {
        char *copy = fd_arena_alloc(a, rep->len + 1);
        if (copy) {
            memcpy(copy, rep->str, rep->len);
            copy[rep->len] = 0;
            *val = copy;
            *vlen = rep->len;
            rc = 1;
        }
    }
    freeReplyObject(rep);
    return rc;
}

int cache_redis_set(cache_redis *r, const void *key, size_t klen, const void *val, size_t vlen,
                    int64_t ttl_ms, int nx)
{
    char ttl[32];
    snprintf(ttl, sizeof ttl, "%lld", (long long)(ttl_ms > 0 ? ttl_ms : 1));
    const char *argv[] = {"SET", key, val, "PX", ttl, "NX"};
    size_t lens[] = {3, klen, vlen, 2, strlen(ttl), 2};
    redisReply *rep = command(r, nx ? 6 : 5, argv, lens);
    if (!rep)
        return -1;
    int rc = rep->type == REDIS_REPLY_STATUS;
    freeReplyObject(rep);
    return rc;
}

int cache_redis_del(cache_redis *r, const void *key, size_t klen)
{
    const char *argv[] = {"DEL", key};
    size_t lens[] = {3, klen};
    redisReply *rep = command(r, 2, argv, lens);
    if (!rep)
        return -1;
    freeReplyObject(rep);
    return 0;
}

/* Deletes key only while it holds val (one round trip, so nobody can set
 * it in between): a flight's end must not delete its successor's key. */
static const char del_if_lua[] =
    "if redis.call('GET',KEYS[1])==ARGV[1] then return redis.call('DEL',KEYS[1]) end\n"
    "return 0\n";

int cache_redis_del_if(cache_redis *r, const void *key, size_t klen, const void *val, size_t vlen)
{
    const char *argv[] = {"EVAL", del_if_lua, "1", key, val};
    size_t lens[] = {4, sizeof del_if_lua - 1, 1, klen, vlen};
    redisReply *rep = command(r, 5, argv, lens);
    if (!rep)
        return -1;
    int rc = rep->type == REDIS_REPLY_INTEGER && rep->integer > 0;
    freeReplyObject(rep);
    return rc;
}

/* Tokens refill at rate per second up to burst; one is taken per call.
 * The caller's clock (ms) keeps the script deterministic. */
static const char take_lua[] =
    "local v=redis.call('HMGET',KEYS[1],'t','ts')\n"
    "local rate=tonumber(ARGV[1]) local burst=tonumber(ARGV[2]) local now=tonumber(ARGV[3])\n"
    "local t=tonumber(v[1]) local ts=tonumber(v[2])\n"
    "if t==nil or ts==nil then t=burst ts=now end\n"
    "if now>ts then t=math.min(burst,t+(now-ts)/1000*rate) else now=ts end\n"
    "local ok=0 local wait=0\n"
    "if t>=1 then t=t-1 ok=1 else wait=(1-t)/rate end\n"
    "redis.call('HMSET',KEYS[1],'t',tostring(t),'ts',tostring(now))\n"
    "redis.call('PEXPIRE',KEYS[1],math.ceil(burst/rate*1000)+1000)\n"
    "return {ok,tostring(wait)}\n";

int cache_redis_take(cache_redis *r, const char *key, double rate_per_s, double burst,
                     double *retry_after_s)
{
    char rate[32], b[32], now[32];
    snprintf(rate, sizeof rate, "%.9g", rate_per_s);
    snprintf(b, sizeof b, "%.9g", burst);
    snprintf(now, sizeof now, "%.0f", fd_time_wall() * 1000.0);
    const char *argv[] = {"EVAL", take_lua, "1", key, rate, b, now};
    size_t lens[7];
    for (int i = 0; i < 7; i++)
        lens[i] = strlen(argv[i]);
    redisReply *rep = command(r, 7, argv, lens);
    if (!rep)
        return -1;
    int rc = -1;
    if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 &&
        rep->element[0]->type == REDIS_REPLY_INTEGER) {
        rc = rep->element[0]->integer ? 1 : 0;
        if (retry_after_s)
            *retry_after_s =
                rep->element[1]->type == REDIS_REPLY_STRING ? atof(rep->element[1]->str) : 1;
    }
    freeReplyObject(rep);
    return rc;
}

int cache_redis_up(cache_redis *r)
{
    pthread_mutex_lock(&r->mu);
    int up = !r->was_down;
    pthread_mutex_unlock(&r->mu);
    return up;
}

void cache_redis_counts(cache_redis *r, uint64_t *errors, uint64_t *recoveries)
{
    pthread_mutex_lock(&r->mu);
    *errors = r->errors;
    *recoveries = r->recoveries;
    pthread_mutex_unlock(&r->mu);
}
