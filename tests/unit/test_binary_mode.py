"""Binary mode (tools/ml_wheels/binary.py): the project's own wheel builder runs,
its wheel is checked against the spec and rewritten canonically.

The builders are real executables written here (a few lines of Python each),
plus the jaxlib-shaped build_wheel.py of tests/fixtures/wheel_binary, run
through ``pack_wheel.py binary`` as the Bazel action runs it. Expected values
are spelled out: the wheel names, the placeholders' values, the environment's
keys, the messages.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from ml_wheels.binary import builder_arguments, cpu_of, pack_binary
from ml_wheels.errors import WheelError

from .helpers import REPO, base_spec, run_pack, verify_record, write_spec

FIXTURE = REPO / "tests" / "fixtures" / "wheel_binary"
TARGET = "//pkg:wheel"
WHEEL_NAME = "binpkg-0.4.30-cp311-cp311-manylinux_2_17_x86_64.whl"
GIT_HASH = "0123456789abcdef0123456789abcdef01234567"

# A builder configured by --dist/--version/--out/--src=... and $MODE; it
# dumps what it saw into $DUMP and keeps a copy of its own wheel in $KEEP.
BUILDER = """\
import json, os, sys, zipfile
if len(sys.argv) == 2 and sys.argv[1].startswith("@"):
    with open(sys.argv[1][1:]) as f:
        args = f.read().splitlines()
else:
    args = sys.argv[1:]
opts = {}
srcs = []
for arg in args:
    key, _, value = arg.partition("=")
    if key == "--src":
        srcs.append(value)
    else:
        opts[key] = value
if "DUMP" in os.environ:
    with open(os.environ["DUMP"], "w") as f:
        json.dump({"argv": sys.argv[1:], "env": dict(os.environ), "cwd": os.getcwd()}, f)
mode = os.environ.get("MODE", "")
print("builder: stdout line")
print("builder: stderr line", file=sys.stderr)
if mode == "fail":
    sys.exit(5)
dist, version = opts["--dist"], opts["--version"]
name = f"{dist}-{version}-cp311-cp311-linux_x86_64.whl"
if mode == "other_version":
    name = f"{dist}-9.9-cp311-cp311-linux_x86_64.whl"
if mode == "invalid_name":
    name = "binpkg.whl"
wheel = os.path.join(opts["--out"], name)
if mode == "nothing":
    open(os.path.join(opts["--out"], "build.log"), "w").close()
    sys.exit(0)
if mode == "broken":
    with open(wheel, "wb") as f:
        f.write(b"not a zip")
    sys.exit(0)
year = int(os.environ.get("ZIP_YEAR", "2020"))
members = {f"binpkg/{os.path.basename(s)}": open(s, "rb").read() for s in srcs}
info = f"{dist}-{version}.dist-info"
meta_version = "9.9" if mode == "metadata_version" else version
members[f"{info}/METADATA"] = (
    f"Metadata-Version: 2.1\\nName: {dist}\\nVersion: {meta_version}\\n".encode()
)
members[f"{info}/WHEEL"] = (
    b"Wheel-Version: 1.0\\nRoot-Is-Purelib: false\\nTag: cp311-cp311-linux_x86_64\\n"
)
members[f"{info}/RECORD"] = b""
order = sorted(members, reverse=os.environ.get("REVERSE") == "1")
with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
    for member in order:
        archive.writestr(zipfile.ZipInfo(member, (year, 6, 1, 12, 0, 0)), members[member])
if mode == "two":
    os.link(wheel, wheel.replace("linux_x86_64", "manylinux_2_17_x86_64"))
if "KEEP" in os.environ:
    with open(wheel, "rb") as src, open(os.environ["KEEP"], "wb") as dst:
        dst.write(src.read())
"""
ARGS = [
    "--arg=--out={output_dir}",
    "--arg=--dist={distribution}",
    "--arg=--version={version}",
    "--arg=--src={src}",
]


def _spec(**overrides) -> dict:
    fields = {
        "target": TARGET,
        "distribution": "binpkg",
        "version": "0.4.30",
        "python_tag": "cp311",
        "abi_tag": "cp311",
        "platform_tag": "manylinux_2_17_x86_64",
        "wheel_name": WHEEL_NAME,
    }
    fields.update(overrides)
    return base_spec(**fields)


def _executable(path: Path, source: str) -> Path:
    path.write_text(f"#!{sys.executable}\n{source}")
    path.chmod(0o755)
    return path


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """A builder, a library and a module to pack, and a spec."""
    _executable(tmp_path / "builder", BUILDER)
    (tmp_path / "lib.so").write_bytes(b"\x7fELF pretend library")
    (tmp_path / "mod.py").write_text("x = 1\n")
    write_spec(tmp_path / "spec.json", _spec())
    return tmp_path


def _binary(
    work: Path,
    *extra: str,
    builder_env: dict[str, str] | None = None,
    env: dict[str, str] | None = None,
    check: bool = True,
):
    """``pack_wheel.py binary``; ``builder_env`` through --env, ``env`` for the packer."""
    return run_pack(
        *("binary", "--spec", work / "spec.json", "--output", work / "out" / WHEEL_NAME),
        *("--builder", work / "builder", "--builder-label", "//tools:build_wheel"),
        *ARGS,
        *("--src", work / "lib.so", "--src", work / "mod.py"),
        *(f"--env={name}={value}" for name, value in (builder_env or {}).items()),
        *extra,
        env={**os.environ, **(env or {})},
        check=check,
    )


def _error(result) -> str:
    """The one error line (the builder's output comes before it)."""
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert lines[-1].startswith("pack_wheel: error: "), result.stderr
    return lines[-1][len("pack_wheel: error: ") :]


def test_rewritten_wheel_has_the_declared_name_tags_and_a_valid_record(work):
    (work / "out").mkdir()
    _binary(work, "--jobs", "1")
    wheel = work / "out" / WHEEL_NAME
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        assert archive.read("binpkg/lib.so") == b"\x7fELF pretend library"
        tags = archive.read("binpkg-0.4.30.dist-info/WHEEL").decode()
        assert {i.date_time for i in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    assert names == [
        "binpkg/lib.so",
        "binpkg/mod.py",
        "binpkg-0.4.30.dist-info/METADATA",
        "binpkg-0.4.30.dist-info/WHEEL",
        "binpkg-0.4.30.dist-info/RECORD",
    ]
    # The builder's linux_x86_64 is replaced by the declared tag.
    assert "Tag: cp311-cp311-manylinux_2_17_x86_64\n" in tags
    assert "linux_x86_64" not in tags.replace("manylinux_2_17_x86_64", "")
    verify_record(wheel)


def test_output_is_identical_whatever_the_builder_zip_looks_like(work):
    (work / "out").mkdir()
    outputs = []
    for year, reverse in (("2020", "0"), ("2024", "1")):
        keep = work / f"builder_{year}.whl"
        _binary(work, builder_env={"ZIP_YEAR": year, "REVERSE": reverse, "KEEP": str(keep)})
        outputs.append((work / "out" / WHEEL_NAME).read_bytes())
    assert (work / "builder_2020.whl").read_bytes() != (work / "builder_2024.whl").read_bytes()
    assert outputs[0] == outputs[1]


def test_builder_sees_a_fixed_environment_and_the_expanded_arguments(work):
    (work / "out").mkdir()
    dump = work / "dump.json"
    _binary(
        work,
        "--arg=--cpu={cpu}",
        "--arg=--hash={git_hash}",
        "--arg=--suffix={version_suffix}",
        "--arg=--tags={python_tag}-{abi_tag}-{platform_tag}",
        "--arg=--name={wheel_name}",
        "--git-hash",
        GIT_HASH,
        "--version-suffix=.dev1",
        "--env=DUMP=" + str(dump),
        "--env=JAX_RELEASE=1",
        env={"LEAKED_FROM_THE_ACTION": "1", "PATH": "/usr/bin:/bin"},
    )
    seen = json.loads(dump.read_text())
    out_dir = seen["argv"][0][len("--out=") :]
    assert seen["argv"] == [
        f"--out={out_dir}",
        "--dist=binpkg",
        "--version=0.4.30",
        f"--src={work / 'lib.so'}",
        f"--src={work / 'mod.py'}",
        "--cpu=x86_64",
        f"--hash={GIT_HASH}",
        "--suffix=.dev1",
        "--tags=cp311-cp311-manylinux_2_17_x86_64",
        f"--name={WHEEL_NAME}",
    ]
    env = seen["env"]
    assert "LEAKED_FROM_THE_ACTION" not in env
    assert env["PATH"] == "/usr/bin:/bin"
    assert env["WHEEL_VERSION_SUFFIX"] == ".dev1"
    assert env["JAX_RELEASE"] == "1"
    assert env["SOURCE_DATE_EPOCH"] == "315532800"
    assert env["ML_WHEEL_PLATFORM_TAG"] == "manylinux_2_17_x86_64"
    assert (
        env["HOME"] != os.environ.get("HOME") and Path(env["HOME"]).parent == Path(out_dir).parent
    )
    # The builder's temporary directory is gone after the action.
    assert not Path(out_dir).exists()
    # Python adds LC_CTYPE when it coerces the C locale.
    assert set(env) - {"LC_CTYPE"} == {
        "PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "PYTHONUTF8", "PYTHONNOUSERSITE",
        "PYTHONHASHSEED", "PYTHONDONTWRITEBYTECODE", "SOURCE_DATE_EPOCH",
        "ML_WHEEL_DISTRIBUTION", "ML_WHEEL_VERSION", "ML_WHEEL_PYTHON_TAG", "ML_WHEEL_ABI_TAG",
        "ML_WHEEL_PLATFORM_TAG", "WHEEL_VERSION_SUFFIX", "PYTHONUNBUFFERED", "DUMP", "JAX_RELEASE",
    }  # fmt: skip


def test_long_arguments_go_through_a_param_file(work):
    (work / "out").mkdir()
    dump = work / "dump.json"
    os.environ["DUMP"] = str(dump)
    try:
        pack_binary(
            str(work / "spec.json"),
            str(work / "out" / WHEEL_NAME),
            str(work / "builder"),
            [str(work / "lib.so"), str(work / "mod.py")],
            ["--out={output_dir}", "--dist={distribution}", "--version={version}", "--src={src}"],
            [("DUMP", str(dump))],
            param_file_threshold=40,
        )
    finally:
        del os.environ["DUMP"]
    (argv,) = [json.loads(dump.read_text())["argv"]]
    assert len(argv) == 1 and argv[0].startswith("@"), argv
    assert zipfile.ZipFile(work / "out" / WHEEL_NAME).namelist()[0] == "binpkg/lib.so"


def test_jaxlib_shaped_build_wheel_py_of_the_fixture(tmp_path):
    """The fixture's builder, with the default (jaxlib) arguments."""
    builder = _executable(
        tmp_path / "build_wheel", (FIXTURE / "tools" / "build_wheel.py").read_text()
    )
    so = tmp_path / "libbinpkg_core.so"
    so.write_bytes(b"\x7fELF pretend library")
    py = f"cp{sys.version_info[0]}{sys.version_info[1]}"
    name = f"binpkg-0.4.30.dev20250107-{py}-{py}-manylinux_2_17_x86_64.whl"
    spec = _spec(version="0.4.30.dev20250107", python_tag=py, abi_tag=py, wheel_name=name)
    write_spec(tmp_path / "spec.json", spec)
    srcs = [
        so,
        FIXTURE / "LICENSE",
        *(FIXTURE / "binpkg" / n for n in ("__init__.py", "version.py")),
    ]
    run_pack(
        *("binary", "--spec", tmp_path / "spec.json", "--output", tmp_path / name),
        *("--builder", builder, "--git-hash", GIT_HASH, "--version-suffix=.dev20250107"),
        *(arg for src in srcs for arg in ("--src", src)),
    )
    with zipfile.ZipFile(tmp_path / name) as archive:
        version_py = archive.read("binpkg/version.py").decode()
        assert sorted(archive.namelist()) == [
            "binpkg-0.4.30.dev20250107.dist-info/LICENSE",
            "binpkg-0.4.30.dev20250107.dist-info/METADATA",
            "binpkg-0.4.30.dev20250107.dist-info/RECORD",
            "binpkg-0.4.30.dev20250107.dist-info/WHEEL",
            "binpkg/__init__.py",
            "binpkg/libbinpkg_core.so",
            "binpkg/version.py",
        ]
    assert f"git_hash = '{GIT_HASH}'" in version_py
    assert "__version__ = '0.4.30.dev20250107'" in version_py


@pytest.mark.parametrize(
    ("mode", "error"),
    [
        (
            "nothing",
            "the wheel_binary //tools:build_wheel wrote 0 wheels into its output directory (it "
            "wrote build.log); it must write exactly one <dir>/<name>.whl",
        ),
        (
            "two",
            "the wheel_binary //tools:build_wheel wrote 2 wheels into its output directory (it "
            "wrote binpkg-0.4.30-cp311-cp311-linux_x86_64.whl, "
            "binpkg-0.4.30-cp311-cp311-manylinux_2_17_x86_64.whl); it must write exactly one "
            "<dir>/<name>.whl",
        ),
        (
            "fail",
            "the wheel_binary //tools:build_wheel failed with exit code 5 (its output is above); "
            "it wrote nothing",
        ),
        (
            "broken",
            "the wheel_binary //tools:build_wheel wrote "
            "binpkg-0.4.30-cp311-cp311-linux_x86_64.whl, which is not a readable zip archive "
            "(File is not a zip file); fix how the wheel_binary writes the wheel",
        ),
        (
            "other_version",
            "the wheel_binary //tools:build_wheel built binpkg 9.9 "
            "(binpkg-9.9-cp311-cp311-linux_x86_64.whl) but the rule says binpkg 0.4.30; make the "
            "wheel_binary and the rule agree on the distribution and version",
        ),
        (
            "metadata_version",
            "the built METADATA says binpkg 9.9 but the rule says binpkg 0.4.30; make the "
            "wheel_binary and the rule agree",
        ),
        (
            "invalid_name",
            "the wheel_binary //tools:build_wheel produced an invalid wheel name 'binpkg.whl': "
            "Invalid wheel filename (wrong number of parts): 'binpkg'",
        ),
    ],
)
def test_misbehaving_builder_is_a_one_line_error_after_its_output(work, mode, error):
    (work / "out").mkdir()
    result = _binary(work, builder_env={"MODE": mode}, check=False)
    assert _error(result) == f"{TARGET}: {error}"
    # Its stdout and stderr, in order, before the error.
    assert "builder: stdout line\nbuilder: stderr line\n" in result.stderr
    assert not (work / "out" / WHEEL_NAME).exists()


def test_platform_tag_without_compiled_code_is_refused(work):
    (work / "out").mkdir()
    (work / "lib.so").write_bytes(b"not ELF at all")
    result = _binary(work, check=False)
    assert _error(result) == (
        f"{TARGET}: platform_tag is 'manylinux_2_17_x86_64' but the wheel_binary "
        "//tools:build_wheel's wheel binpkg-0.4.30-cp311-cp311-linux_x86_64.whl (Root-Is-Purelib: "
        "false, Tag: cp311-cp311-linux_x86_64) holds no compiled code: no ELF, Mach-O or PE file "
        "among its 5 files (the build's output is above); put the Bazel-built libraries among "
        "the srcs the wheel_binary copies, or leave platform_tag unset for a pure wheel"
    )


def test_fixed_variables_cannot_be_overridden(work):
    result = _binary(work, "--env=PATH=/opt/bin", check=False)
    assert _error(result) == (
        f"{TARGET}: wheel_binary_env sets PATH, which binary mode fixes itself; remove it from "
        "wheel_binary_env"
    )


def test_metadata_given_to_the_rule_is_refused(work):
    spec = _spec()
    spec["metadata"]["summary"] = "lost"
    write_spec(work / "spec.json", spec)
    result = _binary(work, check=False)
    assert _error(result) == (
        f"{TARGET}: metadata field 'summary' is set, but in binary mode the project's "
        "wheel_binary writes METADATA; set it in the wheel_binary's own packaging and remove it "
        "from the rule"
    )


def test_unknown_placeholder_names_the_element_and_the_choices(work):
    result = _binary(work, "--arg=--out={outdir}", check=False)
    assert _error(result).startswith(
        f"{TARGET}: wheel_binary_args element '--out={{outdir}}' uses the unknown placeholder "
        "{outdir}; use one of {abi_tag}, {cpu}, "
    )


def test_builder_that_cannot_run(work):
    (work / "builder").chmod(0o644)
    result = _binary(work, check=False)
    assert _error(result) == (
        f"{TARGET}: cannot run the wheel_binary //tools:build_wheel: Permission denied"
    )


@pytest.mark.parametrize(
    ("tag", "cpu"),
    [
        ("manylinux_2_17_x86_64", "x86_64"),
        ("manylinux_2_27_aarch64.manylinux2014_aarch64", "aarch64"),
        ("manylinux2014_ppc64le", "ppc64le"),
        ("musllinux_1_2_x86_64", "x86_64"),
        ("linux_x86_64", "x86_64"),
        ("macosx_11_0_arm64", "arm64"),
        ("win_amd64", "AMD64"),
        ("any", ""),
    ],
)
def test_cpu_of_platform_tags(tag, cpu):
    assert cpu_of(tag) == cpu


def test_src_template_repeats_per_source_and_braces_escape():
    values = {"output_dir": "/o", "cpu": "x86_64"}
    assert builder_arguments(
        ["--srcs={src}", "{{literal}}", "--cpu={cpu}"], values, ["a", "b"]
    ) == [
        "--srcs=a",
        "--srcs=b",
        "{literal}",
        "--cpu=x86_64",
    ]
    with pytest.raises(WheelError, match=r"'--x=\{' is not a valid template"):
        builder_arguments(["--x={"], values, [])


def _runpath(data: bytes, directory: Path) -> str:
    """The RUNPATH of an ELF file's bytes, as readelf prints it."""
    so = directory / "member.so"
    so.write_bytes(data)
    out = subprocess.run(
        ["readelf", "-d", str(so)], check=True, capture_output=True, text=True
    ).stdout
    (line,) = [line for line in out.splitlines() if "(RUNPATH)" in line]
    return line.split("Library runpath: [", 1)[1].rsplit("]", 1)[0]


@pytest.mark.skipif(
    not (shutil.which("gcc") and shutil.which("readelf")), reason="needs gcc and readelf"
)
@pytest.mark.parametrize("keep", [False, True])
def test_bazel_runpath_of_the_built_libraries_is_removed_unless_kept(work, keep):
    # A library as Bazel links it: its RUNPATH searches Bazel's _solib_k8 first.
    (work / "f.c").write_text("int f(void) { return 42; }\n")
    subprocess.run(
        [
            "gcc",
            "-shared",
            "-fPIC",
            "-o",
            str(work / "lib.so"),
            str(work / "f.c"),
            "-Wl,-rpath,$ORIGIN/../_solib_k8/_U_S_Spkg___Ucore:$ORIGIN",
        ],
        check=True,
        capture_output=True,
    )
    built = (work / "lib.so").read_bytes()
    assert _runpath(built, work) == "$ORIGIN/../_solib_k8/_U_S_Spkg___Ucore:$ORIGIN"
    (work / "out").mkdir()
    _binary(work, *(["--keep-bazel-runpath"] if keep else []))
    wheel = work / "out" / WHEEL_NAME
    verify_record(wheel)
    with zipfile.ZipFile(wheel) as archive:
        shipped = archive.read("binpkg/lib.so")
        assert archive.read("binpkg/mod.py") == b"x = 1\n"
    if keep:
        assert shipped == built
    else:
        # Patched in place: same size, the other entry kept.
        assert len(shipped) == len(built) and shipped != built
        assert _runpath(shipped, work) == "$ORIGIN"
