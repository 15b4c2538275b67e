#!/usr/bin/env bash
# make run: the demo database with the suite and its demo data, served on localhost:8069.
source "$(dirname "$0")/common.sh"

# Idempotent and quick once done; catches packages and requirements added since last time.
"$PROJECT_DIR/scripts/setup.sh"
require_odoo
pg_start

DB=${PREPAID_DEMO_DB:-prepaid_demo}
ADDONS=$(install_addons)
if psql -p "$PG_PORT" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='$DB'" | grep -q 1; then
    # Update what is installed, install what is new: "-i" on an installed addon would reload
    # its data in init mode and rewrite the demo records users have changed.
    installed=$(psql -p "$PG_PORT" -d "$DB" -tAc "SELECT string_agg(name, ',') FROM ir_module_module
        WHERE state = 'installed' AND name = ANY(string_to_array('$ADDONS', ','))")
    missing=$(comm -23 <(tr , '\n' <<<"$ADDONS" | sort) <(tr , '\n' <<<"$installed" | sort) | paste -sd,)
    say "Updating database $DB (update: ${installed:-none}; install: ${missing:-none})"
    args=()
    [ -n "$installed" ] && args+=(-u "$installed")
    [ -n "$missing" ] && args+=(-i "$missing")
    # shellcheck disable=SC2046
    $(odoo_cmd) -d "$DB" "${args[@]}" --stop-after-init
else
    # PREPAID_DEMO_LANG=zh_CN: the demo in Chinese (language, tenant, site and user names).
    lang_args=()
    [ -n "${PREPAID_DEMO_LANG:-}" ] && lang_args+=(--load-language="$PREPAID_DEMO_LANG")
    say "Creating database $DB with demo data ($ADDONS) ${PREPAID_DEMO_LANG:-}"
    # shellcheck disable=SC2046
    $(odoo_cmd) -d "$DB" -i "$ADDONS" "${lang_args[@]}" --stop-after-init
fi
cat <<MSG

  Prepaid utilities demo:  http://localhost:8069/odoo?db=$DB
  Login: admin   Password: admin   (operator demo users: see the README)
  Simulated meter gateways answer from inside the server on loopback ports: the scheduled
  action "Meter gateways: poll meters and send commands" reads the demo meters every 15
  minutes (Relay Off/Read Now are sent within a minute). Keep cron threads on (the default).

MSG
# shellcheck disable=SC2046
exec $(odoo_cmd) -d "$DB" --db-filter="^$DB\$"
