"""STA, the Standard Transfer Algorithm (STS encryption algorithm code 07).

A 16-round substitution-permutation cipher on a 64-bit block with a 64-bit
decoder key (both big-endian integers here).  The round key starts as the
complemented decoder key rotated right by 12 bits and rotates left by one bit
after every round.  In each round every nibble ``n`` (0 = least significant)
goes through S-box S2 when round-key bit ``4n + 3`` is set, else through S1;
then bit ``i`` of the result moves to bit ``P[i]``.

Speed: the substitution and the permutation of a byte are fused into one
lookup table per byte position and S-box choice, so a round is 8 table
lookups instead of 64 bit moves.  Which tables a key selects in each round is
worked out once per key (about 15 us) and cached.  Checked against the 129
STA vectors of the STS 531-1-0 conformance suites and against a per-bit
reference implementation (see ``tests/sts``).
"""

from functools import lru_cache
from operator import getitem

from .exceptions import StsInputError

S1 = (14, 10, 7, 9, 12, 3, 2, 5, 13, 0, 15, 1, 4, 8, 6, 11)
S2 = (12, 8, 2, 13, 7, 6, 1, 3, 11, 5, 9, 15, 0, 4, 10, 14)
P = (
    55, 42, 10, 18, 24, 21, 44, 35, 2, 22, 56, 43, 27, 58, 9, 50,
    6, 36, 12, 61, 37, 38, 53, 16, 62, 3, 7, 4, 32, 20, 63, 25,
    51, 52, 54, 33, 49, 19, 46, 29, 48, 31, 23, 30, 41, 28, 13, 5,
    40, 60, 39, 11, 15, 17, 1, 0, 57, 34, 59, 8, 47, 14, 45, 26,
)  # fmt: skip
ROUNDS = 16
_MASK = (1 << 64) - 1
_P_INV = tuple(P.index(i) for i in range(64))  # bit P[i] goes back to bit i
_S1_INV = tuple(S1.index(n) for n in range(16))
_S2_INV = tuple(S2.index(n) for n in range(16))
# Shifting a round key right by 3 and keeping these bits leaves, for byte j,
# the S-box choice of its low nibble (key bit 8j+3) in bit 0 of byte j and the
# choice of its high nibble (key bit 8j+7) in bit 4: a "selector" byte.
_SELECTOR_BITS = 0x1111_1111_1111_1111


def _byte_permutations(targets):
    """``perm[j][b]``: the bit permutation ``targets`` applied to byte ``b`` at position j."""
    result = []
    for j in range(8):
        row = [0] * 256
        for b in range(1, 256):
            low = b & -b  # lowest set bit: row[b] extends the already known row[b ^ low]
            row[b] = row[b ^ low] | 1 << targets[8 * j + low.bit_length() - 1]
        result.append(tuple(row))
    return tuple(result)


_PERM = _byte_permutations(P)
_INV_PERM = _byte_permutations(_P_INV)


def _substitute(byte, selector, box1, box2):
    """Substitute both nibbles of a byte; selector bit 0 / bit 4 picks box2 for low / high."""
    low = (box2 if selector & 0x01 else box1)[byte & 0xF]
    high = (box2 if selector & 0x10 else box1)[byte >> 4]
    return high << 4 | low


def _table_set(function):
    """``tables[j][selector][b]`` = function(byte b, selector byte, position j).

    Only 4 of the 256 selector values occur (0x00, 0x01, 0x10, 0x11); the
    others share those four tables, so this costs 4 x 8 tables of 256 entries.
    """
    tables = []
    for j in range(8):
        distinct = {s: tuple(function(b, s, j) for b in range(256)) for s in (0, 0x01, 0x10, 0x11)}
        tables.append(tuple(distinct[s & 0x11] for s in range(256)))
    return tuple(tables)


_SUB_PERM = _table_set(lambda b, s, j: _PERM[j][_substitute(b, s, S1, S2)])  # one round
_INV_SUB = _table_set(lambda b, s, j: _substitute(b, s, _S1_INV, _S2_INV) << 8 * j)
_INV_SUB_PERM = _table_set(lambda b, s, j: _INV_PERM[j][_substitute(b, s, _S1_INV, _S2_INV)])


def _key_int(key):
    if isinstance(key, (bytes, bytearray)):
        if len(key) != 8:
            raise StsInputError(f"STA needs a 64-bit decoder key, got {len(key) * 8} bits")
        return int.from_bytes(key, "big")
    if not 0 <= key <= _MASK:
        raise StsInputError("STA needs a 64-bit decoder key")
    return key


def _round_tables(key, table_set):
    """For each of the 16 rounds, the 8 tables of ``table_set`` that ``key`` selects."""
    round_key = (~key & _MASK) >> 12 | (~key & _MASK) << 52 & _MASK  # ror(~DK, 12)
    rounds = []
    for _ in range(ROUNDS):
        selectors = (round_key >> 3 & _SELECTOR_BITS).to_bytes(8, "little")
        rounds.append(tuple(map(getitem, table_set, selectors)))
        round_key = (round_key << 1 | round_key >> 63) & _MASK  # rol 1
    return rounds


@lru_cache(maxsize=1024)
def _encrypt_schedule(key):
    return tuple(_round_tables(key, _SUB_PERM))


@lru_cache(maxsize=1024)
def _decrypt_schedule(key):
    # Decryption runs the rounds backwards: inverse permutation, then inverse
    # substitution.  The inverse substitution of round r is fused with the
    # inverse permutation of round r - 1; round 0 ends with a bare substitution.
    fused = _round_tables(key, _INV_SUB_PERM)
    return (*fused[:0:-1], _round_tables(key, _INV_SUB)[0])


def encrypt(key, block):
    """Encrypt a 64-bit block (int) with a 64-bit decoder key (8 bytes or int)."""
    # Unpacking the bytes of the block is faster than eight shift-and-mask pairs.
    for t0, t1, t2, t3, t4, t5, t6, t7 in _encrypt_schedule(_key_int(key)):
        b0, b1, b2, b3, b4, b5, b6, b7 = block.to_bytes(8, "little")
        block = t0[b0] | t1[b1] | t2[b2] | t3[b3] | t4[b4] | t5[b5] | t6[b6] | t7[b7]
    return block


def decrypt(key, block):
    """Decrypt a 64-bit block (int) with a 64-bit decoder key (8 bytes or int)."""
    p0, p1, p2, p3, p4, p5, p6, p7 = _INV_PERM
    b0, b1, b2, b3, b4, b5, b6, b7 = block.to_bytes(8, "little")
    block = p0[b0] | p1[b1] | p2[b2] | p3[b3] | p4[b4] | p5[b5] | p6[b6] | p7[b7]
    for t0, t1, t2, t3, t4, t5, t6, t7 in _decrypt_schedule(_key_int(key)):
        b0, b1, b2, b3, b4, b5, b6, b7 = block.to_bytes(8, "little")
        block = t0[b0] | t1[b1] | t2[b2] | t3[b3] | t4[b4] | t5[b5] | t6[b6] | t7[b7]
    return block
