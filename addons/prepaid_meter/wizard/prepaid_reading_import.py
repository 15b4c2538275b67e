import base64
import csv
import io
import logging
import zipfile
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

import pytz

from odoo import fields, models
from odoo.exceptions import UserError

from odoo.addons.base.models.res_partner import _tz_get

_logger = logging.getLogger(__name__)

# Accepted header names (lower case) of each column; other columns are ignored.
COLUMN_ALIASES = {
    "serial": ("serial", "serial number", "serial_number", "meter", "meter serial", "meter_serial"),
    "timestamp": ("timestamp", "read at", "read_at", "datetime", "date", "time"),
    "total": ("total", "reading", "register", "total register"),
    "t1": ("t1",),
    "t2": ("t2",),
    "t3": ("t3",),
    "t4": ("t4",),
}
DATETIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y-%m-%d",
    "%Y/%m/%d",
)


class PrepaidReadingImport(models.TransientModel):
    """Import register readings from a CSV or XLSX file through prepaid.reading._ingest().

    The first row names the columns: meter serial, timestamp, total and optionally T1..T4
    (see COLUMN_ALIASES). Lines with an unknown meter, a bad number or a bad date are rejected
    one by one with their line number and reason; the others are imported, duplicates skipped
    and implausible values flagged, as for any other source.
    """

    _name = "prepaid.reading.import"
    _description = "Import Meter Readings"

    file = fields.Binary(required=True, attachment=False)
    filename = fields.Char()
    tz = fields.Selection(
        _tz_get,
        string="Timezone",
        required=True,
        default=lambda self: self.env.user.tz or self.env.company.partner_id.tz or "UTC",
        help="Timezone of the timestamps of the file that carry no UTC offset.",
    )
    state = fields.Selection([("draft", "Draft"), ("done", "Done")], default="draft")
    line_count = fields.Integer(string="Lines", readonly=True)
    imported_count = fields.Integer(string="Imported", readonly=True)
    duplicate_count = fields.Integer(string="Duplicates", readonly=True)
    flagged_count = fields.Integer(string="Flagged", readonly=True)
    rejected_count = fields.Integer(string="Rejected", readonly=True)
    report = fields.Text(readonly=True)

    # === ACTION METHODS === #
    def action_import(self):
        self.ensure_one()
        lines = self._read_lines()
        rows, line_numbers, rejected = self._parse_lines(lines)
        summary = self.env["prepaid.reading"]._ingest(rows, source="import")
        rejected += [(line_numbers[index], reason) for index, reason in summary["errors"]]
        line_of = {
            (row["meter_id"], row["read_at"]): line_numbers[index] for index, row in enumerate(rows)
        }
        labels = dict(
            self.env["prepaid.reading"]._fields["quality"]._description_selection(self.env)
        )
        flagged = sorted(
            (line_of.get((meter_id, read_at), 0), labels.get(quality, quality))
            for meter_id, read_at, quality in summary["flagged_rows"]
        )
        _ = self.env._
        report = [
            _(
                "Imported: %(imported)s · already there (skipped): %(duplicates)s · "
                "flagged: %(flagged)s · rejected: %(rejected)s",
                imported=summary["inserted"],
                duplicates=summary["duplicates"],
                flagged=summary["flagged"],
                rejected=len(rejected),
            )
        ]
        if rejected:
            report.append(_("Rejected lines:"))
            report += [
                _("Line %(line)s: %(reason)s", line=line, reason=reason)
                for line, reason in sorted(rejected)
            ]
        if flagged:
            report.append(_("Flagged lines (imported, to be reviewed):"))
            report += [
                _("Line %(line)s: %(reason)s", line=line, reason=reason) for line, reason in flagged
            ]
        self.write(
            {
                "state": "done",
                "line_count": len(lines),
                "imported_count": summary["inserted"],
                "duplicate_count": summary["duplicates"],
                "flagged_count": summary["flagged"],
                "rejected_count": len(rejected),
                "report": "\n".join(report),
            }
        )
        return {
            "name": self.env._("Import Readings: Result"),
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "new",
        }

    def action_view_readings(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "prepaid_meter.prepaid_reading_action"
        )
        action["domain"] = [
            ("source", "=", "import"),
            ("create_uid", "=", self.create_uid.id),
            ("create_date", ">=", self.create_date),
        ]
        return action

    # === BUSINESS METHODS === #
    def _read_lines(self):
        """Return the data lines of the file as ``[(line number, {column: raw value})]``."""
        if not self.file:
            raise UserError(self.env._("Choose a file to import."))
        content = base64.b64decode(self.file)
        is_xlsx = (self.filename or "").lower().endswith(".xlsx") or content[:4] == b"PK\x03\x04"
        table = self._read_xlsx(content) if is_xlsx else self._read_csv(content)
        if not table:
            raise UserError(self.env._("The file is empty."))
        _number, header = table[0]
        columns = self._map_header(header)
        lines = []
        for number, cells in table[1:]:
            if not any(cell not in (None, "") for cell in cells):
                continue  # Blank line.
            lines.append(
                (
                    number,
                    {
                        name: cells[position] if position < len(cells) else None
                        for name, position in columns.items()
                    },
                )
            )
        return lines

    def _read_csv(self, content):
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = content.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise UserError(self.env._("The CSV file is neither UTF-8 nor GB18030 text."))
        first_line = text.split("\n", 1)[0]
        delimiter = max(",;\t", key=first_line.count)
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        return [(reader.line_num, row) for row in reader]

    def _read_xlsx(self, content):
        try:
            import openpyxl
        except ImportError as error:
            raise UserError(self.env._("Reading XLSX files needs the openpyxl library.")) from error
        try:
            book = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        except (zipfile.BadZipFile, KeyError, ValueError, OSError) as error:
            raise UserError(
                self.env._("The file is not a readable XLSX workbook: %(error)s", error=error)
            ) from error
        try:
            sheet = book.worksheets[0]
            return [
                (number, list(row))
                for number, row in enumerate(sheet.iter_rows(values_only=True), start=1)
            ]
        finally:
            book.close()

    def _map_header(self, header):
        columns = {}
        for position, name in enumerate(header):
            key = str(name or "").strip().lower()
            for column, aliases in COLUMN_ALIASES.items():
                if key in aliases and column not in columns:
                    columns[column] = position
        missing = [name for name in ("serial", "timestamp", "total") if name not in columns]
        if missing:
            raise UserError(
                self.env._(
                    "The first line must name the columns; missing: %(missing)s. Expected "
                    "columns: serial, timestamp, total and optionally t1, t2, t3, t4.",
                    missing=", ".join(missing),
                )
            )
        return columns

    def _parse_lines(self, lines):
        """Turn the lines into rows for _ingest; return (rows, line number of each row,
        rejected [(line number, reason)])."""
        _ = self.env._
        serials = {str(values["serial"]).strip() for _number, values in lines if values["serial"]}
        meters = self.env["prepaid.meter"].search_fetch(
            [("serial_number", "in", list(serials))], ["serial_number"]
        )
        meter_ids = {}
        for meter in meters:
            meter_ids.setdefault(meter.serial_number, []).append(meter.id)
        tz = pytz.timezone(self.tz or "UTC")
        rows, line_numbers, rejected = [], [], []
        for number, values in lines:
            serial = str(values["serial"] or "").strip()
            found = meter_ids.get(serial, [])
            if not serial:
                rejected.append((number, _("No meter serial.")))
                continue
            if not found:
                rejected.append((number, _("Unknown meter %(serial)s.", serial=serial)))
                continue
            if len(found) > 1:
                rejected.append(
                    (number, _("Serial %(serial)s matches several meters.", serial=serial))
                )
                continue
            read_at = _parse_timestamp(values["timestamp"], tz)
            if read_at is None:
                rejected.append(
                    (number, _("Bad date %(value)s.", value=self._format_cell(values["timestamp"])))
                )
                continue
            row = {"meter_id": found[0], "read_at": read_at}
            error = None
            for column in ("total", "t1", "t2", "t3", "t4"):
                raw = values.get(column)
                if raw in (None, "") and column != "total":
                    continue
                number_value = _parse_number(raw)
                if number_value is None or number_value < 0:
                    error = _(
                        "Bad number %(value)s in column %(column)s.",
                        value=self._format_cell(raw),
                        column=column,
                    )
                    break
                row[column] = number_value
            if error:
                rejected.append((number, error))
                continue
            rows.append(row)
            line_numbers.append(number)
        return rows, line_numbers, rejected

    def _format_cell(self, value):
        """A cell as shown in the report of a rejected line."""
        return self.env._("(empty)") if value in (None, "") else repr(str(value))


def _parse_timestamp(value, tz):
    """Return ``value`` (a cell: datetime, date or text) as naive UTC, or None."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, datetime.min.time())
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        moment = None
        for fmt in DATETIME_FORMATS:
            try:
                moment = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
        if moment is None:
            try:
                moment = datetime.fromisoformat(text)
            except ValueError:
                return None
    else:
        return None
    if moment.tzinfo is None:
        moment = tz.localize(moment)
    return moment.astimezone(pytz.utc).replace(tzinfo=None)


def _parse_number(value):
    """Return ``value`` (a cell: number or text) as a finite Decimal, or None.

    Text accepts a decimal point, or a decimal comma when there is no point ("1234,5").
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        value = repr(value)
    if not isinstance(value, str):
        return None
    text = value.strip().replace(" ", "").replace("\u00a0", "")
    if "," in text and "." not in text:
        text = text.replace(",", ".")
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None
