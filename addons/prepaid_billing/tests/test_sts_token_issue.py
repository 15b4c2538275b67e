import uuid
from datetime import datetime
from decimal import Decimal
from unittest.mock import patch

from freezegun import freeze_time
from psycopg2 import IntegrityError
from psycopg2.errors import LockNotAvailable, SerializationFailure

from odoo import SUPERUSER_ID, api
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged
from odoo.tools import mute_logger

from odoo.addons.prepaid_billing import sts

from .common import PrepaidStsCommon


@tagged("post_install", "-at_install")
class TestStsTokenIssue(PrepaidStsCommon):
    """Tokens issued in Odoo decode with the pure meter-side decoder, and are logged."""

    @freeze_time("2025-03-01 10:15:42")
    def test_credit_sta(self):
        meter = self._create_sts_meter(key=self.key_sta)
        token = meter._sts_issue_credit(Decimal("25.6"), origin="SALE/0001", free_reason="Test")
        self.assertEqual(len(token), 1)
        decoded = self._meter_decoder(meter).enter(token.digits)
        self.assertIsInstance(decoded, sts.CreditToken)
        self.assertEqual(decoded.subclass, sts.CreditType.ELECTRICITY)
        self.assertEqual(decoded.amount, Decimal("25.6"))
        expected_tid = sts.tid_for(datetime(2025, 3, 1, 10, 15), 2014)
        self.assertEqual(decoded.tid, expected_tid)
        self.assertRecordValues(
            token,
            [
                {
                    "meter_id": meter.id,
                    "token_class": "0",
                    "subclass": 0,
                    "token_type": "credit_electricity",
                    "tid": expected_tid,
                    "tid_datetime": datetime(2025, 3, 1, 10, 15),
                    "base_date": "2014",
                    "amount": 25.6,
                    "unit": "kWh",
                    "origin": "SALE/0001",
                    "issued_by_id": self.env.uid,
                    "issued_at": datetime(2025, 3, 1, 10, 15, 42),
                    "state": "issued",
                    "sgc": "123456",
                    "krn": 1,
                }
            ],
        )
        self.assertEqual(token.token_grouped, sts.group(token.digits))
        self.assertEqual(token.value_display, "25.6 kWh")
        self.assertRegex(token.token_grouped, r"^\d{4}( \d{4}){4}$")

    @freeze_time("2025-03-01 10:15:42")
    def test_credit_misty1_water(self):
        meter = self._create_sts_meter(key=self.key_misty, utility="water")
        self.assertEqual(meter._sts_key_params().ea, sts.EA.MISTY1)
        token = meter._sts_issue_credit(12.3, free_reason="Test")
        decoded = self._meter_decoder(meter).enter(token.digits)
        self.assertEqual(decoded.subclass, sts.CreditType.WATER)
        self.assertEqual(decoded.amount, Decimal("12.3"))
        self.assertEqual((token.token_type, token.unit), ("credit_water", "m³"))

    def test_credit_sta_with_dkga04(self):
        meter = self._create_sts_meter(key=self.key_misty, sts_ea="sta")
        token = meter._sts_issue_credit(1, free_reason="Test")
        self.assertEqual(self._meter_decoder(meter).enter(token.digits).amount, Decimal("1.0"))

    def test_credit_rounds_up(self):
        meter = self._create_sts_meter()
        token = meter._sts_issue_credit(2000, free_reason="Test")
        self.assertEqual(token.amount, 2000.4)  # 0x416A: the customer never gets less
        self.assertEqual(self._meter_decoder(meter).enter(token.digits).amount, Decimal("2000.4"))
        for amount in (0, -5, 2_000_000):
            with self.assertRaises(UserError):
                meter._sts_issue_credit(amount, free_reason="Test")

    def test_tids_unique_in_the_same_minute(self):
        meters = self._create_sts_meter() | self._create_sts_meter(key=self.key_misty)
        with freeze_time("2025-03-01 10:15:05"):
            first = meters._sts_issue_credit(1, free_reason="Test")
        with freeze_time("2025-03-01 10:15:35"):
            second = meters[0]._sts_issue_credit(2, free_reason="Test")
            third = meters[0]._sts_issue_credit(3, free_reason="Test")
        minute = sts.tid_for(datetime(2025, 3, 1, 10, 15), 2014)
        # Each meter has its own TIDs: both start at the current minute.
        self.assertEqual(first.mapped("tid"), [minute, minute])
        self.assertEqual((second.tid, third.tid), (minute + 1, minute + 2))
        decoder = self._meter_decoder(meters[0])
        for token in first.filtered(lambda t: t.meter_id == meters[0]) | second | third:
            decoder.enter(token.digits)  # all accepted, in order
        # A clock set back does not reuse TIDs either.
        with freeze_time("2025-03-01 09:00:00"):
            self.assertEqual(meters[0]._sts_issue_credit(4, free_reason="Test").tid, minute + 3)

    def test_tid_unique_in_database(self):
        token = self._create_sts_meter()._sts_issue_credit(1, free_reason="Test")
        vals = token.copy_data()[0]
        vals.update(digits="1" * 20, tid=token.tid, issued_by_id=self.env.uid)
        with mute_logger("odoo.sql_db"), self.assertRaises(IntegrityError), self.cr.savepoint():
            self.env["prepaid.sts.token"].create(vals)

    # === CONCURRENCY: two real transactions on committed data === #

    def _committed_meter(self):
        """The id of a meter committed in its own transaction (deleted after the test): the
        concurrency tests need rows that two real transactions both see."""
        with self.registry.cursor() as cr:
            cr.execute("SET LOCAL lock_timeout = '10s'")
            env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
            meter = env["prepaid.meter"].create(
                {
                    "serial_number": f"TEST-CONCURRENT-{uuid.uuid4().hex[:12]}",
                    "name": "Concurrency test meter",
                    # A model of the catalogue: the test's own records are not committed.
                    "model_id": env.ref("prepaid_meter.prepaid_meter_model_acrel_ddsy1352").id,
                }
            )
            meter_id = meter.id
        self.addCleanup(self._delete_committed_meter, meter_id)
        return meter_id

    def _delete_committed_meter(self, meter_id):
        with self.registry.cursor() as cr:
            cr.execute("SET LOCAL lock_timeout = '10s'")
            api.Environment(cr, SUPERUSER_ID, {})["prepaid.meter"].browse(meter_id).unlink()

    def _two_transactions(self):
        """Two cursors in REPEATABLE READ (as Odoo runs requests) that give up after a second
        instead of waiting for each other."""
        cr_a, cr_b = self.registry.cursor(), self.registry.cursor()
        for cr in (cr_a, cr_b):
            self.addCleanup(cr.close)
            cr.execute("SET LOCAL lock_timeout = '1s'")
        return cr_a, cr_b

    def _lock(self, cr, meter_id):
        env = api.Environment(cr, SUPERUSER_ID, {})
        env["prepaid.sts.vending"]._lock_meters(env["prepaid.meter"].browse(meter_id))

    def test_concurrent_issuer_is_retried_not_given_a_used_tid(self):
        """Two requests issuing for one meter: the second one's snapshot predates the first
        one's commit, so it could not see the first one's TIDs. The TID lock must make it
        fail with a serialization failure (which Odoo retries with a fresh snapshot), not let
        it through to allocate a TID already used; while the first one runs, the second one
        waits. The very first issue for a meter (which creates its lock row) is no exception."""
        meter_id = self._committed_meter()
        for round_ in ("first issue", "later issue"):
            with self.subTest(round_):
                cr_a, cr_b = self._two_transactions()
                cr_b.execute("SELECT 1")  # B's snapshot (SET takes none), before A commits
                self._lock(cr_a, meter_id)
                # While A holds the lock, B waits (here: gives up after lock_timeout).
                with self.assertRaises(LockNotAvailable), mute_logger("odoo.sql_db"):
                    self._lock(cr_b, meter_id)
                cr_b.rollback()
                cr_b.execute("SET LOCAL lock_timeout = '1s'")
                cr_b.execute("SELECT 1")  # a snapshot from before A's commit again
                cr_a.commit()
                with self.assertRaises(SerializationFailure), mute_logger("odoo.sql_db"):
                    self._lock(cr_b, meter_id)
                cr_b.rollback()
                # Retried with a fresh snapshot, B gets the lock.
                self._lock(cr_b, meter_id)
                cr_b.commit()

    def test_issuing_does_not_contend_with_updates_of_the_meter(self):
        """Reading ingestion, polling and users update the meter's row; a token sale takes
        its lock elsewhere: neither waits for the other, and an update committed during the
        sale does not make the sale fail (before, a batch of 50k readings updating the meter
        could abort a sale with a serialization failure, or the other way round)."""
        meter_id = self._committed_meter()
        update = "UPDATE prepaid_meter SET write_date = now() AT TIME ZONE 'UTC' WHERE id = %s"
        # The meter is updated and committed during the sale, after the sale's snapshot.
        cr_sale, cr_update = self._two_transactions()
        cr_sale.execute("SELECT 1")
        cr_update.execute(update, [meter_id])
        cr_update.commit()
        self._lock(cr_sale, meter_id)  # no serialization failure
        # The sale holds its lock; the meter is updated without waiting.
        cr_update.execute("SET LOCAL lock_timeout = '1s'")
        cr_update.execute(update, [meter_id])
        cr_update.commit()
        cr_sale.commit()
        # The other way round: an uncommitted update of the meter does not hold up a sale.
        cr_update.execute("SET LOCAL lock_timeout = '1s'")
        cr_update.execute(update, [meter_id])
        cr_sale.execute("SET LOCAL lock_timeout = '1s'")
        self._lock(cr_sale, meter_id)
        cr_sale.commit()
        cr_update.commit()

    def test_management_tokens(self):
        meter = self._create_sts_meter()
        decoder = self._meter_decoder(meter)
        limit = meter._sts_issue_management("max_power_limit", 5000)
        decoded = decoder.enter(limit.digits)
        self.assertEqual(decoded.subclass, sts.Management.MAX_POWER_LIMIT)
        self.assertEqual(decoded.power_limit, 5000)
        self.assertEqual(
            (limit.token_class, limit.subclass, limit.value_display), ("2", 0, "5000 W")
        )
        clear = meter._sts_issue_management("clear_credit")
        self.assertEqual(decoder.enter(clear.digits).value, sts.ALL_REGISTERS)
        self.assertEqual(clear.value_display, "All registers")
        tamper = meter._sts_issue_management("clear_tamper")
        self.assertEqual(decoder.enter(tamper.digits).subclass, sts.Management.CLEAR_TAMPER)
        unbalance = meter._sts_issue_management("max_phase_unbalance", 1200)
        self.assertEqual(decoder.enter(unbalance.digits).power_limit, 1200)
        rate = meter._sts_issue_management("tariff_rate", 0x1234)
        self.assertEqual(decoder.enter(rate.digits).value, 0x1234)
        with self.assertRaisesRegex(UserError, "only for water meters"):
            meter._sts_issue_management("water_factor", 10)
        water = self._create_sts_meter(key=self.key_misty, utility="water")
        factor = water._sts_issue_management("water_factor", 10)
        self.assertEqual(self._meter_decoder(water).enter(factor.digits).value, 10)
        with self.assertRaisesRegex(UserError, "power limit"):
            meter._sts_issue_management("max_power_limit")
        with self.assertRaisesRegex(UserError, "Invalid management token value"):
            meter._sts_issue_management("clear_credit", "first")  # not a register number

    def test_key_change_rollover_1993_to_2014(self):
        """A meter still on the 1993 base date gets no token dated after 2024-11-24; a key
        change set with the roll-over bit moves it to 2014, and tokens work again."""
        new_key = self._create_vending_key("123456", 2, "02", "0123456789abcdef")
        meter = self._create_sts_meter(sts_base_date="1993", sts_kt="1")
        decoder = self._meter_decoder(meter)
        old_params = meter._sts_key_params()
        with freeze_time("2025-03-01 10:00:00"):
            with self.assertRaisesRegex(UserError, "roll-over"):
                meter._sts_issue_credit(5, free_reason="Test")
            tokens = meter.with_user(self.admin_user)._sts_issue_key_change(
                vending_key=new_key, key_type="2", rollover=True
            )
        self.assertEqual(tokens.mapped("token_type"), ["key_change_1", "key_change_2"])
        self.assertEqual(tokens.mapped("sequence"), [1, 2])
        self.assertEqual(len(set(tokens.mapped("batch_ref"))), 1)
        self.assertEqual(tokens.mapped("base_date"), ["1993", "1993"])
        self.assertFalse(any(tokens.mapped("tid")))
        self.assertIn("roll-over", tokens[0].description)
        for token in tokens:
            decoder.enter(token.digits)
        change = decoder.last_key_change
        self.assertTrue(change.ro)
        self.assertEqual((change.krn, change.kt), (2, 2))
        self.assertEqual(decoder.base_date, 2014)
        # The meter record has the new parameters, and its new key is the one the meter got.
        self.assertRecordValues(
            meter,
            [{"sts_base_date": "2014", "sts_krn": 2, "sts_kt": "2", "sts_sgc": "123456"}],
        )
        self.assertEqual(meter.sudo().sts_vending_key_id, new_key)
        new_params = meter._sts_key_params()
        self.assertEqual(
            decoder.decoder_key,
            sts.decoder_key(bytes.fromhex("0123456789abcdef"), new_params),
        )
        self.assertNotEqual(decoder.decoder_key, sts.decoder_key(b"\xab" * 8, old_params))
        with freeze_time("2025-03-01 10:01:00"):
            credit = meter._sts_issue_credit(5, free_reason="Test")
        self.assertEqual(credit.base_date, "2014")
        self.assertEqual(decoder.enter(credit.digits).amount, Decimal("5.0"))
        self.assertIn("key change set issued", meter.message_ids[0].body)

    def test_key_change_many_meters_misty1(self):
        meters = self._create_sts_meter(key=self.key_misty) | self._create_sts_meter(
            key=self.key_misty, sts_base_date="1993"
        )
        decoders = [self._meter_decoder(meter) for meter in meters]
        tokens = meters._sts_issue_key_change(rollover=True, tariff_index=5, key_expiry=0xF0)
        self.assertEqual(len(tokens), 8)  # KCT1..4 per meter: 128-bit keys
        for meter, decoder in zip(meters, decoders, strict=True):
            section = tokens.filtered(lambda t, m=meter: t.meter_id == m).sorted("sequence")
            self.assertEqual(
                section.mapped("token_type"),
                ["key_change_1", "key_change_2", "key_change_3", "key_change_4"],
            )
            for token in section:
                decoder.enter(token.digits)
            self.assertTrue(decoder.last_key_change.ro)
            self.assertEqual(decoder.last_key_change.sgc, 123457)
            self.assertEqual(decoder.ken, 0xF0)
        self.assertEqual(meters.mapped("sts_base_date"), ["2035", "2014"])
        self.assertEqual(meters.mapped("sts_ti"), [5, 5])
        self.assertEqual(meters.mapped("sts_ken"), [0xF0, 0xF0])
        # No base date after 2035.
        with self.assertRaisesRegex(UserError, "no base date"):
            meters[0]._sts_issue_key_change(rollover=True)

    @freeze_time("2025-03-01 10:15:42")
    def test_batch_issuing_does_not_query_per_meter(self):
        """Credit for many meters: the number of queries does not grow with the meters, and
        each vending key is decrypted once per request (also for key change sets)."""
        Key = self.env.registry["prepaid.sts.vending.key"]
        decrypt = Key._get_vending_key
        decrypted = []

        def counting(key):
            decrypted.append(key.id)
            return decrypt(key)

        def issue(count):
            meters = self.env["prepaid.meter"].concat(
                *(self._create_sts_meter() for _ in range(count))
            )
            self.env.invalidate_all()
            before = self.cr.sql_log_count
            meters._sts_issue_credit(1, free_reason="Test")
            return self.cr.sql_log_count - before

        with patch.object(Key, "_get_vending_key", counting):
            issue(1)  # warm the caches (groups, xml ids)
            self.assertEqual(issue(2), issue(6))
            self.assertEqual(decrypted, [self.key_sta.id] * 3)
            decrypted.clear()
            new_key = self._create_vending_key("123456", 2, "02", "0102030405060708")
            meters = self._create_sts_meter() | self._create_sts_meter()
            meters.with_user(self.admin_user)._sts_issue_key_change(vending_key=new_key)
            self.assertEqual(sorted(decrypted), sorted([self.key_sta.id, new_key.id]))

    def test_key_change_needs_a_change(self):
        meter = self._create_sts_meter()
        with self.assertRaisesRegex(UserError, "would change nothing"):
            meter._sts_issue_key_change()
        other_provider = self.env["prepaid.sts.provider"].create({"name": "Other"})
        foreign = self._create_vending_key("123456", 3, "02", provider_id=other_provider.id)
        with self.assertRaisesRegex(UserError, "same token provider"):
            meter._sts_issue_key_change(vending_key=foreign)

    def test_key_expiry(self):
        meter = self._create_sts_meter(sts_ken=0x10)
        with freeze_time("2025-03-01 10:00:00"), self.assertRaisesRegex(UserError, "expired"):
            meter._sts_issue_credit(5, free_reason="Test")

    def test_meter_not_ready(self):
        plain = self._create_meter()
        unkeyed = self._create_sts_meter(sts_vending_key_id=False)
        with self.assertRaisesRegex(UserError, "no STS keypad(.|\n)*no vending key"):
            (plain | unkeyed)._sts_issue_credit(5, free_reason="Test")
        removed = self._create_sts_meter()
        removed.action_remove()
        with self.assertRaisesRegex(UserError, "removed"):
            removed._sts_issue_credit(5, free_reason="Test")

    def test_tokens_are_immutable(self):
        token = self._create_sts_meter()._sts_issue_credit(5, free_reason="Test")
        with self.assertRaisesRegex(UserError, "cannot be changed"):
            token.amount = 500
        with self.assertRaisesRegex(UserError, "never deleted"):
            token.unlink()
        with self.assertRaisesRegex(UserError, "reason"):
            token._cancel("  ")
        with self.assertRaises(AccessError):
            token.with_user(self.manager_user)._cancel("mistake")
        with self.assertRaises(AccessError):
            token.with_user(self.manager_user).write({"state": "cancelled", "cancel_reason": "x"})
        wizard = (
            self.env["prepaid.sts.token.cancel"]
            .with_user(self.admin_user)
            .create({"token_ids": [(6, 0, token.ids)], "reason": "Sold twice"})
        )
        wizard.action_confirm()
        self.assertRecordValues(
            token,
            [
                {
                    "state": "cancelled",
                    "cancel_reason": "Sold twice",
                    "cancelled_by_id": self.admin_user.id,
                }
            ],
        )
        with self.assertRaisesRegex(UserError, "already cancelled"):
            token._cancel("again")
        with self.assertRaises(UserError):
            token.write({"state": "issued"})
        # A cancelled token keeps its TID: the next token of the meter gets a later one.
        self.assertGreater(token.meter_id._sts_issue_credit(1, free_reason="Test").tid, token.tid)

    def test_issue_wizard(self):
        meters = self._create_sts_meter() | self._create_sts_meter()
        wizard = (
            self.env["prepaid.sts.token.issue"]
            .with_context(active_model="prepaid.meter", active_ids=meters.ids)
            .create(
                {"token_kind": "credit", "amount": 10, "origin": "POS/42", "free_reason": "Test"}
            )
        )
        self.assertEqual(wizard.meter_ids, meters)
        self.assertEqual(wizard.unit, "kWh")
        action = wizard.action_issue()
        tokens = self.env["prepaid.sts.token"].search(action["domain"])
        self.assertEqual(tokens.meter_id, meters)
        self.assertEqual(set(tokens.mapped("origin")), {"POS/42"})
        self.assertEqual(set(tokens.mapped("free_issue_reason")), {"Test"})
        # Credit needs one utility: kWh and m3 do not mix.
        water = self._create_sts_meter(key=self.key_misty, utility="water")
        wizard = self.env["prepaid.sts.token.issue"].create(
            {"meter_ids": [(6, 0, (meters | water).ids)], "amount": 1}
        )
        with self.assertRaisesRegex(UserError, "one utility"):
            wizard.action_issue()
        # Management and key change from the wizard.
        wizard = self.env["prepaid.sts.token.issue"].create(
            {
                "meter_ids": [(6, 0, meters[0].ids)],
                "token_kind": "management",
                "management_type": "clear_credit",
                "clear_all_registers": False,
                "register": 0,
            }
        )
        action = wizard.action_issue()
        self.assertEqual(self.env["prepaid.sts.token"].browse(action["res_id"]).data_value, 0)
        wizard = self.env["prepaid.sts.token.issue"].create(
            {
                "meter_ids": [(6, 0, meters.ids)],
                "token_kind": "key_change",
                "change_tariff_index": True,
                "new_tariff_index": 2,
            }
        )
        action = wizard.action_issue()
        self.assertEqual(len(self.env["prepaid.sts.token"].search(action["domain"])), 4)
        self.assertEqual(meters.mapped("sts_ti"), [2, 2])
