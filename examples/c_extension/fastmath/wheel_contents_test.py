"""Imports fastmath from the built wheel's contents, not from the source tree.

The wheel is unpacked into the test's temporary directory and put first on
sys.path; the test then checks that the module really came from there.
"""

import os
import sys
import tempfile
import unittest
import zipfile

# The wheel's runfiles path, passed by the BUILD file as the first argument.
WHEEL = sys.argv.pop(1) if len(sys.argv) > 1 else ""


def _unpack_wheel() -> str:
    wheel = WHEEL
    target = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(target)
    return target


class WheelContentsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = _unpack_wheel()
        sys.path.insert(0, cls.root)
        for name in [m for m in sys.modules if m == "fastmath" or m.startswith("fastmath.")]:
            del sys.modules[name]
        import fastmath

        cls.fastmath = fastmath

    def test_imported_from_wheel(self):
        self.assertTrue(self.fastmath.__file__.startswith(self.root), self.fastmath.__file__)
        self.assertTrue(self.fastmath._native.__file__.startswith(self.root))

    def test_extension_works(self):
        self.assertEqual(self.fastmath.dot([1.5, 2], [2, 4]), 11.0)

    def test_data_file_shipped(self):
        self.assertIn("golden_ratio", self.fastmath.constants())


if __name__ == "__main__":
    unittest.main()
