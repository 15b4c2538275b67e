from odoo.exceptions import AccessError
from odoo.tests import tagged

from .common import PrepaidStsCommon


@tagged("post_install", "-at_install")
class TestStsSecurity(PrepaidStsCommon):
    """Managers issue free credit tokens and management tokens (operators sell credit through
    top-ups); administrators also key change sets; everybody only for the meters they see.
    Keys stay with administrators."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.meter = cls._create_sts_meter()  # in cls.building, operated by cls.operator_user
        cls.building_b = cls._create_site("Building B", site_type="building", parent=cls.area)
        cls.room_b = cls._create_room(
            "B101", floor=cls._create_site("B Floor 1", site_type="floor", parent=cls.building_b)
        )
        cls.meter_b = cls._create_sts_meter(room=cls.room_b)

    def _issue(self, user, **values):
        wizard = (
            self.env["prepaid.sts.token.issue"]
            .with_user(user)
            .create({"meter_ids": [(6, 0, self.meter.ids)], **values})
        )
        return wizard.action_issue()

    def test_free_credit_tokens_need_a_manager(self):
        # The operator opens the wizard and is told who issues credit tokens, and why.
        wizard = (
            self.env["prepaid.sts.token.issue"]
            .with_user(self.operator_user)
            .create({"meter_ids": [(6, 0, self.meter.ids)], "amount": 10})
        )
        self.assertRecordValues(wizard, [{"can_issue_credit": False, "can_manage": False}])
        with self.assertRaisesRegex(AccessError, "Manager may issue free credit tokens.*top-up"):
            wizard.action_issue()
        with self.assertRaisesRegex(AccessError, "Manager may issue free credit tokens"):
            self.meter.with_user(self.operator_user)._sts_issue_credit(10, free_reason="Test")
        self.assertFalse(self.meter.sts_token_ids)
        # A manager issues it; the operator sees it in the meter's token log.
        action = self._issue(
            self.manager_user, token_kind="credit", amount=10, free_reason="Emergency credit"
        )
        token = self.env["prepaid.sts.token"].with_user(self.operator_user).browse(action["res_id"])
        self.assertEqual(token.issued_by_id, self.manager_user)
        self.assertEqual(token.meter_id, self.meter)
        self.assertTrue(token.token_grouped)
        self.assertEqual(self.meter.with_user(self.operator_user).sts_token_count, 1)
        # Reading the meter's public STS parameters is fine, its key is not.
        meter = self.meter.with_user(self.operator_user)
        self.assertEqual((meter.sts_sgc, meter.sts_krn, meter.sts_pan[:6]), ("123456", 1, "600727"))
        with self.assertRaises(AccessError):
            meter.read(["sts_vending_key_id"])

    def test_operator_cannot_issue_management_or_key_changes(self):
        with self.assertRaisesRegex(AccessError, "management tokens"):
            self._issue(self.operator_user, token_kind="management", management_type="clear_tamper")
        with self.assertRaisesRegex(AccessError, "key change sets"):
            self._issue(
                self.operator_user,
                token_kind="key_change",
                change_tariff_index=True,
                new_tariff_index=3,
            )
        with self.assertRaises(AccessError):
            self.meter.with_user(self.operator_user)._sts_issue_key_change(tariff_index=3)
        self.assertFalse(self.env["prepaid.sts.token"].search([("meter_id", "=", self.meter.id)]))
        self.assertEqual(self.meter.sts_ti, 1)

    def test_manager_issues_management_not_key_changes(self):
        action = self._issue(
            self.manager_user,
            token_kind="management",
            management_type="max_power_limit",
            power_limit=4000,
        )
        self.assertEqual(self.env["prepaid.sts.token"].browse(action["res_id"]).amount, 4000)
        with self.assertRaisesRegex(AccessError, "key change sets"):
            self.meter.with_user(self.manager_user)._sts_issue_key_change(tariff_index=3)

    def test_admin_issues_key_changes(self):
        self._issue(
            self.admin_user, token_kind="key_change", change_tariff_index=True, new_tariff_index=3
        )
        self.assertEqual(self.meter.sts_ti, 3)

    def test_operator_only_for_meters_of_their_sites(self):
        with self.assertRaises(AccessError):
            self.meter_b.with_user(self.operator_user)._sts_issue_credit(5, free_reason="Test")
        token_b = self.meter_b._sts_issue_credit(5, free_reason="Test")
        token_a = self.meter._sts_issue_credit(5, free_reason="Test")
        Token = self.env["prepaid.sts.token"].with_user(self.operator_user)
        self.assertEqual(Token.search([("id", "in", (token_a | token_b).ids)]), token_a)
        with self.assertRaises(AccessError):
            Token.browse(token_b.id).read(["digits"])
        # The decode wizard does not reveal the meter of a token the operator cannot see.
        wizard = (
            self.env["prepaid.sts.token.decode"]
            .with_user(self.operator_user)
            .create({"meter_id": self.meter.id, "token_input": token_b.digits})
        )
        self.assertEqual(wizard.reject_reason, "crc")
        self.assertNotIn(self.meter_b.display_name, wizard.message)
        # Nor does it decode for a meter the operator cannot see: the access error is shown.
        wizard = (
            self.env["prepaid.sts.token.decode"]
            .with_user(self.operator_user)
            .create({"meter_id": self.meter_b.id, "token_input": token_b.digits})
        )
        self.assertRecordValues(
            wizard, [{"decoded": False, "accepted": False, "amount": 0.0, "tid": 0}]
        )
        self.assertIn("(prepaid.meter)", wizard.message)

    def test_nobody_creates_or_deletes_tokens_directly(self):
        token = self.meter._sts_issue_credit(5, free_reason="Test")
        vals = {
            "meter_id": self.meter.id,
            "token_type": "credit_electricity",
            "digits": "1" * 20,
            "base_date": "2014",
            "issued_by_id": self.operator_user.id,
        }
        for user in (self.operator_user, self.manager_user, self.admin_user):
            Token = self.env["prepaid.sts.token"].with_user(user)
            with self.assertRaises(AccessError):
                Token.create(vals)
            with self.assertRaises(AccessError):
                Token.browse(token.id).unlink()
        with self.assertRaises(AccessError):
            token.with_user(self.operator_user).write({"state": "cancelled", "cancel_reason": "x"})

    def test_multi_company(self):
        company_b = self.env["res.company"].create({"name": "Other Company"})
        manager_b = self._create_prepaid_user(
            "test_prepaid_manager_b", "manager", company=company_b
        )
        token = self.meter._sts_issue_credit(5, free_reason="Test")
        Token = self.env["prepaid.sts.token"].with_user(manager_b)
        self.assertFalse(Token.search([("id", "=", token.id)]))
        with self.assertRaises(AccessError):
            self.meter.with_user(manager_b)._sts_issue_credit(5, free_reason="Test")
