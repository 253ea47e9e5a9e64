"""Problem-oriented (SARA) cases: a place, a problem, an action plan and a status, every change audited.

A case follows the SARA cycle of problem-oriented policing — *scanning*, *analysis*, *response*,
*assessment* — and is then *closed*; a case may step back (the Concept's "problem → action plan →
progress → correction").  Its place is either a drawn area (Polygon/MultiPolygon, WGS84) or
features of a city layer (``cameras``, ``sos_buttons``, ``lamps``: all of them or the listed ids).
Its action plan is a list of items with an owner, a due date and a done date; the evaluation of a
case (``api/case_evaluation.py``) takes the earliest action date as the intervention's start.

Every change writes an ``audit_log`` row (``case.create``, ``case.update``, ``case.action.add``,
``case.action.update``: who, role, ``cases/<id>``, the changed fields) **in the same transaction**
as the change, so no change exists without its audit entry; read them with
:meth:`api.store.Store.audit_log`.
"""
from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from datetime import date, datetime

import shapely
from sqlalchemy import LargeBinary, func, literal, select
from sqlalchemy.engine import Connection

from qauipsiz.api.store import models as m
from qauipsiz.api.store.database import Repository, _now

CASE_LAYERS = ("cameras", "sos_buttons", "lamps")
"""Layers whose features can be a case's place (the layers ``qauipsiz evaluate --layer`` takes)."""

_HOURS = re.compile(r"^([01]?\d|2[0-3])-([01]?\d|2[0-4])$")
_MAX_TEXT = 4000


@dataclass
class ActionItem:
    """One item of a case's action plan (dates are local calendar dates of the city)."""

    id: int
    text: str
    owner: str | None = None
    due_date: date | None = None
    done_date: date | None = None
    created_at: datetime | None = None
    created_by: str | None = None

    def to_dict(self) -> dict:
        """JSON-ready dict (dates as ISO strings)."""
        d = asdict(self)
        for k in ("due_date", "done_date", "created_at"):
            d[k] = None if d[k] is None else d[k].isoformat()
        return d


@dataclass
class Case:
    """A stored SARA case (see the module docstring)."""

    id: int
    city: str
    title: str
    status: str
    place_layer: str | None = None
    place_ids: list[int] | None = None
    area: dict | None = None
    categories: list[str] = field(default_factory=list)
    hours: str | None = None
    description: str = ""
    created_at: datetime | None = None
    created_by: str | None = None
    updated_at: datetime | None = None
    updated_by: str | None = None
    actions: list[ActionItem] = field(default_factory=list)

    @property
    def place(self) -> dict:
        """``{"area": GeoJSON geometry}`` or ``{"layer": name, "ids": [...] or None}``."""
        if self.area is not None:
            return {"area": self.area}
        return {"layer": self.place_layer, "ids": self.place_ids}

    def start_date(self) -> tuple[date | None, str]:
        """The intervention's start for an evaluation: the earliest *done* date of the action plan,
        else (nothing done yet) its earliest *due* date; with the rule used (``"done"``, ``"due"``,
        ``"none"``)."""
        done = [a.done_date for a in self.actions if a.done_date is not None]
        if done:
            return min(done), "done"
        due = [a.due_date for a in self.actions if a.due_date is not None]
        if due:
            return min(due), "due"
        return None, "none"

    def to_dict(self) -> dict:
        """JSON-ready dict: the case's fields, ``place``, ``problem`` and ``actions``."""
        def ts(v):
            return None if v is None else v.isoformat()

        return {"id": self.id, "city": self.city, "title": self.title, "status": self.status,
                "place": self.place,
                "problem": {"categories": list(self.categories), "hours": self.hours,
                            "description": self.description},
                "actions": [a.to_dict() for a in self.actions],
                "created_at": ts(self.created_at), "created_by": self.created_by,
                "updated_at": ts(self.updated_at), "updated_by": self.updated_by}


# ---------------------------------------------------------------------------------------- validation
def _text(value, name: str, *, required: bool = False) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValueError(f"case: field {name!r} is required")
        return None
    if not isinstance(value, str):
        raise ValueError(f"case: field {name!r} must be text, got {type(value).__name__}")
    if len(value) > _MAX_TEXT:
        raise ValueError(f"case: field {name!r} is longer than {_MAX_TEXT} characters")
    if "\x00" in value:
        raise ValueError(f"case: field {name!r} contains a NUL character")
    return value.strip()


def check_status(status: str) -> str:
    """``status`` when it is one of :data:`~api.store.models.CASE_STATUSES`, else ``ValueError``."""
    if status not in m.CASE_STATUSES:
        raise ValueError(f"case: field 'status': {status!r} is not one of {', '.join(m.CASE_STATUSES)}")
    return status


def check_categories(cats) -> list[str]:
    """Taxonomy category keys (a list or a comma-separated string); unknown ones raise ``ValueError``."""
    if cats is None:
        return []
    if isinstance(cats, str):
        cats = [c for c in cats.split(",") if c.strip()]
    from qauipsiz.hotspot.taxonomy import categories

    known = set(categories()["category"])
    out = []
    for c in cats:
        c = str(c).strip()
        if c not in known:
            raise ValueError(f"case: field 'categories': unknown category {c!r}")
        if c not in out:
            out.append(c)
    return out


def check_hours(hours) -> str | None:
    """Local hours ``START-END`` (``"18-02"`` wraps midnight) or ``None``."""
    if hours is None or hours == "":
        return None
    mt = _HOURS.match(str(hours).strip())
    if not mt or mt.group(1) == mt.group(2) or int(mt.group(1)) == int(mt.group(2)) % 24:
        raise ValueError(f"case: field 'hours': {hours!r} is not START-END local hours (e.g. 18-02)")
    return f"{int(mt.group(1)):02d}-{int(mt.group(2)):02d}"


def check_date(value, name: str) -> date | None:
    """A calendar date from a ``date`` or an ISO ``YYYY-MM-DD`` string (``None`` passes)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValueError(f"case: field {name!r}: {value!r} is not a date YYYY-MM-DD") from None


def area_geometry(area) -> shapely.Geometry:
    """A valid WGS84 (Multi)Polygon from a GeoJSON geometry, Feature or FeatureCollection (dict or
    JSON text), its parts merged; ``ValueError`` naming the reason otherwise."""
    if isinstance(area, str):
        try:
            area = json.loads(area)
        except json.JSONDecodeError as e:
            raise ValueError(f"case: field 'area': not JSON ({e.msg})") from None
    if not isinstance(area, dict):
        raise ValueError("case: field 'area' must be a GeoJSON geometry, Feature or FeatureCollection")
    kind = area.get("type")
    if kind == "FeatureCollection":
        geoms = [f.get("geometry") for f in area.get("features") or []]
    elif kind == "Feature":
        geoms = [area.get("geometry")]
    else:
        geoms = [area]
    parts = []
    for i, g in enumerate(geoms):
        try:
            parts.append(shapely.from_geojson(json.dumps(g)))
        except Exception as e:  # shapely raises GEOSException on malformed input
            raise ValueError(f"case: field 'area': geometry {i + 1} is not GeoJSON ({e})") from None
    if not parts:
        raise ValueError("case: field 'area' has no geometry")
    try:
        geom = shapely.union_all(parts) if len(parts) > 1 else parts[0]
    except Exception as e:  # GEOS refuses to merge invalid parts
        raise ValueError(f"case: field 'area': the parts cannot be merged ({e})") from None
    if geom is None or geom.geom_type not in ("Polygon", "MultiPolygon") or geom.is_empty:
        raise ValueError(f"case: field 'area' must be a Polygon or MultiPolygon, got {geom.geom_type}")
    if not geom.is_valid:
        raise ValueError(f"case: field 'area': invalid polygon ({shapely.is_valid_reason(geom)})")
    minx, miny, maxx, maxy = geom.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise ValueError("case: field 'area': coordinates are not WGS84 longitude/latitude")
    return geom


def check_place(area, layer, ids) -> tuple[shapely.Geometry | None, str | None, list[int] | None]:
    """``(area geometry, layer, ids)`` of a place given as an area *or* a layer with optional ids."""
    if (area is None) == (layer is None):
        raise ValueError("case: the place is either 'area' (a drawn polygon) or 'layer' (with optional 'ids'), "
                         "exactly one of them")
    if area is not None:
        if ids:
            raise ValueError("case: field 'ids' goes with 'layer', not with 'area'")
        return area_geometry(area), None, None
    if layer not in CASE_LAYERS:
        raise ValueError(f"case: field 'layer': {layer!r} is not one of {', '.join(CASE_LAYERS)}")
    if ids is None or (isinstance(ids, list | tuple | str) and len(ids) == 0):
        return None, layer, None
    if isinstance(ids, str):
        ids = [x for x in re.split(r"[,\s]+", ids) if x]
    out = []
    for x in ids:
        try:
            v = int(x)
        except (TypeError, ValueError):
            raise ValueError(f"case: field 'ids': {x!r} is not an integer feature id") from None
        if isinstance(x, float) and v != x:
            raise ValueError(f"case: field 'ids': {x!r} is not an integer feature id")
        if v not in out:
            out.append(v)
    return None, layer, out


def _check_city(city: str) -> str:
    from qauipsiz.hotspot.cities import list_cities

    if city not in list_cities():
        raise ValueError(f"case: unknown city {city!r}")
    return city


# ---------------------------------------------------------------------------------------- repository
class CaseRepository(Repository):
    """The ``cases`` and ``case_actions`` tables (see the module docstring)."""

    # -- plumbing
    def _geom_value(self, g: shapely.Geometry | None):
        """The value of the ``geom`` column: WKB bytes (SQLite), a PostGIS expression (PostgreSQL)."""
        if g is None:
            return None
        if self.db.backend == "postgresql":
            return func.ST_SetSRID(func.ST_GeomFromWKB(literal(shapely.to_wkb(g), LargeBinary)), 4326)
        return shapely.to_wkb(g)

    @staticmethod
    def _audit(conn: Connection, action: str, case_id: int, who, role, params: dict) -> None:
        conn.execute(m.audit_log.insert().values(
            at=_now(), who=who, role=role, action=action, resource=f"cases/{case_id}",
            params=json.dumps(params, ensure_ascii=False, default=str)))

    def _read(self, conn: Connection, *where) -> list[Case]:
        c = m.cases.c
        g = (func.ST_AsBinary(c.geom, type_=LargeBinary) if self.db.backend == "postgresql" else c.geom).label("g")
        rows = conn.execute(select(*[col for col in m.cases.c if col.name != "geom"], g)
                            .where(*where).order_by(c.id)).fetchall()
        out = {}
        for r in rows:
            g = None if r.g is None else shapely.from_wkb(bytes(r.g))
            out[r.id] = Case(
                id=int(r.id), city=r.city, title=r.title, status=r.status, place_layer=r.place_layer,
                place_ids=None if r.place_ids is None else json.loads(r.place_ids),
                area=None if g is None else json.loads(shapely.to_geojson(g)),
                categories=json.loads(r.categories) if r.categories else [], hours=r.hours,
                description=r.description or "", created_at=r.created_at, created_by=r.created_by,
                updated_at=r.updated_at, updated_by=r.updated_by)
        if out:
            acts = conn.execute(m.case_actions.select().where(m.case_actions.c.case_id.in_(list(out)))
                                .order_by(m.case_actions.c.id)).fetchall()
            for a in acts:
                out[a.case_id].actions.append(ActionItem(
                    id=int(a.id), text=a.text, owner=a.owner, due_date=a.due_date, done_date=a.done_date,
                    created_at=a.created_at, created_by=a.created_by))
        return list(out.values())

    # -- reads
    def get_case(self, case_id: int, city: str | None = None) -> Case | None:
        """Case ``case_id`` with its action plan (``None`` when absent, or when it is of another ``city``)."""
        with self.db.engine.connect() as conn:
            got = self._read(conn, m.cases.c.id == int(case_id))
        if not got or (city is not None and got[0].city != city):
            return None
        return got[0]

    def list_cases(self, city: str | None = None, status: str | None = None) -> list[Case]:
        """Cases (all cities when ``city`` is None), oldest first, optionally of one ``status``."""
        where = []
        if city is not None:
            where.append(m.cases.c.city == city)
        if status is not None:
            where.append(m.cases.c.status == check_status(status))
        with self.db.engine.connect() as conn:
            return self._read(conn, *where)

    # -- writes
    @staticmethod
    def _action_item(i: int | None, text_, owner=None, due=None, done=None) -> dict:
        """Validated column values of one action item (``i``: its place in a new case's plan)."""
        where = "" if i is None else f"actions[{i}]: "
        try:
            return {"text": _text(text_, "text", required=True), "owner": _text(owner, "owner"),
                    "due_date": check_date(due, "due_date"), "done_date": check_date(done, "done_date")}
        except ValueError as e:
            raise ValueError(f"{where}{e}") from None

    def _insert_action(self, conn: Connection, case_id: int, item: dict, now, who, role) -> int:
        aid = int(conn.execute(m.case_actions.insert().values(case_id=int(case_id), created_at=now, created_by=who,
                                                              **item).returning(m.case_actions.c.id)).scalar())
        self._audit(conn, "case.action.add", int(case_id), who, role, {"action_id": aid, **item})
        return aid

    def create_case(self, city: str, title: str, *, area=None, layer: str | None = None,  # noqa: PLR0913 -- a case's fields, keyword-only
                    ids=None, categories=None, hours: str | None = None, description: str | None = None,
                    status: str = "scanning", actions=None, who: str | None = None,
                    role: str | None = None) -> Case:
        """Create a case with its action plan, all or nothing, and return it.

        Parameters
        ----------
        city : str
            City registry key.
        title : str
            Short name of the problem, e.g. "Thefts at the Baiterek bus stops".
        area : dict or str, optional
            The place as a GeoJSON Polygon/MultiPolygon (geometry, Feature or FeatureCollection) in
            WGS84 longitude/latitude degrees; or else
        layer, ids : str, list of int, optional
            The place as features of ``cameras``, ``sos_buttons`` or ``lamps`` (their ``*_id``; all
            features when ``ids`` is empty).
        categories : list of str or str, optional
            Taxonomy categories of the problem.
        hours : str, optional
            Local hours of the problem ``START-END`` (``"18-02"`` wraps midnight).
        description : str, optional
            Free text.
        status : str
            SARA stage (default ``scanning``).
        actions : list of dict, optional
            The action plan: items with ``text`` (required), ``owner``, ``due`` and ``done`` (ISO
            dates or ``date``; ``due_date`` / ``done_date`` are accepted too).  The case, every item
            and their audit rows (``case.create``, ``case.action.add``) are written in **one**
            transaction: when any item is invalid or its insert fails, nothing is stored.
        who, role : str, optional
            The author (audit log).

        Raises
        ------
        ValueError
            Naming the field (``actions[i]: …`` for an item) and the reason.
        """
        _check_city(city)
        geom, layer, ids = check_place(area, layer, ids)
        vals = {"city": city, "title": _text(title, "title", required=True), "status": check_status(status),
                "place_layer": layer, "place_ids": None if ids is None else json.dumps(ids),
                "geom": self._geom_value(geom), "categories": json.dumps(check_categories(categories)),
                "hours": check_hours(hours), "description": _text(description, "description") or "",
                "created_at": _now(), "created_by": who}
        vals["updated_at"], vals["updated_by"] = vals["created_at"], who
        items = []
        for i, a in enumerate(actions or []):
            if not isinstance(a, dict):
                raise ValueError(f"case: actions[{i}] must be an object with text, owner, due, done")
            bad = set(a) - {"text", "text_", "owner", "due", "done", "due_date", "done_date"}
            if bad:
                raise ValueError(f"case: actions[{i}]: unknown field(s) {', '.join(sorted(bad))}")
            items.append(self._action_item(i, a.get("text", a.get("text_")), a.get("owner"),
                                           a.get("due", a.get("due_date")), a.get("done", a.get("done_date"))))
        with self.db.write() as conn:
            cid = int(conn.execute(m.cases.insert().values(**vals).returning(m.cases.c.id)).scalar())
            self._audit(conn, "case.create", cid, who, role,
                        {"city": city, "title": vals["title"], "status": status, "layer": layer, "ids": ids,
                         "area": geom is not None})
            for item in items:
                self._insert_action(conn, cid, item, vals["created_at"], who, role)
        return self.get_case(cid)

    def update_case(self, case_id: int, *, who: str | None = None, role: str | None = None,
                    city: str | None = None, **changes) -> Case:
        """Change fields of case ``case_id`` and return it.

        ``changes`` may hold ``title``, ``status``, ``categories``, ``hours``, ``description`` and
        the place (``area``, or ``layer`` with ``ids``); a value of ``None`` leaves a field as it is.
        The audit entry records each changed field's old and new value.  ``KeyError`` when the case
        does not exist (or is of another ``city``); ``ValueError`` on a bad value.
        """
        allowed = {"title", "status", "categories", "hours", "description", "area", "layer", "ids"}
        bad = set(changes) - allowed
        if bad:
            raise ValueError(f"case: cannot change field(s) {', '.join(sorted(bad))}")
        old = self.get_case(case_id, city)
        if old is None:
            raise KeyError(case_id)
        new: dict = {}
        diff: dict = {}
        if changes.get("title") is not None:
            new["title"] = _text(changes["title"], "title", required=True)
        if changes.get("status") is not None:
            new["status"] = check_status(changes["status"])
        if changes.get("categories") is not None:
            new["categories"] = check_categories(changes["categories"])
        if "hours" in changes and changes["hours"] is not None:
            new["hours"] = check_hours(changes["hours"])
        if changes.get("description") is not None:
            new["description"] = _text(changes["description"], "description") or ""
        for k, v in new.items():
            if getattr(old, k) != v:
                diff[k] = [getattr(old, k), v]
        vals = {k: (json.dumps(v) if k == "categories" else v) for k, v in new.items() if k in diff}
        if changes.get("area") is not None or changes.get("layer") is not None:
            geom, layer, ids = check_place(changes.get("area"), changes.get("layer"), changes.get("ids"))
            vals.update(place_layer=layer, place_ids=None if ids is None else json.dumps(ids),
                        geom=self._geom_value(geom))
            diff["place"] = [old.place, {"layer": layer, "ids": ids} if geom is None else {"area": True}]
        if not diff:
            return old
        vals.update(updated_at=_now(), updated_by=who, id=int(case_id))
        vals.pop("id")
        with self.db.write() as conn:
            conn.execute(m.cases.update().where(m.cases.c.id == int(case_id)).values(**vals))
            self._audit(conn, "case.update", int(case_id), who, role, {"changed": diff})
        return self.get_case(case_id)

    def add_action(self, case_id: int, text_: str, *, owner: str | None = None, due=None, done=None,
                   who: str | None = None, role: str | None = None, city: str | None = None) -> Case:
        """Append an action-plan item (``text_``, ``owner``, ``due``/``done`` dates, ISO or ``date``)
        to case ``case_id``; returns the case.  ``KeyError`` when the case does not exist."""
        item = self._action_item(None, text_, owner, due, done)
        if self.get_case(case_id, city) is None:
            raise KeyError(case_id)
        now = _now()
        with self.db.write() as conn:
            self._insert_action(conn, case_id, item, now, who, role)
            conn.execute(m.cases.update().where(m.cases.c.id == int(case_id)).values(updated_at=now, updated_by=who))
        return self.get_case(case_id)

    def update_action(self, case_id: int, action_id: int, *, who: str | None = None, role: str | None = None,
                      city: str | None = None, **changes) -> Case:
        """Change an action-plan item (``text``, ``owner``, ``due_date``, ``done_date``; ``None`` leaves a
        field, ``""`` clears a date or the owner); returns the case.  ``KeyError`` when absent."""
        bad = set(changes) - {"text", "owner", "due_date", "done_date"}
        if bad:
            raise ValueError(f"case action: cannot change field(s) {', '.join(sorted(bad))}")
        case = self.get_case(case_id, city)
        item = None if case is None else next((a for a in case.actions if a.id == int(action_id)), None)
        if item is None:
            raise KeyError(action_id)
        new = {}
        if changes.get("text") is not None:
            new["text"] = _text(changes["text"], "text", required=True)
        if changes.get("owner") is not None:
            new["owner"] = _text(changes["owner"], "owner")
        for k in ("due_date", "done_date"):
            if changes.get(k) is not None:
                new[k] = check_date(changes[k], k)
        diff = {k: [getattr(item, k), v] for k, v in new.items() if getattr(item, k) != v}
        if not diff:
            return case
        now = _now()
        with self.db.write() as conn:
            conn.execute(m.case_actions.update().where(m.case_actions.c.id == int(action_id))
                         .values(**{k: v[1] for k, v in diff.items()}))
            conn.execute(m.cases.update().where(m.cases.c.id == int(case_id)).values(updated_at=now, updated_by=who))
            self._audit(conn, "case.action.update", int(case_id), who, role,
                        {"action_id": int(action_id), "changed": diff})
        return self.get_case(case_id)
