"""MISTY1 block cipher (RFC 2994), STS encryption algorithm code 11 (EA11).

Plain 8-round MISTY1 with a 128-bit key and a 64-bit block; STS uses it on the
same 64-bit token block as STA, big-endian.  Written from the RFC text; the S7
and S9 tables are the RFC's, checked by the RFC test vectors and the STS 531-1-0
conformance vectors in ``tests/sts``.
"""

from array import array
from functools import cache, lru_cache

from .exceptions import StsInputError

S7 = (
    27, 50, 51, 90, 59, 16, 23, 84, 91, 26, 114, 115, 107, 44, 102, 73,
    31, 36, 19, 108, 55, 46, 63, 74, 93, 15, 64, 86, 37, 81, 28, 4,
    11, 70, 32, 13, 123, 53, 68, 66, 43, 30, 65, 20, 75, 121, 21, 111,
    14, 85, 9, 54, 116, 12, 103, 83, 40, 10, 126, 56, 2, 7, 96, 41,
    25, 18, 101, 47, 48, 57, 8, 104, 95, 120, 42, 76, 100, 69, 117, 61,
    89, 72, 3, 87, 124, 79, 98, 60, 29, 33, 94, 39, 106, 112, 77, 58,
    1, 109, 110, 99, 24, 119, 35, 5, 38, 118, 0, 49, 45, 122, 127, 97,
    80, 34, 17, 6, 71, 22, 82, 78, 113, 62, 105, 67, 52, 92, 88, 125,
)  # fmt: skip
S9 = (
    451, 203, 339, 415, 483, 233, 251, 53, 385, 185, 279, 491, 307, 9, 45, 211,
    199, 330, 55, 126, 235, 356, 403, 472, 163, 286, 85, 44, 29, 418, 355, 280,
    331, 338, 466, 15, 43, 48, 314, 229, 273, 312, 398, 99, 227, 200, 500, 27,
    1, 157, 248, 416, 365, 499, 28, 326, 125, 209, 130, 490, 387, 301, 244, 414,
    467, 221, 482, 296, 480, 236, 89, 145, 17, 303, 38, 220, 176, 396, 271, 503,
    231, 364, 182, 249, 216, 337, 257, 332, 259, 184, 340, 299, 430, 23, 113, 12,
    71, 88, 127, 420, 308, 297, 132, 349, 413, 434, 419, 72, 124, 81, 458, 35,
    317, 423, 357, 59, 66, 218, 402, 206, 193, 107, 159, 497, 300, 388, 250, 406,
    481, 361, 381, 49, 384, 266, 148, 474, 390, 318, 284, 96, 373, 463, 103, 281,
    101, 104, 153, 336, 8, 7, 380, 183, 36, 25, 222, 295, 219, 228, 425, 82,
    265, 144, 412, 449, 40, 435, 309, 362, 374, 223, 485, 392, 197, 366, 478, 433,
    195, 479, 54, 238, 494, 240, 147, 73, 154, 438, 105, 129, 293, 11, 94, 180,
    329, 455, 372, 62, 315, 439, 142, 454, 174, 16, 149, 495, 78, 242, 509, 133,
    253, 246, 160, 367, 131, 138, 342, 155, 316, 263, 359, 152, 464, 489, 3, 510,
    189, 290, 137, 210, 399, 18, 51, 106, 322, 237, 368, 283, 226, 335, 344, 305,
    327, 93, 275, 461, 121, 353, 421, 377, 158, 436, 204, 34, 306, 26, 232, 4,
    391, 493, 407, 57, 447, 471, 39, 395, 198, 156, 208, 334, 108, 52, 498, 110,
    202, 37, 186, 401, 254, 19, 262, 47, 429, 370, 475, 192, 267, 470, 245, 492,
    269, 118, 276, 427, 117, 268, 484, 345, 84, 287, 75, 196, 446, 247, 41, 164,
    14, 496, 119, 77, 378, 134, 139, 179, 369, 191, 270, 260, 151, 347, 352, 360,
    215, 187, 102, 462, 252, 146, 453, 111, 22, 74, 161, 313, 175, 241, 400, 10,
    426, 323, 379, 86, 397, 358, 212, 507, 333, 404, 410, 135, 504, 291, 167, 440,
    321, 60, 505, 320, 42, 341, 282, 417, 408, 213, 294, 431, 97, 302, 343, 476,
    114, 394, 170, 150, 277, 239, 69, 123, 141, 325, 83, 95, 376, 178, 46, 32,
    469, 63, 457, 487, 428, 68, 56, 20, 177, 363, 171, 181, 90, 386, 456, 468,
    24, 375, 100, 207, 109, 256, 409, 304, 346, 5, 288, 443, 445, 224, 79, 214,
    319, 452, 298, 21, 6, 255, 411, 166, 67, 136, 80, 351, 488, 289, 115, 382,
    188, 194, 201, 371, 393, 501, 116, 460, 486, 424, 405, 31, 65, 13, 442, 50,
    61, 465, 128, 168, 87, 441, 354, 328, 217, 261, 98, 122, 33, 511, 274, 264,
    448, 169, 285, 432, 422, 205, 243, 92, 258, 91, 473, 324, 502, 173, 165, 58,
    459, 310, 383, 70, 225, 30, 477, 230, 311, 506, 389, 140, 143, 64, 437, 190,
    120, 0, 172, 272, 350, 292, 2, 444, 162, 234, 112, 508, 278, 348, 76, 450,
)  # fmt: skip
ROUNDS = 8


def _fi(value, key):
    """The 16-bit FI function, as written in RFC 2994 section 2.3 (used for the key schedule)."""
    d9 = value >> 7
    d7 = value & 0x7F
    d9 = S9[d9] ^ d7
    d7 = (S7[d7] ^ d9) & 0x7F
    d7 ^= key >> 9
    d9 ^= key & 0x1FF
    d9 = S9[d9] ^ d7
    return d7 << 9 | d9


@cache
def _fi_tables():
    """Two 65536-entry tables such that ``FI(x, key) == OUT[IN[x] ^ key]``.

    The key enters FI by a single XOR between two key-independent halves, so
    both halves can be tabulated once (2 x 128 KiB, built on first use in
    about 30 ms): three S-box lookups and the bit shuffling become two lookups.
    """
    fi_in = array("H", bytes(2 * 65536))
    fi_out = array("H", bytes(2 * 65536))
    for x in range(65536):
        d9 = S9[x >> 7] ^ (x & 0x7F)
        fi_in[x] = ((S7[x & 0x7F] ^ d9) & 0x7F) << 9 | d9
        fi_out[x] = (x & 0xFE00) | (S9[x & 0x1FF] ^ (x >> 9))
    return fi_in, fi_out


@lru_cache(maxsize=1024)
def expand_key(key):
    """Return the 16 expanded 16-bit subkeys EK[0..15] for a 16-byte key.

    EK[16..31] of the RFC are the 9-bit and 7-bit halves of EK[8..15]; FI
    splits its key itself, so they are not stored.
    """
    if not isinstance(key, (bytes, bytearray)) or len(key) != 16:
        raise StsInputError("MISTY1 needs a 128-bit (16-byte) key")
    ek = [int.from_bytes(key[i : i + 2], "big") for i in range(0, 16, 2)]
    ek += [_fi(ek[i], ek[(i + 1) % 8]) for i in range(8)]
    return tuple(ek)


@lru_cache(maxsize=1024)
def _schedule(key):
    """Subkeys in the order FO and FL use them: (FO keys per round, FL keys per call)."""
    ek = expand_key(key)
    fo = tuple(
        (ek[k], ek[(k + 5) % 8 + 8], ek[(k + 2) % 8], ek[(k + 1) % 8 + 8],
         ek[(k + 7) % 8], ek[(k + 3) % 8 + 8], ek[(k + 4) % 8])
        for k in range(ROUNDS)
    )  # fmt: skip
    fl = tuple(
        (ek[k // 2], ek[(k // 2 + 6) % 8 + 8])
        if k % 2 == 0
        else (ek[((k - 1) // 2 + 2) % 8 + 8], ek[((k - 1) // 2 + 4) % 8])
        for k in range(ROUNDS + 2)
    )
    return fo, fl


def _fo(value, keys, fi_in, fi_out):
    ko1, ki1, ko2, ki2, ko3, ki3, ko4 = keys
    t0 = value >> 16
    t1 = value & 0xFFFF
    t0 = fi_out[fi_in[t0 ^ ko1] ^ ki1] ^ t1
    t1 = fi_out[fi_in[t1 ^ ko2] ^ ki2] ^ t0
    t0 = fi_out[fi_in[t0 ^ ko3] ^ ki3] ^ t1
    return (t1 ^ ko4) << 16 | t0


def _fl(value, keys):
    key_and, key_or = keys
    d0 = value >> 16
    d1 = (value & 0xFFFF) ^ (d0 & key_and)
    return (d0 ^ (d1 | key_or)) << 16 | d1


def _fl_inv(value, keys):
    key_and, key_or = keys
    d1 = value & 0xFFFF
    d0 = (value >> 16) ^ (d1 | key_or)
    return d0 << 16 | d1 ^ (d0 & key_and)


def encrypt(key, block):
    """Encrypt a 64-bit block (int) with a 128-bit key (16 bytes)."""
    fo, fl = _schedule(bytes(key))
    fi_in, fi_out = _fi_tables()
    d0 = block >> 32
    d1 = block & 0xFFFF_FFFF
    for i in range(0, ROUNDS, 2):
        d0 = _fl(d0, fl[i])
        d1 = _fl(d1, fl[i + 1])
        d1 ^= _fo(d0, fo[i], fi_in, fi_out)
        d0 ^= _fo(d1, fo[i + 1], fi_in, fi_out)
    d0 = _fl(d0, fl[ROUNDS])
    d1 = _fl(d1, fl[ROUNDS + 1])
    return d1 << 32 | d0


def decrypt(key, block):
    """Decrypt a 64-bit block (int) with a 128-bit key (16 bytes)."""
    fo, fl = _schedule(bytes(key))
    fi_in, fi_out = _fi_tables()
    d1 = block >> 32
    d0 = block & 0xFFFF_FFFF
    d0 = _fl_inv(d0, fl[ROUNDS])
    d1 = _fl_inv(d1, fl[ROUNDS + 1])
    for i in range(ROUNDS - 2, -1, -2):
        d0 ^= _fo(d1, fo[i + 1], fi_in, fi_out)
        d1 ^= _fo(d0, fo[i], fi_in, fi_out)
        d0 = _fl_inv(d0, fl[i])
        d1 = _fl_inv(d1, fl[i + 1])
    return d0 << 32 | d1
