from odoo import fields, models


class PrepaidSite(models.Model):
    _name = "prepaid.site"
    _description = "Site"
    _parent_store = True
    _order = "complete_name"
    _rec_name = "complete_name"

    name = fields.Char(required=True)
    complete_name = fields.Char(compute="_compute_complete_name", store=True, recursive=True)
    site_type = fields.Selection(
        [("area", "Area"), ("building", "Building"), ("floor", "Floor"), ("room", "Room")],
        required=True,
        default="room",
    )
    parent_id = fields.Many2one("prepaid.site", index=True, ondelete="restrict")
    parent_path = fields.Char(index=True)
    child_ids = fields.One2many("prepaid.site", "parent_id")
    company_id = fields.Many2one("res.company", required=True, default=lambda self: self.env.company)
    operator_ids = fields.Many2many("res.users", string="Operators")
    active = fields.Boolean(default=True)

    def _compute_complete_name(self):
        for site in self:
            if site.parent_id:
                site.complete_name = f"{site.parent_id.complete_name} / {site.name}"
            else:
                site.complete_name = site.name
