"""PRISMA 2020 27-item checklist with where each item is addressed.

Item numbers, sections and topics from Page MJ et al., BMJ 2021;372:n71;
the descriptions are short paraphrases, not the official wording. Locations the software knows
(flow diagram, protocol fields, dedup/screening methods) are filled in automatically; the rest
come from the authors' own mapping, and unmapped items are exported as 'NOT ADDRESSED'.
"""

from __future__ import annotations

import csv
import io

from pydantic import BaseModel

ITEMS: list[tuple[str, str, str, str]] = [
    ("1", "Title", "Title", "Identify the report as a systematic review"),
    ("2", "Abstract", "Abstract", "Structured abstract (PRISMA 2020 for Abstracts)"),
    ("3", "Introduction", "Rationale", "Rationale in the context of existing knowledge"),
    ("4", "Introduction", "Objectives", "Explicit objectives or questions"),
    ("5", "Methods", "Eligibility criteria", "Inclusion/exclusion criteria and grouping"),
    ("6", "Methods", "Information sources", "All sources searched and date last searched"),
    ("7", "Methods", "Search strategy", "Full search strategies incl. filters and limits"),
    ("8", "Methods", "Selection process", "Screeners, independence, automation tools"),
    ("9", "Methods", "Data collection process", "Extractors, independence, confirmation"),
    ("10a", "Methods", "Data items", "Outcomes sought and how results were chosen"),
    ("10b", "Methods", "Data items", "Other variables sought and assumptions"),
    ("11", "Methods", "Study risk of bias assessment", "Tools, assessors, independence"),
    ("12", "Methods", "Effect measures", "Effect measure per outcome"),
    ("13a", "Methods", "Synthesis methods", "Which studies were eligible for each synthesis"),
    ("13b", "Methods", "Synthesis methods", "Data preparation (missing statistics, conversions)"),
    ("13c", "Methods", "Synthesis methods", "Tabulation and display of results"),
    ("13d", "Methods", "Synthesis methods", "Synthesis method and rationale, heterogeneity model"),
    ("13e", "Methods", "Synthesis methods", "Exploring causes of heterogeneity"),
    ("13f", "Methods", "Synthesis methods", "Sensitivity analyses"),
    ("14", "Methods", "Reporting bias assessment", "Risk of bias due to missing results"),
    ("15", "Methods", "Certainty assessment", "Certainty in the body of evidence"),
    ("16a", "Results", "Study selection", "Search and selection results, ideally a flow diagram"),
    ("16b", "Results", "Study selection", "Seemingly eligible studies excluded, with reasons"),
    ("17", "Results", "Study characteristics", "Cite and describe each included study"),
    ("18", "Results", "Risk of bias in studies", "Risk of bias per included study"),
    ("19", "Results", "Results of individual studies", "Per-study statistics and estimates"),
    ("20a", "Results", "Results of syntheses", "Characteristics and risk of bias per synthesis"),
    ("20b", "Results", "Results of syntheses", "Results of all statistical syntheses"),
    ("20c", "Results", "Results of syntheses", "Investigations of heterogeneity"),
    ("20d", "Results", "Results of syntheses", "Sensitivity analyses"),
    ("21", "Results", "Reporting biases", "Risk of bias due to missing results"),
    ("22", "Results", "Certainty of evidence", "Certainty for each outcome"),
    ("23a", "Discussion", "Discussion", "Interpretation in context of other evidence"),
    ("23b", "Discussion", "Discussion", "Limitations of the evidence"),
    ("23c", "Discussion", "Discussion", "Limitations of the review processes"),
    ("23d", "Discussion", "Discussion", "Implications for practice, policy, research"),
    ("24a", "Other information", "Registration and protocol", "Registration name and number"),
    ("24b", "Other information", "Registration and protocol", "Where the protocol is accessible"),
    ("24c", "Other information", "Registration and protocol", "Amendments to the protocol"),
    ("25", "Other information", "Support", "Sources of support and role of funders"),
    ("26", "Other information", "Competing interests", "Competing interests of authors"),
    ("27", "Other information", "Availability of data, code and other materials",
     "What is publicly available and where"),
]  # fmt: skip

TOP_LEVEL_ITEMS = 27

# Where this software's outputs address an item by construction.
GENERATED: dict[str, str] = {
    "5": "Protocol: inclusion_criteria / exclusion_criteria (protocol.yaml)",
    "6": "Protocol: sources and date range (protocol.yaml); search log",
    "7": "Protocol: sources[].query; PubMed search log (query, date windows, counts)",
    "8": "Methods: dual independent screening with arbitration (review screen); dedup settings",
    "9": "Methods: two extractors per study with field-level reconciliation (review extract)",
    "16a": "PRISMA 2020 flow diagram derived from the event log (review prisma)",
    "16b": "Full-text exclusions with reasons (flow diagram; exclusions table)",
    "17": "Evidence table (review example / study table)",
    "18": "Appraisal: RoB 2 / ROBINS-I / NOS and CEBM 2009 level per study (review appraise)",
    "22": "GRADE certainty per outcome with reasons (review appraise grade)",
}


class ChecklistRow(BaseModel):
    item: str
    section: str
    topic: str
    description: str
    addressed_in: str


def checklist(addressed: dict[str, str] | None = None) -> list[ChecklistRow]:
    """All items with their location: authors' mapping wins, else generated, else NOT ADDRESSED."""
    addressed = addressed or {}
    unknown = sorted(set(addressed) - {i for i, *_ in ITEMS})
    if unknown:
        raise ValueError(f"unknown PRISMA 2020 checklist items: {unknown}")
    return [
        ChecklistRow(
            item=item,
            section=section,
            topic=topic,
            description=text,
            addressed_in=addressed.get(item) or GENERATED.get(item) or "NOT ADDRESSED",
        )
        for item, section, topic, text in ITEMS
    ]


def to_csv(rows: list[ChecklistRow]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(ChecklistRow.model_fields), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(row.model_dump())
    return buffer.getvalue()


def to_markdown(rows: list[ChecklistRow]) -> str:
    lines = ["| Item | Section | Topic | Addressed in |", "|---|---|---|---|"]
    lines += [f"| {r.item} | {r.section} | {r.topic} | {r.addressed_in} |" for r in rows]
    return "\n".join(lines) + "\n"
