#!/usr/bin/env bash
# Flower behind basic authentication. The credentials reach Flower through its environment (FLOWER_BASIC_AUTH),
# never on its command line, where `ps` and `docker top` would show them. Bind address and port are Flower's own
# settings, FLOWER_ADDRESS (127.0.0.1 unless set) and FLOWER_PORT (5555).
# Note: Flower serves /metrics and /healthcheck without authentication (see docs/operations.md).
set -euo pipefail
: "${COORD_FLOWER_BASIC_AUTH:?set COORD_FLOWER_BASIC_AUTH=user:password}"
export FLOWER_BASIC_AUTH="${COORD_FLOWER_BASIC_AUTH}"
export FLOWER_ADDRESS="${FLOWER_ADDRESS:-127.0.0.1}"
exec celery -A config.celery_app flower
