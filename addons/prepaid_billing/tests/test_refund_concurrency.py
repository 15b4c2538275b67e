"""Refunds submitted at the same time on real PostgreSQL connections.

The account is created, credited and committed in a cursor of its own; four workers, each in
its own connection and transaction (REPEATABLE READ, as Odoo runs), submit a refund of more
than half the balance at the same time, retrying on serialization failures as Odoo does: one
is paid out, the others are refused, and the balance is never paid out twice. Everything is
deleted at the end.
"""

# The workers commit in connections of their own, like concurrent requests.
# pylint: disable=invalid-commit
import threading
import time

from psycopg2.errors import SerializationFailure

from odoo import SUPERUSER_ID, Command, api
from odoo.exceptions import UserError
from odoo.modules.registry import Registry
from odoo.tests import BaseCase, tagged
from odoo.tests.common import get_db_name

WORKERS = 4


@tagged("post_install", "-at_install")
class TestRefundConcurrency(BaseCase):
    def setUp(self):
        super().setUp()
        self.registry = Registry(get_db_name())
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
            sites = env["prepaid.site"]
            for name, site_type in (
                ("Refund Race Plaza", "area"),
                ("Refund Race B", "building"),
                ("Refund Race F1", "floor"),
                ("Refund Race R1", "room"),
            ):
                sites |= env["prepaid.site"].create(
                    {"name": name, "site_type": site_type, "parent_id": sites[-1:].id}
                )
            site = sites[-1]
            meter = env["prepaid.meter"].create(
                {
                    "serial_number": "REFUND-RACE-1",
                    "model_id": env.ref("prepaid_meter.prepaid_meter_model_acrel_ddsy1352").id,
                    "room_id": site.id,
                }
            )
            tenant = env["res.partner"].create({"name": "Refund Race Tenant"})
            tariff = env["prepaid.tariff"].create({"name": "Refund race", "utility": "electricity"})
            account = env["prepaid.account"].create(
                {
                    "partner_id": tenant.id,
                    "room_id": site.id,
                    "electricity_tariff_id": tariff.id,
                    "meter_ids": [Command.set(meter.ids)],
                }
            )
            account.action_open()
            env["prepaid.ledger"]._post(
                [{"account": account, "kind": "topup", "amount": 100.0, "key": "race-credit"}]
            )
            self.created = {
                "account": account.id,
                "meter": meter.id,
                "sites": sites.ids,
                "tenant": tenant.id,
                "tariff": tariff.id,
            }
            cr.commit()
        self.addCleanup(self._delete_created)

    def _delete_created(self):
        created = self.created
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            refunds = env["prepaid.refund"].search([("account_id", "=", created["account"])])
            payments = refunds.payment_id
            payments.action_draft()
            payments.unlink()
            cr.execute("DELETE FROM prepaid_refund WHERE id = ANY(%s)", [refunds.ids])
            # Ledger lines are never deleted through the ORM: the test removes its own.
            cr.execute(
                "DELETE FROM prepaid_ledger_line WHERE account_id = %s", [created["account"]]
            )
            cr.execute("DELETE FROM prepaid_account WHERE id = %s", [created["account"]])
            cr.execute("DELETE FROM prepaid_meter WHERE id = %s", [created["meter"]])
            env["prepaid.site"].browse(created["sites"][::-1]).unlink()
            env["prepaid.tariff"].browse(created["tariff"]).unlink()
            env["res.partner"].browse(created["tenant"]).unlink()

    def _env(self, cr):
        """An environment for a worker thread (see test_ledger_concurrency)."""
        cr.transaction = api.Transaction(self.registry)
        return api.Environment(cr, SUPERUSER_ID, {})

    def _worker(self, number, start, results):
        start.wait()
        retries = 0
        while True:
            with self.registry.cursor() as cr:
                env = self._env(cr)
                try:
                    refund = env["prepaid.refund"].create(
                        {
                            "account_id": self.created["account"],
                            "amount": 60.0,
                            "reason": f"Race {number}",
                            "request_key": f"race-{number}",
                        }
                    )
                    refund.action_submit()
                    cr.commit()
                    results.append(("paid", number, retries))
                except SerializationFailure:
                    cr.rollback()
                    retries += 1
                    continue
                except UserError as error:
                    cr.rollback()
                    results.append(("refused", number, str(error)))
            break

    def test_a_balance_is_refunded_once(self):
        results = []
        start = threading.Event()
        threads = [
            threading.Thread(target=self._worker, args=(number, start, results), daemon=True)
            for number in range(WORKERS)
        ]
        for thread in threads:
            thread.start()
        start.set()
        deadline = time.monotonic() + 60
        for thread in threads:
            thread.join(max(deadline - time.monotonic(), 0))
        self.assertFalse([thread for thread in threads if thread.is_alive()], "workers hung")
        outcomes = sorted(result[0] for result in results)
        self.assertEqual(outcomes, ["paid"] + ["refused"] * (WORKERS - 1), results)
        for outcome, _number, message in results:
            if outcome == "refused":
                self.assertIn("40.00 to refund", message)
        with self.registry.cursor() as cr:
            cr.execute(
                "SELECT a.balance::text, (SELECT sum(amount)::text FROM prepaid_ledger_line l"
                " WHERE l.account_id = a.id) FROM prepaid_account a WHERE a.id = %s",
                [self.created["account"]],
            )
            balance, total = cr.fetchone()
            self.assertEqual((float(balance), float(total)), (40.0, 40.0))
