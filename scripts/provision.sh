# shellcheck shell=bash
# Provisioning for `make run` / `make test` (sourced by scripts/lib.sh): the Python that runs Odoo.
#
#   1. an existing install: DEPANSSUR_PYTHON, else .venv/ of the checkout when it imports Odoo,
#      else a `python3` that already imports Odoo 19.0 (an integrator's install, the official image);
#      nothing is downloaded then;
#   2. otherwise, stage by stage, each idempotent and announced, each failure naming its stage:
#      system   Debian packages (PostgreSQL server, libpq/LDAP/SASL headers, wkhtmltopdf), apt-get
#               when root, else the exact command to run;
#      source   Odoo 19.0 Community in ${XDG_CACHE_HOME:-~/.cache}/depanssur/odoo-19.0 (shared by
#               every clone), from the official git repository (scripts/odoo.lock) or from
#               DEPANSSUR_ODOO_SOURCE: a git URL, a local git repository, a directory or a tarball;
#      venv     .venv/ of the checkout: Odoo's requirements (pins relaxed for this Python in
#               scripts/odoo-requirements-overrides.txt), this project's requirements, Odoo itself
#               on the path (a .pth file and an editable `odoo` distribution, so that the OCA
#               odoo-addon-* packages of requirements.txt install beside it). Reinstalled only
#               when one of those files changes.
# Sets PYTHON to the interpreter to use.

ODOO_LOCK_FILE="$ROOT/scripts/odoo.lock"
ODOO_OVERRIDES_FILE="$ROOT/scripts/odoo-requirements-overrides.txt"
VENV_DIR="${DEPANSSUR_VENV:-$ROOT/.venv}"
ODOO_CACHE_DIR="${DEPANSSUR_ODOO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/depanssur/odoo-19.0}"
ODOO_STAMP=".depanssur-odoo.stamp"

stage() { log "[$1] $2"; }
stage_fail() { die "stage '$1' failed: $2"; }

# Whether every requirement of file $2 is installed for interpreter $1.
requirements_met() {
    "$1" - "$2" <<'PY' >/dev/null 2>&1
import sys
from importlib.metadata import PackageNotFoundError, version
from packaging.requirements import Requirement
for line in open(sys.argv[1]):
    line = line.split("#", 1)[0].strip()
    if not line or line.startswith("-"):
        continue
    req = Requirement(line)
    if req.marker and not req.marker.evaluate():
        continue
    try:
        if not req.specifier.contains(version(req.name), prereleases=True):
            sys.exit(1)
    except PackageNotFoundError:
        sys.exit(1)
PY
}

python_imports_odoo() {
    "$1" -c 'import odoo.release as r, odoo.cli; assert r.serie == "19.0", r.serie' >/dev/null 2>&1
}

# --- stage: system ---------------------------------------------------------------------------

# Debian package -> a file or command that proves it is installed.
system_packages_missing() {
    local missing=()
    [ -n "$(ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null)" ] || command -v initdb >/dev/null 2>&1 \
        || missing+=(postgresql)
    command -v psql >/dev/null 2>&1 || missing+=(postgresql-client)
    command -v pg_config >/dev/null 2>&1 || missing+=(libpq-dev)
    [ -f /usr/include/ldap.h ] || missing+=(libldap2-dev)
    [ -f /usr/include/sasl/sasl.h ] || missing+=(libsasl2-dev)
    command -v wkhtmltopdf >/dev/null 2>&1 || missing+=(wkhtmltopdf)
    command -v gcc >/dev/null 2>&1 || missing+=(build-essential)
    command -v git >/dev/null 2>&1 || missing+=(git)
    command -v chromium >/dev/null 2>&1 || command -v google-chrome >/dev/null 2>&1 || missing+=(chromium)
    "$BASE_PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1 || missing+=(python3-venv)
    "$BASE_PYTHON" - <<'PY' >/dev/null 2>&1 || missing+=(python3-dev)
import os, sysconfig
assert os.path.isfile(os.path.join(sysconfig.get_paths()["include"], "Python.h"))
PY
    echo "${missing[*]}"
}

provision_system() {
    local missing
    missing=$(system_packages_missing)
    if [ -z "$missing" ]; then
        return 0
    fi
    stage system "installing Debian packages: $missing"
    if [ "$(id -u)" != "0" ]; then
        stage_fail system "missing packages; run as root: apt-get update && apt-get install -y --no-install-recommends $missing"
    fi
    command -v apt-get >/dev/null 2>&1 \
        || stage_fail system "no apt-get on this machine; install the equivalents of: $missing"
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null \
        && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null \
        || stage_fail system "apt-get install $missing"
}

# --- stage: source ---------------------------------------------------------------------------

# The fingerprint of an Odoo tree, as recorded in scripts/odoo.lock (ODOO_TREE_SHA256).
odoo_tree_fingerprint() {
    (
        cd "$1" || exit 1
        find odoo addons setup odoo-bin requirements.txt setup.py setup.cfg -type f -print0 2>/dev/null \
            | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1
    )
}

# The folder below $1 (itself included, one or two levels down) that holds an Odoo tree.
find_odoo_root() {
    local d
    for d in "$1" "$1"/* "$1"/*/*; do
        if [ -f "$d/odoo/release.py" ] && [ -d "$d/addons" ]; then
            echo "$d"
            return 0
        fi
    done
    return 1
}

# Copy the parts of an Odoo tree that run it (never enterprise code, never its .git).
copy_odoo_tree() {
    local src="$1" dst="$2" part
    mkdir -p "$dst"
    for part in odoo addons setup odoo-bin requirements.txt setup.py setup.cfg; do
        [ -e "$src/$part" ] || continue
        cp -a "$src/$part" "$dst/" || return 1
    done
    rm -rf "$dst/odoo/enterprise"
}

fetch_odoo_git() {
    local url="$1" dst="$2" commit="$3"
    git clone --quiet --depth 1 --single-branch --branch "$ODOO_BRANCH" "$url" "$dst/git" || return 1
    if [ -n "$commit" ]; then
        git -C "$dst/git" fetch --quiet --depth 1 origin "$commit" \
            && git -C "$dst/git" checkout --quiet "$commit" || return 1
    fi
    git -C "$dst/git" rev-parse HEAD >"$dst/commit" || return 1
    copy_odoo_tree "$dst/git" "$dst/tree" && rm -rf "$dst/git"
}

provision_source() {
    # shellcheck source=/dev/null
    source "$ODOO_LOCK_FILE"
    local source="${DEPANSSUR_ODOO_SOURCE:-$ODOO_URL}"
    if [ -f "$ODOO_CACHE_DIR/$ODOO_STAMP" ] && [ -f "$ODOO_CACHE_DIR/odoo/release.py" ]; then
        return 0
    fi
    local work root commit="" fingerprint
    mkdir -p "$(dirname "$ODOO_CACHE_DIR")"
    work=$(mktemp -d "$(dirname "$ODOO_CACHE_DIR")/.odoo-fetch.XXXXXX")
    # shellcheck disable=SC2064
    trap "rm -rf '$work'" RETURN
    if [ -f "$source" ]; then
        stage source "unpacking Odoo $ODOO_BRANCH from the tarball $source"
        mkdir -p "$work/unpacked"
        tar -xf "$source" -C "$work/unpacked" || stage_fail source "cannot unpack $source"
        root=$(find_odoo_root "$work/unpacked") || stage_fail source "no Odoo tree (odoo/release.py) in $source"
        copy_odoo_tree "$root" "$work/tree" || stage_fail source "copy from $source"
    elif [ -d "$source" ] && root=$(find_odoo_root "$source"); then
        stage source "copying the Odoo $ODOO_BRANCH tree of $root"
        copy_odoo_tree "$root" "$work/tree" || stage_fail source "copy from $root"
        commit=$(git -C "$root" rev-parse HEAD 2>/dev/null || true)
    else
        stage source "cloning Odoo $ODOO_BRANCH from $source (shallow${ODOO_COMMIT:+, commit $ODOO_COMMIT}; about 1 GB)"
        fetch_odoo_git "$source" "$work" "$ODOO_COMMIT" \
            || stage_fail source "git clone --branch $ODOO_BRANCH $source (offline? set DEPANSSUR_ODOO_SOURCE to a local copy)"
        commit=$(cat "$work/commit")
    fi
    grep -q "^series = serie = major_version = '.'.join" "$work/tree/odoo/release.py" \
        && grep -q "version_info = (19, 0," "$work/tree/odoo/release.py" \
        || stage_fail source "$source is not Odoo 19.0 (odoo/release.py)"
    stage source "fingerprinting the tree"
    fingerprint=$(odoo_tree_fingerprint "$work/tree")
    if [ "$fingerprint" != "$ODOO_TREE_SHA256" ]; then
        if [ "${DEPANSSUR_ODOO_STRICT:-0}" = "1" ]; then
            stage_fail source "tree fingerprint $fingerprint differs from scripts/odoo.lock ($ODOO_TREE_SHA256)"
        fi
        log "WARNING: this Odoo tree ($fingerprint) is not the one scripts/odoo.lock was verified against ($ODOO_TREE_SHA256)"
    fi
    {
        echo "source=$source"
        echo "commit=${commit:-unknown}"
        echo "tree_sha256=$fingerprint"
        echo "fetched=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    } >"$work/tree/$ODOO_STAMP"
    rm -rf "$ODOO_CACHE_DIR"
    mv "$work/tree" "$ODOO_CACHE_DIR" || stage_fail source "cannot write $ODOO_CACHE_DIR"
    stage source "Odoo cached in $ODOO_CACHE_DIR"
}

# --- stage: venv -----------------------------------------------------------------------------

# Odoo's requirements for this Python, with the pins named in the overrides file replaced.
odoo_requirements_for_venv() {
    "$BASE_PYTHON" - "$ODOO_CACHE_DIR/requirements.txt" "$ODOO_OVERRIDES_FILE" <<'PY'
import re, sys
overrides = {}
for line in open(sys.argv[2]):
    line = line.split("#", 1)[0].strip()
    if line:
        name = re.split(r"[<>=!~; \[]", line, maxsplit=1)[0].lower()
        overrides.setdefault(name, []).append(line)
for line in open(sys.argv[1]):
    spec = line.split("#", 1)[0].strip()
    if not spec:
        continue
    name = re.split(r"[<>=!~; \[]", spec, maxsplit=1)[0].lower()
    if name not in overrides:
        print(spec)
for lines in overrides.values():
    print("\n".join(lines))
PY
}

venv_stamp_value() {
    {
        "$BASE_PYTHON" -c 'import sys; print(sys.version)'
        cat "$ODOO_CACHE_DIR/requirements.txt" "$ODOO_OVERRIDES_FILE" \
            "$ROOT/requirements.txt" "$ROOT/requirements-dev.txt"
        echo "$ODOO_CACHE_DIR"
    } | sha256sum | cut -d' ' -f1
}

provision_venv() {
    local stamp="$VENV_DIR/.depanssur-venv.stamp" want reqs site
    want=$(venv_stamp_value)
    if [ -x "$VENV_DIR/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
        return 0
    fi
    if [ ! -x "$VENV_DIR/bin/python" ]; then
        stage venv "creating $VENV_DIR"
        "$BASE_PYTHON" -m venv "$VENV_DIR" || stage_fail venv "$BASE_PYTHON -m venv $VENV_DIR"
    fi
    reqs="$VENV_DIR/odoo-requirements.txt"
    odoo_requirements_for_venv >"$reqs" || stage_fail venv "reading Odoo's requirements"
    stage venv "installing Odoo's requirements and the project's (first time: a few minutes)"
    local pip_log="$VENV_DIR/pip.log"
    if ! "$VENV_DIR/bin/python" -m pip install --disable-pip-version-check --upgrade pip wheel \
        >"$pip_log" 2>&1; then
        tail -n 30 "$pip_log" >&2
        stage_fail venv "pip upgrade (log: $pip_log)"
    fi
    if ! "$VENV_DIR/bin/python" -m pip install --disable-pip-version-check -r "$reqs" \
        >>"$pip_log" 2>&1; then
        grep -v 'is ignored: it is neither a file nor a directory' "$pip_log" | tail -n 30 >&2
        stage_fail venv "pip install of Odoo's requirements (as adjusted in $reqs) (log: $pip_log)"
    fi
    site=$("$VENV_DIR/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
    echo "$ODOO_CACHE_DIR" >"$site/depanssur-odoo.pth"
    python_imports_odoo "$VENV_DIR/bin/python" || stage_fail venv "import odoo fails in $VENV_DIR"
    # Register the cached tree as the installed `odoo` distribution (no copy, no dependency
    # resolution): the OCA modules published as odoo-addon-* packages require odoo==19.0.* and
    # install into the odoo.addons namespace next to it.
    if ! "$VENV_DIR/bin/python" -m pip install --disable-pip-version-check --no-deps \
        --no-build-isolation -e "$ODOO_CACHE_DIR" >>"$pip_log" 2>&1; then
        tail -n 30 "$pip_log" >&2
        stage_fail venv "registering $ODOO_CACHE_DIR as the odoo distribution (log: $pip_log)"
    fi
    # The project's requirements (OCA addons included), never moving a pin of Odoo's.
    if ! "$VENV_DIR/bin/python" -m pip install --disable-pip-version-check -c "$reqs" \
        -r "$ROOT/requirements.txt" -r "$ROOT/requirements-dev.txt" >>"$pip_log" 2>&1; then
        grep -v 'is ignored: it is neither a file nor a directory' "$pip_log" | tail -n 30 >&2
        stage_fail venv "pip install of the project's requirements (log: $pip_log)"
    fi
    echo "$want" >"$stamp"
    stage venv "ready: $VENV_DIR (Odoo from $ODOO_CACHE_DIR)"
}

# --- entry point -----------------------------------------------------------------------------

# Choose (and if needed build) the interpreter; sets PYTHON. $1=with-dev installs the dev tools
# into an existing non-venv install too (the test command needs pytest, ruff, ...).
provision() {
    BASE_PYTHON="${DEPANSSUR_BASE_PYTHON:-python3}"
    if [ -n "${DEPANSSUR_PYTHON:-}" ]; then
        PYTHON="$DEPANSSUR_PYTHON"
        python_imports_odoo "$PYTHON" || die "DEPANSSUR_PYTHON=$PYTHON does not import Odoo 19.0"
        return 0
    fi
    if [ -x "$VENV_DIR/bin/python" ] && [ -f "$VENV_DIR/.depanssur-venv.stamp" ]; then
        # the project's own venv: keep it current (no-op when nothing changed)
        provision_system
        provision_source
        provision_venv
        PYTHON="$VENV_DIR/bin/python"
        return 0
    fi
    if python_imports_odoo "$BASE_PYTHON"; then
        stage odoo "using the Odoo that $BASE_PYTHON imports: $("$BASE_PYTHON" -c 'import os, odoo.release as r; print(os.path.dirname(os.path.dirname(os.path.realpath(r.__file__))))')"
        PYTHON="$BASE_PYTHON"
        if ! requirements_met "$PYTHON" "$ROOT/requirements.txt"; then
            stage venv "installing requirements.txt (OCA addons included) into $PYTHON"
            "$PYTHON" -m pip install --quiet --disable-pip-version-check -r "$ROOT/requirements.txt" \
                || stage_fail venv "pip install -r requirements.txt into $PYTHON: its Odoo must be an installed odoo 19.0 distribution (pip install -e <odoo tree>) for the odoo-addon-* packages"
        fi
        if [ "${1:-}" = "with-dev" ] && ! "$PYTHON" -c 'import pytest, hypothesis, ruff, freezegun, standardwebhooks, schemathesis, jsonschema, phonenumbers' >/dev/null 2>&1; then
            stage venv "installing requirements-dev.txt into $PYTHON"
            "$PYTHON" -m pip install --quiet --disable-pip-version-check -r "$ROOT/requirements-dev.txt" \
                || stage_fail venv "pip install -r requirements-dev.txt"
        fi
        return 0
    fi
    stage odoo "no importable Odoo 19.0: provisioning one (system packages, source, .venv)"
    provision_system
    provision_source
    provision_venv
    PYTHON="$VENV_DIR/bin/python"
}
