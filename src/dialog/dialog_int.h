/* dialog_int.h: private to src/dialog/: the assistant's parts and the
 * helpers its files share. */
#ifndef FD_DIALOG_INT_H
#define FD_DIALOG_INT_H

#include "dialog.h"

#include <pthread.h>

#include "answer.h"
#include "cache.h"
#include "commerce.h"
#include "guard.h"
#include "llm.h"
#include "nlu.h"
#include "store.h"
#include "text.h"

/* ---- escalation rules (escalate.c) -------------------------------------- */

typedef struct esc_rule {
    char *name;
    char *tier;
    char *reason;
    int priority;
    char **keywords; /* folded */
    size_t n_keywords;
    char **intents;
    size_t n_intents;
    double sentiment_below;  /* > 1: not set */
    double order_value_over; /* < 0: not set */
    int unresolved_turns;    /* 0: not set */
    int answer_first;        /* answer from the knowledge base, then hand over */
} esc_rule;

typedef struct esc_rules {
    esc_rule *v;
    size_t n;
    char **banned; /* banned promise phrases */
    size_t n_banned;
    char *agent_message, *supervisor_message, *out_of_hours_message;
    /* hours in minutes from midnight local time; open == close: closed */
    int weekday_open, weekday_close, saturday_open, saturday_close, sunday_open, sunday_close;
    int tz_offset_min; /* dialog.tz_offset_min: the hours' zone when [hours] names none */
    fd_tz *tz;         /* [hours] timezone ("Europe/London", with its DST), or NULL */
} esc_rules;

/* Parses escalation.toml (or .json when json is 1). Missing file: no rules. */
int esc_rules_load(esc_rules *r, const char *text, size_t len, int json, int tz_offset_min,
                   fd_err *err);
void esc_rules_free(esc_rules *r);

typedef struct esc_input {
    fd_str folded; /* the folded message */
    const char *intent;
    double confidence;
    double sentiment;
    double order_value; /* S$ amount of an order in the message, 0 if none */
    int unresolved;     /* consecutive unresolved turns including this one */
} esc_input;

/* The first rule (by priority) that fires, or NULL. */
const esc_rule *esc_rules_match(const esc_rules *r, const esc_input *in);
/* 1 when the team works at time now (the [hours] of escalation.toml). */
int esc_staffed(const esc_rules *r, double now);
/* The holding message for a tier at time now (out-of-hours text when the
 * team is offline); NULL when escalation.toml gives none (the caller uses
 * its "handoff" template, in the customer's language). */
const char *esc_holding_message(const esc_rules *r, const char *tier, double now);

/* ---- the assistant ------------------------------------------------------ */

struct fd_assistant {
    const fd_config *cfg;
    fd_log *log;
    fd_guard *guard;
    fd_intent_model *intents; /* NULL: no intents.tsv ingested */
    char intents_hash[65];
    esc_rules rules;
    char *tone;      /* tone.md, or NULL */
    char *company;   /* from tone.md's title, or NULL */
    fd_llm *llm;     /* NULL: no LLM configured */
    fd_cache *cache; /* NULL: no caches (borrowed: fd_assistant_use_cache) */
    int own_llm;     /* opened here (else the caller's, borrowed) */
    char model_path[600];
    int trained_at_open;
    fd_wordlist *words[FD__NLANGS]; /* answer.wordlists by language; NULL: none */
    struct wordsets *wordsets;      /* their owner, shared by reopened assistants */
    fd_thesaurus *thesaurus;        /* answer.wordnet, answer.thesaurus_fr */
    fd_catalog *catalog;     /* commerce.toml + products.csv ingested; NULL: no ordering in chat */
    fd_committer *committer; /* group commit of turns (borrowed); NULL: write directly */
    fd_answer_memo *memo;    /* passages' analyses, for every thread; NULL: made anew */
    double fixed_now;        /* dialog.now as unix seconds; 0: the clock */
};

/* The time a turn sees: dialog.now when set (evaluation, tests), else the
 * clock. Dates, delivery days and the escalation hours all use it. */
double dialog_now(const fd_assistant *as);

/* ---- cached records (records.c) ----------------------------------------- */

/* A knowledge step's reply as the exact and semantic cache layers keep it. */
typedef struct dialog_cached_reply {
    const char *answer;     /* UTF-8, never NULL once decoded */
    const char *validation; /* NULL: not recorded */
    int answered, grounded;
    fd_reply_cite *cites;
    size_t n_cites;
} dialog_cached_reply;

int dialog_reply_encode(const fd_reply *r, fd_cache_rec *rec) FD_MUST_USE;
/* 1 and *out filled (strings point into val, arrays in a), or 0 when val
 * is damaged: a length past its end, a string not UTF-8, a count or flag
 * out of range. Never trusts val: with Redis it comes from outside. */
int dialog_reply_decode(const void *val, size_t vlen, fd_arena *a, dialog_cached_reply *out);

/* The passages retrieval found: n of them, the first n_pass the hits. */
int dialog_passages_encode(const fd_passage *p, size_t n, size_t n_pass,
                           fd_cache_rec *rec) FD_MUST_USE;
/* 1 with *out (in a; strings into val), or 0 when damaged (as above, and a
 * score not finite, a language out of range, more than max_pass hits). */
int dialog_passages_decode(const void *val, size_t vlen, size_t max_pass, fd_arena *a,
                           fd_passage **out, size_t *n, size_t *n_pass);

/* ---- small shared helpers ----------------------------------------------- */

/* A fresh random session id (32 hex characters) into out[33]. */
void dialog_new_session_id(char out[33]);
/* Checks a caller-given session id: 1..64 of [A-Za-z0-9_-]. */
int dialog_session_id_ok(const char *id);

#endif
