"""Meter side: turn 20 typed digits back into a token, and decide to accept it.

:func:`decode_token` is the stateless pipeline (untranspose, decrypt, check the
CRC, parse) that a vending system can also use to check what it issued.
:class:`MeterDecoder` adds what a meter remembers between tokens: its key, the
key expiry number and the TIDs it has already accepted (:class:`MeterState`),
so that it can refuse replayed, too old and expired tokens with a clear
:class:`~.exceptions.RejectReason`.
"""

import bisect
from dataclasses import dataclass, field

from .cipher import EA, decrypt
from .exceptions import RejectReason, StsInputError, TokenRejected
from .tid import datetime_for, next_base_date
from .tokens import (
    KEY_CHANGES,
    KeyChange1,
    KeyChange2,
    TokenClass,
    assemble_key_change,
    parse_block,
)
from .transpose import extract_class, parse_digits


def decode_token(digits, decoder_key=None, ea=None):
    """Return the token that ``digits`` carry.

    ``decoder_key`` (bytes) and ``ea`` are needed for every class but 1 (test
    tokens are not encrypted).  Raises :class:`TokenRejected` with reason
    ``format`` or ``crc``; a wrong key shows up as a CRC mismatch.
    """
    token_class, block = extract_class(parse_digits(digits))
    if token_class == 3:
        raise TokenRejected(RejectReason.FORMAT, "token class 3 is reserved")
    if token_class != TokenClass.TEST:
        if decoder_key is None or ea is None:
            raise StsInputError("decoding this token needs the decoder key and the algorithm")
        block = decrypt(EA.parse(ea), decoder_key, block)
    return parse_block(token_class, block)


@dataclass
class MeterState:
    """The TIDs a meter has accepted, oldest first, at most ``capacity`` of them.

    A meter cannot remember every TID forever, so once its memory is full it
    also refuses any TID older than the oldest one it still holds: otherwise
    an old token would be accepted again after being forgotten.  The capacity
    of real meters varies; 50 is a common figure (UNVERIFIED, check the meter).
    Plain data, so a simulator can persist it.
    """

    capacity: int = 50
    tids: list = field(default_factory=list)

    def check(self, tid):
        """Raise :class:`TokenRejected` (``used`` or ``old``) if ``tid`` must be refused."""
        index = bisect.bisect_left(self.tids, tid)
        if index < len(self.tids) and self.tids[index] == tid:
            raise TokenRejected(RejectReason.USED, f"token with TID {tid} was already used")
        if len(self.tids) >= self.capacity and tid < self.tids[0]:
            raise TokenRejected(
                RejectReason.OLD,
                f"TID {tid} is older than the oldest remembered TID {self.tids[0]}",
            )

    def remember(self, tid):
        """Record an accepted TID, forgetting the oldest beyond ``capacity``."""
        bisect.insort(self.tids, tid)
        del self.tids[: max(0, len(self.tids) - self.capacity)]

    def clear(self):
        """Forget every TID (after a move to a new base date, TIDs restart at 0)."""
        self.tids.clear()


class MeterDecoder:
    """A simulated STS meter's token decoder.

    :param decoder_key: the meter's current decoder key (bytes)
    :param ea: its encryption algorithm (:class:`EA` or "STA"/"MISTY1")
    :param base_date: TID base date of the key (dates tokens; moves on RO key changes)
    :param ken: key expiry number; a TID whose top 8 bits exceed it is refused
    :param state: :class:`MeterState` to start from (a fresh one by default)
    """

    def __init__(self, decoder_key, ea, *, base_date, ken=0xFF, state=None):
        self.decoder_key = bytes(decoder_key)
        self.ea = EA.parse(ea)
        self.ken = ken
        self.base_date = base_date
        self.state = state if state is not None else MeterState()
        self.last_key_change = None
        self._sections = {}

    def enter(self, digits):
        """Decode and accept a token as a meter would; return the token.

        Raises :class:`TokenRejected` with reason ``format``, ``crc``, ``used``,
        ``old`` or ``key_expired``; a rejected token changes nothing.
        """
        token = decode_token(digits, self.decoder_key, self.ea)
        tid = getattr(token, "tid", None)
        if tid is not None:
            self.state.check(tid)
            if tid >> 16 > self.ken:
                when = datetime_for(tid, self.base_date)
                raise TokenRejected(
                    RejectReason.KEY_EXPIRED,
                    f"decoder key expired: TID {tid} ({when:%Y-%m-%d}) is beyond "
                    f"key expiry number {self.ken:#04x}",
                )
            self.state.remember(tid)
        elif isinstance(token, KEY_CHANGES):
            self._key_change(token)
        return token

    def tid_datetime(self, token):
        """The UTC moment a token's TID stands for on this meter's base date."""
        return datetime_for(token.tid, self.base_date)

    def _key_change(self, section):
        """Collect key change sections (any order); install the new key once all are in.

        A section entered again replaces the earlier one (e.g. from an
        abandoned key change).
        """
        self._sections[type(section)] = section
        needed = (KeyChange1, KeyChange2) if self.ea is EA.STA else KEY_CHANGES
        if not set(needed) <= self._sections.keys():
            return
        new = assemble_key_change(self._sections.values(), self.ea.key_bytes)
        self._sections = {}
        base_date = self.base_date
        if new.ro:
            try:
                base_date = next_base_date(base_date)
            except StsInputError:
                raise TokenRejected(
                    RejectReason.FORMAT, f"no base date after {base_date} to roll over to"
                ) from None
            self.state.clear()
        self.decoder_key = new.decoder_key
        self.ken = new.ken
        self.base_date = base_date
        self.last_key_change = new
