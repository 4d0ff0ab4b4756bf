"""pack_wheel's outputs: created exclusively, never half-written, never redirected.

Every output (wheel, compression bundle, ``--dist-info-out`` files, ``dir``
mode's wheel) is written to a fresh temporary file created with O_EXCL and
O_NOFOLLOW next to it and renamed into place; an error or a signal removes it.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from .helpers import base_spec, write_spec

TOOLS = Path(__file__).resolve().parents[2] / "tools"
PACK = TOOLS / "pack_wheel.py"
WHEEL = "my_project-1.2.0-py3-none-any.whl"
VICTIM = b"must not be overwritten\n"


def _run(*args: str, cwd: Path, umask: int | None = None) -> subprocess.CompletedProcess:
    def set_umask() -> None:
        if umask is not None:
            os.umask(umask)

    return subprocess.run(
        [sys.executable, str(PACK), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        preexec_fn=set_umask,
    )


def _one_line_error(result: subprocess.CompletedProcess, *needles: str) -> str:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("pack_wheel: error: "), lines[0]
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "a.py").write_text("A = 1\n")
    (tmp_path / "LICENSE").write_text("MIT\n")
    write_spec(tmp_path / "spec.json", base_spec())
    (tmp_path / "victim").write_bytes(VICTIM)
    return tmp_path


def _spec_args(output: str = "out.whl") -> list[str]:
    return ["spec", "--spec", "spec.json", "--output", output, "--file", "my_project/a.py", "a.py"]


def _listing(directory: Path) -> list[str]:
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*"))


def _plant(link: Path, target: Path) -> None:
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(target)


# --- 1. Temporary files are created exclusively; planted symlinks are not followed.


def test_wheel_symlink_planted_at_the_old_temp_name_is_not_followed(work: Path) -> None:
    _plant(work / "out.whl.tmp", work / "victim")
    result = _run(*_spec_args(), cwd=work)
    assert result.returncode == 0, result.stderr
    assert (work / "victim").read_bytes() == VICTIM
    assert zipfile.ZipFile(work / "out.whl").namelist()[0] == "my_project/a.py"
    assert os.path.islink(work / "out.whl.tmp")


def test_bundle_symlink_planted_at_the_old_temp_name_is_not_followed(work: Path) -> None:
    _plant(work / "s.bundle.tmp", work / "victim")
    args = ["compress", "--compression-level", "6", "--output", "s.bundle"]
    result = _run(*args, "--file", "my_project/a.py", "a.py", cwd=work)
    assert result.returncode == 0, result.stderr
    assert (work / "victim").read_bytes() == VICTIM
    assert (work / "s.bundle").read_bytes().endswith(b"MLWBNDL3")


def test_dir_mode_symlink_planted_in_dest_dir_is_not_followed(work: Path) -> None:
    assert _run(*_spec_args(), cwd=work).returncode == 0
    with zipfile.ZipFile(work / "out.whl") as zf:
        zf.extractall(work / "unpacked")
    _plant(work / "dist" / f"{WHEEL}.tmp", work / "victim")
    result = _run("dir", "unpacked", "--dest-dir", "dist", cwd=work)
    assert result.returncode == 0, result.stderr
    assert (work / "victim").read_bytes() == VICTIM
    assert (work / "dist" / WHEEL).read_bytes() == (work / "out.whl").read_bytes()


def test_dist_info_out_symlinks_are_replaced_not_written_through(work: Path) -> None:
    # Before: open(path, "wb") followed a symlink already at the output path.
    _plant(work / "di" / "METADATA", work / "victim")
    result = _run(*_spec_args(), "--dist-info-out", "di", cwd=work)
    assert result.returncode == 0, result.stderr
    assert (work / "victim").read_bytes() == VICTIM
    metadata = work / "di" / "METADATA"
    assert not metadata.is_symlink()
    with zipfile.ZipFile(work / "out.whl") as zf:
        assert metadata.read_bytes() == zf.read("my_project-1.2.0.dist-info/METADATA")


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_outputs_keep_the_mode_open_would_give(work: Path, umask: int) -> None:
    result = _run(*_spec_args(), "--dist-info-out", "di", cwd=work, umask=umask)
    assert result.returncode == 0, result.stderr
    for path in (work / "out.whl", work / "di" / "RECORD"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask, path


def test_success_leaves_no_temporary_file(work: Path) -> None:
    before = _listing(work)
    result = _run(*_spec_args(), "--dist-info-out", "di", cwd=work)
    assert result.returncode == 0, result.stderr
    added = sorted(set(_listing(work)) - set(before))
    assert added == ["di", "di/METADATA", "di/RECORD", "di/WHEEL", "out.whl"]


# --- 3. Error paths are one line (exit 2), and nothing is left half-written.


def test_output_that_is_a_directory(work: Path) -> None:
    (work / "out.whl").mkdir()
    before = _listing(work)
    result = _run(*_spec_args(), cwd=work)
    _one_line_error(result, "output out.whl is a directory", "choose another output path")
    assert _listing(work) == before


def test_bundle_output_that_is_a_directory(work: Path) -> None:
    (work / "s.bundle").mkdir()
    before = _listing(work)
    args = ["compress", "--compression-level", "6", "--output", "s.bundle"]
    result = _run(*args, "--file", "my_project/a.py", "a.py", cwd=work)
    _one_line_error(result, "output s.bundle is a directory")
    assert _listing(work) == before


def test_dist_info_out_that_is_a_file(work: Path) -> None:
    (work / "di").write_text("a file\n")
    before = _listing(work)
    result = _run(*_spec_args(), "--dist-info-out", "di", cwd=work)
    _one_line_error(result, "--dist-info-out di exists and is not a directory")
    assert _listing(work) == before
    assert (work / "di").read_text() == "a file\n"


def test_dist_info_out_failing_midway_leaves_no_wheel(work: Path) -> None:
    # licenses/ cannot be created: the wheel was complete, but must not be left behind.
    (work / "di").mkdir()
    (work / "di" / "licenses").write_text("in the way\n")
    before = _listing(work)
    result = _run(
        *_spec_args(),
        "--distinfo-file",
        "licenses/LICENSE",
        "LICENSE",
        "--dist-info-out",
        "di",
        cwd=work,
    )
    _one_line_error(result, "cannot create directory di/licenses", "remove what is in the way")
    assert _listing(work) == before


def test_dest_dir_that_is_a_file(work: Path) -> None:
    assert _run(*_spec_args(), cwd=work).returncode == 0
    with zipfile.ZipFile(work / "out.whl") as zf:
        zf.extractall(work / "unpacked")
    (work / "dist").write_text("a file\n")
    result = _run("dir", "unpacked", "--dest-dir", "dist", cwd=work)
    _one_line_error(result, "--dest-dir dist exists and is not a directory")
    assert (work / "dist").read_text() == "a file\n"


def test_non_utf8_wheel_file_with_build_number(work: Path) -> None:
    assert _run(*_spec_args(), cwd=work).returncode == 0
    with zipfile.ZipFile(work / "out.whl") as zf:
        zf.extractall(work / "unpacked")
    wheel_file = work / "unpacked" / "my_project-1.2.0.dist-info" / "WHEEL"
    wheel_file.write_bytes(wheel_file.read_bytes() + b"Generator: caf\xe9\n")
    result = _run("dir", "unpacked", "--dest-dir", "dist", "--build-number", "3", cwd=work)
    _one_line_error(result, "WHEEL is not valid UTF-8", "save it as UTF-8")
    assert not (work / "dist").exists() or _listing(work / "dist") == []


def test_deeply_nested_json_spec(work: Path) -> None:
    spec = base_spec()
    nested = "[" * 100_000 + "]" * 100_000
    text = json.dumps(spec).replace('"entry_points": {}', f'"entry_points": {nested}')
    (work / "deep.json").write_text(text)
    result = _run("spec", "--spec", "deep.json", "--output", "out.whl", cwd=work)
    _one_line_error(result, "spec deep.json nests JSON arrays/objects too deeply")
    assert not (work / "out.whl").exists()


def test_nul_byte_in_a_nested_param_file_path(work: Path) -> None:
    (work / "p.params").write_bytes(b"@in\x00ner.params\n")
    result = _run("@p.params", cwd=work)
    _one_line_error(result, "param file p.params line 1 contains a NUL byte")


def test_nul_byte_in_a_path_inside_a_param_file(work: Path) -> None:
    lines = [*_spec_args()[:-1], "a\x00.py"]
    (work / "p.params").write_bytes("\n".join(lines).encode() + b"\n")
    result = _run("@p.params", cwd=work)
    _one_line_error(result, "param file p.params line 8 contains a NUL byte")
    assert not (work / "out.whl").exists()


# --- 2. SIGTERM/SIGINT during a pack remove the partial output.


@pytest.mark.parametrize(
    ("signum", "jobs", "to_group"),
    [
        (signal.SIGTERM, "1", False),
        (signal.SIGINT, "1", False),
        (signal.SIGTERM, "2", False),
        (signal.SIGINT, "2", False),
        # What Bazel does to cancel an action: the whole process group, workers included.
        (signal.SIGTERM, "2", True),
    ],
)
def test_signal_during_pack_leaves_no_partial_file(
    tmp_path: Path, signum: signal.Signals, jobs: str, to_group: bool
) -> None:
    # Incompressible data at level 9 takes seconds to pack: long enough to be interrupted.
    write_spec(tmp_path / "spec.json", base_spec(compression_level=9))
    with open(tmp_path / "big.bin", "wb") as f:
        for _ in range(192):
            f.write(os.urandom(1 << 20))
    before = _listing(tmp_path)
    args = ["--output", "out.whl", "--jobs", jobs, "--file", "my_project/big.bin", "big.bin"]
    proc = subprocess.Popen(
        [sys.executable, str(PACK), "spec", "--spec", "spec.json", *args],
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    # Wait (not a timed assertion) until the temporary wheel has data in it.
    while proc.poll() is None and not any(
        p.name.endswith(".tmp") and p.stat().st_size > (1 << 20) for p in tmp_path.iterdir()
    ):
        time.sleep(0.01)
    assert proc.poll() is None, "the pack ended before it could be interrupted"
    if to_group:
        os.killpg(proc.pid, signum)
    else:
        proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signum, stderr
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines() == [
        f"pack_wheel: error: interrupted by {signum.name}; partial outputs were removed"
    ]
    assert _listing(tmp_path) == before


# --- 4. Symlinked directory graphs among inputs are refused in bounded time and memory.


def _limited(seconds: int, memory: int) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds))
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))


def _diamond(root: Path, levels: int) -> Path:
    """Level k holds two symlinks, x and y, to level k+1: 2**levels paths, no loop."""
    for level in range(levels, -1, -1):
        directory = root / f"l{level}"
        directory.mkdir(parents=True)
        if level == levels:
            (directory / "leaf.py").write_text("LEAF = 1\n")
        else:
            (directory / "x").symlink_to(f"../l{level + 1}")
            (directory / "y").symlink_to(f"../l{level + 1}")
    return root / "l0"


def test_symlink_diamond_lattice_is_refused_under_resource_limits(work: Path) -> None:
    _diamond(work / "lattice", 20)
    args = [*_spec_args(), "--tree", "my_project/data", "lattice/l0"]
    result = subprocess.run(
        [sys.executable, str(PACK), *args],
        cwd=work,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
        preexec_fn=lambda: _limited(60, 1 << 30),
    )
    _one_line_error(
        result,
        "--tree input lattice/l0 reaches directory",
        "through more than 64 paths of directory symlinks",
        "add that directory once with its own --tree",
    )
    assert not (work / "out.whl").exists()


def test_tree_walk_counts_entries_and_refuses_past_the_cap(tmp_path: Path) -> None:
    from ml_wheels.errors import WheelError
    from ml_wheels.inputs import walk_tree

    for i in range(30):
        (tmp_path / f"f{i:02}.py").write_text("")
    assert len(walk_tree(str(tmp_path), max_entries=30)) == 30
    with pytest.raises(WheelError, match=r"expands to more than 29 entries \(at "):
        walk_tree(str(tmp_path), max_entries=29)


def test_tree_walk_allows_a_directory_reached_through_a_few_symlinks(tmp_path: Path) -> None:
    from ml_wheels.inputs import walk_tree

    leaf = _diamond(tmp_path / "lattice", 3)
    rels = [rel for rel, _ in walk_tree(str(leaf))]
    assert len(rels) == 8 and rels[0] == "x/x/x/leaf.py" and rels[-1] == "y/y/y/leaf.py"


@pytest.mark.parametrize("shape", ["self", "two_step", "to_root"])
def test_symlink_loops_of_every_shape_are_refused(tmp_path: Path, shape: str) -> None:
    from ml_wheels.errors import WheelError
    from ml_wheels.inputs import walk_tree

    root = tmp_path / "root"
    (root / "a" / "b").mkdir(parents=True)
    (root / "c").mkdir()
    if shape == "self":
        (root / "a" / "b" / "again").symlink_to(".")
    elif shape == "two_step":
        (root / "a" / "b" / "to_c").symlink_to("../../c")
        (root / "c" / "to_a").symlink_to("../a")
    else:
        (root / "a" / "b" / "up").symlink_to(root)
    with pytest.raises(WheelError, match=r"has a symlink loop at .*; remove the loop"):
        walk_tree(str(root))


def test_deeply_nested_tree_is_walked_without_recursion_error(tmp_path: Path) -> None:
    # Before: one Python frame per level, RecursionError past ~1000 levels.
    from ml_wheels.inputs import walk_tree

    deep = tmp_path / "deep"
    fd = os.open(tmp_path, os.O_RDONLY)
    try:
        os.mkdir("deep", dir_fd=fd)
        current = os.open("deep", os.O_RDONLY, dir_fd=fd)
        for _ in range(1200):
            os.mkdir("d", dir_fd=current)
            nxt = os.open("d", os.O_RDONLY, dir_fd=current)
            os.close(current)
            current = nxt
        leaf = os.open("leaf.py", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=current)
        os.close(leaf)
        os.close(current)
    finally:
        os.close(fd)
    try:
        ((rel, _),) = walk_tree(str(deep))
        assert rel == "d/" * 1200 + "leaf.py"
    finally:
        # pytest's recursive cleanup would hit the recursion limit: remove bottom-up.
        os.unlink(os.path.join(deep, *["d"] * 1200, "leaf.py"))
        for depth in range(1200, -1, -1):
            os.rmdir(os.path.join(deep, *["d"] * depth))


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any directory")
def test_unreadable_directory_in_a_tree(tmp_path: Path) -> None:
    from ml_wheels.errors import WheelError
    from ml_wheels.inputs import walk_tree

    (tmp_path / "tree" / "locked").mkdir(parents=True)
    (tmp_path / "tree" / "locked").chmod(0)
    try:
        with pytest.raises(WheelError, match="cannot be read: Permission denied; fix its"):
            walk_tree(str(tmp_path / "tree"))
    finally:
        (tmp_path / "tree" / "locked").chmod(0o755)
