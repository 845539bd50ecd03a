#!/usr/bin/env bash
# Run every test of the project: ruff, the pure tests, then the whole Odoo suite of the addon
# (at_install + post_install) in a fresh throwaway database on the private PostgreSQL cluster.
# Without an importable Odoo the Odoo suite is skipped, loudly.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

status=0
pure_passed=0; pure_failed=0; pure_skipped=0
odoo_passed=0; odoo_failed=0

log "ruff check + format"
if ! "$PYTHON" -m ruff check . || ! "$PYTHON" -m ruff format --check .; then
    log "ruff FAILED"
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

if ! have_odoo; then
    echo
    echo "Odoo suite SKIPPED: odoo not importable"
    echo
else
    pg_start
    # the addon's dependencies, plus payment_demo which the tests use as a payment provider
    depends="$(addon_depends),payment_demo"
    odoo_version=$("$PYTHON" -c 'import odoo.release as r; print(r.version)')
    key=$(printf '%s|%s|demo|fr_FR' "$depends" "$odoo_version" | sha1sum | cut -c1-10)
    tmpl="depanssur_tmpl_$key"
    testdb="depanssur_test_$$"
    filestore="$ODOO_DATA_DIR/filestore"
    if ! db_exists "$tmpl"; then
        log "building template database $tmpl with the dependencies ($depends) and demo data"
        if ! odoo_cmd -d "$tmpl" -i "$depends" --with-demo --load-language=fr_FR --stop-after-init --http-interface=127.0.0.1 \
            --http-port=0 --log-level=warn >"$ROOT/.odoo-template.log" 2>&1; then
            tail -n 40 "$ROOT/.odoo-template.log"
            psql_local -c "DROP DATABASE IF EXISTS \"$tmpl\"" >/dev/null
            die "could not build the template database, see .odoo-template.log"
        fi
    fi
    log "fresh test database $testdb (copy of $tmpl)"
    psql_local -c "CREATE DATABASE \"$testdb\" TEMPLATE \"$tmpl\"" >/dev/null || die "createdb failed"
    if [ -d "$filestore/$tmpl" ]; then cp -a "$filestore/$tmpl" "$filestore/$testdb"; fi
    http_port=$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    test_log="$ROOT/.odoo-test.log"
    log "Odoo suite: -i depanssur --test-tags /depanssur (log: .odoo-test.log)"
    odoo_cmd -d "$testdb" -i depanssur --with-demo --test-tags "${DEPANSSUR_TEST_TAGS:-/depanssur}" \
        --stop-after-init --http-interface=127.0.0.1 --http-port="$http_port" --workers=0 \
        --max-cron-threads=0 --log-level=test >"$test_log" 2>&1
    rc=$?
    grep -E ' (ERROR|CRITICAL) |FAIL:|^(FAIL|ERROR):' "$test_log" | head -n 60
    report=$(grep -oE '[0-9]+ failed, [0-9]+ error\(s\) of [0-9]+ tests' "$test_log" | tail -n 1)
    if [ -n "$report" ]; then
        read -r f _ e _ _ total _ <<<"$report"
        odoo_failed=$((f + e))
        odoo_passed=$((total - f - e))
    fi
    # Warnings or errors logged by the addon's own code (its loggers, not its tests) or about its
    # own files and models (view/data loading, field definitions) during install and tests.
    own_warnings=$(awk '$4 == "WARNING" || $4 == "ERROR" || $4 == "CRITICAL"' "$test_log" \
        | awk '($6 ~ /^odoo\.addons\.depanssur/ && $6 !~ /\.tests/) \
               || /Modules: depanssur|\/depanssur\/(models|views|data|security|wizards|report)|depanssur\.[a-z_.]+\(/' \
        || true)
    psql_local -c "DROP DATABASE IF EXISTS \"$testdb\"" >/dev/null
    rm -rf "${filestore:?}/$testdb"
    if [ "$rc" -ne 0 ] || [ -z "$report" ] || [ "$odoo_failed" -ne 0 ] || [ "$odoo_passed" -eq 0 ]; then
        log "Odoo suite FAILED (exit $rc; ${report:-no test report}); see .odoo-test.log"
        [ -n "$report" ] || tail -n 40 "$test_log"
        [ "$odoo_failed" -ne 0 ] || odoo_failed=$((odoo_failed + 1))
        status=1
    else
        log "Odoo suite: $report"
    fi
    if [ -n "$own_warnings" ]; then
        log "the addon logged warnings/errors:"
        echo "$own_warnings" | head -n 20
        status=1
    fi
fi

echo
echo "pure: ${pure_passed} passed, ${pure_failed} failed, ${pure_skipped} skipped"
if have_odoo; then
    echo "odoo: ${odoo_passed} passed, ${odoo_failed} failed"
fi
echo "total: $((pure_passed + odoo_passed)) passed, $((pure_failed + odoo_failed)) failed"
exit "$status"
