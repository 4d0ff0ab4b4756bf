"""Fetching and unpacking Debian packages (.deb) inside repository rules.

Bazel 4.2.3's `repository_ctx.extract` does not read .deb files (an `ar`
archive around `data.tar.xz`), and a host `ar` or `dpkg` is not something a
build may rely on. Packages are downloaded with Bazel's downloader (pinned by
sha256, so the repository cache, `--distdir` and `--experimental_downloader_config`
apply) and unpacked by `tools/unpack_deb.py`, a standard-library-only Python
program, run by the interpreter the rule is given. It refuses hostile archives
(escaping paths, links outside the root, bombs) and makes absolute symlinks
relative to the root, so they never resolve to the host's files.

API, for repository rules (used by `cc_sysroot`, `python_headers` and the
emulation root):

- `DEB_ATTRS`: attributes to merge into a rule's `attrs`
  (`attrs = dict(DEB_ATTRS, **own_attrs)`): `deb_mirrors`,
  `python_interpreter`, `python_interpreter_target`, and the private label
  of the unpacker. Add `environ = DEB_ENVIRON` to the rule.
- `deb_urls(repository_ctx, path)`: the download URLs of one package: `path`
  itself when it is a URL (`https://...`, `file://...`), else `path` (a pool
  path such as `pool/main/g/glibc/libc6_2.31-13+deb11u11_amd64.deb`) under
  each mirror, `--repo_env=ML_WHEELS_DEB_MIRROR` first.
- `fetch_debs(repository_ctx, debs, output, who)`: downloads every package of
  `debs` (a dict: pool path or URL -> sha256, unpacked in that order) and
  unpacks them all into `output` (a directory relative to the repository
  root). Returns a struct(files, symlinks, rewritten) where `rewritten` lists
  `[link, old_target, new_target]` for each absolute symlink made relative.
- `check_sha256(who, what, sha256)`: fails unless `sha256` is 64 lower-case hex digits.
- `run_unpacker(repository_ctx, who, output, args)`: runs the unpacker itself
  (an archive or directory to tidy, `--copy-from DIR`).
- `deb_python(repository_ctx, who)`: the interpreter that runs the unpacker.
"""

DEFAULT_DEB_MIRRORS = ["https://deb.debian.org/debian"]

MIRROR_VAR = "ML_WHEELS_DEB_MIRROR"

DEB_ENVIRON = [MIRROR_VAR]

_HEX = "0123456789abcdef"

DEB_ATTRS = {
    "deb_mirrors": attr.string_list(
        default = DEFAULT_DEB_MIRRORS,
        doc = "Base URLs of Debian archives (the directory holding `pool/`), tried in order for " +
              "every package given as a pool path. `--repo_env=ML_WHEELS_DEB_MIRROR=URL[ URL...]` " +
              "puts its URLs first (e.g. `file:///srv/debian` for an offline mirror). Packages are " +
              "pinned by sha256 either way.",
    ),
    "python_interpreter": attr.string(
        default = "python3",
        doc = "The Python 3 (3.9 or later; standard library only) that unpacks the packages: an " +
              "absolute path or a name looked up on PATH. Ignored when `python_interpreter_target` is set.",
    ),
    "python_interpreter_target": attr.label(
        allow_single_file = True,
        doc = "A Python 3 interpreter file from another repository (e.g. a hermetic interpreter " +
              "`@python_3_11//:python/bin/python3`) that unpacks the packages, instead of `python_interpreter`.",
    ),
    "_unpack_deb": attr.label(
        default = Label("//tools:unpack_deb.py"),
        allow_single_file = True,
    ),
}

def check_sha256(who, what, sha256):
    """Fails unless `sha256` is 64 lower-case hex digits.

    Args:
      who: the repository or call, for the message.
      what: what the hash pins, for the message.
      sha256: the value to check.
    """
    if type(sha256) != "string" or len(sha256) != 64 or [c for c in sha256.elems() if c not in _HEX]:
        fail("%s: %s needs its sha256 as 64 lower-case hex digits, got %r (compute it with `sha256sum FILE`)" % (who, what, sha256))

def _is_url(path):
    return "://" in path

def _mirrors(repository_ctx):
    extra = [m for m in repository_ctx.os.environ.get(MIRROR_VAR, "").split(" ") if m]
    return extra + [m for m in repository_ctx.attr.deb_mirrors if m not in extra]

def deb_urls(repository_ctx, path):
    """The URLs one package is downloaded from, in order.

    Args:
      repository_ctx: the repository context (its `deb_mirrors` attribute and environment).
      path: a URL, or a path relative to a Debian archive's root (`pool/main/...`).

    Returns:
      A list of URLs.
    """
    if _is_url(path):
        return [path]
    mirrors = _mirrors(repository_ctx)
    if not mirrors:
        fail("%s: package %r is a pool path but no mirror is set; set deb_mirrors (e.g. [\"https://deb.debian.org/debian\"]) or --repo_env=%s" % (repository_ctx.name, path, MIRROR_VAR))
    return [m.rstrip("/") + "/" + path.lstrip("/") for m in mirrors]

def deb_python(repository_ctx, who):
    """The interpreter that runs the unpacker.

    Args:
      repository_ctx: the repository context.
      who: the repository, for messages.

    Returns:
      The interpreter's path.
    """
    if repository_ctx.attr.python_interpreter_target:
        return repository_ctx.path(repository_ctx.attr.python_interpreter_target)
    requested = repository_ctx.attr.python_interpreter
    if requested.startswith("/"):
        path = repository_ctx.path(requested)
        if not path.exists:
            fail("%s: python_interpreter %r does not exist; set it to the absolute path of a Python 3 (or set python_interpreter_target)" % (who, requested))
        return path
    found = repository_ctx.which(requested)
    if not found:
        fail("%s: python_interpreter %r is not on PATH; install Python 3, or set python_interpreter to an absolute path or python_interpreter_target to an interpreter file" % (who, requested))
    return found

def _file_name(who, path):
    name = path.split("?")[0].split("#")[0].rstrip("/").split("/")[-1]
    if not name.endswith(".deb"):
        fail("%s: %r does not name a .deb file; give pool paths or URLs of Debian binary packages" % (who, path))
    return name

def run_unpacker(repository_ctx, who, output, args, failure = ""):
    """Runs `tools/unpack_deb.py --output-dir <output> <args>`; fails with its one-line error.

    Args:
      repository_ctx: the repository context of a rule with `DEB_ATTRS`.
      who: the repository, for messages.
      output: directory relative to the repository root the unpacker writes.
      args: the unpacker's other arguments (.deb files, `--copy-from DIR`, ...).
      failure: text put before the unpacker's error.
    """
    command = [
        deb_python(repository_ctx, who),
        "-I",
        "-B",
        repository_ctx.path(repository_ctx.attr._unpack_deb),
        "--output-dir",
        output,
    ] + args
    result = repository_ctx.execute(command)
    if result.return_code:
        fail("%s: %s%s" % (who, failure, (result.stderr or result.stdout).strip()))

def fetch_debs(repository_ctx, debs, output, who = None, remove_dangling = False):
    """Downloads packages pinned by sha256 and unpacks them into one directory.

    Args:
      repository_ctx: the repository context of a rule with `DEB_ATTRS`.
      debs: dict: pool path or URL -> sha256, unpacked in this order.
      output: directory relative to the repository root to unpack into.
      who: the repository, for messages (default: its name).
      remove_dangling: also remove the symlinks that resolve to nothing once
        every package is unpacked (Bazel cannot glob them as inputs).

    Returns:
      struct(files, symlinks, rewritten, removed) as reported by the unpacker.
    """
    who = who or repository_ctx.name
    if not debs:
        fail("%s: no packages given; list .deb pool paths or URLs with their sha256" % who)
    files = []
    seen = {}
    for path, sha256 in debs.items():
        check_sha256(who, "package %r" % path, sha256)
        name = _file_name(who, path)
        if name in seen:
            fail("%s: packages %r and %r have the same file name; list each package once" % (who, seen[name], path))
        seen[name] = path
        local = "_debs/" + name
        repository_ctx.download(url = deb_urls(repository_ctx, path), output = local, sha256 = sha256)
        files.append(local)
    report = "_debs/report.json"
    args = ["--report", report] + (["--remove-dangling"] if remove_dangling else []) + files
    run_unpacker(repository_ctx, who, output, args, "unpacking the packages failed: ")
    summary = json.decode(repository_ctx.read(report))
    repository_ctx.delete("_debs")
    return struct(
        files = summary["files"],
        symlinks = summary["symlinks"],
        rewritten = summary["rewritten"],
        removed = summary["removed"],
    )
