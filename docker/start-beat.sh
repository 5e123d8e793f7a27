#!/usr/bin/env bash
set -euo pipefail
exec celery -A config.celery_app beat -l "${LOG_LEVEL:-info}" --schedule /tmp/celerybeat-schedule
