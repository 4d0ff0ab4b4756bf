"""Hermetic CUDA toolkit: one repository per build, chosen by `--repo_env`.

`cuda_toolkit(name = "cuda")` declares a hub repository `@cuda` whose content
depends on the environment:

- `HERMETIC_CUDA_VERSION=x.y.z`: the toolkit is assembled from NVIDIA's PyPI
  wheels pinned in `versions.bzl` (Bazel's downloader, sha256-checked), one
  `download_and_extract` per component into one directory laid out like an
  NVIDIA install (`bin/ include/ lib/ nvvm/`);
- `LOCAL_CUDA_PATH=/usr/local/cuda`: an installed toolkit is linked in
  (checked against `HERMETIC_CUDA_VERSION` when both are set);
- neither: the hub still loads, with `enabled = False` and empty targets;
  nothing is downloaded.

One combined directory rather than one repository per component: nvcc finds
cicc, libdevice, the crt/ and cccl headers and its libraries relative to its
own `bin/nvcc.profile`, so the pieces must sit side by side anyway; the
LOCAL_CUDA_PATH and wheel sources then give the same BUILD file; changing the
component list re-extracts from Bazel's repository cache, not the network.

A third source (NVIDIA's redistrib JSON manifests) plugs in beside
`_fetch_wheels` and `_link_local`: each fills the repository directory and
returns the toolkit version; the rest (gap filling, capabilities, BUILD) is
shared.

Starlark here must run on Bazel 4.2.3 as well as on Bazel 6-8.
"""

load(":toolkit_info.bzl", "capability_error")
load(":versions.bzl", "CUDA_VERSIONS", "CUDA_WHEELS_BASE_URL", "DEFAULT_COMPONENTS", "KNOWN_COMPONENTS", "RUNTIME_LIBRARIES", "RUNTIME_LIBRARY_COMPONENTS")

VERSION_VAR = "HERMETIC_CUDA_VERSION"
CAPABILITIES_VAR = "HERMETIC_CUDA_COMPUTE_CAPABILITIES"
LOCAL_PATH_VAR = "LOCAL_CUDA_PATH"
WHEELS_URL_VAR = "HERMETIC_CUDA_WHEELS_URL"

def local_component_var(component):
    """The variable that points one component at an installed copy: LOCAL_NVCC_PATH, ...

    Args:
      component: a component name of versions.bzl.

    Returns:
      The variable's name.
    """
    return "LOCAL_%s_PATH" % component.upper()

LOCAL_COMPONENT_VARS = [local_component_var(c) for c in sorted(KNOWN_COMPONENTS.keys())]

ENV_VARS = [VERSION_VAR, CAPABILITIES_VAR, LOCAL_PATH_VAR, WHEELS_URL_VAR] + LOCAL_COMPONENT_VARS

_TOOLKIT_INFO_BZL = "@rules_ml_wheels//python_wheel/private/cuda:toolkit_info.bzl"

# Top-level entries of an installed toolkit that the repository links.
_LOCAL_DIRS = ["bin", "include", "nvvm"]

def _version_key(version):
    return [int(part) for part in version.split(".")]

def known_cuda_versions():
    """The full CUDA versions of the wheel table, oldest first.

    Returns:
      A list of "x.y.z" strings.
    """
    return sorted(CUDA_VERSIONS.keys(), key = _version_key)

def _is_full_version(version):
    parts = version.split(".")
    return len(parts) == 3 and not [p for p in parts if not p.isdigit()]

def check_cuda_version(who, version):
    """Fails unless `version` is a full x.y.z version of the wheel table.

    Args:
      who: the repository, for messages.
      version: the value of HERMETIC_CUDA_VERSION.
    """
    known = ", ".join(known_cuda_versions())
    if not _is_full_version(version):
        fail("%s: %s=%s is not a full CUDA version: give x.y.z, one of %s (e.g. --repo_env=%s=%s)" % (
            who,
            VERSION_VAR,
            version,
            known,
            VERSION_VAR,
            known_cuda_versions()[-1],
        ))
    if version not in CUDA_VERSIONS:
        fail("%s: %s=%s is not a CUDA version with pinned NVIDIA wheels; known versions: %s. Pick one of them, or set %s to an installed toolkit of that version" % (
            who,
            VERSION_VAR,
            version,
            known,
            LOCAL_PATH_VAR,
        ))

def _resolve_components(who, version, components):
    """The table entries to fetch for `components`, after following `_included_in`."""
    for name in components:
        if name not in KNOWN_COMPONENTS:
            fail("%s: components: %r is not a CUDA component; accepted values: %s" % (
                who,
                name,
                ", ".join(sorted(KNOWN_COMPONENTS.keys())),
            ))
    table = CUDA_VERSIONS[version]
    wheels = []
    for name in components:
        entry = table.get(name)
        if entry == None:
            having = [v for v in known_cuda_versions() if name in CUDA_VERSIONS[v]]
            fail("%s: component %r has no NVIDIA wheel for CUDA %s (%s); components of %s: %s. Remove %r from `components`%s" % (
                who,
                name,
                version,
                VERSION_VAR,
                version,
                ", ".join(sorted(table.keys())),
                name,
                (" or choose a version that has it: " + ", ".join(having)) if having else "",
            ))
        if "included_in" in entry:
            name = entry["included_in"]
            entry = table[name]
        if name not in [w[0] for w in wheels]:
            wheels.append((name, entry))
    return wheels

def _cpu(rctx):
    # repository_ctx.os.arch is Bazel 5+.
    arch = getattr(rctx.os, "arch", "") or rctx.execute(["uname", "-m"]).stdout.strip()
    if arch in ["amd64", "x86_64", "x64"]:
        return "x86_64"
    if arch in ["aarch64", "arm64"]:
        return "aarch64"
    fail("%s: NVIDIA publishes CUDA wheels for x86_64 and aarch64 hosts, this one is %r; set %s to an installed toolkit instead" % (rctx.name, arch, LOCAL_PATH_VAR))

def _link_component(rctx, who, component, directory):
    """Links every file of an installed component (bin/ include/ lib/ nvvm/ ...) into the repository.

    bin/nvcc is copied instead: nvcc reads the nvcc.profile beside its real
    path, and that must be this repository's, so that cicc, libdevice and the
    headers of the other components are found.
    """
    variable = local_component_var(component)
    root = rctx.path(directory)
    if not root.exists:
        fail("%s: %s=%s does not exist; point it at the directory that holds the component's bin/, include/ or lib/ (e.g. site-packages/nvidia/cu13)" % (who, variable, directory))
    listing = rctx.execute(["find", str(root), "(", "-type", "f", "-o", "-type", "l", ")", "-print"])
    if listing.return_code != 0:
        fail("%s: cannot list %s=%s: %s" % (who, variable, directory, listing.stderr))
    files = [line for line in listing.stdout.splitlines() if line]
    if not files:
        fail("%s: %s=%s holds no files" % (who, variable, directory))
    prefix = str(root).rstrip("/") + "/"
    for path in files:
        relative = path[len(prefix):]
        if relative == "bin/nvcc":
            rctx.execute(["mkdir", "-p", str(rctx.path("bin"))])
            copied = rctx.execute(["cp", "-p", path, str(rctx.path("bin/nvcc"))])
            if copied.return_code != 0:
                fail("%s: cannot copy %s into the repository: %s" % (who, path, copied.stderr))
        elif relative != "bin/nvcc.profile":
            rctx.symlink(path, relative)

def _fetch_wheels(rctx, version):
    """Downloads and unpacks the requested components' wheels; returns their versions."""
    who = "cuda_toolkit(name = %r)" % rctx.attr.name
    check_cuda_version(who, version)
    cpu = _cpu(rctx)
    mirror = rctx.os.environ.get(WHEELS_URL_VAR, "").strip() or rctx.attr.wheels_url
    fetched = {}
    for name, entry in _resolve_components(who, version, rctx.attr.components):
        local = rctx.os.environ.get(local_component_var(name), "").strip()
        if local:
            _link_component(rctx, who, name, local)
            continue
        path, sha256 = entry["wheels"][cpu]
        file_name = path.split("/")[-1]
        if mirror:
            urls = [mirror.rstrip("/") + "/" + file_name]
        else:
            urls = [CUDA_WHEELS_BASE_URL + "/" + path]
        rctx.report_progress("Fetching %s %s (%s)" % (entry["package"], entry["version"], name))
        rctx.download_and_extract(
            url = urls,
            sha256 = sha256,
            type = "zip",
            stripPrefix = entry["strip_prefix"],
        )
        fetched[name] = entry
    return fetched

def _read_local_version(rctx, root):
    """(toolkit version or "", nvcc version or "") of an installed toolkit."""
    toolkit = ""
    version_json = root.get_child("version.json")
    if version_json.exists:
        toolkit = version_json_cuda_version(rctx.read(version_json))
    nvcc_version = ""
    nvcc = root.get_child("bin").get_child("nvcc")
    if nvcc.exists:
        result = rctx.execute([nvcc, "--version"])
        for line in result.stdout.splitlines():
            if "release" in line and ", V" in line:
                nvcc_version = line.split(", V")[-1].strip()
    return toolkit, nvcc_version

def version_json_cuda_version(text):
    """The toolkit version in an NVIDIA `version.json` (`"cuda": {"version": "x.y.z"}`).

    Plain string search: Bazel 4.2.3 has no `json` module by default.

    Args:
      text: the file's content.

    Returns:
      "x.y.z", or "" when the file has no `cuda` entry with a version.
    """
    start = text.find("\"cuda\"")
    if start < 0:
        return ""
    rest = text[start + len("\"cuda\""):]
    end = rest.find("}")
    at = rest.find("\"version\"")
    if at < 0 or (end >= 0 and at > end):
        return ""
    after = rest[at + len("\"version\""):]
    first = after.find("\"")
    second = after.find("\"", first + 1)
    if first < 0 or second < 0:
        return ""
    return after[first + 1:second]

def _toolkit_version_for_nvcc(nvcc_version):
    """The table's toolkit version whose nvcc is `nvcc_version`, if exactly one."""
    matches = [
        v
        for v in known_cuda_versions()
        if CUDA_VERSIONS[v].get("nvcc", {}).get("version") == nvcc_version
    ]
    return matches[0] if len(matches) == 1 else ""

def _link_local(rctx, local_path, wanted):
    """Links an installed toolkit into the repository; returns its full version."""
    who = "cuda_toolkit(name = %r)" % rctx.attr.name
    root = rctx.path(local_path)
    if not root.exists or not root.get_child("include").exists:
        fail("%s: %s=%s is not a CUDA toolkit: it needs include/ (and bin/nvcc to compile); point it at the directory holding bin/ and include/, e.g. /usr/local/cuda" % (who, LOCAL_PATH_VAR, local_path))
    for entry in _LOCAL_DIRS:
        if root.get_child(entry).exists:
            rctx.symlink(root.get_child(entry), entry)

    # lib/ is linked file by file so the missing unversioned links can be added.
    lib = root.get_child("lib64")
    if not lib.exists:
        lib = root.get_child("lib")
    if lib.exists:
        for child in lib.readdir():
            rctx.symlink(child, "lib/" + child.basename)
    toolkit, nvcc_version = _read_local_version(rctx, root)
    found = toolkit or _toolkit_version_for_nvcc(nvcc_version) or nvcc_version
    if wanted:
        if toolkit:
            agrees = toolkit == wanted
        elif nvcc_version:
            agrees = nvcc_version.split(".")[:2] == wanted.split(".")[:2]
        else:
            agrees = True
        if not agrees:
            fail("%s: %s=%s holds CUDA %s (%s), but %s=%s; set %s to %s or point %s at a %s toolkit" % (
                who,
                LOCAL_PATH_VAR,
                local_path,
                found,
                "version.json" if toolkit else "nvcc --version",
                VERSION_VAR,
                wanted,
                VERSION_VAR,
                found,
                LOCAL_PATH_VAR,
                wanted,
            ))
        if not toolkit:
            found = wanted
    if not found:
        fail("%s: cannot tell the CUDA version of %s=%s: it has neither version.json nor bin/nvcc; set %s=x.y.z as well" % (who, LOCAL_PATH_VAR, local_path, VERSION_VAR))
    return found

_NVCC_PROFILE = """\
# Written by rules_ml_wheels' cuda_toolkit for the layout of this repository
# (NVIDIA's wheels have no targets/<arch>/ directory).
TOP              = $(_HERE_)/..

CICC_PATH        = $(TOP)/nvvm/bin
NVVMIR_LIBRARY_DIR = $(TOP)/nvvm/libdevice

LD_LIBRARY_PATH += $(TOP)/lib:
PATH            += $(CICC_PATH):$(_HERE_):

INCLUDES        +=  "-I$(TOP)/include" $(_SPACE_)
{system_includes}
LIBRARIES        =+ $(_SPACE_) "-L$(TOP)/lib/stubs" "-L$(TOP)/lib"

CUDAFE_FLAGS    +=
PTXAS_FLAGS     +=
"""

def _fill_gaps(rctx, from_wheels):
    """nvcc.profile for the wheels' layout and the unversioned .so links they lack.

    An installed toolkit's bin/ is a link to the installation: its own
    nvcc.profile is kept, and nothing is ever written through the link.
    lib/ is a real directory of links in both cases.
    """
    if from_wheels and rctx.path("bin/nvcc").exists:
        system_includes = ""
        if rctx.path("include/cccl").exists:
            system_includes = "SYSTEM_INCLUDES +=  \"-isystem\" \"$(TOP)/include/cccl\" $(_SPACE_)\n"
        rctx.file("bin/nvcc.profile", _NVCC_PROFILE.format(system_includes = system_includes), executable = False)
    lib = rctx.path("lib")
    if not lib.exists:
        return
    present = [child.basename for child in lib.readdir()]
    for name in list(present):
        if ".so." not in name:
            continue
        unversioned = name[:name.index(".so.") + len(".so")]
        if unversioned not in present:
            rctx.symlink(lib.get_child(name), "lib/" + unversioned)
            present.append(unversioned)

def _gpu_values(rctx, flag):
    result = rctx.execute(["bin/nvcc", flag])
    if result.return_code != 0:
        fail("%s: `bin/nvcc %s` failed (%d): %s%s" % (rctx.name, flag, result.return_code, result.stdout, result.stderr))
    return [line.strip() for line in result.stdout.splitlines() if line.strip()]

def _capabilities(rctx, enabled):
    """Validated capabilities from HERMETIC_CUDA_COMPUTE_CAPABILITIES (or the default)."""
    raw = rctx.os.environ.get(CAPABILITIES_VAR, "").strip()
    requested = [c.strip() for c in raw.split(",") if c.strip()] if raw else rctx.attr.default_capabilities
    if not enabled:
        return requested, []
    if rctx.path("bin/nvcc").exists:
        # What this nvcc supports, asked of nvcc itself, so a new toolkit needs
        # no table update (and an old one rejects what it cannot emit).
        accepted = _gpu_values(rctx, "--list-gpu-code") + _gpu_values(rctx, "--list-gpu-arch")
        source = "nvcc --list-gpu-code / --list-gpu-arch"
    else:
        accepted = []
        source = ""
    for capability in requested:
        # nvcc lists base targets only; sm_90a / sm_100f (architecture- and
        # family-specific) are accepted for a listed base of 90 or more.
        base = capability[:-1] if capability[-1:] in ["a", "f"] else capability
        if base != capability and base in accepted and int(base.split("_", 1)[1]) >= 90:
            continue
        if (accepted and capability not in accepted) or (not accepted and capability_error(capability)):
            fail("%s: %s: %r is not a GPU target this toolkit's nvcc accepts; accepted values%s: %s. Give a comma-separated list such as sm_80,sm_90,compute_90" % (
                "cuda_toolkit(name = %r)" % rctx.attr.name,
                CAPABILITIES_VAR,
                capability,
                " (from " + source + ")" if source else "",
                ", ".join(accepted) if accepted else "sm_XX (SASS) or compute_XX (PTX), XX the compute capability",
            ))
    return requested, accepted

def _file_group(name, path, present):
    if present:
        return "filegroup(\n    name = %r,\n    srcs = [%r],\n)\n" % (name, path)
    return "filegroup(\n    name = %r,\n    srcs = [],\n)\n" % name

def _versioned_lib(rctx, stem):
    """lib/<stem>.so.N of the repository, or ""."""
    lib = rctx.path("lib")
    if not lib.exists:
        return ""
    found = sorted([c.basename for c in lib.readdir() if c.basename.startswith(stem + ".so.") and c.basename[len(stem) + 4:].isdigit()])
    return "lib/" + found[0] if found else ""

def _has(rctx, enabled, path):
    return enabled and rctx.path(path).exists

def _build_file(rctx, enabled, version, capabilities, components):
    lines = [
        "# Generated by rules_ml_wheels' cuda_toolkit (%s)." % (
            "CUDA %s" % version if enabled else "CUDA off: %s and %s unset" % (VERSION_VAR, LOCAL_PATH_VAR)
        ),
        "load(%r, \"cuda_toolkit_info\")" % _TOOLKIT_INFO_BZL,
        "",
        "package(default_visibility = [\"//visibility:public\"])",
        "",
        "exports_files([\"defs.bzl\"])",
        "",
        _file_group("nvcc", "bin/nvcc", _has(rctx, enabled, "bin/nvcc")),
        _file_group("ptxas", "bin/ptxas", _has(rctx, enabled, "bin/ptxas")),
        _file_group("cuobjdump", "bin/cuobjdump", _has(rctx, enabled, "bin/cuobjdump")),
        _file_group("nvdisasm", "bin/nvdisasm", _has(rctx, enabled, "bin/nvdisasm")),
    ]
    if enabled:
        lines.append("""filegroup(
    name = "compiler_files",
    srcs = glob(["bin/**", "nvvm/**", "include/**", "lib/libnvvm.so*"]),
)
""")
        includes = ["include"] + (["include/cccl"] if _has(rctx, enabled, "include/cccl") else [])
        lines.append("""cc_library(
    name = "cuda_headers",
    hdrs = glob(["include/**"]),
    includes = %r,
)
""" % includes)
        static = "lib/libcudart_static.a"
        lines.append("""cc_library(
    name = "cudart_static",
    srcs = %r,
    linkopts = ["-ldl", "-lpthread", "-lrt"],
    deps = [":cuda_headers"],
)
""" % ([static] if _has(rctx, enabled, static) else []))
        shared = _versioned_lib(rctx, "libcudart")
        lines.append("""cc_library(
    name = "cudart",
    srcs = %r,
    deps = [":cuda_headers"],
)
""" % ([shared] if shared else []))
    else:
        lines.append("filegroup(\n    name = \"compiler_files\",\n    srcs = [],\n)\n")
        for name in ["cuda_headers", "cudart_static", "cudart"]:
            lines.append("cc_library(\n    name = %r,\n)\n" % name)
    lines.append("""cuda_toolkit_info(
    name = "toolkit",
    capabilities = %r,
    compiler_files = ":compiler_files",
    cudart_shared = ":cudart",
    cudart_static = ":cudart_static",
    cuobjdump = ":cuobjdump",
    enabled = %r,
    headers = ":cuda_headers",
    nvcc = ":nvcc",
    nvdisasm = ":nvdisasm",
    runtime_libraries = %r,
    version = %r,
)
""" % (
        capabilities if enabled else [],
        enabled,
        [c for c in RUNTIME_LIBRARY_COMPONENTS if c in components] if enabled else [],
        version,
    ))
    return "\n".join(lines)

def _wheel_library_dirs(fetched):
    """Where each runtime library lands in site-packages after `pip install`."""
    dirs = {}
    for name, entry in fetched.items():
        if name in RUNTIME_LIBRARY_COMPONENTS:
            dirs[name] = entry["strip_prefix"] + "/lib"
    return dirs

def _local_runtime_components(rctx):
    """The runtime library components an installed toolkit has (by its lib/ files)."""
    lib = rctx.path("lib")
    names = [c.basename for c in lib.readdir()] if lib.exists else []
    return sorted([
        component
        for component, stem in RUNTIME_LIBRARIES.items()
        if [n for n in names if n.startswith(stem + ".so")]
    ])

def _cuda_toolkit_repository_impl(rctx):
    env = rctx.os.environ
    version = env.get(VERSION_VAR, "").strip()
    local_path = env.get(LOCAL_PATH_VAR, "").strip()
    enabled = bool(version or local_path)
    local_components = [v for v in LOCAL_COMPONENT_VARS if env.get(v, "").strip()]
    if local_components and not version:
        fail("cuda_toolkit(name = %r): %s needs %s=x.y.z as well: the other components come from that version's wheels (one of %s)" % (
            rctx.attr.name,
            ", ".join(local_components),
            VERSION_VAR,
            ", ".join(known_cuda_versions()),
        ))
    fetched = {}
    source = ""
    if local_path:
        if version and not _is_full_version(version):
            check_cuda_version("cuda_toolkit(name = %r)" % rctx.attr.name, version)
        version = _link_local(rctx, local_path, version)
        source = "local"
    elif version:
        fetched = _fetch_wheels(rctx, version)
        source = "wheels"
    if enabled:
        _fill_gaps(rctx, from_wheels = source == "wheels")
    capabilities, accepted = _capabilities(rctx, enabled)
    if source == "local":
        components = _local_runtime_components(rctx)
    else:
        components = sorted(rctx.attr.components) if enabled else []
    rctx.file("BUILD.bazel", _build_file(rctx, enabled, version, capabilities, components))
    rctx.file("defs.bzl", "\n".join([
        "\"\"\"What @%s holds (generated by rules_ml_wheels' cuda_toolkit).\"\"\"" % rctx.attr.name,
        "",
        "CUDA_ENABLED = %r" % enabled,
        "CUDA_VERSION = %r" % version,
        "CUDA_MAJOR = %r" % (int(version.split(".")[0]) if enabled else 0),
        "CUDA_COMPUTE_CAPABILITIES = %r" % (capabilities if enabled else []),
        "CUDA_ACCEPTED_CAPABILITIES = %r" % accepted,
        "CUDA_SOURCE = %r" % source,
        "CUDA_COMPONENTS = %r" % components,
        "CUDA_WHEEL_VERSIONS = %r" % {e["package"]: e["version"] for e in fetched.values()},
        "CUDA_WHEEL_LIBRARY_DIRS = %r" % _wheel_library_dirs(fetched),
        "",
    ]))

# The attributes of the repository rule, which the bzlmod tag shares (extension.bzl).
CUDA_TOOLKIT_ATTRS = {
    "components": attr.string_list(
        default = DEFAULT_COMPONENTS,
        doc = "CUDA components to fetch from NVIDIA's wheels (see versions.bzl: cccl, crt, cudart, nvcc, nvvm, cublas, cufft, cupti, curand, cusolver, cusparse, nvjitlink, nvrtc, cuobjdump, nvdisasm, ptxas); one missing for the chosen version is an error.",
    ),
    "default_capabilities": attr.string_list(
        default = ["sm_80", "compute_80"],
        doc = "GPU targets (sm_XX SASS, compute_XX PTX) used when HERMETIC_CUDA_COMPUTE_CAPABILITIES is unset.",
    ),
    "wheels_url": attr.string(
        doc = "Base URL of a flat directory holding the pinned wheel files (e.g. file:///srv/cuda-wheels) used instead of files.pythonhosted.org; HERMETIC_CUDA_WHEELS_URL overrides it. The sha256 pins are the same.",
    ),
}

cuda_toolkit_repository = repository_rule(
    implementation = _cuda_toolkit_repository_impl,
    doc = "A CUDA toolkit from NVIDIA's PyPI wheels (HERMETIC_CUDA_VERSION) or an installed one (LOCAL_CUDA_PATH); empty when neither is set. Use the `cuda_toolkit` macro.",
    environ = ENV_VARS,
    attrs = CUDA_TOOLKIT_ATTRS,
)

def cuda_toolkit(name, components = DEFAULT_COMPONENTS, default_capabilities = ["sm_80", "compute_80"], wheels_url = "", **kwargs):
    """Declares the CUDA toolkit hub `@<name>` (WORKSPACE; bzlmod uses the same rule).

    Declare it once; a repository of the same name declared earlier wins (the
    usual WORKSPACE override).

    Args:
      name: the repository name, e.g. "cuda".
      components: components to fetch from NVIDIA's wheels (default: cccl,
        crt, cudart, nvcc, nvvm).
      default_capabilities: GPU targets when HERMETIC_CUDA_COMPUTE_CAPABILITIES is unset.
      wheels_url: a mirror of the wheel files (flat directory), instead of PyPI.
      **kwargs: passed to the repository rule.
    """
    if native.existing_rule(name):
        return
    cuda_toolkit_repository(
        name = name,
        components = components,
        default_capabilities = default_capabilities,
        wheels_url = wheels_url,
        **kwargs
    )
