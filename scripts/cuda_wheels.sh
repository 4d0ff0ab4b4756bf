#!/usr/bin/env bash
# Downloads the NVIDIA CUDA wheels pinned in python_wheel/private/cuda/versions.bzl
# into one flat directory, checks every sha256 against the pin, and prints the
# directory last. Point the toolkit repository at it with
#   --repo_env=HERMETIC_CUDA_WHEELS_URL=file://<that directory>
#
# Usage: scripts/cuda_wheels.sh [--arch x86_64|aarch64] [--components c1,c2,...] [VERSION ...]
#   VERSION     full CUDA versions from the table (default: all of them)
#   --components  components to fetch (default: cccl,crt,cudart,nvcc,nvvm,cuobjdump,nvdisasm,ptxas;
#                 "all" for every component, including the large math libraries)
#   --arch      CPU of the wheels (default: this machine's)
# Idempotent: files already present with the right sha256 are kept. The cache is
# ${ML_WHEELS_CACHE_DIR:-~/.cache/rules_ml_wheels}/cuda-wheels.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
table="$root/python_wheel/private/cuda/versions.bzl"
cache="${ML_WHEELS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/rules_ml_wheels}"
dest="$cache/cuda-wheels"
pip="${ML_WHEELS_PIP:-$root/.venv/bin/pip}"
[ -x "$pip" ] || pip="python3 -m pip"

arch="$(uname -m)"
components="cccl,crt,cudart,nvcc,nvvm,cuobjdump,nvdisasm,ptxas"
versions=()
while [ $# -gt 0 ]; do
    case "$1" in
        --arch) arch="$2"; shift 2 ;;
        --components) components="$2"; shift 2 ;;
        -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
        *) versions+=("$1"); shift ;;
    esac
done
case "$arch" in
    x86_64|amd64) arch=x86_64 ;;
    aarch64|arm64) arch=aarch64 ;;
    *) echo "cuda_wheels.sh: --arch must be x86_64 or aarch64, got '$arch'" >&2; exit 2 ;;
esac
mkdir -p "$dest"

# One line per pinned wheel: VERSION COMPONENT PACKAGE PKGVERSION PATH SHA256.
pins="$(python3 - "$table" "$arch" <<'PY'
import ast, re, sys
text = open(sys.argv[1], encoding="utf-8").read()
arch = sys.argv[2]
body = text[text.index("CUDA_VERSIONS = {"):]
version = None
for block in re.finditer(r'^    "(\d+\.\d+\.\d+)": \{|"(\w+)": _wheel\((.*?)\n        \),', body, re.S | re.M):
    if block.group(1):
        version = block.group(1)
        continue
    fields = dict(re.findall(r'(\w+) = ("[^"]*"|\([^)]*\))', block.group(3)))
    path, sha = ast.literal_eval(fields[arch])
    print(version, block.group(2), ast.literal_eval(fields["package"]), ast.literal_eval(fields["version"]), path, sha)
PY
)"
[ -n "$pins" ] || { echo "cuda_wheels.sh: no pins found in $table" >&2; exit 1; }

known="$(echo "$pins" | awk '{print $1}' | sort -u | tr '\n' ' ')"
if [ ${#versions[@]} -eq 0 ]; then
    read -r -a versions <<<"$known"
fi
for v in "${versions[@]}"; do
    case " $known " in
        *" $v "*) ;;
        *) echo "cuda_wheels.sh: unknown CUDA version '$v'; known versions: $known" >&2; exit 2 ;;
    esac
done

fetched=0
while read -r version component package pkgversion path sha; do
    case " ${versions[*]} " in *" $version "*) ;; *) continue ;; esac
    if [ "$components" != all ]; then
        case ",$components," in *",$component,"*) ;; *) continue ;; esac
    fi
    file="$dest/$(basename "$path")"
    if [ -f "$file" ] && [ "$(sha256sum "$file" | cut -d' ' -f1)" = "$sha" ]; then
        continue
    fi
    echo "cuda_wheels.sh: downloading $package==$pkgversion ($component, CUDA $version, $arch)" >&2
    tmp="$(mktemp -d "$dest/.pip.XXXXXX")"
    # shellcheck disable=SC2086
    $pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 \
        --platform "manylinux_2_27_$arch" --platform "manylinux_2_17_$arch" \
        --platform "manylinux2014_$arch" --platform "manylinux_2_25_$arch" \
        --platform "manylinux_2_28_$arch" \
        --dest "$tmp" "$package==$pkgversion" >&2
    got="$tmp/$(basename "$path")"
    if [ ! -f "$got" ]; then
        echo "cuda_wheels.sh: pip did not produce $(basename "$path"); it wrote: $(ls "$tmp")" >&2
        rm -rf "$tmp"; exit 1
    fi
    actual="$(sha256sum "$got" | cut -d' ' -f1)"
    if [ "$actual" != "$sha" ]; then
        echo "cuda_wheels.sh: $(basename "$path") has sha256 $actual, versions.bzl pins $sha" >&2
        rm -rf "$tmp"; exit 1
    fi
    mv -f "$got" "$file"
    rm -rf "$tmp"
    fetched=$((fetched + 1))
done <<<"$pins"
echo "cuda_wheels.sh: $fetched downloaded, the rest already there" >&2
echo "$dest"
