"""Every screen of the suite opens: its menus are clicked through, for an administrator and for
an operator, in every view, with every filter and group-by, and the forms of a record with
their smart buttons (``static/tests/tours/prepaid_click_everywhere.js``, in the manner of
web's ``click_all``). Runs with and without demo data: the records below are enough to open
a form of each registry model; billing's models get theirs from their own demo data."""

import json
from datetime import datetime, timedelta

from odoo.tests import HttpCase, tagged

from .common import PrepaidMeterTestMixin

CLICKBOT = "@prepaid_meter/../tests/tours/prepaid_click_everywhere"
APP = "prepaid_meter.prepaid_meter_menu_root"


@tagged("post_install", "-at_install")
class TestClickEverywhere(PrepaidMeterTestMixin, HttpCase):
    # The forms of the records are left through their breadcrumbs, unchanged.
    allow_end_on_form = True

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_prepaid_registry()
        admin = cls.env.ref("base.user_admin")
        admin.groups_id |= cls.env.ref("prepaid_meter.prepaid_meter_group_admin")
        if "tour_enabled" in admin._fields:  # no onboarding tour in the way
            (admin | cls.operator_user).tour_enabled = False
        account = cls._create_open_account(utilities=("electricity", "water"))
        meter = account.meter_ids.filtered(lambda m: m.utility == "electricity")
        start = datetime.now().replace(minute=0, second=0, microsecond=0) - timedelta(days=2)
        cls.env["prepaid.reading"]._ingest(
            [
                {"meter_id": meter.id, "read_at": start + timedelta(hours=n), "total": 10.0 + n}
                for n in range(3)
            ]
        )
        cls.env["prepaid.meter.event"]._ingest([(meter.id, "tamper", start)])
        cls.env["prepaid.load.profile"]._ingest(
            [(meter.id, start + timedelta(minutes=15 * n), 15, 0.25) for n in range(8)]
        )

    def _click_everywhere(self, login):
        self.browser_js(
            "/odoo",
            f"odoo.loader.modules.get({json.dumps(CLICKBOT)}).clickEverywhere({json.dumps(APP)})",
            f"odoo.isReady === true && odoo.loader.modules.has({json.dumps(CLICKBOT)})",
            login=login,
            timeout=600,
            success_signal="clickbot test succeeded",
        )

    def test_click_everywhere_as_admin(self):
        self._click_everywhere("admin")

    def test_click_everywhere_as_operator(self):
        self._click_everywhere(self.operator_user.login)
