"""Write the example review's artefacts to a folder (the I/O edge of `build`)."""

from __future__ import annotations

import json
from pathlib import Path

from myoivig.atomic_files import check_output, write_text
from myoivig.review.evidence_table import poolable, study_table
from myoivig.review.example.build import ExampleResult, build, events, protocol, references
from myoivig.review.prisma.checklist import checklist, to_csv
from myoivig.review.prisma.diagram import save
from myoivig.review.prisma.events import EventLog
from myoivig.review.prisma.flow import derive
from myoivig.review.protocol import dump_protocol
from myoivig.review.studies import links_from_assignments

TITLE = "IVIg in adult PM/DM (Wang 2012), reconstructed from its 23 cited references"


def evidence_markdown(result: ExampleResult) -> str:
    lines = [
        "| Study | Design | CEBM 2009 | n (IVIg) | Response (definition) | Serious AE |",
        "|---|---|---|---|---|---|",
    ]
    for e in result.extractions:
        r = e.primary_response()
        response = f"{r.responders}/{r.evaluated} ({r.measure})" if r else "not confirmed"
        lines.append(
            f"| {e.first_author} {e.year} | {e.design.value if e.design else 'unknown'} | "
            f"{result.cebm.get(e.study_id, '-')} | {e.n_ivig if e.n_ivig is not None else '-'} | "
            f"{response} | "
            f"{e.adverse_events.serious if e.adverse_events.serious is not None else '-'} |"
        )
    return "\n".join(lines) + "\n"


def reconciliation_markdown(result: ExampleResult) -> str:
    rec = result.reconciliation
    p, d = rec["patients"], rec["designs"]
    lines = [
        "# Reported versus confirmed",
        "",
        f"- Patients: the review reports **{p['reported_by_review']}**; the sources confirm "
        f"**{p['confirmed_sum']}** over {p['studies_with_confirmed_n']} studies "
        f"(gap {p['gap']}); no readable count for: {', '.join(p['studies_without_n'])}.",
        f"- Designs reported: {d['reported_by_review']}; confirmed: {d['confirmed']}.",
        "- Mastaglia 1998 responders: abstract "
        f"{rec['mastaglia1998_responders']['abstract']}/11, table "
        f"{rec['mastaglia1998_responders']['table']}/11; used "
        f"{rec['mastaglia1998_responders']['used']} (the paper's per-patient table; its abstract "
        "says 9).",
        "",
        "The numbers are shown side by side on purpose; nothing is adjusted to make them agree.",
    ]
    return "\n".join(lines) + "\n"


def write_example(out: Path) -> dict[str, Path]:
    """Write every artefact (each atomically, after the example is built); returns name -> path."""
    check_output(out / "protocol.yaml")
    result = build()
    log = EventLog(events=events())
    counts = derive(log.events)
    paths: dict[str, Path] = {}

    def put(name: str, text: str) -> None:
        paths[name] = write_text(out / name, text)

    put("protocol.yaml", dump_protocol(protocol()))
    put(
        "references.json",
        json.dumps([r.model_dump(mode="json") for r in references()], ensure_ascii=False, indent=1),
    )
    put("events.json", log.model_dump_json(indent=1))
    put("prisma_counts.json", counts.model_dump_json(indent=1))
    svg, png = save(counts, out / "prisma_flow.svg", title=TITLE)
    paths["prisma_flow.svg"], paths["prisma_flow.png"] = svg, png
    table = study_table(result.extractions, links_from_assignments(log.events))
    put("study_table.csv", table.to_csv(index=False))
    put("study_table_poolable.csv", poolable(table).to_csv(index=False))
    put("evidence_table.md", evidence_markdown(result))
    put("reconciliation.json", json.dumps(result.reconciliation, indent=1))
    put("reconciliation.md", reconciliation_markdown(result))
    put(
        "extractions.json",
        json.dumps([e.model_dump(mode="json") for e in result.extractions], ensure_ascii=False,
                   indent=1),
    )  # fmt: skip
    put("prisma_checklist.csv", to_csv(checklist()))
    return paths
