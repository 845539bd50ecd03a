#!/usr/bin/env bash
# Start Odoo with depanssur and its demo data on a private PostgreSQL cluster (.pgdata/).
# Provisions Odoo 19.0 first when no Python imports it (scripts/provision.sh). The first run creates
# the database (demo data, French loaded, the admin user in French, a sample year of clients);
# a second run reuses it.
# DEPANSSUR_DB, DEPANSSUR_HTTP_PORT and DEPANSSUR_PGPORT override; DEPANSSUR_UPDATE=1 upgrades.
# Odoo runs multi-process with queue_job's runner and DEPANSSUR_JOB_WORKERS (2) job workers.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

provision
db="${DEPANSSUR_DB:-depanssur}"
port="${DEPANSSUR_HTTP_PORT:-8069}"
pg_start
if ! db_exists "$db"; then
    stage database "creating '$db' with depanssur, its demo data and French (first run: a few minutes)"
    if ! odoo_cmd -d "$db" -i depanssur --with-demo --load-language=fr_FR --stop-after-init \
        --http-interface=127.0.0.1 --http-port=0 --log-level=warn >"$ROOT/.odoo-install.log" 2>&1; then
        tail -n 40 "$ROOT/.odoo-install.log" >&2
        psql_local -c "DROP DATABASE IF EXISTS \"$db\"" >/dev/null
        stage_fail database "installing depanssur in '$db' (log: .odoo-install.log)"
    fi
    # The demo is for French back-office agents: the admin user, the demo users of each role, the
    # system user running the scheduled jobs (OdooBot) and the company's partner in French.
    odoo_cmd shell -d "$db" --no-http --log-level=warn >>"$ROOT/.odoo-install.log" 2>&1 <<'PY' \
        || stage_fail database "setting the admin user's language (log: .odoo-install.log)"
for xmlid in ("base.user_admin", "base.user_root", "depanssur.user_demo_agent",
              "depanssur.user_demo_accounting", "depanssur.user_demo_manager"):
    env.ref(xmlid).write({"lang": "fr_FR", "tz": "Europe/Paris"})
env.ref("base.main_partner").lang = "fr_FR"
env.cr.commit()
PY
    # A book that tells a year: ~300 fictitious clients over the last 18 months, played through
    # the product's own methods, so that the dashboard and the analyses show curves at once.
    # DEPANSSUR_SAMPLE_CLIENTS sets its size (0: none).
    clients="${DEPANSSUR_SAMPLE_CLIENTS:-300}"
    if [ "$clients" -gt 0 ]; then
        stage database "generating a sample year ($clients clients over 18 months; see the README for how long)"
        DEPANSSUR_SAMPLE_CLIENTS="$clients" odoo_cmd shell -d "$db" --no-http --log-level=warn \
            >>"$ROOT/.odoo-install.log" 2>&1 <<'PY' \
            || stage_fail database "generating the sample year (log: .odoo-install.log)"
import os
env["depanssur.sample.year"]._generate(clients=int(os.environ["DEPANSSUR_SAMPLE_CLIENTS"]))
env.cr.commit()
PY
    fi
elif [ "${DEPANSSUR_UPDATE:-0}" = "1" ]; then
    stage database "upgrading depanssur in '$db'"
    odoo_cmd -d "$db" -u depanssur --stop-after-init --http-interface=127.0.0.1 --http-port=0 \
        --log-level=warn >"$ROOT/.odoo-install.log" 2>&1 \
        || stage_fail database "upgrading depanssur in '$db' (log: .odoo-install.log)"
fi
# The daily run and webhook processing go through OCA queue_job: its job runner is loaded as a
# server-wide module and sends the jobs to the HTTP workers (DEPANSSUR_JOB_WORKERS of them, and as
# many jobs at a time: `[queue_job] channels = root:N`, queue_job's own configuration).
workers="${DEPANSSUR_JOB_WORKERS:-2}"
conf="$ODOO_DATA_DIR/depanssur-run.conf"
mkdir -p "$ODOO_DATA_DIR"
cat >"$conf" <<CONF
[options]
server_wide_modules = base,web,queue_job
workers = $workers
max_cron_threads = 1

[queue_job]
channels = root:$workers
CONF
log "Odoo on http://127.0.0.1:$port  (login: admin / password: admin, database: $db)"
log "job runner: $workers job workers (channels root:$workers; jobs in Settings → Technical → Queue Jobs)"
# shellcheck disable=SC2046
exec "$PYTHON" $(odoo_launcher) -c "$conf" -d "$db" --db-filter="^${db}\$" \
    --addons-path="$(odoo_addons_path)" --db_host="$PGHOST_LOCAL" --db_port="$PGPORT_LOCAL" \
    --db_user="$PG_SUPERUSER" --data-dir="$ODOO_DATA_DIR" \
    --http-interface=127.0.0.1 --http-port="$port" \
    --gevent-port="${DEPANSSUR_GEVENT_PORT:-$((port + 3))}" "$@"
