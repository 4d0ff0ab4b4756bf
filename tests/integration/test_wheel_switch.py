"""The three-way wheel_dependency switch with real Bazel: one py_test of
tests/fixtures/wheel_switch against the sources, the wheel built there and
the released wheel of the same distribution (a pinned .whl in WORKSPACE mode
on Bazel 4.2.3; a hash-pinned requirement from rules_python's pip hub under
bzlmod on Bazel 7.7.1), each run seeing its own origin."""

from __future__ import annotations

import re
import shlex
import subprocess

import pytest

from .bazel_runner import REPO_ROOT, remove_tree
from .conftest import copy_workspace
from .test_hermetic_python import _cache_dir, _pyenv_installations, make_python_archive

pytestmark = pytest.mark.integration

FIXTURE = REPO_ROOT / "tests" / "fixtures" / "wheel_switch"
FORKY = REPO_ROOT / "scripts" / "forky.sh"
FLAG = "--@rules_ml_wheels//python_wheel:wheel_dependency"
# Mode (the flag's value, None: not given) -> the variant and version the test sees.
EXPECTED = {
    None: ("sources", "none"),
    "false": ("sources", "none"),
    "true": ("wheel", "1.0.0"),
    "released": ("released", "0.9.0"),
}


def _origin(log: str) -> tuple[str, str, str]:
    (line,) = re.findall(r"^origin: (\S+) (\S+) (\S+)$", log, flags=re.MULTILINE)
    return line


def _check_origins(origins: dict[str | None, tuple[str, str, str]]) -> None:
    for mode, origin in origins.items():
        assert origin[:2] == EXPECTED[mode], (mode, origin)
    # Three different files: the fixture's source, the py_import's tree, the release's.
    files = {origin[2].split(".runfiles/", 1)[1] for origin in origins.values()}
    assert len(files) == 3, files


@pytest.fixture(scope="module")
def bazel(make_bazel):
    return make_bazel(FIXTURE, "wheel-switch")


def test_one_test_three_origins(bazel):
    origins = {}
    for mode in EXPECTED:
        flags = [] if mode is None else [f"{FLAG}={mode}"]
        result = bazel.run(
            "test", "//:switch_test", "--test_output=all", "--symlink_prefix=/", *flags
        )
        origins[mode] = _origin(result.stdout + result.stderr)
    _check_origins(origins)
    assert origins["released"][2].endswith("/pypi/switch_demo/switch_demo/switch_demo/__init__.py")


def test_released_without_a_released_list_names_the_attribute(bazel):
    result = bazel.run(
        "build", "--symlink_prefix=/", "//:two_way_test", f"{FLAG}=released", check=False
    )
    assert result.returncode != 0
    assert (
        f'Configurable attribute "deps" doesn\'t match this configuration: {FLAG}=released, '
        "but this wheel_or_sources() has no `released` list: add released = [...]"
    ) in result.stderr
    assert "//:two_way_test" in result.stderr


def test_unknown_mode_lists_the_values(bazel):
    result = bazel.run(
        "build", "--symlink_prefix=/", "//:switch_test", f"{FLAG}=wheel", check=False
    )
    assert result.returncode != 0
    assert "invalid value 'wheel'" in result.stderr
    assert 'Allowed values are ["false", "released", "true"]' in result.stderr


def test_bazel7_bzlmod_released_from_the_pip_hub(tmp_path_factory):
    installations = _pyenv_installations()
    if "3.11" not in installations:
        pytest.skip("needs CPython 3.11 under pyenv (rules_python 0.22.1's pip needs < 3.12)")
    archive = make_python_archive("3.11", installations["3.11"], _cache_dir())
    subprocess.run([str(FORKY), "create"], check=True)
    workdir = tmp_path_factory.mktemp("wheel_switch_bazel7")
    workspace = copy_workspace(FIXTURE, workdir / "ws", bzlmod=True)
    bazel = f"bazel --output_user_root={workdir / 'ur'}"
    flags = " ".join(
        [
            "--nosandbox_debug --enable_bzlmod --symlink_prefix=/ --test_output=all",
            *archive.repo_env(),
            # Air-gapped pip: the pinned release from the fixture's directory.
            "--repo_env=RULES_PYTHON_PIP_ISOLATED=0",
            "--repo_env=PIP_NO_INDEX=1",
            f"--repo_env=PIP_FIND_LINKS={workspace / 'released'}",
        ]
    )
    lines = ["set -eu", f"cd {shlex.quote(str(workspace))}"]
    # The default is checked on Bazel 4 above; here each value once.
    modes = ["false", "true", "released"]
    for mode in modes:
        log = f"test-{mode}.log"
        lines.append(
            f"{bazel} test {flags} {FLAG}={mode} //:switch_test >{log} 2>&1"
            f" || {{ tail -n 80 {log}; {bazel} shutdown; exit 1; }}"
        )
    lines.append(f"{bazel} shutdown")
    (workdir / "run.sh").write_text("\n".join(lines) + "\n")
    result = subprocess.run(
        [
            *(str(FORKY), "run", "--bind", str(workdir)),
            *("--bind", str(archive.path.parent)),
            *("--", "bash", str(workdir / "run.sh")),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-10000:] + result.stderr[-4000:]
    origins = {mode: _origin((workspace / f"test-{mode}.log").read_text()) for mode in modes}
    _check_origins(origins)
    # The hub's package, under its canonical bzlmod repository name.
    released = origins["released"][2]
    assert "pypi_switch_demo" in released and "/site-packages/" in released, released
    remove_tree(workdir)
