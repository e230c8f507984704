"""Child processes of the launcher: started in their own session, logged to a file, stopped in order."""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

_PR_SET_PDEATHSIG = 1
log = logging.getLogger(__name__)


def _die_with_parent() -> None:
    """In the child: if the launcher dies (even by kill -9), the kernel sends this part SIGTERM."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Part:
    """One process of the platform."""

    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    health_url: str | None = None
    log_path: Path | None = None
    process: subprocess.Popen[bytes] | None = None

    def start(self, cwd: Path) -> None:
        assert self.log_path is not None
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # the child keeps its own descriptor
        try:
            self.process = subprocess.Popen(
                self.argv,
                cwd=cwd,
                env={**os.environ, **self.env},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )
        finally:
            log.close()

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, lines: int = 15) -> str:
        if not self.log_path or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text("utf-8", "replace").splitlines()[-lines:])

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM, wait for a graceful exit, then SIGKILL the whole process group."""
        if not self.process:
            return
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                log.warning(f"{self.name} did not stop within {timeout:g} s; killing it", extra={"part": self.name})
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)  # granian workers and anything else left behind
        self.process.wait()
        _wait_group_gone(self.process.pid)

    def terminate(self) -> None:
        """Ask the part to stop (SIGTERM) without waiting."""
        if self.process and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        """kill -9, as a crash would."""
        if self.process and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            _wait_group_gone(self.process.pid)


def _wait_group_gone(group: int, timeout: float = 10.0) -> None:
    """Until every process of the group has exited: a granian worker still dying holds the port, and the
    part's next start would fail with "address already in use"."""

    wait_until(lambda: not _group_alive(group), timeout, interval=0.02)


def _group_alive(group: int) -> bool:
    """Is any process of the group still running? Zombies (exited, not yet reaped by init) hold no port."""
    proc = Path("/proc")
    if not proc.is_dir():
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return False
        return True
    for stat in proc.glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue  # exited while we looked
        if int(fields[2]) == group and fields[0] != "Z":
            return True
    return False


def stop_together(parts: list[Part], timeout: float) -> None:
    """SIGTERM all at once, then give each what is left of `timeout` before SIGKILL."""
    for part in parts:
        part.terminate()
    deadline = time.monotonic() + timeout
    for part in parts:
        part.stop(timeout=max(0.1, deadline - time.monotonic()))


def wait_until(predicate, timeout: float, interval: float = 0.1) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False
