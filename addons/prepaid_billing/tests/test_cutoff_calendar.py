"""The no-disconnect calendar reads holidays and make-up working days (调休)."""

from datetime import datetime

from odoo import Command
from odoo.tests import tagged

from .alarm_common import PrepaidAlarmCommon


@tagged("post_install", "-at_install")
class TestCutoffCalendarWorkingDays(PrepaidAlarmCommon):
    """China 2026, filled from the holidays package: Sunday Jan 4 and Saturday Feb 14 are
    worked, so they are not weekends for the cut-off; the holidays stay friendly."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.holidays = cls.env["prepaid.holiday.calendar"].create({"name": "Test China 2026"})
        cls.env["prepaid.holiday.fill"].create(
            {"calendar_id": cls.holidays.id, "country_id": cls.env.ref("base.cn").id, "year": 2026}
        ).action_fill()
        cls.env["prepaid.cutoff.calendar"].create(
            {
                "name": "Test friendly hours",
                "tz": "Asia/Shanghai",
                "night_start": 18.0,
                "night_end": 9.0,
                "no_cut_weekends": True,
                "holiday_calendar_ids": [Command.set(cls.holidays.ids)],
            }
        )
        cls.Calendar = cls.env["prepaid.cutoff.calendar"]
        cls.company = cls.account.company_id

    def rule_at_local_noon(self, day):
        """The friendly rule at 12:00 in Shanghai (04:00 UTC) of ``(month, day)`` 2026."""
        return self.Calendar._get_friendly_rule(self.company, datetime(2026, *day, 4, 0))

    def test_make_up_working_days_are_not_weekends(self):
        self.assertEqual(self.rule_at_local_noon((1, 4)), "")  # Sunday, worked
        self.assertEqual(self.rule_at_local_noon((2, 14)), "")  # Saturday, worked
        self.assertIn("weekend", self.rule_at_local_noon((1, 3)))  # Saturday
        self.assertIn("weekend", self.rule_at_local_noon((1, 10)))  # Saturday
        self.assertEqual(self.rule_at_local_noon((1, 5)), "")  # Monday

    def test_holidays_stay_friendly_and_nights_too(self):
        self.assertIn("holiday", self.rule_at_local_noon((1, 1)))  # Thursday
        self.assertIn("holiday", self.rule_at_local_noon((10, 3)))  # Saturday, holiday
        # 20:00 in Shanghai on the worked Sunday: still night.
        night = self.Calendar._get_friendly_rule(self.company, datetime(2026, 1, 4, 12, 0))
        self.assertIn("night", night)

    def test_a_working_day_edited_back_to_a_holiday(self):
        sunday = self.holidays.holiday_ids.filtered(lambda day: str(day.date) == "2026-01-04")
        sunday.kind = "holiday"
        self.assertIn("holiday", self.rule_at_local_noon((1, 4)))
        sunday.unlink()
        self.assertIn("weekend", self.rule_at_local_noon((1, 4)))
