"""What triage's handlers need from the outside world."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from services.triage.domain import Triage


@runtime_checkable
class TriageStore(Protocol):
    async def keep_first(self, decided: Triage) -> Triage:
        """Store `decided` unless the issue was triaged before; return what is stored."""
