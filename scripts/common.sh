# Shared settings for the project scripts (sourced, not executed).
# Everything machine-specific lives outside the clone, under PREPAID_HOME, so
# that a fresh clone finds the Odoo and the virtualenv that `make setup` made.
set -euo pipefail
# runuser, pg_ctlcluster helpers and apt live in sbin, which a minimal CI PATH may lack.
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

PROJECT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PREPAID_HOME=${PREPAID_HOME:-${XDG_DATA_HOME:-$HOME/.local/share}/prepaid-utilities}
VENV=$PREPAID_HOME/venv
PY=$VENV/bin/python
ODOO_SRC_FILE=$PREPAID_HOME/odoo-src-path
PG_CLUSTER_VERSION=${PG_CLUSTER_VERSION:-15}
PG_CLUSTER_NAME=${PG_CLUSTER_NAME:-prepaid}
PG_PORT=${PG_PORT:-5439}
PROJECT_ADDONS="prepaid_meter,prepaid_billing,meter_gateway"
# Odoo addons installed beside the project's (not tested): payment_demo is the payment provider of
# the demo and of the portal tests; l10n_cn, the Chinese chart of accounts, makes the demo company
# (in Shanghai) account in CNY. The suite itself depends on neither.
EXTRA_ADDONS="payment_demo,l10n_cn"

if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
as_postgres() { if [ -z "$SUDO" ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi; }

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf '\033[31mERROR: %s\033[0m\n' "$*" >&2; exit 2; }

# The project addons that exist in this checkout (billing and gateway arrive later).
present_addons() {
    local out=() a
    for a in ${PROJECT_ADDONS//,/ }; do
        [ -f "$PROJECT_DIR/addons/$a/__manifest__.py" ] && out+=("$a")
    done
    local IFS=,; echo "${out[*]}"
}

# What `make run` and `make test` install: the project addons present plus EXTRA_ADDONS.
install_addons() {
    echo "$(present_addons),$EXTRA_ADDONS"
}

# Prints the Odoo 18 source recorded by `make setup`, or nothing.
installed_odoo_src() {
    [ -f "$ODOO_SRC_FILE" ] && [ -x "$PY" ] || return 0
    local src; src=$(cat "$ODOO_SRC_FILE")
    is_odoo18 "$src" && echo "$src"
    return 0
}

is_odoo18() {
    [ -f "$1/odoo-bin" ] && [ -f "$1/odoo/release.py" ] \
        && grep -Eq "^version_info = \(18, 0," "$1/odoo/release.py"
}

addons_path() {
    local src=$1 paths=()
    [ -d "$src/odoo/addons" ] && paths+=("$src/odoo/addons")
    [ -d "$src/addons/web" ] && paths+=("$src/addons")
    paths+=("$PROJECT_DIR/addons")
    local IFS=,; echo "${paths[*]}"
}

require_odoo() {
    ODOO_SRC_DIR=$(installed_odoo_src)
    [ -n "$ODOO_SRC_DIR" ] || die "Odoo 18 is not installed for this project (looked in $PREPAID_HOME:
  no odoo-src-path naming an Odoo 18.0 source tree, or no virtualenv).
  Run:  ODOO_SRC=/path/to/odoo-18-source make setup
  where the directory holds an Odoo 18.0 source tree (odoo-bin, odoo/release.py, addons/).
  Without ODOO_SRC, make setup tries the official https://github.com/odoo/odoo (branch 18.0)."
}

# Start the project's PostgreSQL cluster (Debian's postgresql-common tools).
pg_start() {
    if ! pg_lsclusters -h 2>/dev/null | awk '{print $1" "$2}' | grep -qx "$PG_CLUSTER_VERSION $PG_CLUSTER_NAME"; then
        say "Creating PostgreSQL cluster $PG_CLUSTER_VERSION/$PG_CLUSTER_NAME on port $PG_PORT"
        $SUDO pg_createcluster "$PG_CLUSTER_VERSION" "$PG_CLUSTER_NAME" --port "$PG_PORT" \
            -- --auth-local=peer --auth-host=scram-sha-256 >/dev/null
        # A development and test cluster: durability traded for speed.
        $SUDO pg_conftool "$PG_CLUSTER_VERSION" "$PG_CLUSTER_NAME" set fsync off
        $SUDO pg_conftool "$PG_CLUSTER_VERSION" "$PG_CLUSTER_NAME" set synchronous_commit off
        $SUDO pg_conftool "$PG_CLUSTER_VERSION" "$PG_CLUSTER_NAME" set full_page_writes off
        $SUDO pg_conftool "$PG_CLUSTER_VERSION" "$PG_CLUSTER_NAME" set max_connections 200
    fi
    if ! pg_lsclusters -h | awk -v v="$PG_CLUSTER_VERSION" -v n="$PG_CLUSTER_NAME" '$1==v && $2==n {print $4}' | grep -q online; then
        $SUDO pg_ctlcluster "$PG_CLUSTER_VERSION" "$PG_CLUSTER_NAME" start
    fi
    local user; user=$(id -un)
    if ! as_postgres psql -p "$PG_PORT" -tAc "SELECT 1 FROM pg_roles WHERE rolname='$user'" | grep -q 1; then
        as_postgres createuser -p "$PG_PORT" --superuser "$user"
    fi
}

# The machine's Odoo config: the committed odoo.conf plus the secrets of this machine,
# generated once and kept outside the clone (the STS key store encrypts with its secret).
machine_secret() {  # machine_secret <file>: print the secret kept in <file>, made once
    if [ ! -s "$1" ]; then
        (umask 077; "$PY" -c 'import secrets; print(secrets.token_urlsafe(48))' > "$1")
    fi
    cat "$1"
}

machine_conf() {
    local conf=$PREPAID_HOME/odoo.conf
    (umask 077; { cat "$PROJECT_DIR/odoo.conf"
      echo "admin_passwd = $(machine_secret "$PREPAID_HOME/master-password")"
      echo "prepaid_sts_key_secret = $(machine_secret "$PREPAID_HOME/sts-key-secret")"; } > "$conf")
    echo "$conf"
}

# Odoo command line for this project: the machine's config plus the paths of this machine.
odoo_cmd() {
    echo "$PY" "$ODOO_SRC_DIR/odoo-bin" -c "$(machine_conf)" \
        --addons-path="$(addons_path "$ODOO_SRC_DIR")" \
        --db_port="$PG_PORT" --data-dir="$PREPAID_HOME/filestore"
}
