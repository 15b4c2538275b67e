from odoo import Command, api, fields, models
from odoo.exceptions import UserError


class PrepaidAccountOpen(models.TransientModel):
    """Open many prepared (draft) accounts in one step: the accounts that pass the checks are
    opened, the others are listed with the reason, and nothing else changes for them."""

    _name = "prepaid.account.open"
    _description = "Open Utility Accounts"

    account_ids = fields.Many2many(
        "prepaid.account",
        string="Accounts",
        default=lambda self: self._default_account_ids(),
    )
    account_count = fields.Integer(compute="_compute_account_count")
    skipped_count = fields.Integer(
        default=lambda self: self._default_skipped_count(),
        help="Selected accounts left out because they are not drafts (already open, suspended "
        "or closed).",
    )
    state = fields.Selection([("confirm", "Confirm"), ("done", "Done")], default="confirm")
    line_ids = fields.One2many("prepaid.account.open.line", "wizard_id", string="Results")
    opened_count = fields.Integer(compute="_compute_result_counts")
    failed_count = fields.Integer(compute="_compute_result_counts")

    @api.model
    def _selected_accounts(self):
        context = self.env.context
        if context.get("active_model") == "prepaid.account" and context.get("active_ids"):
            return self.env["prepaid.account"].browse(context["active_ids"]).exists()
        return self.env["prepaid.account"]

    @api.model
    def _default_account_ids(self):
        # Only drafts are opened; the others are counted and left out.
        drafts = self._selected_accounts().filtered(lambda a: a.state == "draft")
        return [Command.set(drafts.ids)] if drafts else False

    @api.model
    def _default_skipped_count(self):
        return len(self._selected_accounts().filtered(lambda a: a.state != "draft"))

    @api.depends("account_ids")
    def _compute_account_count(self):
        for wizard in self:
            wizard.account_count = len(wizard.account_ids)

    @api.depends("line_ids.result")
    def _compute_result_counts(self):
        for wizard in self:
            wizard.opened_count = len(
                wizard.line_ids.filtered(lambda line: line.result == "opened")
            )
            wizard.failed_count = len(
                wizard.line_ids.filtered(lambda line: line.result == "failed")
            )

    def action_open_accounts(self):
        """Open what can be opened and show the result of every account."""
        self.ensure_one()
        if not self.account_ids:
            raise UserError(self.env._("Select the draft accounts to open."))
        opened, failures = self.account_ids._open_batch()
        self.line_ids = (
            [Command.clear()]
            + [Command.create({"account_id": account.id, "result": "opened"}) for account in opened]
            + [
                Command.create({"account_id": account.id, "result": "failed", "message": message})
                for account, message in failures.items()
            ]
        )
        self.state = "done"
        return {
            "name": self.env._("Open Accounts"),
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "new",
        }

    def action_view_failed(self):
        """List the accounts that could not be opened, to fix them."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "prepaid_meter.prepaid_account_action"
        )
        action["domain"] = [
            (
                "id",
                "in",
                self.line_ids.filtered(lambda line: line.result == "failed").account_id.ids,
            )
        ]
        action["context"] = {}
        return action
