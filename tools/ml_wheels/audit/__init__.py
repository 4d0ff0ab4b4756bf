"""Manylinux/musllinux audit of wheels: auditwheel's policies, our own analysis.

The verdict is the one ``auditwheel show --json`` gives (same policies, same
library resolution, ISA check on), computed from facts that each ELF file of
the wheel yields in a single parse, read straight from the zip (nothing is
extracted to disk), several files in parallel.

- :mod:`ml_wheels.audit.policy`: auditwheel's bundled policy JSON, tags and aliases.
- :mod:`ml_wheels.audit.elf`: the facts of one ELF file.
- :mod:`ml_wheels.audit.reader`: members of the wheel, a process pool over its ELF files.
- :mod:`ml_wheels.audit.analyze`: library resolution and the verdict, with reasons.
- :mod:`ml_wheels.audit.report`: JSON and plain-words output.
- :mod:`ml_wheels.audit.cli`: the ``audit_wheel`` command line.
"""

from __future__ import annotations
