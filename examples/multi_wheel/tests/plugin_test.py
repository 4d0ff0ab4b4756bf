"""Tests the plugin against the core, from sources."""

import unittest

import mw_core

import mw_plugin  # noqa: F401  (registers the plugin)


class PluginTest(unittest.TestCase):
    def test_shout(self):
        self.assertEqual(mw_core.apply("shout", "hi"), "HI!")


if __name__ == "__main__":
    unittest.main()
