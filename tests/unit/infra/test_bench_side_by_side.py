"""The side-by-side window's arithmetic and its one guard, without platforms."""

from __future__ import annotations

import asyncio

import pytest

from infra.bench import FREEZE_LIMIT_S, THAW_S, interleaved_latency, versus


def test_too_many_platforms_for_the_slice_are_refused_before_any_is_frozen() -> None:
    # Nothing is touched before the check: a freeze would call into these and fail differently.
    senders = [object()] * 4
    with pytest.raises(ValueError, match=r"4 platforms at 2.0 s slices would freeze each for ~6.9 s"):
        asyncio.run(interleaved_latency(senders, rate=50.0, seconds=90.0, slice_s=2.0))  # type: ignore[arg-type]


def test_three_platforms_at_the_bench_slice_stay_under_the_limit() -> None:
    assert 2 * (2.0 + THAW_S) < FREEZE_LIMIT_S


def test_versus_takes_ratios_block_by_block_and_their_median() -> None:
    a = {"p50_ms": 30.0, "p99_ms": 120.0, "platform_cpu_ms_per_intake": 11.0, "p99_ms_by_block": [60.0, 90.0, 300.0]}
    b = {"p50_ms": 20.0, "p99_ms": 100.0, "platform_cpu_ms_per_intake": 10.0, "p99_ms_by_block": [50.0, 100.0, 100.0]}
    ratios = versus(a, b)
    assert ratios["p50_ms"] == 1.5
    assert ratios["p99_ms"] == 1.2
    assert ratios["platform_cpu_ms_per_intake"] == pytest.approx(1.1)
    assert ratios["p99_ms_by_block"] == [1.2, 0.9, 3.0]
    assert ratios["p99_ms_median_of_blocks"] == 1.2


def test_versus_refuses_windows_of_different_lengths() -> None:
    a = {"p50_ms": 1.0, "p99_ms": 1.0, "platform_cpu_ms_per_intake": 1.0, "p99_ms_by_block": [1.0, 2.0]}
    with pytest.raises(ValueError):
        versus(a, a | {"p99_ms_by_block": [1.0]})
