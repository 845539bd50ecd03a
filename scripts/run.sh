#!/usr/bin/env bash
# Start Odoo with depanssur and its demo data on a private PostgreSQL cluster (.pgdata/).
# A second run reuses the database. DEPANSSUR_DB, DEPANSSUR_HTTP_PORT and DEPANSSUR_PGPORT override.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

if ! have_odoo; then
    odoo_missing_message
    exit 1
fi
db="${DEPANSSUR_DB:-depanssur}"
port="${DEPANSSUR_HTTP_PORT:-8069}"
pg_start
extra=()
if ! db_exists "$db"; then
    log "creating database '$db' with depanssur and demo data (first run: a few minutes)"
    extra=(-i depanssur --with-demo --load-language=fr_FR)
elif [ "${DEPANSSUR_UPDATE:-0}" = "1" ]; then
    extra=(-u depanssur)
fi
log "Odoo on http://127.0.0.1:$port  (login: admin / password: admin, database: $db)"
exec "$PYTHON" -m odoo "${extra[@]}" -d "$db" --db-filter="^${db}\$" \
    --addons-path="$(odoo_addons_path)" --db_host="$PGHOST_LOCAL" --db_port="$PGPORT_LOCAL" \
    --db_user="$PG_SUPERUSER" --data-dir="$ODOO_DATA_DIR" \
    --http-interface=127.0.0.1 --http-port="$port" "$@"
