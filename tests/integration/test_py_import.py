"""py_import and the wheel_dependency switch with real Bazel, and hostile wheels.

The fixture workspace (tests/fixtures/py_import) builds a wheel, imports it,
and runs the same test against its sources (default) and its wheel (switch
on). Hostile wheels, generated here, must fail the unpack action with their
specific message and write nothing outside the action's output directory,
which the builds prove without a sandbox (--spawn_strategy=local) so that an
escaping write would land in the output base for the scan to find.
"""

from __future__ import annotations

import base64
import hashlib
import os
import struct
import zlib
from pathlib import Path

import pytest

from .bazel_runner import REPO_ROOT

pytestmark = pytest.mark.integration

FIXTURE = REPO_ROOT / "tests" / "fixtures" / "py_import"
SWITCH = "--@rules_ml_wheels//python_wheel:wheel_dependency=true"
MARK = "PYIMPORT_ESCAPE"
DIST_INFO = "hostile-1.0.dist-info"


def _entry(name: str, data: bytes, *, mode: int = 0o100644, declared: int | None = None):
    return (name.encode(), data, mode, declared)


def _zip(entries) -> bytes:
    """A zip archive exactly as described (deflate; no sanitizing of anything)."""
    out, central = bytearray(), bytearray()
    for name, data, mode, declared in entries:
        compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
        payload = compressor.compress(data) + compressor.flush()
        size = len(data) if declared is None else declared
        crc = zlib.crc32(data)
        head = (20, 0x800, 8, 0, 0x21, crc, len(payload), size, len(name))
        central += struct.pack("<4sH", b"PK\x01\x02", 0x314)
        central += struct.pack("<HHHHHIIIH", *head) + struct.pack(
            "<HHHHIL", 0, 0, 0, 0, mode << 16, len(out)
        )
        central += name
        out += struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", *head, 0) + name + payload
    count = len(entries)
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, count, count, len(central), len(out), 0)
    return bytes(out + central + end)


def _wheel(
    files: dict[str, bytes],
    *,
    extra=(),
    lie: dict[str, bytes] | None = None,
    dist_info: str = DIST_INFO,
) -> bytes:
    """A wheel with a correct RECORD (or one hashing `lie`'s content instead)."""
    files = {
        **files,
        f"{dist_info}/METADATA": b"Metadata-Version: 2.1\nName: hostile\nVersion: 1.0\n",
        f"{dist_info}/WHEEL": b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    lines = []
    for path, data in files.items():
        hashed = (lie or {}).get(path, data)
        digest = base64.urlsafe_b64encode(hashlib.sha256(hashed).digest()).rstrip(b"=").decode()
        lines.append(f"{path},sha256={digest},{len(data)}\n")
    for name, data, _, declared in extra:
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        size = len(data) if declared is None else declared
        lines.append(f"{name.decode()},sha256={digest},{size}\n")
    lines.append(f"{dist_info}/RECORD,,\n")
    entries = [_entry(path, data) for path, data in files.items()]
    record = _entry(f"{dist_info}/RECORD", "".join(lines).encode())
    return _zip([*entries, *extra, record])


_GOOD = {"hostile/__init__.py": b"VALUE = 1\n"}


def _cases(absolute_target: Path) -> dict[str, tuple[bytes, str]]:
    """Case name -> (wheel bytes, the message the build must fail with).

    A case's wheel is `<case>-1.0-py3-none-any.whl`, so its .dist-info
    directory is `<case>-1.0.dist-info`, except where that is what is wrong.
    """

    def wheel(case: str, **kwargs) -> bytes:
        return _wheel(_GOOD, dist_info=f"{case}-1.0.dist-info", **kwargs)

    valid = wheel("truncated")
    return {
        "traversal": (
            wheel("traversal", extra=[_entry(f"../{MARK}_traversal.py", b"import os\n")]),
            f"entry '../{MARK}_traversal.py' has a '..' component",
        ),
        "absolute": (
            wheel("absolute", extra=[_entry(str(absolute_target), b"x")]),
            f"entry '{absolute_target}' is absolute",
        ),
        "symlink": (
            wheel("symlink", extra=[_entry(f"hostile/{MARK}_link", b"../../../..", mode=0o120777)]),
            f"entry 'hostile/{MARK}_link' is a symbolic link",
        ),
        "record_mismatch": (
            wheel("record_mismatch", lie={"hostile/__init__.py": b"VALUE = 2\n"}),
            "'hostile/__init__.py' does not match its sha256 in RECORD",
        ),
        "truncated": (
            valid[: len(valid) // 2],
            "no end of central directory record (truncated, or not a zip archive)",
        ),
        "duplicate": (
            wheel("duplicate", extra=[_entry("hostile/__init__.py", b"import evil\n")]),
            "entry 'hostile/__init__.py' appears twice",
        ),
        "zip_bomb": (
            wheel(
                "zip_bomb",
                extra=[_entry(f"hostile/{MARK}_bomb.bin", bytes(64 << 20), declared=1024)],
            ),
            f"entry 'hostile/{MARK}_bomb.bin' inflates beyond its declared size of 1024 bytes",
        ),
        "no_record": (
            _zip([_entry("hostile/__init__.py", b"VALUE = 1\n")]),
            "has no *.dist-info/RECORD to verify its files",
        ),
        # pip refuses both; unpacked, importlib.metadata would list a second distribution.
        "two_dist_infos": (
            wheel(
                "two_dist_infos", extra=[_entry("other-1.0.dist-info/METADATA", b"Name: other\n")]
            ),
            "has several .dist-info directories (other-1.0.dist-info, "
            "two_dist_infos-1.0.dist-info); a wheel has exactly one",
        ),
        "wrong_dist_info": (
            _wheel(_GOOD),
            "has the .dist-info directory 'hostile-1.0.dist-info', which does not match its "
            "file name (expected wrong_dist_info-1.0.dist-info); pip refuses such a wheel",
        ),
    }


_BUILD_HEADER = """\
# Generated by tests/integration/test_py_import.py.
load("@rules_ml_wheels//python_wheel:defs.bzl", "py_import")
"""

_TARGET = """
py_import(
    name = "{name}",
    tags = ["manual"],
    verify_record = {verify},
    wheel = "{wheel}",
)
"""


@pytest.fixture(scope="module")
def bazel(make_bazel):
    return make_bazel(FIXTURE, "py-import")


@pytest.fixture(scope="module")
def hostile(bazel, tmp_path_factory):
    """Writes the hostile package into the workspace copy; returns its cases."""
    absolute_target = tmp_path_factory.mktemp("absolute") / f"{MARK}_absolute.py"
    cases = _cases(absolute_target)
    package = bazel.workspace / "hostile"
    package.mkdir(exist_ok=True)
    build = [_BUILD_HEADER]
    for name, (data, _) in cases.items():
        (package / f"{name}-1.0-py3-none-any.whl").write_bytes(data)
        build.append(_TARGET.format(name=name, verify=True, wheel=f"{name}-1.0-py3-none-any.whl"))
    (package / "notes.txt").write_text("not a wheel\n")
    build.append(_TARGET.format(name="not_a_wheel", verify=True, wheel="notes.txt"))
    build.append(
        _TARGET.format(name="trusted", verify=False, wheel="no_record-1.0-py3-none-any.whl")
    )
    (package / "BUILD.bazel").write_text("".join(build))
    return cases, absolute_target


def test_tests_use_sources_by_default(bazel):
    result = bazel.run("test", "//...", "--symlink_prefix=/")
    assert "2 tests pass" in result.stdout + result.stderr


def test_tests_use_the_wheel_with_the_switch(bazel):
    bazel.run("test", "//...", "--symlink_prefix=/", SWITCH)
    # A python_wheel of the workspace is presented, not unpacked: the test's
    # runfiles hold its inputs at their wheel paths and its .dist-info.
    bin_dir = bazel.bin_dir(SWITCH)
    tree = bin_dir / "tests/switch_test.runfiles/py_import_fixture/mypkg/mypkg_import"
    init = tree / "mypkg" / "__init__.py"
    assert init.read_bytes() == (FIXTURE / "mypkg" / "__init__.py").read_bytes()
    assert (tree / "pyimport_fixture_mypkg-1.2.0.dist-info/RECORD").exists()
    query = bazel.run("aquery", SWITCH, "mnemonic(PyImportUnpack, //mypkg:mypkg_import)")
    assert "PyImportUnpack" not in query.stdout, query.stdout


def test_unpack_actions_are_named(bazel):
    result = bazel.run("aquery", "mnemonic(PyImportUnpack, //tests:combo_import)")
    assert result.stdout.count("Mnemonic: PyImportUnpack") == 3, result.stdout


def _no_escape(bazel, absolute_target: Path) -> None:
    assert not absolute_target.exists()
    strays, walked_bin = [], False
    for root, dirs, files in os.walk(bazel.output_base):
        walked_bin = walked_bin or root.endswith("/bazel-out/k8-fastbuild/bin/hostile")
        strays += [os.path.join(root, name) for name in dirs + files if MARK in name]
    assert walked_bin, "the scan must cover the directory a '..' entry would reach"
    assert strays == [], "files written outside the py_import output directory"


HOSTILE = [
    "traversal",
    "absolute",
    "symlink",
    "record_mismatch",
    "truncated",
    "duplicate",
    "zip_bomb",
    "no_record",
    "two_dist_infos",
    "wrong_dist_info",
]


@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_wheels_fail_with_their_message_and_write_nothing_outside(bazel, hostile, case):
    cases, absolute_target = hostile
    result = bazel.run(
        "build", f"//hostile:{case}", "--symlink_prefix=/", "--spawn_strategy=local", check=False
    )
    assert result.returncode != 0
    wheel = f"hostile/{case}-1.0-py3-none-any.whl"
    assert f"unpack_wheel: error: {wheel}: {cases[case][1]}" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert f"Unpacking wheel {case}-1.0-py3-none-any.whl for //hostile:{case}" in result.stderr
    output = bazel.bin_dir() / "hostile" / case
    assert not output.exists() or list(output.iterdir()) == []
    _no_escape(bazel, absolute_target)


def test_verify_record_false_accepts_a_trusted_wheel_without_record(bazel, hostile):
    bazel.run("build", "//hostile:trusted", "--symlink_prefix=/")
    assert (bazel.bin_dir() / "hostile/trusted/hostile/__init__.py").read_bytes() == b"VALUE = 1\n"


def test_a_wheel_that_is_not_a_whl_fails_analysis(bazel, hostile):
    result = bazel.run("build", "//hostile:not_a_wheel", "--symlink_prefix=/", check=False)
    assert result.returncode != 0
    assert (
        "//hostile:not_a_wheel: wheel //hostile:notes.txt is not a wheel: it provides "
        "hostile/notes.txt. Give a .whl file or a python_wheel target."
    ) in result.stderr, result.stderr
