"""repair_wheel on real gcc-built libraries, with the pinned patchelf.

Each wheel ships ``pkg/libuser.so``, which needs ``libdep.so.1``, which needs
``libleaf.so.1``; neither is allowed by any manylinux policy. What the repair
writes is checked with readelf (binutils), hashlib, zipfile and by loading the
installed copy in a fresh process with the originals deleted.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from .helpers import verify_record

PATCHELF = Path(sys.executable).parent / "patchelf"
REPAIR = [sys.executable, str(Path(__file__).resolve().parents[2] / "tools" / "repair_wheel.py")]

pytestmark = pytest.mark.skipif(
    not (shutil.which("gcc") and shutil.which("readelf") and PATCHELF.exists()),
    reason="needs gcc, readelf and the test venv's patchelf",
)

INPUT = "pkg-1.0-py3-none-linux_x86_64.whl"
OUTPUT = "pkg-1.0-py3-none-manylinux_2_17_x86_64.whl"


def _gcc(out: Path, source: str, *flags: str) -> Path:
    c = out.with_suffix(".c")
    c.write_text(source)
    subprocess.run(
        ["gcc", "-shared", "-fPIC", "-O1", "-o", str(out), str(c), *flags],
        check=True,
        capture_output=True,
    )
    return out


@pytest.fixture
def libs(tmp_path: Path) -> dict[str, Path]:
    """libleaf.so.1 <- libdep.so.1 <- libuser.so, built in tmp_path/build."""
    build = tmp_path / "build"
    build.mkdir()
    leaf = _gcc(build / "libleaf.so", "int leaf(void) { return 40; }\n", "-Wl,-soname,libleaf.so.1")
    dep = _gcc(
        build / "libdep.so",
        "int leaf(void);\nint dep(void) { return leaf() + 2; }\n",
        "-Wl,-soname,libdep.so.1",
        f"-L{build}",
        "-l:libleaf.so",
        f"-Wl,-rpath,{build}",
    )
    user = _gcc(
        build / "libuser.so",
        "int dep(void);\nint answer(void) { return dep(); }\n",
        f"-L{build}",
        "-l:libdep.so",
    )
    return {"leaf": leaf, "dep": dep, "user": user}


def _wheel(directory: Path, user: Path) -> Path:
    """A linux_x86_64 wheel holding ``user`` as pkg/libuser.so."""
    directory.mkdir(parents=True, exist_ok=True)
    wheel = directory / INPUT
    record = []
    with zipfile.ZipFile(wheel, "w") as archive:
        members = {
            "pkg/__init__.py": b"",
            "pkg/libuser.so": user.read_bytes(),
            "pkg-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: pkg\nVersion: 1.0\n",
            "pkg-1.0.dist-info/WHEEL": (
                b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: false\n"
                b"Tag: py3-none-linux_x86_64\n"
            ),
        }
        for name, data in members.items():
            archive.writestr(name, data)
            digest = hashlib.sha256(data).digest()
            encoded = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
            record.append(f"{name},sha256={encoded},{len(data)}")
        record.append("pkg-1.0.dist-info/RECORD,,")
        archive.writestr("pkg-1.0.dist-info/RECORD", "\n".join(record) + "\n")
    return wheel


def _repair(wheel: Path, output: Path, *args: str, check: bool = True):
    command = [
        *REPAIR,
        "--wheel",
        str(wheel),
        "--output",
        str(output),
        "--platform-tag",
        "manylinux_2_17_x86_64",
        "--patchelf",
        str(PATCHELF),
        "--target",
        "//pkg:repaired",
        *args,
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def _dynamic(path: Path) -> dict[str, list[str]]:
    out = subprocess.run(
        ["readelf", "-d", str(path)], check=True, capture_output=True, text=True
    ).stdout
    found: dict[str, list[str]] = {}
    for line in out.splitlines():
        for tag in ("NEEDED", "SONAME", "RUNPATH", "RPATH"):
            if f"({tag})" in line:
                found.setdefault(tag, []).append(line.rsplit("[", 1)[1].rstrip("]"))
    return found


def _short_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:8]


def test_grafts_transitively_under_hashed_names_and_loads_without_the_originals(
    tmp_path: Path, libs: dict[str, Path]
) -> None:
    wheel = _wheel(tmp_path / "in", libs["user"])
    output = tmp_path / "out" / OUTPUT
    _repair(wheel, output, "--library", str(libs["dep"]), "--library", str(libs["leaf"]))

    dep_name = f"libdep-{_short_hash(libs['dep'])}.so.1"
    leaf_name = f"libleaf-{_short_hash(libs['leaf'])}.so.1"
    with zipfile.ZipFile(output) as archive:
        names = set(archive.namelist())
        wheel_text = archive.read("pkg-1.0.dist-info/WHEEL").decode()
    assert {f"pkg.libs/{dep_name}", f"pkg.libs/{leaf_name}"} <= names
    assert "Tag: py3-none-manylinux_2_17_x86_64" in wheel_text.splitlines()
    assert "linux_x86_64" not in wheel_text.replace("manylinux_2_17_x86_64", "")
    verify_record(output)

    site = tmp_path / "site"
    with zipfile.ZipFile(output) as archive:
        archive.extractall(site)
    user = _dynamic(site / "pkg" / "libuser.so")
    assert dep_name in user["NEEDED"] and "libdep.so.1" not in user["NEEDED"]
    assert user["RUNPATH"] == ["$ORIGIN/../pkg.libs"]
    dep = _dynamic(site / "pkg.libs" / dep_name)
    assert dep["SONAME"] == [dep_name]
    assert leaf_name in dep["NEEDED"]
    # The build directory's absolute RUNPATH is gone; $ORIGIN finds the sibling.
    assert dep["RUNPATH"] == ["$ORIGIN"]
    assert "RUNPATH" not in _dynamic(site / "pkg.libs" / leaf_name)

    shutil.rmtree(libs["user"].parent)
    probe = (
        "import ctypes, sys; lib = ctypes.CDLL(sys.argv[1]); print(lib.answer());"
        "print(open('/proc/self/maps').read())"
    )
    env = {"PATH": os.environ["PATH"], "LD_LIBRARY_PATH": ""}
    run = subprocess.run(
        [sys.executable, "-c", probe, str(site / "pkg" / "libuser.so")],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    assert run.stdout.splitlines()[0] == "42"
    assert str(site / "pkg.libs" / dep_name) in run.stdout


def test_same_bytes_from_another_directory_and_another_run(
    tmp_path: Path, libs: dict[str, Path]
) -> None:
    first = tmp_path / "a" / OUTPUT
    _repair(
        _wheel(tmp_path / "in", libs["user"]),
        first,
        "--library",
        str(libs["dep"]),
        "--library",
        str(libs["leaf"]),
    )
    moved = tmp_path / "elsewhere" / "deeper"
    shutil.copytree(libs["user"].parent, moved)
    second = tmp_path / "b" / OUTPUT
    _repair(
        _wheel(tmp_path / "in2", moved / "libuser.so"),
        second,
        "--library",
        str(moved / "libleaf.so"),
        "--library",
        str(moved / "libdep.so"),
    )
    assert first.read_bytes() == second.read_bytes()


def test_takes_libraries_from_the_search_dirs_in_order(
    tmp_path: Path, libs: dict[str, Path]
) -> None:
    sysroot = tmp_path / "sysroot" / "usr" / "lib" / "x86_64-linux-gnu"
    sysroot.mkdir(parents=True)
    shutil.copy(libs["dep"], sysroot / "libdep.so.1")
    shutil.copy(libs["leaf"], sysroot / "libleaf.so.1")
    output = tmp_path / "out" / OUTPUT
    report = tmp_path / "report.json"
    _repair(
        _wheel(tmp_path / "in", libs["user"]),
        output,
        "--search-dir",
        str(tmp_path / "empty"),
        "--search-dir",
        str(sysroot),
        "--sysroot",
        str(tmp_path / "sysroot"),
        "--report",
        str(report),
    )
    grafted = json.loads(report.read_text())["grafted"]
    assert [g["soname"] for g in grafted] == ["libdep.so.1", "libleaf.so.1"]
    # The report names no absolute path of the machine.
    assert grafted[0]["from"] == "sysroot: <sysroot>/usr/lib/x86_64-linux-gnu/libdep.so.1"
    assert grafted[0]["needed_by"] == ["pkg/libuser.so"]
    assert grafted[1]["needed_by"] == ["pkg.libs/libdep.so.1 (grafted)"]


def test_a_library_found_nowhere_is_named_with_the_places_looked(
    tmp_path: Path, libs: dict[str, Path]
) -> None:
    output = tmp_path / "out" / OUTPUT
    output.parent.mkdir()
    result = _repair(
        _wheel(tmp_path / "in", libs["user"]),
        output,
        "--library",
        str(libs["leaf"]),
        check=False,
    )
    assert result.returncode == 2
    message = result.stderr.strip()
    assert "\n" not in message and "Traceback" not in message
    assert message.startswith(
        "repair_wheel: error: //pkg:repaired: libdep.so.1, needed by pkg/libuser.so"
    )
    assert "`libraries` (libleaf.so.1)" in message
    assert "no sysroot" in message and "`exclude`" in message
    assert not output.exists()
    assert list(output.parent.iterdir()) == []


def test_excluded_libraries_stay_external(tmp_path: Path, libs: dict[str, Path]) -> None:
    output = tmp_path / "out" / OUTPUT
    _repair(_wheel(tmp_path / "in", libs["user"]), output, "--exclude", "libdep.so*")
    with zipfile.ZipFile(output) as archive:
        assert not [n for n in archive.namelist() if n.startswith("pkg.libs/")]
        (tmp_path / "libuser.so").write_bytes(archive.read("pkg/libuser.so"))
    assert _dynamic(tmp_path / "libuser.so")["NEEDED"] == ["libdep.so.1"]


def test_a_result_that_misses_its_tag_is_not_written(tmp_path: Path) -> None:
    """memcpy@GLIBC_2.14 in a grafted library: no manylinux_2_5 wheel."""
    build = tmp_path / "build"
    build.mkdir()
    dep = _gcc(
        build / "libdep.so",
        "#include <string.h>\n"
        "void dep(char *d, const char *s, unsigned long n) { memcpy(d, s, n); }\n",
        "-Wl,-soname,libdep.so.1",
    )
    user = _gcc(
        build / "libuser.so",
        "void dep(char *, const char *, unsigned long);\n"
        "void answer(char *d, const char *s) { dep(d, s, 3); }\n",
        f"-L{build}",
        "-l:libdep.so",
    )
    output = tmp_path / "out" / "pkg-1.0-py3-none-manylinux_2_5_x86_64.whl"
    command_tag = ["--platform-tag", "manylinux_2_5_x86_64"]
    result = subprocess.run(
        [
            *REPAIR,
            "--wheel",
            str(_wheel(tmp_path / "in", user)),
            "--output",
            str(output),
            *command_tag,
            "--patchelf",
            str(PATCHELF),
            "--library",
            str(dep),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2, result.stdout
    assert "still does not meet its tag" in result.stderr
    assert "GLIBC_2.14" in result.stderr
    assert not output.exists()


def test_bad_requests_get_one_line(tmp_path: Path, libs: dict[str, Path]) -> None:
    wheel = _wheel(tmp_path / "in", libs["user"])
    cases = {
        ("--lib-sdir", "a/b"): "lib_sdir 'a/b' must be a non-empty name without '/'",
        ("--platform-tag", "manylinux_2_17_aarch64"): "is a tag for aarch64",
        ("--platform-tag", "linux_x86_64"): "cannot repair for linux_x86_64",
    }
    for args, expected in cases.items():
        result = _repair(wheel, tmp_path / "out" / OUTPUT, *args, check=False)
        assert result.returncode == 2, args
        assert expected in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
