from odoo import fields, models


class ResUsers(models.Model):
    _inherit = "res.users"

    # The other side of ``prepaid.site.operator_ids``; the record rules of the operators read
    # it (``[('id', 'child_of', user.prepaid_site_ids.ids)]``).
    prepaid_site_ids = fields.Many2many(
        "prepaid.site",
        relation="prepaid_site_operator_rel",
        column1="user_id",
        column2="site_id",
        string="Prepaid Sites",
        help="Sites this user operates, with every site below them.",
    )

    def write(self, vals):
        res = super().write(vals)
        if "prepaid_site_ids" in vals:
            self.env["prepaid.site"]._invalidate_operator_rules()
        return res
