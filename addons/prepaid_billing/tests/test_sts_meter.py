from psycopg2 import IntegrityError

from odoo.exceptions import AccessError, ValidationError
from odoo.tests import tagged
from odoo.tools import mute_logger

from odoo.addons.prepaid_billing.models.prepaid_meter import luhn_check_digit

from .common import PrepaidStsCommon


@tagged("post_install", "-at_install")
class TestStsMeter(PrepaidStsCommon):
    """STS parameters of meters: PAN with its check digit, consistency, who may change them."""

    def test_luhn_check_digit(self):
        # The PAN of the STS conformance vectors, and the usual ISO/IEC 7812 example.
        self.assertEqual(luhn_check_digit("60072700000000000"), "9")
        self.assertEqual(luhn_check_digit("7992739871"), "3")

    def test_pan_from_iin_and_drn(self):
        meter = self._create_sts_meter(sts_drn="000 0000 0000")
        self.assertEqual(meter.sts_drn, "00000000000")
        self.assertEqual(meter.sts_iin, "600727")
        self.assertEqual(meter.sts_pan, "600727000000000009")
        meter.sts_drn = "12345678901"
        self.assertEqual(meter.sts_pan, "60072712345678901" + luhn_check_digit("60072712345678901"))

    def test_pan_written_is_checked(self):
        meter = self._create_sts_meter()
        with self.assertRaisesRegex(ValidationError, "wrong check digit.*ends in 9"):
            meter.sts_pan = "600727000000000001"
        with self.assertRaisesRegex(ValidationError, "18 digits"):
            meter.sts_pan = "60072700000000000"
        meter.sts_pan = "6007 2700 0000 0000 09"
        self.assertEqual((meter.sts_iin, meter.sts_drn), ("600727", "00000000000"))
        self.assertEqual(meter.sts_pan, "600727000000000009")

    def test_drn_and_iin_are_validated(self):
        meter = self._create_sts_meter()
        with self.assertRaisesRegex(ValidationError, "DRN .* must be 11 digits"):
            meter.sts_drn = "1234"
        with self.assertRaisesRegex(ValidationError, "IIN .* must be 6 digits"):
            meter.sts_iin = "60A727"

    def test_pan_unique_per_company(self):
        meter = self._create_sts_meter()
        with mute_logger("odoo.sql_db"), self.assertRaises(IntegrityError), self.cr.savepoint():
            self._create_sts_meter(sts_drn=meter.sts_drn)

    def test_misty1_needs_a_dkga04_key(self):
        with self.assertRaisesRegex(ValidationError, "MISTY1.*DKGA04"):
            self._create_sts_meter(key=self.key_sta, sts_ea="misty1")
        meter = self._create_sts_meter(key=self.key_misty, sts_ea="sta")
        self.assertEqual(meter._sts_key_params().dkga, 4)

    def test_key_params(self):
        meter = self._create_sts_meter(key=self.key_misty, sts_ti=7, sts_ken=0xF0)
        params = meter._sts_key_params()
        self.assertEqual(
            (params.pan[:6], params.sgc, params.krn, params.ti, params.kt, params.ken),
            ("600727", 123457, 1, 7, 2, 0xF0),
        )
        self.assertEqual((params.ea.name, params.dkga, params.base_date), ("MISTY1", 4, 2014))
        self.assertEqual((meter.sts_sgc, meter.sts_krn, meter.sts_dkga), ("123457", 1, "04"))

    def test_key_parameters_of_keyed_meters_are_for_admins(self):
        keyed = self._create_sts_meter()
        unkeyed = self._create_sts_meter(sts_vending_key_id=False)
        for user in (self.manager_user, self.operator_user):
            with self.assertRaisesRegex(AccessError, "Tariff Index: only .*Administrator"):
                keyed.with_user(user).write({"sts_ti": 5})
            with self.assertRaisesRegex(AccessError, "DRN: only .*Administrator"):
                keyed.with_user(user).write({"sts_drn": "99999999999"})
            # Nor through a batch that holds an unkeyed meter too.
            with self.assertRaisesRegex(AccessError, "Tariff Index"):
                (keyed | unkeyed).with_user(user).write({"sts_ti": 5})
            with self.assertRaises(AccessError):
                keyed.with_user(user).read(["sts_vending_key_id"])
        # Writing the same value (a form saved unchanged) and other fields are fine.
        keyed.with_user(self.manager_user).write(
            {"sts_ti": keyed.sts_ti, "sts_pan": keyed.sts_pan, "note": "checked"}
        )
        self.assertTrue(keyed.with_user(self.manager_user).sts_params_locked)
        # A meter without a key is prepared by its managers; admins change anything.
        unkeyed.with_user(self.manager_user).write({"sts_ti": 5, "sts_drn": "99999999999"})
        keyed.with_user(self.admin_user).write({"sts_ti": 3})
        self.assertFalse(keyed.with_user(self.admin_user).sts_params_locked)
        self.assertEqual(keyed.sts_ti, 3)
