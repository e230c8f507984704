"""Retention: whole old segments go, the newest never does, the chain is anchored and still verifies."""

from __future__ import annotations

from pathlib import Path

from infra.archive.prune import DEFAULT_RETENTION_DAYS, prune
from infra.archive.segments import Anchor, all_segments, read_anchor, read_partition, segment_first_offset
from infra.archive.verify import verify
from infra.archive.writer import ArchiveWriter
from tests.unit.archive.conftest import T0, TOPIC, records

DAY_MS = 24 * 3600 * 1000


def test_retention_is_at_least_six_months_by_default() -> None:
    assert DEFAULT_RETENTION_DAYS >= 183


def small_segments(root: Path, count: int = 40) -> list[Path]:
    with ArchiveWriter(root, segment_bytes=600) as writer:
        writer.append(TOPIC, 0, records(0, count))
        writer.flush()
    return all_segments(root / TOPIC / "0")


def test_old_segments_are_deleted_and_the_chain_is_anchored(tmp_path: Path) -> None:
    segments = small_segments(tmp_path)
    cutoff_offset = segment_first_offset(segments[3])  # records before it are "old"
    now = T0 + cutoff_offset + 190 * DAY_MS
    report = prune(tmp_path, retention_days=190, now_ms=now)
    assert report.deleted_segments == 3
    kept = all_segments(tmp_path / TOPIC / "0")
    assert kept == segments[3:]
    anchor = read_anchor(tmp_path / TOPIC / "0")
    assert anchor is not None
    assert anchor.last_offset == cutoff_offset - 1 and anchor.first_kept == cutoff_offset
    assert next(e.offset for e in read_partition(tmp_path / TOPIC / "0")) == cutoff_offset
    assert verify(tmp_path).ok


def test_the_newest_segment_is_never_deleted_however_old(tmp_path: Path) -> None:
    segments = small_segments(tmp_path)
    prune(tmp_path, retention_days=1, now_ms=T0 + 10_000 * DAY_MS)
    assert all_segments(tmp_path / TOPIC / "0") == segments[-1:]
    assert verify(tmp_path).ok
    with ArchiveWriter(tmp_path) as writer:  # the writer carries on from the pruned chain
        assert writer.next_offset(TOPIC, 0) == 40
        writer.append(TOPIC, 0, records(40, 45))
        writer.flush()
    assert verify(tmp_path).ok


def test_nothing_recent_is_deleted(tmp_path: Path) -> None:
    segments = small_segments(tmp_path)
    assert prune(tmp_path, now_ms=T0 + DAY_MS).deleted_segments == 0
    assert all_segments(tmp_path / TOPIC / "0") == segments
    assert read_anchor(tmp_path / TOPIC / "0") is None


def test_segments_left_by_an_interrupted_prune_are_ignored_then_deleted(tmp_path: Path) -> None:
    segments = small_segments(tmp_path)
    prune(tmp_path, retention_days=190, now_ms=T0 + 190 * DAY_MS + segment_first_offset(segments[2]))
    anchor = read_anchor(tmp_path / TOPIC / "0")
    assert isinstance(anchor, Anchor)
    leftover = segments[0]
    leftover.write_bytes(b"\x00\x00\x00\x05junk!")  # as if the prune stopped before deleting it
    assert verify(tmp_path).ok
    assert prune(tmp_path, now_ms=T0).deleted_segments == 1
    assert not leftover.exists()
