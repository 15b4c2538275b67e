#!/usr/bin/env bash
# Run this project's Odoo with its config: scripts/odoo.sh [odoo-bin arguments...]
# e.g. scripts/odoo.sh -d mydb -i prepaid_meter --test-enable --test-tags /prepaid_meter --stop-after-init
source "$(dirname "$0")/common.sh"
require_odoo
pg_start
# shellcheck disable=SC2046
exec $(odoo_cmd) "$@"
