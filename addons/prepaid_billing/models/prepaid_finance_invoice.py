import logging
from collections import defaultdict
from datetime import datetime
from decimal import Decimal

import pytz
from dateutil.relativedelta import relativedelta

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from odoo.addons.prepaid_meter.models.prepaid_access_mixin import MANAGER

_logger = logging.getLogger(__name__)


class PrepaidAccount(models.Model):
    _inherit = "prepaid.account"

    invoice_consumption = fields.Boolean(
        string="Monthly Invoice",
        help="The tenant needs an invoice (发票): the consumption of each month is invoiced "
        "once the month is over, and the invoice is paid by the prepayment.",
    )
    consumption_invoice_ids = fields.One2many(
        "account.move", "prepaid_account_id", string="Consumption Invoices", readonly=True
    )

    def _get_write_groups(self):
        return {**super()._get_write_groups(), "invoice_consumption": MANAGER}


class AccountMove(models.Model):
    _inherit = "account.move"

    prepaid_account_id = fields.Many2one(
        "prepaid.account",
        string="Utility Account",
        readonly=True,
        index="btree_not_null",
        help="The utility account whose consumption this invoice bills (monthly invoice).",
    )


class PrepaidFinanceInvoice(models.AbstractModel):
    """Monthly invoices of consumption for the tenants who need one, reconciled against the
    prepayment.

    The consumption of such accounts is summarised each day to the *unbilled consumption*
    account instead of the revenue (see ``prepaid.ledger.accounting``). Once a month is over,
    each account gets one customer invoice (a line per utility at the amounts the wallet was
    charged, the utility's sales tax included) and an entry that pays it from the unbilled
    consumption: the invoice is paid, the unbilled consumption of the month is cleared, the
    prepayments still equal the wallets. Each ledger line is invoiced once (``invoice_id``).
    """

    _name = "prepaid.finance.invoice"
    _description = "Monthly Consumption Invoices"

    @api.model
    def _cron_invoice_months(self, today=None):
        """Invoice the summarised consumption of the months before ``today``'s (the user's
        timezone), one invoice per account and month.

        :return: the invoices posted
        """
        tz = pytz.timezone(self.env.user.tz or "UTC")
        today = today or datetime.now(pytz.utc).astimezone(tz).date()
        Line = self.env["prepaid.ledger.line"]
        Line.flush_model()
        self.env.cr.execute(
            SQL(
                """SELECT account_id, month, utility, sum(amount)::text, array_agg(id)
                     FROM (SELECT l.id, l.account_id, l.amount, COALESCE(l.utility, '') AS utility,
                                  date_trunc('month', l.create_date AT TIME ZONE 'UTC'
                                                      AT TIME ZONE %(tz)s)::date AS month
                             FROM prepaid_ledger_line l
                            WHERE l.to_invoice AND l.invoice_id IS NULL) l
                    WHERE month < %(month)s
                 GROUP BY account_id, month, utility
                 ORDER BY account_id, month, utility""",
                tz=tz.zone,
                month=today.replace(day=1),
            )
        )
        work = defaultdict(list)
        for account_id, month, utility, total, line_ids in self.env.cr.fetchall():
            work[(account_id, month)].append((utility, Decimal(total), line_ids))
        invoices = self.env["account.move"]
        for (account_id, month), amounts in work.items():
            account = self.env["prepaid.account"].browse(account_id)
            try:
                with self.env.cr.savepoint():
                    invoices |= self._invoice_month(account, month, amounts)
            except UserError as error:
                # One account's setting (a tax not included in prices...) stops only its
                # invoice; it is tried again next time.
                _logger.warning("Monthly invoice of account %s not made: %s", account_id, error)
        return invoices

    @api.model
    def _get_revenue_and_tax(self, company, utility):
        """The revenue account and the sales tax (included in the prices) of ``utility``
        (``electricity``, ``water``, or empty for other charges: the electricity revenue,
        no tax) in ``company`` set up by ``_prepaid_get_accounting``.

        :raise UserError: the utility's tax is not included in prices (tariffs, fees and
            wallets are in prices with the tax included)
        """
        if utility == "water":
            revenue, tax = company.prepaid_revenue_water_account_id, company.prepaid_water_tax_id
        else:
            revenue = company.prepaid_revenue_electricity_account_id
            tax = company.prepaid_electricity_tax_id if utility == "electricity" else False
        if tax and not tax.price_include:
            raise UserError(
                self.env._(
                    "Tax %(tax)s is not included in prices: the wallets were charged "
                    "prices with the tax included.",
                    tax=tax.display_name,
                )
            )
        return revenue, tax or self.env["account.tax"]

    @api.model
    def _invoice_month(self, account, month, amounts):
        """Post the invoice of ``account`` for ``month`` and pay it from the unbilled
        consumption.

        :param amounts: ``[(utility, wallet total (Decimal, negative when consumed), ledger
            line ids)]``
        """
        company = account.company_id._prepaid_get_accounting()
        currency = company.currency_id
        total = sum(amount for _utility, amount, _ids in amounts)
        last_day = month + relativedelta(months=1, days=-1)
        journal = (
            self.env["account.journal"]
            .sudo()
            .search(
                [
                    *self.env["account.journal"]._check_company_domain(company),
                    ("type", "=", "sale"),
                ],
                limit=1,
            )
        )
        sign = -1 if total < 0 else 1  # consumption lowers the wallet: an invoice
        lines = []
        for utility, amount, _ids in amounts:
            if not amount:
                continue
            revenue, tax = self._get_revenue_and_tax(company, utility)
            labels = dict(
                self.env["prepaid.ledger.line"]._fields["utility"]._description_selection(self.env)
            )
            lines.append(
                fields.Command.create(
                    {
                        "name": self.env._(
                            "%(utility)s consumption %(month)s, account %(account)s",
                            utility=labels.get(utility) or self.env._("Other charges"),
                            month=month.strftime("%Y-%m"),
                            account=account.name,
                        ),
                        "quantity": 1,
                        # Positive on an invoice when consumed; a utility credited back (true-ups)
                        # is a negative line; a month that credits back is a credit note.
                        "price_unit": float(amount) * sign,
                        "account_id": revenue.id,
                        "tax_ids": [fields.Command.set(tax.ids if tax else [])],
                    }
                )
            )
        if not lines:
            return self.env["account.move"]
        Move = self.env["account.move"].sudo().with_company(company)
        invoice = Move.create(
            {
                "move_type": "out_invoice" if sign < 0 else "out_refund",
                "partner_id": account.partner_id.id,
                "journal_id": journal.id,
                "invoice_date": last_day,
                "date": last_day,
                "invoice_origin": f"{account.name} {month:%Y-%m}",
                "prepaid_account_id": account.id,
                "invoice_line_ids": lines,
            }
        )
        invoice.action_post()
        if currency.compare_amounts(invoice.amount_total, float(abs(total))):
            raise UserError(
                self.env._(
                    "The invoice of account %(account)s (%(invoice)s) does not add up to what "
                    "the wallet was charged (%(total)s).",
                    account=account.display_name,
                    invoice=invoice.amount_total,
                    total=abs(total),
                )
            )
        receivable = invoice.line_ids.filtered(
            lambda line: line.account_id.account_type == "asset_receivable"
        )
        settlement = Move.create(
            {
                "move_type": "entry",
                "journal_id": company.prepaid_summary_journal_id.id,
                "date": last_day,
                "ref": self.env._("%(invoice)s paid by the prepayment", invoice=invoice.name),
                "prepaid_account_id": account.id,
                "line_ids": [
                    fields.Command.create(
                        {
                            "name": invoice.name,
                            "account_id": company.prepaid_unbilled_account_id.id,
                            "partner_id": account.partner_id.id,
                            "balance": sum(receivable.mapped("balance")),
                        }
                    ),
                    fields.Command.create(
                        {
                            "name": invoice.name,
                            "account_id": receivable.account_id.id,
                            "partner_id": receivable.partner_id.id,
                            "balance": -sum(receivable.mapped("balance")),
                        }
                    ),
                ],
            }
        )
        settlement.action_post()
        (
            receivable
            | settlement.line_ids.filtered(lambda line: line.account_id == receivable.account_id)
        ).reconcile()
        self.env.cr.execute(
            SQL(
                "UPDATE prepaid_ledger_line SET invoice_id = %s WHERE id = ANY(%s)",
                invoice.id,
                [line_id for _utility, _amount, ids in amounts for line_id in ids],
            )
        )
        self.env["prepaid.ledger.line"].invalidate_model(["invoice_id"])
        return invoice
