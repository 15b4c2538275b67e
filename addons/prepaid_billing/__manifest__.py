{
    "name": "Prepaid Billing",
    "summary": "Wallet ledger and posting service; STS prepayment tokens: vending key store, "
    "token providers, token log, issue and decode wizards, receipts",
    "version": "18.0.1.1.0",
    "category": "Industries/Utilities",
    "author": "Prepaid Utilities Suite",
    "website": "https://github.com/prepaid-utilities/odoo-prepaid",
    "license": "LGPL-3",
    "depends": ["prepaid_meter", "account", "mail", "sms", "portal", "payment"],
    "external_dependencies": {"python": ["cryptography", "qrcode"]},
    "data": [
        # Security first: the views and menus reference the models and groups.
        "security/ir.model.access.csv",
        "security/prepaid_billing_security.xml",
        "security/prepaid_ledger_security.xml",
        "security/prepaid_alarm_security.xml",
        "security/prepaid_portal_security.xml",
        "security/prepaid_fee_security.xml",
        "security/prepaid_refund_security.xml",
        # Data.
        "data/prepaid_sts_provider_data.xml",
        "data/ir_cron_data.xml",
        "data/ir_sequence_data.xml",
        "data/prepaid_alarm_data.xml",
        "data/prepaid_portal_mail_data.xml",
        "data/prepaid_fee_data.xml",
        "data/prepaid_refund_data.xml",
        # Views and reports.
        "views/prepaid_sts_provider_views.xml",
        "views/prepaid_sts_vending_key_views.xml",
        "views/prepaid_sts_token_views.xml",
        "views/prepaid_meter_views.xml",
        "views/prepaid_ledger_line_views.xml",
        # The top-up form and the account form call the top-up wizards.
        "wizard/prepaid_topup_counter_views.xml",
        "views/prepaid_topup_views.xml",
        "views/prepaid_accounting_views.xml",
        "views/prepaid_refund_views.xml",
        "views/res_config_settings_views.xml",
        "wizard/prepaid_supply_override_views.xml",
        "views/prepaid_alarm_views.xml",
        "wizard/prepaid_fee_run_views.xml",
        "views/prepaid_fee_item_views.xml",
        "views/prepaid_site_views.xml",
        "report/prepaid_sts_token_reports.xml",
        "report/prepaid_sts_token_templates.xml",
        "report/prepaid_topup_reports.xml",
        "report/prepaid_topup_templates.xml",
        "report/prepaid_refund_receipt.xml",
        "wizard/prepaid_sts_token_issue_views.xml",
        "wizard/prepaid_sts_token_decode_views.xml",
        "wizard/prepaid_sts_token_cancel_views.xml",
        # The tenant portal and online top-ups.
        "views/portal_views.xml",
        "views/portal_templates.xml",
        # Menus last: they reference the actions above.
        "views/prepaid_billing_menus.xml",
    ],
    "demo": [
        # After the demo meters of prepaid_meter: some of them become STS keypad meters.
        "demo/prepaid_sts_demo.xml",
        "demo/prepaid_topup_demo.xml",
        "demo/prepaid_alarm_demo.xml",
    ],
    "assets": {
        "web.assets_frontend": [
            "prepaid_billing/static/src/portal/*.js",
        ],
        "web.assets_tests": [
            "prepaid_billing/static/tests/tours/*.js",
        ],
    },
    "installable": True,
}
