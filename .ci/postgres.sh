#!/usr/bin/env bash
# Install (apt) and start PostgreSQL with PostGIS on loopback for the ledger and store tests;
# prints the connection URL the tests read from LANTU_TEST_POSTGRES_URL.
set -euo pipefail
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || ! ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1; then
    echo "[ci] installing postgresql and postgis with apt" >&2
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq postgresql postgis >/dev/null
fi
version=$(ls /usr/lib/postgresql | sort -n | tail -1)
if ! pg_lsclusters -h | grep -q "^$version main"; then
    as_root pg_createcluster "$version" main >/dev/null
fi
as_root pg_ctlcluster "$version" main start >/dev/null 2>&1 || true
for _ in $(seq 1 30); do
    as_root su postgres -c "pg_isready -q -h 127.0.0.1" && break
    sleep 1
done
as_root su postgres -c "psql -q -tc \"SELECT 1 FROM pg_roles WHERE rolname='lantu'\" | grep -q 1 \
    || psql -q -c \"CREATE ROLE lantu LOGIN SUPERUSER PASSWORD 'lantu'\"" >/dev/null
as_root su postgres -c "psql -q -tc \"SELECT 1 FROM pg_database WHERE datname='lantu_test'\" | grep -q 1 \
    || createdb -O lantu lantu_test" >/dev/null
echo "postgresql+psycopg://lantu:lantu@127.0.0.1:5432/lantu_test"
