"""Writing output files without ever leaving a half-written or surprising one behind.

Every file myoivig writes for a user (plots, exports, PRISMA diagrams, score tables, calendars)
goes through here: the path is checked before any work is done (known extension, a folder we
can write to), the content is written to a temporary file in the same folder, and only a complete
file replaces the target (`os.replace`, atomic on one file system). A failure leaves the old file
as it was.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Collection, Iterator
from pathlib import Path

FIGURE_SUFFIXES = frozenset({".svg", ".png", ".pdf"})
"""Figure formats every plot command writes (chosen by the file's extension)."""


class OutputPathError(ValueError):
    """An output path that cannot be used; the message names the path and what to change."""


def check_output(path: Path, suffixes: Collection[str] | None = None) -> Path:
    """Refuse an unknown extension, a folder as target, or a folder we cannot write to.

    Called before the content is computed, so a typo costs nothing and overwrites nothing.
    """
    if suffixes is not None and path.suffix.lower() not in suffixes:
        known = ", ".join(sorted(suffixes))
        shown = path.suffix or "no extension"
        raise OutputPathError(f"{path}: unknown output extension ({shown}); use one of {known}")
    if path.is_dir():
        raise OutputPathError(f"{path} is a folder; give a file name")
    folder = path.parent
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise OutputPathError(f"cannot write {path}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputPathError(
            f"cannot write {path}: the folder {existing} is not writable; choose another place"
        )
    if path.exists() and not os.access(path, os.W_OK):
        raise OutputPathError(f"cannot write {path}: the file is read-only")
    return path


@contextlib.contextmanager
def replacing(path: Path, *, commit: Callable[[], bool] = lambda: True) -> Iterator[Path]:
    """A temporary path beside `path` (same extension) that replaces it if the block succeeds.

    `commit` is asked at the end: False discards the temporary file (e.g. rows were invalid).
    """
    check_output(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    except OSError as error:
        raise OutputPathError(f"cannot write {path}: {error.strerror or error}") from error
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        if not commit():
            return
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; a written file gets normal rights
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text(path: Path, text: str, *, newline: str | None = None) -> Path:
    """Write UTF-8 text atomically; `newline=""` keeps line endings as given."""
    with replacing(path) as tmp, tmp.open("w", encoding="utf-8", newline=newline) as handle:
        handle.write(text)
    return path


def write_bytes(path: Path, data: bytes) -> Path:
    """Write bytes atomically."""
    with replacing(path) as tmp:
        tmp.write_bytes(data)
    return path
