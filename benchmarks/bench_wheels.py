#!/usr/bin/env python3
"""Side-by-side benchmark of rules_ml_wheels against the reference tools.

Payload: the torch 2.13.0 CPU wheel for CPython 3.11 (fetched once with pip
into the cache directory, or taken from --wheel). Every method runs on the
same unpacked tree in the same run, each repeated (default 3 times); the
table shows min and median seconds, and the ratios the performance targets
are stated in (docs/performance.md). Absolute times move with machine load;
compare only ratios from one run.

    .venv/bin/python benchmarks/bench_wheels.py            # everything
    .venv/bin/python benchmarks/bench_wheels.py --only write,audit --repeat 1

Needs the test virtualenv (scripts/setup.sh): wheel, build, setuptools,
auditwheel, deflate; `unzip`; Bazel via scripts/bazel for the Bazel runs. The
`deflate` group also times zlib-ng and ISA-L when `zlib-ng` / `isal` are
installed (not part of the test virtualenv).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
import zlib
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TOOLS = REPO / "tools"
PY = sys.executable
CACHE = Path(os.environ.get("ML_WHEELS_CACHE_DIR", Path.home() / ".cache" / "rules_ml_wheels"))
TORCH = "torch==2.13.0"


@dataclass
class Result:
    """Timings of one method."""

    name: str
    seconds: list[float] = field(default_factory=list)
    note: str = ""

    @property
    def best(self) -> float:
        return min(self.seconds)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def timed(
    name: str, repeat: int, run: Callable[[], str | None], setup: Callable[[], None] | None = None
) -> Result:
    """Runs `run` `repeat` times (after `setup` each time) and records wall seconds."""
    result = Result(name)
    for _ in range(repeat):
        if setup:
            setup()
        start = time.perf_counter()
        note = run()
        result.seconds.append(time.perf_counter() - start)
        result.note = note or result.note
    print(f"  {name}: min {result.best:.2f}s median {result.median:.2f}s {result.note}", flush=True)
    return result


def sh(
    *args: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    ok: tuple[int, ...] = (0,),
) -> subprocess.CompletedProcess:
    """Runs a command, failing loudly with its output unless it exits with a code in ``ok``."""
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if done.returncode not in ok:
        raise SystemExit(f"{' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done


def fetch_torch(explicit: str | None) -> Path:
    """The torch CPU wheel: --wheel, the cache, or pip download into the cache."""
    if explicit:
        return Path(explicit)
    target = CACHE / "bench"
    found = sorted(target.glob("torch-2.13.0*.whl"))
    if not found:
        target.mkdir(parents=True, exist_ok=True)
        sh(
            PY,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "-d",
            str(target),
            TORCH,
        )
        found = sorted(target.glob("torch-2.13.0*.whl"))
    return found[0]


def tree_files(tree: Path) -> list[Path]:
    return sorted(p for p in tree.rglob("*") if p.is_file())


# --- the floors: zlib alone, no zip format, no hashing -----------------------------------


def _deflate_range(args: tuple[list[tuple[str, int]], int, int]) -> int:
    files, start, end = args
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    out = 0
    offset = 0
    for path, size in files:
        if offset + size <= start or offset >= end:
            offset += size
            continue
        with open(path, "rb") as f:
            skip = max(0, start - offset)
            f.seek(skip)
            remaining = min(size, end - offset) - skip
            while remaining > 0:
                block = f.read(min(1 << 20, remaining))
                remaining -= len(block)
                out += len(compressor.compress(block))
        offset += size
    return out + len(compressor.flush())


def zlib_floor(files: list[Path], processes: int) -> str:
    sized = [(str(p), p.stat().st_size) for p in files]
    total = sum(size for _, size in sized)
    bounds = [total * i // processes for i in range(processes + 1)]
    with ProcessPoolExecutor(processes) as pool:
        sizes = list(
            pool.map(_deflate_range, [(sized, bounds[i], bounds[i + 1]) for i in range(processes)])
        )
    return f"{sum(sizes):,} B deflated"


def zipfile_single(tree: Path, output: Path) -> str:
    """Python's zipfile at level 6 plus RECORD, one thread (what most writers do)."""
    files = tree_files(tree)
    (dist_info,) = [c.name for c in tree.iterdir() if c.name.endswith(".dist-info")]
    record_name = f"{dist_info}/RECORD"
    record = []
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for path in files:
            arcname = path.relative_to(tree).as_posix()
            if arcname == record_name:
                continue
            data = path.read_bytes()
            archive.writestr(arcname, data)
            digest = hashlib.sha256(data).hexdigest()
            record.append(f"{arcname},sha256={digest},{len(data)}")
        archive.writestr(record_name, "\n".join(record))
    return f"{output.stat().st_size:,} B"


def setuptools_project(tree: Path, project: Path) -> None:
    """A setup.py project around the tree, as JAX/TF build theirs."""
    if project.exists():
        shutil.rmtree(project)
    project.mkdir()
    for child in tree.iterdir():
        if child.name.endswith(".dist-info"):
            continue
        target = project / child.name
        if child.is_dir():
            shutil.copytree(child, target)
        else:
            shutil.copy(child, target)
    tops = sorted(c.name for c in project.iterdir() if c.is_dir())
    (project / "setup.py").write_text(
        "from setuptools import setup, find_packages, Distribution\n"
        "class BinaryDistribution(Distribution):\n"
        "    def has_ext_modules(self):\n"
        "        return True\n"
        f"setup(name='torch', version='2.13.0', packages=find_packages(include={tops!r} + [t + '.*' for t in {tops!r}]),\n"
        "      package_data={'': ['*', '**/*']}, include_package_data=True, distclass=BinaryDistribution)\n"
    )


_MEASURE_RSS = """\
import resource, subprocess, sys
subprocess.run(sys.argv[1:], check=False, stdout=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def peak_rss_mb(command: list[str], env: dict[str, str] | None = None) -> float:
    """Peak RSS (MB) of the largest process of one command, measured by a fresh parent."""
    out = sh(PY, "-c", _MEASURE_RSS, *command, env=env).stdout
    return int(out.strip().splitlines()[-1]) / 1024


# --- deflate libraries on the same tree ---------------------------------------------------


def _compress_files(args: tuple[str, int, list[str]]) -> tuple[int, float]:
    """Compresses each file whole with one library; returns (bytes out, seconds)."""
    library, level, paths = args
    if library == "zlib":

        def encode(data: bytes) -> bytes:
            comp = zlib.compressobj(level, zlib.DEFLATED, -15)
            return comp.compress(data) + comp.flush()
    elif library == "libdeflate":
        import deflate

        def encode(data: bytes) -> bytes:
            return deflate.deflate_compress(data, level)
    elif library == "zlib-ng":
        from zlib_ng import zlib_ng

        def encode(data: bytes) -> bytes:
            comp = zlib_ng.compressobj(level, zlib_ng.DEFLATED, -15)
            return comp.compress(data) + comp.flush()
    else:
        from isal import isal_zlib

        def encode(data: bytes) -> bytes:
            comp = isal_zlib.compressobj(level, isal_zlib.DEFLATED, -15)
            return comp.compress(data) + comp.flush()

    out = 0
    start = time.perf_counter()
    for path in paths:
        with open(path, "rb") as f:
            out += len(encode(f.read()))
    return out, time.perf_counter() - start


def deflate_options(files: list[Path]) -> list[tuple[str, float, int]]:
    """Each library at each level over every file of the tree, whole members, one core."""
    options = [("zlib", 6), ("libdeflate", 4), ("libdeflate", 5), ("libdeflate", 6),
               ("libdeflate", 7), ("zlib-ng", 6), ("isal", 3)]  # fmt: skip
    modules = {"zlib": "zlib", "libdeflate": "deflate", "zlib-ng": "zlib_ng", "isal": "isal"}
    paths = [str(p) for p in files]
    rows = []
    for library, level in options:
        try:
            __import__(modules[library])
        except ImportError:
            print(f"  {library}-{level}: not installed (pip install {modules[library]})")
            continue
        with ProcessPoolExecutor(1) as pool:  # a fresh process: no cache or heap effects
            size, seconds = pool.submit(_compress_files, (library, level, paths)).result()
        print(f"  {library}-{level}: {seconds:.2f}s {size:,} B", flush=True)
        rows.append((f"{library}-{level}", seconds, size))
    return rows


# --- in-Bazel incremental -----------------------------------------------------------------

_WORKSPACE = """workspace(name = "bench")
local_repository(name = "rules_ml_wheels", path = {repo!r})
load("@rules_ml_wheels//python_wheel:repositories.bzl", "local_python_toolchain", "rules_ml_wheels_dependencies")
local_python_toolchain(name = "python")
rules_ml_wheels_dependencies()
"""

_BUILD = """load("@rules_ml_wheels//python_wheel:defs.bzl", "python_wheel")
python_wheel(
    name = "torch_wheel",
    srcs = glob(["tree/**"], exclude = ["tree/*.dist-info/**"]),
    abi_tag = "cp311",
    distribution = "torch",
    platform_tag = "manylinux_2_28_x86_64",
    python_tag = "cp311",
    strip_path_prefixes = ["tree"],
    version = "2.13.0",
)
"""


def bazel_incremental(tree: Path, work: Path, repeat: int) -> tuple[Result, Result, str]:
    """Cold build, then rebuild after one small .py change; checks byte identity."""
    ws = work / "bazel-ws"
    if ws.exists():
        shutil.rmtree(ws)
    ws.mkdir()
    (ws / "WORKSPACE").write_text(_WORKSPACE.format(repo=str(REPO)))
    (ws / "BUILD.bazel").write_text(_BUILD)
    shutil.copytree(tree, ws / "tree", symlinks=False)
    small = sorted((ws / "tree" / "torch").glob("*.py"), key=lambda p: p.stat().st_size)[0]
    bazel = [str(REPO / "scripts" / "bazel"), f"--output_base={work / 'bazel-out'}"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIRTUAL_ENV")}
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if ".venv" not in p)

    def build(*flags: str) -> None:
        sh(*bazel, "build", "--symlink_prefix=/", *flags, "//:torch_wheel", cwd=ws, env=env)

    build()  # warm the server and fetch repositories (not timed)
    cold = timed(
        "bazel cold build (after clean)",
        repeat,
        lambda: build(),
        setup=lambda: sh(*bazel, "clean", cwd=ws, env=env),
    )
    counter = [0]

    def touch() -> None:
        counter[0] += 1
        with open(small, "a") as f:
            f.write(f"\n# benchmark edit {counter[0]}\n")

    incremental = timed("bazel rebuild after one .py edit", repeat, lambda: build(), setup=touch)
    bin_dir = Path(sh(*bazel, "info", "bazel-bin", cwd=ws, env=env).stdout.strip())
    wheel = next(bin_dir.glob("*.whl"))
    sharded = hashlib.sha256(wheel.read_bytes()).hexdigest()
    build("--@rules_ml_wheels//python_wheel:compression_shards=0")
    single = hashlib.sha256(next(bin_dir.glob("*.whl")).read_bytes()).hexdigest()
    sh(*bazel, "shutdown", cwd=ws, env=env)
    return cold, incremental, "byte-identical" if sharded == single else "DIFFERENT"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--wheel", help="the payload wheel (default: torch 2.13.0 CPU via pip)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per method (default 3)")
    parser.add_argument(
        "--only",
        default="write,deflate,audit,unpack,bazel",
        help="comma-separated groups: write, deflate (libraries side by side), audit, unpack, "
        "bazel (default: all)",
    )
    parser.add_argument(
        "--skip-slow-references", action="store_true", help="skip python -m build and auditwheel"
    )
    args = parser.parse_args()
    groups = set(args.only.split(","))
    wheel = fetch_torch(args.wheel)
    work = Path(tempfile.mkdtemp(prefix="ml_wheels_bench_"))
    tree = work / "tree"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(tree)
    files = tree_files(tree)
    total = sum(p.stat().st_size for p in files)
    print(
        f"payload: {wheel.name}: {wheel.stat().st_size:,} B, {total:,} B unpacked, {len(files):,} files"
    )
    print(
        f"machine: {os.cpu_count()} CPUs; python {sys.version.split()[0]}; repeat {args.repeat}\n"
    )
    env = {**os.environ, "PYTHONPATH": str(TOOLS)}
    results: dict[str, Result] = {}
    checks: list[tuple[str, bool, str]] = []
    r = args.repeat

    if "write" in groups:
        out = work / "out"

        def fresh() -> None:
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir()

        def ours() -> str:
            sh(
                PY,
                str(TOOLS / "pack_wheel.py"),
                "dir",
                str(tree),
                "--dest-dir",
                str(out),
                "--jobs",
                "2",
                env=env,
            )
            return f"{next(out.glob('*.whl')).stat().st_size:,} B"

        results["floor1"] = timed("zlib-6 floor, 1 process", r, lambda: zlib_floor(files, 1))
        results["floor2"] = timed(
            "zlib-6 floor, 2 processes (bytes split)", r, lambda: zlib_floor(files, 2)
        )
        results["ours"] = timed("rules_ml_wheels pack_wheel (jobs 2)", r, ours, setup=fresh)
        ours_size = next(out.glob("*.whl")).stat().st_size
        ours_a = hashlib.sha256(next(out.glob("*.whl")).read_bytes()).hexdigest()
        fresh()
        sh(
            PY,
            str(TOOLS / "pack_wheel.py"),
            "dir",
            str(tree),
            "--dest-dir",
            str(out),
            "--jobs",
            "1",
            env=env,
        )
        ours_b = hashlib.sha256(next(out.glob("*.whl")).read_bytes()).hexdigest()
        checks.append(("jobs=1 and jobs=2 give the same bytes", ours_a == ours_b, ""))
        rss = peak_rss_mb(
            [
                PY,
                str(TOOLS / "pack_wheel.py"),
                "dir",
                str(tree),
                "--dest-dir",
                str(work / "rss"),
                "--jobs",
                "2",
            ],
            env,
        )
        largest = max(p.stat().st_size for p in files) / 1e6
        checks.append(
            (
                "peak RSS of writing <= largest member + 256 MiB window + 100 MB",
                rss <= largest + 268 + 100,
                f"{rss:.0f} MB (largest member {largest:.0f} MB)",
            )
        )
        checks.append(
            (
                "wheel no larger than the torch wheel itself",
                ours_size <= wheel.stat().st_size,
                f"{ours_size:,} vs {wheel.stat().st_size:,} B",
            )
        )
        zf_out = work / "zipfile.whl"
        results["zipfile"] = timed(
            "zipfile deflate-6 + RECORD, 1 thread", r, lambda: zipfile_single(tree, zf_out)
        )
        size_ratio = ours_size / zf_out.stat().st_size
        results["zipfile"].note += f" (ours {(size_ratio - 1) * 100:+.2f}%)"
        results["wheelpack"] = timed(
            "python -m wheel pack",
            r,
            lambda: sh(PY, "-m", "wheel", "pack", str(tree), "-d", str(out)) and None,
            setup=fresh,
        )
        if not args.skip_slow_references:
            project = work / "project"
            results["build"] = timed(
                "python -m build --wheel --no-isolation",
                r,
                lambda: (
                    sh(
                        PY,
                        "-m",
                        "build",
                        "--wheel",
                        "--no-isolation",
                        "--outdir",
                        str(out),
                        str(project),
                    )
                    and None
                ),
                setup=lambda: (fresh(), setuptools_project(tree, project)),
            )
        ours_best = results["ours"].best
        checks.append(
            (
                "write <= 0.45x the 2-core zlib-6 floor",
                ours_best <= 0.45 * results["floor2"].best,
                f"{ours_best / results['floor2'].best:.2f}x",
            )
        )
        if "build" in results:
            checks.append(
                (
                    "write >= 5x faster than python -m build",
                    results["build"].best >= 5 * ours_best,
                    f"{results['build'].best / ours_best:.2f}x",
                )
            )

    if "deflate" in groups:
        print("deflate libraries, each file whole, one core:")
        for name, seconds, size in deflate_options(files):
            results[f"deflate-{name}"] = Result(
                f"deflate option {name} (whole files, 1 core)", [seconds], f"{size:,} B"
            )

    if "audit" in groups and (TOOLS / "audit_wheel.py").exists():
        ours_audit = timed(
            "rules_ml_wheels audit_wheel --json",
            r,
            lambda: (
                sh(PY, str(TOOLS / "audit_wheel.py"), "--json", str(wheel), env=env, ok=(0, 1))
                and None
            ),
        )
        results["audit"] = ours_audit
        audit_rss = peak_rss_mb([PY, str(TOOLS / "audit_wheel.py"), "--json", str(wheel)], env)
        checks.append(("audit peak RSS < 300 MB", audit_rss < 300, f"{audit_rss:.0f} MB"))
        if not args.skip_slow_references:
            auditwheel = str(Path(PY).with_name("auditwheel"))
            results["auditwheel"] = timed(
                "auditwheel show --json",
                r,
                lambda: sh(auditwheel, "show", "--json", str(wheel), ok=(0, 1)) and None,
            )
            checks.append(
                (
                    "audit <= 10% of auditwheel show",
                    ours_audit.best <= 0.1 * results["auditwheel"].best,
                    f"{ours_audit.best / results['auditwheel'].best:.1%}",
                )
            )
            import json

            ours_tag = json.loads(
                sh(
                    PY, str(TOOLS / "audit_wheel.py"), "--json", str(wheel), env=env, ok=(0, 1)
                ).stdout
            )["overall_tag"]
            theirs_tag = json.loads(sh(auditwheel, "show", "--json", str(wheel), ok=(0, 1)).stdout)[
                "overall_tag"
            ]
            checks.append(
                (
                    "audit overall_tag equals auditwheel's",
                    ours_tag == theirs_tag,
                    f"{ours_tag} / {theirs_tag}",
                )
            )

    if "unpack" in groups and (TOOLS / "unpack_wheel.py").exists():
        dest = work / "unpacked"

        def clean() -> None:
            shutil.rmtree(dest, ignore_errors=True)
            dest.mkdir()

        results["unzip"] = timed(
            "unzip -q",
            r,
            lambda: sh("unzip", "-q", str(wheel), "-d", str(dest)) and None,
            setup=clean,
        )
        results["unpack"] = timed(
            "rules_ml_wheels unpack_wheel (RECORD verified)",
            r,
            lambda: (
                sh(
                    PY,
                    str(TOOLS / "unpack_wheel.py"),
                    str(wheel),
                    "--output-dir",
                    str(dest),
                    env=env,
                )
                and None
            ),
            setup=clean,
        )
        checks.append(
            (
                "unpack <= 0.5x unzip -q",
                results["unpack"].best <= 0.5 * results["unzip"].best,
                f"{results['unpack'].best / results['unzip'].best:.2f}x",
            )
        )
        clean()
        unpack_rss = peak_rss_mb(
            [PY, str(TOOLS / "unpack_wheel.py"), str(wheel), "--output-dir", str(dest)], env
        )
        checks.append(("unpack peak RSS < 300 MB", unpack_rss < 300, f"{unpack_rss:.0f} MB"))

    if "bazel" in groups:
        cold, incremental, identical = bazel_incremental(tree, work, r)
        results["bazel_cold"], results["bazel_incr"] = cold, incremental
        if "ours" not in results:
            alone = work / "alone"
            results["ours"] = timed(
                "rules_ml_wheels pack_wheel (jobs 2)",
                r,
                lambda: sh(PY, str(TOOLS / "pack_wheel.py"), "dir", str(tree), "--dest-dir",
                           str(alone), "--jobs", "2", env=env) and None,
                setup=lambda: (shutil.rmtree(alone, ignore_errors=True), alone.mkdir()),
            )  # fmt: skip
        checks.append(
            (
                "Bazel cold build <= 1.25x the packer alone",
                cold.best <= 1.25 * results["ours"].best,
                f"{cold.best / results['ours'].best:.2f}x",
            )
        )
        checks.append(
            (
                "Bazel rebuild after one .py edit <= 10% of cold",
                incremental.best <= 0.1 * cold.best,
                f"{incremental.best / cold.best:.1%}",
            )
        )
        checks.append(
            (
                "sharded Bazel wheel byte-identical to single-pass",
                identical == "byte-identical",
                identical,
            )
        )

    print("\n| method | min s | median s | note |\n| --- | ---: | ---: | --- |")
    for result in results.values():
        print(f"| {result.name} | {result.best:.2f} | {result.median:.2f} | {result.note} |")
    print("\n| target | met | measured |\n| --- | --- | --- |")
    for name, met, measured in checks:
        print(f"| {name} | {'yes' if met else 'NO'} | {measured} |")
    shutil.rmtree(work, ignore_errors=True)
    return 0 if all(met for _, met, _ in checks) else 1


if __name__ == "__main__":
    raise SystemExit(main())
