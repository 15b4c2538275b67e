"""18.0.1.1.0: key change tokens are for prepaid administrators only.

The record rules of ``security/prepaid_billing_security.xml`` are ``noupdate``: an update creates
the new administrator rule but keeps the old domains of the operator and manager rules, which
would still show key change tokens. Load the file again as at installation, so that those rules
get their new domains (a change made to them by hand in the database is replaced).
"""

import logging

from odoo import SUPERUSER_ID, api
from odoo.tools.convert import convert_file

_logger = logging.getLogger(__name__)


def migrate(cr, version):
    if not version:
        return
    env = api.Environment(cr, SUPERUSER_ID, {})
    convert_file(
        env,
        "prepaid_billing",
        "security/prepaid_billing_security.xml",
        {},
        mode="init",
        noupdate=True,
    )
    _logger.info("prepaid_billing: STS token record rules reloaded (key change tokens: admins)")
