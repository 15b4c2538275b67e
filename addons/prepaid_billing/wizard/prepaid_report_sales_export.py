import io

import xlsxwriter

from odoo import fields, models

from .prepaid_finance_export import PERIOD_FORMATS


class PrepaidReportSalesExport(models.TransientModel):
    """Export the sales report to a spreadsheet (XLSX): per period (day, month or year),
    channel and operator, the top-ups, the refunds and reversals and the net sales, with a
    totals row. Read with the user's record rules: an operator exports the sales of their
    sites."""

    _name = "prepaid.report.sales.export"
    _inherit = "prepaid.report.period.export"
    _description = "Export the Sales Report"

    period = fields.Selection(string="Sales per")

    def action_export(self):
        self.ensure_one()
        return self._download_xlsx(
            self._build_xlsx(),
            self.env._("sales-%(start)s-%(end)s.xlsx", start=self.date_from, end=self.date_to),
        )

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
