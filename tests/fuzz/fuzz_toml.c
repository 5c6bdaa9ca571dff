/* fuzz_toml.c: the configuration parser (frontdesk.toml and the KB's
 * escalation.toml, which a company writes). */
#include "core.h"

#include <jansson.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *out = NULL;
    fd_err err;
    if (fd_toml_parse((const char *)data, size, &out, &err) == FD_OK)
        json_decref(out);
    return 0;
}
