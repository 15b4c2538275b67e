import re
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal

from psycopg2 import IntegrityError

from odoo import Command
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import tagged
from odoo.tools import mute_logger

from ..tools.tariff_data import MESSAGES, Interval, TariffDefinition, Tier
from .common import PrepaidMeterCommon

DAY_NIGHT = ((0.0, 8.0, "valley"), (8.0, 20.0, "peak"), (20.0, 24.0, "valley"))


class TariffTestMixin:
    """Helpers to build tariff versions; every test builds its own tariffs."""

    @contextmanager
    def _assert_raises_match(self, exception, regex):
        """``assertRaisesRegex`` inside a savepoint (Odoo's ``assertRaises`` rolls back the
        rows written before the error; the unittest one would leave them)."""
        with self.assertRaises(exception) as capture:
            yield capture
        self.assertRegex(str(capture.exception), regex)

    def _assert_refused(self, regex):
        return self._assert_raises_match(ValidationError, regex)

    @classmethod
    def _bands(cls, schedule=DAY_NIGHT, **values):
        return [
            Command.create({"hour_from": start, "hour_to": end, "band": band, **values})
            for start, end, band in schedule
        ]

    @classmethod
    def _tiers(cls, *steps, field="unit_price"):
        return [
            Command.create({"sequence": number, "quantity_from": start, field: price})
            for number, (start, price) in enumerate(steps, start=1)
        ]

    @classmethod
    def _create_version(cls, tariff, **values):
        return cls.env["prepaid.tariff.version"].create(
            {
                "tariff_id": tariff.id,
                "date_from": "2026-01-01",
                "kind": "flat",
                "unit_price": 0.5,
                **values,
            }
        )

    @classmethod
    def _create_tou_version(cls, tariff, **values):
        values.setdefault("kind", "tou")
        values.setdefault("price_peak", 1.0)
        values.setdefault("price_valley", 0.3)
        values["band_ids"] = values.get("band_ids") or cls._bands()
        return cls._create_version(tariff, **values)


@tagged("post_install", "-at_install")
class TestTariffConstraints(TariffTestMixin, PrepaidMeterCommon):
    """Overlaps, gaps, unordered steps and negative prices are refused (engine rules)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tariff = cls._create_tariff(name="Test TOU tariff")
        cls.summer = cls.env["prepaid.tariff.season"].create(
            {
                "name": "Test Summer",
                "start_month": "7",
                "start_day": 1,
                "end_month": "9",
                "end_day": 30,
            }
        )

    def test_prices_say_their_unit(self):
        version = self._create_version(self.tariff, date_to="2026-01-31")
        symbol = self.tariff.currency_id.symbol
        unit = "m³" if self.tariff.utility == "water" else "kWh"
        self.assertEqual((version.quantity_unit, version.price_unit), (unit, f"{symbol}/{unit}"))

    def test_valid_versions_of_each_kind(self):
        flat = self._create_version(self.tariff, date_to="2026-01-31")
        tou = self._create_tou_version(self.tariff, date_from="2026-02-01", date_to="2026-02-28")
        tiered = self._create_version(
            self.tariff,
            date_from="2026-03-01",
            date_to="2026-03-31",
            kind="tiered",
            tier_ids=self._tiers((0, 0.5), (100, 0.6)),
        )
        tiered_tou = self._create_tou_version(
            self.tariff,
            date_from="2026-04-01",
            kind="tiered_tou",
            tier_ids=self._tiers((0, 0), (100, 0.05), field="price_adder"),
        )
        definition = self.tariff._engine_definition()
        self.assertIsInstance(definition, TariffDefinition)
        kinds = {version.valid_from: version.kind for version in definition.versions}
        self.assertEqual(
            kinds,
            {
                date(2026, 1, 1): "flat",
                date(2026, 2, 1): "tou",
                date(2026, 3, 1): "tiered",
                date(2026, 4, 1): "tiered_tou",
            },
        )
        engine_tou = tou._engine_version()
        self.assertEqual(
            dict(engine_tou.band_prices), {"peak": Decimal(1), "valley": Decimal("0.3")}
        )
        self.assertEqual(engine_tou.periods[0].start, 0)
        self.assertEqual(engine_tou.periods[1].start, 8 * 60)
        self.assertEqual(
            tiered_tou._engine_version().tiers,
            (Tier(Decimal(0), Decimal(0)), Tier(Decimal(100), Decimal("0.05"))),
        )
        self.assertEqual(tiered._engine_version().tiers[1].price, Decimal("0.6"))
        self.assertEqual(flat._engine_version().unit_price, Decimal("0.5"))

    def test_overlapping_bands_refused(self):
        with self._assert_refused(r"07:00-24:00 overlap"):
            self._create_tou_version(
                self.tariff, band_ids=self._bands(((0, 8, "valley"), (7, 24, "peak")))
            )

    def test_gap_in_a_day_refused(self):
        with self._assert_refused("No band is defined from 08:00 to 09:00"):
            self._create_tou_version(
                self.tariff, band_ids=self._bands(((0, 8, "valley"), (9, 24, "peak")))
            )

    def test_gap_in_a_season_and_day_type_refused(self):
        bands = self._bands() + self._bands(
            ((0, 12, "peak"), (12.5, 24, "valley")), season_id=self.summer.id, day_type="weekend"
        )
        with self._assert_refused(r"12:00 to 12:30 \(Test Summer, Weekends\)"):
            self._create_tou_version(self.tariff, band_ids=bands)

    def test_band_times_on_15_minute_boundaries(self):
        with self._assert_refused("08:10 is not on a 15-minute boundary"):
            self._create_tou_version(
                self.tariff,
                band_ids=self._bands(((0, 8 + 10 / 60, "valley"), (8 + 10 / 60, 24, "peak"))),
            )
        with self._assert_refused("split a period crossing midnight"):
            self._create_tou_version(
                self.tariff, band_ids=self._bands(((22, 6, "valley"), (6, 22, "peak")))
            )

    def test_moving_a_boundary_in_one_save(self):
        """Lines updated one after the other by the ORM must not trip the day check."""
        version = self._create_tou_version(self.tariff)
        valley, peak, _evening = version.band_ids.sorted("hour_from")
        version.write(
            {
                "band_ids": [
                    Command.update(valley.id, {"hour_to": 9.0}),
                    Command.update(peak.id, {"hour_from": 9.0}),
                ]
            }
        )
        self.assertEqual(version._engine_version().periods[1].start, 9 * 60)

    def test_unordered_tiers_refused(self):
        with self._assert_refused("Step 3 starts at 100.*increasing order"):
            self._create_version(
                self.tariff, kind="tiered", tier_ids=self._tiers((0, 0.5), (200, 0.6), (100, 0.8))
            )
        with self._assert_refused("The first step must start at 0"):
            self._create_version(self.tariff, kind="tiered", tier_ids=self._tiers((10, 0.5)))
        with self._assert_refused("needs at least one step"):
            self._create_version(self.tariff, kind="tiered")

    def test_negative_prices_refused(self):
        with self._assert_refused(r"unit price cannot be negative \(-0\.5"):
            self._create_version(self.tariff, unit_price=-0.5)
        with self._assert_refused("price of band Peak cannot be negative"):
            self._create_tou_version(self.tariff, price_peak=-1.0)
        with self._assert_refused("price of step 2 cannot be negative"):
            self._create_version(
                self.tariff, kind="tiered", tier_ids=self._tiers((0, 0.5), (100, -0.6))
            )
        with self._assert_refused("fixed charge Rental cannot be negative"):
            self._create_version(
                self.tariff,
                fixed_charge_ids=[Command.create({"name": "Rental", "amount": -5.0})],
            )
        version = self._create_version(self.tariff, kind="tiered", tier_ids=self._tiers((0, 0.5)))
        with self._assert_refused("cannot be negative"):
            version.tier_ids.price_adder = -0.01  # written directly on the step

    def test_band_without_price_refused(self):
        with self._assert_refused("Band Peak is used by the band periods"):
            self._create_tou_version(self.tariff, price_peak=0.0)

    def test_every_day_needs_band_periods(self):
        with self._assert_refused("No band periods apply to Weekends"):
            self._create_tou_version(self.tariff, band_ids=self._bands(day_type="weekday"))
        with self._assert_refused("needs band periods"):
            self._create_version(self.tariff, kind="tou", price_peak=1.0, band_ids=[])

    def test_overlapping_versions_refused(self):
        self._create_version(self.tariff, date_to="2026-06-30")
        self._create_version(self.tariff, date_from="2026-07-01")
        with self._assert_refused("overlap"):
            self._create_version(self.tariff, date_from="2026-06-30", date_to="2026-06-30")
        with self._assert_refused("ends .* before it starts"):
            self._create_version(self.tariff, date_from="2025-06-30", date_to="2025-06-01")

    def test_seasons(self):
        winter = self.env["prepaid.tariff.season"].create(
            {
                "name": "Test Winter",
                "start_month": "11",
                "start_day": 1,
                "end_month": "2",
                "end_day": 29,
            }
        )
        bands = (
            self._bands()
            + self._bands(season_id=self.summer.id)
            + self._bands(((0, 24, "valley"),), season_id=winter.id)
        )
        version = self._create_tou_version(self.tariff, band_ids=bands)
        self.assertEqual(
            {season.code for season in version._engine_version().seasons},
            {"Test Summer", "Test Winter"},
        )
        with self._assert_refused("Seasons .* overlap"):
            winter.start_month = "9"  # now overlaps the summer in a version using both
        with self._assert_refused("invalid date 2/30"):
            winter.end_day = 30

    def test_seasons_of_months(self):
        months = self.env["prepaid.tariff.month"].search([("number", "in", (1, 7, 8))])
        peak = self.env["prepaid.tariff.season"].create(
            {"name": "Test Peak Months", "season_type": "months", "month_ids": months.ids}
        )
        bands = self._bands() + self._bands(((0, 24, "peak"),), season_id=peak.id)
        version = self._create_tou_version(self.tariff, band_ids=bands)
        (season,) = version._engine_version().seasons
        self.assertEqual(season.months, (1, 7, 8))
        # Rated: July (a month of the season) at the peak price, June not.
        self.tariff.tz = "UTC"
        result = self.tariff._rate_intervals(
            [
                (datetime(2026, 6, 30, 23), datetime(2026, 7, 1, 1), 2.0),
                (datetime(2026, 1, 15, 3), datetime(2026, 1, 15, 4), 1.0),
            ]
        )
        self.assertEqual(  # rated in time order: January first
            [(line.start.month, line.band, line.quantity) for line in result.lines],
            [(1, "peak", Decimal(1)), (6, "valley", Decimal(1)), (7, "peak", Decimal(1))],
        )
        with self._assert_refused("Seasons .* overlap"):
            self.summer.write({"season_type": "months", "month_ids": months[1:].ids})
            self._create_tou_version(
                self.tariff,
                date_from="2027-01-01",
                band_ids=self._bands()
                + self._bands(season_id=self.summer.id)
                + self._bands(season_id=peak.id),
            )
        with self._assert_refused("needs at least one month"):
            peak.month_ids = False

    def test_season_names_in_the_users_language(self):
        """Month names come from babel: never English month names in zh_CN."""
        self.env["res.lang"]._activate_lang("zh_CN")
        months = self.env["prepaid.tariff.month"].search([("number", "in", (12, 1, 2))])
        winter = self.env["prepaid.tariff.season"].create(
            {"name": "Winter", "season_type": "months", "month_ids": months.ids}
        )
        self.assertEqual(winter.with_context(lang="en_US").display_name, "Winter (Jan, Feb, Dec)")
        self.assertEqual(
            self.summer.with_context(lang="en_US").display_name, "Test Summer (Jul 1 - Sep 30)"
        )
        zh_winter = winter.with_context(lang="zh_CN").display_name
        zh_summer = self.summer.with_context(lang="zh_CN").display_name
        self.assertIn("1月", zh_winter)
        self.assertIn("12月", zh_winter)
        self.assertIn("7月1日", zh_summer)
        self.assertIn("9月30日", zh_summer)
        for text in (zh_winter, zh_summer):
            self.assertNotRegex(text, "Jan|Feb|Jul|Sep|Dec")
        selection = (
            self.env["prepaid.tariff.season"].with_context(lang="zh_CN")._fields["start_month"]
        )
        labels = dict(selection._description_selection(self.env(context={"lang": "zh_CN"})))
        self.assertEqual(labels["7"], "7月")
        self.assertEqual(months.with_context(lang="zh_CN")[0].display_name, "一月")

    def test_holiday_listed_once_per_calendar(self):
        calendar = self.env["prepaid.holiday.calendar"].create(
            {
                "name": "Test holidays",
                "holiday_ids": [Command.create({"date": "2026-05-01", "name": "Labour Day"})],
            }
        )
        self.assertEqual(calendar.holiday_count, 1)
        with mute_logger("odoo.sql_db"), self.assertRaises(IntegrityError):
            calendar.holiday_ids = [Command.create({"date": "2026-05-01", "name": "Again"})]
            calendar.flush_recordset()

    def test_every_engine_code_has_a_translated_message(self):
        """The Odoo side translates each code of the engine (tools/tariff_data.MESSAGES)."""
        names = {
            name for template in MESSAGES.values() for name in re.findall(r"%\((\w+)\)", template)
        }
        params = dict.fromkeys(names, "x") | {"date": date(2026, 1, 1), "season": None}
        Tariff = self.env["prepaid.tariff"]
        with self.assertNoLogs("odoo.addons.prepaid_meter.models.prepaid_tariff", "WARNING"):
            for code in MESSAGES:
                self.assertTrue(Tariff._tariff_issue_message(code, params))


@tagged("post_install", "-at_install")
class TestTariffRating(TariffTestMixin, PrepaidMeterCommon):
    """``prepaid.tariff._rate_intervals``: versions, time zone, holidays, errors."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tariff = cls._create_tariff(name="Test rated tariff", tz="Asia/Shanghai")

    def test_version_in_force_at_the_local_time_of_the_interval(self):
        self._create_version(self.tariff, date_to="2026-06-30", unit_price=0.5)
        self._create_version(self.tariff, date_from="2026-07-01", unit_price=0.6)
        # 15:00-17:00 UTC is 23:00-01:00 in Shanghai: across the version change.
        result = self.tariff._rate_intervals(
            [(datetime(2026, 6, 30, 15), datetime(2026, 6, 30, 17), 2.0)]
        )
        self.assertEqual(
            [
                (line.start, line.end, line.quantity, line.unit_price, line.amount)
                for line in result.lines
            ],
            [
                (
                    datetime(2026, 6, 30, 15),
                    datetime(2026, 6, 30, 16),
                    Decimal(1),
                    Decimal("0.5"),
                    Decimal("0.50"),
                ),
                (
                    datetime(2026, 6, 30, 16),
                    datetime(2026, 6, 30, 17),
                    Decimal(1),
                    Decimal("0.6"),
                    Decimal("0.60"),
                ),
            ],
        )
        self.assertEqual(
            [line.version for line in result.lines], [date(2026, 1, 1), date(2026, 7, 1)]
        )
        self.assertEqual(result.amount, Decimal("1.10"))

    def test_daylight_saving_days_are_rated_on_utc_instants(self):
        """Europe/Paris: the fall-back hour (02:00 twice) is rated, not refused as empty; the
        spring-forward interval is shared by elapsed time."""
        tariff = self._create_tariff(name="Test Paris tariff", tz="Europe/Paris")
        self._create_tou_version(tariff, date_from="2024-01-01")
        fall_back = tariff._rate_intervals(
            [
                (datetime(2024, 10, 27, hour), datetime(2024, 10, 27, hour + 1), 1.0)
                for hour in (0, 1)
            ]
        )
        self.assertEqual(fall_back.quantity, Decimal(2))
        self.assertEqual(
            [(line.start, line.band) for line in fall_back.lines],
            [(datetime(2024, 10, 27, 0), "valley"), (datetime(2024, 10, 27, 1), "valley")],
        )
        # 2024-03-31 06:00-08:00 UTC is 08:00-10:00 CEST: valley until 08:00 local only.
        spring = tariff._rate_intervals([(datetime(2024, 3, 31, 5), datetime(2024, 3, 31, 7), 2.0)])
        self.assertEqual(
            [(line.band, line.quantity) for line in spring.lines],
            [("valley", Decimal(1)), ("peak", Decimal(1))],
        )

    def test_deep_valley_band(self):
        """The fifth band (深谷) has its price and its periods like the others."""
        self._create_tou_version(
            self.tariff,
            price_deep_valley=0.15,
            band_ids=self._bands(((0, 11, "valley"), (11, 14, "deep_valley"), (14, 24, "peak"))),
        )
        # 03:00-07:00 UTC is 11:00-15:00 in Shanghai.
        result = self.tariff._rate_intervals(
            [(datetime(2026, 3, 3, 3), datetime(2026, 3, 3, 7), 4.0)]
        )
        self.assertEqual(
            [(line.band, line.quantity, line.amount) for line in result.lines],
            [("deep_valley", Decimal(3), Decimal("0.45")), ("peak", Decimal(1), Decimal("1.00"))],
        )
        with self._assert_refused("Deep Valley is used by the band periods but has no price"):
            self._create_tou_version(
                self._create_tariff(name="Test no deep valley price", tz="Asia/Shanghai"),
                band_ids=self._bands(((0, 12, "deep_valley"), (12, 24, "peak"))),
            )

    def test_tiered_tou_price_grid(self):
        """Each (band, step) has its own price: peak +0.5 in step 2, valley +0.02."""
        steps = [
            Command.create(
                {
                    "sequence": 1,
                    "quantity_from": 0,
                    "grid_price_peak": 1.0,
                    "grid_price_valley": 0.3,
                }
            ),
            Command.create(
                {
                    "sequence": 2,
                    "quantity_from": 10,
                    "grid_price_peak": 1.5,
                    "grid_price_valley": 0.32,
                }
            ),
        ]
        self._create_tou_version(
            self.tariff,
            kind="tiered_tou",
            tou_pricing="grid",
            price_peak=0,
            price_valley=0,
            tier_ids=steps,
        )
        # 04:00-05:00 UTC is noon in Shanghai (peak), 16:00-17:00 UTC midnight (valley).
        result = self.tariff._rate_intervals(
            [
                (datetime(2026, 3, 3, 4), datetime(2026, 3, 3, 5), 12.0),
                (datetime(2026, 3, 3, 16), datetime(2026, 3, 3, 17), 5.0),
            ]
        )
        self.assertEqual(
            [(line.band, line.tier, line.quantity, line.unit_price) for line in result.lines],
            [
                ("peak", 1, Decimal(10), Decimal(1)),
                ("peak", 2, Decimal(2), Decimal("1.5")),
                ("valley", 2, Decimal(5), Decimal("0.32")),
            ],
        )
        self.assertEqual(result.amount, Decimal("14.60"))
        # Every band of the periods needs a price in every step, however the step is written.
        step = self.tariff.version_ids.tier_ids[1]
        with self._assert_refused(
            "Valley is used by the band periods but step 2 of the price grid"
        ):
            step.grid_price_valley = 0
        with self._assert_refused("step 3 of the price grid"):
            self.tariff.version_ids.tier_ids = [
                Command.create({"sequence": 3, "quantity_from": 20, "grid_price_peak": 2})
            ]

    def test_current_version(self):
        past = self._create_version(self.tariff, date_from="2020-01-01", date_to="2020-12-31")
        self.assertFalse(self.tariff.current_version_id)
        current = self._create_version(self.tariff, date_from="2021-01-01")
        self.assertEqual(self.tariff.current_version_id, current)
        self.assertTrue(current.is_current)
        self.assertFalse(past.is_current)
        self.assertEqual(self.tariff.kind, "flat")

    def test_holidays_use_the_weekend_bands(self):
        self.tariff.holiday_calendar_id = self.env["prepaid.holiday.calendar"].create(
            {
                "name": "Test holidays",
                "holiday_ids": [Command.create({"date": "2026-03-02", "name": "Test holiday"})],
            }
        )
        bands = self._bands(day_type="weekday") + self._bands(
            ((0, 24, "valley"),), day_type="weekend"
        )
        self._create_tou_version(self.tariff, band_ids=bands)
        noon = [
            (datetime(2026, 3, day, 4), datetime(2026, 3, day, 5), Decimal(1)) for day in (2, 3)
        ]  # 12:00 in Shanghai, Monday (holiday) and Tuesday
        result = self.tariff._rate_intervals(noon)
        self.assertEqual([line.band for line in result.lines], ["valley", "peak"])

    def test_tiered_tou_with_cycle_position(self):
        self._create_tou_version(
            self.tariff,
            kind="tiered_tou",
            tier_ids=self._tiers((0, 0), (10, 0.05), field="price_adder"),
        )
        interval = Interval(datetime(2026, 3, 3, 2), datetime(2026, 3, 3, 3), Decimal("4"))
        result = self.tariff._rate_intervals([interval], cycle_quantity=Decimal(8))
        self.assertEqual(
            [(line.band, line.tier, line.quantity, line.unit_price) for line in result.lines],
            [("peak", 1, Decimal(2), Decimal(1)), ("peak", 2, Decimal(2), Decimal("1.05"))],
        )
        self.assertEqual(result.cycle_quantity, Decimal(12))

    def test_fixed_charges(self):
        self._create_version(
            self.tariff,
            fixed_charge_ids=[
                Command.create({"name": "Rental", "amount": 0.3, "period": "day"}),
                Command.create({"name": "Service", "amount": 5.0, "period": "month"}),
            ],
        )
        lines = self.tariff._rate_fixed_charges(date(2026, 2, 27), date(2026, 3, 2))
        self.assertEqual(
            [(line.charge, line.start.date(), line.amount) for line in lines],
            [
                ("Rental", date(2026, 2, 27), Decimal("0.30")),
                ("Rental", date(2026, 2, 28), Decimal("0.30")),
                ("Rental", date(2026, 3, 1), Decimal("0.30")),
                ("Service", date(2026, 3, 1), Decimal("5.00")),
                ("Rental", date(2026, 3, 2), Decimal("0.30")),
            ],
        )

    def test_rating_errors_are_translated_user_errors(self):
        self._create_version(self.tariff, date_from="2026-01-01")
        with self._assert_raises_match(UserError, "No tariff version is in force on"):
            self.tariff._rate_intervals(
                [(datetime(2025, 12, 31, 0), datetime(2025, 12, 31, 1), 1.0)]
            )
        with self._assert_raises_match(UserError, "overlaps the previous one"):
            self.tariff._rate_intervals(
                [
                    (datetime(2026, 3, 1, 0), datetime(2026, 3, 1, 2), 1.0),
                    (datetime(2026, 3, 1, 1), datetime(2026, 3, 1, 3), 1.0),
                ]
            )

    def test_version_changes_are_tracked_on_the_tariff(self):
        version = self._create_version(self.tariff).with_context(tracking_disable=False)
        version.unit_price = 0.55
        message = self.tariff.message_ids[:1]
        self.assertIn("Unit Price", message.body)
        self.assertIn("changed", message.body)


@tagged("post_install", "-at_install")
class TestTariffAccess(TariffTestMixin, PrepaidMeterCommon):
    """Operators read tariffs; managers write them."""

    def test_operator_reads_manager_writes(self):
        tariff = self._create_tariff(name="Test access tariff")
        version = self._create_tou_version(tariff)
        as_operator = version.with_user(self.operator_user)
        self.assertEqual(as_operator.band_ids.mapped("band"), ["valley", "peak", "valley"])
        self.assertTrue(tariff.with_user(self.operator_user)._engine_definition().versions)
        with self.assertRaises(AccessError):
            as_operator.unit_price = 1.0
        with self.assertRaises(AccessError):
            as_operator.band_ids[:1].band = "flat"
        as_manager = version.with_user(self.manager_user)
        as_manager.write(
            {
                "price_peak": 1.1,
                "band_ids": [Command.update(version.band_ids[1].id, {"band": "peak"})],
            }
        )
        self.env["prepaid.tariff.season"].with_user(self.manager_user).create(
            {"name": "Manager season", "start_month": "1", "end_month": "3", "end_day": 31}
        )
        self.assertEqual(version.price_peak, 1.1)
