"""The facts of one ELF file that a manylinux audit needs, from a single parse.

pyelftools reads the structure (header, segments, sections, the dynamic
table, version requirements, notes); the dynamic symbol table, which can hold
hundreds of thousands of entries, is scanned with ``struct`` straight from
the buffer. Everything is read the way auditwheel reads it: ``DT_NEEDED``,
``DT_RPATH`` and ``DT_RUNPATH`` from the first ``PT_DYNAMIC`` segment, symbol
versions from the ``.gnu.version_r`` section, symbols from the ``.dynsym``
section, and the x86-64 ISA level from the GNU property notes of every note
section.
"""

from __future__ import annotations

import array
import struct
import sys
from dataclasses import dataclass
from typing import Optional

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile
from elftools.elf.enums import ENUM_E_MACHINE

# (e_machine, ELF class, little endian) -> architecture, as auditwheel maps them.
_EM_386 = 3
_EM_X86_64 = 62
_EM_PPC64 = 21
_EM_S390 = 22
_EM_ARM = 40
_EM_AARCH64 = 183
_EM_RISCV = 243
_EM_LOONGARCH = 258
_ARCHITECTURES = {
    (_EM_386, 32, True): "i686",
    (_EM_X86_64, 64, True): "x86_64",
    (_EM_PPC64, 64, True): "ppc64le",
    (_EM_PPC64, 64, False): "ppc64",
    (_EM_RISCV, 64, True): "riscv64",
    (_EM_AARCH64, 64, True): "aarch64",
    (_EM_S390, 64, False): "s390x",
    (_EM_ARM, 32, True): "armv7l",
    (_EM_LOONGARCH, 64, True): "loongarch64",
}
KNOWN_ARCHITECTURES = tuple(sorted(set(_ARCHITECTURES.values())))

_EF_ARM_EABIMASK = 0xFF000000
_EF_ARM_EABI_VER5 = 0x05000000
_EF_ARM_ABI_FLOAT_HARD = 0x00000400

# ELF OS ABIs the loader treats alike (NONE/SYSV = 0, GNU/LINUX = 3).
_LINUX_OSABIS = frozenset({0, 3})

_MACHINE_NAMES = {value: name for name, value in ENUM_E_MACHINE.items() if isinstance(value, int)}

# Symbols whose undefined references make a wheel non-portable (auditwheel's checks).
PYFPE_SYMBOLS = frozenset({b"PyFPE_jbuf", b"PyFPE_dummy", b"PyFPE_counter"})
_UCS2_MARK = b"PyUnicodeUCS2_"
_PYTHON_PREFIXES = (b"Py", b"_Py")

_NT_GNU_PROPERTY_TYPE_0 = 5
_GNU_PROPERTY_X86_ISA_1_NEEDED = 0xC0008002
_STT_NOTYPE = 0
_STT_FUNC = 2
_STB_WEAK = 2

# How many symbol names to keep per required version, for explanations.
EXAMPLE_SYMBOLS = 5


class ElfReadError(Exception):
    """The file starts like an ELF file but its structure cannot be read."""


def machine_name(machine: int) -> str:
    """``EM_X86_64`` for 62, or the number when pyelftools does not know it."""
    return _MACHINE_NAMES.get(machine, f"EM_{machine}")


@dataclass(frozen=True)
class Platform:
    """What the loader matches libraries on, and the architecture auditwheel derives."""

    osabi: int
    elf_class: int
    little_endian: bool
    machine: int
    arch: Optional[str]
    arch_error: Optional[str]
    isa: Optional[str]
    isa_error: Optional[str]

    def compatible(self, other: Platform) -> bool:
        """Whether a library of platform ``other`` can satisfy an ELF of this one."""
        same_abi = self.osabi == other.osabi or (
            self.osabi in _LINUX_OSABIS and other.osabi in _LINUX_OSABIS
        )
        return (
            same_abi
            and self.elf_class == other.elf_class
            and self.little_endian == other.little_endian
            and self.machine == other.machine
        )

    def describe(self) -> str:
        """e.g. ``EM_X86_64, 64-bit, little-endian``."""
        endian = "little-endian" if self.little_endian else "big-endian"
        return f"{machine_name(self.machine)}, {self.elf_class}-bit, {endian}"


@dataclass(frozen=True)
class VersionNeed:
    """One version the file requires from one library (``.gnu.version_r``)."""

    library: str
    version: str
    symbols: tuple[str, ...]
    symbol_count: int


@dataclass(frozen=True)
class ElfFacts:
    """Everything the audit uses about one ELF file."""

    path: str
    platform: Platform
    interp: Optional[str]
    needed: tuple[str, ...]
    soname: Optional[str]
    rpath: Optional[str]
    runpath: Optional[str]
    version_needs: tuple[VersionNeed, ...]
    py_ext_version: Optional[int]
    undefined_blacklisted: frozenset[str]
    pyfpe_symbols: tuple[str, ...]
    ucs2_symbols: tuple[str, ...]
    # Undefined dynamic symbols named Py*/_Py*: what the file imports from
    # libpython (the abi3 check, ml_wheels.audit.abi3), sorted, unique.
    python_imports: tuple[str, ...] = ()


class _BufferStream:
    """A read-only, seekable file over bytes or a memoryview (no copy)."""

    def __init__(self, buffer: memoryview) -> None:
        self._buffer = buffer
        self._size = len(buffer)
        self._pos = 0

    def read(self, size: int = -1) -> bytes:
        end = self._size if size is None or size < 0 else min(self._size, self._pos + size)
        data = bytes(self._buffer[self._pos : end])
        self._pos = max(end, self._pos)
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        if whence == 1:
            offset += self._pos
        elif whence == 2:
            offset += self._size
        if offset < 0:
            raise ValueError("negative seek position")
        self._pos = offset
        return offset

    def tell(self) -> int:
        return self._pos


def looks_like_elf(head: bytes) -> bool:
    """The magic number only; :func:`read_elf_facts` decides."""
    return head[:4] == b"\x7fELF"


def _platform(elf: ELFFile, raw: memoryview, sections: list[_Section]) -> Platform:
    little = elf.little_endian
    machine = struct.unpack_from("<H" if little else ">H", raw, 18)[0]
    osabi = raw[7]
    arch = _ARCHITECTURES.get((machine, elf.elfclass, little))
    arch_error = None
    isa = None
    isa_error = None
    if arch is None:
        arch_error = f"unknown machine ({machine_name(machine)}, {elf.elfclass}-bit)"
    elif arch == "x86_64":
        isa, isa_error = _x86_64_isa(elf, raw, sections)
    elif arch == "armv7l":
        flags = elf["e_flags"]
        if (flags & _EF_ARM_EABIMASK) != _EF_ARM_EABI_VER5:
            arch, arch_error = None, "ARM EABI version is not 5 (armv7l needs EABI 5)"
        elif (flags & _EF_ARM_ABI_FLOAT_HARD) != _EF_ARM_ABI_FLOAT_HARD:
            arch, arch_error = None, "soft-float ARM ABI (armv7l needs hard-float)"
    return Platform(osabi, elf.elfclass, little, machine, arch, arch_error, isa, isa_error)


def _x86_64_isa(
    elf: ELFFile, raw: memoryview, sections: list[_Section]
) -> tuple[Optional[str], Optional[str]]:
    """The ISA level from GNU_PROPERTY_X86_ISA_1_NEEDED, evaluated like auditwheel.

    Every note section counts; in each, the first GNU property note decides,
    and within it the first ISA_1_NEEDED property of 4 bytes. A later section
    can raise or lower an earlier section's level. Notes are walked the way
    pyelftools walks them.
    """
    isa = None
    error = None
    if elf["e_type"] == "ET_CORE":
        return isa, error
    word = struct.Struct("<I" if elf.little_endian else ">I")
    header = struct.Struct(("<" if elf.little_endian else ">") + "III")
    prop_align = 3 if elf.elfclass == 64 else 2
    walked = 0
    for section in sections:
        if section.type != _SHT_NOTE:
            continue
        walked += section.size
        if walked > len(raw):
            raise ElfReadError("its note sections hold more bytes than the file (they overlap)")
        offset = section.offset
        end = offset + section.size
        while offset + header.size < end:
            namesz, descsz, kind = _unpack(header, raw, offset)
            offset += header.size
            padded = _roundup(namesz, 2)
            name = bytes(raw[offset : offset + padded]).split(b"\0", 1)[0] if namesz else None
            offset += padded
            desc = offset
            offset += _roundup(descsz, 2)
            if kind != _NT_GNU_PROPERTY_TYPE_0 or name != b"GNU":
                continue
            position = desc
            while position < desc + descsz:
                pr_type, pr_datasz = _unpack(_PROPERTY[elf.little_endian], raw, position)
                data_at = position + 8
                position += _roundup(pr_datasz + 8, prop_align)
                if pr_type != _GNU_PROPERTY_X86_ISA_1_NEEDED or pr_datasz != 4:
                    continue
                value = _unpack(word, raw, data_at)[0]
                bits = value & ~1  # bit 0 is the x86-64 baseline
                if bits & 8:
                    isa = "x86_64_v4"
                elif bits & 4:
                    isa = "x86_64_v3"
                elif bits & 2:
                    isa = "x86_64_v2"
                elif bits:
                    error = f"unknown x86-64 ISA bits {value:#x}"
                break
            break
    return isa, error


_PROPERTY = {True: struct.Struct("<II"), False: struct.Struct(">II")}


def _roundup(value: int, bits: int) -> int:
    mask = (1 << bits) - 1
    return (value + mask) & ~mask


@dataclass(frozen=True)
class _Section:
    name: str
    type: int
    offset: int
    size: int
    link: int
    info: int
    entsize: int


_SHT_SYMTAB = 2
_SHT_DYNAMIC = 6
_SHT_NOTE = 7
_SHT_NOBITS = 8
_SHT_DYNSYM = 11
_SHT_SUNW_LDYNSYM = 0x6FFFFFF3
_SHT_GNU_VERNEED = 0x6FFFFFFE
_SHT_GNU_VERSYM = 0x6FFFFFFF
_SYMBOL_TABLES = (_SHT_SYMTAB, _SHT_DYNSYM, _SHT_SUNW_LDYNSYM)
_PT_LOAD = 1
_PT_DYNAMIC = 2
_PT_INTERP = 3
_DT_NULL = 0
_DT_NEEDED = 1
_DT_STRTAB = 5
_DT_SONAME = 14
_DT_RPATH = 15
_DT_RUNPATH = 29


class _Layout:
    """Struct layouts of one ELF class and byte order."""

    def __init__(self, wide: bool, little: bool) -> None:
        order = "<" if little else ">"
        self.word = struct.Struct(order + "I")
        self.half = struct.Struct(order + "H")
        if wide:
            self.shdr = struct.Struct(order + "IIQQQQIIQQ")
            self.phdr = struct.Struct(order + "IIQQQQQQ")
            self.dyn = struct.Struct(order + "qQ")
        else:
            self.shdr = struct.Struct(order + "IIIIIIIIII")
            self.phdr = struct.Struct(order + "IIIIIIII")
            self.dyn = struct.Struct(order + "iI")
        self.wide = wide
        self.verneed = struct.Struct(order + "HHIII")
        self.vernaux = struct.Struct(order + "IHHII")


class _Budget:
    """Bytes a parse may scan for strings: a malformed file fails fast instead of looping.

    Names and version strings of a real file are read once each, so their
    total is below the file's size; overlapping or unterminated ones of a
    hostile file run out of budget after a bounded amount of work.
    """

    def __init__(self, limit: int) -> None:
        self.left = limit

    def spend(self, amount: int) -> None:
        self.left -= amount
        if self.left < 0:
            raise ElfReadError(
                "its string tables are malformed (strings overlap or are not terminated, "
                "more bytes than the file holds)"
            )


_MAX_DYNAMIC_ENTRIES = 1 << 16


def _unpack(layout: struct.Struct, raw: memoryview, offset: int) -> tuple:
    if offset < 0 or offset + layout.size > len(raw):
        raise ElfReadError(f"a table at offset {offset} runs past the end of the file")
    return layout.unpack_from(raw, offset)


def _string_at(raw: memoryview, offset: int, budget: _Budget) -> str:
    """A NUL-terminated string at a file offset, decoded as pyelftools decodes names."""
    if offset < 0 or offset >= len(raw):
        raise ElfReadError(f"a string at offset {offset} is past the end of the file")
    end = offset
    limit = len(raw)
    step = 64
    while end < limit:
        chunk = bytes(raw[end : min(limit, end + step)])
        nul = chunk.find(b"\0")
        budget.spend(nul + 1 if nul >= 0 else len(chunk))
        if nul >= 0:
            end += nul
            return bytes(raw[offset:end]).decode("utf-8", errors="replace")
        end += len(chunk)
        step = min(step * 2, 1 << 20)
    raise ElfReadError(f"a string at offset {offset} is not terminated")


def _table_count(
    raw: memoryview, what: str, offset: int, count: int, entsize: int, size: int
) -> int:
    """``count`` entries of ``size`` bytes at ``offset``, checked to lie in the file."""
    if count == 0:
        return 0
    if entsize != size:
        raise ElfReadError(f"its {what} entries are {entsize} bytes, not {size}")
    if offset < 0 or offset + count * size > len(raw):
        raise ElfReadError(
            f"its {count} {what} entries at offset {offset} run past the end of the file"
        )
    return count


def _section_count(elf: ELFFile, raw: memoryview, layout: _Layout) -> int:
    """e_shnum, or section 0's sh_size for 0xff00 sections or more, bounded by the file."""
    offset = elf["e_shoff"]
    if offset == 0:
        return 0
    count = elf["e_shnum"]
    if count == 0:
        count = _unpack(layout.shdr, raw, offset)[5]
    return _table_count(raw, "section header", offset, count, elf["e_shentsize"], layout.shdr.size)


def _segment_count(elf: ELFFile, raw: memoryview, layout: _Layout) -> int:
    """e_phnum, or section 0's sh_info for PN_XNUM, bounded by the file."""
    count = elf["e_phnum"]
    if count == 0xFFFF:
        if elf["e_shoff"] == 0:
            raise ElfReadError("e_phnum is PN_XNUM but the file has no section 0")
        count = _unpack(layout.shdr, raw, elf["e_shoff"])[7]
    return _table_count(
        raw, "program header", elf["e_phoff"], count, elf["e_phentsize"], layout.phdr.size
    )


def _sections(elf: ELFFile, raw: memoryview, layout: _Layout, budget: _Budget) -> list[_Section]:
    """The section headers with their names (pyelftools' counting rules)."""
    count = _section_count(elf, raw, layout)
    if not count:
        return []
    base = elf["e_shoff"]
    table = raw[base : base + count * layout.shdr.size]
    headers = list(layout.shdr.iter_unpack(table))
    names_index = elf.get_shstrndx()
    names_offset = headers[names_index][4] if names_index < count else None
    sections = []
    for header in headers:
        sh_name, sh_type, _, _, offset, size, link, info, _, entsize = header
        name = _string_at(raw, names_offset + sh_name, budget) if names_offset is not None else ""
        sections.append(_Section(name, sh_type, offset, size, link, info, entsize))
    return sections


def _by_name(sections: list[_Section], name: str) -> Optional[_Section]:
    """pyelftools' get_section_by_name: the last section of that name."""
    found = None
    for section in sections:
        if section.name == name:
            found = section
    return found


def _section_bytes(raw: memoryview, section: _Section) -> memoryview:
    if section.type == _SHT_NOBITS:
        return raw[0:0]
    end = section.offset + section.size
    if end > len(raw):
        raise ElfReadError(f"section {section.name} ends past the end of the file")
    return raw[section.offset : end]


def _c_string(table: bytes, offset: int, budget: _Budget) -> bytes:
    end = table.find(b"\0", offset)
    stop = len(table) if end < 0 else end
    budget.spend(max(stop - offset, 0) + 1)
    return table[offset:stop]


def _init_offsets(strtab: bytes, module: str) -> dict[int, int]:
    """Offsets in the string table where a module init function name starts."""
    try:
        encoded = module.encode("utf-8")
    except UnicodeEncodeError:
        return {}
    offsets: dict[int, int] = {}
    for prefix, version in ((b"init", 2), (b"PyInit_", 3), (b"_cffi_pypyinit_", 2)):
        needle = prefix + encoded + b"\0"
        position = strtab.find(needle)
        while position >= 0:
            offsets.setdefault(position, version)
            position = strtab.find(needle, position + 1)
    return offsets


def read_elf_facts(
    buffer: object,
    path: str,
    *,
    blacklist: frozenset[bytes] = frozenset(),
    symbols: bool = True,
) -> Optional[ElfFacts]:
    """Parses one ELF file held in memory.

    Args:
      buffer: the whole file (bytes, bytearray, mmap or memoryview).
      path: its path, for messages and the module name of a Python extension.
      blacklist: undefined symbol names worth reporting (the policies' blacklists).
      symbols: scan ``.dynsym`` (False for system libraries, where only the
        structure matters).

    Returns:
      The facts, or None when pyelftools does not take the file for an ELF file
      (auditwheel skips those).

    Raises:
      ElfReadError: an ELF file whose tables cannot be read.
    """
    raw = memoryview(buffer)  # type: ignore[arg-type]
    if raw.format != "B" or raw.ndim != 1:
        raw = raw.cast("B")
    try:
        elf = ELFFile(_BufferStream(raw))
    except ELFError:
        return None
    except Exception as e:  # truncated headers surface as struct/construct errors
        raise ElfReadError(str(e) or type(e).__name__) from e
    try:
        return _facts(elf, raw, path, blacklist, symbols)
    except ElfReadError:
        raise
    except Exception as e:
        raise ElfReadError(f"{type(e).__name__}: {e}") from e


def _facts(
    elf: ELFFile, raw: memoryview, path: str, blacklist: frozenset[bytes], scan_symbols: bool
) -> ElfFacts:
    layout = _Layout(elf.elfclass == 64, elf.little_endian)
    budget = _Budget(2 * len(raw) + (1 << 20))
    sections = _sections(elf, raw, layout, budget)
    platform = _platform(elf, raw, sections)

    # Program headers: the first PT_INTERP and the first PT_DYNAMIC, as auditwheel reads them.
    segments = []
    phoff = elf["e_phoff"]
    for index in range(_segment_count(elf, raw, layout)):
        fields = _unpack(layout.phdr, raw, phoff + index * layout.phdr.size)
        if layout.wide:
            p_type, _, p_offset, p_vaddr, _, p_filesz, _, _ = fields
        else:
            p_type, p_offset, p_vaddr, _, p_filesz, _, _, _ = fields
        segments.append((p_type, p_offset, p_vaddr, p_filesz))
    interp = next((_string_at(raw, s[1], budget) for s in segments if s[0] == _PT_INTERP), None)
    needed: list[str] = []
    soname = rpath = runpath = None
    dynamic = next((s for s in segments if s[0] == _PT_DYNAMIC), None)
    if dynamic is not None and dynamic[3] > 0:
        tags = []
        position = dynamic[1]
        while True:
            if len(tags) >= _MAX_DYNAMIC_ENTRIES:
                raise ElfReadError(
                    f"its dynamic section has more than {_MAX_DYNAMIC_ENTRIES} entries "
                    "before DT_NULL"
                )
            tag, value = _unpack(layout.dyn, raw, position)
            tags.append((tag, value))
            if tag == _DT_NULL:
                break
            position += layout.dyn.size
        strings = _dynamic_strings(raw, sections, segments, dynamic, tags)
        for tag, value in tags:
            if tag in (_DT_NEEDED, _DT_RPATH, _DT_RUNPATH, _DT_SONAME):
                if strings is None:
                    raise ElfReadError("the dynamic section has no string table")
                text = _string_at(raw, strings + value, budget)
                if tag == _DT_NEEDED:
                    needed.append(text)
                elif tag == _DT_RPATH:
                    rpath = text
                elif tag == _DT_RUNPATH:
                    runpath = text
                else:
                    soname = text

    requirements = _version_requirements(raw, sections, layout, budget)
    _check_version_definitions(raw, sections, layout)

    examples: dict[int, list[str]] = {index: [] for _, _, index in requirements}
    counts: dict[int, int] = dict.fromkeys(examples, 0)
    py_ext_version = None
    undefined_blacklisted: set[str] = set()
    pyfpe: list[str] = []
    ucs2: list[str] = []
    python_imports: set[str] = set()
    dynsym = _by_name(sections, ".dynsym") if scan_symbols else None
    if dynsym is not None and dynsym.type in _SYMBOL_TABLES:
        wide = layout.wide
        entry_format, entry_size = ("IBBHQQ", 24) if wide else ("IIIBBH", 16)
        if dynsym.entsize != entry_size:
            raise ElfReadError(f".dynsym has entries of {dynsym.entsize} bytes, not {entry_size}")
        table = _section_bytes(raw, dynsym)
        table = table[: len(table) - len(table) % entry_size]
        if dynsym.link >= len(sections):
            raise ElfReadError(".dynsym links to a missing string table")
        strtab_section = sections[dynsym.link]
        strtab = bytes(_section_bytes(raw, strtab_section))
        versym = None
        versym_section = _by_name(sections, ".gnu.version")
        if examples and versym_section is not None and versym_section.type == _SHT_GNU_VERSYM:
            versym = array.array("H")
            data = _section_bytes(raw, versym_section)
            versym.frombytes(data[: len(data) - len(data) % 2])
            if elf.little_endian != (sys.byteorder == "little"):
                versym.byteswap()
        init_offsets = _init_offsets(strtab, path.rsplit("/", 1)[-1].split(".", 1)[0])
        name_budget = _Budget(8 * len(strtab) + (1 << 20))
        order = "<" if elf.little_endian else ">"
        for index, entry in enumerate(struct.iter_unpack(order + entry_format, table)):
            if wide:
                name_offset, info, shndx = entry[0], entry[1], entry[3]
            else:
                name_offset, info, shndx = entry[0], entry[3], entry[5]
            kind = info & 0xF
            if shndx != 0:
                if py_ext_version is None and kind == _STT_FUNC and name_offset in init_offsets:
                    py_ext_version = init_offsets[name_offset]
                continue
            name = _c_string(strtab, name_offset, name_budget)
            if not name:
                continue
            text = name.decode("utf-8", errors="replace")
            if name in blacklist and info >> 4 != _STB_WEAK:
                undefined_blacklisted.add(text)
            if name in PYFPE_SYMBOLS and kind in (_STT_NOTYPE, _STT_FUNC):
                pyfpe.append(text)
            if kind == _STT_FUNC and _UCS2_MARK in name:
                ucs2.append(text)
            if name.startswith(_PYTHON_PREFIXES):
                python_imports.add(text)
            if versym is not None and index < len(versym):
                version_index = versym[index] & 0x7FFF
                if version_index in counts:
                    counts[version_index] += 1
                    if len(examples[version_index]) < EXAMPLE_SYMBOLS:
                        examples[version_index].append(text)

    version_needs = tuple(
        VersionNeed(library, version, tuple(examples[index]), counts[index])
        for library, version, index in requirements
    )
    return ElfFacts(
        path=path,
        platform=platform,
        interp=interp,
        needed=tuple(needed),
        soname=soname,
        rpath=rpath,
        runpath=runpath,
        version_needs=version_needs,
        py_ext_version=py_ext_version,
        undefined_blacklisted=frozenset(undefined_blacklisted),
        pyfpe_symbols=tuple(pyfpe),
        ucs2_symbols=tuple(ucs2),
        python_imports=tuple(sorted(python_imports)),
    )


_SHT_GNU_VERDEF = 0x6FFFFFFD
_VERDEF = {True: struct.Struct("<HHHHIII"), False: struct.Struct(">HHHHIII")}
_VERDAUX = {True: struct.Struct("<II"), False: struct.Struct(">II")}


class _Chain:
    """Walks the linked records of one version section; refuses loops and overruns.

    Every record lies inside the section, each ``next`` moves forward (so no
    chain can cycle), a zero ``next`` ends a chain only at its last record,
    and all chains together visit at most as many records as the section holds.
    """

    def __init__(self, section: _Section, record: int) -> None:
        self.section = section
        self.end = section.offset + section.size
        self.left = section.size // record if record else 0

    def at(self, offset: int, layout: struct.Struct, raw: memoryview) -> tuple:
        if offset < self.section.offset or offset + layout.size > self.end:
            raise ElfReadError(
                f"a record of its {self.section.name or 'version'} section at offset {offset} "
                "lies outside the section"
            )
        self.left -= 1
        if self.left < 0:
            raise ElfReadError(
                f"its {self.section.name or 'version'} section has more records than it can "
                "hold (its chains loop or overlap)"
            )
        return _unpack(layout, raw, offset)

    def next(self, offset: int, step: int, remaining: int, what: str) -> int:
        if remaining and step == 0:
            raise ElfReadError(
                f"its {self.section.name or 'version'} section's {what} chain ends "
                f"(next = 0) with {remaining} more record(s) announced: the chain loops"
            )
        return offset + step


def _version_requirements(
    raw: memoryview, sections: list[_Section], layout: _Layout, budget: _Budget
) -> list[tuple[str, str, int]]:
    """.gnu.version_r: (library, version, version index), walked like pyelftools walks it."""
    requirements: list[tuple[str, str, int]] = []
    verneed = _by_name(sections, ".gnu.version_r")
    if verneed is None or verneed.type != _SHT_GNU_VERNEED:
        return requirements
    _section_bytes(raw, verneed)
    strtab = sections[verneed.link].offset if verneed.link < len(sections) else 0
    chain = _Chain(verneed, layout.vernaux.size)
    entry = verneed.offset
    for index in range(verneed.info):
        _, count, file_name, aux, next_entry = chain.at(entry, layout.verneed, raw)
        library = _string_at(raw, strtab + file_name, budget)
        aux_at = entry + aux
        for aux_index in range(count):
            _, _, other, version_name, next_aux = chain.at(aux_at, layout.vernaux, raw)
            requirements.append((library, _string_at(raw, strtab + version_name, budget), other))
            aux_at = chain.next(aux_at, next_aux, count - aux_index - 1, "vna_next")
        entry = chain.next(entry, next_entry, verneed.info - index - 1, "vn_next")
    return requirements


def _check_version_definitions(raw: memoryview, sections: list[_Section], layout: _Layout) -> None:
    """.gnu.version_d: the loader walks it at import; a looping chain would hang it."""
    verdef = next((s for s in sections if s.type == _SHT_GNU_VERDEF), None)
    if verdef is None:
        return
    _section_bytes(raw, verdef)
    little = layout.word.format.startswith("<")
    chain = _Chain(verdef, _VERDAUX[little].size)
    entry = verdef.offset
    for index in range(verdef.info):
        _, _, _, count, _, aux, next_entry = chain.at(entry, _VERDEF[little], raw)
        aux_at = entry + aux
        for aux_index in range(count):
            _, next_aux = chain.at(aux_at, _VERDAUX[little], raw)
            aux_at = chain.next(aux_at, next_aux, count - aux_index - 1, "vda_next")
        entry = chain.next(entry, next_entry, verdef.info - index - 1, "vd_next")


def _dynamic_strings(
    raw: memoryview,
    sections: list[_Section],
    segments: list[tuple[int, int, int, int]],
    dynamic: tuple[int, int, int, int],
    tags: list[tuple[int, int]],
) -> Optional[int]:
    """File offset of the dynamic string table, found as pyelftools finds it.

    The sh_link of the dynamic section at the segment's offset; else DT_STRTAB
    mapped through the PT_LOAD segments; else the section named ``.dynstr``.
    """
    for section in sections:
        if section.type == _SHT_DYNAMIC and section.offset == dynamic[1]:
            if section.link < len(sections):
                return sections[section.link].offset
            break
    address = next((value for tag, value in tags if tag == _DT_STRTAB), None)
    if address is not None:
        for p_type, p_offset, p_vaddr, p_filesz in segments:
            if p_type == _PT_LOAD and p_vaddr <= address and address + 1 <= p_vaddr + p_filesz:
                return address - p_vaddr + p_offset
    dynstr = _by_name(sections, ".dynstr")
    return dynstr.offset if dynstr is not None else None
