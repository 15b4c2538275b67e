from decimal import Decimal

from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from odoo.addons.prepaid_meter.tests.common import PrepaidMeterCommon


class PrepaidLedgerCommon(PrepaidMeterCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Ledger = cls.env["prepaid.ledger"]
        cls.account = cls._create_open_account()

    @classmethod
    def _post(cls, account, kind, amount, key, **values):
        return cls.Ledger._post(
            [{"account": account, "kind": kind, "amount": amount, "key": key, **values}]
        )


@tagged("post_install", "-at_install")
class TestLedger(PrepaidLedgerCommon):
    def test_posting_appends_lines_and_moves_the_balance(self):
        topup = self._post(self.account, "topup", 100.0, "topup-1", description="Counter")
        charge = self._post(self.account, "consumption", -12.34, "rate-1", utility="electricity")
        self.assertEqual(self.account.balance, 87.66)
        self.assertEqual((topup.amount, topup.balance_after), (100.0, 100.0))
        self.assertEqual((charge.amount, charge.balance_after), (-12.34, 87.66))
        self.assertEqual(charge.utility, "electricity")
        self.assertEqual(self.account.ledger_line_ids, topup | charge)
        self.assertEqual(topup.create_uid, self.env.user)
        self.assertEqual(topup.company_id, self.account.company_id)
        self.assertFalse(self.account._check_ledger_balances())

    def test_balances_stay_exact_decimals(self):
        self._post(self.account, "topup", 5000.0, "start")
        for number in range(5):
            self._post(self.account, "consumption", -0.37, f"charge-{number}")
        self.env.cr.execute(
            "SELECT balance::text FROM prepaid_account WHERE id = %s", [self.account.id]
        )
        self.assertEqual(self.env.cr.fetchone()[0], "4998.15")
        self.env.cr.execute(
            "SELECT array_agg(balance_after::text ORDER BY id) FROM prepaid_ledger_line"
            " WHERE account_id = %s",
            [self.account.id],
        )
        self.assertEqual(
            self.env.cr.fetchone()[0],
            ["5000.00", "4999.63", "4999.26", "4998.89", "4998.52", "4998.15"],
        )
        self.assertFalse(self.account._check_ledger_balances())

    def test_texts_are_stored_as_they_are(self):
        """Lines are written as PostgreSQL arrays: quotes, backslashes, braces, commas, the
        word NULL and non-ASCII text arrive unchanged, and an empty description stays empty."""
        texts = ['say "hi"', "back\\slash \\", "{braces},comma", "NULL", "电费 ñ", " "]
        lines = self.Ledger._post(
            [
                {
                    "account": self.account,
                    "kind": "topup",
                    "amount": 1.0,
                    "key": f"{text}-{number}",
                    "description": text,
                }
                for number, text in enumerate(texts)
            ]
        )
        self.assertEqual(lines.mapped("description"), texts)
        self.assertEqual(lines.mapped("idempotency_key"), [f"{t}-{n}" for n, t in enumerate(texts)])
        line = self._post(self.account, "topup", 1.0, "no-description")
        self.assertFalse(line.description)
        self.env.cr.execute("SELECT description FROM prepaid_ledger_line WHERE id = %s", line.ids)
        self.assertIsNone(self.env.cr.fetchone()[0])
        # Replays find them by their keys.
        self.assertEqual(self._post(self.account, "topup", 1.0, 'say "hi"-0'), lines[0])

    def test_a_replayed_key_posts_nothing(self):
        line = self._post(self.account, "topup", 50.0, "payment-callback-42")
        for _retry in range(3):
            self.assertEqual(self._post(self.account, "topup", 50.0, "payment-callback-42"), line)
        # Twice in one batch: one line.
        lines = self.Ledger._post(
            [
                {"account": self.account, "kind": "fee", "amount": -5.0, "key": "fee-1"},
                {"account": self.account, "kind": "fee", "amount": -5.0, "key": "fee-1"},
            ]
        )
        self.assertEqual(lines[0], lines[1])
        self.assertEqual(len(self.account.ledger_line_ids), 2)
        self.assertEqual(self.account.balance, 45.0)
        # The same key for another posting is an error, and nothing is posted.
        with self.assertRaisesRegex(UserError, "already used for another posting"):
            self._post(self.account, "topup", 60.0, "payment-callback-42")
        self.assertEqual(self.account.balance, 45.0)

    def test_keys_are_per_account(self):
        other = self._create_open_account()
        first = self._post(self.account, "topup", 10.0, "same-key")
        second = self._post(other, "topup", 10.0, "same-key")
        self.assertNotEqual(first, second)
        self.assertEqual((self.account.balance, other.balance), (10.0, 10.0))

    def test_bad_entries_are_refused_and_nothing_is_posted(self):
        self._post(self.account, "topup", 20.0, "ok")
        for kind, amount, key, message in (
            ("topup", -10.0, "neg", "must be positive"),
            ("consumption", 3.0, "pos", "must be negative"),
            ("refund", 1.0, "pos-refund", "must be negative"),
            ("topup", 0.0, "zero", "amount is zero"),
            ("topup", 0.001, "tiny", "more decimals than the currency"),
            ("topup", 10.005, "decimals", "more decimals than the currency"),
            # Decimals (what rating posts) are checked the same way.
            ("topup", Decimal("-10.00"), "dec-neg", "must be positive"),
            ("consumption", Decimal("0.37"), "dec-pos", "must be negative"),
            ("consumption", Decimal("-0.00"), "dec-zero", "amount is zero"),
            ("consumption", Decimal("-0.375"), "dec-decimals", "more decimals than the currency"),
            ("topup", "10", "text", "no amount"),
            ("topup", True, "bool", "no amount"),
            ("topup", 10.0, "", "idempotency key"),
            ("topup", 10.0, "k" * 129, "idempotency key"),
            ("gift", 10.0, "gift", "Unknown kind"),
        ):
            with self.subTest(kind=kind, amount=amount, key=key):
                with self.assertRaisesRegex(UserError, message):
                    # One bad entry in a batch: the good one before it is not posted either.
                    self.Ledger._post(
                        [
                            {"account": self.account, "kind": "topup", "amount": 1.0, "key": "b"},
                            {"account": self.account, "kind": kind, "amount": amount, "key": key},
                        ]
                    )
        self.assertEqual(len(self.account.ledger_line_ids), 1)
        self.assertEqual(self.account.balance, 20.0)
        # Decimals within the currency's precision, floats that only look longer, Decimals.
        self._post(self.account, "topup", 0.1 + 0.2, "float-noise")
        self._post(self.account, "topup", Decimal("0.70"), "decimal")
        self.assertEqual(self.account.balance, 21.0)
        self._post(self.account, "consumption", Decimal("-1.5"), "decimal-charge")
        self._post(self.account, "consumption", Decimal("-0.2500"), "decimal-zeros")
        self.env.cr.execute(
            "SELECT array_agg(amount::text ORDER BY id) FROM prepaid_ledger_line"
            " WHERE account_id = %s AND kind = 'consumption'",
            [self.account.id],
        )
        self.assertEqual(self.env.cr.fetchone()[0], ["-1.50", "-0.25"])
        self.assertEqual(self.account.balance, 19.25)

    def test_account_states(self):
        draft = self._create_account(meters=self._create_meter())
        with self.assertRaisesRegex(UserError, "draft"):
            self._post(draft, "topup", 10.0, "draft-topup")
        self._post(self.account, "topup", 30.0, "t1")
        self.account.action_suspend()
        with self.assertRaisesRegex(UserError, "suspended"):
            self._post(self.account, "topup", 10.0, "t2")
        with self.assertRaisesRegex(UserError, "suspended"):
            self._post(self.account, "consumption", -1.0, "c1")
        self._post(self.account, "adjustment", -2.0, "a1", description="Meter test")
        self.account.action_close()
        with self.assertRaisesRegex(UserError, "closed"):
            self._post(self.account, "consumption", -1.0, "c2")
        refund = self._post(self.account, "refund", -28.0, "refund-all")
        self.assertEqual(refund.balance_after, 0.0)
        self.assertEqual(self.account.balance, 0.0)

    def test_corrections_reference_the_corrected_line(self):
        topup = self._post(self.account, "topup", 40.0, "mistake")
        reversal = self._post(
            self.account, "reversal", -40.0, "reverse-mistake", corrects=topup, origin=topup
        )
        self.assertEqual(reversal.corrected_line_id, topup)
        self.assertEqual(topup.correction_line_ids, reversal)
        self.assertEqual(reversal.res_model, "prepaid.ledger.line")
        self.assertEqual(reversal.source_display, topup.display_name)
        self.assertEqual(self.account.balance, 0.0)

    def test_lines_are_immutable(self):
        line = self._post(self.account, "topup", 10.0, "immutable")
        for user in (self.operator_user, self.manager_user, self.env.ref("base.user_admin")):
            with self.subTest(user=user.login):
                with self.assertRaises(AccessError):
                    line.with_user(user).write({"amount": 1000.0})
                with self.assertRaises(UserError):  # an AccessError is a UserError
                    line.with_user(user).unlink()
                with self.assertRaises(UserError):  # an AccessError is a UserError
                    self.env["prepaid.ledger.line"].with_user(user).create(
                        {
                            "account_id": self.account.id,
                            "kind": "topup",
                            "amount": 1000.0,
                            "idempotency_key": "forged",
                            "company_id": self.account.company_id.id,
                        }
                    )
        # Not even the superuser deletes or creates lines through the ORM.
        with self.assertRaises(UserError):
            line.unlink()
        with self.assertRaises(UserError):
            self.env["prepaid.ledger.line"].create({"account_id": self.account.id})
        # Nor writes the balance by hand.
        with self.assertRaisesRegex(AccessError, "kept by the system"):
            self.account.with_user(self.manager_user).balance = 1e6
        self.assertEqual(self.account.balance, 10.0)

    def test_balance_check_flags_a_mismatch(self):
        self._post(self.account, "topup", 25.0, "t")
        other = self._create_open_account()
        self._post(other, "topup", 5.0, "t")
        self.assertFalse(self.env["prepaid.account"]._check_ledger_balances())
        # Something wrote the balance behind the posting service's back.
        self.env.cr.execute(
            "UPDATE prepaid_account SET balance = 99 WHERE id = %s", [self.account.id]
        )
        self.account.invalidate_recordset(["balance"])
        mismatches = self.env["prepaid.account"]._check_ledger_balances()
        self.assertEqual(list(mismatches), [self.account])
        activity = self.account.activity_ids
        self.assertEqual(activity.summary, "Balance differs from the ledger")
        self.assertTrue(activity.user_id.has_group("prepaid_meter.prepaid_meter_group_manager"))
        # Checked again (the scheduled action runs daily): one activity, not one per run.
        self.env["prepaid.account"]._cron_check_ledger_balances()
        self.assertEqual(len(self.account.activity_ids), 1)
        # The button is for managers.
        with self.assertRaises(AccessError):
            self.account.with_user(self.operator_user).action_check_balance()
        result = self.account.with_user(self.manager_user).action_check_balance()
        self.assertEqual(result["params"]["type"], "danger")

    def test_operators_see_the_ledger_of_their_sites_only(self):
        building_b = self._create_site("Building B", site_type="building", parent=self.area)
        floor_b = self._create_site("B1", site_type="floor", parent=building_b)
        account_b = self._create_open_account(room=self._create_room("B101", floor=floor_b))
        mine = self._post(self.account, "topup", 10.0, "mine")
        self._post(account_b, "topup", 10.0, "theirs")
        Line = self.env["prepaid.ledger.line"].with_user(self.operator_user)
        self.assertEqual(Line.search([("idempotency_key", "in", ("mine", "theirs"))]), mine)
        Line = self.env["prepaid.ledger.line"].with_user(self.manager_user)
        self.assertEqual(len(Line.search([("idempotency_key", "in", ("mine", "theirs"))])), 2)

    def test_posting_queries_are_bounded(self):
        # Balances above the alarm thresholds before and after: no alarm nor cut-off to send.
        accounts = [
            self._create_open_account(
                alarm1_threshold=3.0, alarm2_threshold=2.0, alarm3_threshold=1.0
            )
            for _index in range(5)
        ]
        for account in accounts:
            self._post(account, "topup", 5.0, "warm-up")
        entries = [
            {"account": account, "kind": "topup", "amount": 10.0, "key": f"batch-{key}"}
            for account in accounts
            for key in ("a", "b")
        ]
        # Lock, keys, insert, balances, and the alarm hook's read of the new balances: the
        # same number of statements for 1 or 10 entries.
        with self.assertQueryCount(5):
            self.Ledger._post(entries)
        self.assertEqual(accounts[1].balance, 25.0)
