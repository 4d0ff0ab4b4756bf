"""Lint gates: buildifier over all Starlark, ruff over all Python."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def _git_files(*patterns: str) -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "--", *patterns],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [line for line in out.splitlines() if (REPO_ROOT / line).exists()]


def test_buildifier_clean():
    buildifier = REPO_ROOT / "node_modules" / ".bin" / "buildifier"
    assert buildifier.exists(), "run scripts/setup.sh to install buildifier"
    files = _git_files("*.bzl", "*.bazel", "BUILD", "WORKSPACE", "*/BUILD", "*/WORKSPACE")
    assert files
    result = subprocess.run(
        [str(buildifier), "-mode=check", "-lint=warn", *files],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_clean():
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "tools", "tests", "examples", "benchmarks"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
