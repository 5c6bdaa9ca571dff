/* store/store.h: the database behind frontdesk: documents, chunks and
 * knowledge-base versions (later sessions, orders...). SQLite in WAL mode
 * by default; the schema migrates forward on open via PRAGMA user_version.
 *
 * Threads: one fd_store per thread (SQLite connections are not shared).
 * Memory:  rows returned through callbacks are borrowed for the call;
 *          fd_store_chunk_get copies into the caller's arena.
 * Errors:  FD_EIO (database error, message from SQLite), FD_ENOTFOUND,
 *          FD_EUNAVAIL (busy/locked: another connection kept the write lock
 *          past the busy timeout, 5 s by default; retry later),
 *          FD_ECONFLICT (a constraint: duplicate chunk ord, chunk of a
 *          missing doc), FD_EFORMAT (newer schema), FD_EINVAL (misuse:
 *          nested begin, write outside one). */
#ifndef FD_STORE_H
#define FD_STORE_H

#include "core.h"

typedef struct fd_store fd_store;

/* Configures the SQLite library once (its memory statistics off: a
 * process-wide mutex around every allocation). sqlite3_config must come
 * before any other use and is not thread-safe: a program calls this at
 * start; fd_store_open calls it too, for programs that do not. */
void fd_store_library_init(void);
/* Opens or creates the database file and migrates it (WAL, synchronous
 * NORMAL, foreign keys on). path may be a "file:" URI. A file SQLite can
 * only open read-only, or a directory it cannot create in, is FD_EIO. */
int fd_store_open(const char *path, fd_store **out, fd_err *err) FD_MUST_USE;
void fd_store_close(fd_store *st);         /* NULL is fine */
int fd_store_schema_version(fd_store *st); /* PRAGMA user_version after migrating */
/* How many migrations this handle applied when it opened (another process
 * may have applied the rest). */
int fd_store_migrations_applied(fd_store *st);
/* The newest schema version this binary applies (its number of migrations). */
int fd_store_schema_latest(void);
/* One line saying what migration n (1..latest) adds; "" outside. */
const char *fd_store_migration_note(int n);
/* The schema version of the store at path, read without changing or
 * creating anything: 0 for a missing file. FD_EFORMAT when the file is
 * not a database, FD_EIO when it cannot be read. */
int fd_store_schema_check(const char *path, int *have, fd_err *err) FD_MUST_USE;
/* How long a statement waits for another connection's lock before
 * FD_EUNAVAIL (store.busy_timeout_ms); 0 fails at once. */
void fd_store_set_busy_timeout(fd_store *st, int ms);
/* The store cfg names (store.url, else the data dir's file), opened with
 * the settings every long-lived connection must share: store.busy_timeout_ms
 * and store.synchronous. Each connection that writes opens it so; a setting
 * applied by hand to one of them missed the others once (the turns'). */
int fd_store_open_cfg(const fd_config *cfg, fd_store **out, fd_err *err) FD_MUST_USE;
/* SQLite's WAL: how many pages a commit on this connection may leave in
 * the log before that commit also copies it into the database (a
 * checkpoint, with its fsync); 0 never (another connection runs
 * fd_store_checkpoint instead). PostgreSQL: no effect. */
void fd_store_set_autocheckpoint(fd_store *st, int pages);
/* Copies what the WAL holds into the database without waiting for (or
 * blocking) readers and writers (SQLite's PASSIVE checkpoint); *pages, if
 * given, the log's size in pages. FD_EUNAVAIL when busy. PostgreSQL: a
 * no-op (its own checkpointer). */
int fd_store_checkpoint(fd_store *st, int *pages, fd_err *err) FD_MUST_USE;
/* Copies the whole WAL into the database so that the next commit starts
 * the log over from its beginning (SQLite's RESTART checkpoint): waits at
 * most wait_ms for the writer and for the readers of the log to finish,
 * holding new writers back for that while. FD_EUNAVAIL when they did not
 * finish in time (nothing is lost; the log just stays as long). *pages,
 * if given, the log's size in pages. PostgreSQL: a no-op. Why it exists:
 * under steady load some reader always holds a snapshot of the log, so
 * PASSIVE checkpoints copy it all and yet no commit may start it over:
 * the file grew by 5 GB in 30 s of cached chat (commit.c). */
int fd_store_checkpoint_restart(fd_store *st, int wait_ms, int *pages, fd_err *err) FD_MUST_USE;
/* An online, consistent copy of the store into a new file (0600, never
 * overwriting: FD_ECONFLICT), checked with integrity_check; a failed copy
 * leaves no file. */
int fd_store_backup(fd_store *st, const char *path, fd_err *err) FD_MUST_USE;
/* Every row of src into dst, whatever their engines (SQLite -> PostgreSQL
 * when scaling out; the reverse for a local copy): the tables from src's
 * catalog, rows with their ids, PostgreSQL id sequences moved past them.
 * Both at the same schema version (FD_EFORMAT otherwise); dst empty
 * (FD_ECONFLICT otherwise); one transaction on dst and one consistent read
 * of src, so a failed copy leaves dst as it was. cb (may be NULL) hears each
 * table when it is done. */
typedef void (*fd_store_copy_cb)(void *ctx, const char *table, int64_t rows);
int fd_store_copy(fd_store *src, fd_store *dst, fd_store_copy_cb cb, void *ctx,
                  fd_err *err) FD_MUST_USE;
/* Replaces the store's content with a backup's, after checking it is an
 * intact store of a schema this build reads (FD_EFORMAT otherwise, and
 * nothing changes), then migrates it to the current schema. */
int fd_store_restore(fd_store *st, const char *path, fd_err *err) FD_MUST_USE;

/* PRAGMA synchronous: 0 NORMAL (the default: the last commits can be lost
 * on power loss, never on a crash), 1 FULL (an fsync per commit). */
int fd_store_set_synchronous(fd_store *st, int full, fd_err *err) FD_MUST_USE;

/* Transactions do not nest. BEGIN IMMEDIATE: writers queue up front.
 * A failed commit (including the "store.commit" fault point) has already
 * rolled back when it returns. */
int fd_store_begin(fd_store *st, fd_err *err) FD_MUST_USE;
int fd_store_commit(fd_store *st, fd_err *err) FD_MUST_USE;
void fd_store_rollback(fd_store *st); /* no-op outside a transaction */
/* A transaction that writes only turns (fd_store_turn_write) of the n
 * conversations session_ids (repeats are fine), and reads: a group
 * commit's batch of plain turns. SQLite: fd_store_begin. PostgreSQL: the
 * write lock in shared mode, so such batches (every replica's committers)
 * commit side by side and PostgreSQL flushes their commits together,
 * while every other writer still waits for them and they for it; and
 * each conversation's own lock, taken in one order, so two batches never
 * number one conversation's turns at once (sqlite.c says why the rest
 * is safe). A turn of another session written inside takes its lock
 * then. Commit and roll back as any transaction. */
int fd_store_begin_turns(fd_store *st, const char *const *session_ids, size_t n,
                         fd_err *err) FD_MUST_USE;
/* Inside a transaction: a savepoint that one part of a batch can undo
 * alone (group commit: one turn's failure is not its neighbours'). */
int fd_store_savepoint(fd_store *st, fd_err *err) FD_MUST_USE;
/* Batches of writes whose results nobody reads (group commit): on
 * PostgreSQL, INSERTs without RETURNING and savepoints inside a
 * transaction are then sent with the next statement that needs an answer,
 * so a failed one is reported by that later call (at the latest the
 * savepoint's release or the commit), not by its own. SQLite: no effect. */
void fd_store_defer_writes(fd_store *st, int on);
int fd_store_release(fd_store *st, fd_err *err) FD_MUST_USE; /* keeps its writes */
void fd_store_rollback_to(fd_store *st);                     /* drops them, then releases */

/* ---- conversation locks ------------------------------------------------- */

/* Takes conversation session_id's lock for holder (a token unique to the
 * turn) until now + lease_s, waiting up to wait_ms for another holder to
 * drop it or let it expire: FD_EUNAVAIL then. Outside a transaction.
 * Replicas sharing a store answer one message of a conversation at a
 * time, in the order they got the lock. */
int fd_store_convo_lock(fd_store *st, const char *session_id, const char *holder, double lease_s,
                        int wait_ms, fd_err *err) FD_MUST_USE;
/* Drops it if holder still has it (an expired lease may be another's). */
void fd_store_convo_unlock(fd_store *st, const char *session_id, const char *holder);
/* The same for n conversations at once, in one statement (a group
 * commit's batch drops its turns' locks in one round trip). Outside a
 * transaction. A failure is not reported: the leases run out by
 * themselves. */
void fd_store_convo_unlock_many(fd_store *st, const char *const *session_ids,
                                const char *const *holders, size_t n);

/* ---- change notices across replicas ------------------------------------- */

/* What one replica stores and the others wait for: an operator's message
 * or a conversation's new state (customers' event streams), a new
 * knowledge-base version (every replica reloads). On PostgreSQL a notice
 * is a NOTIFY, delivered at the commit of the transaction it was sent in
 * (at once outside one); a listener wakes its waiters at once instead of at
 * their next poll, which stays as the fallback. SQLite is one server: no
 * notices, FD_OK. fd_store_kb_bump sends FD_NOTE_KB by itself. */
typedef enum fd_store_note {
    FD_NOTE_EVENTS = 1,
    FD_NOTE_KB = 2,
    FD_NOTE_TYPING = 3 /* an agent typing in conversation `about`: never stored */
} fd_store_note;
/* about: what changed, for listeners to wake only its waiters (a session
 * id; at most 200 bytes, else left out); NULL or "" for "anything". */
int fd_store_notify(fd_store *st, fd_store_note what, const char *about, fd_err *err) FD_MUST_USE;

typedef struct fd_store_listener fd_store_listener;
/* Listens on a connection of its own to the PostgreSQL store at url; cb
 * runs on the listener's thread for every notice (about: what the notifier
 * named, "" for anything), and with both kinds and "" after each
 * (re)connection, since notices sent while it was away are lost. Reconnects by itself. FD_EINVAL
 * for a URL that is not PostgreSQL; an unreachable server is not an error (it keeps trying). */
int fd_store_listener_start(const char *url,
                            void (*cb)(void *ctx, fd_store_note what, const char *about), void *ctx,
                            fd_store_listener **out, fd_err *err) FD_MUST_USE;
/* Stops and frees it (NULL is fine). */
void fd_store_listener_stop(fd_store_listener *l);
/* Notices received so far (tests, metrics). */
uint64_t fd_store_listener_received(const fd_store_listener *l);
/* Whether its connection is up now, and how many times connecting failed
 * or a connection was lost (metrics: while it is down, other replicas'
 * changes arrive only by the one-second polls). */
void fd_store_listener_health(const fd_store_listener *l, int *up, uint64_t *failures);

/* ---- documents and chunks ---------------------------------------------- */

typedef struct fd_doc_row {
    int64_t id;
    const char *key; /* unique: source path, or "path#row" / BEIR _id */
    const char *title;
    const char *source; /* file it came from */
    const char *tag;    /* e.g. "policy", "faq", "product"; "" if none */
    const char *lang;   /* "en", "fr", "" */
    const char *hash;   /* SHA-256 hex of the normalized content */
    int64_t n_chunks;
    int64_t kb_version; /* version that last changed it */
    double updated_at;  /* unix seconds */
} fd_doc_row;

typedef struct fd_chunk_row {
    int64_t id;
    int64_t doc_id;
    int ord; /* position inside its doc, from 0 */
    const char *doc_key;
    const char *title;   /* the doc's title */
    const char *section; /* heading path "Refunds > Defective goods", "" if none */
    const char *tag;
    const char *lang;
    const char *text;
} fd_chunk_row;

/* FD_ENOTFOUND when absent; strings copied into a. */
int fd_store_doc_get(fd_store *st, const char *key, fd_arena *a, fd_doc_row *out,
                     fd_err *err) FD_MUST_USE;
/* Inserts or replaces the doc with this key (its old chunks deleted);
 * *id is the doc id, kept when replacing. Every field is stored as given:
 * the caller sets kb_version (typically the version its fd_store_kb_bump
 * returned) and n_chunks; updated_at 0 means now. FD_EINVAL outside a
 * transaction, so metadata and chunks always change together. */
int fd_store_doc_put(fd_store *st, const fd_doc_row *doc, int64_t *id, fd_err *err) FD_MUST_USE;
int fd_store_chunk_add(fd_store *st, int64_t doc_id, int ord, const char *section, const char *text,
                       fd_err *err) FD_MUST_USE;
/* Deletes a doc and its chunks by key; FD_ENOTFOUND if there was none. */
int fd_store_doc_delete(fd_store *st, const char *key, fd_err *err) FD_MUST_USE;
/* Keys of all docs that came from this source file (for deletions when a
 * CSV lost rows). cb returns non-zero to stop. */
int fd_store_docs_by_source(fd_store *st, const char *source, int (*cb)(void *ctx, const char *key),
                            void *ctx, fd_err *err) FD_MUST_USE;

/* All docs by key order; cb returns non-zero to stop (that value is returned).
 * Callbacks of the iterators may call back into the same store. */
int fd_store_docs_each(fd_store *st, int (*cb)(void *ctx, const fd_doc_row *doc), void *ctx,
                       fd_err *err) FD_MUST_USE;
/* All chunks in (doc id, ord) order, e.g. to build the index. */
int fd_store_chunks_each(fd_store *st, int (*cb)(void *ctx, const fd_chunk_row *c), void *ctx,
                         fd_err *err) FD_MUST_USE;
int fd_store_chunk_get(fd_store *st, int64_t chunk_id, fd_arena *a, fd_chunk_row *out,
                       fd_err *err) FD_MUST_USE;
int fd_store_counts(fd_store *st, int64_t *n_docs, int64_t *n_chunks, fd_err *err) FD_MUST_USE;

/* ---- knowledge-base versions ------------------------------------------- */

/* Current version; 0 for an empty, never-ingested store. */
int fd_store_kb_version(fd_store *st, int64_t *version, fd_err *err) FD_MUST_USE;
/* Records a new version with a note ("ingest: 3 added, 1 changed"). Call
 * inside the transaction that made the change. */
int fd_store_kb_bump(fd_store *st, const char *note, int64_t *version, fd_err *err) FD_MUST_USE;

/* ---- knowledge-base assets ---------------------------------------------- */
/* Files of a knowledge-base folder that are configuration for the
 * conversation engine rather than documents: tone.md, escalation.toml,
 * intents.tsv. Stored whole, by name, so a server needs only the store. */
typedef struct fd_asset_row {
    const char *name;    /* "tone.md", "escalation.toml", "intents.tsv" */
    const char *content; /* NUL-terminated copy (files are text) */
    size_t len;
    const char *hash;   /* SHA-256 hex of content */
    const char *source; /* path it came from */
    int64_t kb_version;
} fd_asset_row;

/* Inserts or replaces by name; *changed (may be NULL) is 1 when the hash
 * differs from what was stored. Inside a transaction. */
int fd_store_asset_put(fd_store *st, const char *name, const char *content, size_t len,
                       const char *source, int64_t kb_version, int *changed,
                       fd_err *err) FD_MUST_USE;
/* FD_ENOTFOUND when absent; strings copied into a. */
int fd_store_asset_get(fd_store *st, const char *name, fd_arena *a, fd_asset_row *out,
                       fd_err *err) FD_MUST_USE;

/* ---- index snapshots shared through the store ----------------------------- */
/* Replicas on PostgreSQL have disks of their own: the first to build the
 * index of a knowledge-base version puts its snapshot file in the store,
 * and a replica that starts (or hears of a new version) fetches it instead
 * of building the index again (12.7 s for 100k chunks; kb.c). A SQLite
 * store is one machine's file with the snapshot beside it: put does
 * nothing there and get answers FD_ENOTFOUND. `tag` says how the snapshot
 * was built (format, ranking settings); a snapshot is fetched only under
 * the tag it was put with. Only the latest version is kept. */
int fd_store_snapshot_put(fd_store *st, int64_t kb_version, const char *tag, const char *path,
                          fd_err *err) FD_MUST_USE;
/* Writes the snapshot to path (through a temporary file, fsynced, renamed: a
 * reader never maps half a file), after checking its length and SHA-256.
 * FD_ENOTFOUND when the store holds none for (kb_version, tag). */
int fd_store_snapshot_get(fd_store *st, int64_t kb_version, const char *tag, const char *path,
                          fd_err *err) FD_MUST_USE;

/* ---- sessions and turns -------------------------------------------------- */
typedef struct fd_session_row {
    const char *id;
    const char *user;  /* caller-supplied user id, "" if none */
    const char *lang;  /* last language used, "" if unknown */
    const char *slots; /* JSON object of remembered slots */
    const char *state; /* "bot", "waiting" (handoff open), "human" (claimed) */
    int64_t n_turns;   /* turns so far (user and assistant) */
    int unresolved;    /* consecutive unresolved user turns */
    double created_at, updated_at;
    const char *owner; /* principal that created it; set on insert, never updated */
    int has_handoff;   /* read only: a handoff was ever opened for it */
} fd_session_row;

/* FD_ENOTFOUND when absent; strings copied into a. */
/* The most recent session of owner whose first turn is user1 and whose
 * second is assistant1, exactly as stored: its id into out (65 bytes).
 * FD_ENOTFOUND when none. */
int fd_store_session_by_opening(fd_store *st, const char *owner, const char *user1,
                                const char *assistant1, char out[65], fd_err *err) FD_MUST_USE;
int fd_store_session_get(fd_store *st, const char *id, fd_arena *a, fd_session_row *out,
                         fd_err *err) FD_MUST_USE;
/* Inserts or updates every field but created_at (0 = now on insert). */
int fd_store_session_put(fd_store *st, const fd_session_row *s, fd_err *err) FD_MUST_USE;
/* Deletes the session with its turns; FD_ENOTFOUND if none. */
int fd_store_session_delete(fd_store *st, const char *id, fd_err *err) FD_MUST_USE;

typedef struct fd_turn_row {
    int64_t seq;      /* 1-based position in the session */
    const char *role; /* "user", "assistant", "operator" */
    const char *text;
    const char *intent; /* "" if none */
    const char *route;  /* "" if none */
    const char *meta;   /* JSON object (citations, escalation...) */
    double created_at;
} fd_turn_row;

/* Appends with seq = the session's last seq + 1 (returned in *seq; may be
 * NULL). The session must exist. */
int fd_store_turn_add(fd_store *st, const char *session_id, const fd_turn_row *t, int64_t *seq,
                      fd_err *err) FD_MUST_USE;
/* A chat message's rows at once (issue 16): the session upserted as by
 * fd_store_session_put (when session is not NULL), the customer's turn,
 * the assistant's (when not NULL) numbered after it, one analytics event
 * of kind "turn" whose turn_seq is the assistant's seq (0 without one), and
 * the cost row. Inside a transaction. *seq (may be NULL): the assistant
 * turn's seq, 0 without one. PostgreSQL: one statement, all of it or
 * nothing, one round trip; SQLite: the same rows statement by statement,
 * so on failure the caller rolls back (to its savepoint) as for any write.
 * A seq another writer took first (possible only for a writer outside the
 * store's locks) is FD_ECONFLICT with field "seq": the transaction is
 * lost, and running it again numbers the turns anew (dialog's committer
 * does; nothing was duplicated). */
typedef struct fd_turn_write {
    const char *session_id;
    const fd_session_row *session; /* NULL: already written (its id is session_id) */
    const fd_turn_row *user;
    const fd_turn_row *assistant;   /* NULL: none (the message went to a person) */
    const char *event_data;         /* JSON object */
    const struct fd_cost_row *cost; /* store.h's cost ledger, below */
} fd_turn_write;
int fd_store_turn_write(fd_store *st, const fd_turn_write *w, int64_t *seq,
                        fd_err *err) FD_MUST_USE;
/* Turns with seq > after_seq in order; cb returns non-zero to stop. */
int fd_store_turns_each(fd_store *st, const char *session_id, int64_t after_seq,
                        int (*cb)(void *ctx, const fd_turn_row *t), void *ctx,
                        fd_err *err) FD_MUST_USE;

/* ---- handoffs to people -------------------------------------------------- */
typedef struct fd_handoff_row {
    int64_t id;
    const char *ticket; /* "HD-000042" */
    const char *session_id;
    const char *tier;      /* "agent", "supervisor" */
    const char *reason;    /* the rule that fired */
    const char *summary;   /* conversation summary for the person */
    const char *status;    /* "open", "claimed", "resolved" */
    const char *operator_; /* who claimed it, "" if nobody */
    double created_at, updated_at;
} fd_handoff_row;

/* Creates an open handoff; fills *id and writes the ticket ("HD-%06lld")
 * into ticket (>= 16 bytes). */
int fd_store_handoff_add(fd_store *st, const fd_handoff_row *h, int64_t *id, char *ticket,
                         size_t ticket_size, fd_err *err) FD_MUST_USE;
int fd_store_handoff_get(fd_store *st, int64_t id, fd_arena *a, fd_handoff_row *out,
                         fd_err *err) FD_MUST_USE;
/* Handoffs with this status ("" or NULL: all), newest first. */
int fd_store_handoffs_each(fd_store *st, const char *status,
                           int (*cb)(void *ctx, const fd_handoff_row *h), void *ctx,
                           fd_err *err) FD_MUST_USE;
/* Moves a handoff to status (operator may be NULL); FD_ENOTFOUND if none,
 * FD_ECONFLICT if its status is not from_status (NULL: any). */
int fd_store_handoff_set_status(fd_store *st, int64_t id, const char *from_status,
                                const char *status, const char *operator_, fd_err *err) FD_MUST_USE;

/* ---- the operator console (desk.c) ----------------------------------------- */

/* An internal note: what agents write about a conversation for each
 * other. Never part of the session or its event stream, so the customer
 * never sees it; erased with the session (ON DELETE CASCADE). */
typedef struct fd_note_row {
    int64_t id;
    const char *session_id;
    int64_t handoff_id; /* the handoff it was written on */
    const char *author; /* the operator's key name or prefix */
    const char *text;
    double created_at;
} fd_note_row;

/* Adds a note (created_at 0: now); FD_ECONFLICT when the session no
 * longer exists, FD_EINVAL for an empty text. */
int fd_store_note_add(fd_store *st, const fd_note_row *n, int64_t *id, fd_err *err) FD_MUST_USE;
/* A conversation's notes, oldest first; cb returns non-zero to stop. */
int fd_store_notes_each(fd_store *st, const char *session_id,
                        int (*cb)(void *ctx, const fd_note_row *n), void *ctx,
                        fd_err *err) FD_MUST_USE;

/* A handoff as the console's queue shows it. */
typedef struct fd_queue_row {
    fd_handoff_row h;
    int64_t n_customer;      /* customer messages since the handoff opened */
    int64_t n_unanswered;    /* of those, the ones after the last operator message */
    double waiting_since;    /* the oldest unanswered one's time; 0: none */
    double last_customer_at; /* 0: none */
    int64_t n_notes;         /* internal notes on the conversation */
    double changed_at;       /* the latest of updated_at, a customer message, a note */
} fd_queue_row;

/* Open and claimed handoffs, and resolved ones updated after
 * resolved_since, newest first, at most limit (<= 0: 1000). */
int fd_store_queue_each(fd_store *st, double resolved_since, int64_t limit,
                        int (*cb)(void *ctx, const fd_queue_row *q), void *ctx,
                        fd_err *err) FD_MUST_USE;

/* Handoffs whose conversation matches q, newest first, at most limit
 * (<= 0: 20): the ticket ("HD-000011" or 11), the customer's own messages
 * or the contact details the session kept (a substring, ASCII case
 * folded), a phone number however it was written (digits only compared).
 * snippet: the first matching customer message, "" when the match was
 * elsewhere. FD_EINVAL for an empty q. */
int fd_store_handoffs_search(fd_store *st, const char *q, int64_t limit,
                             int (*cb)(void *ctx, const fd_handoff_row *h, const char *snippet),
                             void *ctx, fd_err *err) FD_MUST_USE;

/* A customer's rating (an analytics event "rating") with the handoff it
 * rates: the conversation's latest one opened before it (0 and "" when
 * no person had it). */
typedef struct fd_rating_row {
    int64_t id;
    double at;
    const char *session_id;
    const char *data;               /* the event's JSON: {"score": 1..5, "comment"?} */
    int64_t handoff_id;             /* 0: none */
    const char *operator_;          /* who had the handoff: an agent's or a key's name */
    const char *agent_display_name; /* "" unless operator_ is an agent */
} fd_rating_row;
/* Every rating, newest first; borrowed for the call; cb's nonzero stops. */
int fd_store_ratings_each(fd_store *st, int (*cb)(void *ctx, const fd_rating_row *r), void *ctx,
                          fd_err *err) FD_MUST_USE;

/* ---- images customers send to an agent (attachments.c) --------------------- */
typedef struct fd_attachment_row {
    int64_t id;
    const char *session_id;
    int64_t turn_seq; /* the customer's turn that shows it; 0 until linked */
    const char *type; /* "image/png", "image/jpeg", "image/gif", "image/webp" */
    const void *data;
    size_t len;
    const char *sha256; /* hex of data (get; add computes it) */
    double created_at;  /* 0: now */
} fd_attachment_row;

/* Inserts the bytes as given (the caller checks type and size);
 * FD_ECONFLICT when the session is gone, FD_EINVAL for nothing to store. */
int fd_store_attachment_add(fd_store *st, const fd_attachment_row *a, int64_t *id,
                            fd_err *err) FD_MUST_USE;
int fd_store_attachment_set_turn(fd_store *st, int64_t id, int64_t turn_seq,
                                 fd_err *err) FD_MUST_USE;
/* The attachment id of session session_id (another session's id is
 * FD_ENOTFOUND), its bytes and strings copied into a. */
int fd_store_attachment_get(fd_store *st, const char *session_id, int64_t id, fd_arena *a,
                            fd_attachment_row *out, fd_err *err) FD_MUST_USE;

/* ---- orders taken in chat (orders.c) --------------------------------------- */
typedef struct fd_order_line_row {
    const char *code, *name;
    int64_t qty, packs, pack_size, pack_price, total; /* money in minor units */
} fd_order_line_row;

typedef struct fd_order_row {
    int64_t id;
    const char *ref;      /* "HP-100001" */
    const char *idem_key; /* one per confirmation */
    const char *session_id, *owner;
    const char *customer_id, *customer, *outlet, *address;
    const char *delivery_date, *delivery_window; /* "2026-12-08", "morning" */
    const char *currency, *status; /* "confirmed", "review", "invoiced", "cancelled" */
    /* goods (the lines) - discount + delivery_fee + surcharge = subtotal,
     * before tax; minor units */
    int64_t goods, discount, delivery_fee, surcharge;
    int64_t subtotal, tax, total;
    double created_at, updated_at;
    const fd_order_line_row *lines;
    size_t n_lines;
} fd_order_row;

/* Adds an order, its lines, its first history row and (invoice not NULL)
 * an outbox row of kind "invoice" with that JSON payload, in the caller's
 * transaction. ref becomes prefix-(100000 + id). FD_ECONFLICT when
 * idem_key already made an order (fd_store_order_by_idem finds it). */
int fd_store_order_add(fd_store *st, const fd_order_row *o, const char *prefix, const char *invoice,
                       int64_t *id, char *ref, size_t ref_size, fd_err *err) FD_MUST_USE;
/* By ref ("HP-100001", any case), lines included; FD_ENOTFOUND. */
int fd_store_order_get(fd_store *st, const char *ref, fd_arena *a, fd_order_row *out,
                       fd_err *err) FD_MUST_USE;
int fd_store_order_by_idem(fd_store *st, const char *idem_key, fd_arena *a, fd_order_row *out,
                           fd_err *err) FD_MUST_USE;
/* Newest first; owner NULL: any; status NULL or "": any; lines not filled. */
int fd_store_orders_each(fd_store *st, const char *owner, const char *status, int64_t limit,
                         int (*cb)(void *ctx, const fd_order_row *o), void *ctx,
                         fd_err *err) FD_MUST_USE;
/* Moves an order to status with a history row; FD_ENOTFOUND, or
 * FD_ECONFLICT when its status is not from (NULL: any). */
int fd_store_order_set_status(fd_store *st, const char *ref, const char *from, const char *status,
                              const char *note, fd_err *err) FD_MUST_USE;

/* ---- the outbox: what must reach another system (outbox.c) ---------------- */
typedef struct fd_outbox_row {
    int64_t id;
    const char *kind; /* "invoice" */
    int64_t order_id;
    const char *order_ref; /* "HP-100001" ("" when none) */
    const char *idem_key;  /* sent as Idempotency-Key: a redelivery is recognised */
    const char *payload;   /* JSON */
    const char *state;     /* "pending", "retry", "delivered", "dead", "dropped" */
    int attempts;
    double next_at;
    const char *last_error, *external_id;
    double created_at, updated_at;
} fd_outbox_row;

/* A row of another kind than an order's invoice ("webhook"), in the
 * caller's transaction; FD_ECONFLICT when idem_key exists. */
int fd_store_outbox_add(fd_store *st, const char *kind, int64_t order_id, const char *idem_key,
                        const char *payload, fd_err *err) FD_MUST_USE;
/* Rows of kind due at now (pending or retry, next_at <= now), oldest
 * first, at most limit, into the arena. */
int fd_store_outbox_due(fd_store *st, const char *kind, double now, int limit, fd_arena *a,
                        fd_outbox_row **out, size_t *n, fd_err *err) FD_MUST_USE;
/* state NULL or "": all, newest first. */
int fd_store_outbox_each(fd_store *st, const char *state,
                         int (*cb)(void *ctx, const fd_outbox_row *r), void *ctx,
                         fd_err *err) FD_MUST_USE;
/* The outcome of an attempt, in the caller's transaction. "delivered"
 * moves the row's order to "invoiced", "dead" to "failed" (with history). */
int fd_store_outbox_update(fd_store *st, int64_t id, const char *state, int attempts,
                           double next_at, const char *error, const char *external_id,
                           fd_err *err) FD_MUST_USE;
/* A dead or waiting row back to pending now (attempts reset); FD_ENOTFOUND,
 * FD_ECONFLICT when delivered or dropped. */
int fd_store_outbox_retry(fd_store *st, int64_t id, fd_err *err) FD_MUST_USE;
/* Gives up on a row that is not delivered; FD_ENOTFOUND, FD_ECONFLICT. */
int fd_store_outbox_drop(fd_store *st, int64_t id, fd_err *err) FD_MUST_USE;
/* Rows by state: pending, retry, delivered, dead, dropped. */
int fd_store_outbox_counts(fd_store *st, int64_t counts[5], fd_err *err) FD_MUST_USE;

/* The accounting connection's refresh token, as the caller encrypted it.
 * FD_ENOTFOUND before the first connect. put bumps the generation. */
int fd_store_acct_token_get(fd_store *st, fd_arena *a, const void **blob, size_t *len,
                            int64_t *generation, fd_err *err) FD_MUST_USE;
int fd_store_acct_token_put(fd_store *st, const void *blob, size_t len, fd_err *err) FD_MUST_USE;

/* ---- Idempotency-Key (idem.c) ---------------------------------------------- */
typedef enum fd_idem_state {
    FD_IDEM_NEW,      /* first time: run it, then fd_store_idem_finish (or _abort) */
    FD_IDEM_REPLAY,   /* done before with this body: *response is what was said */
    FD_IDEM_RUNNING,  /* the first request with this key is still running */
    FD_IDEM_MISMATCH, /* the key was used with another body */
} fd_idem_state;

/* Claims (principal, key) for a request whose body hashes to body_hash, in
 * its own transaction; keys older than ttl_s are forgotten first. */
int fd_store_idem_begin(fd_store *st, const char *principal, const char *key, const char *body_hash,
                        double ttl_s, fd_arena *a, fd_idem_state *state, const char **response,
                        fd_err *err) FD_MUST_USE;
int fd_store_idem_finish(fd_store *st, const char *principal, const char *key, const char *response,
                         fd_err *err) FD_MUST_USE;
/* The request failed: the key is free for a retry. */
int fd_store_idem_abort(fd_store *st, const char *principal, const char *key,
                        fd_err *err) FD_MUST_USE;

/* ---- analytics ----------------------------------------------------------- */
/* One event per turn: data is a JSON object (intent, route, stage
 * latencies, validation, escalation, tokens, cost). */
int fd_store_event_add(fd_store *st, const char *session_id, int64_t turn_seq, const char *kind,
                       const char *data, fd_err *err) FD_MUST_USE;
/* ---- the cost ledger (costs.c) ------------------------------------------ */

typedef struct fd_cost_row {
    double at; /* unix seconds; 0: now */
    const char *request_id, *session_id, *key, *model, *route;
    const char *cached; /* the cache layer that answered, or NULL */
    int llm_called;
    int64_t prompt_tokens, completion_tokens;
    double cost_usd;
} fd_cost_row;

int fd_store_cost_add(fd_store *st, const fd_cost_row *row, fd_err *err) FD_MUST_USE;

/* Sums since a time (unix seconds; 0: all), grouped by "day", "key",
 * "model", "session" or "total" (one row), largest cost first (days in
 * order). FD_EINVAL for another group. */
typedef struct fd_cost_sum {
    const char *group; /* the day, key, model or session; "" for total */
    int64_t requests, llm_calls, cached, prompt_tokens, completion_tokens;
    double cost_usd;
} fd_cost_sum;
int fd_store_costs_each(fd_store *st, double since, const char *group,
                        int (*cb)(void *ctx, const fd_cost_sum *sum), void *ctx,
                        fd_err *err) FD_MUST_USE;

/* Events in id order; cb gets (kind, session, data JSON); non-zero stops. */
int fd_store_events_each(fd_store *st,
                         int (*cb)(void *ctx, const char *kind, const char *session_id,
                                   int64_t turn_seq, const char *data),
                         void *ctx, fd_err *err) FD_MUST_USE;

/* ---- API keys ------------------------------------------------------------ */
/* Rows of api_keys, by value (fixed buffers, no arena): the secret itself
 * is never stored, only its SHA-256. Policy (formats, expiry, rotation)
 * lives in auth/; these functions only read and write rows. */
typedef struct fd_key_row {
    int64_t id;
    char prefix[16]; /* visible start of the key, "fdk_AbCd1234" */
    char hash[65];   /* SHA-256 hex of the whole key */
    char name[64];
    int64_t scopes; /* bit set, see auth.h */
    double created_at;
    double expires_at;   /* 0: never */
    double revoked_at;   /* 0: not revoked */
    int64_t rotated_to;  /* successor's id, 0: none */
    double valid_until;  /* end of a rotation overlap, 0: none */
    double last_used_at; /* 0: never used */
} fd_key_row;

/* Inserts prefix, hash, name, scopes, created_at (0 = now), expires_at;
 * *id is the new id. FD_EINVAL for a hash that is not 64 hex characters
 * or a name or prefix too long for the row; FD_ECONFLICT for a duplicate hash. */
int fd_store_key_add(fd_store *st, const fd_key_row *k, int64_t *id, fd_err *err) FD_MUST_USE;
/* FD_ENOTFOUND when absent. */
int fd_store_key_by_hash(fd_store *st, const char *hash, fd_key_row *out, fd_err *err) FD_MUST_USE;
int fd_store_key_by_id(fd_store *st, int64_t id, fd_key_row *out, fd_err *err) FD_MUST_USE;
/* The oldest key with this prefix in *out; *n_found is 0, 1, or 2 for
 * "two or more" (prefixes may collide). FD_ENOTFOUND when none. */
int fd_store_key_by_prefix(fd_store *st, const char *prefix, fd_key_row *out, int *n_found,
                           fd_err *err) FD_MUST_USE;
/* All keys by id; cb returns non-zero to stop (that value is returned). */
int fd_store_keys_each(fd_store *st, int (*cb)(void *ctx, const fd_key_row *k), void *ctx,
                       fd_err *err) FD_MUST_USE;
/* Sets revoked_at = at unless already revoked (the first time is kept).
 * FD_ENOTFOUND if no such key. */
int fd_store_key_revoke(fd_store *st, int64_t id, double at, fd_err *err) FD_MUST_USE;
/* Records the successor and the end of the overlap; FD_ECONFLICT when the
 * key is already rotated or revoked, FD_ENOTFOUND when absent. */
int fd_store_key_rotate(fd_store *st, int64_t id, int64_t successor, double valid_until,
                        fd_err *err) FD_MUST_USE;
/* last_used_at = at, only when the stored value is <= not_after (so
 * concurrent callers write once per interval); *written (may be NULL) says
 * whether a row changed. Does not wait for a busy database: FD_EUNAVAIL
 * at once when another connection is writing. */
int fd_store_key_touch(fd_store *st, int64_t id, double at, double not_after, int *written,
                       fd_err *err) FD_MUST_USE;

/* ---- agents: people who sign in to the console (agents.c) ---------------- */
/* By value like API keys. Policy (hashing, token format, expiry) is in
 * auth/; these only read and write rows. */
typedef struct fd_agent_row {
    int64_t id;
    char name[64];          /* the login, unique */
    char display_name[128]; /* what customers see; "" means the name */
    char pw_hash[160];      /* libsodium's crypto_pwhash_str (parameters included) */
    double created_at;
    double disabled_at;   /* 0: enabled */
    double last_login_at; /* 0: never */
} fd_agent_row;

/* Inserts name, display_name, pw_hash, created_at (0: now). FD_EINVAL for
 * an empty name or hash, FD_ECONFLICT (field "name") for a taken name. */
int fd_store_agent_add(fd_store *st, const fd_agent_row *a, int64_t *id, fd_err *err) FD_MUST_USE;
/* FD_ENOTFOUND when absent. */
int fd_store_agent_get(fd_store *st, const char *name, fd_agent_row *out, fd_err *err) FD_MUST_USE;
/* By name; cb's nonzero return stops and is returned. */
int fd_store_agents_each(fd_store *st, int (*cb)(void *ctx, const fd_agent_row *a), void *ctx,
                         fd_err *err) FD_MUST_USE;
/* Changes what is given: pw_hash and display_name when not NULL,
 * disabled_at when >= 0 (0 enables). FD_ENOTFOUND for no such agent. */
int fd_store_agent_update(fd_store *st, const char *name, const char *pw_hash,
                          const char *display_name, double disabled_at, fd_err *err) FD_MUST_USE;
int fd_store_agent_touch_login(fd_store *st, int64_t id, double at, fd_err *err) FD_MUST_USE;

typedef struct fd_agent_session_row {
    int64_t id;
    int64_t agent_id;
    char token_hash[65]; /* SHA-256 hex of the token: the token is never stored */
    char prefix[16];     /* its visible start, for logs and the audit log */
    double created_at;   /* 0: now */
    double expires_at;
    double revoked_at; /* 0: not signed out */
} fd_agent_session_row;

/* FD_EINVAL for a hash that is not 64 characters; FD_ECONFLICT when the
 * agent is gone or the hash exists. */
int fd_store_agent_session_add(fd_store *st, const fd_agent_session_row *r, int64_t *id,
                               fd_err *err) FD_MUST_USE;
/* The session with this token hash and its agent; FD_ENOTFOUND. Expiry,
 * revocation and a disabled agent are the caller's to judge. */
int fd_store_agent_session_get(fd_store *st, const char *token_hash, fd_agent_session_row *out,
                               fd_agent_row *agent, fd_err *err) FD_MUST_USE;
/* Sign-out: revoked_at = at unless already set; FD_ENOTFOUND. */
int fd_store_agent_session_revoke(fd_store *st, const char *token_hash, double at,
                                  fd_err *err) FD_MUST_USE;
/* Ends every live session of an agent at `at` (> 0; a disabled account, a
 * new password), *n_ended (may be NULL) counting them; then, when
 * purge_before > 0, deletes its sessions expired or revoked before it. */
int fd_store_agent_sessions_end(fd_store *st, int64_t agent_id, double at, double purge_before,
                                int64_t *n_ended, fd_err *err) FD_MUST_USE;

/* ---- a customer's data and the audit log (userdata.c) ------------------- */
/* Every session of an end user (the chat's `user`, or its JWT subject),
 * oldest first; owner is not filled. cb's nonzero return stops and is
 * returned. FD_EINVAL for an empty user. */
int fd_store_user_sessions(fd_store *st, const char *user,
                           int (*cb)(void *ctx, const fd_session_row *s), void *ctx,
                           fd_err *err) FD_MUST_USE;
/* Erases an end user's sessions with their turns, analytics events and
 * handoffs, in one transaction (the cost ledger keeps its amounts without
 * the session id). *n_sessions: how many sessions went. */
int fd_store_user_erase(fd_store *st, const char *user, int64_t *n_sessions,
                        fd_err *err) FD_MUST_USE;
/* Retention: conversations idle since before sessions_before (unix
 * seconds; 0: keep) go whole with their turns, events and handoffs;
 * analytics events and cost rows older than their own cutoffs. One
 * transaction. */
typedef struct fd_retention_counts {
    int64_t sessions, events, costs;
} fd_retention_counts;
int fd_store_retention(fd_store *st, double sessions_before, double events_before,
                       double costs_before, fd_retention_counts *out, fd_err *err) FD_MUST_USE;
/* Appends to the audit log (actor: a key prefix, "cli", ...). */
int fd_store_audit_add(fd_store *st, const char *actor, const char *action, const char *target,
                       const char *detail, fd_err *err) FD_MUST_USE;
int fd_store_audit_each(fd_store *st,
                        int (*cb)(void *ctx, double at, const char *actor, const char *action,
                                  const char *target, const char *detail),
                        void *ctx, fd_err *err) FD_MUST_USE;

#endif
