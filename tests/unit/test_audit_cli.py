"""audit_wheel on small wheels built here: verdicts equal auditwheel's, --expect,
--exclude, per-file reasons, architecture handling and error messages."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from ml_wheels.audit import reader
from ml_wheels.audit.analyze import audit
from ml_wheels.audit.report import to_json

from .test_audit_helpers import (
    GCC,
    assert_same_as_auditwheel,
    audit_json,
    auditwheel_show,
    compile_so,
    make_wheel,
    requires_gcc,
    run_audit,
    set_machine,
)

pytestmark = requires_gcc

EXT = ".cpython-311-x86_64-linux-gnu.so"
NAME = "demo-1.0-cp311-cp311-manylinux_2_17_x86_64.whl"
ARC4RANDOM = "#include <stdlib.h>\nunsigned int roll(void) { return arc4random(); }\n"
HELPER_USER = "int helper_value(void);\nint value(void) { return helper_value(); }\n"
BLACKLISTED = (
    "extern int __cxa_thread_atexit_impl(void (*)(void *), void *, void *);\n"
    "static void dtor(void *p) {}\n"
    "int reg(void) { return __cxa_thread_atexit_impl(dtor, 0, 0); }\n"
)


@pytest.fixture(scope="module")
def wheels(tmp_path_factory) -> dict[str, Path]:
    """Every test wheel, built once."""
    build = tmp_path_factory.mktemp("elf")
    out = tmp_path_factory.mktemp("wheels")
    ok = compile_so(build, "_ok" + EXT, "int answer(void) { return 42; }", module="_ok")
    new = compile_so(build, "_new" + EXT, ARC4RANDOM, module="_new")
    helper = compile_so(
        build, "libhelper.so", "int helper_value(void) { return 7; }", "-Wl,-soname,libhelper.so.1"
    )
    linked = compile_so(build, "_linked" + EXT, HELPER_USER, str(helper), module="_linked")
    reaching = compile_so(
        build / "rpath",
        "_linked" + EXT,
        HELPER_USER,
        str(helper),
        "-Wl,-rpath,$ORIGIN/../demo.libs",
        module="_linked",
    )
    isa = compile_so(
        build, "_isa" + EXT, "int f(int x) { return x; }", "-Wl,-z,x86-64-v3", module="_isa"
    )
    blacklisted = compile_so(build, "_bl" + EXT, BLACKLISTED, module="_bl")
    libpython = compile_so(
        build,
        "libpython3.11.so.1.0",
        "int Py_Fake(void) { return 0; }",
        "-Wl,-soname,libpython3.11.so.1.0",
    )
    embeds = compile_so(
        build,
        "_embed" + EXT,
        "int Py_Fake(void);\nint e(void) { return Py_Fake(); }",
        str(libpython),
        module="_embed",
    )
    tool = build / "tool"
    (build / "tool.c").write_text("int main(void) { return 0; }\n")
    subprocess.run([GCC, "-o", str(tool), str(build / "tool.c")], check=True)
    aarch64 = set_machine(
        compile_so(build / "arm", "_ok" + EXT, "int answer(void) { return 42; }", module="_ok"), 183
    )
    unknown = set_machine(
        compile_so(build / "unk", "_ok" + EXT, "int a(void) { return 1; }"), 0x1234
    )

    init = {"demo/__init__.py": b""}
    return {
        "ok": make_wheel(out / "ok", NAME, {**init, f"demo/_ok{EXT}": ok}),
        "ok_stored": make_wheel(
            out / "ok_stored", NAME, {**init, f"demo/_ok{EXT}": ok}, stored=True
        ),
        "new_glibc": make_wheel(
            out / "new",
            "demo-1.0-cp311-cp311-manylinux_2_36_x86_64.whl",
            {**init, f"demo/_new{EXT}": new},
        ),
        "external": make_wheel(out / "ext", NAME, {**init, f"demo/_linked{EXT}": linked}),
        "bundled": make_wheel(
            out / "bundled",
            NAME,
            {**init, f"demo/_linked{EXT}": reaching, "demo.libs/libhelper.so.1": helper},
        ),
        "unreachable": make_wheel(
            out / "unreachable",
            NAME,
            {**init, f"demo/_linked{EXT}": linked, "demo.libs/libhelper.so.1": helper},
        ),
        "isa": make_wheel(out / "isa", NAME, {**init, f"demo/_isa{EXT}": isa}),
        "blacklist": make_wheel(out / "bl", NAME, {**init, f"demo/_bl{EXT}": blacklisted}),
        "libpython": make_wheel(out / "py", NAME, {**init, f"demo/_embed{EXT}": embeds}),
        "executable": make_wheel(
            out / "exe", NAME, {**init, f"demo/_ok{EXT}": ok, "demo/bin/tool": tool}
        ),
        "pure": make_wheel(out / "pure", "pure-1.0-py3-none-any.whl", init),
        "aarch64": make_wheel(
            out / "arm",
            "demo-1.0-cp311-cp311-manylinux_2_17_aarch64.whl",
            {**init, f"demo/_ok{EXT}": aarch64},
        ),
        "misnamed": make_wheel(out / "misnamed", NAME, {**init, f"demo/_ok{EXT}": aarch64}),
        "unknown": make_wheel(out / "unknown", NAME, {**init, f"demo/_ok{EXT}": unknown}),
        "no_record": make_wheel(
            out / "norecord", NAME, {**init, f"demo/_new{EXT}": new}, record=False
        ),
    }


PARITY = [
    "ok",
    "ok_stored",
    "new_glibc",
    "external",
    "bundled",
    "unreachable",
    "isa",
    "blacklist",
    "libpython",
    "executable",
    "pure",
    "aarch64",
]


@pytest.mark.parametrize("kind", PARITY)
def test_same_verdict_as_auditwheel_show(wheels, kind):
    ours = audit_json(wheels[kind])
    assert_same_as_auditwheel(ours, auditwheel_show(wheels[kind]))


EXPECTED = {
    "ok": "manylinux_2_5_x86_64",
    "new_glibc": "manylinux_2_36_x86_64",
    "external": "linux_x86_64",
    "bundled": "manylinux_2_5_x86_64",
    "unreachable": "linux_x86_64",
    "isa": "linux_x86_64",
    "blacklist": "manylinux_2_24_x86_64",
    "libpython": "linux_x86_64",
    "aarch64": "manylinux_2_17_aarch64",
}


@pytest.mark.parametrize(("kind", "tag"), sorted(EXPECTED.items()))
def test_overall_tags(wheels, kind, tag):
    assert audit_json(wheels[kind])["overall_tag"] == tag


# --- --expect ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "tag",
    [
        "manylinux_2_5",
        "manylinux1",
        "manylinux2010",
        "manylinux2014",
        "manylinux_2_17_x86_64",
        "manylinux_2_28",
        "manylinux_2_41_x86_64",
        "linux",
        "linux_x86_64",
    ],
)
def test_a_more_compatible_wheel_meets_newer_tags_and_aliases(wheels, tag):
    proc = run_audit("--expect", tag, wheels["ok"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("PASS: ")


def test_pass_message_says_the_wheel_is_more_compatible(wheels):
    proc = run_audit("--expect", "manylinux2014", wheels["ok"])
    assert "its best policy, manylinux_2_5_x86_64, is at least as compatible as " in proc.stdout
    assert "manylinux_2_17_x86_64" in proc.stdout


def test_newer_symbol_version_fails_with_file_version_library_and_symbol(wheels):
    proc = run_audit("--expect", "manylinux2014", wheels["new_glibc"])
    assert proc.returncode == 1
    out = proc.stdout
    assert out.startswith("FAIL: ")
    assert f"demo/_new{EXT} needs GLIBC_2.36 from libc.so.6 (for roll" not in out  # symbol names
    assert f"demo/_new{EXT} needs GLIBC_2.36 from libc.so.6 (for arc4random)" in out
    assert "manylinux_2_17_x86_64 allows GLIBC up to 2.17" in out
    assert "its best policy is manylinux_2_36_x86_64" in out
    assert "Fix: build against glibc 2.17 or older" in out
    for tag in ("manylinux_2_36", "manylinux_2_39_x86_64"):
        assert run_audit("--expect", tag, wheels["new_glibc"]).returncode == 0


def test_json_has_per_file_reasons_and_the_expectation(wheels):
    data = audit_json("--expect", "manylinux_2_17", wheels["new_glibc"])
    assert data["architecture"] == "x86_64"
    assert data["symbol_tag"] == data["sym_tag"] == "manylinux_2_36_x86_64"
    (reason,) = [r for r in data["reasons"][f"demo/_new{EXT}"] if r.get("version") == "GLIBC_2.36"]
    assert reason == {
        "kind": "symbol_version",
        "limit": "manylinux_2_36_x86_64",
        "library": "libc.so.6",
        "version": "GLIBC_2.36",
        "symbols": ["arc4random"],
        "symbol_count": 1,
    }
    assert data["expect"]["met"] is False
    assert data["expect"]["policy"] == "manylinux_2_17_x86_64"
    checked = {p["tag"]: p["compliant"] for p in data["policies_checked"]}
    assert checked["manylinux_2_36_x86_64"] and not checked["manylinux_2_35_x86_64"]
    assert data["limits"]["symbol_versions"] == "manylinux_2_36_x86_64"


def test_missing_library_fails_and_suggests_an_exclusion(wheels):
    proc = run_audit("--expect", "manylinux_2_17", wheels["external"])
    assert proc.returncode == 1
    assert f"demo/_linked{EXT} needs libhelper.so.1, which is not in the wheel" in proc.stdout
    assert "not found on this machine" in proc.stdout
    assert 'exclude = ["libhelper.so*"]' in proc.stdout
    data = audit_json(wheels["external"])
    assert data["external_libs"] == {"libhelper.so.1": None}
    (reason,) = data["reasons"][f"demo/_linked{EXT}"]
    assert reason["kind"] == "external_library" and reason["limit"] == "linux_x86_64"


def test_exclude_patterns(wheels):
    proc = run_audit("--expect", "manylinux_2_17", "--exclude", "libhelper.so*", wheels["external"])
    assert proc.returncode == 0, proc.stdout
    data = audit_json("--exclude", "libcuda.so.*", "--exclude", "libhelper*", wheels["external"])
    assert data["excluded"] == ["libhelper.so.1"]
    assert data["external_libs"] == {}
    assert data["overall_tag"] == "manylinux_2_5_x86_64"
    unrelated = run_audit(
        "--expect", "manylinux_2_17", "--exclude", "libcuda.so.*", wheels["external"]
    )
    assert unrelated.returncode == 1


def test_library_bundled_through_runpath_is_not_external(wheels):
    data = audit_json(wheels["bundled"])
    assert data["external_libs"] == {}
    assert data["elf_files"] == [f"demo/_linked{EXT}", "demo.libs/libhelper.so.1"]


def test_bundled_but_unreachable_library_gets_a_runpath_hint(wheels):
    proc = run_audit("--expect", "manylinux_2_17", wheels["unreachable"])
    assert proc.returncode == 1
    assert (
        "the wheel has demo.libs/libhelper.so.1, but its RPATH/RUNPATH does not lead there"
        in proc.stdout
    )
    assert f"add $ORIGIN/../demo.libs to the RUNPATH of demo/_linked{EXT}" in proc.stdout


def test_isa_level_lowers_the_policy_unless_disabled(wheels):
    data = audit_json(wheels["isa"])
    assert data["unsupported_isa"] is True
    assert data["reasons"][f"demo/_isa{EXT}"] == [
        {"kind": "isa", "limit": "linux_x86_64", "isa": "x86_64_v3"}
    ]
    proc = run_audit("--expect", "manylinux_2_17", wheels["isa"])
    assert proc.returncode == 1
    assert "needs the x86_64_v3 instruction set" in proc.stdout
    proc = run_audit("--expect", "manylinux_2_17", "--disable-isa-ext-check", wheels["isa"])
    assert proc.returncode == 0


def test_blacklisted_symbol_is_a_reason(wheels):
    data = audit_json(wheels["blacklist"])
    reasons = data["reasons"][f"demo/_bl{EXT}"]
    (blacklisted,) = [r for r in reasons if r["kind"] == "blacklisted_symbol"]
    assert blacklisted["library"] == "libc.so.6"
    assert blacklisted["symbols"] == ["__cxa_thread_atexit_impl"]
    assert blacklisted["limit"] == "manylinux_2_24_x86_64"
    assert "blacklisted_symbols" in data["policy_upgrades"]["manylinux_2_17_x86_64"]


def test_pure_wheel_meets_any_tag(wheels):
    for tag in ("manylinux_2_5", "musllinux_1_1", "manylinux_2_17_aarch64"):
        proc = run_audit("--expect", tag, wheels["pure"])
        assert proc.returncode == 0, proc.stdout + proc.stderr
    data = audit_json(wheels["pure"])
    assert data["pure"] is True and data["overall_tag"] is None
    assert run_audit("--expect-by-arch", "x86_64=manylinux_2_17", wheels["pure"]).returncode == 0


def test_libc_family_mismatch_fails(wheels):
    proc = run_audit("--expect", "musllinux_1_2", wheels["ok"])
    assert proc.returncode == 1
    assert "the wheel's ELF files link glibc" in proc.stdout


# --- the wheel's own architecture ------------------------------------------------------------


def test_arch_comes_from_the_elf_files(wheels):
    data = audit_json(wheels["aarch64"])
    assert data["architecture"] == "aarch64"
    assert run_audit("--expect", "manylinux2014", wheels["aarch64"]).returncode == 0


def test_tag_for_another_arch_is_an_error(wheels):
    proc = run_audit("--expect", "manylinux_2_17_aarch64", wheels["ok"])
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1
    assert proc.stderr.startswith("audit_wheel: error: ")
    assert (
        "'manylinux_2_17_aarch64' is a tag for aarch64, but the wheel's ELF files are x86_64"
        in proc.stderr
    )


def test_misnamed_cross_compiled_wheel_is_audited_for_its_elf_arch(wheels):
    data = audit_json(wheels["misnamed"])
    assert data["architecture"] == "aarch64"
    assert data["overall_tag"] == "manylinux_2_17_aarch64"
    assert any("file name says x86_64" in w for w in data["warnings"])
    proc = run_audit("--expect", "manylinux_2_17_x86_64", wheels["misnamed"])
    assert proc.returncode == 2


def test_expect_by_arch_picks_the_wheels_arch(wheels):
    both = ("--expect-by-arch", "x86_64=manylinux_2_5", "--expect-by-arch", "aarch64=manylinux2014")
    assert run_audit(*both, wheels["ok"]).returncode == 0
    assert run_audit(*both, wheels["aarch64"]).returncode == 0
    strict = (
        "--expect-by-arch",
        "x86_64=manylinux_2_17",
        "--expect-by-arch",
        "aarch64=manylinux_2_17",
    )
    assert run_audit(*strict, wheels["new_glibc"]).returncode == 1
    proc = run_audit(
        "--expect-by-arch", "aarch64=manylinux_2_17", "--expect-by-arch=ppc64le=", wheels["ok"]
    )
    assert proc.returncode == 2
    assert "no tag to expect for x86_64" in proc.stderr
    assert "tags given for: aarch64" in proc.stderr


def test_policy_missing_for_the_arch_is_an_error(wheels):
    proc = run_audit("--expect", "manylinux1", wheels["aarch64"])
    assert proc.returncode == 2
    assert "no manylinux1 policy for aarch64" in proc.stderr


# --- errors -------------------------------------------------------------------------------


def _one_line_error(proc: subprocess.CompletedProcess, *words: str) -> None:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stdout == ""
    assert proc.stderr.startswith("audit_wheel: error: ")
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for word in words:
        assert word in proc.stderr


def test_missing_file(tmp_path):
    missing = tmp_path / "nope-1.0-py3-none-any.whl"
    _one_line_error(run_audit(missing), str(missing), "no such file")


def test_not_a_zip(tmp_path):
    bogus = tmp_path / "bogus-1.0-py3-none-any.whl"
    bogus.write_text("not a zip\n")
    _one_line_error(run_audit(bogus), str(bogus), "not a wheel")


def test_elf_of_unknown_machine(wheels):
    _one_line_error(run_audit(wheels["unknown"]), f"demo/_ok{EXT}", "unknown machine")


def test_unknown_tag():
    _one_line_error(run_audit("--expect", "manylinux_2_30", "whatever.whl"), "no manylinux_2_30")


def test_without_record_every_member_is_audited(wheels):
    data = audit_json(wheels["no_record"])
    assert data["overall_tag"] == "manylinux_2_36_x86_64"
    assert any("no .dist-info/RECORD" in w for w in data["warnings"])


# --- processes ---------------------------------------------------------------------------------


def test_verdict_does_not_depend_on_jobs(wheels, monkeypatch):
    monkeypatch.setattr(reader, "_POOL_MIN_BYTES", 0)
    for kind in ("bundled", "executable", "new_glibc"):
        one = to_json(audit(str(wheels[kind]), jobs=1))
        two = to_json(audit(str(wheels[kind]), jobs=2))
        assert one == two
