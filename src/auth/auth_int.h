/* auth/auth_int.h: private to src/auth/ and its tests. */
#ifndef FD_AUTH_INT_H
#define FD_AUTH_INT_H

#include "auth.h"

/* last_used_at is written at most this often per key, so a busy key does
 * not turn every request into a database write. */
#define AUTH_TOUCH_INTERVAL_S 60.0

#define AUTH_SCOPES_ALL (FD_SCOPE_CHAT | FD_SCOPE_INGEST | FD_SCOPE_OPERATOR | FD_SCOPE_ADMIN | FD_SCOPE_ORDERS)

/* n bytes as base64url without padding into out (4 * ceil(n / 3) + 1 bytes
 * is enough); returns the length written. */
size_t auth_base64url(const unsigned char *p, size_t n, char *out);
/* 1 when key is "fdk_" + 43 base64url characters and nothing more. */
int auth_key_wellformed(const char *key);
/* n bytes from getrandom (fault point "auth.getrandom"): FD_EIO when the
 * system has none. */
int auth_random_bytes(unsigned char *p, size_t n, fd_err *err);

#endif
