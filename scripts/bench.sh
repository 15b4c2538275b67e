#!/usr/bin/env bash
# make bench: every benchmark under tests/benchmarks/ prints its own figures.
source "$(dirname "$0")/common.sh"
# Idempotent and quick once done; catches packages and requirements added since last time.
"$PROJECT_DIR/scripts/setup.sh"
require_odoo
pg_start
export PREPAID_PG_PORT=$PG_PORT PREPAID_ODOO_SRC=$ODOO_SRC_DIR PREPAID_HOME
status=0
for bench in "$PROJECT_DIR"/tests/benchmarks/bench_*.py; do
    say "$(basename "$bench")"
    (cd "$PROJECT_DIR" && "$PY" "$bench") || status=1
done
exit $status
