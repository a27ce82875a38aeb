"""CLI: `myoivig dose`, `myoivig plan CODE`, `myoivig advise CODE` and `myoivig protocol ...`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from myoivig.atomic_files import OutputPathError, check_output, write_text
from myoivig.command_store import cli_actor, open_store
from myoivig.domain.synthetic import SYNTHETIC_LABEL, patient_label
from myoivig.domain.vocab import AntibodyResult, BloodGroup, Sex
from myoivig.exit_codes import ExitCode
from myoivig.protocol.calendar_export import to_ics
from myoivig.protocol.catalogue import load_catalogue
from myoivig.protocol.errors import PlanningError, ProtocolError
from myoivig.protocol.inputs import parse_date, parse_diagnosis, parse_risks
from myoivig.protocol.planner import CoursePlan, PlanRequest, plan_course
from myoivig.protocol.regimens import CourseKind, load_regimens
from myoivig.protocol.report import advice_dict, outcome_dict
from myoivig.protocol.safety import Alert
from myoivig.protocol.schedule import build_schedule
from myoivig.protocol.settings import ProtocolSettings, Rounding
from myoivig.protocol.settings_file import load_settings

if TYPE_CHECKING:  # heavy modules load inside the commands that use them
    from myoivig.protocol.service import PlanOutcome

console = Console()
err_console = Console(stderr=True, soft_wrap=True)

protocol_app = typer.Typer(help="IVIg protocol engine: products, regimens, schedules.")


def _fail(exc: ProtocolError) -> typer.Exit:
    err_console.print(f"[red]error:[/red] {exc}. Nothing was planned.")
    return typer.Exit(code=ExitCode.USAGE)


OverrideOption = Annotated[
    list[str] | None,
    typer.Option(
        "--override",
        help='Go on despite a blocking alert: CODE="reason" (repeat per code; reason required)',
    ),
]
PrePregnancyOption = Annotated[
    float | None, typer.Option(help="Pre-pregnancy weight in kg: the dosing basis when pregnant")
]
VaccineGivenOption = Annotated[
    str | None, typer.Option(help="Date of the last live attenuated vaccine (ISO)")
]
VaccineDueOption = Annotated[
    str | None, typer.Option(help="Date a live attenuated vaccine is due (ISO)")
]
RoundingOption = Annotated[
    Rounding | None, typer.Option(help="none, 5g or vials (default: the settings')")
]
SettingsOption = Annotated[
    Path | None, typer.Option("--settings", help="YAML file of protocol settings")
]
RuledOutOption = Annotated[
    str | None,
    typer.Option(help="Comma-separated questions asked and answered no, e.g. fructose_intolerance"),
]


def _settings(path: Path | None, rounding: Rounding | None) -> ProtocolSettings:
    """The site settings (file, env or defaults) with the command line's rounding on top."""
    settings = load_settings(path)
    return settings if rounding is None else settings.model_copy(update={"rounding": rounding})


def _emit(data: dict[str, Any]) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


COLOURS = {"block": "red", "ask": "magenta", "warning": "yellow", "info": "cyan"}


def _print_alert(a: Alert) -> None:
    c = COLOURS[a.severity.value]
    console.print(f"[{c}]{a.severity.value.upper()}[/{c}] {a.code}: {a.message}")
    console.print(f"    source: {a.source}")


def print_blocked(outcome: PlanOutcome) -> None:
    """A blocked plan: the blocking alerts first, no dose, vial or pump-rate table."""
    plan = outcome.plan
    codes = ", ".join(outcome.blocking_codes)
    console.print(
        f"[bold red]NOT READY TO GIVE[/bold red] — {plan.regimen.name}, "
        f"{plan.request.course.value} course: blocked by {codes}"
    )
    for a in outcome.blocking_alerts:
        _print_alert(a)
    console.print(
        "No dose, vials or pump rates are shown. Resolve each blocking alert (record the "
        'missing answer) or override it with --override CODE="reason".'
    )
    rest = [a for a in outcome.alerts if a not in outcome.blocking_alerts]
    if rest:
        console.print("Other alerts:")
        for a in rest:
            _print_alert(a)


def print_plan(plan: CoursePlan, outcome: PlanOutcome | None = None) -> None:
    """Readable plan for the terminal (only for a plan that is not blocked)."""
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
    overridden = {o.code: o for o in outcome.overrides} if outcome else {}
    for a in outcome.alerts if outcome else plan.alerts:
        if a.code in overridden:
            console.print(
                f"[red]OVERRIDDEN {a.severity.value.upper()}[/red] {a.code}: {a.message}\n"
                f"    reason: {overridden[a.code].reason}\n    source: {a.source}"
            )
        else:
            _print_alert(a)


def _finish(outcome: PlanOutcome, as_json: bool, extra: dict[str, Any] | None = None) -> None:
    """Print the outcome; a blocked plan ends with exit code 3 (JSON still has the plan)."""
    if as_json:
        _emit({**(extra or {}), **outcome_dict(outcome)})
    elif outcome.blocked:
        print_blocked(outcome)
    else:
        print_plan(outcome.plan, outcome)
    if outcome.blocked:
        raise typer.Exit(code=ExitCode.BLOCKED)


def dose(
    regimen: Annotated[str, typer.Option(help="Named regimen or e.g. 2g/kg")],
    diagnosis: Annotated[
        str,
        typer.Option(
            help="Required: dermatomyositis, polymyositis, ... or unknown (asks; DM cap applies)"
        ),
    ],
    product: Annotated[str | None, typer.Option(help="Product key, e.g. octagam-10")] = None,
    sex: Annotated[Sex | None, typer.Option(help="F or M (X: no Devine ideal weight)")] = None,
    age: Annotated[int | None, typer.Option(help="Age in years")] = None,
    height_cm: Annotated[float | None, typer.Option(help="Height in cm")] = None,
    weight_kg: Annotated[float | None, typer.Option(help="Actual weight in kg")] = None,
    days: Annotated[int | None, typer.Option(help="Infusion days for this course")] = None,
    course: Annotated[CourseKind, typer.Option(help="Which course of the regimen")] = (
        CourseKind.INDUCTION
    ),
    rounding: RoundingOption = None,
    risk: Annotated[str | None, typer.Option(help="Comma-separated risk factors")] = None,
    iga_g_per_l: Annotated[float | None, typer.Option(help="Serum IgA (g/L)")] = None,
    anti_iga: Annotated[AntibodyResult | None, typer.Option(help="Anti-IgA antibodies")] = None,
    egfr: Annotated[float | None, typer.Option(help="eGFR mL/min/1.73 m2")] = None,
    blood_group: Annotated[BloodGroup | None, typer.Option(help="ABO group")] = None,
    start_date: Annotated[str | None, typer.Option(help="Course start date (ISO)")] = None,
    ruled_out: RuledOutOption = None,
    previous_weight_kg: Annotated[
        float | None, typer.Option(help="Last recorded weight (checks slips and jumps)")
    ] = None,
    pre_pregnancy_weight_kg: PrePregnancyOption = None,
    live_vaccine_given: VaccineGivenOption = None,
    live_vaccine_due: VaccineDueOption = None,
    override: OverrideOption = None,
    settings_file: SettingsOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Plan one IVIg course: dosing weight, grams, vials, rate steps and safety alerts.

    Exit codes: 0 ready, 2 bad option, 3 blocked by a safety alert (nothing shown as ready).
    """

    from myoivig.protocol.service import parse_override, plan_request

    try:
        start = parse_date("start_date", start_date)
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
            risks=parse_risks((risk or "").split(",")),
            start_date=start,
            diagnosis=parse_diagnosis(diagnosis),
            ruled_out=parse_risks((ruled_out or "").split(","), "ruled_out"),
            previous_weight_kg=previous_weight_kg,
            pre_pregnancy_weight_kg=pre_pregnancy_weight_kg,
            live_vaccine_given=parse_date("live_vaccine_given", live_vaccine_given),
            live_vaccine_due=parse_date("live_vaccine_due", live_vaccine_due),
        )
        if weight_kg is None:
            raise PlanningError("weight_kg", None, "required for the dose command")
        overrides = tuple(parse_override(o) for o in override or [])
        outcome = plan_request(request, overrides, _settings(settings_file, rounding))
    except ProtocolError as exc:
        raise _fail(exc) from exc
    _finish(outcome, as_json)


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
    if ics is not None:
        try:
            check_output(ics, {".ics"})
        except OutputPathError as exc:
            err_console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(ExitCode.USAGE) from exc
    try:
        first = parse_date("start", start)
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
        try:
            write_text(ics, to_ics(courses, patient, product_name), newline="")
        except OutputPathError as exc:
            err_console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(ExitCode.USAGE) from exc
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


def plan(
    code: Annotated[str, typer.Argument(help="Patient code")],
    regimen: Annotated[str, typer.Option(help="Named regimen or e.g. 2g/kg")] = "2g/kg",
    product: Annotated[str | None, typer.Option(help="Product key (default: last course's)")] = (
        None
    ),
    course: Annotated[CourseKind | None, typer.Option(help="Default: next course kind")] = None,
    days: Annotated[int | None, typer.Option(help="Infusion days")] = None,
    rounding: RoundingOption = None,
    risk: Annotated[str | None, typer.Option(help="Extra comma-separated risk factors")] = None,
    ruled_out: RuledOutOption = None,
    weight_kg: Annotated[
        float | None, typer.Option(help="Today's weight (default: last recorded)")
    ] = None,
    height_cm: Annotated[
        float | None, typer.Option(help="Today's height (default: recorded)")
    ] = None,
    pre_pregnancy_weight_kg: PrePregnancyOption = None,
    live_vaccine_given: VaccineGivenOption = None,
    live_vaccine_due: VaccineDueOption = None,
    override: OverrideOption = None,
    actor: Annotated[
        str | None,
        typer.Option(help="Who plans/overrides (default: $MYOIVIG_ACTOR, else $USER)"),
    ] = None,
    settings_file: SettingsOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Plan the next course of a stored patient; missing weight/height are reported, not guessed.

    Overrides are written to the audit trail with the actor. Exit codes: 0 ready, 2 bad option
    or unknown patient, 3 blocked by a safety alert.
    """
    from myoivig.protocol.service import (
        OverrideError,
        PatientPlanOptions,
        parse_override,
        plan_patient,
    )
    from myoivig.store.repository import RecordNotFoundError

    try:
        options = PatientPlanOptions(
            regimen=regimen,
            product=product,
            course=course,
            days=days,
            extra_risks=parse_risks((risk or "").split(",")),
            ruled_out=parse_risks((ruled_out or "").split(","), "ruled_out"),
            weight_kg=weight_kg,
            height_cm=height_cm,
            pre_pregnancy_weight_kg=pre_pregnancy_weight_kg,
            live_vaccine_given=parse_date("live_vaccine_given", live_vaccine_given),
            live_vaccine_due=parse_date("live_vaccine_due", live_vaccine_due),
        )
        overrides = tuple(parse_override(o) for o in override or [])
        settings = _settings(settings_file, rounding)
    except ProtocolError as exc:
        raise _fail(exc) from exc
    store = open_store()
    try:
        outcome = plan_patient(store, code, options, overrides, actor or cli_actor(), settings)
    except RecordNotFoundError as exc:
        err_console.print(f"[red]error:[/red] patient {code!r} not found. Nothing was planned.")
        raise typer.Exit(code=ExitCode.USAGE) from exc
    except (OverrideError, ProtocolError) as exc:
        raise _fail(exc) from exc
    finally:
        store.dispose()
    if not as_json:
        diagnosis = outcome.diagnosis.value if outcome.diagnosis else "diagnosis unknown"
        label = f"{code} ({SYNTHETIC_LABEL})" if outcome.synthetic else code
        console.print(f"Patient {label} ({diagnosis})")
    _finish(outcome, as_json, {"patient_code": code})


def advise_cmd(
    code: Annotated[str, typer.Argument(help="Patient code")],
    settings_file: SettingsOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Continuation advice for a stored patient, naming the rule that fired."""
    from myoivig.protocol.service import advise_patient
    from myoivig.store.repository import RecordNotFoundError

    try:
        settings = _settings(settings_file, None)
    except ProtocolError as exc:
        raise _fail(exc) from exc
    store = open_store()
    try:
        dossier, advice = advise_patient(store, code, settings)
    except RecordNotFoundError as exc:
        err_console.print(f"[red]error:[/red] patient {code!r} not found.")
        raise typer.Exit(code=ExitCode.USAGE) from exc
    finally:
        store.dispose()
    data = {"patient_code": code, "diagnosis": dossier.patient.diagnosis.value}
    data.update(advice_dict(advice))
    if as_json:
        _emit(data)
        return
    console.print(
        f"Patient {patient_label(dossier.patient)}: [bold]{advice.action.value}[/bold] "
        f"(rule {advice.rule})"
    )
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
