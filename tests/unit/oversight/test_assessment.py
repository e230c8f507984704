"""The assessment model: scores computed by hand agree, weights come from configuration, and every score
explains itself line by line."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from common.registry.view import RegistryView
from contracts.base import IssueEvent
from services.oversight.assessment import load_model, score, unable_by_reason
from services.oversight.ledger import Ledger

TODAY = date(2026, 4, 30)


def fold(events: list[IssueEvent]) -> Ledger:
    ledger = Ledger()
    for event in events:
        ledger.apply(event)
    return ledger


@pytest.fixture
def worked(story: Callable[..., Any]) -> tuple[Ledger, dict[str, str]]:
    """d-water: 3 completions (1 late), 1 unable, 1 reopened, 1 overdue; d-transport: one clean referral;
    d-education: one referral open, not yet due; a village that escalated, one that resolved on the spot."""
    stories = {
        "a": story(1, "610902001001").escalate().escalate().assign("d-water").complete().rate("satisfied").close(),
        "b": story(2, "610902")
        .assign("d-water", deadline_in=20)
        .complete(days=30)
        .rate("dissatisfied")
        .reopen()
        .assign("d-water")
        .complete()
        .rate("basically_satisfied")
        .close(),
        "c": story(3, "610902").assign("d-water").unable("no_funds").resolve().rate("satisfied").close(),
        "d": story(4, "610902").assign("d-water", deadline_in=5),
        "e": story(5, "610902").assign("d-transport").complete().rate("satisfied").close(),
        "f": story(6, "610902").assign("d-education", deadline_in=60),
        "g": story(7, "610902005002").on_spot().rate("satisfied").close(),
    }
    ledger = fold([e for s in stories.values() for e in s.events])
    return ledger, {name: s.issue_id for name, s in stories.items()}


def lines(found: Any) -> dict[str, tuple[int, int, float, float]]:
    return {
        line.indicator: (line.numerator, line.denominator, round(line.value, 4), line.weight) for line in found.lines
    }


def test_departments_are_scored_as_computed_by_hand(view: RegistryView, worked: tuple[Ledger, Any]) -> None:
    ledger, _ = worked
    scores = score(ledger, view, load_model(), kind="department", period="2026", today=TODAY)
    assert [(s.key, s.rank, round(s.score, 6)) for s in scores] == [("d-transport", 1, 100.0), ("d-water", 2, 60.0)]
    water = scores[1]
    assert (water.name, water.kind, water.period) == ("汉滨区水利局", "department", "2026")
    assert lines(water) == {
        "on_time_completion": (2, 4, 0.5, 0.30),  # on time A, B's second; due: 3 completed + D overdue
        "real_resolution": (1, 2, 0.5, 0.25),  # closed A and B; B was reopened; C was resolved at review
        "satisfaction": (2, 3, 0.6667, 0.20),  # A satisfied, B dissatisfied then basically satisfied
        "reopen_rate": (1, 3, 0.6667, 0.10),
        "unable_share": (1, 4, 0.75, 0.10),
        "callback_mismatch": (0, 2, 1.0, 0.05),
    }


def test_a_flagged_callback_lowers_the_handlers_score(view: RegistryView, worked: tuple[Ledger, Any]) -> None:
    ledger, issues = worked
    ledger.flag_callback(issues["a"], None)
    water = next(
        s
        for s in score(ledger, view, load_model(), kind="department", period="2026", today=TODAY)
        if s.key == "d-water"
    )
    assert lines(water)["callback_mismatch"] == (1, 2, 0.5, 0.05)
    assert water.score == pytest.approx(57.5)


def test_towns_and_villages_are_scored_on_what_applies(view: RegistryView, worked: tuple[Ledger, Any]) -> None:
    ledger, _ = worked
    villages = score(ledger, view, load_model(), kind="village", period="2026-03", today=TODAY)
    assert [(s.key, s.rank, round(s.score, 6)) for s in villages] == [
        ("610902005002", 1, 100.0),
        ("610902001001", 2, 0.0),
    ]
    escalated = lines(villages[1])
    assert escalated["escalation_rate"] == (1, 1, 0.0, 1.0)  # the only indicator that applies: all the weight
    assert all(weight == 0.0 for name, (_, _, _, weight) in escalated.items() if name != "escalation_rate")
    towns = score(ledger, view, load_model(), kind="town", period="2026-03", today=TODAY)
    assert [(s.key, round(s.score, 6)) for s in towns] == [("610902005", 100.0), ("610902001", 0.0)]
    assert lines(towns[1])["escalation_rate"][:2] == (2, 2)  # the village's escalation and the town's own


def test_a_body_with_nothing_to_score_gets_no_score(view: RegistryView, worked: tuple[Ledger, Any]) -> None:
    ledger, _ = worked
    departments = {s.key for s in score(ledger, view, load_model(), kind="department", period="2026", today=TODAY)}
    assert "d-education" not in departments  # one referral in progress, not yet due
    last_year = score(ledger, view, load_model(), kind="department", period="2025", today=TODAY)
    assert [(s.key, s.score) for s in last_year] == [("d-water", 0.0)]  # overdue is a figure of now, in every period
    assert lines(last_year[0])["on_time_completion"] == (0, 1, 0.0, 1.0)


def test_weights_come_from_the_configuration(view: RegistryView, worked: tuple[Ledger, Any], tmp_path: Path) -> None:
    ledger, _ = worked
    path = tmp_path / "model.toml"
    path.write_text(
        """
        [[indicators.department]]
        name = "on_time"
        weight = 2
        numerator = "on_time_completed"
        denominator = "due"

        [[indicators.department]]
        name = "unable"
        weight = 1
        numerator = "unable"
        denominator = "replied"
        invert = true
        """,
        encoding="utf-8",
    )
    found = score(ledger, view, load_model(path), kind="department", period="2026", today=TODAY)
    water = next(s for s in found if s.key == "d-water")
    assert water.score == pytest.approx(100 * (2 / 3 * 0.5 + 1 / 3 * 0.75))
    assert [line.weight for line in water.lines] == pytest.approx([2 / 3, 1 / 3])


@pytest.mark.parametrize(
    ("toml", "error"),
    [
        ('[[indicators.department]]\nname = "x"\nweight = 1\nnumerator = "bribes"\ndenominator = "closed"\n', "bribes"),
        ('[[indicators.city]]\nname = "x"\nweight = 1\nnumerator = "closed"\ndenominator = "closed"\n', "city"),
        ('[[indicators.town]]\nname = "x"\nweight = -1\nnumerator = "closed"\ndenominator = "closed"\n', "weight"),
        ("[[indicators.town]\n", "model"),
    ],
)
def test_a_wrong_model_is_refused_naming_what_is_wrong(tmp_path: Path, toml: str, error: str) -> None:
    path = tmp_path / "model.toml"
    path.write_text(toml, encoding="utf-8")
    with pytest.raises(ValueError, match=error):
        load_model(path)


def test_the_shipped_model_scores_every_kind(view: RegistryView, histories: list[list[IssueEvent]]) -> None:
    """Every score is the sum of its lines' points; each line's points are value × weight × 100."""
    ledger = fold([e for events in histories for e in events])
    model = load_model()
    assert set(model.indicators) == {"department", "town", "village"}
    for kind in ("department", "town", "village"):
        for period in ("2026-02", "2026", "all"):
            scores = score(ledger, view, model, kind=kind, period=period, today=TODAY)
            assert scores, (kind, period)
            for found in scores:
                assert found.score == pytest.approx(sum(line.points for line in found.lines))
                assert 0 <= found.score <= 100 + 1e-9
                assert sum(line.weight for line in found.lines) == pytest.approx(1.0)
                for line in found.lines:
                    assert line.points == pytest.approx(line.value * line.weight * 100)
                    assert 0 <= line.value <= 1 and (line.denominator > 0 or line.weight == 0)
            assert [s.score for s in scores] == sorted((s.score for s in scores), reverse=True)
            assert [s.rank for s in scores] == sorted(s.rank for s in scores) and scores[0].rank == 1


def test_unable_replies_are_counted_by_reason(worked: tuple[Ledger, Any]) -> None:
    ledger, _ = worked
    assert unable_by_reason(ledger, "d-water", "2026") == {"no_funds": 1}
    assert unable_by_reason(ledger, "610902", "all", by="unit") == {"no_funds": 1}
    assert unable_by_reason(ledger, "d-water", "2025") == {}
