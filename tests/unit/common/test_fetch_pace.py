"""A consumer's fetch wait: short while records come, longer in a quiet spell."""

from __future__ import annotations

import inspect
from types import SimpleNamespace

import pytest
from aiokafka.consumer.fetcher import Fetcher

from common import fetch_pace as fetch_pace_module
from common.fetch_pace import FetchPace, Gathering


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def consumer(wait_ms: int = 20) -> SimpleNamespace:
    return SimpleNamespace(_fetcher=SimpleNamespace(_fetch_max_wait_ms=wait_ms))


def wait_ms(kafka: SimpleNamespace) -> int:
    return int(kafka._fetcher._fetch_max_wait_ms)


def test_the_wait_lengthens_after_a_quiet_spell_and_shortens_when_records_come() -> None:
    clock, kafka = Clock(), consumer()
    pace = FetchPace(20, 100, quiet_after_s=5.0, clock=clock)
    clock.now += 4.9
    pace.look(kafka)
    assert wait_ms(kafka) == 20  # not quiet long enough
    clock.now += 0.2
    pace.look(kafka)
    assert wait_ms(kafka) == 100
    pace.came(kafka)
    assert wait_ms(kafka) == 20
    clock.now += 3
    pace.look(kafka)
    assert wait_ms(kafka) == 20  # quiet is counted from the last records


def test_a_consumer_already_at_the_long_wait_or_with_quiet_spells_off_is_left_alone() -> None:
    clock = Clock()
    for pace, kafka, kept in (
        (FetchPace(100, 100, 5.0, clock), consumer(100), 100),
        (FetchPace(20, 100, 0, clock), consumer(), 20),
    ):
        clock.now += 60
        pace.look(kafka)
        assert not pace.enabled and wait_ms(kafka) == kept
        kafka._fetcher._fetch_max_wait_ms = 55  # whatever it is, a disabled pace does not touch it
        pace.came(kafka)
        pace.look(kafka)
        assert wait_ms(kafka) == 55


def test_a_consumer_not_started_yet_has_no_fetcher_and_nothing_breaks() -> None:
    pace, started_later = FetchPace(20, 100, 5.0, Clock()), SimpleNamespace()
    pace.came(started_later)
    pace.look(None)
    assert vars(started_later) == {}


def test_aiokafka_still_reads_the_wait_from_the_attribute_the_pace_sets() -> None:
    # the pace sets a private attribute: an aiokafka that renamed it would leave every wait short, silently
    source = inspect.getsource(Fetcher)
    assert "self._fetch_max_wait_ms = fetch_max_wait_ms" in source
    assert "self._fetch_max_wait_ms," in inspect.getsource(Fetcher._get_actions_per_node)


class Holding:
    """aiokafka's consumer as a reader holding its fetches sees it: each `getmany` hands over the next of
    `answers` and notes which partitions the fetcher could ask for then. Like aiokafka, it refuses to pause or
    resume a partition it does not hold."""

    def __init__(self, assigned: set[str], paused: set[str], *answers: dict[str, list[str]]) -> None:
        self.assigned, self.held, self.answers = set(assigned), set(paused), list(answers)
        self.asked: list[set[str]] = []  # the unpaused partitions at each getmany

    def assignment(self) -> set[str]:
        return set(self.assigned)

    def paused(self) -> set[str]:
        return set(self.held)

    def pause(self, *partitions: str) -> None:
        assert set(partitions) <= self.assigned, partitions
        self.held |= set(partitions)

    def resume(self, *partitions: str) -> None:
        assert set(partitions) <= self.assigned, partitions
        self.held -= set(partitions)

    def rebalance(self, assigned: set[str]) -> None:
        """Partitions taken away are forgotten; new ones come unpaused."""
        self.assigned, self.held = set(assigned), self.held & assigned

    async def getmany(self, timeout_ms: int, max_records: int | None = None) -> dict[str, list[str]]:
        self.asked.append(self.assigned - self.held)
        return self.answers.pop(0) if self.answers else {}


async def test_a_reader_holding_its_fetches_keeps_its_partitions_paused_between_batches_and_resumes_only_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    kafka = Holding({"p0", "p1", "p2"}, {"p2"}, {"p0": ["a"]}, {"p3": ["b"]})  # the reader paused p2 (diverged)
    paused_while_gathering: list[set[str]] = []

    async def sleep(seconds: float) -> None:
        paused_while_gathering.append(kafka.paused())

    monkeypatch.setattr(fetch_pace_module.asyncio, "sleep", sleep)
    gathering = Gathering(0.5, hold_fetches=True)
    assert await gathering.next_batch(kafka, wait_ms=500, most=100) == {"p0": ["a"]}
    assert kafka.asked == [{"p0", "p1"}]
    assert kafka.paused() == {"p0", "p1", "p2"}  # from the end of the batch: the fetcher asks for nothing
    gathering.keep_paused(kafka, "p0")  # the reader's own from now on, as the archiver's diverged partitions are
    kafka.rebalance({"p0", "p2", "p3"})  # p1 taken away, p3 handed over
    assert await gathering.next_batch(kafka, wait_ms=500, most=100) == {"p3": ["b"]}
    assert paused_while_gathering == [{"p0", "p2"}]  # gathered with everything paused but the new p3
    assert kafka.asked[1] == {"p3"}  # p0 and p2 stay paused; p1 is no longer this reader's to resume
    assert kafka.paused() == {"p0", "p2", "p3"}


class Answers:
    """aiokafka's consumer as a reader sees it: each `getmany` hands over the next of `answers` (then nothing)."""

    def __init__(self, *answers: dict[str, list[str]]) -> None:
        self.answers = list(answers)

    async def getmany(self, timeout_ms: int, max_records: int | None = None) -> dict[str, list[str]]:
        return self.answers.pop(0) if self.answers else {}


async def test_after_a_full_batch_the_next_is_fetched_at_once_and_after_any_other_it_gathers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A batch of `most` records leaves more waiting (a burst, a reader catching up): a gather then would only
    slow the reader to `most` records a gather."""
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(fetch_pace_module.asyncio, "sleep", sleep)
    kafka = Answers({"p0": ["a", "b"]}, {"p0": ["c"]}, {"p1": ["d"]})
    gathering = Gathering(0.5)
    assert await gathering.next_batch(kafka, wait_ms=500, most=2) == {"p0": ["a", "b"]}  # the first: at once
    assert await gathering.next_batch(kafka, wait_ms=500, most=2) == {"p0": ["c"]}
    assert slept == []  # after a full batch: no gather
    assert await gathering.next_batch(kafka, wait_ms=500, most=2) == {"p1": ["d"]}
    assert len(slept) == 1 and 0.4 < slept[0] <= 0.5  # after one record: the next gathered from when it came
