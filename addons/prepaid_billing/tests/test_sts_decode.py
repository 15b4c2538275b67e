import dataclasses
from datetime import datetime

from freezegun import freeze_time

from odoo.tests import tagged

from odoo.addons.prepaid_billing import sts

from .common import PrepaidStsCommon


@tagged("post_install", "-at_install")
@freeze_time("2025-03-01 10:15:00")
class TestStsDecode(PrepaidStsCommon):
    """The support wizard tells what a token says and whether the meter would take it."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.meter = cls._create_sts_meter()

    def _decode(self, digits, meter=None, user=None):
        Wizard = self.env["prepaid.sts.token.decode"].with_user(user or self.operator_user)
        return Wizard.create({"meter_id": (meter or self.meter).id, "token_input": digits})

    def _pure_token(self, tid, amount=1, rnd=3, meter=None, **params):
        meter = meter or self.meter
        key_params = dataclasses.replace(meter._sts_key_params(), **params)
        provider = sts.SoftwareTokenProvider(
            self._vending_key_bytes(meter.sudo().sts_vending_key_id), random_nibble=lambda: rnd
        )
        return provider.issue_credit(key_params, amount, tid=tid).digits

    def _fake_history(self, tids):
        """Log tokens with these TIDs (digits that are not real tokens: only the TIDs count)."""
        self.env["prepaid.sts.token"].sudo().create(
            [
                {
                    "meter_id": self.meter.id,
                    "token_type": "credit_electricity",
                    "digits": f"{index:020d}",
                    "tid": tid,
                    "base_date": "2014",
                    "issued_by_id": self.env.uid,
                }
                for index, tid in enumerate(tids, start=1)
            ]
        )

    def test_accepted(self):
        token = self.meter._sts_issue_credit(25.6, free_reason="Test")
        wizard = self._decode(token.token_grouped)
        self.assertRecordValues(
            wizard,
            [
                {
                    "decoded": True,
                    "accepted": True,
                    "reject_reason": False,
                    "token_class": "0",
                    "subclass": 0,
                    "token_type": "credit_electricity",
                    "tid": token.tid,
                    "tid_datetime": datetime(2025, 3, 1, 10, 15),
                    "amount": 25.6,
                    "unit": "kWh",
                    "matching_token_id": token.id,
                }
            ],
        )
        self.assertIn("would accept", wizard.message)

    def test_wrong_key_or_typo(self):
        token = self.meter._sts_issue_credit(5, free_reason="Test")
        digits = token.digits[:-1] + str((int(token.digits[-1]) + 1) % 10)
        wizard = self._decode(digits)
        self.assertRecordValues(
            wizard, [{"decoded": False, "accepted": False, "reject_reason": "crc"}]
        )
        self.assertIn("does not decode", wizard.message)
        # A token of another meter (that the user can see) is named.
        other = self._create_sts_meter()
        wizard = self._decode(token.digits, meter=other)
        self.assertEqual(wizard.reject_reason, "crc")
        self.assertIn(self.meter.display_name, wizard.message)

    def test_tid_already_used(self):
        token = self.meter._sts_issue_credit(5, free_reason="Test")
        # Same TID, other digits (another amount): a token the meter must refuse.
        wizard = self._decode(self._pure_token(token.tid, amount=7))
        self.assertRecordValues(
            wizard,
            [{"decoded": True, "accepted": False, "reject_reason": "used", "amount": 7.0}],
        )

    def test_too_old(self):
        self._fake_history(range(5_000_000, 5_000_050))  # a full TID memory of 50
        wizard = self._decode(self._pure_token(4_999_999))
        self.assertEqual(wizard.reject_reason, "old")
        self.assertIn("Too old", wizard.message)
        self.assertTrue(self._decode(self._pure_token(5_000_050)).accepted)

    def test_key_expired(self):
        self.meter.sts_ken = 0x10
        # A token whose TID's top 8 bits exceed the key expiry number.
        wizard = self._decode(self._pure_token(0x11 << 16, ken=0xFF))
        self.assertEqual(wizard.reject_reason, "key_expired")

    def test_not_a_token(self):
        for text in ("1234", "9" * 20, "12345678901234567890x"):
            wizard = self._decode(text)
            self.assertEqual(wizard.reject_reason, "format", text)
            self.assertFalse(wizard.decoded)

    def test_token_from_before_a_key_change(self):
        token = self.meter._sts_issue_credit(5, free_reason="Test")
        self.meter._sts_issue_key_change(tariff_index=9)
        wizard = self._decode(token.digits)
        self.assertEqual(wizard.reject_reason, "crc")
        self.assertEqual(wizard.matching_token_id, token)
        self.assertIn("earlier key", wizard.message)

    def test_management_and_key_change_tokens(self):
        limit = self.meter._sts_issue_management("max_power_limit", 3000)
        wizard = self._decode(limit.digits, user=self.manager_user)
        self.assertRecordValues(
            wizard,
            [{"token_type": "max_power_limit", "amount": 3000.0, "unit": "W", "accepted": True}],
        )
        # The key expiry number is not part of the decoder key: after this key change the
        # meter's key is the same, and its key change tokens still decode with it.
        kct = self.meter._sts_issue_key_change(key_expiry=0xFE)[0]
        self.assertRecordValues(
            self._decode(kct.digits),
            [{"token_type": "key_change_1", "token_class": "2", "subclass": 3, "accepted": True}],
        )
        self.assertEqual(self.meter.sts_ken, 0xFE)

    def test_configuration_errors_are_shown(self):
        unkeyed = self._create_sts_meter(sts_vending_key_id=False)
        wizard = self._decode("0" * 20, meter=unkeyed)
        self.assertIn("no vending key", wizard.message)
