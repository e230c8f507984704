"""The archive's p99 judged over several `make bench` runs."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from infra.bench import commit, write_results
from infra.bench_judge import Run, judge, main, t_95


def results(on_vs_off: float, on_vs_off_again: float, control: float, code: str = "d0f9c39") -> dict[str, object]:
    """The part of `make bench`'s results.json the judgement reads."""
    median = "p99_ms_median_of_blocks"
    return {
        "commit": code,
        "side_by_side_with_headroom": {
            "archive_on_vs_off": {median: on_vs_off},
            "archive_on_vs_off_again": {median: on_vs_off_again},
            "archive_off_again_vs_off": {median: control},
        },
    }


def test_runs_10_to_13_give_the_mean_and_bound_an_independent_t_test_gives() -> None:
    # The four runs' judged figures; mean and bound from scipy.stats (t.ppf(0.95, 3)) on the same logs.
    verdict = judge([1.0662, 1.0374, 1.0258, 1.1277])
    assert verdict.mean == pytest.approx(1.0635, abs=5e-4)
    assert verdict.bound == pytest.approx(1.1178, abs=5e-4)
    assert not verdict.met  # the bound is past 1.10


def test_runs_that_agree_under_the_line_meet_it_and_one_run_never_does() -> None:
    assert judge([1.05, 1.06, 1.04, 1.05, 1.07]).met
    assert not judge([1.01]).met  # one run has no spread to judge by, however low
    assert not judge([1.00, 1.30]).met  # a low mean with a wide spread is not shown


def test_the_t_quantile_comes_from_the_table_then_the_normal() -> None:
    assert t_95(1) == 6.314 and t_95(6) == 1.943 and t_95(30) == 1.697
    assert t_95(200) == pytest.approx(1.645, abs=1e-3)


def test_a_run_is_judged_against_both_archive_off_platforms(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = Run.of("14", results(1.21, 1.00, 1.21))
    assert run.judged == pytest.approx(1.1, rel=1e-3)  # the geometric mean of its two ratios
    files = []
    for name, figures in (("a", (1.11, 1.03, 0.94)), ("b", (0.96, 1.12, 0.94))):
        files.append(path := tmp_path / f"{name}.json")
        path.write_text(json.dumps(results(*figures)))
    assert main([str(f) for f in files]) == 0
    out = capsys.readouterr().out
    assert "a (d0f9c39): 1.069x against both archive-off platforms (1.110x, 1.030x); control 0.940x" in out
    assert "2 runs: mean" in out and "not shown" in out


def test_only_the_runs_of_the_code_asked_for_are_pooled(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = []
    for name, figures, code in (("a", (1.30, 1.30, 1.0), "d0f9c39"), ("b", (1.02, 1.04, 1.0), "aa74586")):
        files.append(path := tmp_path / f"{name}.json")
        path.write_text(json.dumps(results(*figures, code=code)))
    assert main([*map(str, files), "--commit", "aa745"]) == 0
    out = capsys.readouterr().out
    assert "b (aa74586)" in out and "a (d0f9c39)" not in out and "1 runs: mean 1.030x" in out
    assert main([*map(str, files), "--commit", "0000000"]) == 2  # none of that code


def test_no_runs_say_where_they_are_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main([]) == 2


def test_make_bench_keeps_each_run_beside_the_last_one_for_the_judgement(tmp_path: Path) -> None:
    started = time.strptime("2026-11-27 14:27:07", "%Y-%m-%d %H:%M:%S")
    first = write_results(results(1.1, 1.0, 1.0), started, tmp_path)
    later = write_results(results(1.2, 1.0, 1.0), time.strptime("2026-11-27 14:48", "%Y-%m-%d %H:%M"), tmp_path)
    assert first == tmp_path / "runs" / "20261127T142707Z.json"
    assert json.loads(first.read_text()) == results(1.1, 1.0, 1.0)  # the earlier run is not overwritten
    assert (tmp_path / "results.json").read_text() == later.read_text()
    assert [p.name for p in sorted((tmp_path / "runs").iterdir())] == ["20261127T142707Z.json", "20261127T144800Z.json"]


def test_a_run_notes_the_commit_it_measured_or_says_it_cannot(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    code = commit()  # this checkout: a short hash, `+` if the tree has changes
    assert code.rstrip("+").isalnum() and len(code.rstrip("+")) >= 7
    monkeypatch.chdir(tmp_path)  # no repository here
    assert commit() == "unknown"
