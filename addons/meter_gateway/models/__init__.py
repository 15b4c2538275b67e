from . import meter_gateway
from . import meter_gateway_run
from . import meter_command
from . import meter_comm_log
from . import prepaid_meter
from . import meter_batch_task
