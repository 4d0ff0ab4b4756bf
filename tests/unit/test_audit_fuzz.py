"""Property test: auditing mutated or truncated wheels that hold a real shared
library only ever ends in a verdict or a WheelError (one clear line at the
CLI), never another exception. Besides random byte edits, the generator sets
the ELF header and version-chain fields of tests/unit/hostile_audit_corpus.py
(table entry sizes and counts, vn_next/vn_cnt, vd_next/vd_cnt) to absurd
values and renames members in their local headers only. Bounded (400 + 200
examples), so it runs every time."""

from __future__ import annotations

import struct
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ml_wheels.audit.analyze import audit
from ml_wheels.errors import WheelError

from . import hostile_audit_corpus as corpus
from .test_audit_helpers import compile_so, make_wheel

_SOURCE = """
#include <string.h>
int demo_len(const char *s) { return (int)strlen(s); }
"""


def _base() -> tuple[bytes, bytes]:
    """The stored wheel, and its shared object (with .gnu.version_r and .gnu.version_d)."""
    with tempfile.TemporaryDirectory() as tmp:
        build = Path(tmp) / "build"
        build.mkdir()
        (build / "demo.map").write_text("DEMO_1.0 { global: demo_len; local: *; };\n")
        so = compile_so(build, "libdemo.so", _SOURCE, f"-Wl,--version-script={build / 'demo.map'}")
        wheel = make_wheel(
            Path(tmp), "demo-1.0-cp311-cp311-linux_x86_64.whl", {"demo/libdemo.so": so}, stored=True
        )
        return wheel.read_bytes(), so.read_bytes()


BASE, ELF = _base()

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


def _elf_fields(elf: bytes) -> list[tuple[int, str]]:
    """(offset, struct format) of the fields items 3 of issue 10 is about."""
    fields = [(0x36, "<H"), (0x38, "<H"), (0x3A, "<H"), (0x3C, "<H"), (0x3E, "<H")]
    shoff = struct.unpack_from("<Q", elf, 0x28)[0]
    fields += [(shoff + 32, "<Q"), (shoff + 44, "<I")]  # section 0: sh_size, sh_info
    header, offset, _, _ = corpus.section_of_type(elf, corpus.SHT_GNU_VERNEED)
    aux = offset + struct.unpack_from("<I", elf, offset + 8)[0]
    fields += [(header + 44, "<I"), (offset + 2, "<H"), (offset + 8, "<I"), (offset + 12, "<I")]
    fields += [(aux + 12, "<I")]
    header, offset, _, _ = corpus.section_of_type(elf, corpus.SHT_GNU_VERDEF)
    fields += [(header + 44, "<I"), (offset + 6, "<H"), (offset + 12, "<I"), (offset + 16, "<I")]
    return fields


FIELDS = _elf_fields(ELF)
_INTERESTING = [0, 1, 8, 16, 0x7FFF, 0xFFFF, 0xFFFFFFF0, 0xFFFFFFFF, 1 << 40]

_field_edit = st.tuples(
    st.sampled_from(range(len(FIELDS))),
    st.one_of(st.sampled_from(_INTERESTING), st.integers(0, 1 << 32)),
)


def _shaped_wheel(edits: list[tuple[int, int]], rename_local: bool) -> bytes:
    elf = bytearray(ELF)
    for index, value in edits:
        offset, fmt = FIELDS[index]
        struct.pack_into(fmt, elf, offset, value % (1 << (8 * struct.calcsize(fmt))))
    data = corpus.wheel_bytes({corpus.ELF_MEMBER: bytes(elf)})
    if rename_local:
        data = corpus.local_name_differs(bytes(elf))
    return data


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_field_edit, min_size=1, max_size=4), st.booleans())
def test_absurd_elf_headers_and_local_names_give_a_verdict_or_a_wheel_error(edits, rename):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / corpus.WHEEL_NAME
        path.write_bytes(_shaped_wheel(edits, rename))
        try:
            audit(str(path), jobs=1)
        except WheelError as error:
            assert str(error) and "\n" not in str(error)
            if rename:
                assert "its local header names" in str(error)
        else:
            assert not rename, "a local header naming another file was accepted"
