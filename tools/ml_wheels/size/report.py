"""The HTML size report: one self-contained page about what fills a wheel.

The page has no external reference (CSS, script and SVG are inline), so it
opens offline from a file. It holds the totals, two treemaps of the files by
directory (uncompressed and compressed sizes), the ten largest shared
libraries with the largest sections of each ELF file, and the ten largest
members. Its bytes depend only on the wheel: sorted members, no time stamp,
the wheel's file name and no other path.

The script only measures: after layout it writes each filled rectangle's
rendered size into ``data-rendered-width``/``data-rendered-height`` and the
number measured into ``<html data-measured>``, which the tests read back from
the DOM of a headless browser; it also shows the member under the pointer.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Optional

from ml_wheels.errors import WheelError
from ml_wheels.size.archive import Wheel, WheelSizes
from ml_wheels.size.budget import format_mib, format_size
from ml_wheels.size.elf import ELF_MAGIC, ElfSizeError, Section, largest_sections
from ml_wheels.size.treemap import KIND_COLORS, KIND_NAMES, is_shared_library, layout, svg

LIBRARIES = 10
"""How many shared libraries the page lists."""
SECTIONS = 8
"""How many sections of each ELF library it lists."""
MEMBERS = 10
"""How many of the largest members it lists."""
ELF_INFLATE_BUDGET = 8 << 30
"""Most bytes inflated, over all libraries, to find section tables (then the rest are skipped)."""


@dataclass(frozen=True)
class Library:
    """A shared library of the wheel, and its largest sections when it is ELF."""

    path: str
    size: int
    compressed: int
    sections: tuple[Section, ...]
    note: str


def _libraries(wheel: Wheel) -> list[Library]:
    candidates = sorted(
        (entry for entry in wheel.sizes.entries if is_shared_library(entry.path)),
        key=lambda entry: (-entry.size, entry.path),
    )[:LIBRARIES]
    budget = ELF_INFLATE_BUDGET
    libraries = []
    for entry in candidates:
        sections: list[Section] = []
        note = ""
        problem = wheel.ratio_problem(entry.path)
        if problem:
            note = f"sections not read: {problem}"
        elif entry.size * 2 > budget:
            note = "sections not read: the report's inflation budget is spent"
        else:
            head = wheel.read_ranges(entry.path, [(0, 4)]).get(0, b"")
            if head != ELF_MAGIC:
                note = "not an ELF file"
            else:
                budget -= 2 * entry.size
                try:
                    sections = largest_sections(wheel, entry.path, entry.size, SECTIONS)
                except ElfSizeError as error:
                    note = f"sections not read: {error}"
                if not sections and not note:
                    note = "no section header table"
        libraries.append(Library(entry.path, entry.size, entry.compressed, tuple(sections), note))
    return libraries


_CSS = """
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#222;
background:#fff}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px}
.summary td,.summary th{padding:2px 12px 2px 0;text-align:left}
table.list{border-collapse:collapse;margin-top:4px}
table.list th,table.list td{border-bottom:1px solid #ddd;padding:3px 10px;text-align:left;
vertical-align:top}
table.list td.num,table.list th.num{text-align:right;font-variant-numeric:tabular-nums}
code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace;word-break:break-all}
svg.treemap{display:block;border:1px solid #888;background:#f4f4f4}
svg.treemap rect.leaf{stroke:#fff;stroke-width:0.5}
svg.treemap rect.leaf:hover{fill-opacity:0.7}
svg.treemap rect.dir{fill:none;stroke:#333;stroke-width:1;pointer-events:none}
svg.treemap text{font:11px system-ui,sans-serif;fill:#111;pointer-events:none}
.legend span{display:inline-block;margin-right:14px}
.legend i{display:inline-block;width:11px;height:11px;margin-right:4px;vertical-align:-1px}
.info{min-height:1.4em;margin:4px 0;font:12px ui-monospace,monospace}
.bar{display:inline-block;height:9px;background:#e8912d;vertical-align:0}
ul.sections{margin:2px 0;padding-left:16px}
.note{color:#666}
"""

_SCRIPT = """
(function () {
  var leaves = document.querySelectorAll("svg.treemap rect.leaf");
  for (var i = 0; i < leaves.length; i++) {
    var box = leaves[i].getBoundingClientRect();
    leaves[i].setAttribute("data-rendered-width", box.width.toFixed(3));
    leaves[i].setAttribute("data-rendered-height", box.height.toFixed(3));
  }
  document.documentElement.setAttribute("data-measured", String(leaves.length));
  var maps = document.querySelectorAll("svg.treemap");
  for (var m = 0; m < maps.length; m++) {
    (function (map) {
      var info = document.getElementById(map.id + "-info");
      map.addEventListener("mouseover", function (event) {
        var target = event.target;
        if (target.tagName === "title") { target = target.parentNode; }
        var tip = target.querySelector ? target.querySelector("title") : null;
        if (info && tip && target.classList.contains("leaf")) {
          info.textContent = tip.textContent;
        }
      });
    })(maps[m]);
  }
})();
"""


def _map_section(sizes: WheelSizes, metric: str, title: str) -> str:
    leaves, outlines = layout(sizes.entries, metric)
    map_id = f"map-{metric}"
    total = sizes.unpacked_size if metric == "size" else sizes.compressed_size
    shown = len(leaves)
    return "\n".join(
        [
            f"<h2>{escape(title)}: {escape(format_mib(total))}</h2>",
            f'<p class="note">Each filled rectangle\'s area is proportional to its '
            f"{escape(metric_name(metric))}; directories are outlined. {shown} rectangles.</p>",
            svg(map_id, title, leaves, outlines),
            f'<div class="info" id="{map_id}-info">&#8203;</div>',
        ]
    )


def metric_name(metric: str) -> str:
    """How the page names a metric."""
    return "uncompressed size" if metric == "size" else "compressed size"


def _library_rows(libraries: list[Library]) -> str:
    if not libraries:
        return '<p class="note">The wheel has no shared libraries.</p>'
    rows = [
        '<table class="list" id="libraries"><tr><th>#</th><th>library</th>'
        '<th class="num">uncompressed</th><th class="num">compressed</th>'
        "<th>largest sections (bytes in the file)</th></tr>"
    ]
    for index, library in enumerate(libraries, 1):
        if library.sections:
            top = max(library.sections[0].size, 1)
            items = "".join(
                f"<li><code>{escape(section.name)}</code> {escape(format_size(section.size))} "
                f'<span class="bar" style="width:{round(120 * section.size / top)}px"></span></li>'
                for section in library.sections
            )
            detail = f'<ul class="sections">{items}</ul>'
        else:
            detail = ""
        if library.note:
            detail += f'<span class="note">{escape(library.note)}</span>'
        rows.append(
            f"<tr><td>{index}</td><td><code>{escape(library.path)}</code></td>"
            f'<td class="num">{escape(format_mib(library.size))}</td>'
            f'<td class="num">{escape(format_mib(library.compressed))}</td><td>{detail}</td></tr>'
        )
    rows.append("</table>")
    return "\n".join(rows)


def _member_rows(sizes: WheelSizes) -> str:
    largest = sorted(sizes.entries, key=lambda entry: (-entry.size, entry.path))[:MEMBERS]
    rows = [
        '<table class="list" id="members"><tr><th>#</th><th>member</th>'
        '<th class="num">uncompressed</th><th class="num">compressed</th>'
        '<th class="num">ratio</th></tr>'
    ]
    for index, entry in enumerate(largest, 1):
        ratio = f"{entry.size / entry.compressed:.2f}:1" if entry.compressed else "-"
        rows.append(
            f"<tr><td>{index}</td><td><code>{escape(entry.path)}</code></td>"
            f'<td class="num">{escape(format_mib(entry.size))}</td>'
            f'<td class="num">{escape(format_mib(entry.compressed))}</td>'
            f'<td class="num">{ratio}</td></tr>'
        )
    rows.append("</table>")
    return "\n".join(rows)


def render(sizes: WheelSizes, libraries: list[Library], title: Optional[str] = None) -> str:
    """The page, as text."""
    name = escape(title or sizes.name)
    overhead = sizes.file_size - sizes.compressed_size
    ratio = f"{sizes.unpacked_size / sizes.compressed_size:.2f}:1" if sizes.compressed_size else "-"
    legend = "".join(
        f'<span><i style="background:{color}"></i>{escape(KIND_NAMES[kind])}</span>'
        for kind, color in KIND_COLORS.items()
    )
    body = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Size of {name}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        f"<h1>Size of <code>{name}</code></h1>",
        '<table class="summary" id="summary">',
        f"<tr><th>wheel file</th><td>{escape(format_size(sizes.file_size))}</td></tr>",
        f"<tr><th>unpacked</th><td>{escape(format_size(sizes.unpacked_size))}</td></tr>",
        f"<tr><th>members</th><td>{len(sizes.entries):,} files</td></tr>",
        f"<tr><th>compressed data</th><td>{escape(format_size(sizes.compressed_size))}"
        f" (ratio {ratio})</td></tr>",
        f"<tr><th>zip headers</th><td>{escape(format_size(overhead))}</td></tr>",
        "</table>",
        f'<p class="legend">{legend}</p>',
        _map_section(sizes, "size", "Uncompressed (installed)"),
        _map_section(sizes, "compressed", "Compressed (in the wheel file)"),
        f"<h2>The {LIBRARIES} largest shared libraries</h2>",
        _library_rows(libraries),
        f"<h2>The {MEMBERS} largest members</h2>",
        _member_rows(sizes),
        '<p class="note">Made by rules_ml_wheels wheel_size_report.</p>',
        f"<script>{_SCRIPT}</script>",
        "</body>",
        "</html>",
        "",
    ]
    return "\n".join(body)


def write_report(wheel_path: str, output: str, title: Optional[str] = None) -> WheelSizes:
    """Reads the wheel at ``wheel_path`` and writes its page to ``output``.

    Raises:
        WheelError: The wheel cannot be read, or the output cannot be written.
    """
    with Wheel(wheel_path) as wheel:
        libraries = _libraries(wheel)
        page = render(wheel.sizes, libraries, title)
    try:
        with open(output, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(page)
    except OSError as error:
        raise WheelError(f"{output}: cannot write: {error.strerror}") from None
    return wheel.sizes
