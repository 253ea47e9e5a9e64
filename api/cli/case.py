"""``qauipsiz case create|list|show|update|action|evaluate``: problem-oriented (SARA) cases in the store.

A case is a place (a drawn area, or cameras / SOS buttons / lamps), a problem (categories, local
hours, description), an action plan (items with an owner, a due and a done date) and a SARA stage.
Every change is written to the store's audit log.  ``evaluate`` computes the intervention's effect
now, from the plan's dates (``api/casework.py``).
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import typer

from qauipsiz.api.cli._app import app

case_app = typer.Typer(help="Problem-oriented (SARA) cases: place, problem, action plan, stage, evaluation.",
                       no_args_is_help=True)
app.add_typer(case_app, name="case")

WHO_HELP = "Your name for the audit log (default: the system user)."


def _store():
    from qauipsiz.api.store import Store

    return Store.from_settings()


def _who(who: str | None) -> str:
    if who:
        return who
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no user name in a container: still audited
        return "cli"


def _get(store, case_id: int):
    c = store.get_case(case_id)
    if c is None:
        raise ValueError(f"case {case_id}: no such case")
    return c


def _print_case(c, as_json: bool) -> None:
    from qauipsiz.api.casework import STATUS_LABELS, summary

    if as_json:
        typer.echo(json.dumps({**c.to_dict(), "summary": summary(c)}, ensure_ascii=False))
        return
    for line in summary(c).values():
        typer.echo(line)
    st = STATUS_LABELS[c.status]
    typer.echo(f"  status: {c.status} ({st['kk']} / {st['ru']})")
    if c.categories or c.hours:
        typer.echo(f"  problem: {', '.join(c.categories) or 'all categories'}"
                   + (f", hours {c.hours}" if c.hours else ""))
    if c.description:
        typer.echo(f"  {c.description}")
    for a in c.actions:
        typer.echo(f"  [{'x' if a.done_date else ' '}] #{a.id} {a.text} — {a.owner or '?'}; "
                   f"due {a.due_date or '—'}; done {a.done_date or '—'}")


def _parse_action(spec: str) -> dict:
    """``TEXT[|OWNER[|DUE[|DONE]]]`` -> fields of an action item."""
    parts = [p.strip() for p in spec.split("|")]
    if len(parts) > 4:
        raise ValueError(f"--action {spec!r}: at most TEXT|OWNER|DUE|DONE")
    parts += [""] * (4 - len(parts))
    return {"text_": parts[0], "owner": parts[1] or None, "due": parts[2] or None, "done": parts[3] or None}


def _read_area(path: Path | None):
    if path is None:
        return None
    if not path.exists():
        raise FileNotFoundError(f"--area {path}: file not found")
    return json.loads(path.read_text(encoding="utf-8"))


@case_app.command("create")
def create_cmd(
    city: str = typer.Option(..., "--city", help="City key."),
    title: str = typer.Option(..., "--title", help="Short name of the problem."),
    area: Path = typer.Option(None, "--area", help="GeoJSON file of the place (Polygon/MultiPolygon, WGS84)."),
    layer: str = typer.Option(None, "--layer", help="Or the place as features: cameras | sos_buttons | lamps."),
    ids: str = typer.Option(None, "--ids", help="Feature ids of --layer, comma-separated (default: all)."),
    categories: str = typer.Option(None, "--categories", help="Categories of the problem, comma-separated."),
    hours: str = typer.Option(None, "--hours", help="Local hours of the problem START-END, e.g. 18-02."),
    description: str = typer.Option(None, "--description", help="Free text."),
    status: str = typer.Option("scanning", "--status",
                               help="scanning | analysis | response | assessment | closed."),
    action: list[str] = typer.Option(None, "--action", help="Action item TEXT|OWNER|DUE|DONE (dates YYYY-MM-DD); "
                                                            "repeatable."),
    who: str = typer.Option(None, "--who", help=WHO_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the case as JSON."),
) -> None:
    """Create a case (its place is --area FILE or --layer with optional --ids)."""
    from qauipsiz.api.store.cases import check_date

    items = [_parse_action(a) for a in action or []]
    for it in items:  # checked before anything is written
        if not it["text_"]:
            raise ValueError("--action: the TEXT of an action item is required")
        check_date(it["due"], "due_date"), check_date(it["done"], "done_date")
    store = _store()
    try:
        c = store.create_case(city, title, area=_read_area(area), layer=layer, ids=ids, categories=categories,
                              hours=hours, description=description, status=status, actions=items,
                              who=_who(who), role="cli")  # the case and its plan in one transaction
        _print_case(c, as_json)
    finally:
        store.close()


@case_app.command("list")
def list_cmd(
    city: str = typer.Option(None, "--city", help="City key (default: all)."),
    status: str = typer.Option(None, "--status", help="Only this stage."),
    as_json: bool = typer.Option(False, "--json", help="JSON list of the cases."),
) -> None:
    """List cases with their stage and action-plan progress."""
    from qauipsiz.api.casework import summary

    store = _store()
    try:
        cases = store.list_cases(city, status=status)
    finally:
        store.close()
    if as_json:
        typer.echo(json.dumps([{**c.to_dict(), "summary": summary(c)} for c in cases], ensure_ascii=False))
        return
    typer.echo(f"{len(cases)} cases")
    for c in cases:
        done = sum(a.done_date is not None for a in c.actions)
        typer.echo(f"#{c.id} [{c.city}] {c.status:<10} {done}/{len(c.actions)} done  {c.title}")


@case_app.command("show")
def show_cmd(
    case_id: int = typer.Argument(..., help="Case id."),
    as_json: bool = typer.Option(False, "--json", help="Print the case as JSON."),
) -> None:
    """Show one case: place, problem, action plan, stage (summary in kk/ru/en)."""
    store = _store()
    try:
        _print_case(_get(store, case_id), as_json)
    finally:
        store.close()


@case_app.command("update")
def update_cmd(
    case_id: int = typer.Argument(..., help="Case id."),
    status: str = typer.Option(None, "--status", help="New stage."),
    title: str = typer.Option(None, "--title", help="New title."),
    categories: str = typer.Option(None, "--categories", help="New categories, comma-separated."),
    hours: str = typer.Option(None, "--hours", help="New local hours START-END."),
    description: str = typer.Option(None, "--description", help="New description."),
    who: str = typer.Option(None, "--who", help=WHO_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the case as JSON."),
) -> None:
    """Change a case's stage or problem (audited)."""
    store = _store()
    try:
        _get(store, case_id)
        c = store.update_case(case_id, status=status, title=title, categories=categories, hours=hours,
                              description=description, who=_who(who), role="cli")
        _print_case(c, as_json)
    finally:
        store.close()


@case_app.command("action")
def action_cmd(
    case_id: int = typer.Argument(..., help="Case id."),
    add: str = typer.Option(None, "--add", help="New action item TEXT|OWNER|DUE|DONE."),
    done: str = typer.Option(None, "--done", help="Mark item ID done on a date: ID=YYYY-MM-DD."),
    who: str = typer.Option(None, "--who", help=WHO_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the case as JSON."),
) -> None:
    """Add an action-plan item (--add) or mark one done (--done ID=DATE); audited."""
    if not add and not done:
        raise ValueError("case action: give --add TEXT|OWNER|DUE|DONE or --done ID=YYYY-MM-DD")
    store = _store()
    try:
        _get(store, case_id)
        c = None
        if add:
            c = store.add_action(case_id, **_parse_action(add), who=_who(who), role="cli")
        if done:
            mt = re.fullmatch(r"\s*(\d+)\s*=\s*(\S+)\s*", done)
            if not mt:
                raise ValueError(f"--done {done!r}: expected ID=YYYY-MM-DD")
            try:
                c = store.update_action(case_id, int(mt.group(1)), done_date=mt.group(2), who=_who(who), role="cli")
            except KeyError:
                raise ValueError(f"case {case_id}: no action item {mt.group(1)}") from None
        _print_case(c, as_json)
    finally:
        store.close()


@case_app.command("evaluate")
def evaluate_cmd(
    case_id: int = typer.Argument(..., help="Case id."),
    installed: str = typer.Option(None, "--installed", help="Intervention date YYYY-MM-DD (default: the earliest "
                                                            "done date of the action plan, else its earliest "
                                                            "due date)."),
    before: str = typer.Option("12M", "--before", help="Pre-period: 12M, 1Y, 26W, 90D …"),
    after: str = typer.Option("6M", "--after", help="Post-period: 6M, 2W, 30D …"),
    radius_m: float = typer.Option(150.0, "--radius-m", help="Buffer around point features, metres."),
    ring_m: str = typer.Option("150:400", "--ring-m", help="Displacement ring INNER:OUTER, metres."),
    seed: int = typer.Option(0, "--seed", help="Seed of the permutation test."),
    dark_only: bool = typer.Option(False, "--dark-only", help="Only incidents in the dark (for lamps)."),
    as_json: bool = typer.Option(False, "--json", help="Print the evaluation as JSON."),
) -> None:
    """Evaluate a case's intervention now: effect with 95 % CI, WDQ, the kk/ru/en sentence."""
    from qauipsiz.api.casework import evaluate_case
    from qauipsiz.api.cli.evaluate import parse_ring, parse_span

    # --before/--after/--ring-m read as `qauipsiz evaluate` reads them

    store = _store()
    try:
        c = _get(store, case_id)
        inc = store.query_incidents(c.city, located_only=True)
        layers = store.load_layers(c.city, [c.place_layer]) if c.place_layer else {}
        res = evaluate_case(c, inc, layers, installed=installed, before_months=parse_span(before, "--before"),
                            after_months=parse_span(after, "--after"), radius_m=radius_m, ring_m=parse_ring(ring_m),
                            seed=seed, dark_only=dark_only)
    finally:
        store.close()
    if as_json:
        typer.echo(json.dumps(res, ensure_ascii=False, default=str))
        return
    typer.echo(f"case #{c.id} “{c.title}”: intervention {res['installed']} ({res['installed_rule']})")
    for lang in ("kk", "ru", "en"):
        typer.echo(res["text"][lang])
