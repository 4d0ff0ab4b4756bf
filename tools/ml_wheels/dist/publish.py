"""Uploads built distributions with twine (what `wheel_publish` runs)."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence

from ml_wheels.errors import WheelError

# twine's own settings; any one names where the files go.
REPOSITORY_VARS = ("TWINE_REPOSITORY_URL", "TWINE_REPOSITORY")
REPOSITORY_FLAGS = ("--repository-url", "--repository", "-r")


def names_repository(args: Sequence[str], environ: Mapping[str, str]) -> bool:
    """Whether the command line or the environment says where to upload.

    Args:
        args: The ``twine upload`` arguments.
        environ: The environment.

    Returns:
        True when a repository URL or name is given.
    """
    if any(environ.get(var) for var in REPOSITORY_VARS):
        return True
    return any(
        a in REPOSITORY_FLAGS or a.startswith(("--repository-url=", "--repository=")) for a in args
    )


def twine_arguments(
    files: Sequence[str], extra: Sequence[str], environ: Mapping[str, str]
) -> list[str]:
    """The ``twine upload`` command line for ``files``.

    Args:
        files: The distribution files.
        extra: Arguments from the target's ``publish_args`` and the command line.
        environ: The environment, where twine finds the repository and credentials.

    Returns:
        Arguments for twine's ``main()``.

    Raises:
        WheelError: If no file is given or no repository is named (uploading
            to PyPI is never a default: set TWINE_REPOSITORY_URL or pass
            --repository-url / --repository).
    """
    if not files:
        raise WheelError("no distribution file to upload; give wheel_publish srcs")
    for path in files:
        if not os.path.isfile(path):
            raise WheelError(f"{path} is missing from the runfiles; rebuild the target")
    if not names_repository(extra, environ):
        raise WheelError(
            "no repository to upload to: set TWINE_REPOSITORY_URL (e.g. "
            "https://upload.pypi.org/legacy/) or TWINE_REPOSITORY, or pass --repository-url URL "
            "after `--`; credentials come from TWINE_USERNAME / TWINE_PASSWORD (or a "
            "~/.pypirc), never from the build"
        )
    # --non-interactive: fail instead of prompting for missing credentials.
    return ["upload", "--non-interactive", *extra, *files]


def run_twine(arguments: Sequence[str]) -> int:
    """Runs twine in this process; returns its exit status.

    Args:
        arguments: twine's command line, without the program name.

    Raises:
        WheelError: If twine cannot be imported (the target's ``twine``
            attribute must give it).
    """
    try:
        from twine.__main__ import main as twine_main
    except ImportError as exc:
        raise WheelError(
            f"cannot import twine ({exc}); set wheel_publish's twine attribute to a py_library "
            'of twine and its dependencies, e.g. requirement("twine") of a rules_python pip hub'
        ) from None
    saved = sys.argv
    sys.argv = ["twine", *arguments]
    try:
        result = twine_main()
    finally:
        sys.argv = saved
    if isinstance(result, int):
        return result
    return 0 if not result else 1
