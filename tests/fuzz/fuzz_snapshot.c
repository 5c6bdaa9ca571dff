/* fuzz_snapshot.c: the index snapshot loader on damaged files. A snapshot
 * is mapped at start; a corrupt or foreign one must be refused (and then
 * rebuilt from the store), never trusted. The input is written to a file
 * and loaded as the server would load it. */
#include "kb_int.h"

#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[64];
    if (!path[0])
        snprintf(path, sizeof path, "/tmp/fuzz_snapshot.%d.snap", (int)getpid());
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    if (size)
        fwrite(data, 1, size, f);
    fclose(f);
    kb_index *ix = NULL;
    fd_err err;
    if (kb_index_load(path, &ix, &err) == FD_OK)
        kb_index_free(ix);
    unlink(path);
    return 0;
}
