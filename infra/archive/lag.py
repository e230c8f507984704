"""Archive lag: from a record's timestamp to the moment its entry is fsynced, summarised per window."""

from __future__ import annotations

import math
import random
import time
from collections.abc import Iterable

import msgspec


class LagSummary(msgspec.Struct, frozen=True):
    records: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    at: float  # unix time the window closed


class LagWindow:
    """The current window's lags, reservoir-sampled: a replay of millions of records costs bounded memory."""

    def __init__(self, capacity: int = 50_000, seed: int | None = None) -> None:
        self.capacity = capacity
        self._samples: list[float] = []
        self._seen = 0
        self._max = 0.0
        self._random = random.Random(seed)

    def add(self, durable_at_ms: float, timestamps_ms: Iterable[int]) -> None:
        for timestamp in timestamps_ms:
            lag = durable_at_ms - timestamp
            self._seen += 1
            self._max = max(self._max, lag)
            if len(self._samples) < self.capacity:
                self._samples.append(lag)
            elif (slot := self._random.randrange(self._seen)) < self.capacity:
                self._samples[slot] = lag

    def roll(self) -> LagSummary | None:
        """The window's percentiles (None when it saw nothing), and a fresh window."""
        samples, seen, worst = sorted(self._samples), self._seen, self._max
        self._samples, self._seen, self._max = [], 0, 0.0
        if not samples:
            return None
        return LagSummary(seen, _rank(samples, 0.50), _rank(samples, 0.99), round(worst, 1), time.time())


def _rank(ordered: list[float], quantile: float) -> float:
    """Nearest-rank percentile."""
    return round(ordered[max(0, math.ceil(quantile * len(ordered)) - 1)], 1)
