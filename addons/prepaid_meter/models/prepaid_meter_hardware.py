import logging

from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools.misc import formatLang

_logger = logging.getLogger(__name__)

# Hardware actions: the capability check each one needs and the action it cancels.
# The keys are the ``action`` values given to ``_request_hardware_action``.
HARDWARE_ACTIONS = (
    "relay_on",
    "relay_off",
    "valve_open",
    "valve_close",
    "read_now",
    "write_credit",
    "set_tariff",
    "set_thresholds",
)
# The activity type of a request that a person carries out at the meter.
MANUAL_OPERATION_TYPE = "prepaid_meter.mail_activity_type_meter_operation"
OPPOSITE_HARDWARE_ACTIONS = {
    "relay_on": "relay_off",
    "relay_off": "relay_on",
    "valve_open": "valve_close",
    "valve_close": "valve_open",
}


def _requests_for_rpc(value):
    """What an RPC client gets back from a meter action: the ids of the requests (activities
    or gateway commands), or the notification of a button; recordsets do not marshal."""
    return value.ids if isinstance(value, models.BaseModel) else value


class PrepaidMeter(models.Model):
    """Hardware actions of a meter (relay, valve, read now, credit, tariff) and the one hook,
    ``_request_hardware_action``, through which they reach the meter: by default a to-do
    activity for the staff; ``meter_gateway`` overrides it to queue real commands."""

    _inherit = "prepaid.meter"

    hardware_pending = fields.Char(
        string="Pending Operations",
        compute="_compute_hardware_pending",
        help="Hardware requests made but not confirmed yet.",
    )

    # === COMPUTE METHODS === #

    def _compute_hardware_pending(self):
        operation = self.env.ref(MANUAL_OPERATION_TYPE, raise_if_not_found=False)
        for meter in self:
            pending = meter.activity_ids.filtered(lambda a: a.activity_type_id == operation)
            meter.hardware_pending = " · ".join(
                self.env._("%(what)s (to do: %(user)s)", what=a.summary, user=a.user_id.name)
                for a in pending
            )

    # === ACTION METHODS: HARDWARE === #

    @api.returns("self", _requests_for_rpc)
    def action_relay_on(self):
        """Reconnect the electricity supply. Needs a model with a relay.

        :return: what ``_request_hardware_action`` returns (activities, or gateway commands)
        """
        return self._notify_hardware_requests("relay_on", self._hardware_action("relay_on"))

    @api.returns("self", _requests_for_rpc)
    def action_relay_off(self):
        """Disconnect the electricity supply. Needs a model with a relay.

        :return: what ``_request_hardware_action`` returns (activities, or gateway commands)
        """
        return self._notify_hardware_requests("relay_off", self._hardware_action("relay_off"))

    @api.returns("self", _requests_for_rpc)
    def action_valve_open(self):
        """Open the water valve. Needs a model with a valve.

        :return: what ``_request_hardware_action`` returns (activities, or gateway commands)
        """
        return self._notify_hardware_requests("valve_open", self._hardware_action("valve_open"))

    @api.returns("self", _requests_for_rpc)
    def action_valve_close(self):
        """Close the water valve. Needs a model with a valve.

        :return: what ``_request_hardware_action`` returns (activities, or gateway commands)
        """
        return self._notify_hardware_requests("valve_close", self._hardware_action("valve_close"))

    @api.returns("self", _requests_for_rpc)
    def action_read_now(self):
        """Read the registers now. Needs a model with a communication protocol.

        :return: what ``_request_hardware_action`` returns (activities, or gateway commands)
        """
        return self._notify_hardware_requests("read_now", self._hardware_action("read_now"))

    @api.returns("self", _requests_for_rpc)
    def action_supply_on(self):
        """Reconnect the supply of each meter with the device it has (relay or valve)."""
        relays = self.filtered(lambda m: m.utility == "electricity")
        valves = self - relays
        return self._union_hardware_results(
            [
                relays.action_relay_on() if relays else None,
                valves.action_valve_open() if valves else None,
            ]
        )

    @api.returns("self", _requests_for_rpc)
    def action_supply_off(self):
        """Disconnect the supply of each meter with the device it has (relay or valve)."""
        relays = self.filtered(lambda m: m.utility == "electricity")
        valves = self - relays
        return self._union_hardware_results(
            [
                relays.action_relay_off() if relays else None,
                valves.action_valve_close() if valves else None,
            ]
        )

    def _write_credit(self, amount):
        """Write a credit of ``amount`` (company currency, positive) to meters that keep their
        balance on the meter (meter-side prepayment). Private: the ledger and vending call it
        once the credit is paid for; no client calls it directly.

        :param float amount: the credit to add to the meter's balance
        :return: what ``_request_hardware_action`` returns (activities, or gateway commands)
        """
        for meter in self:
            if meter.company_id.currency_id.compare_amounts(amount, 0.0) <= 0:
                raise UserError(
                    self.env._(
                        "The credit written to meter %(meter)s must be positive.",
                        meter=meter.display_name,
                    )
                )
        return self._hardware_action("write_credit", amount=amount)

    def _set_tariff(self, tariff):
        """Write ``tariff`` (prices and time-of-use bands) to meters that rate on the meter or
        keep time-of-use registers. Private: called by ``action_send_tariff`` (the account's
        tariff) and by the services that own tariffs.

        :param tariff: a ``prepaid.tariff`` record of the meters' utility
        :return: what ``_request_hardware_action`` returns (activities, or gateway commands)
        """
        tariff.ensure_one()
        wrong_utility = self.filtered(lambda m: m.utility != tariff.utility)
        if wrong_utility:
            raise UserError(
                self.env._(
                    "Tariff %(tariff)s is for %(utility)s; it cannot be written to %(meters)s.",
                    tariff=tariff.display_name,
                    utility=self._get_utility_label(tariff.utility),
                    meters=", ".join(wrong_utility.mapped("display_name")),
                )
            )
        return self._hardware_action("set_tariff", tariff=tariff)

    def _set_thresholds(self):
        """Write the alarm thresholds and the cut-off balance of each meter's account to the
        meter, for meters that keep the balance (and raise the alarms) themselves. Private:
        the account calls it when it opens and when its thresholds change.

        :return: what ``_request_hardware_action`` returns, one request per meter
        """
        requests = []
        for account, meters in self.grouped("account_id").items():
            if not account:
                continue
            thresholds = {
                "alarm1": account.alarm1_threshold,
                "alarm2": account.alarm2_threshold,
                "alarm3": account.alarm3_threshold,
                "cutoff": account.cutoff_threshold,
            }
            requests.append(meters._hardware_action("set_thresholds", thresholds=thresholds))
        return self._union_hardware_results(requests)

    @api.returns("self", _requests_for_rpc)
    def action_send_tariff(self):
        """Write the account's tariff for the meter's utility to each meter."""
        results = []
        for meter in self:
            tariff = meter.account_id and meter.account_id._get_tariff(meter.utility)
            if not tariff:
                raise UserError(
                    self.env._(
                        "Meter %(meter)s has no account with a tariff for its utility.",
                        meter=meter.display_name,
                    )
                )
            results.append(meter._set_tariff(tariff))
        requests = self._union_hardware_results(results)
        return self._notify_hardware_requests("set_tariff", requests)

    def _union_hardware_results(self, results):
        """The requests of several hardware calls as one recordset (None without any). With
        meter_gateway, meters on a gateway get commands and the others activities: mixed,
        the first kind is returned (the other requests are made all the same)."""
        by_model = {}
        for records in results:
            if records is not None:
                by_model[records._name] = by_model.get(records._name, records.browse()) | records
        return next(iter(by_model.values()), None)

    def _hardware_action(self, action, **values):
        """Check that every meter can perform ``action``, then request it for all of them."""
        errors = self._get_hardware_action_errors(action, **values)
        if errors:
            raise UserError("\n".join(errors.values()))
        if not self:
            return self.env["mail.activity"]
        return self._request_hardware_action(action, **values)

    def _notify_hardware_requests(self, action, requests):
        """What a button returns: the requests for code, a notification for a person.

        Buttons of the meter form pass ``prepaid_hardware_notify`` in their context: the user
        then sees what was requested and who must act, and the form reloads to show the
        request as pending on the meter.
        """
        if not self.env.context.get("prepaid_hardware_notify") or requests is None:
            return requests
        title, message = self._get_hardware_request_message(action, requests)
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": title,
                "message": message,
                "type": "info",
                "sticky": False,
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    def _get_hardware_request_message(self, action, requests):
        """Return ``(title, message)`` telling what ``requests`` are and who acts next.

        Handles the manual activities made by default; ``meter_gateway`` extends it for its
        commands.
        """
        summary = self[:1]._get_hardware_action_summary(action) if action != "set_tariff" else ""
        meters = ", ".join(self.mapped("display_name"))
        if requests._name == "mail.activity":
            return (
                self.env._("Requested: %(what)s", what=summary or requests[:1].summary),
                self.env._(
                    "No gateway reaches %(meters)s: %(users)s must do it at the meter and mark "
                    "the activity done. The meter shows it as pending until then.",
                    meters=meters,
                    users=", ".join(requests.user_id.mapped("name")),
                ),
            )
        return (
            self.env._("Requested: %(what)s", what=summary or action),
            self.env._("Requests made for %(meters)s.", meters=meters),
        )

    # === BUSINESS METHODS: HARDWARE === #

    def _get_hardware_action_errors(self, action, **values):
        """Return ``{meter: message}`` for the meters that cannot perform ``action``."""
        if action not in HARDWARE_ACTIONS:
            raise ValueError(f"Unknown hardware action {action!r}")
        errors = {}
        for meter in self:
            model = meter.model_id
            names = {"meter": meter.display_name, "model": model.name}
            if meter.state == "removed":
                errors[meter] = self.env._("Meter %(meter)s is removed.", **names)
            elif action in ("relay_on", "relay_off") and not model.has_relay:
                errors[meter] = self.env._(
                    "Meter %(meter)s (model %(model)s) has no relay to switch.", **names
                )
            elif action in ("valve_open", "valve_close") and not model.has_valve:
                errors[meter] = self.env._(
                    "Meter %(meter)s (model %(model)s) has no valve to operate.",
                    **names,
                )
            elif action == "read_now" and model.protocol == "none":
                errors[meter] = self.env._(
                    "Meter %(meter)s (model %(model)s) has no communication: read it on site "
                    "and record a manual reading.",
                    **names,
                )
            elif action in ("write_credit", "set_thresholds") and not model.has_meter_balance:
                errors[meter] = self.env._(
                    "Meter %(meter)s (model %(model)s) does not keep a balance: its credit is "
                    "kept by the platform.",
                    **names,
                )
            elif action == "set_tariff" and not (
                model.has_meter_balance or model.has_tou_registers
            ):
                errors[meter] = self.env._(
                    "Meter %(meter)s (model %(model)s) cannot store a tariff (no balance on the "
                    "meter, no time-of-use registers).",
                    **names,
                )
        return errors

    def _request_hardware_action(self, action, **values):
        """Request ``action`` from the hardware of the meters in ``self``.

        This is the single hook between the registry and the hardware. Callers (buttons,
        billing cut-off and reconnection, credit vending) use the public ``action_*`` methods
        or the private ``_write_credit`` and ``_set_tariff`` (not RPC endpoints: only the
        services that own the money call them, after their own checks), which check the
        capabilities of the meter model first and then call this hook once for the whole
        recordset.

        By default nothing talks to the meters: a to-do activity is scheduled on each meter
        for the staff, with a summary saying what to do, and returned. An identical pending
        request is not duplicated, and a pending request of the opposite action (relay on vs
        off, valve open vs close) is cancelled, as the new request supersedes it.

        The ``meter_gateway`` addon overrides this method to queue real commands
        (``meter.command``) and returns those instead; it calls ``super()`` for the meters it
        cannot reach.

        :param str action: one of ``relay_on``, ``relay_off``, ``valve_open``,
            ``valve_close``, ``read_now``, ``write_credit``, ``set_tariff``,
            ``set_thresholds``
        :param values: parameters of the action: ``amount`` (float, company currency) for
            ``write_credit``, ``tariff`` (``prepaid.tariff`` record) for ``set_tariff``,
            ``thresholds`` (``{"alarm1", "alarm2", "alarm3", "cutoff"}``: floats, company
            currency) for ``set_thresholds``
        :return: the records standing for the requests, one per meter (``mail.activity`` by
            default)
        """
        todo_type = self.env.ref(MANUAL_OPERATION_TYPE, raise_if_not_found=False)
        Activity = self.env["mail.activity"]
        activities = Activity
        requester = self.env.user
        opposite = OPPOSITE_HARDWARE_ACTIONS.get(action)
        for meter in self:
            summary = meter._get_hardware_action_summary(action, **values)
            pending = meter.activity_ids.filtered(lambda a, t=todo_type: a.activity_type_id == t)
            same = pending.filtered(lambda a, s=summary: a.summary == s)
            if same:
                activities |= same[:1]
                continue
            if opposite:
                superseded_summary = meter._get_hardware_action_summary(opposite, **values)
                superseded = pending.filtered(lambda a, s=superseded_summary: a.summary == s)
                if superseded:
                    meter.message_post(
                        body=self.env._(
                            "Request cancelled, superseded by a new one: %(summary)s",
                            summary=superseded_summary,
                        )
                    )
                    superseded.unlink()
            note = Markup("<p>%s</p><p>%s</p>") % (
                self.env._(
                    "Requested by %(user)s for meter %(meter)s (serial %(serial)s, address "
                    "%(address)s) in %(room)s.",
                    user=requester.name,
                    meter=meter.name,
                    serial=meter.serial_number,
                    address=meter.comm_address or "-",
                    room=meter.room_id.complete_name or "-",
                ),
                self.env._(
                    "No gateway handles this meter: perform the operation at the meter, then "
                    "mark this activity as done."
                ),
            )
            activities |= (
                meter.activity_schedule(
                    act_type_xmlid=MANUAL_OPERATION_TYPE,
                    summary=summary,
                    note=note,
                    user_id=meter._get_hardware_action_user().id,
                )
                or Activity
            )
        _logger.info(
            "Hardware action %s requested on %d meter(s) by user %s: manual activities.",
            action,
            len(self),
            requester.login,
        )
        return activities

    def _get_hardware_action_summary(self, action, **values):
        self.ensure_one()
        if action == "write_credit":
            amount = formatLang(
                self.env,
                values.get("amount", 0.0),
                currency_obj=self.company_id.currency_id,
            )
            return self.env._("Write a credit of %(amount)s to the meter", amount=amount)
        if action == "set_thresholds":
            thresholds = values.get("thresholds") or {}
            currency = self.company_id.currency_id

            def money(key):
                return formatLang(self.env, thresholds.get(key, 0.0), currency_obj=currency)

            return self.env._(
                "Write the alarm thresholds to the meter: %(alarm1)s, %(alarm2)s, %(alarm3)s; "
                "cut-off at %(cutoff)s",
                alarm1=money("alarm1"),
                alarm2=money("alarm2"),
                alarm3=money("alarm3"),
                cutoff=money("cutoff"),
            )
        if action == "set_tariff":
            tariff = values.get("tariff")
            return self.env._(
                "Write tariff %(tariff)s to the meter",
                tariff=tariff.display_name if tariff else "",
            )
        return {
            "relay_on": self.env._("Reconnect the supply (relay on)"),
            "relay_off": self.env._("Disconnect the supply (relay off)"),
            "valve_open": self.env._("Open the valve"),
            "valve_close": self.env._("Close the valve"),
            "read_now": self.env._("Read the meter now"),
        }[action]

    def _get_hardware_action_user(self):
        """Who does a manual hardware operation on the meter: the nearest operator of its room
        (room, floor, building...), else the requesting user when it is a person, else a
        manager of the company."""
        self.ensure_one()
        site_ids = self.room_id._get_path_ids() if self.room_id else []
        sites = self.env["prepaid.site"].sudo().browse(list(reversed(site_ids)))
        for site in sites:
            operators = site.operator_ids.filtered(lambda u: u.active and not u.share)
            if operators:
                return operators[0]
        user = self.env.user
        if not user._is_superuser() and not user.share and user.active:
            return user
        managers = self.env.ref("prepaid_meter.prepaid_meter_group_manager").sudo().users
        managers = managers.filtered(
            lambda u: u.active and self.company_id in u.company_ids and not u._is_superuser()
        )
        return managers[:1] or user

    def _set_communication_state(self, online_state, last_contact=None):
        """Record the outcome of a contact attempt (for the gateway and ingestion): writes
        only the meters whose state changes, to keep polling cheap.

        :param str online_state: ``online``, ``offline`` or ``unknown``
        :param datetime last_contact: when the meter answered (``online`` only); now by default
        """
        changed = self.filtered(lambda m: m.online_state != online_state)
        if changed:
            changed.sudo().online_state = online_state
        if online_state == "online":
            self.sudo().last_contact = last_contact or fields.Datetime.now()
