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
