"""Test-deps coverage of a wheel (``tools/wheel_coverage.py``).

- ``check``: which Python files the tests depend on, inside the wheel's
  packages, the wheel lacks, and the message that says so;
- ``cli``: the command line ``wheel_test_deps_coverage_test`` runs.
"""
