#!/usr/bin/env bash
set -euo pipefail
: "${COORD_FLOWER_BASIC_AUTH:?set COORD_FLOWER_BASIC_AUTH=user:password}"
exec celery -A config.celery_app flower --basic-auth="${COORD_FLOWER_BASIC_AUTH}"
