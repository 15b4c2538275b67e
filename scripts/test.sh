#!/usr/bin/env bash
# make test: Odoo's test runner for every project addon on a fresh throw-away
# database, the pytest suites, and the linters; ends with "N passed, M failed".
source "$(dirname "$0")/common.sh"

# Idempotent and quick once done; catches packages and requirements added since last time.
"$PROJECT_DIR/scripts/setup.sh"
require_odoo
pg_start

BUILD=$PROJECT_DIR/build
mkdir -p "$BUILD"
TOTAL_PASSED=0
TOTAL_FAILED=0
SUMMARY=()

record() {  # record <suite> <passed> <failed>
    TOTAL_PASSED=$((TOTAL_PASSED + $2)); TOTAL_FAILED=$((TOTAL_FAILED + $3))
    SUMMARY+=("$(printf '%-22s %5d passed, %d failed' "$1" "$2" "$3")")
}

run_odoo_tests() {
    local addons; addons=$(present_addons)
    local db="prepaid_test_$$" log="$BUILD/odoo-tests.log" tags
    tags=$(echo "$addons" | sed 's/\([^,]*\)/\/\1/g')
    say "Odoo tests ($addons) on a fresh database $db"
    local rc=0
    # shellcheck disable=SC2046
    $(odoo_cmd) -d "$db" -i "$(install_addons)" --test-enable --test-tags "$tags" \
        --stop-after-init --log-level=test --http-port=8169 >"$log" 2>&1 || rc=$?
    dropdb -p "$PG_PORT" --if-exists "$db" >/dev/null 2>&1 || true
    rm -rf "$PREPAID_HOME/filestore/filestore/$db"
    local line failed=0 errors=0 run=0
    line=$(grep -E "odoo.tests.result: [0-9]+ failed, [0-9]+ error\(s\) of [0-9]+ tests" "$log" | tail -1 || true)
    if [ -n "$line" ]; then
        failed=$(sed -E 's/.*: ([0-9]+) failed.*/\1/' <<<"$line")
        errors=$(sed -E 's/.* ([0-9]+) error\(s\).*/\1/' <<<"$line")
        run=$(sed -E 's/.* of ([0-9]+) tests.*/\1/' <<<"$line")
    fi
    local bad=$((failed + errors))
    # Errors logged outside any test (a view that fails to load, a crashed
    # install) fail the run too: the test count alone would not show them.
    if [ -z "$line" ] || [ $rc -ne 0 ] || { [ $bad -eq 0 ] && grep -qE "^[0-9-]+ [0-9:,]+ [0-9]+ (ERROR|CRITICAL) " "$log"; }; then
        bad=$((bad + 1))
        echo "Odoo logged errors or did not finish (exit $rc); see $log" >&2
    fi
    grep -E "^[0-9-]+ [0-9:,]+ [0-9]+ (ERROR|CRITICAL) |^(FAIL|ERROR):" "$log" | head -40 >&2 || true
    record "odoo ($addons)" $((run - failed - errors)) $bad
}

run_pytest() {
    say "pytest (pure packages, protocol stacks, end-to-end)"
    local xml="$BUILD/pytest.xml"
    rm -f "$xml"
    (cd "$PROJECT_DIR" && "$PY" -m pytest tests -q -p no:cacheprovider --timeout=600 \
        --junitxml="$xml") | tail -25 || true
    if [ ! -f "$xml" ]; then record pytest 0 1; return; fi
    read -r p f < <("$PY" - "$xml" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else list(root)
t = sum(int(s.get("tests", 0)) for s in suites)
f = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
sk = sum(int(s.get("skipped", 0)) for s in suites)
print(t - f - sk, f)
PY
)
    record pytest "$p" "$f"
}

run_lint() {  # run_lint <name> <command...>
    local name=$1; shift
    say "lint: $name"
    if (cd "$PROJECT_DIR" && "$@"); then record "lint: $name" 1 0; else record "lint: $name" 0 1; fi
}

run_odoo_tests
run_pytest
run_lint ruff "$VENV/bin/ruff" check addons tests scripts
run_lint ruff-format "$VENV/bin/ruff" format --check addons tests scripts
# shellcheck disable=SC2046
run_lint pylint-odoo "$VENV/bin/pylint" --rcfile=.pylintrc-mandatory \
    $(for a in ${PROJECT_ADDONS//,/ }; do [ -d "addons/$a" ] && echo "addons/$a"; done)

echo
printf '%s\n' "${SUMMARY[@]}"
echo "$TOTAL_PASSED passed, $TOTAL_FAILED failed"
[ "$TOTAL_FAILED" -eq 0 ]
