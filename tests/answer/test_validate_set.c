/* test_validate_set.c: the validator measured both ways on
 * tests/data/answer/validator_set.jsonl: every corrupted answer (invented
 * price, wrong count of days, invented date, banned promise, extra claim)
 * must be blocked, and at most 5% of faithful paraphrases. Banned phrases
 * come from the example KB's escalation.toml. */
#include "support.h"
#include "answer_int.h"

#include <jansson.h>
#include <stdlib.h>

#define MAX_BANNED 64

typedef struct banned_list {
    char *v[MAX_BANNED];
    size_t n;
    char *file;
} banned_list;

/* The quoted strings of escalation.toml's `phrases = [...]` line. */
static void load_banned(const char *src, banned_list *bl)
{
    char path[1024];
    size_t len;
    fd_err err;
    snprintf(path, sizeof path, "%s/examples/packaging-supplier/escalation.toml", src);
    assert_int_equal(fd_file_read(path, 0, &bl->file, &len, &err), FD_OK);
    char *line = strstr(bl->file, "\nphrases = [");
    assert_non_null(line);
    char *p = line + 12, *end = strchr(p, ']');
    while (p < end && bl->n < MAX_BANNED) {
        char *q = strchr(p, '"');
        if (!q || q > end)
            break;
        char *r = strchr(q + 1, '"');
        *r = 0;
        bl->v[bl->n++] = q + 1;
        p = r + 1;
    }
    assert_true(bl->n >= 10);
}

typedef struct tally {
    size_t faithful, faithful_blocked, corrupted, corrupted_blocked;
    size_t facts, facts_blocked; /* invented numbers and banned promises */
} tally;

static int run(fd_analyzer *an, fd_arena *a, const banned_list *bl, const char *q,
               const fd_passage *p, size_t n, const char *text, fd_validation *v)
{
    fd_err err;
    fd_validate_opts o = {(const char *const *)bl->v, bl->n, fd_str_c(q), FD_LANG_UNKNOWN, 0};
    int rc = fd_answer_validate(an, fd_str_c(text), p, n, &o, a, v, &err);
    assert_int_equal(rc, FD_OK);
    return v->ok;
}

static void one_case(fd_analyzer *an, fd_arena *a, const banned_list *bl, json_t *c, tally *t)
{
    const char *q = json_string_value(json_object_get(c, "question"));
    json_t *ps = json_object_get(c, "passages");
    size_t n = json_array_size(ps);
    fd_passage p[8];
    assert_true(n > 0 && n <= 8);
    for (size_t i = 0; i < n; i++) {
        json_t *j = json_array_get(ps, i);
        p[i] = (fd_passage){json_string_value(json_object_get(j, "doc_key")),
                            json_string_value(json_object_get(j, "title")),
                            json_string_value(json_object_get(j, "section")),
                            json_string_value(json_object_get(j, "text")), 1.0f};
    }
    size_t k;
    json_t *x;
    fd_validation v;
    json_array_foreach(json_object_get(c, "faithful"), k, x) {
        const char *text = json_string_value(x);
        t->faithful++;
        if (!run(an, a, bl, q, p, n, text, &v)) {
            t->faithful_blocked++;
            print_message("  faithful blocked (%s: %s): %s\n", fd_val_reason_name(v.reason),
                          v.detail ? v.detail : "", text);
        }
    }
    json_array_foreach(json_object_get(c, "corrupted"), k, x) {
        const char *text = json_string_value(json_object_get(x, "text"));
        const char *kind = json_string_value(json_object_get(x, "kind"));
        int fact = !strcmp(kind, "number") || !strcmp(kind, "banned");
        t->corrupted++;
        t->facts += fact;
        if (run(an, a, bl, q, p, n, text, &v)) {
            print_message("  corrupted PASSED (%s): %s\n", kind, text);
        } else {
            t->corrupted_blocked++;
            t->facts_blocked += fact;
        }
    }
}

static void test_validator_set(void **state)
{
    (void)state;
    const char *src = getenv("FD_SOURCE_DIR");
    assert_non_null(src);
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/data/answer/validator_set.jsonl", src);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    banned_list bl = {{0}, 0, NULL};
    load_banned(src, &bl);
    fd_analyzer *an;
    fd_err err;
    assert_int_equal(fd_analyzer_new(&an, &err), FD_OK);
    fd_arena *a = fd_arena_new(0);
    tally t = {0};
    size_t n_cases = 0;
    char line[65536];
    while (fgets(line, sizeof line, f)) {
        json_t *c = json_loads(line, 0, NULL);
        assert_non_null(c);
        one_case(an, a, &bl, c, &t);
        json_decref(c);
        fd_arena_reset(a);
        n_cases++;
    }
    fclose(f);
    print_message("validator set: %zu cases; corrupted blocked %zu/%zu (%.1f%%); faithful "
                  "blocked %zu/%zu (%.1f%%)\n",
                  n_cases, t.corrupted_blocked, t.corrupted, 100.0 * t.corrupted_blocked / t.corrupted,
                  t.faithful_blocked, t.faithful, 100.0 * t.faithful_blocked / t.faithful);
    print_message("  of which invented numbers and banned promises: %zu/%zu blocked\n",
                  t.facts_blocked, t.facts);
    assert_true(n_cases >= 40);
    /* Invented facts and banned promises: all of them. Reworded claims with
     * no new fact ("leaves the goods outside your door") need meaning, not
     * term overlap; the few that pass are listed above and in the report. */
    assert_int_equal(t.facts_blocked, t.facts);
    assert_true(t.corrupted_blocked * 100 >= t.corrupted * 95);
    assert_true(t.faithful_blocked * 20 <= t.faithful); /* at most 5% */
    fd_arena_free(a);
    fd_analyzer_free(an);
    fd_free(bl.file);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_validator_set)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
