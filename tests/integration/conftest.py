"""Fixtures that build the example workspaces once per test session."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from .bazel_runner import EXAMPLES, REPO_ROOT, Bazel

# Each example, and where its wheels land under bazel-bin.
EXAMPLE_WHEELS = {
    "pure_python": ["greet"],
    "c_extension": ["fastmath", "pep517"],
    "multi_wheel": ["core", "plugin"],
}


def host_path() -> str:
    """PATH without the test virtualenv, so Bazel finds the machine's python3."""
    venv_bin = str(Path(sys.prefix) / "bin")
    return os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if p != venv_bin)


@dataclass
class BuiltExample:
    """An example workspace after `bazel test //...`."""

    name: str
    bazel: Bazel
    wheels: list[Path]


@pytest.fixture(scope="session")
def bazel_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Directory for the session's Bazel output bases."""
    return tmp_path_factory.mktemp("bazel")


def copy_workspace(source: Path, destination: Path, bzlmod: bool = False) -> Path:
    """Copies a workspace that uses rules_ml_wheels by relative path.

    The copy leaves out bazel-* output links (`//...` would walk into them)
    and reaches this checkout of rules_ml_wheels through
    --override_repository added to its .bazelrc (its own options kept), since
    the relative path no longer points at it. The examples themselves stay untouched.
    """
    if not destination.exists():
        shutil.copytree(source, destination, ignore=shutil.ignore_patterns("bazel-*"))
        option = "override_module" if bzlmod else "override_repository"
        bazelrc = destination / ".bazelrc"
        kept = bazelrc.read_text() if bazelrc.exists() else ""
        bazelrc.write_text(f"{kept}common --{option}=rules_ml_wheels={REPO_ROOT}\n")
    return destination


@pytest.fixture(scope="session")
def make_bazel(bazel_root: Path) -> Iterator:
    """Factory of Bazel servers on copies of workspaces; shuts them down at the end."""
    servers: list[Bazel] = []

    def make(
        workspace: Path, output_base: str, copy_as: str = "", umask: int = 0o022, **env: str
    ) -> Bazel:
        if workspace != REPO_ROOT:
            copy_name = copy_as or workspace.name
            workspace = copy_workspace(workspace, bazel_root / "workspaces" / copy_name)
        bazel = Bazel(workspace, bazel_root / output_base, {"PATH": host_path(), **env}, umask)
        servers.append(bazel)
        return bazel

    yield make
    for server in servers:
        server.shutdown()


def _collect_wheels(bin_dir: Path, packages: list[str]) -> list[Path]:
    wheels = sorted(p for package in packages for p in (bin_dir / package).glob("*.whl"))
    assert wheels, f"no wheels under {bin_dir} in {packages}"
    return wheels


@pytest.fixture(scope="session")
def built_examples(make_bazel) -> dict[str, BuiltExample]:
    """Every example after `bazel test //...` (build everything, run its tests)."""
    built = {}
    for name, packages in EXAMPLE_WHEELS.items():
        bazel = make_bazel(EXAMPLES / name, f"{name}-main")
        bazel.run("test", "//...", "--symlink_prefix=/")
        built[name] = BuiltExample(name, bazel, _collect_wheels(bazel.bin_dir(), packages))
    return built


@pytest.fixture
def fresh_venv(tmp_path: Path) -> Path:
    """A new virtualenv (pip only) made from the machine's python3."""
    python3 = shutil.which("python3", path=host_path())
    assert python3, "python3 is not on PATH"
    target = tmp_path / "venv"
    subprocess.run([python3, "-m", "venv", str(target)], check=True)
    return target


__all__ = ["REPO_ROOT", "BuiltExample"]
