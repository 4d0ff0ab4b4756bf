"""auditwheel's policy data, tag parsing, aliases and the 'meets' ordering."""

from __future__ import annotations

import json

import pytest

from ml_wheels.audit.policy import (
    GLIBC,
    MUSL,
    PolicySet,
    filename_tags,
    parse_tag,
    policy_dir,
)
from ml_wheels.errors import WheelError


def test_policy_files_come_from_the_installed_auditwheel():
    directory = policy_dir()
    assert directory.name == "policy"
    assert directory.parent.name == "auditwheel"
    raw = json.loads((directory / "manylinux-policy.json").read_text())
    assert {p["name"] for p in raw} >= {
        "linux",
        "manylinux_2_5",
        "manylinux_2_17",
        "manylinux_2_28",
    }


def test_x86_64_policies_are_ordered_by_compatibility():
    policies = PolicySet(GLIBC, "x86_64")
    names = [p.name for p in policies]
    assert names[0] == "linux_x86_64"
    assert names[-1] == "manylinux_2_5_x86_64"
    assert policies.highest.name == "manylinux_2_5_x86_64"
    assert names.index("manylinux_2_28_x86_64") < names.index("manylinux_2_17_x86_64")
    priorities = [p.priority for p in policies]
    assert priorities == sorted(priorities)


def test_aarch64_starts_at_manylinux_2_17():
    policies = PolicySet(GLIBC, "aarch64")
    assert policies.highest.name == "manylinux_2_17_aarch64"
    assert policies.by_base("manylinux_2_5") is None
    assert policies.by_base("manylinux2014").name == "manylinux_2_17_aarch64"


@pytest.mark.parametrize(
    ("alias", "base"),
    [
        ("manylinux1", "manylinux_2_5"),
        ("manylinux2010", "manylinux_2_12"),
        ("manylinux2014", "manylinux_2_17"),
    ],
)
def test_pep600_aliases_name_the_same_policy(alias, base):
    policies = PolicySet(GLIBC, "x86_64")
    assert policies.by_base(alias) is policies.by_base(base)
    assert f"{alias}_x86_64" in policies.by_base(base).aliases


@pytest.mark.parametrize(
    ("text", "base", "arch"),
    [
        ("manylinux_2_17", "manylinux_2_17", None),
        ("manylinux_2_17_x86_64", "manylinux_2_17", "x86_64"),
        ("manylinux2014_aarch64", "manylinux2014", "aarch64"),
        ("manylinux1", "manylinux1", None),
        ("manylinux_2_28_ppc64le", "manylinux_2_28", "ppc64le"),
        ("musllinux_1_2_x86_64", "musllinux_1_2", "x86_64"),
        ("linux_x86_64", "linux", "x86_64"),
        (" manylinux_2_31_riscv64 ", "manylinux_2_31", "riscv64"),
    ],
)
def test_parse_tag(text, base, arch):
    request = parse_tag(text)
    assert (request.base, request.arch) == (base, arch)


def test_parse_tag_libc_family():
    assert parse_tag("manylinux2014").libc == GLIBC
    assert parse_tag("musllinux_1_1").libc == MUSL
    assert parse_tag("linux").libc is None


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("manylinux_2_30", "no manylinux_2_30"),
        ("manylinux_2_17_sparc", "not a manylinux/musllinux tag"),
        ("macosx_11_0_arm64", "not a manylinux/musllinux tag"),
    ],
)
def test_parse_tag_errors(text, words):
    with pytest.raises(WheelError, match=words):
        parse_tag(text)


def test_symbols_policy_groups_versions_by_prefix():
    policies = PolicySet(GLIBC, "x86_64")
    assert policies.symbols_policy({}).name == "manylinux_2_5_x86_64"
    assert (
        policies.symbols_policy({"libc.so.6": {"GLIBC_2.2.5", "GLIBC_2.17"}}).name
        == "manylinux_2_17_x86_64"
    )
    needs = {"libc.so.6": {"GLIBC_2.17"}, "libstdc++.so.6": {"GLIBCXX_3.4.21"}}
    assert policies.symbols_policy(needs).name == "manylinux_2_24_x86_64"
    assert policies.symbols_policy({"libc.so.6": {"GLIBC_2.36"}}).name == "manylinux_2_36_x86_64"
    assert policies.symbols_policy({"libc.so.6": {"GLIBC_PRIVATE"}}).name == "linux_x86_64"
    # A prefix no policy knows does not constrain.
    assert policies.symbols_policy({"libssl.so.3": {"OPENSSL_3.0.0"}}).name == (
        "manylinux_2_5_x86_64"
    )


def test_version_limit_and_newest_version():
    policies = PolicySet(GLIBC, "x86_64")
    assert policies.version_limit("GLIBC_2.28").name == "manylinux_2_28_x86_64"
    assert policies.version_limit("GLIBC_2.2.5").name == "manylinux_2_5_x86_64"
    assert policies.by_base("manylinux_2_17").newest_version("GLIBC") == "2.17"
    assert policies.by_base("manylinux_2_28").newest_version("GLIBC") == "2.28"


def test_musl_whitelists_the_architectures_libc():
    policies = PolicySet(MUSL, "aarch64")
    assert "libc.musl-aarch64.so.1" in policies.highest.whitelist
    assert [p.base for p in policies] == ["linux", "musllinux_1_2", "musllinux_1_1"]
    # auditwheel off musl checks only the newest musllinux policy; we name it so.
    assert policies.report_name(policies.highest) == "musllinux_1_2_aarch64"


@pytest.mark.parametrize(
    ("filename", "arch", "libc", "pure"),
    [
        (
            "a-1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
            "x86_64",
            GLIBC,
            False,
        ),
        ("a-1.0-cp311-cp311-manylinux_2_28_aarch64.whl", "aarch64", GLIBC, False),
        ("a-1.0-cp311-cp311-musllinux_1_2_i686.whl", "i686", MUSL, False),
        ("a-1.0-cp311-cp311-linux_x86_64.whl", "x86_64", None, False),
        ("a-1.0-py3-none-any.whl", None, None, True),
        ("a-1.0-1-cp311-cp311-linux_ppc64le.whl", "ppc64le", None, False),
        ("a-1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux_2_17_aarch64.whl", None, GLIBC, False),
        ("copied.whl", None, None, False),
    ],
)
def test_filename_tags(filename, arch, libc, pure):
    tags = filename_tags(filename)
    assert (tags.arch, tags.libc, tags.pure) == (arch, libc, pure)
