/* fuzz_sse.c: the LLM client's stream parser fed what an upstream (or a
 * man in the middle) may send, in arbitrary splits, each event's data then
 * parsed as a completion chunk. */
#include "llm_int.h"

#include <stdint.h>

static int on_event(void *ctx, const char *p, size_t n)
{
    (void)ctx;
    fd_llm_chunk c;
    (void)fd_llm_chunk_parse(p, n, &c, NULL);
    fd_llm_chunk_release(&c);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    fd_llm_sse s;
    fd_llm_sse_init(&s, 1 << 16);
    /* The first byte sets the split: the parser must not care. */
    size_t step = (size_t)data[0] % 17 + 1;
    int rc = 0;
    for (size_t i = 1; i < size && !rc; i += step)
        rc = fd_llm_sse_feed(&s, (const char *)data + i, i + step <= size ? step : size - i,
                             on_event, NULL);
    fd_llm_sse_free(&s);
    return 0;
}
