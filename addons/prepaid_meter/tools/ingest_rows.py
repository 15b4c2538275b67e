"""Row bookkeeping of the set-based ingestions (readings, meter events, load profile).

A model parses each row of a batch into a tuple of column values (or rejects it with
:class:`RowError`); :func:`collect_rows` keeps the first row of each key, counts the repeated
ones as duplicates and turns the kept rows into one list per column, which
:func:`pg_arrays` renders as PostgreSQL array literals for an ``unnest(...)`` statement.
Ids and numbers are bounded here (:func:`is_record_id`, :func:`parse_number`) to what the
columns hold, so that one bad value is one rejected row, never a database error that aborts
the whole batch.

No ``odoo`` import here (see the package docstring).
"""

import math
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
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


# Record ids are PostgreSQL ``integer`` (int4) columns.
MAX_RECORD_ID = 2**31 - 1
# Register values, quantities and measures are Float fields of at most 16 digits, 3 of them
# decimals (their ``numeric`` columns would hold more, but the ORM reads them back as floats,
# and PostgreSQL refuses exponents such as 1E+999999 with an error that aborts the batch).
NUMBER_DIGITS = (16, 3)
# No register value needs more characters than this (sign, digits, point, exponent).
MAX_NUMBER_LENGTH = 40


class NumberError(ValueError):
    """A value is not a number the columns can hold. ``kind`` says why:

    * ``"invalid"``: not a number (text, bool, None...);
    * ``"not_finite"``: NaN or an infinity;
    * ``"too_large"``: more integer digits than the column holds (see :data:`NUMBER_DIGITS`);
    * ``"too_long"``: a text of more characters than any such number needs.
    """

    def __init__(self, kind, limit=None):
        super().__init__(kind)
        self.kind = kind
        self.limit = limit


def is_record_id(value):
    """Whether ``value`` can be a record id: an int (not a bool) in 1..2**31-1."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_RECORD_ID


def parse_number(value, digits=NUMBER_DIGITS):
    """Return ``value`` as an int, float or Decimal that a column of ``digits`` holds.

    :param value: an int, float, Decimal or numeric text (``"459.5"``, ``"1e3"``).
    :param digits: ``(precision, scale)``: at most ``precision - scale`` integer digits;
        decimals beyond ``scale`` are rounded half away from zero, as the ingestion
        statements round (so that ``1E-999999`` becomes 0, never an exponent the database
        refuses).
    :raise NumberError: when the value is not such a number (see its ``kind``).
    """
    precision, scale = digits
    integer_digits = precision - scale
    limit = 10**integer_digits
    if isinstance(value, bool):
        raise NumberError("invalid")
    if isinstance(value, int):
        if -limit < value < limit:
            return value
        raise NumberError("too_large", integer_digits)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise NumberError("not_finite")
        if -limit < value < limit:
            return value
        raise NumberError("too_large", integer_digits)
    if isinstance(value, str):
        text = value.strip()
        if len(text) > MAX_NUMBER_LENGTH:
            raise NumberError("too_long", MAX_NUMBER_LENGTH)
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise NumberError("invalid") from None
    elif not isinstance(value, Decimal):
        raise NumberError("invalid")
    if not value.is_finite():
        raise NumberError("not_finite")
    if not value:
        return Decimal(0)  # also 0E+999999, which the database would refuse
    if value.adjusted() >= integer_digits:
        raise NumberError("too_large", integer_digits)
    if value.as_tuple().exponent < -scale:
        value = value.quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP)
    return value


def to_number(value, digits=NUMBER_DIGITS):
    """Return ``value`` as :func:`parse_number` does, or None when it is not such a number."""
    try:
        return parse_number(value, digits)
    except NumberError:
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
