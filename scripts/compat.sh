#!/usr/bin/env bash
# Compatibility run: is depanssur pluggable into an existing Odoo?
#
#   1. a "live" database: depanssur's dependencies, Odoo's test modules for mail and SMS
#      (test_mail, test_mail_sms), and data as an existing Odoo has it (contacts with messy phones
#      and full names only, companies, invoices, users; scripts/compat_live.py). Cached as a
#      template database, built once per machine;
#   2. baseline: Odoo's own tests of the modules depanssur depends on or extends
#      (DEPANSSUR_COMPAT_TAGS) on a copy of it, without depanssur. Cached beside the Odoo tree
#      (~/.cache/depanssur/compat/, DEPANSSUR_COMPAT_CACHE), keyed by the Odoo tree's fingerprint,
#      the template, the selection, the Python and phonenumbers versions: once per machine;
#   3. `-i depanssur` on another copy: the existing data must come out intact (names split,
#      nothing rewritten), then the same tests; any failure the baseline does not have fails;
#   4. uninstall (Odoo's test_module_operations.py): the data intact, Odoo working;
#   5. upgrade: the previous release (the commit before the manifest's version last changed)
#      installed on a third copy, then `-u depanssur` with this checkout (migrations/).
#
# Every test runs on the complete registry (scripts/compat_odoo.py), so the "at_install" tests of
# base, mail, sms, portal... see depanssur's overrides as they would in production.
#
# Alone: `bash scripts/compat.sh`; scripts/test.sh calls compat_run after the Odoo suite.
# Logs: .odoo-compat-*.log in the checkout. It ends with a line `compat: ...` giving the counts.
set -uo pipefail
# Sourced by scripts/test.sh, lib.sh is loaded already (and PYTHON chosen): keep it.
if ! declare -F odoo_cmd >/dev/null; then
    # shellcheck source=scripts/lib.sh
    source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
fi

COMPAT_TEST_MODULES="test_mail,test_mail_sms"
# Odoo's test-tags syntax (odoo/tests/tag_selector.py): /module, /module:Class, /module:Class.method,
# -exclusions. What depanssur touches: res.partner (names, phones, display name, mobile, indexes),
# mail threads and SMS (its notify mixin, the phone blacklist), portal addresses, customer invoices
# and refunds, payment; the OCA modules it builds on (SEPA mandates and debit orders, queue_job).
COMPAT_TAGS_DEFAULT="\
/base:TestPartner,/base:TestPartnerAddressCompany,/base:TestPartnerForm,\
/base:TestPartnerRecursion,/base:TestPartnerCategory,/base:TestMergePartner,\
/mail:TestPartner,/contacts,/phone_validation,/sms,/test_mail_sms,\
/test_mail:TestMessagePost,/test_mail:TestMessagePostHelpers,/test_mail:TestMessagePostGlobal,\
/test_mail:TestMessageLog,/test_mail:TestMessageNotify,/test_mail:TestMailNotifyAPI,\
/portal,\
/account:TestAccountMoveOutInvoiceOnchanges,/account:TestAccountMoveOutRefundOnchanges,\
/payment,\
/account_banking_mandate,/account_payment_order,/account_banking_sepa_direct_debit,/queue_job,\
-/test_mail_sms:TestSMSPerformance,-/test_mail_sms:TestSMSMassPerformance"

COMPAT_TAGS="${DEPANSSUR_COMPAT_TAGS:-$COMPAT_TAGS_DEFAULT}"
compat_passed=0
compat_failed=0
compat_summary=""

# The Odoo tree's fingerprint (scripts/odoo.lock): from the provisioning stamp, else computed.
compat_odoo_fingerprint() {
    local root
    root=$("$PYTHON" -c 'import os, odoo.release as r; print(os.path.dirname(os.path.dirname(os.path.realpath(r.__file__))))')
    if [ -f "$root/$ODOO_STAMP" ] && grep -q '^tree_sha256=' "$root/$ODOO_STAMP"; then
        sed -n 's/^tree_sha256=//p' "$root/$ODOO_STAMP"
    else
        odoo_tree_fingerprint "$root"
    fi
}

# Odoo on $db with the compatibility runner (every selected test on the complete registry).
# $1 = database, $2 = log file, then extra arguments.
compat_odoo_tests() {
    local db="$1" logfile="$2"
    shift 2
    "$PYTHON" "$ROOT/scripts/compat_odoo.py" -d "$db" --test-enable --test-tags "$COMPAT_TAGS" \
        --stop-after-init --http-interface=127.0.0.1 --http-port="$(free_port)" --workers=0 \
        --max-cron-threads=0 --log-level=test "$@" --addons-path="$(odoo_addons_path)" \
        --db_host="$PGHOST_LOCAL" --db_port="$PGPORT_LOCAL" --db_user="$PG_SUPERUSER" \
        --data-dir="$ODOO_DATA_DIR" >"$logfile" 2>&1
}

# Run scripts/compat_live.py in `odoo shell` on $1 with MODE=$2; $3 = addons path (optional).
# Its verdict goes to stderr (this function is called where stdout is captured).
compat_live() {
    local db="$1" mode="$2" addons="${3:-$(odoo_addons_path)}" out
    out=$({ echo "MODE = '$mode'"; cat "$ROOT/scripts/compat_live.py"; } \
        | ODOO_ADDONS_PATH="$addons" odoo_cmd shell -d "$db" --log-level=warn --no-http \
            2>>"$ROOT/.odoo-compat-live.log")
    out=$(grep '^compat-live:' <<<"$out")
    echo "${out:-compat-live: FAILED ($mode): no verdict, see .odoo-compat-live.log}" \
        | tee -a "$ROOT/.odoo-compat-live.log" >&2
    grep -q '^compat-live: \(OK\|seeded\|assets\)' <<<"$out"
}

# odoo_cmd with the arguments after $1, its output appended to the log $1; fails when Odoo
# fails or has logged an ERROR or CRITICAL line there (printing the first of them).
compat_odoo_step() {
    local logfile="$1"
    shift
    if ! odoo_cmd "$@" >>"$logfile" 2>&1 || grep -qE ' (ERROR|CRITICAL) ' "$logfile"; then
        grep -E ' (ERROR|CRITICAL) ' "$logfile" | head -n 20
        return 1
    fi
}

# The failing tests of a log, one per line ("logger: ERROR: Class.method"), sorted; and the
# report "F failed, E error(s) of N tests".
compat_failures() {
    grep -E '^[0-9-]+ [0-9:,]+ [0-9]+ (ERROR|CRITICAL) [^ ]+ [^ ]+: (ERROR|FAIL): ' "$1" \
        | sed -E 's/^[0-9-]+ [0-9:,]+ [0-9]+ [A-Z]+ [^ ]+ //; s/ +$//' | sort -u
}
compat_report() {
    grep -oE '[0-9]+ failed, [0-9]+ error\(s\) of [0-9]+ tests' "$1" | tail -n 1
}

# The template: dependencies + Odoo's mail/SMS test modules + live data. Prints its name.
compat_template() {
    local base key tmpl
    base=$(template_db nodemo) || return 1
    # keyed by what the template holds: the seed part of compat_live.py (above its checks)
    key=$(cat <(echo "$base|$COMPAT_TEST_MODULES") <(sed '/^# --- checks/q' "$ROOT/scripts/compat_live.py") \
        | sha1sum | cut -c1-10)
    tmpl="depanssur_compat_$key"
    if db_exists "$tmpl"; then
        compat_live "$tmpl" assets || return 1
        echo "$tmpl"
        return 0
    fi
    log "[compat] building $tmpl: $base + $COMPAT_TEST_MODULES + live data"
    db_copy "$base" "$tmpl" || return 1
    if ! odoo_cmd -d "$tmpl" -i "$COMPAT_TEST_MODULES" --stop-after-init --no-http \
        --log-level=warn >"$ROOT/.odoo-compat-template.log" 2>&1 \
        || ! compat_live "$tmpl" seed || ! compat_live "$tmpl" assets; then
        tail -n 30 "$ROOT/.odoo-compat-template.log" "$ROOT/.odoo-compat-live.log" >&2
        db_drop "$tmpl"
        log "[compat] could not build $tmpl (see .odoo-compat-template.log, .odoo-compat-live.log)"
        return 1
    fi
    echo "$tmpl"
}

# depanssur's own indexes and constraints in database $1 with their definitions, one per line:
# an upgraded database must end with the same ones as a fresh install (Odoo drops at the end of
# the upgrade the indexes and constraints the module no longer declares, and re-creates the ones
# whose definition changed; a migration does what it cannot).
compat_schema() {
    psql_local -d "$1" -tA -c "
        SELECT indexname || ': ' || regexp_replace(indexdef, '^.* USING ', '')
          FROM pg_indexes WHERE indexname LIKE '%depanssur%'
        UNION SELECT conname || ': ' || pg_get_constraintdef(oid)
          FROM pg_constraint WHERE conname LIKE '%depanssur%'
        ORDER BY 1"
}

# The previous release: the parent of the commit that set the manifest's current version.
# Prints "<commit> <version>".
compat_previous_release() {
    local current commit version bump=""
    git -C "$ROOT" rev-parse --git-dir >/dev/null 2>&1 || return 1
    current=$(sed -n 's/.*"version": "\([^"]*\)".*/\1/p' "$ROOT/depanssur/__manifest__.py")
    for commit in $(git -C "$ROOT" log --format=%H -- depanssur/__manifest__.py); do
        version=$(git -C "$ROOT" show "$commit:depanssur/__manifest__.py" 2>/dev/null \
            | sed -n 's/.*"version": "\([^"]*\)".*/\1/p')
        if [ "$version" = "$current" ]; then
            bump="$commit"
            continue
        fi
        [ -n "$bump" ] || return 1
        commit=$(git -C "$ROOT" rev-parse --verify -q "$bump^") || return 1
        version=$(git -C "$ROOT" show "$commit:depanssur/__manifest__.py" 2>/dev/null \
            | sed -n 's/.*"version": "\([^"]*\)".*/\1/p')
        [ -n "$version" ] || return 1
        echo "$commit $version"
        return 0
    done
    return 1
}

# Where the baseline of template $2 on the Odoo tree $1 is cached: beside the cached Odoo tree
# (shared by every checkout of the machine), keyed by what decides its results.
compat_baseline_file() {
    local key
    key=$(cat <(echo "$1|$2|$COMPAT_TAGS") \
        <("$PYTHON" -c 'import sys, phonenumbers; print(sys.version, phonenumbers.__version__)') \
        "$ROOT/scripts/compat_odoo.py" | sha1sum | cut -c1-12)
    echo "${DEPANSSUR_COMPAT_CACHE:-$(dirname "$ODOO_CACHE_DIR")/compat}/baseline-$key.txt"
}

compat_run() {
    local t0 fingerprint tmpl cache_dir cache key db rc report base_report new_failures
    local with_failures base_failures prev prev_dir addons_prev total failed elapsed fresh_schema
    t0=$(date +%s)
    compat_passed=0
    compat_failed=0
    fingerprint=$(compat_odoo_fingerprint) || return 1
    tmpl=$(compat_template) || { compat_failed=1; return 1; }

    # 2. baseline, once per machine
    cache=$(compat_baseline_file "$fingerprint" "$tmpl")
    cache_dir=$(dirname "$cache")
    if [ ! -s "$cache" ]; then
        log "[compat] baseline: Odoo's tests without depanssur (once per machine; log: .odoo-compat-baseline.log)"
        db="depanssur_compat_base_$$"
        db_copy "$tmpl" "$db" || return 1
        compat_odoo_tests "$db" "$ROOT/.odoo-compat-baseline.log"
        db_drop "$db"
        base_report=$(compat_report "$ROOT/.odoo-compat-baseline.log")
        if [ -z "$base_report" ]; then
            tail -n 30 "$ROOT/.odoo-compat-baseline.log"
            log "[compat] FAILED: the baseline run gave no test report"
            compat_failed=1
            return 1
        fi
        mkdir -p "$cache_dir"
        { echo "# $base_report"; compat_failures "$ROOT/.odoo-compat-baseline.log"; } >"$cache.tmp"
        mv "$cache.tmp" "$cache"
    fi
    base_report=$(head -n 1 "$cache" | sed 's/^# //')
    base_failures=$(tail -n +2 "$cache")
    log "[compat] baseline without depanssur: $base_report ($cache)"

    # 3. install into the live database, check its data, run the same tests
    db="depanssur_compat_with_$$"
    db_copy "$tmpl" "$db" || return 1
    log "[compat] -i depanssur into the live database (log: .odoo-compat-install.log)"
    : >"$ROOT/.odoo-compat-install.log"
    if ! compat_odoo_step "$ROOT/.odoo-compat-install.log" -d "$db" -i depanssur \
        --stop-after-init --no-http --log-level=info; then
        log "[compat] FAILED: -i depanssur on a live database"
        db_drop "$db"
        compat_failed=1
        return 1
    fi
    rc=0
    compat_live "$db" installed || rc=1
    fresh_schema=$(compat_schema "$db")
    log "[compat] Odoo's tests with depanssur (log: .odoo-compat-depanssur.log)"
    compat_odoo_tests "$db" "$ROOT/.odoo-compat-depanssur.log"
    report=$(compat_report "$ROOT/.odoo-compat-depanssur.log")
    with_failures=$(compat_failures "$ROOT/.odoo-compat-depanssur.log")
    new_failures=$(comm -13 <(echo "$base_failures" | sort -u) <(echo "$with_failures" | sort -u) | sed '/^$/d')
    if [ -z "$report" ]; then
        tail -n 30 "$ROOT/.odoo-compat-depanssur.log"
        log "[compat] FAILED: the run with depanssur gave no test report"
        rc=1
    elif [ -n "$new_failures" ]; then
        log "[compat] FAILED: failures that Odoo's tests do not have without depanssur:"
        echo "$new_failures" | sed 's/^/    /'
        rc=1
    fi
    read -r failed _ e _ _ total _ <<<"${report:-0 failed, 0 error(s) of 0 tests}"
    compat_passed=$((total - failed - e))
    compat_failed=$(echo "$new_failures" | sed '/^$/d' | wc -l)

    # 4. uninstall: Odoo's own check, then the data and Odoo still working
    log "[compat] uninstalling depanssur (odoo/tests/test_module_operations.py; log: .odoo-compat-uninstall.log)"
    if ! PGHOST="$PGHOST_LOCAL" PGPORT="$PGPORT_LOCAL" PGUSER="$PG_SUPERUSER" "$PYTHON" \
        "$("$PYTHON" -c 'import os, odoo.tests; print(os.path.dirname(odoo.tests.__file__))')/test_module_operations.py" \
        -d "$db" --data-dir="$ODOO_DATA_DIR" --addons-path="$(odoo_addons_path)" \
        uninstall depanssur --no-reinstall >"$ROOT/.odoo-compat-uninstall.log" 2>&1 \
        || grep -qE ' (ERROR|CRITICAL) ' "$ROOT/.odoo-compat-uninstall.log"; then
        grep -E ' (ERROR|CRITICAL) ' "$ROOT/.odoo-compat-uninstall.log" | head -n 20
        log "[compat] FAILED: uninstalling depanssur"
        rc=1
    elif ! compat_live "$db" uninstalled; then
        rc=1
    fi
    db_drop "$db"

    # 5. upgrade from the previous release
    if prev=$(compat_previous_release); then
        prev_dir=$(mktemp -d)
        git -C "$ROOT" archive "${prev%% *}" depanssur | tar -x -C "$prev_dir"
        addons_prev="$(odoo_addons_path | sed "s#,$ROOT\$#,$prev_dir#")"
        db="depanssur_compat_upg_$$"
        db_copy "$tmpl" "$db" || return 1
        log "[compat] upgrade: release ${prev#* } (${prev:0:10}) installed, then -u depanssur (log: .odoo-compat-upgrade.log)"
        : >"$ROOT/.odoo-compat-upgrade.log"
        if ! ODOO_ADDONS_PATH="$addons_prev" compat_odoo_step "$ROOT/.odoo-compat-upgrade.log" \
            -d "$db" -i depanssur --stop-after-init --no-http --log-level=warn \
            || ! compat_odoo_step "$ROOT/.odoo-compat-upgrade.log" -d "$db" -u depanssur \
                --stop-after-init --no-http --log-level=info; then
            log "[compat] FAILED: -u depanssur from ${prev#* }"
            rc=1
        elif ! compat_live "$db" installed; then
            rc=1
        elif [ "$(compat_schema "$db")" != "$fresh_schema" ]; then
            log "[compat] FAILED: after -u depanssur, depanssur's indexes and constraints differ from a fresh install's (< upgraded, > fresh):"
            diff <(compat_schema "$db") <(echo "$fresh_schema") | grep '^[<>]' | sed 's/^/    /'
            rc=1
        else
            log "[compat] upgrade: depanssur's $(echo "$fresh_schema" | wc -l) indexes and constraints as a fresh install's"
        fi
        db_drop "$db"
        rm -rf "$prev_dir"
    else
        log "[compat] upgrade check SKIPPED: no previous release in this checkout's git history"
    fi

    elapsed=$(($(date +%s) - t0))
    [ "$rc" -eq 0 ] || [ "$compat_failed" -gt 0 ] || compat_failed=1
    compat_summary="compat: with depanssur ${report:-no report}; without: $base_report; new failures: $(echo "$new_failures" | sed '/^$/d' | wc -l); $((elapsed / 60)) min $((elapsed % 60)) s"
    echo "$compat_summary"
    return "$rc"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    cd "$ROOT" || exit 1
    provision with-dev
    pg_start
    compat_run
    exit $?
fi
