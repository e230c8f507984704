"""Verify: a sound archive passes; an altered, missing or reordered entry is named, with where and what."""

from __future__ import annotations

from pathlib import Path

from infra.archive.segments import all_segments
from infra.archive.verify import verify
from tests.unit.archive.conftest import TOPIC, frames


def rewrite(segment: Path, pieces: list[bytes]) -> None:
    segment.write_bytes(b"".join(pieces))


def test_a_sound_archive_passes_with_its_counts(archive: Path) -> None:
    report = verify(archive)
    assert report.ok
    assert (report.partitions, report.segments, report.entries) == (2, 2, 25)
    assert report.bytes == sum(s.stat().st_size for s in archive.rglob("*.seg"))


def test_one_flipped_byte_in_a_value_names_that_entry(archive: Path) -> None:
    segment = all_segments(archive / TOPIC / "0")[0]
    position, frame = frames(segment)[7]
    data = bytearray(segment.read_bytes())
    at = position + frame.index(b'{"n":7}') + 5
    data[at] ^= 0x01  # "7" becomes "6"
    segment.write_bytes(bytes(data))
    report = verify(archive)
    assert not report.ok and len(report.broken) == 1
    broken = report.broken[0]
    assert (broken.topic, broken.partition, broken.offset, broken.position) == (TOPIC, 0, 7, position)
    assert broken.segment == str(segment) and "altered" in broken.problem


def test_a_deleted_entry_is_named_at_the_entry_after_it(archive: Path) -> None:
    segment = all_segments(archive / TOPIC / "0")[0]
    pieces = frames(segment)
    rewrite(segment, [frame for i, (_, frame) in enumerate(pieces) if i != 12])
    broken = verify(archive).broken
    assert [(b.partition, b.offset) for b in broken] == [(0, 13)]
    assert broken[0].position == pieces[12][0] and "missing" in broken[0].problem


def test_two_reordered_entries_are_named_at_the_first_out_of_place(archive: Path) -> None:
    segment = all_segments(archive / TOPIC / "1")[0]
    pieces = [frame for _, frame in frames(segment)]
    pieces[2], pieces[3] = pieces[3], pieces[2]
    rewrite(segment, pieces)
    broken = verify(archive).broken
    assert [(b.partition, b.offset) for b in broken] == [(1, 3)]
    assert "reordered" in broken[0].problem


def test_only_the_first_break_of_a_partition_is_named(archive: Path) -> None:
    segment = all_segments(archive / TOPIC / "0")[0]
    pieces = [frame for _, frame in frames(segment)]
    rewrite(segment, [p for i, p in enumerate(pieces) if i not in (3, 9)])
    assert [b.offset for b in verify(archive).broken] == [4]


def test_bad_framing_in_the_middle_is_named_with_its_byte_position(archive: Path) -> None:
    segment = all_segments(archive / TOPIC / "0")[0]
    position, _ = frames(segment)[5]
    data = bytearray(segment.read_bytes())
    data[position : position + 4] = b"\x00\x00\x00\x00"
    segment.write_bytes(bytes(data))
    broken = verify(archive).broken
    assert [(b.offset, b.position) for b in broken] == [(None, position)]
    assert "after offset 4" in broken[0].problem


def test_a_torn_end_of_the_newest_segment_is_a_note_not_a_break(archive: Path) -> None:
    segment = all_segments(archive / TOPIC / "1")[0]
    with open(segment, "ab") as torn:
        torn.write(b"\x00\x00\x01\x00partial")
    report = verify(archive)
    assert report.ok and len(report.open_tails) == 1
