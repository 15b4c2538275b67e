import logging

from markupsafe import Markup

from odoo import api, fields, models
from odoo.tools import SQL, formatLang
from odoo.tools.translate import LazyTranslate

from odoo.addons.prepaid_meter.models.prepaid_access_mixin import MANAGER, PROCESS, requires_group
from odoo.addons.prepaid_meter.tools.related_counts import set_related_counts

_logger = logging.getLogger(__name__)
_lt = LazyTranslate(__name__)

# Accounts whose stored balance differs from the sum of their ledger lines, or from the
# balance after their last line.
_MISMATCH_SQL = """
SELECT a.id, a.balance, COALESCE(s.total, 0), s.last_balance
  FROM prepaid_account a
  LEFT JOIN LATERAL (
      SELECT sum(l.amount) AS total,
             (SELECT l2.balance_after FROM prepaid_ledger_line l2
               WHERE l2.account_id = a.id ORDER BY l2.id DESC LIMIT 1) AS last_balance
        FROM prepaid_ledger_line l
       WHERE l.account_id = a.id
  ) s ON TRUE
 WHERE %s
   AND (COALESCE(a.balance, 0) <> COALESCE(s.total, 0)
        OR (s.last_balance IS NOT NULL AND s.last_balance <> COALESCE(a.balance, 0)))
"""


class PrepaidAccount(models.Model):
    """The wallet of a utility account: its balance and its ledger."""

    _inherit = "prepaid.account"
    # The counter finds an account by its number, tenant, room or meter serial.
    _rec_names_search = ["name", "partner_id.name", "room_id.name", "meter_ids.serial_number"]

    # === FIELDS === #

    balance = fields.Monetary(
        readonly=True,
        copy=False,
        default=0.0,
        help="What the tenant has left: the sum of the account's ledger lines, changed only by "
        "posting lines (top-ups, refunds, consumption, fees).",
    )
    ledger_line_ids = fields.One2many("prepaid.ledger.line", "account_id", string="Ledger")
    ledger_line_count = fields.Integer(compute="_compute_ledger_line_count")
    topup_ids = fields.One2many("prepaid.topup", "account_id", string="Top-ups")
    refund_ids = fields.One2many("prepaid.refund", "account_id", string="Refunds")

    # === COMPUTE METHODS === #

    def _compute_ledger_line_count(self):
        set_related_counts(self, "ledger_line_count", "prepaid.ledger.line", "account_id")

    # === ACCESS POLICY === #

    def _get_write_groups(self):
        # The balance belongs to the posting service (prepaid.ledger._post).
        return {**super()._get_write_groups(), "balance": PROCESS}

    # === ACTION METHODS === #

    def action_view_ledger(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "prepaid_billing.prepaid_ledger_line_action"
        )
        action["domain"] = [("account_id", "=", self.id)]
        action["context"] = {"create": False}
        return action

    @requires_group(MANAGER, _lt("check ledger balances"))
    def action_check_balance(self):
        """Check that each balance is the sum of its ledger lines; say so, and raise an
        activity on each account that differs."""
        mismatches = self._check_ledger_balances()
        if mismatches:
            message = self.env._(
                "%(count)s account(s) differ from their ledger; an activity was scheduled on each.",
                count=len(mismatches),
            )
            kind = "danger"
        else:
            message = self.env._("Every balance checked equals the sum of its ledger lines.")
            kind = "success"
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {"message": message, "type": kind, "sticky": bool(mismatches)},
        }

    # === BUSINESS METHODS === #

    def _check_ledger_balances(self):
        """Compare each account's balance with the sum of its ledger lines and with the
        balance after its last line (all accounts when ``self`` is empty); schedule a warning
        activity on each account that differs.

        :return: ``{account: (balance, sum of lines, balance after the last line)}``
        """
        self.env["prepaid.ledger.line"].flush_model()
        self.flush_model(["balance"])
        where = SQL("a.id IN %s", tuple(self.ids)) if self else SQL("TRUE")
        self.env.cr.execute(SQL(_MISMATCH_SQL, where))
        mismatches = {
            self.browse(account_id): (balance, total, last)
            for account_id, balance, total, last in self.env.cr.fetchall()
        }
        for account, figures in mismatches.items():
            account.sudo()._schedule_balance_mismatch_activity(*figures)
        if mismatches:
            _logger.warning(
                "Ledger check: %d account(s) differ from their ledger: %s",
                len(mismatches),
                [account.id for account in mismatches],
            )
        return mismatches

    def _schedule_balance_mismatch_activity(self, balance, total, last_balance):
        self.ensure_one()
        summary = self.env._("Balance differs from the ledger")
        if self.activity_ids.filtered(lambda a: a.summary == summary):
            return
        currency = self.currency_id

        def money(value):
            return formatLang(self.env, float(value or 0), currency_obj=currency)

        note = Markup("<p>%s</p>") % self.env._(
            "Stored balance %(balance)s; sum of the ledger lines %(total)s; balance after the "
            "last line %(last)s. Find the cause before posting corrections: a balance is only "
            "ever changed by posting ledger lines.",
            balance=money(balance),
            total=money(total),
            last=money(last_balance) if last_balance is not None else "-",
        )
        self.activity_schedule(
            act_type_xmlid="mail.mail_activity_data_warning",
            summary=summary,
            note=note,
            user_id=self._get_ledger_manager().id,
        )

    def _on_balance_changed(self, lines):
        """Called by the posting service, in its transaction, once the balances of ``self``
        moved by ``lines`` (the lines of the posting, replays included). The hook for what
        follows a balance: alarm levels, cut-off and reconnection, accounting. Runs in the
        poster's environment: overrides use sudo() for what the user may not do themselves.
        """
        return True

    def _get_refundable_amount(self, balance=None):
        """What may be paid back to the tenant: the wallet balance (``balance``: read under
        the account's lock by the caller). Accounts billed on the meter: the meter is the
        final check, it gives back only what it holds.

        :param float balance: the balance to start from (the stored one by default)
        """
        self.ensure_one()
        return self.balance if balance is None else balance

    def _get_ledger_manager(self):
        """Who looks into a ledger problem: a manager of the account's company."""
        self.ensure_one()
        managers = (
            self.env.ref(MANAGER)
            .sudo()
            .users.filtered(
                lambda u: u.active and self.company_id in u.company_ids and not u._is_superuser()
            )
        )
        return managers[:1] or self.env.user

    @api.model
    def _cron_check_ledger_balances(self):
        """Scheduled check of every account's balance against its ledger."""
        self._check_ledger_balances()
