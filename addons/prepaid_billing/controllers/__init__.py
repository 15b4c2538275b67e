from . import receipt
from . import portal
