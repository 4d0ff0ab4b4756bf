"""The facts one parse of an ELF file yields (built with gcc, or from the system)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ml_wheels.audit.elf import ElfReadError, read_elf_facts
from ml_wheels.audit.reader import WheelArchive, parse_elf_members

from .test_audit_helpers import compile_so, make_wheel, requires_gcc, set_machine

pytestmark = requires_gcc

ARC4RANDOM = """
#include <stdlib.h>
unsigned int roll(void) { return arc4random(); }
"""


def facts_of(path: Path, **kwargs):
    return read_elf_facts(path.read_bytes(), path.name, **kwargs)


def test_dynamic_section_facts(tmp_path):
    so = compile_so(
        tmp_path,
        "libdemo.so",
        "int f(void) { return 1; }",
        "-Wl,-soname,libdemo.so.3",
        "-Wl,-rpath,$ORIGIN/../lib:/opt/x",
        "-Wl,--enable-new-dtags",
        "-lm",
        "-Wl,--no-as-needed",
    )
    facts = facts_of(so)
    assert facts.platform.arch == "x86_64"
    assert facts.platform.elf_class == 64 and facts.platform.little_endian
    assert facts.soname == "libdemo.so.3"
    assert facts.runpath == "$ORIGIN/../lib:/opt/x"
    assert facts.rpath is None
    assert "libc.so.6" in facts.needed
    assert facts.interp is None
    assert facts.py_ext_version is None


def test_version_requirements_name_their_symbols(tmp_path):
    facts = facts_of(compile_so(tmp_path, "rnd.so", ARC4RANDOM))
    needs = {(n.library, n.version): n for n in facts.version_needs}
    need = needs[("libc.so.6", "GLIBC_2.36")]
    assert need.symbols == ("arc4random",)
    assert need.symbol_count == 1


def test_python_extension_and_pyfpe(tmp_path):
    source = "extern int PyFPE_jbuf[];\nint *g(void) { return PyFPE_jbuf; }\n"
    facts = facts_of(
        compile_so(tmp_path, "fpe.cpython-311-x86_64-linux-gnu.so", source, module="fpe")
    )
    assert facts.py_ext_version == 3
    assert facts.pyfpe_symbols == ("PyFPE_jbuf",)
    # The module name comes from the file name: another name is not an extension.
    renamed = tmp_path / "other.so"
    renamed.write_bytes((tmp_path / "fpe.cpython-311-x86_64-linux-gnu.so").read_bytes())
    assert facts_of(renamed).py_ext_version is None


def test_python2_extension_and_ucs2(tmp_path):
    # Linked against a library that defines it, the reference is a FUNC symbol,
    # which is what auditwheel counts.
    lib = compile_so(
        tmp_path, "libpy2.so", "void *PyUnicodeUCS2_FromString(const char *s) { return 0; }"
    )
    source = (
        "extern void *PyUnicodeUCS2_FromString(const char *);\n"
        "void *g(void) { return PyUnicodeUCS2_FromString(0); }\n"
        "void initold(void) {}\n"
    )
    facts = facts_of(compile_so(tmp_path, "old.so", source, str(lib)))
    assert facts.py_ext_version == 2
    assert facts.ucs2_symbols == ("PyUnicodeUCS2_FromString",)


def test_blacklisted_undefined_symbols_skip_weak_ones(tmp_path):
    source = (
        "extern int __cxa_thread_atexit_impl(void (*)(void *), void *, void *);\n"
        "extern int __issignaling(double) __attribute__((weak));\n"
        "static void dtor(void *p) {}\n"
        "int reg(void) { return __cxa_thread_atexit_impl(dtor, 0, 0) + __issignaling(1.0); }\n"
    )
    blacklist = frozenset({b"__cxa_thread_atexit_impl", b"__issignaling"})
    facts = facts_of(compile_so(tmp_path, "bl.so", source), blacklist=blacklist)
    assert facts.undefined_blacklisted == frozenset({"__cxa_thread_atexit_impl"})


@pytest.mark.parametrize(("level", "isa"), [("x86-64-v2", "x86_64_v2"), ("x86-64-v3", "x86_64_v3")])
def test_x86_64_isa_level_from_the_gnu_property_note(tmp_path, level, isa):
    facts = facts_of(
        compile_so(tmp_path, "isa.so", "int f(int x) { return x; }", f"-Wl,-z,{level}")
    )
    assert facts.platform.isa == isa
    assert facts.platform.isa_error is None


def test_baseline_file_has_no_isa_level(tmp_path):
    facts = facts_of(compile_so(tmp_path, "plain.so", "int f(int x) { return x; }"))
    assert facts.platform.isa is None


def test_machine_decides_the_architecture(tmp_path):
    so = compile_so(tmp_path, "m.so", "int f(void) { return 0; }")
    assert facts_of(set_machine(so, 183)).platform.arch == "aarch64"
    unknown = facts_of(set_machine(so, 0x1234)).platform
    assert unknown.arch is None
    assert "unknown machine" in unknown.arch_error


def test_system_library_parses():
    libc = Path("/lib/x86_64-linux-gnu/libc.so.6")
    if not libc.exists():
        pytest.skip("no x86_64 glibc at /lib/x86_64-linux-gnu on this machine")
    facts = read_elf_facts(libc.read_bytes(), str(libc), symbols=False)
    assert facts.soname == "libc.so.6"
    assert facts.platform.arch == "x86_64"


def test_non_elf_is_none_and_truncated_elf_is_an_error(tmp_path):
    assert read_elf_facts(b"#!/bin/sh\necho hi\n" * 4, "script") is None
    so = compile_so(tmp_path, "t.so", "int f(void) { return 0; }")
    data = so.read_bytes()
    with pytest.raises(ElfReadError):
        read_elf_facts(data[:200], "t.so")


def test_members_are_read_in_place_stored_or_deflated(tmp_path):
    so = compile_so(tmp_path / "b", "rnd.so", ARC4RANDOM)
    for stored in (False, True):
        wheel = make_wheel(
            tmp_path / str(stored),
            "demo-1.0-cp311-cp311-linux_x86_64.whl",
            {"demo/rnd.so": so, "demo/data.bin": b"\x7fELF but not really" * 3},
            stored=stored,
        )
        with WheelArchive(str(wheel)) as archive:
            facts = parse_elf_members(archive, list(archive.members), frozenset(), jobs=1)
        assert sorted(facts) == ["demo/rnd.so"]
        assert facts["demo/rnd.so"].needed == facts_of(so).needed
