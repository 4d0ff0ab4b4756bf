"""setup.py for fastmath, for projects that build wheels the setuptools way.

rules_ml_wheels runs `python -m build --wheel --no-isolation` on a staged tree
holding these project files and the wheel's inputs, and passes the wheel's
name and version in ML_WHEEL_DISTRIBUTION / ML_WHEEL_VERSION, in a fixed
environment (docs/environment-variables.md). The extension is already
compiled by Bazel: it is shipped as package data, and the build fails if the
wheel ends up with no compiled file (e.g. without "*.so" in package_data).
"""

import os
from pathlib import Path

from setuptools import Distribution, setup


class BinaryDistribution(Distribution):
    """Marks the wheel as platform-specific: it carries a compiled extension."""

    def has_ext_modules(self):
        return True


def read_requirements():
    """The real work a setup.py does here: requirements from a file."""
    lines = Path(__file__).with_name("requirements.txt").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


setup(
    name=os.environ["ML_WHEEL_DISTRIBUTION"],
    version=os.environ["ML_WHEEL_VERSION"],
    description="Dot products in C (rules_ml_wheels extension example, setuptools mode).",
    long_description=Path(__file__).with_name("README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    packages=["fastmath"],
    package_data={"fastmath": ["*.so", "data/*.json"]},
    install_requires=read_requirements(),
    python_requires=">=3.9",
    distclass=BinaryDistribution,
)
