"""Browser libraries are taken from the npm registry only if their bytes are the pinned ones, and only
the files named are unpacked (no network here: a tarball is built in the test)."""

from __future__ import annotations

import base64
import hashlib
import io
import tarfile
from pathlib import Path

import pytest

from infra.web_assets import ECHARTS, STAMP, Asset, IntegrityError, check_integrity, extract, install


def tgz(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


def integrity_of(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


PACKAGE = {
    "package/dist/echarts.min.js": b"/* echarts */ var echarts = {};",
    "package/dist/echarts.js": b"/* the unminified build: not wanted */",
    "package/LICENSE": b"Apache License 2.0",
    "package/NOTICE": b"Apache ECharts",
    "package/package.json": b"{}",
    "package/index.js": b"export {};",
}
MEMBERS = ("package/dist/echarts.min.js", "package/LICENSE", "package/NOTICE")


def test_the_integrity_check_passes_the_pinned_bytes_and_refuses_tampered_ones() -> None:
    data = tgz(PACKAGE)
    check_integrity(data, integrity_of(data))
    tampered = data[:-1] + bytes([data[-1] ^ 1])
    with pytest.raises(IntegrityError, match="checksum mismatch"):
        check_integrity(tampered, integrity_of(data))
    with pytest.raises(IntegrityError, match="sha512"):
        check_integrity(data, "sha1-" + base64.b64encode(hashlib.sha1(data).digest()).decode())


def test_extraction_takes_only_the_named_files_and_nothing_else(tmp_path: Path) -> None:
    written = extract(tgz(PACKAGE), MEMBERS, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["LICENSE", "NOTICE", "echarts.min.js"]
    assert sorted(written) == sorted(tmp_path.iterdir())
    assert (tmp_path / "echarts.min.js").read_bytes() == PACKAGE["package/dist/echarts.min.js"]


def test_a_tarball_without_a_named_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(IntegrityError, match="no package/NOTICE"):
        extract(tgz({k: v for k, v in PACKAGE.items() if k != "package/NOTICE"}), MEMBERS, tmp_path)


def test_install_writes_the_files_and_a_stamp_then_does_nothing_the_second_time(tmp_path: Path) -> None:
    data = tgz(PACKAGE)
    asset = Asset(name="echarts", version="9.9.9", integrity=integrity_of(data), members=MEMBERS)
    fetched: list[str] = []

    def fetch(url: str) -> bytes:
        fetched.append(url)
        return data

    assert install(asset, tmp_path, fetch) is True
    assert fetched == ["https://registry.npmjs.org/echarts/-/echarts-9.9.9.tgz"]
    assert sorted(p.name for p in (tmp_path / "echarts").iterdir()) == [STAMP, "LICENSE", "NOTICE", "echarts.min.js"]
    assert install(asset, tmp_path, fetch) is False
    assert len(fetched) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["echarts"]  # no scratch directory left behind


def test_a_tampered_download_fails_loudly_and_leaves_the_installed_version_alone(tmp_path: Path) -> None:
    good = tgz(PACKAGE)
    old = Asset(name="echarts", version="1.0.0", integrity=integrity_of(good), members=MEMBERS)
    install(old, tmp_path, lambda _: good)
    new = Asset(name="echarts", version="2.0.0", integrity=integrity_of(good), members=MEMBERS)
    evil = tgz({**PACKAGE, "package/dist/echarts.min.js": b"steal()"})
    with pytest.raises(IntegrityError):
        install(new, tmp_path, lambda _: evil)
    assert (tmp_path / "echarts" / STAMP).read_text() == old.stamp
    assert (tmp_path / "echarts" / "echarts.min.js").read_bytes() == PACKAGE["package/dist/echarts.min.js"]


def test_echarts_is_pinned_to_a_sha512_from_the_npm_registry() -> None:
    assert ECHARTS.url == f"https://registry.npmjs.org/echarts/-/echarts-{ECHARTS.version}.tgz"
    assert ECHARTS.integrity.startswith("sha512-")
    assert len(base64.b64decode(ECHARTS.integrity.removeprefix("sha512-"))) == 64
    assert "package/dist/echarts.min.js" in ECHARTS.members
