"""Hermetic Python with real interpreters and no network.

The set-up turns the CPython installations of pyenv into interpreter archives
in the python-build-standalone layout (`python/bin/python3`,
`python/include/python3.X/`, `python/lib/libpython3.X.so*`), made relocatable
(their RUNPATH is rewritten to `$ORIGIN/...`), cached under
`${ML_WHEELS_CACHE_DIR:-~/.cache/rules_ml_wheels}/python-archives`. Bazel
fetches them through `file://` URLs pinned by sha256
(`--repo_env=HERMETIC_PYTHON_URL/SHA256`), as an offline mirror would.

The c_extension example is then built and tested once per version, changing
only `HERMETIC_PYTHON_VERSION` (and the URL override), with a `PATH` whose
`python3` and `python` fail loudly: nothing in the build may run the host's
Python. Each wheel gets the tags of its version, imports under that
interpreter and is refused by pip for another one.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shlex
import shutil
import stat
import subprocess
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from elftools.common.exceptions import ELFError
from elftools.elf.dynamic import DynamicSection
from elftools.elf.elffile import ELFFile

from .bazel_runner import EXAMPLES, REPO_ROOT
from .conftest import copy_workspace
from .wheel_checks import check_wheel, read_wheel_file

pytestmark = pytest.mark.integration

FORKY = REPO_ROOT / "scripts" / "forky.sh"
FIXTURE = REPO_ROOT / "tests" / "fixtures" / "hermetic_python"

# Bump when the archive recipe below changes, so cached archives are rebuilt.
ARCHIVE_RECIPE = 1

# The versions the c_extension example declares as archives.
EXAMPLE_ARCHIVE_VERSIONS = ["3.10", "3.11", "3.12", "3.13"]
EXAMPLE_REGISTERED = "3.10, 3.11, 3.12, 3.13, 3.13-ft, system"

POISON = """#!/bin/sh
echo "host python3 used: $0 $*" >&2
exit 97
"""


@dataclass(frozen=True)
class PythonArchive:
    """An interpreter archive made from a local CPython installation."""

    version: str  # "3.12"
    full_version: str  # "3.12.1"
    interpreter: Path  # the installed binary it was made from
    path: Path
    sha256: str
    free_threaded: bool = False

    @property
    def url(self) -> str:
        return self.path.as_uri()

    @property
    def tag(self) -> str:
        return "cp" + self.version.replace(".", "")

    @property
    def abi_tag(self) -> str:
        return self.tag + ("t" if self.free_threaded else "")

    def repo_env(self, version: str | None = None, sha256: str | None = None) -> list[str]:
        """Flags choosing this archive as HERMETIC_PYTHON_VERSION (offline URL override)."""
        return [
            f"--repo_env=HERMETIC_PYTHON_VERSION={version or self.version}",
            f"--repo_env=HERMETIC_PYTHON_URL={self.url}",
            f"--repo_env=HERMETIC_PYTHON_SHA256={sha256 or self.sha256}",
            # Without it the declared version's strip_prefix applies.
            "--repo_env=HERMETIC_PYTHON_PREFIX=python",
        ]


def _cache_dir() -> Path:
    base = os.environ.get("ML_WHEELS_CACHE_DIR") or str(
        Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "rules_ml_wheels"
    )
    return Path(base) / "python-archives"


def _pyenv_installations() -> dict[str, Path]:
    """The newest pyenv CPython prefix of each 3.X (X >= 10), by "3.X"."""
    root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    found: dict[str, tuple[tuple[int, ...], Path]] = {}
    for prefix in sorted(root.glob("3.*")) if root.is_dir() else []:
        match = re.fullmatch(r"3\.(\d+)\.(\d+)", prefix.name)
        if not match or int(match.group(1)) < 10:
            continue
        minor = f"3.{match.group(1)}"
        if not (prefix / "bin" / f"python{minor}").exists():
            continue
        key = (int(match.group(1)), int(match.group(2)))
        if minor not in found or found[minor][0] < key:
            found[minor] = (key, prefix)
    return {minor: prefix for minor, (_, prefix) in sorted(found.items())}


# --- relocatable archives -------------------------------------------------------


def _relocated_runpath(data: bytes, member: str, prefix: str) -> bytes:
    """The ELF file with every RUNPATH/RPATH entry under `prefix` made `$ORIGIN`-relative.

    pyenv links python3.X and libpython with RUNPATH `<prefix>/lib`; after
    extraction elsewhere that path is gone (or, worse, still there). The
    string is rewritten in place in .dynstr (the new one is never longer).
    """
    try:
        elf = ELFFile(io.BytesIO(data))
    except ELFError:
        return data
    dynamic = elf.get_section_by_name(".dynamic")
    dynstr = elf.get_section_by_name(".dynstr")
    if not isinstance(dynamic, DynamicSection) or dynstr is None:
        return data
    patched = bytearray(data)
    member_dir = os.path.dirname(member)
    for tag in dynamic.iter_tags():
        if tag.entry.d_tag not in ("DT_RUNPATH", "DT_RPATH"):
            continue
        old = tag.runpath if tag.entry.d_tag == "DT_RUNPATH" else tag.rpath
        entries = []
        for entry in old.split(":"):
            if entry == prefix or entry.startswith(prefix + "/"):
                target = entry[len(prefix) :].lstrip("/")
                relative = os.path.relpath(target or ".", member_dir or ".")
                entry = "$ORIGIN" if relative == "." else f"$ORIGIN/{relative}"
            entries.append(entry)
        new = ":".join(entries).encode()
        if new == old.encode():
            continue
        assert len(new) <= len(old.encode()), f"{member}: {new!r} longer than {old!r}"
        offset = dynstr["sh_offset"] + tag.entry.d_val
        assert patched[offset : offset + len(old)] == old.encode()
        patched[offset : offset + len(old)] = new + b"\0" * (len(old) - len(new))
    return bytes(patched)


def _skip(relative: str, stdlib_name: str) -> bool:
    """Leaves out what an interpreter archive does not need (and pyenv adds)."""
    parts = relative.split("/")
    stdlib = f"lib/{stdlib_name}/"
    return (
        "__pycache__" in parts
        or relative.endswith((".pyc", ".a"))
        or relative.startswith(stdlib + "test/")
        # An empty site-packages: packages come from Bazel, not the archive.
        or (relative.startswith(stdlib + "site-packages/") and not relative.endswith("/README.txt"))
        or relative.startswith(("share/man/", "lib/pkgconfig/"))
    )


def _write_archive(prefix: Path, stdlib_name: str, target: Path) -> None:
    """tar.gz of `prefix` under `python/`, sorted, fixed mtimes, RUNPATH relocated."""
    prefix_str = str(prefix)
    with tarfile.open(target, "w:gz", compresslevel=6, format=tarfile.PAX_FORMAT) as archive:
        for dirpath, dirnames, filenames in os.walk(prefix):
            dirnames.sort()
            here = Path(dirpath)
            for name in sorted(dirnames) + sorted(filenames):
                path = here / name
                relative = path.relative_to(prefix).as_posix()
                if _skip(relative, stdlib_name):
                    continue
                info = tarfile.TarInfo("python/" + relative)
                info.mtime = 0
                mode = path.lstat().st_mode
                info.mode = stat.S_IMODE(mode)
                if stat.S_ISLNK(mode):
                    link = os.readlink(path)
                    if os.path.isabs(link):
                        assert link.startswith(prefix_str + "/"), (
                            f"{path} -> {link} leaves the prefix"
                        )
                        link = os.path.relpath(link, path.parent)
                    info.type = tarfile.SYMTYPE
                    info.linkname = link
                    archive.addfile(info)
                elif stat.S_ISDIR(mode):
                    info.type = tarfile.DIRTYPE
                    archive.addfile(info)
                elif stat.S_ISREG(mode):
                    data = path.read_bytes()
                    if data[:4] == b"\x7fELF":
                        data = _relocated_runpath(data, relative, prefix_str)
                    info.size = len(data)
                    archive.addfile(info, io.BytesIO(data))


def make_python_archive(
    minor: str, prefix: Path, cache: Path, free_threaded: bool = False
) -> PythonArchive:
    """The (cached) interpreter archive of the installation at `prefix`.

    A free-threaded build names its stdlib, headers and binary `python3.Xt`.
    """
    full_version = prefix.name
    flavor = "t" if free_threaded else ""
    origin = "source" if free_threaded else "pyenv"
    cache.mkdir(parents=True, exist_ok=True)
    target = cache / (
        f"cpython-{full_version}{flavor}-{origin}-r{ARCHIVE_RECIPE}-install_only.tar.gz"
    )
    checksum = target.with_name(target.name + ".sha256")
    if not (target.exists() and checksum.exists()):
        partial = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        _write_archive(prefix, f"python{minor}{flavor}", partial)
        digest = hashlib.sha256(partial.read_bytes()).hexdigest()
        partial.replace(target)
        checksum.write_text(digest + "\n")
    sha256 = checksum.read_text().strip()
    interpreter = prefix / "bin" / f"python{minor}{flavor}"
    return PythonArchive(minor, full_version, interpreter, target, sha256, free_threaded)


@pytest.fixture(scope="module")
def python_archives() -> dict[str, PythonArchive]:
    """Archives of the local CPython installations, by "3.X"."""
    installations = _pyenv_installations()
    usable = {v: p for v, p in installations.items() if v in EXAMPLE_ARCHIVE_VERSIONS}
    if len(usable) < 3:
        pytest.skip(
            f"needs at least three of CPython {', '.join(EXAMPLE_ARCHIVE_VERSIONS)} under pyenv "
            f"($PYENV_ROOT/versions); found {sorted(installations)}"
        )
    cache = _cache_dir()
    return {v: make_python_archive(v, p, cache) for v, p in usable.items()}


def test_archives_are_relocatable(python_archives, tmp_path):
    """Extracted elsewhere, each archive runs on its own libpython and stdlib."""
    for archive in python_archives.values():
        root = tmp_path / archive.version
        with tarfile.open(archive.path) as tar:
            if hasattr(tarfile, "data_filter"):
                tar.extractall(root, filter="tar")
            else:
                tar.extractall(root)
        python3 = root / "python" / "bin" / "python3"
        out = subprocess.run(
            [str(python3), "-I", "-c", "import sys, zlib, ssl; print(sys.prefix)"],
            env={"PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            check=True,
        )
        assert out.stdout.strip() == str(root / "python")
        ldd = subprocess.run(["ldd", str(python3)], capture_output=True, text=True, check=True)
        libpython = next(line for line in ldd.stdout.splitlines() if "libpython" in line)
        loaded = Path(libpython.split("=>")[1].split("(")[0].strip())
        assert loaded.resolve().parent == (root / "python" / "lib").resolve(), libpython
        assert (root / "python" / "include" / f"python{archive.version}" / "Python.h").exists()


# --- the Bazel 4.2.3 lane (WORKSPACE) -------------------------------------------


@pytest.fixture(scope="module")
def poisoned_path(tmp_path_factory) -> str:
    """A PATH whose python3/python (and python3.X) fail loudly, then the system's."""
    poison = tmp_path_factory.mktemp("poison")
    for name in ["python", "python3"] + [f"python3.{m}" for m in range(8, 16)]:
        script = poison / name
        script.write_text(POISON)
        script.chmod(0o755)
    return os.pathsep.join(
        [str(poison), "/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]
    )


@pytest.fixture(scope="module")
def hermetic_bazel(make_bazel, poisoned_path):
    """The c_extension example on Bazel 4.2.3, with the poisoned PATH."""
    return make_bazel(
        EXAMPLES / "c_extension",
        "hermetic-c_extension",
        copy_as="hermetic-c_extension",
        PATH=poisoned_path,
    )


# Actions get the client's (poisoned) PATH instead of scripts/bazel's fixed one.
POISON_FLAGS = ["--noincompatible_strict_action_env", "--symlink_prefix=/"]


def _version_bzl(bazel) -> dict:
    output_base = Path(bazel.run("info", "output_base").stdout.strip())
    values: dict = {}
    exec((output_base / "external" / "python" / "version.bzl").read_text(), {}, values)
    return values


@dataclass
class HermeticBuild:
    archive: PythonArchive
    wheels: list[Path]
    version_bzl: dict
    launcher: str


@pytest.fixture(scope="module")
def hermetic_builds(hermetic_bazel, python_archives, tmp_path_factory) -> dict[str, HermeticBuild]:
    """`bazel test //...` of c_extension once per archive version (one command each)."""
    out = tmp_path_factory.mktemp("hermetic-wheels")
    return {
        version: _build_example(hermetic_bazel, archive, version, out / version)
        for version, archive in python_archives.items()
    }


def _build_example(bazel, archive: PythonArchive, version: str, out: Path) -> HermeticBuild:
    """`bazel test //...` of c_extension with HERMETIC_PYTHON_VERSION=`version`
    on `archive`; its two wheels are copied to `out`."""
    result = bazel.run("test", "//...", *POISON_FLAGS, *archive.repo_env(version=version))
    assert "host python3 used" not in result.stdout + result.stderr
    bin_dir = bazel.bin_dir(*POISON_FLAGS)
    wheels = []
    for package in ("fastmath", "pep517"):
        # bazel-bin keeps the wheels of the versions built before.
        found = sorted((bin_dir / package).glob(f"*-{archive.tag}-{archive.abi_tag}-*.whl"))
        assert len(found) == 1, sorted((bin_dir / package).glob("*.whl"))
        wheel = found[0]
        copy = out / package / wheel.name
        copy.parent.mkdir(parents=True)
        shutil.copyfile(wheel, copy)
        wheels.append(copy)
    launcher = (bin_dir / "fastmath" / "wheel_contents_test").read_text()
    return HermeticBuild(archive, wheels, _version_bzl(bazel), launcher)


def test_each_version_gets_its_own_tags(hermetic_builds):
    assert len(hermetic_builds) >= 3
    for version, build in hermetic_builds.items():
        tag = build.archive.tag
        for wheel in build.wheels:
            assert (
                wheel.name == f"fastmath-0.3.0.dev0+selfbuilt-{tag}-{tag}-manylinux_2_17_x86_64.whl"
            )
            check_wheel(wheel)
            assert ("Tag", f"{tag}-{tag}-manylinux_2_17_x86_64") in read_wheel_file(wheel)
        # Named with the interpreter's EXT_SUFFIX, as setuptools would.
        extension = f"fastmath/_native.cpython-{tag[2:]}-x86_64-linux-gnu.so"
        for wheel in build.wheels:
            with zipfile.ZipFile(wheel) as archive:
                assert extension in archive.namelist(), (version, archive.namelist())


def test_version_bzl_describes_the_chosen_interpreter(hermetic_builds, hermetic_bazel):
    output_base = Path(hermetic_bazel.run("info", "output_base").stdout.strip()).resolve()
    for version, build in hermetic_builds.items():
        values = build.version_bzl
        assert values["HERMETIC_PYTHON_VERSION"] == version
        assert values["PYTHON_VERSION"] == version
        assert values["PYTHON_FULL_VERSION"] == build.archive.full_version
        assert values["PYTHON_TAG"] == values["ABI_TAG"] == build.archive.tag
        assert values["FREE_THREADED"] is False
        assert values["INTERPRETER_SOURCE"] == "archive"
        assert values["INTERPRETER_ORIGIN"] == build.archive.url
        assert values["HAS_LIBPYTHON"] is True
        assert values["DEFAULT_VERSION"] == "system"
        assert ", ".join(values["REGISTERED_VERSIONS"]) == EXAMPLE_REGISTERED
        # The interpreter Bazel extracted, not the installation it was made from.
        interpreter = Path(values["PYTHON_INTERPRETER"])
        assert interpreter.is_relative_to(output_base / "external" / "python"), interpreter
        # py_binary/py_test launchers start on it too, not on a python3 from
        # PATH: on the hub's site-less wrapper, found in the runfiles, and
        # naming no path of this machine (remote workers run them as they are).
        assert build.launcher.startswith("#!/bin/sh\n''':'\n"), build.launcher[:200]
        assert 'interpreter="$runfiles/python/isolated/python3"' in build.launcher
        assert str(output_base) not in build.launcher
        assert str(build.archive.interpreter.parent.parent) not in build.launcher


def test_launchers_run_from_a_copy_with_the_output_base_hidden(
    hermetic_builds, hermetic_bazel, tmp_path
):
    """A test's launcher and runfiles, copied (links resolved) and run where
    the output base is hidden by an empty mount: what a remote worker or a
    relocated output tree gets. Nothing may reach back into the output base."""
    if shutil.which("unshare") is None:
        pytest.skip("needs unshare(1) from util-linux to hide the output base")
    output_base = Path(hermetic_bazel.run("info", "output_base").stdout.strip()).resolve()
    bin_dir = hermetic_bazel.bin_dir(*POISON_FLAGS)
    test = bin_dir / "fastmath" / "wheel_contents_test"
    copy = tmp_path / "copy"
    copy.mkdir()
    shutil.copytree(f"{test}.runfiles", copy / f"{test.name}.runfiles", symlinks=False)
    shutil.copy2(test, copy / test.name)
    # As `bazel test` runs it: from the workspace's runfiles directory, with
    # the wheel's runfiles path (args = ["$(rootpath :wheel)"]).
    workspace = copy / f"{test.name}.runfiles" / "c_extension_example"
    (wheel,) = (workspace / "fastmath").glob("*.whl")
    command = f"exec {shlex.quote(str(copy / test.name))} fastmath/{shlex.quote(wheel.name)}"
    script = f"mount -t tmpfs hidden {shlex.quote(str(output_base))} && {command}"
    result = subprocess.run(
        ["unshare", "--mount", "sh", "-c", script],
        cwd=workspace,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if result.returncode != 0 and "unshare failed" in result.stderr:
        pytest.skip(f"mount namespaces are not available here: {result.stderr.strip()}")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "OK" in result.stderr, result.stderr[-3000:]


@pytest.fixture(scope="module")
def venvs(python_archives, tmp_path_factory) -> dict[str, Path]:
    """A virtualenv (pip only) from each local interpreter."""
    root = tmp_path_factory.mktemp("hermetic-venvs")
    made = {}
    for version, archive in python_archives.items():
        subprocess.run([str(archive.interpreter), "-m", "venv", str(root / version)], check=True)
        made[version] = root / version
    return made


def _pip_install(venv: Path, wheel: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--no-index",
            "-q",
            "--force-reinstall",
            str(wheel),
        ],
        capture_output=True,
        text=True,
        check=False,
    )


def test_wheels_import_under_their_interpreter_and_pip_refuses_others(hermetic_builds, venvs):
    versions = sorted(hermetic_builds)
    for index, version in enumerate(versions):
        for wheel in hermetic_builds[version].wheels:
            installed = _pip_install(venvs[version], wheel)
            assert installed.returncode == 0, installed.stdout + installed.stderr
            out = subprocess.run(
                [
                    str(venvs[version] / "bin" / "python"),
                    "-c",
                    "import sys, fastmath; "
                    "print('%d.%d' % sys.version_info[:2], fastmath.dot([1, 2], [3, 4]))",
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            assert out.stdout.split() == [version, "11.0"]
        other = versions[(index + 1) % len(versions)]
        refused = _pip_install(venvs[other], hermetic_builds[version].wheels[0])
        assert refused.returncode != 0
        assert "is not a supported wheel on this platform" in refused.stderr, refused.stderr


def test_the_poisoned_path_really_fails_a_build_that_uses_it(hermetic_builds, hermetic_bazel):
    """Control: the default version of the example is the python3 on PATH, so
    with the poisoned PATH the fetch runs the poison and fails loudly."""
    result = hermetic_bazel.run("build", "//fastmath:wheel", *POISON_FLAGS, check=False)
    assert result.returncode != 0
    assert "host python3 used" in result.stderr, result.stderr[-3000:]
    assert "(exit 97)" in result.stderr


def test_unknown_version_lists_the_registered_ones(hermetic_builds, hermetic_bazel):
    result = hermetic_bazel.run(
        "build",
        "//fastmath:wheel",
        *POISON_FLAGS,
        "--repo_env=HERMETIC_PYTHON_VERSION=3.9",
        check=False,
    )
    assert result.returncode != 0
    assert (
        f"HERMETIC_PYTHON_VERSION='3.9' is not a registered Python version. "
        f"Registered versions: {EXAMPLE_REGISTERED}."
    ).replace("'", '"') in result.stderr.replace("'", '"'), result.stderr[-3000:]


def test_wrong_sha256_fails_the_fetch(hermetic_builds, hermetic_bazel, python_archives):
    archive = python_archives[sorted(python_archives)[-1]]
    wrong = "0" * 64
    result = hermetic_bazel.run(
        "build", "//fastmath:wheel", *POISON_FLAGS, *archive.repo_env(sha256=wrong), check=False
    )
    assert result.returncode != 0
    message = f"Checksum was {archive.sha256} but wanted {wrong}"
    assert message in result.stderr, result.stderr[-3000:]


def test_free_threaded_name_needs_a_free_threaded_build(
    hermetic_builds, hermetic_bazel, python_archives
):
    """`3.13-ft` pointed at a GIL build fails: the tags come from Py_GIL_DISABLED."""
    archive = python_archives[sorted(python_archives)[-1]]
    ft_name = f"{archive.version}-ft"
    if ft_name.replace("-ft", "") != "3.13":
        pytest.skip("the example declares 3.13-ft only")
    result = hermetic_bazel.run(
        "build", "//fastmath:wheel", *POISON_FLAGS, *archive.repo_env(version=ft_name), check=False
    )
    assert result.returncode != 0
    assert f"which is Python {archive.version}." in result.stderr, result.stderr[-3000:]
    assert "A name ending in -ft needs a free-threaded build (Py_GIL_DISABLED)." in result.stderr


def test_local_interpreter_override(hermetic_builds, hermetic_bazel, python_archives, tmp_path):
    """HERMETIC_PYTHON_INTERPRETER: one's own interpreter for the chosen version,
    checked against it; the wheel is the same as with the archive."""
    versions = sorted(python_archives)
    chosen, other = python_archives[versions[-2]], python_archives[versions[-1]]
    mismatch = hermetic_bazel.run(
        "build",
        "//fastmath:wheel",
        *POISON_FLAGS,
        f"--repo_env=HERMETIC_PYTHON_VERSION={chosen.version}",
        f"--repo_env=HERMETIC_PYTHON_INTERPRETER={other.interpreter}",
        check=False,
    )
    assert mismatch.returncode != 0
    assert f"which is Python {other.version}." in mismatch.stderr, mismatch.stderr[-3000:]

    flags = [
        *POISON_FLAGS,
        f"--repo_env=HERMETIC_PYTHON_VERSION={chosen.version}",
        f"--repo_env=HERMETIC_PYTHON_INTERPRETER={chosen.interpreter}",
    ]
    result = hermetic_bazel.run(
        "build", "//fastmath:wheel", "@python//:libpython", "--show_result=2", *flags
    )
    # bazel-bin keeps older wheels: take the name from Bazel's "up-to-date" report.
    built = re.findall(r"(\S+\.whl)\s*$", result.stderr, flags=re.MULTILINE)
    assert [Path(w).name for w in built] == [hermetic_builds[chosen.version].wheels[0].name]
    values = _version_bzl(hermetic_bazel)
    assert values["INTERPRETER_SOURCE"] == "local"
    assert values["PYTHON_INTERPRETER"] == str(chosen.interpreter.resolve())


# --- the fixture: version.bzl in a BUILD file, the lock convention, libpython ---


@pytest.fixture(scope="module")
def fixture_bazel(make_bazel, python_archives, poisoned_path, tmp_path_factory):
    """tests/fixtures/hermetic_python: 3.11 is a local interpreter found on PATH
    by name (python3.11), 3.12 an archive; python3 on PATH is the poison."""
    if not {"3.11", "3.12"} <= set(python_archives):
        pytest.skip("the fixture needs CPython 3.11 and 3.12 under pyenv")
    local_bin = tmp_path_factory.mktemp("local-interpreters")
    (local_bin / "python3.11").symlink_to(python_archives["3.11"].interpreter)
    return make_bazel(FIXTURE, "hermetic-fixture", PATH=f"{local_bin}{os.pathsep}{poisoned_path}")


def _fixture_outputs(bazel, *flags: str) -> tuple[str, str]:
    bazel.run("test", "//...", *POISON_FLAGS, *flags)
    chosen = (bazel.bin_dir(*POISON_FLAGS) / "chosen.txt").read_text()
    testlogs = Path(bazel.run("info", *POISON_FLAGS, "bazel-testlogs").stdout.strip())
    return chosen, (testlogs / "libpython_test" / "test.log").read_text()


def test_fixture_default_is_a_local_interpreter_found_by_name(fixture_bazel, python_archives):
    chosen, libpython_log = _fixture_outputs(fixture_bazel)
    assert chosen.splitlines() == [
        "3.11 3.11 cp311 cp311 False",
        "# The lock of CPython 3.11 (fixture).",
    ]
    assert f"libpython {python_archives['3.11'].full_version} " in libpython_log
    values = _version_bzl(fixture_bazel)
    assert values["REQUIREMENTS_LOCK"] == "@//:requirements_lock_3_11.txt"
    assert values["INTERPRETER_SOURCE"] == "local"


def test_fixture_archive_version_and_lock_override(fixture_bazel, python_archives):
    archive = python_archives["3.12"]
    chosen, libpython_log = _fixture_outputs(fixture_bazel, *archive.repo_env())
    assert chosen.splitlines() == [
        "3.12 3.12 cp312 cp312 False",
        "# The lock of CPython 3.12 (fixture, by requirements_locks).",
    ]
    assert f"libpython {archive.full_version} " in libpython_log
    assert _version_bzl(fixture_bazel)["REQUIREMENTS_LOCK"] == "@//locks:cpython_3_12.txt"


# --- the Bazel 7.7.1 lane (bzlmod, Debian forky root) ---------------------------


@pytest.fixture(scope="module")
def bazel7_hermetic(python_archives, poisoned_path, tmp_path_factory) -> dict[str, Path]:
    """Bazel 7.7.1 with bzlmod, in one forky namespace: `bazel test //...` of the
    c_extension module and of the fixture, both on the 3.12 archive built on this
    host, with the poisoned PATH first."""
    if "3.12" not in python_archives:
        pytest.skip("needs CPython 3.12 under pyenv")
    archive = python_archives["3.12"]
    subprocess.run([str(FORKY), "create"], check=True)
    workdir = tmp_path_factory.mktemp("bazel7-hermetic")
    shutil.copytree(Path(poisoned_path.split(os.pathsep)[0]), workdir / "poison")
    bazel = f"bazel --output_user_root={shlex.quote(str(workdir / 'output_root'))}"
    flags = " ".join(shlex.quote(f) for f in ["--enable_bzlmod", *archive.repo_env()])
    lines = ["set -eu", f"export PATH={shlex.quote(str(workdir / 'poison'))}:$PATH"]
    workspaces = {}
    for name, source in (("c_extension", EXAMPLES / "c_extension"), ("fixture", FIXTURE)):
        workspace = workdir / name
        copy_workspace(source, workspace, bzlmod=True)
        workspaces[name] = workspace
        lines += [
            f"cd {shlex.quote(str(workspace))}",
            f"{bazel} test --nosandbox_debug --symlink_prefix=/ {flags} //... >bazel.log 2>&1"
            " || { tail -n 80 bazel.log; exit 1; }",
            f"{bazel} info {flags} bazel-bin >bazel-bin.txt 2>/dev/null",
            f"{bazel} info {flags} output_base >output_base.txt 2>/dev/null",
            f"{bazel} shutdown",
        ]
    (workdir / "run.sh").write_text("\n".join(lines) + "\n")
    result = subprocess.run(
        [
            str(FORKY),
            "run",
            "--bind",
            str(workdir),
            "--bind",
            str(archive.path.parent),
            "--",
            "bash",
            str(workdir / "run.sh"),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=1800,
    )
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-4000:]
    for workspace in workspaces.values():
        assert "host python3 used" not in (workspace / "bazel.log").read_text()
    return workspaces


def _bazel7_version_bzl(workspace: Path) -> dict:
    external = Path((workspace / "output_base.txt").read_text().strip()) / "external"
    (hub,) = [p for p in external.glob("*ml_wheels*python") if (p / "version.bzl").exists()]
    values: dict = {}
    exec((hub / "version.bzl").read_text(), {}, values)
    return values


def test_bzlmod_c_extension_on_the_archive(bazel7_hermetic, python_archives):
    """The hub is visible to the root module through use_repo, the archive made
    on this host runs inside the forky root, and the wheels get its tags."""
    archive = python_archives["3.12"]
    workspace = bazel7_hermetic["c_extension"]
    bin_dir = Path((workspace / "bazel-bin.txt").read_text().strip())
    wheels = sorted(
        p for package in ("fastmath", "pep517") for p in (bin_dir / package).glob("*.whl")
    )
    assert [w.name for w in wheels] == [
        f"fastmath-0.3.0.dev0+selfbuilt-{archive.tag}-{archive.tag}-manylinux_2_17_x86_64.whl"
    ] * 2
    for wheel in wheels:
        check_wheel(wheel)
    values = _bazel7_version_bzl(workspace)
    assert values["PYTHON_FULL_VERSION"] == archive.full_version
    assert values["INTERPRETER_SOURCE"] == "archive"


def test_bzlmod_build_files_load_version_bzl(bazel7_hermetic, python_archives):
    """A root module's BUILD file loads @python//:version.bzl and gets its lock."""
    workspace = bazel7_hermetic["fixture"]
    chosen = (Path((workspace / "bazel-bin.txt").read_text().strip()) / "chosen.txt").read_text()
    assert chosen.splitlines() == [
        "3.12 3.12 cp312 cp312 False",
        "# The lock of CPython 3.12 (fixture, by requirements_locks).",
    ]
    assert _bazel7_version_bzl(workspace)["REQUIREMENTS_LOCK"] == "@//locks:cpython_3_12.txt"


# --- free-threaded CPython (3.13-ft), built from source on this host ------------


@pytest.fixture(scope="module")
def freethreaded_archive() -> PythonArchive:
    """An archive of a free-threaded CPython 3.13 that scripts/freethreaded_python.sh
    builds (once per machine) from Debian's python3.13 source package."""
    built = subprocess.run(
        [str(REPO_ROOT / "scripts" / "freethreaded_python.sh")],
        capture_output=True,
        text=True,
        check=False,
        timeout=1800,
    )
    assert built.returncode == 0, built.stdout[-4000:] + built.stderr[-4000:]
    prefix = Path(built.stdout.strip().splitlines()[-1])
    return make_python_archive("3.13", prefix, _cache_dir(), free_threaded=True)


@pytest.fixture(scope="module")
def freethreaded_build(hermetic_bazel, hermetic_builds, freethreaded_archive, tmp_path_factory):
    """`bazel test //...` of c_extension with HERMETIC_PYTHON_VERSION=3.13-ft
    (after the other versions, on the same server): the example's tests run on
    the free-threaded interpreter."""
    out = tmp_path_factory.mktemp("freethreaded-wheels")
    return _build_example(hermetic_bazel, freethreaded_archive, "3.13-ft", out)


def test_free_threaded_wheels_get_t_tags(freethreaded_build):
    values = freethreaded_build.version_bzl
    assert values["HERMETIC_PYTHON_VERSION"] == "3.13-ft"
    assert values["FREE_THREADED"] is True
    assert (values["PYTHON_TAG"], values["ABI_TAG"]) == ("cp313", "cp313t")
    assert values["PYTHON_FULL_VERSION"] == freethreaded_build.archive.full_version
    for wheel in freethreaded_build.wheels:
        assert wheel.name == "fastmath-0.3.0.dev0+selfbuilt-cp313-cp313t-manylinux_2_17_x86_64.whl"
        check_wheel(wheel)
        assert ("Tag", "cp313-cp313t-manylinux_2_17_x86_64") in read_wheel_file(wheel)
        with zipfile.ZipFile(wheel) as archive:
            names = archive.namelist()
        assert "fastmath/_native.cpython-313t-x86_64-linux-gnu.so" in names, names


@pytest.fixture(scope="module")
def freethreaded_venv(freethreaded_build, tmp_path_factory) -> Path:
    venv = tmp_path_factory.mktemp("freethreaded-venv") / "venv"
    interpreter = freethreaded_build.archive.interpreter
    subprocess.run([str(interpreter), "-m", "venv", str(venv)], check=True)
    return venv


def test_free_threaded_wheel_runs_without_the_gil(freethreaded_build, freethreaded_venv):
    """The cp313t wheels install and import under the free-threaded interpreter
    with the GIL still off (the extension declares Py_MOD_GIL_NOT_USED; had it
    not, the import would re-enable the GIL with a RuntimeWarning)."""
    for wheel in freethreaded_build.wheels:
        installed = _pip_install(freethreaded_venv, wheel)
        assert installed.returncode == 0, installed.stdout + installed.stderr
        out = subprocess.run(
            [
                str(freethreaded_venv / "bin" / "python"),
                "-W",
                "error::RuntimeWarning",
                "-c",
                "import sys, fastmath; print(sys._is_gil_enabled(), fastmath.dot([1, 2], [3, 4]))",
            ],
            env={"PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            check=True,
        )
        assert out.stdout.split() == ["False", "11.0"]


def test_pip_keeps_free_threaded_and_gil_wheels_apart(
    freethreaded_build, freethreaded_venv, hermetic_builds, venvs
):
    """pip refuses the cp313t wheel for the GIL build of 3.13, and the cp313
    wheel for the free-threaded build."""
    if "3.13" not in hermetic_builds:
        pytest.skip("the GIL build of CPython 3.13 is not under pyenv")
    refused = _pip_install(venvs["3.13"], freethreaded_build.wheels[0])
    assert refused.returncode != 0
    assert "is not a supported wheel on this platform" in refused.stderr, refused.stderr
    refused = _pip_install(freethreaded_venv, hermetic_builds["3.13"].wheels[0])
    assert refused.returncode != 0
    assert "is not a supported wheel on this platform" in refused.stderr, refused.stderr
