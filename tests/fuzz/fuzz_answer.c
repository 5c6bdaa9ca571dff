/* fuzz_answer.c: the extractive composer and the validator on any
 * document text (a company's pages are outside bytes too) and any
 * question. Input: question, then passages, separated by NUL bytes. */
#include "answer.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static fd_analyzer *an;
    if (!an && fd_analyzer_new(&an, NULL) != FD_OK)
        return 0;
    char *buf = fd_malloc(size + 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    const char *parts[9];
    size_t n = 0;
    for (char *p = buf; n < 9;) {
        parts[n++] = p;
        char *z = memchr(p, '\0', size - (size_t)(p - buf));
        if (!z || z == buf + size)
            break;
        p = z + 1;
    }
    fd_passage ps[8];
    for (size_t i = 1; i < n; i++)
        ps[i - 1] = (fd_passage){i % 2 ? "a.md" : "b.md", "Title", i % 3 ? "Title > Part" : "",
                                 parts[i], (float)(n - i)};
    fd_arena *a = fd_arena_new(0);
    if (a) {
        fd_answer ans;
        fd_answer_opts o = {.max_sentences = 3};
        if (fd_answer_extract(an, fd_str_c(parts[0]), ps, n - 1, &o, a, &ans, NULL) == FD_OK) {
            fd_validation v;
            fd_validate_opts vo = {.verbatim = 1};
            (void)fd_answer_validate(an, fd_str_c(ans.text), ps, n - 1, &vo, a, &v, NULL);
        }
        fd_validation v;
        (void)fd_answer_validate(an, fd_str_c(parts[0]), ps, n - 1, NULL, a, &v, NULL);
    }
    fd_arena_free(a);
    fd_free(buf);
    return 0;
}
