"""Runs the Starlark unit and analysis tests (tests/starlark) with real Bazel."""

from __future__ import annotations

import re

import pytest

from .bazel_runner import REPO_ROOT

pytestmark = pytest.mark.integration


def test_starlark_unit_and_analysis_tests_pass(make_bazel):
    bazel = make_bazel(REPO_ROOT, "starlark")
    result = bazel.run("test", "//tests/starlark/...", "--symlink_prefix=/", check=False)
    summary = re.search(
        r"Executed (\d+) out of (\d+) tests?: (\d+) tests? pass", result.stdout + result.stderr
    )
    assert result.returncode == 0 and summary, result.stdout[-8000:] + result.stderr[-8000:]
    executed, total, passed = (int(g) for g in summary.groups())
    assert executed == total == passed and total >= 50
