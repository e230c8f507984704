"""Intakes through the gateway: a station's app or a deputy (`/api/v1/intakes`, signed in), the public
voter form (`gateway.public_api`) and Open311 all take the same path: the submission is kept in the
outbox once per Idempotency-Key, then published, and the caller gets a 202 once it cannot be lost."""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Annotated

import msgspec
from aiokafka.errors import KafkaError
from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.exceptions import NotFoundException
from litestar.params import HeaderParameter, JSONBody

from common.bus import Outgoing, outgoing, publish_all
from common.pii import mask_voter
from contracts.intake import SubmitIntake, VoterContact
from contracts.registry import Deputy
from contracts.topics import SUBMISSIONS
from gateway.access import INTAKE_ROLES, station_unit
from gateway.auth import Principal, requires
from gateway.contacts import contact_key
from gateway.schemas import IntakeAccepted, IntakeRequest, SubmissionStatus
from gateway.submissions import IdempotencyConflict, SubmissionDesk, fingerprint
from gateway.workflow_api import field_error

log = logging.getLogger("gateway")
API = "/api/v1"
IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        required=False,
        min_length=1,
        max_length=128,
        description="a retried request with the same key is stored once and answered the same",
    ),
]


class IntakeController(Controller):
    path = f"{API}/intakes"
    tags = ["intake"]

    @post(
        "/",
        status_code=202,
        operation_id="submitIntake",
        summary="Record a voter's problem, opinion or suggestion at a station of your subtree (staff, deputies)",
        guards=[requires(*INTAKE_ROLES)],
    )
    async def submit(
        self, request: Request, data: JSONBody[IntakeRequest], state: State, idempotency_key: IdempotencyKey = None
    ) -> IntakeAccepted:
        principal: Principal = request.state.principal
        unit = station_unit(state.registry.view, data.station_code)
        if unit is None or not principal.sees_unit(state.registry.view, unit):
            # a station outside the account's subtree is answered like one that does not exist
            raise field_error("station_code", f"no station {data.station_code} in the registry")
        return await accept_intake(state, data, idempotency_key, submitted_by=principal.login)

    @get(
        "/{submission_id:uuid}",
        operation_id="getSubmissionStatus",
        summary="What became of a submission",
        guards=[requires()],
    )
    async def status(self, submission_id: uuid.UUID, state: State) -> SubmissionStatus:
        return await submission_status(state, submission_id)


async def accept_intake(
    state: State, data: IntakeRequest, idempotency_key: str | None, *, submitted_by: str | None
) -> IntakeAccepted:
    """Keep the submission in the outbox (once per Idempotency-Key), then publish it: the path every
    intake takes, from a station's app, the public form or Open311."""
    contact = msgspec.convert(msgspec.to_builtins(data.voter), VoterContact) if data.voter else None
    sealed = state.sealer.seal(contact) if contact else None  # the contact leaves the gateway encrypted
    command = SubmitIntake(
        submission_id=uuid.uuid4(),
        channel=data.channel,
        station_code=data.station_code,
        kind=data.kind,
        text=data.text,
        voter_sealed=sealed,
        voter_masked=mask_voter(contact),
        deputy_code=data.deputy_code,
        submitted_by=submitted_by,
        on_spot_resolution=data.on_spot_resolution,
    )
    if data.deputy_code is not None and state.registry.view.get(Deputy, data.deputy_code) is None:
        raise field_error("deputy_code", f"no deputy {data.deputy_code} in the registry")
    if state.registry.view.station(data.station_code) is None:
        raise field_error("station_code", f"no station {data.station_code} in the registry")
    desk: SubmissionDesk = state.desk
    submission = str(command.submission_id)
    record = outgoing(SUBMISSIONS, submission, command)
    try:
        also = {f"gw:photos:owner:{submission}": command.station_code}  # who may attach photos (gateway.photos)
        if sealed:
            also[contact_key(submission)] = sealed
        accepted = await desk.accept(
            record, command.submission_id, idempotency_key, fingerprint(msgspec.json.encode(data)), also
        )
    except IdempotencyConflict:
        raise field_error("Idempotency-Key", "already used with a different body", status=422) from None
    if accepted.submission_id == command.submission_id:
        if data.voter and data.voter.phone:
            await state.callers.file(data.voter.phone, command.submission_id)
        await _publish(state, record)
    return IntakeAccepted(
        submission_id=accepted.submission_id,
        status_url=f"{API}/intakes/{accepted.submission_id}",
        tracking_code=accepted.tracking_code,
    )


async def submission_status(state: State, submission_id: uuid.UUID) -> SubmissionStatus:
    number = await state.issues.number_for(submission_id)
    if number:
        return SubmissionStatus(
            submission_id=submission_id, status="received", issue_number=number, issue_url=f"{API}/issues/{number}"
        )
    if await state.desk.is_pending(submission_id):
        return SubmissionStatus(submission_id=submission_id, status="accepted")
    raise NotFoundException(f"no submission {submission_id}")


async def _publish(state: State, record: Outgoing) -> None:
    """Publish now if the broker answers in time; the submission is already in the outbox either way,
    so a broker that is down delays it but cannot lose it, and the voter still gets a 202. (A timeout
    scope, not `wait_for`: it awaits in the request's own task instead of starting one per intake.)"""
    try:
        async with asyncio.timeout(state.publish_timeout_s):
            published = await publish_all(state.broker, [record])
    except (TimeoutError, KafkaError) as exc:
        log.warning("submission kept for the outbox to publish", extra={"error": repr(exc)})
        return
    state.locations.note(published)
