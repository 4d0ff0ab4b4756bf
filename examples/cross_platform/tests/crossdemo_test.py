"""The crossdemo wheel's contents, the same file for every way it is built.

Run by Bazel against a py_import of one wheel (natively for x86_64, under
qemu for aarch64). Arguments: --machine=M (what platform.machine() must be),
--import-dir=D (the py_import directory crossdemo must come from),
--getrandom=getrandom|syscall (how the build reaches getrandom: the glibc
function from 2.25 on, else the system call).
"""

from __future__ import annotations

import errno
import os
import platform
import re
import sys
import tempfile
import unittest

OPTIONS: dict[str, str] = {}


class CrossdemoTest(unittest.TestCase):
    """Each claim of the example, checked on the code of the wheel."""

    def test_runs_on_the_expected_machine(self) -> None:
        print(f"CROSSDEMO machine={platform.machine()}")
        self.assertEqual(platform.machine(), OPTIONS["machine"])

    def test_imported_from_the_unpacked_wheel(self) -> None:
        import crossdemo
        from crossdemo import _cext, _cxxext

        for module in (crossdemo, _cext, _cxxext):
            path = module.__file__.replace(os.sep, "/")
            print(f"CROSSDEMO module={path}")
            self.assertIn(f"/{OPTIONS['import-dir']}/crossdemo/", path)
        self.assertTrue(_cext.__file__.endswith(".so"), _cext.__file__)

    def test_stat_and_fcntl(self) -> None:
        import crossdemo

        with tempfile.TemporaryDirectory() as directory:
            path = os.path.join(directory, "probe.txt")
            with open(path, "w") as stream:
                stream.write("b a  b\nc " * 100)
            self.assertEqual(crossdemo.file_size(path), 900)
            self.assertEqual(crossdemo.file_words(path)[:4], ["b", "a", "b", "c"])
            self.assertEqual(len(crossdemo.file_words(path)), 400)
            missing = os.path.join(directory, "missing")
            for function in (crossdemo.file_size, crossdemo.file_words):
                with self.assertRaises(OSError) as raised:
                    function(missing)
                self.assertEqual(raised.exception.errno, errno.ENOENT)
                self.assertEqual(raised.exception.filename, missing)

    def test_getrandom(self) -> None:
        import crossdemo

        print(f"CROSSDEMO getrandom={crossdemo.GETRANDOM}")
        self.assertEqual(crossdemo.GETRANDOM, OPTIONS["getrandom"])
        draws = {crossdemo.random_bytes(32) for _ in range(4)}
        self.assertEqual({len(d) for d in draws}, {32})
        self.assertEqual(len(draws), 4)
        self.assertRegex(crossdemo.random_hex(16), re.compile("^[0-9a-f]{32}$"))
        self.assertEqual(crossdemo.random_bytes(0), b"")
        with self.assertRaisesRegex(ValueError, "length must be 0..256"):
            crossdemo.random_bytes(257)

    def test_std_api(self) -> None:
        import crossdemo

        self.assertEqual(crossdemo.split("  b a\tb\nc "), ["b", "a", "b", "c"])
        self.assertEqual(crossdemo.split("ünïcode wörds"), ["ünïcode", "wörds"])

    def test_cxx_exception_becomes_a_python_exception(self) -> None:
        import crossdemo

        with self.assertRaises(ValueError) as raised:
            crossdemo.split(" \t\n")
        self.assertEqual(str(raised.exception), 'no words in " \t\n"')
        self.assertEqual(crossdemo.round_trip("thrown in words.cc"), "thrown in words.cc")
        print("CROSSDEMO exceptions=ok")


if __name__ == "__main__":
    for argument in sys.argv[1:]:
        key, _, value = argument.removeprefix("--").partition("=")
        OPTIONS[key] = value
    missing = {"machine", "import-dir", "getrandom"} - set(OPTIONS)
    if missing:
        sys.exit(f"crossdemo_test.py: missing {', '.join(sorted(missing))}; see its docstring")
    unittest.main(argv=[sys.argv[0]], verbosity=2)
