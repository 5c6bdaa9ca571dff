#!/bin/sh
# entrypoint.sh: the container's first process. Brings the store's schema up
# to date (a failed upgrade stops here, with the reason), loads the
# knowledge base folder FRONTDESK_KB when set (ingest is idempotent: an
# unchanged folder changes nothing), then runs the command given (default
# `serve`) as PID 1's replacement, so SIGTERM reaches the server and drains.
# What the first two print goes to stderr: stdout is the command's.
set -eu
frontdesk migrate >&2
if [ -n "${FRONTDESK_KB:-}" ]; then
  frontdesk ingest "$FRONTDESK_KB" >&2
fi
exec frontdesk "$@"
