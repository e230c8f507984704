"""When the launcher compacts the embedded broker: once a day at the set hour, and only when it took enough."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from infra.runtime.platform import Platform, PlatformError
from infra.runtime.supervisor import Compaction, compaction_schedule

FOUR = dt.time(4, 0)


class FakePlatform:
    """Holds `held` archived records; a compaction is noted, and keeps what was held."""

    def __init__(self, held: int = 50_000, wanted: tuple[str, ...] = ("archiver", "intake", "gateway")) -> None:
        self.held, self.wanted = held, wanted
        self.compactions = 0
        self.held_after_compaction: int | None = None  # what the archive's marks read just after one
        self.said: list[str] = []

    def archived_records(self) -> int:
        return self.held

    def compact_broker(self) -> None:
        self.compactions += 1
        self.held = self.held_after_compaction if self.held_after_compaction is not None else self.held

    def say(self, line: str) -> None:
        self.said.append(line)


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute)


def test_compacts_once_at_the_hour_when_enough_was_taken() -> None:
    platform = FakePlatform()
    compaction = Compaction(platform, FOUR, 10_000, now=at(25, 14))  # type: ignore[arg-type]
    platform.held += 12_000
    for now in (at(25, 23, 59), at(26, 3, 59)):
        compaction.check(now)
    assert platform.compactions == 0
    for now in (at(26, 4), at(26, 4, 1), at(26, 11)):
        compaction.check(now)
    assert platform.compactions == 1
    assert "12000 records since the last" in platform.said[0]


def test_not_needed_when_the_broker_took_less_and_counted_from_the_last_compaction() -> None:
    platform = FakePlatform()
    compaction = Compaction(platform, FOUR, 10_000, now=at(25, 14))  # type: ignore[arg-type]
    platform.held += 9_999
    compaction.check(at(26, 4))
    assert platform.compactions == 0 and "not needed: 9999" in platform.said[0]
    platform.held += 1
    compaction.check(at(27, 4))
    assert platform.compactions == 1
    platform.held += 5_000  # since the compaction on the 27th
    compaction.check(at(28, 4))
    assert platform.compactions == 1


def test_a_platform_started_after_the_hour_waits_for_the_next_day() -> None:
    platform = FakePlatform()
    compaction = Compaction(platform, FOUR, 0, now=at(25, 9))  # type: ignore[arg-type]
    compaction.check(at(25, 9, 1))
    assert platform.compactions == 0
    compaction.check(at(26, 4))
    assert platform.compactions == 1


def test_never_without_the_archiver_nor_when_off() -> None:
    without = FakePlatform(wanted=("intake", "gateway"))
    off = FakePlatform()
    for platform, hour in ((without, FOUR), (off, None)):
        compaction = Compaction(platform, hour, 0, now=at(25, 1))  # type: ignore[arg-type]
        platform.held += 100_000
        compaction.check(at(26, 5))
        assert platform.compactions == 0


def test_schedule_from_the_environment() -> None:
    assert compaction_schedule({}) == (FOUR, 10_000)
    assert compaction_schedule({"PLATFORM_COMPACT_AT": "02:30", "PLATFORM_COMPACT_AFTER_RECORDS": "500"}) == (
        dt.time(2, 30),
        500,
    )
    assert compaction_schedule({"PLATFORM_COMPACT_AT": "off"}) == (None, 10_000)
    with pytest.raises(PlatformError, match="PLATFORM_COMPACT_AT='4 am'"):
        compaction_schedule({"PLATFORM_COMPACT_AT": "4 am"})
    with pytest.raises(PlatformError, match="PLATFORM_COMPACT_AFTER_RECORDS='lots'"):
        compaction_schedule({"PLATFORM_COMPACT_AFTER_RECORDS": "lots"})


def test_counts_from_what_the_new_broker_was_refilled_with_not_from_marks_still_being_written() -> None:
    """Right after a compaction the new epoch's archive marks are still being written (they read low); the
    next night must not take that for 50,000 new records and compact again."""
    platform = FakePlatform()
    platform.held_after_compaction = 3  # the new epoch's marks: one partition gone over so far
    compaction = Compaction(platform, FOUR, 10_000, now=at(25, 14))  # type: ignore[arg-type]
    platform.held += 20_000
    compaction.check(at(26, 4))
    assert platform.compactions == 1
    platform.held = 70_000 + 500  # all of them gone over, and 500 new records by the next night
    compaction.check(at(27, 4))
    assert platform.compactions == 1 and "not needed: 500" in platform.said[-1]


def test_a_compaction_waits_for_the_archive_longer_than_the_archivers_gather(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ARCHIVE_GATHER_MS", raising=False)
    assert Platform(tmp_path)._archive_pause_s() == 2.0  # the archiver's default
    assert Platform(tmp_path, env={"ARCHIVE_GATHER_MS": "5000"})._archive_pause_s() == 5.0
    monkeypatch.setenv("ARCHIVE_GATHER_MS", "750")  # the launcher's own environment reaches the parts too
    assert Platform(tmp_path)._archive_pause_s() == 0.75
