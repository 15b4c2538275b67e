from . import prepaid_meter_replace
from . import prepaid_reading_import
from . import prepaid_account_open
from . import prepaid_account_open_line
