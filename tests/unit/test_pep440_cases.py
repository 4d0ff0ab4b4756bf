"""Cross-checks the Starlark PEP 440 test table against `packaging`.

tests/starlark/pep440_cases.json is the table the Starlark normalizer is
tested with (a diff_test keeps the two in sync); here an independent
implementation confirms every expectation in it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from packaging.version import InvalidVersion, Version

CASES = json.loads((Path(__file__).parents[1] / "starlark" / "pep440_cases.json").read_text())[
    "cases"
]


@pytest.mark.parametrize("case", CASES, ids=[repr(c["input"]) for c in CASES])
def test_table_agrees_with_packaging(case):
    try:
        normalized = str(Version(case["input"]))
    except InvalidVersion:
        normalized = None
    assert normalized == case["expected"]


def test_table_is_substantial():
    assert sum(c["expected"] is None for c in CASES) >= 10
    assert sum(c["expected"] is not None for c in CASES) >= 40
