#!/usr/bin/env bash
# Restores the Odoo 19 demo pg_dump into a local PostgreSQL database, once (idempotent).
# Usage: restore.sh [DUMP]     stdout: the database name; progress on stderr.
# Env: FERRY_ODOO_DUMP (default /work/shared/samples/odoo19/pg_dump_ferry_demo.sql.gz),
#      FERRY_ODOO_DB (default ferry_odoo19_e2e), PGHOST/PGPORT/PGUSER (default 127.0.0.1/5432/postgres).
set -euo pipefail
DUMP=${1:-${FERRY_ODOO_DUMP:-/work/shared/samples/odoo19/pg_dump_ferry_demo.sql.gz}}
DB=${FERRY_ODOO_DB:-ferry_odoo19_e2e}
export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-postgres}
[ -r "$DUMP" ] || { echo "restore.sh: dump not found: $DUMP" >&2; exit 1; }
# A database is complete once the restore committed and marked it (see below).
done_mark() {
    psql -XAtq -d postgres -c "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = '$DB'" 2>/dev/null \
        | grep -qx 'ferry-restored'
}
exec 9>"${TMPDIR:-/tmp}/ferry-odoo-restore-$DB.lock"
flock -w 900 9
if done_mark; then echo "$DB"; exit 0; fi
echo "restore.sh: restoring $DUMP into $DB" >&2
psql -XAtq -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS \"$DB\"" >&2
psql -XAtq -d postgres -c "CREATE DATABASE \"$DB\" TEMPLATE template0 ENCODING 'UTF8'" >&2
# \restrict / \unrestrict (pg_dump 15.14+) are unknown to older psql: strip them there.
FILTER=cat
if ! psql -XAtq -d "$DB" -c '\restrict x' -c '\unrestrict x' >/dev/null 2>&1; then
    FILTER="grep -v -e ^\\\\restrict -e ^\\\\unrestrict"
fi
case "$DUMP" in *.gz) CAT="gzip -dc" ;; *) CAT=cat ;; esac
$CAT "$DUMP" | $FILTER | psql -Xq -v ON_ERROR_STOP=1 --single-transaction -d "$DB" >/dev/null
psql -XAtq -d "$DB" -c "COMMENT ON DATABASE \"$DB\" IS 'ferry-restored'" >&2
echo "$DB"
