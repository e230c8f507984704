"""The archive's on-disk format: per-partition segment files of length-framed, hash-chained entries, and their reader.

Layout: `<root>/<topic>/<partition>/<first offset:020d>.seg`, plus `anchor.json` once old segments are pruned.
A frame is a 4-byte big-endian length and the msgpack of an `Entry` (an array, in field order).
`hash = sha256(prev + msgpack((offset, timestamp_ms, key, value, headers)))`; a partition's first entry has
`prev` = 32 zero bytes, or the anchor's hash when older segments were pruned.
"""

from __future__ import annotations

import hashlib
import os
import struct
from collections.abc import Iterator
from pathlib import Path

import msgspec

ZERO_HASH: bytes = bytes(32)
FRAME = struct.Struct(">I")
SEGMENT_SUFFIX = ".seg"
ANCHOR_FILE = "anchor.json"
QUARANTINE_SUFFIX = ".torn"
DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024
_READ_CHUNK = 1024 * 1024

Header = tuple[str, bytes | None]


class Entry(msgspec.Struct, array_like=True, frozen=True):
    """One archived record. `value` and header values may be None: Kafka allows null there."""

    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes | None
    headers: list[Header]
    prev: bytes
    hash: bytes


class Anchor(msgspec.Struct, frozen=True):
    """Where the chain starts after pruning: the last pruned entry and the first segment kept."""

    last_offset: int
    last_hash: str  # hex
    first_kept: int  # first offset (file name) of the oldest segment still in the chain


class FrameError(Exception):
    """A segment cannot be read past `position`; `torn` when the file simply ends inside a frame."""

    def __init__(self, position: int, problem: str, *, torn: bool = False) -> None:
        super().__init__(f"at byte {position}: {problem}")
        self.position, self.problem, self.torn = position, problem, torn


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(Entry)
_anchor_decoder = msgspec.json.Decoder(Anchor)


def chain_hash(
    prev: bytes, offset: int, timestamp_ms: int, key: bytes | None, value: bytes | None, headers: list[Header]
) -> bytes:
    digest = hashlib.sha256(prev)
    digest.update(_encoder.encode((offset, timestamp_ms, key, value, headers)))
    return digest.digest()


def entry_is_sound(entry: Entry) -> bool:
    """The entry's hash is that of its own content and prev."""
    expected = chain_hash(entry.prev, entry.offset, entry.timestamp_ms, entry.key, entry.value, entry.headers)
    return expected == entry.hash


def encode_frame(entry: Entry) -> bytes:
    payload = _encoder.encode(entry)
    return FRAME.pack(len(payload)) + payload


def decode_entry(payload: bytes | memoryview) -> Entry:
    return _decoder.decode(payload)


def segment_name(first_offset: int) -> str:
    return f"{first_offset:020d}{SEGMENT_SUFFIX}"


def segment_first_offset(path: Path) -> int:
    return int(path.name.removesuffix(SEGMENT_SUFFIX))


def read_anchor(partition_dir: Path) -> Anchor | None:
    path = partition_dir / ANCHOR_FILE
    return _anchor_decoder.decode(path.read_bytes()) if path.exists() else None


def all_segments(partition_dir: Path) -> list[Path]:
    return sorted(p for p in partition_dir.glob(f"*{SEGMENT_SUFFIX}") if p.stem.isdigit())


def live_segments(partition_dir: Path) -> list[Path]:
    """The segments of the chain, oldest first; leftovers of an interrupted prune are left out."""
    anchor = read_anchor(partition_dir)
    first_kept = anchor.first_kept if anchor else 0
    return [p for p in all_segments(partition_dir) if segment_first_offset(p) >= first_kept]


def list_partitions(root: Path) -> Iterator[tuple[str, int, Path]]:
    """(topic, partition, directory) of every archived partition, sorted."""
    if not root.is_dir():
        return
    for topic_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        parts = sorted((int(p.name), p) for p in topic_dir.iterdir() if p.is_dir() and p.name.isdigit())
        for partition, directory in parts:
            yield topic_dir.name, partition, directory


def iter_frames(path: Path) -> Iterator[tuple[int, bytes]]:
    """Each frame's byte position and payload, reading in chunks (constant memory); FrameError at a bad frame."""
    with open(path, "rb") as segment:
        buffer, base, at = b"", 0, 0  # base: file position of buffer[0]; at: index of the next frame
        while True:
            if missing := _missing(buffer, at):
                more = segment.read(max(_READ_CHUNK, missing))
                if not more:
                    _raise_if_leftover(buffer, base + at, len(buffer) - at)
                    return
                buffer, base, at = buffer[at:] + more, base + at, 0
                continue
            (size,) = FRAME.unpack_from(buffer, at)
            if size == 0:
                raise FrameError(base + at, "empty frame (zero length)")
            yield base + at, buffer[at + FRAME.size : at + FRAME.size + size]
            at += FRAME.size + size


def _missing(buffer: bytes, at: int) -> int:
    """How many more bytes the buffer needs to hold the next whole frame (0: it does)."""
    left = len(buffer) - at
    if left < FRAME.size:
        return FRAME.size - left
    return max(0, FRAME.size + FRAME.unpack_from(buffer, at)[0] - left)


def _raise_if_leftover(buffer: bytes, position: int, left: int) -> None:
    if left == 0:
        return
    if left < FRAME.size:
        raise FrameError(position, f"file ends inside a length prefix ({left} bytes)", torn=True)
    (size,) = FRAME.unpack_from(buffer, len(buffer) - left)
    raise FrameError(
        position, f"file ends inside a frame ({size} bytes announced, {left - FRAME.size} present)", torn=True
    )


def read_partition(partition_dir: Path) -> Iterator[Entry]:
    """Every entry of a partition in order, streaming; a FrameError or msgspec.DecodeError where unreadable."""
    for segment in live_segments(partition_dir):
        for _, payload in iter_frames(segment):
            yield decode_entry(payload)


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
