from odoo import api, models

# The demo in Chinese: names of the demo records that are data (not generated).
DEMO_NAMES_ZH = {
    "prepaid_meter.prepaid_site_plaza_demo": "金色广场",
    "prepaid_meter.prepaid_site_building_a_demo": "A座",
    "prepaid_meter.prepaid_site_building_b_demo": "B座",
    "prepaid_meter.prepaid_site_building_c_demo": "C座",
    "prepaid_meter.prepaid_meter_user_operator_a_demo": "陈美",
    "prepaid_meter.prepaid_meter_user_operator_b_demo": "王俊",
}


class ResCompany(models.Model):
    _inherit = "res.company"

    @api.model
    def _prepaid_demo_set_locale(self):
        """Demo: the main company is in Shanghai, on Asia/Shanghai time like the demo tariffs
        (band hours and imported timestamps read as local time).

        Its country is set before accounting is installed (the registry loads first), so that
        a Chinese chart of accounts installed with it (``l10n_cn``, which ``make run`` and
        ``make test`` install) is the one chosen, in CNY. An existing accounting is left alone.
        """
        company = self.env.ref("base.main_company")
        has_accounting = "account.move.line" in self.env and bool(
            self.env["account.move.line"].sudo().search_count([], limit=1)
        )
        if not has_accounting:
            company.write(
                {
                    "country_id": self.env.ref("base.cn").id,
                    "state_id": False,
                    "street": "88 Century Avenue",
                    "street2": False,
                    "city": "Shanghai",
                    "zip": "200120",
                    "phone": "+86 21 5555 0100",
                }
            )
        company.partner_id.tz = "Asia/Shanghai"
        self.env.ref("base.user_admin").tz = "Asia/Shanghai"

    @api.model
    def _prepaid_demo_in_chinese(self):
        """The demo speaks the language of the administrator who created the database:
        Chinese when it was created in Chinese (``PREPAID_DEMO_LANG=zh_CN make run`` passes
        ``--load-language``, the database manager its language; see the README)."""
        return self.env.ref("base.user_admin").lang == "zh_CN"

    @api.model
    def _prepaid_demo_localize(self):
        """Demo in Chinese: Chinese site and user names, and the users read Chinese."""
        if not self._prepaid_demo_in_chinese():
            return
        self.env["res.lang"]._activate_lang("zh_CN")
        for xmlid, name in DEMO_NAMES_ZH.items():
            record = self.env.ref(xmlid, raise_if_not_found=False)
            if record:
                record.name = name
        floors = self.env["prepaid.site"].search([("site_type", "=", "floor")])
        for floor in floors.filtered(lambda f: f.name.startswith("Floor ")):
            floor.name = f"{floor.name.removeprefix('Floor ')}层"
        users = self.env.ref("base.user_admin") | self.env["res.users"].search(
            [("login", "in", ("operator.a", "operator.b"))]
        )
        users.write({"lang": "zh_CN"})
