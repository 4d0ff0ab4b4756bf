"""Property tests: unpacking mutated or truncated wheels only ever raises WheelError,
never writes outside the output directory, and never yields content RECORD does
not vouch for; generated hostile wheels (a local header naming another file, a
member inflating past its declared size, names of many components, a second
.dist-info directory, symlink entries, in any order and combination) are refused
for what they hold, leaving nothing. Bounded (at most 200 examples per
property), so they run in every test run."""

from __future__ import annotations

import os
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ml_wheels.errors import WheelError
from ml_wheels.unpack import Limits, unpack_wheel

from .test_unpack import PAYLOAD, WHEEL_NAME, Raw, raw_zip, record_line, tree, wheel_entries

_PAYLOAD = {
    **PAYLOAD,
    "demo/stored.txt": b"stored member\n" * 10,
    "demo/empty.py": b"",
}
_ENTRIES = wheel_entries(_PAYLOAD)
_ENTRIES = [
    Raw(e.name, e.data, zipfile.ZIP_STORED, mode=e.mode) if e.name == "demo/stored.txt" else e
    for e in _ENTRIES
]
BASE = raw_zip(_ENTRIES)
ORIGINAL = {e.name: e.data for e in _ENTRIES}

_mutation = st.one_of(
    st.tuples(st.just("set"), st.integers(0, len(BASE) - 1), st.integers(0, 255)),
    st.tuples(st.just("truncate"), st.integers(0, len(BASE) - 1), st.just(0)),
    st.tuples(st.just("insert"), st.integers(0, len(BASE)), st.integers(0, 255)),
    st.tuples(st.just("delete"), st.integers(0, len(BASE) - 1), st.integers(1, 64)),
    st.tuples(st.just("grow"), st.integers(0, len(BASE) - 4), st.integers(1, 0xFFFFFFFF)),
)


def _mutate(data: bytes, mutations) -> bytes:
    buf = bytearray(data)
    for kind, position, value in mutations:
        position = min(position, max(len(buf) - 1, 0))
        if kind == "set" and buf:
            buf[position] = value
        elif kind == "truncate":
            del buf[position:]
        elif kind == "insert":
            buf.insert(position, value)
        elif kind == "delete":
            del buf[position : position + value]
        elif kind == "grow" and len(buf) >= position + 4:
            # Overwrite a 32-bit field (sizes, offsets, counts) with any value.
            buf[position : position + 4] = value.to_bytes(4, "little")
    return bytes(buf)


def _check(data: bytes, verify_record: bool) -> None:
    with tempfile.TemporaryDirectory() as root_name:
        root = Path(root_name)
        wheel = root / WHEEL_NAME
        wheel.write_bytes(data)
        out = root / "out"
        out.mkdir()
        try:
            unpack_wheel(
                str(wheel),
                str(out),
                verify_record=verify_record,
                limits=Limits(max_total_size=1 << 24),
                jobs=2,
            )
        except WheelError as exc:
            assert "\n" not in str(exc)
            assert list(out.iterdir()) == [], "an error must leave nothing behind"
        else:
            files = {p: d for p, d in tree(out).items() if d is not None}
            if verify_record:
                # RECORD vouches for every file: the content is the original one.
                assert files == ORIGINAL
        assert sorted(os.listdir(root)) == sorted(["out", WHEEL_NAME])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_mutation, min_size=1, max_size=4))
def test_mutated_wheels_raise_only_wheel_error(mutations):
    _check(_mutate(BASE, mutations), verify_record=True)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_mutation, min_size=1, max_size=4))
def test_mutated_zips_raise_only_wheel_error_without_record(mutations):
    _check(_mutate(BASE, mutations), verify_record=False)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600))
def test_random_bytes_raise_only_wheel_error(data):
    _check(data, verify_record=True)


def test_the_unmutated_base_unpacks():
    _check(BASE, verify_record=True)


# Structured hostile wheels -----------------------------------------------------

PATH_MAX = os.pathconf("/", "PC_PATH_MAX")
"""Linux refuses paths of this many bytes and more (the terminating NUL counts)."""


@dataclass(frozen=True)
class _Hostile:
    """A generated wheel, and the errors that may refuse it (empty: it must unpack)."""

    entries: list[Raw]
    needles: tuple[str, ...]
    deep_path: str | None


def _record_for(path: str, data: bytes, size: int | None = None) -> str:
    return record_line(path, data).rsplit(",", 1)[0] + f",{len(data) if size is None else size}\n"


@st.composite
def _hostile_wheels(draw) -> _Hostile:
    features = draw(
        st.sets(
            st.sampled_from(["local-name", "inflate", "deep", "dist-info", "symlink"]),
            min_size=1,
        )
    )
    payload = dict(_PAYLOAD)
    extra: list[Raw] = []
    overrides: dict[str, str] = {}
    needles: list[str] = []
    deep_path = None
    if "local-name" in features:
        local = draw(st.sampled_from([b"../evil.py", b"demo/y.py", b"DEMO/x.py", b"demo/x.p"]))
        extra.append(Raw("demo/x.py", b"x = 1\n", local_name=local))
        overrides["demo/x.py"] = _record_for("demo/x.py", b"x = 1\n")
        needles.append("has a different name in its local header")
    if "inflate" in features:
        data = bytes(draw(st.integers(1, 1 << 20))) + draw(st.binary(max_size=64))
        declared = draw(st.integers(0, len(data) - 1))
        extra.append(Raw("demo/bomb.bin", data, declared_size=declared))
        overrides["demo/bomb.bin"] = _record_for("demo/bomb.bin", data, declared)
        needles.append(f"inflates beyond its declared size of {declared} bytes")
    if "deep" in features:
        width = draw(st.integers(1, 255))
        depth = draw(st.integers(2, min(800, 4200 // (width + 1))))
        deep_path = "/".join(["d" * width] * depth) + "/x.py"
        payload[deep_path] = b"deep = True\n"
    if "dist-info" in features:
        other = draw(st.sampled_from(["other-1.0", "demo-2.0", "Demo-1.0", "demo-1.0.DIST-INFO"]))
        other = other if other.endswith("INFO") else f"{other}.dist-info"
        as_dir = draw(st.booleans())
        extra.append(
            Raw(f"{other}/", mode=0o40755) if as_dir else Raw(f"{other}/METADATA", b"Name: x\n")
        )
        needles.append("has several .dist-info directories")
    if "symlink" in features:
        mode = 0o120000 | draw(st.integers(0, 0o777))
        target = draw(st.sampled_from([b"/etc/passwd", b"..", b"x"]))
        extra.append(Raw("demo/link", target, mode=mode))
        needles.append("'demo/link' is a symbolic link")
    entries = wheel_entries(payload, extra=extra, record_overrides=overrides)
    order = draw(st.permutations(range(len(entries))))
    return _Hostile([entries[i] for i in order], tuple(needles), deep_path)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_hostile_wheels(), st.booleans(), st.integers(1, 3))
def test_hostile_wheels_are_refused_for_what_they_hold(hostile, verify_record, jobs):
    with tempfile.TemporaryDirectory() as root_name:
        root = Path(root_name)
        wheel = root / WHEEL_NAME
        wheel.write_bytes(raw_zip(hostile.entries))
        out = root / "out"
        out.mkdir()
        needles = list(hostile.needles)
        deep = hostile.deep_path
        if deep is not None and len(os.path.join(out, deep).encode()) >= PATH_MAX:
            needles.append("File name too long")
        try:
            unpack_wheel(str(wheel), str(out), verify_record=verify_record, jobs=jobs)
        except WheelError as exc:
            message = str(exc)
            assert "\n" not in message
            assert any(needle in message for needle in needles), (message[:500], needles)
            assert list(out.iterdir()) == [], "an error must leave nothing behind"
        else:
            assert not needles, f"unpacked a wheel that holds {needles}"
            assert deep is not None
            assert (out / deep).read_bytes() == b"deep = True\n"
        assert sorted(os.listdir(root)) == sorted(["out", WHEEL_NAME])
