"""Study tables in, effect sizes out: the tabular edge of the evidence engine.

Columns follow metafor's names (`ai bi ci di`, `n1i n2i`, `xi ni`, `m1i sd1i n1i m2i sd2i n2i`,
`m1i m2i sd1i ni ri`, `yi vi` or `yi sei`, or `estimate ci_lower ci_upper`). A `study` (or
`label`, `author`) column, when present, labels the rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd

from myoivig.evidence.effect_sizes import (
    EffectSizeInputError,
    EffectSizes,
    escalc,
    from_confidence_interval,
)
from myoivig.evidence.errors import UsageError

LABEL_COLUMNS = ("study", "label", "author", "study_id")

REQUIRED: dict[str, tuple[tuple[str, ...], ...]] = {
    "PR": (("xi", "ni"),),
    "PLO": (("xi", "ni"),),
    "PAS": (("xi", "ni"),),
    "PFT": (("xi", "ni"),),
    "OR": (("ai", "bi", "ci", "di"), ("ai", "n1i", "ci", "n2i")),
    "RR": (("ai", "bi", "ci", "di"), ("ai", "n1i", "ci", "n2i")),
    "RD": (("ai", "bi", "ci", "di"), ("ai", "n1i", "ci", "n2i")),
    "PETO": (("ai", "bi", "ci", "di"), ("ai", "n1i", "ci", "n2i")),
    "MD": (("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"),),
    "SMD": (("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"),),
    "ROM": (("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"),),
    "SMCR": (("m1i", "m2i", "sd1i", "ni", "ri"),),
    "GEN": (("yi", "vi"), ("yi", "sei"), ("estimate", "ci_lower", "ci_upper")),
}


def read_table(path: Path) -> pd.DataFrame:
    """Read a CSV (or TSV by extension) study table."""
    if not path.exists():
        raise UsageError(f"file not found: {path}")
    return read_table_from(path, path.name)


def read_table_from(source: Path | IO[bytes], name: str) -> pd.DataFrame:
    """Read a CSV (TSV when `name` ends .tsv/.tab) from a path or an uploaded file's bytes."""
    sep = "\t" if name.lower().endswith((".tsv", ".tab")) else ","
    try:
        # Only an empty cell is missing: 'NA' or 'n/a' stay text, so errors quote them as written.
        return pd.read_csv(source, sep=sep, comment="#", keep_default_na=False, na_values=[""])
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise EffectSizeInputError(f"{name}: not a readable CSV table ({err})") from err


def labels_of(df: pd.DataFrame) -> list[str] | None:
    """Study labels from the first label-like column, or None."""
    for col in LABEL_COLUMNS:
        if col in df.columns:
            return [str(v) for v in df[col].tolist()]
    return None


def _columns_for(df: pd.DataFrame, measure: str) -> tuple[str, ...]:
    options = REQUIRED.get(measure)
    if options is None:
        raise EffectSizeInputError(f"unknown measure {measure!r}; known: {', '.join(REQUIRED)}")
    for cols in options:
        if all(c in df.columns for c in cols):
            return cols
    wanted = " or ".join("/".join(cols) for cols in options)
    missing = [c for c in options[0] if c not in df.columns]
    raise EffectSizeInputError(
        f"measure {measure} needs columns {wanted}; missing column(s): {', '.join(missing)}"
    )


def cell_text(value: object) -> str:
    """A cell as the user wrote it, for error messages ('blank' for an empty cell)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "blank"
    text = str(value)
    return "blank" if not text.strip() else repr(text)


def bad_cell_message(df: pd.DataFrame, col: str, i: int, label: str | None = None) -> str:
    """'row 2 (B): column 'xi' is blank; ...' for the i-th (0-based) data row."""
    where = f"row {i + 1}" + (f" ({label})" if label is not None else "")
    text = cell_text(df[col].iloc[i])
    if text == "blank":
        return f"{where}: column '{col}' is blank; every row needs a number there"
    return f"{where}: column '{col}' = {text} is not a number"


def numeric_column(df: pd.DataFrame, col: str, labels: Sequence[str] | None = None) -> np.ndarray:
    """A column as floats; a blank or non-numeric cell is an error naming row and column."""
    if col not in df.columns:
        raise EffectSizeInputError(f"missing column '{col}'")
    values = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        i = int(bad[0])
        label = labels[i] if labels is not None else None
        raise EffectSizeInputError(bad_cell_message(df, col, i, label))
    return values


def effect_sizes_from_table(
    df: pd.DataFrame,
    measure: str,
    *,
    add: float = 0.5,
    to: str = "only0",
    drop00: bool = False,
    vtype: str = "LS",
    log_scale_ci: bool = False,
) -> EffectSizes:
    """Compute the effect sizes of a study table by measure name."""
    measure = measure.upper()
    if measure == "YI":
        measure = "GEN"
    labels = labels_of(df)
    cols = _columns_for(df, measure)
    data = {c: numeric_column(df, c, labels) for c in cols}
    if measure == "GEN" and "estimate" in data:
        return from_confidence_interval(
            data["estimate"], data["ci_lower"], data["ci_upper"], log_scale=log_scale_ci,
            labels=labels,
        )  # fmt: skip
    if measure == "GEN" and "ni" in df.columns:
        data["ni"] = numeric_column(df, "ni", labels)
    if measure in ("PR", "PLO", "PAS", "PFT", "OR", "RR", "RD", "PETO"):
        return escalc(measure, add=add, to=to, drop00=drop00, labels=labels, **data)  # type: ignore[arg-type]
    return escalc(measure, vtype=vtype, labels=labels, **data)  # type: ignore[arg-type]


def moderator_matrix(df: pd.DataFrame, names: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Numeric moderators as columns; a text moderator becomes indicator columns."""
    labels = labels_of(df)
    cols: list[np.ndarray] = []
    out_names: list[str] = []
    for name in names:
        if name not in df.columns:
            raise EffectSizeInputError(f"missing moderator column '{name}'")
        series = df[name]
        if pd.api.types.is_numeric_dtype(series):
            cols.append(numeric_column(df, name, labels))
            out_names.append(name)
        else:
            levels = list(dict.fromkeys(str(v) for v in series.tolist()))
            for level in levels[1:]:
                cols.append((series.astype(str) == level).to_numpy(dtype=np.float64))
                out_names.append(f"{name}{level}")
    return np.column_stack(cols), out_names
