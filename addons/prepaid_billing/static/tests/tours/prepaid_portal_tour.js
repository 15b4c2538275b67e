/** @odoo-module **/

import { registry } from "@web/core/registry";

// The tenant portal, as a tenant: the account of a keypad meter, its balance and chart, a
// top-up of 100 paid with the demo provider, the token shown, the balance risen.
// Data: tests/test_portal_ui.py.

registry.category("web_tour.tours").add("prepaid_portal_topup_tour", {
    steps: () => [
        {
            content: "Open the keypad meter's account",
            trigger: ".o_portal_my_doc_table td > a",
            run: "click",
        },
        {
            content: "The balance is shown",
            trigger: ".o_prepaid_balance:contains('0.00')",
        },
        {
            content: "The consumption chart shows the time-of-use split",
            trigger: ".o_prepaid_chart svg rect[data-series='t2']",
        },
        {
            content: "Top up",
            trigger: "a.o_prepaid_topup_button",
            run: "click",
        },
        {
            content: "Choose the preset amount of 100",
            trigger: "button.o_prepaid_preset[value='100.0']",
            run: "click",
        },
        {
            content: "The amount is confirmed",
            trigger: ".o_prepaid_topup_amount:contains('100.00')",
        },
        {
            content: "Choose the demo provider",
            trigger: "input[name='o_payment_radio'][data-payment-method-code='demo']",
            run: "click",
        },
        {
            content: "Enter test card details",
            trigger: "input[name='customer_input']",
            run: "edit 4242424242424242",
        },
        {
            content: "Pay",
            trigger: "button[name='o_payment_submit_button']:enabled",
            run: "click",
        },
        {
            content: "The top-up is credited",
            trigger: ".o_prepaid_portal_topup_status .alert-success:contains('credited')",
            timeout: 30000,
        },
        {
            content: "The token to enter on the meter is shown",
            trigger: ".o_prepaid_portal_topup_status .o_prepaid_token",
        },
        {
            content: "Back to the account",
            trigger: "a:contains('Back to the account')",
            run: "click",
        },
        {
            content: "The balance rose",
            trigger: ".o_prepaid_balance:contains('100.00')",
        },
        {
            content: "The token is listed with its copy button",
            trigger: ".o_prepaid_portal_account .o_prepaid_copy",
        },
    ],
});

// The QR label's link, without a login: the top-up page of the room's account.
registry.category("web_tour.tours").add("prepaid_portal_label_tour", {
    steps: () => [
        {
            content: "The top-up page of the account opens",
            trigger: ".o_prepaid_portal_topup h3:contains('Top up')",
        },
        {
            content: "The preset amounts are offered",
            trigger: "button.o_prepaid_preset",
            run: "click",
        },
        {
            content: "The payment form follows",
            trigger: "#o_payment_form",
        },
    ],
});
