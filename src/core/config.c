/* config.c: every configuration key declared once (Redis config.c style).
 * Files are a TOML subset ([section], key = "string" | number | true/false,
 * # comments) or JSON ({"section": {"key": value}}); env FRONTDESK_SECTION_KEY
 * overrides either. */
#include "core.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef enum { T_STR, T_INT, T_DBL, T_BOOL } key_type;

typedef struct key_def {
    const char *name; /* "index.k1" */
    const char *env;  /* "FRONTDESK_INDEX_K1" */
    key_type type;
    size_t off;
    size_t size; /* T_STR: buffer size */
    const char *def;
    double min, max;
    const char *choices; /* T_STR: "a|b|c" or NULL */
    const char *doc;
    int secret; /* never printed by dump or sample */
} key_def;

#define OFF(f) offsetof(fd_config, f)
#define SZ(f) sizeof(((fd_config *)0)->f)

static const key_def keys[] = {
    {"data_dir", "FRONTDESK_DATA_DIR", T_STR, OFF(data_dir), SZ(data_dir), "./var", 0, 0, NULL,
     "where the store and the index snapshot live"},
    {"store.url", "FRONTDESK_STORE_URL", T_STR, OFF(store_url), SZ(store_url), "", 0, 0, NULL,
     "postgres://user:password@host:port/db: the store on PostgreSQL, shared by every replica "
     "(empty: the SQLite file data_dir/frontdesk.db)",
     1},
    {"store.busy_timeout_ms", "FRONTDESK_STORE_BUSY_TIMEOUT_MS", T_INT, OFF(store_busy_timeout_ms),
     0, "5000", 0, 600000, NULL,
     "how long a write waits for another process's lock on the store before giving up (503)"},
    {"retention.turns_days", "FRONTDESK_RETENTION_TURNS_DAYS", T_INT, OFF(retention_turns_days), 0,
     "0", 0, 36500, NULL,
     "conversations idle this many days are deleted with their turns (0: kept); the server "
     "applies it at start and hourly"},
    {"retention.events_days", "FRONTDESK_RETENTION_EVENTS_DAYS", T_INT, OFF(retention_events_days),
     0, "0", 0, 36500, NULL, "analytics events older than this are deleted (0: kept)"},
    {"retention.costs_days", "FRONTDESK_RETENTION_COSTS_DAYS", T_INT, OFF(retention_costs_days), 0,
     "0", 0, 36500, NULL, "cost ledger rows older than this are deleted (0: kept)"},
    {"accounting.url", "FRONTDESK_ACCOUNTING_URL", T_STR, OFF(acct_url), SZ(acct_url), "", 0, 0,
     NULL, "accounting API base (Xero: https://api.xero.com); empty: invoices wait in the outbox"},
    {"accounting.token_url", "FRONTDESK_ACCOUNTING_TOKEN_URL", T_STR, OFF(acct_token_url),
     SZ(acct_token_url), "https://identity.xero.com/connect/token", 0, 0, NULL,
     "OAuth2 token endpoint (authorization code and refresh)"},
    {"accounting.client_id", "FRONTDESK_ACCOUNTING_CLIENT_ID", T_STR, OFF(acct_client_id),
     SZ(acct_client_id), "", 0, 0, NULL, "OAuth2 client id of the app"},
    {"accounting.client_secret", "FRONTDESK_ACCOUNTING_CLIENT_SECRET", T_STR,
     OFF(acct_client_secret), SZ(acct_client_secret), "", 0, 0, NULL, "OAuth2 client secret", 1},
    {"accounting.tenant_id", "FRONTDESK_ACCOUNTING_TENANT_ID", T_STR, OFF(acct_tenant_id),
     SZ(acct_tenant_id), "", 0, 0, NULL, "the organisation (xero-tenant-id header)"},
    {"accounting.key_file", "FRONTDESK_ACCOUNTING_KEY_FILE", T_STR, OFF(acct_key_file),
     SZ(acct_key_file), "", 0, 0, NULL,
     "32-byte key encrypting the stored refresh token (empty: data_dir/accounting.key, made 0600)"},
    {"accounting.max_attempts", "FRONTDESK_ACCOUNTING_MAX_ATTEMPTS", T_INT, OFF(acct_max_attempts),
     0, "10", 1, 1000, NULL, "delivery attempts before an invoice is dead-lettered"},
    {"accounting.retry_base_ms", "FRONTDESK_ACCOUNTING_RETRY_BASE_MS", T_INT,
     OFF(acct_retry_base_ms), 0, "2000", 1, 3600000, NULL,
     "first retry delay (doubling, jittered, at most an hour)"},
    {"accounting.rate_per_min", "FRONTDESK_ACCOUNTING_RATE_PER_MIN", T_INT, OFF(acct_rate_per_min),
     0, "60", 1, 100000, NULL, "API calls per minute at most (Xero: 60 per organisation)"},
    {"accounting.timeout_ms", "FRONTDESK_ACCOUNTING_TIMEOUT_MS", T_INT, OFF(acct_timeout_ms), 0,
     "10000", 100, 600000, NULL, "deadline of one API call"},
    {"webhooks.url", "FRONTDESK_WEBHOOKS_URL", T_STR, OFF(webhooks_url), SZ(webhooks_url), "", 0, 0,
     NULL,
     "POSTed order.created, order.cancelled, order.invoiced, order.failed and handoff.opened "
     "events, signed (empty: none)"},
    {"webhooks.secret", "FRONTDESK_WEBHOOKS_SECRET", T_STR, OFF(webhooks_secret),
     SZ(webhooks_secret), "", 0, 0, NULL,
     "key of X-Frontdesk-Signature: sha256=HMAC(secret, timestamp.body)", 1},
    {"store.redact_pii", "FRONTDESK_STORE_REDACT_PII", T_BOOL, OFF(store_redact_pii), 0, "false", 0,
     1, NULL,
     "store customers' messages with emails, phone and card numbers replaced by [redacted] "
     "(the handoff summary an operator reads keeps them)"},
    {"store.synchronous", "FRONTDESK_STORE_SYNCHRONOUS", T_STR, OFF(store_synchronous),
     SZ(store_synchronous), "normal", 0, 0, "normal|full",
     "normal: durable across crashes, the last commits can be lost on power loss; full: every "
     "acknowledged write survives power loss too (an fsync per commit)"},
    {"log.level", "FRONTDESK_LOG_LEVEL", T_STR, OFF(log_level), SZ(log_level), "info", 0, 0,
     "debug|info|warn|error|off", "least severe level written"},
    {"log.format", "FRONTDESK_LOG_FORMAT", T_STR, OFF(log_format), SZ(log_format), "text", 0, 0,
     "text|json", "text for people, json for log collectors"},
    {"index.k1", "FRONTDESK_INDEX_K1", T_DBL, OFF(bm25_k1), 0, "0.9", 0, 10, NULL,
     "BM25 term-frequency saturation"},
    {"index.b", "FRONTDESK_INDEX_B", T_DBL, OFF(bm25_b), 0, "0.4", 0, 1, NULL,
     "BM25 length normalization"},
    {"index.dense_dim", "FRONTDESK_INDEX_DENSE_DIM", T_INT, OFF(dense_dim), 0, "128", 0, 1024, NULL,
     "dimensions of the built-in LSA embedder (0 turns dense retrieval off)"},
    {"index.hnsw_min_chunks", "FRONTDESK_INDEX_HNSW_MIN_CHUNKS", T_INT, OFF(hnsw_min_chunks), 0,
     "200000", 0, 1e9, NULL,
     "build an HNSW graph above this size (exact int8 search is faster to build and < 3 ms at "
     "100k)"},
    {"index.quantize", "FRONTDESK_INDEX_QUANTIZE", T_BOOL, OFF(quantize), 0, "true", 0, 1, NULL,
     "store vectors as int8 (4x smaller, recall barely changes)"},
    {"index.share_snapshots", "FRONTDESK_INDEX_SHARE_SNAPSHOTS", T_BOOL, OFF(share_snapshots), 0,
     "true", 0, 1, NULL,
     "with store.url: keep each index snapshot in PostgreSQL so that other replicas fetch it "
     "instead of building their own (false: every replica builds)"},
    {"chunk.max_words", "FRONTDESK_CHUNK_MAX_WORDS", T_INT, OFF(chunk_max_words), 0, "180", 20,
     5000, NULL, "largest chunk, in words"},
    {"chunk.overlap_words", "FRONTDESK_CHUNK_OVERLAP_WORDS", T_INT, OFF(chunk_overlap_words), 0,
     "30", 0, 1000, NULL, "words repeated between consecutive chunks of a long section"},
    {"search.k", "FRONTDESK_SEARCH_K", T_INT, OFF(search_k), 0, "5", 1, 1000, NULL,
     "results returned by default"},
    {"search.mode", "FRONTDESK_SEARCH_MODE", T_STR, OFF(search_mode), SZ(search_mode), "hybrid", 0,
     0, "bm25|dense|hybrid", "default retrieval mode"},
    {"search.dense_weight", "FRONTDESK_SEARCH_DENSE_WEIGHT", T_DBL, OFF(dense_weight), 0, "0.2", 0,
     1, NULL, "weight of the dense ranking in hybrid fusion (BM25 gets the rest)"},
    {"search.rrf_k", "FRONTDESK_SEARCH_RRF_K", T_INT, OFF(rrf_k), 0, "60", 1, 1000, NULL,
     "reciprocal-rank-fusion constant"},
    {"search.fusion", "FRONTDESK_SEARCH_FUSION", T_STR, OFF(fusion), SZ(fusion), "weighted", 0, 0,
     "weighted|rrf",
     "hybrid fusion: weighted max-normalized scores, or reciprocal rank (equal say)"},
    {"llm.base_url", "FRONTDESK_LLM_BASE_URL", T_STR, OFF(llm_base_url), SZ(llm_base_url), "", 0, 0,
     NULL, "OpenAI-compatible API root (e.g. http://127.0.0.1:11434/v1); empty: no LLM"},
    {"llm.model", "FRONTDESK_LLM_MODEL", T_STR, OFF(llm_model), SZ(llm_model), "", 0, 0, NULL,
     "model name sent to the LLM server"},
    {"llm.api_key", "FRONTDESK_LLM_API_KEY", T_STR, OFF(llm_api_key), SZ(llm_api_key), "", 0, 0,
     NULL, "bearer token (prefer the environment or api_key_file)", 1},
    {"llm.api_key_file", "FRONTDESK_LLM_API_KEY_FILE", T_STR, OFF(llm_api_key_file),
     SZ(llm_api_key_file), "", 0, 0, NULL, "file holding the bearer token"},
    {"llm.connect_timeout_ms", "FRONTDESK_LLM_CONNECT_TIMEOUT_MS", T_INT,
     OFF(llm_connect_timeout_ms), 0, "2000", 1, 600000, NULL, "TCP/TLS connect deadline"},
    {"llm.first_token_timeout_ms", "FRONTDESK_LLM_FIRST_TOKEN_TIMEOUT_MS", T_INT,
     OFF(llm_first_token_ms), 0, "10000", 1, 600000, NULL, "deadline for the first streamed token"},
    {"llm.total_timeout_ms", "FRONTDESK_LLM_TOTAL_TIMEOUT_MS", T_INT, OFF(llm_total_ms), 0, "30000",
     1, 3600000, NULL, "deadline for the whole call, retries included"},
    {"llm.max_retries", "FRONTDESK_LLM_MAX_RETRIES", T_INT, OFF(llm_max_retries), 0, "2", 0, 10,
     NULL, "retries on connect errors, 429 and 5xx before the first token"},
    {"llm.backoff_ms", "FRONTDESK_LLM_BACKOFF_MS", T_INT, OFF(llm_backoff_ms), 0, "200", 0, 60000,
     NULL, "first retry delay (doubles, full jitter; Retry-After wins)"},
    {"llm.breaker_failures", "FRONTDESK_LLM_BREAKER_FAILURES", T_INT, OFF(llm_breaker_failures), 0,
     "5", 1, 1000, NULL, "consecutive failed calls that open the circuit"},
    {"llm.breaker_open_ms", "FRONTDESK_LLM_BREAKER_OPEN_MS", T_INT, OFF(llm_breaker_open_ms), 0,
     "30000", 1, 3600000, NULL, "how long the circuit stays open before one trial call"},
    /* 256, not 64: with 64 slots, 100 clients waiting on a 200 ms LLM
     * queued for slots (Little's law: 64 / 0.2 s = 320 calls/s, so 100
     * clients waited ~310 ms); 256 gave p50 216 ms, 512 no better at 100
     * and a far longer tail when the 2 cores are saturated at 500
     * (bench/RESULTS.md, "The LLM path: slots, not CPU"). */
    {"llm.max_inflight", "FRONTDESK_LLM_MAX_INFLIGHT", T_INT, OFF(llm_max_inflight), 0, "256", 1,
     100000, NULL, "calls in flight at once; more wait in the queue (llm.queue_max)"},
    {"llm.queue_max", "FRONTDESK_LLM_QUEUE_MAX", T_INT, OFF(llm_queue_max), 0, "256", 0, 1000000,
     NULL, "calls waiting for a slot; more are refused (extractive answer, degraded)"},
    {"llm.queue_timeout_ms", "FRONTDESK_LLM_QUEUE_TIMEOUT_MS", T_INT, OFF(llm_queue_timeout_ms), 0,
     "5000", 1, 600000, NULL, "longest wait for a slot; then the extractive answer, degraded"},
    {"llm.ask_on_decline", "FRONTDESK_LLM_ASK_ON_DECLINE", T_BOOL, OFF(llm_ask_on_decline), 0,
     "true", 0, 1, NULL,
     "ask the LLM when the composer declines but a page covers part of the question"},
    {"llm.max_tokens", "FRONTDESK_LLM_MAX_TOKENS", T_INT, OFF(llm_max_tokens), 0, "400", 1, 100000,
     NULL, "completion token cap per answer"},
    {"llm.temperature", "FRONTDESK_LLM_TEMPERATURE", T_DBL, OFF(llm_temperature), 0, "0.2", 0, 2,
     NULL, "sampling temperature"},
    {"llm.prices", "FRONTDESK_LLM_PRICES", T_STR, OFF(llm_prices), SZ(llm_prices),
     "gpt-4o-mini=0.15/0.60;gpt-4o=2.50/10.00;gpt-4.1-mini=0.40/1.60;gpt-4.1=2.00/8.00", 0, 0, NULL,
     "USD per million prompt/completion tokens, \"model=in/out;...\" (unknown model: 0)"},
    {"guard.max_chars", "FRONTDESK_GUARD_MAX_CHARS", T_INT, OFF(guard_max_chars), 0, "2000", 1,
     1000000, NULL, "longest customer message, in characters"},
    {"guard.threshold", "FRONTDESK_GUARD_THRESHOLD", T_DBL, OFF(guard_threshold), 0, "0.5", 0, 1,
     NULL, "attack score at or above which a message is refused"},
    {"dialog.history_turns", "FRONTDESK_DIALOG_HISTORY_TURNS", T_INT, OFF(dialog_history_turns), 0,
     "3", 0, 50, NULL, "previous turns fed to retrieval and the LLM prompt"},
    {"dialog.now", "FRONTDESK_DIALOG_NOW", T_STR, OFF(dialog_now), SZ(dialog_now), "", 0, 0, NULL,
     "the time conversations see, local \"YYYY-MM-DDTHH:MM\" (evaluation and tests; empty: the "
     "clock)"},
    {"dialog.tz_offset_min", "FRONTDESK_DIALOG_TZ_OFFSET_MIN", T_INT, OFF(dialog_tz_offset_min), 0,
     "480", -720, 840, NULL, "local time zone (minutes from UTC) for \"tomorrow\", \"Tuesday\""},
    {"answer.min_confidence", "FRONTDESK_ANSWER_MIN_CONFIDENCE", T_DBL, OFF(answer_min_confidence),
     0, "0.55", 0, 1, NULL,
     "the answerability model's probability below which a question is declined (higher: fewer "
     "wrong answers, more declines; 0.55 declines 87% of unanswerable questions on the "
     "development KBs)"},
    {"answer.min_support", "FRONTDESK_ANSWER_MIN_SUPPORT", T_DBL, OFF(answer_min_support), 0, "0.3",
     0, 1, NULL,
     "also decline when the chosen document covers less than this share of the question's key "
     "terms (0.3 on the development KBs: 1 fewer right, 3 fewer wrong answers than none)"},
    {"answer.normalize", "FRONTDESK_ANSWER_NORMALIZE", T_BOOL, OFF(answer_normalize), 0, "true", 0,
     1, NULL, "chat spellings expanded and typos corrected to the knowledge base's words"},
    {"answer.wordnet", "FRONTDESK_ANSWER_WORDNET", T_STR, OFF(answer_wordnet),
     sizeof(((fd_config *)0)->answer_wordnet), "", 0, 0, NULL,
     "WordNet 3.0 directory (wordnet-base: /usr/share/wordnet) for English synonyms the KB "
     "uses; off by default: +2 right, +2 wrong on the dev KBs, and 'revenue' -> 'receipts' "
     "answered an unanswerable example question"},
    {"answer.thesaurus_fr", "FRONTDESK_ANSWER_THESAURUS_FR", T_STR, OFF(answer_thesaurus_fr),
     sizeof(((fd_config *)0)->answer_thesaurus_fr), "", 0, 0, NULL,
     "French thesaurus (mythes-fr: /usr/share/mythes/thes_fr, without .idx/.dat); off by "
     "default: it cost 2 wrong answers for 0 right on the dev KBs"},
    {"answer.wordlists", "FRONTDESK_ANSWER_WORDLISTS", T_STR, OFF(answer_wordlists),
     sizeof(((fd_config *)0)->answer_wordlists),
     "en=/usr/share/dict/american-english:en=/usr/share/dict/british-english:"
     "fr=/usr/share/dict/french",
     0, 0, NULL,
     "LANG=FILE word lists (':'-separated) of real words, never corrected as typos; none: no "
     "typo fixes"},
    {"cache.enabled", "FRONTDESK_CACHE_ENABLED", T_BOOL, OFF(cache_enabled), 0, "true", 0, 1, NULL,
     "answer caches on (each layer can also be turned off)"},
    {"cache.exact", "FRONTDESK_CACHE_EXACT", T_BOOL, OFF(cache_exact), 0, "true", 0, 1, NULL,
     "normalized message -> answer"},
    {"cache.semantic", "FRONTDESK_CACHE_SEMANTIC", T_BOOL, OFF(cache_semantic), 0, "true", 0, 1,
     NULL, "a close message with the same intent, entities and distinctive words -> answer"},
    {"cache.retrieval", "FRONTDESK_CACHE_RETRIEVAL", T_BOOL, OFF(cache_retrieval), 0, "true", 0, 1,
     NULL, "query -> retrieved passages"},
    {"cache.llm", "FRONTDESK_CACHE_LLM", T_BOOL, OFF(cache_llm), 0, "true", 0, 1, NULL,
     "prompt -> validated LLM completion"},
    {"cache.max_bytes", "FRONTDESK_CACHE_MAX_BYTES", T_INT, OFF(cache_max_bytes), 0, "67108864",
     65536, 2147483647.0, NULL, "local cache budget over all layers (least recently used evicted)"},
    {"cache.ttl_s", "FRONTDESK_CACHE_TTL_S", T_INT, OFF(cache_ttl_s), 0, "3600", 1, 31536000, NULL,
     "how long an entry lives"},
    {"cache.semantic_min_similarity", "FRONTDESK_CACHE_SEMANTIC_MIN_SIMILARITY", T_DBL,
     OFF(cache_semantic_min), 0, "0.80", 0, 1, NULL,
     "cosine of the message embeddings for a semantic hit (within a bucket)"},
    {"cache.flight_wait_ms", "FRONTDESK_CACHE_FLIGHT_WAIT_MS", T_INT, OFF(cache_flight_wait_ms), 0,
     "200", 0, 60000, NULL,
     "an identical message waits this long for the one being answered before answering itself"},
    {"cache.redis_url", "FRONTDESK_CACHE_REDIS_URL", T_STR, OFF(cache_redis_url),
     SZ(cache_redis_url), "", 0, 0, NULL,
     "redis://host:port[/db] shared by replicas (cache, single-flight, rate limits); empty: local"},
    {"cache.redis_timeout_ms", "FRONTDESK_CACHE_REDIS_TIMEOUT_MS", T_INT,
     OFF(cache_redis_timeout_ms), 0, "100", 1, 60000, NULL, "Redis connect and command deadline"},
    {"cache.redis_retry_ms", "FRONTDESK_CACHE_REDIS_RETRY_MS", T_INT, OFF(cache_redis_retry_ms), 0,
     "1000", 1, 600000, NULL, "after a Redis failure, local only for this long, then retry"},
    {"server.bind", "FRONTDESK_SERVER_BIND", T_STR, OFF(server_bind), SZ(server_bind), "127.0.0.1",
     0, 0, NULL, "address to listen on (0.0.0.0 for every interface)"},
    {"server.port", "FRONTDESK_SERVER_PORT", T_INT, OFF(server_port), 0, "8080", 0, 65535, NULL,
     "TCP port (0: any free port, printed at start)"},
    {"server.max_connections", "FRONTDESK_SERVER_MAX_CONNECTIONS", T_INT,
     OFF(server_max_connections), 0, "4096", 16, 1000000, NULL,
     "open connections at most (also capped by the open-file limit, raised to its hard limit "
     "at start, less 64 for the store and logs)"},
    {"server.max_connections_per_ip", "FRONTDESK_SERVER_MAX_CONNECTIONS_PER_IP", T_INT,
     OFF(server_max_conns_per_ip), 0, "0", 0, 1000000, NULL,
     "open connections per client address (0: no cap; set it when clients connect directly, "
     "not through a proxy that shares one address)"},
    {"server.threads", "FRONTDESK_SERVER_THREADS", T_INT, OFF(server_threads), 0, "0", 0, 1024,
     NULL, "HTTP worker threads (0: two per core, eight per core up to 64 with store.url)"},
    {"server.malloc_arenas", "FRONTDESK_SERVER_MALLOC_ARENAS", T_INT, OFF(server_malloc_arenas), 0,
     "0", 0, 1024, NULL,
     "heap arenas of the C library at most (0: one per core; MALLOC_ARENA_MAX in the "
     "environment wins); more arenas fragment the heap of a long-running server"},
    {"server.max_body_bytes", "FRONTDESK_SERVER_MAX_BODY_BYTES", T_INT, OFF(server_max_body), 0,
     "65536", 1024, 1 << 30, NULL, "largest request body (413 above) except document uploads"},
    {"server.max_upload_bytes", "FRONTDESK_SERVER_MAX_UPLOAD_BYTES", T_INT, OFF(server_max_upload),
     0, "8388608", 1024, 1 << 30, NULL, "largest document upload, POST /v1/documents (413 above)"},
    {"server.max_attachment_bytes", "FRONTDESK_SERVER_MAX_ATTACHMENT_BYTES", T_INT,
     OFF(server_max_attachment), 0, "2097152", 1024, 64 << 20, NULL,
     "largest image a customer sends to an agent (413 above)"},
    {"server.drain_ms", "FRONTDESK_SERVER_DRAIN_MS", T_INT, OFF(server_drain_ms), 0, "10000", 0,
     600000, NULL, "on SIGTERM, how long requests in flight may finish"},
    {"server.cors_origins", "FRONTDESK_SERVER_CORS_ORIGINS", T_STR, OFF(server_cors),
     SZ(server_cors), "", 0, 0, NULL, "origins allowed by CORS, comma-separated (empty: none)"},
    {"server.widget_mode", "FRONTDESK_SERVER_WIDGET_MODE", T_BOOL, OFF(server_widget), 0, "false",
     0, 1, NULL, "public chat widget: /v1/chat without a key from allowed origins, per-IP limits"},
    {"widget.name", "FRONTDESK_WIDGET_NAME", T_STR, OFF(widget_name), SZ(widget_name), "", 0, 0,
     NULL,
     "the chat page's title (empty: the company name in the KB's tone.md, else "
     "'Customer service')"},
    {"widget.color", "FRONTDESK_WIDGET_COLOR", T_STR, OFF(widget_color), SZ(widget_color),
     "#2454d6", 0, 0, NULL, "the chat page's accent colour, #rgb or #rrggbb"},
    {"answer.source_url", "FRONTDESK_ANSWER_SOURCE_URL", T_STR, OFF(answer_source_url),
     SZ(answer_source_url), "", 0, 0, NULL,
     "where customers read a cited document, as an http(s) URL with {name} (its file name "
     "without the extension: delivery), {doc} (its key without it: kb/faq/delivery) or {key} "
     "(kb/faq/delivery.md); citations then carry a url and the chat page links them (empty: "
     "no links; catalogue rows never get one)"},
    {"widget.welcome", "FRONTDESK_WIDGET_WELCOME", T_STR, OFF(widget_welcome), SZ(widget_welcome),
     "", 0, 0, NULL,
     "the first message a visitor sees (empty: the assistant's greeting, in the visitor's "
     "language)"},
    {"server.protect_metrics", "FRONTDESK_SERVER_PROTECT_METRICS", T_BOOL,
     OFF(server_protect_metrics), 0, "false", 0, 1, NULL,
     "/metrics and /readyz need an operator or admin key (/healthz stays open)"},
    {"server.require_key", "FRONTDESK_SERVER_REQUIRE_KEY", T_BOOL, OFF(server_require_key), 0,
     "true", 0, 1, NULL, "API keys required (turn off only on a trusted network)"},
    {"auth.jwt_hs256_secret", "FRONTDESK_AUTH_JWT_HS256_SECRET", T_STR, OFF(auth_jwt_hs256_secret),
     SZ(auth_jwt_hs256_secret), "", 0, 0, NULL,
     "HMAC secret for HS256 end-user tokens in X-User-Token (empty: HS256 off)", 1},
    {"auth.jwt_rs256_public_key_file", "FRONTDESK_AUTH_JWT_RS256_PUBLIC_KEY_FILE", T_STR,
     OFF(auth_jwt_rs256_key), SZ(auth_jwt_rs256_key), "", 0, 0, NULL,
     "PEM public key for RS256 end-user tokens, read at start (empty: RS256 off)"},
    {"auth.jwt_issuer", "FRONTDESK_AUTH_JWT_ISSUER", T_STR, OFF(auth_jwt_issuer),
     SZ(auth_jwt_issuer), "", 0, 0, NULL, "iss an end-user token must carry (empty: any)"},
    {"auth.jwt_audience", "FRONTDESK_AUTH_JWT_AUDIENCE", T_STR, OFF(auth_jwt_audience),
     SZ(auth_jwt_audience), "", 0, 0, NULL, "aud an end-user token must carry (empty: any)"},
    {"auth.jwt_required", "FRONTDESK_AUTH_JWT_REQUIRED", T_BOOL, OFF(auth_jwt_required), 0, "false",
     0, 1, NULL, "chat requests without a valid X-User-Token get 401"},
    {"auth.agent_session_hours", "FRONTDESK_AUTH_AGENT_SESSION_HOURS", T_DBL,
     OFF(auth_agent_session_hours), 0, "12", 0.01, 720, NULL,
     "how long an agent's console sign-in lasts, in hours"},
    {"limits.key_per_min", "FRONTDESK_LIMITS_KEY_PER_MIN", T_DBL, OFF(limit_key_per_min), 0, "6000",
     0, 1e9, NULL, "requests per minute per API key (0: unlimited)"},
    {"limits.ip_per_min", "FRONTDESK_LIMITS_IP_PER_MIN", T_DBL, OFF(limit_ip_per_min), 0, "60", 0,
     1e9, NULL, "chat requests per minute per client IP in widget mode"},
    {"limits.session_per_min", "FRONTDESK_LIMITS_SESSION_PER_MIN", T_DBL,
     OFF(limit_session_per_min), 0, "30", 0, 1e9, NULL, "messages per minute per session"},
    {"limits.login_per_min", "FRONTDESK_LIMITS_LOGIN_PER_MIN", T_DBL, OFF(limit_login_per_min), 0,
     "10", 0, 1e9, NULL,
     "agent sign-in attempts per minute per client IP and per agent name (0: unlimited)"},
    {"limits.global_per_min", "FRONTDESK_LIMITS_GLOBAL_PER_MIN", T_DBL, OFF(limit_global_per_min),
     0, "0", 0, 1e9, NULL, "requests per minute for the whole server (0: unlimited)"},
};
#define N_KEYS (sizeof keys / sizeof keys[0])

static const key_def *key_find(const char *name)
{
    for (size_t i = 0; i < N_KEYS; i++)
        if (strcmp(keys[i].name, name) == 0)
            return &keys[i];
    return NULL;
}

static int choice_ok(const char *choices, const char *v)
{
    size_t n = strlen(v);
    const char *p = choices;
    while (*p) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncmp(p, v, n) == 0)
            return 1;
        if (!bar)
            break;
        p = bar + 1;
    }
    return 0;
}

static int key_set(fd_config *cfg, const key_def *k, const char *v, const char *origin, fd_err *err)
{
    char *base = (char *)cfg + k->off;
    char *end = NULL;
    switch (k->type) {
    case T_STR:
        if (strlen(v) >= k->size)
            return fd_err_set_field(err, FD_EINVAL, k->name, "%s: %s is too long (max %zu)", origin,
                                    k->name, k->size - 1);
        if (k->choices && !choice_ok(k->choices, v))
            return fd_err_set_field(err, FD_EINVAL, k->name, "%s: %s must be one of %s, not '%s'",
                                    origin, k->name, k->choices, v);
        memcpy(base, v, strlen(v) + 1);
        return FD_OK;
    case T_INT:
    case T_DBL: {
        errno = 0;
        double d = strtod(v, &end);
        if (end == v || *end || errno || !isfinite(d))
            return fd_err_set_field(err, FD_EINVAL, k->name, "%s: %s must be a number, not '%s'",
                                    origin, k->name, v);
        if (k->type == T_INT && d != floor(d))
            return fd_err_set_field(err, FD_EINVAL, k->name, "%s: %s must be an integer", origin,
                                    k->name);
        if (d < k->min || d > k->max)
            return fd_err_set_field(err, FD_EINVAL, k->name, "%s: %s must be in [%g, %g], not %g",
                                    origin, k->name, k->min, k->max, d);
        if (k->type == T_INT)
            *(int *)base = (int)d;
        else
            *(double *)base = d;
        return FD_OK;
    }
    case T_BOOL:
        if (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes") || !strcmp(v, "on"))
            *(int *)base = 1;
        else if (!strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "no") || !strcmp(v, "off"))
            *(int *)base = 0;
        else
            return fd_err_set_field(err, FD_EINVAL, k->name, "%s: %s must be true or false", origin,
                                    k->name);
        return FD_OK;
    }
    return FD_EINTERNAL;
}

void fd_config_defaults(fd_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    for (size_t i = 0; i < N_KEYS; i++) {
        int rc = key_set(cfg, &keys[i], keys[i].def, "default", NULL);
        (void)rc; /* defaults are checked by the config unit test */
    }
}

int fd_config_set(fd_config *cfg, const char *key, const char *value, fd_err *err)
{
    const key_def *k = key_find(key);
    if (!k)
        return fd_err_set_field(err, FD_EINVAL, key, "unknown configuration key '%s'", key);
    return key_set(cfg, k, value, "option", err);
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

static int load_toml(fd_config *cfg, const char *path, char *text, fd_err *err)
{
    char section[64] = "";
    int lineno = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        lineno++;
        char origin[600];
        snprintf(origin, sizeof origin, "%s:%d", path, lineno);
        char *s = trim(line);
        if (*s == '#' || *s == '\0')
            continue;
        if (*s == '[') {
            char *close = strchr(s, ']');
            if (!close || close - s - 1 >= (long)sizeof section)
                return fd_err_set(err, FD_EINVAL, "%s: bad section header", origin);
            *close = '\0';
            snprintf(section, sizeof section, "%s", trim(s + 1));
            continue;
        }
        char *eq = strchr(s, '=');
        if (!eq)
            return fd_err_set(err, FD_EINVAL, "%s: expected key = value", origin);
        *eq = '\0';
        char *name = trim(s), *val = trim(eq + 1);
        if (*val == '"') {
            char *q = strchr(val + 1, '"');
            if (!q)
                return fd_err_set(err, FD_EINVAL, "%s: unterminated string", origin);
            *q = '\0';
            val++;
        } else {
            char *hash = strchr(val, '#');
            if (hash)
                *hash = '\0';
            val = trim(val);
        }
        char full[160];
        snprintf(full, sizeof full, "%s%s%s", section, *section ? "." : "", name);
        const key_def *k = key_find(full);
        if (!k)
            return fd_err_set_field(err, FD_EINVAL, full, "%s: unknown key '%s'", origin, full);
        int rc = key_set(cfg, k, val, origin, err);
        if (rc)
            return rc;
    }
    return FD_OK;
}

static int load_json_obj(fd_config *cfg, const char *path, json_t *obj, const char *prefix,
                         fd_err *err)
{
    const char *name;
    json_t *v;
    json_object_foreach(obj, name, v)
    {
        char full[160];
        snprintf(full, sizeof full, "%s%s%s", prefix, *prefix ? "." : "", name);
        if (json_is_object(v)) {
            int rc = load_json_obj(cfg, path, v, full, err);
            if (rc)
                return rc;
            continue;
        }
        const key_def *k = key_find(full);
        if (!k)
            return fd_err_set_field(err, FD_EINVAL, full, "%s: unknown key '%s'", path, full);
        char tmp[600];
        if (json_is_string(v))
            snprintf(tmp, sizeof tmp, "%s", json_string_value(v));
        else if (json_is_integer(v))
            snprintf(tmp, sizeof tmp, "%lld", (long long)json_integer_value(v));
        else if (json_is_real(v))
            snprintf(tmp, sizeof tmp, "%.17g", json_real_value(v));
        else if (json_is_boolean(v))
            snprintf(tmp, sizeof tmp, "%s", json_is_true(v) ? "true" : "false");
        else
            return fd_err_set_field(err, FD_EINVAL, full, "%s: %s has an unsupported type", path,
                                    full);
        int rc = key_set(cfg, k, tmp, path, err);
        if (rc)
            return rc;
    }
    return FD_OK;
}

static int load_file(fd_config *cfg, const char *path, fd_err *err)
{
    char *text = NULL;
    size_t len = 0;
    int rc = fd_file_read(path, 1 << 20, &text, &len, err);
    if (rc)
        return rc;
    size_t plen = strlen(path);
    if (plen > 5 && strcmp(path + plen - 5, ".json") == 0) {
        json_error_t je;
        json_t *root = json_loadb(text, len, 0, &je);
        if (!root || !json_is_object(root)) {
            rc = fd_err_set(err, FD_EINVAL, "%s:%d: %s", path, je.line,
                            root ? "top level must be an object" : je.text);
        } else {
            rc = load_json_obj(cfg, path, root, "", err);
        }
        json_decref(root);
    } else {
        rc = load_toml(cfg, path, text, err);
    }
    fd_free(text);
    return rc;
}

int fd_config_load(fd_config *cfg, const char *path, fd_err *err)
{
    fd_config_defaults(cfg);
    int rc = FD_OK;
    struct stat st;
    if (path) {
        rc = load_file(cfg, path, err);
    } else if (stat("frontdesk.toml", &st) == 0) {
        rc = load_file(cfg, "frontdesk.toml", err);
    } else if (stat("frontdesk.json", &st) == 0) {
        rc = load_file(cfg, "frontdesk.json", err);
    }
    for (size_t i = 0; i < N_KEYS && !rc; i++) {
        const char *v = getenv(keys[i].env);
        if (v)
            rc = key_set(cfg, &keys[i], v, keys[i].env, err);
    }
    if (!rc && cfg->store_url[0] && strncmp(cfg->store_url, "postgres://", 11) != 0 &&
        strncmp(cfg->store_url, "postgresql://", 13) != 0)
        rc = fd_err_set_field(err, FD_EINVAL, "store.url",
                              "store.url must be a postgres:// or postgresql:// URL (or empty "
                              "for the SQLite file in data_dir)");
    if (!rc && cfg->answer_source_url[0] &&
        ((strncmp(cfg->answer_source_url, "https://", 8) != 0 &&
          strncmp(cfg->answer_source_url, "http://", 7) != 0) ||
         (!strstr(cfg->answer_source_url, "{doc}") && !strstr(cfg->answer_source_url, "{key}") &&
          !strstr(cfg->answer_source_url, "{name}"))))
        rc = fd_err_set_field(err, FD_EINVAL, "answer.source_url",
                              "answer.source_url must be an http:// or https:// URL holding "
                              "{name}, {doc} or {key} (got '%s')",
                              cfg->answer_source_url);
    if (!rc && !fd_config_color_ok(cfg->widget_color))
        rc = fd_err_set_field(err, FD_EINVAL, "widget.color",
                              "widget.color must be #rgb or #rrggbb (got '%s')", cfg->widget_color);
    return rc;
}

int fd_config_color_ok(const char *c)
{
    size_t n = c ? strlen(c) : 0;
    if ((n != 4 && n != 7) || c[0] != '#')
        return 0;
    for (size_t i = 1; i < n; i++)
        if (!isxdigit((unsigned char)c[i]))
            return 0;
    return 1;
}

void fd_url_shown(const char *url, char *out, size_t n)
{
    snprintf(out, n, "%s", url);
    /* postgresql://user:secret@host -> postgresql://user:***@host */
    char *scheme = strstr(out, "://");
    char *at = scheme ? strchr(scheme + 3, '@') : NULL;
    char *colon = scheme ? strchr(scheme + 3, ':') : NULL;
    if (!at || !colon || colon > at)
        return;
    char rest[600];
    snprintf(rest, sizeof rest, "%s", at);
    snprintf(colon, n - (size_t)(colon - out), ":***%s", rest);
}

void fd_config_store_shown(const fd_config *cfg, char *out, size_t n)
{
    char path[600];
    fd_config_store_path(cfg, path, sizeof path);
    fd_url_shown(path, out, n);
}

void fd_config_store_path(const fd_config *cfg, char *out, size_t n)
{
    if (cfg->store_url[0])
        snprintf(out, n, "%s", cfg->store_url);
    else
        snprintf(out, n, "%s/frontdesk.db", cfg->data_dir);
}

static void value_str(const fd_config *cfg, const key_def *k, char *out, size_t n)
{
    const char *base = (const char *)cfg + k->off;
    switch (k->type) {
    case T_STR:
        snprintf(out, n, "\"%s\"", base);
        break;
    case T_INT:
        snprintf(out, n, "%d", *(const int *)base);
        break;
    case T_DBL:
        snprintf(out, n, "%g", *(const double *)base);
        break;
    case T_BOOL:
        snprintf(out, n, "%s", *(const int *)base ? "true" : "false");
        break;
    }
}

/* Length of a key's section ("llm" of "llm.model"); 0 for a top-level key. */
static size_t section_len(const char *name)
{
    const char *dot = strchr(name, '.');
    return dot ? (size_t)(dot - name) : 0;
}

static void sample_key(const fd_config *def, size_t i, FILE *out)
{
    char v[1100];
    value_str(def, &keys[i], v, sizeof v);
    size_t sl = section_len(keys[i].name);
    fprintf(out, "# %s (%s)\n%s = %s\n", keys[i].doc, keys[i].env, keys[i].name + (sl ? sl + 1 : 0),
            v);
}

/* Top-level keys first, then each section once, in order of first
 * appearance with all its keys: TOML forbids a table header twice. */
void fd_config_write_sample(FILE *out)
{
    fd_config def;
    fd_config_defaults(&def);
    fprintf(out, "# frontdesk.toml: every key with its default. Each key can be overridden\n"
                 "# by the environment variable shown.\n");
    for (size_t i = 0; i < N_KEYS; i++)
        if (!section_len(keys[i].name))
            sample_key(&def, i, out);
    for (size_t i = 0; i < N_KEYS; i++) {
        size_t sl = section_len(keys[i].name);
        int seen = 0;
        for (size_t j = 0; j < i && sl && !seen; j++)
            seen = section_len(keys[j].name) == sl && strncmp(keys[j].name, keys[i].name, sl) == 0;
        if (!sl || seen)
            continue;
        fprintf(out, "\n[%.*s]\n", (int)sl, keys[i].name);
        for (size_t j = i; j < N_KEYS; j++)
            if (section_len(keys[j].name) == sl && strncmp(keys[j].name, keys[i].name, sl) == 0)
                sample_key(&def, j, out);
    }
}

void fd_config_dump(const fd_config *cfg, FILE *out)
{
    for (size_t i = 0; i < N_KEYS; i++) {
        char v[1100];
        value_str(cfg, &keys[i], v, sizeof v);
        if (keys[i].secret && ((const char *)cfg + keys[i].off)[0])
            snprintf(v, sizeof v, "\"***\"");
        fprintf(out, "%-28s = %s\n", keys[i].name, v);
    }
}
