/* guard/guard_int.h: private pieces of the guard shared by its files and its
 * tests: Unicode cleaning and de-obfuscation views (unicode.c), pattern rules
 * (rules.c), the hashed linear classifier (classifier.c) and the labelled
 * set parser (eval.c). */
#ifndef FD_GUARD_INT_H
#define FD_GUARD_INT_H

#include "guard.h"
#include "text.h"

/* ---- labelled examples (eval.c) ---------------------------------------- */

typedef struct fd_gd_example {
    fd_guard_kind kind; /* FD_GUARD_NONE: benign */
    fd_lang lang;
    fd_str text; /* borrowed from the buffer given to the parser */
} fd_gd_example;

typedef struct fd_gd_set {
    fd_gd_example *v; /* fd_malloc'd */
    size_t n;
} fd_gd_set;

/* Parses "label<TAB>lang<TAB>text" lines ('#' comments and blank lines
 * skipped). Texts point into p, which must outlive the set. FD_EFORMAT with
 * the line number on a bad line. */
int fd_gd_parse(const char *p, size_t len, fd_gd_set *out, fd_err *err) FD_MUST_USE;
void fd_gd_set_free(fd_gd_set *s);

/* The training set compiled into the binary (generated from data/guard). */
extern const unsigned char fd_guard_data[];
extern const size_t fd_guard_data_len;

/* Builds a guard trained on the examples whose skip[i] is 0 (skip may be
 * NULL): cross-validation trains on all folds but one. */
int fd_gd_build(const fd_guard_opts *opts, const fd_gd_set *train, const unsigned char *skip,
                fd_guard **out, fd_err *err) FD_MUST_USE;

/* ---- unicode.c: cleaning and de-obfuscation views ----------------------- */

typedef struct fd_gu_clean {
    fd_str text;      /* invisibles removed, look-alikes mapped; the input if unchanged */
    fd_str touched;   /* words that held an invisible or a look-alike, space-separated */
    fd_str smuggled;  /* ASCII hidden in Unicode tag characters (U+E0020..E007E) */
    size_t n_removed; /* invisible / control code points dropped */
    size_t n_split;   /* of those, how many sat between two letters */
    size_t n_mapped;  /* look-alike or fullwidth code points mapped to ASCII */
    size_t n_mixed;   /* words mixing Latin with Cyrillic/Greek look-alikes */
    int bidi;         /* override or isolate controls were present */
    int changed;
} fd_gu_clean;

/* in must be valid UTF-8. FD_ENOMEM / FD_ETOOBIG from the arena only. */
int fd_gu_clean_text(fd_str in, fd_arena *a, fd_gu_clean *out) FD_MUST_USE;

/* 1 when the text holds nothing but spaces, controls and invisibles. */
int fd_gu_blank(fd_str s);

/* Code points in valid UTF-8. */
size_t fd_gu_count_cp(fd_str s);

/* Words of folded text for rule matching. joined: skip _ . - * + between
 * word characters and keep leet symbols (@ $ ! |), so "r.e.v.e.a.l" and
 * "p@ssw0rd" stay one word. At most max words. */
typedef struct fd_gu_words {
    fd_str *v;
    size_t n;
} fd_gu_words;
int fd_gu_split(fd_str folded, int joined, fd_arena *a, fd_gu_words *out) FD_MUST_USE;

/* Runs of 4+ one-letter words ("i g n o r e") glued into blobs separated by
 * spaces; empty when there are none. */
int fd_gu_spaced(const fd_gu_words *w, fd_arena *a, fd_str *out) FD_MUST_USE;

/* The text reversed code point by code point (for RLO tricks and "read
 * this backwards"). */
int fd_gu_reverse(fd_str s, fd_arena *a, fd_str *out) FD_MUST_USE;

/* ROT13 of ASCII letters. */
int fd_gu_rot13(fd_str s, fd_arena *a, fd_str *out) FD_MUST_USE;

/* Decodes base64 (16+ chars) and hex (16+ digits) segments of s whose
 * bytes are mostly printable text; joins them with newlines. Empty when
 * there are none. */
int fd_gu_decode_segments(fd_str s, fd_arena *a, fd_str *out) FD_MUST_USE;

/* 1 when a folded word or blob contains a word attackers hide ("ignor",
 * "prompt", "password", "consigne"...). */
int fd_gu_has_keyword(fd_str folded);

/* ---- rules.c ------------------------------------------------------------ */

typedef struct fd_gr_rules fd_gr_rules;

int fd_gr_compile(fd_gr_rules **out, fd_err *err) FD_MUST_USE;
void fd_gr_free(fd_gr_rules *r);

typedef struct fd_gr_hit {
    double w;           /* strongest attack rule weight, 0 if none */
    fd_guard_kind kind; /* its kind */
    const char *rule;   /* its name (static) */
    double shield;      /* strongest benign cue (0..1) */
    int paste;          /* the message quotes or forwards pasted content */
    int probe;          /* the strongest hit is a substring probe, not words */
} fd_gr_hit;

/* Word rules over w (leet: digits and symbols stand for letters), plus
 * substring rules over the folded text when folded.p is not NULL. Merges
 * into *hit (keeps the strongest). */
void fd_gr_match(const fd_gr_rules *r, const fd_gu_words *w, fd_str folded, int leet,
                 fd_gr_hit *hit);
/* The same, every rule tried at every word, without the first-word index:
 * the reference the index is tested against. */
void fd_gr_match_scan(const fd_gr_rules *r, const fd_gu_words *w, fd_str folded, int leet,
                      fd_gr_hit *hit);

/* ---- classifier.c ------------------------------------------------------- */

typedef struct fd_gc_model fd_gc_model;

/* Trains a softmax regression over hashed word 1-2-grams and char 3-5-grams
 * of the folded texts (skip[i] set: left out). */
int fd_gc_train(const fd_gd_set *train, const unsigned char *skip, fd_gc_model **out,
                fd_err *err) FD_MUST_USE;
void fd_gc_free(fd_gc_model *m);
/* The trained weights in a cache file, and back. The key ties a file to
 * the training set's bytes and the code that trained it (fd_gc_cache_key);
 * a file of another key, size, build or a failed checksum is FD_EFORMAT. */
uint64_t fd_gc_cache_key(const void *set_bytes, size_t len);
int fd_gc_save(const fd_gc_model *m, uint64_t key, const char *path, fd_err *err) FD_MUST_USE;
int fd_gc_load(const char *path, uint64_t key, fd_gc_model **out, fd_err *err) FD_MUST_USE;

/* P(attack) and the most likely attack kind for folded text. */
int fd_gc_predict(const fd_gc_model *m, fd_str folded, fd_arena *a, double *p_attack,
                  fd_guard_kind *kind) FD_MUST_USE;

/* Sorted unique hashed features of folded text into *idx (arena). */
int fd_gc_features(fd_str folded, fd_arena *a, uint32_t **idx, size_t *n) FD_MUST_USE;

#endif
