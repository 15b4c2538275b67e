from . import prepaid_sts_token_issue
from . import prepaid_sts_token_decode
from . import prepaid_sts_token_cancel
from . import prepaid_topup_counter
from . import prepaid_topup_reverse
from . import prepaid_supply_override
from . import prepaid_fee_run
from . import prepaid_prepayment_check
