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
    "external_dependencies": {"python": ["holidays"]},
    "data": [
        # Security first: the views reference the groups.
        "security/prepaid_meter_groups.xml",
        "security/ir.model.access.csv",
        "security/prepaid_meter_security.xml",
        # Data.
        "data/ir_sequence_data.xml",
        "data/mail_activity_type_data.xml",
        "data/prepaid_meter_model_data.xml",
        "data/prepaid_tariff_data.xml",
        # Views.
        "views/prepaid_site_views.xml",
        "views/prepaid_meter_model_views.xml",
        "views/prepaid_meter_views.xml",
        "views/prepaid_account_views.xml",
        "views/res_users_views.xml",
        "views/prepaid_tariff_views.xml",
        "views/prepaid_tariff_version_views.xml",
        "views/prepaid_tariff_season_views.xml",
        "views/prepaid_holiday_calendar_views.xml",
        "wizard/prepaid_account_open_views.xml",
        "views/prepaid_meter_menus.xml",
        # Readings (last: they inherit the meter form of the registry).
        "views/prepaid_reading_views.xml",
        "views/prepaid_meter_event_views.xml",
        "views/prepaid_load_profile_views.xml",
        "wizard/prepaid_meter_replace_views.xml",
        "wizard/prepaid_reading_import_views.xml",
        "data/res_users_data.xml",
    ],
    "demo": [
        "demo/res_company_demo.xml",
        "demo/prepaid_tariff_demo.xml",
        # Registry after the demo tariffs (demo/prepaid_tariff_demo.xml) it references.
        "demo/prepaid_site_demo.xml",
        "demo/prepaid_meter_demo.xml",
        "demo/prepaid_account_demo.xml",
        # Readings last: generated for the demo meters.
        "demo/prepaid_reading_demo.xml",
        "demo/res_company_localize_demo.xml",
    ],
    "assets": {
        "web.assets_backend": [
            "prepaid_meter/static/src/views/*",
        ],
        "web.assets_tests": [
            "prepaid_meter/static/tests/tours/*.js",
        ],
    },
    "installable": True,
    "application": True,
}
