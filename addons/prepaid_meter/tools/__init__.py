"""Pure helpers of prepaid_meter: no ``odoo`` import here or below.

* :mod:`.tariff_data`: the plain data of a tariff (frozen dataclasses, errors);
* :mod:`.tariff_validation`: the rules of a valid tariff, shared by the Odoo
  constraints and the engine;
* :mod:`.tariff_engine`: rates consumption intervals (exact Decimal results);
* :mod:`.ingest_rows`: row-to-column bookkeeping of the batch ingestion methods;
* :mod:`.related_counts`: counters of related records for smart buttons (duck-typed
  recordsets, one grouped query).

Keep every module of this package importable without Odoo (a test imports it
with ``sys.modules["odoo"] = None``), with relative imports only.
"""

from . import ingest_rows, related_counts, tariff_data, tariff_engine, tariff_validation
