"""Shared test base of the prepaid suite.

``PrepaidMeterCommon`` (a ``BaseCommon``, mail tracking disabled) builds, for each test class,
a small registry that no test depends on demo data for:

    cls.area > cls.building > cls.floor > cls.room       (company: cls.company)
    cls.model_electricity   Acrel DDSY1352 of the catalogue (relay, balance, TOU)
    cls.model_water         valve-controlled water meter of the catalogue
    cls.model_manual        a manual electricity meter (no protocol, no relay)
    cls.tariff_electricity, cls.tariff_water
    cls.tenant              a res.partner
    cls.manager_user, cls.operator_user   (the operator is assigned to cls.building)

Other addons mix ``PrepaidMeterTestMixin`` into their own base (e.g. with
``AccountTestInvoicingCommon``) and call ``cls._setup_prepaid_registry()`` in ``setUpClass``.
The ``_create_*`` helpers take keyword overrides for any field and stay stable.
"""

import xmlrpc.client
from itertools import count

from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests.common import new_test_user

from odoo.addons.base.tests.common import BaseCommon

_serials = count(1)


class PrepaidMeterTestMixin:
    """``_create_*`` helpers for sites, meter models, meters, tariffs, accounts and users."""

    @classmethod
    def _setup_prepaid_registry(cls):
        cls.area = cls._create_site("Test Plaza", site_type="area")
        cls.building = cls._create_site("Test Building", site_type="building", parent=cls.area)
        cls.floor = cls._create_site("Test Floor 1", site_type="floor", parent=cls.building)
        cls.room = cls._create_site("Test Room 101", site_type="room", parent=cls.floor)
        cls.model_electricity = cls.env.ref("prepaid_meter.prepaid_meter_model_acrel_ddsy1352")
        cls.model_water = cls.env.ref("prepaid_meter.prepaid_meter_model_water_valve")
        cls.model_manual = cls._create_meter_model(
            name="Test Manual Meter", utility="electricity", protocol="none"
        )
        cls.tariff_electricity = cls._create_tariff(utility="electricity")
        cls.tariff_water = cls._create_tariff(utility="water")
        cls.tenant = cls.env["res.partner"].create({"name": "Test Tenant"})
        cls.manager_user = cls._create_prepaid_user("test_prepaid_manager", "manager")
        cls.operator_user = cls._create_prepaid_user(
            "test_prepaid_operator", "operator", sites=cls.building
        )

    # === SITES === #

    @classmethod
    def _create_site(cls, name, site_type="room", parent=None, **values):
        return cls.env["prepaid.site"].create(
            {
                "name": name,
                "site_type": site_type,
                "parent_id": parent.id if parent else False,
                **values,
            }
        )

    @classmethod
    def _create_room(cls, name, floor=None, **values):
        """A room in ``floor`` (``cls.floor`` by default)."""
        return cls._create_site(name, site_type="room", parent=floor or cls.floor, **values)

    # === METERS === #

    @classmethod
    def _create_meter_model(cls, name, utility="electricity", protocol="modbus_rtu", **values):
        return cls.env["prepaid.meter.model"].create(
            {
                "name": name,
                "utility": utility,
                "protocol": protocol,
                **values,
            }
        )

    @classmethod
    def _create_meter(cls, utility="electricity", room=None, model=None, **values):
        """A draft meter in ``room`` (``cls.room`` by default; ``room=False`` for none), of
        ``model`` (the catalogue model of ``utility`` by default), with a unique serial."""
        if model is None:
            model = cls.model_water if utility == "water" else cls.model_electricity
        room = cls.room if room is None else room
        number = next(_serials)
        vals = {
            "serial_number": f"TEST{number:08d}",
            "name": f"Test Meter {number}",
            "model_id": model.id,
            "room_id": room.id if room else False,
            "comm_address": str(number % 247 + 1),
            **values,
        }
        return cls.env["prepaid.meter"].create(vals)

    # === TARIFFS === #

    @classmethod
    def _create_tariff(cls, utility="electricity", **values):
        """A tariff with the defaults of the tariff model (override for specific rates)."""
        return cls.env["prepaid.tariff"].create(
            {
                "name": f"Test {utility} tariff",
                "utility": utility,
                **values,
            }
        )

    # === ACCOUNTS === #

    @classmethod
    def _create_account(cls, partner=None, meters=None, room=None, **values):
        """A draft account of ``partner`` (``cls.tenant``) in ``room`` (``cls.room``) holding
        ``meters`` (none by default), with the test tariffs of both utilities."""
        room = cls.room if room is None else room
        partner = cls.tenant if partner is None else partner
        vals = {
            "partner_id": partner.id if partner else False,
            "room_id": room.id if room else False,
            "electricity_tariff_id": cls.tariff_electricity.id,
            "water_tariff_id": cls.tariff_water.id,
            **values,
        }
        if meters:
            vals["meter_ids"] = [Command.set(meters.ids)]
        return cls.env["prepaid.account"].create(vals)

    @classmethod
    def _create_open_account(cls, utilities=("electricity",), room=None, **values):
        """An open account with one new meter per utility in ``room``; its meters are active."""
        room = cls.room if room is None else room
        meters = cls.env["prepaid.meter"].concat(
            *(cls._create_meter(utility=utility, room=room) for utility in utilities)
        )
        account = cls._create_account(meters=meters, room=room, **values)
        account.sudo().action_open()
        return account

    # === USERS === #

    @classmethod
    def _create_prepaid_user(cls, login, level="operator", sites=None, company=None, **values):
        """An internal user of the prepaid group ``level`` (operator, manager, admin),
        operating ``sites`` and working in ``company`` (``cls.env.company``)."""
        company = company or cls.env.company
        user = new_test_user(
            cls.env,
            login=login,
            groups=f"base.group_user,prepaid_meter.prepaid_meter_group_{level}",
            company_id=company.id,
            company_ids=[Command.set(company.ids)],
            **values,
        )
        if sites:
            sites.write({"operator_ids": [Command.link(user.id)]})
        return user


class PrepaidAccessTestMixin:
    """Try a method as a user in-process and over XML-RPC (for ``HttpCase`` access tests,
    whose RPC calls run in the test's transaction; test users' password is their login)."""

    def rpc(self, user, model, method, *args, **kwargs):
        """Call ``model.method`` over XML-RPC as ``user``."""
        return self.xmlrpc_object.execute_kw(
            self.env.cr.dbname, user.id, user.login, model, method, list(args), kwargs
        )

    def assertRefused(self, user, records, method, args=(), message="", error=AccessError):
        """``records.method(*args)`` is refused to ``user`` in-process and over XML-RPC, with
        ``message`` (a regular expression) in the error; nothing is changed."""
        with self.subTest(user=user.login, method=method, args=args, client="orm"):
            with self.assertRaises(error) as caught:
                getattr(records.with_user(user), method)(*args)
            self.assertRegex(str(caught.exception), message)
        self.assertRpcRefused(user, records, method, args, message)

    def assertRpcRefused(self, user, records, method, args=(), message=""):
        with self.subTest(user=user.login, method=method, args=args, client="xmlrpc"):
            with self.assertRaises(xmlrpc.client.Fault) as caught:
                self.rpc(user, records._name, method, records.ids, *args)
            self.assertRegex(caught.exception.faultString, message)

    def assertWriteRefused(self, user, records, values, message):
        """Each of ``values`` written alone is refused (see :meth:`assertRefused`)."""
        for name, value in values.items():
            self.assertRefused(user, records, "write", ({name: value},), message)


class PrepaidMeterCommon(PrepaidMeterTestMixin, BaseCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_prepaid_registry()
