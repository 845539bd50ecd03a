# shellcheck shell=bash
# Shared helpers for scripts/run.sh and scripts/test.sh: a private PostgreSQL cluster in the
# checkout (.pgdata/), never a system service, and the Odoo that `import odoo` finds.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PGDATA_DIR="${DEPANSSUR_PGDATA:-$ROOT/.pgdata}"
PGPORT_LOCAL="${DEPANSSUR_PGPORT:-55432}"
ODOO_DATA_DIR="${DEPANSSUR_DATA_DIR:-$ROOT/.odoo-data}"
PGHOST_LOCAL="127.0.0.1"
PG_SUPERUSER="odoo"
# The interpreter that runs Odoo: DEPANSSUR_PYTHON, else the project's .venv once provisioned,
# else python3 (scripts/provision.sh's `provision` decides and sets it for run/test).
if [ -n "${DEPANSSUR_PYTHON:-}" ]; then
    PYTHON="$DEPANSSUR_PYTHON"
elif [ -x "${DEPANSSUR_VENV:-$ROOT/.venv}/bin/python" ]; then
    PYTHON="${DEPANSSUR_VENV:-$ROOT/.venv}/bin/python"
else
    PYTHON=python3
fi

log() { printf '\033[1m[depanssur]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[depanssur] %s\033[0m\n' "$*" >&2; exit 1; }

have_odoo() { "$PYTHON" -c 'import odoo.release, odoo.cli' >/dev/null 2>&1; }

# shellcheck source=scripts/provision.sh
source "$ROOT/scripts/provision.sh"

# Folder holding the PostgreSQL binaries (initdb, pg_ctl), from PATH or Debian's layout.
pg_bindir() {
    local d
    d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    if [ -n "$d" ] && [ -x "$d/initdb" ]; then
        echo "$d"
        return
    fi
    if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(readlink -f "$(command -v initdb)")"
        return
    fi
    die "PostgreSQL server binaries (initdb, pg_ctl) not found: install Debian's 'postgresql' package."
}

# Run a PostgreSQL binary as a non-root user when we are root (PostgreSQL refuses root).
pg_as_owner() {
    if [ "$(id -u)" = "0" ]; then
        local owner="${DEPANSSUR_PG_OSUSER:-postgres}"
        id "$owner" >/dev/null 2>&1 || useradd --system --no-create-home "$owner"
        chown -R "$owner" "$PGDATA_DIR"
        runuser -u "$owner" -- "$@"
    else
        "$@"
    fi
}

pg_start() {
    local bindir
    bindir=$(pg_bindir)
    if [ ! -f "$PGDATA_DIR/PG_VERSION" ]; then
        log "creating a private PostgreSQL cluster in $PGDATA_DIR"
        mkdir -p "$PGDATA_DIR"
        pg_as_owner "$bindir/initdb" -D "$PGDATA_DIR" -U "$PG_SUPERUSER" --auth=trust \
            --encoding=UTF8 --locale=C.UTF-8 >/dev/null
        {
            echo "listen_addresses = '$PGHOST_LOCAL'"
            echo "port = $PGPORT_LOCAL"
            echo "unix_socket_directories = ''"
            echo "fsync = off"
            echo "synchronous_commit = off"
            echo "full_page_writes = off"
            echo "shared_buffers = 256MB"
            echo "max_connections = 200"
        } >>"$PGDATA_DIR/postgresql.conf"
    fi
    if pg_as_owner "$bindir/pg_ctl" -D "$PGDATA_DIR" status >/dev/null 2>&1; then
        return 0
    fi
    log "starting PostgreSQL on $PGHOST_LOCAL:$PGPORT_LOCAL"
    pg_as_owner "$bindir/pg_ctl" -D "$PGDATA_DIR" -l "$PGDATA_DIR/server.log" -w -t 60 start >/dev/null \
        || die "PostgreSQL did not start, see $PGDATA_DIR/server.log"
}

pg_stop() {
    local bindir
    bindir=$(pg_bindir)
    pg_as_owner "$bindir/pg_ctl" -D "$PGDATA_DIR" -m fast stop >/dev/null 2>&1 || true
}

psql_local() {
    local psql_bin
    psql_bin=$(command -v psql || echo "$(pg_bindir)/psql")
    "$psql_bin" -X -q -h "$PGHOST_LOCAL" -p "$PGPORT_LOCAL" -U "$PG_SUPERUSER" -d postgres "$@"
}

db_exists() {
    [ "$(psql_local -tAc "SELECT 1 FROM pg_database WHERE datname = '$1'")" = "1" ]
}

# The addons path: Odoo's own addon folders (found from the imported package) + this checkout.
odoo_addons_path() {
    "$PYTHON" - "$ROOT" <<'PY'
import os, sys
import odoo.addons
paths = [os.path.realpath(p) for p in odoo.addons.__path__]
for p in list(paths):
    community = os.path.join(os.path.dirname(os.path.dirname(p)), "addons")
    if os.path.isfile(os.path.join(community, "web", "__manifest__.py")):
        paths.append(os.path.realpath(community))
paths.append(sys.argv[1])
seen = []
for p in paths:
    if p not in seen and os.path.isdir(p):
        seen.append(p)
print(",".join(seen))
PY
}

# Odoo's launcher: odoo-bin beside the imported package (a prefork server re-runs its own
# launcher to start the websocket/gevent worker, which `python -m odoo` cannot be), else -m odoo.
odoo_launcher() {
    local bin
    # odoo.release's tree, not the first portion of the odoo namespace (the odoo-addon-*
    # packages installed beside Odoo make site-packages/odoo one of its portions)
    bin=$("$PYTHON" -c 'import os, odoo.release as r; print(os.path.join(os.path.dirname(os.path.dirname(os.path.realpath(r.__file__))), "odoo-bin"))' 2>/dev/null)
    if [ -f "$bin" ]; then
        echo "$bin"
    else
        echo "-m odoo"
    fi
}

# Odoo with the project's addons path ($ODOO_ADDONS_PATH instead when set, e.g. an older
# release of the addon for the upgrade check), database and data directory.
odoo_cmd() {
    # shellcheck disable=SC2046
    "$PYTHON" $(odoo_launcher) "$@" --addons-path="${ODOO_ADDONS_PATH:-$(odoo_addons_path)}" \
        --db_host="$PGHOST_LOCAL" --db_port="$PGPORT_LOCAL" --db_user="$PG_SUPERUSER" \
        --data-dir="$ODOO_DATA_DIR"
}

# The Odoo modules depanssur depends on, read from its manifest (used for the cached template DB).
addon_depends() {
    "$PYTHON" -c 'import ast,sys; m=ast.literal_eval(open(sys.argv[1]).read()); print(",".join(m["depends"]))' \
        "$ROOT/depanssur/__manifest__.py"
}

# An Odoo config file for the subcommands that read connection details only from a file.
odoo_conf() {
    local conf="$ODOO_DATA_DIR/odoo.conf"
    mkdir -p "$ODOO_DATA_DIR"
    cat >"$conf" <<CONF
[options]
addons_path = $(odoo_addons_path)
db_host = $PGHOST_LOCAL
db_port = $PGPORT_LOCAL
db_user = $PG_SUPERUSER
data_dir = $ODOO_DATA_DIR
CONF
    echo "$conf"
}

# The cached template database holding depanssur's dependencies (what `-i depanssur` installs
# first), built exactly as a fresh en_US database gets them; $1 = demo | nodemo. Prints its name.
template_db() {
    local variant="$1" demo_flag=() depends odoo_version key tmpl
    [ "$variant" = "demo" ] && demo_flag=(--with-demo)
    depends="$(addon_depends)"
    odoo_version=$("$PYTHON" -c 'import odoo.release as r; print(r.version)')
    key=$(printf '%s|%s|%s|en_US' "$depends" "$odoo_version" "$variant" | sha1sum | cut -c1-10)
    tmpl="depanssur_tmpl_$key"
    if ! db_exists "$tmpl"; then
        log "[$variant] building template database $tmpl with the dependencies ($depends)"
        if ! odoo_cmd -d "$tmpl" -i "$depends" "${demo_flag[@]}" --stop-after-init \
            --http-interface=127.0.0.1 --http-port=0 --log-level=warn >"$ROOT/.odoo-template.log" 2>&1; then
            tail -n 40 "$ROOT/.odoo-template.log" >&2
            psql_local -c "DROP DATABASE IF EXISTS \"$tmpl\"" >/dev/null
            log "[$variant] could not build the template database, see .odoo-template.log"
            return 1
        fi
    fi
    echo "$tmpl"
}

# Copy database $1 (and its filestore) to a new database $2; drop a database and its filestore.
db_copy() {
    psql_local -c "CREATE DATABASE \"$2\" TEMPLATE \"$1\"" >/dev/null || return 1
    if [ -d "$ODOO_DATA_DIR/filestore/$1" ]; then
        mkdir -p "$ODOO_DATA_DIR/filestore"
        cp -a "$ODOO_DATA_DIR/filestore/$1" "$ODOO_DATA_DIR/filestore/$2"
    fi
}
db_drop() {
    psql_local -c "DROP DATABASE IF EXISTS \"$1\"" >/dev/null
    rm -rf "${ODOO_DATA_DIR:?}/filestore/$1"
}

# A free TCP port on 127.0.0.1 (for the HTTP server of HttpCase tests).
free_port() {
    "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
