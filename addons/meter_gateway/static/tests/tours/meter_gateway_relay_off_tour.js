/** @odoo-module **/

import { registry } from "@web/core/registry";

// Relay off from the meter form of a meter on a (simulated) gateway.
// Data: tests/test_ui.py (meter "GW-TOUR-1" on a simulator gateway, polled once: online).
registry.category("web_tour.tours").add("meter_gateway_relay_off_tour", {
    steps: () => [
        {
            content: "The meter form shows the meter online",
            trigger: ".o_form_view .oe_title .o_field_widget[name=online_state]:contains('Online')",
        },
        {
            content: "Disconnect the supply",
            trigger: ".o_form_view .o_form_statusbar button[name=action_relay_off]",
            run: "click",
        },
        {
            content: "Confirm",
            trigger: ".modal-footer button.btn-primary",
            run: "click",
        },
        {
            content: "The user is told the command went to the gateway",
            trigger: ".o_notification:contains('Sent to the meter gateway')",
        },
        {
            content: "The meter shows the command as pending",
            trigger: ".o_form_view .alert-info:contains('Pending'):contains('Relay Off')",
        },
    ],
});

// After the gateway has carried the command out: the form shows the supply off.
registry.category("web_tour.tours").add("meter_gateway_relay_off_result_tour", {
    steps: () => [
        {
            content: "The meter shows the supply disconnected, as read back from the meter",
            trigger: ".o_form_view .oe_title .o_field_widget[name=supply_state]:contains('Disconnected')",
        },
        {
            content: "Nothing is pending any more, and the reconnection is offered",
            trigger:
                ".o_form_view:not(:has(.alert-info:contains('Pending'))) " +
                ".o_form_statusbar button[name=action_relay_on]",
        },
    ],
});
