"""The platform's clock: real time plus an offset that tests and demos may move forward.

Month ends, referral deadlines and the "voter cannot be reached" window all read this clock, so a
test advances a month in a second instead of sleeping through it. The offset lives in Valkey
(`platform:clock:offset_s`), shared by every part; it is only ever set where `CLOCK_ADJUSTABLE` is on
(the embedded runtime and tests), and it only moves forward.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import redis.asyncio as aioredis

from contracts.calendar import CHINA, month_of, next_month

__all__ = ["CHINA", "OFFSET_KEY", "Clock", "month_of", "next_month"]

OFFSET_KEY = "platform:clock:offset_s"


class Clock:
    def __init__(self, redis: aioredis.Redis, refresh_s: float = 0.5) -> None:
        self._redis, self._refresh_s = redis, refresh_s
        self._offset_s, self._read_at = 0.0, float("-inf")

    async def now(self) -> datetime:
        if time.monotonic() - self._read_at > self._refresh_s:
            stored = await self._redis.get(OFFSET_KEY)
            self._offset_s, self._read_at = float(stored or 0.0), time.monotonic()
        return datetime.now(UTC) + timedelta(seconds=self._offset_s)

    async def advance(self, seconds: float) -> datetime:
        """Move the platform's clock forward (never back); return the new time."""
        if seconds < 0:
            raise ValueError("seconds: the clock only moves forward")
        self._offset_s = await self._redis.incrbyfloat(OFFSET_KEY, seconds)
        self._read_at = time.monotonic()
        return datetime.now(UTC) + timedelta(seconds=self._offset_s)
