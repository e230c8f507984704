"""Appends records to the archive: buffered per partition, then written and fsynced once per touched file per flush."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from infra.archive.recovery import recover_tail
from infra.archive.segments import (
    DEFAULT_SEGMENT_BYTES,
    ZERO_HASH,
    Entry,
    chain_hash,
    encode_frame,
    fsync_dir,
    live_segments,
    read_anchor,
    segment_name,
)

LOCK_FILE = ".writer.lock"


class ArchiveRecord(Protocol):
    """What the writer reads from a record: aiokafka's ConsumerRecord has all of it."""

    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes | None]]


class ArchiveLocked(RuntimeError):
    """Another process (an archiver, a prune) is writing to this archive."""


class Diverged(Exception):
    """The broker's record at an already archived offset differs from the archive: the broker's history is not ours."""

    def __init__(self, topic: str, partition: int, offset: int) -> None:
        super().__init__(f"{topic}:{partition} offset {offset} on the broker differs from the archived entry")
        self.topic, self.partition, self.offset = topic, partition, offset


class ArchiveLock:
    """One writer per archive: an exclusive flock on `<root>/.writer.lock`, released on close or exit."""

    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self._fd: int | None = os.open(root / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._fd)
            raise ArchiveLocked(f"{root} is being written by another process (an archiver or a prune)") from None

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


@dataclass
class _PartitionLog:
    directory: Path
    last_offset: int = -1
    last_hash: bytes = ZERO_HASH
    last_prev: bytes | None = None  # None: no entry on disk to compare a replayed record with
    segment: Path | None = None  # the segment new entries go to (created on the first flush into it)
    size: int = 0
    pending: list[tuple[Path, bytearray]] = field(default_factory=list)
    file: int | None = None
    file_path: Path | None = None


class ArchiveWriter:
    def __init__(self, root: Path | str, segment_bytes: int = DEFAULT_SEGMENT_BYTES) -> None:
        self.root, self.segment_bytes = Path(root), segment_bytes
        self._lock = ArchiveLock(self.root)
        self._logs: dict[tuple[str, int], _PartitionLog] = {}

    def __enter__(self) -> ArchiveWriter:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def next_offset(self, topic: str, partition: int) -> int:
        """The offset the archive expects next for a partition: last archived + 1, or 0."""
        return self._log(topic, partition).last_offset + 1

    def append(self, topic: str, partition: int, records: Iterable[ArchiveRecord]) -> int:
        """Buffer the records not yet archived (in offset order); return how many were new."""
        plog, appended = self._log(topic, partition), 0
        for record in records:
            headers = list(record.headers)
            if record.offset <= plog.last_offset:
                if record.offset == plog.last_offset and plog.last_prev is not None:
                    self._check_replayed(topic, partition, plog, record, headers)
                continue
            digest = chain_hash(plog.last_hash, record.offset, record.timestamp, record.key, record.value, headers)
            entry = Entry(record.offset, record.timestamp, record.key, record.value, headers, plog.last_hash, digest)
            self._buffer(plog, record.offset, encode_frame(entry))
            plog.last_prev, plog.last_hash, plog.last_offset = plog.last_hash, digest, record.offset
            appended += 1
        return appended

    def flush(self) -> None:
        """Write every buffered entry and fsync each touched segment once (and its directory when new)."""
        for plog in list(self._logs.values()):  # a rebalance may open another partition meanwhile
            for path, data in plog.pending:
                fd = self._file_for(plog, path)
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            plog.pending.clear()

    def close(self) -> None:
        for plog in self._logs.values():
            _close_file(plog)
        self._lock.release()

    @staticmethod
    def _check_replayed(topic: str, partition: int, plog: _PartitionLog, record: ArchiveRecord, headers: list) -> None:
        assert plog.last_prev is not None
        digest = chain_hash(plog.last_prev, record.offset, record.timestamp, record.key, record.value, headers)
        if digest != plog.last_hash:
            raise Diverged(topic, partition, record.offset)

    def _buffer(self, plog: _PartitionLog, offset: int, frame: bytes) -> None:
        if plog.segment is None or (plog.size and plog.size + len(frame) > self.segment_bytes):
            plog.segment, plog.size = plog.directory / segment_name(offset), 0
        if not plog.pending or plog.pending[-1][0] != plog.segment:
            plog.pending.append((plog.segment, bytearray()))
        plog.pending[-1][1].extend(frame)
        plog.size += len(frame)

    def _file_for(self, plog: _PartitionLog, path: Path) -> int:
        if plog.file is not None and plog.file_path == path:
            return plog.file
        _close_file(plog)
        created = not path.exists()
        if created:
            self._make_dirs(plog.directory)
        plog.file, plog.file_path = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644), path
        if created:
            fsync_dir(plog.directory)
        return plog.file

    def _make_dirs(self, directory: Path) -> None:
        for parent in (directory.parent, directory):
            if not parent.is_dir():
                parent.mkdir(parents=True)
                fsync_dir(parent.parent)

    def _log(self, topic: str, partition: int) -> _PartitionLog:
        key = (topic, partition)
        if key not in self._logs:
            self._logs[key] = _recover(self.root / topic / str(partition))
        return self._logs[key]


def _close_file(plog: _PartitionLog) -> None:
    if plog.file is not None:
        os.close(plog.file)
        plog.file, plog.file_path = None, None


def _recover(directory: Path) -> _PartitionLog:
    """A partition's state from disk: the anchor, then the newest segment's last sound entry."""
    plog = _PartitionLog(directory)
    if not directory.is_dir():
        return plog
    if anchor := read_anchor(directory):
        plog.last_offset, plog.last_hash = anchor.last_offset, bytes.fromhex(anchor.last_hash)
    for segment in reversed(live_segments(directory)):
        last = recover_tail(segment)
        if last is None:  # nothing sound in it: it was being created when the writer stopped
            segment.unlink()
            fsync_dir(directory)
            continue
        plog.last_offset, plog.last_hash, plog.last_prev = last.offset, last.hash, last.prev
        plog.segment, plog.size = segment, segment.stat().st_size
        break
    return plog
