"""Pinned Debian packages of the emulation set-up (bookworm, Debian 12).

The one list both the repository rules' defaults and `scripts/emulation.sh`
(the test set-up's local mirror) read. Each entry is the path of a .deb in
the Debian archive's pool and its sha256 from the archive's Packages index.
Debian drops superseded versions from deb.debian.org at point releases:
keep a mirror (`mirrors` of `emulation_repositories`) or pin again.
"""

DEBIAN_MIRROR = "https://deb.debian.org/debian"

# qemu-user-static 1:7.2+dfsg-7+deb12u18+b3 (amd64): 62.6 MB .deb, of which
# usr/bin/qemu-aarch64-static (13 MB, static) is used.
QEMU_USER_STATIC_DEB = {
    "pool/main/q/qemu/qemu-user-static_7.2+dfsg-7+deb12u18+b3_amd64.deb": "c3e3ba2bd87f8c5b9a5da5ef21b5a3b82d7c63b89dd448d9ddaa4eabc5b6e402",
}

# CPython 3.11.2 (bookworm) for arm64 and what `import ctypes, json,
# unittest, hashlib, ssl, lzma, bz2, zlib, uuid` needs: 9.2 MB of .debs.
ARM64_PYTHON_DEBS = {
    "pool/main/b/bzip2/libbz2-1.0_1.0.8-5+b1_arm64.deb": "d3a96ece03326498b39ff093a76800dfcbcb1d4049d6ae6e9f6fa1aa7a590ad6",
    "pool/main/e/expat/libexpat1_2.5.0-1+deb12u2_arm64.deb": "8dc1976735acf825e3a922d82f171e20feec7394da2b8c616091983e38706275",
    "pool/main/g/gcc-12/libgcc-s1_12.2.0-14+deb12u1_arm64.deb": "576926b283613db80168ddf76380a3bd877602778cf0d226caa7bfbfa71eacf3",
    "pool/main/g/glibc/libc6_2.36-9+deb12u14_arm64.deb": "01f4330719fd4f65580e16ea5a0527f372fca750e8f588d26deaf09f2d3b1cf4",
    "pool/main/libf/libffi/libffi8_3.4.4-1_arm64.deb": "80b5c36177dc0e29d531c7eddbed3cc7355cb490e49f8cfa5959572d161f27b3",
    "pool/main/libx/libxcrypt/libcrypt1_4.4.33-2_arm64.deb": "eea0ad76ea5eb507127fea0c291622ea4ecdbb71c4b9a8ed9c76ae33fc1a0127",
    "pool/main/o/openssl/libssl3_3.0.20-1~deb12u2_arm64.deb": "a256e03cc3abd7243ac5c6ee91a9deb56478221ef0d3c2b0748551e13140c0bf",
    "pool/main/p/python3.11/libpython3.11-minimal_3.11.2-6+deb12u8_arm64.deb": "c48bac178c0fc43a2bf8ace784c762b5ee83e2b981894a991dc3ccfd3ec7cd4b",
    "pool/main/p/python3.11/libpython3.11-stdlib_3.11.2-6+deb12u8_arm64.deb": "e79876de55c6c2dca10d044b2fa69ccd863950ea01714220c1982d16008105f9",
    "pool/main/p/python3.11/python3.11-minimal_3.11.2-6+deb12u8_arm64.deb": "6a07dd571f1a15af2f855d64571766fe44b73a57cc3b5ca79502bc89156a5e12",
    "pool/main/u/util-linux/libuuid1_2.38.1-5+deb12u3_arm64.deb": "3b2d19df0f3190108cf54228c4cfc822226c06d8f3615a5ab16a7dffb1f58aed",
    "pool/main/x/xz-utils/liblzma5_5.4.1-1+deb12u1_arm64.deb": "647ce9d81e41c30071ce6ac0d3324579216a33aaa1d28971d6952315f6a95a75",
    "pool/main/z/zlib/zlib1g_1.2.13.dfsg-1_arm64.deb": "52b8b8a145bbe1956bba82034f77022cbef0c3d0885c9e32d9817a7932fe1913",
}
