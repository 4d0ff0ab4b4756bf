"""cc_sysroot and python_headers with real Bazel 4.2.3 and real Debian packages, offline.

The set-up (scripts/sysroot.sh) downloads the packages sysroot.bzl pins into
a local mirror under ``${ML_WHEELS_CACHE_DIR:-~/.cache/rules_ml_wheels}/sysroots``
and makes a sysroot archive per arch from them (absolute symlinks kept).
Bazel fetches the default packages through
``--repo_env=ML_WHEELS_DEB_MIRROR=file://MIRROR`` and the archives through
``urls`` in a generated ``archives.bzl``: the attributes and variable a user
with a mirror sets.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import subprocess
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from .bazel_runner import REPO_ROOT, Bazel, remove_tree

pytestmark = pytest.mark.integration

FIXTURE = REPO_ROOT / "tests" / "fixtures" / "sysroot"
SETUP = REPO_ROOT / "scripts" / "sysroot.sh"
ZIG_SETUP = REPO_ROOT / "scripts" / "zig.sh"

# Calls what a glibc 2.34+ host would link at its own version (stat, fcntl,
# getrandom, pthread), and C++ that throws and uses std:: types.
PROBE_C = """
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <sys/random.h>
#include <sys/stat.h>
int probe(const char *p) {
  struct stat st;
  char buf[4];
  int fd = open(p, O_RDONLY | O_CLOEXEC);
  pthread_t self = pthread_self();
  return stat(p, &st) + fcntl(fd, F_GETFD) + (int)getrandom(buf, 4, 0)
      + (int)sqrt((double)st.st_size) + (int)(self & 1);
}
"""
PROBE_CC = """
#include <stdexcept>
#include <string>
#include <vector>
std::string probe_cc(const std::vector<std::string>& v) {
  try {
    if (v.empty()) throw std::runtime_error("empty");
    return v.at(0);
  } catch (const std::exception& e) {
    return e.what();
  }
}
"""

ARCHIVES_BZL = '''"""Written by test_sysroot.py: the set-up's sysroot archives."""

# buildifier: disable=bzl-visibility
load("@rules_ml_wheels//python_wheel:repositories.bzl", "cc_sysroot")

def sysroot_archives():
    cc_sysroot(
        name = "sysroot_archive_aarch64",
        arch = "aarch64",
        sha256 = "{sha256}",
        strip_prefix = "sysroot-aarch64",
        urls = ["{url}"],
    )
    cc_sysroot(
        name = "sysroot_local_aarch64",
        arch = "aarch64",
        path = "{local}",
    )
    cc_sysroot(
        name = "error_bad_strip_prefix",
        arch = "aarch64",
        sha256 = "{sha256}",
        strip_prefix = "sysroot-aarch64/usr",
        urls = ["{url}"],
    )
'''


def _mirror() -> Path:
    done = subprocess.run([str(SETUP)], capture_output=True, text=True, check=False, timeout=900)
    assert done.returncode == 0, done.stderr
    return Path(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def fixture_bazel(make_bazel) -> Iterator[tuple[Bazel, Path]]:
    """The fixture workspace, its archive declared, built once."""
    mirror = _mirror()
    archive = mirror.parent / "sysroot-bullseye-aarch64.tar.gz"
    bazel = make_bazel(FIXTURE, "sysroot")
    sha256 = hashlib.sha256(archive.read_bytes()).hexdigest()
    # A sysroot installed on the machine: the archive's tree, absolute links kept.
    local = bazel.workspace.parent / "local-sysroot-aarch64"
    if not local.exists():
        with tarfile.open(archive) as tar:
            tar.extractall(local, filter="tar")
    (bazel.workspace / "archives.bzl").write_text(
        ARCHIVES_BZL.format(sha256=sha256, url=archive.as_uri(), local=local / "sysroot-aarch64")
    )
    bazel.run(
        "build",
        f"--repo_env=ML_WHEELS_DEB_MIRROR={mirror.as_uri()}",
        "//:info",
        "//:uses_python_headers",
        "@sysroot_x86_64//:all_files",
        "@sysroot_aarch64//:all_files",
        "@sysroot_aarch64//:include_files",
        "@sysroot_aarch64//:lib_files",
        "@sysroot_archive_aarch64//:all_files",
        "@sysroot_local_aarch64//:all_files",
        "@python_aarch64//:headers",
        timeout=1800,
    )
    output_base = Path(bazel.run("info", "output_base").stdout.strip())
    yield bazel, output_base / "external"
    bazel.release()
    remove_tree(local)


def _symlinks(root: Path) -> dict[str, str]:
    links = {}
    for directory, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(directory) / name
            if path.is_symlink():
                links[path.relative_to(root).as_posix()] = os.readlink(path)
    return links


def _info(bazel: Bazel) -> dict[str, str]:
    text = (bazel.bin_dir() / "info.txt").read_text()
    return dict(line.split("=", 1) for line in text.splitlines() if line)


@pytest.mark.parametrize(
    ("repo", "loader"),
    [
        ("sysroot_x86_64", "lib64/ld-linux-x86-64.so.2"),
        ("sysroot_aarch64", "lib/ld-linux-aarch64.so.1"),
        ("sysroot_archive_aarch64", "lib/ld-linux-aarch64.so.1"),
        ("sysroot_local_aarch64", "lib/ld-linux-aarch64.so.1"),
    ],
)
def test_no_symlink_leaves_the_sysroot(fixture_bazel, repo: str, loader: str) -> None:
    _, external = fixture_bazel
    root = external / repo / "sysroot"
    links = _symlinks(root)
    assert len(links) > 30, links
    absolute = {link: target for link, target in links.items() if target.startswith("/")}
    assert absolute == {}
    for link in links:
        resolved = (root / link).resolve()
        assert resolved.is_relative_to(root.resolve()), (link, resolved)
        assert resolved.exists(), link
    # Debian's data has `ld-linux...` and `libpthread.so` pointing at /lib/...:
    # now relative, and resolving to the sysroot's own glibc.
    assert not links[loader].startswith("/")
    triple = "x86_64-linux-gnu" if "x86_64" in repo else "aarch64-linux-gnu"
    pthread = root / "usr/lib" / triple / "libpthread.so"
    assert pthread.resolve() == (root / "lib" / triple / "libpthread.so.0").resolve()


def test_archive_had_absolute_symlinks(fixture_bazel) -> None:
    """The archive mode really rewrites: the archive itself holds absolute links."""
    archive = _mirror().parent / "sysroot-bullseye-aarch64.tar.gz"
    with tarfile.open(archive) as tar:
        absolute = [m.name for m in tar if m.issym() and m.linkname.startswith("/")]
    assert "sysroot-aarch64/usr/lib/aarch64-linux-gnu/libpthread.so" in absolute


def test_sysroot_info(fixture_bazel) -> None:
    bazel, external = fixture_bazel
    info = _info(bazel)
    assert info["x86_64_glibc"] == "2.31"
    assert info["aarch64_glibc"] == "2.31"
    assert info["aarch64_tag"] == "manylinux_2_31_aarch64"
    assert info["aarch64_glibcxx"] == "3.4.28"
    assert info["x86_64_libstdcxx"] == "10"
    dirs = info["x86_64_include_dirs"].split(",")
    assert dirs[0] == "sysroot/usr/include/c++/10"
    assert "sysroot/usr/include/x86_64-linux-gnu" in dirs
    for directory in dirs:
        assert (external / "sysroot_x86_64" / directory).is_dir(), directory


def test_aarch64_python_headers(fixture_bazel) -> None:
    bazel, external = fixture_bazel
    root = external / "python_aarch64" / "root" / "usr" / "include"
    assert (root / "python3.11" / "Python.h").is_file()
    wrapper = (root / "python3.11" / "pyconfig.h").read_text()
    assert "<aarch64-linux-gnu/python3.11/pyconfig.h>" in wrapper
    assert (root / "aarch64-linux-gnu" / "python3.11" / "pyconfig.h").is_file()
    info = _info(bazel)
    assert info["aarch64_ext_suffix"] == ".cpython-311-aarch64-linux-gnu.so"
    assert info["aarch64_abi_tag"] == "cp311"
    assert info["aarch64_python"].startswith("3.11.")


def test_python_headers_cover_the_multiarch_dir(fixture_bazel) -> None:
    """A compile against :headers reads the package's multiarch pyconfig.h, not the host's."""
    bazel, _ = fixture_bazel
    out = bazel.bin_dir().parent
    deps = list(out.glob("bin/_objs/uses_python_headers/*.d"))
    assert deps, "no dependency file of the compile"
    text = deps[0].read_text()
    assert "external/python_x86_64/root/usr/include/x86_64-linux-gnu/python3.11/pyconfig.h" in text
    assert "external/python_x86_64/root/usr/include/python3.11/Python.h" in text


def test_wrong_glibc_version_fails(fixture_bazel) -> None:
    bazel, _ = fixture_bazel
    result = bazel.run(
        "build",
        f"--repo_env=ML_WHEELS_DEB_MIRROR={_mirror().as_uri()}",
        "@sysroot_wrong_glibc//:all_files",
        check=False,
    )
    assert result.returncode != 0
    assert (
        'cc_sysroot(name = "sysroot_wrong_glibc"): the sysroot\'s glibc is 2.31 '
        '(usr/include/features.h), not the glibc_version "2.17"' in result.stderr
    ), result.stderr[-3000:]


# Each failing declaration of the fixture and the start of its one-line error.
ERRORS = {
    "error_two_sources": (
        'cc_sysroot(name = "error_two_sources"): set only one of debs, urls and path '
        "(got debs and path)"
    ),
    "error_short_sha256": (
        'cc_sysroot(name = "error_short_sha256"): the sysroot archive '
        "https://example.invalid/sysroot.tar.xz needs its sha256 as 64 lower-case hex digits, "
        'got "abc"'
    ),
    "error_strip_prefix_alone": (
        'cc_sysroot(name = "error_strip_prefix_alone"): sha256 and strip_prefix apply to a '
        "sysroot archive; set urls too, or remove them"
    ),
    "error_missing_path": (
        'cc_sysroot(name = "error_missing_path"): path "/nonexistent/sysroot" is not an '
        "existing absolute directory"
    ),
    "error_wrong_arch": (
        'cc_sysroot(name = "error_wrong_arch"): the sysroot has no usr/include/x86_64-linux-gnu; '
        "it is not a x86_64 sysroot (set arch to its architecture)"
    ),
    "error_not_a_deb": (
        'cc_sysroot(name = "error_not_a_deb"): "pool/main/g/glibc/glibc_2.31.orig.tar.xz" '
        "does not name a .deb file"
    ),
    "error_no_interpreter": (
        'cc_sysroot(name = "error_no_interpreter"): python_interpreter "/nonexistent/python3" '
        "does not exist"
    ),
    "error_bad_strip_prefix": (
        'cc_sysroot(name = "error_bad_strip_prefix"): the sysroot has no usr/include/features.h; '
        "it needs glibc's headers (Debian's libc6-dev); check strip_prefix"
    ),
    "error_no_default_headers": (
        'python_headers(name = "error_no_default_headers"): no default packages for Python 3.12 '
        "(defaults: 3.11); list libpython3.12-dev for aarch64 in debs"
    ),
    "error_headers_missing": (
        'python_headers(name = "error_headers_missing"): the packages have no '
        "usr/include/python3.11/Python.h; debs must include libpython3.11-dev for aarch64 "
        "(Debian arch arm64)"
    ),
}


def test_declaration_errors(fixture_bazel) -> None:
    bazel, _ = fixture_bazel
    result = bazel.run(
        "build",
        "--keep_going",
        f"--repo_env=ML_WHEELS_DEB_MIRROR={_mirror().as_uri()}",
        *[f"@{repo}//:all" for repo in ERRORS],
        check=False,
    )
    assert result.returncode != 0
    missing = {repo: text for repo, text in ERRORS.items() if text not in result.stderr}
    assert missing == {}, result.stderr[-6000:]


@pytest.fixture(scope="module")
def zig_clang(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path, Path]]:
    """(zig, its clang resource dir, an ld.lld wrapper) from the cached ziglang wheel."""
    done = subprocess.run([str(ZIG_SETUP)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    wheel = next(Path(done.stdout.strip().splitlines()[-1]).glob("ziglang-*.whl"))
    out = tmp_path_factory.mktemp("zig")
    with zipfile.ZipFile(wheel) as archive:
        wanted = [
            n
            for n in archive.namelist()
            if n == "ziglang/zig" or n.startswith("ziglang/lib/include/")
        ]
        archive.extractall(out, wanted)
    zig = out / "ziglang" / "zig"
    zig.chmod(0o755)
    lld = out / "ld.lld"
    lld.write_text(f'#!/bin/sh\nexec "{zig}" ld.lld "$@"\n')
    lld.chmod(lld.stat().st_mode | stat.S_IXUSR)
    yield zig, out / "ziglang" / "lib", lld
    remove_tree(out)


def _versions(binary: Path, prefix: str) -> list[tuple[int, ...]]:
    text = subprocess.run(
        ["readelf", "--version-info", "--wide", str(binary)], capture_output=True, text=True
    ).stdout
    found = set(re.findall(rf"\b{prefix}_([0-9.]+)\b", text))
    return sorted(tuple(int(p) for p in v.split(".")) for v in found)


@pytest.mark.parametrize("arch", ["x86_64", "aarch64"])
def test_clang_links_only_against_the_sysroot(fixture_bazel, zig_clang, tmp_path, arch) -> None:
    """zig's clang, driven as plain clang with --sysroot, links the sysroot's glibc 2.31."""
    _, external = fixture_bazel
    zig, resource_dir, lld = zig_clang
    sysroot = external / f"sysroot_{arch}" / "sysroot"
    (tmp_path / "probe.c").write_text(PROBE_C)
    (tmp_path / "probe.cc").write_text(PROBE_CC)
    common = [
        f"--target={arch}-linux-gnu",
        f"--sysroot={sysroot}",
        f"--ld-path={lld}",
        "-resource-dir",
        str(resource_dir),
        "-shared",
        "-fPIC",
        "-Wl,--trace",
    ]
    builds = {
        "probe_c.so": [str(zig), "clang", *common, "probe.c", "-lm", "-lpthread"],
        "probe_cc.so": [str(zig), "clang", "--driver-mode=g++", *common, "probe.cc"],
    }
    for output, command in builds.items():
        done = subprocess.run(
            [*command, "-o", output], cwd=tmp_path, capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stderr
        inputs = [line for line in done.stdout.splitlines() if line.startswith("/")]
        assert inputs, done.stdout
        outside = [p for p in inputs if not p.startswith(str(sysroot)) and "/probe" not in p]
        assert outside == []
        assert any("/lib/" + arch + "-linux-gnu/libc.so.6" in p for p in inputs)
        glibc = _versions(tmp_path / output, "GLIBC")
        assert glibc and glibc[-1] <= (2, 31), glibc
    assert (2, 25) in _versions(tmp_path / "probe_c.so", "GLIBC")  # getrandom
    glibcxx = _versions(tmp_path / "probe_cc.so", "GLIBCXX")
    assert glibcxx and glibcxx[-1] <= (3, 4, 28), glibcxx
    machine = subprocess.run(
        ["readelf", "-h", str(tmp_path / "probe_cc.so")], capture_output=True, text=True
    ).stdout
    assert ("AArch64" if arch == "aarch64" else "X86-64") in machine
