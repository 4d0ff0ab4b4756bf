"""wheel_coverage: reading a wheel's files, placing the tests' files, ignore
globs, the verdict and its message, and the command line.

Wheels are written here with the standard library's zipfile and a RECORD
written by hand; manifests are JSON written by hand in the shape
wheel_test_deps_coverage_test writes (tests/starlark/coverage_test.bzl checks
that shape against the rule).
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from ml_wheels.coverage.check import (
    Manifest,
    Source,
    check,
    default_packages,
    directory_map,
    format_result,
    ignore_matches,
    parse_manifest,
    place,
    wheel_files,
)
from ml_wheels.errors import WheelError

WHEEL_COVERAGE = Path(__file__).resolve().parents[2] / "tools" / "wheel_coverage.py"
NAME = "covpkg-1.0-py3-none-any.whl"
DIST_INFO = "covpkg-1.0.dist-info"
TEST = "//tests:covpkg_test"


def make_wheel(path: Path, members: list[str], record: list[str] | None = None) -> Path:
    """A wheel holding `members` (each with a line of text); RECORD lists `record`
    (default: the members), with no hashes (allowed for listing)."""
    listed = members if record is None else record
    lines = [f"{name},," for name in listed] + [f"{DIST_INFO}/RECORD,,"]
    with zipfile.ZipFile(path, "w") as archive:
        for name in members:
            archive.writestr(name, f"# {name}\n")
        archive.writestr(f"{DIST_INFO}/METADATA", "Metadata-Version: 2.1\nName: covpkg\n")
        archive.writestr(f"{DIST_INFO}/RECORD", "\n".join(lines) + "\n")
    return path


def source(short_path: str, mapped: str = "", tests: tuple[str, ...] = (TEST,)) -> Source:
    return Source(short_path, short_path, mapped or short_path, tests)


def manifest(
    sources: list[Source],
    packages: tuple[str, ...] = ("covpkg",),
    ignore: tuple[str, ...] = (),
    contents: dict[str, str] | None = None,
    explicit: bool = False,
) -> Manifest:
    return Manifest("//:coverage_test", packages, ignore, explicit, tuple(sources), contents)


# --- the wheel's files ------------------------------------------------------


def test_wheel_files_are_what_record_lists_and_the_archive_holds(tmp_path):
    wheel = make_wheel(
        tmp_path / NAME,
        ["covpkg/__init__.py", "covpkg/core.py", "covpkg/unlisted.py"],
        record=["covpkg/__init__.py", "covpkg/core.py", "covpkg/absent.py"],
    )
    assert wheel_files(str(wheel)) == {
        "covpkg/__init__.py",
        "covpkg/core.py",
        f"{DIST_INFO}/RECORD",
    }


def test_a_zip_without_record_is_refused_naming_the_file(tmp_path):
    path = tmp_path / NAME
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("covpkg/__init__.py", "")
    with pytest.raises(WheelError) as error:
        wheel_files(str(path))
    assert str(path) in str(error.value)
    assert "exactly one <name>-<version>.dist-info/RECORD" in str(error.value)
    assert "(found: none)" in str(error.value)


def test_not_a_zip_is_refused(tmp_path):
    path = tmp_path / NAME
    path.write_bytes(b"not a zip at all" * 10)
    with pytest.raises(WheelError) as error:
        wheel_files(str(path))
    assert str(path) in str(error.value)


def test_default_packages_are_top_level_python_directories_and_modules():
    files = [
        "covpkg/__init__.py",
        "covpkg/sub/x.py",
        "six.py",
        "data_only/table.txt",
        f"{DIST_INFO}/RECORD",
        "covpkg-1.0.data/scripts/tool.py",
    ]
    assert default_packages(files) == ("covpkg", "six.py")


# --- ignore entries ---------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("covpkg/testing/**", "covpkg/testing/helpers.py", True),
        ("covpkg/testing/**", "covpkg/testing/deep/er.py", True),
        ("covpkg/testing/**", "covpkg/testing_not.py", False),
        ("covpkg/*.py", "covpkg/a.py", True),
        ("covpkg/*.py", "covpkg/sub/a.py", False),
        ("**/conftest.py", "conftest.py", True),
        ("**/conftest.py", "covpkg/sub/conftest.py", True),
        ("**/conftest.py", "covpkg/sub/my_conftest.py", False),
        ("covpkg/?.py", "covpkg/a.py", True),
        ("covpkg/?.py", "covpkg/ab.py", False),
        ("covpkg/[ab].py", "covpkg/b.py", True),
        ("covpkg/[!ab].py", "covpkg/b.py", False),
        # Plain paths: the file, or a directory and everything below it.
        ("covpkg/extra.py", "covpkg/extra.py", True),
        ("covpkg/testing", "covpkg/testing/helpers.py", True),
        ("covpkg/testing/", "covpkg/testing/helpers.py", True),
        ("covpkg/test", "covpkg/testing/helpers.py", False),
        # Dots are literal.
        ("covpkg/a.py", "covpkg/aXpy", False),
    ],
)
def test_ignore_entries(pattern, path, matches):
    assert ignore_matches(pattern, [path]) is matches


# --- placing the tests' files -----------------------------------------------


def test_files_of_the_wheel_are_where_the_wheel_has_them():
    item = source("src/covpkg/core.py")
    m = manifest([item], contents={"src/covpkg/core.py": "covpkg/core.py"})
    assert place(item, m, directory_map(m)) == "covpkg/core.py"


def test_other_files_go_beside_the_nearest_directory_the_wheel_has_files_from():
    contents = {
        "src/covpkg/core.py": "covpkg/core.py",
        "third_party/foo/x.py": "covpkg/_vendor/foo/x.py",
    }
    items = [
        source("src/covpkg/extra.py"),
        source("src/covpkg/new/deep/x.py"),
        source("third_party/foo/y.py"),
        source("tests/helper.py"),
    ]
    m = manifest(items, contents=contents)
    directories = directory_map(m)
    assert [place(i, m, directories) for i in items] == [
        "covpkg/extra.py",
        "covpkg/new/deep/x.py",
        "covpkg/_vendor/foo/y.py",
        "tests/helper.py",  # no directory of it in the wheel: its own path
    ]


def test_renamed_files_and_ambiguous_directories_teach_nothing():
    contents = {
        "src/covpkg/a.py": "covpkg/renamed.py",  # renamed: no directory mapping
        "gen/x/b.py": "one/b.py",
        "gen/x/c.py": "two/c.py",  # gen/x went two places: no mapping
    }
    assert directory_map(manifest([], contents=contents)) == {}


def test_trees_map_their_directory():
    m = Manifest("//:t", ("covpkg",), (), False, (), {}, {"gen/covpkg_data": "covpkg/data"})
    assert place(source("gen/covpkg_data/x.py"), m, directory_map(m)) == "covpkg/data/x.py"


def test_explicit_mapping_wins_over_what_the_wheel_teaches():
    item = source("src/covpkg/extra.py", mapped="elsewhere/extra.py")
    m = manifest([item], contents={"src/covpkg/core.py": "covpkg/core.py"}, explicit=True)
    assert place(item, m, directory_map(m)) == "elsewhere/extra.py"


# --- the verdict ------------------------------------------------------------


def test_missing_files_are_named_with_their_tests_and_the_fix():
    files = frozenset({"covpkg/__init__.py", "covpkg/core.py"})
    items = [
        source("covpkg/__init__.py"),
        source("covpkg/core.py"),
        source("covpkg/extra.py", tests=("//tests:a_test", "//tests:b_test")),
        source("covpkg/testing/helpers.py"),
        source("tests/covpkg_test.py"),  # outside the packages: not checked
    ]
    m = manifest(items, ignore=("covpkg/testing/**", "covpkg/gone.py"))
    result = check(m, files)
    assert result.checked == 4
    assert [x.wheel_path for x in result.missing] == ["covpkg/extra.py"]
    assert result.ignored == ("covpkg/testing/helpers.py",)
    assert result.unused_ignore == ("covpkg/gone.py",)
    passed, text = format_result(m, NAME, result)
    assert not passed
    assert text.splitlines() == [
        f"FAIL: //:coverage_test: 1 Python file that the tests depend on is not in {NAME} "
        "(checked packages: covpkg):",
        "  covpkg/extra.py (source covpkg/extra.py), pulled in by //tests:a_test, //tests:b_test",
        "  ignored: covpkg/testing/helpers.py",
        "  note: ignore entry 'covpkg/gone.py' matched no file of the tests; drop it",
        "Fix: add each to the wheel's srcs (the python_wheel's srcs, or the wheel_sources / "
        "py_library it takes them from), or, when the wheel must not ship it, list it in ignore "
        'of //:coverage_test (a repository or wheel path, or a glob such as "mypkg/testing/**").',
    ]


def test_an_ignored_file_the_wheel_holds_is_simply_held():
    files = frozenset({"covpkg/a.py"})
    m = manifest([source("covpkg/a.py")], ignore=("covpkg/a.py",))
    result = check(m, files)
    assert result.missing == () and result.ignored == () and result.unused_ignore == ()
    passed, text = format_result(m, NAME, result)
    assert passed
    assert text == (
        f"PASS: //:coverage_test: {NAME} holds the 1 Python file the tests depend on inside "
        "its packages (covpkg).\n"
    )


def test_many_tests_are_summed_up():
    tests = tuple(f"//t:{i}" for i in range(5))
    m = manifest([source("covpkg/x.py", tests=tests)])
    _, text = format_result(m, NAME, check(m, frozenset({"covpkg/y.py"})))
    assert "pulled in by //t:0, //t:1, //t:2 and 2 more" in text


def test_packages_default_to_the_wheels_own():
    files = frozenset({"covpkg/a.py", "other/b.py"})
    m = manifest([source("covpkg/c.py"), source("other/d.py"), source("third/e.py")], packages=())
    result = check(m, files)
    assert result.packages == ("covpkg", "other")
    assert [x.wheel_path for x in result.missing] == ["covpkg/c.py", "other/d.py"]


def test_a_package_the_wheel_lacks_is_an_error_listing_the_wheels():
    m = manifest([source("covpkg/a.py")], packages=("covpgk",))
    passed, text = format_result(m, NAME, check(m, frozenset({"covpkg/a.py"})))
    assert not passed
    assert text.startswith(f"FAIL: //:coverage_test: packages covpgk hold no file of {NAME}")
    assert "(its top-level packages: covpkg)" in text


def test_checking_nothing_fails_and_points_at_packages_and_mapping():
    m = manifest([source("src/covpkg/a.py")])
    passed, text = format_result(m, NAME, check(m, frozenset({"covpkg/a.py"})))
    assert not passed
    assert "none of the 1 Python files of the tests lies in the checked packages (covpkg)" in text
    assert "strip_path_prefixes/path_remaps" in text


# --- manifest and command line ----------------------------------------------


def _manifest_json(**overrides: object) -> str:
    data: dict[str, object] = {
        "contents": {"src/covpkg/__init__.py": "covpkg/__init__.py"},
        "explicit_mapping": False,
        "ignore": [],
        "label": "//:coverage_test",
        "packages": ["covpkg"],
        "sources": [
            {"mapped": p, "path": p, "short_path": p, "tests": [TEST]}
            for p in ["src/covpkg/__init__.py", "src/covpkg/extra.py"]
        ],
        "trees": {},
    }
    data.update(overrides)
    return json.dumps(data)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("{", "is not JSON"),
        ("[]", "must be a JSON object"),
        (_manifest_json(sources={}), "sources must be a list"),
        (_manifest_json(packages="covpkg"), "packages must be a list of strings"),
        (_manifest_json(sources=[{"path": "a"}]), "lacks path/short_path/mapped"),
        (_manifest_json(contents=["a"]), "contents must map strings to strings"),
    ],
)
def test_bad_manifests_are_refused(text, words):
    with pytest.raises(WheelError, match=words):
        parse_manifest(text)


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    # -I: no PYTHONPATH nor user site; the script finds ml_wheels beside itself.
    return subprocess.run(
        [sys.executable, "-I", str(WHEEL_COVERAGE), *args],
        capture_output=True,
        text=True,
        check=False,
    )


def test_command_line_fails_on_a_forgotten_file_and_passes_once_it_is_in(tmp_path):
    path = tmp_path / "manifest.json"
    path.write_text(_manifest_json())
    forgetful = make_wheel(tmp_path / NAME, ["covpkg/__init__.py"])
    result = _run("--manifest", str(path), str(forgetful))
    assert result.returncode == 1, result.stderr
    assert "  covpkg/extra.py (source src/covpkg/extra.py), pulled in by //tests:covpkg_test" in (
        result.stdout
    )
    whole = tmp_path / "whole"
    whole.mkdir()
    complete = make_wheel(whole / NAME, ["covpkg/__init__.py", "covpkg/extra.py"])
    result = _run("--manifest", str(path), str(complete))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith(f"PASS: //:coverage_test: {NAME} holds the 2 Python files")


def test_command_line_errors_exit_2_with_one_line(tmp_path):
    result = _run("--manifest", str(tmp_path / "missing.json"), str(tmp_path / NAME))
    assert result.returncode == 2
    assert result.stderr.startswith("wheel_coverage: error: ")
    assert "missing.json: cannot read" in result.stderr
    assert "Traceback" not in result.stderr
