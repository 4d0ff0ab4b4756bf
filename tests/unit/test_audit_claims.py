"""What audit_wheel checks beyond auditwheel's verdict: the tags a wheel claims
(file name and WHEEL), members RECORD does not list or that carry a symlink
mode, RUNPATH/RPATH entries leading outside the wheel, and an interpreter
without the audit's packages."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from .test_audit_helpers import (
    AUDIT_WHEEL,
    audit_json,
    compile_so,
    make_wheel,
    requires_gcc,
    run_audit,
    set_machine,
    wheel_file,
)

pytestmark = requires_gcc

EXT = ".cpython-311-x86_64-linux-gnu.so"
MEMCPY = (
    "#include <string.h>\nvoid copy(char *d, const char *s, unsigned long n) { memcpy(d, s, n); }\n"
)
INIT = {"demo/__init__.py": b""}
CLAIMS_2_5 = "demo-1.0-cp311-cp311-manylinux_2_5_x86_64.whl"


@pytest.fixture(scope="module")
def elves(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    build = tmp_path_factory.mktemp("claims")
    return {
        "memcpy": compile_so(build, "_copy" + EXT, MEMCPY, module="_copy"),
        "plain": compile_so(build, "_ok" + EXT, "int answer(void) { return 42; }", module="_ok"),
        "aarch64": set_machine(
            compile_so(build / "arm", "_ok" + EXT, "int a(void) { return 1; }", module="_ok"), 183
        ),
        "outside": compile_so(
            build / "rpath",
            "_ok" + EXT,
            "int answer(void) { return 42; }",
            "-Wl,-rpath,/opt/vendor/lib:$ORIGIN/../../up:$ORIGIN/../_solib_k8/_U_x:$ORIGIN",
            module="_ok",
        ),
        "inside": compile_so(
            build / "inside",
            "_ok" + EXT,
            "int answer(void) { return 42; }",
            "-Wl,-rpath,$ORIGIN/../demo.libs:$ORIGIN",
            module="_ok",
        ),
    }


# --- item 1: claimed tags -------------------------------------------------------------


def test_claimed_tag_is_checked_even_when_a_newer_one_is_expected(tmp_path, elves):
    wheel = make_wheel(tmp_path, CLAIMS_2_5, {**INIT, f"demo/_copy{EXT}": elves["memcpy"]})
    proc = run_audit("--expect", "manylinux_2_17", wheel)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    out = proc.stdout
    assert out.startswith(f"PASS: {CLAIMS_2_5} meets manylinux_2_17")
    assert (
        f"FAIL: {CLAIMS_2_5} does not meet manylinux_2_5_x86_64 (claimed in its file name and "
        "WHEEL); its best policy is manylinux_2_17_x86_64." in out
    )
    assert f"demo/_copy{EXT} needs GLIBC_2.14 from libc.so.6 (for memcpy)" in out
    assert "manylinux_2_5_x86_64 allows GLIBC up to 2.5" in out


def test_claims_are_checked_without_expect_and_in_json(tmp_path, elves):
    wheel = make_wheel(tmp_path, CLAIMS_2_5, {**INIT, f"demo/_copy{EXT}": elves["memcpy"]})
    proc = run_audit(wheel)
    assert proc.returncode == 1
    assert proc.stdout.startswith(f"FAIL: {CLAIMS_2_5} does not meet manylinux_2_5_x86_64")
    proc = run_audit("--json", wheel)
    assert proc.returncode == 1
    import json

    claims = json.loads(proc.stdout)["claims"]
    assert [(c["tag"], c["met"], c["claimed_in"]) for c in claims] == [
        ("manylinux_2_5_x86_64", False, ["file name", "WHEEL"])
    ]


def test_met_claims_and_linux_tags_pass(tmp_path, elves):
    member = {**INIT, f"demo/_copy{EXT}": elves["memcpy"]}
    for name in (
        "demo-1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        "demo-1.0-cp311-cp311-linux_x86_64.whl",
        "demo-1.0-cp311-cp311-manylinux_2_99_x86_64.whl",  # newer than the policy data
    ):
        proc = run_audit(make_wheel(tmp_path / name, name, member))
        assert proc.returncode == 0, (name, proc.stdout, proc.stderr)
        assert "FAIL" not in proc.stdout


def test_claim_in_wheel_file_disagreeing_with_file_name_is_an_error(tmp_path, elves):
    wheel = make_wheel(
        tmp_path,
        "demo-1.0-cp311-cp311-manylinux_2_17_x86_64.whl",
        {
            **INIT,
            f"demo/_ok{EXT}": elves["plain"],
            "demo-1.0.dist-info/WHEEL": wheel_file("demo-1.0-cp311-cp311-manylinux_2_5_x86_64.whl"),
        },
    )
    proc = run_audit(wheel)
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        f"audit_wheel: error: {wheel}: the file name claims cp311-cp311-manylinux_2_17_x86_64 "
        "but demo-1.0.dist-info/WHEEL claims cp311-cp311-manylinux_2_5_x86_64; installers "
        "trust either: rebuild the wheel so its name and WHEEL's Tag: lines agree"
    )


def test_claimed_architecture_must_match_the_elf_files(tmp_path, elves):
    name = "demo-1.0-cp311-cp311-manylinux_2_17_x86_64.whl"
    wheel = make_wheel(tmp_path, name, {**INIT, f"demo/_ok{EXT}": elves["aarch64"]})
    proc = run_audit(wheel)
    assert proc.returncode == 1
    assert (
        f"FAIL: {name} does not meet manylinux_2_17_x86_64 (claimed in its file name and WHEEL): "
        "it is a tag for x86_64, but the wheel's ELF files are aarch64." in proc.stdout
    )


def test_claim_of_the_other_libc_fails(tmp_path, elves):
    # The file name's libc decides which ELF files are audited: none links musl.
    name = "demo-1.0-cp311-cp311-musllinux_1_2_x86_64.whl"
    wheel = make_wheel(tmp_path, name, {**INIT, f"demo/_copy{EXT}": elves["memcpy"]})
    proc = run_audit(wheel)
    assert proc.returncode == 2
    assert "no ELF file could be audited" in proc.stderr
    assert "linked against glibc, not musl" in proc.stderr


# --- item 2: every member an installer writes ---------------------------------------------


def test_elf_file_missing_from_record_is_an_error(tmp_path, elves):
    wheel = make_wheel(tmp_path, "demo-1.0-cp311-cp311-linux_x86_64.whl", INIT)
    with zipfile.ZipFile(wheel, "a") as archive:
        archive.writestr("demo/_hidden.so", elves["memcpy"].read_bytes())
    proc = run_audit(wheel)
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        f"audit_wheel: error: {wheel}: 'demo/_hidden.so' is in the archive but not in RECORD; "
        "installers write it anyway, unchecked: rebuild the wheel so RECORD lists every file"
    )


def test_elf_file_with_a_symlink_mode_or_a_py_name_is_audited(tmp_path, elves):
    wheel = make_wheel(
        tmp_path,
        CLAIMS_2_5,
        {**INIT, "demo/_link.so": elves["memcpy"], "demo/_disguised.py": elves["memcpy"]},
    )
    data = bytearray(wheel.read_bytes())
    with zipfile.ZipFile(wheel) as archive:
        info = archive.getinfo("demo/_link.so")
    # The central directory entry's external attributes: S_IFLNK | 0o777.
    from .test_error_messages_audit import _central_entry

    entry = _central_entry(bytes(data), "demo/_link.so")
    data[entry + 38 : entry + 42] = ((0o120777 << 16) | (info.external_attr & 0xFFFF)).to_bytes(
        4, "little"
    )
    wheel.write_bytes(bytes(data))
    result = audit_json(wheel)
    assert result["pure"] is False
    assert sorted(result["elf_files"]) == ["demo/_disguised.py", "demo/_link.so"]
    assert result["claims"][0]["met"] is False


# --- item 9: RUNPATH/RPATH leading outside the wheel ------------------------------------------


def test_runpath_entries_outside_the_wheel_fail_the_verdict(tmp_path, elves):
    name = "demo-1.0-cp311-cp311-linux_x86_64.whl"
    wheel = make_wheel(tmp_path, name, {**INIT, f"demo/_ok{EXT}": elves["outside"]})
    proc = run_audit("--expect", "manylinux_2_17", wheel)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    out = proc.stdout
    file = f"demo/_ok{EXT}"
    assert out.startswith(f"FAIL: {name} does not meet manylinux_2_17_x86_64")
    assert f"{file} has the RUNPATH entry '/opt/vendor/lib': an absolute path;" in out
    assert (
        f"{file} has the RUNPATH entry '$ORIGIN/../../up': above the wheel's root "
        "(outside the installed wheel);" in out
    )
    assert (
        f"{file} has the RUNPATH entry '$ORIGIN/../_solib_k8/_U_x': _solib_k8/_U_x/, a folder "
        "the wheel does not have;" in out
    )
    assert "'$ORIGIN'" not in out
    data = audit_json(wheel)
    assert [p["entry"] for p in data["runpath_outside"]] == [
        "/opt/vendor/lib",
        "$ORIGIN/../../up",
        "$ORIGIN/../_solib_k8/_U_x",
    ]


def test_runpath_entries_into_wheel_folders_are_fine(tmp_path, elves):
    name = "demo-1.0-cp311-cp311-manylinux_2_17_x86_64.whl"
    wheel = make_wheel(
        tmp_path,
        name,
        {**INIT, f"demo/_ok{EXT}": elves["inside"], "demo.libs/README": b"bundled libraries"},
    )
    proc = run_audit("--expect", "manylinux_2_17", wheel)
    assert proc.returncode == 0, proc.stdout
    assert audit_json(wheel)["runpath_outside"] == []


def test_runpath_hint_uses_bazel_escaped_origin(tmp_path):
    # Checked on the wheel of test_audit_cli: a bundled library the RUNPATH does not reach.
    build = tmp_path / "b"
    helper = compile_so(
        build, "libhelper.so", "int helper_value(void) { return 7; }", "-Wl,-soname,libhelper.so.1"
    )
    user = compile_so(
        build,
        "_linked" + EXT,
        "int helper_value(void);\nint value(void) { return helper_value(); }\n",
        str(helper),
        module="_linked",
    )
    wheel = make_wheel(
        tmp_path,
        "demo-1.0-cp311-cp311-linux_x86_64.whl",
        {**INIT, f"demo/_linked{EXT}": user, "demo.libs/libhelper.so.1": helper},
    )
    out = run_audit("--expect", "manylinux_2_17", wheel).stdout
    assert 'linkopts = ["-Wl,-rpath,$$ORIGIN/../demo.libs"]' in out
    assert "$ORIGIN/..." not in out


# --- item 8: an interpreter without the audit's packages --------------------------------------


def _bare_python(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """The test interpreter without site-packages (-S): no pyelftools, no auditwheel."""
    return subprocess.run(
        [sys.executable, "-S", str(AUDIT_WHEEL), *args],
        cwd=cwd,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
        capture_output=True,
        text=True,
        check=False,
    )


def test_interpreter_without_pyelftools_says_what_to_install(tmp_path):
    probe = subprocess.run(
        [sys.executable, "-S", "-c", "import elftools"], capture_output=True, check=False
    )
    assert probe.returncode != 0, "this interpreter has pyelftools even with -S"
    wheel = make_wheel(tmp_path, "demo-1.0-cp311-cp311-linux_x86_64.whl", INIT)
    proc = _bare_python(str(wheel), cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.strip() == (
        "audit_wheel: error: the Python package pyelftools (module elftools) is not installed "
        f"for {sys.executable}; run the Bazel target @rules_ml_wheels//tools:audit_wheel, "
        "which brings it, or install the pinned helper requirements: "
        "pip install --require-hashes -r tools/requirements_lock.txt"
    )
