"""Checks that the plugin wheel pins the core wheel's exact version.

Reads both built wheels' METADATA (email-header format) and compares the
plugin's Requires-Dist on the core with the core's own Version.
"""

import sys
import unittest
import zipfile
from email.parser import Parser

CORE_WHEEL, PLUGIN_WHEEL = sys.argv.pop(1), sys.argv.pop(1)


def metadata(path: str):
    with zipfile.ZipFile(path) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        return Parser().parsestr(archive.read(name).decode("utf-8"))


class PinningTest(unittest.TestCase):
    def test_plugin_pins_core_version(self):
        core = metadata(CORE_WHEEL)
        plugin = metadata(PLUGIN_WHEEL)
        self.assertEqual(plugin["Version"], core["Version"])
        self.assertIn(f"{core['Name']}=={core['Version']}", plugin.get_all("Requires-Dist"))

    def test_file_names_carry_the_version(self):
        core = metadata(CORE_WHEEL)
        self.assertIn(f"-{core['Version']}-", CORE_WHEEL)


if __name__ == "__main__":
    unittest.main()
