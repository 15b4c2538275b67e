from odoo import Command
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, HttpCase, tagged
from odoo.tools.safe_eval import safe_eval

from .common import PrepaidStsCommon


class PrepaidTopupCommon(PrepaidStsCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.account = cls._create_open_account()
        # Billing on the meter with an STS keypad meter; credit converted at a flat price.
        cls.flat_tariff = cls._create_tariff(
            utility="electricity",
            version_ids=[
                Command.create({"date_from": "2020-01-01", "kind": "flat", "unit_price": 0.5})
            ],
        )
        cls.balance_sts_model = cls._create_meter_model(
            name="Test STS Balance Meter",
            utility="electricity",
            protocol="none",
            has_sts_keypad=True,
            has_meter_balance=True,
        )
        cls.sts_meter = cls._create_sts_meter(model_id=cls.balance_sts_model.id)
        cls.sts_account = cls._create_account(
            meters=cls.sts_meter,
            billing_mode="prepaid_meter",
            electricity_tariff_id=cls.flat_tariff.id,
        )
        cls.sts_account.action_open()

    def _sell(self, account, amount, user=None, **values):
        """Sell through the counter screen as ``user`` (the operator by default)."""
        Counter = self.env["prepaid.topup.counter"].with_user(user or self.operator_user)
        counter = Counter.create({"account_id": account.id, "amount": amount, **values})
        counter.action_sell()
        return counter.topup_id


@tagged("post_install", "-at_install")
class TestTopup(PrepaidTopupCommon):
    def test_sale_from_the_room_card(self):
        """Room monitoring's card opens the counter screen for the room's open account."""
        room = self.account.room_id.with_user(self.operator_user)
        action = room.action_sell_credit()
        self.assertEqual(action["res_model"], "prepaid.topup.counter")
        counter = (
            self.env["prepaid.topup.counter"]
            .with_user(self.operator_user)
            .with_context(action["context"])
            .create({"amount": 30.0})
        )
        self.assertEqual(counter.account_id, room.account_id)
        self.assertEqual(counter.account_id.room_id, self.account.room_id)
        vacant = self._create_room("Test Room 109").with_user(self.operator_user)
        with self.assertRaisesRegex(UserError, "has no open account"):
            vacant.action_sell_credit()

    def test_counter_sale_on_a_platform_account(self):
        topup = self._sell(self.account, 100.0, payment_method="wechat", payment_reference="WX1")
        self.assertRecordValues(
            topup,
            [
                {
                    "state": "delivered",
                    "paid_by_id": self.operator_user.id,
                    "payment_method": "wechat",
                    "balance_after": 100.0,
                }
            ],
        )
        self.assertTrue(topup.name.startswith("TOP/"))
        line = topup.ledger_line_id
        self.assertRecordValues(
            line, [{"kind": "topup", "amount": 100.0, "res_model": "prepaid.topup"}]
        )
        self.assertEqual(line.res_id, topup.id)
        self.assertEqual(self.account.balance, 100.0)

    def test_a_sale_confirmed_twice_credits_once(self):
        counter = (
            self.env["prepaid.topup.counter"]
            .with_user(self.operator_user)
            .create({"account_id": self.account.id, "amount": 30.0})
        )
        counter.action_sell()
        counter.action_sell()  # a double click
        counter.topup_id.action_confirm_payment()  # and a replayed confirmation
        self.assertEqual(len(self.account.topup_ids), 1)
        self.assertEqual(len(self.account.ledger_line_ids), 1)
        self.assertEqual(self.account.balance, 30.0)

    def test_bad_amounts_are_refused(self):
        for amount, message in ((-5.0, "positive"), (0.0, "positive"), (0.001, "positive")):
            with self.subTest(amount=amount):
                with self.assertRaisesRegex(ValidationError, message):
                    self._sell(self.account, amount)
        self.assertFalse(self.account.ledger_line_ids)

    def test_accounts_not_open_take_no_credit(self):
        draft = self._create_account(meters=self._create_meter())
        topup = self.env["prepaid.topup"].create({"account_id": draft.id, "amount": 10.0})
        with self.assertRaisesRegex(UserError, "not open"):
            topup.action_confirm_payment()
        self.assertEqual(topup.state, "draft")
        self.assertFalse(draft.ledger_line_ids)

    def test_sts_meter_gets_a_token_linked_to_the_topup(self):
        topup = self._sell(self.sts_account, 50.0)
        token = topup.sts_token_ids
        self.assertEqual(topup.state, "delivered")
        self.assertRecordValues(
            token,
            [
                {
                    "meter_id": self.sts_meter.id,
                    "amount": 100.0,  # 50.00 at 0.50 per kWh
                    "topup_id": topup.id,
                    "origin": topup.name,
                    "issued_by_id": self.operator_user.id,
                    "free_issue_reason": False,
                }
            ],
        )
        # The token decodes on the meter to the credit sold.
        decoded = self._meter_decoder(self.sts_meter).enter(token.digits)
        self.assertEqual(decoded.amount, 100)
        self.assertEqual(self.sts_account.balance, 50.0)

    def test_credit_tokens_need_a_topup_or_a_reason(self):
        with self.assertRaisesRegex(UserError, "sold through top-ups"):
            self.sts_meter._sts_issue_credit(10)
        token = self.sts_meter.with_user(self.manager_user)._sts_issue_credit(
            10, free_reason="Emergency credit"
        )
        self.assertEqual(token.free_issue_reason, "Emergency credit")
        # Operators sell credit; they do not give it away.
        with self.assertRaises(AccessError):
            self.sts_meter.with_user(self.operator_user)._sts_issue_credit(10, free_reason="Gift")

    def test_failed_delivery_keeps_the_money_for_a_retry(self):
        self.provider.active = False  # the token provider is out of service
        topup = self._sell(self.sts_account, 20.0)
        self.assertEqual(topup.state, "failed")
        self.assertIn("archived", topup.delivery_message)
        self.assertEqual(self.sts_account.balance, 20.0)
        self.assertFalse(topup.sts_token_ids)
        self.provider.active = True
        topup.with_user(self.operator_user).action_retry_delivery()
        self.assertEqual(topup.state, "delivered")
        self.assertEqual(len(topup.sts_token_ids), 1)
        self.assertEqual(len(self.sts_account.ledger_line_ids), 1)

    def test_credit_written_to_a_meter_without_keypad(self):
        meter = self._create_meter()  # DDSY1352: keeps a balance, no keypad
        account = self._create_account(meters=meter, billing_mode="prepaid_meter")
        account.action_open()
        topup = self._sell(account, 40.0)
        self.assertEqual(topup.state, "paid")
        # Besides the alarm thresholds sent when the account opened.
        self.assertEqual(
            [s.split(" ")[:3] for s in meter.activity_ids.mapped("summary")],
            [["Write", "the", "alarm"], ["Write", "a", "credit"]],
        )
        topup.with_user(self.operator_user).action_mark_delivered()
        self.assertEqual(topup.state, "delivered")

    def test_meter_without_a_flat_price_cannot_take_sts_credit(self):
        self.sts_account.electricity_tariff_id = self.tariff_electricity  # no version in force
        with self.assertRaisesRegex(UserError, "flat price"):
            self._sell(self.sts_account, 10.0)
        self.assertFalse(self.sts_account.ledger_line_ids)

    def test_reversal(self):
        topup = self._sell(self.sts_account, 10.0)
        token = topup.sts_token_ids
        with self.assertRaises(AccessError):
            topup.with_user(self.operator_user).action_reverse("Wrong account")
        with self.assertRaisesRegex(UserError, "reason"):
            topup.with_user(self.manager_user).action_reverse(" ")
        wizard = Form(
            self.env["prepaid.topup.reverse"]
            .with_user(self.manager_user)
            .with_context(default_topup_ids=topup.ids)
        )
        wizard.reason = "Wrong account"
        wizard.save().action_reverse()
        self.assertRecordValues(
            topup,
            [{"state": "reversed", "reversal_reason": "Wrong account"}],
        )
        self.assertEqual(topup.reversed_by_id, self.manager_user)
        reversal = topup.reversal_line_id
        self.assertRecordValues(reversal, [{"kind": "reversal", "amount": -10.0}])
        self.assertEqual(reversal.corrected_line_id, topup.ledger_line_id)
        self.assertEqual(self.sts_account.balance, 0.0)
        self.assertEqual(token.state, "cancelled")
        # A reversed top-up is not reversed twice, nor delivered again.
        with self.assertRaisesRegex(UserError, "already reversed"):
            topup.with_user(self.manager_user).action_reverse("Again")
        with self.assertRaisesRegex(UserError, "Cannot set these top-ups"):
            topup.action_retry_delivery()
        self.assertEqual(self.sts_account.balance, 0.0)

    def test_a_paid_topup_is_fixed(self):
        topup = self._sell(self.account, 25.0)
        for user in (self.operator_user, self.manager_user):
            for values in (
                {"amount": 2500.0},
                {"account_id": self.sts_account.id},
                {"state": "draft"},
            ):
                with self.subTest(user=user.login, values=values):
                    with self.assertRaisesRegex(AccessError, "kept by the system"):
                        topup.with_user(user).write(values)
        with self.assertRaisesRegex(UserError, "never deleted"):
            topup.with_user(self.manager_user).unlink()

    def test_operators_sell_on_their_sites_only(self):
        building_b = self._create_site("Building B", site_type="building", parent=self.area)
        floor_b = self._create_site("B1", site_type="floor", parent=building_b)
        account_b = self._create_open_account(room=self._create_room("B101", floor=floor_b))
        with self.assertRaises(AccessError):
            self._sell(account_b, 10.0)
        self.assertFalse(account_b.ledger_line_ids)

    def test_counter_finds_accounts_by_room_tenant_serial_and_number(self):
        Account = self.env["prepaid.account"].with_user(self.operator_user)
        meter = self.account.meter_ids
        for term in (self.room.name, self.tenant.name, meter.serial_number, self.account.name):
            with self.subTest(term=term):
                found = [account_id for account_id, _name in Account.name_search(term)]
                self.assertIn(self.account.id, found)

    def test_receipt(self):
        topup = self._sell(self.sts_account, 50.0)
        html = (
            self.env["ir.actions.report"]
            ._render_qweb_html("prepaid_billing.report_topup", topup.ids)[0]
            .decode()
        )
        self.assertIn(topup.name, html)
        self.assertIn(topup.sts_token_ids.token_grouped, html)
        self.assertIn("data:image/png;base64,", html)
        self.assertIn("Scan to verify", html)

    def test_shift_report_totals_per_cashier_and_method(self):
        self._sell(self.account, 10.0, payment_method="cash")
        self._sell(self.account, 15.0, payment_method="cash")
        self._sell(self.account, 7.0, payment_method="alipay", user=self.manager_user)
        action = self.env.ref("prepaid_billing.prepaid_topup_action_shift_report")
        groups = self.env["prepaid.topup"]._read_group(
            [*safe_eval(action.domain), ("account_id", "=", self.account.id)],
            groupby=["paid_by_id", "payment_method"],
            aggregates=["amount:sum"],
        )
        self.assertEqual(
            set(groups),
            {(self.operator_user, "cash", 25.0), (self.manager_user, "alipay", 7.0)},
        )


@tagged("post_install", "-at_install")
class TestReceiptVerification(PrepaidTopupCommon, HttpCase):
    def test_the_qr_code_verifies_the_receipt(self):
        topup = self._sell(self.account, 12.0)
        url = topup._get_receipt_url()
        self.assertIn(f"/prepaid/receipt/{topup.id}?sig=", url)
        page = self.url_open(url[url.index("/prepaid/") :]).text
        self.assertIn("Genuine receipt", page)
        self.assertIn(topup.name, page)
        for forged in (
            f"/prepaid/receipt/{topup.id}?sig=0000",
            f"/prepaid/receipt/{topup.id}",
            f"/prepaid/receipt/{topup.id + 1000}?sig={topup._get_receipt_signature()}",
        ):
            with self.subTest(url=forged):
                page = self.url_open(forged).text
                self.assertIn("Unknown receipt", page)
                self.assertNotIn(self.tenant.name, page)
