from __future__ import annotations

from pathlib import Path

import pytest

from myoivig.review.protocol import (
    ProtocolError,
    ReviewerRole,
    dump_protocol,
    load_protocol,
    protocol_from_mapping,
)

EXAMPLE = Path(__file__).parents[2] / "src/myoivig/review/example/protocol.yaml"


def test_example_protocol_loads_and_round_trips(tmp_path: Path) -> None:
    protocol = load_protocol(EXAMPLE)
    assert (protocol.date_from, protocol.date_to) == (1985, 2011)
    assert [s.name for s in protocol.sources] == ["MEDLINE", "CNKI"]
    assert len(protocol.reviewers_with(ReviewerRole.SCREENER)) == 2
    out = tmp_path / "p.yaml"
    out.write_text(dump_protocol(protocol), encoding="utf-8")
    assert load_protocol(out) == protocol


def _base() -> dict[str, object]:
    return {
        "title": "t",
        "question": {"population": "p", "intervention": "i", "outcomes": ["o"]},
        "sources": [{"name": "MEDLINE"}],
        "date_from": 1985,
        "date_to": 2011,
        "languages": ["en"],
        "inclusion_criteria": ["c"],
        "exclusion_reasons": ["r"],
        "reviewers": [{"reviewer_id": "a", "name": "A", "roles": ["screener"]}],
    }


def test_invalid_protocol_names_field_and_value() -> None:
    bad = _base() | {"date_from": 2020}
    with pytest.raises(ProtocolError, match="date_from 2020 is after date_to 2011"):
        protocol_from_mapping(bad, "x.yaml")
    bad = _base() | {"reviewers": [{"reviewer_id": "a", "name": "A", "roles": ["boss"]}]}
    with pytest.raises(ProtocolError, match=r"reviewers\.0\.roles\.0.*'boss'"):
        protocol_from_mapping(bad, "x.yaml")
    bad = _base() | {"sources": [{"name": "X", "kind": "blog"}]}
    with pytest.raises(ProtocolError, match="kind must be one of"):
        protocol_from_mapping(bad)
    with pytest.raises(ProtocolError, match="must be a mapping"):
        protocol_from_mapping([1, 2])
