"""Polling against simulated lines over real sockets: readings ingested through prepaid_meter's
batch ingestion, online/offline detection, clock synchronisation, leases shared by several
cron workers (real database connections in threads)."""

import threading
import time
from datetime import timedelta
from decimal import Decimal
from unittest.mock import patch

from odoo import api, fields
from odoo.modules.registry import Registry
from odoo.tests import tagged

from ..simulators import SIMULATOR_MAP, Fault, LineTiming, make_meters
from .common import FAST_TIMEOUT, MeterGatewayCommon


@tagged("post_install", "-at_install")
class TestPolling(MeterGatewayCommon):
    def test_poll_ingests_readings(self):
        for index, sim in enumerate(self.sim_modbus + self.sim_dlt645):
            sim.set_energy(Decimal("100.25") + index)
        visited = self.run_cron()
        self.assertEqual(visited, self.gateway_modbus | self.gateway_dlt645)
        meters = self.meters_modbus | self.meters_dlt645
        readings = self.readings_of(meters)
        self.assertEqual(len(readings), len(meters))
        by_meter = {reading.meter_id: reading.total for reading in readings}
        for meter in meters:
            expected = float(self.sim_of(meter).energy_total)
            self.assertAlmostEqual(by_meter[meter], expected, places=2)
        self.assertEqual(set(meters.mapped("online_state")), {"online"})
        self.assertEqual(set(meters.mapped("supply_state")), {"connected"})
        for gateway in visited:
            self.assertEqual(gateway.online_state, "online")
            self.assertEqual(gateway.failure_count, 0)
            self.assertGreater(gateway.next_poll_at, fields.Datetime.now())
        # Successful polls are not logged by default (failures and commands only).
        self.assertFalse(self.env["meter.comm.log"].search([("gateway_id", "in", visited.ids)]))
        # Not due again before the interval: the next run visits nothing.
        self.assertFalse(self.run_cron())

    def test_balance_register_goes_with_the_readings_of_meters_keeping_the_balance(self):
        """The remaining balance register goes to the ingestion (for billing to mirror and
        reconcile) for the meters that keep their account's balance, and only for them."""
        small = self._start_line("modbus_rtu", make_meters(self.clock, 2), SIMULATOR_MAP)
        gateway = self._create_gateway("Test balances", small.port)
        meter_side, platform = (
            self._create_meter(
                model=self.model_sim, comm_address=str(sim.unit), gateway_id=gateway.id
            )
            for sim in small.meters
        )
        self._create_account(meters=meter_side, billing_mode="prepaid_meter")
        Reading = type(self.env["prepaid.reading"])
        ingested = []
        ingest = Reading._ingest

        def capture(model, rows, source="gateway"):
            rows = list(rows)
            ingested.extend(rows)
            return ingest(model, rows, source=source)

        with patch.object(Reading, "_ingest", capture):
            gateway._visit()
        by_meter = {row["meter_id"]: row for row in ingested}
        self.assertIn("remaining_amount", by_meter[meter_side.id])
        self.assertNotIn("remaining_amount", by_meter[platform.id])

    def test_dead_gateway_goes_offline(self):
        gateway = self._create_gateway("Test unreachable", 1, offline_after=2)
        meter = self._create_meter(model=self.model_sim, comm_address="1", gateway_id=gateway.id)
        for _run in range(2):
            gateway.sudo().next_poll_at = False
            self.run_cron()
        self.assertEqual(gateway.failure_count, 2)
        self.assertEqual(gateway.online_state, "offline")
        self.assertIn("could not be reached", gateway.last_error)
        self.assertEqual(meter.online_state, "offline")
        self.assertFalse(self.readings_of(meter))

    def test_flagged_meter_does_not_stop_the_line(self):
        """One meter answering with another's address: flagged, nothing ingested for it; the
        other meters of the bus are read as usual."""
        bad = self.meters_modbus[1]
        self.sim_of(bad).faults.inject(Fault.WRONG_ADDRESS, times=None)
        self.run_cron()
        self.assertFalse(self.readings_of(bad))
        self.assertIn("Another meter answered", bad.last_comm_error)
        self.assertEqual(bad.comm_failure_count, 1)
        self.assertEqual(len(self.readings_of(self.meters_modbus - bad)), 2)
        log = self.env["meter.comm.log"].search([("meter_id", "=", bad.id)])
        self.assertEqual(log.error_code, "address")
        self.assertIn("<<", log.frames)

    def _poll_again(self, gateways):
        time.sleep(1.05)  # readings are per second: the next poll must be a new one
        gateways.sudo().next_poll_at = False
        self.run_cron()

    def test_late_answer_is_not_taken_for_the_next_meter(self):
        """A reply arriving after the timeout would collide with the next request on a real
        line: it is dropped, the late meter counts a failure, the next meters read right."""
        late = self.meters_modbus[0]
        self.sim_of(late).faults.inject(Fault.LATE_ANSWER, times=1, delay=FAST_TIMEOUT + 0.05)
        for index, sim in enumerate(self.sim_modbus):
            sim.set_energy(Decimal(10 * (index + 1)))
        self.run_cron()
        self.assertFalse(self.readings_of(late))
        self.assertEqual(late.comm_failure_count, 1)
        for meter in self.meters_modbus - late:
            self.assertEqual(self.readings_of(meter).total, float(self.sim_of(meter).energy_total))

    def test_roll_over_counted_replaced_meter_held(self):
        """A register passing 999999.99 rolls over: the reading is flagged and counted through
        zero. A meter replaced behind the same address reads from zero: held for review, no
        consumption counted from it."""
        rolling, replaced = self.meters_dlt645
        self.sim_of(rolling).set_energy(Decimal("999999.50"))
        self.sim_of(replaced).set_energy(Decimal("5000.00"))
        self.run_cron()
        self.clock.advance(hours=2)
        self.sim_of(replaced).replace(replaced.comm_address, serial="NEW-SERIAL")
        self._poll_again(self.gateway_dlt645)
        last = self.readings_of(rolling).sorted("read_at")[-1]
        self.assertEqual(last.quality, "rollover")
        self.assertGreater(last.consumption, 0)
        self.assertLess(last.consumption, 10)
        held = self.readings_of(replaced).sorted("read_at")[-1]
        self.assertEqual(held.quality, "backwards")
        self.assertEqual(held.review_state, "pending")
        self.assertEqual(held.consumption, 0)

    def test_clock_drift_synchronised(self):
        meter = self.meters_dlt645[0]
        for sim in self.sim_dlt645:
            sim.clock_offset += timedelta(minutes=10)
        self.run_cron()
        self.assertGreaterEqual(meter.clock_drift, 590)
        events = self.env["prepaid.meter.event"].search(
            [("meter_id", "=", meter.id), ("event_type", "=", "clock_error")]
        )
        self.assertTrue(events)
        # The broadcast reached the meters: the next poll finds their clocks right.
        self.gateway_dlt645.sudo().next_poll_at = False
        self.run_cron()
        self.assertLess(abs(meter.clock_drift), 5)

    def test_lease_keeps_other_workers_away_until_it_expires(self):
        Gateway = self.env["meter.gateway"].sudo()
        claimed, owner = Gateway._claim_gateways(10)
        self.assertEqual(claimed, self.gateway_modbus | self.gateway_dlt645)
        again, _owner = Gateway._claim_gateways(10)
        self.assertFalse(again, "leased gateways are not claimed twice")
        # A worker that died: its lease expires and another worker takes the gateway over.
        self.gateway_modbus.sudo().lease_until = fields.Datetime.now() - timedelta(seconds=1)
        taken, _owner = Gateway._claim_gateways(10)
        self.assertEqual(taken, self.gateway_modbus)
        claimed._release(owner)
        self.assertEqual(self.gateway_dlt645.lease_owner, False)

    def test_visit_queries_do_not_grow_with_the_meters(self):
        """A steady-state poll costs the same statements for 2 meters as for 6 (batch
        ingestion, grouped updates), so a large bus is no slower per meter in the database."""
        small = self._start_line("modbus_rtu", make_meters(self.clock, 2), SIMULATOR_MAP)
        large = self._start_line("modbus_rtu", make_meters(self.clock, 6), SIMULATOR_MAP)
        counts = []
        for server in (small, large):
            gateway = self._create_gateway(f"Test {len(server.meters)}", server.port)
            for sim in server.meters:
                self._create_meter(
                    model=self.model_sim, comm_address=str(sim.unit), gateway_id=gateway.id
                )
            gateway._visit()  # first contact: meters come online (tracked changes)
            time.sleep(1.05)  # readings are per second: the next poll must be a new one
            for sim in server.meters:
                sim.set_energy(sim.energy_total + 1)
            gateway.sudo().next_poll_at = False
            self.env.flush_all()
            before = self.env.cr.sql_log_count
            gateway._visit()
            self.env.flush_all()
            counts.append(self.env.cr.sql_log_count - before)
            self.assertEqual(len(self.readings_of(gateway.meter_ids)), 2 * len(server.meters))
        self.assertEqual(counts[0], counts[1])

    def test_bounded_runs_retrigger(self):
        cron = self.env.ref("meter_gateway.meter_gateway_cron_run")
        triggers = self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)])
        first = self.run_cron(limit=1)
        self.assertEqual(len(first), 1)
        self.assertGreater(
            self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)]), triggers
        )
        second = self.run_cron(limit=1)
        self.assertEqual(first | second, self.gateway_modbus | self.gateway_dlt645)


@tagged("post_install", "-at_install")
class TestPollingWorkers(MeterGatewayCommon):
    """Two cron workers, each with its own database connection (committed data), run the
    scheduled action at the same time: each gateway is visited by exactly one of them."""

    def test_two_workers_never_poll_the_same_gateway(self):
        registry = Registry(self.env.cr.dbname)
        gateway_ids, meter_ids = [], []
        # The class data lives in the test transaction, invisible to other connections: build
        # committed data of our own (removed at the end). Gateways the test transaction has
        # written (demo ones, archived in setUpClass) are row-locked by it, so the workers'
        # SKIP LOCKED claims pass them by.
        with registry.cursor() as cr:
            env = api.Environment(cr, api.SUPERUSER_ID, {})
            model = env.ref("prepaid_meter.prepaid_meter_model_generic_dlt645")
            for index in range(6):
                # Paced like a real line, so that a visit lasts long enough for both workers
                # to be claiming at the same time.
                server = self._start_line(
                    "dlt645", self.sim_dlt645[:1], line=LineTiming(9600, latency=0.02)
                )
                gateway = env["meter.gateway"].create(
                    {
                        "name": f"Worker test line {index}",
                        "kind": "serial_server",
                        "host": "127.0.0.1",
                        "port": server.port,
                        "timeout": FAST_TIMEOUT,
                        "tz": "UTC",
                    }
                )
                meter = env["prepaid.meter"].create(
                    {
                        "name": f"Worker test meter {index}",
                        "serial_number": f"WORKERTEST{index}",
                        "model_id": model.id,
                        "comm_address": self.sim_dlt645[0].address,
                        "gateway_id": gateway.id,
                    }
                )
                gateway_ids.append(gateway.id)
                meter_ids.append(meter.id)

        def cleanup():
            with registry.cursor() as cr:
                for query in (
                    "DELETE FROM mail_message WHERE model = 'prepaid.meter' AND res_id = ANY(%s)",
                    "DELETE FROM mail_followers WHERE res_model = 'prepaid.meter' "
                    "AND res_id = ANY(%s)",
                    "DELETE FROM prepaid_meter WHERE id = ANY(%s)",
                ):
                    cr.execute(query, [meter_ids])
                cr.execute("DELETE FROM meter_gateway WHERE id = ANY(%s)", [gateway_ids])

        self.addCleanup(cleanup)
        visits = {0: [], 1: []}
        errors = []
        barrier = threading.Barrier(2)

        def worker(number):
            try:
                with registry.cursor() as cr:
                    cr.transaction = api.Transaction(registry)
                    env = api.Environment(cr, api.SUPERUSER_ID, {})
                    barrier.wait(10)
                    for _run in range(4):
                        visited = env["meter.gateway"]._cron_run(limit=2)
                        visits[number] += visited.ids
                        cr.commit()  # pylint: disable=invalid-commit
            except Exception as error:
                errors.append(error)

        threads = [threading.Thread(target=worker, args=(number,)) for number in (0, 1)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        self.assertFalse(errors)
        self.assertFalse(set(visits[0]) & set(visits[1]), "no gateway visited by both workers")
        self.assertEqual(sorted(visits[0] + visits[1]), sorted(gateway_ids))
        self.assertTrue(visits[0] and visits[1], "both workers had work")
