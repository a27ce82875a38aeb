"""A progress bar for long imports, drawn on a terminal only.

Scripts and `--json` callers read stdout and must never see bar frames, so the CLI passes
`enabled=False` unless stderr is a terminal and the output is not JSON; the callback then does
nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from rich.console import Console

if TYPE_CHECKING:  # the service loads the store and the importers: only for type checking
    from myoivig.review.service import ImportProgress

PHASES = {"parse": "reading and parsing", "store": "storing records"}


def _ignore(phase: str, done: int, total: int) -> None:
    """No bar: nothing to draw."""


@contextmanager
def import_progress(console: Console, *, enabled: bool) -> Iterator[ImportProgress]:
    """Yield a `progress(phase, done, total)` callback that drives a rich bar on `console`."""
    if not enabled:
        yield _ignore
        return
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    bar = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[count]}"),  # "n/N", blank while the total is unknown
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    tasks: dict[str, Any] = {}

    def update(phase: str, done: int, total: int) -> None:
        if phase not in tasks:
            for earlier in tasks.values():  # a new phase means the earlier ones are finished
                bar.update(earlier, visible=False)
            tasks[phase] = bar.add_task(PHASES.get(phase, phase), total=total or None, count="")
        count = f"{done:,}/{total:,}" if total else ""
        bar.update(tasks[phase], completed=done, total=total or None, count=count)

    with bar:
        yield update
