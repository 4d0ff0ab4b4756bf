"""The .deb unpacker (tools/unpack_deb.py, ml_wheels.deb) on generated packages.

Packages are written here by a small ar writer independent of the code under
test, around data tars made with tarfile. Hostile ones (escaping paths and
links, special files, bombs) must be refused with one line naming the package;
bombs are unpacked by the command line in a subprocess whose address space is
limited (RLIMIT_AS), so a verdict in bounded memory is what is checked.
"""

from __future__ import annotations

import gzip
import io
import json
import lzma
import os
import resource
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from ml_wheels.deb import (
    Limits,
    copy_tree,
    relativize_symlinks,
    remove_dangling_symlinks,
    unpack_deb,
    unpack_debs,
)
from ml_wheels.errors import WheelError

UNPACK_DEB = Path(__file__).resolve().parents[2] / "tools" / "unpack_deb.py"
MEMORY_LIMIT = 400 << 20
TIMEOUT_S = 300


def ar_archive(members: list[tuple[str, bytes]]) -> bytes:
    """An ``ar`` archive in the common format dpkg writes."""
    out = io.BytesIO()
    out.write(b"!<arch>\n")
    for name, data in members:
        header = f"{name:<16}{0:<12}{0:<6}{0:<6}{'100644':<8}{len(data):<10}`\n"
        assert len(header) == 60
        out.write(header.encode("ascii"))
        out.write(data)
        if len(data) % 2:
            out.write(b"\n")
    return out.getvalue()


def tar_bytes(entries: list[tarfile.TarInfo | tuple[tarfile.TarInfo, bytes]]) -> bytes:
    """An uncompressed tar of the given entries (file entries with their data)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for entry in entries:
            if isinstance(entry, tuple):
                tar.addfile(entry[0], io.BytesIO(entry[1]))
            else:
                tar.addfile(entry)
    return out.getvalue()


def file_entry(name: str, data: bytes, mode: int = 0o644) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    return info, data


def dir_entry(name: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = 0o755
    return info


def link_entry(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info


def deb(tmp_path: Path, data: bytes, name: str = "pkg.deb", member: str = "data.tar.xz") -> Path:
    """A .deb whose data member is ``data`` (already compressed as ``member`` says)."""
    path = tmp_path / name
    control = lzma.compress(tar_bytes([file_entry("./control", b"Package: pkg\n")]))
    path.write_bytes(
        ar_archive([("debian-binary", b"2.0\n"), ("control.tar.xz", control), (member, data)])
    )
    return path


def xz_deb(tmp_path: Path, entries: list, name: str = "pkg.deb") -> Path:
    return deb(tmp_path, lzma.compress(tar_bytes(entries)), name)


def run_cli(*args: str, memory: int = MEMORY_LIMIT) -> subprocess.CompletedProcess:
    """tools/unpack_deb.py in a subprocess with ``memory`` bytes of address space.

    Run as the repository rules run it, isolated (-I) and here also without
    any site-packages (-S): it must need nothing but the standard library.
    """

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    return subprocess.run(
        [sys.executable, "-I", "-S", "-B", str(UNPACK_DEB), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=TIMEOUT_S,
        preexec_fn=limit,
    )


def test_unpacks_files_dirs_links_and_makes_absolute_symlinks_relative(tmp_path):
    package = xz_deb(
        tmp_path,
        [
            dir_entry("./"),
            dir_entry("./lib/"),
            dir_entry("./lib/x86_64-linux-gnu/"),
            file_entry("./lib/x86_64-linux-gnu/libm.so.6", b"\x7fELF libm", 0o755),
            dir_entry("./usr/"),
            dir_entry("./usr/lib/"),
            dir_entry("./usr/lib/x86_64-linux-gnu/"),
            link_entry("./usr/lib/x86_64-linux-gnu/libm.so", "/lib/x86_64-linux-gnu/libm.so.6"),
            link_entry("./usr/lib/x86_64-linux-gnu/libm-rel.so", "libm.so"),
            file_entry("./usr/include/math.h", b"#pragma once\n"),
            link_entry("./usr/include/math2.h", "./usr/include/math.h", tarfile.LNKTYPE),
        ],
    )
    root = tmp_path / "root"
    report = unpack_deb(package, root)
    assert report.files == 3
    assert report.symlinks == 2
    link = root / "usr/lib/x86_64-linux-gnu/libm.so"
    assert os.readlink(link) == "../../../lib/x86_64-linux-gnu/libm.so.6"
    assert link.read_bytes() == b"\x7fELF libm"
    assert report.rewritten == [
        (
            "usr/lib/x86_64-linux-gnu/libm.so",
            "/lib/x86_64-linux-gnu/libm.so.6",
            "../../../lib/x86_64-linux-gnu/libm.so.6",
        )
    ]
    assert os.readlink(root / "usr/lib/x86_64-linux-gnu/libm-rel.so") == "libm.so"
    assert (root / "usr/include/math2.h").read_bytes() == b"#pragma once\n"
    assert not (root / "usr/include/math2.h").is_symlink()
    assert (root / "lib/x86_64-linux-gnu/libm.so.6").stat().st_mode & 0o777 == 0o755
    assert (root / "usr/include/math.h").stat().st_mode & 0o777 == 0o644
    assert not (root / "control").exists()


@pytest.mark.parametrize(
    ("member", "compress"),
    [("data.tar.gz", gzip.compress), ("data.tar", lambda data: data)],
)
def test_gzip_and_plain_data_members(tmp_path, member, compress):
    data = compress(tar_bytes([file_entry("./a/b.txt", b"hello")]))
    unpack_deb(deb(tmp_path, data, member=member), tmp_path / "root")
    assert (tmp_path / "root/a/b.txt").read_bytes() == b"hello"


def test_several_packages_into_one_root(tmp_path):
    first = xz_deb(tmp_path, [file_entry("./usr/lib/libc.so.6", b"c")], "libc6.deb")
    second = xz_deb(
        tmp_path,
        [link_entry("./usr/lib/x/libc.so", "/usr/lib/libc.so.6"), file_entry("./usr/a.h", b"")],
        "libc6-dev.deb",
    )
    report = unpack_debs([first, second], tmp_path / "root")
    assert (report.files, report.symlinks) == (2, 1)
    assert (tmp_path / "root/usr/lib/x/libc.so").read_bytes() == b"c"


def _error(tmp_path: Path, package: Path) -> str:
    with pytest.raises(WheelError) as info:
        unpack_deb(package, tmp_path / "root")
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(package))
    return message


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        ([file_entry("../evil", b"x")], "entry '../evil' contains '..'"),
        ([file_entry("./a/../../evil", b"x")], "contains '..'"),
        ([file_entry("/etc/evil", b"x")], "has an absolute or unsafe path"),
        ([link_entry("./a", "../../etc/passwd")], "points outside the root"),
        ([link_entry("./d/a", "../..")], "points outside the root"),
        (
            [link_entry("./d", "sub"), dir_entry("./sub/"), file_entry("./d/x", b"x")],
            "entry 'd/x' goes through d, which is not a directory",
        ),
        (
            [link_entry("./d", "/etc"), file_entry("./d/passwd", b"x")],
            "goes through d, which is not a directory",
        ),
        ([link_entry("./h", "./nothing", tarfile.LNKTYPE)], "does not name a file unpacked"),
        ([link_entry("./h", "../etc/passwd", tarfile.LNKTYPE)], "contains '..'"),
        (
            [file_entry("./same", b"1"), file_entry("./same", b"2")],
            "'same' already exists in the root",
        ),
    ],
)
def test_escapes_and_conflicts_are_refused(tmp_path, entries, expected):
    outside = tmp_path / "etc"
    outside.mkdir()
    message = _error(tmp_path, xz_deb(tmp_path, entries))
    assert expected in message
    assert list(outside.iterdir()) == []
    assert not (tmp_path / "evil").exists()


@pytest.mark.parametrize("kind", [tarfile.FIFOTYPE, tarfile.CHRTYPE, tarfile.BLKTYPE])
def test_special_files_are_refused(tmp_path, kind):
    entry = tarfile.TarInfo("./dev/thing")
    entry.type = kind
    message = _error(tmp_path, xz_deb(tmp_path, [entry]))
    assert "entry 'dev/thing' is a device, FIFO or other special file" in message


def test_not_an_ar_archive(tmp_path):
    package = tmp_path / "pkg.deb"
    package.write_bytes(b"PK\x03\x04 not a deb")
    assert "not a Debian package (no '!<arch>' header)" in _error(tmp_path, package)


def test_truncated_member(tmp_path):
    package = xz_deb(tmp_path, [file_entry("./a", b"x" * 1000)])
    package.write_bytes(package.read_bytes()[:-20])
    assert "is truncated; download the package again" in _error(tmp_path, package)


def test_corrupt_data(tmp_path):
    data = bytearray(lzma.compress(tar_bytes([file_entry("./a", os.urandom(4096))])))
    data[len(data) // 2] ^= 0xFF
    assert "corrupt data member" in _error(tmp_path, deb(tmp_path, bytes(data)))


def test_first_member_must_be_debian_binary(tmp_path):
    package = tmp_path / "pkg.deb"
    package.write_bytes(ar_archive([("data.tar", tar_bytes([]))]))
    assert "the first member is not 'debian-binary'" in _error(tmp_path, package)


def test_zstd_data_is_refused_with_a_fix(tmp_path):
    message = _error(tmp_path, deb(tmp_path, b"\x28\xb5\x2f\xfd", member="data.tar.zst"))
    assert "'data.tar.zst' uses a compression Python's standard library cannot read" in message


def test_missing_data_member(tmp_path):
    package = tmp_path / "pkg.deb"
    package.write_bytes(ar_archive([("debian-binary", b"2.0\n")]))
    assert "no data.tar member" in _error(tmp_path, package)


def _gzip_bomb_with_header(header: bytes, zero_mib: int) -> bytes:
    """A gzip stream: ``header`` then ``zero_mib`` MiB of zeros, as concatenated gzip members."""
    member = gzip.compress(b"\0" * (1 << 20), 9)
    assert len(member) < 2048
    return gzip.compress(header) + member * zero_mib


def _tar_header(name: str, size: int, kind: bytes) -> bytes:
    info = tarfile.TarInfo(name)
    info.size = size
    info.type = kind
    return info.tobuf(format=tarfile.GNU_FORMAT)


@pytest.mark.parametrize(
    "kind",
    [tarfile.REGTYPE, tarfile.XHDTYPE, tarfile.GNUTYPE_LONGNAME],
    ids=["file", "pax-header", "gnu-longname"],
)
def test_a_bomb_is_refused_in_bounded_memory(tmp_path, kind):
    # 1 GiB of zeros behind one header (a file, or a pax / GNU long-name
    # header that tarfile would hold in memory whole), in a 2 MiB package.
    data = _gzip_bomb_with_header(_tar_header("./big", 1 << 30, kind), 1024)
    package = deb(tmp_path, data, member="data.tar.gz")
    assert package.stat().st_size < 3 << 20
    done = run_cli("--output-dir", str(tmp_path / "root"), "--max-total-size", "64M", str(package))
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stderr == (
        f"unpack_deb: error: {package}: the packages unpack to more than {64 << 20} bytes; "
        "raise --max-total-size if they are really that large, or check the .deb files\n"
    )


def test_the_size_limit_counts_all_packages_together(tmp_path):
    first = xz_deb(tmp_path, [file_entry("./a", b"x" * 40_000)], "a.deb")
    second = xz_deb(tmp_path, [file_entry("./b", b"x" * 40_000)], "b.deb")
    unpack_debs([first], tmp_path / "one", Limits(max_total_size=70_000))
    with pytest.raises(WheelError, match="more than 70000 bytes"):
        unpack_debs([first, second], tmp_path / "two", Limits(max_total_size=70_000))


def test_entry_limit(tmp_path):
    package = xz_deb(tmp_path, [dir_entry(f"./d{i}/") for i in range(20)])
    unpack_deb(package, tmp_path / "ok", Limits(max_entries=20))
    with pytest.raises(WheelError, match="more than 19 entries; raise --max-entries"):
        unpack_deb(package, tmp_path / "root", Limits(max_entries=19))


def test_relativize_maps_absolute_links_into_the_root(tmp_path):
    root = tmp_path / "sysroot"
    (root / "lib").mkdir(parents=True)
    (root / "lib/libc.so.6").write_bytes(b"c")
    (root / "usr/lib").mkdir(parents=True)
    os.symlink("/lib/libc.so.6", root / "usr/lib/libc.so")
    # What Bazel's archive extraction leaves: the output directory's own path.
    os.symlink(f"{root}/lib/libc.so.6", root / "usr/lib/libc-bazel.so")
    rewritten = relativize_symlinks(root)
    assert os.readlink(root / "usr/lib/libc.so") == "../../lib/libc.so.6"
    assert os.readlink(root / "usr/lib/libc-bazel.so") == "../../lib/libc.so.6"
    assert [item[0] for item in rewritten] == ["usr/lib/libc-bazel.so", "usr/lib/libc.so"]


def test_relativize_refuses_links_out_of_the_root(tmp_path):
    root = tmp_path / "sysroot"
    root.mkdir()
    os.symlink("../../outside", root / "bad")
    with pytest.raises(WheelError, match=r"symlink 'bad' -> '\.\./\.\./outside' points outside"):
        relativize_symlinks(root)


def test_remove_dangling(tmp_path):
    root = tmp_path / "sysroot"
    root.mkdir()
    (root / "real").write_bytes(b"")
    os.symlink("real", root / "good")
    os.symlink("missing", root / "libasan.so")
    assert remove_dangling_symlinks(root) == ["libasan.so"]
    assert sorted(p.name for p in root.iterdir()) == ["good", "real"]


def test_copy_tree_makes_links_relative_and_refuses_escapes(tmp_path):
    source = tmp_path / "local"
    (source / "lib").mkdir(parents=True)
    (source / "lib/libc.so.6").write_bytes(b"c")
    os.symlink("/lib/libc.so.6", source / "libc.so")
    report = copy_tree(source, tmp_path / "copy")
    assert (report.files, report.symlinks) == (1, 1)
    assert os.readlink(tmp_path / "copy/libc.so") == "lib/libc.so.6"
    os.symlink("../../x", source / "lib/escape")
    with pytest.raises(WheelError, match="points outside the root"):
        copy_tree(source, tmp_path / "copy2")


def test_cli_unpacks_and_reports(tmp_path):
    package = xz_deb(
        tmp_path,
        [file_entry("./lib/libc.so.6", b"c"), link_entry("./usr/lib/libc.so", "/lib/libc.so.6")],
    )
    report = tmp_path / "report.json"
    out = tmp_path / "root"
    done = run_cli("--output-dir", str(out), "--report", str(report), str(package))
    assert done.returncode == 0, done.stderr
    assert json.loads(report.read_text()) == {
        "files": 1,
        "removed": [],
        "rewritten": [["usr/lib/libc.so", "/lib/libc.so.6", "../../lib/libc.so.6"]],
        "symlinks": 1,
    }


def test_cli_error_is_one_line_exit_2(tmp_path):
    package = xz_deb(tmp_path, [file_entry("../evil", b"x")])
    done = run_cli("--output-dir", str(tmp_path / "root"), str(package))
    assert done.returncode == 2
    assert done.stderr == (
        f"unpack_deb: error: {package}: entry '../evil' contains '..'; the package is not usable\n"
    )


def test_cli_sizes_and_bad_sizes(tmp_path):
    package = xz_deb(tmp_path, [file_entry("./a", b"x" * 3000)])
    done = run_cli("--output-dir", str(tmp_path / "r1"), "--max-total-size", "2K", str(package))
    assert done.returncode == 2
    assert "more than 2048 bytes" in done.stderr
    done = run_cli("--output-dir", str(tmp_path / "r2"), "--max-total-size", "1MiB", str(package))
    assert done.returncode == 0, done.stderr
    done = run_cli("--output-dir", str(tmp_path / "r3"), "--max-total-size", "lots", str(package))
    assert done.returncode == 2
    assert "must be a size in bytes" in done.stderr


def test_cli_missing_file(tmp_path):
    done = run_cli("--output-dir", str(tmp_path / "root"), str(tmp_path / "nothing.deb"))
    assert done.returncode == 2
    assert "nothing.deb: cannot read the package (No such file or directory)" in done.stderr
    assert "Traceback" not in done.stderr
