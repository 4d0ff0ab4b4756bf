"""Hermetic Python: CPython interpreters declared by version, one chosen per build.

A downstream repository declares several interpreters, each either an
archive in the python-build-standalone layout (`bin/python3`,
`include/python3.X[t]/`, `lib/libpython3.X*.so*`), pinned by sha256, or an
interpreter already installed on the machine. `--repo_env=HERMETIC_PYTHON_VERSION`
(`3.12`, `3.13-ft`, ...) picks one; without it the declared default is used.
The hub repository (usually `@python`) fetches only the chosen interpreter,
runs *that* interpreter to learn its version and ABI (never the host's
`python3`), and exposes:

- `:toolchain` (Python) and `:tags_toolchain` (python tags, from which
  `python_wheel` derives `cpXY-cpXY[t]`); register both with
  `register_toolchains("@python//:all")`;
- `:headers` (and `:libpython` when the interpreter has a shared libpython);
- `:python3`, the interpreter binary itself (a file, not an alias: rules_python's
  `pip_parse(python_interpreter_target = "@python//:python3")` resolves it
  with `repository_ctx.path`, which cannot follow aliases);
- `version.bzl`: the chosen version, PYTHON_TAG, ABI_TAG, REQUIREMENTS_LOCK, ...
- `ext_suffix.bzl`: EXT_SUFFIX and ABI3_SUFFIX, to name extension modules.

Bazel-run programs start the interpreter through `venv/bin/python3`, a
virtual environment without packages: neither the archive's or
installation's site-packages nor the user site are on their sys.path
(`allow_site_packages = True` keeps them).

Starlark here must run on Bazel 4.2.3 as well as on Bazel 6-8.
"""

load(":python_toolchain.bzl", "introspect_interpreter", "isolated_interpreter", "link_headers", "link_interpreter_file", "toolchain_build_file", "write_ext_suffix_bzl")

VERSION_VAR = "HERMETIC_PYTHON_VERSION"
URL_VAR = "HERMETIC_PYTHON_URL"
SHA256_VAR = "HERMETIC_PYTHON_SHA256"
PREFIX_VAR = "HERMETIC_PYTHON_PREFIX"
INTERPRETER_VAR = "HERMETIC_PYTHON_INTERPRETER"

ENV_VARS = [VERSION_VAR, URL_VAR, SHA256_VAR, PREFIX_VAR, INTERPRETER_VAR]

_NAME_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"
_HEX = "0123456789abcdef"

# What the in-build runtime does not need: files Bazel runfiles cannot carry
# (spaces), bytecode the interpreter may write while it runs (it would change
# the glob), headers and static libraries (the :headers and :libpython
# targets carry what builds need), the standard library's own tests and the
# archive's site-packages (packages come from Bazel dependencies).
_RUNTIME_EXCLUDES = [
    "python/**/* *",
    "python/**/__pycache__/**",
    "python/**/*.pyc",
    "python/include/**",
    "python/share/**",
    "python/lib/**/*.a",
    "python/lib/pkgconfig/**",
    "python/lib/python*/site-packages/**",
    "python/lib/python*/**/test/**",
    "python/lib/python*/**/tests/**",
    "python/lib/python*/**/idle_test/**",
]

def parse_version_name(name):
    """Reads a version name of the form `X.Y` or `X.Y-ft`.

    Args:
      name: the name a version is declared under.

    Returns:
      (major, minor, free_threaded), or None for other names (e.g. `system`).
    """
    base = name
    free_threaded = False
    if name.endswith("-ft"):
        base = name[:-len("-ft")]
        free_threaded = True
    parts = base.split(".")
    if len(parts) != 2 or not parts[0].isdigit() or not parts[1].isdigit():
        return None
    return (int(parts[0]), int(parts[1]), free_threaded)

def _version_sort_key(name):
    parsed = parse_version_name(name)
    if parsed:
        return (0, parsed[0], parsed[1], 1 if parsed[2] else 0, name)
    return (1, 0, 0, 0, name)

def sorted_versions(names):
    """Version names in a readable order: 3.9, 3.10, 3.13, 3.13-ft, then other names.

    Args:
      names: version names.

    Returns:
      The sorted list.
    """
    return sorted(names, key = _version_sort_key)

def _check_name(who, version):
    if not version:
        fail("%s: a Python version needs a name, e.g. \"3.12\", \"3.13-ft\" or \"system\"" % who)
    for char in version.elems():
        if char not in _NAME_CHARS:
            fail("%s: version name %r may only hold letters, digits, '.', '_' and '-' (e.g. \"3.12\", \"3.13-ft\")" % (who, version))

def _check_sha256(who, what, sha256):
    if len(sha256) != 64 or [c for c in sha256.elems() if c not in _HEX]:
        fail("%s: %s needs the archive's sha256 as 64 lower-case hex digits, got %r (compute it with `sha256sum ARCHIVE`)" % (who, what, sha256))

def python_version_spec(who, version, urls = [], sha256 = "", strip_prefix = "", interpreter = ""):
    """Validates one declared interpreter and encodes it for the hub's `versions`.

    Args:
      who: the declaring call, for messages.
      version: the name the interpreter is selected by: `X.Y`, `X.Y-ft` or
        another name such as `system`.
      urls: archive URLs (python-build-standalone layout), tried in order.
      sha256: sha256 of the archive; required with `urls`.
      strip_prefix: directory inside the archive holding `bin/python3`
        (`python` for install_only archives, `python/install` for "full" ones).
      interpreter: instead of an archive: absolute path of a CPython, or a
        name looked up on PATH when the hub is fetched.

    Returns:
      The JSON string the hub repository decodes.
    """
    _check_name(who, version)
    what = "version %r" % version
    if urls and interpreter:
        fail("%s: %s sets both urls and interpreter; give an archive (urls, sha256, strip_prefix) or a local interpreter, not both" % (who, what))
    if interpreter:
        if sha256 or strip_prefix:
            fail("%s: %s is a local interpreter (%r); sha256 and strip_prefix only apply to archives" % (who, what, interpreter))
        return json.encode({"interpreter": interpreter})
    if not urls:
        fail("%s: %s needs either urls (with sha256 and strip_prefix) of an interpreter archive, or interpreter (a path or a name on PATH)" % (who, what))
    if type(urls) != "list":
        fail("%s: %s: urls must be a list of strings, got %r" % (who, what, urls))
    _check_sha256(who, what, sha256)
    return json.encode({"sha256": sha256, "strip_prefix": strip_prefix, "urls": urls})

def _registered(specs):
    return ", ".join(sorted_versions(specs.keys()))

def _lock_label(repository_ctx, chosen, info):
    suffix = info.version.replace(".", "_") + ("_ft" if info.gil_disabled else "")
    locks = repository_ctx.attr.requirements_locks
    label = locks.get(chosen) or locks.get(info.version + ("-ft" if info.gil_disabled else ""))
    if not label and repository_ctx.attr.requirements_lock:
        label = repository_ctx.attr.requirements_lock.replace("{version}", suffix)
    if not label:
        return None

    # A label written in the main repository's WORKSPACE/MODULE.bazel means
    # the main repository, also when version.bzl is loaded from elsewhere.
    if label.startswith("//"):
        label = "@" + label
    elif label.startswith(":"):
        label = "@//" + label
    return label

def _choose(repository_ctx, who, specs):
    # A hub of fixed interpreters ignores the per-build variables, which are
    # meant for the build's own Python.
    environ = repository_ctx.os.environ if repository_ctx.attr.repo_env_overrides else {}
    chosen = environ.get(VERSION_VAR, "").strip()
    how = "--repo_env=%s=%s" % (VERSION_VAR, chosen)
    if not chosen:
        chosen = repository_ctx.attr.default_version
        how = "the default_version %r (%s is not set)" % (chosen, VERSION_VAR)
    if not chosen:
        fail("%s: no Python version chosen: set --repo_env=%s to one of the registered versions (%s), or give the hub a default_version" % (who, VERSION_VAR, _registered(specs)))
    if chosen not in specs:
        fail("%s: %s=%r is not a registered Python version. Registered versions: %s. Choose one with --repo_env=%s=<version>, or declare %r in the WORKSPACE/MODULE.bazel of the repository that builds." % (
            who,
            VERSION_VAR,
            chosen,
            _registered(specs),
            VERSION_VAR,
            chosen,
        ))
    spec = dict(specs[chosen])
    origin = "declared"

    # Per-build overrides, for offline mirrors, custom builds and one's own
    # interpreter. They apply to the chosen version only.
    interpreter = environ.get(INTERPRETER_VAR, "")
    url = environ.get(URL_VAR, "")
    sha256 = environ.get(SHA256_VAR, "")
    prefix = environ.get(PREFIX_VAR, None)
    if interpreter and (url or sha256 or prefix != None):
        fail("%s: %s replaces the archive of version %r with a local interpreter; do not also set %s, %s or %s" % (who, INTERPRETER_VAR, chosen, URL_VAR, SHA256_VAR, PREFIX_VAR))
    if interpreter:
        spec = {"interpreter": interpreter}
        origin = "--repo_env=%s" % INTERPRETER_VAR
    elif url:
        if not sha256:
            fail("%s: %s=%r needs %s, the archive's sha256 (`sha256sum ARCHIVE`): interpreters are always pinned" % (who, URL_VAR, url, SHA256_VAR))
        declared_prefix = spec.get("strip_prefix", "python") if "urls" in spec else "python"
        spec = {"sha256": sha256, "strip_prefix": declared_prefix, "urls": [url]}
        origin = "--repo_env=%s" % URL_VAR
    elif (sha256 or prefix != None) and "interpreter" in spec:
        fail("%s: version %r is the local interpreter %r; %s and %s only apply to archives (set %s too)" % (who, chosen, spec["interpreter"], SHA256_VAR, PREFIX_VAR, URL_VAR))
    if "urls" in spec:
        if sha256:
            spec["sha256"] = sha256
        if prefix != None:
            spec["strip_prefix"] = prefix
        _check_sha256(who, "version %r (%s)" % (chosen, origin), spec["sha256"])
    return chosen, how, spec, origin

def _fetch_archive(repository_ctx, who, chosen, spec):
    repository_ctx.download_and_extract(
        url = spec["urls"],
        sha256 = spec["sha256"],
        stripPrefix = spec["strip_prefix"],
        output = "python",
    )
    binary = repository_ctx.path("python/bin/python3")
    if not binary.exists:
        found = sorted([p.basename for p in repository_ctx.path("python").readdir()])
        fail("%s: the archive of version %r (%s) has no bin/python3 under strip_prefix %r; its top level after stripping holds %s. Set strip_prefix (or %s) to the directory holding bin/ (\"python\" for python-build-standalone install_only archives, \"python/install\" for full ones)." % (
            who,
            chosen,
            spec["urls"][0],
            spec["strip_prefix"],
            found,
            PREFIX_VAR,
        ))
    return binary

def _resolve_local(repository_ctx, who, chosen, requested):
    if "/" in requested:
        interpreter = repository_ctx.path(requested)
        if not interpreter.exists:
            fail("%s: the interpreter %r of version %r does not exist; give the absolute path of a CPython binary" % (who, requested, chosen))
        return interpreter
    interpreter = repository_ctx.which(requested)
    if not interpreter:
        fail("%s: the interpreter %r of version %r is not on PATH; install it or give an absolute path" % (who, requested, chosen))
    return interpreter

def _check_version(who, chosen, info, source):
    parsed = parse_version_name(chosen)
    if not parsed:
        return
    major, minor, free_threaded = parsed
    actual = "%s%s" % (info.version, " (free-threaded)" if info.gil_disabled else "")
    if info.version != "%d.%d" % (major, minor) or info.gil_disabled != free_threaded:
        fail("%s: version %r is %s, which is Python %s. %s" % (
            who,
            chosen,
            source,
            actual,
            "A name ending in -ft needs a free-threaded build (Py_GIL_DISABLED)." if free_threaded and not info.gil_disabled else "Declare it under the name of its version, or point it at the right interpreter.",
        ))

# Started by its path in the runfiles, so nothing in it names this machine:
# remote workers and relocated output bases run the same bytes. `-S` keeps
# the installation's site-packages (pip) and the user site off sys.path as a
# virtual environment would; a pyvenv.cfg cannot, its `home` must be absolute.
_ISOLATED_INTERPRETER = """#!/bin/sh
# Generated by rules_ml_wheels' hermetic_python: the archive's CPython without
# its site-packages or the user site (-S); the standard library and PYTHONPATH
# (which Bazel's launcher sets) work as usual.
# readlink -f: started from a runfiles tree of links, sys.executable (and
# the base of any venv made from it) is the interpreter itself.
case "$0" in */*) here="${0%/*}" ;; *) here=. ;; esac
exec "$(readlink -f "$here/../python/bin/python3")" -S "$@"
"""

# Bazel's py_binary launcher is a Python script. This first line makes it a
# shell script too (a string literal to Python) that finds the runfiles the
# way the launcher does and starts the launcher on the runfiles' interpreter.
_LAUNCHER_SHEBANG = """#!/bin/sh
''':'
case "$0" in /*) self="$0" ;; *) self="$PWD/$0" ;; esac
if [ -d "$self.runfiles" ]; then runfiles="$self.runfiles"
else
  case "$self" in
    *.runfiles/*) runfiles="${self%%.runfiles/*}.runfiles" ;;
    *) runfiles="${RUNFILES_DIR:-${TEST_SRCDIR:-}}" ;;
  esac
fi
interpreter="$runfiles/{path}"
if [ ! -x "$interpreter" ]; then
  echo "rules_ml_wheels hermetic_python: $0 finds no {path} in its runfiles ($runfiles); start it with bazel run or bazel test, or from its .runfiles tree" >&2
  exit 127
fi
exec "$interpreter" "$0" "$@"
'''"""

def _write_relocatable_interpreter(repository_ctx, allow_site_packages):
    """Writes the interpreter Bazel-run programs start; returns its path in the repository."""
    if allow_site_packages:
        return "python/bin/python3"
    repository_ctx.file("isolated/python3", _ISOLATED_INTERPRETER, executable = True)
    return "isolated/python3"

def _launcher_shebang(repository_name, interpreter):
    # Runfiles hold an external repository under its (canonical) name.
    return _LAUNCHER_SHEBANG.replace("{path}", repository_name + "/" + interpreter)

def _hermetic_python_impl(repository_ctx):
    # Under bzlmod the repository's name is canonical (e.g.
    # rules_ml_wheels~~ml_wheels~python); messages use the name the user gave.
    who = "hermetic_python(name = %r)" % repository_ctx.name.split("~")[-1].split("+")[-1]
    specs = {}
    for version, encoded in repository_ctx.attr.versions.items():
        specs[version] = json.decode(encoded)
    if not specs:
        fail("%s: no Python versions declared" % who)
    chosen, how, spec, origin = _choose(repository_ctx, who, specs)

    if "urls" in spec:
        binary = _fetch_archive(repository_ctx, who, chosen, spec)
        source = "the archive %s" % spec["urls"][0]
        info = introspect_interpreter(repository_ctx, binary, "%s, version %r" % (who, chosen))
        _check_version(who, chosen, info, source)
        include_dir = "python/" + info.include_in_prefix
        if not repository_ctx.path(include_dir + "/Python.h").exists:
            fail("%s: the archive of version %r has no Python.h under %s; python-build-standalone archives carry include/python3.X[t]/" % (who, chosen, info.include_in_prefix))
        headers_error = ""
        libpython = ["python/" + f for f in info.libpython_in_prefix]
        interpreter = _write_relocatable_interpreter(repository_ctx, repository_ctx.attr.allow_site_packages)
        runtime = [
            "interpreter = %r," % interpreter,
            "files = glob(",
            '    ["python/**"],',
            "    exclude = %r," % _RUNTIME_EXCLUDES,
            "),",
            # The py_binary launcher runs on this interpreter too, never on
            # a python3 from PATH; it finds it in the runfiles, wherever they
            # are (a remote worker's input root included).
            "stub_shebang = %r," % _launcher_shebang(repository_ctx.name, interpreter),
        ]
        python3 = "python/bin/python3"
        kind = "archive"
        where = spec["urls"][0]
    else:
        interpreter = _resolve_local(repository_ctx, who, chosen, spec["interpreter"])
        source = "the local interpreter %s" % interpreter
        info = introspect_interpreter(repository_ctx, interpreter, "%s, version %r" % (who, chosen))
        _check_version(who, chosen, info, source)
        headers_error = link_headers(
            repository_ctx,
            info,
            "%s, version %r" % (who, chosen),
            "declare this version with an interpreter that has them",
        )
        include_dir = "include"
        libpython = []
        for path in info.libpython:
            name = "lib/" + path.split("/")[-1]
            repository_ctx.symlink(path, name)
            libpython.append(name)
        repository_ctx.symlink(info.executable, "bin/python3")
        registered = isolated_interpreter(repository_ctx, info, repository_ctx.attr.allow_site_packages)
        runtime = [
            "interpreter_path = %r," % registered,
            'stub_shebang = "#!%s",' % registered,
        ]
        python3 = "bin/python3"
        kind = "local"
        where = info.executable

    link_interpreter_file(repository_ctx, repository_ctx.path(python3))
    lock = _lock_label(repository_ctx, chosen, info)
    repository_ctx.file("WORKSPACE", "workspace(name = %r)\n" % repository_ctx.name)
    write_ext_suffix_bzl(repository_ctx, info, "hermetic_python")
    repository_ctx.file("version.bzl", "\n".join([
        '"""Generated by hermetic_python: the Python version this build uses."""',
        "",
        "# Chosen by %s." % how,
        "HERMETIC_PYTHON_VERSION = %r" % chosen,
        "PYTHON_VERSION = %r" % info.version,
        "PYTHON_FULL_VERSION = %r" % info.full_version,
        "PYTHON_TAG = %r" % info.python_tag,
        "ABI_TAG = %r" % info.abi_tag,
        "FREE_THREADED = %r" % info.gil_disabled,
        "",
        "# The lock of this version's requirements (requirements_lock_3_X[_ft].txt), or None.",
        "REQUIREMENTS_LOCK = %r" % lock,
        "",
        "# \"archive\" or \"local\", and where it comes from (%s)." % origin,
        "INTERPRETER_SOURCE = %r" % kind,
        "INTERPRETER_ORIGIN = %r" % where,
        "PYTHON_INTERPRETER = %r" % info.executable,
        "HAS_LIBPYTHON = %r" % bool(libpython),
        "",
        "# False: Bazel-run programs do not see the interpreter's site-packages.",
        "SITE_PACKAGES_VISIBLE = %r" % repository_ctx.attr.allow_site_packages,
        "",
        "DEFAULT_VERSION = %r" % repository_ctx.attr.default_version,
        "REGISTERED_VERSIONS = %r" % sorted_versions(specs.keys()),
        "",
    ]))
    repository_ctx.file("BUILD.bazel", toolchain_build_file(
        generator = "hermetic_python (%s=%s)" % (VERSION_VAR, chosen),
        info = info,
        runtime = runtime,
        origin = "hermetic Python %s: %s" % (chosen, where),
        include_dir = include_dir,
        libpython = libpython,
        headers_error = headers_error,
    ))

hermetic_python_repository = repository_rule(
    implementation = _hermetic_python_impl,
    attrs = {
        "allow_site_packages": attr.bool(
            default = False,
            doc = "Let Bazel-run programs import from the interpreter's site-packages and the user site " +
                  "(not hermetic). Default: only the standard library and their Bazel dependencies.",
        ),
        "default_version": attr.string(
            doc = "The version used when `HERMETIC_PYTHON_VERSION` is not set; one of `versions`.",
        ),
        "repo_env_overrides": attr.bool(
            default = True,
            doc = "Let `--repo_env=HERMETIC_PYTHON_VERSION` choose this hub's version and the per-build overrides (`HERMETIC_PYTHON_URL`, `_SHA256`, `_STRIP_PREFIX`, `_INTERPRETER`) replace its interpreter. `False`: the hub always gives its `default_version` as declared, whatever the build sets; for hubs of one fixed interpreter, such as those `installed_wheel_test` runs on.",
        ),
        "requirements_lock": attr.string(
            doc = "Label pattern of the requirements lock per version; `{version}` becomes `3_12`, " +
                  "`3_13_ft`, ... e.g. `//:requirements_lock_{version}.txt`. Empty: no lock.",
        ),
        "requirements_locks": attr.string_dict(
            doc = "Requirements lock label by version name (`3.12`, `3.13-ft`, or a declared name); " +
                  "takes precedence over `requirements_lock`.",
        ),
        "versions": attr.string_dict(
            mandatory = True,
            doc = "Version name -> interpreter, as encoded by `python_version_spec`.",
        ),
    },
    environ = ENV_VARS + ["PATH"],
    doc = "The hub of hermetic Python: fetches the interpreter `HERMETIC_PYTHON_VERSION` chooses " +
          "and exposes its toolchains, headers and `version.bzl`.",
)

_SPEC_KEYS = ["interpreter", "sha256", "strip_prefix", "urls"]

def hermetic_python(
        name,
        versions,
        default_version = "",
        requirements_lock = "",
        requirements_locks = {},
        register = True,
        allow_site_packages = False,
        repo_env_overrides = True):
    """Declares CPython interpreters by version; `HERMETIC_PYTHON_VERSION` picks one.

    ```starlark
    hermetic_python(
        name = "python",
        default_version = "3.12",
        versions = {
            "3.12": {"urls": [...], "sha256": "...", "strip_prefix": "python"},
            "3.13-ft": {"urls": [...], "sha256": "...", "strip_prefix": "python/install"},
            "system": {"interpreter": "python3"},
        },
        requirements_lock = "//:requirements_lock_{version}.txt",
    )
    ```

    Args:
      name: name of the hub repository (e.g. `python`).
      versions: dict from version name (`3.12`, `3.13-ft`, or any other name
        such as `system`) to a dict with either `urls`, `sha256` and
        `strip_prefix` (an archive in the python-build-standalone layout) or
        `interpreter` (absolute path of a local CPython, or a name looked up
        on PATH). A name of the form X.Y[-ft] must be that version (and
        free-threaded for -ft); the fetch checks it.
      default_version: the version used when `--repo_env=HERMETIC_PYTHON_VERSION`
        is not given.
      requirements_lock: label pattern of the per-version requirements lock;
        `{version}` becomes `3_12`, `3_13_ft`, ...
      requirements_locks: dict from version name to lock label, overriding
        the pattern.
      register: register the hub's toolchains (`@<name>//:all`), as
        `register_toolchains("@<name>//:all")` would.
      allow_site_packages: let py_binary/py_test import from the chosen
        interpreter's site-packages and user site (not hermetic). By default
        they see only the standard library and their Bazel dependencies.
      repo_env_overrides: let `--repo_env=HERMETIC_PYTHON_VERSION` and the
        per-build overrides (`HERMETIC_PYTHON_URL`, ...) choose and replace
        the interpreter. `False`: always `default_version` as declared (a hub
        of one fixed interpreter, e.g. for `installed_wheel_test`).
    """
    who = "hermetic_python(name = %r)" % name
    encoded = {}
    for version, spec in versions.items():
        if type(spec) != "dict":
            fail("%s: versions[%r] must be a dict with urls/sha256/strip_prefix or interpreter, got %r" % (who, version, spec))
        for key in spec.keys():
            if key not in _SPEC_KEYS:
                fail("%s: versions[%r] has an unknown key %r; the keys are %s" % (who, version, key, ", ".join(_SPEC_KEYS)))
        encoded[version] = python_version_spec(
            who,
            version,
            urls = spec.get("urls", []),
            sha256 = spec.get("sha256", ""),
            strip_prefix = spec.get("strip_prefix", ""),
            interpreter = spec.get("interpreter", ""),
        )
    if not encoded:
        fail("%s: declare at least one version" % who)
    if default_version and default_version not in versions:
        fail("%s: default_version %r is not among the declared versions (%s)" % (who, default_version, ", ".join(sorted_versions(versions.keys()))))
    if not repo_env_overrides and not default_version:
        fail("%s: repo_env_overrides = False needs a default_version: HERMETIC_PYTHON_VERSION does not choose for this hub" % who)
    hermetic_python_repository(
        name = name,
        versions = encoded,
        default_version = default_version,
        requirements_lock = requirements_lock,
        requirements_locks = requirements_locks,
        allow_site_packages = allow_site_packages,
        repo_env_overrides = repo_env_overrides,
    )
    if register:
        native.register_toolchains("@%s//:all" % name)
