#!/usr/bin/env bash
# Make Redis and PostgreSQL reachable on 127.0.0.1, installing them from Debian's packages if needed.
# Services that already answer are left alone (a shared server is never restarted or flushed).
set -euo pipefail

REDIS_PORT="${REDIS_PORT:-6379}"
PG_PORT="${PG_PORT:-5432}"

can_connect() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

apt_install() {
  if [ "$(id -u)" != 0 ]; then
    echo "ensure-services: need root to install $*; install them or start the services yourself" >&2
    return 1
  fi
  if [ -z "${_APT_UPDATED:-}" ]; then apt-get update -qq; _APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

wait_for() {
  for _ in $(seq 1 50); do can_connect "$1" && return 0; sleep 0.2; done
  echo "ensure-services: nothing answers on port $1" >&2
  return 1
}

if can_connect "$REDIS_PORT"; then
  echo "redis: reachable on 127.0.0.1:$REDIS_PORT"
else
  command -v redis-server >/dev/null || apt_install redis-server
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  wait_for "$REDIS_PORT"
  echo "redis: started on 127.0.0.1:$REDIS_PORT"
fi

if can_connect "$PG_PORT"; then
  echo "postgresql: reachable on 127.0.0.1:$PG_PORT"
else
  if [ ! -d /etc/postgresql ] || [ -z "$(ls /etc/postgresql 2>/dev/null)" ]; then
    apt_install postgresql
    version="$(ls /etc/postgresql | sort -V | tail -n 1)"
    # A fresh cluster asks for passwords on TCP; the tests connect as postgres over 127.0.0.1 with trust.
    hba="/etc/postgresql/$version/main/pg_hba.conf"
    sed -i -E 's/^(host\s+all\s+all\s+(127\.0\.0\.1\/32|::1\/128)\s+)\S+/\1trust/' "$hba"
  fi
  version="$(ls /etc/postgresql | sort -V | tail -n 1)"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  wait_for "$PG_PORT"
  echo "postgresql: started on 127.0.0.1:$PG_PORT"
fi

# The test database must exist (tests use their own schemas inside it).
if command -v psql >/dev/null; then
  if ! psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -tAc "select 1" test >/dev/null 2>&1; then
    psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -c "create database test" postgres >/dev/null 2>&1 \
      || su postgres -c "createdb -p $PG_PORT test" || true
  fi
fi
