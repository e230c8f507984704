"""What the referral service's handlers need from the outside world."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

from contracts.lifecycle import IssueState
from contracts.topics import Topic
from services.referral.domain import Allotment


@runtime_checkable
class IssueStore(Protocol):
    """The service's own copy of each issue's lifecycle state."""

    async def get(self, issue_id: str) -> IssueState | None: ...

    async def put(self, *states: IssueState) -> None: ...


@runtime_checkable
class IssueTexts(Protocol):
    """What each issue says (its first characters): a referral's summary."""

    async def keep(self, issue_id: str, text: str) -> None: ...

    async def get(self, issue_id: str) -> str | None: ...

    async def flush(self) -> None:
        """Write what was kept since the last flush (the consumer calls it once per batch)."""


@runtime_checkable
class ReferralNumbers(Protocol):
    async def allot(self, issue_id: str, assigned_event_id: uuid.UUID, now: datetime) -> Allotment:
        """The next number among the issue's referrals, and `now`, the first time an assignment asks;
        what it got then, every later time."""


@runtime_checkable
class TopicAdmin(Protocol):
    async def ensure(self, topics: Sequence[Topic]) -> None:
        """Create whichever of these topics do not exist yet."""


@runtime_checkable
class Clock(Protocol):
    async def now(self) -> datetime: ...
