"""Records for oversight through the gateway: deputies' receptions and visits of voters, training sessions,
emergency fund allocations and callbacks to voters. Each is checked here (a 400 names the field), published as a
command on the records topic keyed by its record id, and answered `202` once the broker has it. A request may
bring its own `record_id`: a retry with the same id is recorded once. The figures are computed by oversight and
passed on from it (`GET`)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

import msgspec
from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.exceptions import ClientException
from litestar.params import JSONBody
from litestar.response import Response

from common.bus import outgoing, publish_all
from common.clock import CHINA
from contracts.base import Command, IssueNumber
from contracts.oversight import (
    CALLBACK_ANSWERS,
    CONTACT_KINDS,
    TRAINING_AUDIENCES,
    AllocateFunds,
    RecordCallback,
    RecordContact,
    RecordTraining,
    record_event_id,
)
from contracts.registry import Deputy, GridRole
from contracts.topics import OVERSIGHT_RECORDS
from gateway.access import INTAKE_ROLES, OVERSIGHT_ROLES, STAFF_ROLES, sees_issue, station_unit
from gateway.auth import Principal, requires
from gateway.oversight_api import ask_oversight

API = "/api/v1/oversight/records"
RecordId = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$", description="your id for it")]
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Short = Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
Month = Annotated[str, msgspec.Meta(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")]


class ContactIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    record_id: RecordId | None = None
    deputy_code: Code
    station_code: Code
    kind: Annotated[str, msgspec.Meta(description=" / ".join(CONTACT_KINDS))]
    held_on: date
    voters_met: Annotated[int, msgspec.Meta(ge=0, le=100_000)]
    note: Short | None = None


class TrainingIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    record_id: RecordId | None = None
    unit_code: Code  # a town or a village
    held_on: date
    audience: Annotated[str, msgspec.Meta(description=" / ".join(TRAINING_AUDIENCES))]
    attendee_codes: Annotated[list[Code], msgspec.Meta(max_length=5_000)] = msgspec.field(default_factory=list)
    attendees: Annotated[int, msgspec.Meta(ge=0, le=100_000)]
    topic: Short


class FundsIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    record_id: RecordId | None = None
    issue_id: IssueNumber
    amount_yuan: Annotated[int, msgspec.Meta(gt=0, le=1_000_000_000)]
    purpose: Short
    approved_by: Code
    month: Month


class CallbackIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    record_id: RecordId | None = None
    issue_id: IssueNumber
    answer: Annotated[str, msgspec.Meta(description=" / ".join(CALLBACK_ANSWERS))]
    called_by: Code
    note: Short | None = None


class RecordAccepted(msgspec.Struct, kw_only=True):
    record_id: str


def _bad(field: str, reason: str, status: int = 400) -> ClientException:
    return ClientException(
        status_code=status, detail=f"{field}: {reason}", extra=[{"key": field, "message": reason, "source": "body"}]
    )


def _one_of(field: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise _bad(field, f"{value!r} is not one of {', '.join(allowed)}")


async def _not_after_today(state: State, held_on: date) -> None:
    if held_on > (await state.clock.now()).astimezone(CHINA).date():
        raise _bad("held_on", "a record of what happened: not after today")


async def _issue_state(state: State, issue_id: str, principal: Principal) -> str:
    current = await state.work.states.get(issue_id)
    if current is None or not sees_issue(principal, state.registry.view, current):
        raise _bad("issue_id", f"no issue {issue_id}")
    return str(current.state)


async def _publish(state: State, command: Command, record_id: str) -> RecordAccepted:
    tag = type(command).__struct_config__.tag
    command = msgspec.structs.replace(
        command, event_id=record_event_id(str(tag), record_id), occurred_at=await state.clock.now()
    )
    await publish_all(state.broker, [outgoing(OVERSIGHT_RECORDS, record_id, command)])
    return RecordAccepted(record_id=record_id)


def _record_id(given: str | None, prefix: str) -> str:
    return given or f"{prefix}-{uuid.uuid4().hex}"


class OversightRecordsController(Controller):
    path = API
    tags = ["oversight"]

    @post(
        "/contacts",
        status_code=202,
        operation_id="recordContact",
        summary="A deputy's reception or visit (the deputy, or staff over the station)",
        guards=[requires(*INTAKE_ROLES)],
    )
    async def contact(self, request: Request, data: JSONBody[ContactIn], state: State) -> RecordAccepted:
        _one_of("kind", data.kind, CONTACT_KINDS)
        view, principal = state.registry.view, request.state.principal
        if view.get(Deputy, data.deputy_code) is None:
            raise _bad("deputy_code", f"no deputy {data.deputy_code} in the registry")
        if principal.role == "deputy" and principal.deputy_code != data.deputy_code:
            raise _bad("deputy_code", "a deputy records their own contacts", status=403)
        unit = station_unit(view, data.station_code)
        own = principal.role == "deputy" and view.station(data.station_code) is not None
        if unit is None or not (own or principal.sees_unit(view, unit)):
            raise _bad("station_code", f"no station {data.station_code} in the registry")
        await _not_after_today(state, data.held_on)
        record_id = _record_id(data.record_id, "CT")
        fields = msgspec.structs.asdict(data) | {"record_id": record_id}
        return await _publish(state, RecordContact(**fields), record_id)

    @post(
        "/training",
        status_code=202,
        operation_id="recordTraining",
        summary="A training session and who came",
        guards=[requires(*STAFF_ROLES)],
    )
    async def training(self, request: Request, data: JSONBody[TrainingIn], state: State) -> RecordAccepted:
        _one_of("audience", data.audience, TRAINING_AUDIENCES)
        view = state.registry.view
        unit = view.unit(data.unit_code)
        in_scope = unit is not None and request.state.principal.sees_unit(view, unit.code)
        if unit is None or unit.tier not in ("town", "village") or not in_scope:
            raise _bad("unit_code", f"{data.unit_code} is not a town or village in the registry")
        for n, code in enumerate(data.attendee_codes):
            if view.get(GridRole, code) is None and view.get(Deputy, code) is None:
                raise _bad(f"attendee_codes[{n}]", f"{code} is neither a grid role nor a deputy in the registry")
        if data.attendees < len(set(data.attendee_codes)):
            raise _bad("attendees", f"fewer than the {len(set(data.attendee_codes))} attendees named")
        await _not_after_today(state, data.held_on)
        record_id = _record_id(data.record_id, "TR")
        fields = msgspec.structs.asdict(data) | {"record_id": record_id, "attendee_codes": tuple(data.attendee_codes)}
        return await _publish(state, RecordTraining(**fields), record_id)

    @post(
        "/funds",
        status_code=202,
        operation_id="allocateFunds",
        summary="Emergency funds allocated to an issue",
        guards=[requires(*OVERSIGHT_ROLES)],
    )
    async def funds(self, request: Request, data: JSONBody[FundsIn], state: State) -> RecordAccepted:
        await _issue_state(state, data.issue_id, request.state.principal)
        record_id = _record_id(data.record_id, "FD")
        fields = msgspec.structs.asdict(data) | {"record_id": record_id}
        return await _publish(state, AllocateFunds(**fields), record_id)

    @post(
        "/callbacks",
        status_code=202,
        operation_id="recordCallback",
        summary="A callback to a closed issue's voter",
        guards=[requires(*STAFF_ROLES)],
    )
    async def callback(self, request: Request, data: JSONBody[CallbackIn], state: State) -> RecordAccepted:
        _one_of("answer", data.answer, CALLBACK_ANSWERS)
        if (now := await _issue_state(state, data.issue_id, request.state.principal)) != "closed":
            raise _bad("issue_id", f"only a closed issue is called back; {data.issue_id} is {now}", status=409)
        record_id = _record_id(data.record_id, "CB")
        fields = msgspec.structs.asdict(data) | {"record_id": record_id}
        return await _publish(state, RecordCallback(**fields), record_id)

    @get(
        "/contacts",
        operation_id="contacts",
        summary="Contacts (?by=deputy|station|town|month&period=)",
        guards=[requires(*OVERSIGHT_ROLES)],
    )
    async def contacts(self, request: Request, state: State) -> Response[bytes]:
        return await ask_oversight(state, "/contacts", request)

    @get(
        "/training",
        operation_id="training",
        summary="Training sessions and coverage per town (?period=)",
        guards=[requires(*OVERSIGHT_ROLES)],
    )
    async def training_figures(self, request: Request, state: State) -> Response[bytes]:
        return await ask_oversight(state, "/training", request)

    @get(
        "/funds",
        operation_id="funds",
        summary="Emergency funds per month and per issue (?period=)",
        guards=[requires(*OVERSIGHT_ROLES)],
    )
    async def funds_figures(self, request: Request, state: State) -> Response[bytes]:
        return await ask_oversight(state, "/funds", request)

    @get(
        "/callbacks",
        operation_id="callbacks",
        summary="Callbacks made, and mismatches (?period=)",
        guards=[requires(*OVERSIGHT_ROLES)],
    )
    async def callbacks(self, request: Request, state: State) -> Response[bytes]:
        return await ask_oversight(state, "/callbacks", request)

    @get(
        "/callbacks/due",
        operation_id="callbacksDue",
        summary="Closed issues drawn for a callback (?share=&period=)",
        guards=[requires(*OVERSIGHT_ROLES)],
    )
    async def callbacks_due(self, request: Request, state: State) -> Response[bytes]:
        return await ask_oversight(state, "/callbacks/due", request)
