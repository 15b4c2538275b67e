from odoo import api, fields, models


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

    @api.model_create_multi
    def create(self, vals_list):
        users = super().create(vals_list)
        users._prepaid_set_home_action()
        return users

    def write(self, vals):
        res = super().write(vals)
        if "prepaid_site_ids" in vals:
            self.env["prepaid.site"]._invalidate_operator_rules()
        if any(key == "groups_id" or key.startswith("in_group_") for key in vals):
            self._prepaid_set_home_action()
        return res

    @api.model
    def _prepaid_set_default_home_actions(self):
        """At install: the suite's users without a home action land on room monitoring."""
        group = self.env.ref("prepaid_meter.prepaid_meter_group_operator")
        group.users._prepaid_set_home_action()

    def _prepaid_set_home_action(self):
        """Users of the suite land on room monitoring rather than on Discuss, unless they
        (or an administrator) chose another home action."""
        action = self.env.ref("prepaid_meter.prepaid_site_action_room_monitoring", False)
        if not action:  # during the install, before the views are loaded
            return
        users = self.filtered(
            lambda u: not u.action_id and u.has_group("prepaid_meter.prepaid_meter_group_operator")
        )
        if users:
            super(ResUsers, users.sudo()).write({"action_id": action.id})
