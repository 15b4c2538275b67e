from decimal import Decimal

from odoo import models
from odoo.tools import SQL


class PrepaidFeeWalletMixin(models.AbstractModel):
    """Charges that are taken from the wallet or left to bill (fee charges, common-area
    shares). The models define ``account_id``, ``amount``, ``wallet_amount``,
    ``billed_amount``, ``residual``, ``ledger_line_id`` and ``state`` (``open``/``paid``), and
    say their charge mode and ledger key."""

    _name = "prepaid.fee.wallet.mixin"
    _description = "Charge Taken from the Wallet or Billed"

    def _get_wallet_charge_mode(self):
        """``wallet`` or ``bill``."""
        raise NotImplementedError

    def _get_wallet_key(self):
        """The idempotency key of the charge's ledger line (unique per account)."""
        raise NotImplementedError

    def _take_from_wallets(self):
        """Take the open charges in wallet mode from the wallets of the open accounts billed
        on the platform, using only the credit above each cut-off threshold (the supply is
        never cut for a fee: Civil Code art. 944); the rest stays to bill."""
        charges = self.filtered(
            lambda c: (
                c.state == "open"
                and c._get_wallet_charge_mode() == "wallet"
                and c.account_id.state == "open"
                and c.account_id.billing_mode == "prepaid_platform"
            )
        )
        if not charges:
            return
        Ledger = self.env["prepaid.ledger"]
        self.env["prepaid.account"].flush_model()
        # Read the balances under the posting service's lock: a concurrent posting waits.
        rows = Ledger._lock_accounts(charges.account_id)
        available = {}
        for account in charges.account_id:
            row = rows[account.id]
            unit = Decimal(1).scaleb(-row["decimals"])
            threshold = Decimal(str(account.cutoff_threshold)).quantize(unit)
            available[account.id] = max(row["balance"] - threshold, Decimal(0))
        entries, taken = [], []
        for charge in charges:
            unit = Decimal(1).scaleb(-rows[charge.account_id.id]["decimals"])
            amount = Decimal(str(charge.amount)).quantize(unit)
            take = min(amount, available[charge.account_id.id])
            if take <= 0:
                continue
            available[charge.account_id.id] -= take
            entries.append(
                {
                    "account": charge.account_id,
                    "kind": "fee",
                    "amount": -take,
                    "key": charge._get_wallet_key(),
                    "description": charge.display_name,
                    "origin": charge,
                }
            )
            taken.append((charge, amount, take))
        if not taken:
            return
        lines = Ledger._post(entries)
        self.flush_recordset()
        # One statement for the whole run (these records are written by this process only).
        self.env.cr.execute(
            SQL(
                """UPDATE %(table)s t
                      SET wallet_amount = v.take, billed_amount = v.rest, residual = v.rest,
                          ledger_line_id = v.line_id,
                          state = CASE WHEN v.rest = 0 THEN 'paid' ELSE 'open' END
                     FROM unnest(%(ids)s::int4[], %(takes)s::numeric[], %(rests)s::numeric[],
                                 %(lines)s::int4[]) AS v(id, take, rest, line_id)
                    WHERE t.id = v.id""",
                table=SQL.identifier(self._table),
                ids=[charge.id for charge, _amount, _take in taken],
                takes=[take for _charge, _amount, take in taken],
                rests=[amount - take for _charge, amount, take in taken],
                lines=lines.ids,
            )
        )
        self.invalidate_recordset(
            ["wallet_amount", "billed_amount", "residual", "ledger_line_id", "state"]
        )
