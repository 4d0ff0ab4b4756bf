"""The JSON size manifest: what a ``baseline`` file holds.

```json
{
 "format": "rules_ml_wheels.wheel_size",
 "version": 1,
 "wheel": "foo-1.0-cp311-cp311-manylinux_2_17_x86_64.whl",
 "file_size": 1234,
 "unpacked_size": 5678,
 "members": {"foo/__init__.py": {"compressed": 40, "size": 52}}
}
```

Keys are sorted and the text is ASCII, so the same wheel always gives the
same bytes; no path of the machine that wrote it appears.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from ml_wheels.errors import WheelError
from ml_wheels.size.archive import WheelSizes

FORMAT = "rules_ml_wheels.wheel_size"
VERSION = 1
MAX_MANIFEST_BYTES = 256 << 20
"""A baseline larger than this is refused (a manifest of 1M members is ~80 MB)."""


@dataclass(frozen=True)
class Baseline:
    """A manifest read back.

    Attributes:
        source: The path it was read from, for messages.
        wheel: The file name of the wheel it describes.
        file_size: That wheel's size.
        unpacked_size: Its members' total uncompressed size.
        members: Path -> (compressed, uncompressed) size.
    """

    source: str
    wheel: str
    file_size: int
    unpacked_size: int
    members: dict[str, tuple[int, int]]


def to_json(sizes: WheelSizes) -> str:
    """The manifest of ``sizes``, as text ending in a newline."""
    document = {
        "format": FORMAT,
        "version": VERSION,
        "wheel": sizes.name,
        "file_size": sizes.file_size,
        "unpacked_size": sizes.unpacked_size,
        "members": {
            entry.path: {"compressed": entry.compressed, "size": entry.size}
            for entry in sizes.entries
        },
    }
    return json.dumps(document, indent=1, sort_keys=True, ensure_ascii=True) + "\n"


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    result: dict[str, object] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"key {key!r} appears twice")
        result[key] = value
    return result


def _count(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{what} is {value!r}, not a byte count")
    return value


def read_baseline(path: str, fix: str) -> Baseline:
    """Reads and checks a manifest.

    Args:
        path: The file.
        fix: How to write a new one, appended to every error.

    Raises:
        WheelError: Not a readable manifest of this format; says which part is wrong.
    """
    try:
        with open(path, "rb") as stream:
            raw = stream.read(MAX_MANIFEST_BYTES + 1)
    except OSError as error:
        raise WheelError(f"baseline {path}: cannot read it: {error.strerror}; {fix}") from None
    if len(raw) > MAX_MANIFEST_BYTES:
        raise WheelError(
            f"baseline {path}: larger than {MAX_MANIFEST_BYTES >> 20} MiB, not a size manifest; "
            f"{fix}"
        )
    try:
        document = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicates)
        if not isinstance(document, dict):
            raise ValueError("it is not a JSON object")
        if document.get("format") != FORMAT:
            raise ValueError(f'its "format" is {document.get("format")!r}, not {FORMAT!r}')
        if document.get("version") != VERSION:
            raise ValueError(
                f'its "version" is {document.get("version")!r}; this tool reads version {VERSION}'
            )
        wheel = document.get("wheel")
        if not isinstance(wheel, str):
            raise ValueError('"wheel" is not a string')
        members_doc = document.get("members")
        if not isinstance(members_doc, dict):
            raise ValueError('"members" is not an object')
        members: dict[str, tuple[int, int]] = {}
        for name, sizes in members_doc.items():
            if not isinstance(sizes, dict):
                raise ValueError(f"member {name!r} is not an object")
            members[name] = (
                _count(sizes.get("compressed"), f"the compressed size of {name!r}"),
                _count(sizes.get("size"), f"the size of {name!r}"),
            )
        return Baseline(
            source=path,
            wheel=wheel,
            file_size=_count(document.get("file_size"), '"file_size"'),
            unpacked_size=_count(document.get("unpacked_size"), '"unpacked_size"'),
            members=members,
        )
    except (ValueError, RecursionError) as error:
        # json.JSONDecodeError and UnicodeDecodeError are ValueErrors.
        raise WheelError(f"baseline {path}: not a wheel size manifest: {error}; {fix}") from None


def write_manifest(sizes: WheelSizes, output: str) -> None:
    """Writes the manifest of ``sizes`` to ``output`` (replacing it)."""
    text = to_json(sizes)
    try:
        with open(output, "w", encoding="ascii", newline="\n") as stream:
            stream.write(text)
    except OSError as error:
        raise WheelError(f"{output}: cannot write: {error.strerror}") from None
