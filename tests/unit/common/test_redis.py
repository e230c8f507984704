"""Commands packed by hiredis are the bytes redis-py's own packer sends, and what hiredis does not take
is refused as redis-py always refused it."""

import pytest
import redis.asyncio as aioredis
from redis.exceptions import DataError

from common.redis import HiredisPackedConnection, make_redis


def _python_packed(*args: object) -> bytes:
    return b"".join(aioredis.Connection().pack_command(*args))


@pytest.mark.parametrize(
    "args",
    [
        ("EVALSHA", "a" * 40, 3, "gw:idem:k", "gw:pending", "ob:x", b'{"a":1}', 1732650000.1234567, 86400, "中文"),
        ("SCRIPT LOAD", "return 1"),  # two words in one: sent as two
        ("SET", "k", b"x" * 100_000),  # big enough for redis-py to send in pieces
        ("ZADD", "z", 0.1, "m", -3, "n", 1e20, "o"),
    ],
)
def test_hiredis_packs_the_bytes_redis_py_would_send(args: tuple[object, ...]) -> None:
    assert b"".join(HiredisPackedConnection().pack_command(*args)) == _python_packed(*args)


@pytest.mark.parametrize("bad", [None, True])
def test_what_redis_py_refuses_is_still_refused_with_its_error(bad: object) -> None:
    with pytest.raises(DataError):
        HiredisPackedConnection().pack_command("SET", "k", bad)


def test_a_memoryview_is_packed_like_bytes_by_hiredis_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    expected = _python_packed("SET", "k", b"v")

    def no_fallback(*_: object) -> list[bytes]:
        raise AssertionError("packed by redis-py, not hiredis")

    monkeypatch.setattr(aioredis.Connection, "pack_command", no_fallback)
    assert b"".join(HiredisPackedConnection().pack_command("SET", "k", memoryview(b"v"))) == expected


def test_the_client_packs_with_hiredis_over_tcp_and_leaves_unix_sockets_to_redis_py() -> None:
    assert make_redis("redis://127.0.0.1:6379/0").connection_pool.connection_class is HiredisPackedConnection
    unix = make_redis("unix:///tmp/valkey.sock").connection_pool.connection_class
    assert unix is aioredis.UnixDomainSocketConnection
