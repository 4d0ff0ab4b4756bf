"""The `python_wheel` rule: a standards-valid, reproducible wheel as a Bazel output."""

load("@bazel_skylib//rules:common_settings.bzl", "BuildSettingInfo")
load("//python_wheel/private/cc:toolchain_libc.bzl", "ToolchainLibcInfo")
load(":abi3.bzl", "check_abi3_tags", "limited_api_minor")
load(":naming.bzl", "escape_distribution", "is_valid_distribution", "wheel_filename")
load(":platform_tags.bzl", "resolve_toolchain_glibc_tag")
load(":providers.bzl", "PyWheelInfo")
load(":python_toolchain.bzl", "PYTHON_TAGS_TOOLCHAIN_TYPE")

_DEFAULT_PYTHON_TAG = "py3"
_DEFAULT_ABI_TAG = "none"
_PURE_PLATFORM = "any"

# The PATH of pep517 and binary builds: Bazel's --incompatible_strict_action_env default.
_PEP517_PATH = "/bin:/usr/bin:/usr/local/bin"

# What binary mode passes a wheel_binary by default: jaxlib's build_wheel.py
# arguments, as jax's jax_wheel rule passes them (tools/ml_wheels/binary.py).
_JAXLIB_WHEEL_BINARY_ARGS = [
    "--output_path={output_dir}",
    "--cpu={cpu}",
    "--jaxlib_git_hash={git_hash}",
    "--srcs={src}",
]

def repo_relative_path(file):
    """Path of a file relative to the root of its repository.

    `bazel-out/<config>/bin/` and `external/<repo>/` are not part of it: that
    is exactly what `File.short_path` gives, minus the `../<repo>/` it uses for
    files of other repositories.

    Args:
      file: a File.

    Returns:
      The path, `/`-separated.
    """
    path = file.short_path
    if path.startswith("../"):
        parts = path.split("/", 2)
        return parts[2] if len(parts) > 2 else ""
    return path

def _as_prefix(prefix):
    if not prefix or prefix.endswith("/"):
        return prefix
    return prefix + "/"

def wheel_path(path, strip_path_prefixes, path_remaps):
    """Maps a repository-relative path to its place in the wheel.

    A `path_remaps` key equal to the whole path renames that file. Otherwise
    the longest matching prefix of `path_remaps` (replaced by its value) or of
    `strip_path_prefixes` (removed) applies. Prefixes match whole path
    components: `foo` matches `foo/x.py`, never `foobar/x.py`.

    Args:
      path: repository-relative path.
      strip_path_prefixes: list of prefixes to remove.
      path_remaps: dict of prefix to replacement prefix.

    Returns:
      The path inside the wheel.
    """

    # A key naming the file itself moves (or renames) just that file.
    if path in path_remaps:
        return path_remaps[path]
    best = None
    for prefix in strip_path_prefixes:
        p = _as_prefix(prefix)
        if path.startswith(p) and (best == None or len(p) > len(best[0])):
            best = (p, "")
    for prefix, replacement in path_remaps.items():
        p = _as_prefix(prefix)
        if path.startswith(p) and (best == None or len(p) > len(best[0])):
            best = (p, _as_prefix(replacement))
    if best == None:
        return path
    return best[1] + path[len(best[0]):]

def _limited_api_tags(ctx, platform_tag):
    """(python_tag, abi_tag) as set, with `py_limited_api` applied."""
    python_tag = ctx.attr.python_tag
    abi_tag = ctx.attr.abi_tag
    limited = ctx.attr.py_limited_api
    if not limited:
        return python_tag, abi_tag
    if limited_api_minor(limited) < 0:
        fail("%s: py_limited_api %r is not a CPython 3 python tag: give the oldest CPython the abi3 wheel supports, e.g. \"cp310\"" % (ctx.label, limited))
    if platform_tag == _PURE_PLATFORM:
        fail("%s: py_limited_api = %r makes an abi3 wheel of compiled extensions, but platform_tag is empty (a pure, `any` wheel): set platform_tag (wheel_platform_tag(...)), or drop py_limited_api" % (ctx.label, limited))
    if python_tag and python_tag != limited:
        fail("%s: python_tag %r and py_limited_api %r disagree: py_limited_api sets the python tag; drop python_tag" % (ctx.label, python_tag, limited))
    if abi_tag and abi_tag != "abi3":
        fail("%s: abi_tag %r and py_limited_api %r disagree: py_limited_api sets abi_tag \"abi3\"; drop abi_tag" % (ctx.label, abi_tag, limited))
    return limited, "abi3"

def _resolve_tags(ctx):
    platform_tag = ctx.attr.platform_tag or _PURE_PLATFORM
    python_tag, abi_tag = _limited_api_tags(ctx, platform_tag)
    if platform_tag == _PURE_PLATFORM:
        if abi_tag == "abi3":
            fail("%s: abi_tag \"abi3\" is for wheels of compiled extensions, but platform_tag is empty (a pure, `any` wheel): set platform_tag, or use abi_tag \"none\"" % ctx.label)
        return (python_tag or _DEFAULT_PYTHON_TAG, abi_tag or _DEFAULT_ABI_TAG, platform_tag)
    platform_tag = resolve_toolchain_glibc_tag(platform_tag, ctx.attr._default_platform_libc[ToolchainLibcInfo].libc)
    if not python_tag or not abi_tag:
        tags = ctx.toolchains[PYTHON_TAGS_TOOLCHAIN_TYPE].tags
        if not tags.python_tag:
            fail((
                "%s: platform_tag is %r but python_tag/abi_tag are not set and the python tags " +
                "toolchain (%s) cannot derive them. Set python_tag and abi_tag (e.g. \"cp311\"), " +
                "or register an interpreter: hermetic_python() or local_python_toolchain() before " +
                "rules_ml_wheels_dependencies() in WORKSPACE; ml_wheels.hermetic_python() or " +
                "ml_wheels.local_python() and register_toolchains(\"@python//:all\") in MODULE.bazel."
            ) % (ctx.label, platform_tag, tags.origin))
        python_tag = python_tag or tags.python_tag
        abi_tag = abi_tag or tags.abi_tag
    if abi_tag == "abi3":
        tags = ctx.toolchains[PYTHON_TAGS_TOOLCHAIN_TYPE].tags
        error = check_abi3_tags(python_tag, tags.python_tag, tags.abi_tag, tags.origin)
        if error:
            fail("%s: %s" % (ctx.label, error))
    return (python_tag, abi_tag, platform_tag)

def _collect_files(ctx, strip_path_prefixes, path_remaps, targets, what):
    """Maps every file of `targets` to its wheel path; fails on collisions.

    Args:
      ctx: rule context.
      strip_path_prefixes: prefixes to strip.
      path_remaps: prefix remaps.
      targets: the targets whose default outputs are collected.
      what: attribute name, for messages.

    Returns:
      (files, trees): lists of (wheel path, File) for files and directories.
    """
    by_destination = {}
    files = []
    trees = []
    for target in targets:
        for f in target[DefaultInfo].files.to_list():
            destination = wheel_path(repo_relative_path(f), strip_path_prefixes, path_remaps)
            previous = by_destination.get(destination)
            if previous != None:
                if previous.path != f.path:
                    fail("%s: two sources land on the wheel path %r: %s and %s (from %s). Use strip_path_prefixes or path_remaps to place them apart, or drop one." % (
                        ctx.label,
                        destination,
                        previous.path,
                        f.path,
                        what,
                    ))
                continue
            by_destination[destination] = f
            if f.is_directory:
                trees.append((destination, f))
            else:
                files.append((destination, f))
            if not destination or destination.startswith("/") or destination.startswith("../"):
                fail("%s: %s maps to the invalid wheel path %r; check strip_path_prefixes and path_remaps" % (ctx.label, f.path, destination))
    return files, trees

# Libraries are usually most of a wheel's bytes: each gets its own shard, so
# that a change elsewhere never recompresses them.
_LIBRARY_SUFFIXES = [".so", ".dylib", ".pyd", ".dll"]
_AUTO_SHARDS = 16
_AUTO_SHARDS_MIN_FILES = 32

def _is_library(path):
    name = path.rsplit("/", 1)[-1]
    for suffix in _LIBRARY_SUFFIXES:
        if name.endswith(suffix) or (suffix + ".") in name:
            return True
    return False

def _shard_inputs(files, trees, shards):
    """Groups the inputs into compression shards; [] means one single action.

    Args:
      files: (wheel path, File) pairs.
      trees: (wheel path prefix, directory File) pairs.
      shards: -1 for automatic, 0 for none, N for N hashed groups.

    Returns:
      A list of (files, trees) groups, each compressed by its own action.
    """
    if shards < 0:
        shards = _AUTO_SHARDS if len(files) + len(trees) >= _AUTO_SHARDS_MIN_FILES else 0
    if shards == 0:
        return []
    hashed = [([], []) for _ in range(shards)]
    own = []
    for destination, f in files:
        if _is_library(destination):
            own.append(([(destination, f)], []))
        else:
            # hash() of a string is stable across builds and machines.
            hashed[hash(destination) % shards][0].append((destination, f))
    for destination, f in trees:
        own.append(([], [(destination, f)]))

    # Libraries first: the largest input is usually one, and its action is the
    # critical path, so it should not wait behind the small files' shards.
    return own + [group for group in hashed if group[0]]

def _param_file_args(ctx):
    args = ctx.actions.args()
    args.use_param_file("@%s", use_always = True)
    args.set_param_file_format("multiline")
    return args

def _packing_requirements(ctx):
    """execution_requirements of the direct-mode packing actions.

    Linking a shard's hundreds of inputs and the helper interpreter's
    runfiles into a sandbox costs more than compressing them (about 1 ms per
    input with linux-sandbox; docs/performance.md), and these actions read
    exactly the paths on their command line. Remote execution is not affected.
    """
    if ctx.attr._sandbox_packing[BuildSettingInfo].value:
        return {}
    return {"no-sandbox": "1"}

def _compress_shard(ctx, wheel_name, index, count, level, files, trees):
    """Declares the action compressing one shard; returns its bundle."""
    bundle = ctx.actions.declare_file("%s.shards/%d.bundle" % (ctx.label.name, index))
    args = _param_file_args(ctx)
    args.add("compress")
    args.add("--compression-level", str(level))

    # Bazel schedules one CPU per action and runs as many shards at once as
    # it has CPUs: threads of one shard would only compete with the others
    # (and with the largest library's, the critical path).
    args.add("--jobs", "1")
    args.add("--output", bundle)
    if ctx.attr.keep_bazel_runpath:
        args.add("--keep-bazel-runpath")
    inputs = []
    for destination, f in files:
        args.add_all("--file", [destination, f])
        inputs.append(f)
    for destination, f in trees:
        args.add_all("--tree", [destination, f], expand_directories = False)
        inputs.append(f)
    ctx.actions.run(
        executable = ctx.executable._pack_wheel,
        arguments = [args],
        inputs = inputs,
        outputs = [bundle],
        mnemonic = "PythonWheelCompress",
        execution_requirements = _packing_requirements(ctx),
        progress_message = "Compressing shard %d/%d of wheel %s (%s)" % (index + 1, count, wheel_name, ctx.label),
    )
    return bundle

_MNEMONICS = {
    "binary": "PythonWheelBinary",
    "direct": "PythonWheel",
    "pep517": "PythonWheelPep517",
}

def _check_binary_attrs(ctx, mode):
    """Fails on binary-mode attributes set in another mode, or a binary mode without them."""
    if mode == "binary":
        if not ctx.attr.wheel_binary:
            fail("%s: build_mode = \"binary\" needs wheel_binary, the py_binary (or other executable) that writes the wheel, e.g. wheel_binary = \":build_wheel_tool\"" % ctx.label)
        for name in ("strip_path_prefixes", "path_remaps"):
            if getattr(ctx.attr, name):
                fail("%s: %s is not used with build_mode = \"binary\": the wheel_binary gets each source's path as it is and places it itself; remove %s" % (ctx.label, name, name))
        return
    for name in ("wheel_binary", "wheel_binary_env", "git_hash"):
        if getattr(ctx.attr, name):
            fail("%s: %s is only used with build_mode = \"binary\"; set build_mode = \"binary\" or remove %s" % (ctx.label, name, name))
    if ctx.attr.wheel_binary_args != _JAXLIB_WHEEL_BINARY_ARGS:
        fail("%s: wheel_binary_args is only used with build_mode = \"binary\"; set build_mode = \"binary\" or remove wheel_binary_args" % ctx.label)

def _binary_args(ctx, args, inputs):
    """Adds the `pack_wheel binary` arguments: the builder, its sources and templates."""
    args.add("--builder", ctx.executable.wheel_binary)

    # Bazel 7 writes the main repository's labels as @@//pkg:name.
    label = str(ctx.attr.wheel_binary.label)
    if label.startswith("@@//"):
        label = label[2:]
    elif label.startswith("@//"):
        label = label[1:]
    args.add("--builder-label=" + label)

    # NAME=VALUE forms: a template or value may start with "-".
    if ctx.attr.wheel_binary_args:
        args.add_all(ctx.attr.wheel_binary_args, format_each = "--arg=%s")
    else:
        args.add("--no-args")
    for name, value in sorted(ctx.attr.wheel_binary_env.items()):
        args.add("--env=%s=%s" % (name, value))
    args.add("--version-suffix=" + ctx.attr.version_suffix)
    args.add("--git-hash=" + ctx.attr.git_hash)
    if ctx.attr.keep_bazel_runpath:
        args.add("--keep-bazel-runpath")
    for target in ctx.attr.srcs:
        for f in target[DefaultInfo].files.to_list():
            args.add("--src", f.path)
            inputs.append(f)

def _python_wheel_impl(ctx):
    python_tag, abi_tag, platform_tag = _resolve_tags(ctx)
    version = ctx.attr.version + ctx.attr.version_suffix
    naming = wheel_filename(ctx.attr.distribution, version, python_tag, abi_tag, platform_tag, ctx.attr.build_tag)
    if naming.error:
        fail("%s: %s" % (ctx.label, naming.error))
    wheel = ctx.actions.declare_file(naming.name)

    level = ctx.attr.compression_level
    if level < 0:
        level = ctx.attr._default_compression_level[BuildSettingInfo].value
    if level < 0 or level > 9:
        fail("%s: compression_level %d is out of range; use 0 (stored) to 9" % (ctx.label, level))

    requires = list(ctx.attr.requires)
    for dep in ctx.attr.requires_wheels:
        requires.append(dep[PyWheelInfo].requirement)
    entry_points = {group: list(entries) for group, entries in ctx.attr.entry_points.items()}
    if ctx.attr.console_scripts:
        entry_points.setdefault("console_scripts", [])
        for script, target in sorted(ctx.attr.console_scripts.items()):
            entry_points["console_scripts"].append("%s = %s" % (script, target))

    for extra in ctx.attr.extra_requires:
        # Extra names follow the distribution name grammar (PEP 685), ASCII only.
        if not is_valid_distribution(extra):
            fail("%s: extra_requires key %r is not a valid extra name: use letters, digits, `.`, `_` and `-`, starting and ending with a letter or digit" % (ctx.label, extra))

    # License-File lists paths below <dist-info>/licenses/. In pep517 mode the
    # project's own build writes METADATA, so the files are only copied.
    license_file_names = [f.basename for f in ctx.files.license_files] if ctx.attr.build_mode == "direct" else []

    description = ctx.file.description_file
    spec = {
        "target": str(ctx.label),
        "distribution": ctx.attr.distribution,
        "version": naming.version,
        "python_tag": python_tag,
        "abi_tag": abi_tag,
        "platform_tag": platform_tag,
        "build_tag": ctx.attr.build_tag,
        "wheel_name": naming.name,
        "compression_level": level,
        "metadata": {
            "summary": ctx.attr.summary,
            "description_file": description.path if description else None,
            "description_content_type": ctx.attr.description_content_type,
            "license": ctx.attr.license,
            "license_expression": ctx.attr.license_expression,
            "license_files": license_file_names,
            "author": ctx.attr.author,
            "author_email": ctx.attr.author_email,
            "maintainer": ctx.attr.maintainer,
            "maintainer_email": ctx.attr.maintainer_email,
            "homepage": ctx.attr.homepage,
            "keywords": ctx.attr.keywords,
            "classifiers": ctx.attr.classifiers,
            "project_urls": [[label, url] for label, url in ctx.attr.project_urls.items()],
            "requires_python": ctx.attr.requires_python,
            "requires_dist": requires,
            "extra_requires": ctx.attr.extra_requires,
        },
        "entry_points": entry_points,
    }
    spec_file = ctx.actions.declare_file(ctx.label.name + ".wheel_spec.json")
    ctx.actions.write(spec_file, json.encode(spec))

    strip = ctx.attr.strip_path_prefixes
    remaps = ctx.attr.path_remaps
    mode = ctx.attr.build_mode

    # In binary mode the wheel_binary places each source itself.
    files, trees = ([], []) if mode == "binary" else _collect_files(ctx, strip, remaps, ctx.attr.srcs, "srcs")
    shards = ctx.attr.compression_shards
    if shards < 0:
        shards = ctx.attr._default_compression_shards[BuildSettingInfo].value
    if mode == "direct":
        shard_groups = _shard_inputs(files, trees, shards)
    else:
        shard_groups = []
    _check_binary_attrs(ctx, mode)

    args = _param_file_args(ctx)
    inputs = [spec_file]
    if description:
        inputs.append(description)
    if shard_groups:
        # Compress in cached actions; the wheel action only copies their bytes.
        args.add("assemble")
        for index, (group_files, group_trees) in enumerate(shard_groups):
            bundle = _compress_shard(ctx, naming.name, index, len(shard_groups), level, group_files, group_trees)
            args.add("--bundle", bundle)
            inputs.append(bundle)
    elif mode == "binary":
        args.add("binary")
        _binary_args(ctx, args, inputs)
    else:
        args.add(mode)
        if mode in ("direct", "pep517") and ctx.attr.keep_bazel_runpath:
            args.add("--keep-bazel-runpath")
        for destination, f in files:
            args.add_all("--file", [destination, f])
            inputs.append(f)
        for destination, f in trees:
            args.add_all("--tree", [destination, f], expand_directories = False)
            inputs.append(f)
    args.add("--spec", spec_file)
    args.add("--output", wheel)
    outputs = [wheel]
    contents = None
    if mode == "direct":
        # The same .dist-info files, also as a directory: py_import presents a
        # python_wheel's contents from its inputs plus these, without unpacking.
        dist_info = ctx.actions.declare_directory(ctx.label.name + ".dist-info")
        args.add("--dist-info-out", dist_info.path)
        outputs.append(dist_info)
        contents = struct(
            files = dict(files),
            trees = dict(trees),
            dist_info = dist_info,
            dist_info_name = "%s-%s.dist-info" % (escape_distribution(ctx.attr.distribution), naming.version),
        )
    for f in ctx.files.license_files:
        args.add_all("--distinfo-file", ["licenses/" + f.basename, f])
        inputs.append(f)
    if mode == "pep517":
        if not ctx.files.project_files:
            fail("%s: build_mode = \"pep517\" needs project_files (setup.py, pyproject.toml, ...)" % ctx.label)
        project_files, project_trees = _collect_files(ctx, strip, remaps, ctx.attr.project_files, "project_files")
        for destination, f in project_files + project_trees:
            args.add_all("--project-file", [destination, f], expand_directories = False)
            inputs.append(f)

        # The build backend and frontend come from the pinned lock, as wheels
        # the action unpacks: never from the host's site-packages.
        for f in ctx.files._pep517_build_env:
            args.add("--build-env-wheel", f)
            inputs.append(f)
    elif ctx.files.project_files:
        fail("%s: project_files are only used with build_mode = \"pep517\"" % ctx.label)

    if mode == "binary":
        # A project's own builder gets no network (where the sandbox can
        # block it): its wheel must come from declared inputs only.
        requirements = {"block-network": ""}
    elif mode == "direct":
        requirements = _packing_requirements(ctx)
    else:
        requirements = {}
    ctx.actions.run(
        executable = ctx.executable._pack_wheel,
        arguments = [args],
        inputs = inputs,
        outputs = outputs,
        tools = [ctx.attr.wheel_binary[DefaultInfo].files_to_run] if mode == "binary" else [],
        mnemonic = _MNEMONICS[mode],
        progress_message = "Building wheel %s (%s)" % (naming.name, ctx.label),
        # A project's setup.py or wheel_binary may run the C compiler: pep517
        # and binary modes get this fixed PATH and nothing else of the client
        # or --action_env (the packer builds the rest of the build's
        # environment). The direct writer needs none.
        env = {"PATH": _PEP517_PATH} if mode in ("pep517", "binary") else {},
        execution_requirements = requirements,
    )

    return [
        DefaultInfo(files = depset([wheel]), runfiles = ctx.runfiles(files = [wheel])),
        PyWheelInfo(
            wheel = wheel,
            distribution = ctx.attr.distribution,
            normalized_distribution = escape_distribution(ctx.attr.distribution),
            version = naming.version,
            python_tag = python_tag,
            abi_tag = abi_tag,
            platform_tag = platform_tag,
            requirement = "%s==%s" % (ctx.attr.distribution, naming.version),
            contents = contents,
        ),
        OutputGroupInfo(wheel_spec = depset([spec_file])),
    ]

python_wheel = rule(
    implementation = _python_wheel_impl,
    attrs = {
        "abi_tag": attr.string(doc = "ABI tag: `none`, `abi3`, `cp311`, `cp313t`. Default: `none` for pure wheels, else from the Python toolchain."),
        "author": attr.string(doc = "METADATA `Author`."),
        "author_email": attr.string(doc = "METADATA `Author-email`."),
        "build_mode": attr.string(
            default = "direct",
            values = ["binary", "direct", "pep517"],
            doc = "`direct` (default) writes the wheel straight from the inputs. `pep517` stages the inputs with `project_files` and runs `python -m build --wheel --no-isolation` in the action, then rewrites the result reproducibly with the declared tags. `binary` runs the project's own `wheel_binary` (e.g. jaxlib's `build_wheel.py`) with `wheel_binary_args`, checks the one wheel it writes against `distribution` and `version`, and rewrites it the same way.",
        ),
        "build_tag": attr.string(doc = "Optional wheel build number (must start with a digit)."),
        "classifiers": attr.string_list(doc = "Trove classifiers."),
        "compression_shards": attr.int(
            default = -1,
            doc = "Direct mode: compress the inputs in this many cached actions (plus one per shared library and per directory input), so that a rebuild after a small change recompresses only one shard and the wheel action only copies bytes. 0 compresses in the wheel action itself. -1 (default) uses `--@rules_ml_wheels//python_wheel:compression_shards` (default -1: 16 shards from 32 inputs on, else none). The wheel's bytes are the same either way.",
        ),
        "compression_level": attr.int(
            default = -1,
            doc = "Deflate level 0 (stored) to 9. -1 (default) uses `--@rules_ml_wheels//python_wheel:compression_level` (default 6).",
        ),
        "console_scripts": attr.string_dict(doc = "Console scripts, `{\"name\": \"module:function\"}`; merged into `entry_points[\"console_scripts\"]`."),
        "description_content_type": attr.string(doc = "METADATA `Description-Content-Type`; inferred from `description_file`'s extension when empty."),
        "description_file": attr.label(allow_single_file = True, doc = "File whose text becomes the long description."),
        "distribution": attr.string(mandatory = True, doc = "Project name as published (METADATA `Name`); normalized for the file name."),
        "entry_points": attr.string_list_dict(doc = "Entry points by group: `{\"console_scripts\": [\"tool = pkg.cli:main\"]}`."),
        "extra_requires": attr.string_list_dict(doc = "Optional dependencies by extra name: `{\"cuda\": [\"nvidia-cublas-cu12>=12.1\"]}`."),
        "git_hash": attr.string(doc = "For `build_mode = \"binary\"`: the `{git_hash}` value of `wheel_binary_args` (jaxlib's `--jaxlib_git_hash`). Default: empty."),
        "homepage": attr.string(doc = "METADATA `Home-page`."),
        "keep_bazel_runpath": attr.bool(
            default = False,
            doc = "Ship ELF files' RUNPATH/RPATH entries that point into Bazel's output tree (a `_solib_<cpu>` path component, e.g. `$ORIGIN/../_solib_k8/...`) as they are. By default the writer removes them in place (same file size, the other entries kept in order), so an installed extension does not search `site-packages/_solib_k8/...` before `$ORIGIN`. In pep517 mode such files are staged for setup.py as copies without these entries; in binary mode the rewrite removes them from the ELF files the `wheel_binary` wrote.",
        ),
        "keywords": attr.string_list(doc = "METADATA `Keywords`."),
        "license": attr.string(doc = "METADATA `License`: free text for a license that has no SPDX identifier. Prefer `license_expression`; the two cannot be combined."),
        "license_expression": attr.string(doc = "METADATA `License-Expression` (core metadata 2.4, PEP 639): an SPDX expression such as `Apache-2.0` or `MIT OR Apache-2.0`, validated and written in canonical form. Not with `license` or `License ::` classifiers."),
        "license_files": attr.label_list(allow_files = True, doc = "Files placed in `<dist>.dist-info/licenses/<basename>`; in direct mode each is also listed as METADATA `License-File` (core metadata 2.4, PEP 639)."),
        "maintainer": attr.string(doc = "METADATA `Maintainer`."),
        "maintainer_email": attr.string(doc = "METADATA `Maintainer-email`."),
        "path_remaps": attr.string_dict(doc = "Prefix replacements, `{\"third_party/foo\": \"mypkg/_vendor/foo\"}`; whole path components, longest match wins (also over `strip_path_prefixes`). A key equal to a file's whole path renames that file."),
        "platform_tag": attr.string(doc = "Platform tag, e.g. `manylinux_2_17_x86_64`; use `wheel_platform_tag()` to derive it from the target platform. Empty means `any` (a pure wheel)."),
        "project_files": attr.label_list(allow_files = True, doc = "For `build_mode = \"pep517\"`: setup.py, pyproject.toml, setup.cfg, ... placed by the same path rules as `srcs`."),
        "project_urls": attr.string_dict(doc = "METADATA `Project-URL`s, `{\"Source\": \"https://...\"}`."),
        "py_limited_api": attr.string(doc = "Build an abi3 wheel: the python tag of the oldest CPython whose limited API the extensions use, e.g. `cp310`, which gives the tags `cp310-abi3` (so not with `python_tag`/`abi_tag`). Fails when it is newer than the Python toolchain's interpreter or that interpreter is free-threaded. Compile the extensions with `py_limited_api_defines(\"cp310\")` and name them `<module>.abi3.so`; the audit (`verify_manylinux_compliance_test`, `audit_wheel`) checks every ELF file imports only that limited API. Empty (default): no abi3."),
        "python_tag": attr.string(doc = "Python tag, e.g. `py3`, `cp311`. Default: `py3` for pure wheels, else from the Python toolchain."),
        "requires": attr.string_list(doc = "PEP 508 requirements (`Requires-Dist`), markers allowed."),
        "requires_python": attr.string(doc = "METADATA `Requires-Python`, e.g. `>=3.10`."),
        "requires_wheels": attr.label_list(providers = [PyWheelInfo], doc = "Other `python_wheel` targets this wheel requires at exactly their version (`name==version`)."),
        "srcs": attr.label_list(allow_files = True, doc = "Files and targets whose default outputs go into the wheel, at their repository-relative paths (see `strip_path_prefixes`, `path_remaps`)."),
        "strip_path_prefixes": attr.string_list(doc = "Path prefixes removed from repository-relative paths, whole components only."),
        "summary": attr.string(doc = "METADATA `Summary`: one line."),
        "version": attr.string(mandatory = True, doc = "PEP 440 version, normalized in the file name and METADATA."),
        "version_suffix": attr.string(doc = "Appended to `version`; feed it `WHEEL_VERSION_SUFFIX` from `python_wheel_version_suffix_repository`."),
        "wheel_binary": attr.label(
            executable = True,
            cfg = "exec",
            doc = "For `build_mode = \"binary\"`: the executable (usually a `py_binary`) that writes the wheel, run in the action with `wheel_binary_args` from the execution root, in a fixed environment (see `wheel_binary_env`), with no network where the sandbox can block it. It must write exactly one `<name>.whl` into `{output_dir}`.",
        ),
        "wheel_binary_args": attr.string_list(
            default = _JAXLIB_WHEEL_BINARY_ARGS,
            doc = "For `build_mode = \"binary\"`: the `wheel_binary`'s arguments, as templates with `{output_dir}`, `{distribution}`, `{version}`, `{version_suffix}`, `{python_tag}`, `{abi_tag}`, `{platform_tag}`, `{cpu}` (`x86_64`, `aarch64`, `arm64`, `AMD64`; empty for `any`), `{git_hash}` and `{wheel_name}`; an element with `{src}` is repeated once per file of `srcs` (its execution-root path). Longer than 64 KiB, they are passed as one `@FILE` argument, one per line. Default: jaxlib's `[\"--output_path={output_dir}\", \"--cpu={cpu}\", \"--jaxlib_git_hash={git_hash}\", \"--srcs={src}\"]`.",
        ),
        "wheel_binary_env": attr.string_dict(doc = "For `build_mode = \"binary\"`: variables added to the `wheel_binary`'s environment, which is otherwise fixed: `PATH=/bin:/usr/bin:/usr/local/bin`, `HOME` and `TMPDIR` in a fresh directory, `LANG=LC_ALL=C`, `PYTHONHASHSEED=0`, `SOURCE_DATE_EPOCH=315532800`, `ML_WHEEL_DISTRIBUTION`, `ML_WHEEL_VERSION`, `ML_WHEEL_PYTHON_TAG`, `ML_WHEEL_ABI_TAG`, `ML_WHEEL_PLATFORM_TAG` and `WHEEL_VERSION_SUFFIX`; these cannot be overridden. Example: `{\"JAX_RELEASE\": \"1\"}`."),
        "_default_compression_level": attr.label(default = Label("//python_wheel:compression_level")),
        "_default_platform_libc": attr.label(default = Label("//python_wheel/private/cc:default_platform_libc")),
        "_default_compression_shards": attr.label(default = Label("//python_wheel:compression_shards")),
        "_sandbox_packing": attr.label(default = Label("//python_wheel:sandbox_packing")),
        "_pep517_build_env": attr.label_list(
            default = [
                Label("@rules_ml_wheels_helper_deps//:%s_wheel" % package)
                for package in ["build", "packaging", "pyproject_hooks", "setuptools", "tomli", "wheel"]
            ],
            allow_files = [".whl"],
            cfg = "exec",
        ),
        "_pack_wheel": attr.label(default = Label("//tools:pack_wheel"), executable = True, cfg = "exec"),
    },
    toolchains = [PYTHON_TAGS_TOOLCHAIN_TYPE],
    doc = """Builds `{distribution}-{version}-{python tag}-{abi tag}-{platform tag}.whl`.

The file name is computed at analysis time (and re-checked by the writer);
the wheel is byte-reproducible: sorted entries, fixed timestamps and modes.
Returns `PyWheelInfo`.""",
)
