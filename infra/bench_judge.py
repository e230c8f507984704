"""The archive's p99 judged over several `make bench` runs: `python -m infra.bench_judge [FILES]`
(`make bench-judge`: every run kept under `var/bench/runs/`).

One run's judged figure is the archive-on platform's p99 at 50 /s against both archive-off platforms
(the geometric mean of its two ratios, each the median of the blocks' ratios). Its spread from run to
run is how far two platforms of the same code land apart, ~7 % (the control), and more blocks do not
shrink it: every block of a run shares that run's platforms. So the target (within 10 %) is judged on the
runs' mean, on a log scale, with a one-sided 95 % bound (README "Benchmark")."""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RUNS = Path("var/bench/runs")
TARGET = 1.10
# Student's t, one-sided 95 %, by degrees of freedom: thirty constants, where scipy would be one call and
# ~40 MB. Past 30 the normal quantile is within 3 % of it.
# fmt: off
T_95 = (6.314, 2.920, 2.353, 2.132, 2.015, 1.943, 1.895, 1.860, 1.833, 1.812, 1.796, 1.782, 1.771, 1.761, 1.753,
        1.746, 1.740, 1.734, 1.729, 1.725, 1.721, 1.717, 1.714, 1.711, 1.708, 1.706, 1.703, 1.701, 1.699, 1.697)
# fmt: on


@dataclass(frozen=True)
class Run:
    name: str
    on_vs_off: float
    on_vs_off_again: float
    control: float  # the second archive-off platform over the first
    commit: str = "?"  # the commit it ran (`+`: with changes); runs before 2026-11-27's afternoon lack it

    @property
    def judged(self) -> float:
        return math.sqrt(self.on_vs_off * self.on_vs_off_again)

    @classmethod
    def of(cls, name: str, results: dict[str, Any]) -> Run:
        side = results["side_by_side_with_headroom"]
        median = "p99_ms_median_of_blocks"
        return cls(
            name,
            side["archive_on_vs_off"][median],
            side["archive_on_vs_off_again"][median],
            side["archive_off_again_vs_off"][median],
            results.get("commit", "?"),
        )


@dataclass(frozen=True)
class Verdict:
    runs: int
    mean: float  # geometric mean of the runs' judged figures
    bound: float  # one-sided 95 % upper bound of that mean (the mean itself for one run: no spread to go on)

    @property
    def met(self) -> bool:
        return self.runs > 1 and self.bound < TARGET


def t_95(degrees: int) -> float:
    return T_95[degrees - 1] if degrees <= len(T_95) else statistics.NormalDist().inv_cdf(0.95)


def judge(figures: list[float]) -> Verdict:
    logs = [math.log(f) for f in figures]
    mean = statistics.fmean(logs)
    if len(logs) < 2:
        return Verdict(len(logs), math.exp(mean), math.exp(mean))
    half_width = t_95(len(logs) - 1) * statistics.stdev(logs) / math.sqrt(len(logs))
    return Verdict(len(logs), math.exp(mean), math.exp(mean + half_width))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", type=Path, help=f"results of `make bench` (default: {RUNS}/*.json)")
    parser.add_argument("--commit", help="only the runs of this commit (runs pool only if their code is the same)")
    args = parser.parse_args(argv)
    files = args.files or sorted(RUNS.glob("*.json"))
    runs = [Run.of(f.stem, json.loads(f.read_text())) for f in files]
    runs = [run for run in runs if args.commit is None or run.commit.startswith(args.commit)]
    if not runs:
        print(f"no runs: `make bench` and `make bench-archive` keep each under {RUNS}/", file=sys.stderr)
        return 2
    for run in runs:
        print(
            f"{run.name} ({run.commit}): {run.judged:.3f}x against both archive-off platforms "
            f"({run.on_vs_off:.3f}x, {run.on_vs_off_again:.3f}x); control {run.control:.3f}x"
        )
    verdict = judge([run.judged for run in runs])
    spread = f"95 % bound {verdict.bound:.3f}x" if verdict.runs > 1 else "one run: no bound"
    state = "met" if verdict.met else "not shown"
    print(f"{verdict.runs} runs: mean {verdict.mean:.3f}x, {spread}; within {TARGET:.2f}x: {state}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
