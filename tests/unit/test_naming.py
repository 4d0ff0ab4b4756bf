"""Names, versions, file names and tags."""

from __future__ import annotations

import pytest
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import parse_wheel_filename
from packaging.version import Version

from ml_wheels.errors import WheelError
from ml_wheels.naming import (
    compress_tags,
    dist_info_dir,
    expand_tags,
    is_purelib,
    normalize_distribution,
    normalize_version,
    validate_build_tag,
    validate_tag_set,
    wheel_filename,
)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("My-Project", "my_project"),
        ("my.project", "my_project"),
        ("my__proj--x", "my_proj_x"),
        ("a-_.b", "a_b"),
        ("TensorFlow", "tensorflow"),
        ("jax-cuda12.plugin", "jax_cuda12_plugin"),
        ("A", "a"),
        ("x1", "x1"),
        ("nvidia-cublas-cu12", "nvidia_cublas_cu12"),
    ],
)
def test_normalize_distribution(name, expected):
    assert normalize_distribution(name) == expected


@pytest.mark.parametrize("name", ["", "-abc", "abc-", "a b", "ab!", "_x", "x.", "näme", "a/b"])
def test_normalize_distribution_rejects_invalid(name):
    with pytest.raises(WheelError) as info:
        normalize_distribution(name)
    assert repr(name) in str(info.value)
    assert "PEP 508" in str(info.value)


# "\u017f" (long s) and "\u212a" (Kelvin sign) match [A-Z] under re.IGNORECASE;
# "$" matches before a trailing newline. pip refuses all of these names.
_LOOKALIKE_NAMES = ["demo\u017f", "\u212aernel", "demo\n", "demo\r", "de\nmo", "demo\x01"]


@pytest.mark.parametrize("name", _LOOKALIKE_NAMES)
def test_normalize_distribution_rejects_what_pip_rejects(name):
    with pytest.raises(InvalidRequirement):
        Requirement(name)  # pip's parser refuses it: so must we.
    with pytest.raises(WheelError) as info:
        normalize_distribution(name)
    assert f"distribution name {name!r} is not a valid PEP 508 name" in str(info.value)


@pytest.mark.parametrize("name", _LOOKALIKE_NAMES)
def test_wheel_filename_rejects_lookalike_distribution(name):
    with pytest.raises(WheelError, match="not a valid PEP 508 name"):
        wheel_filename(name, "1.0", "py3", "none", "any")


@pytest.mark.parametrize(
    ("kind", "value"),
    [("python", "py3\n"), ("abi", "none\n"), ("platform", "any\n"), ("platform", "\u212a")],
)
def test_tag_sets_refuse_trailing_newline(kind, value):
    with pytest.raises(WheelError) as info:
        validate_tag_set(kind, value)
    assert f"{kind} tag {value!r} is not valid" in str(info.value)


@pytest.mark.parametrize("build", ["1\n", "1\r", "\u0661"])
def test_build_tag_refuses_newline_and_non_ascii_digits(build):
    with pytest.raises(WheelError) as info:
        validate_build_tag(build)
    assert f"build tag {build!r} is not valid" in str(info.value)


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("1.2.3", "1.2.3"),
        ("2.19.0-rc1", "2.19.0rc1"),
        ("2.19.0.dev20250107+abc", "2.19.0.dev20250107+abc"),
        ("1.0-dev", "1.0.dev0"),
        ("v1.0", "1.0"),
        ("1.0.0+Local.ABC", "1.0.0+local.abc"),
        ("2.19.0.dev0+selfbuilt", "2.19.0.dev0+selfbuilt"),
        ("1.0.post1", "1.0.post1"),
    ],
)
def test_normalize_version(version, expected):
    assert normalize_version(version) == expected


@pytest.mark.parametrize("version", ["", "1.2.x", "latest", "1.0+", "1..0", "2.19.0-custom"])
def test_normalize_version_rejects_invalid(version):
    with pytest.raises(WheelError) as info:
        normalize_version(version)
    message = str(info.value)
    assert repr(version) in message
    assert "PEP 440" in message
    assert "2.19.0rc1" in message  # shows examples


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ("My-Project", "1.2.0.dev0+selfbuilt", "cp311", "cp311", "manylinux_2_17_x86_64"),
            "my_project-1.2.0.dev0+selfbuilt-cp311-cp311-manylinux_2_17_x86_64.whl",
        ),
        (("pkg", "1.0", "py2.py3", "none", "any"), "pkg-1.0-py2.py3-none-any.whl"),
        (
            ("jaxlib", "0.4.30", "cp312", "cp312", "manylinux_2_17_x86_64.manylinux2014_x86_64"),
            "jaxlib-0.4.30-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        ),
        (
            ("Pkg.Name", "2.0-rc1", "cp313", "cp313t", "win_amd64"),
            "pkg_name-2.0rc1-cp313-cp313t-win_amd64.whl",
        ),
        (
            ("pkg", "1.0", "cp39", "abi3", "macosx_11_0_arm64"),
            "pkg-1.0-cp39-abi3-macosx_11_0_arm64.whl",
        ),
    ],
)
def test_wheel_filename(args, expected):
    assert wheel_filename(*args) == expected
    # An independent parser reads back the same parts.
    _, version, build, tags = parse_wheel_filename(expected)
    assert version == Version(args[1])
    assert build == ()
    assert {str(t) for t in tags} == set(expand_tags(*args[2:]))


def test_wheel_filename_with_build_tag():
    assert wheel_filename("pkg", "1.0", "py3", "none", "any", "7") == "pkg-1.0-7-py3-none-any.whl"
    assert parse_wheel_filename("pkg-1.0-7-py3-none-any.whl")[2] == (7, "")


@pytest.mark.parametrize(
    ("tags", "bad"),
    [
        (("Cp311", "cp311", "any"), "Cp311"),
        (("cp311", "cp311", "linux-x86_64"), "linux-x86_64"),
        (("py3", "", "any"), "''"),
        (("py3..py2", "none", "any"), "py3..py2"),
        (("py3.py3", "none", "any"), "py3.py3"),
        (("py3", "none", "any."), "any."),
    ],
)
def test_wheel_filename_rejects_bad_tags(tags, bad):
    with pytest.raises(WheelError) as info:
        wheel_filename("pkg", "1.0", *tags)
    assert bad in str(info.value)


@pytest.mark.parametrize("build", ["abc", "1-2", "1 2"])
def test_wheel_filename_rejects_bad_build_tag(build):
    with pytest.raises(WheelError) as info:
        wheel_filename("pkg", "1.0", "py3", "none", "any", build)
    assert repr(build) in str(info.value)
    assert "digit" in str(info.value)


def test_expand_tags_keeps_written_order():
    assert expand_tags("py2.py3", "none", "any") == ["py2-none-any", "py3-none-any"]
    assert expand_tags("cp311", "cp311", "manylinux_2_17_x86_64.manylinux2014_x86_64") == [
        "cp311-cp311-manylinux_2_17_x86_64",
        "cp311-cp311-manylinux2014_x86_64",
    ]
    assert expand_tags("py3.py2", "abi3.none", "any") == [
        "py3-abi3-any",
        "py3-none-any",
        "py2-abi3-any",
        "py2-none-any",
    ]


def test_compress_tags_like_wheel_pack():
    tags = ["cp311-cp311-manylinux_2_17_x86_64", "cp311-cp311-manylinux2014_x86_64"]
    assert compress_tags(tags) == ("cp311", "cp311", "manylinux2014_x86_64.manylinux_2_17_x86_64")
    assert compress_tags(["py3-none-any", "py2-none-any"]) == ("py2.py3", "none", "any")
    with pytest.raises(WheelError, match="Tag"):
        compress_tags([])
    with pytest.raises(WheelError, match="py3-none"):
        compress_tags(["py3-none"])


def test_is_purelib():
    assert is_purelib("any")
    assert not is_purelib("manylinux_2_17_x86_64")
    assert not is_purelib("any.linux_x86_64")


def test_dist_info_dir_keeps_local_version():
    assert dist_info_dir("My-Project", "1.0+Local") == "my_project-1.0+local.dist-info"


def test_wheel_filename_of_255_bytes_is_the_longest():
    # "-1.0-py3-none-any.whl" is 21 bytes.
    name = wheel_filename("a" * 234, "1.0", "py3", "none", "any")
    assert len(name) == 255
    with pytest.raises(WheelError) as info:
        wheel_filename("a" * 235, "1.0", "py3", "none", "any")
    assert str(info.value) == (
        f"wheel file name {'a' * 40}...{'a' * 3}-1.0-py3-none-any.whl is 256 bytes, longer than "
        "the 255 that file systems allow; shorten the distribution name, version or tags"
    )
