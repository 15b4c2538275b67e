from . import prepaid_sts_provider
from . import prepaid_sts_vending_key
from . import prepaid_meter
from . import prepaid_sts_token
from . import prepaid_sts_vending
