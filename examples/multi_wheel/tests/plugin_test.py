"""Tests the plugin against the core: from sources by default, from both built
wheels with --@rules_ml_wheels//python_wheel:wheel_dependency=true."""

import sys
import unittest

import mw_core
import mw_plugin  # registers the plugin


def _variant() -> str:
    """Which variant this run tests: --variant=wheel or --variant=sources (from BUILD)."""
    for arg in sys.argv[1:]:
        if arg.startswith("--variant="):
            sys.argv.remove(arg)
            return arg.split("=", 1)[1]
    raise SystemExit("pass --variant=wheel or --variant=sources")


VARIANT = _variant()


class PluginTest(unittest.TestCase):
    def test_variant(self):
        # Each py_import unpacks its wheel into a directory named after it.
        self.assertEqual("mw_core_import" in mw_core.__file__, VARIANT == "wheel", mw_core.__file__)
        self.assertEqual("mw_plugin_import" in mw_plugin.__file__, VARIANT == "wheel")

    def test_shout(self):
        self.assertEqual(mw_core.apply("shout", "hi"), "HI!")


if __name__ == "__main__":
    unittest.main()
