"""What feedback's handlers need from the outside world."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, runtime_checkable

from contracts.lifecycle import IssueState


@runtime_checkable
class IssueStateStore(Protocol):
    """Feedback's own copy of every issue's lifecycle state."""

    async def get(self, issue_id: str) -> IssueState | None:
        """The issue's state, or None for an issue never received."""

    async def put(self, *states: IssueState) -> None:
        """Keep these states, replacing what was kept for their issues."""


@runtime_checkable
class Clock(Protocol):
    async def now(self) -> datetime:
        """The platform's time (which tests and demos may move forward)."""
