"""Tests fastmath: from its sources (the extension built by Bazel in place) by
default, from the built wheel with --@rules_ml_wheels//python_wheel:wheel_dependency=true."""

import sys
import unittest

import fastmath


def _variant() -> str:
    """Which variant this run tests: --variant=wheel or --variant=sources (from BUILD)."""
    for arg in sys.argv[1:]:
        if arg.startswith("--variant="):
            sys.argv.remove(arg)
            return arg.split("=", 1)[1]
    raise SystemExit("pass --variant=wheel or --variant=sources")


VARIANT = _variant()


class FastmathTest(unittest.TestCase):
    def test_variant(self):
        # The py_import of the wheel unpacks it into a directory named after it.
        from_wheel = "fastmath_import" in fastmath._native.__file__
        self.assertEqual(from_wheel, VARIANT == "wheel", fastmath._native.__file__)

    def test_dot(self):
        self.assertEqual(fastmath.dot([1, 2, 3], [4, 5, 6]), 32.0)

    def test_dot_length_mismatch(self):
        with self.assertRaisesRegex(ValueError, "same length"):
            fastmath.dot([1], [1, 2])

    def test_norm(self):
        self.assertEqual(fastmath.norm([3, 4]), 5.0)

    def test_constants(self):
        self.assertAlmostEqual(fastmath.constants()["sqrt2"] ** 2, 2.0)


if __name__ == "__main__":
    unittest.main()
