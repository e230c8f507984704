"""The loopback ports of the embedded platform: configurable, checked free before anything starts."""

from __future__ import annotations

import errno
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass

from infra.runtime.errors import PlatformError

HEALTH_PORTS = 12  # health endpoints a platform may need: the archiver, the services, the projector, spares


@dataclass(frozen=True)
class Ports:
    broker: int = 19092
    redis: int = 16379
    gateway: int = 8000
    health_base: int = 18080  # one health port per service from here on
    health: tuple[int, ...] = ()  # or these, one per service in turn (`free`, with `health_base=0`)

    @classmethod
    def from_env(cls) -> Ports:
        names = {
            "broker": "BROKER_PORT",
            "redis": "REDIS_PORT",
            "gateway": "GATEWAY_PORT",
            "health_base": "HEALTH_PORT_BASE",
        }
        try:
            return cls(**{f: int(os.environ[n]) for f, n in names.items() if os.environ.get(n)})
        except ValueError as exc:
            raise PlatformError(f"a port variable is not a number: {exc}") from None

    @classmethod
    def free(cls) -> Ports:
        """Ports nobody is listening on now (for tests: two runs never clash), all taken at once, so none is
        given out twice: ports asked for one at a time can be the same one again, once the first is let go."""
        socks = [socket.socket() for _ in range(3 + HEALTH_PORTS)]
        try:
            for s in socks:
                s.bind(("127.0.0.1", 0))
            ports = [s.getsockname()[1] for s in socks]
            return cls(*ports[:3], health_base=0, health=tuple(ports[3:]))
        finally:
            for s in socks:
                s.close()

    def health_port(self, index: int) -> int:
        """The health port of the `index`th part that has one (from 1): `health_base + index`, or one of `health`."""
        if self.health_base:
            return self.health_base + index
        if index > len(self.health):
            raise PlatformError(f"no health port for part {index}: give HEALTH_PORT_BASE or `Ports.free()`")
        return self.health[index - 1]

    def check_free(self, health_parts: Mapping[str, int] | None = None) -> None:
        """Refuse to start while a port the platform would listen on is taken: the broker's, Valkey's, the
        gateway's, and the health port of each of `health_parts` (part name -> its index). Every taken one
        is named, so one start shows all there is to clear."""
        wanted = [(self.broker, "broker"), (self.redis, "redis"), (self.gateway, "gateway")]
        wanted += [(self.health_port(index), f"health of {name}") for name, index in (health_parts or {}).items()]
        taken = [f"{port} ({role})" for port, role in wanted if port and not _port_free(port)]
        if len(taken) == 1:
            raise PlatformError(
                f"port {taken[0]} is already in use on 127.0.0.1: "
                f"stop what holds it or choose another (see README, 'Ports')"
            )
        if taken:
            raise PlatformError(
                f"ports {', '.join(taken)} are already in use on 127.0.0.1: "
                f"stop what holds them or choose others (see README, 'Ports')"
            )


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return False
            raise
    return True
