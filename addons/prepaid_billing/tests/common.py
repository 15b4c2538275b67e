"""Shared test base of prepaid_billing's STS part.

``PrepaidStsCommon`` extends the registry of ``prepaid_meter`` (``PrepaidMeterCommon``) with:

    cls.sts_model_electricity, cls.sts_model_water   meter models with an STS keypad
    cls.key_sta      DKGA02 vending key (64 bits), SGC 123456 KRN 1: the conformance vector key
    cls.key_misty    DKGA04 vending key (160 bits), SGC 123457 KRN 1
    cls.admin_user   a prepaid administrator (cls.manager_user, cls.operator_user come from
                     prepaid_meter; the operator works on cls.building)

The key store secret is set for the whole class with ``patch.dict(config.options, ...)``.
"""

from itertools import count
from unittest.mock import patch

from odoo.tools import config

from odoo.addons.prepaid_billing import sts
from odoo.addons.prepaid_meter.tests.common import PrepaidMeterCommon

STA_VENDING_KEY = "abababababababab"
MISTY_VENDING_KEY = "abababababababab949494949494949401234567"
TEST_SECRET = "test-secret-for-the-sts-key-store-0123456789"
_drns = count(1)


class PrepaidStsCommon(PrepaidMeterCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.startClassPatcher(patch.dict(config.options, {"prepaid_sts_key_secret": TEST_SECRET}))
        cls.admin_user = cls._create_prepaid_user("test_prepaid_admin", "admin")
        cls.sts_model_electricity = cls._create_meter_model(
            name="Test STS Electricity Meter",
            utility="electricity",
            protocol="none",
            has_sts_keypad=True,
        )
        cls.sts_model_water = cls._create_meter_model(
            name="Test STS Water Meter", utility="water", protocol="none", has_sts_keypad=True
        )
        cls.provider = cls.env.ref("prepaid_billing.prepaid_sts_provider_software")
        cls._key_material = {}  # vending key id -> hex, to check tokens independently
        cls.key_sta = cls._create_vending_key("123456", 1, "02", STA_VENDING_KEY)
        cls.key_misty = cls._create_vending_key("123457", 1, "04", MISTY_VENDING_KEY)

    @classmethod
    def _create_vending_key(cls, sgc, krn, dkga, material=None, **values):
        vals = {
            "name": f"Test key {sgc}/{krn}",
            "provider_id": cls.provider.id,
            "sgc": sgc,
            "krn": krn,
            "dkga": dkga,
            **values,
        }
        if material:
            vals["vending_key"] = material
        key = cls.env["prepaid.sts.vending.key"].create(vals)
        if material:
            cls._key_material[key.id] = material
        return key

    @classmethod
    def _create_sts_meter(cls, key=None, utility="electricity", **values):
        """An STS meter (STA with ``cls.key_sta`` by default) with a unique DRN."""
        key = cls.key_sta if key is None else key
        model = cls.sts_model_water if utility == "water" else cls.sts_model_electricity
        vals = {
            "sts_drn": f"{next(_drns):011d}",
            "sts_vending_key_id": key.id,
            "sts_ea": "misty1" if key.dkga == "04" else "sta",
            "sts_base_date": "2014",
            **values,
        }
        return cls._create_meter(utility=utility, model=model, **vals)

    @classmethod
    def _vending_key_bytes(cls, key):
        return bytes.fromhex(cls._key_material[key.id])

    def _meter_decoder(self, meter, ken=None):
        """A simulated meter (pure ``sts.MeterDecoder``) with the meter's current decoder key,
        derived here from the known test vending key, independently of the Odoo code."""
        params = meter._sts_key_params()
        material = self._vending_key_bytes(meter.sudo().sts_vending_key_id)
        return sts.MeterDecoder(
            sts.decoder_key(material, params),
            params.ea,
            base_date=params.base_date,
            ken=params.ken if ken is None else ken,
        )

    def _pure_provider(self, key):
        return sts.SoftwareTokenProvider(self._vending_key_bytes(key), cache_size=0)
