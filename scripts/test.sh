#!/usr/bin/env bash
# Run every test of the project: ruff, pylint-odoo and OCA's module checks, the pure tests, the
# whole Odoo suite of the addon (at_install + post_install), installed the standard way
# (`-i depanssur --test-enable`, en_US) in fresh throwaway databases on the private PostgreSQL
# cluster, once with demo data and once without, then the compatibility run (scripts/compat.sh).
# Provisions Odoo 19.0 first when no Python imports it (scripts/provision.sh); never skips the
# Odoo suite: when Odoo cannot be provisioned it fails, naming the stage.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

status=0
pure_passed=0; pure_failed=0; pure_skipped=0
odoo_passed=0; odoo_failed=0

# Provision in a subshell so that a failure still lets the pure tests run (with python3).
provision_out=$(mktemp)
if (provision with-dev && echo "$PYTHON" >"$provision_out"); then
    PYTHON=$(cat "$provision_out")
    provisioned=1
else
    provisioned=0
    PYTHON="${DEPANSSUR_BASE_PYTHON:-python3}"
fi
rm -f "$provision_out"

log "ruff check + format"
if ! "$PYTHON" -m ruff check . || ! "$PYTHON" -m ruff format --check .; then
    log "ruff FAILED"
    status=1
fi

# OCA's quality gates: pylint-odoo with OCA's configuration for 19.0 (.pylintrc), the module
# checks (manifest, XML, CSV) and the translation checks (configured in .oca_hooks.cfg).
log "pylint-odoo (.pylintrc)"
if ! "$PYTHON" -m pylint --rcfile=.pylintrc depanssur; then
    log "pylint-odoo FAILED"
    status=1
fi
log "oca-checks-odoo-module + oca-checks-po (.oca_hooks.cfg)"
if ! "$PYTHON" -c 'import sys; from oca_pre_commit_hooks.cli import main; sys.exit(main())' \
    --no-verbose depanssur/__manifest__.py \
    || ! "$PYTHON" -c 'import sys; from oca_pre_commit_hooks.cli_po import main; sys.exit(main())' \
        --no-verbose depanssur/i18n/*.po depanssur/i18n/*.pot; then
    log "OCA module checks FAILED"
    status=1
fi

log "pure tests (pytest tests/)"
pure_log=$(mktemp)
"$PYTHON" -m pytest tests -q -p no:cacheprovider 2>&1 | tee "$pure_log"
rc=${PIPESTATUS[0]}
line=$(grep -E '^[=]*[ ]*[0-9]+ (passed|failed)' "$pure_log" | tail -n 1)
pure_passed=$(grep -oE '[0-9]+ passed' <<<"$line" | grep -oE '[0-9]+' || echo 0)
pure_failed=$(grep -oE '[0-9]+ failed' <<<"$line" | grep -oE '[0-9]+' || echo 0)
pure_errors=$(grep -oE '[0-9]+ error' <<<"$line" | grep -oE '[0-9]+' || echo 0)
pure_skipped=$(grep -oE '[0-9]+ skipped' <<<"$line" | grep -oE '[0-9]+' || echo 0)
pure_failed=$((${pure_failed:-0} + ${pure_errors:-0}))
rm -f "$pure_log"
if [ "$rc" -ne 0 ]; then
    log "pure tests FAILED (pytest exit $rc)"
    status=1
fi

# One run of the Odoo suite on a fresh database. $1 = variant: demo | nodemo.
run_odoo_suite() {
    local variant="$1" demo_flag=() tmpl testdb http_port test_log rc
    local report own_warnings f e total passed failed
    [ "$variant" = "demo" ] && demo_flag=(--with-demo)
    testdb="depanssur_test_${variant}_$$"
    test_log="$ROOT/.odoo-test-$variant.log"
    # The dependencies (what -i depanssur installs first) are cached in a template database,
    # built exactly as a fresh en_US database would get them, copied for each run.
    tmpl=$(template_db "$variant") || return 1
    db_copy "$tmpl" "$testdb" || return 1
    http_port=$(free_port)
    log "[$variant] Odoo suite: -i depanssur --test-enable --test-tags ${DEPANSSUR_TEST_TAGS:-/depanssur} (log: .odoo-test-$variant.log)"
    odoo_cmd -d "$testdb" -i depanssur "${demo_flag[@]}" --test-enable \
        --test-tags "${DEPANSSUR_TEST_TAGS:-/depanssur}" \
        --stop-after-init --http-interface=127.0.0.1 --http-port="$http_port" --workers=0 \
        --max-cron-threads=0 --log-level=test >"$test_log" 2>&1
    rc=$?
    grep -E ' (ERROR|CRITICAL) |FAIL:|^(FAIL|ERROR):' "$test_log" | head -n 60
    report=$(grep -oE '[0-9]+ failed, [0-9]+ error\(s\) of [0-9]+ tests' "$test_log" | tail -n 1)
    passed=0; failed=0
    if [ -n "$report" ]; then
        read -r f _ e _ _ total _ <<<"$report"
        failed=$((f + e))
        passed=$((total - f - e))
    fi
    # Warnings or errors logged by the addon's own code (its loggers, not its tests) or about its
    # own files and models (view/data loading, field definitions) during install and tests.
    own_warnings=$(awk '$4 == "WARNING" || $4 == "ERROR" || $4 == "CRITICAL"' "$test_log" \
        | awk '($6 ~ /^odoo\.addons\.depanssur/ && $6 !~ /\.tests/) \
               || /Modules: depanssur|\/depanssur\/(models|views|data|security|wizards|report)|depanssur\.[a-z_.]+\(/' \
        || true)
    db_drop "$testdb"
    odoo_passed=$((odoo_passed + passed))
    if [ "$rc" -ne 0 ] || [ -z "$report" ] || [ "$failed" -ne 0 ] || [ "$passed" -eq 0 ]; then
        log "[$variant] Odoo suite FAILED (exit $rc; ${report:-no test report}); see .odoo-test-$variant.log"
        [ -n "$report" ] || tail -n 40 "$test_log"
        [ "$failed" -ne 0 ] || failed=1
        odoo_failed=$((odoo_failed + failed))
        return 1
    fi
    log "[$variant] Odoo suite: $report"
    if [ -n "$own_warnings" ]; then
        log "[$variant] the addon logged warnings/errors:"
        echo "$own_warnings" | head -n 20
        odoo_failed=$((odoo_failed + 1))
        return 1
    fi
    echo "odoo ($variant): ${passed} passed, 0 failed"
}

if [ "$provisioned" -ne 1 ]; then
    echo
    echo "Odoo suite FAILED: Odoo 19.0 could not be provisioned (see the stage named above)"
    odoo_failed=1
    status=1
else
    pg_start
    for variant in ${DEPANSSUR_TEST_VARIANTS:-nodemo demo}; do
        run_odoo_suite "$variant" || status=1
    done
    # The compatibility run (scripts/compat.sh): Odoo's own tests with and without depanssur, on a
    # database that already lives; install, upgrade and uninstall. Part of every full run; a run
    # narrowed by DEPANSSUR_TEST_TAGS skips it unless DEPANSSUR_COMPAT=1 (DEPANSSUR_COMPAT=0: never).
    if [ "${DEPANSSUR_COMPAT:-$([ -z "${DEPANSSUR_TEST_TAGS:-}" ] && echo 1 || echo 0)}" = "1" ]; then
        # shellcheck source=scripts/compat.sh
        source "$ROOT/scripts/compat.sh"
        compat_run || status=1
        compat_ran=1
    fi
fi

echo
echo "pure: ${pure_passed} passed, ${pure_failed} failed, ${pure_skipped} skipped"
echo "odoo: ${odoo_passed} passed, ${odoo_failed} failed (variants: ${DEPANSSUR_TEST_VARIANTS:-nodemo demo})"
if [ "${compat_ran:-0}" = "1" ]; then
    echo "odoo compat: ${compat_passed} passed, ${compat_failed} failed (Odoo's own tests with depanssur; failed = not failing without it)"
else
    compat_passed=0
    compat_failed=0
    echo "odoo compat: not run (DEPANSSUR_TEST_TAGS or DEPANSSUR_COMPAT=0)"
fi
echo "total: $((pure_passed + odoo_passed + compat_passed)) passed, $((pure_failed + odoo_failed + compat_failed)) failed"
exit "$status"
