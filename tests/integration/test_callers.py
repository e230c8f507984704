"""The hotline's caller index across a rotation of the personal-data key (`PII_OLD_KEY_FILES`)."""

from __future__ import annotations

import uuid

import redis.asyncio as aioredis

from common.pii import derive
from gateway.callers import CallerIndex, load_keys


async def test_after_a_key_rotation_a_caller_filed_under_the_old_key_is_still_found(redis: aioredis.Redis) -> None:
    last_year, this_year = derive(b"last-year", "caller-index"), derive(b"this-year", "caller-index")
    before, after = uuid.uuid4(), uuid.uuid4()
    await CallerIndex(redis, last_year).file("+86 138-1234-1234", before)
    rotated = CallerIndex(redis, this_year, old_keys=(last_year,))
    await rotated.file("13812341234", after)  # the same number as dialled, filed under the new key only

    assert await rotated.submissions("0086 13812341234") == [after, before]  # newest first, both keys
    assert await CallerIndex(redis, this_year).submissions("13812341234") == [after]  # the new key alone
    assert await rotated.submissions("13900000000") == []
    assert len([k async for k in redis.scan_iter("gw:caller:*")]) == 2  # one entry a key, no number in clear
    assert not [k async for k in redis.scan_iter("*13812341234*")]


def test_retired_keys_are_read_from_their_files(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "2025").write_text("old-secret\n")
    (tmp_path / "2024").write_text("older-secret")
    assert load_keys(f"{tmp_path / '2025'}, {tmp_path / '2024'}") == (b"old-secret", b"older-secret")
    assert load_keys("") == () and load_keys(" , ") == ()
