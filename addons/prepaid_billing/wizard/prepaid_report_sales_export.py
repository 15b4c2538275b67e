import io

import xlsxwriter

from odoo import api, fields, models
from odoo.exceptions import UserError

PERIOD_FORMATS = {"day": "%Y-%m-%d", "month": "%Y-%m", "year": "%Y"}


class PrepaidReportSalesExport(models.TransientModel):
    """Export the sales report to a spreadsheet (XLSX): per period (day, month or year),
    channel and operator, the top-ups, the refunds and reversals and the net sales, with a
    totals row. Read with the user's record rules: an operator exports the sales of their
    sites."""

    _name = "prepaid.report.sales.export"
    _inherit = "prepaid.report.xlsx.mixin"
    _description = "Export the Sales Report"

    date_from = fields.Date(
        required=True, default=lambda self: fields.Date.context_today(self).replace(day=1)
    )
    date_to = fields.Date(required=True, default=fields.Date.context_today)
    period = fields.Selection(
        [("day", "Day"), ("month", "Month"), ("year", "Year")],
        string="Sales per",
        required=True,
        default="day",
    )
    site_id = fields.Many2one(
        "prepaid.site", string="Site", help="Only the accounts of this site (all when empty)."
    )

    @api.constrains("date_from", "date_to")
    def _check_dates(self):
        if any(export.date_to < export.date_from for export in self):
            raise UserError(self.env._("The end date is before the start date."))

    def action_export(self):
        self.ensure_one()
        return self._download_xlsx(
            self._build_xlsx(),
            self.env._("sales-%(start)s-%(end)s.xlsx", start=self.date_from, end=self.date_to),
        )

    def _get_domain(self):
        domain = self._date_range_domain("date", self.date_from, self.date_to)
        if self.site_id:
            domain.append(("room_id", "child_of", self.site_id.id))
        return domain

    def _get_rows(self):
        """``[(period, channel, operator, top-ups count, top-ups, returned, net)]`` summed in
        SQL, by period, channel and operator name."""
        Sales = self.env["prepaid.report.sales"]
        channels = dict(Sales._fields["payment_method"]._description_selection(self.env))
        groups = Sales._read_group(
            self._get_domain(),
            [f"date:{self.period}", "payment_method", "user_id"],
            ["topup_count:sum", "sales_amount:sum", "returned_amount:sum", "amount:sum"],
        )
        rows = [
            (
                period.strftime(PERIOD_FORMATS[self.period]),
                channels.get(channel, ""),
                user.sudo().name or "",
                count,
                round(sales, 2),
                round(returned, 2),
                round(net, 2),
            )
            for period, channel, user, count, sales, returned, net in groups
        ]
        rows.sort(key=lambda row: row[:3])
        return rows

    def _build_xlsx(self):
        _ = self.env._
        buffer = io.BytesIO()
        workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
        bold = workbook.add_format({"bold": True})
        money = workbook.add_format({"num_format": "#,##0.00"})
        total_money = workbook.add_format({"num_format": "#,##0.00", "bold": True})
        sheet = workbook.add_worksheet(_("Sales"))
        headers = [
            _("Period"),
            _("Channel"),
            _("Operator"),
            _("Number of Top-ups"),
            _("Top-ups"),
            _("Refunds and Reversals"),
            _("Net Sales"),
        ]
        sheet.write_row(0, 0, headers, bold)
        rows = self._get_rows()
        totals = [0, 0.0, 0.0, 0.0]
        for row, (*texts, count, sales, returned, net) in enumerate(rows, start=1):
            sheet.write_row(row, 0, texts)
            sheet.write_number(row, 3, count)
            for column, amount in enumerate((sales, returned, net), start=4):
                sheet.write_number(row, column, amount, money)
            totals = [t + v for t, v in zip(totals, (count, sales, returned, net), strict=True)]
        row = len(rows) + 1
        sheet.write(row, 0, _("Total"), bold)
        sheet.write_number(row, 3, totals[0], bold)
        for column, amount in enumerate(totals[1:], start=4):
            sheet.write_number(row, column, round(amount, 2), total_money)
        sheet.set_column(0, 2, 18)
        sheet.set_column(3, 6, 16)
        workbook.close()
        return buffer.getvalue()
