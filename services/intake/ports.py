"""What intake's handlers need from the outside world."""

from __future__ import annotations

import uuid
from typing import Protocol, runtime_checkable

from contracts.intake import SubmitIntake


@runtime_checkable
class IntakeStore(Protocol):
    async def number_for(self, submission_id: uuid.UUID, prefix: str, month: str) -> str:
        """The submission's issue number: assigned once, the same on every later call."""

    async def save(self, number: str, submission: SubmitIntake) -> None:
        """Keep the intake record (with the voter's contact) under its number; idempotent."""
