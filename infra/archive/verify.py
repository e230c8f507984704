"""Checks the archive: framing, decoding, offsets, prev links and hashes; names the first break per partition."""

from __future__ import annotations

from pathlib import Path

import msgspec

from infra.archive.segments import (
    QUARANTINE_SUFFIX,
    ZERO_HASH,
    Entry,
    FrameError,
    decode_entry,
    entry_is_sound,
    iter_frames,
    list_partitions,
    live_segments,
    read_anchor,
    segment_first_offset,
)


class Break(msgspec.Struct, frozen=True):
    """The first entry of a partition that does not check out, and what is wrong with it."""

    topic: str
    partition: int
    offset: int | None  # None when the entry cannot even be read
    segment: str
    position: int  # byte position of the frame in the segment
    problem: str


class VerifyReport(msgspec.Struct):
    partitions: int = 0
    segments: int = 0
    entries: int = 0
    bytes: int = 0
    broken: list[Break] = msgspec.field(default_factory=list)
    quarantined: list[str] = msgspec.field(default_factory=list)  # torn ends cut off by the writer, kept aside
    open_tails: list[str] = msgspec.field(default_factory=list)  # newest segment ends inside a frame

    @property
    def ok(self) -> bool:
        return not self.broken


def verify(root: Path | str) -> VerifyReport:
    report = VerifyReport()
    for topic, partition, directory in list_partitions(Path(root)):
        report.partitions += 1
        report.quarantined.extend(str(p) for p in sorted(directory.glob(f"*{QUARANTINE_SUFFIX}")))
        if broken := _verify_partition(report, topic, partition, directory):
            report.broken.append(broken)
    return report


class _Broken(Exception):
    def __init__(self, problem: str, offset: int | None = None) -> None:
        super().__init__(problem)
        self.problem, self.offset = problem, offset


def _verify_partition(report: VerifyReport, topic: str, partition: int, directory: Path) -> Break | None:
    anchor = read_anchor(directory)
    prev = bytes.fromhex(anchor.last_hash) if anchor else ZERO_HASH
    last_offset = anchor.last_offset if anchor else -1
    segments = live_segments(directory)
    for segment in segments:
        report.segments += 1
        report.bytes += segment.stat().st_size
        position = 0
        try:
            for position, payload in iter_frames(segment):
                entry = _checked(payload, prev, last_offset, segment if position == 0 else None)
                prev, last_offset = entry.hash, entry.offset
                report.entries += 1
        except FrameError as exc:
            if exc.torn and segment == segments[-1]:  # a write in progress, or a crash the archiver repairs
                report.open_tails.append(f"{segment} at byte {exc.position}: {exc.problem}")
                return None
            problem = f"bad framing after offset {last_offset}: {exc.problem}"
            return Break(topic, partition, None, str(segment), exc.position, problem)
        except _Broken as exc:
            return Break(topic, partition, exc.offset, str(segment), position, exc.problem)
    return None


def _checked(payload: bytes, prev: bytes, last_offset: int, first_of: Path | None) -> Entry:
    """The decoded entry if it follows the one before; _Broken saying what is wrong otherwise."""
    try:
        entry = decode_entry(payload)
    except msgspec.DecodeError as exc:
        raise _Broken(f"undecodable entry after offset {last_offset}: {exc}") from None
    if not entry_is_sound(entry):
        raise _Broken("hash does not match the entry's content (the entry was altered)", entry.offset)
    if entry.prev != prev:
        raise _Broken(
            f"prev does not link to the hash of the entry before (offset {last_offset}): "
            "an entry is missing, reordered or inserted here",
            entry.offset,
        )
    if entry.offset <= last_offset:
        raise _Broken(f"offset {entry.offset} does not increase (previous {last_offset})", entry.offset)
    if first_of is not None and entry.offset != segment_first_offset(first_of):
        raise _Broken(
            f"segment is named for offset {segment_first_offset(first_of)}, starts at {entry.offset}", entry.offset
        )
    return entry
