"""Writing export files without surprises: refuse to overwrite, and never leave half a file.

An export folder is written into a temporary sibling folder first and moved into place file by
file with `os.replace` (atomic per file on one file system); a single file is written next to
its target and renamed. A non-empty target is refused unless the caller passes `force`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path


class OutputExistsError(FileExistsError):
    """The target exists and is not empty; nothing was written."""


def check_folder(out: Path, force: bool) -> None:
    """Refuse a file, or a non-empty folder unless `force`."""
    if out.exists() and not out.is_dir():
        raise OutputExistsError(f"{out} is a file; give a folder for --out")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise OutputExistsError(f"{out} is not empty; use --force to write into it")


def check_file(out: Path, force: bool) -> None:
    if out.is_dir():
        raise OutputExistsError(f"{out} is a folder; give a file name for --out")
    if out.exists() and not force:
        raise OutputExistsError(f"{out} exists; use --force to replace it")


def write_folder(out: Path, force: bool, fill: Callable[[Path], None]) -> list[str]:
    """Let `fill` write into a temporary folder, then move its files into `out`; returns names."""
    check_folder(out, force)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        fill(staging)
        names = sorted(p.name for p in staging.iterdir())
        out.mkdir(exist_ok=True)
        for name in names:
            os.replace(staging / name, out / name)
        return names
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def write_file(out: Path, force: bool, data: bytes) -> None:
    """Write `data` to `out` through a temporary file and an atomic rename."""
    check_file(out, force)
    out.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(name, 0o666 & ~mask)  # mkstemp makes the file private; give it normal rights
        os.replace(name, out)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
