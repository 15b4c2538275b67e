from . import test_sts_meter
from . import test_sts_vending_key
from . import test_sts_token_issue
from . import test_sts_decode
from . import test_sts_security
from . import test_sts_report
from . import test_sts_provider
from . import test_ui
