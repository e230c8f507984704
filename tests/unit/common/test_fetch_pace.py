"""A consumer's fetch wait: short while records come, longer in a quiet spell."""

from __future__ import annotations

import inspect
import time
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
    """aiokafka's consumer as a gathering reader that holds its fetches sees it; `rebalance` takes partitions
    away during the gather."""

    def __init__(self, assigned: set[str], paused: set[str], rebalance: set[str]) -> None:
        self.assigned, self.held, self.rebalance = assigned, set(paused), rebalance
        self.paused_during_wait: set[str] = set()
        self.answer = {"p0": ["a"]}

    def assignment(self) -> set[str]:
        return set(self.assigned)

    def paused(self) -> set[str]:
        return set(self.held)

    def pause(self, *partitions: str) -> None:
        self.held |= set(partitions)

    def resume(self, *partitions: str) -> None:
        self.held -= set(partitions)

    async def getmany(self, timeout_ms: int, max_records: int | None = None) -> dict[str, list[str]]:
        answer, self.answer = self.answer, {}  # what came during the gather, once; nothing in the short wait after
        return answer


async def test_a_reader_holding_its_fetches_pauses_while_it_gathers_and_resumes_only_what_it_paused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    kafka = Holding(assigned={"p0", "p1", "p2"}, paused={"p2"}, rebalance={"p1"})  # p2 diverged; p1 taken away

    async def sleep(seconds: float) -> None:
        kafka.paused_during_wait = kafka.paused()
        kafka.assigned -= kafka.rebalance

    monkeypatch.setattr(fetch_pace_module.asyncio, "sleep", sleep)
    gathering = Gathering(0.5, hold_fetches=True)
    gathering._last_batch_at = time.monotonic()  # a batch just taken: the next one gathers first
    assert await gathering.next_batch(kafka, wait_ms=500, most=100) == {"p0": ["a"]}
    assert kafka.paused_during_wait == {"p0", "p1", "p2"}  # the fetcher asks for none while it gathers
    assert kafka.paused() == {"p1", "p2"}  # p0 resumed; p2 stays paused; p1 is no longer this reader's
