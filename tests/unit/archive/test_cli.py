"""The command line: verify's exit code and its naming of a break, stats, prune under the writer lock."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.archive.__main__ import main
from infra.archive.segments import all_segments
from infra.archive.writer import ArchiveWriter
from tests.unit.archive.conftest import TOPIC, frames


def test_verify_exits_0_with_counts_on_a_sound_archive(archive: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", "--root", str(archive)]) == 0
    assert "2 partitions, 2 segments, 25 entries" in capsys.readouterr().out


def test_verify_exits_1_naming_the_first_broken_entry(archive: Path, capsys: pytest.CaptureFixture[str]) -> None:
    segment = all_segments(archive / TOPIC / "1")[0]
    segment.write_bytes(b"".join(frame for i, (_, frame) in enumerate(frames(segment)) if i != 2))
    assert main(["verify", "--root", str(archive)]) == 1
    assert f"BROKEN {TOPIC}:1 offset 3 in {segment}" in capsys.readouterr().out


def test_stats_counts_records_per_topic(archive: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stats", "--root", str(archive)]) == 0
    assert f"{TOPIC}: 2 partitions, 25 records" in capsys.readouterr().out


def test_prune_is_refused_while_an_archiver_writes(archive: Path) -> None:
    with ArchiveWriter(archive):
        assert main(["prune", "--root", str(archive)]) == 2
    assert main(["prune", "--root", str(archive), "--retention-days", "400"]) == 0
