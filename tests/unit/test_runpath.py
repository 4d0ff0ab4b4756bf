"""Bazel's ``_solib_<cpu>`` RUNPATH/RPATH entries are not shipped in wheels.

The shared libraries are real ones built by gcc; what the wheel holds is
checked with readelf (binutils) and pyelftools, and by loading it.
"""

from __future__ import annotations

import ctypes
import io
import random
import shutil
import struct
import subprocess
import zipfile
from pathlib import Path

import pytest
from elftools.elf.dynamic import DynamicSection
from elftools.elf.elffile import ELFFile

from ml_wheels.runpath import runpath_patches, without_bazel_entries

from .helpers import base_spec, run_pack, verify_record, write_spec

pytestmark = pytest.mark.skipif(
    not (shutil.which("gcc") and shutil.which("readelf")), reason="needs gcc and readelf"
)

SOLIB_AND_ORIGIN = "$ORIGIN/../_solib_k8/_U_S_Spkg___Upkg:$ORIGIN"
WHEEL = "my_project-1.2.0-cp311-cp311-linux_x86_64.whl"
SO = "my_project/libf.so"


def _build_so(directory: Path, *link_flags: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "f.c").write_text("int f(void) { return 42; }\n")
    out = directory / "libf.so"
    subprocess.run(
        ["gcc", "-shared", "-fPIC", "-o", str(out), str(directory / "f.c"), *link_flags],
        check=True,
        capture_output=True,
    )
    return out


def _paths(so: Path) -> dict[str, str]:
    """RUNPATH/RPATH as readelf prints them: {'RUNPATH': '$ORIGIN', ...}."""
    out = subprocess.run(
        ["readelf", "-d", str(so)], check=True, capture_output=True, text=True
    ).stdout
    found = {}
    for line in out.splitlines():
        for tag, label in (("RUNPATH", "Library runpath: ["), ("RPATH", "Library rpath: [")):
            if f"({tag})" in line:
                found[tag] = line.split(label, 1)[1].rsplit("]", 1)[0]
    return found


def _pack(work: Path, so: Path, *extra: str, name: str = "out.whl") -> Path:
    spec = base_spec(
        python_tag="cp311",
        abi_tag="cp311",
        platform_tag="linux_x86_64",
        wheel_name=WHEEL,
    )
    write_spec(work / "spec.json", spec)
    out = work / name
    run_pack("spec", "--spec", work / "spec.json", "--output", out, "--file", SO, so, *extra)
    return out


def _shipped(wheel: Path, dest: Path) -> Path:
    with zipfile.ZipFile(wheel) as zf:
        dest.mkdir(parents=True, exist_ok=True)
        target = dest / "libf.so"
        target.write_bytes(zf.read(SO))
    return target


def _load_f(so: Path) -> int:
    return ctypes.CDLL(str(so)).f()


def test_runpath_loses_its_solib_entry_and_keeps_origin(tmp_path: Path) -> None:
    so = _build_so(tmp_path / "build", f"-Wl,-rpath,{SOLIB_AND_ORIGIN}")
    assert _paths(so) == {"RUNPATH": SOLIB_AND_ORIGIN}
    wheel = _pack(tmp_path, so)
    verify_record(wheel)
    shipped = _shipped(wheel, tmp_path / "site")
    assert _paths(shipped) == {"RUNPATH": "$ORIGIN"}
    original = so.read_bytes()
    rewritten = shipped.read_bytes()
    assert len(rewritten) == len(original)
    changed = [i for i, (a, b) in enumerate(zip(original, rewritten)) if a != b]
    start = original.index(SOLIB_AND_ORIGIN.encode())
    assert changed and start <= changed[0] and changed[-1] < start + len(SOLIB_AND_ORIGIN)
    assert _load_f(shipped) == 42
    # The input file itself is untouched.
    assert _paths(so) == {"RUNPATH": SOLIB_AND_ORIGIN}


def test_rpath_with_only_solib_entries_becomes_empty(tmp_path: Path) -> None:
    so = _build_so(
        tmp_path / "build",
        "-Wl,--disable-new-dtags",
        "-Wl,-rpath,$ORIGIN/../_solib_k8/a:$ORIGIN/../../_solib_armeabi-v7a/b",
    )
    assert set(_paths(so)) == {"RPATH"}
    shipped = _shipped(_pack(tmp_path, so), tmp_path / "site")
    assert _paths(shipped) == {"RPATH": ""}
    with open(shipped, "rb") as f:
        dynamic = next(s for s in ELFFile(f).iter_sections() if isinstance(s, DynamicSection))
        (tag,) = [t for t in dynamic.iter_tags() if t.entry.d_tag == "DT_RPATH"]
        assert tag.rpath == ""
    assert _load_f(shipped) == 42


def test_keep_bazel_runpath_ships_the_bytes_unchanged(tmp_path: Path) -> None:
    so = _build_so(tmp_path / "build", f"-Wl,-rpath,{SOLIB_AND_ORIGIN}")
    wheel = _pack(tmp_path, so, "--keep-bazel-runpath")
    assert _shipped(wheel, tmp_path / "site").read_bytes() == so.read_bytes()


def test_compression_shards_see_the_rewritten_bytes(tmp_path: Path) -> None:
    so = _build_so(tmp_path / "build", f"-Wl,-rpath,{SOLIB_AND_ORIGIN}")
    single = _pack(tmp_path, so)
    bundle = tmp_path / "s.bundle"
    run_pack("compress", "--compression-level", "6", "--output", bundle, "--file", SO, so)
    assembled = tmp_path / "assembled.whl"
    spec = tmp_path / "spec.json"
    run_pack("assemble", "--spec", spec, "--output", assembled, "--bundle", bundle)
    assert assembled.read_bytes() == single.read_bytes()
    verify_record(assembled)


def test_other_entries_keep_their_order() -> None:
    assert without_bazel_entries(b"/opt/a:$ORIGIN/../_solib_k8/x:$ORIGIN:/b") == (
        b"/opt/a:$ORIGIN:/b"
    )
    # Only a whole path component starting with _solib_ marks Bazel's layout.
    assert without_bazel_entries(b"/opt/my_solib_k8:$ORIGIN/x_solib_/y") == (
        b"/opt/my_solib_k8:$ORIGIN/x_solib_/y"
    )
    assert without_bazel_entries(b"$ORIGIN/_solib_darwin_arm64") == b""


# --- Synthetic ELF files of every class and byte order, built here with struct.


ZEROS = -1  # In ``extra`` tags: the address of 64 zero bytes at the end of the file.


def _elf(
    is64: bool,
    big: bool,
    runpath: bytes,
    needed_inside: int | None = None,
    extra: tuple[tuple[int, int], ...] = (),
) -> bytes:
    """A minimal ELF shared object: one PT_LOAD over the file, a PT_DYNAMIC, a dynstr.

    ``needed_inside`` adds a DT_NEEDED pointing that many bytes into the
    RUNPATH string (what a tail-merging linker may produce); ``extra`` adds
    dynamic tags before DT_NULL.
    """
    e = ">" if big else "<"
    ehsize, phentsize = (64, 56) if is64 else (52, 32)
    dynstr = b"\0libc.so.6\0" + runpath + b"\0"
    runpath_off, libc_off = 11, 1
    tags = [(1, libc_off), (29, runpath_off)]
    if needed_inside is not None:
        tags.append((1, runpath_off + needed_inside))
    phoff = ehsize
    dynstr_off = phoff + 2 * phentsize
    dyn_off = dynstr_off + len(dynstr) + (-(dynstr_off + len(dynstr)) % 8)
    zeros_off = dyn_off + (len(tags) + len(extra) + 3) * (16 if is64 else 8)
    tags += [(t, zeros_off if v == ZEROS else v) for t, v in extra]
    tags += [(5, dynstr_off), (10, len(dynstr)), (0, 0)]
    dyn = b"".join(struct.pack(e + ("qQ" if is64 else "iI"), t, v) for t, v in tags)
    size = dyn_off + len(dyn) + 64
    ident = b"\x7fELF" + bytes([2 if is64 else 1, 2 if big else 1, 1]) + bytes(9)
    if is64:
        header = ident + struct.pack(
            e + "HHIQQQIHHHHHH", 3, 62, 1, 0, phoff, 0, 0, ehsize, phentsize, 2, 64, 0, 0
        )
        load = struct.pack(e + "IIQQQQQQ", 1, 5, 0, 0, 0, size, size, 0x1000)
        dynamic = struct.pack(
            e + "IIQQQQQQ", 2, 6, dyn_off, dyn_off, dyn_off, len(dyn), len(dyn), 8
        )
    else:
        header = ident + struct.pack(
            e + "HHIIIIIHHHHHH", 3, 3, 1, 0, phoff, 0, 0, ehsize, phentsize, 2, 40, 0, 0
        )
        load = struct.pack(e + "IIIIIIII", 1, 0, 0, 0, size, size, 5, 0x1000)
        dynamic = struct.pack(
            e + "IIIIIIII", 2, dyn_off, dyn_off, dyn_off, len(dyn), len(dyn), 6, 4
        )
    body = header + load + dynamic + dynstr
    return body + bytes(dyn_off - len(body)) + dyn + bytes(64)


def _apply(data: bytes) -> bytes:
    out = bytearray(data)
    for patch in runpath_patches(io.BytesIO(data), len(data)):
        out[patch.offset : patch.offset + len(patch.data)] = patch.data
    return bytes(out)


def _runpath_by_pyelftools(data: bytes) -> str:
    elf = ELFFile(io.BytesIO(data))
    for segment in elf.iter_segments():
        if segment.header.p_type == "PT_DYNAMIC":
            for tag in segment.iter_tags():
                if tag.entry.d_tag == "DT_RUNPATH":
                    return tag.runpath
    raise AssertionError("no DT_RUNPATH")


@pytest.mark.parametrize("is64", [True, False], ids=["elf64", "elf32"])
@pytest.mark.parametrize("big", [False, True], ids=["le", "be"])
def test_every_class_and_byte_order(is64: bool, big: bool) -> None:
    data = _elf(is64, big, b"$ORIGIN/../_solib_ppc/x:$ORIGIN/lib:/usr/lib")
    assert _runpath_by_pyelftools(data) == "$ORIGIN/../_solib_ppc/x:$ORIGIN/lib:/usr/lib"
    rewritten = _apply(data)
    assert len(rewritten) == len(data)
    assert _runpath_by_pyelftools(rewritten) == "$ORIGIN/lib:/usr/lib"


def test_string_shared_with_another_reference_is_left_alone() -> None:
    runpath = b"$ORIGIN/../_solib_k8/x:$ORIGIN/libtail.so"
    inside = runpath.index(b"libtail.so")
    data = _elf(True, False, runpath, needed_inside=inside)
    assert runpath_patches(io.BytesIO(data), len(data)) == []
    # A reference that still reads the same string after the rewrite is fine.
    runpath = b"$ORIGIN/../_solib_k8/x:$ORIGIN"
    data = _elf(True, False, runpath, needed_inside=len(runpath))
    assert _runpath_by_pyelftools(_apply(data)) == "$ORIGIN"


def test_damaged_elf_files_are_left_unchanged_or_patched_within_bounds(tmp_path: Path) -> None:
    so = _build_so(tmp_path / "build", f"-Wl,-rpath,{SOLIB_AND_ORIGIN}").read_bytes()
    rng = random.Random(5)
    cases = [so[:n] for n in range(0, len(so), 97)]
    for pos in rng.sample(range(min(len(so), 4096)), 400):
        damaged = bytearray(so)
        damaged[pos] = rng.randrange(256)
        cases.append(bytes(damaged))
    cases.append(b"\x7fELF" + rng.randbytes(1 << 16))
    cases.append(_elf(True, False, b"$ORIGIN/_solib_k8")[:-40])
    for data in cases:
        first = runpath_patches(io.BytesIO(data), len(data))
        assert first == runpath_patches(io.BytesIO(data), len(data))
        for patch in first:
            assert patch.offset >= 0 and patch.offset + len(patch.data) <= len(data)
            assert patch.data.endswith(b"\0") or len(patch.data) == 0


class _CountingReader(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.reads = 0

    def read(self, size: int | None = -1) -> bytes:
        self.reads += 1
        return super().read(size)


@pytest.mark.parametrize("tag", [0x6FFFFFFF, 0x6FFFFFFD], ids=["verneednum", "verdefnum"])
def test_hostile_record_counts_are_bounded(tag: int) -> None:
    # 2**40 version records, each linking to itself (vn_next = 0): before, a
    # loop of 2**40 reads; now at most the budget, then "leave unchanged".
    where = tag - 1  # DT_VERNEED / DT_VERDEF
    data = _elf(
        True, False, b"$ORIGIN/../_solib_k8/x:$ORIGIN", extra=((where, ZEROS), (tag, 2**40))
    )
    counting = _CountingReader(data)
    assert runpath_patches(counting, len(data)) == []
    assert counting.reads <= (1 << 16) + 100


def test_non_elf_content_is_not_touched(tmp_path: Path) -> None:
    data = b"#!/bin/sh\necho $ORIGIN/../_solib_k8\n"
    assert runpath_patches(io.BytesIO(data), len(data)) == []
    source = tmp_path / "tool.so"
    source.write_bytes(data)
    wheel = _pack(tmp_path, source)
    with zipfile.ZipFile(wheel) as zf:
        assert zf.read(SO) == data


@pytest.mark.parametrize("strip", [True, False])
def test_pep517_staging_gives_setup_py_the_shipped_bytes(tmp_path: Path, strip: bool) -> None:
    """setuptools copies what it finds in the staged tree, so the staged .so
    must already be the one the direct writer would ship."""
    from ml_wheels.inputs import build_input_map
    from ml_wheels.pep517 import stage_tree

    so = _build_so(tmp_path / "build", f"-Wl,-rpath,{SOLIB_AND_ORIGIN}")
    (tmp_path / "mod.py").write_text("x = 1\n")
    inputs = build_input_map(
        "my_project-1.2.0.dist-info",
        "my_project-1.2.0.data",
        [(SO, str(so)), ("my_project/mod.py", str(tmp_path / "mod.py"))],
        (),
    )
    tree = tmp_path / "tree"
    stage_tree(inputs, (), str(tree), strip_bazel_runpath=strip)
    staged = tree / SO
    if strip:
        assert not staged.is_symlink()
        assert _paths(staged) == {"RUNPATH": "$ORIGIN"}
        assert len(staged.read_bytes()) == len(so.read_bytes())
        assert staged.stat().st_mode == so.stat().st_mode
        assert _load_f(staged) == 42
    else:
        assert staged.is_symlink() and staged.read_bytes() == so.read_bytes()
    # Files with nothing to strip are linked, not copied.
    assert (tree / "my_project" / "mod.py").is_symlink()
    assert _paths(so) == {"RUNPATH": SOLIB_AND_ORIGIN}
