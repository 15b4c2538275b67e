"""CRC of an STS token block (IEC 62055-41).

The STS CRC is CRC-16/MODBUS (reflected polynomial 0xA001, initial value
0xFFFF, no final XOR) computed over the 50-bit value ``class << 48 | fields48``
right-aligned in 7 big-endian bytes.  The two CRC bytes are then swapped before
they go into the low 16 bits of the 64-bit block.
"""


def _make_table():
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_TABLE = _make_table()


def crc16_modbus(data):
    """Return the CRC-16/MODBUS of ``data`` (bytes), e.g. ``b"123456789"`` -> 0x4B37."""
    crc = 0xFFFF
    table = _TABLE
    for byte in data:
        crc = (crc >> 8) ^ table[(crc ^ byte) & 0xFF]
    return crc


def swap16(value):
    """Swap the two bytes of a 16-bit value (the STS CRC is stored byte-swapped)."""
    return ((value & 0xFF) << 8) | (value >> 8)


def token_crc(token_class, fields48):
    """Return the byte-swapped CRC that ends a block with these 48 data bits.

    The token class is covered by the CRC although it is not part of the
    64-bit block: a token typed with the wrong class bits fails the check.
    """
    crc = 0xFFFF
    table = _TABLE
    value = (token_class & 0x3) << 48 | (fields48 & 0xFFFF_FFFF_FFFF)
    for shift in (48, 40, 32, 24, 16, 8, 0):
        crc = (crc >> 8) ^ table[(crc ^ (value >> shift)) & 0xFF]
    return ((crc & 0xFF) << 8) | (crc >> 8)
