from odoo import api, fields, models
from odoo.tools import SQL


class PrepaidAccount(models.Model):
    """Fees of the account, and the cut-off rule that keeps them out of the supply decision."""

    _inherit = "prepaid.account"

    fee_charge_ids = fields.One2many("prepaid.fee.charge", "account_id", string="Fee Charges")
    fee_due = fields.Monetary(
        string="Fees Due",
        compute="_compute_fee_due",
        help="Fees left to bill or to recover: never a reason to cut the supply.",
    )

    debt_ids = fields.One2many("prepaid.debt", "account_id", string="Debts")
    debt_residual = fields.Monetary(
        string="Debts to Recover", compute="_compute_debt_residual", help="Recovered from top-ups."
    )

    @api.depends("debt_ids.residual", "debt_ids.state")
    def _compute_debt_residual(self):
        totals = dict(
            self.env["prepaid.debt"]._read_group(
                [("account_id", "in", self.ids), ("state", "=", "active")],
                ["account_id"],
                ["residual:sum"],
            )
        )
        for account in self:
            account.debt_residual = totals.get(account, 0.0)

    def action_view_fee_charges(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "prepaid_billing.prepaid_fee_charge_action"
        )
        action["domain"] = [("account_id", "=", self.id)]
        return action

    def action_view_debts(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "prepaid_billing.prepaid_debt_action"
        )
        action["domain"] = [("account_id", "=", self.id)]
        action["context"] = {"default_account_id": self.id}
        return action

    @api.depends("fee_charge_ids.residual")
    def _compute_fee_due(self):
        totals = dict(
            self.env["prepaid.fee.charge"]._read_group(
                [("account_id", "in", self.ids), ("state", "=", "open")],
                ["account_id"],
                ["residual:sum"],
            )
        )
        for account in self:
            account.fee_due = totals.get(account, 0.0)

    def _is_at_cutoff(self):
        """At the cut-off balance, unless only fees brought the balance there: the supply is
        never cut to collect a fee (Civil Code art. 944). Fees take only the credit above the
        cut-off threshold, so they may leave the balance exactly on it; the next energy charge
        then cuts as usual.

        Only looked up while the supply is on (the transition), not on every posting of an
        account already cut."""
        at_cutoff = super()._is_at_cutoff()
        if not at_cutoff or self.cutoff_state != "supplied":
            return at_cutoff
        return not self._is_fee_only_drop()

    def _is_fee_only_drop(self):
        """Whether every debit since the balance was last above the cut-off balance is a fee."""
        self.ensure_one()
        self.env["prepaid.ledger.line"].flush_model(["account_id", "amount", "balance_after"])
        self.env.cr.execute(
            SQL(
                """SELECT bool_and(l.kind = 'fee')
                     FROM prepaid_ledger_line l
                    WHERE l.account_id = %(account)s AND l.amount < 0
                      AND l.id > COALESCE((SELECT max(a.id) FROM prepaid_ledger_line a
                                            WHERE a.account_id = %(account)s
                                              AND a.balance_after > %(cutoff)s), 0)""",
                account=self.id,
                cutoff=self._get_cutoff_balance(),
            )
        )
        return bool(self.env.cr.fetchone()[0])
