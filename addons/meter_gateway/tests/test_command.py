"""The command queue against simulated meters over real sockets: a meter action queues one
command, the scheduled action sends it, the meter obeys (or fails as a real one would), the
result is read back and recorded."""

from unittest.mock import patch

from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from ..simulators import Fault
from .common import MeterGatewayCommon


@tagged("post_install", "-at_install")
class TestMeterCommand(MeterGatewayCommon):
    def test_relay_off_end_to_end(self):
        """Relay off from the meter's button (an operator of its building) -> one command ->
        the simulated relay opens -> read back -> the meter shows disconnected."""
        meter = self.meters_dlt645[0]
        sim = self.sim_of(meter)
        command = meter.with_user(self.operator_user).action_relay_off()
        self.assertEqual(command._name, "meter.command")
        self.assertEqual(command.state, "queued")
        self.assertEqual(command.requested_by_id, self.operator_user)
        self.assertTrue(command.requested_at)
        # The same request again queues nothing new.
        again = meter.with_user(self.operator_user).action_relay_off()
        self.assertEqual(again, command)
        self.assertTrue(sim.relay_closed)

        self.run_cron()

        self.assertFalse(sim.relay_closed, "the simulated relay opened")
        self.assertEqual(command.state, "done")
        self.assertTrue(command.verified, "confirmed by reading the relay state back")
        self.assertEqual(meter.supply_state, "disconnected")
        self.assertEqual(meter.online_state, "online")
        self.assertIn("relay=open", command.result)
        bodies = " ".join(meter.message_ids.mapped("body"))
        self.assertIn("queued", bodies)
        self.assertIn("verified", bodies)
        # Switched back on through the same path.
        meter.action_relay_on()
        self.run_cron()
        self.assertTrue(sim.relay_closed)
        self.assertEqual(meter.supply_state, "connected")

    def test_form_button_notifies_and_shows_pending(self):
        meter = self.meters_modbus[0].with_context(prepaid_hardware_notify=True)
        action = meter.action_relay_off()
        self.assertEqual(action["tag"], "display_notification")
        self.assertIn("meter gateway", action["params"]["title"])
        self.assertIn("Relay Off (Queued)", meter.hardware_pending)
        self.run_cron()
        meter.invalidate_recordset(["hardware_pending"])
        self.assertFalse(meter.hardware_pending)

    def test_supply_off_mixing_gateway_and_manual_meters(self):
        """A tenant's relay on a gateway and valve without one: one command, one activity."""
        relay = self.meters_modbus[0]
        valve = self._create_meter(utility="water", comm_address="8")
        (relay | valve).action_supply_off()
        self.assertEqual(
            self.env["meter.command"].search([("meter_id", "=", relay.id)]).action, "relay_off"
        )
        self.assertTrue(valve.activity_ids)

    def test_modbus_relay_and_read_now(self):
        meter = self.meters_modbus[1]
        sim = self.sim_of(meter)
        sim.set_energy("1234.56")
        off = meter.action_relay_off()
        read = meter.action_read_now()
        self.run_cron()
        # One command per meter per visit, the cut-off first; the read waits for the next.
        self.assertFalse(sim.relay_closed)
        self.assertEqual((off.state, read.state), ("done", "queued"))
        self.run_cron()
        self.assertEqual(read.state, "done")
        # The relay's read-back and the read are both readings (one, when in the same second).
        readings = self.readings_of(meter)
        self.assertIn(len(readings), (1, 2))
        for reading in readings:
            self.assertAlmostEqual(reading.total, 1234.56, places=2)
            self.assertEqual(reading.source, "gateway")

    def test_priority_cutoff_before_read(self):
        meter = self.meters_modbus[0]
        read = meter.action_read_now()
        off = meter.action_relay_off()
        self.assertLess(off.priority, read.priority)
        taken = self.env["meter.command"]._take_for_gateway(self.gateway_modbus)
        self.assertEqual(taken, off, "one command in flight per meter: the cut-off first")
        self.assertEqual(read.state, "queued")

    def test_opposite_request_supersedes(self):
        meter = self.meters_dlt645[1]
        off = meter.action_relay_off()
        on = meter.action_relay_on()
        self.assertEqual(off.state, "cancelled")
        self.assertEqual(on.state, "queued")
        self.assertNotEqual(off, on)

    def test_idempotency_key(self):
        meter = self.meters_modbus[0]
        Command = self.env["meter.command"]
        first = Command._queue(meter, "read_now", idempotency_key="BATCH/1/read")
        self.run_cron()
        self.assertEqual(first.state, "done")
        second = Command._queue(meter, "read_now", idempotency_key="BATCH/1/read")
        self.assertEqual(second, first, "the same key queues once, whatever the state")
        third = Command._queue(meter, "read_now")
        self.assertNotEqual(third, first, "without a key, a finished request can be repeated")

    def test_no_answer_retried_then_failed(self):
        """A dead meter: the command waits with back-off, is retried, then fails with its
        reason; the meter goes offline after the gateway's threshold; nothing is ingested."""
        meter = self.meters_modbus[2]
        sim = self.sim_of(meter)
        sim.faults.inject(Fault.NO_ANSWER, times=None)
        command = meter.action_relay_off()
        command.sudo().max_attempts = 3
        delays = []
        for _attempt in range(3):
            self.make_commands_due(command)
            self.run_cron()
            if command.state == "retry":
                delays.append(command.next_attempt_at - command.sent_at)
        self.assertEqual(command.state, "failed")
        self.assertEqual(command.attempts, 3)
        self.assertEqual(command.error_code, "timeout")
        self.assertIn("did not answer", command.error_reason)
        self.assertEqual(len(delays), 2)
        self.assertGreater(delays[1], delays[0], "exponential back-off")
        # The meter may have obeyed without its answer getting through (the simulated one
        # did): the platform does not claim a state it never read.
        self.assertEqual(meter.supply_state, "unknown")
        self.assertEqual(meter.online_state, "offline")
        self.assertEqual(meter.comm_failure_count, 3)
        self.assertFalse(self.readings_of(meter))
        events = self.env["prepaid.meter.event"].search([("meter_id", "=", meter.id)])
        self.assertIn("Communication lost", " ".join(events.mapped("message")))
        self.assertIn("failed", " ".join(meter.message_ids.mapped("body")))
        log = self.env["meter.comm.log"].search([("meter_id", "=", meter.id)])
        self.assertEqual(len(log), 3)
        self.assertTrue(all(not line.ok and line.error_code == "timeout" for line in log))
        self.assertIn(">>", log[0].frames, "the request frames are logged in hex")
        # The meter answers again: online, with an event.
        sim.faults.clear()
        meter.action_read_now()
        self.run_cron()
        self.assertEqual(meter.online_state, "online")
        self.assertEqual(meter.comm_failure_count, 0)
        events = self.env["prepaid.meter.event"].search([("meter_id", "=", meter.id)])
        self.assertIn("Communication restored.", events.mapped("message"))

    def test_corrupted_replies_fail_without_wrong_values(self):
        for fault, code in (
            (Fault.CRC_ERROR, "checksum"),
            (Fault.WRONG_ADDRESS, "address"),
            (Fault.TRUNCATED, "frame"),
            (Fault.GARBLED, "checksum"),
        ):
            with self.subTest(fault=fault):
                meter = self.meters_modbus[0]
                sim = self.sim_of(meter)
                sim.faults.inject(fault, times=None)
                command = meter.action_read_now()
                self.run_cron()
                sim.faults.clear()
                self.assertEqual(command.state, "failed", "a bad frame is not worth repeating")
                self.assertEqual(command.error_code, code)
                self.assertFalse(self.readings_of(meter), "nothing wrong is ingested")
                self.assertTrue(meter.last_comm_error)

    def test_connection_dropped_is_retried(self):
        meter = self.meters_dlt645[0]
        self.sim_of(meter).faults.inject(Fault.DROP_CONNECTION, times=1)
        command = meter.action_read_now()
        self.run_cron()
        self.assertEqual(command.state, "retry")
        self.assertEqual(command.error_code, "connection")
        self.make_commands_due(command)
        self.run_cron()
        self.assertEqual(command.state, "done")
        self.assertEqual(len(self.readings_of(meter)), 1)

    def test_relay_stuck_fails_verification(self):
        meter = self.meters_modbus[1]
        sim = self.sim_of(meter)
        sim.relay_stuck = True
        command = meter.action_relay_off()
        self.run_cron()
        self.assertEqual(command.state, "failed")
        self.assertEqual(command.error_code, "verification")
        self.assertTrue(sim.relay_closed)
        self.assertEqual(meter.supply_state, "connected", "the meter shows what it read")

    def test_wrong_password_refused(self):
        meter = self.meters_dlt645[0]
        meter.dlt645_password = "123456"  # the simulated meter's is 000000
        command = meter.action_relay_off()
        self.run_cron()
        self.assertEqual(command.state, "failed")
        self.assertEqual(command.error_code, "device")
        self.assertTrue(self.sim_of(meter).relay_closed)

    def test_what_the_gateway_cannot_do_stays_manual(self):
        """No register map of the catalogue documents a credit register, and the Acrel map
        leaves its relay register null: those requests stay activities for the staff, with a
        note on the meter; nothing is sent, the meter is not reported offline for it."""
        self.model_sim.has_meter_balance = True
        meter = self.meters_modbus[0]
        result = meter._write_credit(50.0)
        self.assertEqual(result._name, "mail.activity")
        self.assertIn("cannot do this", meter.message_ids[:1].body)
        acrel = self._create_meter(comm_address="5", gateway_id=self.gateway_modbus.id)
        self.assertEqual(acrel.action_relay_off()._name, "mail.activity")
        self.assertEqual(acrel.action_read_now()._name, "meter.command")
        self.assertFalse(
            self.env["meter.command"].search(
                [("meter_id", "in", (meter | acrel).ids), ("action", "!=", "read_now")]
            )
        )

    def test_credit_commands_never_merged_and_fail_clearly(self):
        """A service queueing credit writes directly: two sales of the same amount are two
        writes; the drivers refuse what the map does not have, with that reason."""
        meter = self.meters_modbus[0]
        Command = self.env["meter.command"]
        first = Command._queue(meter, "write_credit", amount=50.0)
        second = Command._queue(meter, "write_credit", amount=50.0)
        self.assertNotEqual(first, second)
        self.run_cron()
        self.assertEqual(first.state, "failed")
        self.assertEqual(first.error_code, "unsupported")
        self.assertEqual(meter.comm_failure_count, 0)

    def test_credit_taken_back_confirms_its_origin(self):
        """prepaid_billing's refunds take the credit back with a negative credit write made
        for the refund (origin) under one idempotency key: queued once, and the origin is told
        (``_on_withdrawn``) when the meter carried it out - here a result as a driver able to
        write credit would return it (no documented map has the register yet)."""
        meter = self.meters_modbus[0]
        origin = self.tenant
        Command = self.env["meter.command"]
        values = {"amount": -30.0, "origin": origin, "idempotency_key": "refund-withdrawal:1"}
        command = Command._queue(meter, "write_credit", **values)
        self.assertEqual(Command._queue(meter, "write_credit", **values), command)
        self.assertEqual(command.origin_ref, f"res.partner,{origin.id}")
        calls = []
        with patch.object(
            type(origin), "_on_withdrawn", lambda records: calls.append(records), create=True
        ):
            Command._take_for_gateway(self.gateway_modbus)
            command._record_result(
                {"error": None, "verified": True, "reading": None, "clock_drift": None}
            )
        self.assertEqual(command.state, "done")
        self.assertEqual(calls, [origin])

    def test_deadline_expires(self):
        meter = self.meters_modbus[0]
        command = meter.action_relay_off()
        command.sudo().deadline = "2000-01-01 00:00:00"
        self.run_cron()
        self.assertEqual(command.state, "expired")
        self.assertEqual(command.error_code, "expired")
        self.assertTrue(self.sim_of(meter).relay_closed, "never sent late")

    def test_cancel_and_retry(self):
        meter = self.meters_modbus[0]
        command = meter.action_relay_off()
        command.with_user(self.operator_user).action_cancel()
        self.assertEqual(command.state, "cancelled")
        self.assertEqual(command.cancelled_by_id, self.operator_user)
        with self.assertRaises(UserError):
            command.action_retry()
        self.sim_of(meter).faults.inject(Fault.CRC_ERROR, times=1)
        failed = meter.action_read_now()
        self.run_cron()
        self.assertEqual(failed.state, "failed")
        failed.with_user(self.operator_user).action_retry()
        self.assertEqual(failed.state, "queued")
        self.run_cron()
        self.assertEqual(failed.state, "done")

    def test_operator_commands_only_meters_of_their_sites(self):
        other_building = self._create_site("Other Building", site_type="building", parent=self.area)
        other_floor = self._create_site("Other Floor", site_type="floor", parent=other_building)
        other_room = self._create_room("Other Room", floor=other_floor)
        foreign = self._create_meter(
            model=self.model_sim,
            room=other_room,
            comm_address="9",
            gateway_id=self.gateway_modbus.id,
        )
        with self.assertRaises(AccessError):
            foreign.with_user(self.operator_user).action_relay_off()
        command = foreign.action_relay_off()
        with self.assertRaises(AccessError):
            command.with_user(self.operator_user).action_cancel()
        # Commands are the process's: nobody writes them directly.
        own = self.meters_modbus[0].action_read_now()
        for user in (self.operator_user, self.manager_user):
            with self.assertRaises(AccessError):
                own.with_user(user).write({"state": "done"})

    def test_waiting_commands_follow_the_meter(self):
        meter = self.meters_modbus[0]
        command = meter.action_read_now()
        other = self._create_gateway("Test other line", self.line_modbus.port)
        meter.gateway_id = other
        self.assertEqual(command.gateway_id, other)
        meter.gateway_id = False
        self.assertEqual(command.state, "cancelled")

    def test_comm_log_retention(self):
        meter = self.meters_modbus[0]
        self.sim_of(meter).faults.inject(Fault.NO_ANSWER, times=None)
        for _run in range(3):
            meter.action_read_now()
            self.run_cron()
            self.env["meter.command"].search([("meter_id", "=", meter.id)]).sudo().write(
                {"state": "failed"}
            )
        Log = self.env["meter.comm.log"]
        lines = Log.search([("meter_id", "=", meter.id)])
        self.assertEqual(len(lines), 3)
        self.env["ir.config_parameter"].sudo().set_param("meter_gateway.comm_log_max_rows", 2)
        Log._cron_purge()
        self.assertEqual(len(lines.exists()), 2)
        self.assertEqual(lines.exists(), lines.sorted("id")[-2:], "the newest are kept")
        self.env.cr.execute(
            "UPDATE meter_comm_log SET create_date = now() - interval '8 days' WHERE id = %s",
            [lines.sorted("id")[-2].id],
        )
        Log._cron_purge()
        self.assertEqual(len(lines.exists()), 1)

    def test_meter_without_gateway_keeps_activities(self):
        meter = self._create_meter(model=self.model_sim, comm_address="7")
        result = meter.action_relay_off()
        self.assertEqual(result._name, "mail.activity")
        self.assertFalse(self.env["meter.command"].search([("meter_id", "=", meter.id)]))
