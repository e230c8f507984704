"""Records and small archives for the archive's unit tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.archive.bench import SyntheticRecord
from infra.archive.segments import iter_frames
from infra.archive.writer import ArchiveWriter

TOPIC = "archive-test.events.v1"
T0 = 1_760_000_000_000


def record(offset: int, value: bytes | None = None, **changes: object) -> SyntheticRecord:
    fields: dict = {
        "offset": offset,
        "timestamp": T0 + offset,
        "key": b"HB-202611-%06d" % offset,
        "value": b'{"n":%d}' % offset if value is None else value,
        "headers": (("message-type", b"test.v1"), ("event-id", b"e-%d" % offset)),
    }
    return SyntheticRecord(**{**fields, **changes})  # type: ignore[arg-type]


def records(start: int, stop: int) -> list[SyntheticRecord]:
    return [record(offset) for offset in range(start, stop)]


def frames(segment: Path) -> list[tuple[int, bytes]]:
    """(position, whole frame bytes) of every frame in a segment."""
    data = segment.read_bytes()
    found = [position for position, _ in iter_frames(segment)]
    return [(p, data[p:q]) for p, q in zip(found, [*found[1:], len(data)], strict=True)]


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    """An archive of two partitions: 0 holds offsets 0-19, 1 holds 0-4."""
    root = tmp_path / "archive"
    with ArchiveWriter(root) as writer:
        writer.append(TOPIC, 0, records(0, 20))
        writer.append(TOPIC, 1, records(0, 5))
        writer.flush()
    return root
