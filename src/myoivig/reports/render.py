"""Templates to HTML, HTML to PDF (WeasyPrint), and the one safe way to write a report file.

A report file is written atomically (a temporary file in the same folder, then a link or
rename), and an existing file is never replaced unless the caller asks for it (`force`).
"""

from __future__ import annotations

import base64
import io
import os
import re
import secrets
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

if TYPE_CHECKING:
    from matplotlib.figure import Figure


class ReportFormat(StrEnum):
    HTML = "html"
    PDF = "pdf"


class ReportError(Exception):
    """A report that cannot be made or written (a usage error; nothing is written)."""


class ReportNotFoundError(ReportError):
    """What the report is about is not in the database (a review, the trial cohort)."""


MEDIA_TYPES = {ReportFormat.HTML: "text/html; charset=utf-8", ReportFormat.PDF: "application/pdf"}


@dataclass(frozen=True)
class ReportFile:
    """A rendered report as a download: file name, media type and bytes."""

    name: str
    media_type: str
    body: bytes


def report_file(template: str, context: dict[str, Any], fmt: ReportFormat, stem: str) -> ReportFile:
    """Render a report for download; the file name is `stem` made safe, with the format's suffix."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip(".-") or "report"
    return ReportFile(f"{safe}.{fmt.value}", MEDIA_TYPES[fmt], render(template, context, fmt))


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("myoivig.reports", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = format_number
    return env


def format_number(value: Any, digits: int = 1) -> str:
    """Display formatting only (no arithmetic): blank for None, `g`-style for whole numbers."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.0f}" if value == int(value) and abs(value) < 1e9 else f"{value:.{digits}f}"
    return str(value)


def render_html(template: str, context: dict[str, Any]) -> str:
    """One report's HTML from its template and the content built for it."""
    return _environment().get_template(template).render(**context)


def html_to_pdf(html: str) -> bytes:
    """The PDF of a rendered report (WeasyPrint; needs the pango library installed)."""
    try:
        from weasyprint import HTML
    except OSError as error:  # the Debian libraries WeasyPrint loads are missing
        raise ReportError(
            "PDF output needs WeasyPrint's system libraries (Debian: libpango-1.0-0 "
            f"libpangoft2-1.0-0 libharfbuzz-subset0); {error}"
        ) from error
    pdf = HTML(string=html).write_pdf()
    assert pdf is not None
    return bytes(pdf)


def render(template: str, context: dict[str, Any], fmt: ReportFormat) -> bytes:
    """The report as file bytes in the chosen format."""
    html = render_html(template, context)
    return html.encode("utf-8") if fmt is ReportFormat.HTML else html_to_pdf(html)


def figure_data_uri(fig: Figure, dpi: int = 150) -> str:
    """A matplotlib figure as an embedded PNG (the report file stands alone)."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def write_report(path: Path, data: bytes, force: bool = False) -> None:
    """Write `data` to `path` atomically; refuse an existing file unless `force`."""
    if path.is_dir():
        raise ReportError(f"--out {path} is a folder; give a file name")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ReportError(f"--out {path}: folder {folder} does not exist")
    if path.exists() and not force:
        raise ReportError(f"--out {path} exists; nothing was written (use --force to replace it)")
    temporary = str(folder / f".{path.name}.{secrets.token_hex(6)}.part")
    # os.open with mode 0o666 respects the umask (mkstemp would leave the report private, 0600)
    handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        if force:
            os.replace(temporary, path)
        else:
            try:
                os.link(temporary, path)  # fails if the file appeared meanwhile
            except FileExistsError:
                raise ReportError(
                    f"--out {path} exists; nothing was written (use --force to replace it)"
                ) from None
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
