"""The archiver's health endpoint: broker, Valkey, a writable archive with room, and an unbroken history."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from common.health import HealthServer

if TYPE_CHECKING:
    from infra.archive.service import Archiver


class ArchiverHealth(HealthServer):
    """The common health endpoint, with the archive's lag and state added to its JSON."""

    def __init__(self, archiver: Archiver, host: str, port: int) -> None:
        checks = {
            "broker": self._broker_reachable,
            "redis": self._redis_answers,
            "archive writable": self._archive_writable,
            "archive continuity": self._continuous,
        }
        super().__init__("archiver", host, port, checks)
        self.archiver = archiver

    async def report(self) -> tuple[bool, dict[str, object]]:
        healthy, body = await super().report()
        return healthy, {**body, "archive": self.archiver.status()}

    async def _broker_reachable(self) -> bool:
        await self.archiver.consumer.topics()  # a metadata round trip; raises when no broker answers
        return True

    async def _redis_answers(self) -> bool:
        return bool(await self.archiver.redis.ping())

    async def _archive_writable(self) -> bool:
        writer = self.archiver.writer
        return await asyncio.to_thread(_can_write, writer.root, writer.segment_bytes)

    async def _continuous(self) -> bool:
        return not self.archiver.diverged


def _can_write(root: Path, room: int) -> bool:
    """A file can be created and fsynced there, and a whole segment still fits."""
    probe = root / ".health-probe"
    with open(probe, "wb") as out:
        out.write(b"ok")
        os.fsync(out.fileno())
    probe.unlink()
    return shutil.disk_usage(root).free >= room
