from . import prepaid_sts_provider
from . import prepaid_sts_vending_key
from . import prepaid_meter
from . import prepaid_sts_token
from . import prepaid_sts_vending
from . import prepaid_ledger_line
from . import prepaid_ledger
from . import prepaid_account
