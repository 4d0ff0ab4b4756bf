"""Every example builds and tests on a real REAPI engine (BuildGrid + workers).

Each example is built twice from clean in one output base: once locally
(the reference wheels), once with every spawn remote
(`--spawn_strategy=remote`, no local fallback) on workers that see only each
action's declared inputs. The execution log must show the wheel's
compression and assembly, the audit, py_import's unpack and the tests ran
remotely; the remote wheels must be byte-identical to the local ones; a
third build from clean must be all remote cache hits.

The examples run on `HERMETIC_PYTHON_VERSION=3.11`, an interpreter archive
(made from this machine's CPython, served by file:// like a mirror): a
remote worker has no interpreter of the client's.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from .bazel_runner import EXAMPLES, Bazel
from .conftest import copy_workspace, host_path
from .remote_service import (
    RemoteService,
    assert_all_cache_hits,
    assert_all_executed_remotely,
    assert_same_wheels,
    remote_service_fixture,
    spawns,
)
from .test_hermetic_python import _cache_dir, _pyenv_installations, make_python_archive
from .test_local_python import _pinned_wheelhouse

remote_service = remote_service_fixture(workers=2)

# Each example, where its wheels land, and the mnemonics its `bazel test //...`
# must have run remotely (beyond ALWAYS).
EXAMPLES_REMOTE = {
    "pure_python": (["greet", "pool"], {"PythonWheelCompress", "PyImportUnpack"}),
    "multi_wheel": (["core", "plugin"], set()),
    # pytest and its dependencies as pinned wheels, unpacked by py_import.
    "testing": (["calc"], {"PyImportUnpack"}),
    "c_extension": (["fastmath", "pep517"], {"CppCompile", "CppLink", "PythonWheelPep517"}),
}
# (Wheels this small are compressed in the assembly action: no PythonWheelCompress.)
ALWAYS = {"PythonWheel", "TestRunner"}

# Added to the pure_python copy: the library's rules and macros with
# exec_properties, which must reach every spawn of theirs (and only theirs).
POOL_BUILD = """load(
    "@rules_ml_wheels//python_wheel:defs.bzl",
    "py_import",
    "python_wheel",
    "transitive_py_deps",
    "verify_manylinux_compliance_test",
)

POOL = {"Pool": "wheels"}

transitive_py_deps(
    name = "py_srcs",
    deps = ["//greet"],
)

python_wheel(
    name = "wheel",
    srcs = [":py_srcs"],
    # Compressed in shard actions (PythonWheelCompress), then assembled.
    compression_shards = 2,
    distribution = "pooled-greet",
    exec_properties = POOL,
    version = "1.0.0",
)

verify_manylinux_compliance_test(
    name = "compliance_test",
    exec_properties = POOL,
    wheel = ":wheel",
    x86_64_compliance_tag = "manylinux_2_17",
)

# The .whl file alone (no PyWheelInfo), so py_import unpacks it in an action.
filegroup(
    name = "wheel_file",
    srcs = [":wheel"],
)

py_import(
    name = "pooled_import",
    exec_properties = POOL,
    wheel = ":wheel_file",
)

# buildifier: disable=native-py
py_test(
    name = "import_test",
    srcs = ["import_test.py"],
    deps = [":pooled_import"],
)
"""

POOL_TEST = """import greet

assert "/pool/pooled_import/" in greet.__file__, greet.__file__
"""


def platform_of(spawn: dict) -> dict[str, str]:
    return {p["name"]: p["value"] for p in spawn.get("platform", {}).get("properties", [])}


def check_pool(ran: list[dict]) -> None:
    """Spawns of //pool's python_wheel, compliance test and py_import carry
    Pool=wheels; the py_test without exec_properties and other packages do not."""
    pooled, plain = [], []
    for spawn in ran:
        outputs = " ".join(spawn.get("listedOutputs", []))
        (pooled if platform_of(spawn).get("Pool") == "wheels" else plain).append(
            (spawn.get("mnemonic"), outputs)
        )
    # Bazel sends --remote_default_exec_properties only where the target (and
    # its execution platform) sets none: the pooled spawns carry Pool alone.
    assert all(
        platform_of(spawn) == {"Pool": "wheels"} for spawn in ran if platform_of(spawn).get("Pool")
    )
    pooled_mnemonics = {mnemonic for mnemonic, _ in pooled}
    wanted = {"PythonWheelCompress", "PythonWheel", "PyImportUnpack", "TestRunner"}
    assert wanted <= pooled_mnemonics, pooled
    ours = ("/bin/pool/", "/testlogs/pool/compliance_test/")
    assert all(any(o in outputs for o in ours) for _, outputs in pooled), pooled
    assert [outputs for _, outputs in plain if "/testlogs/pool/import_test/" in outputs], plain
    assert not [outputs for _, outputs in plain if any(o in outputs for o in ours)], plain


@pytest.fixture(scope="module")
def hermetic_flags() -> list[str]:
    """`--repo_env` flags choosing a 3.11 interpreter archive (file:// mirror)."""
    installations = _pyenv_installations()
    if "3.11" not in installations:
        pytest.skip("no pyenv CPython 3.11 to make the interpreter archive from")
    archive = make_python_archive("3.11", installations["3.11"], _cache_dir())
    return [*archive.repo_env(), "--symlink_prefix=/"]


def _wheels(bazel: Bazel, packages: list[str], flags: list[str]) -> dict[str, bytes]:
    bin_dir = bazel.bin_dir(*flags)
    # By package/name: fastmath and pep517 make wheels of the same name.
    found = [p for package in packages for p in (bin_dir / package).glob("*.whl")]
    wheels = {str(p.relative_to(bin_dir)): p.read_bytes() for p in found}
    assert wheels, f"no wheels under {bin_dir} in {packages}"
    return wheels


@pytest.fixture(scope="module")
def example_flags(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """Flags of one example beyond the interpreter's: testing's pinned pytest wheels."""
    distdir = _pinned_wheelhouse(tmp_path_factory.mktemp("testing-wheelhouse"))
    return {"testing": [f"--distdir={distdir}"]}


@pytest.fixture(scope="module")
def remote_bazel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Bazel]]:
    """A Bazel server per example, on copies, in this module's own output bases."""
    root = tmp_path_factory.mktemp("remote_examples")
    servers = {}
    for name in EXAMPLES_REMOTE:
        workspace = copy_workspace(EXAMPLES / name, root / "workspaces" / name)
        if name == "pure_python":
            (workspace / "pool").mkdir()
            (workspace / "pool" / "BUILD.bazel").write_text(POOL_BUILD)
            (workspace / "pool" / "import_test.py").write_text(POOL_TEST)
        servers[name] = Bazel(workspace, root / f"{name}-output", {"PATH": host_path()})
    yield servers
    for server in servers.values():
        server.release()


def _local_build(bazel: Bazel, packages: list[str], flags: list[str]) -> dict[str, bytes]:
    bazel.run("build", "//...", *flags)
    return _wheels(bazel, packages, flags)


@pytest.fixture(scope="module")
def local_wheels(
    remote_bazel: dict[str, Bazel],
    hermetic_flags: list[str],
    example_flags: dict[str, list[str]],
) -> Iterator[dict[str, Future[dict[str, bytes]]]]:
    """Each example's local reference wheels, built two at a time in the
    background while the tests run the remote builds one after the other
    (remote clients never overlap)."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        yield {
            name: pool.submit(
                _local_build,
                remote_bazel[name],
                EXAMPLES_REMOTE[name][0],
                [*hermetic_flags, *example_flags.get(name, [])],
            )
            for name in sorted(EXAMPLES_REMOTE)
        }


@pytest.mark.parametrize("name", sorted(EXAMPLES_REMOTE))
def test_example_builds_and_tests_remotely(
    name: str,
    remote_bazel: dict[str, Bazel],
    remote_service: RemoteService,
    local_wheels: dict[str, Future[dict[str, bytes]]],
    hermetic_flags: list[str],
    example_flags: dict[str, list[str]],
    tmp_path: Path,
) -> None:
    packages, extra = EXAMPLES_REMOTE[name]
    bazel = remote_bazel[name]
    local_flags = [*hermetic_flags, *example_flags.get(name, [])]
    local = local_wheels[name].result(timeout=900)

    remote_flags = [*local_flags, *remote_service.bazel_flags, *remote_service.strategy_flags()]
    bazel.run("clean")
    first = tmp_path / "first.json"
    result = bazel.run(
        "test", "//...", *remote_flags, f"--execution_log_json_file={first}", check=False
    )
    assert result.returncode == 0, result.stderr[-8000:] + remote_service.log_tail()
    ran = spawns(first)
    mnemonics = assert_all_executed_remotely(ran)
    assert ALWAYS | extra <= mnemonics, sorted(mnemonics)
    if name == "pure_python":
        check_pool(ran)

    assert_same_wheels(_wheels(bazel, packages, local_flags), local)

    bazel.run("clean")
    second = tmp_path / "second.json"
    bazel.run("test", "//...", *remote_flags, f"--execution_log_json_file={second}")
    assert_all_cache_hits(spawns(second))
    shutil.rmtree(tmp_path, ignore_errors=True)
