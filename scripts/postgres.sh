#!/usr/bin/env bash
# Makes sure a local PostgreSQL (Debian's package) is running with a role for
# the tests, then prints its URL. Idempotent: installs, starts and creates only
# what is missing. Used by `just test` for the key server's PostgreSQL tests.
set -euo pipefail

say() { printf '==> %s\n' "$*" >&2; }
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo

if ! command -v pg_lsclusters >/dev/null 2>&1; then
  say "installing PostgreSQL (Debian package postgresql)"
  $SUDO apt-get update -qq
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
  $SUDO pg_ctlcluster "$version" "$cluster" start
fi

psql_admin() { $SUDO runuser -u postgres -- psql -p "$port" -qtAX "$@"; }
for _ in $(seq 1 30); do psql_admin -c "SELECT 1" >/dev/null 2>&1 && break; sleep 1; done
if [ "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = 'securedoc_test'")" != "1" ]; then
  say "creating the PostgreSQL role securedoc_test"
  psql_admin -c "CREATE ROLE securedoc_test LOGIN CREATEDB PASSWORD 'securedoc_test'" >/dev/null
fi
echo "postgres://securedoc_test:securedoc_test@127.0.0.1:$port/postgres"
