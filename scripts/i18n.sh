#!/usr/bin/env bash
# Refresh each addon's i18n/<addon>.pot from the code and merge it into i18n/zh_CN.po.
# Usage: scripts/i18n.sh [addon ...]   (default: every project addon)
source "$(dirname "$0")/common.sh"
require_odoo
pg_start
addons=("$@")
[ ${#addons[@]} -gt 0 ] || IFS=, read -r -a addons <<<"$(present_addons)"
db="prepaid_i18n_$$"
# shellcheck disable=SC2046
$(odoo_cmd) -d "$db" -i "$(IFS=,; echo "${addons[*]}")" --without-demo=all --stop-after-init \
    --log-level=warn
for addon in "${addons[@]}"; do
    dir=$PROJECT_DIR/addons/$addon/i18n
    mkdir -p "$dir"
    # shellcheck disable=SC2046
    $(odoo_cmd) -d "$db" --modules="$addon" --i18n-export="$dir/$addon.pot" --log-level=warn
    if [ -f "$dir/zh_CN.po" ]; then
        msgmerge --quiet --update --no-fuzzy-matching --backup=none "$dir/zh_CN.po" "$dir/$addon.pot"
    else
        msginit --no-translator --locale=zh_CN.UTF-8 -i "$dir/$addon.pot" -o "$dir/zh_CN.po"
    fi
    printf '%s: %s\n' "$addon" "$(msgfmt --statistics -o /dev/null "$dir/zh_CN.po" 2>&1)"
done
dropdb -p "$PG_PORT" "$db"
