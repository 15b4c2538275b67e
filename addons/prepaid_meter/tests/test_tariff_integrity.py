"""Tariff integrity on the server: lines written on their own, shared seasons and calendars."""

import xmlrpc.client

from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import HttpCase, tagged
from odoo.tools import mute_logger

from .common import PrepaidMeterCommon, PrepaidMeterTestMixin
from .test_tariff import TariffTestMixin

SHARED_REFUSED = r"Only users of the group .*Administrator may %s"


class TariffIntegrityMixin(TariffTestMixin):
    @classmethod
    def _setup_integrity_data(cls):
        cls.tariff = cls._create_tariff(name="Test integrity tariff")
        cls.tou = cls._create_tou_version(cls.tariff, date_to="2026-06-30")
        cls.tiered = cls._create_version(
            cls.tariff,
            date_from="2026-07-01",
            kind="tiered",
            tier_ids=cls._tiers((0, 0.5), (100, 0.6), (200, 0.7)),
            fixed_charge_ids=[Command.create({"name": "Rental", "amount": 5.0})],
        )
        cls.valley, cls.peak, cls.evening = cls.tou.band_ids.sorted("hour_from")


@tagged("post_install", "-at_install")
class TestTariffIntegrity(TariffIntegrityMixin, PrepaidMeterCommon):
    """Band periods, steps and fixed charges written directly check their version; shared
    seasons and calendars are for administrators and checked against every company."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_integrity_data()
        cls.admin_user = cls._create_prepaid_user("test_prepaid_admin", "admin")
        cls.company_2 = cls._create_company(name="Test Tariff Company 2")
        cls.manager_2 = cls._create_prepaid_user(
            "test_prepaid_manager_2", "manager", company=cls.company_2
        )
        Season = cls.env["prepaid.tariff.season"]
        cls.summer = Season.create(
            {
                "name": "Test Shared Summer",
                "company_id": False,
                "start_month": "7",
                "start_day": 1,
                "end_month": "9",
                "end_day": 30,
            }
        )
        cls.winter_2 = Season.create(
            {
                "name": "Test Winter of Company 2",
                "company_id": cls.company_2.id,
                "start_month": "11",
                "start_day": 1,
                "end_month": "2",
                "end_day": 29,
            }
        )
        cls.tariff_2 = cls._create_tariff(
            name="Test tariff of company 2", company_id=cls.company_2.id
        )
        cls.version_2 = cls._create_tou_version(
            cls.tariff_2,
            band_ids=cls._bands()
            + cls._bands(season_id=cls.summer.id)
            + cls._bands(((0, 24, "valley"),), season_id=cls.winter_2.id),
        )

    # === BAND PERIODS === #

    def test_band_created_on_its_own_is_checked(self):
        Band = self.env["prepaid.tariff.band"]
        with self._assert_refused(
            r"Tariff Test integrity tariff, version .*:\n.*Band periods 00:00-08:00 and "
            r"06:00-10:00 overlap"
        ):
            Band.create({"version_id": self.tou.id, "hour_from": 6, "hour_to": 10, "band": "peak"})
        # A whole schedule created at once is judged once it is complete.
        weekend = Band.create(
            [
                {
                    "version_id": self.tou.id,
                    "day_type": "weekend",
                    "hour_from": start,
                    "hour_to": end,
                    "band": band,
                }
                for start, end, band in ((0, 12, "valley"), (12, 24, "peak"))
            ]
        )
        self.assertEqual(len(self.tou.band_ids), 5)
        # ... and so is one deleted at once.
        weekend.unlink()
        self.assertEqual(len(self.tou.band_ids), 3)

    def test_band_written_on_its_own_is_checked(self):
        with self._assert_refused(r"No band is defined from 07:00 to 08:00 \(all year, All Days\)"):
            self.valley.hour_to = 7.0
        with self._assert_refused("08:00-20:00 and 10:00-24:00 overlap"):
            self.evening.hour_from = 10.0
        with self._assert_refused("Band Flat is used by the band periods but has no price"):
            self.peak.band = "flat"
        # Valid edits pass, also on several periods at once.
        (self.valley | self.peak).write({"band": "valley"})
        self.peak.write({"band": "peak"})
        self.assertEqual(self.tou.band_ids.mapped("band"), ["valley", "peak", "valley"])

    def test_band_deleted_on_its_own_is_checked(self):
        with self._assert_refused("No band is defined from 08:00 to 20:00"):
            self.peak.unlink()
        with self._assert_refused("A time-of-use version needs band periods"):
            self.tou.band_ids.unlink()
        self.assertEqual(len(self.tou.band_ids), 3)

    def test_moving_a_band_checks_both_versions(self):
        weekend = self.env["prepaid.tariff.band"].create(
            {"version_id": self.tou.id, "day_type": "weekend", "hour_to": 24, "band": "valley"}
        )
        other_tariff = self._create_tariff(name="Test other tariff")
        flat = self._create_version(other_tariff, date_from="2025-01-01", date_to="2025-12-31")
        other = self._create_tou_version(
            other_tariff, band_ids=self._bands() + self._bands(day_type="weekend")
        )
        # The version left behind is checked...
        with self._assert_refused(
            r"Tariff Test integrity tariff, .*:\n.*No band is defined from 00:00 to 08:00"
        ):
            self.valley.version_id = flat
        # ... and so is the version the period joins.
        with self._assert_refused(r"Tariff Test other tariff, .*:\n.*00:00-24:00 overlap"):
            weekend.version_id = other
        weekend.version_id = flat  # a flat version has no band periods to check
        self.assertEqual(weekend.version_id, flat)
        # A manager cannot move a period into a version of another company.
        with self.assertRaises(AccessError):
            self.valley.with_user(self.manager_user).version_id = self.version_2

    def test_import_is_checked(self):
        Band = self.env["prepaid.tariff.band"]
        fields = ["version_id/.id", "day_type", "hour_from", "hour_to", "band"]
        version = str(self.tou.id)
        result = Band.load(fields, [[version, "all", "6", "10", "peak"]])
        self.assertFalse(result["ids"])
        self.assertRegex(result["messages"][0]["message"], "00:00-08:00 and 06:00-10:00 overlap")
        # Rows imported together are judged together.
        result = Band.load(
            fields,
            [[version, "weekend", "0", "12", "valley"], [version, "weekend", "12", "24", "peak"]],
        )
        self.assertFalse(result["messages"])
        self.assertEqual(len(result["ids"]), 2)

    def test_server_action_is_checked(self):
        action = self.env["ir.actions.server"].create(
            {
                "name": "Test shorten the night",
                "model_id": self.env["ir.model"]._get_id("prepaid.tariff.band"),
                "state": "code",
                "code": "record.write({'hour_to': 7.0})",
            }
        )
        context = {"active_model": "prepaid.tariff.band", "active_id": self.valley.id}
        with self._assert_refused("No band is defined from 07:00 to 08:00"):
            action.with_user(self.manager_user).with_context(**context).run()

    def test_direct_edits_by_a_manager_are_checked(self):
        band = self.peak.with_user(self.manager_user)
        with self._assert_refused("No band is defined from 08:00 to 09:00"):
            band.hour_from = 9.0
        band.band = "valley"
        self.assertEqual(self.peak.band, "valley")

    # === STEPS AND FIXED CHARGES === #

    def test_steps_on_their_own_are_checked(self):
        Tier = self.env["prepaid.tariff.tier"]
        first, second, third = self.tiered.tier_ids
        with self._assert_refused(
            r"Tariff Test integrity tariff, version .*:\n"
            r"Step 4 starts at 100.000, which is not above .* \(200.000\)"
        ):
            Tier.create(
                {
                    "version_id": self.tiered.id,
                    "sequence": 99,
                    "quantity_from": 100,
                    "unit_price": 1,
                }
            )
        with self._assert_refused(r"Step 3 starts at 50.000.*previous step \(100.000\)"):
            third.quantity_from = 50.0
        with self._assert_refused("The first step must start at 0"):
            first.unlink()
        with self._assert_refused("needs at least one step"):
            self.tiered.tier_ids.unlink()
        with self._assert_refused("Step 3 starts at 100"):
            second.sequence = 99  # reordered after the step at 200
        second.quantity_from = 150.0
        Tier.create(
            {"version_id": self.tiered.id, "sequence": 99, "quantity_from": 300, "unit_price": 1}
        )
        self.assertEqual(len(self.tiered.tier_ids), 4)

    def test_fixed_charge_on_its_own_names_its_version(self):
        with self._assert_refused(
            r"Tariff Test integrity tariff, version .*:\n"
            r"The fixed charge Rental cannot be negative"
        ):
            self.tiered.fixed_charge_ids.amount = -1.0

    # === SHARED SEASONS === #

    def test_shared_season_is_for_administrators(self):
        Season = self.env["prepaid.tariff.season"].with_user(self.manager_user)
        values = {"name": "Test shared", "start_month": "3", "end_month": "4", "end_day": 30}
        with self._assert_raises_match(AccessError, SHARED_REFUSED % "create seasons shared"):
            Season.create({**values, "company_id": False})
        summer = self.summer.with_user(self.manager_user)
        with self._assert_raises_match(AccessError, SHARED_REFUSED % "change seasons shared"):
            summer.end_day = 15
        with self._assert_raises_match(AccessError, SHARED_REFUSED % "change seasons shared"):
            summer.action_archive()
        own = Season.create(values)
        self.assertEqual(own.company_id, self.env.company)
        with self._assert_raises_match(AccessError, SHARED_REFUSED % "change seasons shared"):
            own.company_id = False
        with self._assert_raises_match(AccessError, SHARED_REFUSED % "delete seasons shared"):
            Season.browse(self.summer.id).unlink()
        own.end_day = 15
        own.unlink()
        # Administrators may.
        as_admin = self.env["prepaid.tariff.season"].with_user(self.admin_user)
        shared = as_admin.create({**values, "company_id": False})
        shared.write({"end_day": 15})
        shared.unlink()
        self.summer.with_user(self.admin_user).end_day = 15
        self.assertEqual(self.summer.end_day, 15)

    def test_season_change_checks_the_versions_of_every_company(self):
        summer = self.summer.with_user(self.admin_user)
        # The administrator works in company 1: company 2's tariff is not named.
        with self._assert_refused(
            r"^This change would make a tariff of another company invalid"
        ) as capture:
            summer.end_month = "11"  # now overlaps the winter of company 2 on 11/1
        self.assertNotIn("company 2", str(capture.exception))
        self.assertNotIn("Winter", str(capture.exception))
        # A user who can read the version gets the details.
        with self._assert_refused(
            r"Tariff Test tariff of company 2, version .*:\n"
            r"Seasons Test Shared Summer and Test Winter of Company 2 overlap on 11/1"
        ):
            self.summer.end_month = "11"
        with self._assert_refused(r"Test Shared Summer and Test Winter of Company 2 overlap"):
            self.winter_2.with_user(self.manager_2).start_month = "9"
        with self._assert_refused("Two seasons named Test Shared Summer"):
            self.winter_2.with_user(self.manager_2).name = "Test Shared Summer"
        summer.end_day = 15
        self.assertEqual(self.summer.end_day, 15)

    def test_season_used_by_another_company_stays_shared(self):
        with self._assert_refused("used by the tariffs of another company"):
            self.summer.with_user(self.admin_user).company_id = self.env.company
        unused = self.env["prepaid.tariff.season"].create(
            {"name": "Test unused", "company_id": False, "end_month": "1", "end_day": 31}
        )
        unused.with_user(self.admin_user).company_id = self.env.company
        self.assertEqual(unused.company_id, self.env.company)

    # === SHARED HOLIDAY CALENDARS === #

    def test_shared_calendar_is_for_administrators(self):
        shared = self.env["prepaid.holiday.calendar"].create(
            {
                "name": "Test shared holidays",
                "company_id": False,
                "holiday_ids": [Command.create({"date": "2026-10-01", "name": "National Day"})],
            }
        )
        Calendar = self.env["prepaid.holiday.calendar"].with_user(self.manager_user)
        Holiday = self.env["prepaid.holiday"].with_user(self.manager_user)
        refused = SHARED_REFUSED % "%s holiday calendars shared"
        with self._assert_raises_match(AccessError, refused % "create"):
            Calendar.create({"name": "Test", "company_id": False})
        with self._assert_raises_match(AccessError, refused % "change"):
            Calendar.browse(shared.id).name = "Renamed"
        with self._assert_raises_match(AccessError, refused % "delete"):
            Calendar.browse(shared.id).unlink()
        holidays_refused = SHARED_REFUSED % "change the holidays of calendars shared"
        with self._assert_raises_match(AccessError, holidays_refused):
            Holiday.create({"calendar_id": shared.id, "date": "2026-10-02", "name": "Day 2"})
        with self._assert_raises_match(AccessError, holidays_refused):
            Holiday.browse(shared.holiday_ids.id).name = "Renamed"
        with self._assert_raises_match(AccessError, holidays_refused):
            Holiday.browse(shared.holiday_ids.id).unlink()
        own = Calendar.create(
            {
                "name": "Test own",
                "holiday_ids": [Command.create({"date": "2026-05-01", "name": "A"})],
            }
        )
        with self._assert_raises_match(AccessError, holidays_refused):
            own.holiday_ids.calendar_id = shared
        own.holiday_ids.name = "Labour Day"
        own.unlink()
        # Administrators may.
        as_admin = shared.with_user(self.admin_user)
        as_admin.holiday_ids = [Command.create({"date": "2026-10-02", "name": "Day 2"})]
        as_admin.name = "Renamed"
        as_admin.unlink()

    def test_calendar_used_by_another_company_stays_shared(self):
        shared = self.env["prepaid.holiday.calendar"].create(
            {"name": "Test shared holidays", "company_id": False}
        )
        self.tariff_2.holiday_calendar_id = shared
        with self._assert_refused("used by the tariffs of another company"):
            shared.with_user(self.admin_user).company_id = self.env.company


@tagged("post_install", "-at_install")
class TestTariffIntegrityRpc(TariffIntegrityMixin, PrepaidMeterTestMixin, HttpCase):
    """The same rules hold for the external API."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_prepaid_registry()
        cls._setup_integrity_data()

    def _execute(self, user, model, method, *args):
        password = user.login + "x" * (8 - len(user.login))
        return self.xmlrpc_object.execute(
            self.env.cr.dbname, user.id, password, model, method, *args
        )

    @mute_logger("odoo.http", "odoo.addons.base.controllers.rpc")
    def test_band_write_over_xmlrpc_is_checked(self):
        with self.assertRaises(xmlrpc.client.Fault) as capture:
            self._execute(
                self.manager_user,
                "prepaid.tariff.band",
                "write",
                [self.valley.id],
                {"hour_to": 7.0},
            )
        self.assertIn("Tariff Test integrity tariff, version", capture.exception.faultString)
        self.assertIn("No band is defined from 07:00 to 08:00", capture.exception.faultString)
        with self.assertRaises(xmlrpc.client.Fault) as capture:
            self._execute(self.manager_user, "prepaid.tariff.band", "unlink", [self.peak.id])
        self.assertIn("No band is defined from 08:00 to 20:00", capture.exception.faultString)
        self.assertTrue(
            self._execute(
                self.manager_user,
                "prepaid.tariff.band",
                "write",
                [self.peak.id, self.evening.id],
                {"band": "valley"},
            )
        )
        self.env.invalidate_all()
        self.assertEqual(self.tou.band_ids.mapped("band"), ["valley"] * 3)

    @mute_logger("odoo.http", "odoo.addons.base.controllers.rpc")
    def test_shared_season_over_xmlrpc_is_for_administrators(self):
        with self.assertRaises(xmlrpc.client.Fault) as capture:
            self._execute(
                self.manager_user,
                "prepaid.tariff.season",
                "create",
                {"name": "Test shared", "company_id": False, "end_month": "1", "end_day": 31},
            )
        self.assertIn("Administrator may create seasons shared", capture.exception.faultString)
