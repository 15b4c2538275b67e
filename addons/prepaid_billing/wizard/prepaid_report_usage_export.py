import io

import xlsxwriter

from odoo import fields, models

from ..models.prepaid_report_usage import HABIT_LABELS

# The columns of the sheet: (field, number format).
COLUMNS = (
    ("account_id", None),
    ("partner_id", None),
    ("room_id", None),
    ("habit", None),
    ("topup_count", None),
    ("total_amount", "money"),
    ("mean_amount", "money"),
    ("mean_gap_days", "days"),
    ("median_gap_days", "days"),
    ("last_topup_at", "when"),
    ("days_since", None),
)


class PrepaidReportUsageExport(models.TransientModel):
    """Export the usage analysis to a spreadsheet (XLSX): one row per account of the site
    (all visible accounts when empty), of a habit or all, with a totals row. Read with the
    user's record rules in a bounded number of statements."""

    _name = "prepaid.report.usage.export"
    _inherit = "prepaid.report.xlsx.mixin"
    _description = "Export the Usage Analysis"

    site_id = fields.Many2one(
        "prepaid.site", string="Site", help="Only the accounts of this site (all when empty)."
    )
    habit = fields.Selection(HABIT_LABELS, help="Only the accounts of this habit (all when empty).")

    def action_export(self):
        self.ensure_one()
        return self._download_xlsx(
            self._build_xlsx(),
            self.env._("usage-%(date)s.xlsx", date=fields.Date.context_today(self)),
        )

    def _get_domain(self):
        domain = []
        if self.site_id:
            domain.append(("room_id", "child_of", self.site_id.id))
        if self.habit:
            domain.append(("habit", "=", self.habit))
        return domain

    def _get_rows(self):
        """The accounts' rows as dictionaries (``search_read``: names in one statement per
        related model)."""
        return self.env["prepaid.report.usage"].search_read(
            self._get_domain(), [name for name, _format in COLUMNS], order="id"
        )

    def _build_xlsx(self):
        _ = self.env._
        habits = dict(
            self.env["prepaid.report.usage"]._fields["habit"]._description_selection(self.env)
        )
        headers = {
            "account_id": _("Account"),
            "partner_id": _("Tenant"),
            "room_id": _("Room"),
            "habit": _("Habit"),
            "topup_count": _("Number of Top-ups"),
            "total_amount": _("Total Top-ups"),
            "mean_amount": _("Mean Top-up"),
            "mean_gap_days": _("Mean Days Between"),
            "median_gap_days": _("Median Days Between"),
            "last_topup_at": _("Last Top-up"),
            "days_since": _("Days Since Last Top-up"),
        }
        buffer = io.BytesIO()
        workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
        bold = workbook.add_format({"bold": True})
        formats = {
            "money": workbook.add_format({"num_format": "#,##0.00"}),
            "days": workbook.add_format({"num_format": "0.0"}),
            "when": workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"}),
        }
        total_money = workbook.add_format({"num_format": "#,##0.00", "bold": True})
        sheet = workbook.add_worksheet(_("Usage"))
        sheet.write_row(0, 0, [headers[name] for name, _format in COLUMNS], bold)
        rows = self._get_rows()
        for row, values in enumerate(rows, start=1):
            for column, (name, kind) in enumerate(COLUMNS):
                value = values[name]
                if name == "habit":
                    value = habits.get(value, "")
                elif isinstance(value, tuple):
                    value = value[1]
                elif value is False or value is None:
                    value = ""
                if kind == "when" and value:
                    sheet.write_datetime(row, column, value, formats[kind])
                elif kind and value != "":
                    sheet.write_number(row, column, value, formats[kind])
                else:
                    sheet.write(row, column, value)
        row = len(rows) + 1
        sheet.write(row, 0, _("Total"), bold)
        sheet.write_number(row, 4, sum(values["topup_count"] for values in rows), bold)
        total = round(sum(values["total_amount"] for values in rows), 2)
        sheet.write_number(row, 5, total, total_money)
        sheet.set_column(0, 3, 18)
        sheet.set_column(4, 10, 14)
        workbook.close()
        return buffer.getvalue()
