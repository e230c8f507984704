"""The gateway's own figures (part of `make bench`), beside a bare Litestar endpoint in the same run:

1. intake submissions through the full gateway stack (session check, body validation, the station's scope,
   the Idempotency-Key, the outbox and the publish) against a bare Litestar POST that decodes the same
   JSON and answers 202, served by the same server (granian, one worker, uvloop) — target: at least half
   the bare endpoint's requests per second;
2. work-list pages of an issue list of 1,000+ issues (`GET /api/v1/issues/?unit=…&scope=received`,
   50 per page, every page in turn) — target: p95 under 100 ms.

The load comes from `infra.loadgen` (a few µs of CPU a request), over keep-alive connections."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from litestar import Litestar, post

from infra.loadgen import Connection, submit
from infra.runtime.demo import ADMIN
from infra.runtime.platform import Platform

BARE_PATH = "/bare"
ISSUES = int(os.environ.get("GATEWAY_BENCH_ISSUES", "1500"))  # the station's list in `python -m infra.gateway_bench`


@post(BARE_PATH, status_code=202)
async def _bare(data: dict[str, Any]) -> dict[str, str]:
    return {"submission_id": str(uuid.uuid4())}


def bare_app() -> Litestar:
    """The baseline: Litestar decoding a JSON body and answering 202, nothing else."""
    return Litestar(route_handlers=[_bare])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_s(pid: int) -> float:
    """CPU seconds a process and its descendants (granian's worker) have used so far, from /proc. On a
    shared machine the requests per second swing with the neighbours' load; the CPU a request costs
    the server barely does."""
    tick, total, pids = os.sysconf("SC_CLK_TCK"), 0.0, [pid]
    while pids:
        process = Path(f"/proc/{pids.pop()}")
        try:
            stat = (process / "stat").read_text().rsplit(")", 1)[1].split()
            pids += [int(c) for task in (process / "task").iterdir() for c in (task / "children").read_text().split()]
        except OSError:  # gone meanwhile
            continue
        total += (int(stat[11]) + int(stat[12])) / tick  # utime + stime
    return total


def _rate_and_cpu(pid: int, base_url: str, path: str, body: bytes, count: int, **auth: str) -> tuple[float, float]:
    """Requests per second (64 connections) and the server's CPU milliseconds per request."""
    used = cpu_s(pid)
    rate = asyncio.run(_post_rate(base_url, path, body, count, 64, **auth))
    return rate, (cpu_s(pid) - used) * 1000 / count


async def _post_rate(base_url: str, path: str, body: bytes, count: int, concurrency: int, **auth: str) -> float:
    """Requests per second answered 202, `count` of them over `concurrency` connections."""
    connections = [await Connection.open(base_url, auth or None) for _ in range(concurrency)]
    queue = iter(range(count))

    async def worker(connection: Connection) -> None:
        for _ in queue:
            if path == "/api/v1/intakes":
                await submit(connection, body, key=f"bench-{uuid.uuid4()}")
            else:
                status, answer = await connection.post_json(path, body)
                if status != 202:
                    raise RuntimeError(f"bare endpoint answered {status}: {answer[:200]!r}")

    started = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in connections))
    elapsed = time.perf_counter() - started
    for c in connections:
        await c.close()
    return count / elapsed


def bare_rate(body: bytes, count: int) -> tuple[float, float]:
    """The bare endpoint's requests per second and CPU milliseconds per request."""
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "granian", "--interface", "asgi", "--factory", "--loop", "uvloop", "--host",
         "127.0.0.1", "--port", str(port), "--workers", "1", "--no-ws", "infra.gateway_bench:bare_app"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.post(f"{url}{BARE_PATH}", content=body, headers={"Content-Type": "application/json"}, timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        asyncio.run(_post_rate(url, BARE_PATH, body, min(count, 500), 64))  # warm up
        return _rate_and_cpu(server.pid, url, BARE_PATH, body, count)
    finally:
        server.terminate()
        server.wait(10)


async def _list_pages(gateway: str, auth: dict[str, str], unit: str, pages: int, rounds: int) -> dict[str, float]:
    connection = await Connection.open(gateway, auth)
    timings: list[float] = []
    total = 0
    try:
        for _ in range(rounds):
            for page in range(pages):
                started = time.perf_counter()
                status, body = await connection.get(
                    f"/api/v1/issues/?unit={unit}&scope=received&limit=50&offset={page * 50}"
                )
                timings.append((time.perf_counter() - started) * 1000)
                if status != 200:
                    raise RuntimeError(f"work list answered {status}: {body[:200]!r}")
                total = int(body.split(b'"total":', 1)[1].split(b",", 1)[0])
    finally:
        await connection.close()
    timings.sort()
    return {
        "issues_listed": total,
        "pages": len(timings),
        "p50_ms": timings[len(timings) // 2],
        "p95_ms": timings[int(len(timings) * 0.95) - 1],
        "max_ms": timings[-1],
    }


# What consumes the submissions downstream of the gateway: paused while the gateway alone is measured
DOWNSTREAM = ("intake", "triage", "referral", "feedback", "oversight", "gateway-projector", "archiver", "registry")


def gateway_figures(platform: Platform, body: bytes, unit: str, count: int) -> dict[str, object]:
    """Run after the intake figures, so the unit has received well over 1,000 issues. Signs in as the
    platform's first administrator (a station account would pass the same checks).

    The full stack is measured twice: with the whole platform digesting what it takes in (every intake
    then costs the two cores triage, the projector, oversight, … as well), and with the parts downstream
    of the gateway paused, which is the gateway's own cost beside the bare endpoint's."""
    gateway = platform.gateway_url
    signed_in = httpx.post(
        f"{gateway}/api/v1/auth/sign-in", json={"login": ADMIN, "password": platform.admin_password}, timeout=30
    )
    auth = {"Authorization": f"Bearer {signed_in.json()['token']}"}
    pages = asyncio.run(_list_pages(gateway, auth, unit, pages=20, rounds=5))  # the first 1,000 issues, 5 times
    busy = asyncio.run(_post_rate(gateway, "/api/v1/intakes", body, count, 64, **auth))
    for name in DOWNSTREAM:
        if name in platform.parts:
            platform.parts[name].stop()
    gateway_pid = platform.parts["gateway"].process.pid  # type: ignore[union-attr]
    alone, alone_cpu_ms = _rate_and_cpu(gateway_pid, gateway, "/api/v1/intakes", body, count, **auth)
    bare, bare_cpu_ms = bare_rate(body, count)
    return {
        "intake_full_stack_per_s": alone,
        "intake_full_stack_platform_busy_per_s": busy,
        "bare_litestar_per_s": bare,
        "full_vs_bare": alone / bare,
        "intake_full_stack_cpu_ms": alone_cpu_ms,  # the gateway's CPU per intake, downstream paused
        "bare_litestar_cpu_ms": bare_cpu_ms,
        "full_vs_bare_by_cpu": bare_cpu_ms / alone_cpu_ms,
        "list_pages": pages,
    }


def main() -> None:
    """`python -m infra.gateway_bench`: only these figures, on a platform of their own (small demo district);
    `make bench` runs them after its intake figures instead."""
    import json
    import tempfile
    from pathlib import Path

    from infra.runtime.demo import load_demo_registry
    from infra.runtime.platform import Ports
    from services.registry.demo import demo_district

    body = json.dumps(
        {"channel": "online", "station_code": "610902001001", "kind": "problem", "text": "村口道路破损，雨天积水" * 8},
        ensure_ascii=False,
    ).encode()
    with tempfile.TemporaryDirectory(prefix="bench-") as var, Platform(Path(var), Ports.free()) as p:
        load_demo_registry(p.gateway_url, demo_district("small"), admin_password=p.admin_password)
        signed_in = httpx.post(
            f"{p.gateway_url}/api/v1/auth/sign-in", json={"login": ADMIN, "password": p.admin_password}, timeout=30
        )
        auth = {"Authorization": f"Bearer {signed_in.json()['token']}"}
        asyncio.run(_post_rate(p.gateway_url, "/api/v1/intakes", body, ISSUES, 64, **auth))  # issues to list
        time.sleep(10)  # let the read model take them in
        print(json.dumps(gateway_figures(p, body, "610902001001", 3000), indent=2))


if __name__ == "__main__":
    main()
