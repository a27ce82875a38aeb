"""CLI: `myoivig dose`, `myoivig plan CODE`, `myoivig advise CODE` and `myoivig protocol ...`."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from myoivig.command_store import open_store
from myoivig.domain.vocab import AntibodyResult, BloodGroup, Sex
from myoivig.protocol.calendar_export import to_ics
from myoivig.protocol.catalogue import load_catalogue
from myoivig.protocol.errors import PlanningError, ProtocolError
from myoivig.protocol.planner import CoursePlan, PlanRequest, plan_course
from myoivig.protocol.regimens import CourseKind, load_regimens
from myoivig.protocol.report import advice_dict, alert_dict, plan_dict
from myoivig.protocol.safety import Risk
from myoivig.protocol.schedule import build_schedule
from myoivig.protocol.settings import ProtocolSettings, Rounding
from myoivig.protocol.settings_file import load_settings

if TYPE_CHECKING:  # heavy modules load inside the commands that use them
    from myoivig.domain.records import PatientDossier

console = Console()
err_console = Console(stderr=True, soft_wrap=True)

protocol_app = typer.Typer(help="IVIg protocol engine: products, regimens, schedules.")


def _fail(exc: ProtocolError) -> typer.Exit:
    err_console.print(f"[red]error:[/red] {exc}. Nothing was planned.")
    return typer.Exit(code=2)


def _settings(path: Path | None, rounding: Rounding | None) -> ProtocolSettings:
    """The site settings (file, env or defaults) with the command line's rounding on top."""
    settings = load_settings(path)
    return settings if rounding is None else settings.model_copy(update={"rounding": rounding})


def _parse_risks(text: str | None) -> frozenset[Risk]:
    if not text:
        return frozenset()
    out = set()
    for item in (t.strip() for t in text.split(",")):
        if not item:
            continue
        try:
            out.add(Risk(item))
        except ValueError:
            known = ", ".join(r.value for r in Risk)
            raise PlanningError("risk", item, f"unknown risk; known: {known}") from None
    return frozenset(out)


def _emit(data: dict[str, Any]) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


def print_plan(plan: CoursePlan) -> None:
    """Readable plan for the terminal."""
    w = plan.weight
    console.print(f"[bold]{plan.regimen.name}[/bold] — {plan.request.course.value} course")
    product = plan.product.name if plan.product else "not chosen"
    console.print(f"Product: {product}; {plan.days} day(s)")
    if w:
        console.print(
            f"Weight {w.actual_kg:g} kg; ideal {w.ideal_kg or 0:.1f} kg; adjusted "
            f"{w.adjusted_kg or 0:.1f} kg; dosing {w.dosing_kg:.1f} kg ({w.reason})"
        )
    if plan.dose:
        d = plan.dose
        console.print(
            f"Dose {d.dose_g:.1f} g (prescribed {d.prescribed_g:.1f} g, rounding "
            f"{d.rounding.value}); daily {', '.join(f'{x:.1f}' for x in d.daily_dose_g)} g"
        )
        for day in d.per_day:
            vials = " + ".join(f"{n} x {s:g} g" for s, n in day.vials.counts)
            vol = f"{day.volume_ml:.0f} mL" if day.volume_ml is not None else "volume unknown"
            console.print(f"  day {day.day}: {vials} ({vol}, waste {day.waste_g:.1f} g)")
    if plan.infusion:
        first = plan.infusion[0]
        table = Table(title=f"Rate schedule per day (max {first.max_rate_ml_per_kg_min} mL/kg/min)")
        for col in ("start", "mL/kg/min", "pump mL/h", "minutes", "mL"):
            table.add_column(col, justify="right")
        for s in first.steps:
            table.add_row(
                s.start,
                f"{s.rate_ml_per_kg_min:g}",
                f"{s.pump_ml_per_h:.0f}",
                f"{s.duration_min:.0f}",
                f"{s.volume_ml:.0f}",
            )
        console.print(table)
        console.print(f"Expected duration per day: {first.duration_h:.1f} h")
    colours = {"block": "red", "warning": "yellow", "info": "cyan"}
    for a in plan.alerts:
        c = colours[a.severity.value]
        console.print(f"[{c}]{a.severity.value.upper()}[/{c}] {a.code}: {a.message}")
        console.print(f"    source: {a.source}")


def dose(
    regimen: Annotated[str, typer.Option(help="Named regimen or e.g. 2g/kg")],
    product: Annotated[str | None, typer.Option(help="Product key, e.g. octagam-10")] = None,
    sex: Annotated[Sex | None, typer.Option(help="F or M (X: no Devine ideal weight)")] = None,
    age: Annotated[int | None, typer.Option(help="Age in years")] = None,
    height_cm: Annotated[float | None, typer.Option(help="Height in cm")] = None,
    weight_kg: Annotated[float | None, typer.Option(help="Actual weight in kg")] = None,
    days: Annotated[int | None, typer.Option(help="Infusion days for this course")] = None,
    course: Annotated[CourseKind, typer.Option(help="Which course of the regimen")] = (
        CourseKind.INDUCTION
    ),
    rounding: Annotated[
        Rounding | None, typer.Option(help="none, 5g or vials (default: the settings')")
    ] = None,
    risk: Annotated[str | None, typer.Option(help="Comma-separated risk factors")] = None,
    iga_g_per_l: Annotated[float | None, typer.Option(help="Serum IgA (g/L)")] = None,
    anti_iga: Annotated[AntibodyResult | None, typer.Option(help="Anti-IgA antibodies")] = None,
    egfr: Annotated[float | None, typer.Option(help="eGFR mL/min/1.73 m2")] = None,
    blood_group: Annotated[BloodGroup | None, typer.Option(help="ABO group")] = None,
    start_date: Annotated[str | None, typer.Option(help="Course start date (ISO)")] = None,
    settings_file: Annotated[
        Path | None, typer.Option("--settings", help="YAML file of protocol settings")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Plan one IVIg course: dosing weight, grams, vials, rate steps and safety alerts."""
    try:
        start = _parse_date("start_date", start_date)
        request = PlanRequest(
            regimen=regimen,
            sex=sex,
            age=age,
            weight_kg=weight_kg,
            height_cm=height_cm,
            course=course,
            days=days,
            product=product,
            iga_g_per_l=iga_g_per_l,
            anti_iga=anti_iga,
            egfr=egfr,
            blood_group=blood_group,
            risks=_parse_risks(risk),
            start_date=start,
        )
        if weight_kg is None:
            raise PlanningError("weight_kg", None, "required for the dose command")
        plan = plan_course(request, settings=_settings(settings_file, rounding))
    except ProtocolError as exc:
        raise _fail(exc) from exc
    if as_json:
        _emit(plan_dict(plan))
    else:
        print_plan(plan)


def _parse_date(field: str, text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise PlanningError(field, text, "expected an ISO date YYYY-MM-DD") from None


@protocol_app.command("products")
def products(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List the product catalogue with stabiliser, IgA and myositis rate profile."""
    cat = load_catalogue()
    rows = []
    for p in cat.products.values():
        prof = p.rate_profiles.get(p.myositis_profile) if p.myositis_profile else None
        rows.append(
            {
                "key": p.key,
                "name": p.name,
                "concentration_g_per_ml": p.concentration_g_per_ml.value,
                "vial_sizes_g": p.vial_sizes_g.value,
                "stabiliser": p.stabiliser.value.value if p.stabiliser.value else None,
                "iga": p.iga.value,
                "iga_unit": p.iga.unit,
                "iga_kind": p.iga.kind,
                "historical": p.historical,
                "rate_profile": p.myositis_profile,
                "max_ml_per_kg_min": prof.max_ml_per_kg_min.value if prof else None,
                "at_risk_max_ml_per_kg_min": prof.at_risk_max_ml_per_kg_min.value if prof else None,
            }
        )
    if as_json:
        _emit({"products": rows})
        return
    table = Table(title="IVIg products")
    for col in ("key", "name", "conc", "vials g", "stabiliser", "max", "at-risk max"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            str(r["key"]),
            str(r["name"]),
            str(r["concentration_g_per_ml"]),
            str(r["vial_sizes_g"]),
            str(r["stabiliser"]),
            str(r["max_ml_per_kg_min"]),
            str(r["at_risk_max_ml_per_kg_min"]),
        )
    console.print(table)


@protocol_app.command("regimens")
def regimens(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List the named regimens."""
    book = load_regimens()
    rows = [r.model_dump(mode="json", exclude_none=True) for r in book.regimens.values()]
    if as_json:
        _emit({"regimens": rows})
        return
    for r in book.regimens.values():
        console.print(f"[bold]{r.key}[/bold]: {r.name}\n    source: {r.source}")


@protocol_app.command("schedule")
def schedule(
    regimen: Annotated[str, typer.Option(help="Named regimen or e.g. 2g/kg")],
    start: Annotated[str, typer.Option(help="First infusion day (ISO date)")],
    maintenance_courses: Annotated[int, typer.Option(help="Maintenance courses to list")] = 5,
    induction_days: Annotated[int | None, typer.Option(help="Days of the induction course")] = None,
    maintenance_days: Annotated[int | None, typer.Option(help="Days of each maintenance")] = None,
    product: Annotated[str | None, typer.Option(help="Product key")] = None,
    sex: Annotated[Sex | None, typer.Option()] = None,
    height_cm: Annotated[float | None, typer.Option()] = None,
    weight_kg: Annotated[float | None, typer.Option()] = None,
    patient: Annotated[str, typer.Option(help="Label used in event titles")] = "patient",
    ics: Annotated[Path | None, typer.Option(help="Write an iCalendar file here")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Dated infusion days for induction plus maintenance courses; optional .ics export."""
    try:
        first = _parse_date("start", start)
        assert first is not None
        book = load_regimens()
        reg = book.get(regimen)
        daily: dict[CourseKind, float | None] = {}
        product_name = None
        for kind, n in (
            (CourseKind.INDUCTION, induction_days),
            (CourseKind.MAINTENANCE, maintenance_days),
        ):
            daily[kind] = None
            if product is None and reg.product is None:
                continue
            plan = plan_course(
                PlanRequest(
                    regimen=regimen,
                    sex=sex,
                    weight_kg=weight_kg,
                    height_cm=height_cm,
                    course=kind,
                    days=n,
                    product=product,
                )
            )
            product_name = plan.product.name if plan.product else None
            if plan.dose is not None:
                daily[kind] = plan.dose.daily_dose_g[0]
        courses = build_schedule(
            reg,
            first,
            maintenance_courses,
            induction_days,
            maintenance_days,
            daily[CourseKind.INDUCTION],
            daily[CourseKind.MAINTENANCE],
        )
    except ProtocolError as exc:
        raise _fail(exc) from exc
    if ics is not None:
        ics.write_text(to_ics(courses, patient, product_name), encoding="utf-8", newline="")
    rows = [
        {
            "course": c.number,
            "kind": c.kind.value,
            "dates": [d.isoformat() for d in c.days],
            "daily_dose_g": None if c.daily_dose_g is None else round(c.daily_dose_g, 2),
        }
        for c in courses
    ]
    if as_json:
        _emit({"regimen": reg.key, "interval_days": reg.interval_days, "courses": rows})
        return
    for c in courses:
        dose_text = "" if c.daily_dose_g is None else f" ({c.daily_dose_g:.1f} g/day)"
        dates = ", ".join(d.isoformat() for d in c.days)
        console.print(f"course {c.number} {c.kind.value}: {dates}{dose_text}")
    if ics is not None:
        console.print(f"iCalendar written to {ics}")


def _load(code: str) -> PatientDossier:
    from myoivig.store.repository import RecordNotFoundError, load_dossier

    store = open_store()
    try:
        with store.session() as session:
            return load_dossier(session, code)
    except RecordNotFoundError as exc:
        err_console.print(f"[red]error:[/red] patient {code!r} not found. Nothing was planned.")
        raise typer.Exit(code=2) from exc
    finally:
        store.dispose()


def plan(
    code: Annotated[str, typer.Argument(help="Patient code")],
    regimen: Annotated[str, typer.Option(help="Named regimen or e.g. 2g/kg")] = "2g/kg",
    product: Annotated[str | None, typer.Option(help="Product key (default: last course's)")] = (
        None
    ),
    course: Annotated[CourseKind | None, typer.Option(help="Default: next course kind")] = None,
    days: Annotated[int | None, typer.Option(help="Infusion days")] = None,
    rounding: Annotated[
        Rounding | None, typer.Option(help="none, 5g or vials (default: the settings')")
    ] = None,
    risk: Annotated[str | None, typer.Option(help="Extra comma-separated risk factors")] = None,
    settings_file: Annotated[
        Path | None, typer.Option("--settings", help="YAML file of protocol settings")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Plan the next course of a stored patient; missing weight/height are reported, not guessed."""
    from myoivig.protocol.dossier import facts_from_dossier

    dossier = _load(code)
    try:
        facts = facts_from_dossier(
            dossier,
            regimen,
            load_catalogue(),
            product=product,
            course=course,
            days=days,
            extra_risks=_parse_risks(risk),
        )
        result = plan_course(facts.request, settings=_settings(settings_file, rounding))
    except ProtocolError as exc:
        raise _fail(exc) from exc
    order = {"block": 0, "warning": 1, "info": 2}
    alerts = sorted([*result.alerts, *facts.alerts], key=lambda a: order[a.severity.value])
    if as_json:
        data = plan_dict(result)
        data["alerts"] = [alert_dict(a) for a in alerts]
        _emit({"patient_code": code, "weight_source": facts.weight_source, **data})
        return
    console.print(f"Patient {code} ({dossier.patient.diagnosis.value})")
    print_plan(replace(result, alerts=tuple(alerts)))


def advise_cmd(
    code: Annotated[str, typer.Argument(help="Patient code")],
    settings_file: Annotated[
        Path | None, typer.Option("--settings", help="YAML file of protocol settings")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Continuation advice for a stored patient, naming the rule that fired."""
    from myoivig.protocol.dossier import advise_dossier

    try:
        settings = _settings(settings_file, None)
    except ProtocolError as exc:
        raise _fail(exc) from exc
    dossier = _load(code)
    advice = advise_dossier(dossier, settings=settings)
    data = {"patient_code": code, "diagnosis": dossier.patient.diagnosis.value}
    data.update(advice_dict(advice))
    if as_json:
        _emit(data)
        return
    console.print(f"Patient {code}: [bold]{advice.action.value}[/bold] (rule {advice.rule})")
    console.print(advice.message)
    console.print(f"    source: {advice.source}")
    for message in advice.flag_messages:
        console.print(f"[yellow]FLAG[/yellow] {message}")
    for e in advice.evidence:
        prev = e.vs_previous.change.value if e.vs_previous else "-"
        console.print(
            f"  {e.assessment_date} after {e.courses_before} course(s): vs baseline "
            f"{e.vs_baseline.change.value}, vs previous {prev}"
        )


def register(app: typer.Typer) -> None:
    """Add the protocol commands to the root app."""
    app.command("dose")(dose)
    app.command("plan")(plan)
    app.command("advise")(advise_cmd)
    app.add_typer(protocol_app, name="protocol")
