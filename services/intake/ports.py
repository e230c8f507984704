"""What intake's handlers need from the outside world."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from contracts.intake import SubmitIntake


@runtime_checkable
class IntakeStore(Protocol):
    async def register(self, submission: SubmitIntake, prefix: str, month: str) -> str:
        """Number the submission and keep its intake record (with the voter's contact), in one step.

        A submission seen before keeps the number it was given and its record is left as it was."""
