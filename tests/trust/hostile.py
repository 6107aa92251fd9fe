"""Builders of hostile and broken input files shared by the trust tests (issue 16), and a count of what was tried."""

from __future__ import annotations

import struct
import zlib
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image

# inputs tried per kind across the trust tests (printed by test_trust_figures for the closing note)
TRIED: Counter[str] = Counter()


def asymmetric_rgb(h: int = 6, w: int = 9) -> np.ndarray:
    """An image no rotation or flip maps onto itself: every pixel different."""
    idx = np.arange(h * w * 3, dtype=np.int64).reshape(h, w, 3)
    return ((idx * 7) % 251).astype(np.uint8)


def png_claiming(path: Path, width: int, height: int) -> Path:
    """A PNG whose header claims width x height pixels but holds almost no data: what a decompression bomb
    looks like to the reader before decoding (the limit must fire on the header, not after allocating)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))
    return path


def with_exif_orientation(path: Path, arr: np.ndarray, orientation: int) -> Path:
    """A lossless PNG carrying an EXIF orientation tag (0x0112)."""
    im = Image.fromarray(arr)
    exif = Image.Exif()
    exif[0x0112] = orientation
    im.save(path, exif=exif)
    return path
