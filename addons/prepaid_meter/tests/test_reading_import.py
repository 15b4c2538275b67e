import base64
import io
from datetime import datetime

import openpyxl

from odoo.exceptions import UserError
from odoo.tests import tagged

from .test_reading_ingestion import ReadingCommon

CSV = """\
Serial;Timestamp;Total;T1;T2
RT-IMP-1;2024-03-01 08:00:00;100,5;40;60,5
RT-IMP-1;2024-03-01 09:00;101.5;;
RT-NOPE;2024-03-01 09:00;5;;
RT-IMP-1;01.03.2024 10:00;102;;
RT-IMP-1;2024-03-01 11:00;abc;;
RT-IMP-1;2024-03-01 12:00;90;;

RT-IMP-1;2024-03-01 09:00;101.5;;
RT-IMP-2;2024-03-01T08:00:00+00:00;7;;
RT-IMP-2;2024-03-01 09:00;8;x;
"""


@tagged("post_install", "-at_install")
class TestReadingImport(ReadingCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.meter1 = cls._new_meter("RT-IMP-1", initial_reading=100.0)
        cls.meter2 = cls._new_meter("RT-IMP-2")

    def _import(self, content, filename, tz="Asia/Shanghai"):
        wizard = self.env["prepaid.reading.import"].create(
            {"file": base64.b64encode(content), "filename": filename, "tz": tz}
        )
        wizard.action_import()
        return wizard

    def test_csv_import_with_bad_lines(self):
        wizard = self._import(CSV.encode(), "readings.csv")
        self.assertEqual(wizard.state, "done")
        self.assertEqual(wizard.line_count, 9)
        self.assertEqual(wizard.imported_count, 4)
        self.assertEqual(wizard.duplicate_count, 1)
        self.assertEqual(wizard.flagged_count, 1)
        self.assertEqual(wizard.rejected_count, 4)
        report = wizard.report
        self.assertIn("Line 4: Unknown meter RT-NOPE.", report)
        self.assertIn("Line 5: Bad date '01.03.2024 10:00'.", report)
        self.assertIn("Line 6: Bad number 'abc' in column total.", report)
        self.assertIn("Line 11: Bad number 'x' in column t1.", report)
        self.assertIn("Line 7: Backwards", report)

        readings = self._readings(self.meter1)
        # Shanghai is UTC+8: 08:00 local is midnight UTC.
        self.assertEqual(readings[0].read_at, datetime(2024, 3, 1, 0, 0))
        self.assertEqual((readings[0].total, readings[0].t1, readings[0].t2), (100.5, 40.0, 60.5))
        self.assertEqual(readings.mapped("source"), ["import"] * 3)
        self.assertEqual(readings.mapped("consumption"), [0.5, 1.0, 0.0])
        # A timestamp with an offset keeps it.
        self.assertEqual(self._readings(self.meter2).read_at, datetime(2024, 3, 1, 8, 0))

        # The same file again: everything valid is a duplicate.
        again = self._import(CSV.encode(), "readings.csv")
        self.assertEqual((again.imported_count, again.duplicate_count), (0, 5))

    def test_xlsx_import(self):
        book = openpyxl.Workbook()
        sheet = book.active
        sheet.append(["Meter Serial", "Read At", "Total", "T1"])
        sheet.append(["RT-IMP-2", datetime(2024, 3, 2, 0, 0), 10.25, 4])
        sheet.append(["RT-IMP-2", datetime(2024, 3, 2, 1, 0), 11, None])
        sheet.append(["RT-IMP-2", "not a date", 12, None])
        sheet.append(["RT-IMP-9", datetime(2024, 3, 2, 2, 0), 12, None])
        sheet.append(["RT-IMP-2", datetime(2024, 3, 2, 3, 0), -1, None])
        buffer = io.BytesIO()
        book.save(buffer)
        wizard = self._import(buffer.getvalue(), "readings.xlsx", tz="UTC")
        self.assertEqual((wizard.imported_count, wizard.rejected_count), (2, 3))
        self.assertIn("Line 4: Bad date 'not a date'.", wizard.report)
        self.assertIn("Line 5: Unknown meter RT-IMP-9.", wizard.report)
        self.assertIn("Line 6: Bad number '-1' in column total.", wizard.report)
        readings = self._readings(self.meter2)
        self.assertEqual(readings.mapped("total"), [10.25, 11.0])
        self.assertEqual(readings[0].t1, 4.0)
        self.assertEqual(readings[0].read_at, datetime(2024, 3, 2, 0, 0))

    def test_missing_columns(self):
        with self.assertRaisesRegex(UserError, "missing: total"):
            self._import(b"serial,timestamp\nRT-IMP-1,2024-03-01 00:00\n", "readings.csv")
