"""What the registry's handlers need from the outside world."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable


@runtime_checkable
class Usage(Protocol):
    """Which registry entities open issues point at (entity keys like `station:610902001001`)."""

    async def counts(self, keys: Sequence[str]) -> dict[str, int]:
        """How many open issues point at each key."""

    async def note(self, issue_id: str, keys: Sequence[str]) -> None:
        """The issue points at these keys (besides any it pointed at before)."""

    async def release(self, issue_id: str) -> None:
        """The issue is closed or merged: it no longer holds what it points at."""

    async def restore(self, issue_id: str) -> None:
        """The issue is reopened: it holds what it pointed at again."""

    async def flush(self) -> None:
        """Write what was noted since the last flush (the consumer calls it once per batch)."""
