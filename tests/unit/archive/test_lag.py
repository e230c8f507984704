"""Archive lag: percentiles per window, bounded memory however many records pass."""

from __future__ import annotations

from infra.archive.lag import LagWindow


def test_percentiles_of_a_window_then_a_fresh_window() -> None:
    window = LagWindow()
    window.add(1_000.0, [1_000 - lag for lag in range(1, 101)])  # lags 1..100 ms
    summary = window.roll()
    assert summary is not None
    assert (summary.records, summary.p50_ms, summary.p99_ms, summary.max_ms) == (100, 50, 99, 100)
    assert window.roll() is None


def test_a_burst_is_sampled_within_capacity() -> None:
    window = LagWindow(capacity=1_000, seed=7)
    window.add(200_000.0, range(100_000))  # lags 200,000 down to 100,001 ms
    assert len(window._samples) == 1_000
    summary = window.roll()
    assert summary is not None and summary.records == 100_000 and summary.max_ms == 200_000
    assert 145_000 < summary.p50_ms < 155_000 and summary.p99_ms > 195_000
