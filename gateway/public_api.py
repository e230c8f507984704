"""The public voter channel (`/api/v1/public`): no account, rate-limited per client address.

A voter submits a problem, opinion or suggestion to a station and gets a tracking code (as every intake
does: `gateway.tracking`); the code is the only key to the issue behind it: it shows the issue's progress
(without anyone's personal data or the officials' internal notes) and lets the voter rate the result once
it has been fed back. A wrong code is answered exactly like an expired one."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec
from litestar import Controller, get, post
from litestar.datastructures import State
from litestar.exceptions import NotFoundException
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.params import FromPath, JSONBody

from contracts.issues import IssueRated
from contracts.lifecycle import check
from contracts.registry import Handler, Station
from gateway.intakes import IdempotencyKey, accept_intake
from gateway.schemas import Address, IntakeRequest, Name, Phone, StationCode, Text, VoterContactIn
from gateway.tracking import normalize_code, shown, submission_of
from gateway.workflow_api import field_error, rate_issue

API = "/api/v1/public"
TrackingCode = Annotated[str, msgspec.Meta(min_length=12, max_length=20)]
PUBLIC_STEPS = {  # what a voter is shown of each event: its step, and the text meant for the voter
    "intake.issue_received.v1": ("received", None),
    "triage.issue_triaged.v1": ("triaged", None),
    "triage.issue_resolved_on_spot.v1": ("resolved_on_spot", "resolution"),
    "triage.issue_escalated.v1": ("escalated", None),
    "triage.issue_resolved.v1": ("resolved", "resolution"),
    "triage.issue_assigned.v1": ("assigned", None),
    "triage.issue_merged.v1": ("merged", None),
    "referral.referral_accepted.v1": ("accepted", None),
    "referral.progress_reported.v1": ("in_progress", None),
    "referral.referral_completed.v1": ("completed", "result"),
    "feedback.issue_fed_back.v1": ("fed_back", "message"),
    "feedback.issue_rated.v1": ("rated", None),
    "feedback.issue_reopened.v1": ("reopened", None),
    "feedback.issue_closed.v1": ("closed", None),
}


class PublicIntakeIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    station_code: StationCode
    kind: Literal["problem", "opinion", "suggestion"]
    text: Text
    name: Name | None = None
    phone: Phone  # so the station can reach the voter with the result
    address: Address | None = None


class PublicIntakeAccepted(msgspec.Struct, kw_only=True):
    tracking_code: str
    track_url: str


class PublicStation(msgspec.Struct, kw_only=True, omit_defaults=True):
    code: str
    name: str
    kind: str
    unit_code: str
    town: str | None = None  # the town the station's unit belongs to (its own name for a town center)


class PublicStep(msgspec.Struct, kw_only=True, omit_defaults=True):
    step: str
    at: datetime
    text: str | None = None


class PublicIssue(msgspec.Struct, kw_only=True, omit_defaults=True):
    tracking_code: str
    status: Literal["accepted", "received"]
    can_rate: bool  # always given: whether a rating is taken now
    number: str | None = None
    state: str | None = None
    kind: str | None = None
    category: str | None = None
    text: str | None = None
    station: str | None = None
    received_at: datetime | None = None
    tier: str | None = None  # the tier handling it now
    handler: str | None = None  # the department or office it was referred to
    deadline: str | None = None
    satisfaction: str | None = None
    steps: list[PublicStep] = msgspec.field(default_factory=list)


class PublicRatingIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    satisfaction: Literal["satisfied", "basically_satisfied", "dissatisfied"]
    comment: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)] | None = None


def _no_code() -> NotFoundException:
    return NotFoundException("no issue for this tracking code")


async def _submission_of(state: State, code: str) -> uuid.UUID:
    found = await submission_of(state.redis, code)
    if found is None:
        raise _no_code()
    return found


def public_rate_limit(per_minute: int) -> RateLimitConfig:
    """Per client address, counted in Valkey so every gateway worker shares the count."""
    return RateLimitConfig(rate_limit=("minute", per_minute), store="rate_limit", set_rate_limit_headers=True)


class PublicController(Controller):
    path = API
    tags = ["public"]

    @get("/stations", operation_id="publicStations", summary="The stations a voter can submit to")
    async def stations(self, state: State) -> list[PublicStation]:
        view = state.registry.view
        rows = []
        for station in view.all(Station):
            parents = view.parent_chain(station.unit_code)
            town = next((u.name for u in parents if u.tier == "town"), None)
            rows.append(
                PublicStation(
                    code=station.code, name=station.name, kind=station.kind, unit_code=station.unit_code, town=town
                )
            )
        return sorted(rows, key=lambda s: s.code)

    @post(
        "/intakes",
        status_code=202,
        operation_id="publicSubmit",
        summary="A voter submits; answered with a tracking code",
    )
    async def submit(
        self, data: JSONBody[PublicIntakeIn], state: State, idempotency_key: IdempotencyKey = None
    ) -> PublicIntakeAccepted:
        intake = IntakeRequest(
            channel="online",
            station_code=data.station_code,
            kind=data.kind,
            text=data.text,
            voter=VoterContactIn(name=data.name, phone=data.phone, address=data.address),
        )
        accepted = await accept_intake(state, intake, idempotency_key, submitted_by=None)
        code = accepted.tracking_code
        return PublicIntakeAccepted(tracking_code=code, track_url=f"/ui/voter.html#{code}")

    @get("/track/{code:str}", operation_id="publicTrack", summary="Follow an issue with its tracking code")
    async def track(self, code: FromPath[str], state: State) -> PublicIssue:
        submission = await _submission_of(state, code)
        tracking = shown(normalize_code(code))
        number = await state.issues.number_for(submission)
        if number is None:
            return PublicIssue(tracking_code=tracking, status="accepted", can_rate=False)
        issue = await state.issues.issue(number)
        if issue is None:
            return PublicIssue(tracking_code=tracking, status="accepted", can_rate=False)
        view = state.registry.view
        station = view.station(issue.station_code)
        handler = view.get(Handler, issue.handler_code) if issue.handler_code else None
        steps = []
        for entry in issue.history:
            step, text_field = PUBLIC_STEPS.get(entry.type, (None, None))
            if step is not None:
                text = entry.details.get(text_field) if text_field else None
                steps.append(PublicStep(step=step, at=entry.occurred_at, text=str(text) if text else None))
        current = await state.work.states.get(number)
        can_rate = current is not None and not check(current, IssueRated(issue_id=number, satisfaction="satisfied"))
        return PublicIssue(
            tracking_code=tracking,
            status="received",
            number=number,
            state=issue.state,
            kind=issue.kind,
            category=issue.category,
            text=issue.text,
            station=station.name if station else None,
            received_at=issue.received_at,
            tier=issue.tier,
            handler=handler.name if handler else None,
            deadline=issue.deadline.isoformat() if issue.deadline else None,
            satisfaction=issue.satisfaction,
            can_rate=can_rate,
            steps=steps,
        )

    @post("/track/{code:str}/rating", status_code=202, operation_id="publicRate", summary="Rate the result")
    async def rate(self, code: FromPath[str], data: JSONBody[PublicRatingIn], state: State) -> dict[str, str]:
        submission = await _submission_of(state, code)
        number = await state.issues.number_for(submission)
        current = await state.work.states.get(number) if number else None
        if current is None:
            raise _no_code()
        if reason := check(current, IssueRated(issue_id=number, satisfaction=data.satisfaction)):
            raise field_error("satisfaction", f"it cannot be rated now: {reason}", status=409)
        await rate_issue(state, number, data.satisfaction, data.comment, rated_by=None)
        return {"status": "accepted", "tracking_code": shown(normalize_code(code))}
