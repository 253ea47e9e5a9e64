"""Header auto-mapping: Russian, Kazakh and English column names -> incident fields; mapping files."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

FIELDS = ("source_id", "occurred_at", "occurred_date", "occurred_time", "reported_at", "article", "category",
          "place_type", "address", "lat", "lon", "coords", "source", "quarantine_id")
"""Input fields a column can map to (``quarantine_id`` links a re-ingested quarantine export row)."""

SYNONYMS: dict[str, list[str]] = {
    "source_id": ["номер ердр", "№ ердр", "ердр", "номер", "номер дела", "рег номер", "регистрационный номер",
                  "номер карточки", "номер кусп", "кусп", "ердр нөмірі", "нөмір", "тіркеу нөмірі", "id",
                  "source id", "record id", "case number", "number", "erdr", "erdr number", "incident id"],
    "occurred_at": ["дата совершения", "дата и время совершения", "дата время совершения",
                    "дата и время происшествия", "дата происшествия", "время совершения", "дата события",
                    "жасалған күні", "жасалған уақыты", "жасалған күні мен уақыты", "оқиға күні",
                    "оқиға болған күн", "қылмыс жасалған күні", "occurred at", "occurred", "date occurred",
                    "datetime", "date time", "incident date", "date", "date of occurrence", "occurrence date",
                    "offense date", "offence date", "crime date", "incident datetime", "date and time",
                    "дата и время", "дата время", "дата преступления", "дата правонарушения",
                    "күні мен уақыты", "күні уақыты", "оқиға уақыты"],
    "occurred_date": ["дата", "күні", "күн", "дата совершения (дата)"],
    "occurred_time": ["время", "уақыты", "time", "время совершения (время)"],
    "reported_at": ["дата регистрации", "дата и время регистрации", "дата поступления", "дата сообщения",
                    "тіркелген күні", "тіркеу күні", "хабарлама күні", "reported at", "registered at",
                    "registration date", "report date", "date reported"],
    "article": ["статья ук рк", "статья ук", "статья", "статья коап", "квалификация", "ст ук рк",
                "қр қк бабы", "қк бабы", "бап", "бабы", "article", "criminal code article", "offence article",
                "ukrk article", "ukrk_article"],
    "category": ["категория", "вид преступления", "категория преступления", "вид правонарушения",
                 "қылмыс санаты", "санаты", "қылмыс түрі", "category", "crime category", "offence type",
                 "crime type", "offense", "offence", "offense type", "primary type", "crime",
                 "offense category", "offence category", "incident type", "тип преступления", "преступление",
                 "вид происшествия", "правонарушение", "қылмыс", "қылмыстың түрі",
                 "құқық бұзушылық түрі", "құқық бұзушылық"],
    "place_type": ["место совершения", "тип места", "место", "вид места", "жасалған орны", "орын түрі",
                   "оқиға орны", "place type", "place", "location type", "place_type"],
    "address": ["адрес места происшествия", "адрес места совершения", "адрес", "место происшествия адрес",
                "оқиға орнының мекенжайы", "мекенжай", "мекен жайы", "мекенжайы", "address", "location",
                "address_raw", "street address"],
    "lat": ["широта", "ендік", "lat", "latitude", "y", "coord y", "координата y"],
    "lon": ["долгота", "бойлық", "lon", "lng", "long", "longitude", "x", "coord x", "координата x"],
    "coords": ["координаты", "координаттар", "coordinates", "coords", "latlon", "lat lon", "gps"],
    "source": ["источник", "дереккөз", "source", "register"],
    "quarantine_id": ["_quarantine_id"],
}


def normalise_header(h) -> str:
    """Lower-case, ``ё``→``е``, punctuation to spaces, single spaces: ``"Статья УК РК:"`` → ``"статья ук рк"``."""
    s = str(h).replace("\ufeff", "").strip().lower().replace("ё", "е")
    if s == "_quarantine_id":
        return s
    s = re.sub(r"[\s_.,:;()\[\]\"'«»№#/\\-]+", " ", s)
    return s.strip()


_INDEX: dict[str, str] = {normalise_header(s): f for f, syns in SYNONYMS.items() for s in syns}


@dataclass
class Mapping:
    """How one input file maps to incident fields.

    Attributes
    ----------
    columns : dict
        Input header -> field (one of :data:`FIELDS`).
    place_types : dict
        Extra place-type text -> ``place_type`` key (normalised text).
    categories : dict
        Extra category text -> taxonomy category key.
    date_format : str or None
        How date columns are read (see :mod:`api.ingest.dates`): a ``strptime`` pattern used for every
        text date (e.g. ``"%m/%d/%Y %I:%M:%S %p"``; ISO 8601 stays accepted), or ``"day-first"`` /
        ``"month-first"``.  Without it the order is inferred per column and an undecidable column is
        refused.
    """

    columns: dict[str, str] = field(default_factory=dict)
    place_types: dict[str, str] = field(default_factory=dict)
    categories: dict[str, str] = field(default_factory=dict)
    date_format: str | None = None

    def to_json(self) -> dict:
        """The mapping as a JSON-ready dict (the ``--mapping`` file format)."""
        return {"columns": self.columns, "place_types": self.place_types, "categories": self.categories,
                "date_format": self.date_format}


def load_mapping_file(path: str | Path) -> dict:
    """Read a mapping file (YAML or JSON).

    Either ``{header: field}`` or ``{"columns": {header: field}, "place_types": {text: key},
    "categories": {text: key}, "date_format": "%d/%m/%Y %H:%M"}``.  A field may be ``null`` / ``"ignore"``
    to leave a column unmapped.
    """
    p = Path(path)
    text = p.read_text(encoding="utf-8-sig")
    if p.suffix.lower() in (".yaml", ".yml"):
        import yaml

        data = yaml.safe_load(text) or {}
    else:
        data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError(f"mapping file {p}: expected a mapping of header -> field")
    if not ({"columns", "place_types", "categories", "date_format"} & set(data)):
        data = {"columns": data}
    bad = {h: f for h, f in (data.get("columns") or {}).items() if f not in FIELDS and f not in (None, "ignore")}
    if bad:
        raise ValueError(f"mapping file {p}: unknown field(s) {bad}; fields are {', '.join(FIELDS)}")
    if data.get("categories"):
        data["categories"] = _checked_categories(data["categories"], f"mapping file {p}")
    return data


def _checked_categories(pairs: dict, where: str) -> dict[str, str]:
    """``{label: key}`` with every key a taxonomy category; ``ValueError`` names the bad entries."""
    from qauipsiz.hotspot.taxonomy import categories

    known = set(categories()["category"])
    out = {str(k).strip(): str(v).strip() for k, v in pairs.items() if str(k).strip()}
    bad = {k: v for k, v in out.items() if v not in known}
    if bad:
        shown = ", ".join(f"{k!r} -> {v!r}" for k, v in list(bad.items())[:10])
        raise ValueError(f"{where}: unknown category key(s): {shown}; taxonomy keys are {', '.join(sorted(known))}")
    return out


def load_category_map(path: str | Path) -> dict[str, str]:
    r"""Read a category map: police labels in any language -> taxonomy category keys.

    A CSV with columns ``label,category`` (UTF-8, any of ``, ; \t``), or YAML/JSON
    ``{label: category}``.  Labels are matched case- and space-insensitively at ingest; labels
    not in the map and not in the taxonomy are quarantined as ``unknown_category`` naming the label.

    Raises
    ------
    ValueError
        Unreadable file, missing columns (naming the file and row), or a key not in the taxonomy.
    """
    p = Path(path)
    if p.suffix.lower() in (".yaml", ".yml", ".json"):
        text = p.read_text(encoding="utf-8-sig")
        if p.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
        if not isinstance(data, dict):
            raise ValueError(f"category map {p}: expected {{label: category}}")
        return _checked_categories(data, f"category map {p}")
    import csv

    text = p.read_text(encoding="utf-8-sig")
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
        rows = list(csv.reader(text.splitlines(), dialect))
    except csv.Error:
        rows = list(csv.reader(text.splitlines()))
    if not rows or [h.strip().lower() for h in rows[0][:2]] != ["label", "category"]:
        raise ValueError(f"category map {p}: the first row must be the header 'label,category'")
    pairs = {}
    for i, r in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in r):
            continue
        if len(r) < 2 or not r[0].strip() or not r[1].strip():
            raise ValueError(f"category map {p}: row {i}: needs a label and a category, got {r!r}")
        pairs[r[0]] = r[1]
    return _checked_categories(pairs, f"category map {p}")


def map_headers(headers, override: dict | None = None) -> Mapping:
    """Map input ``headers`` to incident fields.

    Exact synonyms (after :func:`normalise_header`) win; each field is taken by its first column.
    ``override`` (a loaded mapping file) replaces the automatic choice for the headers it names.

    Raises
    ------
    ValueError
        When the headers cannot provide a date (``occurred_at`` or ``occurred_date``), an offence
        (``article`` or ``category``) and a location (``lat``+``lon``, ``coords`` or ``address``).
        The message lists the headers and how to write a mapping file.
    """
    override = override or {}
    ov_cols = {str(k): v for k, v in (override.get("columns") or {}).items()}
    cols: dict[str, str] = {}
    taken: set[str] = set()
    for h in headers:
        hs = str(h)
        if hs in ov_cols:
            f = ov_cols[hs]
            if f and f != "ignore":
                cols[hs] = f
                taken.add(f)
    for h in headers:
        hs = str(h)
        if hs in ov_cols:
            continue
        f = _INDEX.get(normalise_header(hs))
        if f and f not in taken:
            cols[hs] = f
            taken.add(f)
    missing = []
    if not ({"occurred_at", "occurred_date"} & taken):
        missing.append("occurred_at (date)")
    if not ({"article", "category"} & taken):
        missing.append("article or category")
    if not ({"lat", "lon"} <= taken or "coords" in taken or "address" in taken):
        missing.append("lat+lon, coords or address")
    if missing:
        raise ValueError(
            f"cannot map required field(s) {', '.join(missing)} from the headers {[str(h) for h in headers]}; "
            "write a mapping file {\"columns\": {\"<header>\": \"<field>\"}} and pass --mapping "
            f"(fields: {', '.join(FIELDS)})")
    return Mapping(columns=cols, place_types=dict(override.get("place_types") or {}),
                   categories=dict(override.get("categories") or {}), date_format=override.get("date_format"))


TIME_WORDS = ("время", "уақыт", "time")
"""A header holding one of these (normalised) may be the time half of a split date/time pair."""
_TIME_ONLY = re.compile(r"^\d{1,2}[:.]\d{2}(?:[:.]\d{2})?(?:\s?[AaPp]\.?[Mm]\.?)?$")
_DATE_ONLY = re.compile(r"^(?:\d{1,2}[./-]\d{1,2}[./-]\d{2,4}|\d{4}-\d{1,2}-\d{1,2})$")
SPLIT_SHARE = 0.9
"""Share of a column's non-blank values that must look date-only / time-only for the pairing."""


def _looks(values, kind: str) -> bool:
    """Whether ≥ :data:`SPLIT_SHARE` of the non-blank values are date-only (``"date"``) or
    time-only (``"time"``) cells or text."""
    import datetime as dt

    vals = [v for v in values if v is not None and not (isinstance(v, float) and v != v) and str(v).strip()]
    if not vals:
        return False
    if kind == "time":
        ok = sum(isinstance(v, dt.time) or (isinstance(v, str) and bool(_TIME_ONLY.match(v.strip())))
                 for v in vals)
    else:
        ok = sum((isinstance(v, dt.date) and (not isinstance(v, dt.datetime) or v.time() == dt.time()))
                 or (isinstance(v, str) and bool(_DATE_ONLY.match(v.strip()))) for v in vals)
    return ok >= SPLIT_SHARE * len(vals)


def pair_date_time(mp: Mapping, df, override: dict | None = None) -> Mapping:
    """Split date and time columns that the headers alone map wrongly.

    Russian and Kazakh exports often give the date and the time of the offence in two columns
    (``Дата совершения`` + ``Время совершения``); both headers are synonyms of ``occurred_at``, so
    the first took it and the time was dropped (every incident at 00:00).  From the values:

    * ``occurred_at`` holds dates only and an unmapped column whose header names a time
      (:data:`TIME_WORDS`) holds times only → they become ``occurred_date`` + ``occurred_time``;
    * ``occurred_at`` holds times only and ``occurred_date`` is mapped (``Дата`` + ``Время
      совершения``) → it becomes ``occurred_time``.

    Headers named in the mapping file's ``columns`` are never changed.

    Parameters
    ----------
    mp : Mapping
        From :func:`map_headers`.
    df : DataFrame
        The file's cells.
    override : dict, optional
        The mapping file.

    Returns
    -------
    Mapping
        ``mp`` itself, or a copy with the pair re-mapped.
    """
    from dataclasses import replace

    fixed = set((override or {}).get("columns") or {})
    cols = dict(mp.columns)
    by = {f: h for h, f in cols.items()}
    occ = by.get("occurred_at")
    if occ is None or "occurred_time" in by or occ in fixed:
        return mp
    sample = df[occ].head(5000).tolist()
    if "occurred_date" in by and _looks(sample, "time"):
        cols[occ] = "occurred_time"
        return replace(mp, columns=cols)
    if "occurred_date" in by or not _looks(sample, "date"):
        return mp
    for h in df.columns:
        hs = str(h)
        if hs in cols or hs in fixed or not any(w in normalise_header(hs) for w in TIME_WORDS):
            continue
        if _looks(df[h].head(5000).tolist(), "time"):
            cols[occ] = "occurred_date"
            cols[hs] = "occurred_time"
            return replace(mp, columns=cols)
    return mp
