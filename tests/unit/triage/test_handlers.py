"""Triage's handler with an in-memory store: the first decision about an issue is the one it keeps."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime

import msgspec
import pytest

from common.issue_states import IssueLocks
from common.registry.cache import LiveRegistry
from common.registry.view import RegistryView
from contracts.base import derive_event_id
from contracts.commands import RecordReview, RecordReviewDecision, ReviewItem, ReviewPartDone
from contracts.issues import IssueAssigned, IssueReceived, IssueResolved, IssueTriaged
from contracts.lifecycle import IssueState
from contracts.registry import AdminUnit, Station
from contracts.topics import ISSUE_EVENTS, REVIEW_OUTCOMES
from services.triage.domain import CategoryRule, CategoryRules, Triage
from services.triage.handlers import TriageDeps, on_issue_event, on_review
from services.triage.ports import TriageStore
from services.triage.reviews import Policy

SHIPPED = CategoryRules.load()
CHANGED = CategoryRules(rule=(CategoryRule("plumbing", ("水管",)),))
REGISTRY = (
    AdminUnit(code="6109", name="安康市", tier="city"),
    AdminUnit(code="610902", name="汉滨区", tier="district", parent_code="6109"),
    AdminUnit(code="610902001", name="老城街道", tier="town", parent_code="610902"),
    Station(code="610902001", name="中心联络站", kind="town_center", unit_code="610902001"),
)


class FakeTriageStore:
    def __init__(self) -> None:
        self.kept: dict[str, Triage] = {}

    async def keep_first(self, decided: Triage) -> Triage:
        return self.kept.setdefault(decided.issue_id, decided)


class FakeRegistry:
    """The registry as a part's cache holds it; `sync` brings in what was published meanwhile."""

    def __init__(self, late: tuple[Station, ...] = ()) -> None:
        self.view = RegistryView(REGISTRY)
        self.late, self.syncs = late, 0

    async def sync(self) -> None:
        self.syncs += 1
        for station in self.late:
            self.view.put(station)


class FakeStates:
    def __init__(self) -> None:
        self.kept: dict[str, IssueState] = {}

    async def get(self, issue_id: str) -> IssueState | None:
        return self.kept.get(issue_id)

    async def put(self, *states: IssueState) -> None:
        self.kept.update({s.issue_id: s for s in states})


class FakePending:
    def __init__(self) -> None:
        self.months: dict[str, str] = {}

    async def note(self, issue_id: str, month: str | None) -> None:
        if month is None:
            self.months.pop(issue_id, None)
        else:
            self.months[issue_id] = month

    async def waiting_before(self, month: str, limit: int = 1000) -> list[str]:
        return [i for i, m in self.months.items() if m < month][:limit]


class FakeReviews:
    def __init__(self) -> None:
        self.noted: dict[str, dict[str, str]] = {}

    def note(self, review_id: str, record: dict[str, str]) -> None:
        self.noted.setdefault(review_id, record)


class FakeClock:
    async def now(self) -> datetime:
        return datetime(2026, 12, 3, 2, 0, tzinfo=UTC)


def deps(store: FakeTriageStore, rules: CategoryRules, registry: FakeRegistry) -> TriageDeps:
    return TriageDeps(
        store=store,
        rules=rules,
        registry=registry,
        states=FakeStates(),
        locks=IssueLocks(),
        pending=FakePending(),
        reviews=FakeReviews(),
        policy=Policy.parse("village:7,town:15", "village:escalate"),
        clock=FakeClock(),
    )


@pytest.fixture
def store() -> FakeTriageStore:
    return FakeTriageStore()


def received(station_code: str = "610902001") -> IssueReceived:
    return IssueReceived(
        issue_id="HB-202612-000001",
        submission_id=uuid.uuid4(),
        channel="visit",
        station_code=station_code,
        kind="problem",
        text="二组自来水管损坏",
    )


def test_fake_store_satisfies_the_port(store: FakeTriageStore) -> None:
    assert isinstance(store, TriageStore)


async def test_issue_received_is_triaged_onto_issue_events_keyed_by_number(store: FakeTriageStore) -> None:
    event = received()
    (record,) = await on_issue_event(event, deps(store, SHIPPED, FakeRegistry()))
    assert (record.topic, record.key) == (ISSUE_EVENTS.name, "HB-202612-000001")
    triaged = msgspec.json.decode(record.value, type=IssueTriaged)
    assert (triaged.category, triaged.responsible_tier, triaged.responsible_unit) == (
        "water_supply",
        "town",
        "610902001",
    )
    assert store.kept["HB-202612-000001"].category == "water_supply"


async def test_redelivered_issue_keeps_its_first_triage_after_rules_change(store: FakeTriageStore) -> None:
    event = received()
    (first,) = await on_issue_event(event, deps(store, SHIPPED, FakeRegistry()))
    (again,) = await on_issue_event(event, deps(store, CHANGED, FakeRegistry()))
    first_event = msgspec.json.decode(first.value, type=IssueTriaged)
    again_event = msgspec.json.decode(again.value, type=IssueTriaged)
    assert again_event.category == "water_supply"
    assert msgspec.structs.replace(again_event, occurred_at=first_event.occurred_at) == first_event
    assert (again.topic, again.key) == (first.topic, first.key)


async def test_redelivered_issue_yields_the_same_triaged_bytes(store: FakeTriageStore) -> None:
    event = received()
    (first,) = await on_issue_event(event, deps(store, SHIPPED, FakeRegistry()))
    await asyncio.sleep(0.002)  # a later redelivery, not the same microsecond
    (again,) = await on_issue_event(event, deps(store, CHANGED, FakeRegistry()))
    assert again.value == first.value


async def test_other_issue_events_yield_nothing(store: FakeTriageStore) -> None:
    triage_deps = deps(store, SHIPPED, FakeRegistry())
    triaged = IssueTriaged(
        issue_id="HB-202612-000001", category="water_supply", responsible_tier="town", responsible_unit="610902001"
    )
    assigned = IssueAssigned(
        issue_id="HB-202612-000001", tier="town", unit="610902001", handler_code="water", deadline=date(2026, 12, 31)
    )
    assert await on_issue_event(triaged, triage_deps) == []
    assert await on_issue_event(assigned, triage_deps) == []
    assert store.kept == {}


def test_fake_registry_satisfies_the_port() -> None:
    assert isinstance(FakeRegistry(), LiveRegistry)


async def test_issue_from_a_station_the_registry_does_not_know_is_a_value_error(store: FakeTriageStore) -> None:
    registry = FakeRegistry()
    with pytest.raises(ValueError, match="station_code"):
        await on_issue_event(received(station_code="610902009"), deps(store, SHIPPED, registry))
    assert store.kept == {}
    assert registry.syncs == 1  # it looked for a late station before giving up


async def test_a_station_created_a_moment_ago_is_waited_for(store: FakeTriageStore) -> None:
    late = Station(code="610902001-W01", name="工作室", kind="workroom", unit_code="610902001", site="项目现场")
    registry = FakeRegistry(late=(late,))
    triage_deps = deps(store, SHIPPED, registry)
    (record,) = await on_issue_event(received(station_code="610902001-W01"), triage_deps)
    assert msgspec.json.decode(record.value, type=IssueTriaged).responsible_unit == "610902001"


def town_review(*decisions: ReviewItem) -> RecordReview:
    return RecordReview(review_id="RV-town-1", tier="town", unit="610902001", month="2026-12", decisions=decisions)


async def test_a_review_applies_each_decision_or_refuses_it_and_says_so_in_one_record(store: FakeTriageStore) -> None:
    d = deps(store, SHIPPED, FakeRegistry())
    await on_issue_event(received(), d)  # the town's issue, waiting for its review
    review = town_review(
        ReviewItem(issue_id="HB-202612-000001", decision="resolve", note="镇主席团研究解决"),
        ReviewItem(issue_id="HB-202612-000009", decision="resolve", note="无此件"),
        ReviewItem(issue_id="not-a-number", decision="escalate"),
    )
    *events, outcome = await on_review(review, d)
    assert [(r.topic, r.key) for r in events] == [(ISSUE_EVENTS.name, "HB-202612-000001")]
    resolved = msgspec.json.decode(events[0].value, type=IssueResolved)
    assert (resolved.review_id, resolved.resolution, resolved.causation_id) == (
        "RV-town-1",
        "镇主席团研究解决",
        review.each()[0].event_id,
    )
    assert (outcome.topic, outcome.key) == (REVIEW_OUTCOMES.name, "RV-town-1")
    done = msgspec.json.decode(outcome.value, type=ReviewPartDone)
    assert (done.part, done.applied) == (1, {"HB-202612-000001": "resolve"})
    assert [(r.issue_id, r.field) for r in done.refused] == [
        ("HB-202612-000009", "issue_id"),
        ("not-a-number", "issue_id"),
    ]
    assert d.states.kept["HB-202612-000001"].state == "completed"  # type: ignore[attr-defined]
    assert d.reviews.noted["RV-town-1"]["unit"] == "610902001"  # type: ignore[attr-defined]

    # redelivered: the same event and the same outcome (by id), nothing refused that was applied
    *again, outcome_again = await on_review(review, d)
    assert [r.value for r in again] == [r.value for r in events]
    done_again = msgspec.json.decode(outcome_again.value, type=ReviewPartDone)
    assert (done_again.event_id, done_again.applied, done_again.refused) == (done.event_id, done.applied, done.refused)


def test_each_decision_of_a_review_has_an_id_of_its_own_derived_from_the_review() -> None:
    review = town_review(
        ReviewItem(issue_id="HB-202612-000001", decision="resolve", note="解决"),
        ReviewItem(issue_id="HB-202612-000002", decision="assign", handler_code="t-water", co_handlers=("t-roads",)),
    )
    first, second = review.each()
    assert (first.issue_id, second.handler_code, second.co_handlers) == ("HB-202612-000001", "t-water", ("t-roads",))
    assert first.event_id != second.event_id and [d.event_id for d in review.each()] == [
        first.event_id,
        second.event_id,
    ]
    assert {d.review_id for d in (first, second)} == {"RV-town-1"} and first.causation_id == review.event_id


async def test_a_decision_published_one_a_record_is_still_applied(store: FakeTriageStore) -> None:
    d = deps(store, SHIPPED, FakeRegistry())
    await on_issue_event(received(), d)
    (decision,) = town_review(ReviewItem(issue_id="HB-202612-000001", decision="resolve", note="解决")).each()
    event, outcome = await on_review(decision, d)
    assert isinstance(decision, RecordReviewDecision) and event.topic == ISSUE_EVENTS.name
    # its outcome is a part of one, under the id its own outcome record always had
    done = msgspec.json.decode(outcome.value, type=ReviewPartDone)
    assert (done.applied, done.event_id) == (
        {"HB-202612-000001": "resolve"},
        derive_event_id(decision.event_id, "outcome"),
    )
