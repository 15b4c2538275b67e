import logging
from datetime import datetime

import pytz

from odoo import api, fields, models
from odoo.tools import SQL

_logger = logging.getLogger(__name__)

# Ledger kinds mirrored by payments (the top-up's account.payment); the others are summarised
# by day in journal entries.
PAYMENT_KINDS = ("topup", "refund", "reversal")
# Kinds whose counterpart is the revenue of their utility; the others go to the adjustments.
REVENUE_KINDS = ("consumption", "trueup", "fee")


class PrepaidLedgerLine(models.Model):
    _inherit = "prepaid.ledger.line"

    move_id = fields.Many2one(
        "account.move",
        string="Journal Entry",
        readonly=True,
        index="btree_not_null",
        help="The daily summary entry that carries this line into accounting.",
    )
    to_invoice = fields.Boolean(
        readonly=True,
        help="Consumption of an account invoiced each month: summarised to the unbilled "
        "consumption, recognised by the monthly invoice.",
    )
    invoice_id = fields.Many2one(
        "account.move",
        string="Invoice",
        readonly=True,
        index="btree_not_null",
        help="The monthly invoice that billed this line.",
    )


class PrepaidLedgerAccounting(models.AbstractModel):
    """Accounting mirrors the ledger: payments for the money received or paid back (see
    ``prepaid.topup._create_payment``), and one summary journal entry per company, utility
    and day for consumption, fees and adjustments (debit the prepayments, credit the revenue),
    not one entry per reading. A day is summarised once it is over, so each (company,
    utility, day) gets one entry."""

    _name = "prepaid.ledger.accounting"
    _description = "Wallet Ledger Accounting"

    @api.model
    def _cron_post_daily_summaries(self, today=None):
        """Post the summary entries of the days before ``today`` (the user's timezone)."""
        tz = pytz.timezone(self.env.user.tz or "UTC")
        today = today or datetime.now(pytz.utc).astimezone(tz).date()
        Line = self.env["prepaid.ledger.line"]
        Line.flush_model()
        self.env.cr.execute(
            SQL(
                """SELECT l.company_id, l.kind IN %(revenue)s AS revenue,
                          COALESCE(l.utility, ''),
                          (l.create_date AT TIME ZONE 'UTC' AT TIME ZONE %(tz)s)::date AS day,
                          l.kind IN %(revenue)s AND COALESCE(a.invoice_consumption, FALSE)
                              AS to_invoice,
                          sum(l.amount), array_agg(l.id)
                     FROM prepaid_ledger_line l
                     JOIN prepaid_account a ON a.id = l.account_id
                    WHERE l.move_id IS NULL AND l.kind NOT IN %(payments)s
                      AND (l.create_date AT TIME ZONE 'UTC' AT TIME ZONE %(tz)s)::date
                          < %(today)s
                 GROUP BY 1, 2, 3, 4, 5
                 ORDER BY 4, 1, 2, 3, 5""",
                revenue=REVENUE_KINDS,
                payments=PAYMENT_KINDS,
                tz=tz.zone,
                today=today,
            )
        )
        rows = self.env.cr.fetchall()
        moves = self.env["account.move"]
        for company_id, revenue, utility, day, to_invoice, total, line_ids in rows:
            company = self.env["res.company"].browse(company_id)._prepaid_get_accounting()
            move = self._post_summary(
                company, revenue, utility, day, float(total), to_invoice=to_invoice
            )
            self.env.cr.execute(
                SQL(
                    """UPDATE prepaid_ledger_line SET move_id = %s, to_invoice = %s
                        WHERE id = ANY(%s)""",
                    move.id,
                    to_invoice,
                    line_ids,
                )
            )
            moves |= move
        Line.invalidate_model(["move_id", "to_invoice"])
        return moves

    @api.model
    def _post_summary(self, company, revenue, utility, day, total, to_invoice=False):
        """One entry moving ``total`` (the sum of the wallet lines: negative when tenants
        consumed) between the prepayments and the counterpart accounts: the utility's revenue
        (net of the utility's sales tax, when one is set: the tariffs' prices include it, and
        the tax goes to the tax's own account), the adjustments, or, for the consumption of
        accounts invoiced each month (``to_invoice``), the unbilled consumption: the monthly
        invoice recognises the revenue and its tax (see ``prepaid.finance.invoice``)."""
        if revenue:
            label = self.env._("Utility consumption %(utility)s %(day)s", utility=utility, day=day)
        else:
            label = self.env._("Utility wallet adjustments %(day)s", day=day)
        currency = company.currency_id
        lines = [
            {
                "account_id": company.prepaid_prepayment_account_id.id,
                "balance": currency.round(-total),
            }
        ]
        if to_invoice:
            label = self.env._(
                "Utility consumption to invoice %(utility)s %(day)s", utility=utility, day=day
            )
            lines.append({"account_id": company.prepaid_unbilled_account_id.id, "balance": total})
        else:
            lines += self._get_summary_counterpart_lines(company, revenue, utility, total)
        move = (
            self.env["account.move"]
            .sudo()
            .with_company(company)
            .create(
                {
                    "move_type": "entry",
                    "journal_id": company.prepaid_summary_journal_id.id,
                    "date": day,
                    "ref": label,
                    "line_ids": [
                        # balance: debit positive, credit negative.
                        fields.Command.create({"name": label, **line})
                        for line in lines
                    ],
                }
            )
        )
        move.action_post()
        return move

    @api.model
    def _get_summary_counterpart_lines(self, company, revenue, utility, total):
        """The counterpart lines (``account_id``, signed ``balance``: debit positive) of a
        summary of ``total``: the revenue of ``utility`` split into net revenue and tax when
        the company sets a sales tax for it (the prices of tariffs include it), else one line
        of the revenue or of the adjustments."""
        currency = company.currency_id
        if not revenue:
            return [{"account_id": company.prepaid_adjustment_account_id.id, "balance": total}]
        if utility == "water":
            account = company.prepaid_revenue_water_account_id
            tax = company.prepaid_water_tax_id
        else:
            account = company.prepaid_revenue_electricity_account_id
            tax = company.prepaid_electricity_tax_id if utility == "electricity" else False
        if not tax:
            return [{"account_id": account.id, "balance": total}]
        # Consumption lowers the wallets (total < 0): the sale is -total, tax included.
        sign = -1 if total < 0 else 1
        taxes = (
            tax.sudo()
            .with_context(force_price_include=True)
            .compute_all(abs(total), currency=currency, handle_price_include=True)
        )
        tax_lines = [
            {
                "account_id": tax_data["account_id"] or account.id,
                "balance": sign * currency.round(tax_data["amount"]),
                "tax_repartition_line_id": tax_data["tax_repartition_line_id"],
                "tax_tag_ids": [fields.Command.set(tax_data["tag_ids"])],
            }
            for tax_data in taxes["taxes"]
            if not currency.is_zero(tax_data["amount"])
        ]
        # The net is what is left, so that the entry balances to the cent.
        net = currency.round(total - sum(line["balance"] for line in tax_lines))
        base = {
            "account_id": account.id,
            "balance": net,
            "tax_ids": [fields.Command.set(tax.ids)],
            "tax_tag_ids": [fields.Command.set(taxes["base_tags"])],
        }
        return [base, *tax_lines]

    @api.model
    def _get_prepayment_figures(self, companies=None):
        """Per company: the sum of the wallet balances, the balance of the prepayments account
        (credit - debit, posted entries), the wallet movements not in accounting yet (today's
        consumption, until the day is summarised) and the difference, which must be zero.

        :return: ``{company: {"wallets", "accounting", "pending", "difference"}}``
        """
        companies = companies or self.env["res.company"].search([])
        figures = {}
        for company in companies:
            if not company.chart_template:
                continue
            company = company._prepaid_get_accounting()
            self.env.flush_all()
            self.env.cr.execute(
                SQL(
                    """SELECT
                         (SELECT COALESCE(sum(balance), 0) FROM prepaid_account
                           WHERE company_id = %(company)s),
                         (SELECT COALESCE(sum(credit - debit), 0) FROM account_move_line
                           WHERE account_id = %(account)s AND parent_state = 'posted'
                             AND company_id = %(company)s),
                         (SELECT COALESCE(sum(amount), 0) FROM prepaid_ledger_line
                           WHERE company_id = %(company)s AND move_id IS NULL
                             AND kind NOT IN %(payments)s)""",
                    company=company.id,
                    account=company.prepaid_prepayment_account_id.id,
                    payments=PAYMENT_KINDS,
                )
            )
            wallets, accounting, pending = (float(value) for value in self.env.cr.fetchone())
            figures[company] = {
                "wallets": wallets,
                "accounting": accounting,
                "pending": pending,
                "difference": round(
                    wallets - accounting - pending, company.currency_id.decimal_places
                ),
            }
        return figures
