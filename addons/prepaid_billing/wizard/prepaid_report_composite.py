import base64
import io
from datetime import datetime, time
from decimal import Decimal

import pytz
import xlsxwriter
from dateutil.relativedelta import relativedelta

from odoo import fields, models
from odoo.tools import SQL

from ..tools.composite import SUMMED, MeterRegisters, composite_rows, totals_row

UTILITIES = [("electricity", "Electricity"), ("water", "Water")]
# Ledger kinds of the report's columns (fees and shares come from their own records, whether
# taken from the wallet or billed).
CHARGE_KINDS = ("consumption", "trueup")
PAYMENT_KINDS = ("topup", "refund", "reversal")
# The numeric columns of a line, in the order of the spreadsheet: the registers and the ratio,
# then the columns that add up.
NUMBER_COLUMNS = ("opening", "closing", "multiplier", *SUMMED)


def _decimal(value):
    return Decimal(value) if value is not None else None


class PrepaidReportComposite(models.TransientModel):
    """The monthly composite energy report (用电综合报表) of a site: per account, the meter's
    opening and closing register, its multiplier (CT x PT ratio), kWh in total and per TOU
    band, the charges, fees, common-area shares and payments of the month, the closing
    balance and the change of kWh against the previous month and the same month a year
    before. Shown as a list and exported to XLSX with a totals row.

    The whole site is read in a fixed number of statements (not one per account), with the
    record rules of the user: an operator reports on the accounts of their sites only.
    """

    _name = "prepaid.report.composite"
    _description = "Monthly Composite Energy Report"

    month = fields.Date(
        required=True,
        default=lambda self: (
            fields.Date.context_today(self).replace(day=1) - relativedelta(months=1)
        ),
        help="Any day of the month to report on.",
    )
    site_id = fields.Many2one("prepaid.site", string="Site", required=True)
    utility = fields.Selection(UTILITIES, required=True, default="electricity")
    line_ids = fields.One2many("prepaid.report.composite.line", "report_id", readonly=True)
    file_data = fields.Binary(string="File", readonly=True, attachment=False)
    file_name = fields.Char(readonly=True)

    # === ACTIONS === #

    def action_show(self):
        self.ensure_one()
        self._fill_lines()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "prepaid_billing.prepaid_report_composite_line_action"
        )
        action["domain"] = [("report_id", "=", self.id)]
        action["display_name"] = self._get_title()
        return action

    def action_export(self):
        self.ensure_one()
        self.write(
            {
                "file_data": base64.b64encode(self._build_xlsx()),
                "file_name": self.env._(
                    "composite-%(month)s-%(site)s.xlsx",
                    month=self.month.strftime("%Y-%m"),
                    site=self.site_id.name,
                ),
            }
        )
        return {
            "type": "ir.actions.act_url",
            "url": f"/web/content/{self._name}/{self.id}/file_data/{self.file_name}?download=true",
            "target": "self",
        }

    def action_print_pdf(self):
        """The report as a PDF (A4 landscape), in the language of the user."""
        self.ensure_one()
        return self.env.ref("prepaid_billing.prepaid_composite_report").report_action(self)

    # === BUSINESS METHODS === #

    def _get_title(self):
        return self.env._(
            "Composite Report %(month)s, %(site)s",
            month=self.month.strftime("%Y-%m"),
            site=self.site_id.display_name,
        )

    def _get_bounds(self):
        """The month, the month before and the same month a year before, as naive UTC
        ``(start, end)`` of whole local days (the company's timezone)."""
        tz = pytz.timezone(self.env.company.partner_id.tz or self.env.user.tz or "UTC")
        first = self.month.replace(day=1)

        def utc(day):
            return (
                tz.localize(datetime.combine(day, time.min))
                .astimezone(pytz.utc)
                .replace(tzinfo=None)
            )

        def month(day):
            return utc(day), utc(day + relativedelta(months=1))

        return {
            "month": month(first),
            "previous_month": month(first - relativedelta(months=1)),
            "previous_year": month(first - relativedelta(years=1)),
        }

    def _get_accounts(self):
        """The accounts of the site the user may see (record rules apply); the site itself
        must be visible to the user."""
        self.site_id.check_access("read")
        return self.env["prepaid.account"].search(
            [("room_id", "child_of", self.site_id.id)], order="room_id, id"
        )

    def _compute_rows(self):
        """The report's rows (:class:`CompositeRow`, one per account, ordered by room) and
        the totals row, from four statements over the whole site."""
        self.ensure_one()
        accounts = self._get_accounts()
        if not accounts:
            return [], totals_row([])
        bounds = self._get_bounds()
        start, end = bounds["month"]
        account_ids = accounts.ids
        cr = self.env.cr
        self.env.flush_all()

        # 1. Registers: per meter of the utility, the last good reading at or before the
        # start (else the meter's initial register; TOU registers from its first reading of
        # the month) and the last good reading of the month.
        good = SQL("(r.review_state IS NULL OR r.review_state = 'accepted')")
        cr.execute(
            SQL(
                """
                SELECT m.account_id, m.id, COALESCE(NULLIF(m.multiplier, 0), 1)::text,
                       COALESCE(o.total, m.initial_reading, 0)::text,
                       COALESCE(o.t1, f.t1)::text, COALESCE(o.t2, f.t2)::text,
                       COALESCE(o.t3, f.t3)::text, COALESCE(o.t4, f.t4)::text,
                       c.total::text, c.t1::text, c.t2::text, c.t3::text, c.t4::text
                  FROM prepaid_meter m
                  JOIN LATERAL (
                    SELECT r.total, r.t1, r.t2, r.t3, r.t4 FROM prepaid_reading r
                     WHERE r.meter_id = m.id AND r.read_at > %(start)s AND r.read_at <= %(end)s
                       AND %(good)s
                  ORDER BY r.read_at DESC LIMIT 1) c ON TRUE
             LEFT JOIN LATERAL (
                    SELECT r.total, r.t1, r.t2, r.t3, r.t4 FROM prepaid_reading r
                     WHERE r.meter_id = m.id AND r.read_at <= %(start)s AND %(good)s
                  ORDER BY r.read_at DESC LIMIT 1) o ON TRUE
             LEFT JOIN LATERAL (
                    SELECT r.t1, r.t2, r.t3, r.t4 FROM prepaid_reading r
                     WHERE r.meter_id = m.id AND r.read_at > %(start)s AND r.read_at <= %(end)s
                       AND %(good)s
                  ORDER BY r.read_at LIMIT 1) f ON o.total IS NULL
                 WHERE m.account_id = ANY(%(accounts)s) AND m.utility = %(utility)s
              ORDER BY m.account_id, m.id
                """,
                start=start,
                end=end,
                good=good,
                accounts=account_ids,
                utility=self.utility,
            )
        )
        registers = {}
        for account_id, meter_id, multiplier, opening, *bands in cr.fetchall():
            # The account's first meter with readings in the month is the one printed.
            registers.setdefault(
                account_id,
                (
                    meter_id,
                    MeterRegisters(
                        opening=Decimal(opening),
                        closing=Decimal(bands[4]),
                        multiplier=Decimal(multiplier),
                        opening_bands=tuple(_decimal(v) for v in bands[:4]),
                        closing_bands=tuple(_decimal(v) for v in bands[5:]),
                    ),
                ),
            )

        # 2. Consumption of the month, the month before and the same month a year before
        # (a reading's consumption belongs to the month it was read in; held readings count 0).
        ranges = {
            name: SQL("r.read_at > %s AND r.read_at <= %s", *span) for name, span in bounds.items()
        }
        cr.execute(
            SQL(
                """
                SELECT m.account_id,
                       COALESCE(sum(r.consumption) FILTER (WHERE %(month)s), 0)::text,
                       COALESCE(sum(r.consumption) FILTER (WHERE %(previous_month)s), 0)::text,
                       COALESCE(sum(r.consumption) FILTER (WHERE %(previous_year)s), 0)::text
                  FROM prepaid_meter m
                  JOIN prepaid_reading r ON r.meter_id = m.id
                 WHERE m.account_id = ANY(%(accounts)s) AND m.utility = %(utility)s
                   AND ((%(previous_month)s) OR (%(month)s) OR (%(previous_year)s))
              GROUP BY m.account_id
                """,
                accounts=account_ids,
                utility=self.utility,
                **ranges,
            )
        )
        energy = {
            account_id: {
                "kwh": kwh,
                "kwh_previous_month": previous_month,
                "kwh_previous_year": previous_year,
            }
            for account_id, kwh, previous_month, previous_year in cr.fetchall()
        }

        # 3. The ledger: charges and payments of the month, the balance at its end.
        cr.execute(
            SQL(
                """
                SELECT a.id,
                       COALESCE(-sum(l.amount) FILTER (WHERE l.kind IN %(charges)s
                           AND l.utility IS NOT DISTINCT FROM %(utility)s), 0)::text,
                       COALESCE(sum(l.amount) FILTER (WHERE l.kind IN %(payments)s), 0)::text,
                       COALESCE((SELECT b.balance_after FROM prepaid_ledger_line b
                                  WHERE b.account_id = a.id AND b.create_date < %(end)s
                               ORDER BY b.id DESC LIMIT 1), 0)::text
                  FROM unnest(%(accounts)s::int[]) a(id)
             LEFT JOIN prepaid_ledger_line l ON l.account_id = a.id
                       AND l.create_date >= %(start)s AND l.create_date < %(end)s
              GROUP BY a.id
                """,
                charges=CHARGE_KINDS,
                payments=PAYMENT_KINDS,
                utility=self.utility,
                start=start,
                end=end,
                accounts=account_ids,
            )
        )
        money = {
            account_id: {"charges": charges, "payments": payments, "closing_balance": balance}
            for account_id, charges, payments, balance in cr.fetchall()
        }

        # 4. Fees charged for periods starting in the month and the common-area shares of
        # the month, taken from the wallet or billed.
        first = self.month.replace(day=1)
        cr.execute(
            SQL(
                """
                SELECT account_id, 'fees', sum(amount)::text FROM prepaid_fee_charge
                 WHERE account_id = ANY(%(accounts)s) AND state != 'flagged'
                   AND period_start >= %(first)s AND period_start < %(next)s
              GROUP BY account_id
             UNION ALL
                SELECT account_id, 'shares', sum(amount)::text FROM prepaid_apportion_share
                 WHERE account_id = ANY(%(accounts)s) AND period_key = %(key)s
              GROUP BY account_id
                """,
                accounts=account_ids,
                first=first,
                next=first + relativedelta(months=1),
                key=first.strftime("%Y-%m"),
            )
        )
        for account_id, column, amount in cr.fetchall():
            money.setdefault(account_id, {})[column] = amount

        rows = composite_rows(account_ids, registers, energy, money)
        return rows, totals_row(rows)

    def _fill_lines(self):
        rows, _total = self._compute_rows()
        self.line_ids.unlink()
        self.env["prepaid.report.composite.line"].create(
            [
                {
                    **{
                        name: float(value) if isinstance(value, Decimal) else value
                        for name, value in row.as_dict().items()
                    },
                    "report_id": self.id,
                    "meter_id": row.meter_id or False,
                    "has_registers": row.meter_id is not None,
                }
                for row in rows
            ]
        )

    def _get_headers(self):
        _ = self.env._
        return [
            _("Room"),
            _("Account"),
            _("Tenant"),
            _("Meter"),
            _("Opening Register"),
            _("Closing Register"),
            _("CT Ratio"),
            _("kWh"),
            _("T1 (Sharp)"),
            _("T2 (Peak)"),
            _("T3 (Flat)"),
            _("T4 (Valley)"),
            _("Charges"),
            _("Fees"),
            _("Shares"),
            _("Payments"),
            _("Closing Balance"),
            _("Previous Month kWh"),
            _("Same Month Last Year kWh"),
            _("Month-over-Month"),
            _("Year-over-Year"),
        ]

    def _get_row_names(self, rows):
        """``{account_id: [room, account, tenant, meter]}`` of ``rows``, each name read once
        for all the rows (prefetch), not one query per row."""
        accounts = self.env["prepaid.account"].browse([row.account_id for row in rows])
        meters = self.env["prepaid.meter"].browse([row.meter_id for row in rows if row.meter_id])
        meters.mapped("display_name")
        accounts.mapped("room_id.complete_name")
        accounts.mapped("partner_id.display_name")
        names = {}
        for row in rows:
            account = accounts.browse(row.account_id)
            meter = meters.browse(row.meter_id) if row.meter_id else meters.browse()
            names[row.account_id] = [
                account.room_id.complete_name or "",
                account.display_name,
                account.partner_id.display_name or "",
                meter.display_name or "",
            ]
        return names

    def _get_pdf_values(self):
        """What the printed report shows: its translated title and headers, one list of
        texts per account (names, then the numbers formatted like the spreadsheet's) and the
        totals row. The numbers are formatted from ``Decimal``, so the printed totals are the
        ledger's to the cent."""
        self.ensure_one()
        rows, total = self._compute_rows()
        names = self._get_row_names(rows)
        money_columns = {"charges", "fees", "shares", "payments", "closing_balance"}

        def numbers(row, is_total):
            texts = []
            for name in NUMBER_COLUMNS:
                value = getattr(row, name)
                if value is None or (is_total and name in ("opening", "closing", "multiplier")):
                    texts.append("")
                elif name == "multiplier":
                    texts.append(f"{value:,.2f}".rstrip("0").rstrip("."))
                else:
                    texts.append(f"{value:,.2f}" if name in money_columns else f"{value:,.3f}")
            return [*texts, row.change_month, row.change_year]

        return {
            "title": self._get_title(),
            "headers": self._get_headers(),
            "total_label": self.env._("Total"),
            "lines": [names[row.account_id] + numbers(row, False) for row in rows],
            "total": numbers(total, True),
            "name_columns": 4,
        }

    def _build_xlsx(self):
        """One sheet: a title, the headers, one row per account and a totals row (values,
        not formulas: a reader that does not compute formulas sees them too)."""
        rows, total = self._compute_rows()
        names = self._get_row_names(rows)
        buffer = io.BytesIO()
        workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
        bold = workbook.add_format({"bold": True})
        number = workbook.add_format({"num_format": "#,##0.000"})
        money = workbook.add_format({"num_format": "#,##0.00"})
        total_number = workbook.add_format({"num_format": "#,##0.000", "bold": True})
        total_money = workbook.add_format({"num_format": "#,##0.00", "bold": True})
        money_columns = {"charges", "fees", "shares", "payments", "closing_balance"}
        sheet = workbook.add_worksheet(self.month.strftime("%Y-%m"))
        sheet.write(0, 0, self._get_title(), bold)
        headers = self._get_headers()
        sheet.write_row(2, 0, headers, bold)

        def write_numbers(line, row, is_total):
            for column, name in enumerate(NUMBER_COLUMNS, start=4):
                value = getattr(row, name)
                if value is None or (is_total and name in ("opening", "closing", "multiplier")):
                    continue
                style = money if name in money_columns else number
                if is_total:
                    style = total_money if name in money_columns else total_number
                sheet.write_number(line, column, float(value), style)
            sheet.write(line, 4 + len(NUMBER_COLUMNS), row.change_month, bold if is_total else None)
            sheet.write(line, 5 + len(NUMBER_COLUMNS), row.change_year, bold if is_total else None)

        line = 3
        for row in rows:
            sheet.write_row(line, 0, names[row.account_id])
            write_numbers(line, row, False)
            line += 1
        sheet.write(line, 0, self.env._("Total"), bold)
        write_numbers(line, total, True)
        sheet.set_column(0, 3, 18)
        sheet.set_column(4, len(headers), 13)
        workbook.close()
        return buffer.getvalue()


class PrepaidReportCompositeLine(models.TransientModel):
    """One account's row of the monthly composite report (see ``prepaid.report.composite``)."""

    _name = "prepaid.report.composite.line"
    _description = "Monthly Composite Energy Report Line"
    _order = "id"

    report_id = fields.Many2one("prepaid.report.composite", required=True, ondelete="cascade")
    account_id = fields.Many2one("prepaid.account", readonly=True)
    room_id = fields.Many2one(related="account_id.room_id", string="Room")
    partner_id = fields.Many2one(related="account_id.partner_id", string="Tenant")
    currency_id = fields.Many2one(related="account_id.currency_id")
    meter_id = fields.Many2one("prepaid.meter", readonly=True)
    has_registers = fields.Boolean(readonly=True)
    opening = fields.Float(string="Opening Register", digits=(16, 3), readonly=True)
    closing = fields.Float(string="Closing Register", digits=(16, 3), readonly=True)
    multiplier = fields.Float(
        string="CT Ratio", digits=(16, 2), readonly=True, help="CT x PT ratio of the meter."
    )
    kwh = fields.Float(string="kWh", digits=(16, 3), readonly=True)
    kwh_t1 = fields.Float(string="T1 (Sharp)", digits=(16, 3), readonly=True)
    kwh_t2 = fields.Float(string="T2 (Peak)", digits=(16, 3), readonly=True)
    kwh_t3 = fields.Float(string="T3 (Flat)", digits=(16, 3), readonly=True)
    kwh_t4 = fields.Float(string="T4 (Valley)", digits=(16, 3), readonly=True)
    charges = fields.Monetary(readonly=True)
    fees = fields.Monetary(readonly=True)
    shares = fields.Monetary(readonly=True)
    payments = fields.Monetary(readonly=True, help="Top-ups less refunds and reversals.")
    closing_balance = fields.Monetary(readonly=True)
    kwh_previous_month = fields.Float(string="Previous Month kWh", digits=(16, 3), readonly=True)
    kwh_previous_year = fields.Float(
        string="Same Month Last Year kWh", digits=(16, 3), readonly=True
    )
    change_month = fields.Char(string="Month-over-Month", readonly=True)
    change_year = fields.Char(string="Year-over-Year", readonly=True)
