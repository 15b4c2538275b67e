#!/usr/bin/env bash
# make setup: idempotent machine set-up (system packages, PostgreSQL, Odoo 18, Python deps).
source "$(dirname "$0")/common.sh"

APT_PACKAGES=(postgresql postgresql-contrib libpq-dev libxml2-dev libxslt1-dev libjpeg-dev zlib1g-dev
              chromium wkhtmltopdf poppler-utils socat fonts-noto-cjk git)

install_system_packages() {  # [package...]: default all of APT_PACKAGES
    local missing=() p wanted=("$@")
    [ ${#wanted[@]} -gt 0 ] || wanted=("${APT_PACKAGES[@]}")
    for p in "${wanted[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    say "Installing Debian packages: ${missing[*]}"
    $SUDO apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

locate_odoo_source() {
    if [ -n "${ODOO_SRC:-}" ]; then
        local src; src=$(cd "$ODOO_SRC" 2>/dev/null && pwd) || die "ODOO_SRC=$ODOO_SRC is not a directory."
        is_odoo18 "$src" || die "ODOO_SRC=$src is not an Odoo 18.0 source tree (no odoo-bin, or odoo/release.py is not 18.0)."
        echo "$src"; return
    fi
    local recorded; recorded=$([ -f "$ODOO_SRC_FILE" ] && cat "$ODOO_SRC_FILE" || true)
    if [ -n "$recorded" ] && is_odoo18 "$recorded"; then echo "$recorded"; return; fi
    local upstream=$PREPAID_HOME/odoo-upstream
    if is_odoo18 "$upstream"; then echo "$upstream"; return; fi
    say "No ODOO_SRC given: trying the official Odoo 18.0 source (github.com/odoo/odoo)"
    command -v git >/dev/null || install_system_packages git
    if timeout 600 git clone -q --depth 1 --branch 18.0 https://github.com/odoo/odoo.git "$upstream.tmp" 2>/dev/null; then
        mv "$upstream.tmp" "$upstream"; echo "$upstream"; return
    fi
    rm -rf "$upstream.tmp"
    die "No Odoo 18 source found and github.com is not reachable from this machine.
  Provide one:  ODOO_SRC=/path/to/odoo-18-source make setup
  (a directory holding odoo-bin, odoo/release.py with version 18.0, and addons/)."
}

install_python() {
    local src=$1
    [ -x "$PY" ] || { say "Creating virtualenv $VENV"; python3 -m venv "$VENV"; }
    # Odoo 18 pins old packages whose builds still need pkg_resources: setuptools<81 for builds.
    local constraint=$PREPAID_HOME/build-constraints.txt
    echo 'setuptools<81' > "$constraint"
    local odoo_req=$PREPAID_HOME/odoo-requirements.txt
    # python-ldap only serves LDAP login and needs system headers: left out.
    grep -v '^python-ldap' "$src/requirements.txt" > "$odoo_req"
    local stamp=$PREPAID_HOME/requirements.stamp
    local want; want=$(cat "$odoo_req" "$PROJECT_DIR/requirements.txt" | sha256sum | cut -d' ' -f1)
    if [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then return 0; fi
    say "Installing Python dependencies (Odoo's and the project's)"
    "$PY" -m pip install -q --upgrade 'pip>=26.2' 'setuptools<81' wheel
    "$PY" -m pip install -q --build-constraint "$constraint" -r "$odoo_req"
    "$PY" -m pip install -q --build-constraint "$constraint" -r "$PROJECT_DIR/requirements.txt"
    echo "$want" > "$stamp"
}

mkdir -p "$PREPAID_HOME"
# Find Odoo first: without it the set-up cannot succeed, and it stops with the instructions
# before installing any system package.
src=$(locate_odoo_source)
install_system_packages
install_python "$src"
echo "$src" > "$ODOO_SRC_FILE"
# Make `import odoo` work in the virtualenv (benchmarks and end-to-end scripts).
"$PY" -c 'import site, sys; open(site.getsitepackages()[0] + "/odoo-src.pth", "w").write(sys.argv[1] + "\n")' "$src"
pg_start
say "Ready: Odoo 18 from $src, Python $VENV, PostgreSQL $PG_CLUSTER_VERSION/$PG_CLUSTER_NAME on port $PG_PORT"
