"""The ledgers equal what the events say: a recount from the lifecycle's states agrees with every figure."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.clock import CHINA, month_of
from common.registry.view import RegistryView
from contracts.base import IssueEvent
from contracts.issues import (
    IssueAssigned,
    IssueClosed,
    IssueEscalated,
    IssueRated,
    IssueReceived,
    IssueReopened,
    IssueResolved,
    IssueResolvedOnSpot,
    IssueTriaged,
    ReferralCompleted,
    ReferralUnable,
)
from contracts.lifecycle import IssueState, apply, return_point
from contracts.registry import AdminUnit
from services.oversight.ledger import ALL, DIMENSIONS, FIGURES, Ledger

TODAY = date(2026, 5, 10)
PERIODS = ("2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06", "2026", "2025", "all")
Fact = dict[str, Any]


def recount(view: RegistryView, histories: list[list[IssueEvent]], today: date) -> list[Fact]:
    """Each figure an issue's events make, found from the lifecycle's state before and after each event."""
    facts: list[Fact] = []
    for events in histories:
        received = events[0]
        assert isinstance(received, IssueReceived)
        category = next((e.category for e in events if isinstance(e, IssueTriaged)), "untriaged")
        issue = {"category": category, "channel": received.channel, "deputy": received.deputy_code}
        state: IssueState | None = None
        for event in events:
            before, state = state, apply(state, event)
            for figure, unit, handler in _made(view, before, event):
                facts.append({"figure": figure, "month": month_of(event.occurred_at), "unit": unit, "handler": handler})
                facts[-1].update(issue)
        assert state is not None
        if state.state in ("assigned", "in_progress"):
            now = {"month": None, "unit": state.assigned_unit, "handler": state.handler_code, **issue}
            facts.append({"figure": "in_progress", **now})
            if state.deadline is not None and state.deadline < today:
                facts.append({"figure": "overdue", **now})
    return facts


def _made(view: RegistryView, before: IssueState | None, event: IssueEvent) -> list[tuple[str, str, str | None]]:
    if isinstance(event, IssueReceived):
        return [("collected", view.tier_of_station(event.station_code)[1], None)]
    assert before is not None
    if isinstance(event, IssueResolvedOnSpot | IssueResolved | IssueAssigned):
        figure = {IssueResolvedOnSpot: "resolved_on_spot", IssueResolved: "resolved"}.get(type(event), "assigned")
        return [(figure, event.unit, event.handler_code if isinstance(event, IssueAssigned) else None)]
    if isinstance(event, IssueEscalated):
        return [("escalated", event.from_unit, None)]
    replied_by = getattr(event, "handler_code", None)
    lead_replied = before.state in ("assigned", "in_progress") and replied_by == before.handler_code
    if isinstance(event, ReferralCompleted) and lead_replied:
        assert before.deadline is not None and before.assigned_unit is not None
        on_time = event.occurred_at.astimezone(CHINA).date() <= before.deadline
        made = ["completed", *(["on_time_completed"] if on_time else [])]
        return [(f, before.assigned_unit, event.handler_code) for f in made]
    if isinstance(event, ReferralUnable) and lead_replied:
        assert before.assigned_unit is not None
        return [(f, before.assigned_unit, event.handler_code) for f in ("unable", f"unable:{event.reason_code}")]
    completed_by = before.handler_code if before.state in ("completed", "fed_back", "rated") else None
    if isinstance(event, IssueRated):
        return [(event.satisfaction, return_point(before)[1], completed_by)]
    if isinstance(event, IssueReopened):
        return [("reopened", event.unit, completed_by)]
    if isinstance(event, IssueClosed):
        unit = before.assigned_unit or before.resolved_unit or before.unit or ""
        content = before.state == "rated" and before.satisfaction in ("satisfied", "basically_satisfied")
        made = [
            "closed",
            *(["closed_content"] if content else []),
            *(["real_resolved"] if content and not before.reopened else []),
        ]
        return [(f, unit, completed_by) for f in made]
    return []


def expected(view: RegistryView, facts: list[Fact], by: str, period: str) -> dict[str, dict[str, int]]:
    if by == "town":
        towns = {u.code: t.code for t in view.all(AdminUnit) if t.tier == "town" for u in view.subtree(t.code)}
        keyed = [(towns.get(f["unit"]), f) for f in facts]
    else:
        keyed = [(f[by], f) for f in facts]
    counts: Counter[tuple[str, str]] = Counter()
    for key, f in keyed:
        month = f["month"]
        if key is not None and (month is None or period in ("all", month, month[:4])):
            counts[(key, f["figure"])] += 1
    found: dict[str, dict[str, int]] = {}
    for (key, figure), n in counts.items():
        found.setdefault(key, dict.fromkeys(ALL, 0))[figure] = n
    return found


def fold(events: list[IssueEvent]) -> Ledger:
    ledger = Ledger()
    for event in events:
        ledger.apply(event)
    return ledger


def everything(view: RegistryView, ledger: Ledger, periods: tuple[str, ...] = PERIODS) -> dict[tuple[str, str], Any]:
    return {(by, p): ledger.figures(view, by=by, period=p, today=TODAY) for by in DIMENSIONS for p in periods}


def test_every_figure_of_every_row_equals_a_recount_of_the_events(
    view: RegistryView, histories: list[list[IssueEvent]]
) -> None:
    ledger = fold([e for events in histories for e in events])
    facts = recount(view, histories, TODAY)
    assert {f["figure"] for f in facts} >= {"collected", "completed", "reopened", "unable", "overdue", "real_resolved"}
    for by in DIMENSIONS:
        for period in PERIODS:
            assert ledger.figures(view, by=by, period=period, today=TODAY) == expected(view, facts, by, period), (
                by,
                period,
            )
    assert ledger.issues_count() == len(histories)


def test_rows_show_the_figures_with_names_and_kinds(view: RegistryView, histories: list[list[IssueEvent]]) -> None:
    ledger = fold([e for events in histories for e in events])
    for by in DIMENSIONS:
        figures = ledger.figures(view, by=by, period="2026", today=TODAY)
        rows = ledger.rows(view, by=by, period="2026", today=TODAY)
        assert [r.key for r in rows] == sorted(figures)
        for row in rows:
            assert {f: getattr(row, f) for f in FIGURES} == {f: figures[row.key][f] for f in FIGURES}
            assert row.period == "2026"
    towns = ledger.rows(view, by="town", period="all", today=TODAY)
    assert [(r.key, r.name, r.kind) for r in towns] == [
        ("610902001", "老城街道", "town"),
        ("610902005", "关庙镇", "town"),
    ]
    handlers = {r.key: r for r in ledger.rows(view, by="handler", period="all", today=TODAY)}
    assert handlers["d-water"].name == "汉滨区水利局" and handlers["d-water"].kind == "district_department"


def test_under_keeps_only_the_subtree(view: RegistryView, histories: list[list[IssueEvent]]) -> None:
    ledger = fold([e for events in histories for e in events])
    units = ledger.rows(view, by="unit", period="all", today=TODAY, under="610902005")
    assert units and all(r.key.startswith("610902005") for r in units)
    handlers = ledger.rows(view, by="handler", period="all", today=TODAY, under="610902005")
    assert handlers and all(r.key.startswith("t610902005-") for r in handlers)
    with pytest.raises(ValueError, match="under"):
        ledger.rows(view, by="category", period="all", today=TODAY, under="610902005")


def test_folding_the_same_events_twice_changes_nothing(view: RegistryView, histories: list[list[IssueEvent]]) -> None:
    events = [e for history in histories for e in history]
    once, twice = fold(events), fold(events + events)
    assert everything(view, once) == everything(view, twice)
    assert once.overdue(view, TODAY) == twice.overdue(view, TODAY)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32), redelivered=st.floats(0, 0.3))
def test_order_between_issues_and_redeliveries_do_not_matter(
    view: RegistryView, histories: list[list[IssueEvent]], seed: int, redelivered: float
) -> None:
    rng = random.Random(seed)
    sample = histories[:80]
    queues = [list(events) for events in sample]
    delivered: list[IssueEvent] = []
    while any(queues):
        queue = rng.choice([q for q in queues if q])
        delivered.append(queue.pop(0))
        if rng.random() < redelivered:
            delivered.append(rng.choice(delivered))  # the bus redelivers something already seen
    in_order = fold([e for events in sample for e in events])
    shuffled = fold(delivered)
    periods = ("2026-02", "2026", "all")
    assert everything(view, shuffled, periods) == everything(view, in_order, periods)
    assert shuffled.overdue(view, TODAY) == in_order.overdue(view, TODAY)
    assert shuffled.accountability(view, TODAY, "all", 1) == in_order.accountability(view, TODAY, "all", 1)


def test_raw_events_fold_as_decoded_ones_and_undecodable_ones_are_skipped(
    view: RegistryView, histories: list[list[IssueEvent]]
) -> None:
    events = [e for history in histories[:50] for e in history]
    raw = Ledger()
    for event in events:
        raw.apply_raw(msgspec.json.encode(event))
    for junk in (b"not json", b'{"type": "future.something_new.v1", "issue_id": "HB-202601-000001"}', b"{}"):
        raw.apply_raw(junk)
    assert raw.skipped == 3
    assert everything(view, raw, ("all",)) == everything(view, fold(events), ("all",))


def test_events_of_unknown_issues_and_unknown_types_are_ignored(view: RegistryView, story: Callable[..., Any]) -> None:
    class Future(IssueEvent, frozen=True, kw_only=True, tag="oversight.something_new.v1"):
        note: str = ""

    issue = story(1, "610902001001").on_spot()
    stranger = story(2, "610902001001").on_spot()
    ledger = fold([*issue.events, Future(issue_id=issue.issue_id), *stranger.events[1:]])
    unit = ledger.figures(view, by="unit", period="all", today=TODAY)["610902001001"]
    assert (unit["collected"], unit["resolved_on_spot"]) == (1, 1)
    assert ledger.issues_count() == 1


def test_a_workroom_collects_for_its_unit_and_collected_moves_to_the_category(
    view: RegistryView, story: Callable[..., Any]
) -> None:
    received = story(1, "610902-W01", category="schooling")
    ledger = fold(received.events[:1])
    assert ledger.figures(view, by="category", period="all", today=TODAY)["untriaged"]["collected"] == 1
    ledger.apply(received.events[1])
    assert set(ledger.figures(view, by="category", period="all", today=TODAY)) == {"schooling"}
    assert ledger.figures(view, by="unit", period="2026-03", today=TODAY)["610902"]["collected"] == 1


def test_only_the_leads_reply_counts_for_a_joint_referral(view: RegistryView, story: Callable[..., Any]) -> None:
    joint = story(1, "610902").assign("d-water", co=("d-finance",))
    joint.complete(by="d-finance").complete().complete(by="d-finance")
    handlers = fold(joint.events).figures(view, by="handler", period="all", today=TODAY)
    assert handlers["d-water"]["assigned"] == handlers["d-water"]["completed"] == 1
    assert "d-finance" not in handlers


def test_in_progress_and_overdue_are_figures_of_now_in_every_period(
    view: RegistryView, story: Callable[..., Any]
) -> None:
    late = story(1, "610902").assign("d-water", deadline_in=10)  # assigned in March, due in March
    ledger = fold(late.events)
    for period in ("2025-01", "2026-03", "2026", "all"):
        row = ledger.figures(view, by="handler", period=period, today=TODAY)["d-water"]
        assert (row["in_progress"], row["overdue"]) == (1, 1)
    assert ledger.figures(view, by="handler", period="2026-03", today=date(2026, 3, 5))["d-water"]["overdue"] == 0
    [item] = ledger.overdue(view, TODAY)
    assert (item.issue_id, item.handler_code, item.handler_name, item.unit, item.town) == (
        late.issue_id,
        "d-water",
        "汉滨区水利局",
        "610902",
        None,
    )
    assert item.days_overdue == (TODAY - item.deadline).days > 0


def test_overdue_lists_the_oldest_first_with_the_issues_town(view: RegistryView, story: Callable[..., Any]) -> None:
    first = story(1, "610902001002").escalate().escalate().assign("d-water", deadline_in=15)
    second = story(2, "610902005").assign("t610902005-civil", deadline_in=5)
    done = story(3, "610902").assign("d-water", deadline_in=5).complete()
    items = fold([*first.events, *second.events, *done.events]).overdue(view, TODAY)
    assert [(i.issue_id, i.town, i.unit) for i in items] == [
        (second.issue_id, "610902005", "610902005"),
        (first.issue_id, "610902001", "610902"),
    ]


def test_accountability_lists_who_is_repeatedly_overdue_reopened_or_flagged(
    view: RegistryView, story: Callable[..., Any]
) -> None:
    overdue = story(1, "610902").assign("d-water", deadline_in=5)
    reopened = story(2, "610902").assign("d-water").complete().rate("dissatisfied").reopen()
    flagged = story(3, "610902").assign("d-water").complete().rate("satisfied").close()
    fine = story(4, "610902").assign("d-transport").complete().rate("satisfied").close()
    ledger = fold([*overdue.events, *reopened.events, *flagged.events, *fine.events])
    ledger.flag_callback(flagged.issue_id, None)
    ledger.flag_callback(flagged.issue_id, None)  # a second callback of the same issue counts once
    entries = ledger.accountability(view, TODAY, "2026-03")
    assert [(e.key, e.kind, e.overdue, e.reopened, e.flagged) for e in entries] == [
        ("610902", "district", 1, 1, 1),
        ("d-water", "district_department", 1, 1, 1),
    ]
    assert entries[1].issues == sorted([overdue.issue_id, reopened.issue_id, flagged.issue_id])
    assert entries[1].name == "汉滨区水利局"
    assert [e.key for e in ledger.accountability(view, TODAY, "2026-04")] == []  # one overdue: below 2
    assert ledger.figures(view, by="handler", period="2026-03", today=TODAY)["d-water"]["flagged"] == 1


def test_flagging_names_the_handler_the_callback_found(view: RegistryView, story: Callable[..., Any]) -> None:
    resolved = story(1, "610902001001").resolve().rate("satisfied").close()
    ledger = fold(resolved.events)
    ledger.flag_callback(resolved.issue_id, "t610902001-civil")
    ledger.flag_callback("HB-202603-999999", None)  # unknown: nothing to flag
    assert ledger.figures(view, by="handler", period="all", today=TODAY)["t610902001-civil"]["flagged"] == 1
    assert ledger.figures(view, by="unit", period="all", today=TODAY)["610902001001"]["flagged"] == 1


def test_rankings_put_the_best_results_first(view: RegistryView, story: Callable[..., Any]) -> None:
    good = [story(n, "610902005002", deputy_code="D00031").on_spot().rate("satisfied").close() for n in (1, 2)]
    mixed = [
        story(3, "610902001001", deputy_code="D00021").resolve().rate("dissatisfied"),
        story(4, "610902001001").on_spot().rate("satisfied").close(),
        story(5, "610902001001").escalate(),
    ]
    ledger = fold([e for s in (*good, *mixed) for e in s.events])
    villages = ledger.rankings(view, kind="village", period="2026", today=TODAY)
    assert [(r.key, r.resolved_on_spot + r.resolved + r.closed) for r in villages] == [
        ("610902005002", 4),
        ("610902001001", 3),
    ]
    towns = ledger.rankings(view, kind="town", period="2026", today=TODAY)
    assert [r.key for r in towns] == ["610902005", "610902001"]
    deputies = ledger.rankings(view, kind="deputy", period="all", today=TODAY)
    assert [(r.key, r.kind, r.closed) for r in deputies] == [("D00031", "deputy", 2), ("D00021", "deputy", 0)]
    with pytest.raises(ValueError, match="kind"):
        ledger.rankings(view, kind="grid", period="all", today=TODAY)
    holders = {d for d in ("D00031", "D00021") if view.referrers("deputy_grid_roles", d)}
    staff = ledger.rankings(view, kind="grid_staff", period="all", today=TODAY)
    assert {r.key for r in staff} == holders  # only deputies who hold a grid role
    assert all(r.kind in ("grid_leader", "grid_member", "grid_leader、grid_member") for r in staff)


@pytest.mark.parametrize(("by", "period"), [("unit", "2026-13"), ("unit", "26"), ("station", "all")])
def test_an_unknown_period_or_dimension_is_refused(view: RegistryView, by: str, period: str) -> None:
    with pytest.raises(ValueError):
        Ledger().rows(view, by=by, period=period, today=TODAY)


def test_a_referral_completed_on_its_deadline_day_in_china_is_on_time(
    view: RegistryView, story: Callable[..., Any]
) -> None:
    def completed_at(number: int, hour_utc: int) -> dict[str, int]:
        made = story(number, "610902").assign("d-water", deadline_in=10)
        assert made.now.deadline is not None
        made.at = datetime.combine(made.now.deadline, time(hour_utc), UTC)
        made.complete(days=0)
        return fold(made.events).figures(view, by="handler", period="all", today=TODAY)["d-water"]

    last_minute = completed_at(1, 15)  # 23:00 in China on the deadline day
    too_late = completed_at(2, 16)  # 00:00 in China the day after
    assert (last_minute["completed"], last_minute["on_time_completed"]) == (1, 1)
    assert (too_late["completed"], too_late["on_time_completed"]) == (1, 0)
