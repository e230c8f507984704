"""The writer: appends in order, survives a reopen, skips what it has, repairs a torn end, rolls segments."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from infra.archive.segments import all_segments, read_partition, segment_first_offset
from infra.archive.verify import verify
from infra.archive.writer import ArchiveLocked, ArchiveWriter, Diverged
from tests.unit.archive.conftest import TOPIC, frames, record, records


def test_records_read_back_with_key_value_headers_and_timestamp_after_reopen(tmp_path: Path) -> None:
    odd = [
        record(0),
        record(1, key=None),
        record(2, value=b"", headers=()),
        record(3, headers=(("nullable", None),)),
        record(4, value=None),  # a tombstone stays a tombstone
    ]
    with ArchiveWriter(tmp_path) as writer:
        assert writer.next_offset(TOPIC, 0) == 0
        assert writer.append(TOPIC, 0, odd) == 5
        writer.flush()
    with ArchiveWriter(tmp_path) as reopened:
        assert reopened.next_offset(TOPIC, 0) == 5
        assert reopened.next_offset(TOPIC, 3) == 0
    entries = list(read_partition(tmp_path / TOPIC / "0"))
    assert [(e.offset, e.timestamp_ms, e.key, e.value, e.headers) for e in entries] == [
        (r.offset, r.timestamp, r.key, r.value, list(r.headers)) for r in odd
    ]


def test_records_already_archived_are_skipped_after_a_restart(tmp_path: Path) -> None:
    with ArchiveWriter(tmp_path) as writer:
        writer.append(TOPIC, 0, records(0, 10))
        writer.flush()
    with ArchiveWriter(tmp_path) as writer:
        assert writer.append(TOPIC, 0, records(5, 15)) == 5
        writer.flush()
    assert [e.offset for e in read_partition(tmp_path / TOPIC / "0")] == list(range(15))
    assert verify(tmp_path).ok


def test_a_torn_last_frame_is_cut_off_on_reopen_and_kept_aside(archive: Path) -> None:
    segment = all_segments(archive / TOPIC / "0")[-1]
    whole = segment.stat().st_size
    with open(segment, "ab") as torn:  # a crash in the middle of writing offset 20
        torn.write(frames(segment)[-1][1][:7])
    with ArchiveWriter(archive) as writer:
        assert writer.next_offset(TOPIC, 0) == 20
        assert segment.stat().st_size == whole
        writer.append(TOPIC, 0, records(20, 22))
        writer.flush()
    kept = list(segment.parent.glob("*.torn"))
    assert len(kept) == 1 and kept[0].stat().st_size == 7
    report = verify(archive)
    assert report.ok and report.entries == 27 and report.quarantined == [str(kept[0])]


def test_an_empty_segment_left_by_a_crash_is_removed_on_reopen(archive: Path) -> None:
    (archive / TOPIC / "0" / "00000000000000000020.seg").touch()
    with ArchiveWriter(archive) as writer:
        assert writer.next_offset(TOPIC, 0) == 20
        writer.append(TOPIC, 0, records(20, 21))
        writer.flush()
    assert verify(archive).ok


def test_segments_roll_at_the_configured_size_and_are_named_for_their_first_offset(tmp_path: Path) -> None:
    with ArchiveWriter(tmp_path, segment_bytes=1000) as writer:
        writer.append(TOPIC, 0, records(0, 30))
        writer.flush()
        writer.append(TOPIC, 0, records(30, 40))
        writer.flush()
    segments = all_segments(tmp_path / TOPIC / "0")
    assert len(segments) > 3
    assert all(s.stat().st_size <= 1000 for s in segments)
    firsts = [segment_first_offset(s) for s in segments]
    assert firsts[0] == 0 and firsts == sorted(firsts)
    with ArchiveWriter(tmp_path, segment_bytes=1000) as reopened:
        assert reopened.next_offset(TOPIC, 0) == 40
    assert verify(tmp_path).entries == 40


def test_one_fsync_per_touched_file_per_flush(archive: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd)))
    with ArchiveWriter(archive) as writer:
        writer.append(TOPIC, 0, records(20, 520))
        writer.append(TOPIC, 1, records(5, 505))
        writer.flush()
        assert len(synced) == 2


def test_a_different_record_at_the_last_archived_offset_is_refused(archive: Path) -> None:
    with ArchiveWriter(archive) as writer:
        assert writer.append(TOPIC, 0, [record(19)]) == 0  # the same record again: fine
        with pytest.raises(Diverged) as refused:
            writer.append(TOPIC, 0, [record(19, value=b"another history"), record(20)])
        assert refused.value.offset == 19
        assert writer.next_offset(TOPIC, 0) == 20


def test_a_second_writer_on_the_same_archive_is_refused(archive: Path) -> None:
    with ArchiveWriter(archive), pytest.raises(ArchiveLocked):
        ArchiveWriter(archive)
