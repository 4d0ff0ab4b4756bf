"""Tests fastmath from its sources (the extension built by Bazel in place)."""

import unittest

import fastmath


class FastmathTest(unittest.TestCase):
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
