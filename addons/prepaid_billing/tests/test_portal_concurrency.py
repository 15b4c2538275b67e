"""An online payment post-processed by several requests at the same time, on real
PostgreSQL connections: the status page polled from two browser tabs, the provider's
notification and the post-processing cron. The account and the done transaction are
committed in a cursor of their own, the workers post-process in theirs (REPEATABLE READ, as
Odoo runs; a request that loses the race is retried like ``/payment/status/poll`` retries),
and everything is deleted at the end.
"""

# The workers commit in connections of their own, like concurrent requests.
# pylint: disable=invalid-commit
import threading
import time
import uuid

from psycopg2 import IntegrityError, OperationalError

from odoo import SUPERUSER_ID, Command, api
from odoo.modules.registry import Registry
from odoo.tests import BaseCase, tagged
from odoo.tests.common import get_db_name
from odoo.tools import mute_logger

WORKERS = 4


@tagged("post_install", "-at_install")
class TestOnlineTopupConcurrency(BaseCase):
    def setUp(self):
        super().setUp()
        self.registry = Registry(get_db_name())
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
            provider = env.ref("payment.payment_provider_demo")
            if provider.code != "demo":
                self.skipTest("payment_demo is not installed (make test installs it)")
            self.created = self._create_paid_transaction(env, provider)
            cr.commit()
        self.addCleanup(self._delete_created)

    def _create_paid_transaction(self, env, provider):
        area = env["prepaid.site"].create({"name": "Online Plaza", "site_type": "area"})
        building = env["prepaid.site"].create(
            {"name": "Online B", "site_type": "building", "parent_id": area.id}
        )
        floor = env["prepaid.site"].create(
            {"name": "Online F1", "site_type": "floor", "parent_id": building.id}
        )
        room = env["prepaid.site"].create(
            {"name": "ON101", "site_type": "room", "parent_id": floor.id}
        )
        tariff = env["prepaid.tariff"].create({"name": "Online tariff", "utility": "electricity"})
        tenant = env["res.partner"].create({"name": "Online Tenant"})
        meter = env["prepaid.meter"].create(
            {
                "serial_number": f"ONLINE-{uuid.uuid4().hex[:8]}",
                "model_id": env.ref("prepaid_meter.prepaid_meter_model_acrel_ddsy1352").id,
                "room_id": room.id,
            }
        )
        account = env["prepaid.account"].create(
            {
                "partner_id": tenant.id,
                "room_id": room.id,
                "electricity_tariff_id": tariff.id,
                "meter_ids": [Command.set(meter.ids)],
            }
        )
        account.action_open()
        provider.write({"state": "test", "is_published": True})
        tx = env["payment.transaction"].create(
            {
                "provider_id": provider.id,
                "payment_method_id": env.ref("payment_demo.payment_method_demo").id,
                "reference": f"ONLINE-{uuid.uuid4().hex[:12]}",
                "amount": 150.0,
                "currency_id": account.currency_id.id,
                "partner_id": tenant.id,
                "operation": "online_direct",
                "prepaid_account_id": account.id,
            }
        )
        tx._set_done()
        return {
            "tx": tx.id,
            "account": account.id,
            "meter": meter.id,
            "sites": (room | floor | building | area).ids,
            "tariff": tariff.id,
            "tenant": tenant.id,
        }

    def _delete_created(self):
        created = self.created
        with self.registry.cursor() as cr:
            account = created["account"]
            cr.execute(
                """SELECT p.id, p.move_id FROM account_payment p
                     JOIN prepaid_topup t ON t.payment_id = p.id WHERE t.account_id = %s""",
                [account],
            )
            payments = cr.fetchall()
            cr.execute("DELETE FROM payment_transaction WHERE id = %s", [created["tx"]])
            if payments:
                cr.execute(
                    "DELETE FROM account_payment WHERE id = ANY(%s)", [[p for p, _m in payments]]
                )
                cr.execute(
                    "DELETE FROM account_move WHERE id = ANY(%s)", [[m for _p, m in payments if m]]
                )
            # Ledger lines and paid top-ups are never deleted through the ORM.
            cr.execute("DELETE FROM prepaid_ledger_line WHERE account_id = %s", [account])
            cr.execute("DELETE FROM prepaid_topup WHERE account_id = %s", [account])
            cr.execute("DELETE FROM prepaid_account WHERE id = %s", [account])
            cr.execute("DELETE FROM prepaid_meter WHERE id = %s", [created["meter"]])
            env = api.Environment(cr, SUPERUSER_ID, {})
            env["prepaid.site"].browse(created["sites"]).unlink()
            env["prepaid.tariff"].browse(created["tariff"]).unlink()
            env["res.partner"].browse(created["tenant"]).unlink()

    def _env(self, cr):
        # See test_ledger_concurrency: the runner's thread holds the registry lock.
        cr.transaction = api.Transaction(self.registry)
        return api.Environment(cr, SUPERUSER_ID, {})

    def _worker(self, barrier, results):
        """Post-process the transaction as a poll of the status page does: retry the whole
        request when it loses the race (a serialization failure or the top-up's unique
        request key)."""
        attempts = 0
        while attempts < 20:
            attempts += 1
            with self.registry.cursor() as cr:
                env = self._env(cr)
                tx = env["payment.transaction"].browse(self.created["tx"])
                try:
                    if attempts == 1:
                        barrier.wait(timeout=30)
                    if not tx.is_post_processed:
                        tx._post_process()
                    cr.commit()
                except (OperationalError, IntegrityError):
                    cr.rollback()
                    continue
            results.append(attempts)
            return

    def test_concurrent_post_processing_credits_once(self):
        barrier = threading.Barrier(WORKERS)
        results = []
        threads = [
            threading.Thread(target=self._worker, args=(barrier, results), daemon=True)
            for _index in range(WORKERS)
        ]
        # The requests that lose the race fail on the top-up's unique request key or on a
        # serialization failure, which the database cursor logs before they are retried.
        with mute_logger("odoo.sql_db"):
            for thread in threads:
                thread.start()
            deadline = time.monotonic() + 120
            for thread in threads:
                thread.join(timeout=max(deadline - time.monotonic(), 0))
        self.assertFalse([thread for thread in threads if thread.is_alive()], "a worker hung")
        self.assertEqual(len(results), WORKERS, "a worker gave up")
        with self.registry.cursor() as cr:
            account = self.created["account"]
            cr.execute(
                "SELECT count(*), sum(amount) FROM prepaid_topup WHERE account_id = %s", [account]
            )
            self.assertEqual(cr.fetchone(), (1, 150.0))
            cr.execute(
                "SELECT count(*), sum(amount) FROM prepaid_ledger_line WHERE account_id = %s",
                [account],
            )
            self.assertEqual(cr.fetchone(), (1, 150.0))
            cr.execute("SELECT balance FROM prepaid_account WHERE id = %s", [account])
            self.assertEqual(cr.fetchone()[0], 150.0)
            cr.execute(
                "SELECT is_post_processed, prepaid_topup_id IS NOT NULL FROM payment_transaction "
                "WHERE id = %s",
                [self.created["tx"]],
            )
            self.assertEqual(cr.fetchone(), (True, True))
