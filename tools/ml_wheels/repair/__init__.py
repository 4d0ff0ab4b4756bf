"""Repair: graft the shared libraries a policy does not allow into the wheel.

The third path beside pack and unpack: :mod:`ml_wheels.repair.graft` decides
which libraries to graft and where each comes from (only the declared
libraries and the sysroot directories the rule hands over, never the host),
:mod:`ml_wheels.repair.patch` edits the ELF files with patchelf, and
:mod:`ml_wheels.repair.repair` unpacks, patches, repacks and audits the result.
"""
