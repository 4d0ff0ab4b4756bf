"""A squarified treemap of a wheel's files by directory, as SVG.

Every rectangle that is drawn filled (a *leaf*: a file, a directory shown
whole, or the smaller files of a directory lumped together) has an area
proportional to its size: directories are laid out inside their parent
without padding or title bands, and their outlines are drawn as strokes on
top. At most ``MAX_LEAVES`` leaves are drawn: the largest directories are
opened first, and a directory whose children do not all fit shows its
largest ones and one ``(N more)`` rectangle for the rest, so a wheel of a
million files gives a page of the same size as one of a thousand.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from html import escape
from typing import Optional

from ml_wheels.size.archive import Entry
from ml_wheels.size.budget import format_mib

MAX_LEAVES = 1500
MAX_OPENED = 1500
"""Most directories opened (outlined) in one map."""
MAX_PATH = 300
"""Longest path the page shows (longer ones keep their end)."""
WIDTH = 1000.0
HEIGHT = 560.0
_LABEL_MIN_WIDTH = 70.0
_LABEL_MIN_HEIGHT = 15.0
_CHAR_WIDTH = 6.2

KIND_COLORS = {
    "library": "#e8912d",
    "python": "#4a86c5",
    "metadata": "#9a9a9a",
    "data": "#5aa469",
    "directory": "#b58ad6",
    "more": "#d0d0d0",
}
KIND_NAMES = {
    "library": "shared library / extension",
    "python": "Python source or bytecode",
    "metadata": ".dist-info metadata",
    "data": "other file",
    "directory": "directory (not opened)",
    "more": "smaller files, together",
}


def is_shared_library(path: str) -> bool:
    """``.so``, ``.so.1.2``, ``.pyd``, ``.dylib`` or ``.dll`` by name."""
    base = path.rsplit("/", 1)[-1].lower()
    if base.endswith((".pyd", ".dylib", ".dll", ".so")):
        return True
    head, dot, tail = base.rpartition(".so.")
    return bool(dot and head and all(part.isdigit() for part in tail.split(".")))


def kind_of(path: str) -> str:
    """The colour class of a file."""
    top = path.split("/", 1)[0]
    if top.endswith(".dist-info"):
        return "metadata"
    if is_shared_library(path):
        return "library"
    if path.endswith((".py", ".pyc", ".pyi")):
        return "python"
    return "data"


@dataclass
class Node:
    """A directory or file of the tree, with both sizes (no path: see ``_Shown``)."""

    name: str
    compressed: int = 0
    size: int = 0
    files: int = 0
    children: dict[str, Node] = field(default_factory=dict)
    is_file: bool = False

    def value(self, metric: str) -> int:
        return self.size if metric == "size" else self.compressed


def build_tree(entries: tuple[Entry, ...]) -> Node:
    """The directory tree of ``entries``, each directory holding its files' totals.

    Linear in the total length of the names, however deep they are.
    """
    root = Node("")
    for entry in entries:
        node = root
        for part in entry.path.split("/"):
            node.compressed += entry.compressed
            node.size += entry.size
            node.files += 1
            child = node.children.get(part)
            if child is None:
                child = Node(part)
                node.children[part] = child
            node = child
        node.compressed += entry.compressed
        node.size += entry.size
        node.files += 1
        node.is_file = True
    return root


def shown_path(parent: str, name: str) -> str:
    """``parent/name``, cut to its last ``MAX_PATH`` characters after a leading ``…``."""
    path = f"{parent}/{name}" if parent else name
    if len(path) > MAX_PATH:
        path = "…" + path[-(MAX_PATH - 1) :]
    return path


@dataclass(frozen=True)
class Leaf:
    """A filled rectangle: what it stands for and where it is drawn.

    Attributes:
        path: The path shown (cut to ``MAX_PATH`` characters).
        label: The text drawn in it.
        kind: Its colour class (``KIND_COLORS``).
        value: Its size in the map's metric: the area is proportional to it.
        size: Its uncompressed size.
        compressed: Its compressed size.
        files: The files it stands for.
        x: Left edge.
        y: Top edge.
        w: Width.
        h: Height.
    """

    path: str
    label: str
    kind: str
    value: int
    size: int
    compressed: int
    files: int
    x: float
    y: float
    w: float
    h: float


@dataclass(frozen=True)
class Outline:
    """The outline of an opened directory."""

    path: str
    x: float
    y: float
    w: float
    h: float


@dataclass
class _Shown:
    """A node as the map shows it: opened (with the children shown) or whole."""

    value: int
    size: int
    compressed: int
    label: str
    path: str
    kind: str
    files: int
    node: Optional[Node] = None
    children: Optional[list[_Shown]] = None


def _whole(node: Node, metric: str, parent: str) -> _Shown:
    path = shown_path(parent, node.name)
    kind = kind_of(path) if node.is_file else "directory"
    label = node.name if node.is_file else node.name + "/"
    return _Shown(
        node.value(metric), node.size, node.compressed, label, path, kind, node.files, node
    )


def _choose(root: Node, metric: str, max_leaves: int, max_opened: int) -> _Shown:
    """Opens the largest directories first until ``max_leaves`` leaves are shown.

    At most ``max_opened`` directories are opened (a chain of one-child
    directories costs no leaves, but an outline each).
    """
    top = _Shown(root.value(metric), root.size, root.compressed, "", "", "directory", root.files)
    top.node = root
    leaves = 1
    opened = 0
    heap: list[tuple[int, int, _Shown]] = [(-top.value, 0, top)]
    order = 1
    while heap and opened < max_opened:
        _, _, shown = heapq.heappop(heap)
        node = shown.node
        assert node is not None
        kids = sorted(
            (child for child in node.children.values() if child.value(metric) > 0),
            key=lambda child: (-child.value(metric), child.name),
        )
        room = max_leaves - leaves + 1
        if not kids or room < 2:
            continue
        if len(kids) > room:
            rest = kids[room - 1 :]
            kids = kids[: room - 1]
            label = f"({len(rest)} more)"
            more = _Shown(
                sum(child.value(metric) for child in rest),
                sum(child.size for child in rest),
                sum(child.compressed for child in rest),
                label,
                shown_path(shown.path, label),
                "more",
                sum(child.files for child in rest),
            )
            shown.children = [_whole(child, metric, shown.path) for child in kids] + [more]
        else:
            shown.children = [_whole(child, metric, shown.path) for child in kids]
        shown.kind = "opened"
        opened += 1
        leaves += len(shown.children) - 1
        for child in shown.children:
            if child.node is not None and not child.node.is_file:
                heapq.heappush(heap, (-child.value, order, child))
                order += 1
    return top


def squarify(
    values: list[int], x: float, y: float, w: float, h: float
) -> list[tuple[float, float, float, float]]:
    """Bruls et al.'s squarified layout of ``values`` (largest first) in a rectangle.

    Returns one ``(x, y, w, h)`` per value, in order; areas are proportional
    to the values and fill the rectangle.
    """
    total = sum(values)
    if total <= 0 or w <= 0 or h <= 0:
        return [(x, y, 0.0, 0.0) for _ in values]
    scale = w * h / total
    areas = [value * scale for value in values]
    rects: list[tuple[float, float, float, float]] = []
    start = 0
    while start < len(areas):
        side = min(w, h)
        row = [areas[start]]
        end = start + 1
        while end < len(areas) and _worst([*row, areas[end]], side) <= _worst(row, side):
            row.append(areas[end])
            end += 1
        row_area = sum(row)
        if end == len(areas):
            # The last row takes what is left exactly (no rounding gap).
            row_area = w * h
        if w >= h:
            column = row_area / h if h else 0.0
            offset = y
            for index, area in enumerate(row):
                height = h - (offset - y) if index == len(row) - 1 else area / column
                rects.append((x, offset, column, height))
                offset += height
            x, w = x + column, w - column
        else:
            band = row_area / w if w else 0.0
            offset = x
            for index, area in enumerate(row):
                width = w - (offset - x) if index == len(row) - 1 else area / band
                rects.append((offset, y, width, band))
                offset += width
            y, h = y + band, h - band
        start = end
    return rects


def _worst(row: list[float], side: float) -> float:
    total = sum(row)
    if total <= 0 or side <= 0:
        return float("inf")
    return max(side * side * max(row) / (total * total), (total * total) / (side * side * min(row)))


def layout(
    entries: tuple[Entry, ...],
    metric: str,
    max_leaves: int = MAX_LEAVES,
    width: float = WIDTH,
    height: float = HEIGHT,
    max_opened: int = MAX_OPENED,
) -> tuple[list[Leaf], list[Outline]]:
    """The leaves and directory outlines of the map of ``metric`` (``size`` or ``compressed``)."""
    top = _choose(build_tree(entries), metric, max_leaves, max_opened)
    leaves: list[Leaf] = []
    outlines: list[Outline] = []
    # An explicit stack: a chain of directories may be deeper than Python's recursion limit.
    stack: list[tuple[_Shown, float, float, float, float]] = []
    if top.value > 0:
        stack.append((top, 0.0, 0.0, width, height))
    while stack:
        shown, x, y, w, h = stack.pop()
        if shown.children is None:
            leaves.append(
                Leaf(
                    shown.path,
                    shown.label,
                    shown.kind,
                    shown.value,
                    shown.size,
                    shown.compressed,
                    shown.files,
                    x,
                    y,
                    w,
                    h,
                )
            )
            continue
        if shown.path:
            outlines.append(Outline(shown.path, x, y, w, h))
        rects = squarify([child.value for child in shown.children], x, y, w, h)
        for child, rect in reversed(list(zip(shown.children, rects))):
            stack.append((child, *rect))
    return leaves, outlines


def _num(value: float) -> str:
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def svg(
    map_id: str,
    metric_name: str,
    leaves: list[Leaf],
    outlines: list[Outline],
    width: float = WIDTH,
    height: float = HEIGHT,
) -> str:
    """The SVG element of one map.

    Args:
        map_id: The element id.
        metric_name: What the areas measure, for the title.
        leaves: From ``layout``.
        outlines: From ``layout``.
        width: Width in px.
        height: Height in px.
    """
    parts = [
        f'<svg id="{map_id}" class="treemap" xmlns="http://www.w3.org/2000/svg" '
        f'width="{_num(width)}" height="{_num(height)}" viewBox="0 0 {_num(width)} '
        f'{_num(height)}" data-metric="{escape(metric_name)}" role="img">',
        f"<title>{escape(metric_name)}</title>",
    ]
    for leaf in leaves:
        files = f", {leaf.files:,} files" if leaf.kind in ("directory", "more") else ""
        tip = (
            f"{leaf.path}: {format_mib(leaf.size)} uncompressed, "
            f"{format_mib(leaf.compressed)} compressed{files}"
        )
        parts.append(
            f'<rect class="leaf {leaf.kind}" x="{_num(leaf.x)}" y="{_num(leaf.y)}" '
            f'width="{_num(leaf.w)}" height="{_num(leaf.h)}" fill="{KIND_COLORS[leaf.kind]}" '
            f'data-path="{escape(leaf.path)}" data-size="{leaf.value}" data-files="{leaf.files}">'
            f"<title>{escape(tip)}</title></rect>"
        )
    for outline in outlines:
        parts.append(
            f'<rect class="dir" x="{_num(outline.x)}" y="{_num(outline.y)}" '
            f'width="{_num(outline.w)}" height="{_num(outline.h)}" '
            f'data-path="{escape(outline.path)}"/>'
        )
    for leaf in leaves:
        if leaf.w >= _LABEL_MIN_WIDTH and leaf.h >= _LABEL_MIN_HEIGHT:
            room = int((leaf.w - 6) / _CHAR_WIDTH)
            text = leaf.label if len(leaf.label) <= room else leaf.label[: max(room - 1, 1)] + "…"
            parts.append(
                f'<text x="{_num(leaf.x + 3)}" y="{_num(leaf.y + 12)}">{escape(text)}</text>'
            )
    parts.append("</svg>")
    return "\n".join(parts)
