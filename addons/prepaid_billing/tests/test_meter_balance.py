from datetime import date, datetime, timedelta

from freezegun import freeze_time

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from .test_topup import PrepaidTopupCommon

BASE = datetime(2026, 3, 2, 8, 0)


@tagged("post_install", "-at_install")
class TestMeterBalance(PrepaidTopupCommon):
    """Meters that keep their balance report it; the platform mirrors and reconciles it."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env.company.prepaid_meter_balance_tolerance = 1.0
        cls.meter = cls._create_meter(initial_reading=0)  # DDSY1352: keeps a balance
        cls.meter_account = cls._create_account(
            meters=cls.meter,
            billing_mode="prepaid_meter",
            electricity_tariff_id=cls.flat_tariff.id,  # 0.50 per kWh
        )
        cls.meter_account.action_open()

    def _read(self, hours, total, remaining):
        return self.env["prepaid.reading"]._ingest(
            [
                {
                    "meter_id": self.meter.id,
                    "read_at": BASE + timedelta(hours=hours),
                    "total": total,
                    "remaining_amount": remaining,
                }
            ]
        )

    def _sell_delivered(self, hours, amount):
        with freeze_time(BASE + timedelta(hours=hours)):
            topup = self._sell(self.meter_account, amount)
            self.assertEqual(topup.state, "paid")  # stays to deliver until the meter confirms
            topup.with_user(self.operator_user).action_mark_delivered()
        return topup

    def test_balances_are_mirrored_and_reconciled(self):
        summary = self._read(0, 100.0, 20.0)
        self.assertEqual(summary["balances"], 1)
        first = self.meter.meter_balance_ids
        self.assertRecordValues(first, [{"state": "first", "remaining_amount": 20.0}])
        self.assertEqual((self.meter.meter_balance, self.meter.meter_balance_at), (20.0, BASE))
        self._sell_delivered(1, 100.0)
        # 10 kWh at 0.50 since: 20 + 100 - 5 = 115, as the meter says.
        self._read(2, 110.0, 115.0)
        balance = self.meter.meter_balance_ids.sorted("read_at")[-1]
        self.assertRecordValues(
            balance,
            [
                {
                    "previous_id": first.id,
                    "credit_amount": 100.0,
                    "consumption_amount": 5.0,
                    "expected_amount": 115.0,
                    "difference": 0.0,
                    "state": "ok",
                }
            ],
        )
        self.assertFalse(self.meter.meter_balance_mismatch)
        self.assertFalse(self.meter_account.activity_ids)
        # The wallet mirrors the meter: the consumption is posted once, from the balance.
        line = self.meter_account.ledger_line_ids.filtered(lambda line: line.kind == "consumption")
        self.assertRecordValues(
            line,
            [
                {
                    "amount": -5.0,
                    "res_model": "prepaid.meter.balance",
                    "res_id": balance.id,
                    "utility": "electricity",
                }
            ],
        )
        self.assertEqual(self.meter_account.balance, 95.0)  # 100.00 sold - 5.00
        self._read(2, 110.0, 115.0)  # replayed
        self.assertEqual(self.meter_account.balance, 95.0)  # 100.00 sold - 5.00
        # Within the tolerance (1.00): still as expected.
        self._read(3, 112.0, 113.5)
        self.assertEqual(self.meter.meter_balance_ids.sorted("read_at")[-1].state, "ok")

    def test_a_difference_beyond_the_tolerance_is_flagged_with_both_figures(self):
        self._read(0, 100.0, 50.0)
        # 20 kWh (10.00) consumed: 40.00 expected, the meter says 25.00.
        self._read(2, 120.0, 25.0)
        balance = self.meter.meter_balance_ids.sorted("read_at")[-1]
        self.assertRecordValues(
            balance, [{"expected_amount": 40.0, "difference": -15.0, "state": "mismatch"}]
        )
        self.assertTrue(self.meter.meter_balance_mismatch)
        self.assertTrue(self.meter_account.meter_balance_mismatch)
        self.assertEqual(self.meter_account.meter_balance, 25.0)
        self.assertEqual(
            self.meter_account.action_view_meter_balances()["domain"],
            [("meter_id", "in", self.meter.ids)],
        )
        activity = self.meter_account.activity_ids
        self.assertEqual(activity.summary, "Meter balance differs from the expected")
        self.assertIn("25.00", activity.note)
        self.assertIn("40.00", activity.note)
        # A replayed reading records nothing more; the next reconciliation starts from what
        # the meter said (25.00) and clears the flag when it agrees.
        self._read(2, 120.0, 25.0)
        self.assertEqual(len(self.meter.meter_balance_ids), 2)
        self._read(4, 130.0, 20.0)
        self.assertEqual(self.meter.meter_balance_ids.sorted("read_at")[-1].state, "ok")
        self.assertFalse(self.meter.meter_balance_mismatch)
        self.assertEqual(len(self.meter_account.activity_ids), 1)

    def test_refunds_take_no_more_than_the_meter_has(self):
        self._sell_delivered(-1, 100.0)
        self._read(0, 100.0, 60.0)  # the meter used 40.00 of the 100.00 sold
        self.assertEqual(self.meter_account.balance, 100.0)
        self.assertEqual(self.meter_account.meter_balance, 60.0)
        refund = self.env["prepaid.refund"].with_user(self.operator_user)
        values = {"account_id": self.meter_account.id, "reason": "Moving out"}
        with self.assertRaisesRegex(UserError, "60.00 to refund"):
            refund.create({**values, "amount": 70.0}).action_submit()
        with freeze_time(BASE + timedelta(hours=1)):
            withdrawal = refund.create({**values, "amount": 30.0})
            withdrawal.action_submit()
            withdrawal.action_confirm_withdrawal()
        self.assertEqual(withdrawal.state, "paid")
        # The withdrawal counts as negative credit: 60 - 30 - 2.50 (5 kWh) = 27.50.
        self._read(2, 105.0, 27.5)
        self.assertRecordValues(
            self.meter.meter_balance_ids.sorted("read_at")[-1],
            [{"credit_amount": -30.0, "expected_amount": 27.5, "state": "ok"}],
        )

    def test_tiers_continue_from_the_previous_balance(self):
        # 0.50 up to 100 kWh in the month, 0.80 above (as the meter rates it).
        self.meter_account.electricity_tariff_id = self._create_tariff(
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
        self.meter.max_load = 1000
        # The month starts at 0 kWh: 60 kWh before the first balance.
        self.env["prepaid.reading"]._ingest([(self.meter.id, datetime(2026, 3, 1, 0, 0), 0.0)])
        self._read(0, 60.0, 200.0)
        self.assertRecordValues(
            self.meter.meter_balance_ids, [{"cycle_quantity": 60.0, "cycle_exact_amount": 30.0}]
        )
        # 60 kWh more: 40 at 0.50 + 20 at 0.80 = 36.00 (from 0: it would be 30.00).
        self._read(2, 120.0, 164.0)
        self._read(4, 150.0, 140.0)  # 30 kWh at 0.80 = 24.00
        self.assertEqual(
            self.meter.meter_balance_ids.sorted("read_at").mapped("consumption_amount"),
            [0.0, 36.0, 24.0],
        )
        self.assertEqual(
            self.meter.meter_balance_ids.sorted("read_at").mapped("state"), ["first", "ok", "ok"]
        )
        # The next month starts again from the first step (an interval counts in the month
        # it ends in, as the platform rates it).
        self._read(24 * 30, 250.0, 90.0)  # 2026-04-01 08:00: 100 kWh = 50.00
        last = self.meter.meter_balance_ids.sorted("read_at")[-1]
        self.assertRecordValues(
            last,
            [
                {
                    "consumption_amount": 50.0,
                    "state": "ok",
                    "cycle_start": date(2026, 4, 1),
                    "cycle_quantity": 100.0,
                }
            ],
        )

    def test_credit_written_stays_to_deliver_until_the_meter_confirms(self):
        topup = self._sell(self.meter_account, 10.0)
        self.assertEqual(topup.state, "paid")
        topup._on_credit_written()  # the gateway's credit command succeeded
        delivered_at = topup.delivered_at
        self.assertEqual(topup.state, "delivered")
        topup._on_credit_written()  # replayed
        topup.with_user(self.operator_user).action_mark_delivered()  # and confirmed by hand
        self.assertEqual(topup.delivered_at, delivered_at)
        failed = self._sell(self.sts_account, 5.0)
        failed.sudo().state = "failed"
        with self.assertRaisesRegex(UserError, "Delivery Failed"):
            failed.with_user(self.operator_user).action_mark_delivered()

    def test_balances_of_platform_accounts_are_only_mirrored(self):
        meter = self.account.meter_ids
        rows = [
            {"meter_id": meter.id, "read_at": BASE, "total": 1.0, "remaining_amount": 9.0},
            {"meter_id": meter.id, "read_at": BASE + timedelta(hours=1), "total": 2.0},
            {
                "meter_id": meter.id,
                "read_at": BASE + timedelta(hours=2),
                "total": 3.0,
                "remaining_amount": "bad",
            },
            {
                "meter_id": meter.id,
                "read_at": BASE + timedelta(hours=3),
                "total": 4.0,
                "remaining_amount": 1.0,
            },
        ]
        summary = self.env["prepaid.reading"]._ingest(rows)
        self.assertEqual((summary["inserted"], summary["balances"]), (4, 2))
        self.assertEqual(meter.meter_balance_ids.mapped("state"), ["unchecked", "first"])
        self.assertFalse(meter.meter_balance_mismatch)

    def test_balances_are_facts(self):
        self._read(0, 100.0, 20.0)
        balance = self.meter.meter_balance_ids
        for user in (self.operator_user, self.manager_user):
            with self.assertRaises(AccessError):
                balance.with_user(user).write({"remaining_amount": 1000.0})
            with self.assertRaises(AccessError):
                self.meter.with_user(user).write({"meter_balance": 1000.0})
