"""Oversight's records: deputies' contacts, training coverage, emergency funds, callbacks and their flags, and the
queries that serve them."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import msgspec
import pytest

from common.clock import CHINA
from common.registry.view import RegistryView
from contracts.issues import IssueClosed, IssueFedBack
from contracts.oversight import AllocateFunds, RecordCallback, RecordContact, RecordTraining
from services.oversight import assessment
from services.oversight.ledger import Ledger
from services.oversight.queries import Queries
from services.oversight.records import Records, outcome, sample

CALLED_AT = datetime(2026, 3, 28, 10, 0, tzinfo=CHINA)


def contact(record_id: str, deputy: str, station: str, kind: str, day: str, voters: int) -> RecordContact:
    return RecordContact(
        record_id=record_id,
        deputy_code=deputy,
        station_code=station,
        kind=kind,
        held_on=date.fromisoformat(day),
        voters_met=voters,
    )


def training(record_id: str, unit: str, day: str, audience: str, codes: tuple[str, ...], n: int) -> RecordTraining:
    return RecordTraining(
        record_id=record_id,
        unit_code=unit,
        held_on=date.fromisoformat(day),
        audience=audience,
        attendee_codes=codes,
        attendees=n,
        topic="网格员履职培训",
    )


def funds(record_id: str, issue_id: str, amount: int, month: str) -> AllocateFunds:
    return AllocateFunds(
        record_id=record_id,
        issue_id=issue_id,
        amount_yuan=amount,
        purpose="应急维修",
        approved_by="oversight",
        month=month,
    )


def callback(record_id: str, issue_id: str, answer: str) -> RecordCallback:
    return RecordCallback(
        record_id=record_id, issue_id=issue_id, answer=answer, called_by="督查室", occurred_at=CALLED_AT
    )


def folded(*records: Any, ledger: Ledger | None = None) -> Records:
    book = Records(ledger or Ledger())
    for record in records:
        book.apply(record)
    return book


def ledger_of(*stories: Any) -> Ledger:
    ledger = Ledger()
    for story in stories:
        for event in story.events:
            ledger.apply(event)
    return ledger


CONTACTS = (
    contact("CT-1", "D00017", "610902001001", "reception", "2026-03-05", 10),
    contact("CT-2", "D00017", "610902001001", "visit", "2026-03-20", 3),
    contact("CT-3", "D00021", "610902001002", "visit", "2026-03-06", 5),
    contact("CT-4", "D00025", "610902005001", "reception", "2026-04-02", 7),
    contact("CT-5", "D00001", "610902", "reception", "2026-03-15", 20),
    contact("CT-1", "D00017", "610902001001", "reception", "2026-03-05", 10),  # a retried request: counted once
    contact("CT-6", "D00017", "610902001001", "phone", "2026-03-05", 1),  # not a contact kind: skipped
)


def figures(rows: list[Any]) -> dict[str, tuple[int, int, int, int]]:
    return {r.key: (r.receptions, r.visits, r.contacts, r.voters_met) for r in rows}


def test_contacts_are_counted_per_deputy_station_town_and_month(view: RegistryView) -> None:
    book = folded(*CONTACTS)
    assert book.skipped == 1
    assert figures(book.contacts(view, by="deputy", period="2026-03")) == {
        "D00001": (1, 0, 1, 20),
        "D00017": (1, 1, 2, 13),
        "D00021": (0, 1, 1, 5),
    }
    assert figures(book.contacts(view, by="station", period="2026-04")) == {"610902005001": (1, 0, 1, 7)}
    by_town = book.contacts(view, by="town", period="2026")
    assert figures(by_town) == {
        "610902": (1, 0, 1, 20),  # the district's own station (代表之家) stands for itself
        "610902001": (1, 2, 3, 18),
        "610902005": (1, 0, 1, 7),
    }
    assert [(r.name, r.kind) for r in by_town] == [
        ("汉滨区", "district"),
        ("老城街道", "town"),
        (by_town[2].name, "town"),
    ]
    assert figures(book.contacts(view, by="month", period="all")) == {
        "2026-03": (2, 2, 4, 38),
        "2026-04": (1, 0, 1, 7),
    }
    assert book.contacts(view, by="deputy", period="2025") == []
    with pytest.raises(ValueError, match="by"):
        book.contacts(view, by="grid", period="all")


SESSIONS = (
    # D00017 holds the grid role 610902001001-G01-M2: naming the deputy covers it
    training("TR-1", "610902001001", "2026-03-10", "grid_member", ("610902001001-G01-M1", "D00017"), 5),
    # a leader of the other town trained here counts for the coverage of his own town
    training("TR-2", "610902001", "2026-03-12", "grid_leader", ("610902001001-G01-L", "610902005001-G01-L"), 2),
    training("TR-3", "610902005", "2026-04-01", "station_staff", (), 6),
    training("TR-4", "610902005", "2026-04-01", "voters", (), 6),  # not an audience: skipped
)


def test_training_sessions_and_coverage_per_town(view: RegistryView) -> None:
    book = folded(*SESSIONS)
    assert book.skipped == 1
    march = {r.town: r for r in book.training(view, period="2026-03")}
    assert list(march) == ["610902001", "610902005"]  # every town, with sessions or not
    old_town, other = march["610902001"], march["610902005"]
    assert (old_town.sessions, old_town.attendees, old_town.by_audience) == (2, 7, {"grid_member": 1, "grid_leader": 1})
    assert (old_town.grid_roles, old_town.covered, old_town.coverage) == (12, 3, 0.25)
    assert (old_town.grid_leaders, old_town.leaders_covered, old_town.grid_members, old_town.members_covered) == (
        4,
        1,
        8,
        2,
    )
    assert (other.sessions, other.covered, other.coverage, other.leaders_covered) == (0, 1, round(1 / 12, 4), 1)
    year = {r.town: r for r in book.training(view, period="2026")}
    assert (year["610902005"].sessions, year["610902005"].by_audience) == (1, {"station_staff": 1})
    assert all(r.covered == 0 and r.sessions == 0 for r in book.training(view, period="2025-03"))


A, B = "HB-202603-000001", "HB-202603-000002"


def test_funds_are_summed_per_month_and_per_issue() -> None:
    book = folded(
        funds("FD-1", A, 5_000, "2026-03"),
        funds("FD-2", A, 3_000, "2026-04"),
        funds("FD-3", B, 2_000, "2026-03"),
        funds("FD-3", B, 2_000, "2026-03"),  # retried
        funds("FD-4", B, 0, "2026-03"),  # nothing allocated: skipped
        funds("FD-5", B, 100, "2026-13"),  # not a month: skipped
    )
    assert book.skipped == 2
    year = book.funds(period="2026")
    assert (year.amount_yuan, year.allocations) == (10_000, 3)
    assert [(m.month, m.amount_yuan, m.allocations) for m in year.months] == [
        ("2026-03", 7_000, 2),
        ("2026-04", 3_000, 1),
    ]
    assert [(i.issue_id, i.amount_yuan, [a.record_id for a in i.allocations]) for i in year.issues] == [
        (A, 8_000, ["FD-1", "FD-2"]),
        (B, 2_000, ["FD-3"]),
    ]
    march = book.funds(period="2026-03")
    assert (march.amount_yuan, [(i.issue_id, i.amount_yuan) for i in march.issues]) == (7_000, [(A, 5_000), (B, 2_000)])
    assert book.funds(period="2025").issues == []


def test_sampling_is_deterministic_nested_and_about_the_share() -> None:
    rng = random.Random(5)
    ids = [f"HB-2026{rng.randint(1, 12):02d}-{n:06d}" for n in range(20_000)]
    drawn = [i for i in ids if sample(i, 0.1)]
    assert drawn == [i for i in ids if sample(i, 0.1)]  # the same draw every time
    assert 0.09 < len(drawn) / len(ids) < 0.11
    assert set(drawn) <= {i for i in ids if sample(i, 0.3)}  # a larger share draws a superset
    assert not any(sample(i, 0.0) for i in ids[:500]) and all(sample(i, 1.0) for i in ids[:500])
    salted = [i for i in ids if sample(i, 0.1, salt="district secret")]
    assert salted != drawn and 0.09 < len(salted) / len(ids) < 0.11


def closed_stories(story: Callable[..., Any]) -> tuple[Any, Any, Any, Any]:
    faked = story(1, "610902").assign("d-water").complete().rate("satisfied").close()
    true = story(2, "610902").assign("d-transport").complete().rate("basically_satisfied").close()
    unrated = story(3, "610902001001").resolve().step(IssueFedBack, message="已反馈")
    unreachable = {"unreachable": True, "reason": "联系不上", "closed_by": "operator"}  # closed without a rating
    unrated.step(IssueClosed, days=8, tier="village", **unreachable)
    open_ = story(4, "610902").assign("d-water")
    return faked, true, unrated, open_


CALLBACKS = (
    callback("CB-1", "HB-202603-000001", "dissatisfied"),
    callback("CB-2", "HB-202603-000001", "dissatisfied"),  # a second callback of the same issue: flags once
    callback("CB-3", "HB-202603-000002", "basically_satisfied"),
    callback("CB-4", "HB-202603-000004", "dissatisfied"),  # not closed yet: waits
)


def flagged(view: RegistryView, ledger: Ledger) -> dict[str, int]:
    rows = ledger.figures(view, by="handler", period="all", today=date(2026, 5, 1))
    return {key: row["flagged"] for key, row in rows.items() if row["flagged"]}


def test_a_callback_that_differs_from_the_rating_flags_the_handler_once(
    view: RegistryView, story: Callable[..., Any]
) -> None:
    faked, true, _, open_ = closed_stories(story)
    ledger = ledger_of(faked, true, open_)
    book = folded(*CALLBACKS, ledger=ledger)
    assert flagged(view, ledger) == {"d-water": 1}
    report = book.callbacks(period="2026-03")
    assert [(c.record_id, c.outcome, c.recorded, c.handler_code) for c in report.callbacks] == [
        ("CB-1", "mismatch", "satisfied", "d-water"),
        ("CB-2", "mismatch", "satisfied", "d-water"),
        ("CB-3", "match", "basically_satisfied", "d-transport"),
        ("CB-4", "pending", None, None),
    ]
    assert (report.done, report.reached, report.mismatched, report.pending) == (4, 4, 2, 1)
    assert [c.record_id for c in report.mismatches] == ["CB-1", "CB-2"]
    assert book.callbacks(period="2026-04").callbacks == []


def test_a_callback_waits_for_its_issue_to_close(view: RegistryView, story: Callable[..., Any]) -> None:
    issue = story(4, "610902").assign("d-water").complete()
    ledger = ledger_of(issue)
    book = folded(callback("CB-4", issue.issue_id, "dissatisfied"), ledger=ledger)
    assert book.waiting and flagged(view, ledger) == {}
    issue.rate("satisfied").close()
    for event in issue.events[-3:]:
        ledger.apply(event)
        book.settle(issue.issue_id)
    assert not book.waiting
    assert flagged(view, ledger) == {"d-water": 1}


def test_unreached_and_unrated_callbacks_flag_nothing(view: RegistryView, story: Callable[..., Any]) -> None:
    faked = story(1, "610902").assign("d-water").complete().rate("satisfied").close()
    ledger = ledger_of(faked)
    book = folded(callback("CB-1", faked.issue_id, "unreachable"), ledger=ledger)
    assert [c.outcome for c in book.callbacks(period="all").callbacks] == ["unreached"]
    assert flagged(view, ledger) == {}
    assert [d.issue_id for d in book.callbacks_due(share=1.0)] == [faked.issue_id]  # the voter is still to be asked
    assert outcome("dissatisfied", None) == "unrated"  # closed without a rating: nothing to compare with


def test_a_callback_to_an_issue_closed_unrated_is_kept_without_a_flag(
    view: RegistryView, story: Callable[..., Any]
) -> None:
    _, _, unrated, _ = closed_stories(story)
    ledger = ledger_of(unrated)
    book = folded(callback("CB-1", unrated.issue_id, "dissatisfied"), ledger=ledger)
    assert [(c.outcome, c.recorded) for c in book.callbacks(period="all").callbacks] == [("unrated", None)]
    assert flagged(view, ledger) == {} and book.callbacks_due(share=1.0) == []


def test_flags_do_not_depend_on_which_topic_is_read_first(view: RegistryView, story: Callable[..., Any]) -> None:
    stories = closed_stories(story)
    events = [e for s in stories for e in s.events]
    random.Random(3).shuffle(callbacks := list(CALLBACKS))

    issues_first = Ledger()
    for event in events:
        issues_first.apply(event)
    first = folded(*callbacks, ledger=issues_first)

    records_first = Ledger()
    second = folded(*callbacks, ledger=records_first)
    assert second.waiting
    for event in events:  # as the issue follower does
        records_first.apply(event)
        if second.waiting:
            second.settle(event.issue_id)

    lazily = Ledger()
    third = folded(*callbacks, ledger=lazily)
    for event in events:
        lazily.apply(event)  # never settled while folding: the query settles

    reports = [msgspec.to_builtins(book.callbacks(period="all")) for book in (first, second, third)]
    assert reports[0] == reports[1] == reports[2]
    assert flagged(view, issues_first) == flagged(view, records_first) == flagged(view, lazily) == {"d-water": 1}
    today = date(2026, 5, 1)
    assert issues_first.accountability(view, today, "all", 1) == records_first.accountability(view, today, "all", 1)


def test_callbacks_due_are_closed_drawn_issues_no_callback_reached(story: Callable[..., Any]) -> None:
    faked, true, unrated, open_ = closed_stories(story)
    ledger = ledger_of(faked, true, unrated, open_)
    book = folded(callback("CB-3", true.issue_id, "satisfied"), ledger=ledger)
    due = book.callbacks_due(share=1.0)
    assert [(d.issue_id, d.closed_month, d.recorded, d.handler_code) for d in due] == [
        (faked.issue_id, "2026-03", "satisfied", "d-water"),
        (unrated.issue_id, "2026-03", None, None),
    ]
    assert book.callbacks_due(share=0.0) == []
    assert book.callbacks_due(share=1.0, period="2026-04") == []
    with pytest.raises(ValueError, match="share"):
        book.callbacks_due(share=1.5)


def test_records_decode_from_the_topic_and_skip_what_they_cannot_read(view: RegistryView) -> None:
    book = Records(Ledger())
    book.apply_raw(msgspec.json.encode(CONTACTS[0]))
    book.apply_raw(b'{"type": "gateway.record_meeting.v9", "record_id": "X"}')
    book.apply_raw(b"not json")
    assert book.skipped == 2
    assert figures(book.contacts(view, by="deputy", period="all")) == {"D00017": (1, 0, 1, 10)}


# -- the queries ---------------------------------------------------------------------------------


class FakeClock:
    async def now(self) -> datetime:
        return datetime(2026, 3, 29, 12, 0, tzinfo=CHINA)


@pytest.fixture
def queries(view: RegistryView, story: Callable[..., Any]) -> Queries:
    faked, true, unrated, open_ = closed_stories(story)
    ledger = ledger_of(faked, true, unrated, open_)
    book = folded(*CONTACTS, *SESSIONS, funds("FD-1", A, 5_000, "2026-03"), *CALLBACKS[:3], ledger=ledger)
    return Queries(ledger, lambda: view, FakeClock(), "610902", assessment.load_model(None), book)  # type: ignore[arg-type]


async def answer(queries: Queries, path: str, **query: str) -> tuple[int, Any]:
    status, content_type, body = await queries.routes[path](query)
    assert content_type == "application/json"
    return status, msgspec.json.decode(body)


async def test_queries_serve_the_records_for_the_current_month_by_default(queries: Queries) -> None:
    status, rows = await answer(queries, "/contacts", by="town")
    assert status == 200 and [(r["key"], r["contacts"]) for r in rows] == [("610902", 1), ("610902001", 3)]
    status, rows = await answer(queries, "/contacts")  # by deputy
    assert [r["key"] for r in rows] == ["D00001", "D00017", "D00021"] and rows[0]["period"] == "2026-03"
    status, rows = await answer(queries, "/training", period="2026")
    assert status == 200 and [(r["town"], r["sessions"]) for r in rows] == [("610902001", 2), ("610902005", 1)]
    status, body = await answer(queries, "/funds")
    assert status == 200 and body["amount_yuan"] == 5_000 and body["issues"][0]["issue_id"] == A
    status, body = await answer(queries, "/callbacks")
    assert status == 200 and [c["record_id"] for c in body["mismatches"]] == ["CB-1", "CB-2"]
    status, due = await answer(queries, "/callbacks/due", share="1")
    assert status == 200 and [d["issue_id"] for d in due] == ["HB-202603-000003"]  # the others were called back
    status, stats = await answer(queries, "/stats")
    assert status == 200 and stats == {"issues": 4}  # the ledger's routes still answer


@pytest.mark.parametrize(
    ("path", "query", "field"),
    [
        ("/contacts", {"by": "grid"}, "by"),
        ("/contacts", {"period": "March"}, "period"),
        ("/training", {"period": "2026-13"}, "period"),
        ("/funds", {"period": "26"}, "period"),
        ("/callbacks", {"period": "x"}, "period"),
        ("/callbacks/due", {"share": "lots"}, "share"),
        ("/callbacks/due", {"share": "1.5"}, "share"),
        ("/callbacks/due", {"share": "nan"}, "share"),
        ("/callbacks/due", {"period": "2026-3"}, "period"),
    ],
)
async def test_queries_name_the_field_of_a_bad_parameter(
    queries: Queries, path: str, query: dict[str, str], field: str
) -> None:
    status, body = await answer(queries, path, **query)
    assert status == 400 and body["field"] == field
