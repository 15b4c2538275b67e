from datetime import timedelta

from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from .test_reading_ingestion import T0, ReadingCommon


@tagged("post_install", "-at_install")
class TestReadingReview(ReadingCommon):
    """Implausible readings are held for review: they neither count nor move the meter's
    register state until a manager accepts or rejects them."""

    def _hours(self, hours):
        return T0 + timedelta(hours=hours)

    def _ingest_one(self, meter, hours, total):
        return self.Reading._ingest(
            [{"meter_id": meter.id, "read_at": self._hours(hours), "total": total}]
        )

    def _reading(self, meter, hours):
        return self.Reading.search(
            [("meter_id", "=", meter.id), ("read_at", "=", self._hours(hours))]
        )

    # === HOLDING === #

    def test_implausible_jump_neither_counts_nor_moves_the_register(self):
        # The demo meter of the issue: 459.5, then 99999 (an implausible jump), then 460.2.
        meter = self._new_meter("RV-DEMO", ct_ratio=40.0, initial_reading=459.0)
        self._ingest_one(meter, 0, 459.5)
        summary = self._ingest_one(meter, 1, 99999.0)
        self.assertEqual((summary["flagged"], summary["held"]), (1, 1))
        jump = self._reading(meter, 1)
        self.assertEqual((jump.quality, jump.review_state), ("jump", "pending"))
        self.assertEqual(jump.consumption, 0.0)
        self.assertEqual(meter.last_reading_total, 459.5)
        self.assertEqual(meter.last_reading_at, self._hours(0))
        self.assertEqual(meter.last_reading_id, self._reading(meter, 0))
        self._ingest_one(meter, 2, 460.2)
        following = self._reading(meter, 2)
        self.assertEqual(following.quality, "ok")
        self.assertEqual(following.previous_total, 459.5)
        self.assertAlmostEqual(following.consumption, 0.7 * 40.0, places=3)
        self.assertEqual(meter.last_reading_total, 460.2)
        # In total: 0.5 from the initial value, then 0.7; never 99,539.5.
        self.assertAlmostEqual(
            sum(self._readings(meter).mapped("consumption")), (0.5 + 0.7) * 40.0, places=3
        )

    def test_same_in_one_batch(self):
        meter = self._new_meter("RV-BATCH", ct_ratio=40.0, initial_reading=459.0)
        summary = self.Reading._ingest(self._rows(meter, [459.5, 99999.0, 460.2]))
        # The batch compares 460.2 with 99999 first; the recomputation settles it on 459.5.
        self.assertEqual(summary["qualities"], {"first": 1, "jump": 1, "ok": 1})
        self.assertEqual((summary["flagged"], summary["held"], summary["recomputed"]), (1, 1, 0))
        readings = self._readings(meter)
        self.assertEqual(readings.mapped("review_state"), [False, "pending", False])
        self.assertEqual(readings[2].previous_total, 459.5)
        self.assertAlmostEqual(readings[2].consumption, 28.0, places=3)
        self.assertEqual(meter.last_reading_total, 460.2)

    def test_ingestion_does_not_update_the_meter_row(self):
        # The register state lives in its own narrow row: a token sale locking the meter row
        # and an ingestion batch do not wait for each other.
        meter = self._new_meter("RV-ROW")
        self.env.flush_all()
        self.env.cr.execute("SELECT xmin::text FROM prepaid_meter WHERE id = %s", [meter.id])
        before = self.env.cr.fetchone()[0]
        self.Reading._ingest(self._rows(meter, [1.0, 2.0, 999999.0, 3.0]))
        self.Reading._ingest(self._rows(meter, [1.5], start=self._hours(0.5)))
        self._readings(meter)[-1].unlink()
        self.env.cr.execute("SELECT xmin::text FROM prepaid_meter WHERE id = %s", [meter.id])
        self.assertEqual(self.env.cr.fetchone()[0], before)
        # The derived fields are searchable.
        Meter = self.env["prepaid.meter"]
        self.assertEqual(
            Meter.search([("id", "=", meter.id), ("last_reading_total", "=", 2.0)]), meter
        )
        never = self._new_meter("RV-NEVER")
        self.assertEqual(
            Meter.search([("id", "in", (meter | never).ids), ("last_reading_at", "=", False)]),
            never,
        )
        self.assertEqual(
            Meter.search([("last_reading_id", "=", self._reading(meter, 1).id)]), meter
        )

    # === REVIEW === #

    def test_accept_books_the_jump_and_recomputes_the_next_reading(self):
        meter = self._new_meter("RV-ACCEPT", max_load=10.0)
        self.Reading._ingest(self._rows(meter, [100.0, 160.0]))
        self._ingest_one(meter, 7, 165.0)  # 65 in 7 hours from 100: plausible.
        jump, following = self._reading(meter, 1), self._reading(meter, 7)
        self.assertEqual((jump.consumption, following.consumption), (0.0, 65.0))

        jump.with_user(self.manager_user).action_accept(reason="Meter was bypassed")
        self.assertEqual(jump.review_state, "accepted")
        self.assertEqual(jump.reviewed_by_id, self.manager_user)
        self.assertTrue(jump.reviewed_at)
        self.assertEqual(jump.review_note, "Meter was bypassed")
        self.assertEqual(jump.consumption, 60.0)
        self.assertEqual((following.previous_total, following.consumption), (160.0, 5.0))
        self.assertIn("Accepted by", jump.flag_message)
        self.assertEqual(meter.last_reading_total, 165.0)
        audit = meter.message_ids[0]
        self.assertEqual(audit.author_id, self.manager_user.partner_id)
        self.assertIn("accepted by", audit.body)
        self.assertIn("0.000 → 60.000", audit.body)
        self.assertIn("65.000 → 5.000", audit.body)
        self.assertIn("Meter was bypassed", audit.body)

    def test_reject_keeps_it_out_for_good(self):
        meter = self._new_meter("RV-REJECT")
        self.Reading._ingest(self._rows(meter, [100.0, 99999.0, 101.0]))
        glitch = self._reading(meter, 1)
        glitch.with_user(self.manager_user).action_reject()
        self.assertEqual((glitch.review_state, glitch.consumption), ("rejected", 0.0))
        self.assertIn("Rejected by", glitch.flag_message)
        self.assertEqual(self._reading(meter, 2).consumption, 1.0)
        self.assertIn("rejected by", meter.message_ids[0].body)
        # Rejected readings stay out of later recomputations too.
        self._readings(meter).with_user(self.manager_user).action_recompute()
        self.assertEqual(self._readings(meter).mapped("consumption"), [100.0, 0.0, 1.0])
        # A decision can be revised (audited again): accepted, the jump counts and 101, now
        # below it, is held in turn.
        glitch.with_user(self.manager_user).action_accept()
        self.assertEqual(glitch.consumption, 99899.0)
        following = self._reading(meter, 2)
        self.assertEqual((following.quality, following.review_state), ("backwards", "pending"))
        self.assertEqual(following.consumption, 0.0)
        self.assertEqual(meter.last_reading_total, 99999.0)
        self.assertIn("1.000 → 0.000", meter.message_ids[0].body)
        # Only held or decided readings are reviewed.
        with self.assertRaisesRegex(UserError, "Only readings to review"):
            self._reading(meter, 0).with_user(self.manager_user).action_reject()

    def test_accepted_backwards_reading_is_a_reset(self):
        meter = self._new_meter("RV-RESET")
        self.Reading._ingest(self._rows(meter, [500.0, 10.0, 12.0]))
        readings = self._readings(meter)
        self.assertEqual(readings.mapped("review_state"), [False, "pending", "pending"])
        self.assertEqual(meter.last_reading_total, 500.0)
        readings[1].with_user(self.manager_user).action_accept()
        self.assertEqual(readings.mapped("quality"), ["first", "backwards", "ok"])
        self.assertEqual(readings.mapped("review_state"), [False, "accepted", False])
        self.assertEqual(readings.mapped("consumption"), [500.0, 0.0, 2.0])
        self.assertEqual(meter.last_reading_total, 12.0)
        self.assertIn("next readings count from this value", readings[1].flag_message)

    def test_many_readings_of_many_meters(self):
        first, second = self._new_meter("RV-M1"), self._new_meter("RV-M2")
        self.Reading._ingest(self._rows(first, [1.0, 5000.0]) + self._rows(second, [1.0, 0.5]))
        held = self.Reading.search(
            [("meter_id", "in", (first | second).ids), ("review_state", "=", "pending")]
        )
        self.assertEqual(len(held), 2)
        held.with_user(self.manager_user).action_accept()
        self.assertEqual(set(held.mapped("review_state")), {"accepted"})
        self.assertIn("accepted by", first.message_ids[0].body)
        self.assertIn("accepted by", second.message_ids[0].body)

    # === LATE READINGS AND DELETIONS === #

    def test_late_readings_around_a_held_reading(self):
        meter = self._new_meter("RV-LATE", max_load=50.0)
        self._ingest_one(meter, 0, 100.0)
        self._ingest_one(meter, 2, 99999.0)
        self._ingest_one(meter, 4, 103.0)
        self.assertEqual(self._reading(meter, 4).consumption, 3.0)
        # Late, before the held reading: the held one and the next good one count from it.
        summary = self._ingest_one(meter, 1, 101.0)
        self.assertEqual((summary["late"], summary["recomputed"]), (1, 2))
        self.assertEqual(self._reading(meter, 2).previous_total, 101.0)
        self.assertEqual(self._reading(meter, 2).review_state, "pending")
        self.assertEqual(self._reading(meter, 4).consumption, 2.0)
        # Late, after the held reading: counts from the last good one before it.
        self._ingest_one(meter, 3, 102.0)
        late = self._reading(meter, 3)
        self.assertEqual((late.previous_total, late.consumption, late.is_late), (101.0, 1.0, True))
        self.assertEqual(self._reading(meter, 4).consumption, 1.0)
        # Late and held itself: nobody counts from it, nothing is recomputed.
        summary = self.Reading._ingest(
            [{"meter_id": meter.id, "read_at": self._hours(0.5), "total": 5000.0}]
        )
        self.assertEqual((summary["held"], summary["recomputed"]), (1, 0))
        self.assertEqual(self._reading(meter, 1).consumption, 1.0)
        self.assertEqual(sum(self._readings(meter).mapped("consumption")), 103.0)
        self.assertEqual(meter.last_reading_total, 103.0)

    def test_recomputation_stops_where_nothing_changes(self):
        meter = self._new_meter("RV-STOP")
        self.Reading._ingest(self._rows(meter, [float(n) for n in range(0, 100, 2)]))
        summary = self._ingest_one(meter, 0.5, 0.5)
        # Only the next reading counts from another value; the 48 after it are untouched.
        self.assertEqual((summary["late"], summary["recomputed"]), (1, 1))
        self.assertEqual(self._reading(meter, 1).consumption, 1.5)

    def test_deleting_readings_around_held_ones(self):
        meter = self._new_meter("RV-DEL")
        self.Reading._ingest(self._rows(meter, [100.0, 200.0, 150.0]))
        self.assertEqual(self._reading(meter, 2).review_state, "pending")
        # Deleting a held reading changes nothing else.
        self.Reading._ingest(self._rows(meter, [99999.0], start=self._hours(3)))
        self._reading(meter, 3).unlink()
        self.assertEqual(self._reading(meter, 2).previous_total, 200.0)
        self.assertEqual(meter.last_reading_total, 200.0)
        # Deleting the good reading that made 150 backwards: 150 counts from 100 now.
        self._reading(meter, 1).unlink()
        settled = self._reading(meter, 2)
        self.assertEqual((settled.quality, settled.review_state), ("ok", False))
        self.assertEqual(settled.consumption, 50.0)
        self.assertEqual(meter.last_reading_total, 150.0)

    # === ACCESS === #

    def test_operators_do_not_review_recompute_or_edit(self):
        meter = self._new_meter("RV-OP", room=self.room)  # In the operator's building.
        self.Reading._ingest(self._rows(meter, [1.0, 5000.0]))
        held = self._reading(meter, 1).with_user(self.operator_user)
        self.assertEqual(held.review_state, "pending")  # Operators see the queue...
        for method, operation in (
            ("action_accept", "accept flagged readings"),
            ("action_reject", "reject flagged readings"),
            ("action_recompute", "recompute readings"),
        ):
            with self.assertRaisesRegex(AccessError, operation):
                getattr(held, method)()
        with self.assertRaisesRegex(AccessError, "kept by the system"):
            held.write({"consumption": 4999.0})
        self.assertEqual(held.review_state, "pending")

    def test_managers_do_not_edit_computed_values(self):
        self.Reading._ingest(self._rows(self.meter, [1.0, 2.0]))
        reading = self._reading(self.meter, 1).with_user(self.manager_user)
        for vals in (
            {"consumption": 100.0},
            {"quality": "ok"},
            {"review_state": "accepted"},
            {"previous_total": 0.0},
            {"is_late": True},
        ):
            with self.assertRaisesRegex(AccessError, "kept by the system"):
                reading.write(vals)
        with self.assertRaisesRegex(UserError, "immutable"):
            reading.write({"total": 3.0})
        with self.assertRaisesRegex(AccessError, "kept by the system"):
            self.Reading.with_user(self.manager_user).create(
                {"meter_id": self.meter.id, "read_at": T0, "total": 1.0, "consumption": 9.0}
            )
        self.assertEqual(reading.consumption, 1.0)
        # Deleting stays theirs (the following reading is recomputed).
        reading.unlink()
        self.assertEqual(self.meter.last_reading_total, 1.0)
