"""Problems found in an import: each names the table, row, column, value and reason."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Problem:
    table: str
    row: int | None  # spreadsheet row number: the header is row 1, the first data row is row 2
    column: str
    value: str | None
    reason: str

    def __str__(self) -> str:
        where = f"{self.table}" + (f" row {self.row}" if self.row is not None else "")
        column = f", column {self.column}" if self.column else ""
        value = f", value {self.value!r}" if self.value is not None else ""
        return f"{where}{column}{value}: {self.reason}"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class ImportRejectedError(ValueError):
    """The import was refused; nothing was written. `problems` lists every bad cell found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__(f"import rejected: {len(problems)} problem(s); nothing was written")

    def __reduce__(self) -> tuple[type[ImportRejectedError], tuple[list[Problem]]]:
        """Pickled with its problems (a load run in a child process sends its refusal back)."""
        return (type(self), (self.problems,))
