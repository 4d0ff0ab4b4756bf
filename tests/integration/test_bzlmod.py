"""The Bazel 7 lane: Debian forky's Bazel 7.7.1 with rules_python, entered
through scripts/forky.sh. Every example is built and tested as a bzlmod module
depending on rules_ml_wheels (against its sources and, with the
wheel_dependency switch, against its wheels; compliance tests included), one
example also in that Bazel's WORKSPACE mode, and the wheels get the same
validation as the Bazel 4.2.3 ones."""

from __future__ import annotations

import re
import shlex
import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from .bazel_runner import EXAMPLES, REPO_ROOT
from .conftest import EXAMPLE_WHEELS, copy_workspace
from .wheel_checks import check_wheel, read_metadata, sha256_of

pytestmark = pytest.mark.integration

FORKY = REPO_ROOT / "scripts" / "forky.sh"

# Bazel 7 from Debian resolves these modules/repositories from its own
# packages: the WORKSPACE-mode run points the repositories there too.
WORKSPACE_MODE_OVERRIDES = [
    "--override_repository=rules_python=/usr/share/bazel/rules/python",
    "--override_repository=bazel_skylib=/usr/share/bazel/tools/skylib",
    "--override_repository=platforms=/usr/share/bazel/tools/platforms",
    "--override_repository=rules_cc=/usr/share/bazel/rules/cc",
]


def _script(workdir: Path, output_root: Path) -> tuple[str, dict[str, Path]]:
    """A shell script running every Bazel 7 build of this lane, one namespace."""
    bazel = f"bazel --output_user_root={output_root}"
    lines = ["set -eu"]
    results: dict[str, Path] = {}
    for example in sorted(EXAMPLE_WHEELS):
        workspace = workdir / f"bzlmod-{example}"
        copy_workspace(EXAMPLES / example, workspace, bzlmod=True)
        results[example] = workspace
        lines += [
            f"cd {shlex.quote(str(workspace))}",
            f"{bazel} test --nosandbox_debug --test_output=errors --enable_bzlmod"
            " --symlink_prefix=/ //... >bazel.log 2>&1 || { tail -n 80 bazel.log; exit 1; }",
            # The same tests against the wheels' py_import.
            f"{bazel} test --nosandbox_debug --test_output=errors --enable_bzlmod"
            " --symlink_prefix=/ //... --@rules_ml_wheels//python_wheel:wheel_dependency=true"
            " >bazel-wheel.log 2>&1 || { tail -n 80 bazel-wheel.log; exit 1; }",
            f"{bazel} info --enable_bzlmod bazel-bin >bazel-bin.txt 2>/dev/null",
            f"{bazel} shutdown",
        ]
    workspace = workdir / "workspace-pure_python"
    copy_workspace(EXAMPLES / "pure_python", workspace)
    results["workspace-mode"] = workspace
    overrides = " ".join(WORKSPACE_MODE_OVERRIDES)
    lines += [
        f"cd {shlex.quote(str(workspace))}",
        f"{bazel} test --nosandbox_debug --test_output=errors --noenable_bzlmod {overrides}"
        " --symlink_prefix=/ //..."
        " >bazel.log 2>&1 || { tail -n 80 bazel.log; exit 1; }",
        f"{bazel} info --noenable_bzlmod {overrides} bazel-bin >bazel-bin.txt 2>/dev/null",
        f"{bazel} shutdown",
    ]
    return "\n".join(lines) + "\n", results


def _source_digests(workspaces: dict[str, Path]) -> dict[Path, str]:
    return {
        path: sha256_of(path)
        for workspace in workspaces.values()
        for path in sorted(workspace.rglob("*"))
        if path.is_file() and not path.is_symlink()
    }


@dataclass
class Bazel7Lane:
    wheels: dict[str, list[Path]]
    # Source files of the example copies whose bytes differ after the builds.
    changed_sources: list[str]


@pytest.fixture(scope="module")
def bazel7_builds(tmp_path_factory) -> Bazel7Lane:
    subprocess.run([str(FORKY), "create"], check=True)
    workdir = tmp_path_factory.mktemp("bazel7")
    script, workspaces = _script(workdir, workdir / "output_root")
    (workdir / "run.sh").write_text(script)
    before = _source_digests(workspaces)
    result = subprocess.run(
        [str(FORKY), "run", "--bind", str(workdir), "--", "bash", str(workdir / "run.sh")],
        capture_output=True,
        text=True,
        check=False,
        timeout=1800,
    )
    after = _source_digests(workspaces)
    changed = sorted(
        str(path.relative_to(workdir))
        for path, digest in before.items()
        if after.get(path) != digest
    )
    assert result.returncode == 0, (
        f"changed sources: {changed}\n" + result.stdout[-10000:] + result.stderr[-4000:]
    )
    wheels = {}
    for name, workspace in workspaces.items():
        bin_dir = Path((workspace / "bazel-bin.txt").read_text().strip())
        example = name if name in EXAMPLE_WHEELS else "pure_python"
        wheels[name] = sorted(
            p for pkg in EXAMPLE_WHEELS[example] for p in (bin_dir / pkg).glob("*.whl")
        )
        assert wheels[name], f"no wheels for {name} under {bin_dir}"
    return Bazel7Lane(wheels, changed)


def _members(wheel: Path) -> list[str]:
    """Member names, the CPython tag of extension file names made generic: the
    lanes build for different interpreters (`_native.cpython-314-...so` here)."""
    with zipfile.ZipFile(wheel) as archive:
        return [re.sub(r"\.cpython-\d+t?-", ".cpython-XY-", n) for n in archive.namelist()]


@pytest.mark.parametrize("example", sorted(EXAMPLE_WHEELS))
def test_bzlmod_wheels_match_bazel4_wheels(bazel7_builds, built_examples, example):
    bazel7 = bazel7_builds.wheels[example]
    bazel4 = built_examples[example].wheels
    assert len(bazel7) == len(bazel4)
    for new, old in zip(bazel7, bazel4):
        check_wheel(new)
        assert _members(new) == _members(old)
        new_metadata, old_metadata = read_metadata(new), read_metadata(old)
        assert new_metadata.items() == old_metadata.items()
        assert new_metadata.get_payload() == old_metadata.get_payload()
        if new.name.endswith("-none-any.whl"):
            # Same writer, same inputs: pure wheels are the same bytes.
            assert new.read_bytes() == old.read_bytes(), new.name


def test_workspace_mode_on_bazel7_matches(bazel7_builds, built_examples):
    (wheel,) = bazel7_builds.wheels["workspace-mode"]
    (reference,) = built_examples["pure_python"].wheels
    check_wheel(wheel)
    assert wheel.read_bytes() == reference.read_bytes()


def test_bazel7_leaves_sources_untouched(bazel7_builds):
    # Bazel 7's reused sandboxes can write an implicit empty __init__.py
    # through a stale link onto a real one (bazelbuild/bazel#26615); the
    # examples turn implicit __init__.py files off, and no source may change.
    assert bazel7_builds.changed_sources == []
