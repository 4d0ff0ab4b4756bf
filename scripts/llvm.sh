#!/usr/bin/env bash
# Test set-up of `sysroot_cc_toolchains(llvm = ...)`: an LLVM distribution
# (the layout of LLVM's release tarballs: bin/clang, bin/ld.lld, bin/llvm-ar,
# lib/clang/<version>/include, the tools' shared libraries in lib/) made from
# Debian bookworm's clang 14 and lld 14 packages, pinned by sha256 below.
#
#   scripts/llvm.sh     # prints three lines: the distribution directory (for
#                       # `llvm = {"x86_64": {"path": DIR}}`), the archive
#                       # llvm-14-x86_64.tar.gz (top directory llvm-14-x86_64,
#                       # for `urls` + `strip_prefix`) and the archive's sha256
#
# The packages are unpacked by the project's own unpacker (tools/unpack_deb.py,
# what cc_sysroot runs), never by dpkg. Debian's binaries have no RUNPATH:
# the toolchain's wrappers put the distribution's lib/ on LD_LIBRARY_PATH, and
# lib/ holds libLLVM-14, libclang-cpp14 and the libraries libLLVM needs that a
# minimal Debian lacks (libz3, libxml2 and its libicu, libedit). The rest comes
# from the host (or the forky root of the Bazel 7 lane): glibc, libstdc++6,
# libgcc-s1, zlib1g, liblzma5, libffi8, libtinfo6, libbsd0. Fine for a test
# compiler; a release toolchain is a self-contained LLVM archive.
# Debian amd64 only (x86_64 exec CPU).
#
# Cached under ${ML_WHEELS_CACHE_DIR:-~/.cache/rules_ml_wheels}/llvm; a
# package already there is reused when its sha256 matches the pin. First run:
# 64 MB downloaded from deb.debian.org.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
project="$(dirname "$here")"
cache="${ML_WHEELS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/rules_ml_wheels}"
dir="$cache/llvm"
upstream="${ML_WHEELS_DEB_UPSTREAM:-https://deb.debian.org/debian}"
name="llvm-14-x86_64"
version="14.0.6"

log() { printf '[llvm] %s\n' "$*" >&2; }

# Debian bookworm's LLVM 14 (1:14.0.6-12): pool path and sha256.
DEBS=(
  "pool/main/l/llvm-toolchain-14/clang-14_14.0.6-12_amd64.deb e66721b4fd2c47aa326a4100d9dfdbd8838e04c17479da560d88ac1aab5ea863"
  "pool/main/l/llvm-toolchain-14/libclang-cpp14_14.0.6-12_amd64.deb 964b13d74e9aece340cde93fecd2a2f18dd63afcb707a797ce7b39d430a01c46"
  "pool/main/l/llvm-toolchain-14/libclang-common-14-dev_14.0.6-12_all.deb 838781bfc798bcbdca68516db6546cf83677078efa57851bb957c19e265de7c6"
  "pool/main/l/llvm-toolchain-14/libllvm14_14.0.6-12_amd64.deb cd986403cfe53f47c41b80667f6b344c40fe35de4c5081dad9358b4c77cf64a8"
  "pool/main/l/llvm-toolchain-14/lld-14_14.0.6-12_amd64.deb 3b77ab0cc30bbba9e874ba57cabc090116ed52d5eebaa043cf1e1412c4523a99"
  "pool/main/l/llvm-toolchain-14/llvm-14_14.0.6-12_amd64.deb 228b10afde4f9cae59c8bbc4f4ea973f1f192d957c19f0427aafb78ab24e3b29"
  "pool/main/z/z3/libz3-4_4.8.12-3.1_amd64.deb 6221ca25ad5abcfbe1965801029d85a88b4775320384b4b716de8fab7a4d2f7a"
  "pool/main/libx/libxml2/libxml2_2.9.14+dfsg-1.3~deb12u6_amd64.deb 4460e39dda10a815881374217cde08474747cfa018358cd8612c14b390eff53b"
  "pool/main/i/icu/libicu72_72.1-3+deb12u1_amd64.deb f7f6f99c6d7b025914df2447fc93e11d22c44c0c8bdd8b6f36691c9e7ddcef88"
  "pool/main/libe/libedit/libedit2_3.1-20221030-2_amd64.deb 1cf14abf2716d3279db12d0657a5737cf70074a1e71d3bdf73206625e3c89ce6"
)

# The shared libraries copied into lib/ (by their SONAME, links resolved).
LIBS=(libLLVM-14.so.1 libclang-cpp.so.14 libz3.so.4 libxml2.so.2 libicuuc.so.72 libicudata.so.72 libedit.so.2)

if [ "$(uname -m)" != x86_64 ]; then
  log "the pinned packages are Debian amd64 ones; this machine is $(uname -m)"
  exit 2
fi

fetch() {
  local path="$1" sha="$2" out="$dir/debs/$(basename "$1")"
  if [ -f "$out" ] && echo "$sha  $out" | sha256sum --quiet -c - 2>/dev/null; then
    return 0
  fi
  mkdir -p "$dir/debs"
  log "downloading $path"
  curl -fsSL --retry 3 -o "$out.part" "$upstream/$path"
  if ! echo "$sha  $out.part" | sha256sum --quiet -c -; then
    rm -f "$out.part"
    log "error: $upstream/$path does not have the pinned sha256 $sha; Debian may have replaced it at a point release: update the pins in $0"
    exit 2
  fi
  mv -f "$out.part" "$out"
}

# The distribution directory, from the packages' data: the tools the
# toolchain runs, their Debian shared libraries, and clang's resource dir.
assemble() {
  local tmp root out
  tmp="$(mktemp -d "$dir/.assemble.XXXXXX")"
  root="$tmp/root"
  out="$tmp/$name"
  local debs=()
  for entry in "${DEBS[@]}"; do
    debs+=("$dir/debs/$(basename "${entry%% *}")")
  done
  python3 "$project/tools/unpack_deb.py" --output-dir "$root" "${debs[@]}" >/dev/null
  local llvm="$root/usr/lib/llvm-14"
  mkdir -p "$out/bin" "$out/lib/clang/$version"
  cp -p "$llvm/bin/clang" "$llvm/bin/lld" "$llvm/bin/llvm-ar" "$out/bin/"
  ln -s clang "$out/bin/clang++"
  ln -s clang "$out/bin/clang-14"
  ln -s lld "$out/bin/ld.lld"
  ln -s llvm-ar "$out/bin/llvm-ranlib"
  # No RUNPATH in Debian's binaries: the toolchain's wrappers put lib/ on LD_LIBRARY_PATH.
  for lib in "${LIBS[@]}"; do
    cp -pL "$root/usr/lib/x86_64-linux-gnu/$lib" "$out/lib/"
  done
  ln -s libLLVM-14.so.1 "$out/lib/libLLVM-14.so"
  cp -pR "$llvm/lib/clang/$version/include" "$out/lib/clang/$version/"
  chmod -R u+w,go-w "$out"
  rm -rf "$dir/$name"
  mv "$out" "$dir/$name"
  rm -rf "$tmp"
}

mkdir -p "$dir"
for entry in "${DEBS[@]}"; do
  fetch "${entry%% *}" "${entry##* }"
done
stamp="$dir/$name.debs"
printf '%s\n' "${DEBS[@]}" "${LIBS[@]}" >"$stamp.new"
if [ ! -x "$dir/$name/bin/clang" ] || ! cmp -s "$stamp" "$stamp.new"; then
  log "assembling $dir/$name"
  assemble
  rm -f "$dir/$name.tar.gz"
fi
mv -f "$stamp.new" "$stamp"

# Bazel 4.2.3's download_and_extract reads .tar.xz too; .tar.gz extracts
# faster. Reproducible: sorted entries, fixed owner and mtime, no gzip name/time.
archive="$dir/$name.tar.gz"
if [ ! -f "$archive" ]; then
  log "packing $archive"
  tar -C "$dir" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -cf - "$name" | gzip -n -6 >"$archive.part"
  mv -f "$archive.part" "$archive"
fi
echo "$dir/$name"
echo "$archive"
sha256sum "$archive" | cut -d' ' -f1
