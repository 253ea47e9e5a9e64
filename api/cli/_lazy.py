"""Lazy command loading: ``qauipsiz`` imports a command's module only when that command runs.

Importing every command module (geopandas, SQLAlchemy, FastAPI …) cost every invocation about a
second.  :class:`LazyGroup` is the click group class of :data:`qauipsiz.api.cli._app.app`: it
lists the commands of :data:`COMMANDS` (name, module, first paragraph of the help) without importing
them, and imports a command's module the first time that command is resolved.  The top-level
``--help`` shows the help lines from :data:`COMMANDS`; ``tests/foundation/test_cli_lazy.py`` checks
that they, the order and the modules match what the modules register, and that ``--help`` prints
the same text lazily and eagerly.  A new command module is added to :data:`COMMANDS`
(``python -m qauipsiz.api.cli._lazy`` prints the table from the modules).
"""
from __future__ import annotations

import importlib
import inspect
from difflib import get_close_matches
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

COMMANDS: tuple[tuple[str, str, str], ...] = (
    # (command, its modules under qauipsiz.api.cli, first paragraph of its help), in `qauipsiz --help` order
    ('cities', 'cities', "List the registry's cities with their districts, UTM EPSG code and time zone."),
    ('schema', 'cities', 'Print the incident table schema (Markdown).'),
    ('demo', 'demo', 'Generate the synthetic demo city (incidents export, truth files, city layers) into OUT.'),
    ('emerging', 'emerging', "Emerging hot spots (kk: жаңа пайда болған ыстық нүктелер; ru: возникающие очаги): space-time Gi*\nper cell and step, Mann–Kendall trend, one of 17 patterns per H3 cell; run parameters in the\nfile's metadata."),
    ('evaluate', 'evaluate', 'Did it work? Difference-in-differences against matched comparison cells, placebo p-value and\n95 % interval, minimum detectable effect, displacement into the ring (WDQ).  kk: шараның\nнәтижесі; ru: оценка эффекта меры; en: intervention evaluation.'),
    ('forecast', 'forecast', 'Score every cell for one day from the incidents before it (higher = more expected crime).'),
    ('backtest', 'forecast', 'One forecast per day from the events before it: hit rate, PAI and PEI* at 1/5/10 % of the area.'),
    ('hotspots', 'hotspots', "Hot-spot table of a city: one row per H3 cell with count, weighted, density (per km²),\ngi_z, gi_p, gi_q, gi_bin (−3..3 after FDR) and lisa; run parameters in the file's metadata."),
    ('ingest', 'ingest', 'Ingest an incident export: every row ends accepted, duplicate or quarantined (with a reason).'),
    ('ingest-layers', 'ingest', 'Load city layers (lamps, cameras, SOS buttons, …) into the store, replacing each layer.'),
    ('map', 'map', "Write a map of the city's data in the store to OUT (no network needed to open it)."),
    ('near-repeat', 'nearrepeat', 'Near repeats (kk: жақын қайталанулар; ru: близкие повторы): Knox observed/expected pairs and\np-values per space band x time band (event times permuted), and optionally the cells within the\nsignificant distance of an event of the significant number of days.'),
    ('patrol', 'patrol', "Plan patrol routes through tonight's hotspots (OR-Tools) and write route cards."),
    ('pipeline', 'pipeline', 'Ingest incidents and layers, then write hotspots, density, CPTED scores, a fix-first list,\ncamera/SOS/post recommendations and patrol route cards into OUT.'),
    ('recommend', 'recommend', 'Recommend camera / SOS-button / post / office sites, ranked by marginal coverage, with reasons.'),
    ('serve', 'serve', 'Serve the API (/api/v1, docs at /api/v1/docs) and the web dashboard (/).'),
    ('case', 'case', 'Problem-oriented (SARA) cases: place, problem, action plan, stage, evaluation.'),
    ('city', 'cities osm', 'Register your own city (kept in QAUIPSIZ_DATA_DIR/cities) or remove it.'),
    ('cpted', 'cpted', 'CPTED: block scores with fixes (score) and design review against norms (review).'),
    ('export', 'export', 'Export data from the store.'),
    ('geocode', 'geocode', 'Geocode Kazakh/Russian addresses offline against the city gazetteer (Мекенжай геокодтау / Геокодирование адресов). Use `qauipsiz geocode ADDRESS` or `qauipsiz geocode --file F --column C --out OUT`.'),
    ('keys', 'keys', 'API keys for the service: create, list, revoke. The store keeps only hashes.'),
    ('national', 'national national_run', "National scale: every city's incidents in a partitioned GeoParquet dataset, the nightly Dask job."),
    ('quarantine', 'quarantine', 'Rows that failed validation (fix and re-ingest them).'),
)
"""Every top-level command, in the order ``qauipsiz --help`` lists them."""

HELP_ONLY = "qauipsiz.help_only"
"""``ctx.meta`` key: the command line asks only for a command's help (set by :class:`LazyGroup`)."""

_MODULE_OF = {name: mod for name, mod, _ in COMMANDS}
_HELP_OF = {name: text for name, _, text in COMMANDS}


def command_modules() -> list[str]:
    """Module names (under ``qauipsiz.api.cli``) that register commands."""
    return list(dict.fromkeys(m for _, mods, _ in COMMANDS for m in mods.split()))


def load_all() -> None:
    """Import every command module (what ``import qauipsiz.api.cli`` used to do)."""
    for mod in command_modules():
        importlib.import_module(f"qauipsiz.api.cli.{mod}")


def first_paragraph(cmd: Any) -> str:
    """The help text the top-level listing shows for ``cmd`` (its first paragraph)."""
    return inspect.cleandoc(cmd.short_help or cmd.help or "").split("\n\n")[0].strip()


class LazyGroup(TyperGroup):
    """A Typer group whose commands' modules are imported on first use (see the module docstring)."""

    _listing = False

    def list_commands(self, ctx: typer.Context) -> list[str]:
        """Names of every command: :data:`COMMANDS`' order, then any registered elsewhere."""
        names = [name for name, _, _ in COMMANDS]
        return names + [n for n in super().list_commands(ctx) if n not in _MODULE_OF]

    def get_command(self, ctx: typer.Context, cmd_name: str) -> Any:
        """The command ``cmd_name``, importing its module first when it is not loaded yet."""
        if cmd_name not in self.commands and cmd_name in _MODULE_OF:
            if self._listing:  # the top-level help needs the name and help line only
                return TyperCommand(cmd_name, help=_HELP_OF[cmd_name])
            self.commands[cmd_name] = _load(cmd_name)
        return super().get_command(ctx, cmd_name)

    def resolve_command(self, ctx: typer.Context, args: list[str]) -> Any:
        """As Typer's, with "Did you mean …?" drawn from every command, loaded or not."""
        rest = list(args[1:])
        # `qauipsiz CMD [SUB|ARG …] --help`: only help will be printed, so the app's callback may skip
        # pointing the libraries at the user's data (it imports geopandas)
        ctx.meta[HELP_ONLY] = bool(rest) and rest[-1] in ctx.help_option_names and not any(
            t.startswith("-") for t in rest[:-1])
        try:
            return super().resolve_command(ctx, args)
        except Exception as e:  # Typer's UsageError (its click may be vendored)
            msg = getattr(e, "message", None)
            if isinstance(msg, str) and msg.startswith("No such command") and args and self.suggest_commands:
                base = msg.split(". Did you mean")[0].rstrip(".")
                matches = get_close_matches(args[0], self.list_commands(ctx))
                e.message = (f"{base}. Did you mean {', '.join(repr(m) for m in matches)}?"  # type: ignore[attr-defined]
                             if matches else f"{base}.")
            raise

    def format_help(self, ctx: typer.Context, formatter: Any) -> None:
        """The group's help, listing the commands without importing them."""
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


def _load(name: str) -> Any:
    import typer.main

    from qauipsiz.api.cli._app import app

    for mod in _MODULE_OF[name].split():
        importlib.import_module(f"qauipsiz.api.cli.{mod}")
    return typer.main.get_command(app).commands[name]  # type: ignore[attr-defined]


def scan() -> list[tuple[str, str, str]]:
    """``(name, modules, help line)`` of every command the modules of ``api/cli/`` register, by
    importing all of them (for the test and for regenerating :data:`COMMANDS`); ``modules`` names
    the module that defines the command or group first, then any other module adding subcommands
    to the group (``osm`` adds ``city import-osm`` …), space-separated."""
    import pkgutil

    import typer.main

    import qauipsiz.api.cli as pkg
    from qauipsiz.api.cli._app import app

    mods = sorted(m.name for m in pkgutil.iter_modules(pkg.__path__) if not m.name.startswith("_"))
    for m in mods:
        importlib.import_module(f"qauipsiz.api.cli.{m}")
    owner = {}
    for info in app.registered_commands:
        owner[info.name or info.callback.__name__.replace("_", "-")] = _short(info.callback.__module__)
    for g in app.registered_groups:
        home = next(m for m in mods if any(v is g.typer_instance for v in
                                           vars(importlib.import_module(f"qauipsiz.api.cli.{m}")).values()))
        extra = sorted(_callback_modules(g.typer_instance) - {home})
        owner[g.name] = " ".join([home, *extra])
    group: Any = typer.main.get_command(app)
    # the order of importing the modules alphabetically (what the package did before): commands, then
    # groups, each by module and then in registration order, whatever was imported before this scan
    kind = {**{i.name or i.callback.__name__.replace("_", "-"): 0 for i in app.registered_commands},
            **{g.name: 1 for g in app.registered_groups}}
    order = list(group.commands)
    names = sorted(order, key=lambda n: (kind[n], mods.index(owner[n].split()[0]), order.index(n)))
    return [(n, owner[n], first_paragraph(group.commands[n])) for n in names]


def _short(module: str) -> str:
    return module.rsplit(".", 1)[1]


def _callback_modules(t: Any) -> set[str]:
    out = {_short(c.callback.__module__) for c in t.registered_commands}
    for g in t.registered_groups:
        out |= _callback_modules(g.typer_instance)
    return out


if __name__ == "__main__":
    for row in scan():
        print(f"    {row!r},")
