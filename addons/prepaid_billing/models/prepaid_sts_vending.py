import dataclasses
import logging
import uuid
from datetime import timezone

from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL, format_datetime
from odoo.tools.translate import LazyTranslate

from odoo.addons.prepaid_meter.models.prepaid_access_mixin import ADMIN, MANAGER

from .. import sts
from ..sts.amount import to_decimal
from ..sts.tid import next_base_date
from ..sts.transpose import parse_digits
from .prepaid_meter import UNITS

_logger = logging.getLogger(__name__)
_lt = LazyTranslate(__name__)

# Credit is sold through top-ups (prepaid.topup), which issue their tokens in sudo after their
# own checks; a credit token issued directly is a free issue, for managers, with a reason.
ISSUE_GROUPS = {"credit": MANAGER, "management": MANAGER, "key_change": ADMIN}
"""Who may issue which kind of token (each group implies the ones before it)."""
ISSUE_OPERATIONS = {
    "credit": _lt("issue credit tokens"),
    "management": _lt("issue management tokens"),
    "key_change": _lt("issue key change sets"),
}
TID_LOCK_TABLE = "prepaid_sts_meter_state"
"""One row per STS meter that got tokens: the lock that serialises the allocation of its TIDs
(see ``PrepaidStsVending._lock_meters``). A plain table, not a model: only that method uses it."""
CREDIT_TYPES = {"electricity": sts.CreditType.ELECTRICITY, "water": sts.CreditType.WATER}
MANAGEMENT_TYPES = {
    "max_power_limit": sts.Management.MAX_POWER_LIMIT,
    "clear_credit": sts.Management.CLEAR_CREDIT,
    "tariff_rate": sts.Management.TARIFF_RATE,
    "clear_tamper": sts.Management.CLEAR_TAMPER,
    "max_phase_unbalance": sts.Management.MAX_PHASE_UNBALANCE,
    "water_factor": sts.Management.WATER_FACTOR,
}


class PrepaidStsVending(models.AbstractModel):
    """STS vending: the workflow that turns a request for tokens into logged tokens.

    A service without records (like ``account.move.send``): its methods take the
    ``prepaid.meter`` records to work on and run with the rights of the caller's environment.
    Issuing a batch of tokens (:meth:`_issue_credit`, :meth:`_issue_management`,
    :meth:`_issue_key_change`) takes these steps, each a method that can be extended:

    1. the meters, each once: check the rights of the user for this kind of token
       (:meth:`_check_issue_access`) and that every meter is ready
       (``prepaid.meter._sts_check_ready``), then lock their TID allocation (:meth:`_lock_meters`);
    2. per meter, the TID: the current minute on its base date, or one more than the last TID
       it got (:meth:`_get_last_tids`, :meth:`_allocate_tid`), while the lock is held;
    3. the call to the token provider of the meter's vending key (:meth:`_get_token_provider`,
       errors mapped by :meth:`_user_error`);
    4. the token log (:meth:`_prepare_token_vals`), and after a key change set the meter's new
       parameters (:meth:`_apply_key_change`).

    Decoding a token for support (:meth:`_decode`) uses the same keys and the token log as the
    meter's memory of TIDs. The meters keep thin entry points (``prepaid.meter._sts_issue_*``
    and ``_sts_decode``) that wizards and other modules call.
    """

    _name = "prepaid.sts.vending"
    _inherit = ["prepaid.access.mixin"]
    _description = "STS Vending"

    def init(self):
        # The TID allocation lock of each meter, off the wide prepaid_meter row that others
        # update (see _lock_meters). Rows go with their meter.
        self.env.cr.execute(
            SQL(
                """CREATE TABLE IF NOT EXISTS %(table)s (
                       meter_id integer PRIMARY KEY
                                REFERENCES prepaid_meter (id) ON DELETE CASCADE,
                       last_issue_at timestamp without time zone
                   )""",
                table=SQL.identifier(TID_LOCK_TABLE),
            )
        )

    # === BUSINESS METHODS: ISSUING === #

    @api.model
    def _issue_credit(self, meters, amount, origin=False, topup=None, free_reason=None):
        """Issue a credit token of ``amount`` (kWh or m3, by utility) for each meter.

        The amount is rounded up to what a token can carry (0.1 steps, coarser above 1638.3):
        the token's ``amount`` says what the meter adds.

        Every credit token is either the delivery of a paid top-up (``topup``: the top-up
        checked the seller's rights and calls in sudo) or a free issue by a manager
        (emergency, goodwill...) with its ``free_reason``.

        :param meters: ``prepaid.meter`` records
        :param amount: a positive number (Decimal, int, str or float)
        :param origin: the sale the token belongs to (reference)
        :param topup: the ``prepaid.topup`` the tokens deliver
        :param free_reason: why credit is given without a top-up
        :return: the ``prepaid.sts.token`` records
        """
        free_reason = (free_reason or "").strip()
        if not topup and not free_reason:
            raise UserError(
                self.env._(
                    "Credit tokens are sold through top-ups. A free issue (emergency credit, "
                    "goodwill) needs a manager and its reason."
                )
            )
        try:
            value = sts.encode_credit(amount)
        except sts.StsError as error:
            raise UserError(self.env._("Invalid credit amount: %(error)s", error=error)) from None
        if not value:
            raise UserError(self.env._("The credit amount must be positive."))
        exact = sts.decode_credit(value)
        utilities = set(meters.mapped("utility"))
        if not utilities <= CREDIT_TYPES.keys():
            raise UserError(self.env._("Credit tokens exist for electricity and water meters."))

        def make(meter, provider, params, tid):
            issued = provider.issue_credit(
                params, exact, credit_type=CREDIT_TYPES[meter.utility], tid=tid
            )
            return issued, {
                "token_type": f"credit_{meter.utility}",
                "amount": float(exact),
                "unit": meter._sts_unit(),
                "data_value": value,
                "topup_id": topup.id if topup else False,
                "free_issue_reason": False if topup else free_reason,
            }

        return self._issue(meters, "credit", make, origin=origin)

    @api.model
    def _issue_management(self, meters, management_type, value=None, origin=False):
        """Issue a standard management token of ``management_type`` for each meter.

        :param meters: ``prepaid.meter`` records
        :param management_type: a key of ``MANAGEMENT_TYPES`` (``max_power_limit``,
            ``clear_credit``, ``tariff_rate``, ``clear_tamper``, ``max_phase_unbalance``,
            ``water_factor``)
        :param value: watts for the power limits, the register for ``clear_credit`` (None: all
            registers), the raw 16-bit value for ``tariff_rate`` and ``water_factor``
        :return: the ``prepaid.sts.token`` records
        """
        subclass = MANAGEMENT_TYPES[management_type]
        if management_type == "water_factor" and set(meters.mapped("utility")) != {"water"}:
            raise UserError(self.env._("The water meter factor is only for water meters."))
        amount, unit, data = 0.0, False, None
        try:
            if subclass in (sts.Management.MAX_POWER_LIMIT, sts.Management.MAX_PHASE_UNBALANCE):
                if value is None or to_decimal(value) <= 0:
                    raise UserError(self.env._("Enter the power limit in watts."))
                data = sts.encode_power(value)
                amount, unit = float(sts.decode_power(data)), "W"
                value = sts.decode_power(data)
            elif subclass == sts.Management.CLEAR_CREDIT:
                data = sts.ALL_REGISTERS if value is None else int(value)
                value = data
            elif subclass in (sts.Management.TARIFF_RATE, sts.Management.WATER_FACTOR):
                data = value = int(value or 0)
            else:
                data, value = 0, None
            if data is not None and not 0 <= data <= 0xFFFF:
                raise sts.StsInputError(f"the value {data} does not fit in 16 bits")
        except (sts.StsError, TypeError, ValueError) as error:  # int() of a bad value too
            raise UserError(
                self.env._("Invalid management token value: %(error)s", error=error)
            ) from None

        def make(meter, provider, params, tid):
            issued = provider.issue_management(params, subclass, value, tid=tid)
            return issued, {
                "token_type": management_type,
                "amount": amount,
                "unit": unit,
                "data_value": data,
            }

        return self._issue(meters, "management", make, origin=origin)

    @api.model
    def _issue_key_change(
        self,
        meters,
        vending_key=None,
        tariff_index=None,
        key_type=None,
        key_expiry=None,
        rollover=False,
    ):
        """Issue a key change set (KCT1, KCT2, plus KCT3 and KCT4 for 128-bit keys) per meter,
        then give the meters their new parameters.

        Values left to None keep the meter's. The tokens are encrypted with the meter's current
        key and must be entered in order; ``rollover`` moves the meter to the next TID base
        date (roll-over bit set), e.g. from 1993 to 2014.

        :param meters: ``prepaid.meter`` records
        :param vending_key: the new ``prepaid.sts.vending.key`` (new SGC or KRN), same provider
        :return: the ``prepaid.sts.token`` records (2 or 4 per meter)
        """
        meters = self._prepare_issue(meters, "key_change")
        if not meters:
            return self.env["prepaid.sts.token"]
        now = fields.Datetime.now()
        batch_ref = _batch_ref(now)
        vals_list = []
        updates = []
        providers = {}  # one provider (one decryption) per (current key, new key) and request
        for meter in meters.sudo():
            params = meter._sts_key_params()
            old_key = meter.sts_vending_key_id
            new_key = (vending_key or old_key).sudo()
            if new_key.provider_id != old_key.provider_id:
                raise UserError(
                    self.env._(
                        "Meter %(meter)s: the new vending key must belong to the same token "
                        "provider (%(provider)s) as the current one.",
                        meter=meter.display_name,
                        provider=old_key.provider_id.display_name,
                    )
                )
            try:
                new_params = dataclasses.replace(
                    params,
                    sgc=int(new_key.sgc),
                    krn=new_key.krn,
                    dkga=int(new_key.dkga),
                    ti=params.ti if tariff_index is None else tariff_index,
                    kt=params.kt if key_type is None else int(key_type),
                    ken=params.ken if key_expiry is None else key_expiry,
                    base_date=next_base_date(params.base_date) if rollover else params.base_date,
                )
                if new_params == params:
                    raise UserError(
                        self.env._(
                            "Meter %(meter)s: the key change set would change nothing.",
                            meter=meter.display_name,
                        )
                    )
                key_pair = (old_key.id, new_key.id)
                if key_pair not in providers:
                    providers[key_pair] = self._get_token_provider(meter, new_key)
                issued = providers[key_pair].issue_key_change(params, new_params)
            except sts.StsError as error:
                raise self._user_error(meter, error) from None
            description = _describe_key_change(self.env, params, new_params)
            for sequence, section in enumerate(issued, start=1):
                subclass = _key_change_subclass(section, sequence, len(issued))
                vals_list.append(
                    self._prepare_token_vals(
                        meter,
                        section,
                        params,
                        now,
                        batch_ref,
                        False,
                        sequence=sequence,
                        token_type=subclass.name.lower(),
                        description=description,
                    )
                )
            updates.append((meter, new_key, new_params, description))
        tokens = self.env["prepaid.sts.token"].sudo().create(vals_list)
        tokens_by_meter = tokens.grouped("meter_id")
        for meter, new_key, new_params, description in updates:
            self._apply_key_change(meter, new_key, new_params, tokens_by_meter[meter], description)
        _logger.info(
            "Issued STS key change sets for meters %s (batch %s, user %s)",
            meters.ids,
            batch_ref,
            self.env.uid,
        )
        return tokens.with_env(self.env)

    @api.model
    def _issue(self, meters, kind, make, origin=False):
        """Issue one token per meter, with their TID allocation locked, and log it.

        The TID of each token is given by :meth:`_allocate_tid`; the provider of each vending
        key is asked once per request (one decryption of the key).

        :param meters: ``prepaid.meter`` records (a meter selected twice gets one token)
        :param kind: ``credit`` or ``management`` (access check)
        :param make: ``make(meter, provider, params, tid)`` returning ``(IssuedToken, vals)``
        :param origin: the sale the tokens belong to (reference)
        :return: the ``prepaid.sts.token`` records, in the caller's environment
        """
        meters = self._prepare_issue(meters, kind)
        if not meters:
            return self.env["prepaid.sts.token"]
        now = fields.Datetime.now()
        batch_ref = _batch_ref(now)
        last_tids = self._get_last_tids(meters)
        providers = {}  # one provider (one decryption of the key) per vending key and request
        vals_list = []
        for meter in meters.sudo():
            params = meter._sts_key_params()
            try:
                tid = self._allocate_tid(meter, params, now, last_tids)
                key_id = meter.sts_vending_key_id.id
                if key_id not in providers:
                    providers[key_id] = self._get_token_provider(meter)
                issued, vals = make(meter, providers[key_id], params, tid)
            except sts.StsError as error:
                raise self._user_error(meter, error) from None
            vals_list.append(
                self._prepare_token_vals(
                    meter, issued, params, now, batch_ref, origin, tid=tid, **vals
                )
            )
        tokens = self.env["prepaid.sts.token"].sudo().create(vals_list)
        _logger.info(
            "Issued %s STS %s token(s) for meters %s (batch %s, user %s)",
            len(tokens),
            kind,
            meters.ids,
            batch_ref,
            self.env.uid,
        )
        return tokens.with_env(self.env)

    # === BUSINESS METHODS: ISSUING STEPS === #

    @api.model
    def _prepare_issue(self, meters, kind):
        """Check the rights and the meters for issuing ``kind`` tokens, then lock the meters.

        :return: ``meters`` with each meter once, in their order (empty: nothing to issue)
        """
        meters = meters.browse(dict.fromkeys(meters.ids))
        if meters:
            self._check_issue_access(meters, kind)
            meters._sts_check_ready()
            self._lock_meters(meters)
        return meters

    @api.model
    def _check_issue_access(self, meters, kind):
        """Managers issue credit and management tokens, administrators also key change sets;
        everybody only for the meters they can see.

        Operators sell credit through top-ups; a credit token issued directly is a free
        issue (managers, with a reason).
        """
        if self.env.su:
            return
        group = ISSUE_GROUPS[kind]
        if kind == "credit" and not self.env.user.has_group(group):
            raise AccessError(
                self.env._(
                    "Only users of the group %(group)s may issue free credit tokens. Sell "
                    "credit through a top-up (Sell Credit): its token is issued with it.",
                    group=self._get_group_label(group),
                )
            )
        self._check_group(group, ISSUE_OPERATIONS[kind])
        meters.check_access("read")

    @api.model
    def _lock_meters(self, meters):
        """Lock the TID allocation of the meters until the end of the transaction, in id order.

        Two sessions issuing tokens for a meter run one after the other, and the second one
        sees the TIDs of the first. A mere ``SELECT ... FOR NO KEY UPDATE`` is not enough for
        that: Odoo runs in REPEATABLE READ and the second transaction's snapshot predates the
        first one's commit, so after waiting for the lock it would still not see the new tokens,
        allocate the same TID and fail on the unique index. An UPDATE of the row makes
        PostgreSQL raise a serialization failure in the second transaction instead, which Odoo
        retries with a fresh snapshot (an advisory lock would not: it only makes it wait). The
        row of the very first issue is inserted; a concurrent first issue fails the same way.

        The row is the meter's row in ``prepaid_sts_meter_state`` (:data:`TID_LOCK_TABLE`), not
        its ``prepaid_meter`` row: reading ingestion, polling and users update that one, and
        locking it would make a sale and a batch of readings wait for each other, or make one
        of them fail with a serialization failure (a whole ingestion batch, or the sale). The
        token log's foreign key to the meter takes a key-share lock only, which no update of
        the meter's other columns conflicts with.
        """
        ids = sorted(meters.ids)
        self.env.cr.execute(
            SQL(
                """INSERT INTO %(table)s (meter_id) SELECT unnest(%(ids)s::integer[])
                       ON CONFLICT (meter_id) DO NOTHING;
                   UPDATE %(table)s SET last_issue_at = now() AT TIME ZONE 'UTC'
                    WHERE meter_id IN (SELECT meter_id FROM %(table)s
                                        WHERE meter_id = ANY(%(ids)s)
                                        ORDER BY meter_id FOR NO KEY UPDATE)""",
                table=SQL.identifier(TID_LOCK_TABLE),
                ids=ids,
            )
        )

    @api.model
    def _get_last_tids(self, meters):
        """``{(meter id, base date): highest TID issued}`` from the token log (cancelled tokens
        included: the meter may have accepted them)."""
        Token = self.env["prepaid.sts.token"]
        Token.flush_model(["meter_id", "base_date", "tid", "has_tid"])
        self.env.cr.execute(
            SQL(
                """SELECT meter_id, base_date, max(tid) FROM %s
                    WHERE meter_id IN %s AND has_tid
                 GROUP BY meter_id, base_date""",
                SQL.identifier(Token._table),
                tuple(meters.ids),
            )
        )
        return {(meter_id, int(base)): tid for meter_id, base, tid in self.env.cr.fetchall()}

    @api.model
    def _allocate_tid(self, meter, params, now, last_tids):
        """The TID of the next token of ``meter``, recorded in ``last_tids``.

        It is the current minute on the meter's base date, or one more than the last TID issued
        to the meter if that is higher: two tokens in the same minute (or a clock set back)
        still get distinct, increasing TIDs, as the meter requires. Call it with the meter's
        TID allocation locked (:meth:`_lock_meters`) and ``last_tids`` from
        :meth:`_get_last_tids`.

        :raise sts.TidRangeError: ``now`` is beyond the meter's base date window
        """
        slot = (meter.id, params.base_date)
        tid = max(sts.tid_for(now, params.base_date), last_tids.get(slot, -1) + 1)
        last_tids[slot] = tid
        return tid

    @api.model
    def _get_token_provider(self, meter, vending_keys=None):
        """The ``sts.TokenProvider`` of the meter's vending key (plus ``vending_keys``, e.g.
        the new key of a key change set)."""
        meter.ensure_one()
        key = meter.sudo().sts_vending_key_id
        provider = key.provider_id
        if not provider.active:
            raise UserError(
                self.env._(
                    "The token provider %(provider)s of meter %(meter)s is archived.",
                    provider=provider.display_name,
                    meter=meter.display_name,
                )
            )
        return provider._get_token_provider(key | (vending_keys or key.browse()))

    @api.model
    def _prepare_token_vals(
        self, meter, issued, params, now, batch_ref, origin, sequence=1, tid=None, **values
    ):
        """Values of the ``prepaid.sts.token`` that logs ``issued`` for ``meter``.

        ``tid`` is the TID requested from the provider; the token's own wins when the provider
        says what it issued.
        """
        meter.ensure_one()
        if issued.token is not None:
            tid = issued.tid
        return {
            "meter_id": meter.id,
            "account_id": meter.account_id.id,
            "partner_id": meter.account_id.partner_id.id,
            "digits": issued.digits,
            "tid": tid or 0,
            "tid_datetime": _naive(sts.datetime_for(tid, params.base_date))
            if tid is not None
            else False,
            "base_date": str(params.base_date),
            "sgc": f"{params.sgc:06d}",
            "krn": params.krn,
            "issued_at": now,
            "issued_by_id": self.env.uid,
            "origin": origin or False,
            "batch_ref": batch_ref,
            "sequence": sequence,
            **values,
        }

    @api.model
    def _apply_key_change(self, meter, new_key, new_params, tokens, description):
        """Give ``meter`` the parameters of the key change set ``tokens`` it was just issued,
        and say so in its chatter (no key material).

        :param meter: the ``prepaid.meter``, in sudo (its vending key is admin-only)
        :param new_key: its ``prepaid.sts.vending.key`` after the change
        :param new_params: its ``sts.KeyParams`` after the change
        """
        meter.write(
            {
                "sts_vending_key_id": new_key.id,
                "sts_ti": new_params.ti,
                "sts_kt": str(new_params.kt),
                "sts_ken": new_params.ken,
                "sts_base_date": str(new_params.base_date),
            }
        )
        meter.message_post(
            body=Markup("%s<br/>%s")
            % (
                self.env._(
                    "STS key change set issued (%(count)s tokens, batch %(batch)s).",
                    count=len(tokens),
                    batch=tokens[:1].batch_ref,
                ),
                description,
            ),
            author_id=self.env.user.partner_id.id,
        )

    @api.model
    def _user_error(self, meter, error):
        """Map an ``sts.StsError`` to a UserError naming ``meter``, with advice."""
        base_date = meter.sudo().sts_base_date
        ended_at = base_date and _naive(sts.rollover_at(int(base_date)))
        if isinstance(error, sts.TidRangeError) and ended_at and ended_at <= fields.Datetime.now():
            # The codec's message is in English with UTC times: say it in the user's terms.
            message = self.env._(
                "Meter %(meter)s cannot get tokens dated now: the TID window of its base date "
                "%(base)s ended on %(end)s. Issue a key change set that moves it to the next "
                "base date (roll-over) first.",
                meter=meter.display_name,
                base=base_date,
                end=format_datetime(self.env, ended_at),
            )
        elif isinstance(error, sts.TidRangeError):
            message = self.env._(
                "Meter %(meter)s cannot get tokens dated now on its TID base date %(base)s: "
                "%(error)s. Issue a key change set that moves it to the next base date "
                "(roll-over) first.",
                meter=meter.display_name,
                base=base_date,
                error=error,
            )
        elif isinstance(error, sts.KeyExpiredError):
            message = self.env._(
                "The decoder key of meter %(meter)s has expired (key expiry number %(ken)s): "
                "issue a key change set first. Details: %(error)s",
                meter=meter.display_name,
                ken=meter.sudo().sts_ken,
                error=error,
            )
        elif isinstance(error, sts.ProviderError):
            message = self.env._(
                "The token provider failed for meter %(meter)s%(retry)s: %(error)s",
                meter=meter.display_name,
                retry=self.env._(" (try again later)") if error.retryable else "",
                error=error,
            )
        else:
            message = self.env._(
                "Meter %(meter)s: %(error)s", meter=meter.display_name, error=error
            )
        return UserError(message)

    # === BUSINESS METHODS: DECODING === #

    @api.model
    def _decode(self, meter, digits):
        """Decode ``digits`` as ``meter`` would, for support.

        The meter's memory of TIDs is taken from the token log: every token issued to it on its
        current base date, except the one with these very digits (so a token we issued is
        judged as if it had not been entered yet, and a token from elsewhere that reuses one of
        our TIDs is refused as already used).

        :return: dict with ``token`` (the decoded sts token or None), ``accepted`` (bool),
            ``reason`` (a ``sts.RejectReason`` value or False), ``message``, ``tid``,
            ``tid_datetime`` (naive UTC), ``amount``, ``unit`` and ``matching_token`` (the
            ``prepaid.sts.token`` with these digits, if any)
        """
        meter.ensure_one()
        if not self.env.su:
            meter.check_access("read")
        Token = self.env["prepaid.sts.token"]
        result = {
            "token": None,
            "accepted": False,
            "reason": False,
            "message": "",
            "tid": False,
            "tid_datetime": False,
            "amount": 0.0,
            "unit": False,
            "matching_token": Token,
        }
        try:
            parsed = f"{parse_digits(digits or ''):020d}"
        except sts.TokenRejected as error:
            result.update(reason=error.reason.value, message=self._reject_message(error))
            return result
        matching = Token.sudo().search([("meter_id", "=", meter.id), ("digits", "=", parsed)])
        result["matching_token"] = matching.with_env(self.env)[:1]
        params = meter._sts_key_params()
        decoder_key = self._get_decoder_key(meter, params)
        try:
            token = sts.decode_token(parsed, decoder_key, params.ea)
        except sts.TokenRejected as error:
            result.update(reason=error.reason.value, message=self._reject_message(error))
            if matching:
                result["message"] = self.env._(
                    "This token was issued to this meter on %(date)s with an earlier key (before "
                    "a key change): the meter no longer accepts it.",
                    date=format_datetime(self.env, matching[:1].issued_at),
                )
            else:
                elsewhere = Token.search([("digits", "=", parsed)], limit=1)
                if elsewhere:
                    result["message"] = self.env._(
                        "This token was issued to another meter: %(meter)s.",
                        meter=elsewhere.meter_id.display_name,
                    )
            return result
        result["token"] = token
        tid = getattr(token, "tid", None)
        if tid is not None:
            result["tid"] = tid
            result["tid_datetime"] = _naive(sts.datetime_for(tid, params.base_date))
        if isinstance(token, sts.CreditToken):
            result["amount"] = float(token.amount)
            result["unit"] = UNITS.get(token.subclass.name.lower(), "")
        elif isinstance(token, sts.ManagementToken) and token.power_limit is not None:
            result["amount"], result["unit"] = float(token.power_limit), "W"
        state = sts.MeterState()
        remembered = Token.sudo().search_fetch(
            [
                ("meter_id", "=", meter.id),
                ("base_date", "=", str(params.base_date)),
                ("has_tid", "=", True),
                ("digits", "!=", parsed),
            ],
            ["tid"],
            order="tid desc",
            limit=state.capacity,  # what the meter remembers: its latest TIDs
        )
        state.tids = sorted(remembered.mapped("tid"))
        decoder = sts.MeterDecoder(
            decoder_key,
            params.ea,
            base_date=params.base_date,
            ken=meter.sudo().sts_ken,
            state=state,
        )
        try:
            decoder.enter(parsed)
        except sts.TokenRejected as error:
            result.update(reason=error.reason.value, message=self._reject_message(error))
            return result
        result["accepted"] = True
        result["message"] = self.env._("The meter would accept this token.")
        return result

    @api.model
    def _get_decoder_key(self, meter, params):
        """The decoder key (bytes) of ``meter``, for decoding; never leaves the server."""
        meter.ensure_one()
        key = meter.sudo().sts_vending_key_id
        try:
            return key.provider_id._get_decoder_key(key, params)
        except sts.StsError as error:
            raise self._user_error(meter, error) from None

    @api.model
    def _reject_message(self, error):
        """A translated explanation of a ``sts.TokenRejected``."""
        reasons = {
            sts.RejectReason.FORMAT: self.env._(
                "Not a valid token: %(detail)s", detail=error.message
            ),
            sts.RejectReason.CRC: self.env._(
                "The token does not decode with this meter's key: a typing error, a token for "
                "another meter, or a token made with another key."
            ),
            sts.RejectReason.USED: self.env._(
                "Already used: another token with this TID was issued to the meter (%(detail)s).",
                detail=error.message,
            ),
            sts.RejectReason.OLD: self.env._(
                "Too old: the meter has accepted newer tokens and no longer remembers this TID "
                "(%(detail)s).",
                detail=error.message,
            ),
            sts.RejectReason.KEY_EXPIRED: self.env._(
                "The meter's key has expired for this token: %(detail)s", detail=error.message
            ),
        }
        return reasons[error.reason]


def _batch_ref(now):
    return f"{now:%Y%m%d%H%M%S}-{uuid.uuid4().hex[:6]}"


def _naive(moment):
    """A UTC-aware datetime as Odoo stores it: naive UTC."""
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def _key_change_subclass(issued, sequence, count):
    """The management subclass of the ``sequence``-th section of a key change set."""
    if issued.token is not None:
        return sts.Management(issued.token.subclass)
    # The order of sts.tokens.key_change(): KCT1, KCT2, then KCT3, KCT4 for 128-bit keys.
    order = [sts.Management.KEY_CHANGE_1, sts.Management.KEY_CHANGE_2]
    if count == 4:
        order += [sts.Management.KEY_CHANGE_3, sts.Management.KEY_CHANGE_4]
    return order[sequence - 1]


def _describe_key_change(env, old, new):
    """One line saying what a key change set changes (no key material), in the user's language:
    it is the description of the tokens, printed on the receipt and posted on the meter."""
    parts = []
    for label, name in (
        ("SGC", "sgc"),
        ("KRN", "krn"),
        ("DKGA", "dkga"),
        ("TI", "ti"),
        ("KT", "kt"),
        ("KEN", "ken"),
        (env._("base date"), "base_date"),
    ):
        before, after = getattr(old, name), getattr(new, name)
        if before != after:
            parts.append(f"{label} {before} → {after}")
    if new.base_date != old.base_date:
        parts.append(env._("roll-over (RO=1)"))
    return ", ".join(parts)
