"""The infusion_days table of the tabular format: rate steps and reactions as JSON cells, and
rows that do not fit their course refused with table, column and value (no database needed)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from myoivig.io.importer import load_bundle
from myoivig.io.problems import ImportRejectedError

FULL = Path(__file__).parents[1] / "clinic" / "fixtures" / "full"


def test_the_fixture_days_are_read_with_steps_and_reactions() -> None:
    bundle = load_bundle(FULL)
    p1 = next(d for d in bundle.dossiers if d.patient.code == "P001")
    first, second = p1.infusion_days
    assert [s.rate for s in first.rate_steps] == [0.01, 0.02, 0.04]
    assert first.reactions[0].type == "headache" and first.reactions[0].ctcae_grade == 1
    assert second.rate_steps[1].unit.value == "ml_per_h" and second.reactions == []
    assert bundle.counts()["infusion_days"] == 3


def test_rows_that_do_not_fit_their_course_are_named(tmp_path: Path) -> None:
    folder = tmp_path / "bad"
    shutil.copytree(FULL, folder)
    with (folder / "infusion_days.csv").open("a", encoding="utf-8") as out:
        out.write("P001,2,4,2023-03-06,octagam-10,L2,28,,,,,,\n")  # course 2 has 3 days
        out.write("P001,3,1,,octagam-10,L3,28,,,,,,\n")  # no course 3
        out.write('P002,1,2,2023-05-02,privigen,L4,80,,"[{""rate"": 0}]",,,,\n')
        out.write("P002,1,2,2023-05-02,privigen,,80,,,,,,\n")
    with pytest.raises(ImportRejectedError) as error:
        load_bundle(folder)
    found = {(p.table, p.column, p.value) for p in error.value.problems}
    assert ("infusion_days", "day_number", "4") in found
    assert ("infusion_days", "course_number", "3") in found
    text = "\n".join(str(p) for p in error.value.problems)
    assert "beyond course 2's 3 planned day(s)" in text
    assert "rate_steps" in text and "lot_number" in text
