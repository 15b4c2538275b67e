from . import prepaid_site
from . import prepaid_tariff
from . import prepaid_meter_model
from . import prepaid_meter
from . import prepaid_account
