"""Round trip per tagged format: records written in the format and read back keep their fields.

The writers produce each format as its exporters do (RIS, EndNote tagged/Refer, generic RefWorks,
CNKI RefWorks with joined and space-less author lines, NoteExpress, CNKI E-Study). NoteFirst is
XML, not a tagged format, and is not covered here.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from myoivig.review.importers import detect_format, import_bytes
from myoivig.review.importers.writers import export_records
from myoivig.review.records import BibRecord, Contributor


@dataclass(frozen=True)
class Profile:
    """What a format can carry: roles, PubMed ids, and whether names are Chinese only (CNKI)."""

    roles: tuple[str, ...]
    pmid: bool
    chinese_names: bool = False


PROFILES = {
    "ris": Profile(("editor", "translator"), pmid=True),
    "endnote_tagged": Profile(("editor", "translator"), pmid=True),
    "refworks": Profile(("editor", "contributor"), pmid=True),
    "cnki_refworks": Profile(("editor",), pmid=False, chinese_names=True),
    "cnki_noteexpress": Profile(("editor", "translator"), pmid=True),
    "cnki_estudy": Profile((), pmid=False, chinese_names=True),
}

SURNAMES = ["Cherin", "O'Neil", "Müller", "van der Berg", "Dalakas", "Pelletier", "Li"]
WESTERN = st.builds(
    lambda s, i: f"{s}, {i}.", st.sampled_from(SURNAMES), st.sampled_from("ABCDEFGHJK")
)
CHINESE = st.text(st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5), min_size=2, max_size=4)
WORD = st.text(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789()/:%'-,.αβ肌炎免疫球蛋白皮治疗",
    min_size=1,
    max_size=9,
)
TEXT = st.lists(WORD, min_size=1, max_size=14).map(" ".join)
DOI = st.builds(
    lambda prefix, body: f"10.{prefix}/{body}",
    st.integers(1000, 99999),
    st.from_regex(r"[a-z0-9][a-z0-9./()-]{0,20}[a-z0-9]", fullmatch=True),
)
PAGES = st.one_of(
    st.integers(1, 9999).map(str),
    st.builds(lambda a, n: f"{a}-{a + n}", st.integers(1, 9000), st.integers(1, 60)),
    st.integers(1, 99999).map(lambda n: f"e{n}"),
)
SMALL = st.from_regex(r"[0-9]{1,3}", fullmatch=True)


@st.composite
def records(draw: st.DrawFn, fmt: str) -> list[BibRecord]:
    profile = PROFILES[fmt]
    names = CHINESE if profile.chinese_names else st.one_of(WESTERN, CHINESE)
    out = []
    for position in range(1, draw(st.integers(1, 4)) + 1):
        contributors = []
        if draw(st.booleans()):  # a thesis with its supervisors
            contributors += [
                Contributor(name=n, role="supervisor")
                for n in draw(st.lists(names, min_size=1, max_size=2))
            ]
        for role in profile.roles:
            if role == "editor" and contributors and fmt == "cnki_refworks":
                continue  # CNKI theses carry supervisors, not editors
            contributors += [
                Contributor.model_validate({"name": n, "role": role})
                for n in draw(st.lists(names, max_size=2))
            ]
        out.append(
            BibRecord(
                record_id=f"x:{position}",
                source="x",
                source_format=fmt,
                position=position,
                title=draw(TEXT),
                authors=draw(st.lists(names, max_size=5)),
                contributors=contributors,
                year=draw(st.none() | st.integers(1900, 2030)),
                journal=draw(st.none() | TEXT),
                volume=draw(st.none() | SMALL),
                issue=draw(st.none() | SMALL),
                pages=draw(st.none() | PAGES),
                doi=draw(st.none() | DOI),
                pmid=draw(st.none() | st.integers(1, 99999999).map(str)) if profile.pmid else None,
                abstract=draw(st.none() | TEXT),
            )
        )
    return out


def _kept(record: BibRecord) -> tuple[object, ...]:
    roles: dict[str, list[str]] = {}
    for c in record.contributors:
        roles.setdefault(c.role, []).append(c.name)
    return (
        record.title,
        record.authors,
        roles,
        record.year,
        record.journal,
        record.volume,
        record.issue,
        record.pages,
        record.doi,
        record.pmid,
        record.abstract,
    )


FORMAT_AND_RECORDS = st.sampled_from(sorted(PROFILES)).flatmap(
    lambda fmt: st.tuples(st.just(fmt), records(fmt))
)


@settings(max_examples=300, deadline=None)
@given(case=FORMAT_AND_RECORDS, encoding=st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]))
def test_written_records_read_back_unchanged(
    case: tuple[str, list[BibRecord]], encoding: str
) -> None:
    fmt, written = case
    data = export_records(written, fmt).encode(encoding)
    # A short GB18030 text can also be valid UTF-8 ('一一' is D2 BB D2 BB); UTF-8 wins such a tie
    # by design, so GB18030 is named, as a user does with --encoding.
    named = "gb18030" if encoding == "gb18030" else None
    detected = detect_format(data, named)
    family = {"refworks": {"refworks", "cnki_refworks"}}.get(fmt, {fmt})
    assert detected in family, detected
    result = import_bytes(data, source="x", encoding=named)
    assert result.issues == []
    assert [_kept(r) for r in result.records] == [_kept(r) for r in written]


@settings(max_examples=100, deadline=None)
@given(written=records("cnki_refworks"))
def test_cnki_refworks_without_space_after_author_tags(written: list[BibRecord]) -> None:
    data = export_records(written, "cnki_refworks_compact").encode("gb18030")
    result = import_bytes(data, source="cnki", fmt="cnki_refworks", encoding="gb18030")
    assert result.issues == []
    assert [_kept(r) for r in result.records] == [_kept(r) for r in written]


@settings(max_examples=100, deadline=None)
@given(written=records("refworks"))
def test_generic_refworks_read_as_cnki_dialect_keeps_fields(written: list[BibRecord]) -> None:
    """The CNKI and generic RefWorks readers are one: a generic file reads the same either way."""
    data = export_records(written, "refworks").encode("utf-8")
    result = import_bytes(data, source="x", fmt="cnki_refworks")
    assert [_kept(r) for r in result.records] == [_kept(r) for r in written]


PREAMBLES = {
    "ris": 'Provider: Elsevier\nDatabase: ScienceDirect\nContent: text/plain; charset="UTF-8"\n\n',
    "refworks": "RefWorks Tagged Format\n\n",
}


@settings(max_examples=150, deadline=None)
@given(
    case=FORMAT_AND_RECORDS,
    preamble=st.booleans(),
    numbered=st.booleans(),
    rules=st.booleans(),
    crlf=st.booleans(),
)
def test_preambles_record_numbers_and_rules_change_nothing(
    case: tuple[str, list[BibRecord]], preamble: bool, numbered: bool, rules: bool, crlf: bool
) -> None:
    """Real exports wrap the same records in headers, numbers and rules: same records come back."""
    fmt, written = case
    blocks = export_records(written, fmt).rstrip("\n").split("\n\n")
    text = "charset=UTF-8\n\n" if preamble else ""
    if preamble:
        text = PREAMBLES.get(fmt, text)
    for number, block in enumerate(blocks, start=1):
        text += (f"{number}.\n" if numbered else "") + block + "\n\n"
        text += "-" * 40 + "\n\n" if rules else ""
    if crlf:
        text = text.replace("\n", "\r\n")
    result = import_bytes(text.encode("utf-8"), source="x")
    assert result.issues == []
    assert [_kept(r) for r in result.records] == [_kept(r) for r in written]
