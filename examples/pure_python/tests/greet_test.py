"""Tests greet: from its sources by default, from the built wheel with
--@rules_ml_wheels//python_wheel:wheel_dependency=true."""

import io
import sys
import unittest
from contextlib import redirect_stdout

import greet
from greet import greeting
from greet.cli import main


def _variant() -> str:
    """Which variant this run tests: --variant=wheel or --variant=sources (from BUILD)."""
    for arg in sys.argv[1:]:
        if arg.startswith("--variant="):
            sys.argv.remove(arg)
            return arg.split("=", 1)[1]
    raise SystemExit("pass --variant=wheel or --variant=sources")


VARIANT = _variant()


class GreetTest(unittest.TestCase):
    def test_variant(self):
        # The py_import of the wheel unpacks it into a directory named after it.
        from_wheel = "greet_import" in greet.__file__
        self.assertEqual(from_wheel, VARIANT == "wheel", greet.__file__)

    def test_greeting(self):
        self.assertEqual(greeting("Ada"), "Hello, Ada!")

    def test_cli(self):
        out = io.StringIO()
        with redirect_stdout(out):
            self.assertEqual(main(["--name", "Grace"]), 0)
        self.assertEqual(out.getvalue(), "Hello, Grace!\n")


if __name__ == "__main__":
    unittest.main()
