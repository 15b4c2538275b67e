from . import receipt
