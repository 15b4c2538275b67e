/** @odoo-module **/

import { registry } from "@web/core/registry";

// The newcomer's path: room monitoring -> a room -> its account -> the account's meters -> a
// meter form -> "Read Now" -> what happened.
// Data: tests/test_ui.py (a room "Tour Room 1" with an offline meter "TOUR-0001").
registry.category("web_tour.tours").add("prepaid_room_monitoring_tour", {
    steps: () => [
        {
            // Columns are titled "building · floor" and none is folded, however many floors.
            content: "The room monitoring kanban groups the rooms by floor",
            trigger:
                ".o_kanban_view .o_kanban_group:not(.o_column_folded) " +
                ".o_column_title:contains('Tour Building · Tour Floor')",
        },
        {
            content: "A legend explains the colours",
            trigger: ".o_prepaid_monitoring_legend:contains('Vacant')",
        },
        {
            content: "Search the room",
            trigger: ".o_searchview_input",
            run: "edit Tour Room",
        },
        {
            content: "Validate the search",
            trigger: ".o_searchview_autocomplete .o_menu_item:first-child:contains('Tour Room')",
            run: "click",
        },
        {
            content: "The search panel shows the site tree",
            trigger: ".o_search_panel .o_search_panel_category_value:contains('Tour Plaza')",
        },
        {
            content: "The room card shows the offline meter and the tenant",
            trigger:
                ".o_kanban_record:contains('Tour Room 1'):contains('Offline'):contains('Tour Tenant')",
        },
        {
            content: "Open the room",
            trigger: ".o_kanban_record:contains('Tour Room 1')",
            run: "click",
        },
        {
            content: "Open the room's current account",
            trigger: ".o_form_view .o_field_widget[name=account_id] a.o_form_uri",
            run: "click",
        },
        {
            content: "The account form is open, with its billing mode",
            trigger: ".o_form_view .o_field_widget[name=billing_mode]",
        },
        {
            content: "Open the meters of the account",
            trigger: ".o_form_view button[name=action_view_meters]",
            run: "click",
        },
        {
            content: "The meters of the room are listed",
            trigger: ".o_last_breadcrumb_item:contains('Meters')",
        },
        {
            content: "Open the meter",
            trigger: ".o_list_view .o_data_row .o_data_cell[name=serial_number]:contains('TOUR-0001')",
            run: "click",
        },
        {
            content: "The meter form is open",
            trigger: ".o_last_breadcrumb_item:contains('Tour Meter')",
        },
        {
            content: "The meter form shows its communication state",
            trigger: ".o_form_view .oe_title .o_field_widget[name=online_state]:contains('Offline')",
        },
        {
            content: "The supply is connected: only the relay button that disconnects is offered",
            trigger:
                ".o_form_view .o_form_statusbar:not(:has(button[name=action_relay_on])) " +
                "button[name=action_relay_off]",
        },
        {
            content: "Ask for a reading now",
            trigger: ".o_form_view .o_form_statusbar button[name=action_read_now]",
            run: "click",
        },
        {
            content: "The user is told what was requested and who must act",
            trigger: ".o_notification:contains('Requested: Read the meter now')",
        },
        {
            content: "The meter shows the request as pending",
            trigger: ".o_form_view .alert-info:contains('Pending'):contains('Read the meter now')",
        },
        {
            content: "Without a gateway, an activity is planned for the staff",
            trigger: ".o-mail-Activity:contains('Read the meter now')",
        },
    ],
});
