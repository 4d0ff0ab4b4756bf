"""`python_wheel_version_repository`: a wheel's version read from a Python source file.

```starlark
# WORKSPACE
python_wheel_version_repository(name = "mypkg_version", version_file = "//mypkg:version.py")

# BUILD.bazel
load("@mypkg_version//:version.bzl", "VERSION")

python_wheel(name = "wheel", version = VERSION, ...)
```

The file must assign the key once, at the top level, one plain string
literal: `__version__ = "1.2.3"`, `_version: str = '0.4.36'` (an optional
annotation and trailing comment are fine). Anything else, and a version that
is not PEP 440, fails the fetch naming the file and the line. The file is a
label read with `repository_ctx.read`, so editing it refetches the repository.

Under bzlmod the `ml_wheels` extension declares the same repository from its
`version_file` tag (`VERSION_FILE_TAG_ATTRS`, `version_file_declaration`,
`version_file_repository`).
"""

load(":pep440.bzl", "parse_version")

_IDENTIFIER_START = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_"
_IDENTIFIER = _IDENTIFIER_START + "0123456789"
_AUGMENTED = ["+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "@=", "//=", "**=", ">>=", "<<=", ":="]

def is_identifier(name):
    """Whether `name` is a (plain ASCII) Python identifier.

    Args:
      name: the string.

    Returns:
      True or False.
    """
    if not name or name[0] not in _IDENTIFIER_START:
        return False
    for c in name.elems():
        if c not in _IDENTIFIER:
            return False
    return True

def _string_literal(value):
    """The text of a one-line plain string literal at the start of `value`.

    Args:
      value: what follows `=` (left-stripped).

    Returns:
      (text, None), or (None, why it is not one plain string literal).
    """
    if not value:
        return None, "nothing is assigned"
    quote = value[0]
    if quote not in "\"'":
        return None, "the value is not a string literal"
    if value.startswith(quote * 3):
        return None, "triple-quoted strings are not accepted"
    end = value.find(quote, 1)
    if end < 0:
        return None, "the string is not closed on this line"
    text = value[1:end]
    if "\\" in text:
        return None, "the string has a backslash escape"
    rest = value[end + 1:].strip(" \t")
    if rest and not rest.startswith("#"):
        return None, "more follows the string (%r)" % rest
    return text, None

def parse_version_file(text, key, where):
    """Finds the one top-level `key = "..."` assignment of a Python file.

    Args:
      text: the file's text.
      key: the variable, e.g. `__version__` or `_version`.
      where: the file, for messages (a label).

    Returns:
      struct(version, line, error): `version` is the assigned string and
      `line` its line number; `error` is None on success, else one message
      naming the file and line and saying what to write instead.
    """
    example = "%s = \"1.2.3\"" % key
    found = []
    number = 0
    for line in text.split("\n"):
        number += 1
        line = line.rstrip("\r")
        stripped = line.lstrip(" \t")
        if not stripped.startswith(key):
            continue
        rest = stripped[len(key):]
        if rest and rest[0] in _IDENTIFIER:
            continue  # another name, e.g. __version_info__
        after = rest.lstrip(" \t")
        augmented = [op for op in _AUGMENTED if after.startswith(op)]
        if augmented:
            return struct(version = None, line = number, error = "%s line %d: %s is changed with %s; assign it once, one string literal: %s" % (where, number, key, augmented[0], example))
        if after.startswith(":"):
            equals = after.find("=")
            if equals < 0:
                return struct(version = None, line = number, error = "%s line %d: %s is annotated but not assigned; write %s" % (where, number, key, example))
            after = after[equals:]
        if not after.startswith("=") or after.startswith("=="):
            continue  # a use of the name, not an assignment
        if stripped != line:
            return struct(version = None, line = number, error = "%s line %d: %s is assigned inside a block (indented); assign it once at the top level: %s" % (where, number, key, example))
        version, why = _string_literal(after[1:].lstrip(" \t"))
        if why:
            return struct(version = None, line = number, error = "%s line %d: %s must be assigned one plain string literal, e.g. %s: %s" % (where, number, key, example, why))
        found.append((number, version))
    if not found:
        return struct(version = None, line = 0, error = "%s has no top-level line %s; add one, or set version_key to the variable that holds the version" % (where, example))
    if len(found) > 1:
        return struct(version = None, line = found[1][0], error = "%s line %d: %s is assigned a second time (first on line %d); assign it once" % (where, found[1][0], key, found[0][0]))
    number, version = found[0]
    if not parse_version(version.strip()):
        return struct(version = None, line = number, error = "%s line %d: %s = %r is not a PEP 440 version; use e.g. 1.2.3, 1.2.3rc1, 1.2.3.post1 or 1.2.3.dev0" % (where, number, key, version))
    return struct(version = version.strip(), line = number, error = None)

def _python_wheel_version_repository_impl(repository_ctx):
    key = repository_ctx.attr.version_key
    label = repository_ctx.attr.version_file
    who = "python_wheel_version_repository(name = %r)" % repository_ctx.name
    if not is_identifier(key):
        fail("%s: version_key %r is not a Python identifier; give the variable's name, e.g. \"__version__\" or \"_version\"" % (who, key))

    # A label read through repository_ctx: Bazel refetches when the file changes.
    text = repository_ctx.read(repository_ctx.path(label))
    where = str(label)
    if where.startswith("@@//") or where.startswith("@//"):
        where = where[where.index("//"):]
    result = parse_version_file(text, key, where)
    if result.error:
        fail("%s: %s" % (who, result.error))
    repository_ctx.file("BUILD.bazel", "exports_files([\"version.bzl\"])\n")
    repository_ctx.file("version.bzl", "\n".join([
        '"""Generated by python_wheel_version_repository from %s."""' % where,
        "",
        "# %s line %d: %s" % (where, result.line, key),
        "VERSION = %r" % result.version,
        "",
    ]))

python_wheel_version_repository = repository_rule(
    implementation = _python_wheel_version_repository_impl,
    doc = """Writes `@<name>//:version.bzl` with `VERSION`, the string a Python file
assigns to `version_key` (`__version__ = "1.2.3"`), PEP 440 validated. One
top-level assignment of one plain string literal; anything else fails the
fetch naming the file and line. Editing the file refetches the repository.""",
    attrs = {
        "version_file": attr.label(
            doc = "The Python file holding the version, e.g. `//mypkg:version.py`.",
            mandatory = True,
            allow_single_file = True,
        ),
        "version_key": attr.string(
            doc = "The variable assigned the version: `__version__`, `_version`, ...",
            default = "__version__",
        ),
    },
)

# The `ml_wheels.version_file` tag of the module extension (bzlmod).
VERSION_FILE_TAG_ATTRS = {
    "name": attr.string(
        doc = "Name of the repository holding `version.bzl`.",
        mandatory = True,
    ),
    "version_file": attr.label(
        doc = "The Python file holding the version, e.g. `//mypkg:version.py` (relative to the declaring module).",
        mandatory = True,
    ),
    "version_key": attr.string(
        doc = "The variable assigned the version: `__version__`, `_version`, ...",
        default = "__version__",
    ),
}

VERSION_FILE_TAG_DOC = "Declares a `python_wheel_version_repository`: `VERSION` read from a Python file. For a name several modules declare, the root module's tag wins; identical tags of other modules are one repository, different ones an error."

def version_file_declaration(module, tag):
    """What a `version_file` tag makes, as compared between modules.

    Args:
      module: the declaring module (for messages).
      tag: the tag.

    Returns:
      The attributes of the repository (a dict).
    """
    if not is_identifier(tag.version_key):
        fail("ml_wheels.version_file(name = %r) in %s: version_key %r is not a Python identifier; give the variable's name, e.g. \"__version__\"" % (tag.name, module.name, tag.version_key))
    return {"version_file": tag.version_file, "version_key": tag.version_key}

def version_file_repository(name, attrs):
    """Declares the repository of a winning `version_file` declaration.

    Args:
      name: the repository's name.
      attrs: `version_file_declaration`'s dict.
    """
    python_wheel_version_repository(name = name, **attrs)
