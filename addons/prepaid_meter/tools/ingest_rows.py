"""Row bookkeeping of the set-based ingestions (readings, meter events, load profile).

A model parses each row of a batch into a tuple of column values (or rejects it with
:class:`RowError`); :func:`collect_rows` keeps the first row of each key, counts the repeated
ones as duplicates and turns the kept rows into one list per column, which
:func:`pg_arrays` renders as PostgreSQL array literals for an ``unnest(...)`` statement.

No ``odoo`` import here (see the package docstring).
"""

import math
from decimal import Decimal, InvalidOperation
from operator import itemgetter


class RowError(Exception):
    """Raised by a row parser: the row is rejected, ``reason`` says why (translated)."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


def collect_rows(rows, parse_row, names, key_size):
    """Parse ``rows`` with ``parse_row`` and split the valid ones into columns.

    :param rows: iterable of rows, in any form ``parse_row`` accepts.
    :param parse_row: ``parse_row(row)`` returns the row's values, one per name of ``names``,
        or raises :class:`RowError`.
    :param names: names of the columns, in the order of the values.
    :param int key_size: the first ``key_size`` values are the row's key: the first row of a
        key wins, the following ones of the batch are dropped and counted as duplicates.
    :return: ``{"columns", "errors", "duplicates", "received"}``: ``columns`` maps
        ``"indexes"`` (the index of each kept row in ``rows``) and each name to a list;
        ``errors`` is ``[(row index, reason)]``.
    :raise ValueError: when ``parse_row`` returns a row of another length than ``names``.
    """
    indexes = []
    kept = []
    errors = []
    seen = set()
    received = duplicates = 0
    for index, row in enumerate(rows):
        received += 1
        try:
            values = parse_row(row)
        except RowError as error:
            errors.append((index, error.reason))
            continue
        key = values[:key_size]
        if key in seen:
            duplicates += 1
            continue
        seen.add(key)
        indexes.append(index)
        kept.append(values)
    # E.g. a load profile row given as a tuple of more than its 7 values.
    if kept and set(map(len, kept)) != {len(names)}:
        raise ValueError(f"Rows of {len(names)} values expected ({', '.join(names)})")
    columns = {"indexes": indexes}
    for position, name in enumerate(names):
        columns[name] = list(map(itemgetter(position), kept))
    return {
        "columns": columns,
        "errors": errors,
        "duplicates": duplicates,
        "received": received,
    }


def new_summary(prepared, **extras):
    """The summary of an ingestion before its statement runs: nothing inserted yet.

    :param prepared: the result of :func:`collect_rows`.
    :param extras: more counters of the model, placed before ``errors``.
    """
    return {
        "received": prepared["received"],
        "inserted": 0,
        "duplicates": prepared["duplicates"],
        "rejected": len(prepared["errors"]),
        **extras,
        "errors": list(prepared["errors"]),
    }


def is_record_id(value):
    """Whether ``value`` can be a record id: a positive int (not a bool)."""
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def to_number(value):
    """Return ``value`` as a finite int, float or Decimal, or None when it is not a number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, str) and value.strip():
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            return None
        return number if number.is_finite() else None
    return None


def pg_array(values):
    """Return ``values`` as a PostgreSQL array literal (text), or None if all are None.

    Passing one text literal per column (``'{1,2,NULL}'::numeric[]``) is much cheaper for
    large batches than letting psycopg2 render an ``ARRAY[...]`` expression element by element.
    The values are already validated numbers, timestamps or selection keys: nothing to quote.
    """
    if None not in values:
        return "{" + ",".join(map(str, values)) + "}"
    if all(value is None for value in values):
        return None
    return "{" + ",".join("NULL" if value is None else str(value) for value in values) + "}"


def pg_arrays(columns, raw=()):
    """Statement parameters of ``columns`` (as :func:`collect_rows` makes them), one per
    column but ``indexes``: an array literal, or the list itself for the columns named in
    ``raw`` (free text, for psycopg2 to quote)."""
    return {
        name: values if name in raw else pg_array(values)
        for name, values in columns.items()
        if name != "indexes"
    }
