"""IMACS 2004 DOI: worked examples D1/D2 (research notes §2.1) and undetermined cases."""

from __future__ import annotations

from myoivig.domain.vocab import Enzyme
from myoivig.outcomes.core_set import CoreSetChange, EnzymeValues, Pair
from myoivig.outcomes.imacs_doi import decide, imacs_definition_of_improvement
from myoivig.outcomes.tis_table import TisMeasure


def d1(mmt_fu: float = 126) -> CoreSetChange:
    return CoreSetChange(
        physician_global=Pair(6, 4),
        patient_global=Pair(6, 5),
        mmt8=Pair(120, mmt_fu),
        mmt8_max=150,
        haq=Pair(1.5, 1.2),  # exactly 20 % (float: 0.30000000000000004 / 1.5)
        extramuscular=Pair(3, 4),
        enzymes={Enzyme.CK: EnzymeValues(1000, 700, 200)},
    )


def test_d1_responder_with_exact_20_percent_haq() -> None:
    result = imacs_definition_of_improvement(d1())
    assert set(result.improved) == {TisMeasure.PHYSICIAN_GLOBAL, TisMeasure.HAQ, TisMeasure.ENZYME}
    assert result.worse == (TisMeasure.EXTRAMUSCULAR,)
    assert result.responder is True


def test_d2_mmt_worsening_disqualifies() -> None:
    result = imacs_definition_of_improvement(d1(mmt_fu=84))
    assert TisMeasure.MMT8 in result.worse
    assert result.responder is False


def test_mmt_worse_exactly_25_percent_counts_as_worse() -> None:
    assert imacs_definition_of_improvement(d1(mmt_fu=90)).responder is False
    assert imacs_definition_of_improvement(d1(mmt_fu=90.000001)).responder is True


def test_missing_measures_make_answer_undetermined_unless_forced() -> None:
    partial = CoreSetChange(
        physician_global=Pair(6, 4), haq=Pair(1.5, 1.2), mmt8=Pair(100, 100), mmt8_max=150
    )
    assert imacs_definition_of_improvement(partial).responder is None
    hopeless = CoreSetChange(physician_global=Pair(6, 6), mmt8=Pair(100, 100), mmt8_max=150)
    # 2 measures known not improved, 4 missing -> still possible
    assert imacs_definition_of_improvement(hopeless).responder is None
    assert decide(1, 0, 1, "not_worse") is False
    assert decide(3, 2, 1, "not_worse") is None
    assert decide(3, 2, 0, "not_worse") is True
    assert decide(5, 0, 1, "missing") is None
    assert decide(3, 3, 0, "not_worse") is False


def test_baseline_zero_cannot_improve_and_counts_as_worse() -> None:
    c = CoreSetChange(
        physician_global=Pair(0, 1),
        patient_global=Pair(0, 0),
        extramuscular=Pair(0, 2),
        haq=Pair(0, 0.5),
        mmt8=Pair(0, 10),
        mmt8_max=80,
    )
    result = imacs_definition_of_improvement(c)
    assert result.improved == (TisMeasure.MMT8,)
    assert len(result.worse) == 3
    assert result.responder is False
