{
    "name": "Meter Gateway",
    "summary": "Read and switch prepaid meters over Modbus RTU/TCP and DL/T 645-2007: gateways, "
    "command queue, polling, communication log, simulators",
    "version": "18.0.1.0.0",
    "category": "Industries/Utilities",
    "author": "Prepaid Utilities Suite",
    "website": "https://github.com/prepaid-utilities/odoo-prepaid",
    "license": "LGPL-3",
    "depends": ["prepaid_meter", "mail"],
    "external_dependencies": {"python": ["pymodbus"]},
    "data": [
        # Security first: the views and menus reference the models.
        "security/ir.model.access.csv",
        "security/meter_gateway_security.xml",
        # Data.
        "data/ir_cron_data.xml",
        # Views, menus last.
        "views/meter_gateway_views.xml",
        "views/meter_command_views.xml",
        "views/meter_comm_log_views.xml",
        "views/meter_batch_task_views.xml",
        "views/prepaid_meter_views.xml",
        "views/meter_gateway_menus.xml",
    ],
    "demo": [
        # After the demo meters of prepaid_meter: one simulated gateway per floor bus.
        "demo/meter_gateway_demo.xml",
    ],
    "assets": {
        "web.assets_tests": [
            "meter_gateway/static/tests/tours/*.js",
        ],
    },
    "installable": True,
}
