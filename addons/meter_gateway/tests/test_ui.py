"""End to end from the browser: Relay Off on the meter form of a meter on a simulated gateway
(the simulator kind of the demo, served from inside the server on loopback) -> one command ->
the scheduled action sends it over a real socket -> the simulated relay opens -> read back ->
the form shows the supply disconnected."""

from odoo.tests import HttpCase, tagged

from odoo.addons.prepaid_meter.tests.common import PrepaidMeterTestMixin

from ..simulators import service


@tagged("post_install", "-at_install")
class TestUi(PrepaidMeterTestMixin, HttpCase):
    def test_relay_off_from_the_meter_form(self):
        self.env["meter.gateway"].search([]).write({"active": False})
        self._setup_prepaid_registry()
        gateway = self.env["meter.gateway"].create(
            {"name": "Tour simulated bus", "kind": "simulator", "timeout": 0.5, "tz": "UTC"}
        )
        meter = self._create_meter(
            model=self.env.ref("prepaid_meter.prepaid_meter_model_generic_dlt645"),
            name="Tour Gateway Meter",
            serial_number="GW-TOUR-1",
            comm_address="240000009001",
            gateway_id=gateway.id,
        )
        meter.action_activate()
        key = gateway._get_simulator_key()
        self.addCleanup(service.stop_line, key)
        Gateway = self.env["meter.gateway"].sudo()
        self.assertEqual(Gateway._cron_run(), gateway, "polled once: the meter is online")
        (sim,) = service.get_line(key).meters
        self.assertEqual(meter.online_state, "online")
        self.assertTrue(sim.relay_closed)
        url = f"/odoo/action-prepaid_meter.prepaid_meter_action/{meter.id}"
        self.start_tour(url, "meter_gateway_relay_off_tour", login="admin")
        command = self.env["meter.command"].search([("meter_id", "=", meter.id)])
        self.assertEqual((command.action, command.state), ("relay_off", "queued"))
        self.assertEqual(command.requested_by_id, self.env.ref("base.user_admin"))
        Gateway._cron_run()
        self.assertFalse(sim.relay_closed, "the simulated relay opened")
        self.assertEqual((command.state, command.verified), ("done", True))
        self.assertEqual(meter.supply_state, "disconnected")
        self.start_tour(url, "meter_gateway_relay_off_result_tour", login="admin")
