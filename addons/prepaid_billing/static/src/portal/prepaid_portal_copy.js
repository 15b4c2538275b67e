import publicWidget from "@web/legacy/js/public/public_widget";
import { _t } from "@web/core/l10n/translation";

/**
 * The copy button of an STS token on the tenant portal: the 20 digits go to the clipboard so
 * that the tenant can paste them into the meter's app or a message.
 */
publicWidget.registry.PrepaidTokenCopy = publicWidget.Widget.extend({
    selector: ".o_prepaid_portal_account, .o_prepaid_portal_topup_status",
    events: {
        "click .o_prepaid_copy": "_onCopy",
    },

    async _onCopy(ev) {
        const button = ev.currentTarget;
        try {
            await navigator.clipboard.writeText(button.dataset.copy);
            button.textContent = _t("Copied");
        } catch {
            // No clipboard (an insecure http page): the digits are shown, select them instead.
            button.textContent = _t("Select the digits to copy");
        }
    },
});
