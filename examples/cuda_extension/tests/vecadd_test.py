"""vecadd from its wheel: results, and how it reports the device it found.

On a machine without a GPU (or without NVIDIA's driver), add() runs on the
CPU and device_status() says "no CUDA device: <reason>"; with a GPU the
kernel computes the result, which is checked the same way.
"""

import sys
import unittest

import vecadd


def _cuda_build() -> bool:
    """--cuda=on or --cuda=off (from BUILD): whether the wheel was built with a toolkit."""
    for arg in sys.argv[1:]:
        if arg.startswith("--cuda="):
            sys.argv.remove(arg)
            return arg.split("=", 1)[1] == "on"
    raise SystemExit("pass --cuda=on or --cuda=off")


CUDA_BUILD = _cuda_build()


class VecaddTest(unittest.TestCase):
    def test_imported_from_the_wheel(self):
        self.assertIn("vecadd_import", vecadd._native.__file__)

    def test_add(self):
        n = 1000  # more than one block of 256 threads
        a = [float(i) for i in range(n)]
        b = [0.5 * i for i in range(n)]
        self.assertEqual(vecadd.add(a, b), [1.5 * i for i in range(n)])

    def test_add_length_mismatch(self):
        with self.assertRaisesRegex(ValueError, "same length"):
            vecadd.add([1.0], [1.0, 2.0])

    def test_device_status_matches_the_backend(self):
        status = vecadd.device_status()
        if vecadd.backend() == "cuda":
            self.assertRegex(status, r"^cuda: [1-9][0-9]* devices?$")
        elif CUDA_BUILD:
            self.assertRegex(status, r"^no CUDA device: \S")
        else:
            self.assertEqual(status, "built without CUDA")
        print(f"vecadd backend: {vecadd.backend()} ({status})")

    def test_runtime_version(self):
        version = vecadd.cuda_runtime_version()
        if CUDA_BUILD:
            self.assertGreaterEqual(version, 12000)
        else:
            self.assertIsNone(version)


if __name__ == "__main__":
    unittest.main()
