from . import test_command
from . import test_polling
from . import test_gateway
from . import test_batch_task
from . import test_ui
