#!/usr/bin/env bash
set -euo pipefail
exec celery -A config.celery_app worker -l "${LOG_LEVEL:-info}"
