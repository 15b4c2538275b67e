"""Concurrent postings on real PostgreSQL connections.

The test transaction cannot show concurrency: the accounts are created and committed in a
cursor of their own, eight workers post top-ups and charges on them at the same time, each
in its own connection and transaction (REPEATABLE READ, as Odoo runs), retrying on
serialization failures as Odoo does, and everything is deleted at the end.
"""

# The workers commit in connections of their own, like concurrent requests.
# pylint: disable=invalid-commit
import threading
import time
from collections import Counter

from psycopg2.errors import SerializationFailure

from odoo import SUPERUSER_ID, Command, api
from odoo.modules.registry import Registry
from odoo.tests import BaseCase, tagged
from odoo.tests.common import get_db_name

WORKERS = 8
POSTINGS_PER_WORKER = 30
ACCOUNTS = 3


@tagged("post_install", "-at_install")
class TestLedgerConcurrency(BaseCase):
    def setUp(self):
        super().setUp()
        self.registry = Registry(get_db_name())
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
            self.created = self._create_accounts(env)
            cr.commit()
        self.addCleanup(self._delete_created)

    def _create_accounts(self, env):
        area = env["prepaid.site"].create({"name": "Concurrency Plaza", "site_type": "area"})
        building = env["prepaid.site"].create(
            {"name": "Concurrency B", "site_type": "building", "parent_id": area.id}
        )
        floor = env["prepaid.site"].create(
            {"name": "Concurrency F1", "site_type": "floor", "parent_id": building.id}
        )
        tariff = env["prepaid.tariff"].create(
            {"name": "Concurrency tariff", "utility": "electricity"}
        )
        tenant = env["res.partner"].create({"name": "Concurrency Tenant"})
        model = env.ref("prepaid_meter.prepaid_meter_model_acrel_ddsy1352")
        rooms = env["prepaid.site"]
        meters = env["prepaid.meter"]
        accounts = env["prepaid.account"]
        for index in range(ACCOUNTS):
            room = env["prepaid.site"].create(
                {"name": f"CC{index}", "site_type": "room", "parent_id": floor.id}
            )
            meter = env["prepaid.meter"].create(
                {"serial_number": f"CONCURRENCY-{index}", "model_id": model.id, "room_id": room.id}
            )
            account = env["prepaid.account"].create(
                {
                    "partner_id": tenant.id,
                    "room_id": room.id,
                    "electricity_tariff_id": tariff.id,
                    "meter_ids": [Command.set(meter.ids)],
                }
            )
            rooms |= room
            meters |= meter
            accounts |= account
        accounts.action_open()
        return {
            "accounts": accounts.ids,
            "meters": meters.ids,
            "sites": (rooms | floor | building | area).ids,
            "tariff": tariff.id,
            "tenant": tenant.id,
        }

    def _delete_created(self):
        created = self.created
        with self.registry.cursor() as cr:
            # Ledger lines are never deleted through the ORM: the test removes its own.
            cr.execute(
                "DELETE FROM prepaid_ledger_line WHERE account_id = ANY(%s)", [created["accounts"]]
            )
            cr.execute("DELETE FROM prepaid_account WHERE id = ANY(%s)", [created["accounts"]])
            cr.execute("DELETE FROM prepaid_meter WHERE id = ANY(%s)", [created["meters"]])
            env = api.Environment(cr, SUPERUSER_ID, {})
            env["prepaid.site"].browse(created["sites"]).unlink()
            env["prepaid.tariff"].browse(created["tariff"]).unlink()
            env["res.partner"].browse(created["tenant"]).unlink()

    def _env(self, cr):
        """An environment on ``cr`` for a worker thread. ``Environment()`` would look the
        registry up under ``Registry._lock``, which the test runner's thread holds while
        post-install tests run: give the cursor its transaction directly."""
        cr.transaction = api.Transaction(self.registry)
        return api.Environment(cr, SUPERUSER_ID, {})

    def _worker(self, number, results):
        """Post top-ups and charges round-robin on the accounts, plus keys every worker
        posts (a replayed callback): retry each posting until it commits."""
        retries = 0
        for index in range(POSTINGS_PER_WORKER):
            account_id = self.created["accounts"][(number + index) % ACCOUNTS]
            if index % 5 == 0:
                entry = ("topup", 10.0, f"shared-{account_id}-{index}")
            elif index % 2:
                entry = ("topup", 3.0, f"worker-{number}-{index}")
            else:
                entry = ("consumption", -1.25, f"worker-{number}-{index}")
            while True:
                with self.registry.cursor() as cr:
                    env = self._env(cr)
                    try:
                        env["prepaid.ledger"]._post(
                            [
                                {
                                    "account": env["prepaid.account"].browse(account_id),
                                    "kind": entry[0],
                                    "amount": entry[1],
                                    "key": entry[2],
                                }
                            ]
                        )
                        cr.commit()
                    except SerializationFailure:
                        cr.rollback()
                        retries += 1
                        continue
                break
            results.append((account_id, *entry))
        results.append(("retries", retries))

    def test_concurrent_postings_lose_nothing_and_post_nothing_twice(self):
        results = []
        threads = [
            threading.Thread(target=self._worker, args=(number, results), daemon=True)
            for number in range(WORKERS)
        ]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 300
        for thread in threads:
            thread.join(timeout=max(deadline - time.monotonic(), 0))
        self.assertFalse([thread for thread in threads if thread.is_alive()], "a worker hung")
        postings = [row for row in results if row[0] != "retries"]
        self.assertEqual(len(postings), WORKERS * POSTINGS_PER_WORKER, "a worker failed")

        expected = {}
        for account_id, _kind, amount, key in postings:
            expected.setdefault(account_id, {})[key] = amount
        with self.registry.cursor() as cr:
            for account_id in self.created["accounts"]:
                cr.execute(
                    """SELECT idempotency_key, amount, balance_after FROM prepaid_ledger_line
                        WHERE account_id = %s ORDER BY id""",
                    [account_id],
                )
                lines = cr.fetchall()
                keys = Counter(key for key, _amount, _after in lines)
                self.assertEqual(max(keys.values()), 1, "a key was posted twice")
                self.assertEqual(set(keys), set(expected[account_id]), "a posting was lost")
                running = 0
                for _key, amount, after in lines:
                    running += amount
                    self.assertEqual(after, running, "a balance after does not follow its line")
                cr.execute("SELECT balance FROM prepaid_account WHERE id = %s", [account_id])
                self.assertEqual(cr.fetchone()[0], running, "lost update of the balance")
                self.assertAlmostEqual(float(running), sum(expected[account_id].values()), places=2)
