"""Runs one remote action inside a private root: the isolation half of worker.py.

    unshare --mount --pid --fork --kill-child --net --ipc --uts \\
        python3 -I -S sandbox_exec.py SPEC.json

The worker starts this under `unshare`, so it runs as PID 1 of fresh mount, PID,
network, IPC and UTS namespaces. It builds the action's root on a tmpfs from
read-only bind mounts of the host's system directories, chroots into it, drops
to an unprivileged user and execs the command with exactly the Command's
environment. Nothing it mounts is visible outside: the namespace dies with the
action. It uses the standard library only (it starts with -I -S, no site
packages) because it runs once per action and must start fast.

SPEC.json holds: root (an empty directory to mount the new root on), exec_dir
(the materialised input root), work_dir (the Command's working directory,
relative to the input root), argv, env, uid and gid.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import glob
import json
import os
import sys

# Mount flags from <sys/mount.h>.
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18

# Where the input root appears inside the sandbox: a fixed path, so that
# actions cannot learn (or depend on) the worker's directory layout.
SANDBOX_EXEC_ROOT = "/b/work"

# System directories the action may read: the toolchain, shell and libc live here.
SYSTEM_DIRECTORIES = ("usr", "bin", "lib", "lib32", "lib64", "libx32", "sbin", "etc")

# The host's Python packages: overmounted with empty read-only tmpfs, so that a
# Python action sees the interpreter's standard library and nothing installed.
PYTHON_PACKAGE_GLOBS = (
    "usr/lib/python3/dist-packages",
    "usr/local/lib/python3*",
    "usr/lib/python3.*/site-packages",
    "usr/lib/python3.*/dist-packages",
)

# Device nodes an action may use; the host's /dev as a whole (disks included)
# stays out of reach.
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")

_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str = "") -> None:
    """mount(2), raising OSError with the target on failure."""
    result = _libc.mount(
        source.encode() if source else None,
        target.encode(),
        fstype.encode() if fstype else None,
        ctypes.c_ulong(flags),
        data.encode() if data else None,
    )
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"mount {source} on {target}: {os.strerror(errno)}")


def bind(source: str, target: str, read_only: bool, recursive: bool = True) -> None:
    """Bind-mounts source on target; read-only needs a second, remounting call."""
    mount(source, target, None, MS_BIND | (MS_REC if recursive else 0))
    if read_only:
        mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID)


def add_system_directories(root: str) -> None:
    """Read-only binds of /usr, /etc, ...; merged-/usr symlinks (/bin -> usr/bin) are copied."""
    for name in SYSTEM_DIRECTORIES:
        host = "/" + name
        target = os.path.join(root, name)
        if os.path.islink(host):
            os.symlink(os.readlink(host), target)
        elif os.path.isdir(host):
            os.mkdir(target)
            bind(host, target, read_only=True)


def add_devices(root: str) -> None:
    """A tmpfs /dev with only the harmless character devices bound in."""
    dev = os.path.join(root, "dev")
    os.mkdir(dev)
    mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k")
    for name in DEVICES:
        if os.path.exists("/dev/" + name):
            target = os.path.join(dev, name)
            open(target, "w").close()
            bind("/dev/" + name, target, read_only=False, recursive=False)
    for name, target in (
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ):
        os.symlink(target, os.path.join(dev, name))
    shm = os.path.join(dev, "shm")
    os.mkdir(shm)
    mount("tmpfs", shm, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=256m")


def hide_python_packages(root: str) -> None:
    """Empty read-only tmpfs over the host's site/dist-packages directories."""
    for pattern in PYTHON_PACKAGE_GLOBS:
        for path in sorted(glob.glob(os.path.join(root, pattern))):
            if os.path.isdir(path) and not os.path.islink(path):
                mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV, "size=4k")


def build_root(root: str, exec_dir: str) -> None:
    """Assembles the action's file system on `root` (inside this mount namespace)."""
    # Nothing mounted here may propagate back to the host's mount table.
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m")
    add_system_directories(root)
    add_devices(root)
    proc = os.path.join(root, "proc")
    os.mkdir(proc)
    # A fresh procfs of the new PID namespace: host processes are not listed.
    mount("proc", proc, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    tmp = os.path.join(root, "tmp")
    os.mkdir(tmp)
    mount("tmpfs", tmp, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=2g")
    work = root + SANDBOX_EXEC_ROOT
    os.makedirs(work)
    bind(exec_dir, work, read_only=False, recursive=False)
    hide_python_packages(root)
    # The root tmpfs only holds mount points: make it read-only too.
    mount(None, root, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)


def main() -> int:
    """Builds the root, enters it and execs the action (never returns on success)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "spec", help="JSON file: root, exec_dir, work_dir, argv, env, uid, gid (see the docstring)"
    )
    with open(parser.parse_args().spec) as f:
        spec = json.load(f)
    build_root(spec["root"], spec["exec_dir"])
    os.chroot(spec["root"])
    os.chdir(os.path.join(SANDBOX_EXEC_ROOT, spec["work_dir"]))
    os.setgroups([])
    os.setgid(spec["gid"])
    os.setuid(spec["uid"])
    os.umask(0o022)
    argv: list[str] = spec["argv"]
    env: dict[str, str] = spec["env"]
    try:
        # execvpe searches the Command's own PATH (or the default path without one).
        os.execvpe(argv[0], argv, env)
    except OSError as error:
        print(f"sandbox: cannot execute {argv[0]}: {error.strerror}", file=sys.stderr)
        return 127
    return 127  # not reached: exec replaced this process


if __name__ == "__main__":
    sys.exit(main())
