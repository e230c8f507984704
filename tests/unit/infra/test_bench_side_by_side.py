"""The side-by-side window's arithmetic and its one guard, without platforms."""

from __future__ import annotations

import asyncio

import pytest

from infra.bench import (
    FREEZE_LIMIT_S,
    arguments,
    burst_cpu_s,
    freeze_s,
    interleaved_latency,
    side_by_side_parts,
    versus,
)


def test_too_many_platforms_for_the_slice_are_refused_before_any_is_frozen() -> None:
    # Nothing is touched before the check: a freeze would call into these and fail differently.
    senders = [object()] * 4
    with pytest.raises(ValueError, match=r"4 platforms at 2.0 s slices would freeze each for ~6.9 s"):
        asyncio.run(interleaved_latency(senders, rate=50.0, seconds=90.0, slice_s=2.0))  # type: ignore[arg-type]


def test_make_bench_s_side_by_side_platforms_at_its_slice_stay_under_the_limit() -> None:
    defaults = arguments().parse_args([])
    assert freeze_s(len(side_by_side_parts()), defaults.slice_seconds) < FREEZE_LIMIT_S


def burst(per_s: float, cpu_ms: float) -> dict[str, float]:
    return {"end_to_end_per_s": per_s, "platform_cpu_ms_per_intake": cpu_ms}


def window(
    p50: float, p99: float, cpu: float, blocks: list[float], bursts: list[dict[str, float]], by_part: dict | None = None
) -> dict:
    return {
        "p50_ms": p50,
        "p99_ms": p99,
        "platform_cpu_ms_per_intake": cpu,
        "cpu_ms_per_intake_by_part": by_part or {},
        "p99_ms_by_block": blocks,
        "bursts": bursts,
    }


def test_versus_takes_ratios_block_by_block_and_round_by_round_and_their_medians() -> None:
    a = window(30.0, 120.0, 11.0, [60.0, 90.0, 300.0], [burst(270.0, 8.0), burst(300.0, 6.0), burst(100.0, 9.0)])
    b = window(20.0, 100.0, 10.0, [50.0, 100.0, 100.0], [burst(300.0, 6.4), burst(300.0, 6.0), burst(200.0, 6.0)])
    ratios = versus(a, b)
    assert ratios["p50_ms"] == 1.5
    assert ratios["p99_ms"] == 1.2
    assert ratios["platform_cpu_ms_per_intake"] == pytest.approx(1.1)
    assert ratios["p99_ms_by_block"] == [1.2, 0.9, 3.0]
    assert ratios["p99_ms_median_of_blocks"] == 1.2
    assert ratios["bursts_end_to_end_per_s"] == [0.9, 1.0, 0.5]
    assert ratios["bursts_end_to_end_per_s_median"] == 0.9
    assert ratios["bursts_cpu_ms_per_intake"] == [1.25, 1.0, 1.5]
    assert ratios["bursts_cpu_ms_per_intake_median"] == 1.25


def test_versus_tells_how_much_more_cpu_each_part_used_and_counts_a_part_the_other_lacks_whole() -> None:
    a = window(1.0, 1.0, 1.0, [1.0], [burst(1.0, 1.0)], {"archiver": 0.4, "broker": 11.2, "intake": 3.5})
    b = window(1.0, 1.0, 1.0, [1.0], [burst(1.0, 1.0)], {"broker": 11.17, "intake": 3.4})
    more = versus(a, b)["cpu_ms_per_intake_more_by_part"]
    assert list(more) == ["archiver", "broker", "intake"]
    assert more == pytest.approx({"archiver": 0.4, "broker": 0.03, "intake": 0.1})


def test_versus_refuses_windows_or_bursts_of_different_lengths() -> None:
    a = window(1.0, 1.0, 1.0, [1.0, 2.0], [burst(1.0, 1.0)])
    with pytest.raises(ValueError):
        versus(a, a | {"p99_ms_by_block": [1.0]})
    with pytest.raises(ValueError):
        versus(a, a | {"bursts": []})


def test_a_bursts_cpu_counts_the_archiver_until_it_has_archived_and_the_others_until_they_have_handled() -> None:
    used = {("intake", 10): 1.0, ("archiver", 11): 2.0}
    settled = {("intake", 10): 1.5, ("archiver", 11): 2.1, ("triage", 12): 0.3}  # triage restarted: counts whole
    archived = {("intake", 10): 1.9, ("archiver", 11): 2.4, ("triage", 12): 0.6}  # idling while the archive caught up
    assert burst_cpu_s(used, settled, archived) == pytest.approx(0.5 + 0.1 + 0.3 + 0.3)  # the archiver's 0.3 more only
