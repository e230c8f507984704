"""Intake's handlers: a submission in, IssueReceived out."""

from __future__ import annotations

import logging

import msgspec

from common.bus import Outgoing, outgoing
from contracts.intake import SubmitIntake
from contracts.topics import ISSUE_EVENTS
from services.intake import domain
from services.intake.ports import IntakeStore

log = logging.getLogger(__name__)


class IntakeDeps(msgspec.Struct, frozen=True):
    store: IntakeStore
    number_prefix: str


async def on_submit_intake(command: SubmitIntake, deps: IntakeDeps) -> list[Outgoing]:
    domain.check_submission(command)  # the gateway checked too; other channels may not have
    month = domain.numbering_month(command.occurred_at)
    number = await deps.store.register(command, deps.number_prefix, month)
    received = domain.receive(command, number)
    log.debug("issue received", extra={"issue_id": number})
    return [outgoing(ISSUE_EVENTS, number, received)]
