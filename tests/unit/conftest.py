"""Fixtures for the ml_wheels unit tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import make_project


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A small source tree under tmp_path/src."""
    return make_project(tmp_path / "src")
