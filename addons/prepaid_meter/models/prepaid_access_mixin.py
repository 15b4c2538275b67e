"""Who may write which field and call which method: one policy per model, enforced on the server.

Views only mirror these rules (``readonly``, ``groups``, ``invisible``); every client (web
client, XML-RPC/JSON-RPC, imports, server actions) goes through ``create``/``write`` and the
methods, where they are checked. See ``readme/CONFIGURE.md`` for the table of groups x actions.

A model inherits ``prepaid.access.mixin`` and says, in :meth:`_get_write_groups`, which fields
need which group::

    def _get_write_groups(self):
        return {
            **super()._get_write_groups(),
            **dict.fromkeys(("ct_ratio", "pt_ratio"), MANAGER),   # metrology: managers
            **dict.fromkeys(("state",), PROCESS),                  # only through the actions
        }

and guards its methods with :func:`requires_group`::

    @requires_group(MANAGER, _lt("suspend meters"))
    def action_suspend(self): ...

Records that are facts once recorded (readings, events, load profile, ledger lines) set
``_prepaid_immutable = True``: no field of an existing record is written outside its process.

``PROCESS`` fields are owned by a process (the state machine, ingestion, the ledger): they are
written only with ``sudo()`` by the method that owns the rule, after its own checks. The
superuser environment cannot be requested over RPC (a context key could), which is why sudo
is the mark of a process.
"""

import functools

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools.translate import LazyTranslate

_lt = LazyTranslate(__name__)

OPERATOR = "prepaid_meter.prepaid_meter_group_operator"
MANAGER = "prepaid_meter.prepaid_meter_group_manager"
ADMIN = "prepaid_meter.prepaid_meter_group_admin"
# Not a group: the field is written only by the code that owns it, in sudo.
PROCESS = "process"


def requires_group(group, operation):
    """Refuse the decorated method to users outside ``group`` (the superuser passes).

    :param str group: the XML id of the group (``OPERATOR``, ``MANAGER``, ``ADMIN``...)
    :param operation: what the method does, for the message (a lazy translation,
        e.g. ``_lt("suspend meters")``)
    """

    def decorator(method):
        @functools.wraps(method)
        def guarded(self, *args, **kwargs):
            self._check_group(group, operation)
            return method(self, *args, **kwargs)

        guarded.prepaid_required_group = group
        return guarded

    return decorator


class PrepaidAccessMixin(models.AbstractModel):
    _name = "prepaid.access.mixin"
    _description = "Prepaid Access Policy"

    # Facts once recorded: every stored field of an existing record is a PROCESS field.
    _prepaid_immutable = False

    # For views to mirror the policy (readonly="not prepaid_user_is_manager"); the server
    # does not rely on it.
    prepaid_user_is_manager = fields.Boolean(compute="_compute_prepaid_user_is_manager")

    @api.depends_context("uid")
    def _compute_prepaid_user_is_manager(self):
        self.prepaid_user_is_manager = self.env.user.has_group(MANAGER)

    # === POLICY === #

    def _get_write_groups(self):
        """Return ``{field name: group}``: the fields that need a group to be written.

        ``group`` is the XML id of a group, or ``PROCESS`` for fields that only the process
        owning them writes (in sudo). ``self`` holds the records being written (empty when
        creating), so a policy may depend on their state, e.g. money fields of an account that
        are free while it is a draft and need a manager once it is open. Fields not named are
        governed by the access rights and record rules alone.
        """
        if self._prepaid_immutable and self:
            return {
                name: PROCESS
                for name, field in self._fields.items()
                if field.store and not field.automatic
            }
        return {}

    # === CRUD METHODS === #

    @api.model_create_multi
    def create(self, vals_list):
        self._check_write_groups({name for vals in vals_list for name in vals})
        return super().create(vals_list)

    def write(self, vals):
        self._check_write_groups(vals)
        return super().write(vals)

    # === BUSINESS METHODS === #

    def _check_write_groups(self, field_names):
        """Raise an AccessError naming the fields of ``field_names`` that the user may not
        write on ``self`` (nothing is written then)."""
        if self.env.su or not field_names:
            return
        policy = self._get_write_groups()
        refused = {}
        for name in field_names:
            group = policy.get(name)
            if group and (group == PROCESS or not self.env.user.has_group(group)):
                refused.setdefault(group, []).append(name)
        if not refused:
            return
        lines = []
        for group, names in refused.items():
            labels = ", ".join(sorted(self._get_field_label(name) for name in names))
            if group == PROCESS:
                lines.append(
                    self.env._(
                        "%(fields)s: kept by the system, changed only through its actions.",
                        fields=labels,
                    )
                )
            else:
                lines.append(
                    self.env._(
                        "%(fields)s: only users of the group %(group)s may change them.",
                        fields=labels,
                        group=self._get_group_label(group),
                    )
                )
        raise AccessError(
            self.env._(
                "You cannot change these fields of %(model)s:\n%(lines)s",
                model=self.env["ir.model"]._get(self._name).sudo().name,
                lines="\n".join(lines),
            )
        )

    # === STATE MACHINE === #
    # For models with a ``state`` selection that is a PROCESS field: the actions move it
    # through these two methods only.

    def _get_state_records_label(self):
        """How the message of an illegal transition names the records ("meters")."""
        return self._description.lower()

    def _check_transition(self, allowed_states, target_state, strict=False):
        """Raise a UserError naming the records that cannot go to ``target_state``: those
        not in ``allowed_states`` (records already there pass, unless ``strict``)."""
        labels = dict(self._fields["state"]._description_selection(self.env))
        illegal = self.filtered(
            lambda r: r.state not in allowed_states and (strict or r.state != target_state)
        )
        if illegal:
            raise UserError(
                self.env._(
                    "Cannot set these %(records)s to %(target)s (allowed from %(allowed)s):"
                    "\n%(lines)s",
                    records=self._get_state_records_label(),
                    target=labels[target_state],
                    allowed=", ".join(labels[state] for state in allowed_states),
                    lines="\n".join(
                        f"- {record.display_name}: {labels[record.state]}" for record in illegal
                    ),
                )
            )

    def _update_state(self, allowed_states, target_state):
        """Move the records to ``target_state`` if they all are in ``allowed_states``; records
        already there are skipped, any other state raises and nothing changes. The only writer
        of ``state`` (a process field): it checks the user may write the records, then writes
        in sudo.

        :return: the records that changed state
        """
        self._check_transition(allowed_states, target_state)
        to_update = self.filtered(lambda r: r.state != target_state)
        if to_update:
            to_update.check_access("write")
            to_update.sudo().state = target_state
        return to_update

    def _check_group(self, group, operation):
        """Raise an AccessError unless the user is in ``group`` (or is the superuser)."""
        if self.env.su or self.env.user.has_group(group):
            return
        raise AccessError(
            self.env._(
                "Only users of the group %(group)s may %(operation)s.",
                group=self._get_group_label(group),
                operation=str(operation),
            )
        )

    def _get_field_label(self, name):
        field = self._fields.get(name)
        return field._description_string(self.env) if field else name

    @api.model
    def _get_group_label(self, group):
        record = self.env.ref(group, raise_if_not_found=False)
        return record.sudo().full_name if record else group
