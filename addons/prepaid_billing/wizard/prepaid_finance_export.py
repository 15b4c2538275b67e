import base64
import io
from collections import defaultdict
from datetime import datetime, time, timedelta

import pytz
import xlsxwriter

from odoo import api, fields, models
from odoo.exceptions import UserError

PERIOD_FORMATS = {"day": "%Y-%m-%d", "month": "%Y-%m", "year": "%Y"}
# The income columns, in order: money in and out of the wallets, then what was deducted.
INCOME_CATEGORIES = ("topup", "refund", "reversal", "deduction")


class PrepaidReportXlsxMixin(models.AbstractModel):
    """What the spreadsheet exports of the reports share: the file offered for download and
    the whole local days of a date range."""

    _name = "prepaid.report.xlsx.mixin"
    _description = "Spreadsheet Export of a Report"

    file_data = fields.Binary(string="File", readonly=True, attachment=False)
    file_name = fields.Char(readonly=True)

    def _download_xlsx(self, content, file_name):
        """Keep ``content`` on the wizard and return the action that downloads it."""
        self.ensure_one()
        self.write({"file_data": base64.b64encode(content), "file_name": file_name})
        return {
            "type": "ir.actions.act_url",
            "url": f"/web/content/{self._name}/{self.id}/file_data/{self.file_name}?download=true",
            "target": "self",
        }

    def _date_range_domain(self, field_name, date_from, date_to):
        """``field_name`` (a UTC datetime) within the whole days from ``date_from`` to
        ``date_to`` in the user's timezone."""
        tz = pytz.timezone(self.env.user.tz or "UTC")

        def utc(day):
            return (
                tz.localize(datetime.combine(day, time.min))
                .astimezone(pytz.utc)
                .replace(tzinfo=None)
            )

        return [
            (field_name, ">=", utc(date_from)),
            (field_name, "<", utc(date_to + timedelta(days=1))),
        ]


class PrepaidReportPeriodExport(models.AbstractModel):
    """An export of the orders of a date range, per day, month or year, optionally for one
    site (its rooms and below): what the orders and the sales exports share."""

    _name = "prepaid.report.period.export"
    _inherit = "prepaid.report.xlsx.mixin"
    _description = "Spreadsheet Export of a Period"

    date_from = fields.Date(
        required=True, default=lambda self: fields.Date.context_today(self).replace(day=1)
    )
    date_to = fields.Date(required=True, default=fields.Date.context_today)
    period = fields.Selection(
        [("day", "Day"), ("month", "Month"), ("year", "Year")], required=True, default="day"
    )
    site_id = fields.Many2one(
        "prepaid.site", string="Site", help="Only the accounts of this site (all when empty)."
    )

    @api.constrains("date_from", "date_to")
    def _check_dates(self):
        if any(export.date_to < export.date_from for export in self):
            raise UserError(self.env._("The end date is before the start date."))

    def _get_domain(self):
        """The orders of the date range (whole days in the user's timezone) and site."""
        domain = self._date_range_domain("date", self.date_from, self.date_to)
        if self.site_id:
            domain.append(("room_id", "child_of", self.site_id.id))
        return domain


class PrepaidFinanceExport(models.TransientModel):
    """Export the orders overview to a spreadsheet (XLSX): the orders of a date range, one per
    row with a total, and the income per period (day, month or year), utility and channel
    (payment method), with totals."""

    _name = "prepaid.finance.export"
    _inherit = "prepaid.report.period.export"
    _description = "Export the Orders Overview"

    period = fields.Selection(string="Income per")

    # === ACTIONS === #

    def action_export(self):
        self.ensure_one()
        return self._download_xlsx(
            self._build_xlsx(),
            self.env._("orders-%(start)s-%(end)s.xlsx", start=self.date_from, end=self.date_to),
        )

    # === BUSINESS METHODS === #

    def _get_income(self):
        """``{(period, utility, channel): {category: amount}}`` summed in SQL."""
        groups = self.env["prepaid.finance.order"]._read_group(
            self._get_domain(),
            [f"date:{self.period}", "utility", "payment_method", "category"],
            ["amount:sum"],
        )
        income = defaultdict(lambda: dict.fromkeys(INCOME_CATEGORIES, 0.0))
        for period, utility, channel, category, amount in groups:
            if category not in INCOME_CATEGORIES:
                continue
            key = (period.strftime(PERIOD_FORMATS[self.period]), utility or "", channel or "")
            income[key][category] += amount
        return dict(sorted(income.items()))

    def _get_order_rows(self, labels):
        """The rows of the *Orders* sheet, by date: each top-up, refund, reversal and other
        movement, and the deductions (hourly consumption...) summed per account, day, kind
        and utility. ``(local datetime, reference, type, kind, account, tenant, room,
        utility, channel, operator, amount)``."""
        Order = self.env["prepaid.finance.order"]
        tz = pytz.timezone(self.env.user.tz or "UTC")
        domain = self._get_domain()
        rows = []
        for order in Order.search([*domain, ("category", "!=", "deduction")], order="date, id"):
            account = order.account_id.sudo()
            rows.append(
                (
                    pytz.utc.localize(order.date).astimezone(tz).replace(tzinfo=None),
                    order.reference or "",
                    labels["category"].get(order.category, ""),
                    labels["kind"].get(order.kind, ""),
                    account.display_name,
                    account.partner_id.display_name or "",
                    account.room_id.complete_name or "",
                    labels["utility"].get(order.utility, ""),
                    labels["payment_method"].get(order.payment_method, ""),
                    order.user_id.sudo().name or "",
                    order.amount,
                )
            )
        deductions = Order._read_group(
            [*domain, ("category", "=", "deduction")],
            ["date:day", "account_id", "kind", "utility"],
            ["amount:sum"],
        )
        for day, account, kind, utility, amount in deductions:
            account = account.sudo()
            rows.append(
                (
                    day.replace(tzinfo=None),
                    "",
                    labels["category"]["deduction"],
                    labels["kind"].get(kind, ""),
                    account.display_name,
                    account.partner_id.display_name or "",
                    account.room_id.complete_name or "",
                    labels["utility"].get(utility, ""),
                    "",
                    "",
                    amount,
                )
            )
        rows.sort(key=lambda row: row[0])
        return rows

    def _build_xlsx(self):
        """The workbook: an *Orders* sheet and an *Income* sheet, each ending with totals
        (values, not formulas: a reader that does not compute formulas sees them too)."""
        _ = self.env._
        Order = self.env["prepaid.finance.order"]
        labels = {
            name: dict(Order._fields[name]._description_selection(self.env))
            for name in ("category", "kind", "utility", "payment_method")
        }
        buffer = io.BytesIO()
        workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
        bold = workbook.add_format({"bold": True})
        money = workbook.add_format({"num_format": "#,##0.00"})
        total_money = workbook.add_format({"num_format": "#,##0.00", "bold": True})
        when = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"})

        rows = self._get_order_rows(labels)
        sheet = workbook.add_worksheet(_("Orders"))
        headers = [
            _("Date"),
            _("Reference"),
            _("Type"),
            _("Kind"),
            _("Account"),
            _("Tenant"),
            _("Room"),
            _("Utility"),
            _("Channel"),
            _("Operator"),
            _("Amount"),
        ]
        sheet.write_row(0, 0, headers, bold)
        total = 0.0
        for row, (date, *texts, amount) in enumerate(rows, start=1):
            sheet.write_datetime(row, 0, date, when)
            sheet.write_row(row, 1, texts)
            sheet.write_number(row, 10, amount, money)
            total += amount
        sheet.write(len(rows) + 1, 0, _("Total"), bold)
        sheet.write_number(len(rows) + 1, 10, round(total, 2), total_money)
        sheet.set_column(0, 0, 17)
        sheet.set_column(1, 9, 16)
        sheet.set_column(10, 10, 14)

        sheet = workbook.add_worksheet(_("Income"))
        sheet.write_row(
            0,
            0,
            [
                _("Period"),
                _("Utility"),
                _("Channel"),
                *(labels["category"][category] for category in INCOME_CATEGORIES),
                _("Net Received"),
            ],
            bold,
        )
        totals = dict.fromkeys(INCOME_CATEGORIES, 0.0)
        income = self._get_income()
        for row, ((period, utility, channel), amounts) in enumerate(income.items(), start=1):
            sheet.write_row(
                row,
                0,
                [
                    period,
                    labels["utility"].get(utility, ""),
                    labels["payment_method"].get(channel, ""),
                ],
            )
            for column, category in enumerate(INCOME_CATEGORIES, start=3):
                sheet.write_number(row, column, amounts[category], money)
                totals[category] += amounts[category]
            received = amounts["topup"] + amounts["refund"] + amounts["reversal"]
            sheet.write_number(row, 3 + len(INCOME_CATEGORIES), received, money)
        row = len(income) + 1
        sheet.write(row, 0, _("Total"), bold)
        for column, category in enumerate(INCOME_CATEGORIES, start=3):
            sheet.write_number(row, column, round(totals[category], 2), total_money)
        received = totals["topup"] + totals["refund"] + totals["reversal"]
        sheet.write_number(row, 3 + len(INCOME_CATEGORIES), round(received, 2), total_money)
        sheet.set_column(0, 2, 16)
        sheet.set_column(3, 3 + len(INCOME_CATEGORIES), 14)
        workbook.close()
        return buffer.getvalue()
