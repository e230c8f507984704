"""Valkey implementations of feedback's ports: the platform's shared issue-state copy and clock."""

from __future__ import annotations

import redis.asyncio as aioredis

from common.clock import Clock
from common.issue_states import IssueStates

OWNER = "feedback"  # key prefix of feedback's state: `feedback:issue-state:<issue id>`


def issue_states(redis: aioredis.Redis) -> IssueStates:
    return IssueStates(redis, OWNER)


def platform_clock(redis: aioredis.Redis) -> Clock:
    return Clock(redis)
