"""Repairs a segment's end after a crash: a torn or unreadable tail is cut off and kept aside in a `.torn` file."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import msgspec

from infra.archive.segments import (
    QUARANTINE_SUFFIX,
    Entry,
    FrameError,
    decode_entry,
    entry_is_sound,
    fsync_dir,
    iter_frames,
)

log = logging.getLogger(__name__)


def recover_tail(segment: Path) -> Entry | None:
    """The segment's last sound entry; a torn or unreadable end is first moved aside into a `.torn` file."""
    while True:
        last: tuple[int, bytes] | None = None
        try:
            for last in iter_frames(segment):  # noqa: B007 - only the last frame is wanted
                pass
        except FrameError as exc:
            _quarantine(segment, exc.position, exc.problem)
        if last is None:
            return None
        try:
            entry = decode_entry(last[1])
        except msgspec.DecodeError:
            entry = None
        if entry is not None and entry_is_sound(entry):
            return entry
        _quarantine(segment, last[0], "last entry is undecodable or its hash does not match")


def _quarantine(segment: Path, position: int, problem: str) -> None:
    """Keep the damaged end for inspection, then cut the segment back to its last whole frame."""
    kept = segment.with_name(f"{segment.name}.{position}{QUARANTINE_SUFFIX}")
    with open(segment, "rb") as source, open(kept, "wb") as target:
        source.seek(position)
        shutil.copyfileobj(source, target)
        target.flush()
        os.fsync(target.fileno())
    size = segment.stat().st_size
    with open(segment, "r+b") as damaged:
        damaged.truncate(position)
        os.fsync(damaged.fileno())
    fsync_dir(segment.parent)
    log.warning(
        "archive segment had a torn or unreadable end: cut back and the end kept aside",
        extra={"segment": str(segment), "position": position, "bytes": size - position, "problem": problem},
    )
