"""Gateway settings, the *Test connection* button, credentials and the access policy, tried
through the ORM and over XML-RPC as each group."""

import xmlrpc.client

from odoo.exceptions import AccessError, ValidationError
from odoo.tests import HttpCase, tagged
from odoo.tools.misc import file_path

from odoo.addons.prepaid_meter.tests.common import PrepaidAccessTestMixin

from ..simulators import Fault
from .common import MeterGatewayCommon


@tagged("post_install", "-at_install")
class TestGateway(PrepaidAccessTestMixin, MeterGatewayCommon, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.admin_user = cls._create_prepaid_user("test_gateway_admin", "admin")

    def test_settings_are_checked(self):
        with self.assertRaisesRegex(ValidationError, "one request at a time"):
            self._create_gateway("Two at once", 4001, concurrency=2)
        with self.assertRaisesRegex(ValidationError, "host and a port"):
            self.env["meter.gateway"].create({"name": "No host", "kind": "modbus_tcp"})
        with self.assertRaisesRegex(ValidationError, "serial device"):
            self.env["meter.gateway"].create({"name": "No port", "kind": "serial"})
        with self.assertRaisesRegex(ValidationError, "12 digits"):
            self.meters_dlt645[0].comm_address = "12345"
        with self.assertRaisesRegex(ValidationError, "1 to 247"):
            self.meters_modbus[0].comm_address = "300"
        self.assertEqual(
            self._create_gateway(
                "Modbus TCP device", 502, kind="modbus_tcp", concurrency=4
            ).concurrency,
            4,
        )

    def test_test_connection(self):
        action = self.gateway_dlt645.with_user(self.operator_user).action_test_connection()
        self.assertEqual(action["params"]["type"], "success")
        self.assertIn("answered", action["params"]["message"])
        self.sim_of(self.meters_dlt645[0]).faults.inject(Fault.NO_ANSWER, times=None)
        action = self.gateway_dlt645.action_test_connection()
        self.assertEqual(action["params"]["type"], "danger")
        self.assertIn("did not answer", action["params"]["message"])
        log = self.env["meter.comm.log"].search([("gateway_id", "=", self.gateway_dlt645.id)])
        self.assertTrue(log.filtered(lambda line: not line.ok and line.frames))
        unreachable = self._create_gateway("Nobody there", 1)
        self._create_meter(model=self.model_sim, comm_address="1", gateway_id=unreachable.id)
        action = unreachable.action_test_connection()
        self.assertIn("could not be reached", action["params"]["message"])

    def test_neutralize(self):
        """A copied database never talks to the production meters."""
        command = self.meters_modbus[0].action_relay_off()
        path = file_path("meter_gateway/data/neutralize.sql")
        with open(path, encoding="utf-8") as sql:
            self.env.cr.execute(sql.read())
        self.env.invalidate_all()
        self.assertFalse(self.gateway_modbus.active or self.gateway_modbus.poll_enabled)
        self.assertEqual(command.state, "cancelled")
        self.assertFalse(self.env.ref("meter_gateway.meter_gateway_cron_run").active)
        self.assertFalse(self.run_cron())
        self.assertTrue(self.sim_of(self.meters_modbus[0]).relay_closed)

    def test_dlms_gateway_fails_clearly(self):
        gateway = self._create_gateway("DLMS wrapper", 4059, kind="dlms_tcp")
        meter = self._create_meter(
            model=self.env.ref("prepaid_meter.prepaid_meter_model_generic_dlms"),
            comm_address="1",
            gateway_id=gateway.id,
        )
        action = gateway.action_test_connection()
        self.assertEqual(action["params"]["type"], "danger")
        self.assertRegex(action["params"]["message"], "gurux-dlms|DLMS/COSEM")
        # No DLMS driver: requests stay with the staff, polls say why on the gateway.
        self.assertEqual(meter.action_read_now()._name, "mail.activity")
        self.run_cron()
        self.assertRegex(gateway.last_error, "gurux-dlms|DLMS/COSEM")
        self.assertEqual(meter.online_state, "unknown", "a settings problem is not the meter's")

    def test_credentials_write_only_for_administrators(self):
        meter = self.meters_dlt645[0]
        meter.with_user(self.admin_user).write(
            {"dlt645_password": "000000", "dlt645_operator_code": "12345678"}
        )
        self.assertTrue(meter.has_credentials)
        self.assertEqual(meter._get_credentials()[meter.id]["dlt645_operator_code"], "12345678")
        # Never read back, not even by administrators, through any client.
        self.assertFalse(meter.with_user(self.admin_user).dlt645_password)
        values = self.rpc(self.admin_user, "prepaid.meter", "read", [meter.id], ["dlt645_password"])
        self.assertFalse(values[0]["dlt645_password"])
        for user in (self.operator_user, self.manager_user):
            with self.subTest(user=user.login):
                self.assertRpcRefused(
                    user, meter, "write", ({"dlt645_password": "111111"},), "Administrator|access"
                )
                with self.assertRaises(xmlrpc.client.Fault):
                    self.rpc(user, "prepaid.meter", "read", [meter.id], ["dlt645_password"])
        self.assertEqual(meter._get_credentials()[meter.id]["dlt645_password"], "000000")
        with self.assertRaisesRegex(ValidationError, "6 digits"):
            meter.dlt645_password = "abc"
        # Still works with the stored credentials (the simulated meter's password).
        command = meter.action_relay_off()
        self.run_cron()
        self.assertEqual(command.state, "done")
        log = self.env["meter.comm.log"].search([("meter_id", "=", meter.id)], limit=1)
        self.assertIn("masked", log.frames)
        self.assertNotIn("12345678", log.frames)

    def test_access_policy(self):
        gateway = self.gateway_modbus
        # Operators see the gateways of their building, change nothing.
        self.assertEqual(
            self.rpc(
                self.operator_user, "meter.gateway", "search_count", [("id", "=", gateway.id)]
            ),
            1,
        )
        self.assertWriteRefused(
            self.operator_user, gateway, {"host": "10.0.0.1", "poll_interval": 1}, "Manager|access"
        )
        self.assertWriteRefused(
            self.manager_user, gateway, {"online_state": "online", "lease_owner": "x"}, "kept by"
        )
        elsewhere = self._create_site("Test Elsewhere", site_type="building", parent=self.area)
        foreign = self._create_gateway("Test foreign line", 1, site_id=elsewhere.id)
        self.assertRefused(
            self.operator_user, foreign, "action_test_connection", message="restrict|access"
        )
        gateway.with_user(self.manager_user).write({"poll_interval": 5})
        self.assertEqual(gateway.poll_interval, 5)
        # Meter communication settings: managers.
        self.assertWriteRefused(
            self.operator_user, self.meters_modbus[0], {"gateway_id": False}, "Manager"
        )
        with self.assertRaises(AccessError):
            self.meters_modbus[0].with_user(self.operator_user).comm_failure_count = 0
        # Commands: who and when.
        command = self.meters_modbus[0].with_user(self.operator_user).action_read_now()
        self.assertEqual(command.requested_by_id, self.operator_user)
        values = self.rpc(
            self.operator_user, "meter.command", "read", command.ids, ["requested_by_id"]
        )
        self.assertEqual(values[0]["requested_by_id"][0], self.operator_user.id)
        self.assertRpcRefused(self.operator_user, command, "write", ({"state": "done"},), "kept by")
        # Batch tasks: the process owns their state and lines; operators see their own tasks.
        task = (
            self.env["meter.batch.task"]
            .with_user(self.operator_user)
            .create({"name": "Test RPC batch", "action": "read_now"})
        )
        self.assertWriteRefused(
            self.operator_user,
            task,
            {"state": "done", "started_by_id": self.manager_user.id},
            "kept by",
        )
        other = self.env["meter.batch.task"].create({"name": "Not yours", "action": "read_now"})
        self.assertFalse(
            self.rpc(self.operator_user, "meter.batch.task", "search", [("id", "=", other.id)])
        )
