{
    "name": "Prepaid Meters",
    "summary": "Sites, meters, utility accounts, tariffs and readings for prepaid "
    "electricity and water",
    "version": "18.0.1.0.0",
    "category": "Industries/Utilities",
    "author": "Prepaid Utilities Suite",
    "website": "https://github.com/prepaid-utilities/odoo-prepaid",
    "license": "LGPL-3",
    "depends": ["base", "mail"],
    "data": [
        # Security first: the views reference the groups.
        "security/prepaid_meter_groups.xml",
        "security/ir.model.access.csv",
        "security/prepaid_meter_security.xml",
        # Data.
        "data/ir_sequence_data.xml",
        # Views.
        "views/prepaid_meter_menus.xml",
    ],
    "demo": [],
    "assets": {
        "web.assets_tests": [
            "prepaid_meter/static/tests/tours/*.js",
        ],
    },
    "installable": True,
    "application": True,
}
