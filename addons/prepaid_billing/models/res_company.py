import logging

from odoo import api, fields, models
from odoo.exceptions import UserError

_logger = logging.getLogger(__name__)

# The journal of each payment method: cash in the cash journal, the others in the bank journal.
CASH_METHODS = ("cash",)


class ResCompany(models.Model):
    _inherit = "res.company"

    prepaid_prepayment_account_id = fields.Many2one(
        "account.account",
        string="Utility Prepayments Account",
        check_company=True,
        help="Liability: the credit the tenants hold on their wallets. Top-ups credit it, "
        "consumption debits it; its balance is the sum of the wallet balances.",
    )
    prepaid_revenue_electricity_account_id = fields.Many2one(
        "account.account", string="Electricity Revenue Account", check_company=True
    )
    prepaid_revenue_water_account_id = fields.Many2one(
        "account.account", string="Water Revenue Account", check_company=True
    )
    prepaid_electricity_tax_id = fields.Many2one(
        "account.tax",
        string="Electricity Sales Tax",
        check_company=True,
        domain="[('type_tax_use', '=', 'sale')]",
        help="The tax included in the electricity tariffs' prices: the daily summary entries "
        "split it out of the revenue (e.g. 13% VAT).",
    )
    prepaid_water_tax_id = fields.Many2one(
        "account.tax",
        string="Water Sales Tax",
        check_company=True,
        domain="[('type_tax_use', '=', 'sale')]",
        help="The tax included in the water tariffs' prices: the daily summary entries split it "
        "out of the revenue (e.g. 9% VAT).",
    )
    prepaid_adjustment_account_id = fields.Many2one(
        "account.account",
        string="Wallet Adjustments Account",
        check_company=True,
        help="Counterpart of opening balances, adjustments and transfers between wallets.",
    )
    prepaid_unbilled_account_id = fields.Many2one(
        "account.account",
        string="Unbilled Utility Consumption Account",
        check_company=True,
        help="Consumption of accounts invoiced each month: the daily summaries move it from "
        "the prepayments to this account, and the monthly invoice, paid by the prepayment, "
        "clears it.",
    )
    prepaid_summary_journal_id = fields.Many2one(
        "account.journal",
        string="Utility Consumption Journal",
        check_company=True,
        domain="[('type', '=', 'general')]",
        help="The daily summary entries of consumption, fees and adjustments.",
    )
    prepaid_cash_journal_id = fields.Many2one(
        "account.journal",
        string="Counter Cash Journal",
        check_company=True,
        domain="[('type', '=', 'cash')]",
    )
    prepaid_bank_journal_id = fields.Many2one(
        "account.journal",
        string="Bank and Online Payments Journal",
        check_company=True,
        domain="[('type', '=', 'bank')]",
        help="Bank cards, transfers, WeChat Pay, Alipay and online payments.",
    )
    prepaid_meter_balance_tolerance = fields.Monetary(
        string="Meter Balance Tolerance",
        currency_field="currency_id",
        default=1.0,
        help="Billing on the meter: a balance reported by a meter that differs from the "
        "expected one by more than this is flagged.",
    )
    prepaid_refund_manager_limit = fields.Monetary(
        string="Refunds Needing a Manager Above",
        currency_field="currency_id",
        default=500.0,
        help="A refund of unused credit larger than this amount is paid out by a manager only.",
    )

    @api.model
    def _prepaid_set_default_report_layout(self):
        """Receipts print at the counter at once: without a document layout, Odoo would open
        its "Configure your document layout" dialog at the first print instead."""
        layout = self.env.ref("web.external_layout_standard", raise_if_not_found=False)
        if layout:
            self.search([("external_report_layout_id", "=", False)]).write(
                {"external_report_layout_id": layout.id}
            )

    def _prepaid_get_accounting(self):
        """The accounts and journals of the utility wallets, set up with defaults the first
        time (a prepayments liability and revenue accounts next to the chart's own, the
        chart's cash, bank and miscellaneous journals).

        :raise UserError: the company has no chart of accounts yet
        """
        self.ensure_one()
        if not self.chart_template:
            raise UserError(
                self.env._(
                    "Company %(company)s has no chart of accounts: install one (Invoicing "
                    "settings) before selling utility credit.",
                    company=self.name,
                )
            )
        company = self.sudo()
        Account = self.env["account.account"].sudo().with_company(company)
        Journal = self.env["account.journal"].sudo().with_company(company)
        domain = [*Account._check_company_domain(company)]

        def new_account(name, account_type, reconcile=False):
            like = Account.search([*domain, ("account_type", "=", account_type)], limit=1)
            code = Account._search_new_account_code(like.code or "999000")
            return Account.create(
                {"name": name, "code": code, "account_type": account_type, "reconcile": reconcile}
            )

        def journal(journal_type):
            return Journal.search(
                [*Journal._check_company_domain(company), ("type", "=", journal_type)], limit=1
            )

        values = {}
        if not company.prepaid_prepayment_account_id:
            values["prepaid_prepayment_account_id"] = new_account(
                self.env._("Utility Prepayments"), "liability_current"
            ).id
        if not company.prepaid_revenue_electricity_account_id:
            values["prepaid_revenue_electricity_account_id"] = new_account(
                self.env._("Electricity Sales"), "income"
            ).id
        if not company.prepaid_revenue_water_account_id:
            values["prepaid_revenue_water_account_id"] = new_account(
                self.env._("Water Sales"), "income"
            ).id
        if not company.prepaid_unbilled_account_id:
            values["prepaid_unbilled_account_id"] = new_account(
                self.env._("Unbilled Utility Consumption"), "liability_current"
            ).id
        if not company.prepaid_adjustment_account_id:
            values["prepaid_adjustment_account_id"] = new_account(
                self.env._("Utility Wallet Adjustments"), "expense"
            ).id
        for field, journal_type in (
            ("prepaid_summary_journal_id", "general"),
            ("prepaid_cash_journal_id", "cash"),
            ("prepaid_bank_journal_id", "bank"),
        ):
            if not company[field]:
                values[field] = journal(journal_type).id
        if values:
            company.write(values)
            _logger.info("Utility wallet accounting set up for company %s: %s", company.id, values)
        return company

    def _prepaid_get_payment_journal(self, payment_method):
        self.ensure_one()
        company = self._prepaid_get_accounting()
        journal = (
            company.prepaid_cash_journal_id
            if payment_method in CASH_METHODS
            else company.prepaid_bank_journal_id
        )
        if not journal:
            raise UserError(
                self.env._(
                    "Company %(company)s has no journal for this payment method: set the journals "
                    "of utility payments in the Invoicing settings.",
                    company=self.name,
                )
            )
        return journal

    def _prepaid_create_payment(self, payment_type, partner, amount, payment_method, memo):
        """A posted ``account.payment`` of a tenant against the utility prepayments: money
        received (``inbound``: a top-up) or paid back (``outbound``: a reversal, a refund), on
        the journal of ``payment_method``; nothing for a company without a chart of accounts
        (it does not keep its books in Odoo)."""
        self.ensure_one()
        if not self.chart_template:
            _logger.info("Company %s has no chart of accounts: no payment for %s", self.id, memo)
            return self.env["account.payment"]
        company = self._prepaid_get_accounting()
        payment = (
            self.env["account.payment"]
            .sudo()
            .with_company(company)
            .create(
                {
                    "payment_type": payment_type,
                    "partner_type": "customer",
                    "partner_id": partner.id,
                    "amount": amount,
                    "currency_id": company.currency_id.id,
                    "journal_id": company._prepaid_get_payment_journal(payment_method).id,
                    "date": fields.Date.context_today(self),
                    "memo": memo,
                }
            )
        )
        payment.destination_account_id = company.prepaid_prepayment_account_id
        payment.action_post()
        return payment
