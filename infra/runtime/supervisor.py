"""Watches the platform's parts and brings back any that died, with backoff, saying what it did."""

from __future__ import annotations

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
