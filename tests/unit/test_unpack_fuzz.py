"""Property test: unpacking mutated or truncated wheels only ever raises WheelError,
never writes outside the output directory, and never yields content RECORD does
not vouch for. Bounded (200 examples per property), so it runs in every test run."""

from __future__ import annotations

import os
import tempfile
import zipfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ml_wheels.errors import WheelError
from ml_wheels.unpack import Limits, unpack_wheel

from .test_unpack import PAYLOAD, Raw, raw_zip, tree, wheel_entries

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
        wheel = root / "w.whl"
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
        assert sorted(os.listdir(root)) == ["out", "w.whl"]


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
