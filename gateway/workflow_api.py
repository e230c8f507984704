"""The workflow's HTTP API: work lists, monthly reviews, handlers' replies, ratings, close-out, the clock.

Every change is a command on the bus for the service that owns it, answered `202` once the broker has
it. The gateway first checks the step against its own copy of the issue's lifecycle (the same state
machine the services use), so a step that cannot be taken now is a `409` with the reason at once."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Annotated, Literal

import msgspec
from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.exceptions import ClientException, NotFoundException
from litestar.params import Parameter
from litestar.response import Response

from common.bus import outgoing, publish_all
from common.clock import month_of
from contracts.base import IssueCommand, IssueEvent, derive_event_id
from contracts.commands import (
    REVIEW_PART_BYTES,
    REVIEW_PART_SIZE,
    AcceptReferral,
    CloseUnreachable,
    RateIssue,
    RecordReview,
    ReportProgress,
    ReportResult,
    ReportUnable,
    ReviewItem,
)
from contracts.issues import (
    IssueClosed,
    IssueRated,
    ProgressReported,
    ReferralAccepted,
    ReferralCompleted,
    ReferralUnable,
)
from contracts.lifecycle import check
from contracts.registry import Deputy
from contracts.topics import HANDLER_REPLIES, RATINGS, REVIEW_DECISIONS
from contracts.vocabulary import UNABLE_REASONS
from gateway.access import REVIEW_ROLES, STAFF_ROLES, no_issue, no_referral, sees_issue, station_unit
from gateway.auth import PLATFORM_ADMIN, Principal, requires
from gateway.schemas import IssueView
from gateway.worklists import ReviewRecord

API = "/api/v1"
Month = Annotated[str, msgspec.Meta(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")]
Short = Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class DecisionIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    issue_id: Code
    decision: Literal["resolve", "assign", "escalate", "merge"]
    handler_code: Code | None = None
    co_handlers: list[Code] = msgspec.field(default_factory=list)
    deadline: date | None = None
    into_issue_id: Code | None = None
    note: Short | None = None


class ReviewIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    tier: Literal["village", "town", "district", "city"]
    unit: Code
    month: Month
    held_on: date
    participants: list[Annotated[str, msgspec.Meta(min_length=1, max_length=50)]] = msgspec.field(default_factory=list)
    decisions: Annotated[list[DecisionIn], msgspec.Meta(min_length=1, max_length=20_000)]


class ReviewAccepted(msgspec.Struct, kw_only=True):
    review_id: str
    decisions: int
    status_url: str


class DecisionOutcome(msgspec.Struct, kw_only=True, omit_defaults=True):
    issue_id: str
    decision: str
    status: str  # applied / refused
    field: str | None = None
    reason: str | None = None


class ReviewStatus(msgspec.Struct, kw_only=True):
    review_id: str
    tier: str
    unit: str
    month: str
    decisions: int
    applied: int
    refused: int
    pending: int
    outcomes: list[DecisionOutcome]


class ReplyIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    handler_code: Code
    kind: Literal["accepted", "progress", "completed", "unable"]
    note: Short | None = None  # progress
    result: Short | None = None  # completed
    reason_code: str | None = None  # unable
    reason: Short | None = None  # unable


class RatingIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    satisfaction: Literal["satisfied", "basically_satisfied", "dissatisfied"]
    comment: Short | None = None


class CloseIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    reason: Short


class Accepted(msgspec.Struct, kw_only=True):
    issue_id: str
    status: str = "accepted"
    issue_url: str


class ClockIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    advance_days: Annotated[float, msgspec.Meta(gt=0, le=400)]


class ClockOut(msgspec.Struct, kw_only=True):
    now: str
    month: str


def field_error(field: str, reason: str, status: int = 400) -> ClientException:
    return ClientException(status_code=status, detail=f"{field}: {reason}", extra=[{"key": field, "message": reason}])


async def _send(state: State, command: IssueCommand, topic) -> Accepted:  # type: ignore[no-untyped-def]
    await publish_all(state.broker, [outgoing(topic, command.issue_id, command)])
    return Accepted(issue_id=command.issue_id, issue_url=f"{API}/issues/{command.issue_id}")


async def rate_issue(
    state: State, number: str, satisfaction: str, comment: str | None, *, rated_by: str | None
) -> Accepted:
    """Send a rating on (the step already checked): by the voter (`rated_by` None) or on the voter's behalf."""
    now = await state.clock.now()  # the platform's time: feedback's windows are on the same clock
    command = RateIssue(occurred_at=now, issue_id=number, satisfaction=satisfaction, comment=comment, rated_by=rated_by)
    return await _send(state, command, RATINGS)


async def _check_step(state: State, issue_id: str, event: IssueEvent, principal: Principal | None = None) -> None:
    """A 404 for an issue the gateway has not seen, or one outside the account's scope (the same answer);
    a 409 with the lifecycle's reason for a step it cannot take now."""
    current = await state.work.states.get(issue_id)
    if current is None or (principal is not None and not sees_issue(principal, state.registry.view, current)):
        raise no_issue(issue_id)
    if reason := check(current, event):
        raise field_error("issue_id", reason, status=409)


class WorkController(Controller):
    path = f"{API}/issues"
    tags = ["workflow"]

    @get(
        "/",
        operation_id="listIssues",
        summary="Issues sitting at a unit, received there, or anywhere under it (signed in; your subtree only)",
        guards=[requires()],
    )
    async def list_issues(
        self,
        request: Request,
        state: State,
        unit: str | None = None,
        deputy: str | None = None,
        where: Annotated[
            Literal["at", "received", "subtree"],
            Parameter(query="scope", description="at: sitting at the unit; received: there; subtree: under it"),
        ] = "at",  # `scope` itself is Litestar's name for the ASGI scope
        order: Literal["asc", "desc"] = "asc",
        issue_state: Annotated[str | None, Parameter(query="state")] = None,
        limit: int = 200,
        offset: int = 0,
    ) -> dict[str, object]:
        view = state.registry.view
        principal: Principal = request.state.principal
        if deputy is not None:  # the issues a deputy collected: the deputy, or staff over the deputy's station
            found = view.get(Deputy, deputy)
            unit_of = station_unit(view, found.station_code) if found is not None else None
            if not (principal.deputy_code == deputy or (unit_of is not None and principal.sees_unit(view, unit_of))):
                raise field_error("deputy", f"no deputy {deputy} in the registry")
            numbers = await state.work.collected_by(deputy)
        elif unit is None:
            raise field_error("unit", "name a unit (or a deputy)")
        # outside the user's subtree is answered as if the unit did not exist: nothing to learn by guessing
        elif view.unit(unit) is None or not principal.sees_unit(view, unit):
            raise field_error("unit", f"no unit {unit} in the registry")
        elif where != "subtree" and not issue_state:  # one unit's list: only the page is read
            total, page = await state.work.page(
                unit, where == "received", max(0, offset), max(1, min(limit, 2000)), order == "desc"
            )
            return {"total": total, "items": await state.issues.summaries(page)}
        elif where == "received":
            numbers = await state.work.received_at([unit])
        else:
            units = [u.code for u in view.subtree(unit)] if where == "subtree" else [unit]
            numbers = await state.work.sitting_at(units)
        limit, offset = max(1, min(limit, 2000)), max(0, offset)
        if order == "desc":  # newest first
            numbers = numbers[::-1]
        if not issue_state:  # only the page asked for is read from the read model
            return {"total": len(numbers), "items": await state.issues.summaries(numbers[offset : offset + limit])}
        issues = [i for i in await state.issues.summaries(numbers) if i.state == issue_state]
        return {"total": len(issues), "items": issues[offset : offset + limit]}

    @post(
        "/{number:str}/rating",
        status_code=202,
        operation_id="rateIssue",
        summary="Record the voter's rating on the voter's behalf (a hotline operator or station); "
        "voters rate with their tracking code on the public API",
        guards=[requires(*STAFF_ROLES)],
    )
    async def rate(self, request: Request, number: str, data: RatingIn, state: State) -> Accepted:
        probe = IssueRated(issue_id=number, satisfaction=data.satisfaction)
        await _check_step(state, number, probe, request.state.principal)
        return await rate_issue(state, number, data.satisfaction, data.comment, rated_by=request.state.principal.login)

    @post(
        "/{number:str}/close",
        status_code=202,
        operation_id="closeUnreachable",
        summary="Close when the voter cannot be reached",
        guards=[requires(*STAFF_ROLES)],
    )
    async def close(self, request: Request, number: str, data: CloseIn, state: State) -> Accepted:
        probe = IssueClosed(issue_id=number, tier="", reason=data.reason, unreachable=True)
        await _check_step(state, number, probe, request.state.principal)
        current = await state.work.states.get(number)
        now = await state.clock.now()
        if current and current.fed_back_at and now < current.fed_back_at + timedelta(days=state.unreachable_after_days):
            due = current.fed_back_at + timedelta(days=state.unreachable_after_days)
            raise field_error(
                "issue_id", f"the voter may still be reached: it can be closed unrated from {due.isoformat()}", 409
            )
        return await _send(
            state,
            CloseUnreachable(
                occurred_at=await state.clock.now(),
                issue_id=number,
                reason=data.reason,
                closed_by=request.state.principal.login,
            ),
            RATINGS,
        )


def in_parts(
    review: RecordReview, size: int = REVIEW_PART_SIZE, most_bytes: int = REVIEW_PART_BYTES
) -> list[RecordReview]:
    """A review as records of at most `size` decisions and about `most_bytes` each (long notes make
    smaller parts), numbered from 1, in the order decided; each part has an id of its own (readers
    drop a repeated id)."""
    groups: list[list[ReviewItem]] = [[]]
    held = 0
    for item in review.decisions:
        length = len(msgspec.json.encode(item))
        if groups[-1] and (len(groups[-1]) == size or held + length > most_bytes):
            groups.append([])
            held = 0
        groups[-1].append(item)
        held += length
    return [
        msgspec.structs.replace(
            review, event_id=derive_event_id(review.event_id, f"part:{n}"), part=n, decisions=tuple(group)
        )
        for n, group in enumerate(groups, start=1)
    ]


class ReviewController(Controller):
    path = f"{API}/reviews"
    tags = ["workflow"]

    @post(
        "/",
        status_code=202,
        operation_id="recordReview",
        summary="A tier's monthly review: one decision per issue (the unit's own staff; a leader or admin above it)",
        guards=[requires(*REVIEW_ROLES)],
    )
    async def record(self, request: Request, data: ReviewIn, state: State) -> ReviewAccepted:
        view, principal = state.registry.view, request.state.principal
        unit = view.unit(data.unit)
        holds = principal.unit_code == data.unit or (
            principal.role in ("admin", "leader") and principal.sees_unit(view, data.unit)
        )
        if unit is None or unit.tier != data.tier or not holds:
            raise field_error("unit", f"{data.unit} is not a {data.tier} in the registry that you review")
        seen: set[str] = set()
        for n, d in enumerate(data.decisions):
            where = f"decisions[{n}]"
            if d.issue_id in seen:
                raise field_error(f"{where}.issue_id", f"{d.issue_id} has two decisions in this review")
            seen.add(d.issue_id)
            if d.decision == "assign" and not d.handler_code:
                raise field_error(f"{where}.handler_code", "an assignment needs a lead handler")
            if d.decision == "merge" and not d.into_issue_id:
                raise field_error(f"{where}.into_issue_id", "a merge names the issue it duplicates")
            if d.decision == "resolve" and not d.note:
                raise field_error(f"{where}.note", "say how the tier resolved it")
        review_id = f"RV-{data.tier}-{data.unit}-{data.month}-{uuid.uuid4().hex[:8]}"
        await state.review_outcomes.open(
            ReviewRecord(
                review_id=review_id, tier=data.tier, unit=data.unit, month=data.month, decisions=len(data.decisions)
            )
        )
        items = [
            ReviewItem(
                issue_id=d.issue_id,
                decision=d.decision,
                handler_code=d.handler_code,
                co_handlers=tuple(d.co_handlers),
                deadline=d.deadline,
                into_issue_id=d.into_issue_id,
                note=d.note,
            )
            for d in data.decisions
        ]
        whole = RecordReview(
            review_id=review_id,
            tier=data.tier,
            unit=data.unit,
            month=data.month,
            decided_by=principal.login,
            held_on=data.held_on,
            participants=tuple(data.participants),
            decisions=tuple(items),
        )
        # under the review's key: one partition, so triage takes the parts in order
        await publish_all(state.broker, [outgoing(REVIEW_DECISIONS, review_id, part) for part in in_parts(whole)])
        return ReviewAccepted(review_id=review_id, decisions=len(items), status_url=f"{API}/reviews/{review_id}")

    @get(
        "/{review_id:str}",
        operation_id="getReview",
        summary="What became of each decision of a review",
        guards=[requires()],
    )
    async def status(self, request: Request, review_id: str, state: State, every: bool = False) -> ReviewStatus:
        """Counts, and every refusal with its reason; `?every=true` lists the applied decisions too."""
        record, applied, refused, applied_decisions = await state.review_outcomes.get(review_id, every)
        if record is None or not request.state.principal.sees_unit(state.registry.view, record.unit):
            raise NotFoundException(f"no review {review_id}")
        rows = [
            DecisionOutcome(issue_id=o.issue_id, decision=o.decision, status="refused", field=o.field, reason=o.reason)
            for o in refused
        ] + [DecisionOutcome(issue_id=i, decision=d, status="applied") for i, d in applied_decisions.items()]
        return ReviewStatus(
            review_id=review_id,
            tier=record.tier,
            unit=record.unit,
            month=record.month,
            decisions=record.decisions,
            applied=applied,
            refused=len(refused),
            pending=record.decisions - applied - len(refused),
            outcomes=sorted(rows, key=lambda r: r.issue_id),
        )


class ReferralController(Controller):
    path = f"{API}/referrals"
    tags = ["workflow"]

    @get(
        "/",
        operation_id="listReferrals",
        summary="The issues a handler holds a referral for (signed in: a handler sees only its own)",
        guards=[requires()],
    )
    async def held(self, request: Request, handler: str, state: State) -> list[IssueView]:
        if not request.state.principal.sees_handler(state.registry.view, handler):
            raise field_error("handler", f"no handler {handler} in the registry")
        return await state.issues.summaries(await state.work.held_by(handler))

    @post(
        "/{referral_id:str}/replies",
        status_code=202,
        operation_id="replyToReferral",
        summary="A handler's reply (the handler's own accounts)",
        guards=[requires("handler", "admin")],
    )
    async def reply(self, request: Request, referral_id: str, data: ReplyIn, state: State) -> Accepted:
        principal: Principal = request.state.principal
        if principal.role == "handler" and data.handler_code != principal.handler_code:
            raise field_error("handler_code", "you reply for your own handler only", status=403)
        issue_id = await state.work.issue_of_referral(referral_id)
        current = await state.work.states.get(issue_id) if issue_id else None
        held = current is not None and current.referral_id == referral_id
        if not held or data.handler_code not in (current.handler_code, *current.co_handlers):
            raise no_referral(referral_id)  # another handler's referral answers like one that does not exist
        if (
            principal.role != "handler"
            and principal.login != PLATFORM_ADMIN
            and not principal.sees_handler(state.registry.view, data.handler_code)
        ):
            raise no_referral(referral_id)
        common = {"issue_id": issue_id, "referral_id": referral_id, "handler_code": data.handler_code}
        command: IssueCommand
        if data.kind == "accepted":
            command, probe = AcceptReferral(**common), ReferralAccepted(**common)
        elif data.kind == "progress":
            if not data.note:
                raise field_error("note", "a progress report needs a note")
            command, probe = ReportProgress(**common, note=data.note), ProgressReported(**common, note=data.note)
        elif data.kind == "completed":
            if not data.result:
                raise field_error("result", "say what was done")
            command, probe = ReportResult(**common, result=data.result), ReferralCompleted(**common, result=data.result)
        else:
            if data.reason_code not in UNABLE_REASONS:
                raise field_error("reason_code", f"expected one of {', '.join(UNABLE_REASONS)}")
            if not data.reason:
                raise field_error("reason", "say why")
            reason = {"reason_code": data.reason_code, "reason": data.reason}
            command, probe = ReportUnable(**common, **reason), ReferralUnable(**common, **reason)
        await _check_step(state, issue_id, probe)
        return await _send(state, command, HANDLER_REPLIES)


class ClockController(Controller):
    """The platform clock (month ends, deadlines). Moving it is for tests and demos only: refused unless
    the platform runs with CLOCK_ADJUSTABLE=1."""

    path = f"{API}/clock"
    tags = ["operations"]

    @get("/", operation_id="getClock", summary="The platform's time and month")
    async def now(self, state: State) -> ClockOut:
        now = await state.clock.now()
        return ClockOut(now=now.isoformat(), month=month_of(now))

    @post(
        "/",
        status_code=200,
        operation_id="advanceClock",
        summary="Move the platform clock forward (tests, demos)",
        guards=[requires("admin")],
    )
    async def advance(self, data: ClockIn, state: State) -> Response[ClockOut]:
        if not state.clock_adjustable:
            raise field_error(
                "advance_days", "this platform's clock is real time (CLOCK_ADJUSTABLE is off)", status=403
            )
        now = await state.clock.advance(data.advance_days * 86400)
        return Response(ClockOut(now=now.isoformat(), month=month_of(now)))
