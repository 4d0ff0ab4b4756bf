"""Runs against the installed abi3 wheel (installed_wheel_test), never the sources."""

import os
import sys
import sysconfig

import fastmath
import fastmath._native

site_packages = os.path.realpath(sysconfig.get_paths()["platlib"])
for module in (fastmath, fastmath._native):
    where = os.path.realpath(module.__file__)
    assert where.startswith(site_packages + os.sep), (module.__name__, where, site_packages)
assert fastmath._native.__file__.endswith("_native.abi3.so"), fastmath._native.__file__
assert "PYTHONPATH" not in os.environ
# Nothing from the runfiles but the interpreter's own standard library (which
# is in the runfiles where a remote worker or a copied tree runs the test).
stdlib = os.path.realpath(sys.base_prefix) + os.sep
from_runfiles = [p for p in sys.path if "runfiles" in p]
assert not [p for p in from_runfiles if not os.path.realpath(p).startswith(stdlib)], sys.path
assert fastmath.dot([1, 2], [3, 4]) == 11.0
assert fastmath.norm([3, 4]) == 5.0
assert fastmath.constants()
print("ok: fastmath", fastmath._native.__file__, "on Python", sys.version.split()[0])
