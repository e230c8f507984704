"""Retention: deletes a partition's oldest whole segments past the cutoff, anchoring the chain where they end."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import msgspec

from infra.archive.segments import (
    ANCHOR_FILE,
    Anchor,
    Entry,
    all_segments,
    decode_entry,
    fsync_dir,
    iter_frames,
    list_partitions,
    live_segments,
    read_anchor,
    segment_first_offset,
)

log = logging.getLogger(__name__)
DEFAULT_RETENTION_DAYS = 190  # the requirement is at least six months
_DAY_MS = 24 * 3600 * 1000


class PruneReport(msgspec.Struct):
    partitions: int = 0
    deleted_segments: int = 0
    deleted_bytes: int = 0


def prune(root: Path | str, retention_days: int = DEFAULT_RETENTION_DAYS, now_ms: int | None = None) -> PruneReport:
    """Delete segments whose newest record is older than the retention; never a partition's last segment.

    The caller holds the archive's writer lock (the archiver prunes between its own flushes)."""
    cutoff = (int(time.time() * 1000) if now_ms is None else now_ms) - retention_days * _DAY_MS
    report = PruneReport()
    for _, _, directory in list_partitions(Path(root)):
        report.partitions += 1
        _delete_leftovers(report, directory)
        _prune_partition(report, directory, cutoff)
    return report


def _prune_partition(report: PruneReport, directory: Path, cutoff: int) -> None:
    segments = live_segments(directory)
    expired: list[tuple[Path, Entry]] = []
    for segment in segments[:-1]:  # oldest first; the chain may only lose its beginning
        newest, last = _newest_and_last(segment)
        if last is None or newest >= cutoff:
            break
        expired.append((segment, last))
    if not expired:
        return
    last = expired[-1][1]
    first_kept = segment_first_offset(segments[len(expired)])
    _write_anchor(directory, Anchor(last_offset=last.offset, last_hash=last.hash.hex(), first_kept=first_kept))
    for segment, _ in expired:
        _delete(report, segment)
    fsync_dir(directory)
    log.info(
        "pruned archive segments",
        extra={"partition_dir": str(directory), "segments": len(expired), "anchor_offset": last.offset},
    )


def _delete_leftovers(report: PruneReport, directory: Path) -> None:
    """Segments already behind the anchor: a prune that stopped between writing the anchor and deleting."""
    anchor = read_anchor(directory)
    if anchor is None:
        return
    leftovers = [s for s in all_segments(directory) if segment_first_offset(s) < anchor.first_kept]
    for segment in leftovers:
        _delete(report, segment)
    if leftovers:
        fsync_dir(directory)


def _newest_and_last(segment: Path) -> tuple[int, Entry | None]:
    newest, last = -1, None
    for _, payload in iter_frames(segment):
        last = decode_entry(payload)
        newest = max(newest, last.timestamp_ms)
    return newest, last


def _delete(report: PruneReport, segment: Path) -> None:
    report.deleted_bytes += segment.stat().st_size
    report.deleted_segments += 1
    segment.unlink()


def _write_anchor(directory: Path, anchor: Anchor) -> None:
    """Atomically: a temporary file, fsynced, renamed over the old anchor, and the directory fsynced."""
    temporary = directory / f"{ANCHOR_FILE}.tmp"
    with open(temporary, "wb") as out:
        out.write(msgspec.json.encode(anchor))
        out.flush()
        os.fsync(out.fileno())
    temporary.replace(directory / ANCHOR_FILE)
    fsync_dir(directory)
