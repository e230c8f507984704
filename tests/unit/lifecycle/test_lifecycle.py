"""The issue lifecycle (contracts.lifecycle): every state against every event, the named illegal moves,
random walks of legal events, and the whole life of an issue from the village to the city and back."""

from __future__ import annotations

import functools
import typing
import uuid
from datetime import UTC, date, datetime, timedelta

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.base import IssueEvent, TraceContext
from contracts.issues import (
    IssueAssigned,
    IssueCarriedOver,
    IssueClosed,
    IssueEscalated,
    IssueEventMessage,
    IssueFedBack,
    IssueMerged,
    IssueRated,
    IssueReceived,
    IssueReopened,
    IssueResolved,
    IssueResolvedOnSpot,
    IssueSupervised,
    IssueTriaged,
    ProgressReported,
    ReferralAccepted,
    ReferralCompleted,
    ReferralSent,
    ReferralUnable,
)
from contracts.lifecycle import (
    APPLIED_KEPT,
    OPEN_STATES,
    STATES,
    TERMINAL,
    IllegalTransition,
    IssueState,
    apply,
    check,
    is_overdue,
    parent_tier,
    return_point,
)
from contracts.vocabulary import SATISFACTION, TIERS

ISSUE = "HB-202611-000001"
OTHER_ISSUE = "HB-202611-000002"
UNITS = {"city": "6109", "district": "610902", "town": "610902001", "village": "610902001001"}
T0 = datetime(2026, 11, 3, 2, 0, tzinfo=UTC)  # 10:00 in China Standard Time
DEADLINE = date(2026, 12, 15)
LEAD, CO, STRANGER = "D-WATER", "T-LAOCHENG", "D-ROADS"
REF = "R-0001"
TRACE = TraceContext(traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")


class IssueArchived(IssueEvent, frozen=True, kw_only=True, tag="archive.issue_archived.v1"):
    """An event type from a newer producer that this lifecycle does not know."""


# ---- events -------------------------------------------------------------------------------------------


def received(when: datetime = T0, station: str = UNITS["village"]) -> IssueReceived:
    return IssueReceived(
        issue_id=ISSUE,
        occurred_at=when,
        trace=TRACE,
        submission_id=uuid.UUID(int=1),
        channel="visit",
        station_code=station,
        kind="problem",
        text="二组自来水管损坏",
        deputy_code="DEP-0001",
    )


def triaged(tier: str = "village", when: datetime = T0) -> IssueTriaged:
    return IssueTriaged(
        issue_id=ISSUE, occurred_at=when, category="water_supply", responsible_tier=tier, responsible_unit=UNITS[tier]
    )


def on_spot(tier: str = "village", when: datetime = T0) -> IssueResolvedOnSpot:
    return IssueResolvedOnSpot(issue_id=ISSUE, occurred_at=when, tier=tier, unit=UNITS[tier], resolution="当场修好")


def escalated(
    from_tier: str, when: datetime = T0, to_tier: str | None = None, city_linkage: bool | None = None
) -> IssueEscalated:
    to_tier = to_tier or parent_tier(from_tier) or "city"
    return IssueEscalated(
        issue_id=ISSUE,
        occurred_at=when,
        from_tier=from_tier,
        from_unit=UNITS[from_tier],
        to_tier=to_tier,
        to_unit=UNITS[to_tier],
        city_linkage=to_tier == "city" if city_linkage is None else city_linkage,
    )


def resolved(tier: str, when: datetime = T0) -> IssueResolved:
    return IssueResolved(issue_id=ISSUE, occurred_at=when, tier=tier, unit=UNITS[tier], resolution="研判会议解决")


def carried_over(tier: str, month: str, when: datetime = T0) -> IssueCarriedOver:
    return IssueCarriedOver(issue_id=ISSUE, occurred_at=when, tier=tier, unit=UNITS[tier], month=month)


def assigned(
    tier: str, when: datetime = T0, lead: str = LEAD, co: tuple[str, ...] = (CO,), unit: str | None = None
) -> IssueAssigned:
    unit = unit or UNITS[tier]
    return IssueAssigned(
        issue_id=ISSUE, occurred_at=when, tier=tier, unit=unit, handler_code=lead, co_handlers=co, deadline=DEADLINE
    )


def sent(tier: str, when: datetime = T0, referral: str = REF, lead: str = LEAD) -> ReferralSent:
    return ReferralSent(
        issue_id=ISSUE,
        occurred_at=when,
        referral_id=referral,
        handler_code=lead,
        co_handlers=(CO,),
        deadline=DEADLINE,
        tier=tier,
        unit=UNITS[tier],
    )


def accepted(handler: str = LEAD, referral: str = REF, when: datetime = T0) -> ReferralAccepted:
    return ReferralAccepted(issue_id=ISSUE, occurred_at=when, referral_id=referral, handler_code=handler)


def progress(handler: str = LEAD, referral: str = REF, when: datetime = T0) -> ProgressReported:
    return ProgressReported(
        issue_id=ISSUE, occurred_at=when, referral_id=referral, handler_code=handler, note="管材已采购"
    )


def completed(handler: str = LEAD, referral: str = REF, when: datetime = T0) -> ReferralCompleted:
    return ReferralCompleted(
        issue_id=ISSUE, occurred_at=when, referral_id=referral, handler_code=handler, result="已修复"
    )


def unable(
    handler: str = LEAD, referral: str = REF, when: datetime = T0, reason_code: str = "no_funds"
) -> ReferralUnable:
    return ReferralUnable(
        issue_id=ISSUE,
        occurred_at=when,
        referral_id=referral,
        handler_code=handler,
        reason_code=reason_code,
        reason="本级无资金",
    )


def fed_back(when: datetime = T0) -> IssueFedBack:
    return IssueFedBack(issue_id=ISSUE, occurred_at=when, to_deputy="DEP-0001", message="已办结")


def rated(satisfaction: str = "satisfied", when: datetime = T0) -> IssueRated:
    return IssueRated(issue_id=ISSUE, occurred_at=when, satisfaction=satisfaction)


def closed(
    tier: str = "village",
    when: datetime = T0,
    reason: str | None = None,
    by_oversight: bool = False,
    unreachable: bool = False,
) -> IssueClosed:
    return IssueClosed(
        issue_id=ISSUE, occurred_at=when, tier=tier, reason=reason, by_oversight=by_oversight, unreachable=unreachable
    )


def reopened(tier: str, unit: str | None = None, when: datetime = T0) -> IssueReopened:
    return IssueReopened(issue_id=ISSUE, occurred_at=when, tier=tier, unit=unit or UNITS[tier], reason="群众不满意")


def merged(when: datetime = T0, into: str = OTHER_ISSUE) -> IssueMerged:
    return IssueMerged(issue_id=ISSUE, occurred_at=when, into_issue_id=into)


def supervised(when: datetime = T0) -> IssueSupervised:
    return IssueSupervised(issue_id=ISSUE, occurred_at=when, supervision_id="S-1", reason="逾期未办结")


def fold(*events: IssueEvent) -> IssueState:
    state = functools.reduce(apply, events, None)
    assert state is not None
    return state


def refused(state: IssueState | None, event: IssueEvent) -> IllegalTransition:
    with pytest.raises(IllegalTransition) as caught:
        apply(state, event)
    return caught.value


# ---- every state against every event -------------------------------------------------------------------

AT_VILLAGE = (received(), triaged("village"))
AT_TOWN = (*AT_VILLAGE, escalated("village"))
ASSIGNED = (*AT_TOWN, assigned("town"))
SENT = (*ASSIGNED, sent("town"))
IN_PROGRESS = (*SENT, accepted())
COMPLETED = (*IN_PROGRESS, completed())
FED_BACK = (*COMPLETED, fed_back())

ROWS: dict[str, tuple[IssueEvent, ...]] = {  # a representative issue in each state (two for assigned and rated)
    "received": (received(),),
    "pending_review": AT_VILLAGE,
    "resolved_on_spot": (*AT_VILLAGE, on_spot("village")),
    "assigned": ASSIGNED,
    "assigned+sent": SENT,
    "in_progress": IN_PROGRESS,
    "completed": COMPLETED,
    "fed_back": FED_BACK,
    "rated+satisfied": (*FED_BACK, rated("satisfied")),
    "rated+dissatisfied": (*FED_BACK, rated("dissatisfied")),
    "closed": (*FED_BACK, rated("satisfied"), closed("town")),
    "merged": (*AT_VILLAGE, merged()),
}


def column_event(column: str, state: IssueState, when: datetime = T0) -> IssueEvent:
    """The plausible event of each kind for an issue in `state`: at its tier, from its handlers."""
    tier = state.tier or "village"
    back = return_point(state) if state.assigned_tier or state.resolved_tier else (tier, UNITS[tier])
    referral, lead = state.referral_id or REF, state.handler_code or LEAD
    builders: dict[str, typing.Callable[[], IssueEvent]] = {
        "received": lambda: received(when),
        "triaged": lambda: triaged("village", when),
        "resolved_on_spot": lambda: on_spot(tier, when),
        "escalated": lambda: escalated(tier, when),
        "resolved": lambda: resolved(tier, when),
        "carried_over": lambda: carried_over(tier, state.month or "2026-11", when),
        "assigned": lambda: assigned(tier, when),
        "merged": lambda: merged(when),
        "referral_sent": lambda: sent(tier, when, referral=f"R-{state.reopened}-{state.unable}", lead=lead),
        "referral_accepted": lambda: accepted(lead, referral, when),
        "progress_reported": lambda: progress(lead, referral, when),
        "referral_completed": lambda: completed(lead, referral, when),
        "referral_unable": lambda: unable(lead, referral, when),
        "fed_back": lambda: fed_back(when),
        "rated": lambda: rated("satisfied", when),
        "closed": lambda: closed(tier, when),
        "closed_by_oversight": lambda: closed(tier, when, reason="区人大常委会决定销号", by_oversight=True),
        "reopened": lambda: reopened(back[0], back[1], when),
        "supervised": lambda: supervised(when),
    }
    return builders[column]()


COLUMNS = (
    "received",
    "triaged",
    "resolved_on_spot",
    "escalated",
    "resolved",
    "carried_over",
    "assigned",
    "merged",
    "referral_sent",
    "referral_accepted",
    "progress_reported",
    "referral_completed",
    "referral_unable",
    "fed_back",
    "rated",
    "closed",
    "closed_by_oversight",
    "reopened",
    "supervised",
)

OVERSIGHT = {"closed_by_oversight": "closed", "supervised": None}  # None: the state does not change
HANDLERS_ANSWER = {"referral_completed": "completed", "referral_unable": "pending_review", **OVERSIGHT}
LEGAL: dict[str, dict[str, str | None]] = {  # row -> {column: next state}; every other pair is illegal
    "received": {"triaged": "pending_review", **OVERSIGHT},
    "pending_review": {
        "resolved_on_spot": "resolved_on_spot",
        "escalated": "pending_review",
        "resolved": "completed",
        "carried_over": "pending_review",
        "assigned": "assigned",
        "merged": "merged",
        **OVERSIGHT,
    },
    "resolved_on_spot": {"fed_back": "fed_back", **OVERSIGHT},
    "assigned": {"referral_sent": "assigned", **OVERSIGHT},
    "assigned+sent": {"referral_accepted": "in_progress", "progress_reported": "in_progress", **HANDLERS_ANSWER},
    "in_progress": {"referral_accepted": "in_progress", "progress_reported": "in_progress", **HANDLERS_ANSWER},
    "completed": {"fed_back": "fed_back", **OVERSIGHT},
    "fed_back": {"rated": "rated", **OVERSIGHT},
    "rated+satisfied": {"closed": "closed", **OVERSIGHT},
    "rated+dissatisfied": {"reopened": "pending_review", **OVERSIGHT},
    "closed": {},
    "merged": {},
}


def test_the_table_covers_every_state_and_every_issue_event_type() -> None:
    assert {fold(*events).state for events in ROWS.values()} == set(STATES)
    kinds = {type(column_event(column, fold(*ROWS["received"]))) for column in COLUMNS}
    assert kinds == set(typing.get_args(IssueEventMessage))
    assert set(LEGAL) == set(ROWS)
    assert all(set(legal) <= set(COLUMNS) for legal in LEGAL.values())


@pytest.mark.parametrize("column", COLUMNS)
@pytest.mark.parametrize("row", ROWS)
def test_every_state_against_every_event(row: str, column: str) -> None:
    state = fold(*ROWS[row])
    event = column_event(column, state, T0 + timedelta(days=1))
    if column in LEGAL[row]:
        after = apply(state, event)
        assert after.state == (LEGAL[row][column] or state.state)
        assert check(state, event) is None
        assert after.applied[-1] == str(event.event_id)
    else:
        illegal = refused(state, event)
        tag = type(event).__struct_config__.tag
        assert illegal.reason and illegal.issue_id == ISSUE and illegal.event_type == tag
        assert str(illegal) == f"{ISSUE}: cannot apply {tag}: {illegal.reason}"
        assert check(state, event) == illegal.reason


# ---- the named illegal moves --------------------------------------------------------------------------


@pytest.mark.parametrize("row", ["received", "pending_review", "resolved_on_spot", "in_progress", "completed"])
def test_closing_an_issue_never_fed_back_is_refused(row: str) -> None:
    assert "closing an issue that was never fed back" in refused(fold(*ROWS[row]), closed()).reason


def test_assigning_an_issue_that_sits_at_another_tier_is_refused() -> None:
    at_town = fold(*AT_TOWN)
    illegal = refused(at_town, assigned("district"))
    assert str(illegal) == (
        f"{ISSUE}: cannot apply triage.issue_assigned.v1: the issue sits at town 610902001, not at district 610902"
    )
    assert refused(at_town, assigned("town", unit="610902002")).reason.startswith("the issue sits at town")


def test_rating_twice_is_refused_also_after_closing() -> None:
    rated_once = fold(*ROWS["rated+satisfied"])
    assert refused(rated_once, rated("dissatisfied")).reason.startswith("already rated")
    assert refused(fold(*ROWS["closed"]), rated("dissatisfied")).reason.startswith("already rated")


def test_escalating_to_a_tier_other_than_the_parent_is_refused() -> None:
    assert refused(fold(*AT_VILLAGE), escalated("village", to_tier="district")).reason == (
        "a village escalates to its town, not to the district"
    )
    at_city = fold(*AT_VILLAGE, escalated("village"), escalated("town"), escalated("district"))
    assert "the city is the top tier" in refused(at_city, escalated("city", to_tier="city")).reason
    at_district = fold(*AT_VILLAGE, escalated("village"), escalated("town"))
    assert "city_linkage" in refused(at_district, escalated("district", city_linkage=False)).reason
    assert "city_linkage" in refused(fold(*AT_TOWN), escalated("town", city_linkage=True)).reason


def test_a_co_handler_completing_does_not_complete_the_issue() -> None:
    before = fold(*SENT)
    after = apply(before, completed(CO))
    assert after.state == "assigned"
    assert after.co_replies == (f"{CO}:referral.referral_completed.v1",)
    assert apply(after, completed(CO)).co_replies == after.co_replies  # kept once
    assert apply(after, completed(LEAD)).state == "completed"


def test_a_co_handler_accepting_or_reporting_is_kept_but_moves_nothing() -> None:
    after = fold(*SENT, accepted(CO), progress(CO))
    assert after.state == "assigned"
    assert after.co_replies == (f"{CO}:referral.referral_accepted.v1", f"{CO}:referral.progress_reported.v1")


def test_a_stranger_replying_to_a_referral_is_refused() -> None:
    state = fold(*IN_PROGRESS)
    for reply in (accepted(STRANGER), progress(STRANGER), completed(STRANGER), unable(STRANGER)):
        assert refused(state, reply).reason == f"{STRANGER} is not a handler of referral {REF}"
    assert refused(state, completed(LEAD, referral="R-9999")).reason == f"the issue's referral is {REF}, not R-9999"
    assert refused(fold(*ASSIGNED), accepted()).reason == "no referral sent yet"


def test_unable_returns_the_issue_to_the_review_of_the_assigning_tier() -> None:
    at_district = (*AT_TOWN, escalated("town"))
    state = fold(*at_district, assigned("district"), sent("district"), accepted())
    later = datetime(2026, 12, 20, tzinfo=UTC)
    after = apply(state, unable(when=later))
    assert (after.state, after.tier, after.unit) == ("pending_review", "district", UNITS["district"])
    assert (after.unable, after.month, after.escalated) == (1, "2026-12", 2)
    assert (after.handler_code, after.co_handlers, after.referral_id, after.deadline) == (None, (), None, None)
    assert apply(state, unable(CO)).state == "in_progress"  # a co-handler's "unable" is only kept
    assert "reason code" in refused(state, unable(reason_code="too_hard")).reason


def test_reopening_returns_the_issue_to_its_return_point() -> None:
    on_the_spot = fold(*ROWS["resolved_on_spot"], fed_back(), rated("dissatisfied"))
    assert return_point(on_the_spot) == ("village", UNITS["village"])
    assert refused(on_the_spot, reopened("town")).reason == (
        f"the issue goes back to village {UNITS['village']}, not town {UNITS['town']}"
    )
    after = apply(on_the_spot, reopened("village"))
    assert (after.state, after.tier, after.reopened, after.satisfaction) == ("pending_review", "village", 1, None)
    assert not after.resolved_on_spot and after.fed_back_at is None

    referred = fold(*ROWS["rated+dissatisfied"])
    assert return_point(referred) == ("town", UNITS["town"])  # the assigning tier, not where it was received
    assert apply(referred, reopened("town")).tier == "town"
    assert "only a dissatisfied rating reopens" in refused(fold(*ROWS["rated+satisfied"]), reopened("town")).reason


def test_closing_after_a_dissatisfied_rating_is_refused_unless_oversight_decides() -> None:
    dissatisfied = fold(*ROWS["rated+dissatisfied"])
    assert "reopens" in refused(dissatisfied, closed("town")).reason
    assert "needs a reason" in refused(dissatisfied, closed("town", by_oversight=True, reason="  ")).reason
    assert apply(dissatisfied, closed("town", by_oversight=True, reason="信访终结")).state == "closed"


def test_a_fed_back_issue_closes_unrated_only_when_the_voter_cannot_be_reached_with_a_reason() -> None:
    state = fold(*FED_BACK)
    assert "cannot be reached" in refused(state, closed("town", reason="超期")).reason
    assert "needs a reason" in refused(state, closed("town", unreachable=True)).reason
    after = apply(state, closed("town", unreachable=True, reason="三次联系未果"))
    assert (after.state, after.satisfaction) == ("closed", None)


def test_terminal_states_name_themselves() -> None:
    assert refused(fold(*ROWS["closed"]), supervised()).reason == "the issue is closed"
    assert refused(fold(*ROWS["merged"]), supervised()).reason == f"the issue is merged into {OTHER_ISSUE}"


def test_events_before_receipt_and_a_second_receipt_are_refused() -> None:
    assert refused(None, triaged()).reason.startswith("unknown issue")
    assert refused(None, IssueArchived(issue_id=ISSUE)).reason.startswith("unknown issue")
    assert refused(fold(received()), received()).reason == "already received"
    assert refused(fold(*ROWS["closed"]), received()).reason == "already received"


def test_other_illegal_details() -> None:
    pending = fold(*AT_VILLAGE)
    assert "lead and a co-handler" in refused(pending, assigned("village", co=(LEAD,))).reason
    assert "merged into itself" in refused(pending, merged(into=ISSUE)).reason
    county = msgspec.structs.replace(triaged(), responsible_tier="county")
    assert "unknown tier" in refused(fold(received()), county).reason
    assert "unknown satisfaction" in refused(fold(*FED_BACK), rated("so-so")).reason
    assert "already sent" in refused(fold(*SENT), sent("town", referral="R-0002")).reason
    assert "the lead is" in refused(fold(*ASSIGNED), sent("town", lead=CO)).reason
    elsewhere = msgspec.structs.replace(supervised(), issue_id=OTHER_ISSUE)
    assert refused(pending, elsewhere).reason == f"the event is about {OTHER_ISSUE}, not {ISSUE}"


def test_an_escalated_issue_is_not_resolved_on_the_spot() -> None:
    assert "escalated" in refused(fold(*AT_TOWN), on_spot("town")).reason
    assert refused(fold(*AT_VILLAGE), on_spot("town")).reason.startswith("the issue sits at village")


def test_carrying_over_moves_the_issue_to_next_months_review() -> None:
    pending = fold(*AT_VILLAGE)
    assert apply(pending, carried_over("village", "2026-11")).month == "2026-12"
    assert apply(pending, carried_over("village", "2026-12")).month == "2027-01"
    assert "waits for the 2026-11 review" in refused(pending, carried_over("village", "2026-10")).reason
    assert "not a month" in refused(pending, carried_over("village", "2026-13")).reason
    assert refused(pending, carried_over("town", "2026-11")).reason.startswith("the issue sits at village")


# ---- idempotency, tolerance, small helpers -------------------------------------------------------------


def test_a_repeated_event_is_a_no_op_even_when_it_would_now_be_illegal() -> None:
    events = ROWS["closed"]
    state = fold(*events)
    for event in events:
        assert apply(state, event) is state
        assert check(state, event) is None


def test_an_event_type_from_a_newer_producer_is_recorded_and_changes_nothing() -> None:
    for row in ("pending_review", "closed"):
        state = fold(*ROWS[row])
        newer = IssueArchived(issue_id=ISSUE)
        after = apply(state, newer)
        assert msgspec.structs.replace(after, applied=state.applied) == state
        assert after.applied[-1] == str(newer.event_id)


def test_only_the_latest_applied_ids_are_kept() -> None:
    state = fold(*AT_VILLAGE)
    for _ in range(APPLIED_KEPT + 10):
        state = apply(state, supervised())
    assert len(state.applied) == APPLIED_KEPT


def test_receipt_sets_where_and_when_and_the_origin_trace() -> None:
    state = fold(received(station=UNITS["town"]))
    assert (state.state, state.station_code, state.received_at, state.deputy_code) == (
        "received",
        UNITS["town"],
        T0,
        "DEP-0001",
    )
    assert state.origin_trace == TRACE


def test_the_review_month_is_counted_in_china_standard_time() -> None:
    late_utc = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)  # already 1 December in Ankang
    state = fold(received(), triaged("town", when=late_utc))
    assert (state.month, state.tier, state.received_tier, state.category) == ("2026-12", "town", "town", "water_supply")


def test_parent_tier_goes_up_to_the_city_and_stops() -> None:
    assert [parent_tier(tier) for tier in TIERS] == [None, "city", "district", "town"]
    with pytest.raises(ValueError, match="unknown tier"):
        parent_tier("county")


def test_an_issue_never_assigned_or_resolved_has_no_return_point() -> None:
    with pytest.raises(ValueError, match="no return point"):
        return_point(fold(*AT_VILLAGE))


def test_overdue_means_assigned_or_in_progress_past_the_deadline() -> None:
    assert not is_overdue(fold(*SENT), DEADLINE)
    assert is_overdue(fold(*SENT), DEADLINE + timedelta(days=1))
    assert is_overdue(fold(*IN_PROGRESS), DEADLINE + timedelta(days=1))
    assert not is_overdue(fold(*COMPLETED), DEADLINE + timedelta(days=30))


def test_a_state_survives_a_json_round_trip() -> None:
    state = fold(*ROWS["closed"])
    assert msgspec.json.decode(msgspec.json.encode(state), type=IssueState) == state


# ---- the whole life of an issue ------------------------------------------------------------------------


def test_village_resolves_on_the_spot_then_feedback_rating_and_close() -> None:
    state = fold(*AT_VILLAGE, on_spot("village"), fed_back(), rated("satisfied"), closed("village"))
    assert state.state == "closed" and state.resolved_on_spot and state.satisfaction == "satisfied"
    assert (state.resolved_tier, state.escalated, state.fed_back_at) == ("village", 0, T0)


def test_village_to_city_through_city_linkage_then_referral_to_close() -> None:
    state = fold(
        received(),
        triaged("village"),
        escalated("village", T0 + timedelta(days=28)),
        escalated("town", T0 + timedelta(days=58)),
        escalated("district", T0 + timedelta(days=88), city_linkage=True),
        assigned("city", T0 + timedelta(days=95)),
        sent("city"),
        accepted(),
        completed(),
        fed_back(),
        rated("basically_satisfied"),
        closed("city"),
    )
    assert (state.state, state.escalated, state.month) == ("closed", 3, "2027-01")
    assert (state.assigned_tier, state.resolved_tier, state.resolved_unit) == ("city", "city", UNITS["city"])
    assert (state.received_tier, state.handler_code, state.referral_id) == ("village", LEAD, REF)


def test_dissatisfied_rating_reopens_at_assigning_tier_and_is_reassigned() -> None:
    state = fold(*ROWS["rated+dissatisfied"], reopened("town"), assigned("town", lead="D-HOUSING", co=()))
    assert (state.state, state.reopened, state.handler_code, state.referral_id) == ("assigned", 1, "D-HOUSING", None)
    assert (state.tier, state.satisfaction, state.fed_back_at, state.co_replies) == ("town", None, None, ())
    again = apply(state, sent("town", referral="R-0002", lead="D-HOUSING"))
    assert apply(again, completed("D-HOUSING", "R-0002")).state == "completed"


# ---- random walks of legal events ----------------------------------------------------------------------


def legal_moves(state: IssueState, when: datetime, data: st.DataObject) -> list[IssueEvent]:
    """Every kind of legal next event for `state` (with randomly drawn details): now and then oversight
    (or a merge), mostly the issue's own way forward, so walks reach deep into the lifecycle."""
    if state.state in TERMINAL:
        return []
    tier = state.tier or "village"
    if data.draw(st.integers(0, 7), label="aside") == 0:
        aside = [supervised(when), closed(tier, when, reason="督办决定", by_oversight=True)]
        return [*aside, merged(when)] if state.state == "pending_review" else aside
    moves: list[IssueEvent] = []
    if state.state == "received":
        moves.append(triaged(data.draw(st.sampled_from(TIERS)), when))
    elif state.state == "pending_review":
        co = tuple(data.draw(st.lists(st.sampled_from([CO, "T-WATER", "V-ZHANG"]), unique=True, max_size=2)))
        lead = data.draw(st.sampled_from([LEAD, "D-ROADS"]))
        moves += [resolved(tier, when), carried_over(tier, state.month or "", when)]
        moves.append(assigned(tier, when, lead=lead, co=co))
        if tier != "city":
            moves.append(escalated(tier, when))
        if state.escalated == 0 and (state.tier, state.unit) == (state.received_tier, state.received_unit):
            moves.append(on_spot(tier, when))
    elif state.state in ("assigned", "in_progress") and state.referral_id is None:
        moves.append(sent(tier, when, referral=f"R-{state.reopened}-{state.unable}", lead=state.handler_code or ""))
    elif state.state in ("assigned", "in_progress"):
        for handler in (state.handler_code or "", *state.co_handlers):
            for reply in (accepted, progress, completed, unable):
                moves.append(reply(handler, state.referral_id or "", when))
    elif state.state in ("resolved_on_spot", "completed"):
        moves.append(fed_back(when))
    elif state.state == "fed_back":
        moves += [rated(satisfaction, when) for satisfaction in SATISFACTION]
        moves.append(closed(tier, when, reason="三次联系未果", unreachable=True))
    elif state.state == "rated" and state.satisfaction == "dissatisfied":
        moves.append(reopened(*return_point(state), when=when))
    elif state.state == "rated":
        moves.append(closed(tier, when))
    return moves


def assert_well_formed(state: IssueState) -> None:
    assert state.state in STATES
    assert len(state.applied) <= APPLIED_KEPT and len(set(state.applied)) == len(state.applied)
    if state.state == "pending_review":
        assert state.tier in TIERS and state.unit == UNITS[state.tier] and state.month
    if state.state in ("assigned", "in_progress"):
        assert state.handler_code and state.deadline and state.handler_code not in state.co_handlers
    if state.state not in ("rated", "closed"):
        assert state.satisfaction is None
    if state.state == "rated":
        assert state.satisfaction in SATISFACTION and state.fed_back_at is not None


def assert_check_agrees_with_apply(state: IssueState, event: IssueEvent) -> None:
    before = msgspec.json.encode(state)
    reason = check(state, event)
    if reason is None:
        after = apply(state, event)
        assert_well_formed(after)
        assert state.state not in TERMINAL or after.state == state.state
    else:
        assert refused(state, event).reason == reason
    assert msgspec.json.encode(state) == before


@settings(max_examples=500, deadline=None)
@given(st.data())
def test_random_walks_of_legal_events_keep_the_lifecycle_invariants(data: st.DataObject) -> None:
    history: list[IssueEvent] = [received()]
    state, when = fold(*history), T0
    for _ in range(40):
        probe = column_event(data.draw(st.sampled_from(COLUMNS), label="probe"), state, when)
        assert_check_agrees_with_apply(state, probe)
        moves = legal_moves(state, when, data)
        if not moves:
            break
        event = data.draw(st.sampled_from(moves), label="move")
        assert check(state, event) is None, check(state, event)
        after = apply(state, event)
        assert_well_formed(after)
        assert apply(after, event) is after
        assert all(apply(after, earlier) is after for earlier in history)
        history.append(event)
        state, when = after, when + timedelta(days=data.draw(st.integers(0, 20), label="days"))
    if state.state in TERMINAL:
        for column in COLUMNS:
            with pytest.raises(IllegalTransition):
                apply(state, column_event(column, state, when))
    else:
        assert state.state in OPEN_STATES
