"""Binary mode: run the project's own wheel builder, then rewrite its wheel.

For projects that already have a ``build_wheel.py`` (jaxlib, TensorFlow):
``python_wheel(build_mode = "binary", wheel_binary = ...)`` runs that
``py_binary`` in the action with the arguments ``wheel_binary_args``
describes, in a fixed environment, and takes the one wheel it writes into
its output directory. The wheel must be for the declared distribution and
version; it is rewritten with the declared tags by the same code as pep517
mode (``ml_wheels.built_wheel``), so the output is byte-reproducible
whatever the builder's zip looks like.

Argument templates (each an element of ``wheel_binary_args``) may use the
placeholders ``{output_dir}``, ``{distribution}``, ``{version}``,
``{version_suffix}``, ``{python_tag}``, ``{abi_tag}``, ``{platform_tag}``,
``{cpu}``, ``{git_hash}`` and ``{wheel_name}``; an element with ``{src}``
is repeated once per source (its exec-root path), in the rule's order.
When the expanded arguments exceed ``PARAM_FILE_THRESHOLD`` bytes they are
passed as one ``@FILE`` argument, one per line (what Bazel's
``use_param_file`` does, and argparse's ``fromfile_prefix_chars="@"`` reads).
"""

from __future__ import annotations

import os
import re
import string
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence

from ml_wheels.built_wheel import (
    BuildResult,
    Producer,
    fixed_environment,
    reject_spec_metadata,
    rewrite_built_wheel,
)
from ml_wheels.errors import WheelError
from ml_wheels.inputs import build_input_map
from ml_wheels.pack import errors_for
from ml_wheels.spec import WheelSpec, check_spec_names, load_spec

# jaxlib's build_wheel.py arguments, as jax's jax_wheel rule passes them.
DEFAULT_ARGS = (
    "--output_path={output_dir}",
    "--cpu={cpu}",
    "--jaxlib_git_hash={git_hash}",
    "--srcs={src}",
)
PLACEHOLDERS = (
    "abi_tag",
    "cpu",
    "distribution",
    "git_hash",
    "output_dir",
    "platform_tag",
    "python_tag",
    "src",
    "version",
    "version_suffix",
    "wheel_name",
)
PARAM_FILE_THRESHOLD = 64 * 1024
_ARCH_TAG = re.compile(r"^(?:manylinux|musllinux|macosx)_\d+_\d+_(.+)$")
_LEGACY_TAG = re.compile(r"^(?:linux|manylinux1|manylinux2010|manylinux2014)_(.+)$")
# Windows tags name the CPU as Python's platform.machine() does there.
_WINDOWS_CPU = {"win_amd64": "AMD64", "win32": "x86", "win_arm64": "ARM64"}
_MAX_OUTPUT = 64 * 1024


def cpu_of(platform_tag: str) -> str:
    """The CPU a platform tag is for, as jaxlib's ``--cpu`` takes it.

    ``manylinux_2_27_x86_64`` -> ``x86_64``, ``macosx_11_0_arm64`` ->
    ``arm64``, ``win_amd64`` -> ``AMD64``, ``any`` -> ``""``; of a compressed
    tag set (``a.b``) the first tag counts.
    """
    tag = platform_tag.split(".", 1)[0]
    if tag == "any":
        return ""
    if tag in _WINDOWS_CPU:
        return _WINDOWS_CPU[tag]
    for pattern in (_ARCH_TAG, _LEGACY_TAG):
        match = pattern.match(tag)
        if match:
            return match.group(1)
    return tag.rsplit("_", 1)[-1]


def _producer(builder: str) -> Producer:
    name = f"the wheel_binary {builder}"
    return Producer(
        build=name,
        project=name,
        source="the wheel_binary",
        mode="binary",
        writer="wheel_binary",
        where="the wheel_binary's own packaging",
        compiled_hint="put the Bazel-built libraries among the srcs the wheel_binary copies",
        names_file=True,
    )


def _check_template(template: str) -> None:
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:
        raise WheelError(
            f"wheel_binary_args element {template!r} is not a valid template ({exc}); "
            "write a literal brace as {{ or }}"
        ) from None
    for field in fields:
        if field not in PLACEHOLDERS:
            raise WheelError(
                f"wheel_binary_args element {template!r} uses the unknown placeholder "
                f"{{{field}}}; use one of {', '.join('{' + p + '}' for p in PLACEHOLDERS)}"
            )


def builder_arguments(
    templates: Sequence[str], values: Mapping[str, str], srcs: Sequence[str]
) -> list[str]:
    """Expands ``wheel_binary_args`` templates.

    Args:
        templates: The templates; an element with ``{src}`` repeats per source.
        values: The value of every placeholder but ``src``.
        srcs: The sources' exec-root paths.

    Raises:
        WheelError: If a template is malformed or uses an unknown placeholder.
    """
    args: list[str] = []
    for template in templates:
        _check_template(template)
        if "{src}" in template:
            args += [template.format(src=src, **values) for src in srcs]
        else:
            args.append(template.format(src="", **values))
    return args


def _param_file(args: list[str], directory: str, threshold: int) -> list[str]:
    """``args`` itself, or ``[@FILE]`` holding them one per line when they are long."""
    if sum(len(os.fsencode(a)) + 1 for a in args) <= threshold:
        return args
    for arg in args:
        if "\n" in arg:
            raise WheelError(
                f"the wheel_binary argument {arg!r} holds a newline and cannot go into a "
                "param file; remove it"
            )
    path = os.path.join(directory, "wheel_binary.params")
    with open(path, "w", encoding="utf-8", errors="surrogateescape") as f:
        f.write("".join(a + "\n" for a in args))
    return ["@" + path]


def _tail(output: str) -> str:
    if len(output) <= _MAX_OUTPUT:
        return output
    return f"[... {len(output) - _MAX_OUTPUT} characters cut ...]\n" + output[-_MAX_OUTPUT:]


def _listing(outdir: str) -> str:
    names = []
    for root, dirs, files in os.walk(outdir):
        dirs.sort()
        for name in sorted(files):
            names.append(os.path.relpath(os.path.join(root, name), outdir))
    return ", ".join(names) or "nothing"


def run_builder(
    builder: str, args: Sequence[str], env: Mapping[str, str], outdir: str, label: str = ""
) -> BuildResult:
    """Runs the wheel_binary; returns its one wheel and its output.

    Args:
        builder: The executable (exec-root path); run from the current directory.
        args: Its arguments.
        env: Its whole environment.
        outdir: The directory it must write exactly one ``*.whl`` into.
        label: Its Bazel label, for messages (default: ``builder``).

    Raises:
        WheelError: If it fails, or writes no wheel or several (its output
            is printed first either way).
    """
    label = label or builder
    try:
        proc = subprocess.run(
            [builder, *args],
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            check=False,
        )
    except OSError as exc:
        raise WheelError(f"cannot run the wheel_binary {label}: {exc.strerror}") from None
    output = proc.stdout.decode("utf-8", "replace")
    if proc.returncode != 0:
        sys.stderr.write(_tail(output))
        raise WheelError(
            f"the wheel_binary {label} failed with exit code {proc.returncode} (its output "
            f"is above); it wrote {_listing(outdir)}"
        )
    wheels = sorted(n for n in os.listdir(outdir) if n.endswith(".whl"))
    if len(wheels) != 1:
        sys.stderr.write(_tail(output))
        raise WheelError(
            f"the wheel_binary {label} wrote {len(wheels)} wheels into its output directory "
            f"(it wrote {_listing(outdir)}); it must write exactly one <dir>/<name>.whl"
        )
    return BuildResult(os.path.join(outdir, wheels[0]), output, _producer(label))


def builder_values(
    spec: WheelSpec, outdir: str, version_suffix: str, git_hash: str
) -> dict[str, str]:
    """The placeholder values (but ``src``) for ``spec``."""
    return {
        "abi_tag": spec.abi_tag,
        "cpu": cpu_of(spec.platform_tag),
        "distribution": spec.distribution,
        "git_hash": git_hash,
        "output_dir": outdir,
        "platform_tag": spec.platform_tag,
        "python_tag": spec.python_tag,
        "version": spec.version,
        "version_suffix": version_suffix,
        "wheel_name": spec.wheel_name,
    }


def pack_binary(
    spec_path: str,
    output: str,
    builder: str,
    srcs: Sequence[str] = (),
    templates: Sequence[str] = DEFAULT_ARGS,
    builder_env: Sequence[Sequence[str]] = (),
    distinfo_files: Sequence[Sequence[str]] = (),
    version_suffix: str = "",
    git_hash: str = "",
    path: str | None = None,
    jobs: int | None = None,
    param_file_threshold: int = PARAM_FILE_THRESHOLD,
    label: str = "",
    keep_bazel_runpath: bool = False,
) -> str:
    """Binary mode: run the wheel_binary, check and rewrite its wheel.

    Args:
        spec_path: The JSON spec.
        output: The wheel to write.
        builder: The wheel_binary's executable.
        srcs: Exec-root paths of the sources, for ``{src}``.
        templates: ``wheel_binary_args``.
        builder_env: ``(name, value)`` pairs added to the builder's fixed
            environment (``wheel_binary_env``).
        distinfo_files: ``(name, input file)`` pairs added to the rewritten
            wheel's .dist-info (licenses).
        version_suffix: The rule's ``version_suffix`` (also
            ``WHEEL_VERSION_SUFFIX`` in the builder's environment).
        git_hash: The rule's ``git_hash``.
        path: ``PATH`` for the builder (``None``: ``os.defpath``).
        jobs: Worker processes for the rewrite.
        param_file_threshold: Arguments longer than this go through ``@FILE``.
        label: The wheel_binary's label, for messages (default: ``builder``).
        keep_bazel_runpath: Ship the built ELF files' ``_solib_*``
            RUNPATH/RPATH entries as they are (by default the rewrite removes
            them, as the direct writer does: the builder copies Bazel's
            outputs as they are).

    Returns:
        The written wheel's path.
    """
    spec = load_spec(spec_path)
    label = label or builder
    with errors_for(spec.target):
        check_spec_names(spec)
        reject_spec_metadata(spec, _producer(label))
        with tempfile.TemporaryDirectory(prefix="ml_wheels_binary_") as tmp:
            outdir = os.path.join(tmp, "dist")
            os.makedirs(outdir)
            env = fixed_environment(spec, tmp, path)
            env["WHEEL_VERSION_SUFFIX"] = version_suffix
            # Its stdout and stderr stay in order in what a failure shows.
            env["PYTHONUNBUFFERED"] = "1"
            for name, value in builder_env:
                if name in env:
                    raise WheelError(
                        f"wheel_binary_env sets {name}, which binary mode fixes itself; "
                        "remove it from wheel_binary_env"
                    )
                env[name] = value
            values = builder_values(spec, outdir, version_suffix, git_hash)
            args = builder_arguments(templates, values, srcs)
            args = _param_file(args, tmp, param_file_threshold)
            built = run_builder(builder, args, env, outdir, label)
            empty = build_input_map(spec.dist_info, spec.data_dir, (), ())
            extra = build_input_map(spec.dist_info, spec.data_dir, (), (), distinfo_files)
            strip_dir = None
            if not keep_bazel_runpath:
                strip_dir = os.path.join(tmp, "elf")
                os.makedirs(strip_dir)
            try:
                rewrite_built_wheel(spec, built, output, empty, extra.files, jobs, strip_dir)
            except WheelError:
                sys.stderr.write(_tail(built.output))
                raise
    return output
