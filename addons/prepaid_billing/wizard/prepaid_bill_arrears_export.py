import base64
import io

import xlsxwriter

from odoo import fields, models

# Bills still owed: posted, with something left to pay.
ARREARS_DOMAIN = [
    ("move_state", "=", "posted"),
    ("payment_state", "in", ("not_paid", "partial")),
    ("amount_residual", ">", 0),
]


class PrepaidBillArrearsExport(models.TransientModel):
    """Export the arrears list to a spreadsheet (XLSX): the unpaid postpaid bills, one per
    row with the residual and the days overdue on the date of the export, and totals. Laid
    out like the orders overview export (``prepaid.finance.export``)."""

    _name = "prepaid.bill.arrears.export"
    _description = "Export the Arrears List"

    date = fields.Date(string="Overdue On", required=True, default=fields.Date.context_today)
    site_id = fields.Many2one(
        "prepaid.site", string="Site", help="Only the accounts of this site (all when empty)."
    )
    overdue_only = fields.Boolean(
        string="Overdue Only", help="Only the bills past their due date on that day."
    )
    file_data = fields.Binary(string="File", readonly=True, attachment=False)
    file_name = fields.Char(readonly=True)

    def action_export(self):
        self.ensure_one()
        self.write(
            {
                "file_data": base64.b64encode(self._build_xlsx()),
                "file_name": self.env._("arrears-%(date)s.xlsx", date=self.date),
            }
        )
        return {
            "type": "ir.actions.act_url",
            "url": f"/web/content/{self._name}/{self.id}/file_data/{self.file_name}?download=true",
            "target": "self",
        }

    def _get_domain(self):
        domain = list(ARREARS_DOMAIN)
        if self.site_id:
            domain.append(("room_id", "child_of", self.site_id.id))
        if self.overdue_only:
            domain.append(("invoice_date_due", "<", self.date))
        return domain

    def _get_rows(self):
        """``(tenant, account, room, month, invoice, due date, total, residual, days
        overdue)`` of each unpaid bill, the most overdue first."""
        bills = (
            self.env["prepaid.bill"]
            .with_context(overdue_on=self.date)
            .search(self._get_domain(), order="invoice_date_due, id")
        )
        return [
            (
                bill.partner_id.display_name or "",
                bill.account_id.display_name,
                bill.room_id.complete_name or "",
                f"{bill.month:%Y-%m}",
                bill.move_id.name,
                bill.invoice_date_due,
                bill.amount_total,
                bill.amount_residual,
                bill.days_overdue,
            )
            for bill in bills
        ]

    def _build_xlsx(self):
        """One *Arrears* sheet ending with totals (values, not formulas: a reader that does
        not compute formulas sees them too)."""
        _ = self.env._
        buffer = io.BytesIO()
        workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
        bold = workbook.add_format({"bold": True})
        money = workbook.add_format({"num_format": "#,##0.00"})
        total_money = workbook.add_format({"num_format": "#,##0.00", "bold": True})
        day = workbook.add_format({"num_format": "yyyy-mm-dd"})
        sheet = workbook.add_worksheet(_("Arrears"))
        headers = [
            _("Tenant"),
            _("Account"),
            _("Room"),
            _("Month"),
            _("Invoice"),
            _("Due Date"),
            _("Total"),
            _("Residual"),
            _("Days Overdue"),
        ]
        sheet.write_row(0, 0, headers, bold)
        rows = self._get_rows()
        total = residual = 0.0
        for row, (*texts, due, amount, owed, days) in enumerate(rows, start=1):
            sheet.write_row(row, 0, texts)
            if due:
                sheet.write_datetime(row, 5, fields.Datetime.to_datetime(due), day)
            sheet.write_number(row, 6, amount, money)
            sheet.write_number(row, 7, owed, money)
            sheet.write_number(row, 8, days)
            total += amount
            residual += owed
        sheet.write(len(rows) + 1, 0, _("Total"), bold)
        sheet.write_number(len(rows) + 1, 6, round(total, 2), total_money)
        sheet.write_number(len(rows) + 1, 7, round(residual, 2), total_money)
        sheet.set_column(0, 4, 18)
        sheet.set_column(5, 8, 13)
        workbook.close()
        return buffer.getvalue()
