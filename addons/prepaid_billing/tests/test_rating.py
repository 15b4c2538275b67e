from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from unittest.mock import patch

from freezegun import freeze_time

from odoo import Command
from odoo.tests import tagged

from .test_ledger import PrepaidLedgerCommon

START = datetime(2026, 3, 1, 0, 0)


@tagged("post_install", "-at_install")
class TestRating(PrepaidLedgerCommon):
    """Platform-side billing: readings rated chronologically, charged exactly once."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Rating = cls.env["prepaid.rating"]
        # Tiered: 0.5 per kWh up to 100 kWh in the month, 0.8 above (UTC months).
        cls.tiered = cls._create_tariff(
            utility="electricity",
            tz="UTC",
            version_ids=[
                Command.create(
                    {
                        "date_from": "2026-01-01",
                        "kind": "tiered",
                        "tier_ids": [
                            Command.create({"quantity_from": 0, "unit_price": 0.5}),
                            Command.create({"quantity_from": 100, "unit_price": 0.8}),
                        ],
                    }
                )
            ],
        )
        cls.account.electricity_tariff_id = cls.tiered
        cls.account.date_open = date(2026, 2, 1)
        cls.meter = cls.account.meter_ids
        cls.meter.initial_reading = 0
        cls.meter.max_load = 1000
        cls._post(cls.account, "topup", 1000.0, "opening-topup")

    def ingest(self, *points, meter=None):
        """Readings of ``meter`` (the account's) at ``(hours after START, register)``."""
        meter = meter or self.meter
        return self.env["prepaid.reading"]._ingest(
            [(meter.id, START + timedelta(hours=hours), total) for hours, total in points],
            "gateway",
        )

    def charges(self):
        lines = self.account.ledger_line_ids.filtered(
            lambda line: line.kind in ("consumption", "trueup")
        )
        return sum(lines.mapped("amount"))

    def test_readings_are_charged_chronologically_through_the_tiers(self):
        self.ingest((0, 0), (1, 60), (2, 120), (3, 150))
        summary = self.Rating._rate_accounts(self.account)
        # 60 at 0.5; 40 at 0.5 + 20 at 0.8; 30 at 0.8.
        consumption = self.account.ledger_line_ids.filtered(lambda line: line.kind == "consumption")
        self.assertEqual(sorted(consumption.mapped("amount")), [-36.0, -30.0, -24.0])
        self.assertEqual(summary["rated"], 3)
        self.assertEqual(self.account.balance, 1000 - 90)
        # The charge of each reading names it.
        self.assertEqual(set(consumption.mapped("res_model")), {"prepaid.reading"})

    def test_a_rerun_charges_nothing_and_runs_carry_the_cycle(self):
        self.ingest((0, 0), (1, 60))
        self.Rating._rate_accounts(self.account)
        self.Rating._rate_accounts(self.account)  # nothing new
        self.assertEqual(self.charges(), -30.0)
        self.ingest((2, 120))  # crosses into the second step: the cycle was carried
        self.Rating._rate_accounts(self.account)
        self.assertEqual(self.charges(), -30.0 - 36.0)
        self.assertEqual(self.account.balance, 1000 - 66)
        self.assertFalse(self.account._check_ledger_balances())

    def test_no_rounding_drift_over_a_cycle(self):
        # 0.333 kWh an hour at 0.5: each hour 0.1665, a cycle of 30 hours 4.995 -> 5.00.
        points = [(hours, round(hours * 0.333, 3)) for hours in range(31)]
        for start in range(0, 31, 7):  # in several runs
            self.ingest(*points[start : start + 7])
            self.Rating._rate_accounts(self.account)
        exact = Decimal("0.333") * 30 * Decimal("0.5")
        self.assertEqual(
            Decimal(str(-self.charges())).quantize(Decimal("0.01")),
            exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP),
        )

    def test_a_new_month_starts_a_new_cycle(self):
        self.ingest((0, 0), (24 * 30, 150))  # March: 100 at 0.5, 50 at 0.8
        self.Rating._rate_accounts(self.account)
        self.ingest((24 * 31 + 1, 160))  # April: the first step again
        self.Rating._rate_accounts(self.account)
        self.assertEqual(self.charges(), -(50 + 40) - 5.0)
        cycles = self.env["prepaid.rating.cycle"].search([("account_id", "=", self.account.id)])
        self.assertEqual(sorted(cycles.mapped("cycle")), [date(2026, 3, 1), date(2026, 4, 1)])

    def test_held_readings_are_charged_once_accepted(self):
        self.ingest((0, 0), (1, 10))
        self.meter.max_load = 50
        self.ingest((2, 5000))  # an implausible jump: held, counts nothing
        self.Rating._rate_accounts(self.account)
        self.assertEqual(self.charges(), -5.0)
        held = self.env["prepaid.reading"].search(
            [("meter_id", "=", self.meter.id), ("total", "=", 5000)]
        )
        self.assertEqual(held.review_state, "pending")
        held.action_accept()
        self.Rating._rate_accounts(self.account)
        # 4990 kWh: 90 at 0.5 then 4900 at 0.8 after the first 10.
        self.assertEqual(self.charges(), -(5.0 + 45.0 + 3920.0))

    def test_a_late_reading_trues_up_the_cycle(self):
        self.ingest((0, 0), (2, 120))
        self.Rating._rate_accounts(self.account)
        self.assertEqual(self.charges(), -(50 + 16.0))
        self.ingest((1, 110))  # arrives late: the 120 reading now counts 10 from 110
        self.Rating._rate_accounts(self.account)
        # Same total quantity in the cycle: the same total charge; the late reading is charged
        # and the follower trued up, each once.
        self.assertAlmostEqual(self.charges(), -(50 + 16.0), places=2)
        trueups = self.account.ledger_line_ids.filtered(lambda line: line.kind == "trueup")
        self.assertTrue(trueups)
        self.Rating._rate_accounts(self.account)
        self.assertEqual(
            len(self.account.ledger_line_ids.filtered(lambda line: line.kind == "trueup")),
            len(trueups),
        )

    def test_a_deleted_reading_is_refunded(self):
        self.ingest((0, 0), (1, 40), (2, 60))
        self.Rating._rate_accounts(self.account)
        self.assertEqual(self.charges(), -30.0)
        last = self.env["prepaid.reading"].search(
            [("meter_id", "=", self.meter.id), ("total", "=", 60)]
        )
        last.unlink()
        self.Rating._rate_accounts(self.account)
        self.assertEqual(self.charges(), -20.0)
        self.Rating._rate_accounts(self.account)
        self.assertEqual(self.charges(), -20.0)

    def test_accounts_sharing_nothing_and_accounts_that_cannot_be_rated(self):
        other = self._create_open_account()
        other.date_open = date(2026, 2, 1)
        other.meter_ids.initial_reading = 0
        other.electricity_tariff_id = self.tariff_electricity  # no version in force
        self.ingest((0, 0), (1, 10))
        self.ingest((0, 0), (1, 10), meter=other.meter_ids)
        summary = self.Rating._rate_accounts(self.account | other)
        self.assertEqual(self.charges(), -5.0)
        self.assertIn((other, "electricity"), summary["failed"])
        self.assertFalse(other.ledger_line_ids)

    def test_meters_of_one_account_share_the_cycle(self):
        second = self._create_meter(room=self.room, initial_reading=0, max_load=1000)
        self.account.meter_ids = [Command.link(second.id)]
        self.ingest((0, 0), (1, 80))
        self.ingest((0, 0), (1, 80), meter=second)  # the same hour: 160 kWh in the cycle
        self.Rating._rate_accounts(self.account)
        self.assertEqual(self.charges(), -(50 + 48.0))

    def test_only_platform_accounts_in_service_are_rated(self):
        self.account.billing_mode = "postpaid"
        self.ingest((0, 0), (1, 10))
        self.Rating._rate_accounts(self.account)
        self.assertEqual(self.charges(), 0)

    def test_readings_before_the_opening_are_not_charged(self):
        self.account.date_open = date(2026, 3, 2)
        self.ingest((0, 0), (1, 10), (25, 20), (26, 30))
        self.Rating._rate_accounts(self.account)
        # 26h only: the interval of 25h started before the opening (the last tenant's).
        self.assertEqual(self.charges(), -5.0)

    def test_ingestion_wakes_the_rating_up(self):
        cron = self.env.ref("prepaid_billing.prepaid_rating_cron")
        Trigger = self.env["ir.cron.trigger"]
        before = Trigger.search_count([("cron_id", "=", cron.id)])
        self.ingest((0, 0), (1, 10))
        self.assertEqual(Trigger.search_count([("cron_id", "=", cron.id)]), before + 1)
        self.Rating._cron_rate()
        self.assertEqual(self.charges(), -5.0)

    def test_a_crash_in_the_middle_of_a_run_changes_nothing(self):
        self.ingest((0, 0), (1, 60), (2, 120))
        Rating = type(self.Rating)
        with patch.object(Rating, "_store", side_effect=RuntimeError("power cut")):
            with self.assertRaises(RuntimeError), self.env.cr.savepoint():
                self.Rating._rate_accounts(self.account)
        self.assertEqual(self.charges(), 0)
        self.assertEqual(self.account.balance, 1000.0)
        # The next run rates the same readings the same way, once.
        self.Rating._rate_accounts(self.account)
        self.Rating._rate_accounts(self.account)
        self.assertEqual(self.charges(), -(30.0 + 36.0))

    def cold_cache(self, accounts):
        """Nothing of the batch in the cache, as in a new transaction of the scheduled action,
        nor in the registry's caches (what other tests left there does not count)."""
        self.Rating._get_work(accounts)  # pending writes done
        self.env.invalidate_all()
        self.env.registry.clear_cache()

    def _open_accounts(self, count):
        """``count`` open accounts like ``self.account``: tiered tariff, credit, a meter."""
        accounts = self.env["prepaid.account"]
        for _index in range(count):
            account = self._create_open_account(electricity_tariff_id=self.tiered.id)
            account.date_open = date(2026, 2, 1)
            account.meter_ids.write({"initial_reading": 0, "max_load": 1000})
            self._post(account, "topup", 1000.0, "opening-topup")
            accounts |= account
        return accounts

    def test_a_batch_costs_the_same_queries_for_one_or_five_accounts(self):
        """The scheduled action rates hundreds of accounts per transaction: what a batch reads
        and writes must not grow with its accounts (no query per account)."""
        one, five = self._open_accounts(1), self._open_accounts(5)
        for account in one | five:
            self.ingest((0, 0), (1, 60), (2, 120), meter=account.meter_ids)
        # Work; readings, rated readings, cycle positions; the accounts; their tariff (8: its
        # versions, bands, steps, fixed charges, price precision); language, company and
        # currency (5); posting: lock, keys, lines, balances, the alarm hook's read; rating
        # lines, cycle positions. Whatever the number of accounts.
        for accounts in (one, five):
            self.cold_cache(accounts)
            with self.assertQueryCount(25):
                summary = self.Rating._rate_accounts(accounts)
            self.assertEqual(summary["rated"], 2 * len(accounts))
        # Late readings: every cycle rated again from its start, with true-ups.
        for account in one | five:
            self.ingest((0.5, 30), (3, 150), meter=account.meter_ids)
        for accounts in (one, five):
            self.cold_cache(accounts)
            with self.assertQueryCount(25):
                summary = self.Rating._rate_accounts(accounts)
            # The late reading, its follower trued up and the new one.
            self.assertEqual(summary["rated"], 3 * len(accounts))
        for account in one | five:
            # 150 kWh: 100 at 0.5 and 50 at 0.8, whatever the order the readings came in.
            lines = account.ledger_line_ids.filtered(lambda line: line.kind != "topup")
            self.assertAlmostEqual(sum(lines.mapped("amount")), -90.0)
            self.assertIn("trueup", lines.mapped("kind"))
            self.assertFalse(account._check_ledger_balances())

    def test_a_batch_across_the_fall_back_hour_is_charged(self):
        """Europe/Paris, 2026-10-25: 01:00-02:00 UTC is 02:00 CEST - 02:00 CET, an empty
        interval on the wall clock; rated on UTC instants, every hour is charged (valley)."""
        paris = self._create_tariff(
            utility="electricity",
            tz="Europe/Paris",
            version_ids=[
                Command.create(
                    {
                        "date_from": "2026-01-01",
                        "kind": "tou",
                        "price_valley": 0.3,
                        "price_peak": 1.0,
                        "band_ids": [
                            Command.create({"hour_from": 0, "hour_to": 8, "band": "valley"}),
                            Command.create({"hour_from": 8, "hour_to": 24, "band": "peak"}),
                        ],
                    }
                )
            ],
        )
        self.account.electricity_tariff_id = paris
        first = datetime(2026, 10, 24, 23)
        self.env["prepaid.reading"]._ingest(
            [(self.meter.id, first + timedelta(hours=hour), hour) for hour in range(6)], "gateway"
        )
        summary = self.Rating._rate_accounts(self.account)
        self.assertFalse(summary["failed"])
        self.assertEqual(summary["rated"], 5)
        # 01:00 CEST to 05:00 CET: four hours of the wall clock, five real ones, all valley.
        self.assertAlmostEqual(self.charges(), -1.5)

    def _grid_tariff(self, month_end_true_up=True):
        """Tiered + TOU by a grid, month-end true-up: peak 1.0 then 2.0 above 10 kWh, valley
        0.3 then 0.4 (UTC: valley 00:00-08:00, peak 08:00-24:00)."""
        steps = [
            Command.create(
                {"sequence": 1, "quantity_from": 0, "grid_price_peak": 1, "grid_price_valley": 0.3}
            ),
            Command.create(
                {"sequence": 2, "quantity_from": 10, "grid_price_peak": 2, "grid_price_valley": 0.4}
            ),
        ]
        return self._create_tariff(
            utility="electricity",
            tz="UTC",
            month_end_true_up=month_end_true_up,
            month_end_true_up_from="2026-03-01" if month_end_true_up else False,
            version_ids=[
                Command.create(
                    {
                        "date_from": "2026-01-01",
                        "kind": "tiered_tou",
                        "tou_pricing": "grid",
                        "tier_ids": steps,
                        "band_ids": [
                            Command.create({"hour_from": 0, "hour_to": 8, "band": "valley"}),
                            Command.create({"hour_from": 8, "hour_to": 24, "band": "peak"}),
                        ],
                    }
                )
            ],
        )

    def month_end_lines(self):
        return self.account.ledger_line_ids.filtered(
            lambda line: line.idempotency_key.startswith("month-end:")
        )

    def test_month_end_true_up_to_the_proportional_convention(self):
        """10 kWh of valley on the 1st, 10 of peak on the 2nd: charged 3.00 + 20.00 in real
        time; when March ends, each band gets half of each step (18.50): 4.50 back."""
        self.account.electricity_tariff_id = self._grid_tariff()
        with freeze_time("2026-03-02 12:00"):
            # 10 kWh 00:00-01:00 on Mar 1 (valley), 10 kWh 08:00-09:00 on Mar 2 (peak)
            self.ingest((0, 0), (1, 10), (32, 10), (33, 20))
            self.Rating._rate_accounts(self.account)
            self.assertAlmostEqual(self.charges(), -23.0)
            self.assertFalse(self.month_end_lines(), "March has not ended")
            self.assertFalse(self.Rating._get_work(self.account))
        with freeze_time("2026-04-01 00:00:01"):
            self.assertEqual(
                self.Rating._get_work(self.account), [(self.account.id, "electricity")]
            )
            self.Rating._rate_accounts(self.account)
            line = self.month_end_lines()
            self.assertEqual(line.mapped("kind"), ["trueup"])
            self.assertEqual(line.idempotency_key, "month-end:electricity:2026-03")
            self.assertAlmostEqual(line.amount, 4.5)
            self.assertAlmostEqual(self.account.balance, 1000 - 18.5)
            # A rerun posts nothing and finds no work.
            self.assertFalse(self.Rating._get_work(self.account))
            self.Rating._rate_accounts(self.account)
            self.assertEqual(len(self.month_end_lines()), 1)
            # A late reading that only splits an interval: same cycle total, no correction.
            self.ingest((0.5, 4))
            self.Rating._rate_accounts(self.account)
            self.assertEqual(len(self.month_end_lines()), 1)
            # A reading of March read in April changes the cycle: the true-up is corrected
            # once. 5 kWh more at peak: 33.00 charged; in proportion 3.60 + 24.00 = 27.60.
            self.ingest((40, 25))
            self.Rating._rate_accounts(self.account)
            self.Rating._rate_accounts(self.account)
            lines = self.month_end_lines().sorted("id")
            self.assertEqual(
                lines.mapped("idempotency_key"),
                ["month-end:electricity:2026-03", "month-end:electricity:2026-03:2"],
            )
            self.assertAlmostEqual(lines[1].amount, 0.9)
            self.assertAlmostEqual(self.account.balance, 1000 - 27.6)
            self.assertFalse(self.account._check_ledger_balances())

    def test_no_month_end_true_up_without_the_option_nor_before_it(self):
        tariff = self._grid_tariff(month_end_true_up=False)
        self.account.electricity_tariff_id = tariff
        with freeze_time("2026-04-02"):
            self.ingest((0, 0), (1, 10), (32, 10), (33, 20))
            self.Rating._rate_accounts(self.account)
            self.assertAlmostEqual(self.charges(), -23.0)
            self.assertFalse(self.month_end_lines())
            # Switched on in April: March keeps its real-time charges.
            tariff.month_end_true_up = True
            self.assertEqual(tariff.month_end_true_up_from, date(2026, 4, 1))
            self.assertFalse(self.Rating._get_work(self.account))
            self.Rating._rate_accounts(self.account)
            self.assertFalse(self.month_end_lines())
