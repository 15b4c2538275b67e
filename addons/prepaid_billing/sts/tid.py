"""Token identifier (TID): minutes since the key's base date, in 24 bits.

The TID makes every token unique (a meter rejects a TID it has already
accepted) and dates it.  24 bits of minutes last about 31.9 years, so STS
defines three base dates; the 1993 window closed on 2024-11-24 at 20:16 UTC
and meters move to the next base date through a key change with the
roll-over bit (RO) set.  Times are UTC; naive datetimes are taken as UTC.
"""

from datetime import datetime, timedelta, timezone

from .exceptions import StsInputError, TidRangeError

TID_BITS = 24
TID_LIMIT = 1 << TID_BITS
BASE_DATES = {
    1993: datetime(1993, 1, 1, tzinfo=timezone.utc),
    2014: datetime(2014, 1, 1, tzinfo=timezone.utc),
    2035: datetime(2035, 1, 1, tzinfo=timezone.utc),
}
"""Base dates defined by IEC 62055-41, keyed by year."""

_MINUTE = timedelta(minutes=1)


def _base(base_date):
    try:
        return BASE_DATES[base_date]
    except KeyError:
        raise StsInputError(
            f"base date {base_date!r} is not one of {', '.join(map(str, BASE_DATES))}"
        ) from None


def _utc(when):
    if when.tzinfo is None:
        return when.replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc)


def rollover_at(base_date):
    """Return the first moment that no longer fits in the base date's TID window."""
    return _base(base_date) + TID_LIMIT * _MINUTE


def tid_for(when, base_date):
    """Return the TID of ``when`` (seconds are dropped) for a key on ``base_date``.

    Raises :class:`TidRangeError` before the base date or after its roll-over,
    with a message telling what to do about it.
    """
    start = _base(base_date)
    minutes = (_utc(when) - start) // _MINUTE
    if minutes < 0:
        raise TidRangeError(f"{when.isoformat()} is before the base date {base_date}")
    if minutes >= TID_LIMIT:
        successor = [year for year in sorted(BASE_DATES) if year > base_date][:1]
        advice = (
            f"move the meter to base date {successor[0]} with a key change token (RO=1) first"
            if successor
            else "no later base date is defined"
        )
        raise TidRangeError(
            f"{when.isoformat()} is after the end of the {base_date} TID window "
            f"({rollover_at(base_date):%Y-%m-%d %H:%M} UTC): {advice}"
        )
    return minutes


def datetime_for(tid, base_date):
    """Return the UTC moment a TID stands for."""
    if not 0 <= tid < TID_LIMIT:
        raise StsInputError(f"TID {tid!r} is not a 24-bit value")
    return _base(base_date) + tid * _MINUTE


def next_base_date(base_date):
    """Return the base date that follows ``base_date`` (used on a roll-over key change)."""
    years = sorted(BASE_DATES)
    index = years.index(_base(base_date).year)
    if index + 1 == len(years):
        raise TidRangeError(f"no base date is defined after {base_date}")
    return years[index + 1]


def base_date_for(when):
    """Return the newest base date whose window contains ``when``.

    Use it to pick the base date of a *new* key; existing keys keep theirs
    until a roll-over key change.
    """
    when = _utc(when)
    for year in sorted(BASE_DATES, reverse=True):
        if BASE_DATES[year] <= when < rollover_at(year):
            return year
    raise TidRangeError(f"{when.isoformat()} is outside every STS base date window")
