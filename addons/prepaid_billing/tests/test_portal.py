"""The tenant portal and the online top-up, through real HTTP requests, JSON-RPC and XML-RPC
as portal users, the public user with a label's access token, and staff.

Online payments go through ``payment_demo`` (installed beside the suite by ``make test``
and ``make run``; prepaid_billing does not depend on it): the tests skip without it.
"""

import json
import xmlrpc.client
from datetime import date, datetime, timedelta

from odoo import Command
from odoo.exceptions import ValidationError
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tools import mute_logger

from odoo.addons.prepaid_meter.tests.common import PrepaidAccessTestMixin

from ..controllers.portal_chart import stacked_bar_chart
from .test_topup import PrepaidTopupCommon


class PrepaidPortalCommon(PrepaidAccessTestMixin, PrepaidTopupCommon, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.provider = cls.env.ref("payment.payment_provider_demo")
        cls.tenant.email = "tenant.a@example.com"
        cls.tenant_user = new_test_user(
            cls.env,
            login="portal_tenant_a",
            groups="base.group_portal",
            partner_id=cls.tenant.id,
        )
        # Tenant B: another room, another portal user.
        cls.room_b = cls._create_room("Test Room 102")
        cls.tenant_b = cls.env["res.partner"].create(
            {"name": "Tenant B", "email": "tenant.b@example.com"}
        )
        cls.tenant_b_user = new_test_user(
            cls.env, login="portal_tenant_b", groups="base.group_portal", partner_id=cls.tenant_b.id
        )
        cls.account_b = cls._create_open_account(room=cls.room_b, partner=cls.tenant_b)
        cls.topup_b = cls._sell_as_staff(cls.account_b, 70.0)

    @classmethod
    def _sell_as_staff(cls, account, amount):
        counter = cls.env["prepaid.topup.counter"].create(
            {"account_id": account.id, "amount": amount}
        )
        counter.action_sell()
        return counter.topup_id

    def setUp(self):
        super().setUp()
        if self.provider.code != "demo":
            self.skipTest("payment_demo is not installed (make test installs it)")
        self.provider.write({"state": "test", "is_published": True})

    # === HELPERS === #

    def json_call(self, url, **params):
        """A JSON-RPC call to a ``type="json"`` route of the current session."""
        response = self.url_open(
            url,
            data=json.dumps({"jsonrpc": "2.0", "method": "call", "params": params}),
            headers={"Content-Type": "application/json"},
        )
        self.assertEqual(response.status_code, 200)
        return response.json()

    def start_online_topup(self, account, amount, access_token=None):
        """Create the transaction as the payment form does; return the transaction."""
        reply = self.json_call(
            f"/my/utilities/{account.id}/transaction",
            provider_id=self.provider.id,
            payment_method_id=self.env.ref("payment_demo.payment_method_demo").id,
            token_id=None,
            amount=amount,
            flow="direct",
            tokenization_requested=False,
            landing_route=f"/my/utilities/{account.id}/topup/status",
            is_validation=False,
            access_token=access_token,
        )
        self.assertNotIn("error", reply, reply.get("error"))
        return self.env["payment.transaction"].search(
            [("reference", "=", reply["result"]["reference"])]
        )

    def demo_notify(self, tx, state):
        """What the demo provider's callback does: a state for the transaction's reference."""
        tx._handle_notification_data("demo", {"reference": tx.reference, "simulated_state": state})


@tagged("post_install", "-at_install")
class TestPortalPages(PrepaidPortalCommon):
    def test_tenant_sees_their_accounts_only(self):
        self._sell_as_staff(self.account, 40.0)
        self.authenticate("portal_tenant_a", "portal_tenant_a")
        page = self.url_open("/my/utilities").text
        self.assertIn(self.account.name, page)
        self.assertIn(self.sts_account.name, page)
        self.assertNotIn(self.account_b.name, page)
        # The home page counts them.
        counters = self.json_call("/my/counters", counters=["utility_count"])
        self.assertEqual(counters["result"]["utility_count"], 2)
        # Portal search does not reach another tenant's account.
        page = self.url_open(f"/my/utilities?search={self.account_b.name}").text
        self.assertNotIn(self.account_b.name, page)
        self.assertIn("No utility account matches your search", page)
        # Staff see their own accounts on the portal, not those they manage.
        self.authenticate(self.operator_user.login, self.operator_user.login)
        page = self.url_open("/my/utilities").text
        self.assertNotIn(self.account.name, page)
        self.assertIn("You have no utility account yet", page)

    def test_account_page(self):
        meter = self.account.meter_ids
        meter.sudo().max_load = 1000
        self._sell_as_staff(self.account, 40.0)
        now = datetime.now().replace(minute=0, second=0, microsecond=0)
        self.env["prepaid.reading"]._ingest(
            [
                (meter.id, now - timedelta(hours=2), 100, 10, 20, 30, 40),
                (meter.id, now - timedelta(hours=1), 110, 11, 24, 33, 42),
            ],
            "gateway",
        )
        self.authenticate("portal_tenant_a", "portal_tenant_a")
        response = self.url_open(f"/my/utilities/{self.account.id}")
        self.assertEqual(response.status_code, 200)
        page = response.text
        self.assertIn(meter.serial_number, page)
        self.assertIn("Wallet history", page)
        self.assertIn('data-series="t2"', page)  # the chart's peak segment
        self.assertIn(f"/my/utilities/{self.account.id}/topup", page)
        # The receipt of the tenant's own top-up opens as a PDF.
        topup = self.account.topup_ids[:1]
        receipt = self.url_open(f"/my/utilities/{self.account.id}/receipt/{topup.id}")
        self.assertEqual(receipt.status_code, 200)
        self.assertIn(
            receipt.headers["Content-Type"], ("application/pdf", "text/html; charset=utf-8")
        )

    def test_usage_splits_consumption_by_time_of_use(self):
        meter = self.account.meter_ids
        meter.sudo().write({"max_load": 1000, "initial_reading": 100})
        day = date(2026, 3, 10)
        at = datetime(2026, 3, 10, 1, 0)
        self.env["prepaid.reading"]._ingest(
            [
                (meter.id, datetime(2026, 3, 9, 23, 0), 100, 10, 20, 30, 40),
                (meter.id, at, 110, 11, 24, 33, 42),  # +10: 1 sharp, 4 peak, 3 flat, 2 valley
                (meter.id, at + timedelta(hours=1), 115),  # no TOU registers: not split
            ],
            "gateway",
        )
        usage = self.account.with_context(tz="UTC")._get_portal_usage("day", 2, today=day)
        yesterday, today = usage["electricity"]
        self.assertEqual(yesterday["date"], date(2026, 3, 9))
        self.assertAlmostEqual(today["total"], 15.0)
        self.assertAlmostEqual(today["t1"], 1.0)
        self.assertAlmostEqual(today["t2"], 4.0)
        self.assertAlmostEqual(today["t3"], 3.0)
        self.assertAlmostEqual(today["t4"], 2.0)
        chart = stacked_bar_chart([yesterday, today])
        names = [segment["name"] for segment in chart["bars"][1]["segments"]]
        self.assertEqual(names, ["t1", "t2", "t3", "t4", "untimed"])
        self.assertEqual(chart["max"], 20.0)
        self.assertFalse(chart["bars"][0]["segments"])
        # A month later: the month's bucket in the monthly series.
        monthly = self.account.with_context(tz="UTC")._get_portal_usage(
            "month", 2, today=date(2026, 4, 2)
        )
        self.assertAlmostEqual(monthly["electricity"][0]["total"], 15.0)
        self.assertEqual(monthly["electricity"][1]["total"], 0.0)

    def test_usage_queries_do_not_grow_with_readings(self):
        meters = self.account.meter_ids | self._create_meter(utility="water")
        meters.sudo().write({"max_load": 1000, "account_id": self.account.id})
        start = datetime(2026, 3, 1)
        Reading = self.env["prepaid.reading"]
        Account = self.account.with_context(tz="UTC")
        for days in (1, 20):
            Reading._ingest(
                [
                    (meter.id, start + timedelta(hours=hour), hour * 0.5, hour * 0.1, hour * 0.4)
                    for meter in meters
                    for hour in range(days * 24)
                ],
                "gateway",
            )
            self.env.invalidate_all()
            # The account and its meters, the consumption, the cost: whatever the readings.
            with self.assertQueryCount(4):
                usage = Account._get_portal_usage("day", 30, today=date(2026, 3, 25))
            self.assertEqual(set(usage), {"electricity", "water"})

    def test_ledger_is_paged(self):
        self.env["prepaid.ledger"]._post(
            {"account": self.account, "kind": "topup", "amount": 1.0, "key": f"page-{index}"}
            for index in range(25)
        )
        self.authenticate("portal_tenant_a", "portal_tenant_a")
        first = self.url_open(f"/my/utilities/{self.account.id}").text
        second = self.url_open(f"/my/utilities/{self.account.id}/page/2").text
        self.assertEqual(first.count("o_prepaid_ledger_line"), 20)
        self.assertEqual(second.count("o_prepaid_ledger_line"), 5)

    def test_co_tenant_invited_on_the_account(self):
        co_tenant = self.env["res.partner"].create({"name": "Co-tenant"})
        new_test_user(
            self.env, login="portal_co", groups="base.group_portal", partner_id=co_tenant.id
        )
        self.authenticate("portal_co", "portal_co")
        self.assertEqual(self.url_open(f"/my/utilities/{self.account.id}").status_code, 404)
        self.account.portal_partner_ids = [Command.link(co_tenant.id)]
        self.assertEqual(self.url_open(f"/my/utilities/{self.account.id}").status_code, 200)
        self.assertNotIn(self.sts_account.name, self.url_open("/my/utilities").text)

    def test_contacts_of_the_tenant_company_see_its_accounts(self):
        company = self.env["res.partner"].create({"name": "Tenant Co.", "is_company": True})
        self.tenant.parent_id = company
        colleague = self.env["res.partner"].create({"name": "Colleague", "parent_id": company.id})
        new_test_user(
            self.env, login="portal_colleague", groups="base.group_portal", partner_id=colleague.id
        )
        self.authenticate("portal_colleague", "portal_colleague")
        self.assertEqual(self.url_open(f"/my/utilities/{self.account.id}").status_code, 200)


@tagged("post_install", "-at_install")
class TestPortalSecurity(PrepaidPortalCommon):
    @mute_logger("odoo.http")
    def test_another_tenants_account_by_url(self):
        self.authenticate("portal_tenant_a", "portal_tenant_a")
        for url in (
            f"/my/utilities/{self.account_b.id}",
            f"/my/utilities/{self.account_b.id}/page/2",
            f"/my/utilities/{self.account_b.id}/topup",
            f"/my/utilities/{self.account_b.id}/receipt/{self.topup_b.id}",
            # Another tenant's receipt through one's own account.
            f"/my/utilities/{self.account.id}/receipt/{self.topup_b.id}",
            "/my/utilities/999999999",
        ):
            with self.subTest(url=url):
                response = self.url_open(url)
                self.assertEqual(response.status_code, 404)
                self.assertNotIn(self.tenant_b.name, response.text)
        reply = self.json_call(
            f"/my/utilities/{self.account_b.id}/transaction",
            provider_id=self.provider.id,
            amount=50.0,
            flow="direct",
        )
        self.assertIn("access token is invalid", reply["error"]["data"]["message"])
        self.assertFalse(
            self.env["payment.transaction"].search([("prepaid_account_id", "=", self.account_b.id)])
        )

    @mute_logger("odoo.http")
    def test_access_tokens(self):
        token = self.account_b._portal_ensure_token()
        # The QR label's link works without a login...
        response = self.url_open(f"/my/utilities/{self.account_b.id}/topup?access_token={token}")
        self.assertEqual(response.status_code, 200)
        self.assertIn(self.account_b.name, response.text)
        # ... a changed token, another account's token or no token shows nothing.
        other_token = self.account._portal_ensure_token()
        for url, status in (
            (f"/my/utilities/{self.account_b.id}/topup?access_token={token[:-1]}x", 403),
            (f"/my/utilities/{self.account_b.id}?access_token={other_token}", 403),
            (
                f"/my/utilities/{self.account.id}/receipt/{self.topup_b.id}?access_token={other_token}",
                404,
            ),
            (f"/my/utilities/{self.account_b.id}/topup", 404),
        ):
            with self.subTest(url=url):
                response = self.url_open(url)
                self.assertEqual(response.status_code, status)
                self.assertNotIn(self.tenant_b.name, response.text)

    def test_rpc_as_portal_user(self):
        self.env["prepaid.sts.token"].flush_model()
        own_topup = self._sell_as_staff(self.sts_account, 10.0)
        self.assertTrue(own_topup.sts_token_ids)
        user = self.tenant_user
        for model, own, others in (
            ("prepaid.account", self.account | self.sts_account, self.account_b),
            (
                "prepaid.ledger.line",
                self.sts_account.ledger_line_ids,
                self.account_b.ledger_line_ids,
            ),
            ("prepaid.topup", own_topup, self.topup_b),
            ("prepaid.sts.token", own_topup.sts_token_ids, self.env["prepaid.sts.token"]),
            ("prepaid.meter", self.sts_meter, self.account_b.meter_ids),
        ):
            with self.subTest(model=model):
                found = self.rpc(user, model, "search_read", [], fields=["display_name"])
                found_ids = {row["id"] for row in found}
                self.assertTrue(set(own.ids) <= found_ids)
                self.assertFalse(found_ids & set(others.ids))
                if others:
                    with self.assertRaises(xmlrpc.client.Fault) as caught:
                        self.rpc(user, model, "read", others.ids, ["display_name"])
                    self.assertIn("doesn't have 'read' access", caught.exception.faultString)
        # Tokens of the meter issued outside a sale of the tenant (e.g. for an earlier tenant)
        # are not theirs to see.
        free = self.sts_meter._sts_issue_credit(5, origin="EARLIER", free_reason="Test")
        found = self.rpc(user, "prepaid.sts.token", "search_read", [], fields=["digits"])
        self.assertNotIn(free.id, {row["id"] for row in found})
        # Staff notes stay with the staff.
        for records in (self.account, self.account.meter_ids):
            with self.assertRaises(xmlrpc.client.Fault) as caught:
                self.rpc(user, records._name, "read", records.ids, ["note"])
            self.assertIn("note", caught.exception.faultString)
        # Read only: nothing is written from the portal.
        with self.assertRaises(xmlrpc.client.Fault):
            self.rpc(user, "prepaid.account", "write", self.account.ids, {"note": "mine"})
        with self.assertRaises(xmlrpc.client.Fault):
            self.rpc(
                user,
                "prepaid.topup",
                "create",
                {"account_id": self.account.id, "amount": 10.0},
            )
        with self.assertRaises(xmlrpc.client.Fault):
            self.rpc(user, "prepaid.topup", "action_confirm_payment", own_topup.ids)

    def test_staff_rules_are_unchanged(self):
        # The operator of cls.building sees both accounts (both rooms are in it); a portal
        # rule does not widen or narrow the staff's view.
        found = self.rpc(self.operator_user, "prepaid.account", "search_read", [], fields=["name"])
        self.assertTrue({self.account.id, self.account_b.id} <= {row["id"] for row in found})


@tagged("post_install", "-at_install")
class TestOnlineTopup(PrepaidPortalCommon):
    def test_topup_is_credited_exactly_once(self):
        self.authenticate("portal_tenant_a", "portal_tenant_a")
        tx = self.start_online_topup(self.account, 100.0)
        self.assertRecordValues(
            tx, [{"prepaid_account_id": self.account.id, "amount": 100.0, "state": "draft"}]
        )
        self.assertTrue(tx.reference.startswith(self.account.name))
        self.demo_notify(tx, "done")
        tx._post_process()
        topup = tx.prepaid_topup_id
        self.assertRecordValues(
            topup,
            [
                {
                    "state": "delivered",
                    "payment_method": "online",
                    "amount": 100.0,
                    "request_key": f"payment:{tx.reference}",
                }
            ],
        )
        self.assertEqual(self.account.balance, 100.0)
        # A replayed callback, a second tab polling the status, the cron: still once.
        self.demo_notify(tx, "done")
        tx._post_process()
        tx.is_post_processed = False
        tx._post_process()
        tx.env["payment.transaction"]._cron_post_process()
        self.assertEqual(len(self.account.topup_ids), 1)
        self.assertEqual(len(self.account.ledger_line_ids), 1)
        self.assertEqual(self.account.balance, 100.0)
        # The confirmation page shows the credit and the new balance.
        page = self.url_open(f"/my/utilities/{self.account.id}/topup/status?tx_id={tx.id}").text
        self.assertIn(topup.name, page)
        self.assertIn("credited", page)

    def test_failed_cancelled_and_pending_payments_credit_nothing(self):
        self.authenticate("portal_tenant_a", "portal_tenant_a")
        for state in ("pending", "cancel", "error"):
            with self.subTest(state=state):
                tx = self.start_online_topup(self.account, 50.0)
                self.demo_notify(tx, state)
                tx._post_process()
                self.assertFalse(tx.prepaid_topup_id)
                page = self.url_open(
                    f"/my/utilities/{self.account.id}/topup/status?tx_id={tx.id}"
                ).text
                self.assertNotIn("credited", page)
        self.assertFalse(self.account.topup_ids)
        self.assertFalse(self.account.ledger_line_ids)
        self.assertEqual(self.account.balance, 0.0)

    def test_late_success_after_an_error_credits_once(self):
        self.authenticate("portal_tenant_a", "portal_tenant_a")
        tx = self.start_online_topup(self.account, 30.0)
        self.demo_notify(tx, "error")
        tx._post_process()
        self.assertEqual(self.account.balance, 0.0)
        tx._set_done()  # the provider confirms it later
        tx._post_process()
        tx._set_done()
        tx._post_process()
        self.assertEqual(self.account.balance, 30.0)
        self.assertEqual(len(self.account.ledger_line_ids), 1)

    def test_two_payments_are_two_topups(self):
        self.authenticate("portal_tenant_a", "portal_tenant_a")
        first = self.start_online_topup(self.account, 20.0)
        second = self.start_online_topup(self.account, 20.0)
        for tx in (first, second, first):
            self.demo_notify(tx, "done")
            tx._post_process()
        self.assertEqual(len(self.account.topup_ids), 2)
        self.assertEqual(self.account.balance, 40.0)

    def test_keypad_meter_gets_a_token_shown_and_mailed(self):
        self.authenticate("portal_tenant_a", "portal_tenant_a")
        tx = self.start_online_topup(self.sts_account, 50.0)
        self.demo_notify(tx, "done")
        tx._post_process()
        topup = tx.prepaid_topup_id
        token = topup.sts_token_ids
        self.assertRecordValues(token, [{"token_type": "credit_electricity", "amount": 100.0}])
        page = self.url_open(f"/my/utilities/{self.sts_account.id}/topup/status?tx_id={tx.id}").text
        self.assertIn(token.token_grouped, page)
        self.assertIn("o_prepaid_copy", page)
        mail = self.env["mail.mail"].search(
            [("model", "=", "prepaid.topup"), ("res_id", "=", topup.id)]
        )
        self.assertEqual(len(mail), 1)
        self.assertIn(token.token_grouped, str(mail.body_html))
        self.assertIn(self.tenant, mail.recipient_ids)
        # The portal page lists the token with its copy button.
        page = self.url_open(f"/my/utilities/{self.sts_account.id}").text
        self.assertIn(token.token_grouped, page)

    def test_amount_limits(self):
        self.env.company.write(
            {"prepaid_portal_topup_min": 10.0, "prepaid_portal_topup_max": 500.0}
        )
        self.authenticate("portal_tenant_a", "portal_tenant_a")
        page = self.url_open(f"/my/utilities/{self.account.id}/topup?amount=5").text
        self.assertIn("Choose an amount between", page)
        self.assertNotIn("o_payment_form", page)
        page = self.url_open(f"/my/utilities/{self.account.id}/topup?amount=120").text
        self.assertIn("o_payment_form", page)
        for amount in (5.0, 501.0):
            with self.subTest(amount=amount), mute_logger("odoo.http"):
                reply = self.json_call(
                    f"/my/utilities/{self.account.id}/transaction",
                    provider_id=self.provider.id,
                    payment_method_id=self.env.ref("payment_demo.payment_method_demo").id,
                    amount=amount,
                    flow="direct",
                    tokenization_requested=False,
                    landing_route="/my",
                    is_validation=False,
                )
                self.assertIn("between", reply["error"]["data"]["message"])
        self.assertFalse(
            self.env["payment.transaction"].search([("prepaid_account_id", "=", self.account.id)])
        )
        with self.assertRaises(ValidationError) as caught:
            self.env.company.prepaid_portal_topup_min = 600.0
        self.assertIn("minimum must be positive", str(caught.exception))
        with self.assertRaises(ValidationError) as caught:
            self.env.company.prepaid_portal_topup_presets = "20, 1000"
        self.assertIn("outside the minimum and maximum", str(caught.exception))

    def test_qr_label_link_pays_without_a_login(self):
        token = self.account_b._portal_ensure_token()
        tx = self.start_online_topup(self.account_b, 60.0, access_token=token)
        self.assertEqual(tx.partner_id, self.tenant_b)
        self.demo_notify(tx, "done")
        tx._post_process()
        self.assertEqual(self.account_b.balance, 130.0)
        page = self.url_open(
            f"/my/utilities/{self.account_b.id}/topup/status?tx_id={tx.id}&access_token={token}"
        ).text
        self.assertIn(tx.prepaid_topup_id.name, page)
        # Without a login, the tenant's saved payment methods are not offered to the link's holder.
        saved = self.env["payment.token"].create(
            {
                "provider_id": self.provider.id,
                "payment_method_id": self.env.ref("payment_demo.payment_method_demo").id,
                "partner_id": self.tenant_b.id,
                "provider_ref": "saved card",
                "payment_details": "4242",
            }
        )
        with mute_logger("odoo.http"):
            reply = self.json_call(
                f"/my/utilities/{self.account_b.id}/transaction",
                provider_id=self.provider.id,
                token_id=saved.id,
                amount=60.0,
                flow="token",
                tokenization_requested=False,
                landing_route="/my",
                is_validation=False,
                access_token=token,
            )
        self.assertIn(
            "Log in to pay with a saved payment method", reply["error"]["data"]["message"]
        )
        self.assertEqual(len(self.account_b.topup_ids), 2)  # the counter sale and the paid one
        # The landing route of one account does not show another account's payment.
        other = self.account._portal_ensure_token()
        with mute_logger("odoo.http"):
            response = self.url_open(
                f"/my/utilities/{self.account.id}/topup/status?tx_id={tx.id}&access_token={other}"
            )
        self.assertEqual(response.status_code, 404)

    def test_account_closed_after_paying_flags_the_topup(self):
        self.authenticate("portal_tenant_a", "portal_tenant_a")
        tx = self.start_online_topup(self.account, 25.0)
        self.account.sudo().action_suspend()
        self.demo_notify(tx, "done")
        tx._post_process()
        topup = tx.prepaid_topup_id
        self.assertEqual(topup.state, "draft")  # the money is on the order, for the staff
        self.assertTrue(topup.activity_ids)
        self.assertFalse(self.account.ledger_line_ids)
        self.assertTrue(tx.is_post_processed)

    def test_topup_reconnects_a_cut_supply(self):
        # Friendly hours of other data must not defer the cut-off.
        self.env["prepaid.cutoff.calendar"].search([]).action_archive()
        self.env["prepaid.ledger"]._post(
            [
                {"account": self.account, "kind": "topup", "amount": 10.0, "key": "cash"},
                {
                    "account": self.account,
                    "kind": "consumption",
                    "amount": -10.0,
                    "key": "rated",
                    "utility": "electricity",
                },
            ]
        )
        self.assertEqual(self.account.cutoff_state, "cut")
        self.authenticate("portal_tenant_a", "portal_tenant_a")
        page = self.url_open(f"/my/utilities/{self.account.id}").text
        self.assertIn("The supply is cut off", page)
        tx = self.start_online_topup(self.account, 50.0)
        self.demo_notify(tx, "done")
        tx._post_process()
        self.assertEqual(self.account.balance, 50.0)
        self.assertEqual(self.account.cutoff_state, "supplied")
        decisions = self.account.supply_decision_ids.sorted("id").mapped("decision")
        self.assertEqual(decisions, ["cut", "reconnect"])
        page = self.url_open(f"/my/utilities/{self.account.id}").text
        self.assertNotIn("The supply is cut off", page)

    def test_credit_written_to_a_balance_meter(self):
        meter = self._create_meter()  # DDSY1352: keeps a balance, no keypad
        account = self._create_account(meters=meter, billing_mode="prepaid_meter")
        account.action_open()
        self.authenticate("portal_tenant_a", "portal_tenant_a")
        tx = self.start_online_topup(account, 40.0)
        self.demo_notify(tx, "done")
        tx._post_process()
        topup = tx.prepaid_topup_id
        self.assertEqual(topup.state, "paid")  # until the meter confirms the credit
        self.assertIn("credit", " ".join(meter.activity_ids.mapped("summary")).lower())
        page = self.url_open(f"/my/utilities/{account.id}/topup/status?tx_id={tx.id}").text
        self.assertIn("being written to your meter", page)
