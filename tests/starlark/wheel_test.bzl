"""Tests of python_wheel/private/wheel.bzl: its path functions and the `python_wheel` rule."""

load("@bazel_skylib//lib:unittest.bzl", "analysistest", "asserts", "unittest")
load("//python_wheel:defs.bzl", "PyWheelInfo", "python_wheel", "wheel_platform_tag", "wheel_sources")

# buildifier: disable=bzl-visibility
load("//python_wheel/private:compat.bzl", "py_library")

# buildifier: disable=bzl-visibility
load("//python_wheel/private:wheel.bzl", "repo_relative_path", "wheel_path")
load(":failure_test.bzl", "analysis_failure_test")

_AARCH64 = {"//command_line_option:platforms": str(Label("//python_wheel/platforms:linux_aarch64_platform"))}

# --- wheel_path and repo_relative_path -------------------------------------

def _wheel_path_test_impl(ctx):
    env = unittest.begin(ctx)
    for path, strip, remaps, expected in [
        ("pkg/mod.py", [], {}, "pkg/mod.py"),
        ("src/pkg/mod.py", ["src"], {}, "pkg/mod.py"),
        ("src/pkg/mod.py", ["src/"], {}, "pkg/mod.py"),
        # Whole path components only.
        ("srcs/pkg/mod.py", ["src"], {}, "srcs/pkg/mod.py"),
        ("foobar/x.py", ["foo"], {"foo": "bar"}, "foobar/x.py"),
        # A path equal to the prefix is not under it.
        ("src", ["src"], {}, "src"),
        # The longest matching prefix wins, strip or remap.
        ("a/b/c.py", ["a", "a/b"], {}, "c.py"),
        ("a/b/c.py", ["a/b"], {"a": "z"}, "c.py"),
        ("a/b/c.py", ["a"], {"a/b": "z/y"}, "z/y/c.py"),
        ("a/x/c.py", ["a"], {"a/b": "z/y"}, "x/c.py"),
        ("third_party/foo/x.py", [], {"third_party/foo": "mypkg/_vendor/foo"}, "mypkg/_vendor/foo/x.py"),
        ("third_party/foo/x.py", [], {"third_party/foo/": "mypkg/_vendor/foo/"}, "mypkg/_vendor/foo/x.py"),
        # Remapping to the empty prefix strips.
        ("third_party/foo/x.py", [], {"third_party": ""}, "foo/x.py"),
        # Prefixes that do not match leave the path alone.
        ("pkg/mod.py", ["other", "pk"], {"pkgs": "x"}, "pkg/mod.py"),
        ("external_like/pkg/mod.py", ["external"], {}, "external_like/pkg/mod.py"),
    ]:
        asserts.equals(env, expected, wheel_path(path, strip, remaps), "wheel_path(%r, %r, %r)" % (path, strip, remaps))
    return unittest.end(env)

wheel_path_test = unittest.make(_wheel_path_test_impl)

def _repo_relative_path_test_impl(ctx):
    env = unittest.begin(ctx)

    # What File.short_path looks like for the main repository and others.
    for short_path, expected in [
        ("pkg/mod.py", "pkg/mod.py"),
        ("mod.py", "mod.py"),
        ("../other_repo/pkg/mod.py", "pkg/mod.py"),
        ("../other_repo/mod.py", "mod.py"),
        ("../other_repo~1.0/a/b/c.so", "a/b/c.so"),
    ]:
        asserts.equals(env, expected, repo_relative_path(struct(short_path = short_path)), "repo_relative_path(%r)" % short_path)
    return unittest.end(env)

repo_relative_path_test = unittest.make(_repo_relative_path_test_impl)

_PathsInfo = provider(
    doc = "Test-only: files with their repo_relative_path.",
    fields = {"paths": "dict: File.short_path -> repo_relative_path(File)"},
)

def _repo_paths_probe_impl(ctx):
    return [_PathsInfo(paths = {f.short_path: repo_relative_path(f) for f in ctx.files.srcs})]

_repo_paths_probe = rule(
    implementation = _repo_paths_probe_impl,
    attrs = {"srcs": attr.label_list(allow_files = True, doc = "Files whose paths are computed.")},
    doc = "Test fixture: repo_relative_path of real source, generated and external files.",
)

def _repo_relative_path_analysis_test_impl(ctx):
    env = analysistest.begin(ctx)
    paths = analysistest.target_under_test(env)[_PathsInfo].paths
    for expected in ctx.attr.expected:
        asserts.true(env, expected in paths.values(), "%r not among %r" % (expected, paths))
    external = [short for short in paths if short.startswith("../")]
    asserts.true(env, len(external) > 0, "no external file among %r" % paths)
    for short, relative in paths.items():
        asserts.false(env, relative.startswith("../") or relative.startswith("external/") or relative.startswith("bazel-out/"), "%r -> %r" % (short, relative))
        asserts.true(env, short.endswith("/" + relative) or short == relative, "%r -> %r" % (short, relative))
    return analysistest.end(env)

repo_relative_path_analysis_test = analysistest.make(
    _repo_relative_path_analysis_test_impl,
    attrs = {"expected": attr.string_list(doc = "repo_relative_paths that must be found.")},
)

def wheel_functions_test_suite(name):
    """Declares the tests of wheel_path and repo_relative_path, and a test_suite `name`.

    Args:
      name: name of the test_suite.
    """
    wheel_path_test(name = "wheel_path_test")
    repo_relative_path_test(name = "repo_relative_path_test")
    native.genrule(
        name = "repo_paths_generated",
        outs = ["generated/probe.txt"],
        cmd = "touch $@",
        tags = ["manual"],
    )
    _repo_paths_probe(
        name = "repo_paths_probe",
        srcs = [
            "testdata/probe.txt",
            ":repo_paths_generated",
            "@platforms//os:srcs",
        ],
        tags = ["manual"],
    )
    repo_relative_path_analysis_test(
        name = "repo_relative_path_analysis_test",
        target_under_test = ":repo_paths_probe",
        expected = [
            "tests/starlark/testdata/probe.txt",
            "tests/starlark/generated/probe.txt",
            "os/BUILD",
        ],
    )
    native.test_suite(name = name, tests = [
        ":repo_relative_path_analysis_test",
        ":repo_relative_path_test",
        ":wheel_path_test",
    ])

# --- the python_wheel rule --------------------------------------------------

def _wheel_action(env):
    for action in analysistest.target_actions(env):
        if action.mnemonic == "PythonWheel":
            return action
    unittest.fail(env, "no PythonWheel action among %r" % [a.mnemonic for a in analysistest.target_actions(env)])
    return None

def _wheel_test_impl(ctx):
    env = analysistest.begin(ctx)
    target = analysistest.target_under_test(env)
    wheels = target[DefaultInfo].files.to_list()
    asserts.equals(env, 1, len(wheels), "one output")
    name = wheels[0].basename
    if ctx.attr.expected_name:
        asserts.equals(env, ctx.attr.expected_name, name)
    asserts.true(env, name.endswith(ctx.attr.expected_name_suffix), "%r should end with %r" % (name, ctx.attr.expected_name_suffix))
    info = target[PyWheelInfo]
    asserts.equals(env, wheels[0], info.wheel)
    for field, expected in ctx.attr.expected_info.items():
        asserts.equals(env, expected, getattr(info, field), "PyWheelInfo." + field)

    action = _wheel_action(env)
    if action:
        # The wheel, and (direct mode) its .dist-info files as a directory
        # for py_import, which the PyWheelInfo.contents names.
        dist_info = info.contents.dist_info
        asserts.equals(env, [wheels[0], dist_info], action.outputs.to_list())
        asserts.true(env, dist_info.is_directory, "contents.dist_info is a directory")
        asserts.equals(env, analysistest.target_under_test(env).label.name + ".dist-info", dist_info.basename)
        inputs = [f.short_path for f in action.inputs.to_list()]
        for short_path in ctx.attr.expected_inputs:
            asserts.true(env, short_path in inputs, "%r not among the inputs %r" % (short_path, inputs))
        for short_path in ctx.attr.unexpected_inputs:
            asserts.false(env, short_path in inputs, "%r among the inputs %r" % (short_path, inputs))
    return analysistest.end(env)

_WHEEL_TEST_ATTRS = {
    "expected_info": attr.string_dict(doc = "PyWheelInfo string fields and their expected values."),
    "expected_inputs": attr.string_list(doc = "short_paths the PythonWheel action must read."),
    "expected_name": attr.string(doc = "The wheel's exact file name; empty to check only the suffix."),
    "expected_name_suffix": attr.string(doc = "How the wheel's file name must end."),
    "unexpected_inputs": attr.string_list(doc = "short_paths the PythonWheel action must not read."),
}

python_wheel_test = analysistest.make(_wheel_test_impl, attrs = _WHEEL_TEST_ATTRS)

def _wheel_spec_test_impl(ctx):
    env = analysistest.begin(ctx)
    specs = [
        a
        for a in analysistest.target_actions(env)
        if a.mnemonic == "FileWrite" and a.outputs.to_list()[0].basename.endswith(".wheel_spec.json")
    ]
    asserts.equals(env, 1, len(specs), "one .wheel_spec.json written")
    if specs:
        metadata = json.decode(specs[0].content)["metadata"]
        for key, expected in ctx.attr.expected_metadata.items():
            asserts.equals(env, json.decode(expected), metadata.get(key), "spec metadata." + key)
    return analysistest.end(env)

wheel_spec_test = analysistest.make(
    _wheel_spec_test_impl,
    attrs = {"expected_metadata": attr.string_dict(doc = "spec `metadata` keys and their expected values, as JSON.")},
)

python_wheel_aarch64_test = analysistest.make(
    _wheel_test_impl,
    attrs = _WHEEL_TEST_ATTRS,
    config_settings = _AARCH64,
)

def python_wheel_test_suite(name):
    """Declares python_wheel fixtures (tests/starlark/wheel), their analysis tests and a test_suite `name`.

    Args:
      name: name of the test_suite.
    """
    pkg = native.package_name()
    fixture = ["manual"]

    py_library(
        name = "pkg",
        srcs = ["testdata/pkg/__init__.py"],
        tags = fixture,
    )
    python_wheel(
        name = "pure_wheel",
        distribution = "Example.Pkg",
        version = "1.0",
        srcs = [":pkg"],
        strip_path_prefixes = [pkg + "/testdata"],
        tags = fixture,
    )
    python_wheel(
        name = "suffixed_wheel",
        distribution = "Example.Pkg",
        version = "V1.0",
        version_suffix = ".dev20250107+cbe478fc5custom",
        srcs = [":pkg"],
        strip_path_prefixes = [pkg + "/testdata"],
        tags = fixture,
    )

    # A binary wheel for the target platform: aarch64 under the aarch64
    # config setting while the host is x86_64 (cross-compiling).
    for arch in ["aarch64", "default"]:
        native.genrule(
            name = "libarch_" + arch,
            outs = ["arch/%s/libarch.so" % arch],
            cmd = "touch $@",
            tags = fixture,
        )
    py_library(
        name = "arch_lib",
        srcs = ["testdata/pkg/arch.py"],
        data = select({
            "//python_wheel/platforms:linux_aarch64": [":libarch_aarch64"],
            "//conditions:default": [":libarch_default"],
        }),
        tags = fixture,
    )
    wheel_sources(
        name = "arch_sources",
        py_srcs = [":arch_lib"],
        data_srcs = [":arch_lib"],
        tags = fixture,
    )
    python_wheel(
        name = "platform_wheel",
        distribution = "arch-pkg",
        version = "2.19.0",
        platform_tag = wheel_platform_tag(manylinux = "2_17"),
        srcs = [":arch_sources"],
        path_remaps = {pkg + "/arch": "arch_pkg/lib", pkg + "/testdata/pkg": "arch_pkg"},
        tags = fixture,
    )

    python_wheel(
        name = "duplicate_destination_wheel",
        distribution = "dup",
        version = "1.0",
        srcs = ["testdata/dup_a/mod.py", "testdata/dup_b/mod.py"],
        strip_path_prefixes = [pkg + "/testdata/dup_a", pkg + "/testdata/dup_b"],
        tags = fixture,
    )
    python_wheel(
        name = "invalid_version_wheel",
        distribution = "pkg",
        version = "1.0-",
        srcs = [":pkg"],
        tags = fixture,
    )
    python_wheel(
        name = "invalid_suffixed_version_wheel",
        distribution = "pkg",
        version = "1.0",
        version_suffix = "+",
        srcs = [":pkg"],
        tags = fixture,
    )
    python_wheel(
        name = "invalid_distribution_wheel",
        distribution = "-pkg_",
        version = "1.0",
        srcs = [":pkg"],
        tags = fixture,
    )
    python_wheel(
        name = "compression_level_out_of_range_wheel",
        distribution = "pkg",
        version = "1.0",
        compression_level = 10,
        srcs = [":pkg"],
        tags = fixture,
    )
    python_wheel(
        name = "pep517_without_project_files_wheel",
        distribution = "pkg",
        version = "1.0",
        build_mode = "pep517",
        srcs = [":pkg"],
        tags = fixture,
    )
    python_wheel(
        name = "project_files_in_direct_mode_wheel",
        distribution = "pkg",
        version = "1.0",
        project_files = ["testdata/pkg/arch.py"],
        srcs = [":pkg"],
        tags = fixture,
    )
    python_wheel(
        name = "escaping_wheel_path_wheel",
        distribution = "pkg",
        version = "1.0",
        path_remaps = {pkg + "/testdata/pkg": "../outside"},
        srcs = [":pkg"],
        tags = fixture,
    )
    python_wheel(
        name = "invalid_platform_tag_wheel",
        distribution = "pkg",
        version = "1.0",
        python_tag = "cp311",
        abi_tag = "cp311",
        platform_tag = "linux-x86_64",
        srcs = [":pkg"],
        tags = fixture,
    )

    python_wheel(
        name = "metadata_2_4_wheel",
        distribution = "pkg",
        version = "1.0",
        license_expression = "Apache-2.0 OR MIT",
        license_files = ["testdata/pkg/arch.py"],
        maintainer = "Grace Hopper",
        maintainer_email = "grace@example.org",
        srcs = [":pkg"],
        tags = fixture,
    )

    # Names pip refuses: the long s (U+017F) and the Kelvin sign (U+212A) that
    # re.IGNORECASE would let through, and a trailing newline that "$" accepts.
    for suffix, distribution in [("long_s", "demoſ"), ("kelvin", "Kernel"), ("newline", "demo\n")]:
        python_wheel(
            name = "lookalike_distribution_%s_wheel" % suffix,
            distribution = distribution,
            version = "1.0",
            srcs = [":pkg"],
            tags = fixture,
        )
        analysis_failure_test(
            name = "lookalike_distribution_%s_test" % suffix,
            target_under_test = ":lookalike_distribution_%s_wheel" % suffix,
            expected_messages = ["is not a valid project name"],
        )
    python_wheel(
        name = "too_long_file_name_wheel",
        # "-1.0-py3-none-any.whl" is 21 bytes: 256 in all.
        distribution = "a" * 235,
        version = "1.0",
        srcs = [":pkg"],
        tags = fixture,
    )
    analysis_failure_test(
        name = "too_long_file_name_test",
        target_under_test = ":too_long_file_name_wheel",
        expected_messages = ["is 256 bytes, longer than the 255 that file systems allow; shorten the distribution name, version or tags"],
    )
    python_wheel(
        name = "invalid_extra_wheel",
        distribution = "pkg",
        version = "1.0",
        extra_requires = {"cuda\n": ["nvidia-cublas-cu12"]},
        srcs = [":pkg"],
        tags = fixture,
    )
    analysis_failure_test(
        name = "invalid_extra_test",
        target_under_test = ":invalid_extra_wheel",
        expected_messages = ["extra_requires key \"cuda\\n\" is not a valid extra name"],
    )
    wheel_spec_test(
        name = "metadata_2_4_spec_test",
        target_under_test = ":metadata_2_4_wheel",
        expected_metadata = {
            "license_expression": json.encode("Apache-2.0 OR MIT"),
            "license_files": json.encode(["arch.py"]),
            "maintainer": json.encode("Grace Hopper"),
            "maintainer_email": json.encode("grace@example.org"),
        },
    )

    python_wheel_test(
        name = "pure_wheel_test",
        target_under_test = ":pure_wheel",
        expected_name = "example_pkg-1.0-py3-none-any.whl",
        expected_name_suffix = "-py3-none-any.whl",
        expected_info = {
            "distribution": "Example.Pkg",
            "normalized_distribution": "example_pkg",
            "version": "1.0",
            "python_tag": "py3",
            "abi_tag": "none",
            "platform_tag": "any",
            "requirement": "Example.Pkg==1.0",
        },
        expected_inputs = [pkg + "/testdata/pkg/__init__.py"],
    )
    python_wheel_test(
        name = "suffixed_wheel_test",
        target_under_test = ":suffixed_wheel",
        expected_name = "example_pkg-1.0.dev20250107+cbe478fc5custom-py3-none-any.whl",
        expected_info = {
            "version": "1.0.dev20250107+cbe478fc5custom",
            "requirement": "Example.Pkg==1.0.dev20250107+cbe478fc5custom",
        },
    )
    python_wheel_aarch64_test(
        name = "platform_wheel_aarch64_test",
        target_under_test = ":platform_wheel",
        expected_name_suffix = "-manylinux_2_17_aarch64.whl",
        expected_info = {
            "normalized_distribution": "arch_pkg",
            "version": "2.19.0",
            "platform_tag": "manylinux_2_17_aarch64",
        },
        expected_inputs = [
            pkg + "/testdata/pkg/arch.py",
            pkg + "/arch/aarch64/libarch.so",
        ],
        unexpected_inputs = [pkg + "/arch/default/libarch.so"],
    )
    analysis_failure_test(
        name = "duplicate_destination_test",
        target_under_test = ":duplicate_destination_wheel",
        expected_messages = [
            "two sources land on the wheel path \"mod.py\"",
            pkg + "/testdata/dup_a/mod.py",
            pkg + "/testdata/dup_b/mod.py",
        ],
    )
    analysis_failure_test(
        name = "invalid_version_test",
        target_under_test = ":invalid_version_wheel",
        expected_messages = ["\"1.0-\"", "is not a valid PEP 440 version"],
    )
    analysis_failure_test(
        name = "invalid_suffixed_version_test",
        target_under_test = ":invalid_suffixed_version_wheel",
        expected_messages = ["\"1.0+\"", "is not a valid PEP 440 version"],
    )
    analysis_failure_test(
        name = "invalid_distribution_test",
        target_under_test = ":invalid_distribution_wheel",
        expected_messages = ["\"-pkg_\"", "is not a valid project name"],
    )
    analysis_failure_test(
        name = "invalid_platform_tag_test",
        target_under_test = ":invalid_platform_tag_wheel",
        expected_messages = ["platform tag", "linux-x86_64"],
    )
    analysis_failure_test(
        name = "compression_level_out_of_range_test",
        target_under_test = ":compression_level_out_of_range_wheel",
        expected_messages = ["compression_level 10 is out of range; use 0 (stored) to 9"],
    )
    analysis_failure_test(
        name = "pep517_without_project_files_test",
        target_under_test = ":pep517_without_project_files_wheel",
        expected_messages = ["build_mode = \"pep517\" needs project_files (setup.py, pyproject.toml, ...)"],
    )
    analysis_failure_test(
        name = "project_files_in_direct_mode_test",
        target_under_test = ":project_files_in_direct_mode_wheel",
        expected_messages = ["project_files are only used with build_mode = \"pep517\""],
    )
    analysis_failure_test(
        name = "escaping_wheel_path_test",
        target_under_test = ":escaping_wheel_path_wheel",
        expected_messages = [
            pkg + "/testdata/pkg/__init__.py maps to the invalid wheel path \"../outside/__init__.py\"",
            "check strip_path_prefixes and path_remaps",
        ],
    )
    native.test_suite(name = name, tests = [
        ":compression_level_out_of_range_test",
        ":duplicate_destination_test",
        ":escaping_wheel_path_test",
        ":pep517_without_project_files_test",
        ":project_files_in_direct_mode_test",
        ":invalid_distribution_test",
        ":invalid_extra_test",
        ":invalid_platform_tag_test",
        ":invalid_suffixed_version_test",
        ":invalid_version_test",
        ":lookalike_distribution_kelvin_test",
        ":lookalike_distribution_long_s_test",
        ":lookalike_distribution_newline_test",
        ":metadata_2_4_spec_test",
        ":platform_wheel_aarch64_test",
        ":pure_wheel_test",
        ":suffixed_wheel_test",
        ":too_long_file_name_test",
    ])
