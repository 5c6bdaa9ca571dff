/* core/core.h: errors, strings, allocation, arenas, buffers, logging, time,
 * hashing and fault points. Every other module builds on this one.
 *
 * Mutable globals (the only ones in frontdesk, each for a reason):
 *  - the allocation counters and the test failure hook (alloc.c): /metrics
 *    reports live bytes, and tests fail the n-th allocation on purpose;
 *  - the armed fault points (fault.c, FD_TESTING builds only);
 *  - auth/agents.c's dummy password hash, made once (pthread_once) and
 *    only read after: a sign-in with an unknown name is checked against
 *    it, to take the time a wrong password takes.
 * Everything else is passed explicitly (a config, a log, a store...). */
#ifndef FD_CORE_H
#define FD_CORE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#if defined(__GNUC__)
#define FD_MUST_USE __attribute__((warn_unused_result))
#define FD_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define FD_MUST_USE
#define FD_PRINTF(a, b)
#endif

#define FD_VERSION "0.1.0"

/* ---- errors ------------------------------------------------------------ */

typedef enum fd_code {
    FD_OK = 0,
    FD_EINVAL,    /* bad argument or input */
    FD_ENOMEM,    /* allocation failed */
    FD_ETOOBIG,   /* a size cap was reached */
    FD_ENOTFOUND, /* no such thing */
    FD_EIO,       /* file or database I/O */
    FD_ETIMEOUT,  /* a deadline passed */
    FD_EUPSTREAM, /* a remote service answered badly */
    FD_EUNAVAIL,  /* a dependency is down */
    FD_ECONFLICT, /* state conflict (duplicate, version) */
    FD_EUTF8,     /* text is not valid UTF-8 */
    FD_EFORMAT,   /* file or snapshot in an unknown or corrupt format */
    FD_EINTERNAL, /* a bug: should not happen */
    FD__NCODES
} fd_code;

/* No allocation: works when memory has run out. */
typedef struct fd_err {
    int code;
    char msg[256];
    char field[32]; /* input field at fault, "" if none */
} fd_err;

/* Sets err (NULL is fine) and returns code, so callers can write
 * `return fd_err_set(err, FD_EINVAL, "bad k: %d", k);`. */
int fd_err_set(fd_err *err, int code, const char *fmt, ...) FD_PRINTF(3, 4);
int fd_err_set_field(fd_err *err, int code, const char *field, const char *fmt, ...)
    FD_PRINTF(4, 5);
void fd_err_clear(fd_err *err);
/* Stable lower-case name of a code: "invalid", "no_memory", ... */
const char *fd_code_name(int code);

/* ---- strings ----------------------------------------------------------- */

/* A borrowed slice; not NUL-terminated unless a name says _cstr. */
typedef struct fd_str {
    const char *p;
    size_t len;
} fd_str;

#define FD_STR_LIT(s) ((fd_str){(s), sizeof(s) - 1})
fd_str fd_str_c(const char *s); /* NULL gives the empty slice */
int fd_str_eq(fd_str a, fd_str b);
int fd_str_eq_c(fd_str a, const char *s);

/* ---- allocation (counted, with a test failure hook) -------------------- */

void *fd_malloc(size_t n);
void *fd_calloc(size_t n, size_t size);
void *fd_realloc(void *p, size_t n);
void fd_free(void *p);
char *fd_strdup(const char *s);
char *fd_strndup(const char *s, size_t n);
#define FD_FREE(x)                                                                                 \
    do {                                                                                           \
        fd_free(x);                                                                                \
        (x) = NULL;                                                                                \
    } while (0)

/* Bytes currently allocated through fd_malloc and friends. */
size_t fd_alloc_bytes(void);
/* IANA time zones (tz.c), from the system's zoneinfo (TZDIR or
 * /usr/share/zoneinfo), safe to use from any thread. */
typedef struct fd_tz fd_tz;
/* FD_EINVAL for a malformed or unknown name, FD_EFORMAT for a bad file. */
int fd_tz_load(const char *name, fd_tz **out, fd_err *err) FD_MUST_USE;
/* The same from a TZif file's bytes (tests, fuzzing). */
int fd_tz_parse(const unsigned char *b, size_t len, fd_tz **out, fd_err *err) FD_MUST_USE;
void fd_tz_free(fd_tz *tz);
/* Seconds east of UTC in force at utc (unix seconds). */
int fd_tz_offset_s(const fd_tz *tz, int64_t utc);

/* Hands free heap pages back to the system (glibc's malloc_trim; nothing
 * elsewhere). For after a large structure is freed (a reload). */
void fd_mem_trim(void);
/* The C library's heap over all its arenas (glibc's mallinfo2), for
 * telling growth of what the program holds (in_use: every library's
 * allocations, not only fd_malloc's) from memory the allocator keeps free
 * inside its arenas (free: fragmentation and unreturned tops). Fills zeros
 * and returns FD_EUNAVAIL where the C library cannot say (not glibc 2.33+).
 * Takes each arena's lock: for /metrics and soaks, not for a hot path. */
typedef struct {
    size_t in_use;  /* allocated and not yet freed, arenas and mmapped blocks */
    size_t free;    /* free bytes kept inside the arenas */
    size_t mmapped; /* large blocks served by mmap (part of in_use) */
} fd_heap_stats;
int fd_heap_stats_now(fd_heap_stats *out) FD_MUST_USE;
/* Caps the C library's heap arenas at n (glibc's M_ARENA_MAX), for a
 * long-running server: by default glibc gives threads up to eight arenas
 * per core, and the request threads' churn leaves each one's free pages
 * scattered (bench/RESULTS.md, "The heap's growth was glibc's arenas").
 * MALLOC_ARENA_MAX (or glibc.malloc.arena_max in GLIBC_TUNABLES) in the
 * environment wins. Call before threads start. Returns the cap in force,
 * or 0 where it is the C library's default or cannot be set. */
int fd_mem_limit_arenas(int n);
/* Serves every block of at least `bytes` with its own mmap (glibc's
 * M_MMAP_THRESHOLD), freed back to the system at once. glibc's own
 * threshold rises to the size of the largest mmapped block freed (up to
 * 32 MB), so after the first reload the next assistant's large tables came
 * from the arenas, and each reload left 2-7 MB more free bytes in them
 * (the hour's soak, bench/RESULTS.md). MALLOC_MMAP_THRESHOLD_ (or
 * glibc.malloc.mmap_threshold in GLIBC_TUNABLES) wins. Returns 1 when set. */
int fd_mem_fix_mmap_threshold(size_t bytes);
/* Tests: the n-th allocation from now (1-based) and all after it fail until
 * fd_alloc_fail_at(0). fd_alloc_failures() counts failures since arming. */
void fd_alloc_fail_at(long n);
long fd_alloc_failures(void);

/* ---- arenas: per-request memory, freed at once ------------------------- */

typedef struct fd_arena fd_arena;

/* cap: total bytes the arena may hand out (0 = 64 MiB). */
fd_arena *fd_arena_new(size_t cap);
void fd_arena_free(fd_arena *a);
/* NULL when out of memory or past the cap (check fd_arena_full()). */
void *fd_arena_alloc(fd_arena *a, size_t n);
void *fd_arena_calloc(fd_arena *a, size_t n, size_t size);
char *fd_arena_strndup(fd_arena *a, const char *p, size_t n);
char *fd_arena_printf(fd_arena *a, const char *fmt, ...) FD_PRINTF(2, 3);
/* Keeps the first block, frees the rest. */
void fd_arena_reset(fd_arena *a);
size_t fd_arena_used(const fd_arena *a);
int fd_arena_full(const fd_arena *a); /* last failure was the cap */

/* ---- growable byte buffer with a cap ----------------------------------- */

typedef struct fd_buf {
    char *p; /* NUL-terminated when len > 0 */
    size_t len;
    size_t cap; /* allocated */
    size_t max; /* FD_ETOOBIG past this; 0 = 1 GiB */
} fd_buf;

void fd_buf_init(fd_buf *b, size_t max);
int fd_buf_append(fd_buf *b, const void *p, size_t n) FD_MUST_USE;
int fd_buf_putc(fd_buf *b, char c) FD_MUST_USE;
int fd_buf_printf(fd_buf *b, const char *fmt, ...) FD_PRINTF(2, 3) FD_MUST_USE;
int fd_buf_vprintf(fd_buf *b, const char *fmt, va_list ap) FD_MUST_USE;
/* Appends s as a JSON string literal, quotes included: '<' '>' '&' and
 * controls as \u00XX, each byte of ill-formed UTF-8 as \ufffd. */
int fd_buf_json_str(fd_buf *b, const char *p, size_t n) FD_MUST_USE;
/* Appends an amount in minor units as a JSON decimal with two places:
 * -3600 -> -36.00 (orders, quotes, invoices). */
int fd_buf_minor(fd_buf *b, int64_t minor) FD_MUST_USE;
/* Hands the bytes to the caller (free with fd_free); b is empty after. */
char *fd_buf_take(fd_buf *b);
void fd_buf_reset(fd_buf *b);
void fd_buf_free(fd_buf *b);

/* Reads a whole file (cap: max bytes, 0 = 1 GiB). *out is fd_free'd by the caller. */
int fd_file_read(const char *path, size_t max, char **out, size_t *len, fd_err *err) FD_MUST_USE;
/* Writes a whole file so that readers see the old one or the new one, never
 * half of it: a temporary beside it, fsync'd, renamed over path. */
int fd_file_write_atomic(const char *path, const void *p, size_t len, fd_err *err) FD_MUST_USE;
/* mkdir -p */
int fd_mkdirs(const char *path, fd_err *err) FD_MUST_USE;

/* ---- TOML (a subset) ----------------------------------------------------- */
struct json_t;
/* Parses TOML text into a new jansson object (json_decref it): tables,
 * dotted keys, strings, numbers, booleans, arrays. Anything outside the
 * subset is FD_EFORMAT with the line, never a silent misread. */
int fd_toml_parse(const char *text, size_t len, struct json_t **out, fd_err *err) FD_MUST_USE;

/* ---- logging ----------------------------------------------------------- */

typedef enum fd_log_level {
    FD_LOG_DEBUG = 0,
    FD_LOG_INFO,
    FD_LOG_WARN,
    FD_LOG_ERROR,
    FD_LOG_OFF
} fd_log_level;

typedef struct fd_log fd_log;

/* json: 1 for one JSON object per line, 0 for text. out NULL = stderr. */
fd_log *fd_log_new(fd_log_level level, int json, FILE *out);
void fd_log_free(fd_log *log);
int fd_log_enabled(const fd_log *log, fd_log_level level); /* NULL log: no */
void fd_log_write(fd_log *log, fd_log_level level, const char *module, const char *fmt, ...)
    FD_PRINTF(4, 5);
int fd_log_level_parse(const char *s, fd_log_level *out);
/* Checks the level before formatting anything. */
/* A structured line: fields is JSON members ("k":v,...) the caller built
 * and escaped; with log.format=json they join ts, level and module in one
 * object, in text they follow the module as {...}. */
void fd_log_fields(fd_log *log, fd_log_level level, const char *module, const char *fields);

#define FD_LOG(log, level, module, ...)                                                            \
    do {                                                                                           \
        if (fd_log_enabled((log), (level)))                                                        \
            fd_log_write((log), (level), (module), __VA_ARGS__);                                   \
    } while (0)

/* ---- time and hashing -------------------------------------------------- */

uint64_t fd_time_ns(void); /* monotonic */
/* CPU time the calling thread has used: what a piece of work costs apart
 * from waiting (for a disk, a lock, the other threads on the cores). */
uint64_t fd_thread_cpu_ns(void);
double fd_time_wall(void); /* seconds since the epoch */
uint64_t fd_hash64(const void *p, size_t len, uint64_t seed);
/* SHA-256 of the bytes as 64 lower-case hex characters plus NUL. */
void fd_sha256_hex(const void *p, size_t len, char out[65]);
/* qsort comparator for doubles, ascending (latency percentiles). */
int fd_cmp_double(const void *a, const void *b);

/* Peak resident set size of this process in bytes (0 if unknown). */
size_t fd_rss_peak(void);
size_t fd_rss_now(void);

/* ---- fault points ------------------------------------------------------ */

/* FD_FAULT("store.commit") is true when the test environment armed it:
 * FRONTDESK_FAULTS=name[:n][,name...] fails the n-th hit (default: every
 * hit). Compiled to 0 outside FD_TESTING builds. */
#ifdef FD_TESTING
int fd_fault_hit(const char *name);
#define FD_FAULT(name) fd_fault_hit(name)
#else
#define FD_FAULT(name) 0
#endif

/* ---- configuration ----------------------------------------------------- */

/* Every key is declared once in config.c's table (name, env variable, type,
 * default, bounds, doc); parsing, validation, help and the sample file all
 * come from it. Precedence: default < file < FRONTDESK_* env < CLI flag. */
typedef struct fd_config {
    char data_dir[512];        /* data_dir: store, index snapshot */
    char store_url[512];       /* store.url: postgres://... ("" = SQLite in data_dir) */
    int store_busy_timeout_ms; /* store.busy_timeout_ms: wait for a locked store, then 503 */
    char store_synchronous[8]; /* store.synchronous: normal | full */
    int store_redact_pii;      /* store.redact_pii: stored messages without emails, phones, cards */
    /* accounting.*: where confirmed orders' invoices go (a Xero-shaped API);
     * no url = invoices wait in the outbox */
    char acct_url[512];           /* accounting.url: https://api.xero.com */
    char acct_token_url[512];     /* accounting.token_url */
    char acct_client_id[256];     /* accounting.client_id */
    char acct_client_secret[256]; /* accounting.client_secret (secret) */
    char acct_tenant_id[128];     /* accounting.tenant_id: the xero-tenant-id header */
    char acct_key_file[512];      /* accounting.key_file: encrypts the refresh token at rest */
    int acct_max_attempts;        /* accounting.max_attempts: then dead letter */
    int acct_retry_base_ms;       /* accounting.retry_base_ms: first backoff */
    int acct_rate_per_min;        /* accounting.rate_per_min: calls per minute we allow ourselves */
    int acct_timeout_ms;          /* accounting.timeout_ms: one call's deadline */
    char webhooks_url[512];       /* webhooks.url: order and handoff events; empty: none */
    char webhooks_secret[256];    /* webhooks.secret: HMAC-SHA256 key of the signature */
    int retention_turns_days;     /* retention.*: days kept, 0 = forever */
    int retention_events_days;
    int retention_costs_days;
    char log_level[16];      /* log.level: debug|info|warn|error */
    char log_format[16];     /* log.format: text|json */
    double bm25_k1;          /* index.k1 */
    double bm25_b;           /* index.b */
    int dense_dim;           /* index.dense_dim: LSA dimensions, 0 = no dense */
    int hnsw_min_chunks;     /* index.hnsw_min_chunks: HNSW above this many */
    int quantize;            /* index.quantize: int8 vectors */
    int share_snapshots;     /* index.share_snapshots: through the store (PostgreSQL) */
    int chunk_max_words;     /* chunk.max_words */
    int chunk_overlap_words; /* chunk.overlap_words */
    int search_k;            /* search.k */
    char search_mode[16];    /* search.mode: bm25|dense|hybrid */
    double dense_weight;     /* search.dense_weight: weight of dense in fusion */
    int rrf_k;               /* search.rrf_k: reciprocal-rank constant */
    char fusion[16];         /* search.fusion: weighted|rrf */
    /* llm.*: an OpenAI-compatible chat server; no base_url = no LLM */
    char llm_base_url[512];     /* llm.base_url, e.g. http://127.0.0.1:11434/v1 */
    char llm_model[128];        /* llm.model */
    char llm_api_key[512];      /* llm.api_key (secret: env or file only) */
    char llm_api_key_file[512]; /* llm.api_key_file */
    int llm_connect_timeout_ms; /* llm.connect_timeout_ms */
    int llm_first_token_ms;     /* llm.first_token_timeout_ms */
    int llm_total_ms;           /* llm.total_timeout_ms */
    int llm_max_retries;        /* llm.max_retries */
    int llm_backoff_ms;         /* llm.backoff_ms: first retry delay (jittered, doubling) */
    int llm_breaker_failures;   /* llm.breaker_failures: consecutive failures that open it */
    int llm_breaker_open_ms;    /* llm.breaker_open_ms: open time before a trial call */
    int llm_max_inflight;       /* llm.max_inflight */
    int llm_queue_max;          /* llm.queue_max: calls waiting for a slot; more are refused */
    int llm_queue_timeout_ms;   /* llm.queue_timeout_ms: longest wait for a slot */
    int llm_max_tokens;         /* llm.max_tokens */
    int llm_ask_on_decline;     /* llm.ask_on_decline: the LLM reads what the composer declined */
    double llm_temperature;     /* llm.temperature */
    char llm_prices[1024];      /* llm.prices: "model=in/out;..." USD per 1M tokens */
    /* guard.* */
    int guard_max_chars;    /* guard.max_chars */
    double guard_threshold; /* guard.threshold: attack score that flags */
    /* dialog.* */
    int dialog_history_turns;      /* dialog.history_turns: turns fed to retrieval and the LLM */
    int dialog_tz_offset_min;      /* dialog.tz_offset_min: local time zone for dates */
    char dialog_now[32];           /* dialog.now: "YYYY-MM-DDTHH:MM" local; "": the clock (tests) */
    double answer_min_support;     /* answer.min_support: coverage floor (0: off) */
    double answer_min_confidence;  /* answer.min_confidence: the answerability gate */
    int answer_normalize;          /* answer.normalize: customer spelling -> the KB's */
    char answer_wordlists[512];    /* answer.wordlists: real words, never "corrected" */
    char answer_wordnet[512];      /* answer.wordnet: English synonyms */
    char answer_thesaurus_fr[512]; /* answer.thesaurus_fr: French synonyms (mythes) */
    /* server.* */
    char server_bind[64];        /* server.bind */
    int server_port;             /* server.port */
    int server_threads;          /* server.threads: 0 = cores */
    int server_malloc_arenas;    /* server.malloc_arenas: 0 = one per core */
    int server_max_connections;  /* server.max_connections */
    int server_max_conns_per_ip; /* server.max_connections_per_ip: 0 = no cap */
    int server_max_body;         /* server.max_body_bytes */
    int server_max_upload;       /* server.max_upload_bytes: POST /v1/documents body cap */
    int server_max_attachment;   /* server.max_attachment_bytes: a customer's image */
    int server_drain_ms;         /* server.drain_ms: SIGTERM waits this long for requests */
    char server_cors[1024];      /* server.cors_origins: comma-separated allowlist */
    int server_widget;           /* server.widget_mode: no key, origin allowlist, per-IP limits */
    char widget_name[128];       /* widget.name: the chat's title ("": the KB's company name) */
    char widget_color[16];       /* widget.color: #rgb or #rrggbb */
    char widget_welcome[512];    /* widget.welcome: the first bubble ("": the greeting) */
    char answer_source_url[512]; /* answer.source_url: a cited document's public page */
    int server_protect_metrics;  /* server.protect_metrics: /metrics, /readyz need a key */
    int server_require_key;      /* server.require_key */
    /* auth.jwt_*: end-user tokens (X-User-Token); no secret and no key file = off */
    char auth_jwt_hs256_secret[512]; /* auth.jwt_hs256_secret (secret: env or file only) */
    char auth_jwt_rs256_key[512];    /* auth.jwt_rs256_public_key_file: PEM, read at start */
    char auth_jwt_issuer[256];       /* auth.jwt_issuer: required iss when set */
    char auth_jwt_audience[256];     /* auth.jwt_audience: required aud when set */
    int auth_jwt_required;           /* auth.jwt_required: chat without a valid token is 401 */
    double auth_agent_session_hours; /* auth.agent_session_hours: an agent's sign-in lasts */
    /* cache.*: answer caches (src/cache) */
    int cache_enabled;          /* cache.enabled: every layer */
    int cache_exact;            /* cache.exact */
    int cache_semantic;         /* cache.semantic */
    int cache_retrieval;        /* cache.retrieval */
    int cache_llm;              /* cache.llm */
    int cache_max_bytes;        /* cache.max_bytes: local budget over all layers */
    int cache_ttl_s;            /* cache.ttl_s */
    double cache_semantic_min;  /* cache.semantic_min_similarity */
    int cache_flight_wait_ms;   /* cache.flight_wait_ms: a follower waits this long */
    char cache_redis_url[512];  /* cache.redis_url: redis://host:port[/db]; empty: local only */
    int cache_redis_timeout_ms; /* cache.redis_timeout_ms: connect and command deadline */
    int cache_redis_retry_ms;   /* cache.redis_retry_ms: reconnect interval after a failure */
    /* limits.* (per minute; 0 = unlimited) */
    double limit_key_per_min;     /* limits.key_per_min */
    double limit_ip_per_min;      /* limits.ip_per_min */
    double limit_session_per_min; /* limits.session_per_min */
    double limit_global_per_min;  /* limits.global_per_min */
    double limit_login_per_min;   /* limits.login_per_min: sign-ins per IP and per agent name */
} fd_config;

void fd_config_defaults(fd_config *cfg);
/* Defaults, then path (NULL: ./frontdesk.toml or ./frontdesk.json if
 * present; a path given but missing is an error), then the environment. */
int fd_config_load(fd_config *cfg, const char *path, fd_err *err) FD_MUST_USE;
/* Sets one key by its file name ("index.k1") from text, as a CLI flag would. */
int fd_config_set(fd_config *cfg, const char *key, const char *value, fd_err *err) FD_MUST_USE;
/* Writes a commented sample frontdesk.toml with every key and its default. */
void fd_config_write_sample(FILE *out);
/* Writes "key = value" for every key, secrets as ***. */
void fd_config_dump(const fd_config *cfg, FILE *out);
/* Where the store is: store.url when set, else data_dir/frontdesk.db. */
void fd_config_store_path(const fd_config *cfg, char *out, size_t n);
/* The same, for messages: a URL's password replaced by "***". */
void fd_config_store_shown(const fd_config *cfg, char *out, size_t n);
/* Any URL or path so, for messages ("postgresql://u:***@host/db"). */
void fd_url_shown(const char *url, char *out, size_t n);
/* "#rgb" or "#rrggbb" (widget.color; it reaches a stylesheet). */
int fd_config_color_ok(const char *c);

#endif
