from unittest.mock import patch

from odoo.exceptions import UserError
from odoo.tests import tagged
from odoo.tools import SQL

from odoo.addons.prepaid_billing import sts

from .common import PrepaidStsCommon


class OpaqueProvider(sts.TokenProvider):
    """An external vending service as a plug-in would wrap it: it answers digits only (no token
    object) and keeps its keys; here it delegates to the software provider."""

    code = "opaque"

    def __init__(self, inner):
        self.inner = inner
        self.requests = []

    def issue_credit(self, meter, amount, *, credit_type=sts.CreditType.ELECTRICITY, **kw):
        self.requests.append(("credit", kw.get("tid")))
        issued = self.inner.issue_credit(meter, amount, credit_type=credit_type, **kw)
        return sts.IssuedToken(issued.digits)

    def issue_management(self, meter, subclass, value=None, **kw):
        self.requests.append(("management", kw.get("tid")))
        return sts.IssuedToken(self.inner.issue_management(meter, subclass, value, **kw).digits)

    def issue_key_change(self, meter, new):
        self.requests.append(("key_change", None))
        return tuple(sts.IssuedToken(t.digits) for t in self.inner.issue_key_change(meter, new))


@tagged("post_install", "-at_install")
class TestStsProvider(PrepaidStsCommon):
    """The extension point: ``prepaid.sts.provider._get_token_provider()``."""

    def test_plugged_provider_gets_the_tid_and_is_logged(self):
        meter = self._create_sts_meter(key=self.key_misty)
        Provider = type(self.env["prepaid.sts.provider"])
        opaque = OpaqueProvider(self._pure_provider(self.key_misty))
        with patch.object(Provider, "_get_token_provider", lambda self, keys: opaque):
            credit = meter._sts_issue_credit(3, free_reason="Test")
            second = meter._sts_issue_management("clear_tamper")
            self.assertEqual(self._meter_decoder(meter).enter(credit.digits).tid, credit.tid)
            kcts = meter._sts_issue_key_change(tariff_index=2)
        # The suite chose the TIDs and the provider honoured them.
        self.assertEqual(opaque.requests[:2], [("credit", credit.tid), ("management", second.tid)])
        self.assertEqual(second.tid, credit.tid + 1)
        self.assertEqual(
            (credit.token_type, credit.amount, credit.unit), ("credit_electricity", 3.0, "kWh")
        )
        self.assertEqual(
            kcts.mapped("token_type"),
            ["key_change_1", "key_change_2", "key_change_3", "key_change_4"],
        )

    def test_unknown_code_is_a_clear_error(self):
        provider = self.env["prepaid.sts.provider"].create({"name": "HSM"})
        # The code of a plug-in whose module is gone.
        self.env.cr.execute(
            SQL("UPDATE prepaid_sts_provider SET code = 'gone' WHERE id = %s", provider.id)
        )
        provider.invalidate_recordset(["code"])
        with self.assertRaisesRegex(UserError, "no implementation"):
            provider._get_token_provider(self.key_sta)

    def test_provider_cannot_decode(self):
        meter = self._create_sts_meter()
        Provider = type(self.env["prepaid.sts.provider"])
        opaque = OpaqueProvider(self._pure_provider(self.key_sta))
        with patch.object(Provider, "_get_token_provider", lambda self, keys: opaque):
            wizard = self.env["prepaid.sts.token.decode"].create(
                {"meter_id": meter.id, "token_input": "1" * 20}
            )
            self.assertIn("cannot decode", wizard.message)

    def test_archived_provider(self):
        meter = self._create_sts_meter()
        self.provider.active = False
        with self.assertRaisesRegex(UserError, "archived"):
            meter._sts_issue_credit(1, free_reason="Test")
