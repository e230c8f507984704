"""The archive's command line: `python -m infra.archive verify|restore|prune|stats [--root var/archive] ...`."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable
from pathlib import Path

from infra.archive.prune import DEFAULT_RETENTION_DAYS, prune
from infra.archive.restore import RestoreRefused, archive_is_empty, broker_is_empty, restore
from infra.archive.segments import FrameError, iter_frames, list_partitions, live_segments
from infra.archive.verify import verify
from infra.archive.writer import ArchiveLock, ArchiveLocked


def run_verify(args: argparse.Namespace) -> int:
    report = verify(args.root)
    for broken in report.broken:
        offset = "unreadable entry" if broken.offset is None else f"offset {broken.offset}"
        print(f"BROKEN {broken.topic}:{broken.partition} {offset} in {broken.segment} at byte {broken.position}: "
              f"{broken.problem}")  # fmt: skip
    for kept in report.quarantined:
        print(f"note: a torn end was cut off and kept aside in {kept}")
    for tail in report.open_tails:
        print(f"note: the newest segment ends inside a frame (a write in progress or a crash): {tail}")
    verdict = "chain intact" if report.ok else f"{len(report.broken)} partition(s) broken"
    print(f"{report.partitions} partitions, {report.segments} segments, {report.entries} entries, "
          f"{report.bytes} bytes: {verdict}")  # fmt: skip
    return 0 if report.ok else 1


def run_restore(args: argparse.Namespace) -> int:
    if args.if_empty and (archive_is_empty(args.root) or not asyncio.run(broker_is_empty(args.bootstrap))):
        print("nothing to restore: the archive is empty or the broker already holds records")
        return 0
    try:
        report = asyncio.run(restore(args.root, args.bootstrap))
    except RestoreRefused as exc:
        print(f"restore refused: {exc}", file=sys.stderr)
        return 2
    for part in report.partitions:
        state = part.problem or "ok"
        print(f"{part.topic}:{part.partition} archived [{part.archived_first}, {part.archived_next}) sent {part.sent} "
              f"broker end {part.broker_end}: {state}")  # fmt: skip
    rate = report.records / report.seconds if report.seconds else 0.0
    print(f"restored {report.records} records into {len(report.partitions)} partitions in {report.seconds:.1f} s "
          f"({rate:,.0f}/s); topics created: {', '.join(report.topics_created) or 'none'}")  # fmt: skip
    return 1 if report.mismatches else 0


def run_prune(args: argparse.Namespace) -> int:
    try:
        lock = ArchiveLock(Path(args.root))
    except ArchiveLocked as exc:
        print(f"{exc}; a running archiver prunes every hour by itself", file=sys.stderr)
        return 2
    try:
        report = prune(args.root, args.retention_days)
    finally:
        lock.release()
    print(f"deleted {report.deleted_segments} segments ({report.deleted_bytes} bytes) "
          f"across {report.partitions} partitions, keeping {args.retention_days} days")  # fmt: skip
    return 0


def run_stats(args: argparse.Namespace) -> int:
    totals: dict[str, list[int]] = {}  # topic -> [partitions, records, bytes]
    for topic, _, directory in list_partitions(Path(args.root)):
        counts = totals.setdefault(topic, [0, 0, 0])
        counts[0] += 1
        for segment in live_segments(directory):
            counts[2] += segment.stat().st_size
            try:
                counts[1] += sum(1 for _ in iter_frames(segment))
            except FrameError:
                pass  # counted up to the damage; `verify` names it
    for topic, (partitions, records, size) in sorted(totals.items()):
        print(f"{topic}: {partitions} partitions, {records} records, {size} bytes")
    print(f"total: {sum(c[1] for c in totals.values())} records, {sum(c[2] for c in totals.values())} bytes")
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "verify": run_verify,
    "restore": run_restore,
    "prune": run_prune,
    "stats": run_stats,
}


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(prog="python -m infra.archive", description="The platform's event archive.")
    cli.add_argument("command", choices=sorted(COMMANDS))
    cli.add_argument("--root", default=os.environ.get("ARCHIVE_DIR", "var/archive"), help="the archive directory")
    cli.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP", "127.0.0.1:19092"), help="for restore")
    cli.add_argument("--if-empty", action="store_true", help="restore only into an empty broker, else do nothing")
    cli.add_argument("--retention-days", type=int, default=DEFAULT_RETENTION_DAYS, help="for prune")
    return cli


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return COMMANDS[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
