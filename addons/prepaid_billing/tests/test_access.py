"""The access policy of billing, tried as each group through the ORM and the external API.

Every guarded field and method of the STS models (tokens, vending keys, providers, the STS
fields of meters, the wizards; see ``readme/CONFIGURE.md``) is tried as an operator, a manager
and an administrator, in-process and over XML-RPC: what the policy refuses is refused with a
clear message for every client, what managers and administrators may do still works, key
change tokens stay with administrators and the tokens of other buildings stay invisible.
XML-RPC calls of an ``HttpCase`` run in the test's transaction.
"""

import xmlrpc.client

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import HttpCase, tagged

from odoo.addons.base.models.ir_qweb import QWebException
from odoo.addons.prepaid_meter.tests.common import PrepaidAccessTestMixin

from ..models.prepaid_sts_token import CANCEL_FIELDS
from .common import STA_VENDING_KEY, PrepaidStsCommon

REMOTE = "cannot be called remotely"
ADMINS = "group .*Administrator"
MANAGERS = "group .*Manager"
# A value each token field accepts (the policy is checked before the value).
TOKEN_VALUES = {
    "digits": "1" * 20,
    "amount": 500.0,
    "tid": 1,
    "meter_id": None,  # set in setUpClass
    "issued_by_id": None,
    "origin": "FORGED",
    "token_type": "credit_water",
}
CANCEL_VALUES = {
    "state": "cancelled",
    "cancel_reason": "forged",
    "cancelled_by_id": None,  # another user, set in setUpClass
    "cancelled_at": "2025-01-01 00:00:00",
}


@tagged("post_install", "-at_install")
class TestBillingAccess(PrepaidAccessTestMixin, PrepaidStsCommon, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.users = {
            "operator": cls.operator_user,
            "manager": cls.manager_user,
            "admin": cls.admin_user,
        }
        # Allowed to export: what they may not see, they may not export either.
        export = cls.env.ref("base.group_allow_export")
        for user in cls.users.values():
            user.groups_id = [Command.link(export.id)]
        cls.meter = cls._create_sts_meter()  # in cls.building, operated by cls.operator_user
        cls.credit = cls.meter._sts_issue_credit(10, origin="SALE/1", free_reason="Test")
        cls.limit = cls.meter._sts_issue_management("max_power_limit", 4000)
        cls.kct = cls.meter._sts_issue_key_change(tariff_index=2)
        # Building B: operated by nobody of this test.
        cls.building_b = cls._create_site("Building B", site_type="building", parent=cls.area)
        floor_b = cls._create_site("B Floor 1", site_type="floor", parent=cls.building_b)
        cls.meter_b = cls._create_sts_meter(room=cls._create_room("B101", floor=floor_b))
        cls.credit_b = cls.meter_b._sts_issue_credit(5, origin="SALE/B", free_reason="Test")
        TOKEN_VALUES.update(meter_id=cls.meter_b.id, issued_by_id=cls.operator_user.id)
        CANCEL_VALUES["cancelled_by_id"] = cls.operator_user.id

    # === HELPERS === #

    def _issue_wizard(self, user, meters, **values):
        """Create the issue wizard over XML-RPC as ``user``; return its id."""
        return self.rpc(
            user,
            "prepaid.sts.token.issue",
            "create",
            {"meter_ids": [(6, 0, meters.ids)], **values},
        )

    # === TOKENS === #

    def test_tokens_are_written_by_nobody(self):
        for user in self.users.values():
            for name, value in TOKEN_VALUES.items():
                self.assertRefused(
                    user, self.credit, "write", ({name: value},), "cannot be changed", UserError
                )
            # The cancellation fields are the cancellation's, even for administrators (who
            # would otherwise sign a cancellation with another user's name).
            for name, value in CANCEL_VALUES.items():
                self.assertRefused(
                    user, self.credit, "write", ({name: value},), "kept by the system"
                )
            self.assertRefused(
                user, self.credit, "write", (CANCEL_VALUES,), "Cancelled By.*kept by the system"
            )
        self.assertRecordValues(self.credit, [{"state": "issued", "cancelled_by_id": False}])
        self.assertEqual(set(CANCEL_FIELDS), set(CANCEL_VALUES))

    def test_cancelling_is_for_administrators(self):
        for user in (self.operator_user, self.manager_user):
            self.assertRefused(user, self.credit, "action_cancel", (), f"{ADMINS} may cancel")
            with self.assertRaises(xmlrpc.client.Fault) as caught:
                self.rpc(
                    user,
                    "prepaid.sts.token.cancel",
                    "create",
                    {"token_ids": [(6, 0, self.credit.ids)], "reason": "x"},
                )
            self.assertIn("prepaid.sts.token.cancel", caught.exception.faultString)
            with self.assertRaisesRegex(AccessError, f"{ADMINS} may cancel"):
                self.credit.with_user(user)._cancel("mistake")
        for user in self.users.values():
            self.assertRpcRefused(user, self.credit, "_cancel", ("mistake",), REMOTE)
        # The administrator's way: the wizard, which signs with the administrator's name.
        action = self.rpc(self.admin_user, "prepaid.sts.token", "action_cancel", self.credit.ids)
        self.assertEqual(action["res_model"], "prepaid.sts.token.cancel")
        wizard_id = self.rpc(
            self.admin_user,
            "prepaid.sts.token.cancel",
            "create",
            {"token_ids": [(6, 0, self.credit.ids)], "reason": "Sold twice"},
        )
        self.rpc(self.admin_user, "prepaid.sts.token.cancel", "action_confirm", [wizard_id])
        self.credit.invalidate_recordset()
        self.assertRecordValues(
            self.credit,
            [
                {
                    "state": "cancelled",
                    "cancel_reason": "Sold twice",
                    "cancelled_by_id": self.admin_user.id,
                }
            ],
        )
        self.assertTrue(self.credit.cancelled_at)

    def test_issuing_each_kind(self):
        kinds = {
            "credit": (
                {"amount": 5, "free_reason": "Emergency"},
                {"operator": "Manager may issue free credit tokens.*Sell Credit"},
            ),
            "management": (
                {"management_type": "clear_tamper"},
                {"operator": f"{MANAGERS} may issue management tokens"},
            ),
            "key_change": (
                {"change_key_expiry": True, "new_key_expiry": 200},
                {
                    "operator": f"{ADMINS} may issue key change sets",
                    "manager": f"{ADMINS} may issue key change sets",
                },
            ),
        }
        Token = self.env["prepaid.sts.token"]
        for kind, (values, refusals) in kinds.items():
            for level, user in self.users.items():
                wizard_id = self._issue_wizard(user, self.meter, token_kind=kind, **values)
                with self.subTest(kind=kind, user=level):
                    domain = [("meter_id", "=", self.meter.id), ("issued_by_id", "=", user.id)]
                    before = Token.search_count(domain)
                    if level in refusals:
                        with self.assertRaises(xmlrpc.client.Fault) as caught:
                            self.rpc(user, "prepaid.sts.token.issue", "action_issue", [wizard_id])
                        self.assertRegex(caught.exception.faultString, refusals[level])
                        self.assertEqual(Token.search_count(domain), before)
                    else:
                        self.rpc(user, "prepaid.sts.token.issue", "action_issue", [wizard_id])
                        self.assertGreater(Token.search_count(domain), before)
        # The methods that issue are not endpoints, whoever calls them.
        for user in self.users.values():
            self.assertRpcRefused(user, self.meter, "_sts_issue_credit", (5,), REMOTE)
            self.assertRpcRefused(
                user, self.meter, "_sts_issue_management", ("clear_tamper",), REMOTE
            )
            self.assertRpcRefused(user, self.meter, "_sts_issue_key_change", (), REMOTE)
            self.assertRpcRefused(user, self.meter, "_sts_decode", ("0" * 20,), REMOTE)
            Vending = self.env["prepaid.sts.vending"]
            for method in ("_issue_credit", "_lock_meters", "_get_decoder_key"):
                self.assertRpcRefused(user, Vending, method, (self.meter.ids,), REMOTE)

    def test_operators_are_told_who_issues_credit(self):
        wizard = (
            self.env["prepaid.sts.token.issue"]
            .with_user(self.operator_user)
            .with_context(active_model="prepaid.meter", active_ids=self.meter.ids)
            .create({"amount": 5})
        )
        self.assertFalse(wizard.can_issue_credit)
        # The form says why (and offers no Issue button), and so does the server.
        arch = wizard.get_views([(False, "form")])["views"]["form"]["arch"]
        self.assertRegex(arch, r"Credit is sold through top-ups")
        self.assertRefused(
            self.operator_user, wizard, "action_issue", (), "free credit tokens.*Sell Credit"
        )

    def test_key_change_tokens_are_for_administrators(self):
        Report = self.env["ir.actions.report"]
        for user in (self.operator_user, self.manager_user):
            Token = self.env["prepaid.sts.token"].with_user(user)
            with self.subTest(user=user.login):
                # They see the credit and management tokens of the meter, not its key change.
                self.assertEqual(
                    Token.search([("meter_id", "=", self.meter.id)]), self.credit | self.limit
                )
                rows = self.rpc(
                    user,
                    "prepaid.sts.token",
                    "search_read",
                    [("meter_id", "=", self.meter.id)],
                    fields=["digits", "display_name"],
                )
                self.assertEqual({row["id"] for row in rows}, set((self.credit | self.limit).ids))
                for digits in self.kct.mapped("digits"):
                    self.assertFalse(Token.search([("digits", "=", digits)]))
                    self.assertFalse(Token.name_search(digits))
                self.assertEqual(
                    self.meter.with_user(user).sts_token_count, 2, "the token log's counter"
                )
                groups = self.rpc(
                    user,
                    "prepaid.sts.token",
                    "read_group",
                    [("meter_id", "=", self.meter.id)],
                    ["token_type"],
                    ["token_type"],
                )
                self.assertEqual(
                    {group["token_type"] for group in groups},
                    {"credit_electricity", "max_power_limit"},
                )
                # Asked by id: read, export, report.
                self.assertRefused(user, self.kct, "read", (["digits"],), "top-secret")
                self.assertRefused(user, self.kct, "export_data", (["digits"],), "top-secret")
                with self.assertRaises(QWebException) as caught:
                    Report.with_user(user)._render_qweb_html(
                        "prepaid_billing.prepaid_sts_token_report", self.kct.ids
                    )
                self.assertIsInstance(caught.exception.__cause__, AccessError)
                # The decode wizard names the key change token it finds, without its digits
                # (the web client reads the names of many2one values in sudo).
                wizard = (
                    self.env["prepaid.sts.token.decode"]
                    .with_user(user)
                    .create({"meter_id": self.meter.id, "token_input": self.kct[0].digits})
                )
                shown = wizard.web_read({"matching_token_id": {"fields": {"display_name": {}}}})
                name = shown[0]["matching_token_id"]["display_name"]
                self.assertIn("Key Change 1", name)
                self.assertNotIn(self.kct[0].token_grouped, name)
                self.assertNotIn(self.kct[0].digits, name)
        # Administrators see them, and print them.
        rows = self.rpc(
            self.admin_user, "prepaid.sts.token", "read", self.kct.ids, fields=["digits"]
        )
        self.assertEqual([row["digits"] for row in rows], self.kct.mapped("digits"))
        html = (
            Report.with_user(self.admin_user)
            ._render_qweb_html("prepaid_billing.prepaid_sts_token_report", self.kct.ids)[0]
            .decode()
        )
        self.assertIn(self.kct[0].token_grouped, html)

    def test_tokens_of_other_buildings_are_invisible(self):
        user = self.operator_user
        Token = self.env["prepaid.sts.token"].with_user(user)
        self.assertFalse(Token.search([("id", "=", self.credit_b.id)]))
        self.assertFalse(Token.search([("meter_id.name", "=", self.meter_b.name)]))
        self.assertFalse(Token.name_search("SALE/B"))
        self.assertFalse(
            self.rpc(user, "prepaid.sts.token", "search_read", [("origin", "=", "SALE/B")])
        )
        groups = Token.read_group([], ["meter_id"], ["meter_id"])
        self.assertNotIn(self.meter_b.id, [group["meter_id"][0] for group in groups])
        self.assertRefused(user, self.credit_b, "read", (["digits"],), "top-secret")
        self.assertRefused(user, self.credit_b, "export_data", (["digits"],), "top-secret")
        self.assertRefused(user, self.credit_b, "read", (["meter_id"],), "top-secret")
        # Their meters neither, nor what a token of theirs relates to.
        self.assertRefused(user, self.meter_b, "read", (["sts_pan"],), "top-secret")
        self.assertEqual(
            Token.browse(self.credit.id).read(["meter_id"])[0]["meter_id"][0], self.meter.id
        )
        self.assertFalse(self.meter.with_user(user).sts_token_ids & self.credit_b)

    # === VENDING KEYS AND PROVIDERS === #

    def test_vending_keys_are_for_administrators(self):
        key = self.key_sta
        for user in (self.operator_user, self.manager_user):
            for method, args in (
                ("read", (["name", "key_check_value"],)),
                ("write", ({"name": "Mine"},)),
                ("write", ({"vending_key": STA_VENDING_KEY},)),
            ):
                self.assertRefused(user, key, method, args, "(?s)STS Vending Key.*Administrator")
            with self.assertRaises(xmlrpc.client.Fault) as caught:
                self.rpc(user, "prepaid.sts.vending.key", "create", {"name": "x", "sgc": "1"})
            self.assertIn("prepaid.sts.vending.key", caught.exception.faultString)
            # The method that decrypts checks who asks, even in-process.
            with self.assertRaisesRegex(AccessError, f"{ADMINS} may use the material"):
                key.with_user(user)._get_vending_key()
        for user in self.users.values():
            self.assertRpcRefused(user, key, "_get_vending_key", (), REMOTE)
            self.assertRpcRefused(user, key, "_set_vending_key", (STA_VENDING_KEY,), REMOTE)
            self.assertRpcRefused(user, key, "_reencrypt_key_store", ("old",), REMOTE)
            self.assertRpcRefused(user, key, "_fernet", (), REMOTE)
        # Administrators replace the material and never read it back; what says whether there
        # is material, and which, follows the material.
        admin = self.admin_user
        self.rpc(
            admin, "prepaid.sts.vending.key", "write", key.ids, {"vending_key": STA_VENDING_KEY}
        )
        rows = self.rpc(admin, "prepaid.sts.vending.key", "read", key.ids, ["vending_key"])
        self.assertFalse(rows[0]["vending_key"])
        for values in ({"key_check_value": "000000"}, {"has_key_material": False}):
            self.assertRefused(admin, key, "write", (values,), "kept by the system")
        exported = self.rpc(admin, "prepaid.sts.vending.key", "export_data", key.ids, ["name"])
        self.assertEqual(exported["datas"], [[key.name]])
        self.assertEqual(key.with_user(admin)._get_vending_key(), bytes.fromhex(STA_VENDING_KEY))

    def test_providers_are_for_administrators(self):
        provider = self.provider
        for user in (self.operator_user, self.manager_user):
            for method, args in (("read", (["name"],)), ("write", ({"name": "Mine"},))):
                self.assertRefused(
                    user, provider, method, args, "(?s)Token Provider.*Administrator"
                )
        for user in self.users.values():
            self.assertRpcRefused(
                user, provider, "_get_token_provider", (self.key_sta.ids,), REMOTE
            )
            self.assertRpcRefused(user, provider, "_get_decoder_key", (self.key_sta.ids,), REMOTE)
        self.rpc(self.admin_user, "prepaid.sts.provider", "write", provider.ids, {"sequence": 5})
        provider.invalidate_recordset()
        self.assertEqual(provider.sequence, 5)

    # === STS FIELDS OF METERS === #

    def test_sts_parameters_of_keyed_meters_are_for_administrators(self):
        keyed = self.meter
        for user in (self.operator_user, self.manager_user):
            for values in (
                {"sts_ti": 5},
                {"sts_drn": "99999999999"},
                {"sts_pan": "600727999999999990"},
                {"sts_ken": 10},
                {"sts_base_date": "2035"},
                {"sts_vending_key_id": self.key_misty.id},
            ):
                self.assertRefused(user, keyed, "write", (values,), f"only users of the {ADMINS}")
        for user in self.users.values():
            for values in ({"sts_sgc": "000001"}, {"sts_krn": 9}, {"sts_dkga": "04"}):
                self.assertRefused(user, keyed, "write", (values,), "kept by the system")
        # Managers prepare the meters without a key; administrators change keyed ones.
        unkeyed = self._create_sts_meter(sts_vending_key_id=False)
        self.rpc(self.manager_user, "prepaid.meter", "write", unkeyed.ids, {"sts_ti": 4})
        self.rpc(self.admin_user, "prepaid.meter", "write", keyed.ids, {"sts_ken": 200})
        (keyed | unkeyed).invalidate_recordset()
        self.assertEqual((unkeyed.sts_ti, keyed.sts_ken), (4, 200))
        # The meter's key is admin-only to read, too.
        self.assertRefused(
            self.manager_user, keyed, "read", (["sts_vending_key_id"],), "sts_vending_key_id"
        )

    # === WALLET LEDGER === #

    def test_the_ledger_is_written_by_the_posting_service_only(self):
        account = self._create_open_account()
        line = self.env["prepaid.ledger"]._post(
            [{"account": account, "kind": "topup", "amount": 10.0, "key": "access-1"}]
        )
        for user in self.users.values():
            self.assertWriteRefused(
                user,
                line,
                {"amount": 99.0, "balance_after": 99.0, "idempotency_key": "x", "kind": "fee"},
                "kept by the system",
            )
            self.assertRefused(user, line, "unlink", (), "delete", UserError)
            self.assertRefused(user, account, "write", ({"balance": 1e6},), "kept by the system")
            self.assertRpcRefused(user, self.env["prepaid.ledger"], "_post", ([],), REMOTE)
            with self.subTest(user=user.login, method="create"):
                with self.assertRaises(xmlrpc.client.Fault):
                    self.rpc(
                        user,
                        "prepaid.ledger.line",
                        "create",
                        {"account_id": account.id, "kind": "topup", "amount": 5.0},
                    )
        self.assertRefused(self.operator_user, account, "action_check_balance", (), MANAGERS)
        result = self.rpc(self.manager_user, "prepaid.account", "action_check_balance", account.ids)
        self.assertEqual(result["params"]["type"], "success")
        self.assertEqual(account.ledger_line_ids, line)
        self.assertEqual(account.balance, 10.0)
        # Operators read the ledger of the accounts of their sites.
        rows = self.rpc(
            self.operator_user,
            "prepaid.ledger.line",
            "search_read",
            [("account_id", "=", account.id)],
            ["amount", "balance_after"],
        )
        self.assertEqual(rows, [{"id": line.id, "amount": 10.0, "balance_after": 10.0}])

    # === TOP-UPS === #

    def test_topups_through_the_external_api(self):
        account = self._create_open_account()
        # An integration sells credit the way the counter does: an order, then the payment.
        topup_id = self.rpc(
            self.operator_user,
            "prepaid.topup",
            "create",
            {"account_id": account.id, "amount": 20.0, "payment_method": "bank_transfer"},
        )
        self.rpc(self.operator_user, "prepaid.topup", "action_confirm_payment", [topup_id])
        topup = account.topup_ids
        self.assertEqual((topup.state, account.balance), ("delivered", 20.0))
        for user in self.users.values():
            self.assertWriteRefused(
                user, topup, {"amount": 2000.0, "state": "draft"}, "kept by the system"
            )
            for method in ("_pay", "_deliver", "_update_state"):
                self.assertRpcRefused(user, topup, method, (), REMOTE)
        self.assertRefused(self.operator_user, topup, "action_reverse", ("Mistake",), MANAGERS)
        self.rpc(self.manager_user, "prepaid.topup", "action_reverse", topup.ids, "Mistake")
        self.assertEqual((topup.state, account.balance), ("reversed", 0.0))
