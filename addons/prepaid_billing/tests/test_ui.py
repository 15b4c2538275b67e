from decimal import Decimal

from odoo.tests import HttpCase, tagged

from .common import PrepaidStsCommon


@tagged("post_install", "-at_install")
class TestUi(PrepaidStsCommon, HttpCase):
    def test_sts_issue_tour(self):
        meter = self._create_sts_meter(name="Tour STS Meter", serial_number="TOURSTS0001")
        self.start_tour(
            "/odoo/action-prepaid_meter.prepaid_meter_action",
            "prepaid_sts_issue_tour",
            login="admin",
        )
        self.env.invalidate_all()  # the tour wrote through its own requests
        token = meter.sts_token_ids
        self.assertRecordValues(
            token,
            [
                {
                    "token_type": "credit_electricity",
                    "amount": 25.6,
                    "unit": "kWh",
                    "origin": "TOUR/0001",
                    "issued_by_id": self.env.ref("base.user_admin").id,
                }
            ],
        )
        self.assertEqual(self._meter_decoder(meter).enter(token.digits).amount, Decimal("25.6"))

    def test_counter_sale_tour(self):
        """A cashier sells credit at the counter and prints the receipt."""
        room = self._create_room("Tour Counter Room")
        tenant = self.env["res.partner"].create({"name": "Tour Counter Tenant"})
        account = self._create_open_account(room=room, partner_id=tenant.id)
        self.start_tour("/odoo", "prepaid_counter_sale_tour", login="admin")
        self.env.invalidate_all()  # the tour wrote through its own requests
        topup = account.topup_ids
        self.assertRecordValues(
            topup,
            [{"amount": 50.0, "payment_method": "cash", "state": "delivered"}],
        )
        self.assertEqual(account.balance, 50.0)
        self.assertEqual(topup.ledger_line_id.amount, 50.0)
