#!/usr/bin/env bash
# Makes sure a local PostgreSQL (Debian's package) is running with a role for
# the tests, then prints its URL. Idempotent: installs, starts and creates only
# what is missing. Used by `just test` for the key server's PostgreSQL tests.
set -euo pipefail
# Only the URL may reach stdout (the caller captures it): everything the
# package tools print goes to stderr. (pg_ctlcluster, for one, prints
# "Removed stale pid file." on stdout after an unclean stop.)

say() { printf '==> %s\n' "$*" >&2; }
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo

if ! command -v pg_lsclusters >/dev/null 2>&1; then
  say "installing PostgreSQL (Debian package postgresql)"
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
fi

# The first cluster Debian made (e.g. "15 main 5432 down postgres ...").
read -r version cluster port status _ < <(pg_lsclusters --no-header | head -n 1) || true
if [ -z "${version:-}" ]; then
  version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
  say "creating PostgreSQL cluster $version/main"
  $SUDO pg_createcluster "$version" main >/dev/null
  read -r version cluster port status _ < <(pg_lsclusters --no-header | head -n 1)
fi
if [ "$status" != "online" ]; then
  say "starting PostgreSQL $version/$cluster on port $port"
  # The server outlives this script: it must not hold the caller's pipes
  # open, or "$(scripts/postgres.sh)" would wait for it for ever.
  start_log=$(mktemp)
  start() { $SUDO pg_ctlcluster "$version" "$cluster" start </dev/null >"$start_log" 2>&1; }
  if ! start; then
    # After an unclean stop (a machine restored from a snapshot, say) the
    # socket's lock file can outlive its server; with no server running it is
    # stale, and PostgreSQL starts once it is gone.
    if ! pgrep -u postgres -x postgres >/dev/null; then
      say "removing a stale PostgreSQL socket lock and starting again"
      $SUDO rm -f "/var/run/postgresql/.s.PGSQL.$port.lock" "/var/run/postgresql/.s.PGSQL.$port"
    fi
    if ! start; then
      cat "$start_log" >&2
      tail -n 20 "/var/log/postgresql/postgresql-$version-$cluster.log" >&2 || true
      exit 1
    fi
  fi
  rm -f "$start_log"
fi

psql_admin() { $SUDO runuser -u postgres -- psql -p "$port" -qtAX "$@"; }
for _ in $(seq 1 30); do psql_admin -c "SELECT 1" >/dev/null 2>&1 && break; sleep 1; done
if [ "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = 'securedoc_test'")" != "1" ]; then
  say "creating the PostgreSQL role securedoc_test"
  psql_admin -c "CREATE ROLE securedoc_test LOGIN CREATEDB PASSWORD 'securedoc_test'" >/dev/null
fi
echo "postgres://securedoc_test:securedoc_test@127.0.0.1:$port/postgres"
