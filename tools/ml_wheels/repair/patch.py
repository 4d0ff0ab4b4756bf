"""ELF edits for the repair, done by patchelf (pinned; same bytes for the same input).

Only three edits are needed: rename a NEEDED entry, set a grafted library's
SONAME, and set a RUNPATH. patchelf grows ``.dynstr`` where the new strings
do not fit, which in-place editing (:mod:`ml_wheels.runpath`) cannot.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from typing import Optional

from ml_wheels.errors import WheelError
from ml_wheels.runpath import without_bazel_entries

# patchelf of a large library takes seconds; a hung one must not hang the build.
_TIMEOUT_SECONDS = 600


def runpath_with(existing: Optional[str], entry: str) -> str:
    """``existing`` without Bazel's ``_solib_`` entries, with ``entry`` added last.

    Empty components (which would mean the working directory) are dropped.
    """
    kept = without_bazel_entries((existing or "").encode("utf-8")).decode("utf-8")
    entries = [e for e in kept.split(":") if e]
    if entry not in entries:
        entries.append(entry)
    return ":".join(entries)


class Patchelf:
    """Runs one patchelf binary with a fixed, empty environment."""

    def __init__(self, path: str) -> None:
        self.path = path

    def edit(
        self,
        file: str,
        *,
        replace_needed: Mapping[str, str] = {},
        soname: Optional[str] = None,
        runpath: Optional[str] = None,
        remove_runpath: bool = False,
        display: str = "",
    ) -> None:
        """Applies the edits to ``file`` in one patchelf run.

        Args:
            file: The ELF file, edited in place.
            replace_needed: Old NEEDED name -> new one.
            soname: A new DT_SONAME.
            runpath: A new DT_RUNPATH (an existing DT_RPATH becomes DT_RUNPATH).
            remove_runpath: Drop DT_RUNPATH and DT_RPATH (not with ``runpath``).
            display: The file's name for messages (its wheel path).
        """
        args: list[str] = []
        for old in sorted(replace_needed):
            args += ["--replace-needed", old, replace_needed[old]]
        if soname is not None:
            args += ["--set-soname", soname]
        if runpath is not None:
            args += ["--set-rpath", runpath]
        elif remove_runpath:
            args += ["--remove-rpath"]
        if args:
            self._run([*args, file], display or file)

    def _run(self, args: Sequence[str], display: str) -> None:
        try:
            result = subprocess.run(
                [self.path, *args],
                env={},
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=_TIMEOUT_SECONDS,
                check=False,
            )
        except OSError as exc:
            raise WheelError(f"cannot run patchelf ({self.path}): {exc.strerror}") from None
        except subprocess.TimeoutExpired:
            raise WheelError(
                f"patchelf did not finish on {display} in {_TIMEOUT_SECONDS} s"
            ) from None
        if result.returncode:
            message = result.stderr.decode("utf-8", "replace").strip().splitlines()
            why = message[-1] if message else f"exit status {result.returncode}"
            raise WheelError(f"patchelf failed on {display} ({' '.join(args[:-1])}): {why}")
