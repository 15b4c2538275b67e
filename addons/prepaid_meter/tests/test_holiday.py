"""Holiday calendars with make-up working days (调休), filled from the ``holidays`` package."""

import xmlrpc.client
from datetime import date, datetime
from decimal import Decimal

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import HttpCase, tagged

from .common import PrepaidAccessTestMixin, PrepaidMeterTestMixin

# China 2026: the Saturdays and Sundays worked to make up for the holidays.
WORKING_DAYS_2026 = [
    date(2026, 1, 4),
    date(2026, 2, 14),
    date(2026, 2, 28),
    date(2026, 5, 9),
    date(2026, 9, 20),
    date(2026, 10, 10),
]


@tagged("post_install", "-at_install")
class TestHolidayCalendar(PrepaidAccessTestMixin, PrepaidMeterTestMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_prepaid_registry()
        cls.calendar = cls.env["prepaid.holiday.calendar"].create({"name": "Test China 2026"})
        cls.china = cls.env.ref("base.cn")

    def fill(self, calendar=None, user=None, lang=None, **values):
        Fill = self.env["prepaid.holiday.fill"]
        if lang:
            Fill = Fill.with_context(lang=lang)
        if user:
            Fill = Fill.with_user(user)
        wizard = Fill.create(
            {
                "calendar_id": (calendar or self.calendar).id,
                "country_id": self.china.id,
                "year": 2026,
                **values,
            }
        )
        return wizard.action_fill()

    def days(self, kind, calendar=None):
        return (calendar or self.calendar).holiday_ids.filtered(lambda day: day.kind == kind)

    def test_fill_china_2026_with_its_make_up_working_days(self):
        self.fill()
        self.assertEqual(sorted(self.days("working_day").mapped("date")), WORKING_DAYS_2026)
        self.assertTrue(all(day.weekday() >= 5 for day in WORKING_DAYS_2026))
        holidays = self.days("holiday").mapped("date")
        for day in (date(2026, 1, 1), date(2026, 2, 17), date(2026, 10, 1), date(2026, 10, 7)):
            self.assertIn(day, holidays)
        self.assertNotIn(date(2026, 1, 4), holidays)
        self.assertTrue(all(day.year == 2026 for day in holidays))

    def test_fill_keeps_the_days_edited_by_hand_and_adds_nothing_twice(self):
        self.calendar.holiday_ids = [
            Command.create({"date": date(2026, 1, 1), "name": "New Year (company)"}),
            # A day the company works although the package lists it as a holiday.
            Command.create({"date": date(2026, 1, 2), "name": "Open", "kind": "working_day"}),
        ]
        action = self.fill()
        self.assertIn("2 already listed were kept", action["params"]["message"])
        self.assertEqual(
            self.calendar.holiday_ids.filtered(lambda d: d.date == date(2026, 1, 1)).name,
            "New Year (company)",
        )
        self.assertEqual(self.days("working_day").mapped("date")[:1], [date(2026, 1, 2)])
        count = len(self.calendar.holiday_ids)
        action = self.fill()
        self.assertIn("0 days added", action["params"]["message"])
        self.assertEqual(len(self.calendar.holiday_ids), count)
        # Edited by hand afterwards like any other day.
        sunday = self.days("working_day").filtered(lambda d: d.date == date(2026, 1, 4))
        sunday.kind = "holiday"
        self.assertNotIn(date(2026, 1, 4), self.days("working_day").mapped("date"))

    def test_names_in_the_users_language(self):
        self.env["res.lang"]._activate_lang("zh_CN")
        self.fill(lang="zh_CN")
        self.assertEqual(
            self.calendar.holiday_ids.filtered(lambda d: d.date == date(2026, 1, 1)).name, "元旦"
        )

    def test_unknown_country_or_subdivision_is_a_clear_error(self):
        unknown = self.env["res.country"].create({"name": "Test Land", "code": "ZZ"})
        with self.assertRaisesRegex(UserError, "no calendar for Test Land"):
            self.fill(country_id=unknown.id)
        with self.assertRaisesRegex(UserError, "no subdivision XX of China"):
            self.fill(subdivision="xx")
        self.assertFalse(self.calendar.holiday_ids)

    def test_tariffs_price_a_make_up_working_day_as_a_weekday(self):
        self.fill()
        tariff = self._create_tariff(
            name="Test China TOU",
            tz="Asia/Shanghai",
            holiday_calendar_id=self.calendar.id,
            version_ids=[
                Command.create(
                    {
                        "date_from": "2026-01-01",
                        "kind": "tou",
                        "price_peak": 1.0,
                        "price_flat": 0.6,
                        "price_valley": 0.3,
                        "band_ids": [
                            Command.create(
                                {
                                    "day_type": "weekday",
                                    "hour_from": 0,
                                    "hour_to": 24,
                                    "band": "peak",
                                }
                            ),
                            Command.create(
                                {
                                    "day_type": "weekend",
                                    "hour_from": 0,
                                    "hour_to": 24,
                                    "band": "flat",
                                }
                            ),
                            Command.create(
                                {
                                    "day_type": "holiday",
                                    "hour_from": 0,
                                    "hour_to": 24,
                                    "band": "valley",
                                }
                            ),
                        ],
                    }
                )
            ],
        )
        definition = tariff._engine_definition()
        self.assertEqual(sorted(definition.working_days), WORKING_DAYS_2026)
        self.assertIn(date(2026, 10, 1), definition.holidays)
        # Noon in Shanghai (04:00 UTC): Sun Jan 4 (worked), Sat Jan 3, Thu Jan 1 (holiday).
        result = tariff._rate_intervals(
            [
                (datetime(2026, 1, day, 4), datetime(2026, 1, day, 5), Decimal(1))
                for day in (1, 3, 4)
            ]
        )
        self.assertEqual([line.band for line in result.lines], ["valley", "flat", "peak"])

    def test_operators_cannot_fill_managers_can_company_calendars_only(self):
        with self.assertRaises(AccessError):
            self.fill(user=self.operator_user)
        with self.assertRaises(xmlrpc.client.Fault) as caught:
            self.rpc(
                self.operator_user,
                "prepaid.holiday.fill",
                "create",
                {"calendar_id": self.calendar.id, "country_id": self.china.id, "year": 2026},
            )
        self.assertIn("not allowed", caught.exception.faultString)
        # A manager fills a calendar of the company over RPC.
        wizard_id = self.rpc(
            self.manager_user,
            "prepaid.holiday.fill",
            "create",
            {"calendar_id": self.calendar.id, "country_id": self.china.id, "year": 2026},
        )
        self.rpc(self.manager_user, "prepaid.holiday.fill", "action_fill", [wizard_id])
        self.assertEqual(len(self.days("working_day")), 6)
        # A calendar shared by every company: administrators only.
        shared = self.env["prepaid.holiday.calendar"].create(
            {"name": "Shared", "company_id": False}
        )
        with self.assertRaisesRegex(AccessError, "calendars shared by every company"):
            self.fill(calendar=shared, user=self.manager_user)
        self.assertFalse(shared.holiday_ids)
