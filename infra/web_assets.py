"""Third-party browser code for the web interface, fetched at install time from the npm registry (never a CDN).

Each asset is one npm package tarball at a pinned version, checked against the registry's pinned
`dist.integrity` (SHA-512, Subresource Integrity form) before anything is unpacked. Only the files named
are taken, flattened into `gateway/web/vendor/<name>/`; a stamp file records the version and integrity, so
a second run with the same pin does nothing. A checksum mismatch stops with an error and writes nothing.

`python -m infra.web_assets` (the Makefile's install step runs it). Proxy settings come from the
environment (`https_proxy`, `no_proxy`), which urllib honours.
"""

from __future__ import annotations

import base64
import hashlib
import io
import shutil
import sys
import tarfile
import tempfile
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

VENDOR: Final = Path(__file__).resolve().parent.parent / "gateway" / "web" / "vendor"
REGISTRY: Final = "https://registry.npmjs.org"
STAMP: Final = ".installed"
MAX_TARBALL_BYTES: Final = 64 * 1024 * 1024


class IntegrityError(RuntimeError):
    """The downloaded bytes are not the ones pinned."""


@dataclass(frozen=True)
class Asset:
    name: str  # the npm package
    version: str
    integrity: str  # the registry metadata's dist.integrity: "sha512-<base64>"
    members: tuple[str, ...]  # paths inside the tarball to keep (their base names must differ)

    @property
    def url(self) -> str:
        return f"{REGISTRY}/{self.name}/-/{self.name}-{self.version}.tgz"

    @property
    def stamp(self) -> str:
        return f"{self.name}@{self.version} {self.integrity}\n"


# Apache ECharts: dist/echarts.min.js is the whole library (zrender bundled). Apache-2.0 asks that the
# LICENSE and NOTICE travel with it.
ECHARTS: Final = Asset(
    name="echarts",
    version="6.1.0",
    integrity="sha512-q0yaFPggC9FUdsWH4blavRWFmxdrIodbkoKNAjJudAI6CA9gNPxHtV2RcZNEepZVlk4yvBYkOkbk6HIVpIyHZA==",
    members=("package/dist/echarts.min.js", "package/LICENSE", "package/NOTICE"),
)
ASSETS: Final = (ECHARTS,)


def check_integrity(data: bytes, integrity: str) -> None:
    """Raise IntegrityError unless `data` has the SHA-512 digest that `integrity` ("sha512-<base64>") names."""
    algorithm, _, expected = integrity.partition("-")
    if algorithm != "sha512" or not expected:
        raise IntegrityError(f"integrity {integrity!r}: only sha512-<base64> is accepted")
    actual = base64.b64encode(hashlib.sha512(data).digest()).decode("ascii")
    if actual != expected:
        raise IntegrityError(f"checksum mismatch: expected sha512-{expected}, got sha512-{actual}")


def extract(data: bytes, members: tuple[str, ...], target: Path) -> list[Path]:
    """Write exactly `members` of the gzipped tarball into `target` (flat, by base name); nothing else.
    Raises IntegrityError if one is missing or is not a regular file."""
    written = []
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        for member in members:
            try:
                info = archive.getmember(member)
            except KeyError:
                raise IntegrityError(f"the tarball has no {member}") from None
            source = archive.extractfile(info) if info.isreg() else None
            if source is None:
                raise IntegrityError(f"{member} in the tarball is not a regular file")
            path = target / Path(member).name
            path.write_bytes(source.read())
            written.append(path)
    return written


def is_installed(asset: Asset, vendor: Path = VENDOR) -> bool:
    stamp = vendor / asset.name / STAMP
    return stamp.is_file() and stamp.read_text("utf-8") == asset.stamp


def download(url: str, timeout_s: float = 120) -> bytes:
    request = urllib.request.Request(url, headers={"User-Agent": "deputies-platform-web-assets"})
    with urllib.request.urlopen(request, timeout=timeout_s) as response:
        data = response.read(MAX_TARBALL_BYTES + 1)
    if len(data) > MAX_TARBALL_BYTES:
        raise IntegrityError(f"{url} is larger than {MAX_TARBALL_BYTES} bytes")
    return data


def install(asset: Asset, vendor: Path = VENDOR, fetch: Callable[[str], bytes] | None = None) -> bool:
    """Put the asset's files in `vendor/<name>/` unless the pinned version is already there.
    Returns whether it did anything. The directory is replaced whole, only after the check passed."""
    if is_installed(asset, vendor):
        return False
    data = (fetch or download)(asset.url)
    check_integrity(data, asset.integrity)
    vendor.mkdir(parents=True, exist_ok=True)
    final = vendor / asset.name
    with tempfile.TemporaryDirectory(dir=vendor, prefix=f".{asset.name}-") as scratch:
        staged = Path(scratch) / asset.name
        staged.mkdir()
        extract(data, asset.members, staged)
        (staged / STAMP).write_text(asset.stamp, "utf-8")
        if final.exists():
            shutil.rmtree(final)
        staged.rename(final)
    return True


def main() -> None:
    for asset in ASSETS:
        try:
            changed = install(asset)
        except (IntegrityError, OSError) as exc:
            sys.exit(f"web assets: {asset.name}@{asset.version} from {asset.url}: {exc}")
        where = VENDOR / asset.name
        print(f"web assets: {asset.name}@{asset.version} {'installed in' if changed else 'already in'} {where}")


if __name__ == "__main__":
    main()
