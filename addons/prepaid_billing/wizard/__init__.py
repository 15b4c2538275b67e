from . import prepaid_sts_token_issue
from . import prepaid_sts_token_decode
from . import prepaid_sts_token_cancel
