"""Tests greet from its sources."""

import io
import unittest
from contextlib import redirect_stdout

from greet import greeting
from greet.cli import main


class GreetTest(unittest.TestCase):
    def test_greeting(self):
        self.assertEqual(greeting("Ada"), "Hello, Ada!")

    def test_cli(self):
        out = io.StringIO()
        with redirect_stdout(out):
            self.assertEqual(main(["--name", "Grace"]), 0)
        self.assertEqual(out.getvalue(), "Hello, Grace!\n")


if __name__ == "__main__":
    unittest.main()
