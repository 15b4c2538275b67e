/** @odoo-module **/

import { registry } from "@web/core/registry";

// Meters -> an STS meter -> "Issue Token" -> a credit token -> the token, then the meter's token
// log. Data: tests/test_ui.py (an STS meter "Tour STS Meter", serial TOURSTS0001, with a key).

function checkGroupedToken() {
    const text = this.anchor.textContent.trim();
    if (!/^\d{4}( \d{4}){4}$/.test(text)) {
        throw new Error(`The token is not shown as five groups of four digits: "${text}"`);
    }
}

registry.category("web_tour.tours").add("prepaid_sts_issue_tour", {
    steps: () => [
        {
            content: "Search the STS meter",
            trigger: ".o_searchview_input",
            run: "edit TOURSTS0001",
        },
        {
            content: "Validate the search",
            trigger: ".o_searchview_autocomplete .o_menu_item:first-child:contains('TOURSTS0001')",
            run: "click",
        },
        {
            content: "Open the meter",
            trigger: ".o_list_view .o_data_row .o_data_cell[name=serial_number]:contains('TOURSTS0001')",
            run: "click",
        },
        {
            content: "The meter form is open",
            trigger: ".o_last_breadcrumb_item:contains('Tour STS Meter')",
        },
        {
            content: "Open the STS page",
            trigger: ".o_form_view .o_notebook .nav-link:contains('STS')",
            run: "click",
        },
        {
            content: "The STS page shows the meter PAN",
            trigger: ".o_form_view .o_field_widget[name=sts_pan]:contains('600727')",
        },
        {
            content: "Open the issue wizard",
            trigger: ".o_form_view .o_form_statusbar button[name=action_sts_issue_token]",
            run: "click",
        },
        {
            content: "The wizard is for the meter",
            trigger: ".modal .o_field_widget[name=meter_ids]:contains('Tour STS Meter')",
        },
        {
            content: "Its credit is in kWh",
            trigger: ".modal .o_field_widget[name=unit]:contains('kWh')",
        },
        {
            content: "Enter the credit",
            trigger: ".modal .o_field_widget[name=amount] input",
            run: "edit 25.6",
        },
        {
            content: "Say why the credit is free (sales go through top-ups)",
            trigger: ".modal .o_field_widget[name=free_reason] input",
            run: "edit Emergency credit",
        },
        {
            content: "Enter the sale reference",
            trigger: ".modal .o_field_widget[name=origin] input",
            run: "edit TOUR/0001",
        },
        {
            content: "Issue the token",
            trigger: ".modal .modal-footer button[name=action_issue]",
            run: "click",
        },
        {
            content: "The token issued is shown",
            trigger: ".o_last_breadcrumb_item:contains('Electricity Credit')",
        },
        {
            content: "It carries the credit",
            trigger: ".o_form_view .o_field_widget[name=value_display]:contains('25.6 kWh')",
        },
        {
            content: "The 20 digits are shown in groups of four",
            trigger: ".o_form_view .o_field_widget[name=token_grouped]",
            run: checkGroupedToken,
        },
        {
            content: "Back to the meter",
            trigger: ".o_breadcrumb .breadcrumb-item a:contains('Tour STS Meter')",
            run: "click",
        },
        {
            content: "Open the token log of the meter",
            trigger: ".o_form_view button[name=action_view_sts_tokens]:contains('1')",
            run: "click",
        },
        {
            content: "The token log lists the token with its sale",
            trigger: ".o_list_view .o_data_row:contains('TOUR/0001'):contains('25.6 kWh')",
        },
        {
            content: "The token log shows the digits in groups of four",
            trigger: ".o_list_view .o_data_row .o_data_cell[name=token_grouped]",
            run: checkGroupedToken,
        },
    ],
});
