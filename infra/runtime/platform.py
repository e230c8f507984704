"""The whole platform on one machine: Valkey, the Tansu broker, topics, every service and the gateway."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import redis
import redis.asyncio as aioredis

from common.outbox import EPOCH_KEY, archive_hwm_key
from common.progress import clamp_positions
from common.settings import load_settings
from infra.archive.service import ArchiveSettings
from infra.runtime.components import admin_password_file, pii_key_file, redis_url, tansu_argv, valkey_argv
from infra.runtime.errors import PlatformError
from infra.runtime.ports import Ports
from infra.runtime.processes import Part, stop_together, wait_until
from infra.topic_reader import high_watermarks

SERVICES = ("registry", "intake", "triage", "referral", "feedback", "oversight")
APPLICATION_PARTS = ("archiver", *SERVICES, "gateway-projector", "gateway")
HEALTH_PARTS = {name: index for index, name in enumerate(APPLICATION_PARTS[:-1], start=1)}  # the gateway has its port
INFRASTRUCTURE_PARTS = ("valkey", "broker")
REPO = Path(__file__).resolve().parents[2]
__all__ = ["APPLICATION_PARTS", "Platform", "PlatformError", "Ports"]


class Platform:
    def __init__(
        self,
        var_dir: Path,
        ports: Ports | None = None,
        env: dict[str, str] | None = None,
        say: Callable[[str], None] = lambda _: None,
        parts: tuple[str, ...] = APPLICATION_PARTS,
    ) -> None:
        self.var_dir, self.ports, self.say = var_dir.resolve(), ports or Ports(), say
        self.extra_env = env or {}
        if unknown := set(parts) - set(APPLICATION_PARTS):
            raise PlatformError(f"unknown parts {sorted(unknown)}; choose from {', '.join(APPLICATION_PARTS)}")
        self.wanted = parts
        self.parts: dict[str, Part] = {}

    @property
    def kafka_bootstrap(self) -> str:
        return f"127.0.0.1:{self.ports.broker}"

    @property
    def redis_url(self) -> str:
        return redis_url(self.var_dir, self.ports.redis)

    @property
    def admin_password(self) -> str:
        """The first administrator's password (login `platform-admin`), made once per data directory."""
        return admin_password_file(self.var_dir).read_text().strip()

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.gateway}"

    @property
    def traces_file(self) -> Path:
        return self.var_dir / "traces" / "spans.jsonl"

    def __enter__(self) -> Platform:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    @property
    def archive_dir(self) -> Path:
        return self.var_dir / "archive"

    def start(self, timeout: float = 120.0) -> None:
        self.ports.check_free({name: index for name, index in HEALTH_PARTS.items() if name in self.wanted})
        try:
            self._start_store(timeout)
            self._start_broker(timeout)
            self._start_application(timeout)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Application parts together (each finishes what it holds), then the broker, then Valkey."""
        application = [p for n, p in self.parts.items() if n not in (*INFRASTRUCTURE_PARTS, "archiver")]
        stop_together(list(reversed(application)), timeout=20.0)
        if "archiver" in self.parts:  # last of the application: before it stops it takes all the broker has
            self.parts["archiver"].stop()
        for name in ("broker", "valkey"):
            if name in self.parts:
                self.parts[name].stop()
        self.parts.clear()

    def recover_broker(self, timeout: float = 120.0) -> None:
        """A broker that died lost its topics: stop the parts that use it, start a new broker, restore
        it from the archive, and start the parts again, so no consumer sees a half-restored topic."""
        stop_together([self.parts.pop(n) for n in reversed(self.wanted) if n in self.parts], timeout=15.0)
        self.parts.pop("broker").kill()
        self._start_broker(timeout)
        self._start_application(timeout)

    def compact_broker(self, timeout: float = 120.0) -> None:
        """Start a new broker and refill it from the archive, which writes each partition back in batches of
        up to 1 MB. Tansu's memory engine answers every fetch that returns records by walking all the
        batches the partition holds, and the services publish most records one to a batch: a topic of
        20,000 such batches makes each of its readers cost the broker a large part of a core (README
        "Nothing lost", broker compaction). The parts stop first, the archiver last once it has taken in
        what they published (an outbox would publish anything it missed again), then start as after a
        broker's crash."""
        if "archiver" not in self.wanted:
            raise PlatformError("without the archiver a new broker would start empty: nothing to compact from")
        others = [n for n in reversed(self.wanted) if n in self.parts and n != "archiver"]
        stop_together([self.parts.pop(n) for n in others], timeout=15.0)
        if "archiver" in self.parts:
            if not self._archive_settles(timeout=60.0, quiet_s=self._archive_pause_s() + 1.5):
                self.say("the archive was still moving after 60 s: the outboxes will publish the rest again")
            self.parts.pop("archiver").stop()
        self.parts.pop("broker").stop()
        self._start_broker(timeout)
        self._start_application(timeout)

    def archived_records(self) -> int:
        """How many records the archive holds of the current broker's topics (its marks in Valkey)."""
        with redis.Redis.from_url(self.redis_url, socket_timeout=5) as client:
            return _archived(client)

    def _archive_pause_s(self) -> float:
        """The longest the archiver waits between two batches while records keep coming."""
        return load_settings(ArchiveSettings, {**os.environ, **self._env({})}).archive_gather_ms / 1000

    def _archive_settles(self, timeout: float, quiet_s: float) -> bool:
        """The archive's marks stay the same for `quiet_s`: with nothing publishing, it has what there was."""
        deadline, last, since = time.monotonic() + timeout, -1, time.monotonic()
        with redis.Redis.from_url(self.redis_url, socket_timeout=5) as client:
            while time.monotonic() < deadline:
                held = _archived(client)
                if held != last:
                    last, since = held, time.monotonic()
                elif time.monotonic() - since >= quiet_s:
                    return True
                time.sleep(0.25)
        return False

    def _start_application(self, timeout: float) -> None:
        for part in self._application_parts():
            if part.name in self.wanted:
                self._launch(part)
        self._wait_healthy(timeout)

    def _launch(self, part: Part) -> None:
        part.log_path = self.var_dir / "logs" / f"{part.name}.log"
        self.parts[part.name] = part
        part.start(REPO)
        self.say(f"started {part.name} (pid {part.process.pid if part.process else '?'})")

    def _start_store(self, timeout: float) -> None:
        self._launch(Part("valkey", valkey_argv(self.var_dir, self.ports.redis)))
        client = redis.Redis.from_url(self.redis_url, socket_timeout=1)
        self._await("valkey", lambda: _answers(client.ping), timeout)
        client.close()

    def _start_broker(self, timeout: float) -> None:
        """A new broker is a new epoch: offsets it gives out are compared only with its own archive marks."""
        self._launch(Part("broker", tansu_argv(self.ports.broker)))
        self._await("broker", lambda: _connects(self.ports.broker), timeout)
        self._create_topics(timeout)
        client = redis.Redis.from_url(self.redis_url, socket_timeout=5)
        epoch = client.incr(EPOCH_KEY)
        client.close()
        if "archiver" in self.wanted:
            self._restore(timeout)
        moved = asyncio.run(self._clamp_positions())
        if moved:
            self.say(f"kept consumer positions moved back to what the new broker holds: {moved}")
        self.say(f"broker ready (epoch {epoch})")

    async def _clamp_positions(self) -> dict[str, int]:
        client = aioredis.Redis.from_url(self.redis_url)
        try:
            positions = [k async for k in client.scan_iter(match="*:positions", count=1000)]
            topics = {f.decode().rpartition(":")[0] for k in positions for f in await client.hkeys(k)}
            return await clamp_positions(client, await high_watermarks(self.kafka_bootstrap, topics) if topics else {})
        finally:
            await client.aclose()

    def _restore(self, timeout: float) -> None:
        """Refill an empty broker from the archive before any service starts (nothing to do otherwise)."""
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "infra.archive",
                "restore",
                "--if-empty",
                "--root",
                str(self.archive_dir),
                "--bootstrap",
                self.kafka_bootstrap,
            ],
            cwd=REPO,
            env={**os.environ, **self._env({})},
            capture_output=True,
            text=True,
            timeout=max(timeout, 3600),
        )
        if run.returncode != 0:
            raise PlatformError(f"could not restore the topics from {self.archive_dir}:\n{run.stderr[-3000:]}")
        if run.stdout.strip():
            self.say(run.stdout.strip().splitlines()[-1])

    def _create_topics(self, timeout: float) -> None:
        errors: list[str] = []

        def created() -> bool:
            run = subprocess.run(
                [sys.executable, "-m", "infra.topics"],
                cwd=REPO,
                env={**os.environ, **self._env({})},
                capture_output=True,
                text=True,
                timeout=30,
            )
            errors.append(run.stderr[-2000:])
            return run.returncode == 0

        if not wait_until(created, timeout, interval=0.5):
            raise PlatformError(f"could not create the topics on the broker:\n{errors[-1] if errors else ''}")

    def _env(self, own: dict[str, str]) -> dict[str, str]:
        return {
            "ARCHIVE_DIR": str(self.archive_dir),
            "OUTBOX_ENABLED": "true" if "archiver" in self.wanted else "false",
            "KAFKA_BOOTSTRAP": self.kafka_bootstrap,
            "REDIS_URL": self.redis_url,
            "OTEL_FILE": str(self.traces_file),
            "PYTHONUNBUFFERED": "1",
            "CLOCK_ADJUSTABLE": "true",  # the embedded platform is for one machine, demos and tests
            **self.extra_env,
            **own,
        }

    def _application_parts(self) -> list[Part]:
        parts = []
        for name, index in HEALTH_PARTS.items():
            module = {"gateway-projector": "gateway.projector", "archiver": "infra.archive.service"}.get(
                name, f"services.{name}.main"
            )
            port = self.ports.health_port(index)
            parts.append(
                Part(
                    name,
                    [sys.executable, "-m", module],
                    self._env({"HEALTH_PORT": str(port)}),
                    health_url=f"http://127.0.0.1:{port}/health",
                )
            )
        oversight = next((p.health_url or "" for p in parts if p.name == "oversight"), "").removesuffix("/health")
        parts.append(
            Part(
                "gateway",
                [sys.executable, "-m", "gateway.main"],
                self._env(
                    {
                        "HTTP_PORT": str(self.ports.gateway),
                        "ADMIN_PASSWORD_FILE": str(admin_password_file(self.var_dir)),
                        "PII_KEY_FILE": str(pii_key_file(self.var_dir)),
                    }
                    | ({"OVERSIGHT_URL": oversight} if oversight else {})
                ),
                health_url=f"{self.gateway_url}/health",
            )
        )
        return parts

    def _wait_healthy(self, timeout: float) -> None:
        waiting = [p for p in self.parts.values() if p.health_url]
        for part in waiting:
            self._await(part.name, lambda p=part: _healthy(p.health_url, p.name), timeout)
            self.say(f"{part.name} is healthy")

    def _await(self, name: str, ready: Callable[[], bool], timeout: float) -> None:
        part = self.parts[name]

        def done() -> bool:
            if not part.running:
                raise PlatformError(
                    f"{name} exited while starting (code {part.process.poll() if part.process else '?'})"
                    f"; the end of {part.log_path}:\n{part.log_tail()}"
                )
            return ready()

        if not wait_until(done, timeout, interval=0.2):
            raise PlatformError(
                f"{name} did not become ready in {timeout:.0f} s; the end of {part.log_path}:\n{part.log_tail()}"
            )

    def restart(self, name: str, timeout: float = 60.0) -> None:
        """Stop a part gracefully (or find it dead) and start it again until healthy."""
        part = self.parts[name]
        part.stop()
        part.start(REPO)
        if part.health_url:
            self._await(name, lambda: _healthy(part.health_url, name), timeout)

    def status(self) -> dict[str, str]:
        return {
            name: (
                "healthy"
                if part.running and (not part.health_url or _healthy(part.health_url, part.name))
                else "running"
                if part.running
                else "stopped"
            )
            for name, part in self.parts.items()
        }


def _archived(client: redis.Redis) -> int:
    epoch = (client.get(EPOCH_KEY) or b"0").decode()
    return sum(int(v) for v in client.hvals(archive_hwm_key(epoch)))


def _answers(call: Callable[[], object]) -> bool:
    try:
        return bool(call())
    except Exception:
        return False


def _connects(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def _healthy(url: str | None, name: str) -> bool:
    """The part answers healthy at its URL; another part answering there (given the same port) is not it."""
    try:
        answer = httpx.get(url, timeout=2.0) if url is not None else None
        return answer is not None and answer.status_code == 200 and answer.json().get("service") == name
    except (httpx.HTTPError, ValueError):
        return False
