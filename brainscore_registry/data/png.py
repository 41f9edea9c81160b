"""PNG bytes that are the same on every machine: 8-bit RGB, filter 0 on every row, and deflate
"stored" (uncompressed) blocks written here rather than by zlib, whose compressed output differs
between implementations (zlib, zlib-ng) and versions. Lossless, larger than compressed PNG, and a
pure function of the pixels, so a stimulus set rebuilt from the raw data hashes to its pin."""

from __future__ import annotations

import struct
import zlib

import numpy as np

SIGNATURE = b"\x89PNG\r\n\x1a\n"
STORED_BLOCK = 65535


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _stored_deflate(raw: bytes) -> bytes:
    """A zlib stream of stored blocks: header 0x78 0x01, blocks of ≤ 65535 bytes, Adler-32."""
    out = bytearray(b"\x78\x01")
    for start in range(0, max(len(raw), 1), STORED_BLOCK):
        block = raw[start : start + STORED_BLOCK]
        final = 1 if start + STORED_BLOCK >= len(raw) else 0
        out += bytes([final]) + struct.pack("<HH", len(block), len(block) ^ 0xFFFF) + block
    return bytes(out + struct.pack(">I", zlib.adler32(raw) & 0xFFFFFFFF))


def deterministic_png(pixels: np.ndarray) -> bytes:
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    if pixels.ndim != 3 or pixels.shape[2] != 3:
        raise ValueError(f"expected height × width × 3 uint8 pixels, got shape {pixels.shape}")
    height, width, _ = pixels.shape
    rows = np.concatenate([np.zeros((height, 1), dtype=np.uint8), pixels.reshape(height, width * 3)], axis=1)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", _stored_deflate(rows.tobytes())) + _chunk(b"IEND", b"")
