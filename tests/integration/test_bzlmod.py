"""The Bazel 7 lane: Debian forky's Bazel 7.7.1 with rules_python, entered
through scripts/forky.sh. Every example is built and tested as a bzlmod module
depending on rules_ml_wheels (against its sources and, with the
wheel_dependency switch, against its wheels; compliance tests included), one
example also in that Bazel's WORKSPACE mode, and the wheels get the same
validation as the Bazel 4.2.3 ones.

Then bzlmod as users meet it (issue 17): three modules declaring the same
`ml_wheels` repositories (tests/fixtures/two_modules), Bazel's use_repo
fix-up from the extension's metadata, `bazel mod graph` of every example,
rules_python's pip hub on the hermetic 3.11 interpreter in both modes
(tests/fixtures/pip_hub), and the `-c opt` c_extension wheel byte-identical
under bzlmod and WORKSPACE."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from .bazel_runner import EXAMPLES, REPO_ROOT
from .conftest import EXAMPLE_WHEELS, copy_workspace
from .test_hermetic_python import (
    PythonArchive,
    _cache_dir,
    _pyenv_installations,
    make_python_archive,
)
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


# --- bzlmod as users meet it: several modules, pip.parse, metadata, -c opt ------

FIXTURES = REPO_ROOT / "tests" / "fixtures"
TWO_MODULES = FIXTURES / "two_modules"
PIP_HUB = FIXTURES / "pip_hub"
EXTENSION = "@rules_ml_wheels//python_wheel:extensions.bzl%ml_wheels"
# Under the cache directory of the interpreter archives and the forky root.
PIP_HUB_WHEELHOUSE = "pip-hub-wheelhouse"
MOD_GRAPH_EXAMPLES = [*sorted(EXAMPLE_WHEELS), "testing"]


def _pip_hub_wheelhouse() -> Path:
    """The fixture's locked wheels, fetched by pip on the host (hashes
    required), cached: the directory an air-gapped machine would mirror."""
    directory = _cache_dir().parent / PIP_HUB_WHEELHOUSE
    lock = PIP_HUB / "requirements_lock.txt"
    wanted = [line.split("==")[0] for line in lock.read_text().splitlines() if "==" in line]
    present = {p.name.split("-")[0].lower() for p in directory.glob("*.whl")}
    if not set(wanted) <= present:
        subprocess.run(
            [
                *(sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--require-hashes"),
                *("--only-binary=:all:", "--python-version=3.11", "-d", str(directory)),
                *("-r", str(lock)),
            ],
            check=True,
        )
    return directory


def _user_script(workdir: Path, output_root: Path, archive: PythonArchive, wheelhouse: Path) -> str:
    """Every Bazel 7 run of the user-facing checks, in one forky namespace."""
    bazel = f"bazel --output_user_root={shlex.quote(str(output_root))}"
    run = "--nosandbox_debug --symlink_prefix=/ --test_output=errors"
    workspace_mode = "--noenable_bzlmod " + " ".join(WORKSPACE_MODE_OVERRIDES)
    lines = ["set -u", "status=0"]

    def step(name: str, command: str, expect: str = "success") -> None:
        check = {
            "success": f"|| {{ echo 'FAILED: {name}'; tail -n 60 {name}.log; status=1; }}",
            "failure": f"&& {{ echo 'unexpected success: {name}'; status=1; }} || true",
            "any": "|| true",
        }[expect]
        lines.append(f"{bazel} {command} >{name}.log 2>&1 {check}")

    # 1, 2, 7: the two-module fixture; its variants; mod graph/deps/show_extension.
    app = workdir / "two_modules" / "app"
    lines.append(f"cd {shlex.quote(str(app))}")
    step("test", f"test {run} //...")
    lines.append(f"{bazel} info bazel-bin >bazel-bin.txt 2>/dev/null")
    step("mod-graph", "mod graph")
    step("mod-deps", "mod deps sdk plugin")
    step("show-extension", f"mod show_extension {EXTENSION}")
    lines.append("cp MODULE.bazel MODULE.bazel.orig")
    lines.append("grep -v 'root-python' MODULE.bazel.orig >MODULE.bazel")
    step("conflict", f"build {run} --nobuild //...", expect="failure")
    # use_repo misses wheel_version_suffix (the root declares it) and adds
    # sdk_version_suffix (the root does not). The sdk package needs the extension.
    lines.append(
        'sed \'s/"wheel_version_suffix")  # root-use-repo/"sdk_version_suffix")/\''
        " MODULE.bazel.orig >MODULE.bazel"
    )
    step("metadata", f"build {run} --nobuild @sdk//:wheel", expect="any")
    lines.append("cp MODULE.bazel.orig MODULE.bazel")
    lines.append("echo 'ml_wheels.version_suffix(name = \"python\")' >>MODULE.bazel")
    step("twice", f"build {run} --nobuild //...", expect="failure")
    lines.append("cp MODULE.bazel.orig MODULE.bazel")
    lines.append(f"{bazel} shutdown")

    # 3: pytest from a pip hub on the hermetic 3.11 archive, both modes.
    pip_env = " ".join(
        [
            *archive.repo_env(),
            # Air-gapped pip: the locked wheels from a local directory.
            "--repo_env=RULES_PYTHON_PIP_ISOLATED=0",
            "--repo_env=PIP_NO_INDEX=1",
            f"--repo_env=PIP_FIND_LINKS={wheelhouse}",
        ]
    )
    for mode, flags in (("bzlmod", "--enable_bzlmod"), ("workspace", workspace_mode)):
        lines.append(f"cd {shlex.quote(str(workdir / f'pip_hub-{mode}'))}")
        step("test", f"test {run} {flags} {pip_env} //...")
        lines.append(f"{bazel} shutdown")

    # 6: the c_extension wheel in -c opt, both modes.
    for mode, flags in (("bzlmod", "--enable_bzlmod"), ("workspace", workspace_mode)):
        lines.append(f"cd {shlex.quote(str(workdir / f'c_extension-{mode}'))}")
        step("build", f"build {run} -c opt {flags} //fastmath:wheel")
        lines.append(f"{bazel} info -c opt {flags} bazel-bin >bazel-bin.txt 2>/dev/null")
        lines.append(f"{bazel} shutdown")

    # 7: `bazel mod graph` of every example.
    for example in MOD_GRAPH_EXAMPLES:
        lines.append(f"cd {shlex.quote(str(workdir / f'mod-{example}'))}")
        step("mod-graph", "mod graph")
        lines.append(f"{bazel} shutdown")
    lines.append("exit $status")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def bazel7_users(tmp_path_factory) -> Path:
    """The user-facing bzlmod checks of issue 17, one forky namespace."""
    installations = _pyenv_installations()
    if "3.11" not in installations:
        pytest.skip("needs CPython 3.11 under pyenv (rules_python 0.22.1's pip needs < 3.12)")
    archive = make_python_archive("3.11", installations["3.11"], _cache_dir())
    wheelhouse = _pip_hub_wheelhouse()
    subprocess.run([str(FORKY), "create"], check=True)
    workdir = tmp_path_factory.mktemp("bazel7-users")
    shutil.copytree(TWO_MODULES, workdir / "two_modules")
    bazelrc = workdir / "two_modules" / "app" / ".bazelrc"
    bazelrc.write_text(
        bazelrc.read_text() + f"common --override_module=rules_ml_wheels={REPO_ROOT}\n"
    )
    for mode in ("bzlmod", "workspace"):
        copy_workspace(PIP_HUB, workdir / f"pip_hub-{mode}", bzlmod=mode == "bzlmod")
        copy_workspace(
            EXAMPLES / "c_extension", workdir / f"c_extension-{mode}", bzlmod=mode == "bzlmod"
        )
    for example in MOD_GRAPH_EXAMPLES:
        copy_workspace(EXAMPLES / example, workdir / f"mod-{example}", bzlmod=True)
    script = _user_script(workdir, workdir / "output_root", archive, wheelhouse)
    (workdir / "run.sh").write_text(script)
    result = subprocess.run(
        [
            *(str(FORKY), "run", "--bind", str(workdir)),
            *("--bind", str(archive.path.parent)),
            *("--", "bash", str(workdir / "run.sh")),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=1800,
    )
    (workdir / "run.out").write_text(result.stdout + result.stderr)
    return workdir


def _log(workdir: Path, name: str) -> str:
    path = workdir / f"{name}.log"
    assert path.exists(), f"{path} was not written"
    return path.read_text()


def test_two_modules_declare_the_same_repositories(bazel7_users):
    """Root and two dependency modules declare `python`, `wheel_version_suffix`
    and `sdk_version_suffix`: no "already generated" error, the root's tags win,
    and the app wheel pins the wheel the sdk module builds."""
    app = bazel7_users / "two_modules" / "app"
    log = _log(app, "test")
    assert "//:pinning_test" in log and "PASSED" in log, log[-4000:]
    bin_dir = Path((app / "bazel-bin.txt").read_text().strip())
    (wheel,) = bin_dir.glob("two_modules_app-*.whl")
    assert read_metadata(wheel).get_all("Requires-Dist") == [
        "two-modules-sdk==1.2.0.dev0+selfbuilt"
    ]
    external = bin_dir.parents[4] / "external"
    (python,) = [p for p in external.iterdir() if p.name.endswith("ml_wheels~python")]
    # The root's local_python (site-packages hidden), not the plugin's.
    assert "SITE_PACKAGES_VISIBLE = False" in (python / "version.bzl").read_text()
    # :python3 is the interpreter file itself (the forky root's python3.X).
    assert re.fullmatch(r"/usr/bin/python3\.\d+", os.readlink(python / "python3"))


def test_conflicting_dependency_tags_name_both_modules(bazel7_users):
    """Without the root's declaration, the sdk's and the plugin's different
    `local_python(name = "python")` are an error naming both modules."""
    log = _log(bazel7_users / "two_modules" / "app", "conflict")
    assert (
        'the ml_wheels repository "python" is declared differently by the modules '
        'sdk (ml_wheels.local_python(allow_site_packages = False, interpreter = "python3"))'
        ' and plugin (ml_wheels.local_python(allow_site_packages = True, interpreter = "python3"));'
        " declare it in the root module" in log
    ), log[-4000:]


def test_one_module_may_declare_a_name_once(bazel7_users):
    log = _log(bazel7_users / "two_modules" / "app", "twice")
    assert (
        'app declares the ml_wheels repository "python" twice'
        ' (ml_wheels.local_python(allow_site_packages = False, interpreter = "python3")'
        " and ml_wheels.version_suffix()); declare it once or give one another name" in log
    ), log[-4000:]


def test_extension_metadata_gives_bazels_use_repo_fixup(bazel7_users):
    """A use_repo of a repository the root module does not declare gets
    Bazel's own fix-up warning (and `bazel mod tidy` would repair it)."""
    log = _log(bazel7_users / "two_modules" / "app", "metadata")
    assert (
        "The module extension ml_wheels defined in @rules_ml_wheels//python_wheel:extensions.bzl"
        " reported incorrect imports of repositories via use_repo():\n"
        "\n"
        "Not imported, but reported as direct dependencies by the extension"
        " (may cause the build to fail):\n"
        "    wheel_version_suffix\n"
        "\n"
        "Imported, but reported as indirect dependencies by the extension:\n"
        "    sdk_version_suffix\n"
        "\n"
        "Fix the use_repo calls by running 'bazel mod tidy'." in log
    ), log[-4000:]


def test_mod_commands_work_in_the_forky_root(bazel7_users):
    """The buildozer stub module gives Bazel what its own MODULE.bazel needs."""
    app = bazel7_users / "two_modules" / "app"
    graph = _log(app, "mod-graph")
    assert "Error loading" not in graph
    assert re.search(r"sdk@", graph) and re.search(r"plugin@", graph), graph
    deps = _log(app, "mod-deps")
    assert "sdk@" in deps and "plugin@" in deps and "rules_ml_wheels@" in deps, deps
    shown = _log(app, "show-extension")
    for module in ("<root>", "sdk@", "plugin@"):
        assert module in shown, shown


@pytest.mark.parametrize("example", MOD_GRAPH_EXAMPLES)
def test_mod_graph_of_every_example(bazel7_users, example):
    graph = _log(bazel7_users / f"mod-{example}", "mod-graph")
    assert "rules_ml_wheels@" in graph, graph


@pytest.mark.parametrize("mode", ["bzlmod", "workspace"])
def test_pip_hub_with_the_hermetic_interpreter(bazel7_users, mode):
    """pip_parse (WORKSPACE) and pip.parse (bzlmod) with
    `python_interpreter_target = "@python//:python3"`: pytest from the hub and
    the fixture's wheel from py_import, on the hermetic 3.11 interpreter."""
    log = _log(bazel7_users / f"pip_hub-{mode}", "test")
    assert re.search(r"//:hub_test\s+PASSED", log), log[-4000:]


def test_c_extension_opt_wheel_is_the_same_in_both_modes(bazel7_users):
    """-c opt (NDEBUG: no assert strings with external/<repo> paths): the
    c_extension wheel is byte-identical under bzlmod and WORKSPACE."""
    wheels = {}
    for mode in ("bzlmod", "workspace"):
        workspace = bazel7_users / f"c_extension-{mode}"
        assert "Build completed successfully" in _log(workspace, "build")
        bin_dir = Path((workspace / "bazel-bin.txt").read_text().strip())
        (wheels[mode],) = (bin_dir / "fastmath").glob("*.whl")
    check_wheel(wheels["bzlmod"])
    assert wheels["bzlmod"].name == wheels["workspace"].name
    assert sha256_of(wheels["bzlmod"]) == sha256_of(wheels["workspace"])
