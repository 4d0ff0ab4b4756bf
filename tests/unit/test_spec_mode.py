"""Spec mode end to end through the command line, as the Bazel action runs it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from .helpers import (
    base_spec,
    clean_pip_env,
    run_pack,
    sha256_file,
    tool_command,
    verify_record,
    write_spec,
)

FULL_SPEC = base_spec(
    version="1.2.0.dev0+selfbuilt",
    python_tag="cp311",
    abi_tag="cp311",
    platform_tag="manylinux_2_17_x86_64",
    wheel_name="my_project-1.2.0.dev0+selfbuilt-cp311-cp311-manylinux_2_17_x86_64.whl",
    metadata={
        "summary": "Demo project",
        "description_file": "README.md",
        "description_content_type": "",
        "license": "Apache-2.0",
        "author": "Ada",
        "author_email": "ada@example.org",
        "homepage": "",
        "keywords": [],
        "classifiers": ["Programming Language :: Python :: 3"],
        "project_urls": [["Source", "https://example.org/src"]],
        "requires_python": ">=3.9",
        "requires_dist": ["packaging>=20"],
        "extra_requires": {"cuda": ["nvidia-cublas-cu12>=12.1"]},
    },
    entry_points={"console_scripts": ["mytool = mypkg.cli:main"]},
)


def _pack_in(workdir: Path, *extra, env=None, check=True):
    """Runs spec mode with paths relative to ``workdir``."""
    return run_pack(
        "spec",
        "--spec",
        "spec.json",
        "--output",
        "out.whl",
        "--file",
        "mypkg/__init__.py",
        "src/mypkg/__init__.py",
        "--tree",
        "mypkg",
        "src/mypkg",
        "--distinfo-file",
        "licenses/LICENSE",
        "LICENSE",
        *extra,
        env=env,
        cwd=workdir,
        check=check,
    )


def _workspace(root: Path, project: Path, mode: int, mtime: float) -> Path:
    root.mkdir()
    shutil.copytree(project, root / "src")
    (root / "README.md").write_text("# Demo\n\nUnicode: é ü 漢字\n", encoding="utf-8")
    (root / "LICENSE").write_text("Apache License\n")
    write_spec(root / "spec.json", FULL_SPEC)
    for path in root.rglob("*"):
        if path.is_file():
            path.chmod(mode)
            os.utime(path, (mtime, mtime))
    return root


def test_reproducible_across_environment(tmp_path, project):
    first = _workspace(tmp_path / "one", project, 0o600, 1_000_000_000)
    second = _workspace(tmp_path / "two", project, 0o777, 1_700_000_000)
    env_a = dict(os.environ, TZ="UTC", LANG="C", LC_ALL="C")
    env_a.pop("SOURCE_DATE_EPOCH", None)  # unset on one side, set on the other
    env_b = dict(
        os.environ,
        TZ="Asia/Kolkata",
        LANG="de_DE.UTF-8",
        LC_ALL="de_DE.UTF-8",
        SOURCE_DATE_EPOCH="1700000000",
    )
    _pack_in(first, env=env_a)
    umask = os.umask(0o077)
    try:
        _pack_in(second, "--jobs", "2", env=env_b)
    finally:
        os.umask(umask)
    assert sha256_file(first / "out.whl") == sha256_file(second / "out.whl")
    assert not (first / "out.whl.tmp").exists()


def test_full_spec_contents(tmp_path, project):
    work = _workspace(tmp_path / "w", project, 0o644, 1_000_000_000)
    _pack_in(work)
    wheel = work / "out.whl"
    verify_record(wheel)
    info = "my_project-1.2.0.dev0+selfbuilt.dist-info"
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        metadata = zf.read(f"{info}/METADATA").decode()
        wheel_file = zf.read(f"{info}/WHEEL").decode()
        entry_points = zf.read(f"{info}/entry_points.txt").decode()
        assert zf.read(f"{info}/licenses/LICENSE") == b"Apache License\n"
    assert names == [
        "mypkg/__init__.py",
        "mypkg/cli.py",
        "mypkg/data/table.json",
        f"{info}/METADATA",
        f"{info}/WHEEL",
        f"{info}/entry_points.txt",
        f"{info}/licenses/LICENSE",
        f"{info}/RECORD",
    ]
    assert "Name: My-Project\n" in metadata
    assert "Version: 1.2.0.dev0+selfbuilt\n" in metadata
    assert 'Requires-Dist: nvidia-cublas-cu12>=12.1; extra == "cuda"\n' in metadata
    assert metadata.endswith(
        "Description-Content-Type: text/markdown\n\n# Demo\n\nUnicode: é ü 漢字\n"
    )
    assert "Root-Is-Purelib: false\nTag: cp311-cp311-manylinux_2_17_x86_64\n" in wheel_file
    assert entry_points == "[console_scripts]\nmytool = mypkg.cli:main\n"


def test_param_file_and_direct_alias(tmp_path, project):
    work = _workspace(tmp_path / "w", project, 0o644, 1_000_000_000)
    odd = work / "src" / "mypkg" / "données é.txt"
    odd.write_text("x")
    params = work / "args.params"
    params.write_text(
        "\n".join(
            [
                "direct",
                "--spec",
                "spec.json",
                "--output",
                "out.whl",
                "--tree",
                "",
                "src",
                "--file",
                "mypkg/données é.txt",
                "src/mypkg/données é.txt",
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    env = dict(os.environ, LC_ALL="C", LANG="C", PYTHONUTF8="0", PYTHONCOERCECLOCALE="0")
    run_pack(f"@{params}", cwd=work, env=env)
    with zipfile.ZipFile(work / "out.whl") as zf:
        assert "mypkg/données é.txt" in zf.namelist()
        assert "mypkg/cli.py" in zf.namelist()


def test_empty_wheel_is_valid(tmp_path):
    spec = write_spec(tmp_path / "spec.json", base_spec())
    out = tmp_path / "my_project-1.2.0-py3-none-any.whl"
    run_pack("spec", "--spec", spec, "--output", out)
    rows = verify_record(out)
    assert [r[0] for r in rows] == [
        "my_project-1.2.0.dist-info/METADATA",
        "my_project-1.2.0.dist-info/WHEEL",
        "my_project-1.2.0.dist-info/RECORD",
    ]


def _error(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("pack_wheel: error: ")
    return lines[0]


def test_wheel_name_mismatch(tmp_path):
    spec = write_spec(
        tmp_path / "spec.json", base_spec(wheel_name="my-project-1.2.0-py3-none-any.whl")
    )
    message = _error(run_pack("spec", "--spec", spec, "--output", tmp_path / "o.whl", check=False))
    assert "//pkg:wheel" in message
    assert "'my-project-1.2.0-py3-none-any.whl'" in message
    assert "'my_project-1.2.0-py3-none-any.whl'" in message
    assert not list(tmp_path.glob("*.whl*"))


def test_non_canonical_version(tmp_path):
    spec = write_spec(tmp_path / "spec.json", base_spec(version="1.2.0-rc1"))
    message = _error(run_pack("spec", "--spec", spec, "--output", tmp_path / "o.whl", check=False))
    assert "//pkg:wheel" in message and "'1.2.0-rc1'" in message and "'1.2.0rc1'" in message


def test_duplicate_destination_names_both_sources(tmp_path):
    (tmp_path / "a.py").write_text("a")
    (tmp_path / "b.py").write_text("b")
    spec = write_spec(tmp_path / "spec.json", base_spec())
    args = ["spec", "--spec", spec, "--output", tmp_path / "o.whl"]
    same = ["--file", "pkg/x.py", tmp_path / "a.py"]
    run_pack(*args, *same, *same)  # the same source twice is fine
    message = _error(run_pack(*args, *same, "--file", "pkg/x.py", tmp_path / "b.py", check=False))
    assert "'pkg/x.py'" in message
    assert str(tmp_path / "a.py") in message and str(tmp_path / "b.py") in message


def test_dangling_symlink_is_an_error(tmp_path):
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "ok.py").write_text("")
    os.symlink(tmp_path / "missing.py", tree / "gone.py")
    spec = write_spec(tmp_path / "spec.json", base_spec())
    args = ["spec", "--spec", spec, "--output", tmp_path / "o.whl"]
    message = _error(run_pack(*args, "--tree", "pkg", tree, check=False))
    assert str(tree / "gone.py") in message and "dangling symlink" in message
    message = _error(run_pack(*args, "--file", "pkg/g.py", tree / "gone.py", check=False))
    assert str(tree / "gone.py") in message


def test_symlinked_inputs_are_followed(tmp_path):
    real = tmp_path / "real.py"
    real.write_text("REAL = 1\n")
    sandbox = tmp_path / "sandbox"
    sandbox.mkdir()
    os.symlink(real, sandbox / "mod.py")
    os.symlink(sandbox, tmp_path / "linked_dir")
    spec = write_spec(tmp_path / "spec.json", base_spec())
    out = tmp_path / "o.whl"
    run_pack("spec", "--spec", spec, "--output", out, "--tree", "pkg", tmp_path / "linked_dir")
    with zipfile.ZipFile(out) as zf:
        assert zf.read("pkg/mod.py") == b"REAL = 1\n"


def test_directory_given_as_file(tmp_path, project):
    spec = write_spec(tmp_path / "spec.json", base_spec())
    message = _error(
        run_pack(
            "spec",
            "--spec",
            spec,
            "--output",
            tmp_path / "o.whl",
            "--file",
            "mypkg",
            project / "mypkg",
            check=False,
        )
    )
    assert str(project / "mypkg") in message and "--tree" in message


@pytest.mark.parametrize(
    ("flag", "dest", "needle"),
    [
        ("--file", "my_project-1.2.0.dist-info/extra.txt", "--distinfo-file"),
        ("--file", "other-1.0.dist-info/METADATA", "--distinfo-file"),
        ("--file", "other-1.0.data/purelib/x.py", "my_project-1.2.0.data"),
        ("--file", "my_project-1.2.0.data/bogus/x.py", "scheme"),
        ("--file", "../escape.py", "'..'"),
        ("--distinfo-file", "METADATA", "written by the packer"),
        ("--distinfo-file", "RECORD", "written by the packer"),
    ],
)
def test_reserved_locations(tmp_path, flag, dest, needle):
    (tmp_path / "f.txt").write_text("x")
    spec = write_spec(tmp_path / "spec.json", base_spec())
    message = _error(
        run_pack(
            "spec",
            "--spec",
            spec,
            "--output",
            tmp_path / "o.whl",
            flag,
            dest,
            tmp_path / "f.txt",
            check=False,
        )
    )
    assert needle in message and "//pkg:wheel" in message


def test_data_scripts_are_executable(tmp_path):
    (tmp_path / "tool").write_text("#!python\nprint('x')\n")
    spec = write_spec(tmp_path / "spec.json", base_spec())
    out = tmp_path / "o.whl"
    run_pack(
        "spec",
        "--spec",
        spec,
        "--output",
        out,
        "--file",
        "my_project-1.2.0.data/scripts/tool",
        tmp_path / "tool",
    )
    with zipfile.ZipFile(out) as zf:
        assert zf.getinfo("my_project-1.2.0.data/scripts/tool").external_attr >> 16 == 0o100755


def test_description_must_be_utf8(tmp_path):
    (tmp_path / "README.rst").write_bytes(b"caf\xe9\n")
    spec = base_spec()
    spec["metadata"]["description_file"] = str(tmp_path / "README.rst")
    spec_path = write_spec(tmp_path / "spec.json", spec)
    message = _error(
        run_pack("spec", "--spec", spec_path, "--output", tmp_path / "o.whl", check=False)
    )
    assert str(tmp_path / "README.rst") in message and "UTF-8" in message


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"compression_level": 12}, "compression_level"),
        ({"python_tag": 3}, "python_tag"),
        ({"surprise": 1}, "surprise"),
        ({"metadata": {"keywords": "a,b"}}, "metadata.keywords"),
        ({"metadata": {"project_urls": [["only-label"]]}}, "metadata.project_urls"),
        ({"metadata": {"license_files": "LICENSE"}}, "metadata.license_files"),
        ({"metadata": {"license_expression": ["MIT"]}}, "metadata.license_expression"),
        ({"metadata": {"maintainer": 1}}, "metadata.maintainer"),
        ({"metadata": {"maintainer_email": None}}, "metadata.maintainer_email"),
    ],
)
def test_malformed_spec(tmp_path, change, needle):
    spec_path = write_spec(tmp_path / "spec.json", base_spec(**change))
    message = _error(
        run_pack("spec", "--spec", spec_path, "--output", tmp_path / "o.whl", check=False)
    )
    assert needle in message and str(spec_path) in message


def test_metadata_errors_name_target_and_field(tmp_path):
    spec = base_spec()
    spec["metadata"]["summary"] = "two\nlines"
    spec_path = write_spec(tmp_path / "spec.json", spec)
    message = _error(
        run_pack("spec", "--spec", spec_path, "--output", tmp_path / "o.whl", check=False)
    )
    assert message == (
        "pack_wheel: error: //pkg:wheel: metadata field Summary contains a newline; "
        "write it on a single line"
    )


def test_help_explains_every_subcommand():
    for command in ("spec", "dir", "pep517"):
        out = run_pack(command, "--help").stdout
        assert "example:" in out
        assert "pack_wheel.py " + command in out


def test_twine_and_check_wheel_contents_accept_spec_wheels(tmp_path, project):
    work = _workspace(tmp_path / "w", project, 0o644, 1_000_000_000)
    _pack_in(work)
    wheel = work / FULL_SPEC["wheel_name"]
    (work / "out.whl").rename(wheel)
    twine = subprocess.run(
        [*tool_command("twine", "twine"), "check", "--strict", str(wheel)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert twine.returncode == 0, twine.stdout + twine.stderr
    assert "PASSED" in twine.stdout
    cwc = subprocess.run(
        [*tool_command("check-wheel-contents", "check_wheel_contents"), str(wheel)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert cwc.returncode == 0, cwc.stdout + cwc.stderr
    assert "OK" in cwc.stdout


def test_runs_as_plain_script_in_safe_path_mode(tmp_path):
    # Some launchers run Python with -P (no script directory on sys.path).
    flags = ["-P"] if sys.version_info >= (3, 11) else []
    spec = write_spec(tmp_path / "spec.json", base_spec())
    script = Path(__file__).parents[2] / "tools" / "pack_wheel.py"
    proc = subprocess.run(
        [sys.executable, *flags, str(script), "spec", "--spec", str(spec), "--output", "o.whl"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "o.whl").exists()


def test_symlink_loop_in_tree(tmp_path):
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "sub" / "a.py").write_text("")
    os.symlink(tree, tree / "sub" / "back")
    spec = write_spec(tmp_path / "spec.json", base_spec())
    message = _error(
        run_pack(
            "spec",
            "--spec",
            spec,
            "--output",
            tmp_path / "o.whl",
            "--tree",
            "pkg",
            tree,
            check=False,
        )
    )
    assert "symlink loop" in message and str(tree) in message


def test_missing_input(tmp_path):
    spec = write_spec(tmp_path / "spec.json", base_spec())
    message = _error(
        run_pack(
            "spec",
            "--spec",
            spec,
            "--output",
            tmp_path / "o.whl",
            "--file",
            "pkg/a.py",
            tmp_path / "nope.py",
            check=False,
        )
    )
    assert str(tmp_path / "nope.py") in message and "does not exist" in message


def test_bad_jobs_value(tmp_path):
    spec = write_spec(tmp_path / "spec.json", base_spec())
    proc = run_pack(
        "spec", "--spec", spec, "--output", tmp_path / "o.whl", "--jobs", "0", check=False
    )
    assert proc.returncode == 2 and "--jobs" in proc.stderr


# --- issue 10: names pip rejects; core metadata 2.4 ---------------------------


@pytest.mark.parametrize("distribution", ["demo\u017f", "\u212aernel", "demo\n"])
def test_distribution_names_pip_rejects_are_refused(tmp_path, distribution):
    spec = base_spec(distribution=distribution, wheel_name="demo-1.2.0-py3-none-any.whl")
    spec_path = write_spec(tmp_path / "spec.json", spec)
    message = _error(
        run_pack("spec", "--spec", spec_path, "--output", tmp_path / "o.whl", check=False)
    )
    assert message.startswith(
        f"pack_wheel: error: //pkg:wheel: distribution name {distribution!r} is not a valid "
        "PEP 508 name"
    )
    assert not list(tmp_path.glob("o.whl*"))


def test_extra_with_newline_is_refused_not_injected(tmp_path):
    spec = base_spec()
    spec["metadata"]["extra_requires"] = {"cuda\n": ["nvidia-cublas-cu12"]}
    spec_path = write_spec(tmp_path / "spec.json", spec)
    message = _error(
        run_pack("spec", "--spec", spec_path, "--output", tmp_path / "o.whl", check=False)
    )
    assert message.startswith("pack_wheel: error: //pkg:wheel: extra name 'cuda\\n' is not valid")


def test_entry_point_group_with_newline_is_refused(tmp_path):
    spec = base_spec(entry_points={"console_scripts\n": ["mytool = mypkg.cli:main"]})
    spec_path = write_spec(tmp_path / "spec.json", spec)
    message = _error(
        run_pack("spec", "--spec", spec_path, "--output", tmp_path / "o.whl", check=False)
    )
    assert message.startswith(
        "pack_wheel: error: //pkg:wheel: entry point group 'console_scripts\\n' is not valid"
    )


_SPEC_2_4 = {
    "summary": "Demo project",
    "description_file": "README.md",
    "license_expression": "Apache-2.0 OR MIT",
    "license_files": ["LICENSE", "NOTICE"],
    "maintainer": "Grace Hopper",
    "maintainer_email": "grace@example.org",
}


def _pack_2_4(work: Path, **changes) -> subprocess.CompletedProcess:
    (work / "NOTICE").write_text("Notice\n")
    spec = base_spec()
    spec["metadata"].update(_SPEC_2_4, **changes)
    write_spec(work / "spec.json", spec)
    return _pack_in(work, "--distinfo-file", "licenses/NOTICE", "NOTICE", check=False)


def test_core_metadata_2_4_fields(tmp_path, project):
    work = _workspace(tmp_path / "w", project, 0o644, 1_000_000_000)
    proc = _pack_2_4(work)
    assert proc.returncode == 0, proc.stderr
    info = "my_project-1.2.0.dist-info"
    with zipfile.ZipFile(work / "out.whl") as zf:
        metadata = zf.read(f"{info}/METADATA").decode()
        assert zf.read(f"{info}/licenses/NOTICE") == b"Notice\n"
    assert metadata.startswith(
        "Metadata-Version: 2.4\n"
        "Name: My-Project\n"
        "Version: 1.2.0\n"
        "Summary: Demo project\n"
        "Maintainer: Grace Hopper\n"
        "Maintainer-email: grace@example.org\n"
        "License-Expression: Apache-2.0 OR MIT\n"
        "License-File: LICENSE\n"
        "License-File: NOTICE\n"
        "Description-Content-Type: text/markdown\n\n"
    )


def test_license_file_without_its_file_is_refused(tmp_path, project):
    work = _workspace(tmp_path / "w", project, 0o644, 1_000_000_000)
    message = _error(_pack_2_4(work, license_files=["LICENSE", "COPYING"]))
    assert message == (
        "pack_wheel: error: //pkg:wheel: metadata field License-File 'COPYING' names no file "
        "of the wheel; add --distinfo-file licenses/COPYING SRC (the rule's license_files does)"
    )
    assert not list(work.glob("out.whl*"))


PIP_INSTALL = (sys.executable, "-m", "pip", "install", "--no-index", "--no-deps")


def test_core_metadata_2_4_wheel_passes_twine_check_wheel_contents_and_pip(tmp_path, project):
    work = _workspace(tmp_path / "w", project, 0o644, 1_000_000_000)
    assert _pack_2_4(work).returncode == 0
    wheel = work / "my_project-1.2.0-py3-none-any.whl"
    (work / "out.whl").rename(wheel)
    for command, passed in [
        ([*tool_command("twine", "twine"), "check", "--strict", str(wheel)], "PASSED"),
        ([*tool_command("check-wheel-contents", "check_wheel_contents"), str(wheel)], "OK"),
    ]:
        proc = subprocess.run(command, capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert passed in proc.stdout
    target = tmp_path / "site"
    pip = subprocess.run(
        [*PIP_INSTALL, "--target", str(target), str(wheel)],
        capture_output=True,
        text=True,
        env=clean_pip_env(),
        check=False,
    )
    assert pip.returncode == 0, pip.stdout + pip.stderr
    info = target / "my_project-1.2.0.dist-info"
    assert (info / "licenses" / "NOTICE").read_text() == "Notice\n"
    from importlib.metadata import PathDistribution

    installed = PathDistribution(info).metadata
    assert installed["License-Expression"] == "Apache-2.0 OR MIT"
    assert installed.get_all("License-File") == ["LICENSE", "NOTICE"]
