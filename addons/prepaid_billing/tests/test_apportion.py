"""Common-area apportionment: shares that add up to the pool to the cent, each with its
method, pool and basis; bulk meters less sub-meters; usage, ratio, area and equal sharing;
vacant rooms (left out, to the landlord, at a share) re-split by day; wallet or bill;
idempotent months, flagged bad data, the scheduled action, and access through the external API."""

from datetime import date, datetime

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import HttpCase, tagged

from odoo.addons.prepaid_meter.tests.common import PrepaidAccessTestMixin

from .test_fee import PrepaidFeeCommon

MARCH = date(2026, 3, 15)


class PrepaidApportionCommon(PrepaidFeeCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.room2 = cls._create_room("Test Room 102", floor_area=30.0)
        cls.room3 = cls._create_room("Test Room 103", floor_area=24.5)
        cls.account2 = cls._create_open_account(room=cls.room2)
        cls.account3 = cls._create_open_account(room=cls.room3)
        cls.tenants = cls.account | cls.account2 | cls.account3
        for account in cls.tenants:
            account.sudo().date_open = date(2025, 1, 1)
            account.meter_ids.write({"initial_reading": 0, "max_load": 100000})
            cls._post(account, "topup", 1000.0, f"start-{account.id}")
        corridor = cls._create_room("Corridor")
        cls.common_meter = cls._create_meter(
            room=corridor, model=cls.model_manual, initial_reading=0, max_load=100000
        )
        cls.landlord = cls._create_open_account(room=corridor)
        cls.landlord.sudo().date_open = date(2025, 1, 1)
        cls._post(cls.landlord, "topup", 1000.0, "landlord-start")

    @classmethod
    def _create_pool(cls, **values):
        return cls.env["prepaid.apportion.pool"].create(
            {
                "name": "Test corridors",
                "meter_id": cls.common_meter.id,
                "unit_price": 1.2345,
                "method": "area",
                "date_from": date(2025, 1, 1),
                "member_ids": [
                    Command.create({"room_id": room.id})
                    for room in (cls.room, cls.room2, cls.room3)
                ],
                **values,
            }
        )

    def read_meter(self, meter, *points):
        """Readings of ``meter`` at ``(datetime, register)``."""
        return self.env["prepaid.reading"]._ingest(
            [(meter.id, when, total) for when, total in points], "gateway"
        )

    def share(self, pool, day=MARCH):
        pool.action_apportion(day)
        return pool.run_ids.filtered(lambda r: r.period_key == f"{day:%Y-%m}")

    def amounts(self, run):
        return {share.account_id: share.amount for share in run.share_ids}


@tagged("post_install", "-at_install")
class TestApportion(PrepaidApportionCommon):
    def test_by_area_to_the_cent_with_method_pool_and_basis(self):
        self.read_meter(
            self.common_meter, (datetime(2026, 3, 1), 0), (datetime(2026, 3, 31, 12), 100)
        )
        pool = self._create_pool()
        run = self.share(pool)
        self.assertRecordValues(
            run, [{"quantity": 100.0, "amount": 123.45, "method": "area", "state": "done"}]
        )
        # 45.5 / 30 / 24.5 m2: 56.16975, 37.035, 30.24525: the two cents left go to the
        # largest remainders (room 101, then room 103).
        self.assertEqual(
            self.amounts(run),
            {self.account: 56.17, self.account2: 37.03, self.account3: 30.25},
        )
        self.assertAlmostEqual(sum(run.share_ids.mapped("amount")), 123.45, places=6)
        share = run.share_ids.filtered(lambda s: s.account_id == self.account)
        self.assertRecordValues(
            share,
            [
                {
                    "method": "area",
                    "pool_amount": 123.45,
                    "basis": 45.5,
                    "basis_total": 100.0,
                    "wallet_amount": 56.17,
                    "state": "paid",
                }
            ],
        )
        self.assertIn("45.5 m²", share.basis_note)
        self.assertIn("31/31 days", share.basis_note)
        self.assertEqual(share.ledger_line_id.idempotency_key, f"apportion:{pool.id}:2026-03")
        self.assertEqual(self.account.balance, 1000.0 - 56.17)
        # The month again: nothing new.
        self.share(pool)
        self.assertEqual(len(pool.run_ids), 1)
        fee_lines = self.account.ledger_line_ids.filtered(lambda line: line.kind == "fee")
        self.assertEqual(len(fee_lines), 1)
        self.assertFalse(self.tenants._check_ledger_balances())

    def test_a_bulk_meter_less_its_sub_meters_by_usage(self):
        bulk = self._create_meter(
            room=self.common_meter.room_id,
            model=self.model_manual,
            initial_reading=0,
            max_load=100000,
        )
        meter1, meter2 = self.account.meter_ids, self.account2.meter_ids
        self.read_meter(bulk, (datetime(2026, 3, 31), 300))
        self.read_meter(meter1, (datetime(2026, 3, 31), 100))
        self.read_meter(meter2, (datetime(2026, 3, 31), 50))
        pool = self._create_pool(
            source="bulk",
            meter_id=bulk.id,
            sub_meter_ids=[Command.set((meter1 | meter2).ids)],
            method="usage",
            unit_price=1.0,
        )
        run = self.share(pool)
        self.assertRecordValues(
            run, [{"meter_quantity": 300.0, "sub_quantity": 150.0, "amount": 150.0}]
        )
        # Room 103 used nothing: no share.
        self.assertEqual(self.amounts(run), {self.account: 100.0, self.account2: 50.0})
        self.assertIn(
            "100", run.share_ids.filtered(lambda s: s.account_id == self.account).basis_note
        )

    def test_a_room_vacant_from_the_10th_re_splits_from_that_day(self):
        self.read_meter(self.common_meter, (datetime(2026, 3, 31), 100))
        self.account3.sudo().write({"state": "closed", "date_closed": date(2026, 3, 10)})
        # Equally: 1, 1, 10/31 (let) and 21/31 vacant.
        left_out = self.share(self._create_pool(method="equal", unit_price=1.0))
        self.assertEqual(
            self.amounts(left_out),
            {self.account: 43.06, self.account2: 43.05, self.account3: 13.89},
        )
        to_landlord = self.share(
            self._create_pool(
                name="Lifts",
                method="equal",
                unit_price=1.0,
                vacant_policy="landlord",
                landlord_account_id=self.landlord.id,
            )
        )
        self.assertEqual(
            self.amounts(to_landlord),
            {self.account: 33.34, self.account2: 33.33, self.account3: 10.75, self.landlord: 22.58},
        )
        vacant = to_landlord.share_ids.filtered("vacant")
        self.assertEqual(vacant.account_id, self.landlord)
        self.assertIn("vacant", vacant.basis_note)
        # The closed account cannot pay from its wallet: left to bill.
        closed = to_landlord.share_ids.filtered(lambda s: s.account_id == self.account3)
        self.assertRecordValues(closed, [{"wallet_amount": 0.0, "residual": 10.75}])
        at_half = self.share(
            self._create_pool(
                name="Lobby",
                method="ratio",
                unit_price=1.0,
                vacant_policy="share",
                vacant_share=50.0,
                landlord_account_id=self.landlord.id,
            )
        )
        self.assertAlmostEqual(sum(at_half.share_ids.mapped("amount")), 100.0, places=6)
        self.assertEqual(at_half.share_ids.filtered("vacant").amount, 12.73)

    def test_billed_pools_and_the_cutoff_threshold(self):
        self.read_meter(self.common_meter, (datetime(2026, 3, 31), 100))
        self._post(self.account, "consumption", -980.0, "spent", utility="electricity")
        self.account.cutoff_threshold = 0.0
        run = self.share(self._create_pool(unit_price=1.0))
        share = run.share_ids.filtered(lambda s: s.account_id == self.account)
        self.assertRecordValues(
            share, [{"amount": 45.5, "wallet_amount": 20.0, "billed_amount": 25.5, "state": "open"}]
        )
        self.assertEqual(self.account.balance, 0.0)
        self.assertEqual(self.account.cutoff_state, "supplied")
        billed = self.share(self._create_pool(name="Billed", unit_price=1.0, charge_mode="bill"))
        self.assertFalse(billed.share_ids.ledger_line_id)
        self.assertEqual(sum(billed.share_ids.mapped("residual")), 100.0)

    def test_bad_readings_are_flagged_then_shared_again(self):
        bulk = self._create_meter(
            room=self.common_meter.room_id,
            model=self.model_manual,
            initial_reading=0,
            max_load=100000,
        )
        self.read_meter(bulk, (datetime(2026, 3, 31), 10))
        self.read_meter(self.account.meter_ids, (datetime(2026, 3, 31), 50))
        pool = self._create_pool(
            source="bulk", meter_id=bulk.id, sub_meter_ids=[Command.set(self.account.meter_ids.ids)]
        )
        run = self.share(pool)
        self.assertRecordValues(run, [{"state": "flagged", "quantity": -40.0}])
        self.assertIn("sub-meters used more", run.note)
        self.assertFalse(run.share_ids)
        self.read_meter(bulk, (datetime(2026, 3, 31, 12), 70))  # the missing reading arrives
        again = self.share(pool)
        self.assertRecordValues(again, [{"state": "done", "quantity": 20.0, "amount": 24.69}])
        self.assertFalse(run.exists())
        with self.assertRaises(UserError):
            again.share_ids[0].sudo().unlink()

    def test_the_scheduled_action_shares_last_month_once(self):
        self.read_meter(self.common_meter, (datetime(2026, 3, 31), 100))
        pool = self._create_pool()
        Pool = self.env["prepaid.apportion.pool"]
        Pool._cron_apportion(today=date(2026, 4, 2))
        Pool._cron_apportion(today=date(2026, 4, 3))
        self.assertEqual(pool.run_ids.mapped("period_key"), ["2026-03"])
        self.assertAlmostEqual(sum(pool.run_ids.share_ids.mapped("amount")), 123.45, places=6)


@tagged("post_install", "-at_install")
class TestApportionAccess(PrepaidAccessTestMixin, PrepaidApportionCommon, HttpCase):
    def test_managers_write_pools_operators_read(self):
        self.read_meter(self.common_meter, (datetime(2026, 3, 31), 100))
        pool = self._create_pool()
        with self.assertRaises(AccessError):
            self.env["prepaid.apportion.pool"].with_user(self.operator_user).create(
                {"name": "Forged", "meter_id": self.common_meter.id, "unit_price": 1.0}
            )
        self.assertRefused(self.operator_user, pool, "write", ({"unit_price": 9.0},), "not allowed")
        self.assertRefused(
            self.operator_user, pool, "action_apportion", ("2026-03-01",), "group .*Manager"
        )
        result = self.rpc(
            self.manager_user, "prepaid.apportion.pool", "action_apportion", [pool.id], "2026-03-01"
        )
        self.assertIn("1 pool(s) shared", result["params"]["message"])
        shares = pool.run_ids.share_ids
        self.assertEqual(
            sorted(
                self.rpc(
                    self.operator_user,
                    "prepaid.apportion.share",
                    "search",
                    [("pool_id", "=", pool.id)],
                )
            ),
            sorted(shares.ids),
        )
        for user in (self.operator_user, self.manager_user):
            self.assertRefused(user, shares[:1], "write", ({"amount": 0.0},), "kept by the system")
        self.assertRpcRefused(
            self.manager_user, shares[:1], "_take_from_wallets", (), "cannot be called remotely"
        )
