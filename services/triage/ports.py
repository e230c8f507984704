"""What triage's handlers need from the outside world."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, runtime_checkable

from services.triage.domain import Triage


@runtime_checkable
class TriageStore(Protocol):
    async def keep_first(self, decided: Triage) -> Triage:
        """Store `decided` unless the issue was triaged before; return what is stored."""


class Clock(Protocol):
    async def now(self) -> datetime:
        """The platform's time (`common.clock`): the one month end steps on, so the month an issue waits
        in for its review is counted on the same clock as the month that ends."""
