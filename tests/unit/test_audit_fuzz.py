"""Property test: auditing mutated or truncated wheels that hold a real shared
library only ever ends in a verdict or a WheelError (one clear line at the
CLI), never another exception. Bounded (400 examples), so it runs every time."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ml_wheels.audit.analyze import audit
from ml_wheels.errors import WheelError

from .test_audit_helpers import compile_so, make_wheel

_SOURCE = """
#include <string.h>
int demo_len(const char *s) { return (int)strlen(s); }
"""


def _base_wheel() -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        so = compile_so(Path(tmp) / "build", "libdemo.so", _SOURCE)
        wheel = make_wheel(
            Path(tmp), "demo-1.0-cp311-cp311-linux_x86_64.whl", {"demo/libdemo.so": so}, stored=True
        )
        return wheel.read_bytes()


BASE = _base_wheel()

_mutation = st.one_of(
    st.tuples(st.just("set"), st.integers(0, len(BASE) - 1), st.integers(0, 255)),
    st.tuples(st.just("truncate"), st.integers(0, len(BASE) - 1), st.just(0)),
    st.tuples(st.just("delete"), st.integers(0, len(BASE) - 1), st.integers(1, 64)),
)


def _mutate(data: bytes, mutations: list[tuple[str, int, int]]) -> bytes:
    out = bytearray(data)
    for kind, position, value in mutations:
        position = min(position, max(len(out) - 1, 0))
        if kind == "set" and out:
            out[position] = value
        elif kind == "truncate":
            del out[position:]
        elif kind == "delete":
            del out[position : position + value]
    return bytes(out)


def test_the_unmutated_wheel_is_audited():
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "demo-1.0-cp311-cp311-linux_x86_64.whl"
        path.write_bytes(BASE)
        result = audit(str(path), jobs=1)
        assert result.architecture == "x86_64"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_mutation, min_size=1, max_size=4))
def test_mutated_wheels_give_a_verdict_or_a_wheel_error(mutations):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "demo-1.0-cp311-cp311-linux_x86_64.whl"
        path.write_bytes(_mutate(BASE, mutations))
        try:
            audit(str(path), jobs=1)
        except WheelError as error:
            assert str(error) and "\n" not in str(error)
