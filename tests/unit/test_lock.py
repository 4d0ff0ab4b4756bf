"""The helpers' lock file: pure wheels, pinned by URL and sha256, matching requirements.in."""

from __future__ import annotations

import re
import urllib.parse

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename

from .helpers import TOOLS

REQUIRED = {
    "packaging",
    "build",
    "pyproject-hooks",
    "setuptools",
    "wheel",
    "tomli",
    "auditwheel",
    "pyelftools",
}


def _logical_lines(text: str) -> list[str]:
    lines, current = [], ""
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].rstrip() if not raw.lstrip().startswith("#") else ""
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        if current.strip():
            lines.append(current.strip())
        current = ""
    return lines


def _pins() -> dict[str, str]:
    pins = {}
    for line in (TOOLS / "requirements.in").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            req = Requirement(line)
            (spec,) = req.specifier
            assert spec.operator == "==", line
            pins[canonicalize_name(req.name)] = spec.version
    return pins


def test_lock_matches_requirements_in():
    pins = _pins()
    assert set(pins) == REQUIRED
    locked = {}
    for line in _logical_lines((TOOLS / "requirements_lock.txt").read_text()):
        requirement, _, hash_part = line.partition(" --hash=")
        req = Requirement(requirement)
        assert req.url, line
        assert re.fullmatch(r"sha256:[0-9a-f]{64}", hash_part), line
        url = urllib.parse.urlsplit(req.url)
        assert (url.scheme, url.hostname) == ("https", "files.pythonhosted.org"), line
        name, version, _, tags = parse_wheel_filename(url.path.rsplit("/", 1)[-1])
        assert name == canonicalize_name(req.name)
        assert all(t.interpreter.startswith("py") and t.abi == "none" for t in tags), line
        assert all(t.platform == "any" for t in tags), line
        locked[name] = str(version)
    assert locked == pins


def test_update_lock_flags_marker_dependencies_it_would_miss():
    from update_lock import Locked, missing_dependencies, render

    build = Locked(
        name="build",
        version="1.6.1",
        url="https://files.pythonhosted.org/packages/aa/build-1.6.1-py3-none-any.whl",
        sha256="0" * 64,
        requires_dist=(
            "packaging >= 24.0",
            'colorama; os_name == "nt"',
            'tomli >= 1.1.0; python_version < "3.11"',
            'uv >= 0.1.18 ; extra == "uv"',
        ),
    )
    packaging_entry = Locked(
        "packaging", "26.4", build.url.replace("build", "packaging"), "1" * 64, ()
    )
    assert missing_dependencies([build, packaging_entry]) == ["tomli (needed by build 1.6.1)"]

    text = render([packaging_entry, build])
    lines = _logical_lines(text)
    assert [line.split()[0] for line in lines] == ["build", "packaging"]
    assert " ".join(lines[0].split()) == f"build @ {build.url} --hash=sha256:{'0' * 64}"
