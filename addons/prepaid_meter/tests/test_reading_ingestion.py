from datetime import datetime, timedelta
from decimal import Decimal

from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, tagged

from .common import PrepaidMeterCommon

T0 = datetime(2024, 3, 1, 0, 0, 0)


class ReadingCommon(PrepaidMeterCommon):
    """Records for the readings tests, independent of demo data."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Reading = cls.env["prepaid.reading"]
        cls.meter = cls._new_meter("RT-E-1")

    @classmethod
    def _new_meter(cls, serial, **values):
        """A draft electricity meter (no room unless given) named after its serial."""
        return cls._create_meter(
            **{"room": False, "serial_number": serial, "name": serial, **values}
        )

    @staticmethod
    def _rows(meter, totals, start=T0, hours=1, source="gateway"):
        return [
            {
                "meter_id": meter.id,
                "read_at": start + timedelta(hours=hours * index),
                "total": total,
                "source": source,
            }
            for index, total in enumerate(totals)
        ]

    def _readings(self, meter):
        return self.Reading.search([("meter_id", "=", meter.id)], order="read_at")


@tagged("post_install", "-at_install")
class TestReadingIngestion(ReadingCommon):
    def test_consumption_from_initial_value(self):
        meter = self._new_meter("RT-E-2", initial_reading=100.0)
        summary = self.Reading._ingest(self._rows(meter, [100.5, 101.25, 103.0]))
        self.assertEqual(summary["inserted"], 3)
        self.assertEqual(summary["duplicates"], 0)
        readings = self._readings(meter)
        self.assertEqual(readings.mapped("quality"), ["first", "ok", "ok"])
        self.assertEqual(readings.mapped("consumption"), [0.5, 0.75, 1.75])
        self.assertEqual(readings[1].previous_read_at, readings[0].read_at)
        self.assertEqual(readings[1].previous_total, 100.5)
        self.assertEqual(readings.company_id, meter.company_id)
        self.assertEqual(set(readings.mapped("utility")), {"electricity"})
        self.assertEqual(meter.last_reading_at, T0 + timedelta(hours=2))
        self.assertEqual(meter.last_reading_total, 103.0)
        self.assertEqual(meter.last_reading_id, readings[2])
        self.assertEqual(meter.reading_count, 3)

    def test_same_batch_twice_is_idempotent(self):
        rows = self._rows(self.meter, [10, 11, 12, 13])
        first = self.Reading._ingest(rows)
        second = self.Reading._ingest(rows)
        self.assertEqual((first["inserted"], first["duplicates"]), (4, 0))
        self.assertEqual((second["inserted"], second["duplicates"]), (0, 4))
        self.assertEqual(len(self._readings(self.meter)), 4)
        # Repeated inside one batch: the first value wins, the repetition is a duplicate.
        meter = self._new_meter("RT-E-3")
        rows = self._rows(meter, [5, 6])
        summary = self.Reading._ingest([*rows, {**rows[1], "total": 99}])
        self.assertEqual((summary["inserted"], summary["duplicates"]), (2, 1))
        self.assertEqual(self._readings(meter).mapped("total"), [5, 6])

    def test_out_of_order_within_a_batch(self):
        rows = self._rows(self.meter, [1.0, 2.0, 4.0, 8.0])
        self.Reading._ingest(list(reversed(rows)))
        readings = self._readings(self.meter)
        self.assertEqual(readings.mapped("consumption"), [1.0, 1.0, 2.0, 4.0])
        self.assertFalse(any(readings.mapped("is_late")))

    def test_late_reading_recomputes_its_neighbour(self):
        rows = self._rows(self.meter, [1.0, 2.0, 4.0, 8.0])
        self.Reading._ingest([rows[0], rows[2], rows[3]])
        readings = self._readings(self.meter)
        self.assertEqual(readings.mapped("consumption"), [1.0, 3.0, 4.0])
        summary = self.Reading._ingest([rows[1]])
        self.assertEqual((summary["inserted"], summary["late"], summary["recomputed"]), (1, 1, 1))
        readings = self._readings(self.meter)
        self.assertEqual(readings.mapped("consumption"), [1.0, 1.0, 2.0, 4.0])
        self.assertEqual(readings.mapped("is_late"), [False, True, False, False])
        self.assertEqual(readings[2].previous_total, 2.0)
        self.assertIn("late", readings[1].flag_message)
        # The meter's last reading stays the newest one.
        self.assertEqual(self.meter.last_reading_total, 8.0)
        # A late reading before the very first one becomes the first of the series.
        summary = self.Reading._ingest(
            [{"meter_id": self.meter.id, "read_at": T0 - timedelta(hours=1), "total": 0.5}]
        )
        readings = self._readings(self.meter)
        self.assertEqual(readings.mapped("quality")[:2], ["first", "ok"])
        self.assertEqual(readings.mapped("consumption")[:2], [0.5, 0.5])
        self.assertEqual(sum(readings.mapped("consumption")), 8.0)

    def test_rollover(self):
        meter = self._new_meter("RT-E-4", initial_reading=999990.0)
        self.Reading._ingest(self._rows(meter, [999998.5, 1.25, 3.0]))
        readings = self._readings(meter)
        self.assertEqual(readings.mapped("quality"), ["first", "rollover", "ok"])
        self.assertEqual(readings.mapped("consumption"), [8.5, 2.75, 1.75])
        self.assertIn("rolled over", readings[1].flag_message)
        # A register with 5 digits wraps at 100000.
        meter = self._new_meter("RT-E-5", register_digits=5, initial_reading=99999.0)
        self.Reading._ingest(self._rows(meter, [99999.5, 0.5]))
        self.assertEqual(self._readings(meter).mapped("consumption"), [0.5, 1.0])

    def test_backwards_is_held_not_rejected(self):
        summary = self.Reading._ingest(self._rows(self.meter, [500.0, 400.0, 401.0]))
        self.assertEqual(summary["inserted"], 3)
        # 401 counts from the last good reading (500), not from the held 400: backwards too.
        self.assertEqual((summary["flagged"], summary["held"]), (2, 2))
        self.assertEqual(
            summary["flagged_rows"],
            [
                (self.meter.id, T0 + timedelta(hours=1), "backwards"),
                (self.meter.id, T0 + timedelta(hours=2), "backwards"),
            ],
        )
        readings = self._readings(self.meter)
        self.assertEqual(readings.mapped("quality"), ["first", "backwards", "backwards"])
        self.assertEqual(readings.mapped("review_state"), [False, "pending", "pending"])
        self.assertEqual(readings.mapped("consumption"), [500.0, 0.0, 0.0])
        self.assertEqual(readings[2].previous_total, 500.0)
        self.assertIn("backwards", readings[1].flag_message)
        self.assertIn("Held for review", readings[1].flag_message)
        # The register state stays on the last good reading.
        self.assertEqual(self.meter.last_reading_total, 500.0)
        self.assertEqual(self.meter.last_reading_id, readings[0])
        # Below the initial register value: backwards too.
        meter = self._new_meter("RT-E-6", initial_reading=50.0)
        self.Reading._ingest(self._rows(meter, [40.0]))
        self.assertEqual(self._readings(meter).quality, "backwards")
        self.assertFalse(meter.last_reading_at)
        # A wrap-around that would need an implausible quantity is backwards, not a roll-over.
        meter = self._new_meter("RT-E-7")
        self.Reading._ingest(self._rows(meter, [900000.0, 100.0]))
        self.assertEqual(self._readings(meter).mapped("quality"), ["first", "backwards"])

    def test_jump_is_held_not_counted(self):
        meter = self._new_meter("RT-E-8", max_load=10.0)
        self.Reading._ingest(self._rows(meter, [0.0, 9.0, 60.0, 19.0, 29.0]))
        readings = self._readings(meter)
        self.assertEqual(readings.mapped("quality"), ["first", "ok", "jump", "ok", "ok"])
        self.assertEqual(readings.mapped("review_state"), [False, False, "pending", False, False])
        # Held: nothing counted, and the next reading counts from the last good one (9.0).
        self.assertEqual(readings.mapped("consumption"), [0.0, 9.0, 0.0, 10.0, 10.0])
        self.assertEqual(readings[3].previous_read_at, readings[1].read_at)
        self.assertIn("Implausible", readings[2].flag_message)
        self.assertEqual(meter.last_reading_total, 29.0)
        # Close readings are judged over at least a quarter of an hour: 2 kWh in 1 minute
        # (2.5 kWh allowed) is no jump.
        self.Reading._ingest(
            [{"meter_id": meter.id, "read_at": T0 + timedelta(hours=4, minutes=1), "total": 31.0}]
        )
        self.assertEqual(self._readings(meter)[-1].quality, "ok")
        # The utility default applies without a meter setting (system parameter).
        self.env["ir.config_parameter"].set_param("prepaid_meter.max_load_electricity", "5")
        other = self._new_meter("RT-E-9")
        self.Reading._ingest(self._rows(other, [0.0, 6.0]))
        self.assertEqual(self._readings(other)[-1].quality, "jump")

    def test_multiplier(self):
        meter = self._new_meter("RT-E-10", ct_ratio=40.0, initial_reading=10.0)
        self.assertEqual(meter.multiplier, 40.0)
        self.Reading._ingest(self._rows(meter, [10.5, 11.0]))
        self.assertEqual(self._readings(meter).mapped("consumption"), [20.0, 20.0])
        # The plausibility check works on the real quantity: 0.5 register units x 40 = 20 kW.
        meter.max_load = 15.0
        self.Reading._ingest(self._rows(meter, [11.5], start=T0 + timedelta(hours=2)))
        self.assertEqual(self._readings(meter)[-1].quality, "jump")

    def test_invalid_rows_and_unknown_meters_are_rejected(self):
        rows = [
            {"meter_id": self.meter.id, "read_at": T0, "total": 1},
            {"meter_id": self.meter.id, "read_at": None, "total": 1},
            {"meter_id": self.meter.id, "read_at": T0 + timedelta(hours=1), "total": "abc"},
            {"meter_id": 0, "read_at": T0, "total": 1},
            {"meter_id": 999999999, "read_at": T0, "total": 1},
            (self.meter.id, T0 + timedelta(hours=2), "2.5", None, None, None, None, "manual"),
            (self.meter.id, T0 + timedelta(hours=3), 3, "x"),
            (self.meter.id, T0 + timedelta(hours=4), 4, None, None, None, None, "carrier pigeon"),
        ]
        summary = self.Reading._ingest(rows)
        self.assertEqual(summary["received"], 8)
        self.assertEqual(summary["inserted"], 2)
        self.assertEqual(summary["rejected"], 6)
        self.assertEqual(summary["duplicates"], 0)
        errors = dict(summary["errors"])
        self.assertEqual(sorted(errors), [1, 2, 3, 4, 6, 7])
        self.assertIn("carrier pigeon", errors[7])
        readings = self._readings(self.meter)
        self.assertEqual(readings.mapped("source"), ["gateway", "manual"])
        self.assertEqual(readings[1].total, 2.5)

    def test_out_of_range_values_are_rejected_per_row(self):
        """One bad number is one rejected row: the rest of the batch is stored."""
        rows = [
            (self.meter.id, T0, "1E+999999"),
            (self.meter.id, T0 + timedelta(hours=1), "nan"),
            (2**31, T0, 1.0),
            (self.meter.id, T0 + timedelta(hours=2), "12345678901234567890"),
            (self.meter.id, T0 + timedelta(hours=3), float("inf")),
            (self.meter.id, T0 + timedelta(hours=4), 1, "1e-999999"),
            (self.meter.id, T0 + timedelta(hours=5), 2, None, "-1E+20"),
            (self.meter.id, T0 + timedelta(hours=6), "1" * 50),
            (self.meter.id, T0 + timedelta(hours=7), Decimal("2.00049")),
            (self.meter.id, T0 + timedelta(hours=8), "Infinity"),
            (2**31 - 1, T0, 1.0),  # In range, but no such meter.
        ]
        summary = self.Reading._ingest(rows)
        self.assertEqual((summary["received"], summary["inserted"]), (11, 2))
        errors = dict(summary["errors"])
        self.assertEqual(sorted(errors), [0, 1, 2, 3, 4, 6, 7, 9, 10])
        self.assertIn("1E+999999 is out of range", errors[0])
        self.assertIn("not a finite number", errors[1])
        self.assertIn("out of range (1 to 2147483647)", errors[2])
        self.assertIn("at most 13 digits before the decimal point", errors[3])
        self.assertIn("not a finite number", errors[4])
        self.assertIn("Register T2", errors[6])
        self.assertIn("too many digits", errors[7])
        self.assertIn("Unknown meter", errors[10])
        readings = self._readings(self.meter)
        self.assertEqual(readings.mapped("total"), [1.0, 2.0])
        # Decimals beyond the third are rounded, as the columns keep three.
        self.assertEqual(readings.mapped("t1"), [0.0, 0.0])
        # Events and load profile share the bounds.
        events = self.env["prepaid.meter.event"]._ingest(
            [(2**31, "tamper", T0), (self.meter.id, "tamper", T0)]
        )
        self.assertEqual((events["inserted"], events["rejected"]), (1, 1))
        profile = self.env["prepaid.load.profile"]._ingest(
            [
                (self.meter.id, T0, 15, "1E+999999"),
                (self.meter.id, T0 + timedelta(minutes=15), 2**31, 1.0),
                (self.meter.id, T0 + timedelta(minutes=30), 15, "0.25", "nan"),
                (self.meter.id, T0 + timedelta(minutes=45), 15, "0.25"),
            ]
        )
        self.assertEqual((profile["inserted"], profile["rejected"]), (1, 3))

    def test_query_count_does_not_depend_on_batch_size(self):
        meters = self.env["prepaid.meter"].create(
            [
                {
                    "name": f"QC-{n}",
                    "serial_number": f"QC-{n}",
                    "model_id": self.model_electricity.id,
                }
                for n in range(50)
            ]
        )

        def batch(first_hour, hours):
            return [
                {"meter_id": meter.id, "read_at": T0 + timedelta(hours=h), "total": h * 1.5}
                for meter in meters
                for h in range(first_hour, first_hour + hours)
            ]

        def ingest(rows):
            before = self.cr.sql_log_count
            summary = self.Reading._ingest(rows)
            return self.cr.sql_log_count - before, summary

        ingest(batch(0, 1))  # Warm the caches (system parameters).
        # One statement per batch (other addons may add a fixed cost, e.g. waking the rating
        # up), whatever its size.
        small, summary = ingest(batch(1, 10))
        self.assertEqual(summary["inserted"], 500)
        large, summary = ingest(batch(11, 40))
        self.assertEqual(summary["inserted"], 2000)
        self.assertEqual(large, small)
        self.assertLessEqual(small, 3)
        # Late readings cost one more statement for their neighbours, whatever their number.
        late = [
            {**row, "read_at": row["read_at"] - timedelta(minutes=30)}
            for row in batch(1, 49)
            if row["read_at"].hour % 2
        ]
        count, summary = ingest(late)
        self.assertEqual(count, small + 1)
        self.assertEqual(summary["late"], len(late))

    def test_orm_create_goes_through_ingestion(self):
        reading = self.Reading.create({"meter_id": self.meter.id, "read_at": T0, "total": 5.0})
        self.assertEqual(reading.source, "manual")
        self.assertEqual(reading.quality, "first")
        self.assertEqual(reading.consumption, 5.0)
        # Creating it again returns the stored reading.
        again = self.Reading.create({"meter_id": self.meter.id, "read_at": T0, "total": 7.0})
        self.assertEqual(again, reading)
        self.assertEqual(again.total, 5.0)
        with Form(self.Reading) as form:
            form.meter_id = self.meter
            form.read_at = T0 + timedelta(hours=1)
            form.total = 6.5
        self.assertEqual(form.record.consumption, 1.5)
        with self.assertRaises(UserError):
            reading.total = 9.0

    def test_unlink_recomputes_the_next_reading(self):
        self.Reading._ingest(self._rows(self.meter, [100.0, 200.0, 150.0, 210.0, 215.0]))
        readings = self._readings(self.meter)
        # 150 is held (backwards): 210 counts from 200.
        self.assertEqual(readings.mapped("consumption"), [100.0, 100.0, 0.0, 10.0, 5.0])
        readings[2].unlink()  # A wrong reading, deleted after review: nothing else changes.
        readings = self._readings(self.meter)
        self.assertEqual(readings.mapped("consumption"), [100.0, 100.0, 10.0, 5.0])
        readings[1].unlink()  # A good one: its follower counts from the one before.
        readings = self._readings(self.meter)
        self.assertEqual(readings.mapped("consumption"), [100.0, 110.0, 5.0])
        self.assertEqual(readings[1].previous_total, 100.0)
        readings[2].unlink()
        self.assertEqual(self.meter.last_reading_total, 210.0)
        self.assertEqual(self.meter.last_reading_at, T0 + timedelta(hours=3))
        self._readings(self.meter).unlink()
        self.assertFalse(self.meter.last_reading_at)
        self.assertFalse(self.meter.last_reading_id)

    def test_recompute_after_meter_correction(self):
        self.Reading._ingest(self._rows(self.meter, [100.0, 101.0]))
        readings = self._readings(self.meter)
        self.assertEqual(readings[0].consumption, 100.0)
        self.meter.initial_reading = 99.0
        readings.action_recompute()
        self.assertEqual(readings.mapped("consumption"), [1.0, 1.0])

    def test_events_ingestion_is_idempotent(self):
        Event = self.env["prepaid.meter.event"]
        rows = [
            {"meter_id": self.meter.id, "event_type": "tamper", "occurred_at": T0},
            {
                "meter_id": self.meter.id,
                "event_type": "power_fail",
                "occurred_at": T0,
                "message": "Phase A lost",
            },
            (self.meter.id, "relay_off", T0 + timedelta(minutes=5)),
            {"meter_id": self.meter.id, "event_type": "door_alarm", "occurred_at": T0},
            {"meter_id": self.meter.id, "event_type": "tamper", "occurred_at": None},
        ]
        first = Event._ingest(rows)
        second = Event._ingest(rows)
        self.assertEqual((first["inserted"], first["duplicates"], first["rejected"]), (4, 0, 1))
        self.assertEqual((second["inserted"], second["duplicates"]), (0, 4))
        events = Event.search([("meter_id", "=", self.meter.id)])
        self.assertEqual(len(events), 4)
        by_type = {event.event_type: event for event in events}
        self.assertEqual(by_type["tamper"].severity, "critical")
        self.assertEqual(by_type["relay_off"].severity, "info")
        self.assertEqual(by_type["other"].message, "[door_alarm]")
        self.assertEqual(self.meter.open_event_count, 4)

    def test_operator_acknowledges_events(self):
        operator = self.operator_user  # Operates cls.building, where cls.room is.
        meter = self._new_meter("RT-E-12", room=self.room)
        self.env["prepaid.meter.event"]._ingest(
            [{"meter_id": meter.id, "event_type": "cover_open", "occurred_at": T0}]
        )
        event = self.env["prepaid.meter.event"].search([("meter_id", "=", meter.id)])
        self.assertEqual(event.severity, "critical")
        event.with_user(operator).action_acknowledge()
        self.assertTrue(event.acknowledged)
        self.assertEqual(event.acknowledged_by_id, operator)
        self.assertEqual(meter.open_event_count, 0)

    def test_operator_records_and_imports_readings(self):
        meter = self._new_meter("RT-E-13", room=self.room)
        Reading = self.Reading.with_user(self.operator_user)
        summary = Reading._ingest(self._rows(meter, [1.0, 2.0]), source="manual")
        self.assertEqual(summary["inserted"], 2)
        self.assertEqual(
            Reading.search([("meter_id", "=", meter.id)]).mapped("create_uid"), self.operator_user
        )
        # Not on a meter out of the operator's sites.
        with self.assertRaises(AccessError):
            Reading._ingest(self._rows(self.meter, [1.0]))

    def test_load_profile_ingestion_is_idempotent(self):
        Profile = self.env["prepaid.load.profile"]
        meter = self._new_meter("RT-E-11", ct_ratio=10.0)
        rows = [
            {
                "meter_id": meter.id,
                "interval_start": T0 + timedelta(minutes=15 * n),
                "quantity": 0.25,
                "demand": 1.0,
                "voltage": 230.1,
                "current": 4.2,
            }
            for n in range(8)
        ]
        rows.append((meter.id, T0 + timedelta(hours=2), 15, "bad"))
        first = Profile._ingest(rows)
        second = Profile._ingest(rows)
        self.assertEqual((first["inserted"], first["rejected"]), (8, 1))
        self.assertEqual((second["inserted"], second["duplicates"]), (0, 8))
        intervals = Profile.search([("meter_id", "=", meter.id)])
        self.assertEqual(len(intervals), 8)
        self.assertEqual(set(intervals.mapped("consumption")), {2.5})
        self.assertEqual(
            intervals[0].interval_end - intervals[0].interval_start, timedelta(minutes=15)
        )
