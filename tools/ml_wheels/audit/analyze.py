"""The verdict: which manylinux/musllinux policy a wheel meets, and why not a better one.

This follows what ``auditwheel show`` computes (auditwheel 6.8), step by step,
over facts read once per ELF file (:mod:`ml_wheels.audit.elf`):

1. Every member that is ELF is a candidate, whatever its name or zip mode
   (pip writes each member as a regular file; auditwheel looks at RECORD's
   files except ``*.py``); a member RECORD does not list is an error. The
   architecture is the wheel's own: the one its file name names if ELF files
   of it exist, else the first ELF file's. Files of other architectures, or
   linked against the other libc, are ignored, as auditwheel ignores them
   (and fail the tags the wheel claims, :mod:`ml_wheels.audit.claims`).
2. Each candidate's dependency tree is resolved like auditwheel's ``lddtree``:
   the top file's RPATH and RUNPATH apply to all its dependencies, then each
   dependency's own, ``LD_LIBRARY_PATH``, ``/etc/ld.so.conf`` and the trusted
   system directories. ``$ORIGIN`` is the member's folder inside the wheel;
   the working directory is the wheel's root. Libraries found inside the
   wheel are bundled; anything else (found on this machine or not) is external.
3. Python extensions are always roots; other ELF files are roots unless some
   file needs them by name. Trees of non-extension files with unresolved
   libraries borrow the resolution of a fully resolved tree that contains them
   (how auditwheel accepts libraries it grafted into ``<pkg>.libs``).
4. Per policy: external libraries (needed, not whitelisted, not bundled, found
   transitively), blacklisted symbols (undefined in a root, from a library it
   needs directly), symbol versions of every candidate (and of external
   libraries found on this machine), the x86-64 ISA level of roots and of
   external libraries, UCS2 and PyFPE symbols of extensions.
5. The overall policy is the least compatible of: symbol versions, UCS2,
   PyFPE, blacklist, ISA and external libraries.
6. Beyond auditwheel: RUNPATH/RPATH entries of every ELF file that lead
   outside the wheel (:func:`runpath_problems`) fail every expected or
   claimed tag, while ``overall`` stays auditwheel's verdict.
7. Beyond auditwheel, like abi3audit: a wheel whose abi tag is abi3 imports
   from libpython only the limited API of the CPython its python tag names
   (:mod:`ml_wheels.audit.abi3`, :attr:`AuditResult.abi3`).
"""

from __future__ import annotations

import fnmatch
import glob
import mmap
import os
import posixpath
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Optional

from ml_wheels.audit.abi3 import Abi3Check, check_abi3
from ml_wheels.audit.elf import ElfFacts, ElfReadError, Platform, read_elf_facts
from ml_wheels.audit.policy import (
    GLIBC,
    MUSL,
    FilenameTags,
    Policy,
    PolicySet,
    TagRequest,
    blacklisted_symbol_names,
    filename_tags,
)
from ml_wheels.audit.reader import WheelArchive, default_jobs, parse_elf_members
from ml_wheels.errors import WheelError
from ml_wheels.wheelpath import shown_path

WHEEL = "wheel"
HOST = "host"
Loc = tuple  # (WHEEL, member path relative to the root) or (HOST, absolute path)

_ORIGIN = re.compile(r"\$(ORIGIN|\{ORIGIN\})")
_LIBPYTHON = re.compile(r"libpython[0-9]+\.[0-9]+m?\.so(\.[0-9]+)*", re.ASCII)
_ORIGIN_MARK = "\0ORIGIN\0"


def _is_loader(soname: str) -> bool:
    return "ld-linux" in soname or soname in ("ld64.so.2", "ld64.so.1")


def _normpath(path: str) -> str:
    return os.path.normpath(path).replace("//", "/")


def _dedupe(items: Iterable) -> list:
    seen = set()
    out = []
    for item in items:
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out


def loc_text(loc: Optional[Loc]) -> Optional[str]:
    """A location for people: the member path, or the system path."""
    return None if loc is None else loc[1]


@dataclass(frozen=True)
class Lib:
    """One resolved (or unresolved) library of a dependency tree."""

    soname: str
    path: Optional[Loc]
    realpath: Optional[Loc]
    platform: Optional[Platform] = None
    needed: tuple[str, ...] = ()


@dataclass(frozen=True)
class Tree:
    """An ELF file and every library its loading pulls in."""

    loc: Loc
    facts: ElfFacts
    libc: Optional[str]
    needed: tuple[str, ...]
    libraries: Mapping[str, Lib]


@dataclass
class ExternalRef:
    """What one policy finds external and blacklisted, for one tree or the wheel."""

    policy: Policy
    libs: dict[str, Optional[Loc]] = field(default_factory=dict)
    blacklist: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Reason:
    """One thing that keeps the wheel from a more compatible policy.

    ``limit`` is the most compatible policy this one thing allows.
    """

    kind: str
    file: str
    limit: Policy
    library: Optional[str] = None
    version: Optional[str] = None
    symbols: tuple[str, ...] = ()
    symbol_count: int = 0
    path: Optional[str] = None
    via: Optional[str] = None
    isa: Optional[str] = None
    bundled_at: tuple[str, ...] = ()


@dataclass(frozen=True)
class RunpathProblem:
    """A RUNPATH/RPATH entry of a shipped ELF file that leads outside the wheel."""

    file: str
    kind: str
    entry: str
    why: str


@dataclass(frozen=True)
class Claim:
    """A platform tag the wheel claims, and where it says so."""

    tag: str
    sources: tuple[str, ...]


@dataclass
class AuditResult:
    """Everything the audit found; :mod:`ml_wheels.audit.report` renders it."""

    wheel: str
    filename: str
    tags: FilenameTags
    pure: bool
    architecture: Optional[str] = None
    libc: Optional[str] = None
    policies: Optional[PolicySet] = None
    overall: Optional[Policy] = None
    symbol: Optional[Policy] = None
    ref_policy: Optional[Policy] = None
    blacklist_policy: Optional[Policy] = None
    machine_policy: Optional[Policy] = None
    ucs_policy: Optional[Policy] = None
    pyfpe_policy: Optional[Policy] = None
    versioned_symbols: dict[str, set[str]] = field(default_factory=dict)
    external_refs: dict[str, ExternalRef] = field(default_factory=dict)
    reasons: list[Reason] = field(default_factory=list)
    elf_files: list[str] = field(default_factory=list)
    python_extensions: list[str] = field(default_factory=list)
    ignored: list[tuple[str, str]] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    foreign: list[tuple[str, str]] = field(default_factory=list)
    runpath_problems: list[RunpathProblem] = field(default_factory=list)
    claims: list[Claim] = field(default_factory=list)
    abi3: Optional[Abi3Check] = None

    def compliant_with(self, policy: Policy) -> bool:
        """Whether the wheel meets ``policy`` (pure wheels meet everything)."""
        if self.pure:
            return True
        assert self.overall is not None
        return self.overall.priority >= policy.priority


# --- the machine's libraries, the way auditwheel looks them up ----------------------------


class HostLibraries:
    """Library search paths and system ELF files of this machine (cached)."""

    def __init__(self, environ: Optional[Mapping[str, str]] = None) -> None:
        self._environ = os.environ if environ is None else environ
        self._facts: dict[str, Optional[ElfFacts]] = {}
        self._conf: dict[Optional[str], list[Loc]] = {}
        self._env: Optional[list[Loc]] = None

    def facts(self, path: str) -> Optional[ElfFacts]:
        if path not in self._facts:
            self._facts[path] = self._read(path)
        return self._facts[path]

    @staticmethod
    def _read(path: str) -> Optional[ElfFacts]:
        try:
            with open(path, "rb") as f:
                if os.fstat(f.fileno()).st_size < 16:
                    return None
                with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
                    view = memoryview(mapped)
                    try:
                        return read_elf_facts(view, path, symbols=False)
                    finally:
                        view.release()
        except (OSError, ValueError, ElfReadError, BufferError):
            return None

    def env_paths(self, resolver: Resolver) -> list[Loc]:
        if self._env is None:
            joined = ":".join(
                filter(
                    None,
                    (
                        self._environ.get("AUDITWHEEL_LD_LIBRARY_PATH"),
                        self._environ.get("LD_LIBRARY_PATH"),
                    ),
                )
            )
            self._env = resolver.ld_paths(joined, None)
        return self._env

    def conf_paths(self, libc: Optional[str]) -> list[Loc]:
        if libc not in self._conf:
            if libc == MUSL:
                found = glob.glob("/etc/ld-musl-*.path")
                if len(found) == 1:
                    with open(found[0], encoding="utf-8", errors="replace") as f:
                        paths = [p.strip() for p in f.read().split(":") if p.strip()]
                    paths = ["/" + p for p in paths]
                else:
                    paths = ["/lib", "/usr/local/lib", "/usr/lib"]
            else:
                paths = _parse_ld_so_conf("/etc/ld.so.conf")
                paths += ["/lib", "/lib64/", "/usr/lib", "/usr/lib64"]
            self._conf[libc] = [(HOST, _normpath(p)) for p in paths]
        return self._conf[libc]


def _parse_ld_so_conf(path: str, first: bool = True, depth: int = 0) -> list[str]:
    paths: list[str] = []
    if depth > 16:
        return paths
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return paths
    for raw in lines:
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("include "):
            pattern = line[8:]
            if pattern.startswith("/"):
                pattern = "/" + pattern.lstrip("/")
            else:
                pattern = os.path.dirname(path) + "/" + pattern
            for included in glob.glob(pattern):
                paths += _parse_ld_so_conf(included, first=False, depth=depth + 1)
        else:
            paths.append(_normpath("/" + line))
    if first:
        paths = [p for p in _dedupe(paths) if os.path.isdir(p)]
    return paths


def _readlink(path: str) -> str:
    """Resolves symlinks of the last component only, like auditwheel's lddtree."""
    for _ in range(40):
        if not os.path.islink(path):
            break
        path = os.path.join(os.path.dirname(path), os.readlink(path))
    return _normpath(path)


# --- dependency trees (auditwheel's lddtree, over the wheel's members) -------------------------


class Resolver:
    """Builds dependency trees of the wheel's ELF files."""

    def __init__(
        self,
        archive: WheelArchive,
        facts: Mapping[str, ElfFacts],
        host: HostLibraries,
        exclude: Sequence[str],
    ) -> None:
        self.archive = archive
        self.facts = facts
        self.host = host
        self.exclude = tuple(exclude)
        self.excluded_seen: set[str] = set()

    def facts_at(self, loc: Loc) -> Optional[ElfFacts]:
        if loc[0] == WHEEL:
            return self.facts.get(loc[1])
        return self.host.facts(loc[1])

    def _is_dir(self, loc: Loc) -> bool:
        if loc[0] == WHEEL:
            return self.archive.is_dir(loc[1])
        return os.path.isdir(loc[1])

    @staticmethod
    def _wheel_join(directory: str, relative: str) -> Optional[str]:
        """Joins inside the wheel; None when the result leaves the wheel's root."""
        stack: list[str] = []
        for part in (directory + "/" + relative).split("/"):
            if part in ("", "."):
                continue
            if part == "..":
                if not stack:
                    return None
                stack.pop()
            else:
                stack.append(part)
        return "/".join(stack)

    def _expand(self, entry: str, origin: Optional[Loc]) -> Optional[Loc]:
        if entry == "":
            return (WHEEL, "")  # the loader's working directory: the wheel's root
        if _ORIGIN.search(entry):
            if origin is None:
                return None
            directory = posixpath.dirname(origin[1])
            if origin[0] == HOST:
                return (HOST, _normpath(_ORIGIN.sub(lambda _: directory, entry)))
            marked = _ORIGIN.sub(lambda _: _ORIGIN_MARK, entry)
            if not marked.startswith(_ORIGIN_MARK):
                return None  # a path around the extraction folder: never a real folder
            rest = marked[len(_ORIGIN_MARK) :]
            if _ORIGIN_MARK in rest:
                return None
            if not rest:
                joined: Optional[str] = directory
            elif rest.startswith("/"):
                joined = self._wheel_join(directory, rest)
            elif directory:
                joined = self._wheel_join("", directory + rest)  # "$ORIGINfoo": a sibling
            else:
                joined = None
            return None if joined is None else (WHEEL, joined)
        return (HOST, _normpath("/" + entry))

    def ld_paths(self, text: Optional[str], origin: Optional[Loc]) -> list[Loc]:
        """auditwheel's parse_ld_paths: expand, dedupe, keep existing folders."""
        if not text:
            return []
        expanded = [self._expand(entry, origin) for entry in text.split(":")]
        return [loc for loc in _dedupe(expanded) if loc is not None and self._is_dir(loc)]

    def _find(
        self, platform: Platform, soname: str, search: Sequence[Loc]
    ) -> tuple[Optional[Loc], Optional[Loc]]:
        for directory in search:
            if directory[0] == WHEEL and not soname.startswith("/"):
                member = self._wheel_join(directory[1], soname)
                if member is None or member not in self.archive.members:
                    continue
                facts = self.facts.get(member)
                if facts is not None and platform.compatible(facts.platform):
                    return (WHEEL, member), (WHEEL, member)
                continue
            base = "/" if directory[0] == WHEEL else directory[1]
            path = os.path.join(base, soname)
            target = _readlink(path)
            if not os.path.exists(target):
                continue
            facts = self.host.facts(target)
            if facts is not None and platform.compatible(facts.platform):
                return (HOST, target), (HOST, path)
        return None, None

    def _excluded(self, name: str) -> bool:
        return any(fnmatch.fnmatch(name, pattern) for pattern in self.exclude)

    def ldd(
        self,
        loc: Loc,
        ldpaths: Optional[dict[str, list[Loc]]] = None,
        all_libs: Optional[dict[str, Lib]] = None,
    ) -> Tree:
        facts = self.facts_at(loc)
        assert facts is not None
        first = all_libs is None
        if all_libs is None:
            all_libs = {}
        libc = None
        if first and facts.interp is not None:
            interpreter = _normpath("/" + facts.interp)
            soname = posixpath.basename(interpreter)
            all_libs[soname] = Lib(
                soname, (HOST, interpreter), (HOST, _readlink(interpreter)), facts.platform
            )
            libc = MUSL if soname.startswith("ld-musl-") else GLIBC
            ldpaths = self._base_ldpaths(libc)
            interp_dir = posixpath.dirname(facts.interp)
            ldpaths["interp"] = [
                (HOST, _normpath("/" + interp_dir)),
                (HOST, _normpath("/usr" + interp_dir)),
            ]

        rpaths = self.ld_paths(facts.rpath, loc)
        runpaths = self.ld_paths(facts.runpath, loc)
        if runpaths:
            rpaths = []  # RUNPATH wins over RPATH

        if first:
            for soname in facts.needed:
                if soname.startswith(("libc.musl-", "ld-musl-")):
                    found = MUSL
                elif soname == "libc.so.6" or soname.startswith(("ld-linux-", "ld64.so.")):
                    found = GLIBC
                else:
                    continue
                if libc is None:
                    libc = found
                elif libc != found:
                    raise WheelError(
                        f"{self.archive.path}: {loc[1]} links both glibc and musl "
                        f"({soname} with {libc}); a wheel needs one libc"
                    )
            if libc is None:
                libc = _libc_from_name(posixpath.basename(loc[1]))
            if ldpaths is None:
                ldpaths = self._base_ldpaths(libc)
            ldpaths["rpath"] = rpaths
            ldpaths["runpath"] = runpaths
        assert ldpaths is not None

        search = (
            ldpaths["rpath"]
            + rpaths
            + runpaths
            + ldpaths["env"]
            + ldpaths["runpath"]
            + ldpaths["conf"]
            + ldpaths["interp"]
        )
        excluded: set[str] = set()
        for soname in facts.needed:
            if soname in all_libs or soname in excluded:
                continue
            if self._excluded(soname):
                excluded.add(soname)
                self.excluded_seen.add(soname)
                continue
            if _LIBPYTHON.fullmatch(soname):
                all_libs[soname] = Lib(soname, None, None)
                continue
            realpath, path = self._find(facts.platform, soname, search)
            if realpath is not None and self._excluded(realpath[1]):
                excluded.add(soname)
                self.excluded_seen.add(soname)
                continue
            all_libs[soname] = Lib(soname, path, realpath)
            if realpath is None:
                continue
            dependency = self.ldd(realpath, ldpaths, all_libs)
            all_libs[soname] = Lib(
                soname, path, realpath, dependency.facts.platform, dependency.needed
            )
        return Tree(
            loc,
            facts,
            libc,
            tuple(s for s in facts.needed if s not in excluded),
            all_libs,
        )

    def _base_ldpaths(self, libc: Optional[str]) -> dict[str, list[Loc]]:
        return {
            "conf": self.host.conf_paths(libc),
            "env": self.host.env_paths(self),
            "interp": [],
        }


def _libc_from_name(name: str) -> Optional[str]:
    if name.endswith(("-arm-linux-musleabihf.so", "-linux-musl.so")):
        return MUSL
    if name.endswith(("-arm-linux-gnueabihf.so", "-linux-gnu.so")):
        soabi = name.rsplit(".", 1)[0].split(".")[-1].split("-")
        if (
            len(soabi) > 1
            and soabi[0] == "cpython"
            and soabi[1].startswith(tuple(f"3{minor}" for minor in range(11, 100)))
        ):
            return GLIBC
    return None


def _fixup_trees(python_trees: dict[str, Tree], other_trees: dict[str, Tree]) -> None:
    """Lets non-extension trees borrow libraries a fully resolved tree found for them."""
    resolved = [
        tree
        for tree in list(python_trees.values()) + list(other_trees.values())
        if all(lib.realpath is not None for lib in tree.libraries.values())
    ]

    def reference_for(loc: Loc) -> Optional[Tree]:
        for candidate in resolved:
            for lib in candidate.libraries.values():
                if lib.realpath == loc:
                    return candidate
        return None

    for name, tree in list(other_trees.items()):
        if all(lib.realpath is not None for lib in tree.libraries.values()):
            continue
        reference = reference_for(tree.loc)
        if reference is None:
            continue
        libraries: dict[str, Lib] = {}
        known = set(tree.libraries)
        for soname, lib in tree.libraries.items():
            if lib.realpath is None and soname in reference.libraries:
                libraries[soname] = reference.libraries[soname]
                pending = set(libraries[soname].needed) - known
                while pending:
                    batch = set(pending)
                    known |= batch
                    for needed in batch:
                        if needed in reference.libraries:
                            libraries[needed] = reference.libraries[needed]
                            pending.update(libraries[needed].needed)
                    pending -= known
            else:
                libraries[soname] = lib
        other_trees[name] = Tree(tree.loc, tree.facts, tree.libc, tree.needed, libraries)


def _external_references(policies: PolicySet, tree: Tree) -> dict[str, ExternalRef]:
    """auditwheel's lddtree_external_references for one tree, per policy."""
    undefined = set(tree.facts.undefined_blacklisted) | {"*"}
    refs: dict[str, ExternalRef] = {}
    for policy in policies:
        ref = ExternalRef(policy)
        refs[policy.name] = ref
        if policy.is_linux:
            continue

        def outside(libs: Iterable[str], whitelist: frozenset[str] = policy.whitelist) -> list[str]:
            return [s for s in libs if not _is_loader(s) and s not in whitelist]

        for library in sorted(set(policy.blacklist) & set(tree.needed)):
            hits = policy.blacklist[library] & undefined
            if hits:
                ref.blacklist[library] = sorted(hits)
        pending = set(outside(tree.needed))
        required: set[str] = set()
        while pending:
            soname = pending.pop()
            required.add(soname)
            lib = tree.libraries.get(soname)
            for dependency in outside(lib.needed if lib is not None else ()):
                if dependency not in required:
                    pending.add(dependency)
        for soname in sorted(required):
            lib = tree.libraries.get(soname)
            realpath = lib.realpath if lib is not None else None
            if realpath is not None and realpath[0] == WHEEL:
                continue  # bundled: found inside the wheel
            ref.libs[soname] = realpath
    return refs


def _merge(into: dict[str, ExternalRef], refs: Mapping[str, ExternalRef]) -> None:
    for name, ref in refs.items():
        target = into[name]
        for library, symbols in ref.blacklist.items():
            target.blacklist[library] = sorted(
                set(target.blacklist.get(library, ())) | set(symbols)
            )
        target.libs.update(ref.libs)


def _versioned(facts: ElfFacts) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for need in facts.version_needs:
        if not _is_loader(need.library):
            out.setdefault(need.library, set()).add(need.version)
    return out


def blacklist_symbols() -> frozenset[bytes]:
    """Every symbol any policy blacklists (what the ELF scan has to report)."""
    return frozenset(s.encode("latin-1") for s in blacklisted_symbol_names())


def audit(
    wheel: str,
    exclude: Sequence[str] = (),
    jobs: Optional[int] = None,
    isa_check: bool = True,
    environ: Optional[Mapping[str, str]] = None,
) -> AuditResult:
    """Audits a wheel file.

    Raises:
      WheelError: the file is missing or not a wheel, a member is corrupt, or
        no ELF file of a known architecture is in a platform wheel.
    """
    jobs = default_jobs() if jobs is None else max(1, jobs)
    filename = os.path.basename(wheel)
    tags = filename_tags(filename)
    with WheelArchive(wheel) as archive:
        record = archive.record_paths()
        result = AuditResult(wheel, filename, tags, pure=False)
        result.claims = _claims(archive, filename)
        if record is None:
            result.warnings.append("the wheel has no .dist-info/RECORD; auditing every member")
            listed = sorted(archive.members)
        else:
            listed = _dedupe(posixpath.normpath(p) for p in record)
            for path in listed:
                if path not in archive.members and not archive.is_dir(path):
                    result.warnings.append(f"RECORD lists {path}, which the wheel does not contain")
            _refuse_unlisted(archive, set(listed))
            listed = [p for p in listed if p in archive.members]
        # Every member: pip writes each one as a regular file, whatever its name,
        # its mode bits (symlinks too) or its size.
        facts = parse_elf_members(archive, list(archive.members), blacklist_symbols(), jobs)
        candidates = [p for p in listed if p in facts]
        _analyze(result, archive, facts, candidates, exclude, isa_check, environ)
        result.runpath_problems = runpath_problems(archive, facts)
        if not result.pure:
            result.abi3 = check_abi3(filename, facts, result.elf_files, result.python_extensions)
    return result


def _refuse_unlisted(archive: WheelArchive, listed: set[str]) -> None:
    """Refuses members RECORD does not list (other than RECORD and its signatures)."""
    unlisted = sorted(
        name for name in archive.members if name not in listed and not archive.unlisted_exempt(name)
    )
    if not unlisted:
        return
    more = f" (and {len(unlisted) - 1} more)" if len(unlisted) > 1 else ""
    raise WheelError(
        f"{archive.path}: {shown_path(unlisted[0])}{more} is in the archive but not in RECORD; "
        "installers write it anyway, unchecked: rebuild the wheel so RECORD lists every file"
    )


def _wheel_file_tags(archive: WheelArchive) -> tuple[Optional[str], list[str]]:
    """The WHEEL member of the wheel's .dist-info and its ``Tag:`` values."""
    record = archive.record_name()
    if record is not None:
        wheel_file = record.rsplit("/", 1)[0] + "/WHEEL"
    else:
        found = sorted(
            n for n in archive.members if n.endswith(".dist-info/WHEEL") and n.count("/") == 1
        )
        wheel_file = found[0] if found else ""
    member = archive.members.get(wheel_file)
    if member is None:
        return None, []
    text = archive.read_bytes(member).decode("utf-8", errors="replace")
    values = [
        line.partition(":")[2].strip()
        for line in text.splitlines()
        if line.partition(":")[0].strip().lower() == "tag"
    ]
    return wheel_file, [v for v in values if v]


def _expand(tag: str) -> list[str]:
    """``py-abi-plat`` with dotted sets expanded (some tools write WHEEL's tags compressed)."""
    parts = tag.split("-")
    if len(parts) != 3:
        return [tag]
    return [
        f"{py}-{abi}-{platform}"
        for py in parts[0].split(".")
        for abi in parts[1].split(".")
        for platform in parts[2].split(".")
    ]


def _filename_triples(filename: str) -> list[str]:
    stem = filename[:-4] if filename.endswith(".whl") else filename
    parts = stem.split("-")
    if len(parts) not in (5, 6):
        return []
    return _expand("-".join(parts[-3:]))


def _claims(archive: WheelArchive, filename: str) -> list[Claim]:
    """The manylinux/musllinux platform tags the file name and WHEEL claim.

    Raises:
      WheelError: the file name and WHEEL's ``Tag:`` lines name different tags.
    """
    from_name = _filename_triples(filename)
    wheel_file, tags = _wheel_file_tags(archive)
    from_wheel = [triple for tag in tags for triple in _expand(tag)]
    if from_name and from_wheel and set(from_name) != set(from_wheel):
        only_name = sorted(set(from_name) - set(from_wheel))
        only_wheel = sorted(set(from_wheel) - set(from_name))
        raise WheelError(
            f"{archive.path}: the file name claims {', '.join(only_name) or 'no other tag'} "
            f"but {wheel_file} claims {', '.join(only_wheel) or 'no other tag'}; installers "
            "trust either: rebuild the wheel so its name and WHEEL's Tag: lines agree"
        )
    sources: dict[str, list[str]] = {}
    for triple, source in [(t, "file name") for t in from_name] + [
        (t, "WHEEL") for t in from_wheel
    ]:
        platform = triple.rsplit("-", 1)[-1]
        if platform.startswith(("manylinux", "musllinux")):
            listed = sources.setdefault(platform, [])
            if source not in listed:
                listed.append(source)
    return [Claim(tag, tuple(where)) for tag, where in sorted(sources.items())]


def runpath_problems(archive: WheelArchive, facts: Mapping[str, ElfFacts]) -> list[RunpathProblem]:
    """RUNPATH/RPATH entries of shipped ELF files that lead outside the wheel.

    An entry is fine when it names a directory of the wheel (``$ORIGIN``,
    ``$ORIGIN/../pkg.libs``, the wheel's root). Absolute paths, entries that
    climb above the wheel's root, ``$ORIGIN``-relative folders the wheel does
    not have (Bazel's ``$ORIGIN/../_solib_k8/...``) and empty entries (the
    working directory) are reported: the loader would search folders outside
    the installed wheel (another package's, or the machine's).
    """
    problems: list[RunpathProblem] = []
    for path in sorted(facts):
        elf = facts[path]
        for kind, text in (("RUNPATH", elf.runpath), ("RPATH", elf.rpath)):
            if not text:
                continue
            for entry in _dedupe(text.split(":")):
                where = _runpath_target(archive, path, entry)
                if where:
                    problems.append(RunpathProblem(path, kind, entry, where))
    return problems


def _runpath_target(archive: WheelArchive, member: str, entry: str) -> str:
    """Why ``entry`` leads outside the wheel, or ``""`` when it names a wheel directory."""
    if entry == "":
        return "an empty entry, the working directory"
    if not _ORIGIN.search(entry):
        return (
            "an absolute path"
            if entry.startswith("/")
            else "a path relative to the working directory"
        )
    marked = _ORIGIN.sub(lambda _: _ORIGIN_MARK, entry)
    if not marked.startswith(_ORIGIN_MARK) or _ORIGIN_MARK in marked[len(_ORIGIN_MARK) :]:
        return "a path around $ORIGIN that no wheel directory matches"
    rest = marked[len(_ORIGIN_MARK) :]
    directory = posixpath.dirname(member)
    if not rest:
        joined: Optional[str] = directory
    elif rest.startswith("/"):
        joined = Resolver._wheel_join(directory, rest)
    else:  # "$ORIGINfoo": a sibling of the file's folder
        joined = Resolver._wheel_join("", directory + rest) if directory else None
    if joined is None:
        return "above the wheel's root (outside the installed wheel)"
    if not archive.is_dir(joined):
        return f"{joined or '.'}/, a folder the wheel does not have"
    return ""


def _choose_arch(
    wheel: str, tags: FilenameTags, facts: Mapping[str, ElfFacts], candidates: list[str]
) -> Optional[str]:
    arches = _dedupe(
        facts[p].platform.arch for p in candidates if facts[p].platform.arch is not None
    )
    if not arches:
        if candidates:
            unknown = candidates[0]
            platform = facts[unknown].platform
            raise WheelError(
                f"{wheel}: {unknown} is an ELF file for an unknown machine "
                f"({platform.arch_error or platform.describe()}); manylinux policies exist "
                "for x86_64, i686, aarch64, ppc64le, s390x, armv7l, riscv64 and loongarch64"
            )
        return None
    if tags.arch in arches:
        return tags.arch
    return arches[0]


def _analyze(
    result: AuditResult,
    archive: WheelArchive,
    facts: Mapping[str, ElfFacts],
    candidates: list[str],
    exclude: Sequence[str],
    isa_check: bool,
    environ: Optional[Mapping[str, str]],
) -> None:
    for path in candidates:
        if "purelib" in path.split("/")[:-1]:
            raise WheelError(
                f"{archive.path}: {path} is a shared library under purelib; "
                "a platform wheel keeps ELF files in platlib (the wheel's root)"
            )
    arch = _choose_arch(archive.path, result.tags, facts, candidates)
    if arch is None:
        result.pure = True
        return
    result.architecture = arch
    if result.tags.arch is not None and result.tags.arch != arch:
        result.warnings.append(
            f"the file name says {result.tags.arch} but the ELF files are {arch}; audited as {arch}"
        )

    host = HostLibraries(environ)
    resolver = Resolver(archive, facts, host, exclude)
    libc = result.tags.libc
    policies: Optional[PolicySet] = None
    python_trees: dict[str, Tree] = {}
    other_trees: dict[str, Tree] = {}
    versioned: dict[str, set[str]] = {}
    ucs2: list[tuple[str, tuple[str, ...]]] = []
    pyfpe: list[tuple[str, tuple[str, ...]]] = []

    for path in candidates:
        elf = facts[path]
        platform = elf.platform
        if platform.arch is None:
            result.ignored.append(
                (path, f"ELF file for an unknown machine ({platform.arch_error})")
            )
            continue
        if platform.arch != arch:
            result.ignored.append((path, f"ELF file for {platform.arch}, not {arch}"))
            result.foreign.append((path, platform.arch))
            continue
        tree = resolver.ldd((WHEEL, path))
        if tree.libc is not None:
            if libc is None:
                libc = tree.libc
            elif libc != tree.libc:
                result.ignored.append((path, f"linked against {tree.libc}, not {libc}"))
                continue
        if policies is None and libc is not None:
            policies = PolicySet(libc, arch)
        result.elf_files.append(path)
        for library, versions in _versioned(elf).items():
            versioned.setdefault(library, set()).update(versions)
        if elf.py_ext_version is not None:
            result.python_extensions.append(path)
            if policies is None:
                libc = GLIBC  # auditwheel gives up here; glibc is what such a wheel uses
                policies = PolicySet(libc, arch)
            python_trees[path] = tree
            if elf.pyfpe_symbols:
                pyfpe.append((path, elf.pyfpe_symbols))
            if elf.py_ext_version == 2 and elf.ucs2_symbols:
                ucs2.append((path, elf.ucs2_symbols))
        else:
            other_trees[path] = tree

    if not result.elf_files:
        ignored = "; ".join(f"{p}: {why}" for p, why in result.ignored)
        raise WheelError(f"{archive.path}: no ELF file could be audited ({ignored})")

    _fixup_trees(python_trees, other_trees)
    needed_by_name = {
        s for tree in [*python_trees.values(), *other_trees.values()] for s in tree.needed
    }
    if policies is None:
        libc = GLIBC  # no file says which libc: auditwheel takes the machine's
        policies = PolicySet(libc, arch)
    result.libc = libc
    result.policies = policies

    roots: dict[str, Tree] = dict(python_trees)
    refs_by_file: dict[str, dict[str, ExternalRef]] = {
        path: _external_references(policies, tree) for path, tree in python_trees.items()
    }
    for path, tree in other_trees.items():
        if posixpath.basename(path) not in needed_by_name:
            roots[path] = tree
        refs_by_file[path] = _external_references(policies, tree)

    external_refs = {p.name: ExternalRef(p) for p in policies}
    for path in roots:
        _merge(external_refs, refs_by_file[path])
    result.external_refs = external_refs
    result.excluded = sorted(resolver.excluded_seen)

    # Versioned symbols of external libraries found on this machine.
    external_libs: dict[Loc, str] = {}
    for ref in external_refs.values():
        if ref.policy.is_linux:
            continue
        for soname, realpath in ref.libs.items():
            if realpath is not None and realpath not in external_libs:
                external_libs[realpath] = soname
    external_versioned: dict[str, dict[str, set[str]]] = {}
    for realpath, soname in external_libs.items():
        if realpath[1].endswith(".py"):
            continue
        ext_facts = resolver.facts_at(realpath)
        if ext_facts is not None:
            external_versioned[soname] = _versioned(ext_facts)

    symbol_choices = []
    for ref in external_refs.values():
        if ref.policy.is_linux:
            continue
        required = {k: set(v) for k, v in versioned.items()}
        for soname in ref.libs:
            for library, versions in external_versioned.get(soname, {}).items():
                required.setdefault(library, set()).update(versions)
        found = policies.symbols_policy(required)
        if found.priority > ref.policy.priority:
            found = ref.policy
        symbol_choices.append((found, required))
    symbol_policy, chosen = policies.symbols_policy(versioned), versioned
    if symbol_choices:
        best = max(c[0].priority for c in symbol_choices)
        symbol_policy, chosen = next(c for c in symbol_choices if c[0].priority == best)
    result.symbol = symbol_policy
    result.versioned_symbols = chosen

    ref_policy = max(
        (r.policy for r in external_refs.values() if not r.libs), key=lambda p: p.priority
    )
    blacklist_policy = max(
        (r.policy for r in external_refs.values() if not r.blacklist), key=lambda p: p.priority
    )
    machine_policy, isa_reasons = (
        _machine_policy(policies, roots, frozenset(external_libs.values()))
        if isa_check
        else (policies.highest, [])
    )
    ucs_policy = policies.linux if ucs2 else policies.highest
    pyfpe_policy = policies.linux if pyfpe else policies.highest
    result.ref_policy = ref_policy
    result.blacklist_policy = blacklist_policy
    result.machine_policy = machine_policy
    result.ucs_policy = ucs_policy
    result.pyfpe_policy = pyfpe_policy
    result.overall = min(
        (symbol_policy, ucs_policy, pyfpe_policy, blacklist_policy, machine_policy, ref_policy),
        key=lambda p: p.priority,
    )

    result.reasons = _reasons(
        archive, policies, facts, result.elf_files, roots, refs_by_file, external_libs, resolver
    )
    result.reasons += isa_reasons
    result.reasons += [
        Reason("ucs2", path, policies.linux, symbols=symbols[:5], symbol_count=len(symbols))
        for path, symbols in ucs2
    ]
    result.reasons += [
        Reason("pyfpe", path, policies.linux, symbols=symbols[:5], symbol_count=len(symbols))
        for path, symbols in pyfpe
    ]


def _machine_policy(
    policies: PolicySet, roots: Mapping[str, Tree], external_sonames: frozenset[str]
) -> tuple[Policy, list[Reason]]:
    """auditwheel's ISA check: roots and the external libraries found for them."""
    result = policies.highest
    reasons: list[Reason] = []
    to_check: dict[Loc, tuple[Optional[str], Platform]] = {}
    for tree in roots.values():
        if tree.loc in to_check:
            continue
        to_check[tree.loc] = (None, tree.facts.platform)
        for lib in tree.libraries.values():
            if lib.soname not in external_sonames or lib.realpath is None:
                continue
            if lib.realpath in to_check or lib.platform is None:
                continue
            to_check[lib.realpath] = (lib.soname, lib.platform)
    for loc, (soname, platform) in to_check.items():
        if platform.isa_error is not None:
            reasons.append(Reason("isa", loc[1], policies.linux, isa=platform.isa_error))
            result = policies.linux
            continue
        if platform.isa is None:
            continue
        limit = policies.linux
        if soname is not None:
            for policy in policies:
                if soname in policy.whitelist and policy.priority > limit.priority:
                    limit = policy
        if limit.priority < result.priority:
            result = limit
        reasons.append(Reason("isa", loc[1], limit, library=soname, isa=platform.isa))
    return result, reasons


def _limit(policies: PolicySet, fits: object) -> Policy:
    """The most compatible non-linux policy for which ``fits(policy)`` holds, else linux."""
    for policy in reversed(policies.non_linux):
        if fits(policy):  # type: ignore[operator]
            return policy
    return policies.linux


def _reasons(
    archive: WheelArchive,
    policies: PolicySet,
    facts: Mapping[str, ElfFacts],
    elf_files: Sequence[str],
    roots: Mapping[str, Tree],
    refs_by_file: Mapping[str, Mapping[str, ExternalRef]],
    external_libs: Mapping[Loc, str],
    resolver: Resolver,
) -> list[Reason]:
    reasons: list[Reason] = []
    highest = policies.highest.priority

    def version_reasons(elf: ElfFacts, file: str, via: Optional[str] = None) -> None:
        for need in elf.version_needs:
            if _is_loader(need.library):
                continue
            limit = policies.version_limit(need.version)
            if limit.priority < highest:
                reasons.append(
                    Reason(
                        "symbol_version",
                        file,
                        limit,
                        library=need.library,
                        version=need.version,
                        symbols=need.symbols,
                        symbol_count=need.symbol_count,
                        via=via,
                    )
                )

    for path in elf_files:
        version_reasons(facts[path], path)
    for realpath, soname in external_libs.items():
        ext_facts = resolver.facts_at(realpath)
        if ext_facts is not None:
            version_reasons(ext_facts, realpath[1], via=soname)

    by_basename: dict[str, list[str]] = {}
    for member in archive.members:
        by_basename.setdefault(posixpath.basename(member), []).append(member)

    for path, tree in roots.items():
        refs = refs_by_file[path]
        external = sorted({s for r in refs.values() for s in r.libs})
        for soname in external:
            limit = _limit(policies, lambda p, s=soname, r=refs: s not in r[p.name].libs)
            realpath = next((r.libs[soname] for r in refs.values() if soname in r.libs), None)
            if soname in tree.needed:
                via = None
            else:
                via = next(
                    (
                        loc_text(lib.realpath) or lib.soname
                        for lib in tree.libraries.values()
                        if soname in lib.needed
                    ),
                    None,
                )
            reasons.append(
                Reason(
                    "external_library",
                    path,
                    limit,
                    library=soname,
                    path=loc_text(realpath),
                    via=via,
                    bundled_at=tuple(sorted(by_basename.get(soname, ()))),
                )
            )
        blacklisted = sorted({lib for r in refs.values() for lib in r.blacklist})
        for library in blacklisted:
            limit = _limit(policies, lambda p, lib=library, r=refs: lib not in r[p.name].blacklist)
            symbols = sorted({s for r in refs.values() for s in r.blacklist.get(library, ())})
            reasons.append(
                Reason(
                    "blacklisted_symbol",
                    path,
                    limit,
                    library=library,
                    symbols=tuple(symbols),
                    symbol_count=len(symbols),
                )
            )
    return reasons


@dataclass(frozen=True)
class Expectation:
    """Whether the wheel meets one requested tag, and what stands in the way."""

    request: TagRequest
    policy: Optional[Policy]
    met: bool
    reasons: tuple[Reason, ...] = ()
    note: str = ""
    claim: Optional[Claim] = None
    runpath: tuple[RunpathProblem, ...] = ()


def check_expectation(result: AuditResult, request: TagRequest) -> Expectation:
    """Compares the wheel's best policy with a requested tag.

    Meeting means being at least as compatible: a wheel that meets
    ``manylinux_2_5`` meets ``manylinux_2_17``; aliases name the same policy.

    Raises:
      WheelError: the tag names another architecture than the wheel's ELF
        files, or a policy auditwheel has no data for on this architecture.
    """
    if result.pure:
        return Expectation(request, None, True, note="a pure wheel (no ELF files) meets any tag")
    assert result.policies is not None and result.overall is not None
    arch = result.architecture
    if request.arch is not None and request.arch != arch:
        raise WheelError(
            f"{result.filename}: {request.text!r} is a tag for {request.arch}, but the wheel's "
            f"ELF files are {arch}; ask for a tag for {arch} (e.g. {request.base}_{arch})"
        )
    if request.libc is not None and request.libc != result.libc:
        return Expectation(
            request,
            None,
            False,
            note=(
                f"{request.base} is a {request.libc} policy, but the wheel's ELF files link "
                f"{result.libc}; build it against {request.libc} or ask for a "
                f"{'manylinux' if result.libc == GLIBC else 'musllinux'} tag"
            ),
        )
    policy = result.policies.by_base(request.base)
    if policy is None:
        raise WheelError(
            f"{request.text!r}: auditwheel has no {request.base} policy for {arch} "
            f"(it has: {result.policies.describe()})"
        )
    runpath = tuple(result.runpath_problems)
    met = result.compliant_with(policy) and not runpath
    reasons = tuple(r for r in result.reasons if r.limit.priority < policy.priority)
    return Expectation(request, policy, met, reasons, runpath=runpath)
