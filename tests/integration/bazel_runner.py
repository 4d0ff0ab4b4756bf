"""Runs the project's offline Bazel (scripts/bazel) on example and fixture workspaces."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
BAZEL = REPO_ROOT / "scripts" / "bazel"
EXAMPLES = REPO_ROOT / "examples"


@dataclass
class BazelResult:
    """Outcome of one Bazel command."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str

    def check(self) -> BazelResult:
        """Raises with Bazel's output when the command failed."""
        if self.returncode != 0:
            raise AssertionError(
                f"bazel {' '.join(self.args)} exited {self.returncode}\n"
                f"--- stdout ---\n{self.stdout[-6000:]}\n--- stderr ---\n{self.stderr[-12000:]}"
            )
        return self


@dataclass
class Bazel:
    """A Bazel server for one workspace and one output base."""

    workspace: Path
    output_base: Path
    env: dict[str, str] = field(default_factory=dict)
    umask: int = 0o022

    def run(self, *args: str, check: bool = True, timeout: float = 900) -> BazelResult:
        """Runs `bazel --output_base=... <args>` in the workspace."""
        command = [str(BAZEL), f"--output_base={self.output_base}", *args]
        env = {**os.environ, **self.env}
        completed = subprocess.run(
            command,
            cwd=self.workspace,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            # The server inherits it from the first client, and actions from the server.
            preexec_fn=lambda: os.umask(self.umask),
        )
        result = BazelResult(list(args), completed.returncode, completed.stdout, completed.stderr)
        return result.check() if check else result

    def bin_dir(self, *flags: str) -> Path:
        """The bazel-bin directory for the given build flags."""
        return Path(self.run("info", *flags, "bazel-bin").stdout.strip())

    def shutdown(self) -> None:
        """Stops the server so it frees memory and the output base."""
        self.run("shutdown", check=False, timeout=120)

    def release(self) -> None:
        """Stops the server and deletes its output base, once a module is done with it."""
        if self.output_base.exists():
            self.shutdown()
            remove_tree(self.output_base)


def remove_tree(path: Path) -> None:
    """Deletes a tree that Bazel or a .deb made partly read-only.

    A suite run holds gigabytes of output bases and unpacked sysroots; deleting
    each when its module ends keeps the peak within a small CI disk.
    """

    def make_writable(function, failed: str, _error) -> None:
        parent = os.path.dirname(failed)
        os.chmod(parent, os.stat(parent).st_mode | stat.S_IWUSR | stat.S_IXUSR)
        if os.path.isdir(failed) and not os.path.islink(failed):
            os.chmod(failed, os.stat(failed).st_mode | stat.S_IRWXU)
        function(failed)

    shutil.rmtree(path, onerror=make_writable)
