"""The helpers' dependency repository: built from the hash-pinned lock, or from
a local wheelhouse for air-gapped machines (ML_WHEELS_WHEELHOUSE)."""

from __future__ import annotations

import platform
import shutil
from pathlib import Path

import pytest

from .bazel_runner import EXAMPLES
from .wheel_checks import sha256_of

pytestmark = pytest.mark.integration

LOCK = Path(__file__).resolve().parents[2] / "tools" / "requirements_lock.txt"


def _locked_wheel_names() -> list[str]:
    lines = LOCK.read_text().splitlines()
    requirements = [line for line in lines if " @ " in line and not line.startswith("#")]
    return [line.split(" @ ", 1)[1].split()[0].rsplit("/", 1)[1] for line in requirements]


def _fetched_wheels(bazel) -> Path:
    output_base = Path(bazel.run("info", "output_base").stdout.strip())
    return output_base / "external" / "rules_ml_wheels_helper_deps" / "wheels"


def _fetched_libdeflate_wheels(bazel) -> list[Path]:
    """The writer's libdeflate wheels for this CPU, as the repository fetched them."""
    output_base = Path(bazel.run("info", "output_base").stdout.strip())
    cpu = platform.machine()
    found = sorted(
        (output_base / "external" / f"rules_ml_wheels_libdeflate_{cpu}" / "wheels").glob("*.whl")
    )
    assert found, f"no libdeflate wheels fetched for {cpu}"
    return found


def test_wheelhouse_builds_the_same_wheel_without_downloads(built_examples, make_bazel, tmp_path):
    first = built_examples["pure_python"]
    wheelhouse = tmp_path / "wheelhouse"
    wheelhouse.mkdir()
    for name in _locked_wheel_names():
        shutil.copy(_fetched_wheels(first.bazel) / name, wheelhouse / name)
    for wheel in _fetched_libdeflate_wheels(first.bazel):
        shutil.copy(wheel, wheelhouse / wheel.name)

    # No repository cache: every locked wheel must come from the wheelhouse.
    offline = make_bazel(
        EXAMPLES / "pure_python", "wheelhouse", ML_WHEELS_WHEELHOUSE=str(wheelhouse)
    )
    offline.run("build", "//greet:wheel", "--symlink_prefix=/", "--repository_cache=")
    (wheel,) = (offline.bin_dir() / "greet").glob("*.whl")
    assert sha256_of(wheel) == sha256_of(first.wheels[0])
    offline.shutdown()


def test_wheelhouse_missing_a_wheel_names_it(make_bazel, tmp_path):
    wheelhouse = tmp_path / "incomplete"
    wheelhouse.mkdir()
    bazel = make_bazel(
        EXAMPLES / "pure_python", "wheelhouse-missing", ML_WHEELS_WHEELHOUSE=str(wheelhouse)
    )
    result = bazel.run("build", "//greet:wheel", "--repository_cache=", check=False)
    assert result.returncode != 0
    first_locked = sorted(_locked_wheel_names())[0]
    assert f"{first_locked} is missing from the wheelhouse" in result.stderr, result.stderr
    assert "pip download --no-deps --require-hashes" in result.stderr
    bazel.shutdown()


def test_wheelhouse_with_a_tampered_wheel_fails_the_sha256_check(
    built_examples, make_bazel, tmp_path
):
    wheelhouse = tmp_path / "tampered"
    wheelhouse.mkdir()
    for name in _locked_wheel_names():
        shutil.copy(_fetched_wheels(built_examples["pure_python"].bazel) / name, wheelhouse / name)
    victim = wheelhouse / sorted(_locked_wheel_names())[0]
    victim.write_bytes(victim.read_bytes() + b"tampered")
    bazel = make_bazel(
        EXAMPLES / "pure_python", "wheelhouse-tampered", ML_WHEELS_WHEELHOUSE=str(wheelhouse)
    )
    result = bazel.run("build", "//greet:wheel", "--repository_cache=", check=False)
    assert result.returncode != 0
    assert "Checksum" in result.stderr or "sha256" in result.stderr.lower(), result.stderr
    bazel.shutdown()


def test_wheelhouse_that_does_not_exist_is_named(make_bazel, tmp_path):
    missing = tmp_path / "no-such-wheelhouse"
    bazel = make_bazel(
        EXAMPLES / "pure_python", "wheelhouse-absent", ML_WHEELS_WHEELHOUSE=str(missing)
    )
    result = bazel.run("build", "//greet:wheel", "--repository_cache=", check=False)
    assert result.returncode != 0
    expected = (
        f"rules_ml_wheels_helper_deps: the wheelhouse directory {str(missing)!r} does not exist; "
        "set ML_WHEELS_WHEELHOUSE (or the wheelhouse attribute) to a directory holding the "
        "wheels of @rules_ml_wheels//tools:requirements_lock.txt"
    )
    assert expected.replace("'", '"') in result.stderr, result.stderr[-3000:]
    bazel.shutdown()
