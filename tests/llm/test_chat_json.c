/* test_chat_json.c: the request body (fields, omissions, bad input) and the
 * parsing of chunks and whole answers, including error objects and junk. */
#include "support.h"

#include "llm_int.h"

#include <jansson.h>
#include <string.h>

static json_t *build(const fd_llm_request *req, const char *model, int max_tokens, double temp,
                     int stream)
{
    char *p;
    size_t n;
    fd_err err;
    assert_int_equal(fd_llm_body_build(req, model, max_tokens, temp, stream, &p, &n, &err), FD_OK);
    assert_int_equal(strlen(p), n);
    json_t *j = json_loadb(p, n, 0, NULL);
    assert_non_null(j);
    fd_free(p);
    return j;
}

static void test_body(void **state)
{
    (void)state;
    fd_llm_msg msgs[] = {{"system", "Be brief."}, {"user", "Héllo \"quoted\"\n[1] x"}};
    fd_llm_request req = {msgs, 2, 0, -1, NULL, NULL};
    json_t *j = build(&req, "gpt-4o-mini", 400, 0.2, 1);
    assert_string_equal(json_string_value(json_object_get(j, "model")), "gpt-4o-mini");
    assert_int_equal(json_integer_value(json_object_get(j, "max_tokens")), 400);
    assert_true(json_real_value(json_object_get(j, "temperature")) == 0.2);
    assert_true(json_is_true(json_object_get(j, "stream")));
    assert_true(
        json_is_true(json_object_get(json_object_get(j, "stream_options"), "include_usage")));
    json_t *m = json_object_get(j, "messages");
    assert_int_equal(json_array_size(m), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(m, 0), "role")), "system");
    assert_string_equal(json_string_value(json_object_get(json_array_get(m, 1), "content")),
                        msgs[1].content);
    json_decref(j);

    /* Not streamed, no model, no temperature: those keys are left out. */
    j = build(&req, "", 0, -1, 0);
    assert_null(json_object_get(j, "model"));
    assert_null(json_object_get(j, "stream"));
    assert_null(json_object_get(j, "stream_options"));
    assert_null(json_object_get(j, "temperature"));
    assert_null(json_object_get(j, "max_tokens"));
    json_decref(j);
}

static void test_body_errors(void **state)
{
    (void)state;
    char *p = (char *)"x";
    size_t n = 1;
    fd_err err;
    fd_llm_request none = {NULL, 0, 0, -1, NULL, NULL};
    assert_int_equal(fd_llm_body_build(&none, "m", 1, 0, 1, &p, &n, &err), FD_EINVAL);
    assert_null(p);
    fd_llm_msg bad_utf8[] = {{"user", "caf\xc3"}};
    fd_llm_request r1 = {bad_utf8, 1, 0, -1, NULL, NULL};
    assert_int_equal(fd_llm_body_build(&r1, "m", 1, 0, 1, &p, &n, &err), FD_EINVAL);
    assert_string_equal(err.field, "messages");
    fd_llm_msg no_role[] = {{NULL, "hi"}};
    fd_llm_request r2 = {no_role, 1, 0, -1, NULL, NULL};
    assert_int_equal(fd_llm_body_build(&r2, "m", 1, 0, 1, &p, &n, &err), FD_EINVAL);
    fd_llm_msg no_text[] = {{"user", NULL}};
    fd_llm_request r3 = {no_text, 1, 0, -1, NULL, NULL};
    assert_int_equal(fd_llm_body_build(&r3, "m", 1, 0, 1, &p, &n, &err), FD_EINVAL);
}

static const struct {
    const char *in;
    int rc;
    const char *content; /* NULL: none */
    const char *finish;  /* NULL: none */
    int has_usage;
    int64_t pt, ct;
    const char *error;
} chunks[] = {
    {"{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"},\"finish_reason\":null}]}", FD_OK,
     "Hel", NULL, 0, 0, 0, NULL},
    {"{\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}", FD_OK, NULL, NULL, 0,
     0, 0, NULL},
    {"{\"choices\":[{\"delta\":{},\"finish_reason\":\"length\"}]}", FD_OK, NULL, "length", 0, 0, 0,
     NULL},
    {"{\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":5}}", FD_OK, NULL, NULL,
     1, 12, 5, NULL},
    {"{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"Whole.\"},"
     "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2}}",
     FD_OK, "Whole.", "stop", 1, 3, 2, NULL},
    {"{\"choices\":[{\"delta\":{\"content\":null}}]}", FD_OK, NULL, NULL, 0, 0, 0, NULL},
    {"{\"error\":{\"message\":\"model overloaded\",\"type\":\"server_error\"}}", FD_OK, NULL, NULL,
     0, 0, 0, "model overloaded"},
    {"{\"error\":\"plain text error\"}", FD_OK, NULL, NULL, 0, 0, 0, "plain text error"},
    {"{\"choices\":[{\"delta\":{\"content\":\"a\\u0000b\"}}]}", FD_EUPSTREAM, NULL, NULL, 0, 0, 0,
     NULL},
    {"{\"choices\":[{\"delta\":{\"content\":\"oops", FD_EUPSTREAM, NULL, NULL, 0, 0, 0, NULL},
    {"[1,2]", FD_EUPSTREAM, NULL, NULL, 0, 0, 0, NULL},
    {"", FD_EUPSTREAM, NULL, NULL, 0, 0, 0, NULL},
};

static void test_chunks(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
        fd_llm_chunk ch;
        fd_err err;
        int rc = fd_llm_chunk_parse(chunks[i].in, strlen(chunks[i].in), &ch, &err);
        if (rc != chunks[i].rc)
            fail_msg("chunk %zu: rc %d, want %d", i, rc, chunks[i].rc);
        if (chunks[i].content) {
            assert_non_null(ch.content);
            assert_int_equal(ch.content_len, strlen(chunks[i].content));
            assert_memory_equal(ch.content, chunks[i].content, ch.content_len);
        } else {
            assert_int_equal(ch.content_len, 0);
        }
        if (chunks[i].finish)
            assert_string_equal(ch.finish_reason, chunks[i].finish);
        else
            assert_null(ch.finish_reason);
        assert_int_equal(ch.has_usage, chunks[i].has_usage);
        assert_int_equal(ch.prompt_tokens, chunks[i].pt);
        assert_int_equal(ch.completion_tokens, chunks[i].ct);
        if (chunks[i].error)
            assert_string_equal(ch.error, chunks[i].error);
        else
            assert_null(ch.error);
        fd_llm_chunk_release(&ch);
    }
}

static void test_error_message(void **state)
{
    (void)state;
    char msg[16];
    const char *body = "{\"error\":{\"message\":\"a rather long message\"}}";
    fd_llm_error_message(body, strlen(body), msg, sizeof msg);
    assert_string_equal(msg, "a rather long m");
    fd_llm_error_message("<html>502</html>", 16, msg, sizeof msg);
    assert_string_equal(msg, "");
    fd_llm_error_message("", 0, msg, sizeof msg);
    assert_string_equal(msg, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_body),
        cmocka_unit_test(test_body_errors),
        cmocka_unit_test(test_chunks),
        cmocka_unit_test(test_error_message),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
