"""Batch tasks over simulated meters: chosen by site and model, run now or at a time, one
command per meter through the queue, per-meter results, retry of the failed ones, cancel,
and the manager rule for tasks spanning several buildings."""

from datetime import timedelta

from odoo import fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from ..simulators import Fault
from .common import MeterGatewayCommon


@tagged("post_install", "-at_install")
class TestBatchTask(MeterGatewayCommon):
    def _create_task(self, user=None, **values):
        Task = (
            self.env["meter.batch.task"].with_user(user) if user else self.env["meter.batch.task"]
        )
        return Task.create({"name": "Test batch", "action": "relay_off", **values})

    def test_relay_off_over_a_building(self):
        task = self._create_task(user=self.operator_user, site_ids=[(6, 0, self.building.ids)])
        self.assertEqual(task.preview_count, 5)
        self.sim_of(self.meters_modbus[2]).faults.inject(Fault.CRC_ERROR, times=None)
        task.action_start()
        self.assertEqual(task.state, "running")
        self.assertEqual(task.started_by_id, self.operator_user)
        self.assertEqual(task.meter_count, 5)
        self.assertEqual(set(task.line_ids.mapped("state")), {"queued"})
        self.run_cron()
        self.env["meter.batch.task"]._cron_run_scheduled()
        self.assertEqual(task.state, "done")
        self.assertEqual(task.done_count, 4)
        self.assertEqual(task.failed_count, 1)
        self.assertEqual(task.progress, 100.0)
        failed = task.line_ids.filtered(lambda line: line.state == "failed")
        self.assertEqual(failed.meter_id, self.meters_modbus[2])
        self.assertIn("corrupted", failed.result)
        for meter in (self.meters_modbus | self.meters_dlt645) - self.meters_modbus[2]:
            self.assertFalse(self.sim_of(meter).relay_closed, meter.display_name)
        # Retry the failed one, now that the line is clean.
        self.sim_of(self.meters_modbus[2]).faults.clear()
        task.with_user(self.operator_user).action_retry_failed()
        self.assertEqual(failed.attempt, 2)
        self.run_cron()
        self.env["meter.batch.task"]._cron_run_scheduled()
        self.assertEqual(failed.state, "done")
        self.assertEqual(task.state, "done")
        self.assertFalse(self.sim_of(self.meters_modbus[2]).relay_closed)
        # Started, its definition is frozen.
        with self.assertRaises(UserError):
            task.with_user(self.operator_user).action = "relay_on"

    def test_by_model_and_domain_skips_meters_without_gateway(self):
        lone = self._create_meter(model=self.model_dlt645, comm_address="240000000999")
        lone.action_activate()
        task = self._create_task(
            action="read_now",
            site_ids=[(6, 0, self.area.ids)],
            meter_model_ids=[(6, 0, self.model_dlt645.ids)],
            meter_domain="[('state', '=', 'active')]",
        )
        task.action_start()
        self.assertEqual(task.line_ids.meter_id, self.meters_dlt645 | lone)
        line = task.line_ids.filtered(lambda line: line.meter_id == lone)
        self.assertEqual(line.state, "skipped")
        self.assertIn("No gateway", line.result)
        self.run_cron()
        self.assertEqual(len(self.readings_of(self.meters_dlt645)), 2)

    def test_request_already_waiting_serves_the_batch(self):
        meter = self.meters_modbus[0]
        waiting = meter.action_read_now()
        task = self._create_task(action="read_now", site_ids=[(6, 0, self.room.ids)])
        task.action_start()
        self.assertEqual(task.line_ids.command_id, waiting)
        self.run_cron()
        self.assertEqual(task.line_ids.state, "done")

    def test_scheduled_then_cancelled(self):
        later = fields.Datetime.now() + timedelta(hours=3)
        task = self._create_task(site_ids=[(6, 0, self.floor.ids)], scheduled_at=later)
        task.action_start()
        self.assertEqual(task.state, "scheduled")
        self.assertFalse(task.line_ids)
        self.env["meter.batch.task"]._cron_run_scheduled()
        self.assertEqual(task.state, "scheduled", "not before its time")
        task.sudo().scheduled_at = fields.Datetime.now() - timedelta(minutes=1)
        self.env["meter.batch.task"]._cron_run_scheduled()
        self.assertEqual(task.state, "running")
        commands = task.line_ids.command_id
        self.assertTrue(commands)
        task.action_cancel()
        self.assertEqual(task.state, "cancelled")
        self.assertEqual(set(commands.mapped("state")), {"cancelled"})
        self.run_cron()
        self.assertTrue(all(self.sim_of(m).relay_closed for m in task.line_ids.meter_id))

    def test_several_buildings_need_a_manager(self):
        other = self._create_site("Test Building 2", site_type="building", parent=self.area)
        floor = self._create_site("Test Floor 2-1", site_type="floor", parent=other)
        room = self._create_room("Test Room 2-101", floor=floor)
        self._create_meter(
            model=self.model_sim, room=room, comm_address="3", gateway_id=self.gateway_modbus.id
        )
        self.link_operator(self.operator_user, other)
        task = self._create_task(user=self.operator_user, site_ids=[(6, 0, self.area.ids)])
        with self.assertRaisesRegex(AccessError, "2 buildings"):
            task.with_user(self.operator_user).action_start()
        self.assertEqual(task.state, "draft")
        task.with_user(self.manager_user).action_start()
        self.assertEqual(task.meter_count, 6)

    def test_set_tariff_needs_a_tariff(self):
        task = self._create_task(action="set_tariff", site_ids=[(6, 0, self.building.ids)])
        with self.assertRaisesRegex(UserError, "tariff"):
            task.action_start()
