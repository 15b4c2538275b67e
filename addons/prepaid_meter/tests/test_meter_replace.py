from contextlib import contextmanager
from datetime import timedelta

from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, tagged

from .test_reading_ingestion import T0, ReadingCommon


@tagged("post_install", "-at_install")
class TestMeterReplace(ReadingCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.account = cls._create_account()
        cls.old = cls._new_meter(
            "RT-OLD",
            room=cls.room,
            account_id=cls.account.id,
            ct_ratio=2.0,
            # Plausible for the tests' readings (50 register units x 2 in an hour): an
            # implausible one would be held for review and count nothing.
            max_load=500.0,
        )
        cls.old.action_activate()

    def _replace(self, **values):
        form = Form(
            self.env["prepaid.meter.replace"].with_context(default_old_meter_id=self.old.id)
        )
        for name, value in values.items():
            setattr(form, name, value)
        return form.save().action_replace()

    @contextmanager
    def _assert_refused(self, regex):
        """``assertRaisesRegex`` inside a savepoint (Odoo's ``assertRaises`` rolls back the
        readings stored before the error; the unittest one would leave them)."""
        with self.assertRaises(UserError) as capture:
            yield capture
        self.assertRegex(str(capture.exception), regex)

    def _consumption(self, meters, start, end):
        readings = self.Reading.search(
            [("meter_id", "in", meters.ids), ("read_at", ">", start), ("read_at", "<=", end)]
        )
        return sum(readings.mapped("consumption"))

    def test_final_value_starts_from_the_last_reading(self):
        self.Reading._ingest(self._rows(self.old, [100.0, 150.0]))
        form = Form(
            self.env["prepaid.meter.replace"].with_context(default_old_meter_id=self.old.id)
        )
        # The first click works: the final value is the last register, not 0.
        self.assertEqual(form.final_total, 150.0)
        self.assertEqual(form.unit_label, "kWh")

    def test_consumption_is_continuous_across_the_swap(self):
        # Old meter: 100 then 150 (x2), taken off at 170.
        self.Reading._ingest(self._rows(self.old, [100.0, 150.0]))
        swap = T0 + timedelta(hours=2)
        action = self._replace(
            replaced_at=swap,
            final_total=170.0,
            new_serial_number="RT-NEW",
            new_initial_reading=5.0,
        )
        new = self.env["prepaid.meter"].browse(action["res_id"])
        self.assertEqual(new.serial_number, "RT-NEW")
        self.assertEqual(new.model_id, self.old.model_id)
        self.assertEqual(new.room_id, self.room)
        self.assertEqual(new.account_id, self.account)
        self.assertEqual(new.utility, "electricity")
        self.assertEqual(new.multiplier, 2.0)
        self.assertEqual(new.max_load, 500.0)
        self.assertEqual(new.state, "active")
        self.assertEqual(new.replaced_meter_id, self.old)
        self.assertEqual(self.old.replacement_meter_id, new)
        self.assertEqual(self.old.state, "removed")
        self.assertEqual(self.old.final_reading, 170.0)
        self.assertEqual(self.old.final_reading_at, swap)
        self.assertTrue(self.old.removal_date)

        # New meter: 25 one hour after the swap.
        self.Reading._ingest(self._rows(new, [25.0], start=swap + timedelta(hours=1)))
        first_new = self._readings(new)[0]
        self.assertEqual((first_new.quality, first_new.consumption), ("first", 0.0))
        # Over (T0, swap + 1h]: (old final - old previous) + (new reading - new initial).
        total = self._consumption(self.old | new, T0, swap + timedelta(hours=1))
        self.assertEqual(total, ((170.0 - 100.0) + (25.0 - 5.0)) * 2.0)

        # A late reading of the old meter after its removal is flagged and not counted.
        summary = self.Reading._ingest(
            self._rows(self.old, [180.0], start=swap + timedelta(hours=1))
        )
        self.assertEqual(summary["flagged_rows"][0][2], "removed")
        self.assertEqual(self._consumption(self.old | new, T0, swap + timedelta(hours=1)), 180.0)

    def test_replace_with_a_meter_in_stock(self):
        self.Reading._ingest(self._rows(self.old, [10.0]))
        stock = self._new_meter("RT-STOCK", initial_reading=3.0)
        swap = T0 + timedelta(hours=1)
        self._replace(
            replaced_at=swap, final_total=12.0, new_meter_mode="existing", new_meter_id=stock
        )
        self.assertEqual(stock.replaced_meter_id, self.old)
        self.assertEqual(stock.room_id, self.room)
        self.assertEqual(stock.initial_reading, 3.0)
        self.Reading._ingest(self._rows(stock, [4.5], start=swap + timedelta(hours=1)))
        self.assertEqual(self._readings(stock).mapped("consumption"), [0.0, 1.5])

    def test_replacement_must_follow_the_last_reading(self):
        self.Reading._ingest(self._rows(self.old, [10.0, 11.0]))
        with self.assertRaises(UserError):
            self._replace(replaced_at=T0, final_total=12.0, new_serial_number="RT-EARLY")
        stock = self._new_meter("RT-USED")
        self.Reading._ingest(self._rows(stock, [1.0]))
        with self.assertRaises(UserError):
            self._replace(
                replaced_at=T0 + timedelta(hours=2),
                final_total=12.0,
                new_meter_mode="existing",
                new_meter_id=stock,
            )

    def test_final_value_below_the_last_reading_is_refused(self):
        # Stored as a backwards reading it would count nothing: the consumption since the
        # last reading would be lost with the swap.
        self.Reading._ingest(self._rows(self.old, [100.0, 150.0]))
        with self._assert_refused("below its last reading"):
            self._replace(
                replaced_at=T0 + timedelta(hours=2), final_total=120.0, new_serial_number="RT-B"
            )
        self.assertEqual(self.old.state, "active")
        self.assertEqual(self._readings(self.old).mapped("total"), [100.0, 150.0])

    def test_wrong_replacements_are_refused(self):
        swap = T0 + timedelta(hours=1)
        with self._assert_refused("cannot be negative"):
            self._replace(replaced_at=swap, final_total=-1.0, new_serial_number="RT-NEG")
        with self._assert_refused("serial number and the model"):
            self.env["prepaid.meter.replace"].create(
                {"old_meter_id": self.old.id, "replaced_at": swap, "final_total": 1.0}
            ).action_replace()
        water = self._new_meter("RT-WATER", model=self.model_water)
        with self._assert_refused("same utility"):
            self._replace(
                replaced_at=swap, final_total=1.0, new_meter_mode="existing", new_meter_id=water
            )
        self.old.action_remove()
        with self._assert_refused("already removed"):
            self.env["prepaid.meter.replace"].create(
                {"old_meter_id": self.old.id, "final_total": 1.0, "new_serial_number": "RT-X"}
            ).action_replace()

    def test_series_fields_are_kept_by_the_replacement(self):
        # Final reading and replacement links belong to the replacement (and the reset to
        # draft): not even a manager writes them directly.
        for field_name, value in (
            ("final_reading", 1.0),
            ("final_reading_at", T0),
            ("replacement_meter_id", self.meter.id),
            ("replaced_meter_id", self.meter.id),
        ):
            with self.assertRaisesRegex(AccessError, "kept by the system"):
                self.old.with_user(self.manager_user).write({field_name: value})
        # Operators do not replace meters at all.
        with self.assertRaises(AccessError):
            self.env["prepaid.meter.replace"].with_user(self.operator_user).create(
                {"old_meter_id": self.old.id, "final_total": 1.0, "new_serial_number": "RT-OP"}
            )

    def test_implausible_final_reading_is_held(self):
        # 1000 register units in an hour (x2) is more than 500 kW: the swap goes through, the
        # final reading waits for a manager before it counts.
        self.Reading._ingest(self._rows(self.old, [100.0]))
        swap = T0 + timedelta(hours=1)
        action = (
            self.env["prepaid.meter.replace"]
            .with_user(self.manager_user)
            .create(
                {
                    "old_meter_id": self.old.id,
                    "replaced_at": swap,
                    "final_total": 1100.0,
                    "new_serial_number": "RT-HELD",
                    "new_initial_reading": 0.0,
                }
            )
            .action_replace()
        )
        final = self._readings(self.old)[-1]
        self.assertEqual((final.quality, final.review_state), ("jump", "pending"))
        self.assertEqual(final.consumption, 0.0)
        self.assertEqual(self.old.final_reading, 1100.0)
        self.assertIn("held for review", self.old.message_ids[0].body)
        final.with_user(self.manager_user).action_accept()
        self.assertEqual(final.consumption, 2000.0)
        self.assertEqual(
            self.env["prepaid.meter"].browse(action["res_id"]).replaced_meter_id, self.old
        )
