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


# --- line breaks, control characters and look-alike names (issue 10) -------


def test_newline_in_extra_name_is_refused_not_injected():
    # Before: "$" accepted "cuda\n", METADATA got "Provides-Extra: cuda\n" plus
    # an empty line that ended the headers, and the Requires-Dist vanished.
    meta = _meta(extra_requires={"cuda\n": ["nvidia-cublas-cu12"]})
    with pytest.raises(WheelError) as info:
        render_metadata(meta)
    assert str(info.value) == (
        "extra name 'cuda\\n' is not valid; use letters, digits and '-', '_', '.' "
        "between them, e.g. 'cuda12'"
    )


@pytest.mark.parametrize("extra", ["gpu\u017f", "\u212aernel", "cu\r", "cu\x01da"])
def test_extra_names_pip_rejects_are_refused(extra):
    from packaging.requirements import InvalidRequirement, Requirement

    with pytest.raises(InvalidRequirement):
        Requirement(f"demo[{extra}]")
    with pytest.raises(WheelError, match="is not valid"):
        render_metadata(_meta(extra_requires={extra: ["x"]}))


def test_entry_point_extras_with_lookalike_letters_are_refused():
    with pytest.raises(WheelError, match="extra name 'fa\u017ft' is not valid"):
        render_entry_points({"console_scripts": ["t = pkg.cli:main [fa\u017ft]"]})


@pytest.mark.parametrize("group", ["console_scripts\n", "console_scripts\r", "gui_scr\u017fpts"])
def test_entry_point_group_with_newline_is_refused(group):
    # Before: "console_scripts\n" passed and wrote a section pip never reads.
    with pytest.raises(WheelError) as info:
        render_entry_points({group: ["tool = pkg.cli:main"]})
    assert str(info.value).startswith(f"entry point group {group!r} is not valid")


@pytest.mark.parametrize(
    "entry", ["tool = pkg.cli:main\n", "tool = pkg.cli:main\x0b", "to\x01ol = pkg.cli:main"]
)
def test_entry_point_with_control_character_is_refused(entry):
    with pytest.raises(WheelError) as info:
        render_entry_points({"console_scripts": [entry]})
    assert "metadata field entry_points.txt [console_scripts] contains" in str(info.value)


@pytest.mark.parametrize(
    ("fields", "field_name", "char"),
    [
        ({"summary": "a\x0bb"}, "Summary", "'\\x0b'"),
        ({"summary": "a\x85b"}, "Summary", "'\\x85'"),
        ({"summary": "a\u2028b"}, "Summary", "'\\u2028'"),
        ({"author": "a\x01"}, "Author", "'\\x01'"),
        ({"homepage": "https://x/\x1b[31m"}, "Home-page", "'\\x1b'"),
        ({"maintainer": "M\x00"}, "Maintainer", "'\\x00'"),
        ({"maintainer_email": "m@x\x0c"}, "Maintainer-email", "'\\x0c'"),
        ({"keywords": ["a\tb"]}, "Keywords", "'\\t'"),
        ({"classifiers": ["x\x7f"]}, "Classifier", "'\\x7f'"),
        ({"project_urls": [("Src", "https://x\x1c")]}, "Project-URL", "'\\x1c'"),
        ({"requires_python": ">=3.10\x1e"}, "Requires-Python", "'\\x1e'"),
        ({"requires_dist": ["numpy\x0b"]}, "Requires-Dist", "'\\x0b'"),
        ({"license_expression": "MIT\x1f"}, "License-Expression", "'\\x1f'"),
        ({"license_files": ["LICENSE\x01"]}, "License-File", "'\\x01'"),
        (
            {"description": "x", "description_content_type": "text/plain\x00"},
            "Description-Content-Type",
            "'\\x00'",
        ),
    ],
)
def test_control_characters_refused_in_every_field(fields, field_name, char):
    with pytest.raises(WheelError) as info:
        render_metadata(_meta(**fields))
    assert str(info.value).startswith(
        f"metadata field {field_name} contains the control character {char}"
    )


def test_description_body_may_hold_line_breaks_and_tabs():
    text = render_metadata(_meta(description="a\n\tb\r\nc\x0c\n"))
    assert text.endswith("Description-Content-Type: text/plain\n\na\n\tb\r\nc\x0c\n")


# --- core metadata 2.4: License-Expression, License-File, Maintainer --------


def test_metadata_2_4_fields_exact():
    meta = _meta(
        maintainer="Grace Hopper",
        maintainer_email="grace@example.org",
        license_expression="apache-2.0 or mit",
        license_files=["NOTICE", "LICENSE", "vendor/zlib/LICENSE"],
    )
    assert render_metadata(meta) == (
        "Metadata-Version: 2.4\n"
        "Name: x\n"
        "Version: 1\n"
        "Maintainer: Grace Hopper\n"
        "Maintainer-email: grace@example.org\n"
        "License-Expression: Apache-2.0 OR MIT\n"
        "License-File: LICENSE\n"
        "License-File: NOTICE\n"
        "License-File: vendor/zlib/LICENSE\n"
    )


@pytest.mark.parametrize(
    ("fields", "version"),
    [
        ({}, "2.1"),
        ({"maintainer": "M", "license": "Custom"}, "2.1"),
        ({"license_expression": "MIT"}, "2.4"),
        ({"license_files": ["LICENSE"]}, "2.4"),
    ],
)
def test_lowest_metadata_version_that_fits(fields, version):
    assert render_metadata(_meta(**fields)).startswith(f"Metadata-Version: {version}\n")


def test_metadata_2_4_is_parsed_back_by_packaging():
    from packaging.metadata import Metadata as PackagingMetadata

    text = render_metadata(
        _meta(license_expression="MIT", license_files=["LICENSE"], maintainer="M")
    )
    parsed = PackagingMetadata.from_email(text.encode(), validate=True)
    assert parsed.metadata_version == "2.4"
    assert str(parsed.license_expression) == "MIT"
    assert parsed.license_files == ["LICENSE"]
    assert parsed.maintainer == "M"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"license_expression": "MIT OR"},
            "metadata field License-Expression 'MIT OR' is not a valid SPDX license expression",
        ),
        (
            {"license_expression": "Not-A-License"},
            "metadata field License-Expression 'Not-A-License' is not a valid SPDX",
        ),
        (
            {"license_expression": "MIT", "license": "MIT"},
            "metadata fields License and License-Expression are both set",
        ),
        (
            {
                "license_expression": "MIT",
                "classifiers": ["License :: OSI Approved :: MIT License"],
            },
            "metadata field Classifier 'License :: OSI Approved :: MIT License' is a license "
            "classifier, which PEP 639 forbids next to License-Expression",
        ),
        (
            {"license_files": ["../LICENSE"]},
            "metadata field License-File '../LICENSE' has a '..' component",
        ),
        ({"license_files": ["/LICENSE"]}, "metadata field License-File '/LICENSE' is absolute"),
        (
            {"license_files": ["LICENSE", "LICENSE"]},
            "metadata field License-File lists 'LICENSE' twice; list it once",
        ),
        ({"license_files": "LICENSE"}, "metadata field License-File must be a list of paths"),
    ],
)
def test_metadata_2_4_validation(fields, message):
    with pytest.raises(WheelError) as info:
        render_metadata(_meta(**fields))
    assert str(info.value).startswith(message)
