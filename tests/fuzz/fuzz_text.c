/* fuzz_text.c: the text pipeline every customer message and document goes
 * through: UTF-8 check, folding, tokenizing, analyzing (en and fr),
 * language guess. Invalid UTF-8 must be refused, never read past. */
#include "text.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fd_str in = {(const char *)data, size};
    static fd_analyzer *an;
    if (!an && fd_analyzer_new(&an, NULL) != FD_OK)
        return 0;
    fd_arena *a = fd_arena_new(0);
    if (!a)
        return 0;
    size_t bad;
    if (fd_utf8_valid(in.p, in.len, &bad)) {
        fd_str f;
        fd_tokens t;
        fd_terms terms;
        (void)fd_text_fold(in, a, &f, NULL);
        (void)fd_text_tokenize(in, a, &t, NULL);
        (void)fd_analyzer_terms(an, in, FD_LANG_EN, a, &terms, NULL);
        (void)fd_analyzer_terms(an, in, FD_LANG_FR, a, &terms, NULL);
        (void)fd_text_guess_lang(in);
    } else {
        fd_str f;
        if (fd_text_fold(in, a, &f, NULL) == FD_OK)
            __builtin_trap(); /* invalid UTF-8 must be refused */
    }
    fd_arena_free(a);
    return 0;
}
