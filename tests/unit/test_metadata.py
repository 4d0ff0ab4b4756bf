"""METADATA, WHEEL and entry_points.txt rendering and validation."""

from __future__ import annotations

import pytest

from ml_wheels import __version__
from ml_wheels.errors import WheelError
from ml_wheels.metadata import (
    Metadata,
    infer_content_type,
    render_entry_points,
    render_metadata,
    render_wheel,
)

FULL_METADATA = Metadata(
    name="My-Project",
    version="1.2.0-rc1",
    summary="Fast things on accelerators",
    description="# My Project\n\nLong text.\n",
    description_filename="README.md",
    homepage="https://example.org",
    author="Ada Lovelace",
    author_email="ada@example.org",
    license="Apache-2.0",
    keywords=["ml", "xla"],
    classifiers=["Programming Language :: Python :: 3", "License :: OSI Approved"],
    project_urls=[("Source", "https://example.org/src"), ("Issues", "https://example.org/i")],
    requires_python=">=3.10",
    requires_dist=["numpy >= 1.26", "ml_dtypes>=0.4; python_version < '3.13'"],
    extra_requires={
        "CUDA_12": ["nvidia-cublas-cu12>=12.1", "nvidia-nccl-cu12; sys_platform == 'linux'"],
        "tpu": ["libtpu==0.0.1; os_name == 'posix' or os_name == 'nt'"],
    },
)

EXPECTED_METADATA = """\
Metadata-Version: 2.1
Name: My-Project
Version: 1.2.0rc1
Summary: Fast things on accelerators
Home-page: https://example.org
Author: Ada Lovelace
Author-email: ada@example.org
License: Apache-2.0
Keywords: ml,xla
Classifier: Programming Language :: Python :: 3
Classifier: License :: OSI Approved
Project-URL: Source, https://example.org/src
Project-URL: Issues, https://example.org/i
Requires-Python: >=3.10
Requires-Dist: numpy>=1.26
Requires-Dist: ml_dtypes>=0.4; python_version < "3.13"
Provides-Extra: cuda-12
Requires-Dist: nvidia-cublas-cu12>=12.1; extra == "cuda-12"
Requires-Dist: nvidia-nccl-cu12; (sys_platform == "linux") and extra == "cuda-12"
Provides-Extra: tpu
Requires-Dist: libtpu==0.0.1; (os_name == "posix" or os_name == "nt") and extra == "tpu"
Description-Content-Type: text/markdown

# My Project

Long text.
"""


def test_metadata_exact_rendering():
    assert render_metadata(FULL_METADATA) == EXPECTED_METADATA


def test_metadata_minimal_omits_empty_fields():
    assert render_metadata(Metadata(name="x", version="1")) == (
        "Metadata-Version: 2.1\nName: x\nVersion: 1\n"
    )


def test_metadata_is_parsed_back_by_packaging():
    from packaging.metadata import Metadata as PackagingMetadata

    parsed = PackagingMetadata.from_email(EXPECTED_METADATA.encode(), validate=True)
    assert str(parsed.version) == "1.2.0rc1"
    assert [str(r) for r in parsed.requires_dist][-1].startswith("libtpu==0.0.1")
    assert parsed.provides_extra == ["cuda-12", "tpu"]


def test_explicit_content_type_wins():
    meta = Metadata(
        name="x",
        version="1",
        description="text",
        description_filename="README.md",
        description_content_type="text/x-rst",
    )
    assert "Description-Content-Type: text/x-rst\n\ntext" in render_metadata(meta)


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("README.md", "text/markdown"),
        ("README.markdown", "text/markdown"),
        ("docs/README.rst", "text/x-rst"),
        ("README.txt", "text/plain"),
        ("README", "text/plain"),
    ],
)
def test_infer_content_type(filename, expected):
    assert infer_content_type(filename) == expected


def _meta(**fields) -> Metadata:
    return Metadata(name="x", version="1", **fields)


@pytest.mark.parametrize(
    ("fields", "needles"),
    [
        ({"summary": "two\nlines"}, ["Summary", "newline"]),
        ({"author": "a\rb"}, ["Author", "newline"]),
        ({"license": "MIT\nApache"}, ["License", "newline"]),
        ({"classifiers": ["ok", "  "]}, ["Classifier", "empty"]),
        ({"classifiers": ["a\nb"]}, ["Classifier", "newline"]),
        ({"keywords": ["a,b"]}, ["Keywords", "'a,b'"]),
        ({"project_urls": [("Source, code", "https://x")]}, ["Project-URL", "comma"]),
        ({"project_urls": [("", "https://x")]}, ["Project-URL", "label"]),
        ({"requires_python": ">=3.x"}, ["Requires-Python", "'>=3.x'"]),
        ({"requires_dist": ["numpy >>= 1"]}, ["'numpy >>= 1'", "PEP 508"]),
        ({"requires_dist": ["numpy\n>=1"]}, ["Requires-Dist", "newline"]),
        ({"extra_requires": {"cuda": ["bad req ("]}}, ["'bad req ('", "PEP 508", "'cuda'"]),
        ({"extra_requires": {"bad extra": ["x"]}}, ["'bad extra'"]),
        ({"extra_requires": {"Cuda.12": ["x"], "cuda-12": ["y"]}}, ["'Cuda.12'", "'cuda-12'"]),
    ],
)
def test_metadata_validation_names_the_field(fields, needles):
    with pytest.raises(WheelError) as info:
        render_metadata(_meta(**fields))
    for needle in needles:
        assert needle in str(info.value)


def test_metadata_rejects_invalid_name_and_version():
    with pytest.raises(WheelError, match="'bad name'"):
        render_metadata(Metadata(name="bad name", version="1"))
    with pytest.raises(WheelError, match="'one'"):
        render_metadata(Metadata(name="x", version="one"))


def test_wheel_file_exact():
    expected = (
        "Wheel-Version: 1.0\n"
        f"Generator: rules_ml_wheels {__version__}\n"
        "Root-Is-Purelib: false\n"
        "Tag: cp311-cp311-manylinux_2_17_x86_64\n"
        "Tag: cp311-cp311-manylinux2014_x86_64\n"
        "Build: 3\n"
    )
    assert render_wheel("cp311", "cp311", "manylinux_2_17_x86_64.manylinux2014_x86_64", "3") == (
        expected
    )


def test_wheel_file_pure():
    assert render_wheel("py2.py3", "none", "any") == (
        "Wheel-Version: 1.0\n"
        f"Generator: rules_ml_wheels {__version__}\n"
        "Root-Is-Purelib: true\n"
        "Tag: py2-none-any\n"
        "Tag: py3-none-any\n"
    )


def test_entry_points_sorted_exact():
    text = render_entry_points(
        {
            "console_scripts": ["zeta = pkg.cli:main", "alpha=pkg.cli : run [fast, Extra_1]"],
            "ml_wheels.plugins": ["b = pkg.plugins", "a = pkg.plugins.a:Plugin.create"],
        }
    )
    assert text == (
        "[console_scripts]\n"
        "alpha = pkg.cli:run [fast, Extra_1]\n"
        "zeta = pkg.cli:main\n"
        "\n"
        "[ml_wheels.plugins]\n"
        "a = pkg.plugins.a:Plugin.create\n"
        "b = pkg.plugins\n"
    )


def test_entry_points_empty_means_no_file():
    assert render_entry_points({}) == ""
    assert render_entry_points({"console_scripts": []}) == ""


@pytest.mark.parametrize(
    ("entry_points", "needles"),
    [
        ({"console_scripts": ["tool = a:b", "tool = c:d"]}, ["'tool'", "twice", "console_scripts"]),
        ({"console_scripts": ["tool"]}, ["'tool'", "name = module:attr"]),
        ({"console_scripts": ["to[ol = a:b"]}, ["'to[ol'"]),
        ({"console_scripts": [" = a:b"]}, ["''"]),
        ({"console_scripts": ["tool = pkg.cli:"]}, ["'tool'", "'pkg.cli:'"]),
        ({"console_scripts": ["tool = pkg-x:main"]}, ["'pkg-x:main'"]),
        ({"console_scripts": ["bin/tool = a:b"]}, ["'bin/tool'", "path separator"]),
        ({"bad group": ["t = a:b"]}, ["'bad group'"]),
        ({"console_scripts": "t = a:b"}, ["console_scripts", "list"]),
    ],
)
def test_entry_point_validation(entry_points, needles):
    with pytest.raises(WheelError) as info:
        render_entry_points(entry_points)
    for needle in needles:
        assert needle in str(info.value)
