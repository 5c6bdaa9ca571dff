/* test_price.c: the price table "model=in/out;..." as a table of cases:
 * spacing, empty entries, unknown models, exact names, bad numbers anywhere
 * in the table. */
#include "support.h"

#include "llm_int.h"

#include <math.h>

static const struct {
    const char *table, *model;
    int64_t in, out;
    int rc;
    double usd;
} cases[] = {
    {"gpt-4o-mini=0.15/0.60;gpt-4o=2.50/10.00", "gpt-4o-mini", 1000000, 1000000, FD_OK, 0.75},
    {"gpt-4o-mini=0.15/0.60;gpt-4o=2.50/10.00", "gpt-4o", 2000, 1000, FD_OK, 0.015},
    {"gpt-4o-mini=0.15/0.60", "llama3", 1000000, 1000000, FD_OK, 0},
    {"gpt-4o=2.5/10", "gpt-4o-mini", 1000000, 0, FD_OK, 0}, /* names match exactly */
    {"", "gpt-4o", 1000, 1000, FD_OK, 0},
    {NULL, "gpt-4o", 1000, 1000, FD_OK, 0},
    {" a = 1 / 2 ; b=3/4 ;", "b", 1000000, 1000000, FD_OK, 7},
    {"a=1/2;;b=3/4;", "a", 1000000, 1000000, FD_OK, 3},
    {"a=1e1/0", "a", 100000, 5, FD_OK, 1},
    {"a=1/2;a=5/5", "a", 1000000, 0, FD_OK, 1}, /* the first entry wins */
    {"a=1/2", NULL, 10, 10, FD_OK, 0},
    {"a=1/2", "a", 0, 0, FD_OK, 0},
    {"a=1", "a", 1, 1, FD_EINVAL, 0},
    {"a=x/2", "a", 1, 1, FD_EINVAL, 0},
    {"=1/2", "a", 1, 1, FD_EINVAL, 0},
    {"a=-1/2", "a", 1, 1, FD_EINVAL, 0},
    {"a=+1/2", "a", 1, 1, FD_EINVAL, 0},
    {"a=1/2/3", "a", 1, 1, FD_EINVAL, 0},
    {"a=/2", "a", 1, 1, FD_EINVAL, 0},
    {"a=inf/1", "a", 1, 1, FD_EINVAL, 0},
    {"a=nan/1", "a", 1, 1, FD_EINVAL, 0},
    {"a=1/2;b", "a", 1, 1, FD_EINVAL, 0}, /* a typo after the match still fails */
    {"a=1/2", "a", -1, 1, FD_EINVAL, 0},
};

static void test_price_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double usd = -1;
        fd_err err;
        int rc =
            fd_llm_price(cases[i].table, cases[i].model, cases[i].in, cases[i].out, &usd, &err);
        if (rc != cases[i].rc)
            fail_msg("case %zu (%s): rc %d, want %d", i, cases[i].table, rc, cases[i].rc);
        if (fabs(usd - cases[i].usd) > 1e-9)
            fail_msg("case %zu: usd %g, want %g", i, usd, cases[i].usd);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_price_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
