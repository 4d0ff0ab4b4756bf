"""pytest tests of calc, run by Bazel: `bazel test //tests:calc_test`."""

import sys

import calc
import pytest


def _variant() -> str:
    """--variant=wheel or --variant=sources, from the BUILD file."""
    (arg,) = [a for a in sys.argv[1:] if a.startswith("--variant=")]
    return arg.split("=", 1)[1]


VARIANT = _variant()


def test_mean():
    assert calc.mean([1.0, 2.0, 6.0]) == 3.0


def test_mean_of_nothing():
    with pytest.raises(ValueError, match="mean of no values"):
        calc.mean([])


def test_variant():
    # The py_import of the wheel puts it in a directory named after the target.
    assert ("calc_import" in calc.__file__) == (VARIANT == "wheel"), calc.__file__


def test_pytest_comes_from_bazel():
    # From the pinned wheel Bazel unpacked, not from an interpreter's site-packages.
    assert "site-packages" not in pytest.__file__, pytest.__file__


if __name__ == "__main__":
    # No cache directory in the (read-only) runfiles; quiet, verbose failures.
    sys.exit(pytest.main([__file__, "-p", "no:cacheprovider", "-q"]))
