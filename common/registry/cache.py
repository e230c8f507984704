"""A part's local copy of the registry: read from the registry topic from offset 0, then kept current
(`common.topic_follower`). `sync()` waits until every record published before the call is applied: the
registry service calls it before checking each command, so it checks against everything it (or
another instance) published before."""

from __future__ import annotations

import logging
from typing import Protocol, runtime_checkable

import msgspec

from common.fetch_pace import FetchPace
from common.registry.view import RegistryView
from common.topic_follower import TopicFollower
from contracts.registry import RegistryEventMessage
from contracts.topics import REGISTRY_ENTITIES, Topic

log = logging.getLogger(__name__)


@runtime_checkable
class LiveRegistry(Protocol):
    """What a handler needs of the registry: the view, and a way to wait for the latest of it."""

    view: RegistryView

    async def sync(self) -> None:
        """Return once everything published before the call is in `view`."""


class RegistryCache:
    """The registry, read from its compacted topic from offset 0 (`start`), then followed."""

    def __init__(
        self, bootstrap: str, topic: Topic = REGISTRY_ENTITIES, poll_ms: int = 20, pace: FetchPace | None = None
    ) -> None:
        self.view = RegistryView()
        self._decoder = msgspec.json.Decoder(RegistryEventMessage)
        self._follower = TopicFollower(bootstrap, topic.name, self._apply, poll_ms, pace=pace)

    async def start(self, timeout_s: float = 60.0) -> None:
        await self._follower.start(timeout_s)

    async def stop(self) -> None:
        await self._follower.stop()

    async def sync(self) -> None:
        await self._follower.sync()

    def _apply(self, record) -> None:  # type: ignore[no-untyped-def]
        try:
            self.view.apply(self._decoder.decode(record.value))
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            # a newer registry's entity or event type: not ours to understand; the rest stays usable
            log.warning("registry record skipped", extra={"offset": record.offset, "error": str(exc)})
