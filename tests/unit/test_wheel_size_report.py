"""wheel_size report: the treemap layout, the ELF sections, the page's content.

ELF files are assembled here byte by byte (``elf_file``) and wheels written
with zipfile, so the expected sections and sizes are the ones the tests put
in, never ones the code under test computed. The page is also rendered in
a real browser by tests/integration/test_wheel_size.py.
"""

from __future__ import annotations

import html.parser
import re
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from ml_wheels.size.archive import Entry, Wheel, read_sizes
from ml_wheels.size.elf import largest_sections
from ml_wheels.size.report import write_report
from ml_wheels.size.treemap import MAX_LEAVES, is_shared_library, layout, squarify

WHEEL_SIZE = Path(__file__).resolve().parents[2] / "tools" / "wheel_size.py"
NAME = "demo-1.0-cp311-cp311-manylinux_2_17_x86_64.whl"


def elf_file(
    sections: list[tuple[str, int, int]], shoff: int | None = None, names_first: bool = False
) -> bytes:
    """A 64-bit little-endian ELF shared object with the given ``(name, type, size)`` sections.

    Section contents are filled with a byte pattern; ``.shstrtab`` and the
    section header table come last, as linkers write them (``names_first``
    puts ``.shstrtab`` right after the ELF header instead). ``shoff``
    overrides the table's offset (for hostile cases).
    """
    names = b"\0"
    name_offsets = []
    for name, _, _ in [*sections, (".shstrtab", 3, 0)]:
        name_offsets.append(len(names))
        names += name.encode() + b"\0"
    body = bytearray()
    headers = [struct.pack("<IIQQQQIIQQ", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)]
    position = 64
    names_at = position
    if names_first:
        body += names
        position += len(names)
    for (_, kind, size), name_offset in zip(sections, name_offsets):
        data = b"" if kind == 8 else bytes((i * 7 + 3) & 0xFF for i in range(size))
        headers.append(
            struct.pack("<IIQQQQIIQQ", name_offset, kind, 2, 0, position, size, 0, 0, 16, 0)
        )
        body += data
        position += len(data)
    if not names_first:
        names_at = position
        body += names
        position += len(names)
    headers.append(
        struct.pack("<IIQQQQIIQQ", name_offsets[-1], 3, 0, 0, names_at, len(names), 0, 0, 1, 0)
    )
    table = shoff if shoff is not None else position
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)
    header = ident + struct.pack(
        "<HHIQQQIHHHHHH", 3, 62, 1, 0, 0, table, 0, 64, 0, 0, 64, len(headers), len(headers) - 1
    )
    return header + bytes(body) + b"".join(headers)


def make_wheel(path: Path, members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression=method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


SECTIONS = [(".text", 1, 50_000), (".rodata", 1, 20_000), (".data", 1, 3_000), (".bss", 8, 90_000)]


@pytest.mark.parametrize("method", [zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED])
def test_largest_sections_are_the_ones_in_the_file(tmp_path, method):
    path = make_wheel(tmp_path / NAME, {"demo/_ext.so": elf_file(SECTIONS)}, method)
    with Wheel(str(path)) as wheel:
        entry = wheel.sizes.entries[0]
        sections = largest_sections(wheel, entry.path, entry.size, count=8)
    assert [(s.name, s.size) for s in sections] == [
        (".text", 50_000),
        (".rodata", 20_000),
        (".data", 3_000),
        (".shstrtab", len(b"\0.text\0.rodata\0.data\0.bss\0.shstrtab\0")),
        (".bss", 0),  # NOBITS: takes no bytes in the file
    ]


def test_the_name_table_far_from_the_section_headers_is_fetched_too(tmp_path):
    # 3 MiB of .text lie between the names (first) and the header table (last),
    # more than the window read before the table: the names take a pass of their own.
    sections = [(".text", 1, 3 << 20), (".note", 7, 100)]
    path = make_wheel(tmp_path / NAME, {"demo/_ext.so": elf_file(sections, names_first=True)})
    with Wheel(str(path)) as wheel:
        entry = wheel.sizes.entries[0]
        found = largest_sections(wheel, entry.path, entry.size)
    assert [(s.name, s.size) for s in found][:2] == [(".text", 3 << 20), (".note", 100)]


def test_squarify_areas_are_proportional_and_fill_the_rectangle():
    values = [500, 300, 120, 60, 15, 4, 1]
    rects = squarify(values, 10.0, 20.0, 400.0, 300.0)
    total = sum(values)
    for value, (_, _, w, h) in zip(values, rects):
        assert w * h == pytest.approx(400 * 300 * value / total, rel=1e-9)
    for x, y, w, h in rects:
        assert x >= 10 - 1e-9 and x + w <= 410 + 1e-9
        assert y >= 20 - 1e-9 and y + h <= 320 + 1e-9
    assert sum(w * h for _, _, w, h in rects) == pytest.approx(400 * 300)


def test_leaves_are_proportional_to_the_files_and_directories_hold_their_files():
    entries = tuple(
        sorted(
            [
                Entry("pkg/_big.so", 900, 4000),
                Entry("pkg/sub/a.py", 40, 100),
                Entry("pkg/sub/b.py", 30, 60),
                Entry("pkg/data/table.bin", 500, 2000),
                Entry("pkg-1.0.dist-info/RECORD", 10, 40),
                Entry("pkg/empty.txt", 0, 0),
            ],
            key=lambda e: e.path,
        )
    )
    for metric in ("size", "compressed"):
        leaves, outlines = layout(entries, metric, width=1000, height=500)
        total = sum(e.size if metric == "size" else e.compressed for e in entries)
        by_path = {leaf.path: leaf for leaf in leaves}
        assert "pkg/empty.txt" not in by_path  # nothing to draw
        for entry in entries:
            value = entry.size if metric == "size" else entry.compressed
            if value:
                leaf = by_path[entry.path]
                assert leaf.value == value
                assert leaf.w * leaf.h == pytest.approx(1000 * 500 * value / total, rel=1e-9)
        sub = next(o for o in outlines if o.path == "pkg/sub")
        for name in ("pkg/sub/a.py", "pkg/sub/b.py"):
            leaf = by_path[name]
            assert sub.x - 1e-9 <= leaf.x and leaf.x + leaf.w <= sub.x + sub.w + 1e-9
            assert sub.y - 1e-9 <= leaf.y and leaf.y + leaf.h <= sub.y + sub.h + 1e-9


def test_many_files_are_lumped_into_a_bounded_number_of_rectangles():
    entries = tuple(
        sorted(
            (Entry(f"pkg/d{i % 50}/f{i}.py", 10, 10 + i) for i in range(20000)),
            key=lambda e: e.path,
        )
    )
    leaves, _ = layout(entries, "size")
    assert len(leaves) <= MAX_LEAVES
    assert sum(leaf.value for leaf in leaves) == sum(e.size for e in entries)
    assert any(leaf.kind == "more" and leaf.label.endswith(" more)") for leaf in leaves)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("a/_x.cpython-311-x86_64-linux-gnu.so", True),
        ("a.libs/libgfortran-040039e1.so.5.0.0", True),
        ("a/b.pyd", True),
        ("a/so.py", False),
        ("a/x.so.txt", False),
        ("a/lib.so.", False),
    ],
)
def test_shared_libraries_are_known_by_name(path, expected):
    assert is_shared_library(path) is expected


class _Page(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts = 0

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self.scripts += tag == "script"


@pytest.fixture
def report_wheel(tmp_path: Path) -> Path:
    members = {
        "demo/_ext.cpython-311-x86_64-linux-gnu.so": elf_file(SECTIONS),
        "demo/libnotelf.so.1": b"not an ELF file" * 100,
        "demo/<script>alert(1)</script>.py": b"x = 1\n",
        "demo/__init__.py": b"",
        "demo-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\n",
    }
    for index in range(30):
        members[f"demo/data/f{index}.txt"] = b"row\n" * (index * 50 + 1)
    return make_wheel(tmp_path / NAME, members)


def test_the_page_is_self_contained_escaped_and_reproducible(report_wheel, tmp_path):
    first, second = tmp_path / "a.html", tmp_path / "b.html"
    write_report(str(report_wheel), str(first))
    copy_dir = tmp_path / "elsewhere"
    copy_dir.mkdir()
    copy = copy_dir / NAME
    copy.write_bytes(report_wheel.read_bytes())
    result = subprocess.run(
        [sys.executable, str(WHEEL_SIZE), "report", "--output", str(second), str(copy)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    text = first.read_text(encoding="utf-8")
    assert second.read_bytes() == first.read_bytes()
    assert str(tmp_path) not in text
    page = _Page()
    page.feed(text)
    assert page.scripts == 1  # ours; the member named <script> is text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;.py" in text
    for tag, attrs in page.tags:
        assert not attrs.get("src") and not attrs.get("href"), (tag, attrs)
    assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", text)
    assert "@import" not in text and "url(" not in text


def test_the_page_lists_libraries_with_their_sections(report_wheel, tmp_path):
    out = tmp_path / "r.html"
    write_report(str(report_wheel), str(out))
    text = out.read_text(encoding="utf-8")
    libraries = text[text.index('id="libraries"') : text.index('id="members"')]
    rows = libraries.split("<tr>")[2:]
    assert len(rows) == 2
    ext = len(elf_file(SECTIONS))
    assert "demo/_ext.cpython-311-x86_64-linux-gnu.so" in rows[0]
    assert re.findall(r"<code>([^<]*)</code> [0-9.]+ MiB \(([0-9,]+) bytes\)", rows[0])[:3] == [
        (".text", "50,000"),
        (".rodata", "20,000"),
        (".data", "3,000"),
    ]
    assert f"{ext / (1 << 20):.4f} MiB" in rows[0]
    assert "demo/libnotelf.so.1" in rows[1] and "not an ELF file" in rows[1]
    sizes = read_sizes(str(report_wheel))
    assert f"{sizes.file_size:,} bytes" in text
    assert f"{len(sizes.entries):,} files" in text


def test_a_wheel_without_libraries_says_so(tmp_path):
    path = make_wheel(tmp_path / "p-1.0-py3-none-any.whl", {"p/__init__.py": b"x = 1\n"})
    out = tmp_path / "r.html"
    write_report(str(path), str(out))
    assert "The wheel has no shared libraries." in out.read_text(encoding="utf-8")


def test_rectangles_in_the_page_have_areas_proportional_to_their_sizes(report_wheel, tmp_path):
    out = tmp_path / "r.html"
    write_report(str(report_wheel), str(out))
    page = _Page()
    page.feed(out.read_text(encoding="utf-8"))
    maps = {"map-size": [], "map-compressed": []}
    current = None
    for tag, attrs in page.tags:
        if tag == "svg":
            current = attrs["id"]
        elif tag == "rect" and "leaf" in (attrs.get("class") or ""):
            maps[current].append(attrs)
    with zipfile.ZipFile(report_wheel) as archive:
        infos = archive.infolist()
    expected = {  # what has no bytes in a metric is not drawn in its map
        "map-size": {i.filename: i.file_size for i in infos if i.file_size},
        "map-compressed": {i.filename: i.compress_size for i in infos if i.compress_size},
    }
    for map_id, rects in maps.items():
        assert {r["data-path"] for r in rects} == set(expected[map_id])
        total = sum(expected[map_id].values())
        for rect in rects:
            area = float(rect["width"]) * float(rect["height"])
            share = expected[map_id][rect["data-path"]] / total
            assert int(rect["data-size"]) == expected[map_id][rect["data-path"]]
            # Coordinates are written with 3 decimals: allow that rounding.
            assert area == pytest.approx(1000 * 560 * share, abs=0.002 * 1000 + 1e-6)
