"""Watches the platform's parts and brings back any that died, with backoff, saying what it did."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

from infra.runtime.platform import Platform, PlatformError

HEALTHY_RESET_S = 60.0  # a part up this long has its backoff forgotten
MAX_BACKOFF_S = 30.0


@dataclass
class _Record:
    restarts: int = 0
    not_before: float = 0.0
    last_restart: float = 0.0


class Supervisor:
    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self._records: dict[str, _Record] = {}
        self.events: list[tuple[float, str, str]] = []  # (when, part, what happened)

    def check(self) -> None:
        """Restart every part that is not running (the broker with a restore), when its backoff allows."""
        now = time.monotonic()
        for name, part in list(self.platform.parts.items()):
            record = self._records.setdefault(name, _Record())
            if part.running:
                if record.restarts and now - record.last_restart > HEALTHY_RESET_S:
                    record.restarts = 0
                continue
            if now < record.not_before or self.platform.parts.get(name) is not part:
                continue
            self._bring_back(name, record, part.process.returncode if part.process else None)
            return  # a restart (above all the broker's) replaces parts: look again at the next check

    def _bring_back(self, name: str, record: _Record, code: int | None) -> None:
        self._note(name, f"exited (code {code}); restart #{record.restarts + 1}")
        started = time.monotonic()
        try:
            if name == "broker":
                self.platform.recover_broker()
            else:
                self.platform.restart(name)
        except PlatformError as exc:
            self._note(name, f"could not be restarted: {exc}")
        else:
            self._note(name, f"back in {time.monotonic() - started:.1f} s")
        record.restarts += 1
        record.last_restart = time.monotonic()
        record.not_before = record.last_restart + min(MAX_BACKOFF_S, 2 ** (record.restarts - 1))

    def _note(self, name: str, what: str) -> None:
        self.events.append((time.time(), name, what))
        self.platform.say(f"{name} {what}")


class Compaction:
    """Compacts the embedded broker (`Platform.compact_broker`) once a day at `at`, local time, when it has
    taken at least `after_records` records since it started or was last compacted: some 20 s in which
    the parts are down (the gateway too: clients retry with their Idempotency-Key), at an hour nobody
    works. Never without the archiver, which a new broker is refilled from."""

    def __init__(self, platform: Platform, at: dt.time | None, after_records: int, now: dt.datetime) -> None:
        self.platform, self.at, self.after_records = platform, at, after_records
        self.enabled = at is not None and "archiver" in platform.wanted
        self._last_day = now.date() if at is not None and now.time() >= at else None  # not straight after start
        self._held = platform.archived_records() if self.enabled else 0

    def check(self, now: dt.datetime) -> None:
        if not self.enabled or now.time() < self.at or self._last_day == now.date():
            return
        self._last_day = now.date()
        held = self.platform.archived_records()
        if held - self._held < self.after_records:
            self.platform.say(f"broker compaction not needed: {held - self._held} records since the last")
            return
        started = time.monotonic()
        self.platform.say(f"compacting the broker ({held - self._held} records since the last): the parts stop")
        self.platform.compact_broker()
        # what the new broker was refilled with: what the archive held (no reading of the new epoch's marks,
        # which the archiver writes only as it goes over each partition again)
        self._held = held
        self.platform.say(f"broker compacted and every part back in {time.monotonic() - started:.1f} s")


def compaction_schedule(environ: dict[str, str]) -> tuple[dt.time | None, int]:
    """`PLATFORM_COMPACT_AT` (HH:MM, local time; default 04:00, `off` for never) and
    `PLATFORM_COMPACT_AFTER_RECORDS` (default 10000); a bad value is an error naming the variable."""
    at = environ.get("PLATFORM_COMPACT_AT", "04:00").strip()
    try:
        when = None if at.lower() in ("", "off") else dt.time.fromisoformat(at)
    except ValueError:
        raise PlatformError(f"PLATFORM_COMPACT_AT={at!r}: give a time of day as HH:MM, or off") from None
    after = environ.get("PLATFORM_COMPACT_AFTER_RECORDS", "10000").strip()
    if not after.isdigit():
        raise PlatformError(f"PLATFORM_COMPACT_AFTER_RECORDS={after!r}: give a whole number of records")
    return when, int(after)
