#!/usr/bin/env bash
# One shot: create or upgrade the archive tables (Alembic); the other services start once it succeeded.
set -euo pipefail
exec coord db upgrade
