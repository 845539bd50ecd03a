#!/usr/bin/env bash
# Refresh depanssur/i18n/depanssur.pot from a database where depanssur is installed (DEPANSSUR_DB,
# default depanssur) and merge it into fr.po (new strings come in untranslated, marked fuzzy-free).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
provision
db="${DEPANSSUR_DB:-depanssur}"
pg_start
conf=$(odoo_conf)
# shellcheck disable=SC2046
odoo_cmd_i18n() { "$PYTHON" $(odoo_launcher) i18n "$@"; }
odoo_cmd_i18n export -c "$conf" -d "$db" -o depanssur/i18n/depanssur.pot depanssur
if [ -f depanssur/i18n/fr.po ]; then
    msgmerge --quiet --update --no-fuzzy-matching --backup=none depanssur/i18n/fr.po depanssur/i18n/depanssur.pot
else
    msginit --no-translator --locale=fr_FR.UTF-8 -i depanssur/i18n/depanssur.pot -o depanssur/i18n/fr.po
fi
log "updated depanssur/i18n/depanssur.pot and fr.po"
