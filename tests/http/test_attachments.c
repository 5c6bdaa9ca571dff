/* test_attachments.c: what an upload is, by its bytes (src/http/attachments.c,
 * http_image_type): the four image signatures, and what looks close but is
 * not one (a WAV in RIFF, an SVG, HTML, a truncated header, nothing). */
#include "support.h"
#include "http_int.h"

static void test_image_type(void **state)
{
    (void)state;
    static const struct {
        const char *p;
        size_t n;
        const char *want; /* NULL: refused */
    } cases[] = {
        {"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16, "image/png"},
        {"\xff\xd8\xff\xe0\0\x10JFIF", 10, "image/jpeg"},
        {"\xff\xd8\xff\xdb", 4, "image/jpeg"},
        {"GIF87a\x01\0", 8, "image/gif"},
        {"GIF89a\x01\0", 8, "image/gif"},
        {"RIFF\x1a\0\0\0WEBPVP8L", 16, "image/webp"},
        {"RIFF\x1a\0\0\0WAVEfmt ", 16, NULL},
        {"\x89PNG\r\n\x1a", 7, NULL}, /* cut short */
        {"\xff\xd8", 2, NULL},
        {"GIF90a", 6, NULL},
        {"<svg xmlns=\"http://www.w3.org/2000/svg\"/>", 41, NULL},
        {"<html><script>", 14, NULL},
        {"BM\x36\0\0\0", 6, NULL}, /* BMP: not among the four */
        {"", 0, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *got = http_image_type((const unsigned char *)cases[i].p, cases[i].n);
        if (cases[i].want)
            assert_string_equal(got, cases[i].want);
        else if (got)
            fail_msg("case %zu taken for %s", i, got);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_image_type),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
