"""wheel_size_test and wheel_size_report with real Bazel on tests/fixtures/wheel_size.

The wheel within budget passes, the one over budget fails and its log says
by how much, with the growth against the fixture's baseline; the size
manifest and the HTML report are built; the report is rendered in headless
Chromium (Debian's ``chromium``), whose DOM gives back each rectangle's
rendered size, and a screenshot is kept (under the test's tmp dir, and in
``$TEST_ARTIFACTS_DIR`` when that is set). Expected numbers come from the
built wheel read with the standard library's zipfile, and from the
fixture's hand-written baseline.json. The last test runs the fixture with
Bazel 7.7.1 and bzlmod (scripts/forky.sh): its size tests pass and its
report of the Bazel 4 wheel is Bazel 4's, byte for byte.
"""

from __future__ import annotations

import html.parser
import io
import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from .bazel_runner import REPO_ROOT, remove_tree
from .conftest import copy_workspace

pytestmark = pytest.mark.integration

FIXTURE = REPO_ROOT / "tests" / "fixtures" / "wheel_size"
MiB = 1 << 20
PASSING = ["//:copied_size_test", "//:size_test", "//:size_with_baseline_test"]
FAILING = ["//:negative_budget_test", "//:over_budget_test"]
CHROMIUM_INSTALL = "apt-get install -y chromium"


@pytest.fixture(scope="module")
def bazel(make_bazel):
    server = make_bazel(FIXTURE, "wheel_size")
    yield server
    server.release()


@pytest.fixture(scope="module")
def all_tests(bazel):
    """`bazel test //...`: every test that is not manual, and the reports."""
    return bazel.run("test", "//...", "--symlink_prefix=/")


@pytest.fixture(scope="module")
def bin_dir(bazel, all_tests) -> Path:
    return bazel.bin_dir()


@pytest.fixture(scope="module")
def wheel(bin_dir) -> Path:
    wheels = sorted(bin_dir.glob("wheel_size_fixture-1.0-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


@pytest.fixture(scope="module")
def infos(wheel) -> list[zipfile.ZipInfo]:
    with zipfile.ZipFile(wheel) as archive:
        return [info for info in archive.infolist() if not info.is_dir()]


def _test_log(bazel, label: str) -> str:
    testlogs = Path(bazel.run("info", "bazel-testlogs").stdout.strip())
    return (testlogs / label[3:] / "test.log").read_text()


def _mib(size: int) -> str:
    """The tool's rounding, restated: two decimals from 1 MiB, four below."""
    return f"{size / MiB:.2f} MiB" if size >= MiB else f"{size / MiB:.4f} MiB"


def test_workspace_is_green_and_runs_every_passing_test(bazel, all_tests):
    output = all_tests.stdout + all_tests.stderr
    for label in PASSING:
        assert f"{label} " in output, label
    assert "Executed 3 out of 3 tests: 3 tests pass." in output
    manual = bazel.run("query", "attr(tags, manual, tests(//...))").stdout.split()
    assert sorted(manual) == FAILING


def test_within_budget_passes_and_the_log_says_so(bazel, wheel, infos):
    log = _test_log(bazel, "//:size_test")
    size = wheel.stat().st_size
    unpacked = sum(info.file_size for info in infos)
    assert f"PASS: {wheel.name} is within its size budget (//:size_test):" in log
    assert (
        f"  wheel file: {_mib(size)} ({size:,} bytes), within max_size_mib = 2 "
        f"({100 * size / (2 * MiB):.1f}% of it)" in log
    )
    assert (
        f"  unpacked: {_mib(unpacked)} ({unpacked:,} bytes), within max_unpacked_mib = 1.5 "
        f"({100 * unpacked / (1.5 * MiB):.1f}% of it)" in log
    )
    assert f"Largest members ({len(infos)} of {len(infos)}):" in log


def test_over_budget_fails_saying_by_how_much_with_growth(bazel, wheel, infos, all_tests):
    result = bazel.run("test", "//:over_budget_test", "--symlink_prefix=/", check=False)
    assert result.returncode == 3, result.stderr[-4000:]
    log = _test_log(bazel, "//:over_budget_test")
    size = wheel.stat().st_size
    unpacked = sum(info.file_size for info in infos)
    size_limit = int(0.02 * MiB)
    unpacked_limit = int(0.25 * MiB)
    assert size > size_limit and unpacked > unpacked_limit
    over_size, over_unpacked = size - size_limit, unpacked - unpacked_limit
    assert f"FAIL: {wheel.name} is over its size budget (//:over_budget_test):" in log
    assert (
        f"  wheel file: {_mib(size)} ({size:,} bytes), over max_size_mib = 0.02 by "
        f"{_mib(over_size)} ({over_size:,} bytes, {100 * over_size / size_limit:.1f}%)" in log
    )
    assert (
        f"  unpacked: {_mib(unpacked)} ({unpacked:,} bytes), over max_unpacked_mib = 0.25 by "
        f"{_mib(over_unpacked)} ({over_unpacked:,} bytes, "
        f"{100 * over_unpacked / unpacked_limit:.1f}%)" in log
    )
    # The largest members, largest first, with compressed sizes.
    lines = log.splitlines()
    start = lines.index(f"Largest members ({len(infos)} of {len(infos)}):")
    rows = [line.split() for line in lines[start + 2 : start + 2 + len(infos)]]
    ordered = sorted(infos, key=lambda info: (-info.file_size, info.filename))
    assert [row[-1] for row in rows] == [info.filename for info in ordered]
    table = next(row for row in rows if row[-1] == "sizepkg/table.txt")
    table_info = next(info for info in infos if info.filename == "sizepkg/table.txt")
    assert table[:4] == [
        *_mib(table_info.file_size).split(),
        *_mib(table_info.compress_size).split(),
    ]
    # Growth against the hand-written baseline.json.
    baseline = json.loads((FIXTURE / "baseline.json").read_text())
    before = baseline["members"]["sizepkg/table.txt"]["size"]
    grown = table_info.file_size - before
    assert (
        f"  {'+' + _mib(grown) + f' ({100 * grown / before:+.1f}%)':>24}  sizepkg/table.txt  "
        f"{_mib(before)} -> {_mib(table_info.file_size)} uncompressed" in log
    )
    new = [info.filename for info in infos if info.filename not in baseline["members"]]
    assert f"  members: 1 grew, 0 shrank, {len(new)} new, 1 removed" in log
    assert f"{'removed':>24}  sizepkg/old.py  {_mib(1000)}" in log
    assert f"{'new':>24}  sizepkg/_native.so  " in log
    assert "Growth against the baseline baseline.json (of " in log
    assert "raise max_size_mib to at least " in log and " of //:over_budget_test." in log
    assert (
        "To record the new sizes as the baseline: bazel build //:over_budget_test and copy "
        "bazel-bin/over_budget_test.size.json over baseline.json." in log
    )


def test_the_manifest_is_built_with_the_test(bazel, bin_dir, wheel, infos):
    bazel.run("build", "//:size_test", "--output_groups=size_manifest", "--symlink_prefix=/")
    manifest = json.loads((bin_dir / "size_test.size.json").read_text())
    assert manifest["format"] == "rules_ml_wheels.wheel_size"
    assert manifest["wheel"] == wheel.name
    assert manifest["file_size"] == wheel.stat().st_size
    assert manifest["members"] == {
        info.filename: {"compressed": info.compress_size, "size": info.file_size} for info in infos
    }


def test_a_budget_that_is_not_a_positive_number_fails_analysis(bazel, all_tests):
    result = bazel.run("build", "//:negative_budget_test", "--symlink_prefix=/", check=False)
    assert result.returncode != 0
    assert (
        '//:negative_budget_test: max_size_mib is "-1"; give a positive number of MiB, '
        "e.g. 110 or 19.5" in result.stderr
    ), result.stderr[-3000:]


def test_the_report_is_reproducible_and_names_no_host_path(bazel, bin_dir, wheel):
    page = (bin_dir / "report.html").read_bytes()
    titled = (bin_dir / "report_titled.html").read_bytes()
    assert titled == (bin_dir / "report_of_copy.html").read_bytes()
    text = page.decode("utf-8")
    assert f"Size of {wheel.name}" in text
    for host in (str(bazel.output_base), str(bazel.workspace), str(REPO_ROOT)):
        assert host not in text


def test_the_report_lists_the_extension_and_its_largest_section(bin_dir, wheel):
    with zipfile.ZipFile(wheel) as archive:
        library = archive.read("sizepkg/_native.so")
    elf = ELFFile(io.BytesIO(library))
    sections = sorted(
        (
            (0 if section["sh_type"] == "SHT_NOBITS" else section["sh_size"], section.name)
            for section in elf.iter_sections()
            if section["sh_type"] != "SHT_NULL"
        ),
        key=lambda item: (-item[0], item[1]),
    )
    assert sections[0][1] == ".rodata" and sections[0][0] >= 96 * 1024  # the C table
    text = (bin_dir / "report.html").read_text(encoding="utf-8")
    libraries = text[text.index('id="libraries"') : text.index('id="members"')]
    assert "<code>sizepkg/_native.so</code>" in libraries
    for size, name in sections[:3]:
        assert f"<code>{name}</code> {_mib(size)} ({size:,} bytes)" in libraries


class _Dom(html.parser.HTMLParser):
    """The leaves of each treemap and the root's attributes, from a DOM dump."""

    def __init__(self) -> None:
        super().__init__()
        self.root: dict[str, str | None] = {}
        self.maps: dict[str, list[dict[str, str | None]]] = {}
        self._map = ""

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag == "html":
            self.root = values
        elif tag == "svg" and "treemap" in (values.get("class") or ""):
            self._map = values["id"] or ""
            self.maps[self._map] = []
        elif tag == "rect" and "leaf" in (values.get("class") or ""):
            self.maps[self._map].append(values)


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    assert path, (
        f"Debian's chromium is needed for the size report's browser check: {CHROMIUM_INSTALL}"
    )
    return path


def _run_chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    command = [
        _chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--hide-scrollbars",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        *args,
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def test_the_report_renders_in_chromium_with_areas_proportional_to_sizes(tmp_path, bin_dir, infos):
    page = tmp_path / "report.html"
    shutil.copyfile(bin_dir / "report.html", page)  # offline: a plain file, nothing else
    screenshot = tmp_path / "wheel_size_report.png"
    _run_chromium(tmp_path, f"--screenshot={screenshot}", "--window-size=1100,1500", page.as_uri())
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert screenshot.stat().st_size > 10_000  # not a blank page
    artifacts = os.environ.get("TEST_ARTIFACTS_DIR")
    if artifacts:
        Path(artifacts).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(screenshot, Path(artifacts) / screenshot.name)

    dom = _Dom()
    dom.feed(_run_chromium(tmp_path, "--dump-dom", page.as_uri()).stdout)
    leaves = [leaf for leaves in dom.maps.values() for leaf in leaves]
    assert dom.root.get("data-measured") == str(len(leaves)), "the page's script did not run"
    expected = {
        "map-size": {info.filename: info.file_size for info in infos if info.file_size},
        "map-compressed": {
            info.filename: info.compress_size for info in infos if info.compress_size
        },
    }
    assert sorted(dom.maps) == sorted(expected)
    for map_id, rects in dom.maps.items():
        assert {rect["data-path"] for rect in rects} == set(expected[map_id])
        areas = {
            rect["data-path"]: float(rect["data-rendered-width"] or 0)
            * float(rect["data-rendered-height"] or 0)
            for rect in rects
        }
        rendered_total = sum(areas.values())
        # The map is 1000 x 560 px and the rectangles tile it.
        assert rendered_total == pytest.approx(1000 * 560, rel=1e-3)
        size_total = sum(expected[map_id].values())
        for path, size in expected[map_id].items():
            assert areas[path] == pytest.approx(rendered_total * size / size_total, abs=2.0), (
                map_id,
                path,
            )


# --- the Bazel 7.7.1 + bzlmod lane (scripts/forky.sh) -------------------------

FORKY = REPO_ROOT / "scripts" / "forky.sh"
# The Bazel 4 wheel, copied into the Bazel 7 workspace: the same input must
# give the same report whatever Bazel runs the tool.
BAZEL4_REPORT = """
wheel_size_report(
    name = "bazel4_wheel_report",
    title = "size report",
    wheel = "bazel4.whl",
)
"""


@pytest.fixture(scope="module")
def bazel7(wheel, tmp_path_factory) -> Path:
    """The workspace after Bazel 7.7.1 (forky root, bzlmod) tested and built it."""
    subprocess.run([str(FORKY), "create"], check=True)
    workdir = tmp_path_factory.mktemp("wheel_size_bazel7")
    workspace = copy_workspace(FIXTURE, workdir / "ws", bzlmod=True)
    shutil.copyfile(wheel, workspace / "bazel4.whl")
    with (workspace / "BUILD.bazel").open("a") as build:
        build.write(BAZEL4_REPORT)
    bazel = f"bazel --output_user_root={workdir / 'ur'}"
    flags = "--nosandbox_debug --enable_bzlmod --symlink_prefix=/"
    targets = [*PASSING, "//:report", "//:report_titled", "//:bazel4_wheel_report"]
    script = "\n".join(
        [
            "set -eu",
            f"cd {workspace}",
            f"{bazel} test {flags} {' '.join(targets)} >bazel.log 2>&1"
            f" || {{ tail -n 80 bazel.log; {bazel} shutdown; exit 1; }}",
            f"{bazel} info {flags} bazel-bin >bin.txt 2>/dev/null",
            f"{bazel} shutdown",
        ]
    )
    (workdir / "run.sh").write_text(script + "\n")
    result = subprocess.run(
        [str(FORKY), "run", "--bind", str(workdir), "--", "bash", str(workdir / "run.sh")],
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-10000:] + result.stderr[-4000:]
    yield workspace
    remove_tree(workdir)


def test_bazel7_bzlmod_size_tests_pass_and_the_report_matches_bazel4(bazel7, bin_dir):
    log = (bazel7 / "bazel.log").read_text()
    assert f"Executed {len(PASSING)} out of {len(PASSING)} tests: {len(PASSING)} tests pass" in log
    bin7 = Path((bazel7 / "bin.txt").read_text().strip())
    # Bazel 7's own wheel (another CPython, another compiler) gets a report too.
    (wheel7,) = bin7.glob("wheel_size_fixture-1.0-*.whl")
    assert f"Size of {wheel7.name}" in (bin7 / "report.html").read_text()
    # The Bazel 4 wheel's report, made by Bazel 7, is Bazel 4's byte for byte.
    titled4 = (bin_dir / "report_titled.html").read_bytes()
    assert (bin7 / "bazel4_wheel_report.html").read_bytes() == titled4
    # The members Bazel does not compile are the same bytes in both wheels.
    with zipfile.ZipFile(wheel7) as new:
        manifest7 = json.loads((bin7 / "size_test.size.json").read_text())
        assert manifest7["members"] == {
            info.filename: {"compressed": info.compress_size, "size": info.file_size}
            for info in new.infolist()
            if not info.is_dir()
        }
    manifest4 = json.loads((bin_dir / "size_test.size.json").read_text())
    for member in ("sizepkg/__init__.py", "sizepkg/table.txt"):
        assert manifest7["members"][member] == manifest4["members"][member]
