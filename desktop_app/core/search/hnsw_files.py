"""Check Chroma's HNSW index files before its native code reads them.

Chroma (1.5) loads a segment's `header.bin`, `data_level0.bin` and `link_lists.bin` without
checking them: a header cut short kills the whole process with SIGSEGV, which no `except`
can catch, so a damaged index would crash every search instead of being rebuilt. This reads
the same layout (hnswlib's persistent index, format version 1) and says what is wrong. A
format it does not know is left to Chroma.

    header.bin       int32 version, 6 x uint64 (offset level 0, max elements, element count,
                     bytes per element, label offset, data offset), int32 top level,
                     uint32 entry point, 3 x uint64 (maxM, maxM0, M), float64 mult,
                     uint64 ef_construction
    data_level0.bin  per element: uint32 neighbour count (low 16 bits), maxM0 x uint32
                     neighbour ids, then the vector and the label
    link_lists.bin   per element: uint32 byte size, then per upper level a uint32 count and
                     maxM x uint32 neighbour ids
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import NamedTuple

import numpy as np

__all__ = ["hnsw_problem"]

_HEADER = struct.Struct("<i6QiI3QdQ")


class _Header(NamedTuple):
    version: int
    offset_level0: int
    max_elements: int
    elements: int
    element_bytes: int
    label_offset: int
    data_offset: int
    top_level: int
    entry_point: int
    max_m: int
    max_m0: int
    m: int
    mult: float
    ef_construction: int


def hnsw_problem(vectors_dir: Path) -> str | None:
    """What is wrong with the HNSW files under a Chroma folder ("SEGMENT/header.bin has 50
    bytes, not 100"), or None if they look sound."""
    if not vectors_dir.is_dir():
        return None
    for segment in sorted(p for p in vectors_dir.iterdir() if p.is_dir()):
        try:
            problem = _segment_problem(segment)
        except OSError as exc:
            problem = f"cannot be read ({exc.strerror or exc})"
        if problem is not None:
            return f"{segment.name}/{problem}"
    return None


def _segment_problem(segment: Path) -> str | None:
    header_file = segment / "header.bin"
    if not header_file.exists():
        return None if not (segment / "data_level0.bin").exists() else "header.bin is missing"
    raw = header_file.read_bytes()
    if len(raw) != _HEADER.size:
        return f"header.bin has {len(raw)} bytes, not {_HEADER.size}"
    header = _Header(*_HEADER.unpack(raw))
    if header.version != 1:
        return None if header.version > 1 else "header.bin is not an index header"
    return _header_problem(header) or _level0_problem(segment, header) or _links_problem(segment, header)


def _header_problem(h: _Header) -> str | None:
    sound = (0 < h.m <= 4096 and h.max_m == h.m and h.max_m0 == 2 * h.m
             and h.elements <= h.max_elements and h.offset_level0 == 0
             and h.data_offset == 4 + 4 * h.max_m0 < h.label_offset < h.element_bytes
             and -1 <= h.top_level < 64 and (h.elements == 0 or h.entry_point < h.elements))
    return None if sound else "header.bin holds impossible values"


def _level0_problem(segment: Path, h: _Header) -> str | None:
    path = segment / "data_level0.bin"
    size = path.stat().st_size
    if size not in (h.elements * h.element_bytes, h.max_elements * h.element_bytes):
        return f"data_level0.bin has {size} bytes, not {h.elements * h.element_bytes}"
    if h.elements == 0:
        return None
    data = np.fromfile(path, dtype=np.uint8, count=h.elements * h.element_bytes)
    rows = data.reshape(h.elements, h.element_bytes)
    counts = rows[:, 0:4].copy().view("<u4")[:, 0] & 0xFFFF
    ids = rows[:, 4:h.data_offset].copy().view("<u4")
    if (counts > h.max_m0).any():
        return "data_level0.bin has impossible neighbour counts"
    used = np.arange(h.max_m0)[None, :] < counts[:, None]
    return None if (ids[used] < h.elements).all() else "data_level0.bin links to missing elements"


def _links_problem(segment: Path, h: _Header) -> str | None:
    path = segment / "link_lists.bin"
    raw = path.read_bytes() if path.exists() else b""
    block = 4 * (h.max_m + 1)
    position = 0
    for _ in range(h.elements):
        if position + 4 > len(raw):
            return "link_lists.bin is cut short"
        (size,) = struct.unpack_from("<I", raw, position)
        position += 4
        if size % block or position + size > len(raw):
            return "link_lists.bin holds impossible sizes"
        if size == 0:  # most elements live on level 0 only
            continue
        levels = np.frombuffer(raw, dtype="<u4", count=size // 4, offset=position).reshape(-1, h.max_m + 1)
        counts = levels[:, 0] & 0xFFFF
        if (counts > h.max_m).any() or (levels[:, 1:][np.arange(h.max_m)[None, :] < counts[:, None]]
                                        >= h.elements).any():
            return "link_lists.bin links to missing elements"
        position += size
    return None if position == len(raw) or h.elements == 0 else "link_lists.bin has bytes left over"
