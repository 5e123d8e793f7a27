#!/usr/bin/env bash
# The read-only web view (coord ui); address and port from COORD_WEB_HOST / COORD_WEB_PORT.
set -euo pipefail
exec coord ui
