"""Writes that never leave a half-written file: temp file in the same directory, then ``os.replace``."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

_UMASK = os.umask(0)
os.umask(_UMASK)


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; on success it replaces ``target`` atomically."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, 0o666 & ~_UMASK)  # mkstemp makes 0600; results are for sharing
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_text_atomic(target: Path, text: str) -> None:
    """Write a text file atomically."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json_atomic(target: Path, obj: Any) -> None:
    """Write pretty JSON atomically (NaN is not valid JSON: callers convert it to null)."""
    write_text_atomic(target, json.dumps(obj, indent=2, sort_keys=False, allow_nan=False) + "\n")


def copy_file_atomic(source: Path, target: Path) -> None:
    """Copy a file into place atomically."""
    with atomic_path(target) as tmp:
        shutil.copyfile(source, tmp)


def replace_tree(target: Path, fill: Callable[[Path], None]) -> None:
    """Build a directory with ``fill(tmpdir)`` and swap it in place of ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    old = target.parent / f".{target.name}.old-{os.getpid()}"
    try:
        fill(tmp)
        if target.exists():
            os.replace(target, old)
        os.replace(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
