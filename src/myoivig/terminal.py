"""Rich consoles for the command line, sized the same way by every command.

A terminal gets its own width, and so does an explicit COLUMNS (COLUMNS=80 shows what an
80-column terminal sees); output piped to a file or CI log gets 160 columns so that tables
are not folded needlessly.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import Any

from rich.console import Console
from rich.table import Table

PIPE_WIDTH = 160


def console(*, stderr: bool = False) -> Console:
    """A console for stdout (or stderr) at the width described above."""
    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() or os.environ.get("COLUMNS") else PIPE_WIDTH
    return Console(stderr=stderr, width=width)


def key_column(table: Table, header: str, keys: Iterable[str], **options: Any) -> None:
    """A column of identifiers a user types back (patient codes, record ids): never cut.

    Rich shrinks columns to fit the terminal and cuts cells with an ellipsis; a key column
    keeps its full width instead, and the other columns (added with overflow="fold") wrap.
    """
    widest = max((len(k) for k in keys), default=len(header))
    table.add_column(header, no_wrap=True, min_width=widest, **options)
