/* breaker.c: the circuit breaker. While the LLM is down, failing fast lets
 * the caller answer extractively at once instead of making every customer
 * wait for the full timeout. The caller holds the client's lock. */
#include "llm_int.h"

void fd_llm_breaker_init(fd_llm_breaker *b, int threshold, int open_ms)
{
    b->state = FD_BREAKER_CLOSED;
    b->failures = 0;
    b->threshold = threshold > 0 ? threshold : 1;
    b->open_ns = (uint64_t)(open_ms > 0 ? open_ms : 0) * 1000000u;
    b->opened_at = 0;
    b->trial = 0;
}

const char *fd_breaker_state_name(fd_breaker_state s)
{
    switch (s) {
    case FD_BREAKER_CLOSED:
        return "closed";
    case FD_BREAKER_OPEN:
        return "open";
    case FD_BREAKER_HALF_OPEN:
        return "half_open";
    }
    return "unknown";
}

fd_breaker_state fd_llm_breaker_state(const fd_llm_breaker *b, uint64_t now)
{
    if (b->state == FD_BREAKER_OPEN && now - b->opened_at >= b->open_ns)
        return FD_BREAKER_HALF_OPEN;
    return b->state;
}

int fd_llm_breaker_allow(fd_llm_breaker *b, uint64_t now, int *trial)
{
    *trial = 0;
    b->state = fd_llm_breaker_state(b, now);
    if (b->state == FD_BREAKER_CLOSED)
        return 1;
    if (b->state == FD_BREAKER_OPEN || b->trial)
        return 0;
    /* Half-open: exactly one call probes the upstream; the rest keep
     * failing fast until it tells us which way to go. */
    b->trial = 1;
    *trial = 1;
    return 1;
}

static void trip(fd_llm_breaker *b, uint64_t now)
{
    b->state = FD_BREAKER_OPEN;
    b->opened_at = now;
}

void fd_llm_breaker_record(fd_llm_breaker *b, fd_llm_outcome o, int trial, uint64_t now)
{
    if (trial) {
        b->trial = 0;
        if (o == FD_LLM_OUTCOME_OK) {
            b->state = FD_BREAKER_CLOSED;
            b->failures = 0;
        } else if (o == FD_LLM_OUTCOME_FAIL) {
            trip(b, now);
        }
        return;
    }
    /* Calls started before the circuit opened finish while it is open:
     * only the trial call may move it then, or one late straggler would
     * close (or re-open) it on stale evidence. */
    if (b->state != FD_BREAKER_CLOSED)
        return;
    if (o == FD_LLM_OUTCOME_OK) {
        b->failures = 0;
    } else if (o == FD_LLM_OUTCOME_FAIL && ++b->failures >= b->threshold) {
        trip(b, now);
    }
}
