"""Reading labelled screening datasets (CSV: title, abstract, a 0/1 label column).

The format is the SYNERGY/ASReview labelled-dataset one (the SYNERGY benchmark
collection), as used for the Cohen 2006 systematic-review sets.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from myoivig.review.screening.events import ScreeningError

ID_COLUMNS = ("record_id", "pubmedID", "id")


@dataclass(frozen=True)
class LabelledDataset:
    """Records with their text and a known inclusion label, in file order."""

    name: str
    record_ids: tuple[str, ...]
    texts: tuple[str, ...]
    labels: np.ndarray  # int64, 1 = relevant

    @property
    def n_relevant(self) -> int:
        """How many records carry label 1."""
        return int(self.labels.sum())

    def __len__(self) -> int:
        return len(self.record_ids)


def load_labelled_csv(path: Path, label_column: str = "label_included") -> LabelledDataset:
    """Read a labelled CSV; every label must be 0 or 1 (the error names row, column and value)."""
    import pandas as pd  # heavy: only when a file is read

    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except FileNotFoundError:
        raise ScreeningError(f"data: file not found: {path}") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ScreeningError(f"data: cannot read {path}: {exc}") from None
    missing = [c for c in ("title", label_column) if c not in frame.columns]
    if missing:
        raise ScreeningError(f"data: {path.name} has no column(s) {missing}")
    labels = np.empty(len(frame), dtype=np.int64)
    for row, value in enumerate(frame[label_column]):
        text = value.strip()
        if text not in ("0", "1", "0.0", "1.0"):
            # row numbers count the header as line 1, as a spreadsheet shows them
            raise ScreeningError(
                f"data: {path.name} line {row + 2}: {label_column}={value!r} is not 0 or 1"
            )
        labels[row] = int(float(text))
    id_column = next((c for c in ID_COLUMNS if c in frame.columns), None)
    ids = (
        [str(v) for v in frame[id_column]]
        if id_column
        else [str(i) for i in range(1, len(frame) + 1)]
    )
    if len(set(ids)) != len(ids):
        dup = next(i for i, n in Counter(ids).items() if n > 1)
        raise ScreeningError(f"data: {path.name}: duplicate record id {dup!r} in {id_column}")
    abstracts = frame["abstract"] if "abstract" in frame.columns else [""] * len(frame)
    texts = tuple(f"{t} {a}".strip() for t, a in zip(frame["title"], abstracts, strict=True))
    return LabelledDataset(path.stem, tuple(ids), texts, labels)


@dataclass(frozen=True)
class RecordTexts:
    """Records to screen: id and the text the ranking model reads (title + abstract)."""

    record_ids: tuple[str, ...]
    texts: tuple[str, ...]


def load_records_csv(path: Path) -> RecordTexts:
    """Read records to screen (columns: an id column, title, optional abstract)."""
    import pandas as pd  # heavy: only when a file is read

    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except FileNotFoundError:
        raise ScreeningError(f"records: file not found: {path}") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ScreeningError(f"records: cannot read {path}: {exc}") from None
    id_column = next((c for c in ID_COLUMNS if c in frame.columns), None)
    if id_column is None or "title" not in frame.columns:
        raise ScreeningError(
            f"records: {path.name} needs an id column (one of {list(ID_COLUMNS)}) and 'title'"
        )
    ids = [v.strip() for v in frame[id_column]]
    for row, rid in enumerate(ids):
        if not rid:
            raise ScreeningError(f"records: {path.name} line {row + 2}: {id_column} is empty")
    counts = Counter(ids)
    dup = next((i for i, n in counts.items() if n > 1), None)
    if dup is not None:
        raise ScreeningError(f"records: {path.name}: duplicate record id {dup!r} in {id_column}")
    abstracts = frame["abstract"] if "abstract" in frame.columns else [""] * len(frame)
    texts = tuple(f"{t} {a}".strip() for t, a in zip(frame["title"], abstracts, strict=True))
    return RecordTexts(tuple(ids), texts)
