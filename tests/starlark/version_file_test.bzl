"""Unit tests of python_wheel/private/version_file.bzl: parsing `__version__ = "..."`."""

load("@bazel_skylib//lib:unittest.bzl", "asserts", "unittest")

# buildifier: disable=bzl-visibility
load("//python_wheel/private:version_file.bzl", "is_identifier", "parse_version_file", "version_file_declaration")

_WHERE = "//pkg:version.py"

def _accepted_test_impl(ctx):
    env = unittest.begin(ctx)
    for text, key, version, line in [
        ('__version__ = "1.2.3"\n', "__version__", "1.2.3", 1),
        ("__version__ = '1.2.3'\n", "__version__", "1.2.3", 1),
        ('"""Doc."""\n\n__version__="2.0rc1"  # next\n', "__version__", "2.0rc1", 3),
        # JAX's jax/version.py style: an annotated private name.
        ('_version: str = "0.4.36"\n__version__ = _version\n', "_version", "0.4.36", 1),
        # Other names sharing the prefix, and uses of the name, are not assignments.
        ('__version_info__ = (1, 2)\n__version__ = "1.2"\nprint(__version__)\nif __version__ == "x":\n    pass\n', "__version__", "1.2", 2),
        ('__version__ = "1.0.post1"\r\n', "__version__", "1.0.post1", 1),
        ('VERSION = "3!1.0.dev4+local.7"\n', "VERSION", "3!1.0.dev4+local.7", 1),
    ]:
        result = parse_version_file(text, key, _WHERE)
        asserts.equals(env, None, result.error, text)
        asserts.equals(env, version, result.version, text)
        asserts.equals(env, line, result.line, text)
    return unittest.end(env)

accepted_test = unittest.make(_accepted_test_impl)

def _rejected_test_impl(ctx):
    env = unittest.begin(ctx)
    for text, key, words in [
        ('version = "1.0"\n', "__version__", "//pkg:version.py has no top-level line __version__ = \"1.2.3\"; add one, or set version_key"),
        ('__version__ = "1.0-final!"\n', "__version__", "//pkg:version.py line 1: __version__ = \"1.0-final!\" is not a PEP 440 version"),
        ("import v\n__version__ = v.VERSION\n", "__version__", "//pkg:version.py line 2: __version__ must be assigned one plain string literal, e.g. __version__ = \"1.2.3\": the value is not a string literal"),
        ('__version__ = f"1.{x}"\n', "__version__", "line 1: __version__ must be assigned one plain string literal"),
        ('__version__ = """1.0"""\n', "__version__", "triple-quoted strings are not accepted"),
        ('__version__ = "1.0" + SUFFIX\n', "__version__", "more follows the string (\"+ SUFFIX\")"),
        ('__version__ = "1.0\n', "__version__", "the string is not closed on this line"),
        ('__version__ = "1.0\\n"\n', "__version__", "the string has a backslash escape"),
        ("__version__ =\n", "__version__", "nothing is assigned"),
        ('__version__ = "1.0"\n__version__ = "1.1"\n', "__version__", "//pkg:version.py line 2: __version__ is assigned a second time (first on line 1); assign it once"),
        ('__version__ = "1.0"\n__version__ += ".dev0"\n', "__version__", "line 2: __version__ is changed with +="),
        ('if X:\n    __version__ = "1.0"\n', "__version__", "line 2: __version__ is assigned inside a block (indented)"),
        ("_version: str\n", "_version", "line 1: _version is annotated but not assigned"),
    ]:
        result = parse_version_file(text, key, _WHERE)
        asserts.equals(env, None, result.version, text)
        asserts.true(env, result.error and words in result.error, "%r: %r lacks %r" % (text, result.error, words))
    return unittest.end(env)

rejected_test = unittest.make(_rejected_test_impl)

def _identifier_test_impl(ctx):
    env = unittest.begin(ctx)
    for name in ["__version__", "_version", "VERSION", "v2"]:
        asserts.true(env, is_identifier(name), name)
    for name in ["", "2v", "my-version", "a.b", "__version__ "]:
        asserts.false(env, is_identifier(name), name)
    return unittest.end(env)

identifier_test = unittest.make(_identifier_test_impl)

def _declaration_test_impl(ctx):
    env = unittest.begin(ctx)
    tag = struct(name = "v", version_file = Label("//pkg:version.py"), version_key = "_version")
    declaration = version_file_declaration(struct(name = "sdk"), tag)
    asserts.equals(env, {"version_file": Label("//pkg:version.py"), "version_key": "_version"}, declaration)

    # What resolve_repositories compares: equal tags give equal declarations.
    asserts.equals(env, declaration, version_file_declaration(struct(name = "app"), tag))
    return unittest.end(env)

declaration_test = unittest.make(_declaration_test_impl)

def version_file_test_suite(name):
    """The unit tests of version_file.bzl.

    Args:
      name: the test_suite's name.
    """
    unittest.suite(name, accepted_test, rejected_test, identifier_test, declaration_test)
