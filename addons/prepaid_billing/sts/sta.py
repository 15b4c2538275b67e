"""STA, the Standard Transfer Algorithm (STS encryption algorithm code 07).

A 16-round substitution-permutation cipher on a 64-bit block with a 64-bit
decoder key (both big-endian integers here).  The round key starts as the
complemented decoder key rotated right by 12 bits and rotates left by one bit
after every round.  In each round every nibble ``n`` (0 = least significant)
goes through S-box S2 when round-key bit ``4n + 3`` is set, else through S1;
then bit ``i`` of the result moves to bit ``P[i]``.

Speed: the substitution and the permutation of a byte are fused into one
lookup table per byte position and S-box choice, so a round is 8 table
lookups instead of 64 bit moves; the per-key choice of tables is computed once
and cached.  The tables were checked against the 129 STA vectors of the STS
531-1-0 conformance suites (see ``tests/sts``).
"""

from functools import lru_cache

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
_S1_INV = tuple(S1.index(n) for n in range(16))
_S2_INV = tuple(S2.index(n) for n in range(16))


def _permute(value, table):
    result = 0
    for bit, target in enumerate(table):
        if value >> bit & 1:
            result |= 1 << target
    return result


_P_INV = tuple(P.index(i) for i in range(64))


def _sub_byte(byte, choice, box1, box2):
    """Substitute both nibbles of a byte; ``choice`` bit 0 (low nibble) or 1 picks box2."""
    low = (box2 if choice & 1 else box1)[byte & 0xF]
    high = (box2 if choice & 2 else box1)[byte >> 4]
    return high << 4 | low


def _tables():
    # SUB_PERM[j][choice][b]: byte b at position j, substituted, then permuted.
    # SUB[j][choice][b]:      byte b at position j, inverse-substituted.
    # INV_SUB_PERM[j][choice][b]: inverse substitution, then inverse permutation.
    # INV_PERM[j][b]:         inverse permutation of byte b at position j.
    sub_perm, inv_sub, inv_sub_perm, inv_perm = [], [], [], []
    for j in range(8):
        shift = 8 * j
        inv_perm.append(tuple(_permute(b << shift, _P_INV) for b in range(256)))
        sp, isub, isp = [], [], []
        for choice in range(4):
            sp.append(
                tuple(_permute(_sub_byte(b, choice, S1, S2) << shift, P) for b in range(256))
            )
            inv = tuple(_sub_byte(b, choice, _S1_INV, _S2_INV) << shift for b in range(256))
            isub.append(inv)
            isp.append(tuple(_permute(v, _P_INV) for v in inv))
        sub_perm.append(tuple(sp))
        inv_sub.append(tuple(isub))
        inv_sub_perm.append(tuple(isp))
    return tuple(sub_perm), tuple(inv_sub), tuple(inv_sub_perm), tuple(inv_perm)


_SUB_PERM, _INV_SUB, _INV_SUB_PERM, _INV_PERM = _tables()


def _key_int(key):
    if isinstance(key, (bytes, bytearray)):
        if len(key) != 8:
            raise StsInputError(f"STA needs a 64-bit decoder key, got {len(key) * 8} bits")
        return int.from_bytes(key, "big")
    if not 0 <= key <= _MASK:
        raise StsInputError("STA needs a 64-bit decoder key")
    return key


def _choices(round_key):
    """S-box choice (0..3) for each byte position: key bits 8j+3 and 8j+7."""
    return tuple((round_key >> (8 * j + 3) & 1) | (round_key >> (8 * j + 6) & 2) for j in range(8))


@lru_cache(maxsize=1024)
def _schedule(key):
    """Per-round table choices for a key: (encrypt rounds, decrypt rounds)."""
    round_key = (~key & _MASK) >> 12 | (~key & _MASK) << 52 & _MASK
    choices = []
    for _ in range(ROUNDS):
        choices.append(_choices(round_key))
        round_key = (round_key << 1 | round_key >> 63) & _MASK
    encrypt = tuple(
        tuple(_SUB_PERM[j][c] for j, c in enumerate(round_choices)) for round_choices in choices
    )
    # Decryption runs the rounds backwards: inverse permutation, then inverse
    # substitution.  The inverse substitution of round r is fused with the
    # inverse permutation of round r - 1; round 0 ends with a bare substitution.
    decrypt = tuple(
        tuple(_INV_SUB_PERM[j][c] for j, c in enumerate(choices[r])) for r in range(ROUNDS - 1, 0, -1)
    )
    last = tuple(_INV_SUB[j][c] for j, c in enumerate(choices[0]))
    return encrypt, decrypt, last


def encrypt(key, block):
    """Encrypt a 64-bit block (int) with a 64-bit decoder key (8 bytes or int)."""
    for t0, t1, t2, t3, t4, t5, t6, t7 in _schedule(_key_int(key))[0]:
        block = (
            t0[block & 0xFF]
            | t1[block >> 8 & 0xFF]
            | t2[block >> 16 & 0xFF]
            | t3[block >> 24 & 0xFF]
            | t4[block >> 32 & 0xFF]
            | t5[block >> 40 & 0xFF]
            | t6[block >> 48 & 0xFF]
            | t7[block >> 56 & 0xFF]
        )
    return block


def decrypt(key, block):
    """Decrypt a 64-bit block (int) with a 64-bit decoder key (8 bytes or int)."""
    _, rounds, last = _schedule(_key_int(key))
    p0, p1, p2, p3, p4, p5, p6, p7 = _INV_PERM
    block = (
        p0[block & 0xFF]
        | p1[block >> 8 & 0xFF]
        | p2[block >> 16 & 0xFF]
        | p3[block >> 24 & 0xFF]
        | p4[block >> 32 & 0xFF]
        | p5[block >> 40 & 0xFF]
        | p6[block >> 48 & 0xFF]
        | p7[block >> 56 & 0xFF]
    )
    for t0, t1, t2, t3, t4, t5, t6, t7 in (*rounds, last):
        block = (
            t0[block & 0xFF]
            | t1[block >> 8 & 0xFF]
            | t2[block >> 16 & 0xFF]
            | t3[block >> 24 & 0xFF]
            | t4[block >> 32 & 0xFF]
            | t5[block >> 40 & 0xFF]
            | t6[block >> 48 & 0xFF]
            | t7[block >> 56 & 0xFF]
        )
    return block
