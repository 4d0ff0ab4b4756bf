"""The one exception type that carries a user-facing message."""

from __future__ import annotations


class WheelError(Exception):
    """A problem the user can fix.

    The message is a single line that names what is wrong (target, file, field
    or value) and says how to fix it; the CLI prints it without a traceback.
    """
