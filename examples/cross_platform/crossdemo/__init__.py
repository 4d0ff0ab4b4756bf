"""One C and one C++ extension, built four ways (see the example's README)."""

from ._cext import GETRANDOM, file_size, random_bytes
from ._cxxext import file_words, random_hex, round_trip, split

__all__ = [
    "GETRANDOM",
    "file_size",
    "file_words",
    "random_bytes",
    "random_hex",
    "round_trip",
    "split",
]
