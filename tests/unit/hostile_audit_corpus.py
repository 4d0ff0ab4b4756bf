"""Hostile wheels for audit_wheel, written as code (no binary blobs).

Each case is a small archive (under 1 MiB) that once cost the audit unbounded
time or memory, or slipped past it: zip members that inflate past their
declared size, ELF headers with absurd table sizes, version chains that loop,
local headers that disagree with the central directory, compression methods
other than deflate, and a name with 32,767 components. The ELF cases patch a
real shared object built by the caller (gcc), so everything else about them
is ordinary.

This module holds no tests; tests/unit/test_audit_hostile.py runs the cases
and tests/unit/test_audit_fuzz.py draws from the same shapes.
"""

from __future__ import annotations

import base64
import hashlib
import io
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator

WHEEL_NAME = "demo-1.0-cp311-cp311-linux_x86_64.whl"
ELF_MEMBER = "demo/_native.so"

SHT_GNU_VERDEF = 0x6FFFFFFD
SHT_GNU_VERNEED = 0x6FFFFFFE

_E_PHENTSIZE, _E_PHNUM, _E_SHENTSIZE, _E_SHNUM = 0x36, 0x38, 0x3A, 0x3C


def _digest(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def wheel_bytes(
    members: dict[str, bytes],
    *,
    compression: int = zipfile.ZIP_STORED,
    record_extra: tuple[str, ...] = (),
) -> bytes:
    """A wheel with these members, METADATA, WHEEL and a RECORD listing them all."""
    contents = dict(members)
    contents.setdefault("demo-1.0.dist-info/METADATA", b"Metadata-Version: 2.1\nName: demo\n")
    contents.setdefault(
        "demo-1.0.dist-info/WHEEL",
        b"Wheel-Version: 1.0\nRoot-Is-Purelib: false\nTag: cp311-cp311-linux_x86_64\n",
    )
    rows = [f"{name},sha256={_digest(data)},{len(data)}" for name, data in contents.items()]
    rows += [f"{name},," for name in record_extra]
    rows.append("demo-1.0.dist-info/RECORD,,")
    contents["demo-1.0.dist-info/RECORD"] = ("\n".join(rows) + "\n").encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in contents.items():
            info = zipfile.ZipInfo(name, (2020, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = compression
            archive.writestr(info, data)
    return buffer.getvalue()


def central_entry(data: bytes, member: str) -> int:
    """Offset of ``member``'s central directory entry."""
    end = data.rindex(b"PK\x05\x06")
    size, start = struct.unpack_from("<II", data, end + 12)
    position = start
    while position < start + size:
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", data, position + 28)
        if data[position + 46 : position + 46 + name_len] == member.encode():
            return position
        position += 46 + name_len + extra_len + comment_len
    raise KeyError(member)


def patch_member(data: bytes, member: str, **fields: int) -> bytes:
    """Rewrites central (and, for the method, local) header fields of one member."""
    out = bytearray(data)
    entry = central_entry(data, member)
    local = struct.unpack_from("<I", data, entry + 42)[0]
    layout = {"compress_type": (10, 8, "<H"), "file_size": (24, 22, "<I")}
    for field, value in fields.items():
        central_at, local_at, fmt = layout[field]
        struct.pack_into(fmt, out, entry + central_at, value)
        struct.pack_into(fmt, out, local + local_at, value)
    return bytes(out)


# --- ELF patches (64-bit little-endian) ------------------------------------------------


def _sections(elf: bytes) -> Iterator[tuple[int, int, int, int, int]]:
    """(header offset, type, file offset, size, info) of every section."""
    shoff = struct.unpack_from("<Q", elf, 0x28)[0]
    shentsize, shnum = struct.unpack_from("<HH", elf, _E_SHENTSIZE)
    for index in range(shnum):
        header = shoff + index * shentsize
        kind = struct.unpack_from("<I", elf, header + 4)[0]
        offset, size = struct.unpack_from("<QQ", elf, header + 24)
        info = struct.unpack_from("<I", elf, header + 44)[0]
        yield header, kind, offset, size, info


def section_of_type(elf: bytes, kind: int) -> tuple[int, int, int, int]:
    """(header offset, file offset, size, info) of the first section of this type."""
    for header, found, offset, size, info in _sections(elf):
        if found == kind:
            return header, offset, size, info
    raise KeyError(hex(kind))


def _patched(elf: bytes, edits: list[tuple[int, str, int]]) -> bytes:
    out = bytearray(elf)
    for offset, fmt, value in edits:
        struct.pack_into(fmt, out, offset, value)
    return bytes(out)


def phentsize_zero(elf: bytes) -> bytes:
    """e_phentsize = 0 and e_phnum = PN_XNUM, with section 0 announcing 2**32-1 segments."""
    shoff = struct.unpack_from("<Q", elf, 0x28)[0]
    return _patched(
        elf,
        [(_E_PHENTSIZE, "<H", 0), (_E_PHNUM, "<H", 0xFFFF), (shoff + 44, "<I", 0xFFFFFFFF)],
    )


def shnum_absurd(elf: bytes) -> bytes:
    """e_shnum = 0, so section 0's sh_size (here 2**40) counts the sections."""
    shoff = struct.unpack_from("<Q", elf, 0x28)[0]
    return _patched(elf, [(_E_SHNUM, "<H", 0), (shoff + 32, "<Q", 1 << 40)])


def shentsize_zero(elf: bytes) -> bytes:
    """e_shentsize = 0: every section header is the first one."""
    return _patched(elf, [(_E_SHENTSIZE, "<H", 0)])


def verneed_next_zero(elf: bytes) -> bytes:
    """.gnu.version_r announcing 2**32-1 entries whose first vn_next is 0."""
    header, offset, _, _ = section_of_type(elf, SHT_GNU_VERNEED)
    return _patched(elf, [(header + 44, "<I", 0xFFFFFFFF), (offset + 12, "<I", 0)])


def verneed_huge_count(elf: bytes) -> bytes:
    """A verneed entry with vn_cnt = 65535 whose first vna_next is 0."""
    _, offset, _, _ = section_of_type(elf, SHT_GNU_VERNEED)
    aux = offset + struct.unpack_from("<I", elf, offset + 8)[0]
    return _patched(elf, [(offset + 2, "<H", 0xFFFF), (aux + 12, "<I", 0)])


def verneed_cycle(elf: bytes) -> bytes:
    """vn_next = 2**32 - 16: with 32-bit wrap-around, a pointer back to itself minus 16."""
    header, offset, _, _ = section_of_type(elf, SHT_GNU_VERNEED)
    return _patched(elf, [(header + 44, "<I", 0xFFFFFFFF), (offset + 12, "<I", 0xFFFFFFF0)])


def verdef_next_zero(elf: bytes) -> bytes:
    """.gnu.version_d announcing 2**32-1 definitions whose first vd_next is 0."""
    header, offset, _, _ = section_of_type(elf, SHT_GNU_VERDEF)
    return _patched(elf, [(header + 44, "<I", 0xFFFFFFFF), (offset + 16, "<I", 0)])


def verdef_huge_count(elf: bytes) -> bytes:
    """A version definition with vd_cnt = 65535 whose first vda_next is 0."""
    _, offset, _, _ = section_of_type(elf, SHT_GNU_VERDEF)
    aux = offset + struct.unpack_from("<I", elf, offset + 12)[0]
    return _patched(elf, [(offset + 6, "<H", 0xFFFF), (aux + 4, "<I", 0)])


def phnum_xnum_without_sections(elf: bytes) -> bytes:
    """e_phnum = PN_XNUM (count in section 0) but e_shoff = 0: no section 0."""
    return _patched(elf, [(_E_PHNUM, "<H", 0xFFFF), (0x28, "<Q", 0)])


def _dynamic_phdr(elf: bytes) -> int:
    phoff = struct.unpack_from("<Q", elf, 0x20)[0]
    phentsize, phnum = struct.unpack_from("<HH", elf, _E_PHENTSIZE)
    for index in range(phnum):
        header = phoff + index * phentsize
        if struct.unpack_from("<I", elf, header)[0] == 2:  # PT_DYNAMIC
            return header
    raise KeyError("PT_DYNAMIC")


def _with_dynamic_table(elf: bytes, table: bytes, tail: bytes = b"") -> bytes:
    """Appends ``table`` (then ``tail``) and points PT_DYNAMIC at it."""
    header = _dynamic_phdr(elf)
    offset = len(elf)
    out = _patched(elf, [(header + 8, "<Q", offset), (header + 32, "<Q", len(table))])
    return out + table + tail


def dynamic_without_end(elf: bytes) -> bytes:
    """A dynamic table of 70,000 DT_DEBUG entries before its DT_NULL."""
    table = struct.pack("<qQ", 21, 0) * 70000 + struct.pack("<qQ", 0, 0)
    return _with_dynamic_table(elf, table)


def needed_strings_overlap(elf: bytes) -> bytes:
    """60,000 DT_NEEDED entries naming suffixes of one 100 KB string."""
    header = next(h for h, kind, *_ in _sections(elf) if kind == 6)  # SHT_DYNAMIC
    link = struct.unpack_from("<I", elf, header + 40)[0]
    shoff = struct.unpack_from("<Q", elf, 0x28)[0]
    shentsize = struct.unpack_from("<H", elf, _E_SHENTSIZE)[0]
    dynstr = struct.unpack_from("<Q", elf, shoff + link * shentsize + 24)[0]
    count = 60000
    block_at = len(elf) + (count + 1) * 16
    table = b"".join(struct.pack("<qQ", 1, block_at - dynstr + i) for i in range(count))
    table += struct.pack("<qQ", 0, 0)
    return _with_dynamic_table(elf, table, b"A" * 100_000 + b"\0")


def notes_overlap(elf: bytes) -> bytes:
    """Every section is a note section covering the whole file."""
    edits = []
    for header, _, _, _, _ in _sections(elf):
        edits += [(header + 4, "<I", 7), (header + 24, "<Q", 0), (header + 32, "<Q", len(elf))]
    return _patched(elf, edits)


ELF_CASES: dict[str, Callable[[bytes], bytes]] = {
    "phnum_xnum_without_sections": phnum_xnum_without_sections,
    "dynamic_without_end": dynamic_without_end,
    "needed_strings_overlap": needed_strings_overlap,
    "notes_overlap": notes_overlap,
    "phentsize_zero": phentsize_zero,
    "shnum_absurd": shnum_absurd,
    "shentsize_zero": shentsize_zero,
    "verneed_next_zero": verneed_next_zero,
    "verneed_huge_count": verneed_huge_count,
    "verneed_cycle": verneed_cycle,
    "verdef_next_zero": verdef_next_zero,
    "verdef_huge_count": verdef_huge_count,
}


# --- zip-level cases ---------------------------------------------------------------------


def deflate_zeros(prefix: bytes, total: int) -> bytes:
    """A raw deflate stream of ``prefix`` then zeros, ``total`` bytes inflated."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    parts = [compressor.compress(prefix)]
    chunk = bytes(1 << 20)
    left = total - len(prefix)
    while left > 0:
        parts.append(compressor.compress(chunk[: min(left, len(chunk))]))
        left -= len(chunk)
    parts.append(compressor.flush())
    return b"".join(parts)


def _with_raw_deflate(stream: bytes, declared: int) -> bytes:
    """A wheel whose ELF member's bytes are ``stream``, marked deflated, ``declared`` long."""
    data = wheel_bytes({ELF_MEMBER: stream})
    return patch_member(data, ELF_MEMBER, compress_type=zipfile.ZIP_DEFLATED, file_size=declared)


def inflates_past_declared(elf: bytes) -> bytes:
    """A member declaring its real size's first 64 KiB that inflates to 900 MB of zeros."""
    return _with_raw_deflate(deflate_zeros(elf[:4096], 900 << 20), 64 << 10)


def declares_a_bomb(elf: bytes) -> bytes:
    """A member honestly declaring 900 MB from under 1 MiB of deflate data."""
    return _with_raw_deflate(deflate_zeros(elf[:4096], 900 << 20), 900 << 20)


def local_name_differs(elf: bytes) -> bytes:
    """The local header names demo/_other.so, the central directory demo/_native.so."""
    data = bytearray(wheel_bytes({ELF_MEMBER: elf}))
    local = struct.unpack_from("<I", data, central_entry(bytes(data), ELF_MEMBER) + 42)[0]
    name_at = local + 30
    assert data[name_at : name_at + len(ELF_MEMBER)] == ELF_MEMBER.encode()
    data[name_at : name_at + len(ELF_MEMBER)] = b"demo/_other.so"[: len(ELF_MEMBER)].ljust(
        len(ELF_MEMBER), b"_"
    )
    return bytes(data)


def compressed_with(method: int) -> Callable[[bytes], bytes]:
    """A wheel compressed with bzip2/LZMA by zipfile, or another method number patched in."""

    def build(elf: bytes) -> bytes:
        if method in (zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA):
            return wheel_bytes({ELF_MEMBER: elf}, compression=method)
        data = wheel_bytes({ELF_MEMBER: elf}, compression=zipfile.ZIP_DEFLATED)
        return patch_member(data, ELF_MEMBER, compress_type=method)

    return build


def deep_name(elf: bytes) -> bytes:
    """One member whose name has 32,767 components (a/a/.../a), about 64 KiB long."""
    del elf
    name = "/".join(["a"] * 32767)
    return wheel_bytes({name: b"x"})


ZIP_CASES: dict[str, Callable[[bytes], bytes]] = {
    "inflates_past_declared": inflates_past_declared,
    "declares_a_bomb": declares_a_bomb,
    "local_name_differs": local_name_differs,
    "bzip2": compressed_with(zipfile.ZIP_BZIP2),
    "lzma": compressed_with(zipfile.ZIP_LZMA),
    "zstd": compressed_with(93),
    "deflate64": compressed_with(9),
    "deep_name": deep_name,
}


def elf_case_wheel(elf: bytes, case: str) -> bytes:
    """The wheel holding the ELF file patched by ``case`` (deflated: some are large)."""
    return wheel_bytes({ELF_MEMBER: ELF_CASES[case](elf)}, compression=zipfile.ZIP_DEFLATED)
