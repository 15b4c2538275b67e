"""Shared base of the alarm and cut-off tests: an open account billed on the platform whose
tenant has an email address and a mobile number, Odoo's mail and SMS mocks, and helpers to
move the balance through the posting service."""

from itertools import count

from odoo.addons.mail.tests.common import MailCase
from odoo.addons.sms.tests.common import SMSCase

from .test_ledger import PrepaidLedgerCommon

_keys = count(1)


class PrepaidAlarmCommon(PrepaidLedgerCommon, MailCase, SMSCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tenant.write({"email": "tenant@example.com", "mobile": "+86 138 0013 8000"})
        cls.meter = cls.account.meter_ids
        cls.rules = {
            rule.level: rule
            for rule in cls.env["prepaid.alarm.rule"].search([("company_id", "=", False)])
        }
        # Friendly hours of other data must not defer the tests' cut-offs.
        cls.env["prepaid.cutoff.calendar"].search([]).action_archive()

    def setUp(self):
        super().setUp()
        # No notice leaves the test, whether the test looks at them or not.
        self.enterContext(self.mock_mail_gateway())
        self.enterContext(self.mockSMSGateway())

    def credit(self, account, amount):
        return self._post(account, "topup", amount, f"test-topup-{next(_keys)}")

    def debit(self, account, amount):
        return self._post(
            account, "consumption", -amount, f"test-rate-{next(_keys)}", utility="electricity"
        )

    def mails_to_tenant(self):
        return self._new_mails.filtered(lambda m: self.tenant in m.recipient_ids)

    def sms_to_tenant(self):
        return self._new_sms.filtered(lambda s: s.partner_id == self.tenant)

    def meter_activities(self, meter=None):
        return (meter or self.meter).activity_ids.mapped("summary")
