/** @odoo-module **/

import { registry } from "@web/core/registry";

// Accounts > Sell Credit -> find the account by its room -> 50 in cash -> sell and print the
// receipt -> the top-up is paid with its receipt. Data: tests/test_ui.py (an open account of
// "Tour Counter Tenant" in room "Tour Counter Room").
registry.category("web_tour.tours").add("prepaid_counter_sale_tour", {
    steps: () => [
        {
            content: "Open the Accounts menu",
            trigger: ".o_main_navbar .o_menu_sections button:contains('Accounts')",
            run: "click",
        },
        {
            content: "Open the counter screen",
            trigger: ".o-dropdown--menu .o-dropdown-item:contains('Sell Credit')",
            run: "click",
        },
        {
            content: "Find the account by its room",
            trigger: ".modal .o_field_widget[name=account_id] input",
            run: "edit Tour Counter Room",
        },
        {
            content: "Pick the account",
            trigger: ".modal .o-autocomplete--dropdown-item:contains('Tour Counter Tenant')",
            run: "click",
        },
        {
            content: "The screen shows the tenant and the balance now",
            trigger: ".modal .o_field_widget[name=partner_id]:contains('Tour Counter Tenant')",
        },
        {
            content: "Enter the amount paid",
            trigger: ".modal .o_field_widget[name=amount] input",
            run: "edit 50",
        },
        {
            content: "Paid in cash",
            trigger: ".modal .o_field_widget[name=payment_method] input[data-value=cash]",
            run: "click",
        },
        {
            content: "Sell and print the receipt",
            trigger: ".modal .modal-footer button[name=action_sell]",
            run: "click",
        },
        {
            content: "The receipt was downloaded and the counter screen closed",
            trigger: "body:not(:has(.modal))",
        },
    ],
});
