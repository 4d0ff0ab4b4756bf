"""Independent checks of a wheel file, using tools other than the one that wrote it."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

from packaging.tags import parse_tag
from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import Version


def dist_info_dir(archive: zipfile.ZipFile) -> str:
    """The one `.dist-info` directory of the wheel."""
    tops = {name.split("/", 1)[0] for name in archive.namelist()}
    dist_infos = sorted(t for t in tops if t.endswith(".dist-info"))
    assert len(dist_infos) == 1, f"expected one .dist-info, found {dist_infos}"
    return dist_infos[0]


def read_metadata(wheel: Path):
    """The wheel's METADATA as an email Message."""
    with zipfile.ZipFile(wheel) as archive:
        text = archive.read(f"{dist_info_dir(archive)}/METADATA").decode("utf-8")
    return Parser().parsestr(text)


def read_wheel_file(wheel: Path) -> list[tuple[str, str]]:
    """The (key, value) lines of the wheel's WHEEL file."""
    with zipfile.ZipFile(wheel) as archive:
        text = archive.read(f"{dist_info_dir(archive)}/WHEEL").decode("utf-8")
    return [
        tuple(part.strip() for part in line.split(":", 1)) for line in text.splitlines() if line
    ]


def verify_record(wheel: Path) -> list[str]:
    """Checks RECORD lists every member exactly once with a correct sha256 and size.

    Returns:
        The member names.
    """
    with zipfile.ZipFile(wheel) as archive:
        assert archive.testzip() is None, f"{wheel}: a member fails its CRC check"
        names = archive.namelist()
        assert len(names) == len(set(names)), f"{wheel}: duplicate members"
        record_name = f"{dist_info_dir(archive)}/RECORD"
        rows = list(csv.reader(io.StringIO(archive.read(record_name).decode("utf-8"))))
        recorded = {row[0]: row for row in rows}
        assert len(recorded) == len(rows), "RECORD lists a path twice"
        assert set(recorded) == set(names), (
            f"RECORD and archive differ: only in RECORD {set(recorded) - set(names)}, "
            f"only in archive {set(names) - set(recorded)}"
        )
        for name in names:
            _, digest, size = recorded[name]
            if name == record_name:
                assert (digest, size) == ("", ""), "RECORD must not hash itself"
                continue
            data = archive.read(name)
            algorithm, _, encoded = digest.partition("=")
            assert algorithm == "sha256", f"{name}: RECORD uses {algorithm}"
            expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            assert encoded == expected, f"{name}: RECORD hash mismatch"
            assert int(size) == len(data), f"{name}: RECORD size mismatch"
    return names


def check_wheel(wheel: Path) -> None:
    """Runs every standards check on a wheel; raises AssertionError on a problem."""
    name, version, _, tags = parse_wheel_filename(wheel.name)
    metadata = read_metadata(wheel)
    assert canonicalize_name(metadata["Name"]) == name
    assert Version(metadata["Version"]) == version
    assert str(version) == metadata["Version"], "METADATA version is not normalized"
    wheel_lines = read_wheel_file(wheel)
    declared = {tag for key, value in wheel_lines if key == "Tag" for tag in parse_tag(value)}
    assert declared == set(tags), f"WHEEL Tag lines {declared} != file name tags {set(tags)}"
    purelib = dict(wheel_lines)["Root-Is-Purelib"]
    pure = all(t.platform == "any" for t in tags)
    assert purelib == ("true" if pure else "false")
    names = verify_record(wheel)
    dist_info = f"{wheel.name.split('-')[0]}-{wheel.name.split('-')[1]}.dist-info/"
    assert names[-1] == dist_info + "RECORD", "RECORD must be the last member"
    for tool in (["twine", "check", "--strict"], ["check_wheel_contents"]):
        result = subprocess.run(
            [sys.executable, "-m", *tool, str(wheel)], capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, f"{' '.join(tool)} failed:\n{result.stdout}\n{result.stderr}"


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()
