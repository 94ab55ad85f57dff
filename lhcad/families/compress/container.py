"""The ``.lhcz`` file: a zip archive of one JSON header and plain ``.npy`` arrays.

Layout::

    header.json          what the file holds: format, version, columns, model, normalisation,
                         and per array its member name, dtype, shape and sha256
    arrays/<name>.npy    latent values, decoder weights, losslessly stored columns (version 2:
                         the quantising codec's zstd payload and exactly stored values instead)
    (zip comment)        ``lhcz:<version>:<sha256 of header.json>``

Format version 1 holds a network's latents (``ae``, ``vae``); version 2 is written for the
quantising codec (``quant``), so that an lhcad that predates it refuses the file with "upgrade
lhcad" rather than misreading it. Network files are still written as version 1.

Arrays are written with ``allow_pickle=False`` and read the same way, so opening a file never
runs code. A file that is not a zip, lacks the comment, fails a checksum or a zip CRC, or comes
from a newer format version is refused with a one-line :class:`~lhcad.errors.DataError`.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lhcad.errors import DataError
from lhcad.io.atomic import atomic_path

FORMAT = "lhcz"
#: The newest format version this lhcad reads and writes.
FORMAT_VERSION = 2
HEADER = "header.json"
COMMENT_PREFIX = b"lhcz:"


@dataclass(frozen=True)
class LhczContent:
    """What an ``.lhcz`` file holds: its header and its arrays by name."""

    header: dict[str, Any]
    arrays: dict[str, np.ndarray]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return buffer.getvalue()


def write_lhcz(
    path: Path,
    header: Mapping[str, Any],
    arrays: Mapping[str, np.ndarray],
    version: int = 1,
) -> int:
    """Write ``header`` (JSON-ready) and ``arrays`` atomically to ``path`` as format ``version``
    (1 .. :data:`FORMAT_VERSION`); returns the file size.

    The header gains ``format``, ``format_version`` and an ``arrays`` table with each array's
    member name, dtype, shape and sha256. The file's creation time is the zip members' own
    timestamp, not a header field: the deflated header, and so the file's size, then depend only
    on what is stored.
    """
    members: dict[str, bytes] = {}
    table: dict[str, dict[str, Any]] = {}
    for i, (name, array) in enumerate(arrays.items()):
        array = np.asarray(array)
        if array.dtype.hasobject:
            raise DataError(f"array {name!r} holds Python objects, which .lhcz does not store")
        data = _npy_bytes(array)
        member = f"arrays/{i}.npy"
        members[member] = data
        table[name] = {
            "member": member,
            "dtype": array.dtype.str,
            "shape": list(array.shape),
            "sha256": _sha256(data),
        }
    if not 1 <= version <= FORMAT_VERSION:
        raise ValueError(f".lhcz format version {version} is not one this lhcad writes")
    full_header = {"format": FORMAT, "format_version": version, **header, "arrays": table}
    header_bytes = (json.dumps(full_header, indent=1, allow_nan=False) + "\n").encode("utf-8")
    signature = COMMENT_PREFIX + f"{version}:{_sha256(header_bytes)}".encode()
    with (
        atomic_path(path) as tmp,
        zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive,
    ):
        archive.comment = signature
        archive.writestr(HEADER, header_bytes)
        for member, data in members.items():
            archive.writestr(member, data)
    return path.stat().st_size


def _parse_comment(comment: bytes, path: Path) -> tuple[int, str]:
    """``(format version, header sha256)`` from the zip comment; a DataError for a foreign zip."""
    if not comment.startswith(COMMENT_PREFIX):
        raise DataError("not an .lhcz file (a zip archive, but not one lhcad wrote)", source=path)
    try:
        version_text, digest = comment[len(COMMENT_PREFIX) :].decode("ascii").split(":")
        version = int(version_text)
    except ValueError:
        raise DataError("not an .lhcz file (malformed signature)", source=path) from None
    if version > FORMAT_VERSION:
        raise DataError(
            f".lhcz format version {version} is newer than this lhcad reads "
            f"({FORMAT_VERSION}): upgrade lhcad",
            source=path,
        )
    return version, digest


def _load_array(
    archive: zipfile.ZipFile, name: str, entry: Mapping[str, Any], path: Path
) -> np.ndarray:
    """One array, checked against its header entry (checksum, dtype, shape)."""
    try:
        data = archive.read(entry["member"])
    except KeyError:
        raise DataError(f"damaged .lhcz file: array {name!r} is missing", source=path) from None
    if _sha256(data) != entry["sha256"]:
        raise DataError(f"damaged .lhcz file: checksum mismatch in array {name!r}", source=path)
    array = np.load(io.BytesIO(data), allow_pickle=False)
    if array.dtype.str != entry["dtype"] or list(array.shape) != list(entry["shape"]):
        raise DataError(
            f"damaged .lhcz file: array {name!r} has the wrong dtype or shape", source=path
        )
    return array


def read_lhcz(path: Path) -> LhczContent:
    """Open an ``.lhcz`` file, verifying its signature, header checksum and every array's.

    Raises:
        DataError: missing, truncated, corrupt, foreign or too-new files.
    """
    if not path.exists():
        raise DataError("file not found", source=path)
    if path.is_dir():
        raise DataError("is a directory, expected an .lhcz file", source=path)
    try:
        with zipfile.ZipFile(path) as archive:
            _, digest = _parse_comment(archive.comment, path)
            try:
                header_bytes = archive.read(HEADER)
            except KeyError:
                raise DataError("damaged .lhcz file: no header", source=path) from None
            if _sha256(header_bytes) != digest:
                raise DataError("damaged .lhcz file: header checksum mismatch", source=path)
            header = json.loads(header_bytes)
            if not isinstance(header, dict) or header.get("format") != FORMAT:
                raise DataError("not an .lhcz file (header of another format)", source=path)
            arrays = {
                name: _load_array(archive, name, entry, path)
                for name, entry in header["arrays"].items()
            }
    except zipfile.BadZipFile as exc:
        raise DataError(
            f"not an .lhcz file, or a truncated or corrupt one ({exc})", source=path
        ) from None
    except (zlib.error, EOFError, ValueError, KeyError, TypeError) as exc:
        raise DataError(f"damaged .lhcz file ({type(exc).__name__}: {exc})", source=path) from None
    return LhczContent(header=header, arrays=arrays)
