"""Restore speed: a synthetic archive of ~500-byte records over 8 partitions, restored into a fresh Tansu broker."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from infra.archive.restore import restore
from infra.archive.writer import ArchiveWriter
from infra.runtime.components import tansu_argv

BENCH_TOPIC = "archive-bench.restore.v1"
_CHUNK = 10_000


@dataclass(frozen=True)
class SyntheticRecord:
    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes | None], ...]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def running_tansu(timeout: float = 20.0) -> Iterator[str]:
    """A fresh, empty Tansu broker on a free loopback port; killed (its whole session) on exit."""
    port = free_port()
    broker = subprocess.Popen(
        tansu_argv(port), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + timeout
        while not _accepts(port):
            if broker.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the Tansu broker did not start on port {port}")
            time.sleep(0.05)
        yield f"127.0.0.1:{port}"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(broker.pid, signal.SIGKILL)
        broker.wait()


def _accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


def synthetic_records(start: int, count: int, now_ms: int) -> list[SyntheticRecord]:
    """Records shaped like the platform's: a 16-byte key, ~400 bytes of JSON-ish value, two headers."""
    body = b'{"type":"intake.issue_received.v1","text":"' + b"x" * 340 + b'"}'
    return [
        SyntheticRecord(
            offset,
            now_ms + offset,
            b"HB-202611-%06d" % (offset % 1_000_000),
            body,
            (("message-type", b"intake.issue_received.v1"), ("event-id", str(uuid.UUID(int=offset)).encode())),
        )
        for offset in range(start, start + count)
    ]


def write_synthetic_archive(root: Path, records: int, partitions: int = 8) -> None:
    now_ms = int(time.time() * 1000)
    with ArchiveWriter(root) as writer:
        for partition in range(partitions):
            share = records // partitions + (1 if partition < records % partitions else 0)
            for start in range(0, share, _CHUNK):
                writer.append(BENCH_TOPIC, partition, synthetic_records(start, min(_CHUNK, share - start), now_ms))
                writer.flush()


async def restore_rate(records: int = 1_000_000) -> dict[str, float | int]:
    """Write a synthetic archive of `records` records, restore it into a fresh broker, and measure."""
    with tempfile.TemporaryDirectory(prefix="archive-bench-") as scratch:
        root = Path(scratch) / "archive"
        started = time.perf_counter()
        write_synthetic_archive(root, records)
        written = time.perf_counter() - started
        size = sum(p.stat().st_size for p in root.rglob("*.seg"))
        with running_tansu() as bootstrap:
            report = await restore(root, bootstrap)
    return {
        "records": report.records,
        "archive_bytes": size,
        "archive_write_s": round(written, 2),
        "restore_s": round(report.seconds, 2),
        "restore_records_per_s": round(report.records / report.seconds),
        "mismatched_partitions": len(report.mismatches),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=1_000_000)
    print(json.dumps(asyncio.run(restore_rate(parser.parse_args().records)), indent=2))


if __name__ == "__main__":
    main()
