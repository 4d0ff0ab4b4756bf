"""python_wheel_version_suffix_repository with real Bazel: the anchors' five
documented versions, errors naming the variable, and refetch behaviour."""

from __future__ import annotations

import re

import pytest

from .bazel_runner import REPO_ROOT

pytestmark = pytest.mark.integration

FIXTURE = REPO_ROOT / "tests" / "fixtures" / "version_suffix"
HASH = "0cbe478fc5a39d1e6b4f0e8a0d2c4f6b8a1c3e5f"


@pytest.fixture(scope="module")
def bazel(make_bazel):
    return make_bazel(FIXTURE, "version-suffix")


def _repo_env(**variables: str) -> list[str]:
    return [f"--repo_env={key}={value}" for key, value in variables.items()]


def _wheel_name(bazel, *flags: str) -> str:
    """Builds the fixture wheel and returns the file name Bazel reports for it.

    bazel-bin keeps stale outputs of earlier builds, so the name comes from
    Bazel's own "up-to-date" report, not from listing the directory.
    """
    result = bazel.run("build", "//pkg:wheel", "--symlink_prefix=/", *flags)
    wheels = re.findall(r"(\S+\.whl)\s*$", result.stderr, flags=re.MULTILINE)
    assert len(wheels) == 1, result.stderr
    return wheels[0].rsplit("/", 1)[-1]


@pytest.mark.parametrize(
    ("variables", "version"),
    [
        ({"ML_WHEEL_TYPE": "nightly", "ML_WHEEL_BUILD_DATE": "20250107"}, "2.19.0.dev20250107"),
        ({"ML_WHEEL_TYPE": "release"}, "2.19.0"),
        ({"ML_WHEEL_TYPE": "release", "ML_WHEEL_VERSION_SUFFIX": "-rc1"}, "2.19.0rc1"),
        (
            {
                "ML_WHEEL_TYPE": "custom",
                "ML_WHEEL_BUILD_DATE": "2025-01-07",
                "ML_WHEEL_GIT_HASH": HASH,
                "ML_WHEEL_VERSION_SUFFIX": "custom",
            },
            "2.19.0.dev20250107+cbe478fc5custom",
        ),
        ({}, "2.19.0.dev0+selfbuilt"),
    ],
    ids=["nightly", "release", "release-rc1", "custom", "snapshot"],
)
def test_documented_versions(bazel, variables, version):
    flags = _repo_env(**variables)
    for unset in {
        "ML_WHEEL_TYPE",
        "ML_WHEEL_BUILD_DATE",
        "ML_WHEEL_GIT_HASH",
        "ML_WHEEL_VERSION_SUFFIX",
    } - set(variables):
        flags.append(f"--repo_env={unset}=")
    assert _wheel_name(bazel, *flags) == f"suffix_fixture-{version}-py3-none-any.whl"


@pytest.mark.parametrize(
    ("variables", "variable", "value"),
    [
        ({"ML_WHEEL_TYPE": "weekly"}, "ML_WHEEL_TYPE", "weekly"),
        (
            {"ML_WHEEL_TYPE": "nightly", "ML_WHEEL_BUILD_DATE": "2025-13-07"},
            "ML_WHEEL_BUILD_DATE",
            "2025-13-07",
        ),
        ({"ML_WHEEL_TYPE": "nightly"}, "ML_WHEEL_BUILD_DATE", None),
        (
            {"ML_WHEEL_TYPE": "custom", "ML_WHEEL_GIT_HASH": "not-a-hash"},
            "ML_WHEEL_GIT_HASH",
            "not-a-hash",
        ),
        (
            {"ML_WHEEL_TYPE": "release", "ML_WHEEL_VERSION_SUFFIX": "-rc 1"},
            "ML_WHEEL_VERSION_SUFFIX",
            "-rc 1",
        ),
    ],
    ids=["bad-type", "bad-date", "nightly-without-date", "bad-hash", "suffix-not-pep440"],
)
def test_bad_values_fail_naming_the_variable(bazel, variables, variable, value):
    result = bazel.run("build", "//pkg:wheel", *_repo_env(**variables), check=False)
    assert result.returncode != 0
    errors = [
        line
        for line in result.stderr.splitlines()
        if "python_wheel_version_suffix_repository" in line
    ]
    assert errors, result.stderr
    assert variable in errors[-1]
    if value is not None:
        assert repr(value).replace("'", '"') in errors[-1]


def test_unchanged_variables_rebuild_nothing_and_changes_refetch(bazel):
    nightly = _repo_env(ML_WHEEL_TYPE="nightly", ML_WHEEL_BUILD_DATE="20250107")
    assert _wheel_name(bazel, *nightly).startswith("suffix_fixture-2.19.0.dev20250107-")
    again = bazel.run("build", "//pkg:wheel", "--symlink_prefix=/", *nightly)
    # Nothing refetched or reanalysed, no action executed (the one "internal"
    # process Bazel 4 reports is its own bookkeeping).
    assert "(0 packages loaded, 0 targets configured)" in again.stderr, again.stderr
    assert re.search(r"INFO: \d+ process(es)?: \d+ internal\.$", again.stderr, re.MULTILINE), (
        again.stderr
    )
    changed = _repo_env(ML_WHEEL_TYPE="nightly", ML_WHEEL_BUILD_DATE="20250108")
    assert _wheel_name(bazel, *changed).startswith("suffix_fixture-2.19.0.dev20250108-")


def test_semantic_suffix(bazel):
    flags = _repo_env(ML_WHEEL_TYPE="nightly", ML_WHEEL_BUILD_DATE="20250107")
    bazel.run("build", "//pkg:semantic", "--symlink_prefix=/", *flags)
    text = (bazel.bin_dir(*flags) / "pkg" / "semantic_version.txt").read_text().strip()
    assert text == "2.19.0-dev20250107"
