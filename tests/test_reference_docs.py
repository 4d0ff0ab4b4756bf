"""docs/reference.md documents every public rule, macro and attribute, with its default.

The public set is what python_wheel/defs.bzl, repositories.bzl and
extensions.bzl export. Each export is followed to its definition under
python_wheel/private/ (Starlark parses as Python): ``rule()``,
``repository_rule()`` and ``tag_class()`` attribute dicts (``attr.*(default =
..., mandatory = ...)``, private ``_attrs`` skipped), and the ``def``
signatures of macros and functions. reference.md must have a heading naming
each one in backticks (``## `python_wheel```; a module extension's tags as
``### `ml_wheels.local_python```) and, between it and the next heading, a
table with a ``Default`` column holding a row per attribute whose default
matches the Starlark, and no row for an attribute the Starlark lacks. No
Bazel is needed.
"""

from __future__ import annotations

import ast
import dataclasses
import os
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PUBLIC = ("defs.bzl", "repositories.bzl", "extensions.bzl")
REFERENCE = REPO / "docs" / "reference.md"
# What an attribute without `default =` starts as (Bazel's documented defaults).
IMPLICIT_DEFAULTS = {
    "bool": "False",
    "int": "0",
    "label": "None",
    "output": "None",
    "string": '""',
}
_LIST_KINDS = ("int_list", "label_list", "output_list", "string_list")
_DICT_KINDS = ("label_keyed_string_dict", "string_dict", "string_keyed_label_dict")


@dataclasses.dataclass(frozen=True)
class Param:
    """One attribute or macro argument: its name, kind and rendered default."""

    name: str
    kind: str
    default: str


@dataclasses.dataclass(frozen=True)
class Public:
    """One documented thing: a rule, macro, repository rule or module-extension tag."""

    heading: str
    what: str
    params: tuple[Param, ...]


def _render(node: ast.expr, label: bool = False) -> str:
    """A default as the reference writes it: ``"x"``, ``[]``, ``True``, bare labels."""
    if isinstance(node, ast.Call) and ast.unparse(node.func) == "Label" and node.args:
        return _render(node.args[0], label=True)
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value if label else '"' + node.value + '"'
    if isinstance(node, ast.List):
        return "[" + ", ".join(_render(e, label) for e in node.elts) + "]"
    if isinstance(node, ast.Dict):
        items = (f"{_render(k)}: {_render(v)}" for k, v in zip(node.keys, node.values))
        return "{" + ", ".join(items) + "}"
    return ast.unparse(node)


def _attr_param(name: str, call: ast.expr, where: str, module: Module) -> Param:
    assert isinstance(call, ast.Call), f"{where}: attribute {name!r} is not an attr.*() call"
    kind = ast.unparse(call.func).removeprefix("attr.")
    # A default may be a constant of the .bzl file (DEFAULT_DEB_MIRRORS).
    kwargs = {k.arg: module.resolve(k.value) for k in call.keywords}
    mandatory = kwargs.get("mandatory")
    if isinstance(mandatory, ast.Constant) and mandatory.value is True:
        return Param(name, kind, "required")
    if "default" in kwargs:
        return Param(name, kind, _render(kwargs["default"], label=kind == "label"))
    if kind in _LIST_KINDS:
        return Param(name, kind, "[]")
    if kind in _DICT_KINDS or kind.endswith("_dict"):
        return Param(name, kind, "{}")
    return Param(name, kind, IMPLICIT_DEFAULTS[kind])


class Module:
    """The top-level definitions of one .bzl file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rel = path.relative_to(REPO).as_posix()
        self.tree = ast.parse(path.read_text(encoding="utf-8"), filename=self.rel)
        self.assigned: dict[str, ast.expr] = {}
        self.functions: dict[str, ast.FunctionDef] = {}
        self.loads: dict[str, tuple[str, str]] = {}
        for node in self.tree.body:
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
                self.assigned[node.targets[0].id] = node.value
            elif isinstance(node, ast.FunctionDef):
                self.functions[node.name] = node
            elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
                call = node.value
                if ast.unparse(call.func) == "load":
                    label = call.args[0].value
                    for kw in call.keywords:
                        self.loads[kw.arg] = (label, kw.value.value)
                    for arg in call.args[1:]:
                        self.loads[arg.value] = (label, arg.value)

    def locate(self, node: ast.expr) -> tuple[ast.expr, Module]:
        """Follows a top-level name to the expression assigned to it, here or
        in a private .bzl file this one loads it from, and that file: names
        inside the expression are that file's."""
        module = self
        while isinstance(node, ast.Name):
            if node.id in module.assigned:
                node = module.assigned[node.id]
            elif node.id in module.loads:
                label, symbol = module.loads[node.id]
                if label.startswith(":"):
                    label = "//" + os.path.dirname(module.rel) + label
                module, node = _private_module(label, {}), ast.Name(symbol)
            else:
                break
        return node, module

    def resolve(self, node: ast.expr) -> ast.expr:
        """The expression a top-level name stands for (see `locate`)."""
        return self.locate(node)[0]

    def attrs(self, call: ast.Call, where: str) -> tuple[Param, ...]:
        """The public attributes of a rule(), repository_rule() or tag_class() call."""
        kwargs = {k.arg: k.value for k in call.keywords}
        if "attrs" not in kwargs:
            return ()
        return self.dict_params(kwargs["attrs"], where)

    def dict_params(self, node: ast.expr, where: str) -> tuple[Param, ...]:
        """The public attributes of an attrs dict: a literal, a name (here or
        loaded), or `dict(NAME, **{...})` merging several."""
        node, module = self.locate(node)
        if module is not self:
            return module.dict_params(node, where)
        if isinstance(node, ast.Call) and ast.unparse(node.func) == "dict":
            merged: dict[str, Param] = {}
            parts = [*node.args, *(k.value for k in node.keywords if k.arg is None)]
            for part in parts:
                merged.update((p.name, p) for p in self.dict_params(part, where))
            for keyword in node.keywords:
                if keyword.arg is not None and not keyword.arg.startswith("_"):
                    value = self.resolve(keyword.value)
                    merged[keyword.arg] = _attr_param(
                        keyword.arg, value, f"{where} {keyword.arg}", self
                    )
            return tuple(merged.values())
        assert isinstance(node, ast.Dict), (
            f"{where}: attrs is {ast.unparse(node)!r}, not a dict literal or dict(...); teach "
            "tests/test_reference_docs.py to read it"
        )
        params = []
        for key, value in zip(node.keys, node.values):
            name = key.value
            if not name.startswith("_"):
                params.append(_attr_param(name, self.resolve(value), f"{where} {name}", self))
        return tuple(params)


def _macro_params(func: ast.FunctionDef) -> tuple[Param, ...]:
    args = func.args
    positional = [*args.posonlyargs, *args.args]
    defaults = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    pairs = [*zip(positional, defaults), *zip(args.kwonlyargs, args.kw_defaults)]
    return tuple(
        Param(arg.arg, "argument", "required" if default is None else _render(default))
        for arg, default in pairs
    )


def _private_module(label: str, cache: dict[str, Module]) -> Module:
    match = re.fullmatch(r"//(python_wheel(?:/\w+)*):(\w+\.bzl)", label)
    assert match, f"public .bzl loads {label!r}; only //python_wheel/... is followed"
    path = REPO / match.group(1) / match.group(2)
    if label not in cache:
        cache[label] = Module(path)
    return cache[label]


def public_api() -> list[Public]:
    """Everything the public .bzl files export, with its parameters."""
    cache: dict[str, Module] = {}
    found: list[Public] = []
    for public_file in PUBLIC:
        public = Module(REPO / "python_wheel" / public_file)
        for name, value in public.assigned.items():
            assert isinstance(value, ast.Name) and value.id in public.loads, (
                f"{public.rel}: {name} is not a re-export of a load()ed symbol"
            )
            label, symbol = public.loads[value.id]
            module = _private_module(label, cache)
            where = f"{module.rel}: {symbol}"
            if symbol in module.functions:
                params = _macro_params(module.functions[symbol])
                found.append(Public(name, f"macro {name}", params))
                continue
            definition = module.assigned.get(symbol)
            assert isinstance(definition, ast.Call), f"{where}: not a rule, macro or provider"
            kind = ast.unparse(definition.func)
            if kind == "provider":
                continue
            if kind in ("rule", "repository_rule"):
                params = (Param("name", "name", "required"), *module.attrs(definition, where))
                found.append(Public(name, f"{kind} {name}", params))
            elif kind == "module_extension":
                tags = {k.arg: k.value for k in definition.keywords}["tag_classes"]
                tags = module.resolve(tags)
                for tag, tag_class in zip(tags.keys, tags.values):
                    tag_call, owner = module.locate(tag_class)
                    heading = f"{name}.{tag.value}"
                    params = owner.attrs(tag_call, f"{where}.{tag.value}")
                    found.append(Public(heading, f"module extension tag {heading}", params))
            else:
                raise AssertionError(f"{where}: {kind}() exports are not understood here")
    return found


@dataclasses.dataclass(frozen=True)
class Section:
    """A heading of reference.md and the Default column of the tables up to the next heading."""

    title: str
    defaults: dict[str, str]


def _cells(row: str) -> list[str]:
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", row.strip().strip("|"))]


def reference_sections(text: str) -> list[Section]:
    """The headings (outside code blocks) of a Markdown page, each with its rows."""
    headings: list[tuple[int, int, str]] = []
    lines = text.splitlines()
    fenced = False
    for index, line in enumerate(lines):
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and (match := re.match(r"(#+) (.*)", line)):
            headings.append((index, len(match.group(1)), match.group(2)))
    sections = []
    for n, (start, _, title) in enumerate(headings):
        end = headings[n + 1][0] if n + 1 < len(headings) else len(lines)
        defaults: dict[str, str] = {}
        column = None
        for line in lines[start + 1 : end]:
            if not line.startswith("|"):
                column = None
                continue
            cells = _cells(line)
            if column is None:
                column = cells.index("Default") if "Default" in cells else -1
                continue
            name = re.fullmatch(r"`(\w+)`", cells[0])
            if column >= 0 and name and column < len(cells):
                defaults[name.group(1)] = cells[column]
        sections.append(Section(title, defaults))
    return sections


def _documented_default(cell: str) -> str:
    """``"`None`"`` -> ``None``: a Default cell without its code quotes."""
    match = re.match(r"`([^`]*)`", cell)
    return match.group(1) if match else cell


def drift(api: list[Public], sections: list[Section]) -> list[str]:
    """Every way the reference and the Starlark disagree, one message each."""
    problems = []
    for item in api:
        titled = [s for s in sections if f"`{item.heading}`" in s.title.split(" ")]
        if not titled:
            problems.append(
                f"{item.what}: no heading in docs/reference.md names `{item.heading}`; add "
                f"'## `{item.heading}`' with a table | Attribute | Type | Default | Meaning |"
            )
            continue
        section = titled[0]
        for param in item.params:
            row = section.defaults.get(param.name)
            if row is None:
                problems.append(
                    f"{item.what}: attribute `{param.name}` ({param.kind}, default "
                    f"{param.default}) is missing from the table under '{section.title}' "
                    "in docs/reference.md; add its row"
                )
            elif _documented_default(row) != param.default:
                problems.append(
                    f"{item.what}: attribute `{param.name}` is documented with default "
                    f"{row} under '{section.title}' but the Starlark default is "
                    f"{param.default}; fix the row"
                )
        for name in sorted(set(section.defaults) - {p.name for p in item.params}):
            problems.append(
                f"{item.what}: '{section.title}' in docs/reference.md documents `{name}`, "
                "which the Starlark does not have; remove or rename the row"
            )
    return problems


def test_every_public_attribute_is_documented_with_its_default():
    problems = drift(public_api(), reference_sections(REFERENCE.read_text(encoding="utf-8")))
    assert not problems, "docs/reference.md has drifted:\n" + "\n".join(problems)


def test_the_public_set_is_found():
    # The parser must see the real API, or the test above could pass vacuously.
    api = {item.heading: item for item in public_api()}
    assert {
        "python_wheel",
        "py_import",
        "verify_manylinux_compliance_test",
        "hermetic_python",
        "hermetic_python_repository",
        "local_python_toolchain",
        "python_wheel_version_suffix_repository",
        "ml_wheels.local_python",
        "ml_wheels.python_version",
    } <= set(api)
    wheel = {p.name: p for p in api["python_wheel"].params}
    assert wheel["build_mode"] == Param("build_mode", "string", '"direct"')
    assert wheel["distribution"].default == "required"
    assert wheel["srcs"].default == "[]"
    assert "_pack_wheel" not in wheel
    tag = {p.name: p.default for p in api["wheel_platform_tag"].params}
    assert tag == {"manylinux": '""', "macos": '"11_0"', "default": "None"}


SAMPLE = """\
# Reference

```starlark
# not a heading
```

## `my_rule`

| Attribute | Type | Default | Meaning |
| --- | --- | --- | --- |
| `name` | name | required | Target name. |
| `level` | int | `-1` | Level \\| with a pipe. |
| `gone` | string | `""` | Removed long ago. |

### Sub-section

| Argument | Default | Meaning |
| --- | --- | --- |
| `other` | `1` | a table of the sub-section, not of `my_rule` |

## `next`
"""


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ((Param("level", "int", "-1"),), []),
        (
            (Param("level", "int", "6"),),
            [
                "rule my_rule: attribute `level` is documented with default `-1` under "
                "'`my_rule`' but the Starlark default is 6; fix the row"
            ],
        ),
        (
            (Param("level", "int", "-1"), Param("license_expression", "string", '""')),
            [
                'rule my_rule: attribute `license_expression` (string, default "") is '
                "missing from the table under '`my_rule`' in docs/reference.md; add its row"
            ],
        ),
    ],
    ids=["in-sync", "wrong-default", "missing-row"],
)
def test_drift_messages(params, expected):
    sections = reference_sections(SAMPLE)
    assert [s.title for s in sections] == ["Reference", "`my_rule`", "Sub-section", "`next`"]
    item = Public("my_rule", "rule my_rule", (Param("name", "name", "required"), *params))
    gone = (
        "rule my_rule: '`my_rule`' in docs/reference.md documents `gone`, which the "
        "Starlark does not have; remove or rename the row"
    )
    assert drift([item], sections) == [*expected, gone]


def test_a_missing_section_is_reported():
    item = Public("other_rule", "rule other_rule", ())
    assert drift([item], reference_sections(SAMPLE)) == [
        "rule other_rule: no heading in docs/reference.md names `other_rule`; add "
        "'## `other_rule`' with a table | Attribute | Type | Default | Meaning |"
    ]
