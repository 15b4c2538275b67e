from odoo import api, models


class ResCompany(models.Model):
    _inherit = "res.company"

    @api.model
    def _prepaid_demo_set_locale(self):
        """Demo: the main company and its administrator live on Asia/Shanghai time, like the
        demo tariffs, so that band hours and imported timestamps read as local time."""
        company = self.env.ref("base.main_company")
        company.partner_id.tz = "Asia/Shanghai"
        self.env.ref("base.user_admin").tz = "Asia/Shanghai"
