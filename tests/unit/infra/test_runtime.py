"""Starting the platform locally: ports checked before use, Valkey and Tansu kept on loopback."""

from __future__ import annotations

import json
import socket
import stat
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from infra.runtime.components import redis_url, tansu_argv, valkey_argv, valkey_password
from infra.runtime.platform import HEALTH_PARTS, Platform, PlatformError, Ports, _healthy
from infra.runtime.ports import HEALTH_PORTS


@pytest.fixture
def listening() -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


def test_port_in_use_is_refused_naming_the_port_and_its_role(listening: int) -> None:
    with pytest.raises(PlatformError, match=rf"port {listening} \(redis\) is already in use"):
        Ports(broker=0, redis=listening, gateway=0, health_base=0).check_free()


def test_free_ports_pass_the_check() -> None:
    Ports.free().check_free()
    Ports(broker=0, redis=0, gateway=0, health_base=0).check_free()


def test_free_gives_every_port_at_once_so_none_twice(tmp_path: Path) -> None:
    """Ports taken one at a time can be the same one again once the first is let go: two parts then shared a
    health port, one could not start, and the other's health endpoint answered for both."""
    ports = Ports.free()
    every = [ports.broker, ports.redis, ports.gateway, *ports.health]
    assert len(set(every)) == len(every) == 3 + HEALTH_PORTS and all(p > 0 for p in every)
    assert ports.health_base == 0
    health_urls = [part.health_url for part in Platform(tmp_path, ports)._application_parts()]
    assert len(set(health_urls)) == len(health_urls)
    assert {int(url.rsplit(":", 1)[1].split("/")[0]) for url in health_urls} <= set(every)
    with pytest.raises(PlatformError, match="no health port"):  # never one picked later, on its own
        Platform(
            tmp_path, Ports(broker=ports.broker, redis=ports.redis, gateway=ports.gateway, health_base=0)
        )._application_parts()


def test_a_part_is_healthy_only_when_it_answers_itself(tmp_path: Path) -> None:
    class Answer(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps({"service": "intake", "status": "ok"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/health"
        assert _healthy(url, "intake")
        assert not _healthy(url, "registry")  # another part on the port it was given
        assert not _healthy(None, "registry")
    finally:
        server.shutdown()
        server.server_close()


def test_ports_from_env_reject_a_non_number(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_PORT", "six")
    with pytest.raises(PlatformError, match="not a number"):
        Ports.from_env()


def test_ports_from_env_override_only_what_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("BROKER_PORT", "REDIS_PORT", "GATEWAY_PORT", "HEALTH_PORT_BASE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GATEWAY_PORT", "8123")
    assert Ports.from_env() == Ports(gateway=8123)


def test_valkey_config_is_private_and_holds_the_password(tmp_path: Path) -> None:
    argv = valkey_argv(tmp_path, 16380)
    conf = tmp_path / "valkey" / "valkey.conf"
    assert stat.S_IMODE(conf.stat().st_mode) == 0o600
    assert conf.read_text() == f'requirepass "{valkey_password(tmp_path)}"\n'
    assert stat.S_IMODE((tmp_path / "valkey" / "password").stat().st_mode) == 0o600
    assert argv[1] == str(conf)


def test_valkey_binds_loopback_and_keeps_an_append_only_file(tmp_path: Path) -> None:
    argv = valkey_argv(tmp_path, 16380)
    options = dict(zip(argv[2::2], argv[3::2], strict=True))
    assert options["--port"] == "16380"
    assert options["--bind"] == "127.0.0.1"
    assert options["--appendonly"] == "yes"
    assert options["--appendfsync"] == "everysec"
    assert options["--auto-aof-rewrite-min-size"] == "256mb"  # a rewrite (a fork, a busy core) ~5x as rarely
    assert options["--save"] == ""
    assert options["--protected-mode"] == "yes"
    assert options["--dir"] == str(tmp_path / "valkey")
    assert Path(argv[0]).name == "valkey-server"


def test_valkey_password_is_made_once_per_data_directory(tmp_path: Path) -> None:
    first = valkey_password(tmp_path)
    valkey_argv(tmp_path, 16380)
    assert valkey_password(tmp_path) == first
    assert len(first) >= 24
    assert redis_url(tmp_path, 16380) == f"redis://:{first}@127.0.0.1:16380/0"
    assert valkey_password(tmp_path / "other") != first


def test_tansu_binds_and_advertises_loopback() -> None:
    argv = tansu_argv(19093)
    assert Path(argv[0]).name == "tansu"
    assert argv[1] == "broker"
    options = dict(zip(argv[2::2], argv[3::2], strict=True))
    assert options == {
        "--listener-url": "tcp://127.0.0.1:19093",
        "--advertised-listener-url": "tcp://127.0.0.1:19093",
    }


def test_a_taken_health_port_is_refused_naming_the_part_that_would_use_it(listening: int) -> None:
    """Not only the base: each part's own health port, the base plus the part's place among them."""
    index = HEALTH_PARTS["triage"]
    ports = Ports(broker=0, redis=0, gateway=0, health_base=listening - index)
    assert ports.health_port(index) == listening
    # Every taken port is named: on a busy machine a neighbour of it may be some other socket's just then.
    with pytest.raises(PlatformError, match=rf"\b{listening} \(health of triage\).* already in use"):
        ports.check_free(HEALTH_PARTS)
    try:  # a part not started: its port is not looked at
        ports.check_free({name: i for name, i in HEALTH_PARTS.items() if name != "triage"})
    except PlatformError as refused:  # only a neighbour some other socket holds just then may be named
        assert f"{listening} (" not in str(refused)


def test_every_taken_port_is_named_at_once() -> None:
    with socket.socket() as one, socket.socket() as other:
        for s in (one, other):
            s.bind(("127.0.0.1", 0))
            s.listen()
        ports = Ports(broker=one.getsockname()[1], redis=0, gateway=other.getsockname()[1], health_base=0)
        with pytest.raises(PlatformError) as refused:
            ports.check_free()
    named = f"ports {ports.broker} (broker), {ports.gateway} (gateway) are already in use on 127.0.0.1"
    assert str(refused.value).startswith(f"{named}: stop what holds them")
