import logging
from unittest.mock import patch

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import tagged
from odoo.tools import SQL, config

from .common import MISTY_VENDING_KEY, STA_VENDING_KEY, TEST_SECRET, PrepaidStsCommon

SECRET_OPTION = "prepaid_sts_key_secret"


@tagged("post_install", "-at_install")
class TestStsVendingKey(PrepaidStsCommon):
    """The key store: write-only, encrypted key material, only for administrators."""

    def _ciphertext(self, key):
        self.env.cr.execute(
            SQL("SELECT key_ciphertext FROM prepaid_sts_vending_key WHERE id = %s", key.id)
        )
        return self.env.cr.fetchone()[0]

    def test_material_is_encrypted_at_rest(self):
        ciphertext = self._ciphertext(self.key_sta)
        self.assertTrue(ciphertext)
        self.assertNotIn(STA_VENDING_KEY, ciphertext.lower())
        self.assertEqual(self.key_sta.sudo()._get_vending_key(), bytes.fromhex(STA_VENDING_KEY))
        self.assertEqual(self.key_misty.sudo()._get_vending_key(), bytes.fromhex(MISTY_VENDING_KEY))
        self.assertTrue(self.key_sta.has_key_material)
        # The usual DES key check value: DES(key, 0), first 3 bytes.
        self.assertRegex(self.key_sta.key_check_value, r"^[0-9A-F]{6}$")
        self.assertNotIn(self.key_sta.key_check_value.lower(), STA_VENDING_KEY)

    def test_material_is_write_only(self):
        key = self.key_sta
        fields = ["name", "sgc", "vending_key", "key_check_value"]
        outputs = [
            key.read(fields),
            key.search_read([("id", "=", key.id)], fields),
            key.export_data(fields)["datas"],
            key.web_read({name: {} for name in fields}),
            key.web_search_read([("id", "=", key.id)], {name: {} for name in fields}),
            key.copy_data(),
        ]
        # Writing the key through the web client returns the record read back.
        outputs.append(
            key.web_save({"vending_key": STA_VENDING_KEY}, {name: {} for name in fields})
        )
        new = self.env["prepaid.sts.vending.key"].web_save(
            {
                "name": "New",
                "sgc": "654321",
                "krn": 1,
                "dkga": "02",
                "vending_key": "0102030405060708",
            },
            {name: {} for name in fields},
        )
        outputs.append(new)
        for output in outputs:
            self.assertNotIn(STA_VENDING_KEY, str(output).lower())
            self.assertNotIn("0102030405060708", str(output))
        self.assertFalse(key.vending_key)
        self.assertEqual(
            self.env["prepaid.sts.vending.key"].browse(new[0]["id"]).sudo()._get_vending_key(),
            bytes.fromhex("0102030405060708"),
        )

    def test_material_never_logged(self):
        """Nothing logged while storing a key and issuing tokens with it - down to the SQL
        queries at debug level - contains the key."""
        with self.assertLogs("odoo", level=logging.DEBUG) as logs:
            key = self._create_vending_key("111111", 1, "02", "0f1e2d3c4b5a6978")
            meter = self._create_sts_meter(key=key)
            meter._sts_issue_credit(10, free_reason="Test")
            meter._sts_issue_management("clear_tamper")
            new_key = self._create_vending_key("111111", 2, "02", "8796a5b4c3d2e1f0")
            meter.with_user(self.admin_user)._sts_issue_key_change(vending_key=new_key)
        text = "\n".join(logs.output).lower()
        self.assertIn("sts vending key", text)  # the audit lines are there...
        for secret in ("0f1e2d3c4b5a6978", "8796a5b4c3d2e1f0", TEST_SECRET.lower()):
            self.assertNotIn(secret, text)  # ... without the keys or the secret

    def test_material_is_validated_without_echo(self):
        with self.assertRaisesRegex(ValidationError, "16 hexadecimal digits") as error:
            self.key_sta.vending_key = "abcdef"
        self.assertNotIn("abcdef", str(error.exception))
        with self.assertRaisesRegex(ValidationError, "hexadecimal") as error:
            self.key_sta.vending_key = "zz" * 8
        self.assertNotIn("zz" * 8, str(error.exception))
        with self.assertRaisesRegex(ValidationError, "40 hexadecimal digits"):
            self.key_misty.vending_key = STA_VENDING_KEY

    def test_missing_secret_is_a_clear_error(self):
        meter = self._create_sts_meter()
        for krn, value in enumerate(("", None), start=1):
            with patch.dict(config.options, {SECRET_OPTION: value}):
                with self.assertRaisesRegex(UserError, SECRET_OPTION):
                    self._create_vending_key("222222", krn, "02", STA_VENDING_KEY)
                with self.assertRaisesRegex(UserError, SECRET_OPTION):
                    meter._sts_issue_credit(5, free_reason="Test")
        with patch.dict(config.options, {SECRET_OPTION: "short"}):
            with self.assertRaisesRegex(UserError, f"{SECRET_OPTION} is too short"):
                meter._sts_issue_credit(5, free_reason="Test")

    def test_other_secret_cannot_decrypt(self):
        meter = self._create_sts_meter()
        with patch.dict(config.options, {SECRET_OPTION: "another-secret-" + "x" * 32}):
            with self.assertRaisesRegex(UserError, "cannot be decrypted"):
                meter._sts_issue_credit(5, free_reason="Test")

    def test_ciphertext_is_bound_to_its_record(self):
        other = self._create_vending_key("333333", 1, "02", "1111111111111111")
        self.env.cr.execute(
            SQL(
                "UPDATE prepaid_sts_vending_key SET key_ciphertext = %s WHERE id = %s",
                self._ciphertext(self.key_sta),
                other.id,
            )
        )
        with self.assertRaisesRegex(UserError, "cannot be decrypted"):
            other.sudo()._get_vending_key()

    def test_reencrypt_after_secret_change(self):
        # Only the keys of this class: with demo data the store also holds the demo key,
        # encrypted with the server's own secret.
        self.env.cr.execute(
            SQL(
                "UPDATE prepaid_sts_vending_key SET key_ciphertext = NULL WHERE id NOT IN %s",
                tuple(self._key_material),
            )
        )
        new_secret = "a-brand-new-secret-" + "y" * 32
        with patch.dict(config.options, {SECRET_OPTION: new_secret}):
            count = self.env["prepaid.sts.vending.key"]._reencrypt_key_store(TEST_SECRET)
            self.assertGreaterEqual(count, 2)
            self.assertEqual(self.key_sta.sudo()._get_vending_key(), bytes.fromhex(STA_VENDING_KEY))

    def test_key_without_material(self):
        key = self._create_vending_key("444444", 1, "02")
        self.assertFalse(key.has_key_material)
        meter = self._create_sts_meter(key=key)
        with self.assertRaisesRegex(UserError, "has no key material"):
            meter._sts_issue_credit(5, free_reason="Test")

    def test_only_administrators_access_keys(self):
        for user in (self.operator_user, self.manager_user):
            Key = self.env["prepaid.sts.vending.key"].with_user(user)
            with self.assertRaises(AccessError):
                Key.search([])
            with self.assertRaises(AccessError):
                Key.browse(self.key_sta.id).read(["name"])
            with self.assertRaises(AccessError):
                Key.create({"name": "Mine", "sgc": "555555", "krn": 1})
            with self.assertRaises(AccessError):
                self.env["prepaid.sts.provider"].with_user(user).search([])
        admin_key = self.key_sta.with_user(self.admin_user)
        self.assertEqual(admin_key.read(["vending_key"])[0]["vending_key"], False)
        admin_key.vending_key = STA_VENDING_KEY  # admins may replace the material

    def test_key_slot_of_a_used_key_is_frozen(self):
        self._create_sts_meter(key=self.key_sta)
        with self.assertRaisesRegex(UserError, "cannot change"):
            self.key_sta.krn = 2
        self.key_sta.name = "Renamed"  # harmless fields stay editable
