/* test_toml.c: the TOML subset used by escalation.toml and config files. */
#include "support.h"

#include <jansson.h>

static json_t *parse_ok(const char *text)
{
    json_t *j = NULL;
    fd_err err;
    int rc = fd_toml_parse(text, strlen(text), &j, &err);
    if (rc)
        fail_msg("parse failed: %s", err.msg);
    return j;
}

static void parse_bad(const char *text, const char *needle)
{
    json_t *j = NULL;
    fd_err err;
    assert_int_equal(fd_toml_parse(text, strlen(text), &j, &err), FD_EFORMAT);
    assert_null(j);
    if (!strstr(err.msg, needle))
        fail_msg("error '%s' lacks '%s'", err.msg, needle);
}

static void test_tables_arrays(void **state)
{
    (void)state;
    json_t *j = parse_ok("# top\n"
                         "name = \"x\" # trailing\n"
                         "[tiers]\nnames = [\"bot\", \"agent\",\n  \"supervisor\",]\n"
                         "[rules.safety]\ntier = 'supervisor'\npriority = 1\n"
                         "over = 5_000\nratio = -0.5\non = true\n"
                         "a.b = \"dotted\"\nq = \"caf\\u00e9 \\\"x\\\"\"\n");
    assert_string_equal(json_string_value(json_object_get(j, "name")), "x");
    json_t *names = json_object_get(json_object_get(j, "tiers"), "names");
    assert_int_equal(json_array_size(names), 3);
    assert_string_equal(json_string_value(json_array_get(names, 2)), "supervisor");
    json_t *r = json_object_get(json_object_get(j, "rules"), "safety");
    assert_string_equal(json_string_value(json_object_get(r, "tier")), "supervisor");
    assert_int_equal(json_integer_value(json_object_get(r, "over")), 5000);
    assert_true(json_real_value(json_object_get(r, "ratio")) < -0.49);
    assert_true(json_is_true(json_object_get(r, "on")));
    assert_string_equal(json_string_value(json_object_get(json_object_get(r, "a"), "b")), "dotted");
    assert_string_equal(json_string_value(json_object_get(r, "q")), "caf\xc3\xa9 \"x\"");
    json_decref(j);
}

static void test_example_escalation_file(void **state)
{
    (void)state;
    const char *src = getenv("FD_SOURCE_DIR");
    if (!src)
        skip();
    char path[1024];
    snprintf(path, sizeof path, "%s/examples/packaging-supplier/escalation.toml", src);
    char *text;
    size_t len;
    fd_err err;
    assert_int_equal(fd_file_read(path, 0, &text, &len, &err), FD_OK);
    json_t *j = NULL;
    assert_int_equal(fd_toml_parse(text, len, &j, &err), FD_OK);
    json_t *rules = json_object_get(j, "rules");
    assert_true(json_object_size(rules) >= 5);
    assert_true(json_array_size(json_object_get(json_object_get(j, "banned_promises"), "phrases")) >
                10);
    json_decref(j);
    fd_free(text);
}

static void test_errors(void **state)
{
    (void)state;
    parse_bad("a = \"open\n", "line 1: unterminated string");
    parse_bad("x = 1\na = {b = 1}\n", "line 2: inline tables");
    parse_bad("[[t]]\n", "arrays of tables");
    parse_bad("a = 1\na = 2\n", "line 2: duplicate key");
    parse_bad("a = bare\n", "strings need quotes");
    parse_bad("a = [1, 2\n", "unterminated array");
    parse_bad("a = 1 b\n", "unexpected text");
    parse_bad("a = 1\n[a]\n", "already a value");
    parse_bad("= 3\n", "expected a key");
    /* A backslash before a NUL byte: found by fuzz_toml (read past the
     * escape table). */
    static const char nul[] = "a = \"x\\\0y\"\n";
    json_t *j = NULL;
    fd_err err;
    assert_int_equal(fd_toml_parse(nul, sizeof nul - 1, &j, &err), FD_EFORMAT);
    assert_null(j);
    assert_non_null(strstr(err.msg, "bad escape"));
    /* Arrays nested 100000 deep: refused, not a stack overflow (found by
     * fuzz_toml in make test). 32 levels still parse. */
    size_t deep = 100000;
    char *t = fd_malloc(deep + 8);
    memcpy(t, "a = ", 4);
    memset(t + 4, '[', deep);
    assert_int_equal(fd_toml_parse(t, deep + 4, &j, &err), FD_EFORMAT);
    assert_non_null(strstr(err.msg, "nested too deep"));
    char ok[80] = "a = ";
    for (int i = 0; i < 32; i++)
        strcat(ok, "[");
    for (int i = 0; i < 32; i++)
        strcat(ok, "]");
    assert_int_equal(fd_toml_parse(ok, strlen(ok), &j, &err), FD_OK);
    json_decref(j);
    fd_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tables_arrays),
        cmocka_unit_test(test_example_escalation_file),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
